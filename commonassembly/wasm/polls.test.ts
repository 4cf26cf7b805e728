// Tests of the Binaryen-free poll rewriter (commonassembly/wasm/polls.ts): same behaviour as the
// uninstrumented module and as the Binaryen path, indices shifted everywhere, fallbacks named.

import { describe, expect, it } from "vitest";
import { wat } from "../../test/wasm-spec/wat.js";
import { instrument } from "../aot/instrument.js";
import { watToWasm } from "../text.js";
import { uleb } from "./leb.js";
import { findNonCaInstruction, rewritePolls } from "./polls.js";
import { readModule } from "./reader.js";

/** Imports, a table with every kind of element segment, ref.func in a global, a start function, names. */
const INDICES = `(module
  (import "env" "add" (func $add (param i32 i32) (result i32)))
  (import "env" "g" (global $imp i32))
  (memory (export "memory") 1 2 shared)
  (table $t 8 funcref)
  (global $fref funcref (ref.func $seven))
  (global $count (mut i32) (i32.const 0))
  (elem (i32.const 0) $seven $eight)
  (elem $passive funcref (ref.func $eight) (ref.func $seven))
  (elem declare func $nine)
  (type $v_i (func (result i32)))
  (func $seven (result i32) (i32.const 7))
  (func $eight (result i32) (i32.const 8))
  (func $nine (result i32) (i32.const 9))
  (func $init (global.set $count (i32.const 100)))
  (start $init)
  (func (export "viaTable") (param $i i32) (result i32) (call_indirect (type $v_i) (local.get $i)))
  (func (export "viaPassive") (result i32)
    (table.init $t $passive (i32.const 4) (i32.const 0) (i32.const 2))
    (i32.add (call_indirect (type $v_i) (i32.const 4)) (call_indirect (type $v_i) (i32.const 5))))
  (func (export "viaGlobal") (result i32)
    (table.set $t (i32.const 6) (global.get $fref))
    (call_indirect (type $v_i) (i32.const 6)))
  (func (export "viaRef") (result i32)
    (table.set $t (i32.const 7) (ref.func $nine))
    (call_indirect (type $v_i) (i32.const 7)))
  (func (export "direct") (result i32) (call $add (call $seven) (global.get $imp)))
  (func (export "count") (result i32) (global.get $count))
  (func (export "_start")))`;

/** Branches across polled loops: br, br_if, br_table to outer labels, loops with results, nesting. */
const BRANCHES = `(module
  (import "env" "tick" (func $tick))
  (memory (export "memory") 1 1 shared)
  (func (export "f") (param $n i32) (result i32) (local $i i32) (local $s i32) (local $j i32)
    (block $out (result i32)
      (loop $outer
        (local.set $j (i32.const 0))
        (block $skip
          (loop $inner
            (br_if $skip (i32.ge_u (local.get $j) (local.get $i)))
            (local.set $s (i32.add (local.get $s) (local.get $j)))
            (call $tick)
            (br_table $inner $skip $outer
              (i32.rem_u (local.tee $j (i32.add (local.get $j) (i32.const 1))) (i32.const 3)))))
        (if (i32.gt_u (local.get $s) (i32.const 100000)) (then (br $out (i32.const -1))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $outer (i32.lt_u (local.get $i) (local.get $n))))
      (loop $r (result i32)
        (local.set $s (i32.add (local.get $s) (i32.const 1)))
        (br_if $r (i32.and (local.get $s) (i32.const 3)))
        (local.get $s))))
  (func (export "_start")))`;

const IMPORTS = {
  env: { add: (a: number, b: number) => a + b, g: new WebAssembly.Global({ value: "i32" }, 30) },
};

function instantiate(
  wasm: Uint8Array,
  onSafepoint = () => {},
  tick = () => {},
): WebAssembly.Instance {
  return new WebAssembly.Instance(new WebAssembly.Module(wasm), {
    env: { ...IMPORTS.env, tick },
    nightos: { safepoint: onSafepoint },
  } as WebAssembly.Imports);
}

