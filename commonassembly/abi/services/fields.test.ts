// The field codecs of service method tables (fields.ts) against bytes written out by hand from
// specs/kernel/data-structures.md, round trips, and every malformed input refused with its code.

import { describe, expect, it } from "vitest";
import { codeOf, hex } from "../../../test/helpers/abi.js";
import { u8, u16, u64 } from "../codec.js";
import { AbiError } from "../error.js";
import { decodeLayout, encodeLayout, type StructureCodecs } from "./fields.js";
import type { FieldType, Layout } from "./method.js";

const boolean: FieldType = { kind: "boolean" };
const string: FieldType = { kind: "string" };
const option = (of: FieldType): FieldType => ({ kind: "option", of });
const list = (of: FieldType): FieldType => ({ kind: "list", of });

describe("field codecs, bytes from data-structures.md", () => {
  it("booleans: 0x01 true, 0x02 false", () => {
    const l: Layout = [
      ["a", boolean],
      ["b", boolean],
    ];
    expect(encodeLayout(l, { a: true, b: false }, "t")).toEqual(hex("01 02"));
    expect(decodeLayout(l, hex("02 01"), "t")).toEqual({ a: false, b: true });
    expect(codeOf(() => decodeLayout(l, hex("00 01"), "t"))).toBe("ABI_BAD_BOOLEAN");
  });

  it("delimited strings: 8-byte length in bytes, then UTF-8", () => {
    const l: Layout = [["s", string]];
    // "né": 3 bytes of UTF-8
    const bytes = hex("03 00 00 00 00 00 00 00 6e c3 a9");
    expect(encodeLayout(l, { s: "né" }, "t")).toEqual(bytes);
    expect(decodeLayout(l, bytes, "t")).toEqual({ s: "né" });
    expect(codeOf(() => decodeLayout(l, hex("02 00 00 00 00 00 00 00 c3 28"), "t"))).toBe(
      "ABI_BAD_UTF8",
    );
    expect(codeOf(() => encodeLayout(l, { s: "\ud800" }, "t"))).toBe("ABI_BAD_VALUE");
  });

  it("delimited lists: 8-byte length in bytes (not elements), then the elements", () => {
    const l: Layout = [["xs", list(u16)]];
    const bytes = hex("04 00 00 00 00 00 00 00 01 00 02 01");
    expect(encodeLayout(l, { xs: [1, 0x102] }, "t")).toEqual(bytes);
    expect(decodeLayout(l, bytes, "t")).toEqual({ xs: [1, 0x102] });
    // A list of strings: each element delimited itself.
    const ls: Layout = [["names", list(string)]];
    const names = hex("0a 00 00 00 00 00 00 00  01 00 00 00 00 00 00 00 61  00");
    expect(codeOf(() => decodeLayout(ls, names, "t"))).toBe("ABI_TRUNCATED");
    const ok = hex(
      "12 00 00 00 00 00 00 00  01 00 00 00 00 00 00 00 61  01 00 00 00 00 00 00 00 62",
    );
    expect(decodeLayout(ls, ok, "t")).toEqual({ names: ["a", "b"] });
    expect(encodeLayout(ls, { names: ["a", "b"] }, "t")).toEqual(ok);
  });

  it("options: 0x01 then the data, or a single 0x00", () => {
    const l: Layout = [
      ["some", option(u64)],
      ["none", option(u64)],
    ];
    const bytes = hex("01 2a 00 00 00 00 00 00 00 00");
    expect(encodeLayout(l, { some: 42n, none: null }, "t")).toEqual(bytes);
    expect(decodeLayout(l, bytes, "t")).toEqual({ some: 42n, none: null });
    expect(codeOf(() => decodeLayout(l, hex("02 00"), "t"))).toBe("ABI_BAD_OPTION");
  });

  it("enumerations: a variant ID byte, then that variant's data", () => {
    const e: FieldType = {
      kind: "enum",
      variants: { 0: [], 1: [["n", u8]], 7: [["s", string]] },
    };
    const l: Layout = [["e", e]];
    expect(encodeLayout(l, { e: { variant: 1, fields: { n: 9 } } }, "t")).toEqual(hex("01 09"));
    expect(decodeLayout(l, hex("00"), "t")).toEqual({ e: { variant: 0, fields: {} } });
    expect(decodeLayout(l, hex("07 01 00 00 00 00 00 00 00 7a"), "t")).toEqual({
      e: { variant: 7, fields: { s: "z" } },
    });
    expect(codeOf(() => decodeLayout(l, hex("02"), "t"))).toBe("ABI_BAD_VARIANT");
    expect(codeOf(() => encodeLayout(l, { e: { variant: 3, fields: {} } }, "t"))).toBe(
      "ABI_BAD_VALUE",
    );
  });
});

