// The kernel's requests to a running process' runner (docs/kernel.md "Kernel objects", "Threads started
// by the kernel"): map and unmap a host shared-memory segment the kernel owns, start a thread at a table
// function index. Real kernel, real runners (the built dist/, as the black-box tests use).

import { createHash } from "node:crypto";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { EXIT } from "../../commonassembly/abi/syscalls.js";
import { watToWasm } from "../../commonassembly/text.js";
import type { KProcess } from "../kernel/process.js";
import type { Outcome } from "../protocol.js";
import type { Kernel as KernelClass } from "./kernel.js";
import type { RunnerPool as PoolClass } from "./pool.js";

const dist = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "dist");
const { Kernel } = (await import(path.join(dist, "kernel-compat/server/kernel.js"))) as {
  Kernel: typeof KernelClass;
};
const { RunnerPool } = (await import(path.join(dist, "kernel-compat/server/pool.js"))) as {
  RunnerPool: typeof PoolClass;
};

const pool = new RunnerPool(1, () => {});
const kernel = new Kernel(pool, () => {});
afterAll(() => {
  for (const p of kernel.live()) kernel.kill(p, "test over");
  pool.close();
});

/** Start `wasm` as a process of its own; resolves with it and, later, its outcome. */
function start(wasm: Uint8Array): { p: KProcess; ended: Promise<Outcome> } {
  let resolveEnd: (o: Outcome) => void = () => {};
  const ended = new Promise<Outcome>((r) => {
    resolveEnd = r;
  });
  const p = kernel.spawn({
    name: "t",
    wasm,
    context: new Uint8Array(16),
    anid: kernel.newAnid(),
    ppid: 0,
    trace: false,
    session: {
      connection: {},
      started: () => {},
      trace: () => {},
      exited: (_pid, o) => resolveEnd(o),
      commandPipes: () => {},
      whenWritable: (go) => go(),
    },
  });
  return { p, ended };
}

/** `_start` spins at safepoints until the kernel ends the process (or a thread EXITs). */
const SPIN = `(func (export "_start") (loop $l (call $sp) (br $l)))`;

describe.skipIf(process.platform !== "linux")("kernel requests to a runner", () => {
  it("maps a segment the kernel made: the runner sees the kernel's bytes; the owner's end releases it", async () => {
    const wasm = await watToWasm(`(module
      (import "nightos" "safepoint" (func $sp))
      (memory (export "memory") 1 1 shared)
      ${SPIN})`);
    const { p, ended } = start(wasm);
    const seg = kernel.segments.create(p.pid, 6000, "test");
    seg.bytes.set(new TextEncoder().encode("bytes the kernel wrote"), 100);
    seg.bytes[seg.size - 1] = 0xee;
    const sha256 = createHash("sha256").update(seg.bytes).digest("hex");
    expect(await kernel.mapSegment(p, seg)).toEqual({ ok: true, sha256 });
    expect(await kernel.mapSegment(p, seg)).toEqual({
      ok: false,
      error: `segment ${seg.id} is mapped already`,
    });
    expect(await kernel.unmapSegment(p, seg.id)).toEqual({ ok: true });
    expect(await kernel.unmapSegment(p, seg.id)).toEqual({
      ok: false,
      error: `segment ${seg.id} is not mapped`,
    });
    kernel.kill(p, "test over");
    await ended;
    expect(kernel.segments.ownedBy(p.pid)).toEqual([]);
    expect(await kernel.mapSegment(p, seg)).toEqual({ ok: false, error: "the process has ended" });
  }, 20_000);

  it("starts a thread at a table function index, called with the argument", async () => {
    // Table index 2 EXITs the process with its argument + 1 (+ 1000 if it got no stack of its own:
    // the AOT step exports clang's __stack_pointer as global 0); index 1 takes no argument.
    const wasm = await watToWasm(`(module
      (import "nightos" "syscall" (func $sys (param i32 i32 i32) (result i32)))
      (import "nightos" "safepoint" (func $sp))
      (import "nightos" "memory" (memory 1 16 shared))
      (export "memory" (memory 0))
      (table (export "__indirect_function_table") 3 funcref)
      (elem (i32.const 1) $none $entry)
      (global $stack (export "__nightos_global_0") (mut i32) (i32.const 0))
      (func $none)
      (func $entry (param $arg i64)
        (i32.store8 (i32.const 0x100) (i32.const ${EXIT.code}))
        (i64.store (i32.const 0x101)
          (i64.add (i64.add (local.get $arg) (i64.const 1))
            (select (i64.const 1000) (i64.const 0) (i32.eqz (global.get $stack)))))
        (drop (call $sys (i32.const 0x100) (i32.const 9) (i32.const 0x200))))
      ${SPIN})`);
    const { p, ended } = start(wasm);
    const bad = await kernel.startThread(p, 1, 0n);
    expect(bad).toEqual({ ok: true, tid: 2 });
    const r = await kernel.startThread(p, 2, 41n);
    expect(r).toEqual({ ok: true, tid: 3 });
    expect(await ended).toEqual({ kind: "exit", exitData: 42n });
  }, 20_000);

  it("refuses a thread in a process whose module cannot share its memory", async () => {
    const wasm = await watToWasm(`(module
      (import "nightos" "safepoint" (func $sp))
      (memory (export "memory") 1 1 shared)
      ${SPIN})`);
    const { p, ended } = start(wasm);
    expect(await kernel.startThread(p, 0, 0n)).toEqual({
      ok: false,
      error: "the process cannot have threads (its module does not import nightos.memory)",
    });
    kernel.kill(p, "test over");
    await ended;
  }, 20_000);
});
