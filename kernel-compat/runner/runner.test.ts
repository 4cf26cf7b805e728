// Unit tests of the runner's in-process kernel objects: signal queue/delivery rules (signals.md), the
// MEM_ALLOC page allocator, the worker↔main channels, trap decoding, and the dispatch table's coverage.

import { describe, expect, it } from "vitest";
import { Sig } from "../../commonassembly/abi/numbers.js";
import {
  FORK_GLOBAL_EXPORT_PREFIX,
  SYSCALL_RET_SIZE,
} from "../../commonassembly/abi/wasm-names.js";
import { instrument } from "../../commonassembly/aot/instrument.js";
import { watToWasm } from "../../commonassembly/text.js";
import { checkRunnerTable } from "../syscalls/dispatch.js";
import { Mailbox, Outbox, RING_SLOTS, SignalRing, TRACE_WINDOW } from "./channel.js";
import { accessKind } from "./faults.js";
import { forkGlobals } from "./fork.js";
import { PAGE_SIZE, PageAllocator } from "./memory.js";
import { type HandlerEnv, ProcessEnd, SignalState } from "./signals.js";

async function handlerModule(): Promise<{ env: HandlerEnv; calls: number[][] }> {
  const calls: number[][] = [];
  const wasm = await watToWasm(`(module
    (import "t" "log" (func $log (param i32 i32)))
    (memory (export "memory") 1 1 shared)
    (table (export "t") 4 funcref)
    (elem (i32.const 1) $ok $bad $nested)
    (func $ok (param i32 i32) (result i64) (call $log (local.get 0) (i32.load8_u (local.get 1))) (i64.const 9))
    (func $bad (param i32) (result i32) (i32.const 0))
    (func $nested (param i32 i32) (result i64) (call $log (local.get 0) (i32.const 255)) (i64.const 0)))`);
  const inst = new WebAssembly.Instance(new WebAssembly.Module(wasm), {
    t: { log: (a: number, b: number) => calls.push([a, b]) },
  });
  const ex = inst.exports as { memory: WebAssembly.Memory; t: WebAssembly.Table };
  const env: HandlerEnv = {
    table: ex.t,
    // function indices: 0 = import, 1 = $ok, 2 = $bad, 3 = $nested
    hasHandlerSig: (i) => i === 1 || i === 3,
    datafieldAddress: 32,
    memory: ex.memory,
    trace: () => {},
  };
  return { env, calls };
}

const df = (b: number) => {
  const d = new Uint8Array(32);
  d[0] = b;
  return d;
};

describe("SignalState", () => {
  it("queues everything until READY, then delivers in order with the datafield copy", async () => {
    const { env, calls } = await handlerModule();
    const s = new SignalState();
    s.handlers.set(Sig.TERMINATE, 1n);
    s.handlers.set(Sig.SUSPEND, 1n);
    s.enqueue(Sig.TERMINATE, df(7));
    s.enqueue(Sig.SUSPEND, df(8));
    s.deliverPending(env);
    expect(calls).toEqual([]);
    s.ready = true;
    s.deliverPending(env);
    expect(calls).toEqual([
      [Sig.TERMINATE, 7],
      [Sig.SUSPEND, 8],
    ]);
    expect(s.answers).toEqual([
      { signal: Sig.TERMINATE, answer: 9n },
      { signal: Sig.SUSPEND, answer: 9n },
    ]);
    expect(s.queued).toBe(0);
  });

  it("ignores or kills by default, and turns a bad handler into HANDLER_FAULT", async () => {
    const { env, calls } = await handlerModule();
    const s = new SignalState();
    s.ready = true;
    s.enqueue(Sig.SUSPEND, df(0));
    s.deliverPending(env); // ignored
    s.handlers.set(Sig.TERMINATE, 2n); // wrong signature
    s.handlers.set(Sig.HANDLER_FAULT, 1n);
    s.enqueue(Sig.TERMINATE, df(0));
    s.deliverPending(env);
    expect(calls).toEqual([[Sig.HANDLER_FAULT, Sig.TERMINATE]]);
    s.handlers.set(Sig.HANDLER_FAULT, 0n); // null entry: double fault
    s.enqueue(Sig.TERMINATE, df(0));
    expect(() => s.deliverPending(env)).toThrow(ProcessEnd);
    const t = new SignalState();
    t.ready = true;
    t.enqueue(Sig.WILL_TERMINATE, df(0));
    expect(() => t.deliverPending(env)).toThrow(/WILL_TERMINATE \(no handler\)/);
    t.handlers.set(Sig.TERMINATE, 99n); // out of the table
    t.enqueue(Sig.TERMINATE, df(0));
    expect(() => t.deliverPending(env)).toThrow(/HANDLER_FAULT \(no handler\)/);
  });
});

