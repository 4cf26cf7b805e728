// Tests of the AOT instrumentation (docs/commonassembly-aot.md): polls where expected, semantics kept,
// a busy loop interrupted from another thread, the memory-max bump, and Asyncify's "return twice".

import { Worker } from "node:worker_threads";
import { describe, expect, it } from "vitest";
import { TestProcess } from "../../test/ca-exec.js";
import { wat } from "../../test/wasm-spec/wat.js";
import { instrument } from "./instrument.js";
import { readMemoryLimits } from "./wasm-sections.js";

const LOOPS = `(module
  (memory (export "memory") 1 4 shared)
  (func $sum (export "sum") (param $n i32) (result i32) (local $i i32) (local $s i32)
    (block $done
      (loop $outer
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $s (i32.add (local.get $s) (call $inner (local.get $i))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $outer)))
    (local.get $s))
  (func $inner (param $k i32) (result i32) (local $j i32) (local $t i32)
    (block $d (loop $l
      (br_if $d (i32.ge_u (local.get $j) (local.get $k)))
      (local.set $t (i32.add (local.get $t) (local.get $j)))
      (local.set $j (i32.add (local.get $j) (i32.const 1)))
      (br $l)))
    (local.get $t))
  (func (export "_start")))`;

function sumRef(n: number): number {
  let s = 0;
  for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) s = (s + j) | 0;
  return s;
}

