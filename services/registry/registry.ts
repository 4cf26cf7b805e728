// The NightOS registry (specs/registry.md): a nested tree of typed nodes at /etc/sys/registry in the
// home's NightOS tree, every write checked against the node's type, exported to and imported from
// HFRR (hfrr.ts). The on-disk form (a versioned JSON file with the tree's nesting, written atomically)
// and the upgrade of the first, flat form are NCW decisions: docs/registry.md "On-disk form".

import { NcwError } from "../../ncw/errors.js";
import type { FsLayer } from "../fs/layer.js";
import {
  checkMapKeys,
  cloneStruct,
  compareKeys,
  formatStruct,
  formatValue,
  HfrrError,
  parseHfrr,
  parseHfrrValue,
} from "./hfrr.js";
import {
  REGISTRY_KEYS,
  REGISTRY_STRUCTS,
  type RegistryKey,
  type RegistryKeyDecl,
  type RegistryMapEntry,
  type RegistryValue,
} from "./keys.js";
import {
  checkLeaf,
  compareValues,
  formatLeaf,
  isLeaf,
  type ListEntry,
  type MapEntry,
  type Node,
  parseLeaf,
  parseType,
  type Quantity,
  quantityCount,
  quantityOf,
  type RegType,
  RegTypeError,
  RegValueError,
  type StructValue,
  type Value,
} from "./types.js";

export const REGISTRY_PATH = "/etc/sys/registry";
export const REGISTRY_FORMAT = "ncw-registry";
/** Version 2: the nested tree. Version 1 (flat dotted keys, stored values only) is upgraded on write. */
export const REGISTRY_FORMAT_VERSION = 2;

const KEY_RE = /^[a-z_][a-z0-9_]*$/;

// ---- the default tree --------------------------------------------------------------------------

const DECLS = REGISTRY_KEYS as Record<string, RegistryKeyDecl>;

function declError(key: string, e: unknown): never {
  throw new Error(
    `registry key ${key} is declared wrong (services/registry/keys.ts): ${(e as Error).message}`,
  );
}

/** The registry as NCW installs it: every declared node with its default. */
export function defaultRoot(): StructValue {
  const root: StructValue = new Map();
  for (const [key, decl] of Object.entries(DECLS)) {
    const parts = key.split(".");
    let struct = root;
    for (let i = 0; i < parts.length - 1; i++) {
      const p = parts.slice(0, i + 1).join(".");
      let n = struct.get(parts[i]!);
      if (n === undefined) {
        n = {
          purpose: REGISTRY_STRUCTS[p] ?? "",
          typeText: "struct",
          type: { t: "struct" },
          value: { struct: new Map() },
        };
        struct.set(parts[i]!, n);
      }
      struct = (n.value as { struct: StructValue }).struct;
    }
    let type: RegType;
    let value: Value;
    try {
      type = parseType(decl.type);
      value = fromApi(type, decl.default);
    } catch (e) {
      declError(key, e);
    }
    struct.set(parts[parts.length - 1]!, {
      purpose: decl.describe,
      typeText: decl.type,
      type,
      value,
    });
  }
  return root;
}

// ---- API values (keys.ts RegistryValue) <-> typed values ---------------------------------------

/** A value code passes (keys.ts RegistryValue) as a typed value, checked. Strings are HFRR literals for non-string leafs. */
export function fromApi(t: RegType, v: RegistryValue): Value {
  if (
    typeof v === "string" &&
    t.t !== "string" &&
    !(t.t === "id" && t.of !== "user") &&
    !(t.t === "in" && t.of.t === "string")
  )
    return parseLeaf(t, v);
  switch (t.t) {
    case "int":
    case "id":
      if (t.t === "id" && t.of !== "user") return checkLeaf(t, v as string);
      if (typeof v === "number" && !Number.isInteger(v))
        throw new RegValueError("expected an integer");
      if (typeof v !== "number" && typeof v !== "bigint")
        throw new RegValueError("expected an integer");
      return checkLeaf(t, BigInt(v));
    case "float":
      return checkLeaf(t, typeof v === "bigint" ? Number(v) : (v as number));
    case "time":
    case "size": {
      if (typeof v !== "number" && typeof v !== "bigint")
        throw new RegValueError(`expected a ${t.t === "time" ? "duration" : "size"}`);
      if (typeof v === "number" && !Number.isInteger(v))
        throw new RegValueError(`expected a whole number of ${t.precision}`);
      return checkLeaf(t, quantityOf(t, BigInt(v)));
    }
    case "in":
      return checkLeaf(t, fromApi(t.of, v));
    case "list":
      if (!Array.isArray(v)) throw new RegValueError("expected a list");
      return { list: (v as RegistryValue[]).map((x) => ({ value: fromApi(t.item, x) })) };
    case "map": {
      if (!Array.isArray(v)) throw new RegValueError("expected a map (entries)");
      const map = (v as RegistryMapEntry[]).map((e) => ({
        key: fromApi(t.key, e.key),
        value: fromApi(t.val, e.value),
        ...(e.note !== undefined ? { note: e.note } : {}),
      }));
      return { map: map.sort((a, b) => compareKeys(t.key, a.key, b.key)) };
    }
    case "struct":
    case "structlist":
    case "structmap":
      throw new RegValueError("a struct's nodes are set one by one");
    default:
      return checkLeaf(t, v as Value);
  }
}

