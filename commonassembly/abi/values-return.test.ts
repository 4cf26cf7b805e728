// Return values on CMDOUT (specs/applications.md "Values encoding", "Returning and failing"): the
// reader's states against bytes written out by hand.

import { describe, expect, it } from "vitest";
import { decodeReturn, encodeValue, FAILURE_BYTES, MAX_RETURN_SIZE } from "./values.js";

describe("return values", () => {
  it("an int 42: length 9, type 0x02, eight bytes two's complement", () => {
    const b = Uint8Array.of(9, 0, 0, 0, 0, 0, 0, 0, 0x02, 42, 0, 0, 0, 0, 0, 0, 0);
    expect(encodeValue({ type: "int", value: 42n })).toEqual(b);
    expect(decodeReturn(b)).toEqual({ state: "value", value: { type: "int", value: 42n } });
    expect(decodeReturn(b.subarray(0, 5))).toEqual({ state: "incomplete", need: undefined });
    expect(decodeReturn(b.subarray(0, 12))).toEqual({ state: "incomplete", need: 17 });
  });

  it("the failure: type 0xFF with no representation, or a lone 0xFF at the end of the pipe", () => {
    expect(FAILURE_BYTES).toEqual(Uint8Array.of(1, 0, 0, 0, 0, 0, 0, 0, 0xff));
    expect(decodeReturn(FAILURE_BYTES)).toEqual({ state: "failure" });
    expect(decodeReturn(Uint8Array.of(0xff), true)).toEqual({ state: "failure" });
    expect(decodeReturn(Uint8Array.of(0xff), false).state).toBe("incomplete");
  });

  it("invalid: a zero length, trailing bytes, an unknown type, a bad representation", () => {
    expect(decodeReturn(new Uint8Array(8)).state).toBe("invalid");
    expect(decodeReturn(Uint8Array.of(1, 0, 0, 0, 0, 0, 0, 0, 0x00, 0x00)).state).toBe("invalid");
    expect(decodeReturn(Uint8Array.of(1, 0, 0, 0, 0, 0, 0, 0, 0x0a)).state).toBe("invalid");
    expect(decodeReturn(Uint8Array.of(2, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x02)).state).toBe("invalid");
    expect(decodeReturn(Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0)).state).toBe("invalid");
  });

  it("a 20 MiB string encodes and decodes whole (its bytes are never spread as arguments)", () => {
    const n = 20 * 1024 * 1024;
    const text = "ab".repeat(n / 2);
    const b = encodeValue({ type: "string", value: text });
    expect(b.length).toBe(8 + 1 + 8 + n);
    expect(new DataView(b.buffer).getBigUint64(0, true)).toBe(BigInt(1 + 8 + n));
    expect(b[8]).toBe(0x05);
    expect(new DataView(b.buffer).getBigUint64(9, true)).toBe(BigInt(n));
    expect(b[17]).toBe(0x61);
    expect(b[17 + n - 1]).toBe(0x62);
    const s = decodeReturn(b);
    expect(s.state).toBe("value");
    if (s.state === "value" && s.value.type === "string") expect(s.value.value === text).toBe(true);
    else expect.unreachable("a string value");
    const list = encodeValue({ type: "list", items: [{ type: "path", value: text }] });
    expect(list.length).toBe(8 + 1 + 8 + 1 + 8 + n);
  });

  it("the largest return value is 64 MiB whole, its length field included; one byte more is invalid", () => {
    const head = (len: bigint) => {
      const b = new Uint8Array(8);
      new DataView(b.buffer).setBigUint64(0, len, true);
      return b;
    };
    expect(decodeReturn(head(BigInt(MAX_RETURN_SIZE - 8)))).toEqual({
      state: "incomplete",
      need: MAX_RETURN_SIZE,
    });
    expect(decodeReturn(head(BigInt(MAX_RETURN_SIZE - 7)))).toEqual({
      state: "invalid",
      why: `a value of ${MAX_RETURN_SIZE + 1} bytes (its length field included) is over NCW's ${MAX_RETURN_SIZE}`,
    });
  });
});
