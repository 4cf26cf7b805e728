// The registry's types (specs/registry.md "Format" and "Notes about types"): the spec's type notation
// parsed into a tagged union, every value checked against its type and constraints, and the HFRR
// literals of leaf values (durations like `2d 10s`, sizes like `1TB 3KB`, `r"..."` ASCII strings).
// NCW's readings of the spec's gaps are in docs/registry.md "Types".

import { NcwError } from "../../ncw/errors.js";
import { parseAid } from "../../ncw/manifest/rules.js";

/** A duration (ns) or a data size (bits), with the notation it is written in (canonical spacing). */
export interface Quantity {
  readonly kind: "time" | "size";
  readonly base: bigint;
  readonly text: string;
}

/** One entry of a map: its key (a leaf value) and its value, with the comment HFRR puts after it. */
export interface MapEntry {
  key: Value;
  value: Value;
  note?: string;
}

/** One entry of a list, with its trailing comment. */
export interface ListEntry {
  value: Value;
  note?: string;
}

/** A node of a struct: the spec's "purpose, type with optional constraints, type-safe value". */
export interface Node {
  purpose: string;
  /** The type as written (kept for export), and parsed. */
  typeText: string;
  type: RegType;
  value: Value;
}

/** A struct's nodes, in their declared order (the order the system installed them in). */
export type StructValue = Map<string, Node>;

export type Value =
  | boolean
  | bigint
  | number
  | string
  | Quantity
  | { readonly list: ListEntry[] }
  | { readonly map: MapEntry[] }
  | { readonly struct: StructValue };

export type TimeUnit = "y" | "mo" | "w" | "d" | "h" | "m" | "s" | "ms" | "us" | "ns";
export type SizeUnit = "TB" | "GB" | "MB" | "KB" | "B" | "b";

export type RegType =
  | { t: "struct" }
  | { t: "string"; ascii: boolean; maxChars?: number; maxBytes?: number }
  | { t: "int"; signed: boolean; bytes: number }
  | { t: "float"; bytes: number; positive: boolean }
  | { t: "bool" }
  | { t: "list"; max?: number; item: RegType }
  | { t: "structlist" }
  | { t: "map"; complete: boolean; key: RegType; val: RegType }
  | { t: "structmap"; complete: boolean; key: RegType }
  | {
      t: "time";
      signed: boolean;
      precision: TimeUnit;
      min?: Quantity;
      max?: Quantity;
    }
  | { t: "size"; precision: SizeUnit; min?: Quantity; max?: Quantity }
  | { t: "id"; of: "app" | "lib" | "user" }
  | { t: "in"; of: RegType; members: Value[] }
  | { t: "enum"; members: string[] };

// ---- units -------------------------------------------------------------------------------------

const SECOND = 1_000_000_000n;
/** Nanoseconds per unit. NCW decision (docs/registry.md): a year is 365.25 days, a month a twelfth of it. */
export const TIME_UNITS: readonly (readonly [TimeUnit, bigint, number])[] = [
  // unit, size, digits of a non-first component (its range inside the next larger unit)
  ["y", 31_557_600n * SECOND, 0],
  ["mo", 2_629_800n * SECOND, 2],
  ["w", 7n * 86_400n * SECOND, 1],
  ["d", 86_400n * SECOND, 1],
  ["h", 3_600n * SECOND, 2],
  ["m", 60n * SECOND, 2],
  ["s", SECOND, 2],
  ["ms", 1_000_000n, 3],
  ["us", 1_000n, 3],
  ["ns", 1n, 3],
];
/** Bits per unit: binary multiples (NCW decision: 1 KB = 1024 B, as the existing `MB` keys). */
export const SIZE_UNITS: readonly (readonly [SizeUnit, bigint, number])[] = [
  ["TB", 8n << 40n, 0],
  ["GB", 8n << 30n, 0],
  ["MB", 8n << 20n, 0],
  ["KB", 8n << 10n, 0],
  ["B", 8n, 0],
  ["b", 1n, 0],
];
/** The spec's numbered precisions: 1 = years … 10 = nanoseconds; 1 = terabytes … 6 = bits. */
const TIME_BY_NUMBER = TIME_UNITS.map((u) => u[0]);
const SIZE_BY_NUMBER = SIZE_UNITS.map((u) => u[0]);