describe("PageAllocator", () => {
  it("hands out page runs from grown memory, refuses unknown pages and reuses freed ones", () => {
    const mem = new WebAssembly.Memory({ initial: 1, maximum: 4, shared: true });
    const a = new PageAllocator(mem);
    const r1 = a.alloc(1, 3, false);
    expect(r1).toEqual({ ok: true, address: 65536 });
    const r2 = a.alloc(PAGE_SIZE * 15, 1, true);
    expect(r2).toEqual({ ok: true, address: 65536 + PAGE_SIZE });
    expect(a.free_(0, 1)).toBe("not-allocated");
    expect(a.free_(65536 + 1, 1)).toBe("unaligned");
    expect(a.free_(65536, 1)).toBeUndefined();
    expect(a.free_(65536, 1)).toBe("not-allocated");
    expect(a.alloc(10, 3, false)).toEqual({ ok: true, address: 65536 });
    expect(a.alloc(PAGE_SIZE * 16 * 4, 3, false)).toEqual({ ok: false, reason: "no-space" });
    const copy = new PageAllocator(mem);
    copy.restore(a.snapshot());
    expect(copy.allocatedPages).toBe(a.allocatedPages);
  });

  it("threads share one allocation state: pages one allocates, another frees; grown pages are not handed out twice", () => {
    const mem = new WebAssembly.Memory({ initial: 1, maximum: 8, shared: true });
    const a = new PageAllocator(mem);
    const b = new PageAllocator(mem, a.sab);
    const r1 = a.alloc(PAGE_SIZE, 3, false);
    const r2 = b.alloc(PAGE_SIZE, 1, false);
    expect(r1).toEqual({ ok: true, address: 65536 });
    expect(r2).toEqual({ ok: true, address: 65536 + PAGE_SIZE });
    expect(b.permissionsOf(65536)).toBe(3);
    expect(b.free_(65536, 1)).toBeUndefined();
    expect(a.free_(65536, 1)).toBe("not-allocated");
    expect(a.allocatedPages).toBe(1);
    // A run larger than what is free grows the memory (joining the free pages at the old end), for both.
    expect(b.alloc(PAGE_SIZE * 20, 3, true)).toEqual({ ok: true, address: 65536 + 2 * PAGE_SIZE });
    expect(a.alloc(PAGE_SIZE, 3, false)).toEqual({ ok: true, address: 65536 });
    expect(mem.buffer.byteLength).toBe(4 * 65536);
  });
});

