// Unit tests of a runner's AMS mappings (runner/ams.ts) on the real host layer: a segment mapped over a
// shared WebAssembly memory's pages, a read-only one faulting a store (a wasm trap, not a crash), put
// back read-only after the memory grew (V8 makes every page read-write when it grows), and unmapping.

import { describe, expect, it } from "vitest";
import { hostNative } from "../../native/index.js";
import { wat } from "../../test/wasm-spec/wat.js";
import { AmsMapper, AmsMappings, BackedAsker } from "./ams.js";
import { PageAllocator } from "./memory.js";

const ACCESSORS = await wat(`(module (import "m" "mem" (memory 2 16 shared))
  (func (export "st") (param i32 i32) (i32.store (local.get 0) (local.get 1)))
  (func (export "ld") (param i32) (result i32) (i32.load (local.get 0)))
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0))))`);

/** A module on `mem` with a store, a load and memory.grow. */
function accessors(mem: WebAssembly.Memory) {
  const i = new WebAssembly.Instance(new WebAssembly.Module(ACCESSORS), { m: { mem } });
  return i.exports as {
    st: (a: number, v: number) => void;
    ld: (a: number) => number;
    grow: (n: number) => number;
  };
}

describe.skipIf(process.platform !== "linux")("AmsMapper (linux)", () => {
  const native = hostNative();

  it("maps a segment over the memory: stores of either side are loads of the other", () => {
    const mem = new WebAssembly.Memory({ initial: 2, maximum: 16, shared: true });
    const seg = native.createSegment(65536, "amstest");
    const m = new AmsMapper(new AmsMappings(), mem, new PageAllocator(mem));
    const x = accessors(mem);
    x.st(0x10000, 7);
    const r = m.map({
      name: seg.name,
      offset: 0,
      at: 0x10000,
      length: 0x10000,
      readOnly: false,
      private: false,
      source: true,
    });
    expect(r).toEqual({ ok: true, address: 0x10000 });
    // VIRT_MEM_AMS: the range's bytes went into the segment first
    expect(new DataView(seg.buffer).getUint32(0, true)).toBe(7);
    x.st(0x10004, 8);
    expect(new DataView(seg.buffer).getUint32(4, true)).toBe(8);
    new DataView(seg.buffer).setUint32(8, 9, true);
    expect(x.ld(0x10008)).toBe(9);
    // refused: past the end, over another mapping; at 0: pages the allocator grows the memory for
    const again = {
      name: seg.name,
      offset: 0,
      length: 0x1000,
      readOnly: false,
      private: false,
      source: false,
    };
    expect(m.map({ ...again, at: 0 })).toEqual({ ok: true, address: 0x20000 });
    expect(x.ld(0x20000)).toBe(7);
    expect(m.map({ ...again, at: 0x40000 })).toEqual({ ok: false, refusal: "range" });
    expect(m.map({ ...again, at: 0x11000 })).toEqual({ ok: false, refusal: "overlap" });
    // unmapped, keeping a private copy: the segment no longer sees the memory
    expect(m.unmap(0x10000, "keep")).toBe(true);
    expect(x.ld(0x10004)).toBe(8);
    x.st(0x10004, 80);
    expect(new DataView(seg.buffer).getUint32(4, true)).toBe(8);
    expect(m.unmap(0x10000, "keep")).toBe(false);
    seg.close();
  });

  it("a read-only mapping faults a store as a wasm trap, and is read-only again after the memory grew", () => {
    const mem = new WebAssembly.Memory({ initial: 2, maximum: 16, shared: true });
    const seg = native.createSegment(65536, "amstest");
    new DataView(seg.buffer).setUint32(0, 42, true);
    const table = new AmsMappings();
    const m = new AmsMapper(table, mem, new PageAllocator(mem));
    const x = accessors(mem);
    expect(
      m.map({
        name: seg.name,
        offset: 0,
        at: 0x10000,
        length: 0x10000,
        readOnly: true,
        private: false,
        source: false,
      }).ok,
    ).toBe(true);
    expect(x.ld(0x10000)).toBe(42);
    expect(() => x.st(0x10000, 1)).toThrow(/memory access out of bounds/);
    // the sharer's later stores are seen
    new DataView(seg.buffer).setUint32(0, 43, true);
    expect(x.ld(0x10000)).toBe(43);
    // growing makes every page read-write (V8): a store lands in a private copy, never in the segment
    expect(x.grow(1)).toBe(2);
    x.st(0x10000, 5);
    expect(new DataView(seg.buffer).getUint32(0, true)).toBe(43);
    // the next syscall puts the mapping back: read-only, the segment's bytes
    table.afterGrowth(mem);
    expect(x.ld(0x10000)).toBe(43);
    expect(() => x.st(0x10000, 1)).toThrow(/memory access out of bounds/);
    expect(m.unmap(0x10000, "zero")).toBe(true);
    expect(x.ld(0x10000)).toBe(0);
    x.st(0x10000, 1);
    seg.close();
  });
});

