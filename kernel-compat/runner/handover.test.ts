// HAND_OVER (syscalls.md 0x56; docs/kernel.md "HAND_OVER"): the calling thread sleeps on the process'
// poll flag until a signal is raised for the process, at most a cap; at once when a signal waits; and a
// raise between its look at the signals and its sleep is not lost.

import { Worker } from "node:worker_threads";
import { describe, expect, it } from "vitest";
import { CTL_POLL_FLAG_OFFSET } from "../../commonassembly/abi/wasm-names.js";
import { raisePollFlag } from "./channel.js";
import { HAND_OVER_MAX_MS, Proc } from "./process.js";

function proc(signalsWaiting: () => boolean, shared = true): Proc {
  const memory = new WebAssembly.Memory({
    initial: 1,
    maximum: 1,
    shared,
  } as WebAssembly.MemoryDescriptor);
  return new Proc({
    pid: 100,
    ppid: 1,
    context: new Uint8Array(0),
    memory,
    handlerEnv: {
      table: undefined,
      hasHandlerSig: () => false,
      datafieldAddress: 0,
      memory,
      trace: () => {},
    },
    toKernel: () => ({ errcode: 0x01, ret: new Uint8Array(0) }),
    onHandledChange: () => {},
    trace: undefined,
    pullSignals: () => {},
    signalsWaiting,
  });
}

const timed = (f: () => void): number => {
  const t0 = performance.now();
  f();
  return performance.now() - t0;
};

describe("HAND_OVER", () => {
  it("sleeps until the cap when nothing is raised (the default cap is 1 ms)", () => {
    expect(HAND_OVER_MAX_MS).toBe(1);
    const p = proc(() => false);
    expect(timed(() => p.handOver(40))).toBeGreaterThanOrEqual(35);
    // A private (non-shared) memory cannot be woken: the sleep is the whole cap.
    const q = proc(() => false, false);
    expect(timed(() => q.handOver(40))).toBeGreaterThanOrEqual(35);
  });

  it("returns at once when a signal already waits", () => {
    const p = proc(() => true);
    expect(timed(() => p.handOver(5000))).toBeLessThan(1000);
  });

  it("is woken by a raise of the poll flag from another thread", async () => {
    const p = proc(() => false);
    const sab = p.memory.buffer as SharedArrayBuffer;
    // The raiser: the poll-flag protocol (an increment, then a wake), 100 ms from now.
    const w = new Worker(
      `const { workerData } = require("node:worker_threads");
       const words = new Int32Array(workerData.sab);
       Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
       Atomics.add(words, workerData.at, 1);
       Atomics.notify(words, workerData.at);`,
      { eval: true, workerData: { sab, at: CTL_POLL_FLAG_OFFSET >> 2 } },
    );
    await new Promise((r) => w.once("online", r));
    const ms = timed(() => p.handOver(10_000));
    await w.terminate();
    expect(ms).toBeLessThan(5000);
  });

  it("does not lose a raise made while it looks for signals", () => {
    let p: Proc | undefined;
    p = proc(() => {
      // A signal raised for the process right after HAND_OVER read the flag.
      if (p) raisePollFlag(new Int32Array(p.memory.buffer), CTL_POLL_FLAG_OFFSET >> 2);
      return false;
    });
    const words = new Int32Array(p.memory.buffer);
    expect(timed(() => p?.handOver(5000))).toBeLessThan(1000);
    expect(Atomics.load(words, CTL_POLL_FLAG_OFFSET >> 2)).toBe(1);
  });
});
