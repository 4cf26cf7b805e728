// Errcodes are typed per syscall (result.ts): the compiler refuses a bare number and another syscall's
// errcode. Checked by compiling a probe against the leaf with the project's tsc.

import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { GenericErr } from "./numbers.js";
import { fail, ok } from "./result.js";
import { MEM_FREE } from "./syscalls.js";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const TSC = path.join(HERE, "..", "..", "node_modules", "typescript", "bin", "tsc");

/** Compiles `lines` (after the imports) and returns the lines tsc reports an error on (1-based, in `lines`). */
function errorLines(lines: string[]): number[] {
  const dir = mkdtempSync(path.join(os.tmpdir(), "ncw-errcode-"));
  try {
    const leaf = (f: string) => JSON.stringify(path.join(HERE, f));
    const head = [
      `import { GenericErr } from ${leaf("numbers.js")};`,
      `import { fail } from ${leaf("result.js")};`,
      `import { MEM_ALLOC, MEM_FREE, type ResultOf } from ${leaf("syscalls.js")};`,
    ];
    writeFileSync(path.join(dir, "probe.ts"), [...head, ...lines].join("\n"));
    const r = spawnSync(
      process.execPath,
      [
        TSC,
        "--noEmit",
        "--strict",
        "--target",
        "es2022",
        "--module",
        "nodenext",
        "--moduleResolution",
        "nodenext",
        "--types",
        "",
        "--pretty",
        "false",
        "probe.ts",
      ],
      { cwd: dir, encoding: "utf8" },
    );
    return [...r.stdout.matchAll(/^probe\.ts\((\d+),\d+\): error/gm)].map(
      (m) => Number(m[1]) - head.length,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe("SysResult", () => {
  it("carries the value or the errcode", () => {
    expect(ok(5n)).toEqual({ ok: true, value: 5n });
    expect(fail(MEM_FREE.errors.UNALIGNED)).toEqual({ ok: false, errcode: 0x10 });
    expect(fail(GenericErr.INVALID_ARGUMENT).errcode).toBe(0x02);
  });

  it("accepts the syscall's own and the generic errcodes, refuses bare numbers and others'", () => {
    expect(
      errorLines([
        "export const own: ResultOf<typeof MEM_FREE> = fail(MEM_FREE.errors.UNALIGNED);",
        "export const generic: ResultOf<typeof MEM_FREE> = fail(GenericErr.INVALID_ARGUMENT);",
        "export const bare = fail(0x02);",
        "export const other: ResultOf<typeof MEM_FREE> = fail(MEM_ALLOC.errors.INVALID_PERMISSION);",
        "export const sum = fail(GenericErr.INVALID_ARGUMENT + 0);",
      ]),
    ).toEqual([3, 4, 5]);
  });
});
