import { describe, expect, it } from "vitest";
import { formatLeaf, parseLeaf, parseType, type Quantity, RegTypeError } from "./types.js";

const q = (type: string, lit: string) => parseLeaf(parseType(type), lit) as Quantity;
const refuse = (type: string, lit: string) => expect(() => parseLeaf(parseType(type), lit));

describe("the spec's types", () => {
  it("parses every type of the table, in its names and numbered precisions", () => {
    expect(parseType("string[8]")).toEqual({ t: "string", ascii: false, maxChars: 8 });
    expect(parseType("asciistr{16}")).toEqual({ t: "string", ascii: true, maxBytes: 16 });
    expect(parseType("int{2}")).toEqual({ t: "int", signed: true, bytes: 2 });
    expect(parseType("uints")).toEqual({ t: "int", signed: false, bytes: 8 });
    expect(parseType("pfloat{4}")).toEqual({ t: "float", bytes: 4, positive: true });
    expect(parseType("list[3]:uint{1}")).toEqual({
      t: "list",
      max: 3,
      item: { t: "int", signed: false, bytes: 1 },
    });
    expect(parseType("mapc:(bool):(string)").t).toBe("map");
    expect(parseType("structmap:(asciistr)")).toMatchObject({ t: "structmap", complete: false });
    expect(parseType("time(8)")).toEqual(parseType("time(ms)"));
    expect(parseType("size(3)")).toEqual(parseType("MB"));
    expect(parseType("tbtw(s,1s,1h)")).toMatchObject({
      t: "time",
      min: { text: "1s" },
      max: { text: "1h" },
    });
    expect(parseType("ntime(ms,100ms)")).toMatchObject({ t: "time", min: { text: "100ms" } });
    expect(parseType("in:(uint{1}):(1, 2, 4)")).toMatchObject({ t: "in", members: [1n, 2n, 4n] });
    expect(parseType("enum:(MainAdmin, Admin, Standard, Guest)")).toEqual({
      t: "enum",
      members: ["MainAdmin", "Admin", "Standard", "Guest"],
    });
    expect(parseType("id:user")).toEqual({ t: "id", of: "user" });
  });

  it("refuses types the spec does not have, with the reason", () => {
    expect(() => parseType("list:struct")).toThrow(/structlist/);
    expect(() => parseType("mapc:(string):(bool)")).toThrow(/finite/);
    expect(() => parseType("int{3}")).toThrow(/1, 2, 4, 8 or 16/);
    expect(() => parseType("time(fortnight)")).toThrow(RegTypeError);
    expect(() => parseType("tmin(ms)")).toThrow(/2 argument/);
  });

  it("checks integers, floats, booleans and strings against their limits", () => {
    expect(parseLeaf(parseType("uint{1}"), "255")).toBe(255n);
    refuse("uint{1}", "256").toThrow(/out of range 0\.\.255/);
    refuse("int{2}", "-32769").toThrow(/out of range -32768\.\.32767/);
    expect(parseLeaf(parseType("int{1}"), "+5")).toBe(5n);
    expect(parseLeaf(parseType("float{8}"), "-0.25")).toBe(-0.25);
    refuse("float{8}", "0,5").toThrow(/"\." decimal separator/);
    refuse("pfloat{8}", "-1.0").toThrow(/positive/);
    refuse("bool", "yes").toThrow(/true or false/);
    expect(parseLeaf(parseType("asciistr"), 'r"abc"')).toBe("abc");
    refuse("asciistr", '"abc"').toThrow(/r"…"/);
    refuse("asciistr", 'r"é"').toThrow(/ASCII/);
    expect(parseLeaf(parseType("string[2]"), '"éé"')).toBe("éé");
    refuse("string[2]", '"abc"').toThrow(/longer than 2 characters/);
    refuse("string{4}", '"héllo"').toThrow(/longer than 4 bytes/);
    expect(parseLeaf(parseType("string"), '"a \\"q\\"\\n\\u{1f600}"')).toBe('a "q"\n😀');
    refuse("enum:(a,b)", "c").toThrow(/one of a, b/);
    refuse("in:(uint{1}):(1,2,4)", "3").toThrow(/one of 1, 2, 4/);
    expect(parseLeaf(parseType("id:app"), 'r"acme::notes"')).toBe("acme::notes");
    refuse("id:app", 'r"notes"').toThrow(/<did>::<slug>/);
    refuse("id:user", "4294967296").toThrow(/32-bit/);
  });

  it("reads durations in the spec's notation, with precision and bounds", () => {
    expect(q("time(s)", "2d 10s")).toEqual({
      kind: "time",
      base: (2n * 86400n + 10n) * 10n ** 9n,
      text: "2d 10s",
    });
    // Components after the first have leading zeros (the spec: "except for the first number").
    expect(q("time(s)", "1h 5m 3s").text).toBe("1h 05m 03s");
    expect(q("time(ms)", "2000ms").base).toBe(2_000_000_000n);
    expect(q("stime(ns)", "-1s 5ns").base).toBe(-1_000_000_005n);
    refuse("time(s)", "-1s").toThrow(/cannot be negative/);
    refuse("time(s)", "500ms").toThrow(/"500ms" is not a duration|whole number of s/);
    refuse("time(s)", "1m 75s").toThrow(/whole m or more/);
    refuse("time(s)", "10s 2d").toThrow(/largest to the smallest/);
    refuse("time(ms)", "2 s").toThrow(/numbers each followed by a unit/);
    refuse("tmin(s,1s)", "0s").toThrow(/less than the minimum 1s/);
    refuse("tbtw(ms,1ms,1s)", "2s").toThrow(/more than the maximum 1s/);
    expect(q("time(y)", "1y").base).toBe(12n * q("time(mo)", "1mo").base);
  });

  it("reads sizes in the spec's notation (binary multiples, no leading zeros)", () => {
    expect(q("size(KB)", "1TB 3KB")).toEqual({
      kind: "size",
      base: 8n * ((1n << 40n) + 3n * 1024n),
      text: "1TB 3KB",
    });
    expect(q("MB", "16MB").base).toBe(16n * 8n * 1024n * 1024n);
    refuse("MB", "1.5MB").toThrow(/not a size/);
    refuse("MB", "3KB").toThrow(/not a size|whole number of MB/);
    refuse("size(b)", "1KB 1024B").toThrow(/whole KB or more/);
    refuse("smax(B,1KB)", "2KB").toThrow(/more than the maximum 1KB/);
    expect(formatLeaf(parseType("float{8}"), 2)).toBe("2.0");
    expect(formatLeaf(parseType("asciistr"), 'a"b')).toBe('r"a\\"b"');
  });
});
