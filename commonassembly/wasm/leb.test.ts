import { describe, expect, it } from "vitest";
import { sleb32, uleb, wasmName } from "./leb.js";

describe("LEB128", () => {
  it("encodes unsigned values as the WebAssembly spec's examples", () => {
    expect(uleb(0)).toEqual([0x00]);
    expect(uleb(127)).toEqual([0x7f]);
    expect(uleb(128)).toEqual([0x80, 0x01]);
    expect(uleb(624485)).toEqual([0xe5, 0x8e, 0x26]);
    expect(uleb(0xffffffff)).toEqual([0xff, 0xff, 0xff, 0xff, 0x0f]);
  });
  it("encodes signed 32-bit values", () => {
    expect(sleb32(0)).toEqual([0x00]);
    expect(sleb32(63)).toEqual([0x3f]);
    expect(sleb32(64)).toEqual([0xc0, 0x00]);
    expect(sleb32(-1)).toEqual([0x7f]);
    expect(sleb32(-123456)).toEqual([0xc0, 0xbb, 0x78]);
    expect(sleb32(-0x80000000)).toEqual([0x80, 0x80, 0x80, 0x80, 0x78]);
  });
  it("encodes names as UTF-8 bytes after their byte length", () => {
    expect(wasmName("")).toEqual([0]);
    expect(wasmName("nightos")).toEqual([7, 0x6e, 0x69, 0x67, 0x68, 0x74, 0x6f, 0x73]);
    expect(wasmName("é")).toEqual([2, 0xc3, 0xa9]);
  });
});