describe("poll rewriter", () => {
  it("shifts function indices everywhere (calls, exports, start, elements, ref.func, globals, names)", async () => {
    const src = await watToWasm(INDICES, "indices.wat", { debugNames: true });
    const fast = instrument(src);
    expect(fast.report.engine).toBe("rewriter");
    const slow = instrument(src, { engine: "binaryen" });
    expect(slow.report.engine).toBe("binaryen");
    for (const { wasm } of [{ wasm: src }, fast, slow]) {
      const ex = instantiate(wasm).exports as Record<string, (...a: number[]) => number>;
      expect([0, 1].map((i) => ex.viaTable!(i))).toEqual([7, 8]);
      expect(ex.viaPassive!()).toBe(15);
      expect(ex.viaGlobal!()).toBe(7);
      expect(ex.viaRef!()).toBe(9);
      expect(ex.direct!()).toBe(37);
      expect(ex.count!()).toBe(100);
    }
    // The imported function keeps index 0; safepoint is the new import; names follow their functions.
    const info = readModule(fast.wasm);
    expect(info.imports.map((i) => `${i.module}.${i.name}`)).toEqual([
      "env.add",
      "env.g",
      "nightos.safepoint",
    ]);
    expect(info.functionNames.get(2)).toBe("seven");
    expect(info.functionNames.get(5)).toBe("init");
    expect(info.start).toBe(5);
    expect(fast.report).toMatchObject({ entryPolls: 11, loopPolls: 0, functions: 11 });
  });

  it("keeps branch targets across the loops it wraps, for every input", async () => {
    const src = await wat(BRANCHES);
    const fast = instrument(src);
    expect(fast.report.engine).toBe("rewriter");
    expect(fast.report.loopPolls).toBe(3);
    const plain = instantiate(src).exports.f as (n: number) => number;
    let calls = 0;
    const inst = instantiate(fast.wasm, () => {
      calls++;
      Atomics.store(flag, 0, 0);
    });
    const flag = new Int32Array((inst.exports.memory as WebAssembly.Memory).buffer);
    const f = inst.exports.f as (n: number) => number;
    for (let n = 0; n < 200; n += 7) expect(f(n), `f(${n})`).toBe(plain(n));
    expect(calls).toBe(0);
    // With a new request at every inner iteration (taken at the next header) the results stay the same.
    let n = 0;
    let ticks = 0;
    const again = instantiate(
      fast.wasm,
      () => {
        calls++;
        Atomics.store(flag2, 0, 0);
      },
      () => {
        ticks++;
        Atomics.store(flag2, 0, ++n);
      },
    );
    const flag2 = new Int32Array((again.exports.memory as WebAssembly.Memory).buffer);
    expect((again.exports.f as (n: number) => number)(50)).toBe(plain(50));
    expect(ticks).toBeGreaterThan(40);
    expect(calls).toBe(ticks);
  });

  it("falls back to Binaryen, with the reason, for what it does not handle", async () => {
    const typed = await wat(`(module (memory 1 1 shared) (type $t (func (param i32) (result i32)))
      (func (export "f") (param i32) (result i32)
        (local.get 0) (loop (type $t) (i32.add (i32.const 1)))))`);
    const r = instrument(typed);
    expect(r.report.engine).toBe("binaryen");
    expect(r.report.engineReason).toMatch(/type-index block type/);
    const fork = await wat(`(module
      (import "nightos" "syscall_fork" (func (param i32 i32 i32) (result i32)))
      (memory 1 1 shared) (func (export "_start")))`);
    expect(instrument(fork).report.engineReason).toMatch(/Asyncify/);
    const empty = await wat(`(module (memory 0) (func (export "f")))`);
    expect(instrument(empty).report.engineReason).toMatch(/guarded/);
  });

  it("finds the first instruction outside core 2.0 + threads (validation's fast-path check)", async () => {
    const pre = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
    const sec = (id: number, body: number[]) => [id, body.length, ...body];
    // return_call 0 (tail calls; V8 accepts it): its opcode is at offset 0x17, in function 0
    const tail = Uint8Array.from([
      ...pre,
      ...sec(1, [1, 0x60, 0, 0]),
      ...sec(3, [1, 0]),
      ...sec(10, [1, 4, 0, 0x12, 0, 0x0b]),
    ]);
    expect(findNonCaInstruction(tail, readModule(tail))).toEqual({ offset: 0x17, funcIndex: 0 });
    for (const text of [INDICES, BRANCHES]) {
      const ok = await wat(text);
      expect(findNonCaInstruction(ok, readModule(ok))).toBeUndefined();
    }
  });
});