describe("instrument", () => {
  it("adds the ctl global, the safepoint import and a poll per function entry and loop header", async () => {
    const { wasm, report } = instrument(await wat(LOOPS), { optimizeLevel: 0 });
    expect(report.functions).toBe(3);
    expect(report.entryPolls).toBe(3);
    expect(report.loopPolls).toBe(1);
    expect(report.elidedLoopPolls).toBe(1); // sum's loop calls inner (which polls) on every iteration
    expect(report.asyncify).toBe(false);
    const mod = new WebAssembly.Module(wasm);
    expect(WebAssembly.Module.imports(mod)).toEqual([
      { module: "nightos", name: "safepoint", kind: "function" },
    ]);
    const exports = WebAssembly.Module.exports(mod).map((e) => `${e.kind}:${e.name}`);
    expect(exports).toContain("global:__nightos_ctl");
    expect(exports.some((e) => e.includes("asyncify"))).toBe(false);
  });

  it("keeps semantics and calls safepoint once per request, at the next poll (unoptimized and optimized)", async () => {
    for (const optimizeLevel of [0, 1, 2] as const) {
      const { wasm } = instrument(await wat(LOOPS), { optimizeLevel });
      let rearm = 0;
      const p = TestProcess.create(new WebAssembly.Module(wasm), {
        onSafepoint: (proc) => {
          if (rearm-- > 0) proc.setPollFlag(true);
        },
      });
      const sum = p.instance.exports.sum as (n: number) => number;
      expect(sum(300)).toBe(sumRef(300));
      expect(p.safepoints).toBe(0);
      p.setPollFlag(true);
      expect(sum(10)).toBe(sumRef(10));
      expect(p.safepoints).toBe(1); // the entry poll of sum; the handler cleared the flag
      // Each handler run makes a new request, which every frame takes once at its next poll: the entry
      // of sum and the entries of the 10 calls of inner (sum's loop calls inner on every iteration, so
      // its header poll is elided; inner's loop headers see the value their frame already took).
      rearm = 1000;
      p.setPollFlag(true);
      expect(sum(10)).toBe(sumRef(10));
      expect(p.safepoints).toBe(1 + 1 + 10);
    }
  });

  it("polls at loop headers: a request made inside a loop is taken at its next iteration", async () => {
    const src = await wat(`(module
      (import "env" "tick" (func $tick (param i32)))
      (memory (export "memory") 1 1 shared)
      (global $iter (export "iter") (mut i32) (i32.const 0))
      (func (export "run") (param $n i32) (result i32) (local $s i32)
        (loop $l
          (global.set $iter (i32.add (global.get $iter) (i32.const 1)))
          (call $tick (global.get $iter))
          (local.set $s (i32.add (local.get $s) (global.get $iter)))
          (br_if $l (i32.lt_u (global.get $iter) (local.get $n))))
        (local.get $s)))`);
    const { wasm } = instrument(src);
    let flagWord: Int32Array | undefined;
    let ctl = 0;
    let seenAt = -1;
    let iter: WebAssembly.Global | undefined;
    const inst = new WebAssembly.Instance(new WebAssembly.Module(wasm), {
      nightos: {
        safepoint: () => {
          seenAt = iter?.value as number;
          if (flagWord) Atomics.store(flagWord, ctl >> 2, 0);
        },
      },
      env: {
        tick: (i: number) => {
          if (i === 5 && flagWord) Atomics.store(flagWord, ctl >> 2, 1);
        },
      },
    });
    iter = inst.exports.iter as WebAssembly.Global;
    const mem = inst.exports.memory as WebAssembly.Memory;
    ctl = 0; // ABI 1.0: the control block is at address 0
    flagWord = new Int32Array(mem.buffer);
    expect((inst.exports.run as (n: number) => number)(10)).toBe(55);
    expect(seenAt).toBe(5); // requested during iteration 5, taken at the header of iteration 6
  });

  it("guards the polls of a module whose memory may be empty, while __nightos_ctl is 0", async () => {
    // A plain module (not a NightOS program) with a zero-page memory: an unguarded poll would trap.
    const src = await wat(`(module (memory 0)
      (func (export "f") (param $n i32) (result i32) (local $s i32)
        (loop $l (local.set $s (i32.add (local.get $s) (local.get $n)))
          (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
        (local.get $s)))`);
    const { wasm, report } = instrument(src, { reserveControlPage: false });
    expect(report.guardedPolls).toBe(true);
    let calls = 0;
    const inst = new WebAssembly.Instance(new WebAssembly.Module(wasm), {
      nightos: { safepoint: () => void calls++ },
    });
    expect((inst.exports.f as (n: number) => number)(10)).toBe(55);
    expect(calls).toBe(0);
    // NightOS programs get unguarded polls: the runtime sets __nightos_ctl before any code runs.
    expect(instrument(await wat(LOOPS)).report.guardedPolls).toBe(false);
  });

  it("raises the memory maximum by one page for the control block, and only when asked", async () => {
    const src = await wat(LOOPS);
    expect(readMemoryLimits(src)).toMatchObject({ initial: 1, max: 4, shared: true });
    const bumped = instrument(src);
    expect(bumped.report.memoryMaxBumped).toBe(true);
    expect(readMemoryLimits(bumped.wasm)).toMatchObject({ initial: 1, max: 5, shared: true });
    const kept = instrument(src, { reserveControlPage: false });
    expect(readMemoryLimits(kept.wasm)).toMatchObject({ initial: 1, max: 4 });
    // A full memory (initial == max) can still take the control page after the bump.
    const full = instrument(
      await wat(`(module (memory (export "memory") 2 2 shared) (func (export "_start")))`),
    );
    expect(readMemoryLimits(full.wasm)).toMatchObject({ initial: 2, max: 3 });
    const p = TestProcess.create(new WebAssembly.Module(full.wasm));
    expect(p.memory.grow(1)).toBe(2);
  });

  it("gives a memoryless module a one-page control memory", async () => {
    const { wasm, report } = instrument(
      await wat(`(module (func (export "f") (result i32) (i32.const 7)))`),
    );
    expect(report.memoryAdded).toBe(true);
    const inst = new WebAssembly.Instance(new WebAssembly.Module(wasm), {
      nightos: { safepoint: () => {} },
    });
    expect((inst.exports.f as () => number)()).toBe(7);
    expect(inst.exports.__nightos_ctl_memory).toBeInstanceOf(WebAssembly.Memory);
  });

  it("rejects memory64 and counts loops it cannot reach (inside table.fill operands)", async () => {
    const m64 = await wat(`(module (memory i64 1))`, { memory64: true });
    expect(() => instrument(m64)).toThrow(expect.objectContaining({ code: "AOT_MEMORY64" }));
    const opaque = await wat(`(module (table $t 4 externref)
      (func (export "f") (table.fill $t (i32.const 0) (ref.null extern)
        (loop $l (result i32) (i32.const 1)))))`);
    const { report } = instrument(opaque, { engine: "binaryen" });
    expect(report.opaqueExpressions).toBe(1);
    expect(report.loopPolls).toBe(0); // documented limitation: the entry poll remains
    expect(report.entryPolls).toBe(1);
    // The own rewriter (the default for such modules) sees every instruction, that loop included.
    const fast = instrument(opaque);
    expect(fast.report).toMatchObject({ engine: "rewriter", opaqueExpressions: 0, loopPolls: 1 });
    const wasm = fast.wasm;
    const inst = new WebAssembly.Instance(new WebAssembly.Module(wasm), {
      nightos: { safepoint: () => {} },
    });
    (inst.exports.f as () => void)();
  });

  it("rejects a module that already exports the reserved __nightos_ctl name", async () => {
    const src = await wat(`(module (global (export "__nightos_ctl") i32 (i32.const 0)))`);
    expect(() => instrument(src)).toThrow(/reserved/);
  });

  it("lets another thread interrupt a busy loop by setting the poll flag", async () => {
    const spin = `(module
      (memory (export "memory") 1 1 shared)
      (func (export "spin") (local $i i32)
        (loop $forever (local.set $i (i32.add (local.get $i) (i32.const 1))) (br $forever))))`;
    for (const engine of ["auto", "binaryen"] as const) {
      const { wasm, report } = instrument(await wat(spin), { engine });
      expect(report.loopPolls).toBe(1);
      expect(await interruptedByWorker(wasm), engine).toBe("interrupted");
    }
  });

  it("elides the header poll of a loop that calls a polling function on every iteration; still interruptible", async () => {
    const spin = `(module
      (memory (export "memory") 1 1 shared)
      (global $g (mut i32) (i32.const 0))
      (func $work (result i32) (global.set $g (i32.add (global.get $g) (i32.const 1))) (global.get $g))
      (func (export "spin") (local $i i32)
        (loop $forever
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (block (drop (call $work)))
          (br $forever))))`;
    for (const engine of ["auto", "binaryen"] as const) {
      const { wasm, report } = instrument(await wat(spin), { engine });
      expect(report.elidedLoopPolls, engine).toBe(1);
      expect(report.loopPolls, engine).toBe(0);
      expect(await interruptedByWorker(wasm), engine).toBe("interrupted");
    }
  });

  it("keeps the header poll when some iteration can skip the call, or the callee does not poll", async () => {
    const cases = [
      // a branch back to the header before the call
      `(loop $l (br_if $l (local.get $n)) (call $work) (br $l))`,
      // the call is conditional
      `(loop $l (if (local.get $n) (then (call $work))) (br $l))`,
      // the call's own operand branches back
      `(loop $l (call $take (br_if $l (i32.const 1) (local.get $n))) (br $l))`,
      // an imported function does not poll at its entry
      `(loop $l (call $imported) (br $l))`,
      // a named block can be left before the call
      `(loop $l (block $b (br_if $b (local.get $n)) (call $work)) (br $l))`,
    ];
    for (const loop of cases) {
      const src = await wat(`(module
        (import "env" "imported" (func $imported))
        (memory (export "memory") 1 1 shared)
        (func $work)
        (func $take (param i32))
        (func (export "f") (param $n i32) ${loop}))`);
      for (const engine of ["auto", "binaryen"] as const) {
        const { report } = instrument(src, { engine });
        expect(report.elidedLoopPolls, `${engine}: ${loop}`).toBe(0);
        expect(report.loopPolls, `${engine}: ${loop}`).toBe(1);
      }
    }
  });
});

