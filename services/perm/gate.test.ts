// The permission gate (services/perm/gate.ts) with a fake kernel: one question for concurrent checks,
// the lifetimes of the answers, a refusal without a terminal, and a "forever" answered while the tree's
// queue is held (inside a sys::fs call) neither deadlocks nor is lost.

import { describe, expect, it } from "vitest";
import { MemoryFs } from "../fs/memory.js";
import { type AskingSession, type GateHost, type GateProcess, PermissionGate } from "./gate.js";
import { readUser } from "./store.js";

function setup(answers: string[], terminal = true) {
  const fs = new MemoryFs();
  const asked: string[] = [];
  const told: string[] = [];
  const session: AskingSession = {
    canAsk: () => terminal,
    ask: async (text) => {
      asked.push(text);
      return answers.shift() ?? "deny";
    },
  };
  const procs = new Map<number, GateProcess>();
  const add = (pid: number, ppid = 0, app = "a::one") => {
    procs.set(pid, { pid, ppid, name: `p${pid}`, userName: "user", system: false, session });
    apps.set(pid, app);
  };
  const apps = new Map<number, string>();
  let queue: Promise<unknown> = Promise.resolve();
  const host: GateHost = {
    process: (pid) => procs.get(pid),
    appKey: async (p) => apps.get(p.pid) ?? "none",
    tree: async () => fs,
    serialize: (fn) => {
      const p = queue.then(fn);
      queue = p.catch(() => undefined);
      return p;
    },
    tell: (_p, line) => told.push(line),
    log: () => {},
  };
  return { gate: new PermissionGate(host, []), fs, asked, told, add, procs, host };
}

describe("PermissionGate", () => {
  it("asks once for concurrent checks of one permission of a run", async () => {
    const t = setup(["run"]);
    t.add(100);
    t.add(101, 100);
    const r = await Promise.all([t.gate.check(100, "flow.list"), t.gate.check(101, "flow.list")]);
    expect(r).toEqual([true, true]);
    expect(t.asked).toHaveLength(1);
    // "run": the run's processes hold it; it goes when the root ends.
    expect(await t.gate.check(101, "flow.list", undefined, false)).toBe(true);
    t.gate.processExited(100);
    t.procs.delete(100);
    t.procs.delete(101);
    t.add(102);
    expect(await t.gate.check(102, "flow.list", undefined, false)).toBe(false);
  });

  it("once holds for one check; deny holds for the run without asking again; session for the app", async () => {
    const t = setup(["once", "deny", "session"]);
    t.add(100);
    expect(await t.gate.check(100, "flow.list")).toBe(true);
    expect(await t.gate.check(100, "flow.list", undefined, false)).toBe(false);
    expect(await t.gate.check(100, "flow.list")).toBe(false);
    expect(await t.gate.check(100, "flow.list")).toBe(false);
    expect(t.asked).toHaveLength(2);
    t.add(200);
    expect(await t.gate.check(200, "flow.read")).toBe(true);
    t.add(300);
    expect(await t.gate.check(300, "flow.read", undefined, false)).toBe(true);
    t.add(400, 0, "a::other");
    expect(await t.gate.check(400, "flow.read", undefined, false)).toBe(false);
  });

  it("refuses without a terminal and tells the terminal how to grant up front", async () => {
    const t = setup([], false);
    t.add(100);
    expect(await t.gate.check(100, "flow.list")).toBe(false);
    expect(t.asked).toHaveLength(0);
    expect(t.told).toEqual([
      "permission flow.list refused: no terminal to ask on (grant it up front: `ncw run --allow flow.list`, or `ncw perm grant`)",
    ]);
  });

  it("a forever answer given while the tree's queue is held is held from memory, then written", async () => {
    const t = setup(["forever"]);
    t.add(100);
    let release!: () => void;
    // A sys::fs call holds the queue while it checks.
    const held = t.host.serialize(
      () =>
        new Promise<void>((r) => {
          release = r;
        }),
    );
    expect(await t.gate.check(100, "fs.items.read", "/home/user/docs")).toBe(true);
    expect(await t.gate.check(100, "fs.items.read", "/home/user/docs/a", false)).toBe(true);
    expect((await readUser(t.fs, "user")).apps).toEqual({});
    release();
    await held;
    await t.host.serialize(async () => {});
    expect((await readUser(t.fs, "user")).apps["a::one"]).toEqual([
      expect.objectContaining({ permission: "fs.items.read", scope: "/home/user/docs" }),
    ]);
  });
});
