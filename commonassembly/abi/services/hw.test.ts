// sys::hw's pattern (specs/services/system/hw.md "Patterns") against bytes written out by hand, both sizes.
import { describe, expect, it } from "vitest";
import { PATTERN_CODEC } from "./hw.js";

const hex = (h: string) => Uint8Array.from(Buffer.from(h.replace(/ /g, ""), "hex"));

describe("sys::hw Pattern", () => {
  it("is 5 bytes without a DTD, and 5 + 32 + its length with one, round-tripped", () => {
    // all connection types, buses and ports; no DTD
    const short = hex("0d 00 00 00 00");
    const [p, end] = PATTERN_CODEC.decode(short, 0);
    expect(end).toBe(5);
    expect(p).toEqual({ flags: 0x0d, connection: 0, bus: 0, port: 0 });
    expect(PATTERN_CODEC.encode(p)).toEqual(short);
    // USB (0x05), bus 1, port 6, a 3-byte DTD 0x0100B2 whose second byte matches all (indicator 0b010)
    const long = hex(`00 05 01 06 03 02${"00".repeat(31)} 01 00 b2 ff`);
    const [q, qend] = PATTERN_CODEC.decode(long, 0);
    expect(qend).toBe(5 + 32 + 3);
    expect(q).toEqual({
      flags: 0,
      connection: 5,
      bus: 1,
      port: 6,
      dtd: { indicator: hex(`02${"00".repeat(31)}`), dtd: hex("01 00 b2") },
    });
    expect(PATTERN_CODEC.encode(q)).toEqual(long.subarray(0, qend));
  });

  it("refuses a pattern shorter than its DTD length says", () => {
    expect(() => PATTERN_CODEC.decode(hex("0d 00 00 00"), 0)).toThrow(/more bytes/);
    expect(() => PATTERN_CODEC.decode(hex(`0d 00 00 00 04${"00".repeat(32)} 01`), 0)).toThrow(
      /more bytes/,
    );
  });
});