describe("bounds", () => {
  const l: Layout = [
    ["n", u64],
    ["xs", list(u8)],
  ];

  it("every truncation of a valid encoding is refused, and a trailing byte too", () => {
    const full = encodeLayout(l, { n: 5n, xs: [1, 2, 3] }, "t");
    for (let n = 0; n < full.length; n++)
      expect(codeOf(() => decodeLayout(l, full.subarray(0, n), "t"))).toBe("ABI_TRUNCATED");
    expect(codeOf(() => decodeLayout(l, Uint8Array.of(...full, 0), "t"))).toBe(
      "ABI_TRAILING_BYTES",
    );
  });

  it("a list length past the end (up to 2^64 - 1) is refused without allocating", () => {
    const bytes = hex("00 00 00 00 00 00 00 00  ff ff ff ff ff ff ff ff 01");
    expect(codeOf(() => decodeLayout(l, bytes, "t"))).toBe("ABI_TRUNCATED");
  });

  it("a list whose length cuts an element is refused", () => {
    const ll: Layout = [["xs", list(u16)]];
    expect(codeOf(() => decodeLayout(ll, hex("03 00 00 00 00 00 00 00 01 00 02 00"), "t"))).toBe(
      "ABI_TRUNCATED",
    );
  });

  it("values the layout cannot carry are refused when encoding", () => {
    expect(codeOf(() => encodeLayout(l, { n: -1n, xs: [] }, "t"))).toBe("ABI_BAD_VALUE");
    expect(codeOf(() => encodeLayout(l, { n: 1n, xs: [256] }, "t"))).toBe("ABI_BAD_VALUE");
    expect(codeOf(() => encodeLayout(l, { xs: [] }, "t"))).toBe("ABI_BAD_VALUE");
    expect(codeOf(() => encodeLayout([["b", boolean]], { b: 1 }, "t"))).toBe("ABI_BAD_VALUE");
  });
});

describe("round trips", () => {
  it("nested lists, options, enums and strings", () => {
    const l: Layout = [
      ["rows", list(option(list(string)))],
      ["flag", boolean],
      ["e", { kind: "enum", variants: { 2: [["xs", list(boolean)]] } }],
    ];
    const v = {
      rows: [null, ["", "ünï", "𝄞"], []],
      flag: true,
      e: { variant: 2, fields: { xs: [true, false, true] } },
    };
    expect(decodeLayout(l, encodeLayout(l, v, "t"), "t")).toEqual(v);
  });

  it("structures other pages define go through the codecs given, else are refused", () => {
    const l: Layout = [["p", { kind: "structure", name: "Two bytes", spec: "test" }]];
    expect(codeOf(() => decodeLayout(l, hex("01 02"), "t"))).toBe("ABI_NO_STRUCTURE_CODEC");
    const structs: StructureCodecs = {
      "Two bytes": {
        decode: (b, off) => {
          if (b.length - off < 2) throw new AbiError("data", "short", { code: "ABI_TRUNCATED" });
          return [[b[off], b[off + 1]], off + 2];
        },
        encode: (v) => Uint8Array.from(v as number[]),
      },
    };
    expect(decodeLayout(l, hex("01 02"), "t", structs)).toEqual({ p: [1, 2] });
    expect(encodeLayout(l, { p: [3, 4] }, "t", structs)).toEqual(hex("03 04"));
  });
});