/** A typed value as code gets it: durations and sizes in their precision's unit, 8-byte integers as bigint. */
export function toApi(t: RegType, v: Value): RegistryValue {
  switch (t.t) {
    case "int":
      return t.bytes >= 8 ? (v as bigint) : Number(v as bigint);
    case "id":
      return t.of === "user" ? Number(v as bigint) : (v as string);
    case "time":
    case "size":
      return quantityCount(t, v as Quantity);
    case "in":
      return toApi(t.of, v);
    case "list":
      return (v as { list: ListEntry[] }).list.map((e) => toApi(t.item, e.value));
    case "map":
      return (v as { map: MapEntry[] }).map.map((e) => ({
        key: toApi(t.key, e.key),
        value: toApi(t.val, e.value),
        ...(e.note !== undefined ? { note: e.note } : {}),
      }));
    case "struct":
    case "structlist":
    case "structmap":
      return formatValue(t, v, 0).lines.join("\n");
    default:
      return v as RegistryValue;
  }
}

// ---- the on-disk form (docs/registry.md) -------------------------------------------------------

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

function valueToJson(t: RegType, v: Value): Json {
  switch (t.t) {
    case "int":
      return t.bytes >= 8 ? (v as bigint).toString() : Number(v as bigint);
    case "id":
      return t.of === "user" ? Number(v as bigint) : (v as string);
    case "time":
    case "size":
      return (v as Quantity).text;
    case "in":
      return valueToJson(t.of, v);
    case "struct":
      return structToJson((v as { struct: StructValue }).struct);
    case "list":
    case "structlist":
      return (v as { list: ListEntry[] }).list.map((e) => ({
        value:
          t.t === "list"
            ? valueToJson(t.item, e.value)
            : structToJson((e.value as { struct: StructValue }).struct),
        ...(e.note !== undefined ? { note: e.note } : {}),
      }));
    case "map":
    case "structmap":
      return (v as { map: MapEntry[] }).map.map((e) => ({
        key: valueToJson(t.key, e.key),
        value:
          t.t === "map"
            ? valueToJson(t.val, e.value)
            : structToJson((e.value as { struct: StructValue }).struct),
        ...(e.note !== undefined ? { note: e.note } : {}),
      }));
    default:
      return v as Json;
  }
}

function structToJson(s: StructValue): Json {
  const o: Record<string, Json> = {};
  for (const [k, n] of s)
    o[k] = { purpose: n.purpose, type: n.typeText, value: valueToJson(n.type, n.value) };
  return o;
}

function corrupt(why: string): NcwError {
  return new NcwError("config", `the NightOS registry (${REGISTRY_PATH}) is invalid: ${why}`, {
    code: "REGISTRY_CORRUPT",
    hint: "fix the file by hand (format: docs/registry.md), or `ncw registry reset` to go back to the defaults",
  });
}

function isObj(x: unknown): x is Record<string, unknown> {
  return typeof x === "object" && x !== null && !Array.isArray(x);
}

