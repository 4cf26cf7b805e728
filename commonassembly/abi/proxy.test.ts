// The application-proxy messages against bytes written out by hand from docs/kernel.md's tables.

import { describe, expect, it } from "vitest";
import {
  decodeProxyAnswer,
  decodeProxyCall,
  encodeProxyAnswer,
  encodeProxyCall,
  PROXY_ANSWER_MAX,
} from "./proxy.js";

const hex = (s: string) => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ""), "hex"));

describe("CALL", () => {
  // pid 101, thread 1, call 3, PIPE_WRITE (0x21) with 2 argument bytes 0xaa 0xbb.
  const bytes = hex("6500000000000000 01000000 03000000 21 00 0200 aabb");

  it("encodes to the table's bytes and decodes back", () => {
    const c = { pid: 101n, thread: 1, call: 3, code: 0x21, args: hex("aabb") };
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
    });
    expect(b).toEqual(hex("6400000000000000 02000000 01000000 53 00 0000"));
  });

  it("refuses a short header, a wrong length, a reserved byte", () => {
    expect(() => decodeProxyCall(bytes.subarray(0, 19))).toThrow(/shorter than its 20-byte header/);
    expect(() => decodeProxyCall(bytes.subarray(0, 21))).toThrow(
      /2 argument bytes, the message has 1/,
    );
    const r = bytes.slice();
    r[17] = 1;
    expect(() => decodeProxyCall(r)).toThrow(/reserved byte 17/);
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
