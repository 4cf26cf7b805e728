// An application proxy's lock across a process' threads (docs/kernel.md "Application proxies"): a
// thread terminated while its call was with the proxy must not leave the others waiting forever.

import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const dist = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "dist");
const { createThreadIds, releaseThreadSlots, takeThreadSlot } = (await import(
  path.join(dist, "kernel-compat/runner/fork.js")
)) as typeof import("./fork.js");
const { proxyShared, reclaimProxyLock } = (await import(
  path.join(dist, "kernel-compat/runner/proxy.js")
)) as typeof import("./proxy.js");

describe("the proxy lock of a process' threads", () => {
  it("a thread's end names the ids of the threads that end with it", () => {
    const t = createThreadIds(8);
    const a = takeThreadSlot(t, 2, 0) as number; // thread 2, made by the main thread (slot 0)
    const b = takeThreadSlot(t, 3, a) as number; // thread 3, made by thread 2
    takeThreadSlot(t, 4, 0); // thread 4, made by the main thread: lives on
    expect([...releaseThreadSlots(t, a)].sort()).toEqual([2, 3]);
    expect(b).toBeGreaterThan(0);
    // Without a thread limit no thread has a slot: nothing to name.
    expect([...releaseThreadSlots(createThreadIds(0), -1)]).toEqual([]);
  });

  it("frees the lock held by an ended thread and detaches the proxy; leaves a live holder's", () => {
    const shared = proxyShared();
    const state = new Int32Array(shared);
    state[0] = 3; // thread 3 holds the lock (its call is with the proxy)
    expect(reclaimProxyLock(shared, new Set([2]))).toBe(false);
    expect([state[0], state[2]]).toEqual([3, 0]);
    expect(reclaimProxyLock(shared, new Set([2, 3]))).toBe(true);
    expect([state[0], state[2]]).toEqual([0, 1]); // unlocked, detached
    expect(reclaimProxyLock(shared, new Set([3]))).toBe(false); // nobody holds it now
  });
});
