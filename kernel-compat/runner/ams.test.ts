// Unit tests of a runner's AMS mappings (runner/ams.ts) on the real host layer: a segment mapped over a
// shared WebAssembly memory's pages, a read-only one faulting a store (a wasm trap, not a crash), put
// back read-only after the memory grew (V8 makes every page read-write when it grows), and unmapping.

import { describe, expect, it } from "vitest";
import { hostNative } from "../../native/index.js";
import { wat } from "../../test/wasm-spec/wat.js";
import { AmsMapper, AmsMappings } from "./ams.js";
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
