// Black-box tests of `ncw ca` (asm, disasm, validate, info, aot), run the way a user would.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ncw } from "./helpers/ncw.js";

const tmp = mkdtempSync(path.join(os.tmpdir(), "ncw-ca-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const f = (name: string) => path.join(tmp, name);

const GOOD = `(module
  (import "nightos" "syscall" (func $sys (param i32 i32 i32) (result i32)))
  (memory (export "memory") 1 16 shared)
  (table (export "__indirect_function_table") 2 funcref)
  (data (i32.const 1024) "\\5f\\2a\\00\\00\\00\\00\\00\\00\\00")
  (func (export "_start") (drop (call $sys (i32.const 1024) (i32.const 9) (i32.const 1088)))))
`;
// Not shared, imports from "env", no table: three ABI problems at once.
const BAD = `(module
  (import "env" "puts" (func $p (param i32) (result i32)))
  (memory (export "memory") 1 16)
  (func (export "_start") (drop (call $p (i32.const 0)))))
`;

describe("ncw ca", () => {
  writeFileSync(f("good.wat"), GOOD);
  writeFileSync(f("bad.wat"), BAD);

  it("assembles, inspects, validates and disassembles a program", () => {
    const a = ncw(["ca", "asm", f("good.wat"), "-o", f("good.npp"), "--meta", "version=1.0"]);
    expect(a.stderr).toBe("");
    expect(a.status).toBe(0);
    expect(a.stdout).toMatch(/wrote .*good\.npp: \d+ bytes/);
    const bytes = readFileSync(f("good.npp"));
    expect([...bytes.subarray(0, 8)]).toEqual([0x89, 0x4e, 0x50, 0x50, 0x0d, 0x0a, 0x1a, 0x0a]);

    const info = ncw(["ca", "info", f("good.npp"), "--json"]);
    expect(info.status).toBe(0);
    const d = JSON.parse(info.stdout) as {
      npp: { abiVersion: string; metadata: Record<string, string>; flags: string[] };
      imports: { name: string; signature: string }[];
      memory: { shared: boolean; max: number }[];
    };
    expect(d.npp.abiVersion).toBe("1.1");
    expect(d.npp.metadata).toEqual({ name: "good", version: "1.0" });
    expect(d.imports).toEqual([
      {
        module: "nightos",
        name: "syscall",
        kind: "func",
        signature: "(func (param i32 i32 i32) (result i32))",
      },
    ]);
    expect(d.memory).toEqual([{ min: 1, max: 16, shared: true }]);
    const human = ncw(["ca", "info", f("good.npp")]);
    expect(human.stdout).toMatch(/NightOS ABI 1\.1/);
    expect(human.stdout).toMatch(/memory\s+1\.\.16 pages, shared/);

    const v = ncw(["ca", "validate", f("good.npp")]);
    expect(v.status).toBe(0);
    expect(v.stdout).toContain("valid CommonAssembly program");

    const dis = ncw(["ca", "disasm", f("good.npp"), "-o", f("round.wat")]);
    expect(dis.status).toBe(0);
    expect(readFileSync(f("round.wat"), "utf8")).toContain("(memory $memory 1 16 shared)");
    const again = ncw(["ca", "asm", f("round.wat"), "-o", f("round.npp")]);
    expect(again.status).toBe(0);
    // Same module bytes: only the metadata's name differs.
    const m1 = JSON.parse(ncw(["ca", "info", f("good.npp"), "--json"]).stdout) as {
      moduleSize: number;
    };
    const m2 = JSON.parse(ncw(["ca", "info", f("round.npp"), "--json"]).stdout) as {
      moduleSize: number;
    };
    expect(m2.moduleSize).toBe(m1.moduleSize);
  });

  it("refuses to build a program that breaks the ABI and lists every problem", () => {
    const a = ncw(["ca", "asm", f("bad.wat"), "-o", f("bad.npp")]);
    expect(a.status).toBe(65);
    expect(a.stderr).toContain("error:");
    expect(() => readFileSync(f("bad.npp"))).toThrow();

    const v = ncw(["ca", "validate", f("bad.wat")]);
    expect(v.status).toBe(65);
    expect(v.stderr).toContain("[ABI_IMPORT_MODULE]");
    expect(v.stderr).toContain("[ABI_MEMORY_NOT_SHARED]");
    expect(v.stderr).toContain("[ABI_EXPORT_MISSING]");
    const j = ncw(["ca", "validate", f("bad.wat"), "--json"]);
    const r = JSON.parse(j.stdout) as {
      valid: boolean;
      problems: { code: string; offset?: number }[];
    };
    expect(r.valid).toBe(false);
    expect(r.problems.map((p) => p.code)).toEqual([
      "ABI_IMPORT_MODULE",
      "ABI_MEMORY_NOT_SHARED",
      "ABI_EXPORT_MISSING",
    ]);
    expect(r.problems[0]!.offset).toBeGreaterThan(8);
  });

  it("gives precise errors for malformed NPP files", () => {
    const good = readFileSync(f("good.npp"));
    writeFileSync(f("trunc.npp"), good.subarray(0, good.length - 3));
    const t = ncw(["ca", "validate", f("trunc.npp"), "--json"]);
    expect(t.status).toBe(65);
    expect(JSON.parse(t.stdout).problems[0].code).toBe("NPP_TRUNCATED");
    const corrupt = Buffer.from(good);
    corrupt[corrupt.length - 2]! ^= 1;
    writeFileSync(f("corrupt.npp"), corrupt);
    const c = ncw(["ca", "info", f("corrupt.npp")]);
    expect(c.status).toBe(65);
    expect(c.stderr).toMatch(/integrity check failed/);
    const missing = ncw(["ca", "info", f("nope.npp")]);
    expect(missing.status).toBe(66);
    writeFileSync(f("junk.bin"), "hello");
    expect(ncw(["ca", "validate", f("junk.bin")]).status).toBe(65);
  });

  it("AOT-compiles a program, then reuses the cached artifact", () => {
    const home = f("home");
    const first = ncw(["--home", home, "ca", "aot", f("good.npp"), "--json"]);
    expect(first.stderr).toBe("");
    expect(first.status).toBe(0);
    const a = JSON.parse(first.stdout) as {
      artifact: string;
      cached: boolean;
      steps: { step: string }[];
    };
    expect(a.cached).toBe(false);
    expect(a.artifact.startsWith(path.join(home, "cache"))).toBe(true);
    expect(a.steps.map((s) => s.step)).toContain("instrument");
    const second = ncw(["--home", home, "ca", "aot", f("good.npp")]);
    expect(second.status).toBe(0);
    expect(second.stdout).toContain("(cached)");
    expect(second.stdout).toMatch(/total\s+[\d.]+ ms/);
    expect(ncw(["--home", home, "ca", "aot", f("good.wat")]).status).toBe(2);
  });

  it("documents every subcommand in --help", () => {
    const top = ncw(["ca", "--help"]);
    expect(top.status).toBe(0);
    for (const sub of ["asm", "disasm", "validate", "info", "aot"]) {
      expect(top.stdout).toContain(`ncw ca ${sub}`);
      const h = ncw(["ca", sub, "--help"]);
      expect(h.status).toBe(0);
      expect(h.stdout).toContain(`ncw ca ${sub} <input>`);
      expect(h.stdout).toMatch(/Positionals:[\s\S]*input/);
    }
    expect(ncw(["ca"]).status).toBe(2);
  });
});
