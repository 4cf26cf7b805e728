// Codecs for the field types of service method tables (method.ts FieldType, Layout): fixed codecs and
// the spec's variable structures (specs/kernel/data-structures.md: booleans, options, delimited lists
// and strings, enumerations). Bounds-checked; a layout decodes only when it uses its bytes exactly.

import { viewOf } from "../codec.js";
import { AbiError } from "../error.js";
import type { FieldType, Layout } from "./method.js";

/** A decoded layout: field name → value. */
export type Fields = Record<string, unknown>;

/** An enumeration's value: its variant ID and that variant's fields. */
export interface EnumValue {
  variant: number;
  fields: Fields;
}

/**
 * Codecs for the structures other spec pages define (FieldType "structure"), by name. A layout using
 * a structure with no codec here cannot be decoded or encoded (ABI_NO_STRUCTURE_CODEC).
 */
export interface StructureCodec {
  /** Decode at `off`; returns the value and the offset after it. Throws AbiError on bad bytes. */
  decode(b: Uint8Array, off: number): [unknown, number];
  encode(value: unknown): Uint8Array;
}
export type StructureCodecs = Readonly<Record<string, StructureCodec>>;

const truncated = (what: string, need: bigint | number, have: number) =>
  new AbiError("data", `${what}: needs ${need} more bytes, ${have} left`, {
    code: "ABI_TRUNCATED",
  });
const badValue = (what: string, why: string) =>
  new AbiError("usage", `${what}: ${why}`, { code: "ABI_BAD_VALUE" });

const utf8 = new TextDecoder("utf-8", { fatal: true });
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function isCodec(t: FieldType): t is Extract<FieldType, { size: number }> {
  return "size" in t;
}

/** Decode one field at `off` of `b` (which ends where the field's container ends). */
function decodeField(
  t: FieldType,
  b: Uint8Array,
  off: number,
  what: string,
  structs: StructureCodecs,
): [unknown, number] {
  const left = b.length - off;
  if (isCodec(t)) {
    if (left < t.size) throw truncated(what, t.size, left);
    return [t.decode(viewOf(b), off), off + t.size];
  }
  switch (t.kind) {
    case "boolean": {
      if (left < 1) throw truncated(what, 1, left);
      const v = b[off];
      if (v !== 0x01 && v !== 0x02)
        throw new AbiError("data", `${what}: boolean byte 0x${v!.toString(16)} (0x01 or 0x02)`, {
          code: "ABI_BAD_BOOLEAN",
        });
      return [v === 0x01, off + 1];
    }
    case "option": {
      if (left < 1) throw truncated(what, 1, left);
      const v = b[off];
      if (v === 0x00) return [null, off + 1];
      if (v !== 0x01)
        throw new AbiError("data", `${what}: option byte 0x${v!.toString(16)} (0x00 or 0x01)`, {
          code: "ABI_BAD_OPTION",
        });
      return decodeField(t.of, b, off + 1, what, structs);
    }
    case "string":
    case "list": {
      if (left < 8) throw truncated(what, 8, left);
      const len = viewOf(b).getBigUint64(off, true);
      if (len > BigInt(left - 8)) throw truncated(what, len, left - 8);
      const start = off + 8;
      const end = start + Number(len);
      if (t.kind === "string") {
        try {
          return [utf8.decode(b.subarray(start, end)), end];
        } catch {
          throw new AbiError("data", `${what}: the string is not UTF-8`, { code: "ABI_BAD_UTF8" });
        }
      }
      // The elements fill the list's bytes exactly.
      const body = b.subarray(0, end);
      const out: unknown[] = [];
      let at = start;
      while (at < end) {
        const [v, next] = decodeField(t.of, body, at, `${what}[${out.length}]`, structs);
        if (next === at) throw badValue(what, "list elements of no bytes cannot be delimited");
        out.push(v);
        at = next;
      }
      return [out, end];
    }
    case "enum": {
      if (left < 1) throw truncated(what, 1, left);
      const id = b[off]!;
      const variant = t.variants[id];
      if (variant === undefined)
        throw new AbiError("data", `${what}: no variant 0x${id.toString(16)}`, {
          code: "ABI_BAD_VARIANT",
        });
      const [fields, next] = decodeFields(variant, b, off + 1, what, structs);
      return [{ variant: id, fields } satisfies EnumValue, next];
    }
    case "structure": {
      const c = structs[t.name];
      if (c === undefined) throw noStructure(what, t.name, t.spec);
      return c.decode(b, off);
    }
  }
}

const noStructure = (what: string, name: string, spec: string) =>
  new AbiError("usage", `${what}: no codec for the structure "${name}" (${spec})`, {
    code: "ABI_NO_STRUCTURE_CODEC",
  });