function valueFromJson(t: RegType, j: unknown, path: string): Value {
  const leaf = (x: unknown): Value => {
    if (t.t === "time" || t.t === "size" || (t.t === "int" && typeof x === "string"))
      return parseLeaf(t, String(x));
    if (t.t === "int" || (t.t === "id" && t.of === "user")) {
      if (typeof x !== "number" || !Number.isInteger(x))
        throw new RegValueError("expected an integer");
      return checkLeaf(t, BigInt(x));
    }
    if (t.t === "in") return checkLeaf(t, valueFromJson(t.of, x, path));
    return checkLeaf(t, x as Value);
  };
  if (isLeaf(t)) return leaf(j);
  if (t.t === "struct") {
    if (!isObj(j)) throw new RegValueError("expected the struct's nodes");
    return { struct: structFromJson(j, path) };
  }
  if (!Array.isArray(j)) throw new RegValueError("expected an array of entries");
  if (t.t === "list" || t.t === "structlist") {
    return {
      list: j.map((e: unknown, i) => {
        if (!isObj(e)) throw new RegValueError(`entry ${i} is not an object`);
        const value =
          t.t === "list"
            ? valueFromJson(t.item, e.value, `${path}.${i}`)
            : { struct: structFromJson(isObj(e.value) ? e.value : {}, `${path}.${i}`) };
        return { value, ...(typeof e.note === "string" ? { note: e.note } : {}) };
      }),
    };
  }
  if (t.t === "map" || t.t === "structmap") {
    const map = j.map((e: unknown, i) => {
      if (!isObj(e)) throw new RegValueError(`entry ${i} is not an object`);
      const key = valueFromJson(t.key, e.key, path);
      const value =
        t.t === "map"
          ? valueFromJson(t.val, e.value, `${path}.${i}`)
          : { struct: structFromJson(isObj(e.value) ? e.value : {}, `${path}.${i}`) };
      return { key, value, ...(typeof e.note === "string" ? { note: e.note } : {}) };
    });
    return { map: map.sort((a, b) => compareKeys(t.key, a.key, b.key)) };
  }
  throw new RegValueError("unknown value");
}

function structFromJson(o: Record<string, unknown>, path: string): StructValue {
  const s: StructValue = new Map();
  for (const [k, n] of Object.entries(o)) {
    const full = path === "" ? k : `${path}.${k}`;
    if (!KEY_RE.test(k)) throw corrupt(`bad key ${JSON.stringify(full)}`);
    if (!isObj(n) || typeof n.type !== "string")
      throw corrupt(`node ${full} needs a "type" and a "value"`);
    try {
      const type = parseType(n.type);
      s.set(k, {
        purpose: typeof n.purpose === "string" ? n.purpose : "",
        typeText: n.type,
        type,
        value: valueFromJson(type, n.value, full),
      });
    } catch (e) {
      if (e instanceof RegValueError || e instanceof RegTypeError)
        throw corrupt(`node ${full}: ${e.message}`);
      throw e;
    }
  }
  return s;
}

/** The version-1 file: flat dotted keys with their stored values (defaults were not written). */
function fromV1(nodes: unknown): StructValue {
  if (!isObj(nodes)) throw corrupt(`"nodes" must be an object`);
  const root = defaultRoot();
  for (const [key, node] of Object.entries(nodes)) {
    if (!/^[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)*$/.test(key))
      throw corrupt(`bad key ${JSON.stringify(key)}`);
    if (!isObj(node) || typeof node.type !== "string")
      throw corrupt(`node ${key} needs a "type" and a "value"`);
    const parts = key.split(".");
    const name = parts.pop()!;
    let struct = root;
    for (const p of parts) {
      let n = struct.get(p);
      if (n === undefined) {
        n = {
          purpose: "",
          typeText: "struct",
          type: { t: "struct" },
          value: { struct: new Map() },
        };
        struct.set(p, n);
      }
      if (n.type.t !== "struct") throw corrupt(`${key}: ${p} is not a struct`);
      struct = (n.value as { struct: StructValue }).struct;
    }
    try {
      const type = parseType(node.type);
      const decl = DECLS[key];
      if (decl !== undefined && decl.type !== node.type)
        throw corrupt(`node ${key} has type ${node.type}, expected ${decl.type}`);
      // Version 1 wrote durations and sizes as numbers of their precision unit, or "700ms".
      const v = node.value;
      const value =
        (type.t === "time" || type.t === "size") && typeof v === "number"
          ? checkLeaf(type, quantityOf(type, BigInt(v)))
          : fromApi(type, v as RegistryValue);
      struct.set(name, { purpose: decl?.describe ?? "", typeText: node.type, type, value });
    } catch (e) {
      if (e instanceof RegValueError || e instanceof RegTypeError)
        throw corrupt(`node ${key}: ${e.message}`);
      throw e;
    }
  }
  return root;
}

