import { describe, expect, it } from "vitest";
import { ModuleError } from "./errors.js";
import { encodeNpp } from "./npp.js";
import { wasmToWat, watToWasm } from "./text.js";
import { checkModule, v8Error, validateModule, validateNpp } from "./validate.js";
import { functionAtOffset, readModule } from "./wasm/reader.js";

const PRE = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
const sec = (id: number, body: number[]) => [id, body.length, ...body];
const bin = (...parts: number[][]) => Uint8Array.from([...PRE, ...parts.flat()]);

/** A minimal module that follows the whole ABI. `parts` replace pieces of it. */
function wat(
  parts: { imports?: string; memory?: string; table?: string; start?: string; extra?: string } = {},
) {
  return `(module
  ${parts.imports ?? '(import "nightos" "syscall" (func $sys (param i32 i32 i32) (result i32)))'}
  ${parts.memory ?? '(memory (export "memory") 1 16 shared)'}
  ${parts.table ?? '(table (export "__indirect_function_table") 2 funcref)'}
  ${parts.start ?? '(func (export "_start") (drop (call $sys (i32.const 0) (i32.const 9) (i32.const 16))))'}
  ${parts.extra ?? ""}
)`;
}

async function problemsOf(source: string): Promise<string[]> {
  const { problems } = await checkModule(await watToWasm(source));
  return problems.map((p) => p.code);
}

async function errorOf(p: Promise<unknown>): Promise<ModuleError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(ModuleError);
    return e as ModuleError;
  }
  throw new Error("expected a ModuleError");
}

describe("wasm reader", () => {
  it("reads the structure of a module", async () => {
    const bytes = await watToWasm(
      wat({
        extra:
          '(global $g (mut i32) (i32.const 7)) (func $h (param i32 i32) (result i64) (i64.const 1)) (export "h" (func $h))',
      }),
    );
    const info = readModule(bytes);
    expect(info.imports).toMatchObject([
      { module: "nightos", name: "syscall", kind: "func", typeIndex: 0 },
    ]);
    expect(info.memories).toEqual([{ min: 1, max: 16, shared: true }]);
    expect(info.tables).toEqual([{ elemType: "funcref", min: 2, max: undefined }]);
    expect(info.globals).toEqual([{ valType: "i32", mutable: true }]);
    expect(info.exports.map((e) => [e.name, e.kind, e.index])).toEqual([
      ["memory", "memory", 0],
      ["__indirect_function_table", "table", 0],
      ["_start", "func", 1],
      ["h", "func", 2],
    ]);
    expect(info.codeBodies).toHaveLength(2);
    const withData = readModule(
      await watToWasm(
        wat({ extra: '(data (i32.const 4096) "xyz") (data "p") (data (i32.const -1) "")' }),
      ),
    );
    expect(withData.dataSegments.map((d) => [d.active, d.address, d.size])).toEqual([
      [true, 4096, 3],
      [false, undefined, 1],
      [true, 0xffffffff, 0],
    ]);
    const body1 = info.codeBodies[1]!;
    expect(functionAtOffset(info, body1.bodyOffset)).toBe(2);
    expect(functionAtOffset(info, 3)).toBeUndefined();
  });

  it('keeps a leading byte-order mark in names (names.wast: "\\ef\\bb\\bf" and "" differ)', async () => {
    const info = readModule(
      await watToWasm('(module (func (export "\\ef\\bb\\bf")) (func (export "")))'),
    );
    expect(info.exports.map((e) => e.name)).toEqual(["\ufeff", ""]);
  });

  it("rejects malformed binaries with an offset", () => {
    const malformed = (b: Uint8Array) => {
      try {
        readModule(b);
      } catch (e) {
        expect(e).toBeInstanceOf(ModuleError);
        return [(e as ModuleError).code, (e as ModuleError).offset];
      }
      throw new Error("expected an error");
    };
    expect(malformed(Uint8Array.from([0, 0x61, 0x73]))).toEqual(["WASM_MALFORMED", 0]);
    expect(malformed(Uint8Array.from([1, 2, 3, 4, 1, 0, 0, 0]))).toEqual(["WASM_MALFORMED", 0]);
    expect(malformed(Uint8Array.from([...PRE.slice(0, 4), 2, 0, 0, 0]))).toEqual([
      "WASM_MALFORMED",
      4,
    ]);
    // section runs past the end
    expect(malformed(bin([1, 5, 0]))).toEqual(["WASM_MALFORMED", 8]);
    // sections out of order: memory (5) before type (1)
    expect(malformed(bin(sec(5, [0]), sec(1, [0])))[0]).toBe("WASM_MALFORMED");
    // duplicate section
    expect(malformed(bin(sec(1, [0]), sec(1, [0])))[0]).toBe("WASM_MALFORMED");
    // a tag section (exception handling, out of CommonAssembly) and an unknown section id
    expect(malformed(bin(sec(13, [0])))).toEqual(["WASM_MALFORMED", 8]);
    expect(malformed(bin(sec(14, [0])))).toEqual(["WASM_MALFORMED", 8]);
    // 6-byte LEB
    expect(malformed(bin([1, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00]))[0]).toBe("WASM_MALFORMED");
    // left-over bytes in a section
    expect(malformed(bin(sec(1, [0, 0])))).toEqual(["WASM_MALFORMED", 11]);
    // shared memory without maximum (flags 0x02)
    expect(malformed(bin(sec(5, [1, 0x02, 1])))).toEqual(["WASM_MALFORMED", 11]);
    // memory64 (flags 0x04)
    expect(malformed(bin(sec(5, [1, 0x04, 1])))[0]).toBe("WASM_MALFORMED");
    // function section without code section
    expect(malformed(bin(sec(1, [1, 0x60, 0, 0]), sec(3, [1, 0])))[0]).toBe("WASM_MALFORMED");
    // duplicate export name
    expect(malformed(bin(sec(5, [1, 0, 1]), sec(7, [2, 1, 0x6d, 2, 0, 1, 0x6d, 2, 0])))[0]).toBe(
      "WASM_MALFORMED",
    );
    // invalid UTF-8 in an import name
    expect(malformed(bin(sec(2, [1, 1, 0xff, 1, 0x61, 2, 0, 1])))[0]).toBe("WASM_MALFORMED");
  });
});

