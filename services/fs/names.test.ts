// The spec's file name rules (filesystem-interfaces.md "Filenames"), one case per rule.
import { describe, expect, it } from "vitest";
import { decodeFileName, fileNameProblem, MAX_NAME_CHARS } from "./names.js";

describe("NightOS file names", () => {
  it("accepts ordinary names, dots and spaces inside, and up to 65535 characters", () => {
    for (const ok of ["a", "notes.txt", ".hidden", "...", " a ", "é", "\u{1f600}", "a\\b"])
      expect(fileNameProblem(ok), ok).toBeUndefined();
    expect(fileNameProblem("\u{1f600}".repeat(MAX_NAME_CHARS))).toBeUndefined(); // characters, not units
  });

  it("refuses each thing the spec forbids", () => {
    expect(fileNameProblem("")).toBe("it is empty");
    expect(fileNameProblem("a/b")).toBe("it contains '/'");
    expect(fileNameProblem("../x")).toBe("it contains '/'");
    expect(fileNameProblem("a\0")).toBe("it contains a NUL character");
    expect(fileNameProblem(".")).toBe('it is "."');
    expect(fileNameProblem("..")).toBe('it is ".."');
    for (const sp of [" ", "   ", "\u00a0", " \u202f\u2007"])
      expect(fileNameProblem(sp)).toBe("it is made only of spaces");
    expect(fileNameProblem("x".repeat(MAX_NAME_CHARS + 1))).toBe(
      "it is longer than 65535 characters",
    );
  });

  it("decodes names stored as bytes only when they are strict UTF-8", () => {
    expect(decodeFileName(new TextEncoder().encode("ok"))).toEqual({ name: "ok" });
    expect(decodeFileName(new Uint8Array([0xef, 0xbb, 0xbf, 0x61]))).toEqual({ name: "\ufeffa" });
    expect(decodeFileName(new Uint8Array([0x61, 0xff]))).toEqual({
      problem: "it is not valid UTF-8",
    });
    expect(decodeFileName(new Uint8Array([0x2e, 0x2e]))).toEqual({ problem: 'it is ".."' });
  });
});