/**
 * Lay a stored tree over the defaults: stored values win; nodes a newer NCW declares get their
 * default; nodes NCW does not know (a newer one wrote them) are kept; the purposes are the system's.
 */
function overDefaults(stored: StructValue, defaults: StructValue, path: string): StructValue {
  const out: StructValue = new Map();
  for (const [k, d] of defaults) {
    const s = stored.get(k);
    const full = path === "" ? k : `${path}.${k}`;
    if (s === undefined) out.set(k, d);
    else if (s.typeText.replace(/\s/g, "") !== d.typeText.replace(/\s/g, ""))
      throw corrupt(`node ${full} has type ${s.typeText}, expected ${d.typeText}`);
    else if (d.type.t === "struct")
      out.set(k, {
        ...d,
        value: {
          struct: overDefaults(
            (s.value as { struct: StructValue }).struct,
            (d.value as { struct: StructValue }).struct,
            full,
          ),
        },
      });
    else out.set(k, { ...d, value: s.value });
  }
  for (const [k, s] of stored) if (!defaults.has(k)) out.set(k, s);
  return out;
}

/** Decode a registry file's bytes (version 2, or the flat version 1) into the full tree. */
export function decodeRegistry(bytes: Uint8Array): { root: StructValue; version: number } {
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch (e) {
    throw corrupt(`not UTF-8 JSON (${(e as Error).message})`);
  }
  if (!isObj(raw)) throw corrupt("not a JSON object");
  if (raw.format !== REGISTRY_FORMAT) throw corrupt(`"format" must be "${REGISTRY_FORMAT}"`);
  if (raw.version === 1) return { root: fromV1(raw.nodes), version: 1 };
  if (raw.version !== REGISTRY_FORMAT_VERSION)
    throw corrupt(`unsupported format version ${JSON.stringify(raw.version)}`);
  if (!isObj(raw.root)) throw corrupt(`"root" must be an object`);
  return { root: overDefaults(structFromJson(raw.root, ""), defaultRoot(), ""), version: 2 };
}

export function encodeRegistry(root: StructValue): Uint8Array {
  const file = {
    format: REGISTRY_FORMAT,
    version: REGISTRY_FORMAT_VERSION,
    root: structToJson(root),
  };
  return new TextEncoder().encode(`${JSON.stringify(file, null, "\t")}\n`);
}

// ---- paths -------------------------------------------------------------------------------------

/** Where a path leads: a struct node, or an entry of a map or list. */
type Place =
  | { kind: "node"; struct: StructValue; name: string; node: Node }
  | {
      kind: "entry";
      container: Node | MapEntry | ListEntry;
      type: RegType;
      at: number | Value;
      value: Value | undefined;
      valueType: RegType;
    };

function userError(message: string, code: string, hint?: string): NcwError {
  return new NcwError("usage", message, { code, ...(hint !== undefined ? { hint } : {}) });
}

function structOf(v: Value): StructValue {
  return (v as { struct: StructValue }).struct;
}

// ---- the registry ------------------------------------------------------------------------------

export interface RegistryRow {
  key: string;
  type: string;
  value: RegistryValue;
  isDefault: boolean;
}

/** The registry of one NightOS tree. Writers must hold the home lock (services/skyer/lock.ts). */
export class Registry {
  private constructor(
    private readonly fs: FsLayer,
    private root: StructValue,
    /** The version of the file as read (0: no file yet). */
    readonly storedVersion: number,
  ) {}

  static async open(fs: FsLayer): Promise<Registry> {
    const st = await fs.stat(REGISTRY_PATH);
    if (st === null) return new Registry(fs, defaultRoot(), 0);
    const { root, version } = decodeRegistry(await fs.readFile(REGISTRY_PATH));
    return new Registry(fs, root, version);
  }

  /** The value of a declared key (see keys.ts RegistryValue for the forms). */
  get<K extends RegistryKey>(key: K): (typeof REGISTRY_KEYS)[K]["default"] {
    const n = this.leafNode(key);
    return toApi(n.type, n.value) as (typeof REGISTRY_KEYS)[K]["default"];
  }

  /** A duration node in milliseconds (e.g. system.crash_saves.collect_every's 60s: 60000). */
  getMs(key: RegistryKey): number {
    const n = this.leafNode(key);
    if (n.type.t !== "time") throw new Error(`registry key ${key} is not a duration`);
    return Number((n.value as Quantity).base / 1_000_000n);
  }