const U64_MAX = (1n << 64n) - 1n;
const I64_MIN = -(1n << 63n);
const I64_MAX = (1n << 63n) - 1n;
/** `ints` / `uints`: "as many bytes as the CPU". NCW decision: 8 (every host NCW runs on is 64-bit). */
export const CPU_BYTES = 8;

// ---- errors ------------------------------------------------------------------------------------

/** A type that does not parse (a bug of a declaration, or a bad file). */
export class RegTypeError extends Error {}

/** A value refused by its type: `why` says what the type accepts. */
export class RegValueError extends Error {}

function bad(why: string): never {
  throw new RegValueError(why);
}

// ---- the type notation -------------------------------------------------------------------------

/** Split `(a):(b)` style arguments: the parenthesised groups of `s`, at depth 0, separated by ':'. */
function groups(s: string, what: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < s.length) {
    if (s[i] !== "(") throw new RegTypeError(`${what}: expected "(" at "${s.slice(i)}"`);
    const end = closing(s, i);
    out.push(s.slice(i + 1, end));
    i = end + 1;
    if (i < s.length) {
      if (s[i] !== ":") throw new RegTypeError(`${what}: expected ":" at "${s.slice(i)}"`);
      i++;
    }
  }
  return out;
}

/** The index of the parenthesis closing the one at `open`. */
export function closing(s: string, open: number): number {
  let depth = 0;
  for (let i = open; i < s.length; i++) {
    if (s[i] === "(") depth++;
    else if (s[i] === ")") {
      depth--;
      if (depth === 0) return i;
    }
  }
  throw new RegTypeError(`unbalanced parentheses in "${s}"`);
}

/** Split on commas at parenthesis depth 0 (outside quotes), trimmed. */
function commas(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let quote = false;
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (quote) {
      if (c === "\\") i++;
      else if (c === '"') quote = false;
    } else if (c === '"') quote = true;
    else if (c === "(") depth++;
    else if (c === ")") depth--;
    else if (c === "," && depth === 0) {
      out.push(s.slice(start, i).trim());
      start = i + 1;
    }
  }
  out.push(s.slice(start).trim());
  return out;
}

function count(s: string, what: string): number {
  if (!/^[1-9]\d*$/.test(s)) throw new RegTypeError(`${what}: "${s}" is not a positive count`);
  return Number(s);
}

function timePrecision(p: string): TimeUnit {
  const byNum = /^\d+$/.test(p) ? TIME_BY_NUMBER[Number(p) - 1] : undefined;
  const unit = byNum ?? TIME_UNITS.find((u) => u[0] === p)?.[0];
  if (unit === undefined)
    throw new RegTypeError(`"${p}" is not a time precision (1-10, or y mo w d h m s ms us ns)`);
  return unit;
}

function sizePrecision(p: string): SizeUnit {
  const byNum = /^\d+$/.test(p) ? SIZE_BY_NUMBER[Number(p) - 1] : undefined;
  const unit = byNum ?? SIZE_UNITS.find((u) => u[0] === p)?.[0];
  if (unit === undefined)
    throw new RegTypeError(`"${p}" is not a size precision (1-6, or TB GB MB KB B b)`);
  return unit;
}