describe("BackedAsker", () => {
  const READ = 0x33;
  const WRITE = 0x34;
  /** A ring of `room` slots the test drains by hand, and a "worker" answering what it took. */
  function rig(initialRoom: number, canAnswer = true) {
    let room = initialRoom;
    const ring: { signal: number; datafield: Uint8Array }[] = [];
    let wakes = 0;
    const asker = new BackedAsker(
      (signal, datafield) => {
        if (ring.length >= room) return false;
        ring.push({ signal, datafield });
        return true;
      },
      () => {
        wakes++;
      },
      () => canAnswer,
    );
    return {
      ring,
      asker,
      wakes: () => wakes,
      setRoom: (n: number) => {
        room = n;
      },
    };
  }

  it("turns a request into one signal per word, datafields byte for byte, and answers in order once all are in", async () => {
    const { ring, asker, wakes } = rig(2);
    const done = asker.ask({ ams: 7n, signal: READ, addresses: [0, 4, 8], access: 1 });
    // only two fit in the ring; the third waits for room
    expect(ring.length).toBe(2);
    expect(wakes()).toBe(1);
    expect(Buffer.from(ring[1]?.datafield ?? []).toString("hex")).toBe(
      `0700000000000000 0400000000000000 01`.replace(/ /g, "").padEnd(64, "0"),
    );
    // the worker answers the second first: answers still come back in address order
    const [first, second] = ring.splice(0, 2);
    if (first === undefined || second === undefined) throw new Error("no signals");
    asker.answered([
      { signal: second.signal, datafield: second.datafield, answer: 0x0200000000n },
      { signal: first.signal, datafield: first.datafield, answer: 0x11n },
    ]);
    expect(ring.length).toBe(1);
    const third = ring.splice(0, 1)[0];
    if (third === undefined) throw new Error("no third signal");
    asker.answered([{ signal: third.signal, datafield: third.datafield, answer: undefined }]); // no handler ran
    expect(await done).toEqual([0x11n, 0x0200000000n, null]);
  });

  it("WRITE_BACKED_AMS carries each word's data; a backer that cannot answer gets nothing and nothing waits", async () => {
    const { ring, asker } = rig(8);
    const done = asker.ask({ ams: 1n, signal: WRITE, addresses: [0x10], data: [0xdeadbeef] });
    expect(Buffer.from(ring[0]?.datafield ?? []).toString("hex")).toBe(
      `0100000000000000 1000000000000000 efbeadde`.replace(/ /g, "").padEnd(64, "0"),
    );
    const s = ring[0];
    if (s === undefined) throw new Error("no signal");
    asker.answered([{ signal: s.signal, datafield: s.datafield, answer: 0n }]);
    expect(await done).toEqual([0n]);
    const mute = rig(8, false);
    expect(await mute.asker.ask({ ams: 1n, signal: READ, addresses: [0, 4] })).toEqual([
      null,
      null,
    ]);
    expect(mute.ring.length).toBe(0);
  });

  it("retries a full ring by itself", async () => {
    const { ring, asker, setRoom } = rig(0);
    const done = asker.ask({ ams: 2n, signal: READ, addresses: [0] });
    expect(ring.length).toBe(0);
    // room appears later (the worker took other signals): the asker pushes without being told
    setRoom(1);
    await new Promise((resolve) => setTimeout(resolve, 20));
    const s = ring[0];
    if (s === undefined) throw new Error("the signal was not pushed once the ring had room");
    asker.answered([{ signal: s.signal, datafield: s.datafield, answer: 5n }]);
    expect(await done).toEqual([5n]);
  });
});