  /** Whether a key's value differs from its default. */
  isSet(key: RegistryKey): boolean {
    const d = defaultRoot();
    return !sameValue(this.leafNode(key).value, this.lookup(d, key).node.value);
  }

  /** Check and store a value (keys.ts RegistryValue; a string is an HFRR literal for non-string types). */
  async set(key: RegistryKey, value: RegistryValue): Promise<void> {
    const n = this.leafNode(key);
    this.guard(key);
    let v: Value;
    try {
      v = fromApi(n.type, value);
      this.checkNcw(key, n.type, v);
    } catch (e) {
      throw this.valueError(key, n, value, e);
    }
    n.value = v;
    await this.save();
  }

  /** Every leaf of the structs with its type, value and whether it is the default. */
  list(): RegistryRow[] {
    const d = defaultRoot();
    const rows: RegistryRow[] = [];
    const walk = (s: StructValue, ds: StructValue | undefined, prefix: string) => {
      for (const [k, n] of s) {
        const key = prefix === "" ? k : `${prefix}.${k}`;
        const dn = ds?.get(k);
        if (n.type.t === "struct") walk(structOf(n.value), dn && structOf(dn.value), key);
        else
          rows.push({
            key,
            type: n.typeText,
            value: toApi(n.type, n.value),
            isDefault: dn !== undefined && sameValue(n.value, dn.value),
          });
      }
    };
    walk(this.root, d, "");
    return rows;
  }

  // ---- paths (the CLI) ----

  /** The HFRR text of the node or entry at `path` ("" = the whole registry), with its type. */
  describe(path: string): {
    path: string;
    type: string;
    purpose: string;
    hfrr: string;
    /** As code gets it (toApi); a struct as an object of its nodes' values. */
    value: unknown;
    isDefault: boolean;
  } {
    if (path === "") {
      return {
        path,
        type: "struct",
        purpose: "",
        hfrr: this.exportText(),
        value: toApi({ t: "struct" }, { struct: this.root }),
        isDefault: false,
      };
    }
    const p = this.resolve(path);
    const def = (() => {
      try {
        return this.resolveIn(defaultRoot(), path);
      } catch {
        return undefined;
      }
    })();
    const [type, typeText, value, purpose] =
      p.kind === "node"
        ? [p.node.type, p.node.typeText, p.node.value, p.node.purpose]
        : [p.valueType, "", p.value!, ""];
    const f = formatValue(type, value, 1);
    const hfrr = f.inline !== undefined ? f.inline : f.lines.map((l) => l.slice(1)).join("\n");
    const defValue =
      def === undefined ? undefined : def.kind === "node" ? def.node.value : def.value;
    return {
      path,
      type: typeText === "" ? typeName(type) : typeText,
      purpose,
      hfrr,
      value: plain(type, value),
      isDefault: defValue !== undefined && sameValue(value, defValue),
    };
  }

  /** Set the node or map/list entry at `path` from its HFRR notation (a bare word for a string type). */
  async setPath(path: string, text: string): Promise<void> {
    const p = this.resolve(path, { create: true });
    this.guard(path);
    const type = p.kind === "node" ? p.node.type : p.valueType;
    const current = p.kind === "node" ? p.node.value : (p.value ?? emptyValue(type));
    const typeText = p.kind === "node" ? p.node.typeText : typeName(type);
    let v: Value;
    try {
      if (type.t === "struct" || type.t === "structmap" || type.t === "structlist") {
        if (p.kind === "entry" && type.t === "struct")
          throw new RegValueError("set the struct's nodes one by one");
        v = parseHfrrValue(type, current, text, path);
      } else if (isLeaf(type)) {
        // A bare word for a string or an identifier is the text itself; a quoted one is its HFRR literal.
        const bare = /^r?"/.test(text) === false;
        v =
          bare && (type.t === "string" || (type.t === "id" && type.of !== "user"))
            ? checkLeaf(type, text)
            : parseLeaf(type, text);
      } else v = parseHfrrValue(type, current, text, path);
      if (p.kind === "node") this.checkNcw(path, type, v);
    } catch (e) {
      if (e instanceof HfrrError)
        throw userError(
          `invalid value for registry node ${path} (${typeText}): ${e.why}`,
          "REGISTRY_BAD_VALUE",
        );
      throw this.valueError(path, { typeText }, text, e);
    }
    if (p.kind === "node") p.node.value = v;
    else this.putEntry(p, v);
    await this.save();
  }

