// Typed little-endian codecs for the spec's packed byte layouts (syscall arguments and return values,
// signal datafields, the execution context). Bounds-checked; `decodeExact` rejects trailing bytes.

import { AbiError } from "./error.js";

/** A fixed-size field or structure: `size` bytes at an offset of a DataView, little-endian. */
export interface Codec<T> {
  readonly size: number;
  /** A short description of the layout, used in traces and docs ("u64", "bufptr", "{pid:u64}"). */
  readonly layout: string;
  decode(view: DataView, off: number): T;
  encode(view: DataView, off: number, value: T): void;
}

export type Infer<C> = C extends Codec<infer T> ? T : never;

/** A buffer pointer (data-structures.md#buffer-pointers): address (8 bytes) then length (8 bytes). */
export interface BufPtr {
  addr: bigint;
  len: bigint;
}

function uint(size: 1 | 2 | 4, name: string): Codec<number> {
  const max = 2 ** (size * 8) - 1;
  return {
    size,
    layout: name,
    decode: (v, o) =>
      size === 1 ? v.getUint8(o) : size === 2 ? v.getUint16(o, true) : v.getUint32(o, true),
    encode: (v, o, x) => {
      if (!Number.isInteger(x) || x < 0 || x > max)
        throw new RangeError(`${name} out of range: ${x}`);
      if (size === 1) v.setUint8(o, x);
      else if (size === 2) v.setUint16(o, x, true);
      else v.setUint32(o, x, true);
    },
  };
}

export const u8 = uint(1, "u8");
export const u16 = uint(2, "u16");
export const u32 = uint(4, "u32");

export const u64: Codec<bigint> = {
  size: 8,
  layout: "u64",
  decode: (v, o) => v.getBigUint64(o, true),
  encode: (v, o, x) => {
    if (x < 0n || x > 0xffff_ffff_ffff_ffffn) throw new RangeError(`u64 out of range: ${x}`);
    v.setBigUint64(o, x, true);
  },
};

export const i64: Codec<bigint> = {
  size: 8,
  layout: "i64",
  decode: (v, o) => v.getBigInt64(o, true),
  encode: (v, o, x) => v.setBigInt64(o, x, true),
};

export const f64: Codec<number> = {
  size: 8,
  layout: "f64",
  decode: (v, o) => v.getFloat64(o, true),
  encode: (v, o, x) => v.setFloat64(o, x, true),
};

export const bufptr: Codec<BufPtr> = {
  size: 16,
  layout: "bufptr",
  decode: (v, o) => ({ addr: v.getBigUint64(o, true), len: v.getBigUint64(o + 8, true) }),
  encode: (v, o, x) => {
    u64.encode(v, o, x.addr);
    u64.encode(v, o + 8, x.len);
  },
};

/** `n` raw bytes (e.g. a scoped service's 8-byte name). */
export function bytes(n: number): Codec<Uint8Array> {
  return {
    size: n,
    layout: `bytes[${n}]`,
    decode: (v, o) => new Uint8Array(v.buffer.slice(v.byteOffset + o, v.byteOffset + o + n)),
    encode: (v, o, x) => {
      if (x.length !== n) throw new RangeError(`expected ${n} bytes, got ${x.length}`);
      new Uint8Array(v.buffer, v.byteOffset + o, n).set(x);
    },
  };
}

type Field = readonly [string, Codec<unknown>];
export type StructOf<F extends readonly Field[]> = {
  [K in F[number] as K[0]]: K[1] extends Codec<infer T> ? T : never;
};

/** Fields packed one after the other in the order given, no padding (the spec's lists). */
export interface StructCodec<F extends readonly Field[]> extends Codec<StructOf<F>> {
  readonly fields: F;
}

export function struct<const F extends readonly Field[]>(fields: F): StructCodec<F> {
  const size = fields.reduce((n, [, c]) => n + c.size, 0);
  const layout = `{${fields.map(([n, c]) => `${n}:${c.layout}`).join(", ")}}`;
  return {
    size,
    layout,
    fields,
    decode(v, o) {
      const out: Record<string, unknown> = {};
      let off = o;
      for (const [name, c] of fields) {
        out[name] = c.decode(v, off);
        off += c.size;
      }
      return out as StructOf<F>;
    },
    encode(v, o, value) {
      let off = o;
      const rec = value as Record<string, unknown>;
      for (const [name, c] of fields) {
        c.encode(v, off, rec[name]);
        off += c.size;
      }
    },
  };
}

/** The empty layout (`_None_` / `_Empty_` in the spec). */
export const empty = struct([]);

export function viewOf(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

/** Decode exactly `codec.size` bytes; shorter or longer input is an error naming `what`. */
export function decodeExact<T>(codec: Codec<T>, b: Uint8Array, what: string): T {
  if (b.length !== codec.size) {
    throw new AbiError("data", `${what}: expected ${codec.size} bytes, got ${b.length}`, {
      code: b.length < codec.size ? "ABI_TRUNCATED" : "ABI_TRAILING_BYTES",
    });
  }
  return codec.decode(viewOf(b), 0);
}

export function encode<T>(codec: Codec<T>, value: T): Uint8Array {
  const b = new Uint8Array(codec.size);
  codec.encode(viewOf(b), 0, value);
  return b;
}