/** Parse a type in the spec's notation (`time(ms)`, `map:(uint{4}):(enum:(A, B))`, …). */
export function parseType(text: string): RegType {
  const s = text.trim();
  const fail = (why: string): never => {
    throw new RegTypeError(`type "${s}": ${why}`);
  };
  switch (s) {
    case "struct":
      return { t: "struct" };
    case "structlist":
      return { t: "structlist" };
    case "bool":
      return { t: "bool" };
    case "ints":
      return { t: "int", signed: true, bytes: CPU_BYTES };
    case "uints":
      return { t: "int", signed: false, bytes: CPU_BYTES };
    case "id:app":
      return { t: "id", of: "app" };
    case "id:lib":
      return { t: "id", of: "lib" };
    case "id:user":
      return { t: "id", of: "user" };
  }
  // A bare size unit is a size of that precision (the spec's `reserved_memory(MB): 16MB`).
  if (SIZE_UNITS.some((u) => u[0] === s)) return { t: "size", precision: s as SizeUnit };
  let m = /^(string|asciistr)(?:\[(\w+)\]|\{(\w+)\})?$/.exec(s);
  if (m) {
    const ascii = m[1] === "asciistr";
    if (m[2] !== undefined) return { t: "string", ascii, maxChars: count(m[2], s) };
    if (m[3] !== undefined) return { t: "string", ascii, maxBytes: count(m[3], s) };
    return { t: "string", ascii };
  }
  m = /^(u?int|p?float)\{(\w+)\}$/.exec(s);
  if (m) {
    const bytes = count(m[2]!, s);
    if (m[1]!.endsWith("int")) {
      // The spec asks for sizes that are "a multiple of two" yet shows uint{1}: NCW takes powers of two.
      if (![1, 2, 4, 8, 16].includes(bytes)) fail("integers are 1, 2, 4, 8 or 16 bytes");
      return { t: "int", signed: m[1] === "int", bytes };
    }
    if (![4, 8].includes(bytes)) fail("floating-point numbers are 4 or 8 bytes");
    return { t: "float", bytes, positive: m[1] === "pfloat" };
  }
  m = /^list(?:\[(\w+)\])?:(.+)$/.exec(s);
  if (m) {
    let inner = m[2]!.trim();
    if (inner.startsWith("(") && closing(inner, 0) === inner.length - 1) inner = inner.slice(1, -1);
    const item = parseType(inner);
    if (item.t === "struct") fail("a list cannot hold structs (the spec: use structlist)");
    return { t: "list", item, ...(m[1] !== undefined ? { max: count(m[1], s) } : {}) };
  }
  m = /^(map|mapc|structmap|structmapc):(.+)$/.exec(s);
  if (m) {
    const g = groups(m[2]!, `type "${s}"`);
    const complete = m[1]!.endsWith("c");
    const key = parseType(g[0] ?? "");
    if (!isLeaf(key)) fail("a map's keys are single values");
    if (complete && finiteKeys(key) === undefined)
      fail("a complete map (mapc, structmapc) needs keys of a finite type: bool, enum or in");
    if (m[1]!.startsWith("struct")) {
      if (g.length !== 1) fail("structmap takes one group: structmap:(key)");
      return { t: "structmap", complete, key };
    }
    if (g.length !== 2) fail("map takes two groups: map:(key):(value)");
    const val = parseType(g[1]!);
    if (val.t === "struct") fail("a map cannot hold structs (the spec: use structmap)");
    return { t: "map", complete, key, val };
  }
  m = /^in:(.+)$/.exec(s);
  if (m) {
    const g = groups(m[1]!, `type "${s}"`);
    if (g.length !== 2) fail("in takes two groups: in:(type):(a, b, ...)");
    const of = parseType(g[0]!);
    if (!isLeaf(of)) fail("in: the values are single values");
    const members = commas(g[1]!).map((lit) => {
      try {
        return parseLeaf(of, lit);
      } catch (e) {
        return fail(`member ${lit}: ${(e as Error).message}`);
      }
    });
    return { t: "in", of, members };
  }
  m = /^enum:\((.*)\)$/.exec(s);
  if (m) {
    const members = commas(m[1]!);
    for (const x of members) if (!/^[A-Za-z_][A-Za-z0-9_-]*$/.test(x)) fail(`bad member "${x}"`);
    if (new Set(members).size !== members.length) fail("a member is listed twice");
    return { t: "enum", members };
  }
  m = /^(time|stime|tmin|tmax|tbtw|ntime|size|smin|smax|sbtw)\((.*)\)$/.exec(s);
  if (m) {
    const args = commas(m[2]!);
    const name = m[1]!;
    const isTime = !name.startsWith("s") || name === "stime";
    // The spec's table has no `ntime`, but its default registry uses `ntime(ms,100ms)` in tmin's shape.
    const shape = { time: 1, stime: 1, size: 1, tmin: 2, ntime: 2, tmax: 2, smin: 2, smax: 2 }[
      name
    ];
    if ((shape ?? 3) !== args.length) fail(`${name} takes ${shape ?? 3} argument(s)`);
    const bound = (lit: string, ty: RegType): Quantity => {
      try {
        return parseLeaf(ty, lit) as Quantity;
      } catch (e) {
        return fail(`bound ${lit}: ${(e as Error).message}`);
      }
    };
    if (isTime) {
      const base: RegType = {
        t: "time",
        signed: name === "stime",
        precision: timePrecision(args[0]!),
      };
      const min = name === "tmin" || name === "ntime" || name === "tbtw" ? args[1] : undefined;
      const max = name === "tmax" ? args[1] : name === "tbtw" ? args[2] : undefined;
      return {
        ...base,
        ...(min !== undefined ? { min: bound(min, base) } : {}),
        ...(max !== undefined ? { max: bound(max, base) } : {}),
      } as RegType;
    }
    const base: RegType = { t: "size", precision: sizePrecision(args[0]!) };
    const min = name === "smin" || name === "sbtw" ? args[1] : undefined;
    const max = name === "smax" ? args[1] : name === "sbtw" ? args[2] : undefined;
    return {
      ...base,
      ...(min !== undefined ? { min: bound(min, base) } : {}),
      ...(max !== undefined ? { max: bound(max, base) } : {}),
    } as RegType;
  }
  return fail("unknown type (specs/registry.md lists them)");
}