/**
 * Runs the module's `spin` export in a worker whose safepoint throws, raises the poll flag (address 0,
 * ABI 1.0) from this thread after 50 ms, and resolves with what the worker reports.
 */
async function interruptedByWorker(wasm: Uint8Array): Promise<string> {
  const worker = new Worker(
    `const { parentPort, workerData } = require("node:worker_threads");
     const mod = new WebAssembly.Module(workerData);
     const inst = new WebAssembly.Instance(mod, { nightos: { safepoint: () => { throw new Error("interrupted"); } } });
     const mem = inst.exports.memory;
     parentPort.postMessage({ buffer: mem.buffer });
     try { inst.exports.spin(); parentPort.postMessage("returned"); }
     catch (e) { parentPort.postMessage(String(e.message)); }`,
    { eval: true, workerData: wasm },
  );
  try {
    return await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => resolve("not interrupted within 10 s"), 10_000);
      worker.on("error", reject);
      worker.on("message", (m: unknown) => {
        if (typeof m === "string") {
          clearTimeout(timer);
          resolve(m);
        } else {
          const { buffer } = m as { buffer: SharedArrayBuffer };
          // Let the worker enter the loop, then raise the flag from this thread.
          setTimeout(() => Atomics.add(new Int32Array(buffer), 0, 1), 50);
        }
      });
    });
  } finally {
    await worker.terminate();
  }
}

