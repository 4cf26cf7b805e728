import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { Project } from "./project.js";
import {
  decodeTestsMetadata,
  discoverTests,
  encodeTestsMetadata,
  type TestCase,
  testEntrySource,
} from "./tests.js";

const dir = mkdtempSync(path.join(os.tmpdir(), "ncw-tests-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function project(toolchain: "as" | "c", files: Record<string, string>): Project {
  const d = mkdtempSync(path.join(dir, toolchain));
  for (const [f, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(d, f)), { recursive: true });
    writeFileSync(path.join(d, f), text);
  }
  return { dir: d, toolchain, entry: "", precomp: "main.npp" } as unknown as Project;
}

describe("finding the tests", () => {
  it("takes AssemblyScript's exported functions without parameters, in file then line order", () => {
    const p = project("as", {
      "tests/b.test.ts": "export function second(): void {}\n",
      "tests/a.test.ts":
        'import { x } from "../src/x";\nexport function one(): void {\n}\nfunction helper(): void {}\nexport function withArg(n: i32): void {}\nexport function two() {\n}\n',
      "tests/notes.md": "export function not(): void {}\n",
    });
    expect(discoverTests(p).map((t) => [t.id, t.file, t.fn, t.line])).toEqual([
      ["a/one", "tests/a.test.ts", "one", 2],
      ["a/two", "tests/a.test.ts", "two", 6],
      ["b/second", "tests/b.test.ts", "second", 1],
    ]);
  });

  it("takes C's void test_<name>(void) functions, ids without test_", () => {
    const p = project("c", {
      "tests/greet_test.c":
        "void test_ok(void) {\n}\nstatic void helper(void) {}\nvoid test_args(int n) {}\n",
    });
    expect(discoverTests(p).map((t) => [t.id, t.fn, t.line])).toEqual([["greet/ok", "test_ok", 1]]);
  });

  it("generates an entry that runs the test its argument names", () => {
    const as = project("as", { "tests/a.test.ts": "export function one(): void {}\n" });
    const src = testEntrySource(as, discoverTests(as));
    expect(src).toContain('import { one as t0 } from "../tests/a.test";');
    expect(src).toContain('else if (name == "a/one") t0();');
    expect(src).toContain("returnVoid();");
    const c = project("c", { "tests/g_test.c": "void test_ok(void) {}\n" });
    const csrc = testEntrySource(c, discoverTests(c));
    expect(csrc).toContain('#include "../tests/g_test.c"');
    expect(csrc).toContain('} else if (ncw__is(name, "g/ok")) { test_ok();');
  });
});

describe("the tests in the test program's metadata", () => {
  it("round-trips in values of at most 4096 bytes", () => {
    const tests: TestCase[] = Array.from({ length: 300 }, (_, i) => ({
      id: `many/t${i}`,
      file: "tests/many.test.ts",
      fn: `t${i}`,
      line: i + 1,
    }));
    const meta = encodeTestsMetadata(tests);
    expect(Object.keys(meta).length).toBeGreaterThan(1);
    for (const v of Object.values(meta)) expect(Buffer.byteLength(v)).toBeLessThanOrEqual(4096);
    expect(decodeTestsMetadata(meta)).toEqual(tests);
    expect(decodeTestsMetadata({ name: "app" })).toBeUndefined();
  });
});