/** Leafs: "single values (neither a list, a map or a structure)". */
export function isLeaf(t: RegType): boolean {
  return !["struct", "list", "structlist", "map", "structmap"].includes(t.t);
}

/** Every key of a finite key type, in its default order; undefined for an open type. */
export function finiteKeys(t: RegType): Value[] | undefined {
  if (t.t === "bool") return [false, true];
  if (t.t === "enum") return [...t.members];
  if (t.t === "in") return [...t.members].sort(compareValues);
  return undefined;
}

// ---- leaf literals -----------------------------------------------------------------------------

/** Parse a quantity literal: one or more `<n><unit>` separated by single spaces, an optional sign. */
function parseQuantity(lit: string, kind: "time" | "size", signed: boolean): Quantity {
  const table = kind === "time" ? TIME_UNITS : SIZE_UNITS;
  const what = kind === "time" ? "duration" : "size";
  const example = kind === "time" ? "500ms, 60s, 2d 10s" : "16MB, 1TB 3KB";
  let s = lit;
  let negative = false;
  if (s.startsWith("-") || s.startsWith("+")) {
    negative = s.startsWith("-");
    s = s.slice(1);
    if (negative && !signed) bad(`a ${what} of this type cannot be negative`);
  }
  const parts = s.split(" ");
  let last = -1;
  let base = 0n;
  const texts: string[] = [];
  for (const [i, part] of parts.entries()) {
    const m = /^(\d+)([A-Za-z]+)$/.exec(part);
    const idx = m ? table.findIndex((u) => u[0] === m[2]) : -1;
    if (!m || idx < 0)
      bad(
        `"${lit}" is not a ${what}: write numbers each followed by a unit (${table.map((u) => u[0]).join(" ")}), e.g. ${example}`,
      );
    if (idx <= last) bad(`"${lit}": units go from the largest to the smallest, each once`);
    const [unit, size, digits] = table[idx]!;
    const n = BigInt(m[1]!);
    if (i > 0 && idx > 0) {
      // A component after the first stays below the next larger unit (`1m 75s` is `2m 15s`).
      const limit = table[idx - 1]![1];
      if (n * size >= limit) bad(`"${lit}": ${part} is a whole ${table[idx - 1]![0]} or more`);
    }
    texts.push(
      i === 0 || kind === "size" ? n.toString() + unit : n.toString().padStart(digits, "0") + unit,
    );
    base += n * size;
    last = idx;
  }
  if (negative) base = -base;
  const text = `${negative && base !== 0n ? "-" : ""}${texts.join(" ")}`;
  return { kind, base, text };
}

/** The unit of a quantity type's precision and its size. */
function precisionUnit(t: Extract<RegType, { t: "time" | "size" }>): readonly [string, bigint] {
  const table = t.t === "time" ? TIME_UNITS : SIZE_UNITS;
  const u = table.find((x) => x[0] === t.precision)!;
  return [u[0], u[1]];
}

/** A quantity of `n` precision units, in the precision's unit (`700ms`, `60s`, `16MB`). */
export function quantityOf(t: Extract<RegType, { t: "time" | "size" }>, n: bigint): Quantity {
  const [unit, size] = precisionUnit(t);
  return { kind: t.t, base: n * size, text: `${n < 0n ? "-" : ""}${n < 0n ? -n : n}${unit}` };
}

/** The quantity in its precision's unit, as a number (what Registry.get returns: ms for `time(ms)`). */
export function quantityCount(t: Extract<RegType, { t: "time" | "size" }>, q: Quantity): number {
  const [, size] = precisionUnit(t);
  return q.base % size === 0n ? Number(q.base / size) : Number(q.base) / Number(size);
}