describe("Asyncify for syscall_fork", () => {
  const FORK = `(module
    (import "nightos" "syscall_fork" (func $fork (param i32 i32 i32) (result i32)))
    (memory (export "memory") 1 2 shared)
    (global $sp (mut i32) (i32.const 4096))
    (func $deep (param $depth i32) (result i32) (local $status i32)
      (if (local.get $depth)
        (then (return (i32.add (i32.const 1000) (call $deep (i32.sub (local.get $depth) (i32.const 1)))))))
      (global.set $sp (i32.const 8192))
      (i32.store8 (i32.const 4200) (i32.const 0x50))
      (local.set $status (call $fork (i32.const 4200) (i32.const 1) (i32.const 4208)))
      ;; what each side saw: status and the return value's low word
      (i32.store (i32.const 4100) (local.get $status))
      (i32.store (i32.const 4104) (i32.load (i32.const 4208)))
      (i32.store (i32.const 4108) (global.get $sp))
      (i32.const 7))
    (func (export "_start") (local $x i32)
      (local.set $x (i32.const 41))
      (i32.store (i32.const 4112) (call $deep (i32.const 3)))
      (i32.store (i32.const 4116) (i32.add (local.get $x) (i32.const 1)))))`;

  it("applies Asyncify only to modules that import syscall_fork", async () => {
    const { report, wasm } = instrument(await wat(FORK));
    expect(report.asyncify).toBe(true);
    expect(report.forkGlobals).toHaveLength(1);
    const names = WebAssembly.Module.exports(new WebAssembly.Module(wasm)).map((e) => e.name);
    expect(names).toEqual(
      expect.arrayContaining([
        "asyncify_start_unwind",
        "asyncify_stop_rewind",
        "__nightos_global_0",
      ]),
    );
  });

  it("makes syscall_fork return twice: once in the parent, once in the child, with the stack restored", async () => {
    const { wasm } = instrument(await wat(FORK));
    const parent = TestProcess.create(new WebAssembly.Module(wasm), {
      fork: (_p, _c, req, _len, ret) => {
        expect(new Uint8Array(_p.memory.buffer)[req]).toBe(0x50);
        new DataView(_p.memory.buffer).setBigUint64(ret, 123n, true);
        return 0;
      },
    });
    parent.runStart();
    expect(parent.forkCalls).toBe(1);
    expect(parent.children).toHaveLength(1);
    const child = parent.children[0] as TestProcess;
    const view = (p: TestProcess): number[] => Array.from(new Int32Array(p.memory.buffer, 4100, 5));
    // status, return value, the global copied across, deep()'s result through 3 frames, the local of _start
    expect(view(parent)).toEqual([0, 123, 8192, 3007, 42]);
    expect(view(child)).toEqual([0, 0, 8192, 3007, 42]);
  });
});
