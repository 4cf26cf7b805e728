// The NightOS registry store (specs/registry.md): typed keys persisted in the NightOS tree at
// /etc/sys/registry. NCW decision: the file is JSON (docs/registry.md), since the spec's binary
// B-tree form is not specified; types use the spec's HFFR notation and are enforced on every write.

import { NcwError } from "../../ncw/errors.js";
import type { FsLayer } from "../fs/layer.js";
import { REGISTRY_KEYS, type RegistryKey, type RegistryValue } from "./keys.js";

export const REGISTRY_PATH = "/etc/sys/registry";
export const REGISTRY_FORMAT = "ncw-registry";
export const REGISTRY_FORMAT_VERSION = 1;

/** One stored node: its HFFR type and its value (integers of 8 bytes are stored as strings). */
export interface RegistryNode {
  type: string;
  value: boolean | string | number;
}

export interface RegistryFile {
  format: typeof REGISTRY_FORMAT;
  version: number;
  /** Flat map from dotted key ("system.applications.sideloading") to node, sorted by key. */
  nodes: Record<string, RegistryNode>;
}

const KEY_RE = /^[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)*$/;

function badValue(key: string, type: string, value: unknown, why: string): NcwError {
  return new NcwError(
    "usage",
    `invalid value ${JSON.stringify(String(value))} for registry key ${key} (${type}): ${why}`,
    { code: "REGISTRY_BAD_VALUE" },
  );
}

/**
 * Check `value` against an HFFR type and return its canonical stored form. Supported leaf types:
 * bool, enum:(a,b,...), int{x}, uint{x}, string, string{x}, asciistr, asciistr{x}, time(ms), MB.
 */
export function checkValue(key: string, type: string, value: RegistryValue): RegistryNode["value"] {
  if (type === "bool") {
    if (typeof value === "boolean") return value;
    if (value === "true" || value === "false") return value === "true";
    throw badValue(key, type, value, "expected true or false");
  }
  const en = /^enum:\((.+)\)$/.exec(type);
  if (en) {
    const members = en[1]!.split(",");
    if (typeof value === "string" && members.includes(value)) return value;
    throw badValue(key, type, value, `expected one of ${members.join(", ")}`);
  }
  const int = /^(u?)int\{(1|2|4|8)\}$/.exec(type);
  if (int) {
    const bytes = Number(int[2]);
    const unsigned = int[1] === "u";
    let n: bigint;
    try {
      if (typeof value === "boolean") throw new Error();
      n = BigInt(value);
    } catch {
      throw badValue(key, type, value, "expected an integer");
    }
    const bits = BigInt(bytes * 8);
    const min = unsigned ? 0n : -(1n << (bits - 1n));
    const max = unsigned ? (1n << bits) - 1n : (1n << (bits - 1n)) - 1n;
    if (n < min || n > max) throw badValue(key, type, value, `out of range ${min}..${max}`);
    return bytes === 8 ? n.toString() : Number(n);
  }
  if (type === "time(ms)") {
    // A duration in ms: an integer or "<n>ms" (the spec's default notation); the kernel's datafields
    // carry it in 2 bytes, so 0..65535.
    const m = typeof value === "string" ? /^(\d+)(?:ms)?$/.exec(value) : null;
    const n =
      typeof value === "number" || typeof value === "bigint" ? Number(value) : Number(m?.[1]);
    if (!Number.isInteger(n) || n < 0 || n > 65535)
      throw badValue(key, type, value, "expected a whole number of milliseconds, 0..65535");
    return n;
  }
  if (type === "MB") {
    // An amount of memory in MiB (the spec's `reserved_memory(MB): 16MB`): an integer or "<n>MB".
    const m = typeof value === "string" ? /^(\d+)(?:MB)?$/.exec(value) : null;
    const n =
      typeof value === "number" || typeof value === "bigint" ? Number(value) : Number(m?.[1]);
    if (!Number.isInteger(n) || n < 0 || n > 0xffff_ffff)
      throw badValue(key, type, value, "expected a whole number of MB (MiB), 0..4294967295");
    return n;
  }
  const str = /^(string|asciistr)(?:\{(\d+)\})?$/.exec(type);
  if (str) {
    if (typeof value !== "string") throw badValue(key, type, value, "expected a string");
    if (str[1] === "asciistr" && !/^[\x00-\x7f]*$/.test(value)) {
      throw badValue(key, type, value, "expected ASCII characters only");
    }
    if (str[2] !== undefined && Buffer.byteLength(value) > Number(str[2])) {
      throw badValue(key, type, value, `longer than ${str[2]} bytes`);
    }
    return value;
  }
  throw new NcwError("config", `registry key ${key} has an unsupported type ${type}`, {
    code: "REGISTRY_BAD_TYPE",
  });
}

function corrupt(why: string): NcwError {
  return new NcwError("config", `the NightOS registry (${REGISTRY_PATH}) is invalid: ${why}`, {
    code: "REGISTRY_CORRUPT",
    hint: "fix the file by hand (format: docs/registry.md) or delete it to go back to the defaults",
  });
}