describe("channels", () => {
  it("the signal ring keeps order, reports full, and carries suspension", () => {
    const r = SignalRing.create();
    for (let i = 0; i < RING_SLOTS; i++) expect(r.push(i & 0xff, df(i & 0xff))).toBe(true);
    expect(r.push(1, df(1))).toBe(false);
    const got = r.drain();
    expect(got.length).toBe(RING_SLOTS);
    expect(got[5]?.signal).toBe(5);
    expect(got[5]?.datafield[0]).toBe(5);
    expect(r.pending()).toBe(false);
    r.setSuspended(true);
    expect(r.suspended).toBe(true);
    r.setSuspended(false);
    r.waitWhileSuspended();
  });
  it("the outbox numbers trace lines within the window and coalesces handler-set notices", () => {
    const o = Outbox.create();
    for (let i = 0; i < TRACE_WINDOW; i++) expect(o.admitTrace()).toBe(i);
    expect(o.posted).toBe(TRACE_WINDOW);
    // The window is full: the next admission would wait; one acknowledgement makes room for one.
    o.ack(1);
    expect(o.admitTrace()).toBe(TRACE_WINDOW);
    expect(o.markHandledChanged()).toBe(true);
    expect(o.markHandledChanged()).toBe(false);
    o.takeHandledChanged();
    expect(o.markHandledChanged()).toBe(true);
  });
  it("the mailbox returns the answer and the errcode", () => {
    const m = Mailbox.create();
    m.arm();
    m.answer(null, Uint8Array.of(1, 2, 3));
    expect(m.waitAnswer()).toEqual({ errcode: null, ret: Uint8Array.of(1, 2, 3) });
    m.arm();
    m.answer(0x30, new Uint8Array(0));
    expect(m.waitAnswer().errcode).toBe(0x30);
  });
  it("the mailbox holds the ABI's return area, no more (buffers travel beside it)", () => {
    const m = Mailbox.create();
    m.arm();
    const full = Uint8Array.from({ length: SYSCALL_RET_SIZE }, (_, i) => i);
    m.answer(null, full);
    expect(m.waitAnswer().ret).toEqual(full);
    expect(() => m.answer(null, new Uint8Array(SYSCALL_RET_SIZE + 1))).toThrow(/too large/);
  });
});

describe("trap decoding and tables", () => {
  it("tells loads from stores at the trapping offset", () => {
    expect(accessKind(Uint8Array.of(0x28), 0)).toBe(1);
    expect(accessKind(Uint8Array.of(0x36), 0)).toBe(2);
    expect(accessKind(Uint8Array.of(0xfc, 11), 0)).toBe(2);
    expect(accessKind(Uint8Array.of(0xfe, 0x10), 0)).toBe(1);
    expect(accessKind(Uint8Array.of(0xfe, 0x1e), 0)).toBe(2);
    expect(accessKind(Uint8Array.of(0x36), undefined)).toBe(1);
  });
  it("has a runner handler for exactly the syscalls the table says the runner implements", () => {
    expect(checkRunnerTable()).toEqual([]);
  });
  it("agrees with the AOT step on the fork-global exports (one name, in the ABI leaf)", async () => {
    const { wasm, report } = instrument(
      await watToWasm(`(module
        (import "nightos" "syscall_fork" (func $fork (param i32 i32 i32) (result i32)))
        (memory (export "memory") 1 2 shared)
        (global $a (mut i32) (i32.const 7))
        (global $b (mut i64) (i64.const 9))
        (func (export "_start")
          (global.set $a (i32.add (global.get $a) (i32.const 1)))
          (global.set $b (i64.add (global.get $b) (i64.const 1)))
          (drop (call $fork (i32.const 4096) (i32.const 1) (i32.const 4104)))))`),
      { optimizeLevel: 0 },
    );
    expect(report.forkGlobals).toHaveLength(2);
    const nightos = { syscall_fork: () => 0, safepoint: () => {} };
    const { exports } = new WebAssembly.Instance(new WebAssembly.Module(wasm), { nightos });
    const globals = forkGlobals(exports as Record<string, unknown>);
    expect(Object.keys(globals)).toHaveLength(2);
    for (const name of Object.keys(globals))
      expect(name.startsWith(FORK_GLOBAL_EXPORT_PREFIX)).toBe(true);
    expect(Object.values(globals).sort()).toEqual([7, 9n]);
  });
});