/** Parse a string literal: `"..."` (UTF-8) or `r"..."` (ASCII), with \\ \" \n \t \r \u{…} escapes. */
export function parseStringLiteral(lit: string): { ascii: boolean; value: string } {
  const ascii = lit.startsWith('r"');
  const body = ascii ? lit.slice(1) : lit;
  if (!body.startsWith('"') || !body.endsWith('"') || body.length < 2)
    bad(`${lit} is not a string: write "text" (r"text" for an ASCII string)`);
  let out = "";
  for (let i = 1; i < body.length - 1; i++) {
    const c = body[i]!;
    if (c === '"') bad(`${lit}: a " inside a string is written \\"`);
    if (c !== "\\") {
      out += c;
      continue;
    }
    const e = body[++i];
    if (e === "n") out += "\n";
    else if (e === "t") out += "\t";
    else if (e === "r") out += "\r";
    else if (e === "\\" || e === '"') out += e;
    else if (e === "u" && body[i + 1] === "{") {
      const end = body.indexOf("}", i);
      const cp = end < 0 ? Number.NaN : Number.parseInt(body.slice(i + 2, end), 16);
      if (!Number.isInteger(cp) || cp > 0x10ffff) bad(`${lit}: bad \\u{…} escape`);
      out += String.fromCodePoint(cp);
      i = end;
    } else bad(`${lit}: unknown escape \\${e ?? ""} (known: \\\\ \\" \\n \\t \\r \\u{hex})`);
  }
  return { ascii, value: out };
}

/** A string as an HFRR literal. */
export function stringLiteral(value: string, ascii: boolean): string {
  const esc = value.replace(/[\\"\n\t\r]|[\x00-\x1f\x7f]/g, (c) => {
    const named: Record<string, string> = {
      "\\": "\\\\",
      '"': '\\"',
      "\n": "\\n",
      "\t": "\\t",
      "\r": "\\r",
    };
    return named[c] ?? `\\u{${c.codePointAt(0)!.toString(16)}}`;
  });
  return `${ascii ? "r" : ""}"${esc}"`;
}

/** Parse a leaf value's HFRR literal and check it against its type. */
export function parseLeaf(t: RegType, lit: string): Value {
  switch (t.t) {
    case "bool":
      if (lit === "true") return true;
      if (lit === "false") return false;
      return bad(`expected true or false, not ${lit}`);
    case "int": {
      if (!/^[+-]?\d+$/.test(lit)) bad(`expected an integer, not ${lit}`);
      return checkLeaf(t, BigInt(lit));
    }
    case "float": {
      if (!/^[+-]?\d+(\.\d+)?([eE][+-]?\d+)?$/.test(lit))
        bad(`expected a number with a "." decimal separator (e.g. 1.5), not ${lit}`);
      return checkLeaf(t, Number(lit));
    }
    case "string": {
      const s = parseStringLiteral(lit);
      if (t.ascii && !s.ascii) bad(`an ASCII string is written r"…", not ${lit}`);
      if (!t.ascii && s.ascii) bad(`a UTF-8 string is written "…" (r"…" is for ASCII strings)`);
      return checkLeaf(t, s.value);
    }
    case "time":
      return checkLeaf(t, parseQuantity(lit, "time", t.signed));
    case "size":
      return checkLeaf(t, parseQuantity(lit, "size", false));
    case "id":
      if (t.of === "user") {
        if (!/^\+?\d+$/.test(lit)) bad(`a user identifier is a number, not ${lit}`);
        return checkLeaf(t, BigInt(lit));
      }
      return checkLeaf(t, parseStringLiteral(lit).value);
    case "in": {
      return checkLeaf(t, parseLeaf(t.of, lit));
    }
    case "enum":
      return checkLeaf(t, lit);
    default:
      return bad("not a single value");
  }
}

/** A leaf value's HFRR literal. */
export function formatLeaf(t: RegType, v: Value): string {
  switch (t.t) {
    case "float": {
      const n = v as number;
      const s = String(n);
      return /[.e]/.test(s) || !Number.isFinite(n) ? s : `${s}.0`;
    }
    case "string":
      return stringLiteral(v as string, t.ascii);
    case "time":
    case "size":
      return (v as Quantity).text;
    case "id":
      return t.of === "user" ? String(v) : stringLiteral(v as string, true);
    case "in":
      return formatLeaf(t.of, v);
    default:
      return String(v);
  }
}

function intRange(t: Extract<RegType, { t: "int" }>): [bigint, bigint] {
  const bits = BigInt(t.bytes * 8);
  return t.signed ? [-(1n << (bits - 1n)), (1n << (bits - 1n)) - 1n] : [0n, (1n << bits) - 1n];
}