  /** Remove the entry at `path` of a map or list. */
  async remove(path: string): Promise<void> {
    const p = this.resolve(path);
    if (p.kind !== "entry")
      throw userError(
        `${path} is a node of a struct: it cannot be removed (a struct's keys are fixed)`,
        "REGISTRY_NOT_REMOVABLE",
        "use `ncw registry reset <path>` to give it its default",
      );
    this.guard(path);
    const c = p.container as { value: Value } & Partial<Node>;
    const cont = c.value;
    if ("list" in (cont as object)) {
      const list = (cont as { list: ListEntry[] }).list;
      if (p.type.t === "structlist" && p.at === 0)
        throw userError(
          `${path} is the structlist's model entry: it cannot be removed`,
          "REGISTRY_NOT_REMOVABLE",
        );
      list.splice(p.at as number, 1);
    } else {
      const map = (cont as { map: MapEntry[] }).map;
      const next = map.filter((e) => compareValues(e.key, p.at as Value) !== 0);
      checkMapKeys(p.type as Extract<RegType, { t: "map" | "structmap" }>, map, next, (why) =>
        userError(`cannot remove ${path}: ${why}`, "REGISTRY_NOT_REMOVABLE"),
      );
      map.splice(0, map.length, ...next);
    }
    await this.save();
  }

  /** Give the node at `path` (everything when "") its default. */
  async reset(path = ""): Promise<void> {
    const d = defaultRoot();
    if (path === "") {
      this.guard("");
      this.root = overUnknown(d, this.root);
    } else {
      const p = this.resolve(path);
      if (p.kind !== "node")
        throw userError(
          `${path} is an entry, not a node: remove it with \`ncw registry rm ${path}\``,
          "REGISTRY_NOT_A_NODE",
        );
      const dp = this.resolveIn(d, path);
      if (dp.kind !== "node")
        throw userError(`${path} has no default (NCW does not declare it)`, "REGISTRY_NO_DEFAULT");
      this.guard(path);
      p.node.value = dp.node.value;
    }
    await this.save();
  }

  /** The whole registry in HFRR. */
  exportText(): string {
    return `${formatStruct(this.root).join("\n")}\n`;
  }

  /**
   * Replace the registry's values with an HFRR text's, all or nothing: every node it names must exist
   * with its type; nodes it leaves out keep their value; a map's or list's entries are the text's.
   */
  async importText(text: string): Promise<void> {
    let next: StructValue;
    try {
      next = parseHfrr(text, this.root);
    } catch (e) {
      if (e instanceof HfrrError)
        throw new NcwError("data", `line ${e.line}, column ${e.column}: ${e.why}`, {
          code: "REGISTRY_BAD_HFRR",
          hint: "fix the text (HFRR: docs/registry.md) and import it again; the registry is unchanged",
        });
      throw e;
    }
    // The kernel struct changes only in developer mode (the text may be the one turning it on).
    const devBefore = this.devMode();
    this.checkTree(next, "");
    const kernelChanged = !sameStruct(
      structOf(next.get("kernel")!.value),
      structOf(this.root.get("kernel")!.value),
    );
    if (kernelChanged && !devBefore) throw this.devModeError("kernel");
    this.root = next;
    await this.save();
  }

  /** Write the file in the current version (the upgrade of a version-1 file). */
  async save(): Promise<void> {
    await this.fs.mkdir("/etc/sys", { recursive: true });
    const tmp = `${REGISTRY_PATH}.tmp`;
    await this.fs.writeFile(tmp, encodeRegistry(this.root));
    await this.fs.sync();
    await this.fs.rename(tmp, REGISTRY_PATH, { replace: true });
    await this.fs.sync();
  }

  devMode(): boolean {
    return this.get("system.debugging.dev_mode") === true;
  }

  // ---- internals ----

  /** NCW bounds of keys.ts (ncwMax) on a whole tree. */
  private checkTree(s: StructValue, prefix: string): void {
    for (const [k, n] of s) {
      const key = prefix === "" ? k : `${prefix}.${k}`;
      if (n.type.t === "struct") this.checkTree(structOf(n.value), key);
      else
        try {
          this.checkNcw(key, n.type, n.value);
        } catch (e) {
          throw this.valueError(key, n, formatValue(n.type, n.value, 0).inline ?? "", e);
        }
    }
  }

