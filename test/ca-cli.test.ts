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

  it("refuses programs past the engine's limits, naming the limit", () => {
    // 50,000 locals: V8 accepts them, but not once the AOT step adds its poll local.
    const locals = GOOD.replace(
      '(func (export "_start")',
      `(func $big (local ${"i32 ".repeat(50_000)})) (func (export "_start")`,
    );
    writeFileSync(f("locals.wat"), locals);
    const l = ncw(["ca", "validate", f("locals.wat")]);
    expect(l.status).toBe(65);
    expect(l.stderr).toContain("[LIMIT_LOCALS]");
    expect(l.stderr).toMatch(/50,000 locals .*V8\) allows 50,000 .*at most 49,984/);
    // An active data segment past the initial memory: the program could never be instantiated.
    const data = GOOD.replace("(data (i32.const 1024)", "(data (i32.const 65534)");
    writeFileSync(f("data.wat"), data);
    const d = ncw(["ca", "validate", f("data.wat"), "--json"]);
    expect(d.status).toBe(65);
    const r = JSON.parse(d.stdout) as { problems: { code: string; message: string }[] };
    expect(r.problems.map((p) => p.code)).toEqual(["LIMIT_DATA_BOUNDS"]);
    expect(r.problems[0]!.message).toMatch(/\[65,534, 65,543\) but the initial memory is 1 page/);
    // The same for an active element segment past the table's initial size.
    const elem = GOOD.replace(
      '(func (export "_start")',
      '(elem (i32.const 1) $f $f) (func $f) (func (export "_start")',
    );
    writeFileSync(f("elem.wat"), elem);
    const e = ncw(["ca", "validate", f("elem.wat")]);
    expect(e.status).toBe(65);
    expect(e.stderr).toContain("[LIMIT_ELEM_BOUNDS]");
    expect(e.stderr).toMatch(/entries \[1, 3\) but the table starts with 2/);
    // 1,500 nested loops: fine for the rewriter, past Binaryen's stack for a program that can fork.
    const loops = [0, ...Array(1500).fill([0x03, 0x40]).flat(), ...Array(1501).fill(0x0b)];
    writeFileSync(f("nested.wasm"), abiModule(loops, false));
    const plain = ncw(["ca", "validate", f("nested.wasm")]);
    expect(plain.status, plain.stderr).toBe(0);
    writeFileSync(f("nested-fork.wasm"), abiModule(loops, true));
    const n = ncw(["ca", "validate", f("nested-fork.wasm")]);
    expect(n.status).toBe(65);
    expect(n.stderr).toContain("[LIMIT_NESTING]");
    expect(n.stderr).toMatch(
      /nests blocks, loops and ifs 1,500 deep; .*Binaryen, which allows 1,000/,
    );
  });

  it("reports a Binaryen failure as the AOT step it happened in, never as a bare abort", () => {
    // A valid program whose one expression nests 20,000 deep, through the Binaryen path (Asyncify, for
    // syscall_fork): Binaryen recurses that deep and runs out of stack.
    const depth = 20_000;
    const body = [
      0,
      ...Array(depth + 1)
        .fill([0x41, 0])
        .flat(),
      ...Array(depth).fill(0x6a),
    ];
    body.push(0x1a, 0x0b); // drop, end
    const wasm = abiModule(body, true);
    writeFileSync(f("deep.wasm"), wasm);
    expect(ncw(["ca", "validate", f("deep.wasm")]).status).toBe(0);
    const home = f("deep-home");
    const a = ncw(["--home", home, "ca", "aot", f("deep.wasm")]);
    expect(a.status).not.toBe(0);
    expect(a.stderr).toMatch(/the AOT step "[a-z-]+" failed: Binaryen ran out of stack/);
    expect(a.stderr).not.toMatch(/Aborted\(|Maximum call stack/);
  });
});

/** A valid ABI program whose `_start` has this body (locals included), importing syscall_fork or not. */
function abiModule(body: number[], fork: boolean): Uint8Array {
  const uleb = (n: number): number[] => {
    const out: number[] = [];
    do {
      let b = n & 0x7f;
      n = Math.floor(n / 128);
      if (n !== 0) b |= 0x80;
      out.push(b);
    } while (n !== 0);
    return out;
  };
  const sec = (id: number, c: number[]) => [id, ...uleb(c.length), ...c];
  const name = (t: string) => [t.length, ...Buffer.from(t)];
  const start = fork ? 1 : 0;
  return Uint8Array.from([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...sec(1, [2, 0x60, 0, 0, 0x60, 3, 0x7f, 0x7f, 0x7f, 1, 0x7f]),
    ...(fork ? sec(2, [1, ...name("nightos"), ...name("syscall_fork"), 0x00, 1]) : []),
    ...sec(3, [1, 0]),
    ...sec(4, [1, 0x70, 0x00, 1]),
    ...sec(5, [1, 0x03, 1, 16]),
    ...sec(7, [
      3,
      ...name("memory"),
      0x02,
      0,
      ...name("_start"),
      0x00,
      start,
      ...name("__indirect_function_table"),
      0x01,
      0,
    ]),
    ...sec(10, [1, ...uleb(body.length), ...body]),
  ]);
}
