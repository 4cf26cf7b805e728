// Tests of the shared WebAssembly value decoder (cursor.ts) against the core spec's rules for LEB128
// ("Binary Format > Values > Integers"): at most ceil(N/7) bytes, the unused bits of the last byte
// zero (unsigned) or copies of the sign (signed), overlong-but-short-enough encodings allowed, bounds.

import { describe, expect, it } from "vitest";
import { WasmCursor } from "./cursor.js";
import { sleb32, uleb } from "./leb.js";

class Malformed extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message);
  }
}
const cur = (bytes: number[], start = 0) =>
  new WasmCursor(Uint8Array.from(bytes), start, bytes.length, (m, at) => {
    throw new Malformed(m, at);
  });
const fails = (f: () => unknown): Malformed => {
  try {
    f();
  } catch (e) {
    if (e instanceof Malformed) return e;
    throw e;
  }
  throw new Error("expected a Malformed error");
};

describe("WasmCursor", () => {
  it("decodes unsigned LEB128 (the spec's examples and the u32 extremes)", () => {
    expect(cur([0x00]).u32()).toBe(0);
    expect(cur([0xe5, 0x8e, 0x26]).u32()).toBe(624485);
    expect(cur([0xff, 0xff, 0xff, 0xff, 0x0f]).u32()).toBe(0xffffffff);
    for (const n of [0, 1, 127, 128, 300, 2 ** 31, 2 ** 32 - 1]) expect(cur(uleb(n)).u32()).toBe(n);
    expect(cur(uleb(2 ** 40)).uleb(64)).toBe(2 ** 40);
  });

  it("accepts overlong encodings within the byte limit (padding with 0x80 ... 0x00)", () => {
    expect(cur([0x80, 0x00]).u32()).toBe(0);
    expect(cur([0x83, 0x80, 0x80, 0x80, 0x00]).u32()).toBe(3);
    expect(cur([0xff, 0xff, 0xff, 0xff, 0x7f]).s32()).toBe(-1);
    expect(cur([0x80, 0x80, 0x80, 0x80, 0x00]).s32()).toBe(0);
  });

  it("refuses encodings longer than ceil(N/7) bytes", () => {
    const e = fails(() => cur([0x80, 0x80, 0x80, 0x80, 0x80, 0x00]).u32("count"));
    expect(e.message).toMatch(/count: LEB128 longer than 5 bytes/);
    expect(e.offset).toBe(0);
    expect(fails(() => cur([0x80, 0x80, 0x80, 0x80, 0x80, 0x00]).s32()).message).toMatch(
      /longer than 5/,
    );
    const ten = Array(10).fill(0x80);
    expect(fails(() => cur([...ten, 0x00]).uleb(64)).message).toMatch(/longer than 10/);
  });

  it("refuses unused bits set in the last byte (unsigned: zero; signed: copies of the sign)", () => {
    // u32: the fifth byte carries 4 bits; 0x10 sets bit 32.
    expect(fails(() => cur([0xff, 0xff, 0xff, 0xff, 0x1f]).u32()).message).toMatch(/unused bits/);
    expect(fails(() => cur([0x80, 0x80, 0x80, 0x80, 0x70]).u32()).message).toMatch(/unused bits/);
    // u64: the tenth byte carries 1 bit.
    const nine = Array(9).fill(0x80);
    expect(cur([...nine, 0x01]).uleb(64)).toBe(2 ** 63);
    expect(fails(() => cur([...nine, 0x02]).uleb(64)).message).toMatch(/unused bits/);
    // s32: the fifth byte's bits 3..6 must all equal the sign bit (bit 3).
    expect(cur([0x80, 0x80, 0x80, 0x80, 0x78]).s32()).toBe(-0x80000000);
    expect(cur([0xff, 0xff, 0xff, 0xff, 0x07]).s32()).toBe(0x7fffffff);
    expect(fails(() => cur([0xff, 0xff, 0xff, 0xff, 0x0f]).s32()).message).toMatch(/sign/);
    expect(fails(() => cur([0x80, 0x80, 0x80, 0x80, 0x70]).s32()).message).toMatch(/sign/);
    // s64: the tenth byte is all zeros or all ones (0x7f).
    expect(cur([...nine, 0x7f]).sleb(64)).toBe(-(2 ** 63));
    expect(fails(() => cur([...nine, 0x01]).sleb(64)).message).toMatch(/sign/);
  });

  it("decodes signed LEB128 (both signs, the i32 extremes)", () => {
    for (const n of [0, 1, -1, 63, 64, -64, -65, 624485, -123456, 2 ** 31 - 1, -(2 ** 31)])
      expect(cur(sleb32(n)).s32()).toBe(n);
  });

  it("refuses truncated input, at the value's start offset for LEB128", () => {
    const e = fails(() => cur([0x80, 0x80]).u32("size"));
    expect(e.message).toMatch(/unexpected end of size/);
    expect(fails(() => cur([]).byte("id")).message).toMatch(/unexpected end of id/);
    expect(fails(() => cur([1, 2]).skip(3)).message).toMatch(/unexpected end/);
    // a name whose length runs past the end
    expect(fails(() => cur([5, 0x61, 0x62]).name("export name")).message).toMatch(
      /end of export name/,
    );
    // the cursor's end bounds it, not the buffer's
    const c = new WasmCursor(Uint8Array.from([0x80, 0x01]), 0, 1, (m, at) => {
      throw new Malformed(m, at);
    });
    expect(fails(() => c.u32()).message).toMatch(/unexpected end/);
  });

  it("reads names as strict UTF-8", () => {
    expect(cur([2, 0xc3, 0xa9]).name()).toBe("é");
    expect(fails(() => cur([1, 0xff]).name("import name")).message).toMatch(/not valid UTF-8/);
  });
});
