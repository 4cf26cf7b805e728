// Hydre's values while a script runs (specs/shell-scripting.md "Value types"), how `.str()` writes them
// (specs "any.str()"), the runtime type test of `is` (specs "Data validation"), and the conversion to and
// from the shell values an app command takes and returns (commonassembly/abi/values.ts; maps and
// structures as services/shell/literals.ts encodes them).

import type { Value } from "../../commonassembly/abi/values.js";
import type { CommandNode } from "./ast.js";
import type { HType } from "./types.js";

export type HValue =
  | { t: "bool"; v: boolean }
  | { t: "int"; v: bigint }
  | { t: "float"; v: number }
  | { t: "char"; v: string }
  | { t: "string"; v: string }
  | { t: "path"; v: string }
  | { t: "command"; text: string; node?: CommandNode; env?: unknown }
  | { t: "list"; items: HValue[] }
  /** Keyed by `keyId(key)`; insertion order is kept. */
  | { t: "map"; entries: Map<string, { key: HValue; value: HValue }> }
  | { t: "struct"; fields: Map<string, HValue> }
  | { t: "fn"; arity: number; call: (args: HValue[]) => Promise<HValue> }
  /**
   * A stream (specs "Streams"): `source` reads it (`rd -s`); none: a stream the script cannot read
   * (an app command's returned RC identifier).
   */
  | { t: "stream"; source?: StreamSource }
  | { t: "null" }
  | { t: "void" };

/**
 * What a script's stream reads from (docs/hydre.md "Streams held by the script"): a pipe's reader
 * end, as the script sees it. Read once: what is read is taken.
 */
export interface StreamSource {
  /** The next bytes, at most `max`; null at its end. */
  read(max: number): Promise<Uint8Array | null>;
  /** Still pending: its writer has not written its last byte (its pipe is not closed yet). */
  pending(): boolean;
  /** The size hint it was given; null: none. */
  readonly sizeHint: bigint | null;
}

export const VOID: HValue = { t: "void" };
export const NULL: HValue = { t: "null" };
export const bool = (v: boolean): HValue => ({ t: "bool", v });
export const int = (v: bigint): HValue => ({ t: "int", v });
export const str = (v: string): HValue => ({ t: "string", v });

/** A key's identity in a map (its type and value). */
export function keyId(k: HValue): string {
  return `${k.t}:${show(k, true)}`;
}

/** `.str()` (specs "any.str()"): scalars as themselves, strings quoted inside lists and maps. */
export function show(v: HValue, nested = false): string {
  switch (v.t) {
    case "bool":
      return v.v ? "true" : "false";
    case "int":
      return v.v.toString();
    case "float":
      return Number.isInteger(v.v) ? v.v.toFixed(1) : String(v.v);
    case "char":
      return nested ? `'${v.v}'` : v.v;
    case "string":
      return nested ? JSON.stringify(v.v) : v.v;
    case "path":
      return v.v;
    case "command":
      return nested ? `@{ ${v.text} }` : v.text;
    case "list":
      return v.items.length === 0 ? "[]" : `[ ${v.items.map((i) => show(i, true)).join(", ")} ]`;
    case "map":
      return v.entries.size === 0
        ? "{}"
        : `{ ${[...v.entries.values()].map((e) => `${show(e.key, true)}: ${show(e.value, true)}`).join(", ")} }`;
    case "struct":
      return `{ ${[...v.fields].map(([k, x]) => `${k}: ${show(x, true)}`).join(", ")} }`;
    case "fn":
      return "<fn>";
    case "stream":
      return "<stream>";
    case "null":
      return "null";
    case "void":
      return "";
  }
}

/** Deep equality of `==` (an int equals the float of the same value). */
export function equal(a: HValue, b: HValue): boolean {
  if (a.t === "int" && b.t === "float") return Number(a.v) === b.v;
  if (a.t === "float" && b.t === "int") return a.v === Number(b.v);
  if (a.t !== b.t) return false;
  switch (a.t) {
    case "list": {
      const bi = (b as typeof a).items;
      return a.items.length === bi.length && a.items.every((x, i) => equal(x, bi[i] as HValue));
    }
    case "map": {
      const be = (b as typeof a).entries;
      return (
        a.entries.size === be.size &&
        [...a.entries].every(([k, e]) => {
          const o = be.get(k);
          return o !== undefined && equal(e.value, o.value);
        })
      );
    }
    case "struct": {
      const bf = (b as typeof a).fields;
      return (
        a.fields.size === bf.size &&
        [...a.fields].every(([k, x]) => {
          const o = bf.get(k);
          return o !== undefined && equal(x, o);
        })
      );
    }
    case "command":
      return a.text === (b as typeof a).text;
    case "fn":
      return a === b;
    case "null":
    case "void":
    case "stream":
      return true;
    default:
      return (a as { v: unknown }).v === (b as { v: unknown }).v;
  }
}

/** A copy that shares nothing mutable (Hydre's lists, maps and structures are values: docs/hydre.md). */
export function copy(v: HValue): HValue {
  switch (v.t) {
    case "list":
      return { t: "list", items: v.items.map(copy) };
    case "map":
      return {
        t: "map",
        entries: new Map([...v.entries].map(([k, e]) => [k, { key: e.key, value: copy(e.value) }])),
      };
    case "struct":
      return { t: "struct", fields: new Map([...v.fields].map(([k, x]) => [k, copy(x)])) };
    default:
      return v;
  }
}