  private checkNcw(key: string, t: RegType, v: Value): void {
    const lim = DECLS[key]?.ncwMax;
    if (lim === undefined || (t.t !== "time" && t.t !== "size")) return;
    if (quantityCount(t, v as Quantity) > lim.max)
      throw new RegValueError(`more than ${lim.max}${t.precision}: ${lim.why}`);
  }

  /** The kernel struct is "only editable in developer mode" (specs/registry.md). */
  private guard(path: string): void {
    if ((path === "" || path === "kernel" || path.startsWith("kernel.")) && !this.devMode())
      throw this.devModeError(path === "" ? "kernel" : path);
  }

  private devModeError(path: string): NcwError {
    return new NcwError(
      "no-perm",
      `${path} is only editable in developer mode (system.debugging.dev_mode is false)`,
      {
        code: "REGISTRY_DEV_MODE",
        hint: "turn developer mode on: `ncw registry set system.debugging.dev_mode true`",
      },
    );
  }

  private valueError(path: string, n: { typeText: string }, value: unknown, e: unknown): Error {
    if (e instanceof RegValueError || e instanceof RegTypeError)
      return userError(
        `invalid value ${JSON.stringify(String(value))} for registry node ${path} (${n.typeText}): ${e.message}`,
        "REGISTRY_BAD_VALUE",
      );
    return e as Error;
  }

  private leafNode(key: string): Node {
    return this.lookup(this.root, key).node;
  }

  private lookup(root: StructValue, key: string): { node: Node } {
    const p = this.resolveIn(root, key);
    if (p.kind !== "node") throw new Error(`registry key ${key} is not a node`);
    return p;
  }

  private resolve(path: string, opts: { create?: boolean } = {}): Place {
    return this.resolveIn(this.root, path, opts);
  }

  /** Walk `path`: struct keys, map keys in their HFRR notation (or bare), list indexes. */
  private resolveIn(root: StructValue, path: string, opts: { create?: boolean } = {}): Place {
    const parts = path.split(".");
    let place: Place | undefined;
    let struct: StructValue | undefined = root;
    let here: { type: RegType; value: Value; holder: Node | MapEntry | ListEntry } | undefined;
    const walked: string[] = [];
    for (const [i, part] of parts.entries()) {
      const last = i === parts.length - 1;
      const at = walked.length === 0 ? "the registry" : walked.join(".");
      walked.push(part);
      if (struct !== undefined) {
        const node = struct.get(part);
        if (node === undefined)
          throw new NcwError("not-found", `${walked.join(".")} is not in the registry`, {
            code: "REGISTRY_NO_SUCH_NODE",
            hint:
              walked.length === 1
                ? "`ncw registry get` lists the registry's nodes"
                : `\`ncw registry get ${at}\` lists what ${at} holds`,
          });
        place = { kind: "node", struct, name: part, node };
        here = { type: node.type, value: node.value, holder: node };
      } else if (here !== undefined) {
        const t = here.type;
        if (t.t === "list" || t.t === "structlist") {
          const list = (here.value as { list: ListEntry[] }).list;
          const idx = /^\d+$/.test(part) ? Number(part) : Number.NaN;
          const creating = opts.create === true && last && idx === list.length;
          if (!(idx < list.length) && !creating)
            throw userError(
              `${walked.join(".")}: ${at} has ${list.length} entries (0..${list.length - 1}${opts.create ? `; ${list.length} appends one` : ""})`,
              "REGISTRY_NO_SUCH_NODE",
            );
          const e = list[idx];
          const vt: RegType = t.t === "list" ? t.item : { t: "struct" };
          place = {
            kind: "entry",
            container: here.holder,
            type: t,
            at: idx,
            value: e?.value,
            valueType: vt,
          };
          here = e === undefined ? undefined : { type: vt, value: e.value, holder: e };
        } else if (t.t === "map" || t.t === "structmap") {
          let key: Value;
          try {
            key = parseMapKey(t.key, part);
          } catch (e) {
            throw userError(
              `${walked.join(".")}: ${part} is not a key of ${at}: ${(e as Error).message}`,
              "REGISTRY_BAD_VALUE",
            );
          }
          const map = (here.value as { map: MapEntry[] }).map;
          const e = map.find((x) => compareValues(x.key, key) === 0);
          if (e === undefined && !(opts.create === true && last))
            throw new NcwError(
              "not-found",
              `${walked.join(".")} is not in the registry (${at} has no key ${part})`,
              { code: "REGISTRY_NO_SUCH_NODE" },
            );
          const vt: RegType = t.t === "map" ? t.val : { t: "struct" };
          place = {
            kind: "entry",
            container: here.holder,
            type: t,
            at: key,
            value: e?.value,
            valueType: vt,
          };
          here = e === undefined ? undefined : { type: vt, value: e.value, holder: e };
        } else {
          throw userError(
            `${walked.join(".")}: ${at} is a single value (${typeName(t)})`,
            "REGISTRY_NO_SUCH_NODE",
          );
        }
      } else throw userError(`${walked.join(".")} is not in the registry`, "REGISTRY_NO_SUCH_NODE");
      struct = here !== undefined && here.type.t === "struct" ? structOf(here.value) : undefined;
    }
    if (place === undefined) throw userError("an empty registry path", "REGISTRY_NO_SUCH_NODE");
    return place;
  }