/**
 * A valid module whose one function nests `n` empty loops (3n + a few bytes of code); with `labels`,
 * the innermost loop holds a br_table of that many labels, all to the outermost loop.
 */
function nestedLoops(n: number, labels = 0): Uint8Array {
  const table =
    labels === 0
      ? []
      : [
          0x41,
          0x00,
          0x0e,
          ...uleb(labels - 1),
          ...Array(labels)
            .fill(uleb(n - 1))
            .flat(),
        ];
  const body = new Uint8Array(3 * n + 2 + table.length); // no locals, n × (loop void), n + 1 × end
  body.fill(0x03, 1, 2 * n + 1);
  for (let i = 0; i < n; i++) body[2 * i + 2] = 0x40;
  body.set(table, 2 * n + 1);
  body.fill(0x0b, 2 * n + 1 + table.length);
  const code = [...uleb(body.length), ...body];
  const sec = (id: number, content: number[]) => [id, ...uleb(content.length), ...content];
  return Uint8Array.from([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...sec(1, [1, 0x60, 0, 0]),
    ...sec(3, [1, 0]),
    ...sec(5, [1, 0x03, 1, 1]),
    ...sec(10, [1, ...code]),
  ]);
}

describe("loop analysis", () => {
  // A complexity guard, not a speed figure: the quadratic analysis took ~30 s at 50,000 and would take
  // minutes at 200,000; linear takes well under a second. Bounds leave 10x room for a loaded machine
  // (a ratio between two timings was too noisy there).
  it("instruments 50,000 and 200,000 nested loops in linear time", () => {
    const time = (n: number): number => {
      const src = nestedLoops(n);
      expect(WebAssembly.validate(src)).toBe(true);
      const t0 = performance.now();
      const r = rewritePolls(src, { polls: true });
      const ms = performance.now() - t0;
      expect(r.loopPolls).toBe(n);
      return ms;
    };
    time(1000); // warm-up
    expect(time(50_000)).toBeLessThan(3000);
    expect(time(200_000)).toBeLessThan(10_000);
  });

  it("shifts the labels of a br_table deep inside nested loops in linear time", () => {
    const src = nestedLoops(50_000, 60_000);
    expect(WebAssembly.validate(src)).toBe(true);
    const t0 = performance.now();
    const r = rewritePolls(src, { polls: true });
    expect(performance.now() - t0).toBeLessThan(3000);
    // Every label now also leaves the three structures of each of the 49,999 polled loops inside.
    expect(WebAssembly.validate(r.wasm)).toBe(true);
  });

  it("elides exactly what the Binaryen path elides, across nesting", async () => {
    const cases: [string, number][] = [
      // the inner loop calls; the outer one calls only inside the inner loop (not at its level)
      [`(loop $o (loop $i (call $work) (br_if $i (local.get $n))) (br_if $o (local.get $n)))`, 1],
      // both call at their level
      [`(loop $o (loop $i (call $work) (br_if $i (local.get $n))) (call $work) (br $o))`, 2],
      // the outer block is left from inside the inner loop before the outer call
      [
        `(loop $o (block $b (loop $i (br_if $b (local.get $n)) (call $work) (br $i)) (call $work)) (br $o))`,
        1,
      ],
      // a branch to the outer loop from inside the inner one, before the outer call
      [`(loop $o (loop $i (br_if $o (local.get $n)) (call $work) (br $i)) (call $work))`, 1],
      // a branch out of an if inside the loop does not skip the later call
      [`(loop $o (if (local.get $n) (then (br 0))) (call $work) (br $o))`, 1],
      // a block left early, closed, then the call
      [`(loop $o (block $b (br_if $b (local.get $n))) (call $work) (br $o))`, 1],
      // the call inside the block that can be left early
      [`(loop $o (block $b (br_if $b (local.get $n)) (call $work)) (br $o))`, 0],
      // a br_table to the loop among its labels
      [`(loop $o (block $b (br_table $b $o (local.get $n))) (call $work))`, 0],
    ];
    for (const [loop, elided] of cases) {
      const src = await wat(`(module (memory (export "memory") 1 1 shared) (func $work)
        (func (export "f") (param $n i32) ${loop}))`);
      for (const engine of ["auto", "binaryen"] as const) {
        const { report } = instrument(src, { engine, optimizeLevel: 0 });
        expect(report.elidedLoopPolls, `${engine}: ${loop}`).toBe(elided);
      }
    }
  });
});