/** The value stored in a place of type `t`: an int where a float is expected becomes that float. */
export function coerce(v: HValue, t: HType | undefined): HValue {
  if (t === undefined) return v;
  if (t.k === "nullable") return coerce(v, t.inner);
  if (t.k === "float" && v.t === "int") return { t: "float", v: Number(v.v) };
  if (t.k === "list" && v.t === "list" && needsCoerce(t.item))
    return { t: "list", items: v.items.map((x) => coerce(x, t.item)) };
  if (t.k === "map" && v.t === "map" && needsCoerce(t.value))
    return {
      t: "map",
      entries: new Map(
        [...v.entries].map(([k, e]) => [k, { key: e.key, value: coerce(e.value, t.value) }]),
      ),
    };
  // A structure's fields in its type's order (however the literal wrote them).
  if (t.k === "struct" && v.t === "struct" && t.fields.every((f) => v.fields.has(f.name)))
    return {
      t: "struct",
      fields: new Map(
        t.fields.map((f) => [f.name, coerce(v.fields.get(f.name) as HValue, f.type)]),
      ),
    };
  return v;
}

function needsCoerce(t: HType): boolean {
  return (
    t.k === "float" || t.k === "list" || t.k === "map" || t.k === "struct" || t.k === "nullable"
  );
}

/** Does the value belong to the type? (`is`, specs "Data validation"). */
export function hasType(v: HValue, t: HType): boolean {
  switch (t.k) {
    case "any":
      return v.t !== "null" && v.t !== "void";
    case "nullable":
      return v.t === "null" || hasType(v, t.inner);
    case "null":
      return v.t === "null";
    case "float":
      return v.t === "float";
    case "list":
      return v.t === "list" && v.items.every((x) => hasType(x, t.item));
    case "map":
      return (
        v.t === "map" &&
        [...v.entries.values()].every((e) => hasType(e.key, t.key) && hasType(e.value, t.value))
      );
    case "struct":
      return (
        v.t === "struct" &&
        v.fields.size === t.fields.length &&
        t.fields.every((f) => {
          const x = v.fields.get(f.name);
          return x !== undefined && hasType(x, f.type);
        })
      );
    case "enum":
      return t.values.some((c) =>
        typeof c === "string"
          ? v.t === "string" && v.v === c
          : (v.t === "int" && Number(v.v) === c) || (v.t === "float" && v.v === c),
      );
    case "fn":
      return v.t === "fn";
    case "unknown":
    case "never":
      return false;
    default:
      return v.t === t.k;
  }
}

/** A Hydre value as the shell value an app command receives (null never reaches here). */
export function toAbi(v: HValue): Value {
  switch (v.t) {
    case "bool":
      return { type: "bool", value: v.v };
    case "int":
      return { type: "int", value: v.v };
    case "float":
      return { type: "float", value: v.v };
    case "char":
      return { type: "char", value: v.v };
    case "string":
    case "path":
      return { type: v.t, value: v.v };
    case "command":
      return { type: "command", value: v.text };
    case "list":
      return { type: "list", items: v.items.map(toAbi) };
    case "map":
      return {
        type: "list",
        items: [...v.entries.values()].map((e) => ({
          type: "list",
          items: [toAbi(e.key), toAbi(e.value)],
        })),
      };
    case "struct":
      return { type: "list", items: [...v.fields.values()].map(toAbi) };
    default:
      return { type: "void" };
  }
}

/** An app command's returned shell value as a Hydre value, read as its declared type says. */
export function fromAbi(v: Value, t: HType): HValue {
  if (t.k === "nullable") return v.type === "void" ? NULL : fromAbi(v, t.inner);
  if (t.k === "map" && v.type === "list") {
    const entries = new Map<string, { key: HValue; value: HValue }>();
    for (const pair of v.items) {
      if (pair.type !== "list" || pair.items.length !== 2) continue;
      const key = fromAbi(pair.items[0] as Value, t.key);
      entries.set(keyId(key), { key, value: fromAbi(pair.items[1] as Value, t.value) });
    }
    return { t: "map", entries };
  }
  if (t.k === "struct" && v.type === "list")
    return {
      t: "struct",
      fields: new Map(
        t.fields.map((f, i) => [f.name, fromAbi(v.items[i] ?? { type: "void" }, f.type)]),
      ),
    };
  switch (v.type) {
    case "void":
      return VOID;
    case "bool":
      return { t: "bool", v: v.value };
    case "int":
      return t.k === "float" ? { t: "float", v: Number(v.value) } : { t: "int", v: v.value };
    case "float":
      return { t: "float", v: v.value };
    case "char":
      return { t: "char", v: v.value };
    case "string":
    case "path":
      return { t: v.type, v: v.value };
    case "command":
      return { t: "command", text: v.value };
    case "list":
      return {
        t: "list",
        items: v.items.map((x) => fromAbi(x, t.k === "list" ? t.item : { k: "any" })),
      };
    case "stream":
      return { t: "stream" };
  }
}

/** A value of a type, for the checker's placeholder arguments (never run). */
export function placeholder(): Value {
  return { type: "void" };
}