/** Check an already-typed leaf value against its type's limits; returns it (normalised). */
export function checkLeaf(t: RegType, v: Value): Value {
  switch (t.t) {
    case "bool":
      if (typeof v !== "boolean") bad("expected true or false");
      return v;
    case "int": {
      if (typeof v !== "bigint") bad("expected an integer");
      const [lo, hi] = intRange(t);
      if (v < lo || v > hi) bad(`out of range ${lo}..${hi}`);
      return v;
    }
    case "float": {
      if (typeof v !== "number" || !Number.isFinite(v)) bad("expected a finite number");
      if (t.positive && v < 0) bad("expected a positive number (0 or more)");
      if (t.bytes === 4 && Math.abs(v) > 3.4028234663852886e38) bad("too large for 4 bytes");
      return t.bytes === 4 ? Math.fround(v) : v;
    }
    case "string": {
      if (typeof v !== "string") bad("expected a string");
      if (t.ascii && !/^[\x00-\x7f]*$/.test(v)) bad("expected ASCII characters only");
      const chars = [...v].length;
      if (t.maxChars !== undefined && chars > t.maxChars)
        bad(`longer than ${t.maxChars} characters (${chars})`);
      const bytes = Buffer.byteLength(v);
      if (t.maxBytes !== undefined && bytes > t.maxBytes)
        bad(`longer than ${t.maxBytes} bytes (${bytes})`);
      return v;
    }
    case "time":
    case "size": {
      const q = v as Quantity;
      if (typeof q !== "object" || !("kind" in q) || q.kind !== t.t)
        bad(`expected a ${t.t === "time" ? "duration" : "size"}`);
      const [unit, size] = precisionUnit(t);
      if (q.base % size !== 0n) bad(`expected a whole number of ${unit} (the type's precision)`);
      const [lo, hi] = t.t === "time" && t.signed ? [I64_MIN, I64_MAX] : [0n, U64_MAX];
      if (q.base < lo || q.base > hi)
        bad(`out of the 8 bytes' range (${t.t === "time" ? "nanoseconds" : "bits"})`);
      if (t.min !== undefined && q.base < t.min.base) bad(`less than the minimum ${t.min.text}`);
      if (t.max !== undefined && q.base > t.max.base) bad(`more than the maximum ${t.max.text}`);
      return q;
    }
    case "id": {
      if (t.of === "user") {
        if (typeof v !== "bigint" || v < 0n || v > 0xffff_ffffn)
          bad("a user identifier is a 32-bit unsigned number");
        return v;
      }
      if (typeof v !== "string") bad("expected an identifier string");
      // Installed or not is Skyer's to say; the registry checks the identifier's form.
      if (parseAid(v) === undefined)
        bad(
          `${JSON.stringify(v)} is not an ${t.of === "app" ? "application" : "library"} identifier <did>::<slug> (256 bytes at most)`,
        );
      return v;
    }
    case "in": {
      const inner = checkLeaf(t.of, v);
      if (!t.members.some((m) => compareValues(m, inner) === 0))
        bad(`expected one of ${t.members.map((m) => formatLeaf(t.of, m)).join(", ")}`);
      return inner;
    }
    case "enum":
      if (typeof v !== "string" || !t.members.includes(v))
        bad(`expected one of ${t.members.join(", ")}`);
      return v;
    default:
      return bad("not a single value");
  }
}

/** The default order of leaf values (map keys): numbers by value, strings by code points, false < true. */
export function compareValues(a: Value, b: Value): number {
  if (typeof a === "object" && typeof b === "object" && "base" in a && "base" in b)
    return a.base < b.base ? -1 : a.base > b.base ? 1 : 0;
  if (typeof a === "bigint" || typeof a === "number")
    return a < (b as number) ? -1 : a > (b as number) ? 1 : 0;
  if (typeof a === "boolean") return Number(a) - Number(b as boolean);
  if (typeof a === "string" && typeof b === "string") return a < b ? -1 : a > b ? 1 : 0;
  return 0;
}

/** A type's own name for messages. */
export function describeType(t: RegType): string {
  return t.t;
}

/** Wrap a value error for the registry's users: which node, which type, why. */
export function badValueError(path: string, typeText: string, why: string): NcwError {
  return new NcwError("usage", `invalid value for registry node ${path} (${typeText}): ${why}`, {
    code: "REGISTRY_BAD_VALUE",
  });
}
