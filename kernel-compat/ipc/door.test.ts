import { describe, expect, it } from "vitest";
import { DOOR_BYTES, DOOR_SLOTS, Door } from "./door.js";
import { sharedArrayRingMemory } from "./ring.js";

const door = () => new Door(sharedArrayRingMemory(new SharedArrayBuffer(DOOR_BYTES)));
const df = (b: number) => new Uint8Array(32).fill(b);

describe("a process' signal door", () => {
  it("hands its consumer every entry once, in order, with the connection and the datafield", () => {
    const d = door();
    const seq = d.sequence();
    expect(d.post(0x27, 0n, df(1))).toBe(true);
    expect(d.post(0x27, 5n, df(2))).toBe(true);
    expect(d.sequence()).not.toBe(seq);
    const got = d.take();
    expect(got.map((e) => [e.signal, e.connection, e.datafield[0]])).toEqual([
      [0x27, 0n, 1],
      [0x27, 5n, 2],
    ]);
    expect(d.take()).toEqual([]);
  });

  it("refuses an entry when full (nobody takes) or closed, and takes again once emptied", () => {
    const d = door();
    for (let i = 0; i < DOOR_SLOTS; i++) expect(d.post(1, 0n, df(i & 0xff))).toBe(true);
    expect(d.post(1, 0n, df(0))).toBe(false);
    expect(d.take()).toHaveLength(DOOR_SLOTS);
    expect(d.post(2, 0n, df(9))).toBe(true);
    expect(d.take()[0]?.signal).toBe(2);
    d.close();
    expect(d.closed).toBe(true);
    expect(d.post(3, 0n, df(0))).toBe(false);
  });
});