function decodeFields(
  layout: Layout,
  b: Uint8Array,
  off: number,
  what: string,
  structs: StructureCodecs,
): [Fields, number] {
  const out: Fields = {};
  let at = off;
  for (const [name, t] of layout) {
    const [v, next] = decodeField(t, b, at, `${what}.${name}`, structs);
    out[name] = v;
    at = next;
  }
  return [out, at];
}

/**
 * Decode `layout` at `off` of `b` (for structures made of fields, e.g. a structure codec): the fields
 * and the offset after them. Bytes after them are left to the caller.
 */
export function decodeLayoutAt(
  layout: Layout,
  b: Uint8Array,
  off: number,
  what: string,
  structs: StructureCodecs = {},
): [Fields, number] {
  return decodeFields(layout, b, off, what, structs);
}

/** Decode `b` as `layout`, every byte used (ABI_TRAILING_BYTES otherwise). */
export function decodeLayout(
  layout: Layout,
  b: Uint8Array,
  what: string,
  structs: StructureCodecs = {},
): Fields {
  const [out, end] = decodeFields(layout, b, 0, what, structs);
  if (end !== b.length)
    throw new AbiError("data", `${what}: ${b.length - end} bytes after the last field`, {
      code: "ABI_TRAILING_BYTES",
    });
  return out;
}

function u64le(n: number): Uint8Array {
  const b = new Uint8Array(8);
  viewOf(b).setBigUint64(0, BigInt(n), true);
  return b;
}

function encodeField(
  t: FieldType,
  v: unknown,
  what: string,
  structs: StructureCodecs,
  out: Uint8Array[],
): void {
  if (isCodec(t)) {
    const b = new Uint8Array(t.size);
    try {
      (t.encode as (view: DataView, off: number, value: unknown) => void)(viewOf(b), 0, v);
    } catch (e) {
      throw badValue(what, (e as Error).message);
    }
    out.push(b);
    return;
  }
  switch (t.kind) {
    case "boolean":
      if (typeof v !== "boolean") throw badValue(what, "expected a boolean");
      out.push(Uint8Array.of(v ? 0x01 : 0x02));
      return;
    case "option":
      if (v === null || v === undefined) {
        out.push(Uint8Array.of(0x00));
        return;
      }
      out.push(Uint8Array.of(0x01));
      encodeField(t.of, v, what, structs, out);
      return;
    case "string": {
      if (typeof v !== "string") throw badValue(what, "expected a string");
      if (LONE_SURROGATE.test(v))
        throw badValue(what, "the string has a lone surrogate (not UTF-8)");
      const bytes = new TextEncoder().encode(v);
      out.push(u64le(bytes.length), bytes);
      return;
    }
    case "list": {
      if (!Array.isArray(v)) throw badValue(what, "expected a list");
      const items: Uint8Array[] = [];
      for (const [i, x] of v.entries()) encodeField(t.of, x, `${what}[${i}]`, structs, items);
      // One push per item: a long list spread as arguments would overflow the stack.
      out.push(u64le(items.reduce((n, b) => n + b.length, 0)));
      for (const item of items) out.push(item);
      return;
    }
    case "enum": {
      const e = v as Partial<EnumValue> | null;
      const variant = typeof e === "object" && e !== null ? t.variants[e.variant ?? -1] : undefined;
      if (variant === undefined || e === null || typeof e.fields !== "object")
        throw badValue(what, "expected { variant, fields } with a variant of the enumeration");
      out.push(Uint8Array.of(e.variant!));
      encodeFields(variant, e.fields, what, structs, out);
      return;
    }
    case "structure": {
      const c = structs[t.name];
      if (c === undefined) throw noStructure(what, t.name, t.spec);
      out.push(c.encode(v));
      return;
    }
  }
}

function encodeFields(
  layout: Layout,
  values: Fields,
  what: string,
  structs: StructureCodecs,
  out: Uint8Array[],
): void {
  for (const [name, t] of layout) {
    if (!(name in values) && !(typeof t === "object" && "kind" in t && t.kind === "option"))
      throw badValue(`${what}.${name}`, "missing");
    encodeField(t, values[name], `${what}.${name}`, structs, out);
  }
}

/** Encode `values` as `layout`, packed in the layout's order. */
export function encodeLayout(
  layout: Layout,
  values: Fields,
  what: string,
  structs: StructureCodecs = {},
): Uint8Array {
  const parts: Uint8Array[] = [];
  encodeFields(layout, values, what, structs, parts);
  const out = new Uint8Array(parts.reduce((n, b) => n + b.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