/** Decode and check a registry file's bytes. */
export function decodeRegistry(bytes: Uint8Array): RegistryFile {
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch (e) {
    throw corrupt(`not UTF-8 JSON (${(e as Error).message})`);
  }
  if (typeof raw !== "object" || raw === null) throw corrupt("not a JSON object");
  const o = raw as Partial<RegistryFile>;
  if (o.format !== REGISTRY_FORMAT) throw corrupt(`"format" must be "${REGISTRY_FORMAT}"`);
  if (o.version !== REGISTRY_FORMAT_VERSION) {
    throw corrupt(`unsupported format version ${JSON.stringify(o.version)}`);
  }
  if (typeof o.nodes !== "object" || o.nodes === null) throw corrupt(`"nodes" must be an object`);
  const nodes: Record<string, RegistryNode> = {};
  for (const [key, node] of Object.entries(o.nodes)) {
    if (!KEY_RE.test(key)) throw corrupt(`bad key ${JSON.stringify(key)}`);
    if (typeof node !== "object" || node === null || typeof node.type !== "string") {
      throw corrupt(`node ${key} needs a "type" and a "value"`);
    }
    const decl = (REGISTRY_KEYS as Record<string, { type: string }>)[key];
    if (decl !== undefined && decl.type !== node.type) {
      throw corrupt(`node ${key} has type ${node.type}, expected ${decl.type}`);
    }
    try {
      nodes[key] = { type: node.type, value: checkValue(key, node.type, node.value) };
    } catch (e) {
      if (e instanceof NcwError && e.code === "REGISTRY_BAD_TYPE") {
        nodes[key] = { type: node.type, value: node.value }; // a type a newer NCW knows: keep it
      } else throw corrupt((e as Error).message);
    }
  }
  return { format: REGISTRY_FORMAT, version: REGISTRY_FORMAT_VERSION, nodes };
}

export function encodeRegistry(file: RegistryFile): Uint8Array {
  const nodes: Record<string, RegistryNode> = {};
  for (const key of Object.keys(file.nodes).sort()) nodes[key] = file.nodes[key]!;
  return new TextEncoder().encode(`${JSON.stringify({ ...file, nodes }, null, 2)}\n`);
}

/** The registry of one NightOS tree. Writers must hold the home lock (services/skyer/lock.ts). */
export class Registry {
  private constructor(
    private readonly fs: FsLayer,
    private file: RegistryFile,
  ) {}

  static async open(fs: FsLayer): Promise<Registry> {
    const st = await fs.stat(REGISTRY_PATH);
    if (st === null) {
      return new Registry(fs, {
        format: REGISTRY_FORMAT,
        version: REGISTRY_FORMAT_VERSION,
        nodes: {},
      });
    }
    return new Registry(fs, decodeRegistry(await fs.readFile(REGISTRY_PATH)));
  }

  /** The value of a known key: the stored one, else its default. */
  get<K extends RegistryKey>(key: K): (typeof REGISTRY_KEYS)[K]["default"] {
    const node = this.file.nodes[key];
    return (node?.value ?? REGISTRY_KEYS[key].default) as (typeof REGISTRY_KEYS)[K]["default"];
  }

  /** Whether a key holds a stored value (false: the default applies). */
  isSet(key: RegistryKey): boolean {
    return this.file.nodes[key] !== undefined;
  }

  /** Check and store a value, then write the registry atomically (temporary file + rename). */
  async set(key: RegistryKey, value: RegistryValue): Promise<void> {
    const decl = REGISTRY_KEYS[key];
    const checked = checkValue(key, decl.type, value);
    this.file = {
      ...this.file,
      nodes: { ...this.file.nodes, [key]: { type: decl.type, value: checked } },
    };
    await this.fs.mkdir("/etc/sys", { recursive: true });
    const tmp = `${REGISTRY_PATH}.tmp`;
    await this.fs.writeFile(tmp, encodeRegistry(this.file));
    await this.fs.sync();
    await this.fs.rename(tmp, REGISTRY_PATH, { replace: true });
    await this.fs.sync();
  }

  /** Every known key with its type, value and whether it is the default. */
  list(): { key: string; type: string; value: RegistryNode["value"]; isDefault: boolean }[] {
    type Row = { key: string; type: string; value: RegistryNode["value"]; isDefault: boolean };
    const out = Object.entries(REGISTRY_KEYS).map(([key, decl]): Row => {
      const node = this.file.nodes[key];
      return {
        key,
        type: decl.type,
        value: (node?.value ?? decl.default) as RegistryNode["value"],
        isDefault: node === undefined,
      };
    });
    for (const [key, node] of Object.entries(this.file.nodes)) {
      if (!(key in REGISTRY_KEYS))
        out.push({ key, type: node.type, value: node.value, isDefault: false });
    }
    return out.sort((a, b) => (a.key < b.key ? -1 : 1));
  }
}
