// The application-proxy messages against bytes written out by hand from docs/kernel.md's tables.

import { describe, expect, it } from "vitest";
import {
  decodeProxyAnswer,
  decodeProxyCall,
  encodeProxyAnswer,
  encodeProxyCall,
  fitBuffers,
  PROXY_ANSWER_MAX,
  PROXY_CALL_MAX,
} from "./proxy.js";

const hex = (s: string) => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ""), "hex"));

describe("CALL", () => {
  // pid 101, thread 1, call 3, PIPE_WRITE (0x22) with 2 argument bytes 0xaa 0xbb and no buffer.
  const bytes = hex("6500000000000000 01000000 03000000 22 00 0200 aabb");

  it("encodes to the table's bytes and decodes back", () => {
    const c = { pid: 101n, thread: 1, call: 3, code: 0x22, args: hex("aabb"), buffers: [] };
    expect(encodeProxyCall(c)).toEqual(bytes);
    expect(decodeProxyCall(bytes)).toEqual(c);
  });

  it("a call without arguments is the 20-byte header", () => {
    const b = encodeProxyCall({
      pid: 100n,
      thread: 2,
      call: 1,
      code: 0x53,
      args: new Uint8Array(0),
      buffers: [],
    });
    expect(b).toEqual(hex("6400000000000000 02000000 01000000 53 00 0000"));
  });

  it("the buffers the call reads follow its arguments: whole length, bytes shown, the bytes", () => {
    // Two buffers: "abcd" whole, and 3 bytes of a 10-byte one.
    const b = hex(
      "6500000000000000 01000000 04000000 22 02 0100 ff 04000000 04000000 61626364 0a000000 03000000 787978",
    );
    const c = {
      pid: 101n,
      thread: 1,
      call: 4,
      code: 0x22,
      args: hex("ff"),
      buffers: [
        { length: 4, bytes: hex("61626364") },
        { length: 10, bytes: hex("787978") },
      ],
    };
    expect(encodeProxyCall(c)).toEqual(b);
    expect(decodeProxyCall(b)).toEqual(c);
  });

  it("fitBuffers cuts the buffers so that the CALL fits in one message", () => {
    const big = new Uint8Array(70_000);
    const fit = fitBuffers(21, [new Uint8Array(5), big, new Uint8Array(3)]);
    expect(fit.map((f) => [f.length, f.bytes.length])).toEqual([
      [5, 5],
      [70_000, PROXY_CALL_MAX - 20 - 21 - 8 - 5 - 8 - 8],
      [3, 0],
    ]);
    const c = encodeProxyCall({
      pid: 1n,
      thread: 1,
      call: 1,
      code: 0x22,
      args: new Uint8Array(21),
      buffers: fit,
    });
    expect(c.length).toBe(PROXY_CALL_MAX);
  });

  it("refuses a short header, a wrong length, a cut or overlong buffer, trailing bytes", () => {
    expect(() => decodeProxyCall(bytes.subarray(0, 19))).toThrow(/shorter than its 20-byte header/);
    expect(() => decodeProxyCall(bytes.subarray(0, 21))).toThrow(
      /2 argument bytes, the message has 1/,
    );
    const one = bytes.slice();
    one[17] = 1;
    expect(() => decodeProxyCall(one)).toThrow(/buffer 0 is cut short/);
    expect(() =>
      decodeProxyCall(
        hex("6500000000000000 01000000 03000000 22 01 0000 02000000 03000000 616263"),
      ),
    ).toThrow(/shows 3 bytes of 2/);
    expect(() => decodeProxyCall(hex("6500000000000000 01000000 03000000 22 00 0000 ff"))).toThrow(
      /1 bytes after the last buffer/,
    );
  });
});

describe("ANSWER", () => {
  it("pass", () => {
    const b = hex("07000000 00 00 00 00");
    expect(decodeProxyAnswer(b)).toEqual({ call: 7, action: "pass" });
    expect(encodeProxyAnswer({ call: 7, action: "pass" })).toEqual(b);
  });

  it("pass with other arguments", () => {
    const b = hex("07000000 01 00 00 00 0102030405");
    const a = { call: 7, action: "pass-args" as const, args: hex("0102030405") };
    expect(decodeProxyAnswer(b)).toEqual(a);
    expect(encodeProxyAnswer(a)).toEqual(b);
  });

  it("answered: a success with a value, a failure with its errcode", () => {
    const ok = hex("02010000 02 00 00 00 2a00000000000000");
    const a = {
      call: 0x102,
      action: "answer" as const,
      errcode: null,
      value: hex("2a00000000000000"),
    };
    expect(decodeProxyAnswer(ok)).toEqual(a);
    expect(encodeProxyAnswer(a)).toEqual(ok);
    const err = hex("02000000 02 01 30 00");
    const e = { call: 2, action: "answer" as const, errcode: 0x30, value: new Uint8Array(0) };
    expect(decodeProxyAnswer(err)).toEqual(e);
    expect(encodeProxyAnswer(e)).toEqual(err);
  });

  it("refuses garbage, naming it", () => {
    expect(() => decodeProxyAnswer(hex("070000"))).toThrow(/shorter than its 8-byte header/);
    expect(() => decodeProxyAnswer(hex("07000000 09 00 00 00"))).toThrow(/unknown action 0x9/);
    expect(() => decodeProxyAnswer(hex("07000000 00 00 00 00 ff"))).toThrow(/1 trailing bytes/);
    expect(() => decodeProxyAnswer(hex("07000000 00 01 30 00"))).toThrow(/not 0 on a pass/);
    expect(() => decodeProxyAnswer(hex("07000000 02 02 00 00"))).toThrow(/not 0 or 1/);
    expect(() => decodeProxyAnswer(hex("07000000 02 00 05 00"))).toThrow(
      /errcode \(5\) on a success/,
    );
    expect(() => decodeProxyAnswer(hex("07000000 02 00 00 01"))).toThrow(/reserved byte 7/);
    const long = new Uint8Array(8 + 41);
    long[4] = 2;
    expect(() => decodeProxyAnswer(long)).toThrow(/return value of 41 bytes/);
    expect(() => decodeProxyAnswer(new Uint8Array(PROXY_ANSWER_MAX + 1))).toThrow(/at most/);
  });

  it("refuses to encode what it cannot carry", () => {
    expect(() =>
      encodeProxyAnswer({ call: 1, action: "answer", errcode: null, value: new Uint8Array(41) }),
    ).toThrow(RangeError);
    expect(() =>
      encodeProxyAnswer({ call: 1, action: "answer", errcode: 256, value: new Uint8Array(0) }),
    ).toThrow(RangeError);
  });
});
