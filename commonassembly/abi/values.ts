// Shell values (specs/applications.md, "Values encoding"): the tagged union of the value types and their
// encoding, an 8-byte length, the type code, then the representation; used by the execution context's
// argument block (context.ts) and, later, by services that pass values.

import { viewOf } from "./codec.js";
import { AbiError } from "./error.js";

export const ValueType = {
  void: 0x00,
  bool: 0x01,
  int: 0x02,
  float: 0x03,
  char: 0x04,
  string: 0x05,
  list: 0x06,
  path: 0x07,
  command: 0x08,
  stream: 0x09,
} as const;

/** A shell value (specs/applications.md "Values encoding"), as a tagged union. */
export type Value =
  | { type: "void" }
  | { type: "bool"; value: boolean }
  | { type: "int"; value: bigint }
  | { type: "float"; value: number }
  | { type: "char"; value: string }
  | { type: "string" | "path" | "command"; value: string }
  | { type: "list"; items: Value[] }
  | { type: "stream"; rc: bigint };

const TYPE_NAMES = Object.fromEntries(Object.entries(ValueType).map(([k, v]) => [v, k])) as Record<
  number,
  Value["type"]
>;

/**
 * Bytes gathered in chunks and joined once: a string's bytes are one chunk, never spread byte by byte
 * into an array (a string of tens of MiB would overflow the stack as spread arguments).
 */
class Chunks {
  readonly parts: Uint8Array[] = [];
  length = 0;
  add(b: Uint8Array): void {
    this.parts.push(b);
    this.length += b.length;
  }
  byte(x: number): void {
    this.add(Uint8Array.of(x));
  }
  /** Eight bytes, little-endian, unsigned or two's complement. */
  u64(x: bigint, signed = false): void {
    const b = new Uint8Array(8);
    if (signed) viewOf(b).setBigInt64(0, x, true);
    else viewOf(b).setBigUint64(0, x, true);
    this.add(b);
  }
  /** The chunks joined into `out` at `off`. */
  copyInto(out: Uint8Array, off: number): void {
    let at = off;
    for (const p of this.parts) {
      out.set(p, at);
      at += p.length;
    }
  }
}

/** The representation of a value, without its type code. */
function encodeRepr(v: Value, out: Chunks): void {
  switch (v.type) {
    case "void":
      return;
    case "bool":
      out.byte(v.value ? 0x01 : 0x00);
      return;
    case "int":
      out.u64(v.value, true);
      return;
    case "float": {
      const b = new Uint8Array(8);
      viewOf(b).setFloat64(0, v.value, true);
      out.add(b);
      return;
    }
    case "char": {
      const cp = v.value.codePointAt(0);
      if (cp === undefined || v.value.length !== (cp > 0xffff ? 2 : 1))
        throw new RangeError("a char value is exactly one character");
      const b = new Uint8Array(4);
      viewOf(b).setUint32(0, cp, true);
      out.add(b);
      return;
    }
    case "string":
    case "path":
    case "command": {
      const s = new TextEncoder().encode(v.value);
      out.u64(BigInt(s.length));
      out.add(s);
      return;
    }
    case "list":
      out.u64(BigInt(v.items.length));
      for (const item of v.items) {
        out.byte(ValueType[item.type]);
        encodeRepr(item, out);
      }
      return;
    case "stream":
      out.u64(v.rc);
      return;
  }
}

/**
 * One encoded value: length (8 bytes), type code (1 byte), representation. NCW's reading of the
 * spec's "return value's length": the number of bytes that follow the length field (type code +
 * representation), so a reader skips a value with one addition.
 */
export function encodeValue(v: Value): Uint8Array {
  const body = new Chunks();
  body.byte(ValueType[v.type]);
  encodeRepr(v, body);
  const out = new Uint8Array(8 + body.length);
  viewOf(out).setBigUint64(0, BigInt(body.length), true);
  body.copyInto(out, 8);
  return out;
}

class Reader {
  off = 0;
  constructor(
    readonly b: Uint8Array,
    readonly what: string,
  ) {}
  need(n: number): number {
    if (this.off + n > this.b.length) {
      throw new AbiError("data", `${this.what}: truncated at byte ${this.off} (need ${n} more)`, {
        code: "ABI_TRUNCATED",
      });
    }
    const at = this.off;
    this.off += n;
    return at;
  }
  u8(): number {
    return this.b[this.need(1)] as number;
  }
  u64(): bigint {
    return viewOf(this.b).getBigUint64(this.need(8), true);
  }
  count(): number {
    const n = this.u64();
    if (n > BigInt(this.b.length)) {
      throw new AbiError("data", `${this.what}: length ${n} exceeds the data`, {
        code: "ABI_TRUNCATED",
      });
    }
    return Number(n);
  }
}