  private putEntry(p: Extract<Place, { kind: "entry" }>, v: Value): void {
    const cont = (p.container as { value: Value }).value;
    if ("list" in (cont as object)) {
      const list = (cont as { list: ListEntry[] }).list;
      if (p.type.t === "list" && p.type.max !== undefined && (p.at as number) >= p.type.max)
        throw userError(`the list holds at most ${p.type.max} entries`, "REGISTRY_BAD_VALUE");
      const old = list[p.at as number];
      list[p.at as number] = { ...old, value: v };
    } else {
      const map = (cont as { map: MapEntry[] }).map;
      const old = map.find((x) => compareValues(x.key, p.at as Value) === 0);
      if (old !== undefined) old.value = v;
      else {
        map.push({ key: p.at as Value, value: v });
        map.sort((a, b) => compareKeys((p.type as { key: RegType }).key, a.key, b.key));
      }
    }
  }
}

/** A value as data (`ncw registry get --json`): toApi's form, structs as objects of their nodes. */
function plain(t: RegType, v: Value): unknown {
  if (t.t === "struct")
    return Object.fromEntries([...structOf(v)].map(([k, n]) => [k, plain(n.type, n.value)]));
  if (t.t === "structlist")
    return (v as { list: ListEntry[] }).list.map((e) => plain({ t: "struct" }, e.value));
  if (t.t === "structmap")
    return (v as { map: MapEntry[] }).map.map((e) => ({
      key: toApi(t.key, e.key),
      value: plain({ t: "struct" }, e.value),
    }));
  return toApi(t, v);
}

/** A map key written in a path: its HFRR literal, or a bare string for string types. */
function parseMapKey(t: RegType, part: string): Value {
  if ((t.t === "string" || (t.t === "id" && t.of !== "user")) && !/^r?"/.test(part))
    return checkLeaf(t, part);
  return parseLeaf(t, part);
}

function emptyValue(t: RegType): Value {
  if (t.t === "list" || t.t === "structlist") return { list: [] };
  if (t.t === "map" || t.t === "structmap") return { map: [] };
  return false;
}

function typeName(t: RegType): string {
  return t.t;
}

/** The defaults, with the nodes only the stored tree has (unknown to this NCW) kept. */
function overUnknown(d: StructValue, stored: StructValue): StructValue {
  const out = cloneStruct(d);
  for (const [k, n] of stored) {
    const dn = out.get(k);
    if (dn === undefined) out.set(k, n);
    else if (dn.type.t === "struct" && n.type.t === "struct")
      out.set(k, { ...dn, value: { struct: overUnknown(structOf(dn.value), structOf(n.value)) } });
  }
  return out;
}

/** Equal values (a duration or size by its amount, whatever its notation). */
function sameValue(a: Value, b: Value): boolean {
  const key = (_k: string, x: unknown) =>
    typeof x === "bigint"
      ? `${x}n`
      : x instanceof Map
        ? [...x]
        : typeof x === "object" && x !== null && "base" in x
          ? `q${(x as Quantity).base}`
          : x;
  return JSON.stringify(a, key) === JSON.stringify(b, key);
}

function sameStruct(a: StructValue, b: StructValue): boolean {
  return sameValue({ struct: a }, { struct: b });
}

export { formatLeaf };
