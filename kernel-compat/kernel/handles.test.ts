// Unit tests of the per-process identifier tables (kernel/handles.ts; specs/kernel/ipc.md).

import { describe, expect, it } from "vitest";
import { Handles, HandleTable } from "./handles.js";

describe("HandleTable", () => {
  it("names objects from 1, never reusing an identifier", () => {
    const t = new HandleTable<string>();
    expect(t.add("a")).toBe(1n);
    expect(t.add("b")).toBe(2n);
    expect(t.remove(1n)).toBe("a");
    expect(t.remove(1n)).toBeUndefined();
    expect(t.get(1n)).toBeUndefined();
    expect(t.add("c")).toBe(3n);
    expect(t.get(0n)).toBeUndefined();
    expect(t.size).toBe(2);
  });
  it("lets one object hold several identifiers, and clears each object once", () => {
    const t = new HandleTable<{ n: number }>();
    const o = { n: 1 };
    const a = t.add(o);
    const b = t.add(o);
    expect(t.idsOf(o)).toEqual([a, b]);
    expect(t.clear()).toEqual([o]);
    expect(t.size).toBe(0);
  });
});

describe("Handles", () => {
  it("gives each process identifiers of its own for the same object", () => {
    const h = new Handles<string>();
    const pipe = "pipe";
    expect(h.add(100, "other")).toBe(1n);
    const sender = h.add(100, pipe);
    const receiver = h.add(101, pipe);
    expect(sender).toBe(2n);
    expect(receiver).toBe(1n);
    // An identifier is the process' own: 101's 2 names nothing, 100's 1 is not the pipe.
    expect(h.get(101, 2n)).toBeUndefined();
    expect(h.get(100, 1n)).toBe("other");
    expect(h.get(101, receiver)).toBe(pipe);
    expect(h.holders(pipe).sort()).toEqual([100, 101]);
    // How many each holds (what a runner's table must have room for: openSocket).
    expect(h.count(100)).toBe(2);
    expect(h.count(101)).toBe(1);
    expect(h.count(102)).toBe(0);
    h.remove(100, sender);
    expect(h.count(100)).toBe(1);
  });
  it("drops an exited process' table and says what it held", () => {
    const h = new Handles<string>();
    h.add(100, "x");
    h.add(100, "y");
    h.add(101, "x");
    expect(h.dropProcess(100).sort()).toEqual(["x", "y"]);
    expect(h.get(100, 1n)).toBeUndefined();
    expect(h.holders("x")).toEqual([101]);
    expect(h.holders("y")).toEqual([]);
    expect(h.dropProcess(100)).toEqual([]);
    // Identifiers of a PID start again only in a new table (PIDs are never reused: kernel/process.ts).
    expect(h.remove(101, 1n)).toBe("x");
  });
});
