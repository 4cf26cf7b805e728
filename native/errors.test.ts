// The host-error table (native/errors.ts): each code Node reports means one kind, on every platform,
// and nothing outside native/ compares a host error code (the translation lives in one place).

import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { sourceFiles } from "../test/helpers/imports.js";
import { HOST_ERROR_CODES, hostErrorKind, hostProcessAlive, isHostError } from "./errors.js";

const err = (code: string) => Object.assign(new Error(code), { code });

describe("host errors", () => {
  it("translates Node's codes into NCW's kinds on each platform", () => {
    const want: [string, string][] = [
      ["ENOENT", "not-found"],
      ["EEXIST", "exists"],
      ["ENOTDIR", "not-dir"],
      ["EISDIR", "is-dir"],
      ["ENOTEMPTY", "not-empty"],
      ["EACCES", "permission"],
      ["EPERM", "permission"],
      ["EBUSY", "busy"],
      ["EAGAIN", "would-block"],
      ["EPIPE", "broken-pipe"],
      ["ERR_STREAM_DESTROYED", "broken-pipe"],
      ["ENOSPC", "no-space"],
      ["ELOOP", "loop"],
      ["EXDEV", "cross-device"],
      ["EADDRINUSE", "in-use"],
      ["ESRCH", "no-process"],
    ];
    for (const platform of ["linux", "darwin", "win32"] as const)
      for (const [code, kind] of want) expect(hostErrorKind(err(code), platform)).toBe(kind);
  });

  it("answers undefined for what is not a host error", () => {
    expect(hostErrorKind(new Error("plain"))).toBeUndefined();
    expect(hostErrorKind(err("ESOMETHINGNEW"))).toBeUndefined();
    expect(hostErrorKind(undefined)).toBeUndefined();
    expect(hostErrorKind({ code: 2 })).toBeUndefined();
    expect(isHostError(err("ENOENT"), "not-found")).toBe(true);
    expect(isHostError(err("ENOENT"), "exists")).toBe(false);
  });

  it("probes host processes", () => {
    expect(hostProcessAlive(process.pid)).toBe(true);
    expect(hostProcessAlive(2 ** 22 + 12345)).toBe(false);
  });

  it("is the only place outside native/ that reads a host error code", () => {
    // Any code of the table, quoted ("ENOENT", "EPIPE", …).
    const code = new RegExp(`"(?:${HOST_ERROR_CODES.join("|")})"`);
    const offenders = ["cli", "ncw", "kernel-compat", "services", "commonassembly"].flatMap((top) =>
      sourceFiles(top).filter((f) => !f.endsWith(".test.ts") && code.test(readFileSync(f, "utf8"))),
    );
    expect(offenders).toEqual([]);
  });
});