function decodeRepr(r: Reader, type: number): Value {
  const name = TYPE_NAMES[type];
  const view = viewOf(r.b);
  switch (name) {
    case "void":
      return { type: "void" };
    case "bool": {
      const x = r.u8();
      if (x > 1)
        throw new AbiError("data", `${r.what}: bool byte must be 0x00 or 0x01, got ${x}`, {
          code: "ABI_BAD_VALUE",
        });
      return { type: "bool", value: x === 1 };
    }
    case "int":
      return { type: "int", value: view.getBigInt64(r.need(8), true) };
    case "float":
      return { type: "float", value: view.getFloat64(r.need(8), true) };
    case "char": {
      const cp = view.getUint32(r.need(4), true);
      if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
        throw new AbiError("data", `${r.what}: invalid UTF-32 character 0x${cp.toString(16)}`, {
          code: "ABI_BAD_VALUE",
        });
      }
      return { type: "char", value: String.fromCodePoint(cp) };
    }
    case "string":
    case "path":
    case "command": {
      const n = r.count();
      const at = r.need(n);
      let value: string;
      try {
        value = new TextDecoder("utf-8", { fatal: true }).decode(r.b.subarray(at, at + n));
      } catch {
        throw new AbiError("data", `${r.what}: ${name} is not valid UTF-8`, {
          code: "ABI_BAD_VALUE",
        });
      }
      return { type: name, value };
    }
    case "list": {
      const n = r.count();
      const items: Value[] = [];
      for (let i = 0; i < n; i++) items.push(decodeRepr(r, r.u8()));
      return { type: "list", items };
    }
    case "stream":
      return { type: "stream", rc: r.u64() };
    default:
      throw new AbiError("data", `${r.what}: unknown value type code 0x${type.toString(16)}`, {
        code: "ABI_BAD_VALUE",
      });
  }
}

/** Decode one encoded value starting at `off`; returns it and the offset after it. */
export function decodeValueAt(
  b: Uint8Array,
  off: number,
  what = "value",
): { value: Value; next: number } {
  const r = new Reader(b, what);
  r.off = off;
  const len = r.count();
  const start = r.off;
  r.need(len);
  const inner = new Reader(b.subarray(start, start + len), what);
  const value = decodeRepr(inner, inner.u8());
  if (inner.off !== len) {
    throw new AbiError(
      "data",
      `${what}: ${len - inner.off} trailing bytes inside the value's length`,
      {
        code: "ABI_TRAILING_BYTES",
      },
    );
  }
  return { value, next: start + len };
}

/**
 * The failure of a command (applications.md "Returning and failing": "send the 0xFF value through the
 * pipe"). Decided (docs/ipc.md "Command pipes"): a value whose type code is 0xFF and which has no
 * representation (length 1: `01 00 00 00 00 00 00 00 FF`); a lone 0xFF byte followed by the end of
 * CMDOUT is read the same way.
 */
export const FAILURE_TYPE = 0xff;
/** The encoded failure. */
export const FAILURE_BYTES: Uint8Array = Uint8Array.of(1, 0, 0, 0, 0, 0, 0, 0, FAILURE_TYPE);
/** Largest return value NCW reads from CMDOUT (decided, docs/ipc.md): a longer one is invalid. */
export const MAX_RETURN_SIZE = 64 * 1024 * 1024;

/** What the bytes read from CMDOUT so far amount to. */
export type ReturnState =
  /** `need`: how many bytes the whole value takes, once the length field is in (else undefined). */
  | { state: "incomplete"; need: number | undefined }
  | { state: "value"; value: Value }
  | { state: "failure" }
  | { state: "invalid"; why: string };

/**
 * The state of a return value from the bytes read from CMDOUT so far (`ended`: no more will come, the
 * pipe closed or the process ended). Bytes after a whole value are invalid: a reader stops at `need`.
 */
export function decodeReturn(b: Uint8Array, ended = false): ReturnState {
  if (ended && b.length === 1 && b[0] === FAILURE_TYPE) return { state: "failure" };
  if (b.length < 8) return { state: "incomplete", need: undefined };
  const len = viewOf(b).getBigUint64(0, true);
  if (len === 0n) return { state: "invalid", why: "the value's length is 0 (no type code)" };
  if (len > BigInt(MAX_RETURN_SIZE - 8))
    return {
      state: "invalid",
      why: `a value of ${8n + len} bytes (its length field included) is over NCW's ${MAX_RETURN_SIZE}`,
    };
  const need = 8 + Number(len);
  if (b.length < need) return { state: "incomplete", need };
  if (b.length > need)
    return { state: "invalid", why: `${b.length - need} bytes follow the value on CMDOUT` };
  if (len === 1n && b[8] === FAILURE_TYPE) return { state: "failure" };
  try {
    return { state: "value", value: decodeValueAt(b, 0, "return value").value };
  } catch (e) {
    return { state: "invalid", why: (e as Error).message };
  }
}
