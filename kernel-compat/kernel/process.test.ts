// Unit tests of the process table (kernel/process.ts; specs/kernel/processes.md).

import { describe, expect, it } from "vitest";
import { FIRST_APP_PID } from "../../commonassembly/abi/numbers.js";
import { type KProcess, ProcessTable } from "./process.js";

function proc(pid: number, ppid: number): KProcess {
  return {
    pid,
    ppid,
    name: "t",
    anid: 1,
    user: 1,
    userName: "user",
    detached: false,
    state: "running",
    startedAt: 0,
    runner: undefined,
    session: undefined,
    trace: false,
    wasm: new Uint8Array(0),
    context: new Uint8Array(0),
    children: new Set(),
    handled: new Set(),
    waiters: [],
    outcome: undefined,
    suspendedAt: undefined,
    selfSuspendReply: undefined,
    timers: new Set(),
    priority: 10,
    spawnedAt: 0,
    memoryBytes: 0,
    traceUnacked: 0,
    requests: new Map(),
  };
}

describe("ProcessTable", () => {
  it("hands out PIDs from the first app PID, never reused, and keeps exited records", () => {
    const t = new ProcessTable();
    expect(t.nextPid()).toBe(FIRST_APP_PID);
    const a = proc(t.nextPid(), 0);
    t.add(a);
    const b = proc(t.nextPid(), a.pid);
    t.add(b);
    const c = proc(t.nextPid(), b.pid);
    t.add(c);
    expect([a.pid, b.pid, c.pid]).toEqual([100, 101, 102]);
    expect(() => t.add(proc(100, 0))).toThrow(/out of order/);
    b.state = "exited";
    expect(t.live()).toEqual([a, c]);
    expect(t.get(b.pid)).toBe(b);
    expect(t.nextPid()).toBe(103);
  });
  it("knows children and ancestors", () => {
    const t = new ProcessTable();
    const a = proc(t.nextPid(), 0);
    t.add(a);
    const b = proc(t.nextPid(), a.pid);
    t.add(b);
    const c = proc(t.nextPid(), b.pid);
    t.add(c);
    expect(t.childrenOf(a.pid)).toEqual([b]);
    expect(t.childOf(a, b.pid)).toBe(b);
    expect(t.childOf(a, c.pid)).toBeUndefined();
    expect(t.isAncestorOf(a, c)).toBe(true);
    expect(t.isAncestorOf(c, a)).toBe(false);
    expect(t.isAncestorOf(c, c)).toBe(false);
  });
});