describe("validation", () => {
  it("accepts a module that follows the ABI", async () => {
    const m = await validateModule(await watToWasm(wat()));
    expect(m.imports).toEqual({ syscall: true, syscallFork: false, safepoint: false });
    expect(m.memory).toEqual({ min: 1, max: 16, shared: true });
    expect(m.startFunc).toBe(1);
  });

  it("accepts syscall_fork, safepoint, threads, SIMD and bulk memory", async () => {
    const m = await validateModule(
      await watToWasm(
        wat({
          imports: `(import "nightos" "syscall" (func $sys (param i32 i32 i32) (result i32)))
            (import "nightos" "syscall_fork" (func $fork (param i32 i32 i32) (result i32)))
            (import "nightos" "safepoint" (func $sp))`,
          extra: `(func $t (param i32) (result i32)
              (i32.atomic.rmw.add (local.get 0) (i32.const 1)))
            (func $v (result v128) (i32x4.splat (i32.const 3)))
            (func $b (memory.fill (i32.const 0) (i32.const 0) (i32.const 16)) (call $sp))
            (func $h (param i32 i32) (result i64) (i64.const 0))
            (elem (i32.const 1) $h)`,
        }),
      ),
    );
    expect(m.imports).toEqual({ syscall: true, syscallFork: true, safepoint: true });
  });

  it("names each broken ABI rule", async () => {
    expect(
      await problemsOf(
        wat({ imports: '(import "env" "puts" (func $sys (param i32 i32 i32) (result i32)))' }),
      ),
    ).toEqual(["ABI_IMPORT_MODULE"]);
    expect(
      await problemsOf(
        wat({ imports: '(import "nightos" "write" (func $sys (param i32 i32 i32) (result i32)))' }),
      ),
    ).toEqual(["ABI_IMPORT_UNKNOWN"]);
    expect(
      await problemsOf(
        wat({
          imports: '(import "nightos" "syscall" (func $sys (param i32 i32) (result i32)))',
          start: '(func (export "_start") (drop (call $sys (i32.const 0) (i32.const 9))))',
        }),
      ),
    ).toEqual(["ABI_IMPORT_SIGNATURE"]);
    expect(
      await problemsOf(
        wat({
          imports:
            '(import "nightos" "syscall" (func $sys (param i32 i32 i32) (result i32))) (import "nightos" "syscall" (func (param i32 i32 i32) (result i32)))',
        }),
      ),
    ).toEqual(["ABI_IMPORT_DUPLICATE"]);
    expect(
      await problemsOf(
        wat({
          imports:
            '(import "nightos" "syscall" (func $sys (param i32 i32 i32) (result i32))) (import "nightos" "safepoint" (global i32))',
        }),
      ),
    ).toEqual(["ABI_IMPORT_KIND"]);
    expect(await problemsOf(wat({ memory: '(memory (export "memory") 1 16)' }))).toEqual([
      "ABI_MEMORY_NOT_SHARED",
    ]);
    expect(await problemsOf(wat({ memory: '(memory (export "memory") 1 65536 shared)' }))).toEqual([
      "ABI_MEMORY_LIMIT",
    ]);
    // The polls read the control block at address 0 from the first instruction on (§7).
    expect(await problemsOf(wat({ memory: '(memory (export "memory") 0 16 shared)' }))).toEqual([
      "ABI_MEMORY_EMPTY",
    ]);
    expect(
      await problemsOf(
        wat({
          memory: '(import "nightos" "memory" (memory 1 16 shared)) (export "memory" (memory 0))',
        }),
      ),
    ).toEqual(["ABI_IMPORT_UNKNOWN", "ABI_MEMORY_COUNT"]);
    expect(await problemsOf(wat({ memory: "" }))).toEqual([
      "ABI_MEMORY_COUNT",
      "ABI_EXPORT_MISSING",
    ]);
    expect(await problemsOf(wat({ memory: "(memory 1 16 shared)" }))).toEqual([
      "ABI_EXPORT_MISSING",
    ]);
    expect(await problemsOf(wat({ table: "" }))).toEqual(["ABI_EXPORT_MISSING"]);
    expect(
      await problemsOf(wat({ table: '(table (export "__indirect_function_table") 1 externref)' })),
    ).toEqual(["ABI_TABLE_TYPE"]);
    expect(
      await problemsOf(
        wat({ table: '(table (export "__indirect_function_table") 20000000 funcref)' }),
      ),
    ).toEqual(["ABI_TABLE_TYPE"]);
    expect(
      await problemsOf(
        wat({
          table:
            '(table 1 funcref) (global (export "__indirect_function_table") i32 (i32.const 0))',
        }),
      ),
    ).toEqual(["ABI_EXPORT_KIND"]);
    expect(
      await problemsOf(
        wat({
          start:
            '(func (export "_start") (param i32) (drop (call $sys (i32.const 0) (i32.const 9) (local.get 0))))',
        }),
      ),
    ).toEqual(["ABI_START_SIGNATURE"]);
    expect(await problemsOf(wat({ start: "(func $s)" }))).toEqual(["ABI_EXPORT_MISSING"]);
    expect(
      await problemsOf(
        wat({ extra: '(func (export "__nightos_ctl")) (func (export "asyncify_get_state"))' }),
      ),
    ).toEqual(["ABI_RESERVED_EXPORT", "ABI_RESERVED_EXPORT"]);
    expect(
      await problemsOf(
        wat({
          imports:
            '(import "nightos" "syscall" (func $sys (param i32 i32 i32) (result i32))) (import "nightos" "safepoint" (func $sp)) (start $sp)',
        }),
      ),
    ).toEqual(["ABI_START_SECTION"]);
    // NightOS low memory [0, 1024) must stay free of active data.
    expect(await problemsOf(wat({ extra: '(data (i32.const 1020) "abcd")' }))).toEqual([
      "ABI_LOW_MEMORY",
    ]);
    expect(await problemsOf(wat({ extra: '(data (i32.const 0) "a")' }))).toEqual([
      "ABI_LOW_MEMORY",
    ]);
    expect(
      await problemsOf(
        wat({ extra: '(data (i32.const 1024) "abcd") (data (i32.const 0) "") (data "passive")' }),
      ),
    ).toEqual([]);
    // A start section naming a module function is allowed (clang's __wasm_init_memory).
    expect(await problemsOf(wat({ extra: "(func $init) (start $init)" }))).toEqual([]);
  });

  it("locates WebAssembly type errors at the function and byte offset", async () => {
    // (func (result i32) (i64.const 0)) — a type error in function 0
    const bytes = bin(
      sec(1, [1, 0x60, 0, 1, 0x7f]),
      sec(3, [1, 0]),
      sec(10, [1, 4, 0, 0x42, 0, 0x0b]),
    );
    const e = await errorOf(validateModule(bytes));
    expect(e.code).toBe("WASM_INVALID");
    expect(e.funcIndex).toBe(0);
    expect(e.offset).toBe(0x1a);
    expect(e.message).toMatch(/type mismatch.*function 0, byte offset 0x1a/);
  });

  it("names the function when the module has a name section", async () => {
    const names = [4, ...Buffer.from("name"), 1, 6, 1, 0, 3, ...Buffer.from("bad")];
    const bytes = bin(
      sec(1, [1, 0x60, 0, 1, 0x7f]),
      sec(3, [1, 0]),
      sec(10, [1, 4, 0, 0x42, 0, 0x0b]),
      sec(0, names),
    );
    expect(readModule(bytes).functionNames).toEqual(new Map([[0, "bad"]]));
    const e = await errorOf(validateModule(bytes));
    expect(e.message).toContain('(at function 0 "bad", byte offset 0x1a)');
    // A malformed name section is ignored, as custom sections must be.
    const broken = bin(sec(1, [1, 0x60, 0, 0]), sec(0, [4, ...Buffer.from("name"), 1, 9, 1]));
    expect(readModule(broken).functionNames.size).toBe(0);
  });

  it("rejects features outside core 2.0 + threads", async () => {
    // return_call (tail calls) — V8 accepts it, CommonAssembly does not.
    const tail = bin(sec(1, [1, 0x60, 0, 0]), sec(3, [1, 0]), sec(10, [1, 4, 0, 0x12, 0, 0x0b]));
    const e = await errorOf(validateModule(tail));
    expect(e.code).toBe("WASM_INVALID");
    expect(e.offset).toBe(0x18);
    expect(e.funcIndex).toBe(0);
    // try/catch (exceptions)
    const exc = bin(
      sec(1, [1, 0x60, 0, 0]),
      sec(3, [1, 0]),
      sec(10, [1, 5, 0, 0x06, 0x40, 0x0b, 0x0b]),
    );
    expect((await errorOf(validateModule(exc))).code).toBe("WASM_INVALID");
    // …but it can still be disassembled, to see what validation rejected.
    expect(await wasmToWat(tail)).toContain("return_call $f0");
  });

  it("parses V8's located messages", () => {
    const e = v8Error(
      'WebAssembly.Module(): Compiling function #3:"f" failed: type error in fallthru[0] (expected i32, got i64) @+26',
    );
    expect([e.code, e.funcIndex, e.offset]).toEqual(["WASM_INVALID", 3, 26]);
  });

  it("checks the NPP flags against the module", async () => {
    const module = await watToWasm(wat());
    await expect(validateNpp(await encodeNpp(module))).resolves.toBeDefined();
    const e = await errorOf(validateNpp(await encodeNpp(module, { flags: 1 })));
    expect(e.code).toBe("NPP_FLAGS_MISMATCH");
  });
});

describe("text form", () => {
  it("round-trips wat -> wasm -> wat -> wasm to the same bytes", async () => {
    const src = wat({
      extra: "(func $h (param i32 i32) (result i64) (i64.atomic.load (local.get 1)))",
    });
    const a = await watToWasm(src);
    const text = await wasmToWat(a);
    expect(text).toContain("i64.atomic.load");
    expect(text).toContain("shared");
    const b = await watToWasm(text);
    expect(Buffer.from(b).equals(Buffer.from(a))).toBe(true);
  });

  it("keeps names only when asked", async () => {
    const src = wat();
    expect(readModule(await watToWasm(src)).sections.some((s) => s.name === "name")).toBe(false);
    const named = await watToWasm(src, "x.wat", { debugNames: true });
    expect(readModule(named).sections.some((s) => s.name === "name")).toBe(true);
    expect(await wasmToWat(named)).toContain("$sys");
  });

  it("reports syntax errors with file, line and column", async () => {
    await expect(watToWasm("(module\n  (func (i32.bogus)))", "bad.wat")).rejects.toMatchObject({
      code: "WAT_INVALID",
      message: expect.stringMatching(/bad\.wat:2:\d+/),
    });
    await expect(watToWasm("(module (func (return_call 0)))", "tail.wat")).rejects.toMatchObject({
      code: "WAT_INVALID",
    });
  });
});
