// The structures sys::fs's table names (commonassembly/abi/services/fs.ts, FieldType "structure"), as
// codecs for the service host: filesystem paths, split paths, filenames, item type bytes, item and
// filesystem metadata (specs/services/integration/filesystem-interfaces.md "Nomenclature"), buffer
// pointers and timestamps (specs/kernel/data-structures.md). Bounds-checked; bad bytes are AbiErrors.

import { u8, u16, u32, u64, viewOf } from "../codec.js";
import { AbiError } from "../error.js";
import {
  decodeLayoutAt,
  encodeLayout,
  type Fields,
  type StructureCodec,
  type StructureCodecs,
} from "./fields.js";
import type { FieldType, Layout } from "./method.js";

const string: FieldType = { kind: "string" };
const option = (of: FieldType): FieldType => ({ kind: "option", of });
const list = (of: FieldType): FieldType => ({ kind: "list", of });

/** Item type bytes (filesystem-interfaces.md "Item type byte"); 0 is ITEM_EXISTS' "any type". */
export const ItemType = { ANY: 0x00, DIRECTORY: 0x01, FILE: 0x02, SYMLINK: 0x03, UNKNOWN: 0xff };
const ITEM_TYPES = new Set(Object.values(ItemType));

/** Item flags (filesystem-interfaces.md "Item flags"). */
export const ItemFlag = { HIDDEN: 1 << 0, READ_ONLY: 1 << 1 };

/** A filesystem path: a FEID (`0x01`) or a split path (`0x02`), filesystem-interfaces.md. */
export type FsPath = { feid: bigint } | { split: string[] };

/** An item metadata (filesystem-interfaces.md "Item metadata"); optional fields are null when absent. */
export interface ItemMetadata {
  feid: bigint;
  type: number;
  flags: number;
  size: bigint;
  owner: bigint | null;
  createdAt: bigint | null;
  modifiedAt: bigint | null;
  accessedAt: bigint | null;
  name: string;
}

/** A filesystem metadata (filesystem-interfaces.md "Filesystem metadata"); no icon is carried. */
export interface FsMetadata {
  capabilities: number;
  clusterSize: number;
  totalSize: bigint;
  usedSpace: bigint;
  freeSpace: bigint;
  name: string | null;
}

/** Capabilities list bits (filesystem-interfaces.md "Capabilities list"; the page numbers two "Bit 3"). */
export const FsCapability = {
  WRITABLE: 1 << 0,
  SYMLINKS: 1 << 1,
  SYMLINKS_TO_MISSING: 1 << 2,
  SYMLINKS_CROSS_FS: 1 << 3,
  /** DECISION: the page's second "Bit 3" (hidden flag) is bit 4 and the rest shift by one. */
  HIDDEN_FLAG: 1 << 4,
  READ_ONLY_FLAG: 1 << 5,
  CREATION_DATES: 1 << 6,
  MODIFICATION_DATES: 1 << 7,
  ACCESS_DATES: 1 << 8,
  OWNER_UID: 1 << 9,
  NATIVE_SPM: 1 << 10,
  STORED_SPM: 1 << 11,
  RESERVATION: 1 << 12,
};

const bad = (what: string, why: string, code = "ABI_BAD_VALUE") =>
  new AbiError("data", `${what}: ${why}`, { code });

/** A structure made of the spec's fields (a layout), decoded and encoded through fields.ts. */
function fromLayout<T>(
  name: string,
  layout: Layout,
  toValue: (f: Fields) => T,
  toFields: (v: T) => Fields,
  structs: () => StructureCodecs,
): StructureCodec {
  return {
    decode(b, off) {
      const [f, next] = decodeLayoutAt(layout, b, off, name, structs());
      return [toValue(f), next];
    },
    encode: (v) => encodeLayout(layout, toFields(v as T), name, structs()),
  };
}

const splitLayout: Layout = [["components", list(string)]];

/**
 * A split path's components as sent, each checked: the page forbids "/" (and filenames NUL) in them.
 * Empty, "." and ".." components are kept: normalizeSplit applies the page's rules to them.
 */
const splitPath: StructureCodec = fromLayout<string[]>(
  "Split path",
  splitLayout,
  (f) => {
    const parts = f.components as string[];
    for (const p of parts)
      if (p.includes("/") || p.includes("\0"))
        throw bad("Split path", `component ${JSON.stringify(p)} contains "/" or NUL`);
    return parts;
  },
  (v) => ({ components: v }),
  () => ({}),
);

const filesystemPath: StructureCodec = {
  decode(b, off) {
    if (off >= b.length) throw bad("Filesystem path", "needs 1 more byte", "ABI_TRUNCATED");
    const kind = b[off]!;
    if (kind === 0x01) {
      if (b.length - off - 1 < 8) throw bad("Filesystem path", "FEID truncated", "ABI_TRUNCATED");
      return [{ feid: viewOf(b).getBigUint64(off + 1, true) }, off + 9];
    }
    if (kind === 0x02) {
      const [split, next] = splitPath.decode(b, off + 1);
      return [{ split }, next];
    }
    throw bad("Filesystem path", `kind byte 0x${kind.toString(16)} (0x01 FEID or 0x02 split path)`);
  },
  encode(v) {
    const p = v as FsPath;
    if ("feid" in p) {
      const out = new Uint8Array(9);
      out[0] = 0x01;
      viewOf(out).setBigUint64(1, p.feid, true);
      return out;
    }
    const body = splitPath.encode(p.split);
    const out = new Uint8Array(1 + body.length);
    out[0] = 0x02;
    out.set(body, 1);
    return out;
  },
};

const itemTypeByte: StructureCodec = {
  decode(b, off) {
    if (off >= b.length) throw bad("Item type byte", "needs 1 more byte", "ABI_TRUNCATED");
    const t = b[off]!;
    if (!ITEM_TYPES.has(t)) throw bad("Item type byte", `0x${t.toString(16)} is not an item type`);
    return [t, off + 1];
  },
  encode(v) {
    if (typeof v !== "number" || !ITEM_TYPES.has(v))
      throw new AbiError("usage", `Item type byte: ${String(v)}`, { code: "ABI_BAD_VALUE" });
    return Uint8Array.of(v);
  },
};

const ts = option(u64);
const itemMetadataLayout: Layout = [
  ["feid", u64],
  ["type", { kind: "structure", name: "Item type byte", spec: "" }],
  ["flags", u8],
  ["size", u64],
  ["owner", option(u64)],
  ["createdAt", ts],
  ["modifiedAt", ts],
  ["accessedAt", ts],
  ["name", string],
];

const itemMetadata: StructureCodec = fromLayout<ItemMetadata>(
  "Item metadata",
  itemMetadataLayout,
  (f) => f as unknown as ItemMetadata,
  (v) => v as unknown as Fields,
  () => FS_STRUCTURES,
);

const fsMetadataLayout: Layout = [
  ["capabilities", u16],
  ["clusterSize", u32],
  ["totalSize", u64],
  ["usedSpace", u64],
  ["freeSpace", u64],
  ["name", option(string)],
];

/** The icon (a bitmap image) is not carried: NCW sends and accepts only its absence (0x00). */
const fsMetadata: StructureCodec = {
  decode(b, off) {
    const [f, next] = decodeLayoutAt(fsMetadataLayout, b, off, "Filesystem metadata");
    if (next >= b.length)
      throw bad("Filesystem metadata", "icon option truncated", "ABI_TRUNCATED");
    if (b[next] !== 0x00) throw bad("Filesystem metadata", "icons are not supported");
    return [f as unknown as FsMetadata, next + 1];
  },
  encode(v) {
    const head = encodeLayout(fsMetadataLayout, v as Fields, "Filesystem metadata");
    const out = new Uint8Array(head.length + 1);
    out.set(head);
    return out;
  },
};

const fixed = <T>(
  name: string,
  codec: {
    size: number;
    decode: (v: DataView, o: number) => T;
    encode: (v: DataView, o: number, x: T) => void;
  },
): StructureCodec => ({
  decode(b, off) {
    if (b.length - off < codec.size) throw bad(name, `needs ${codec.size} bytes`, "ABI_TRUNCATED");
    return [codec.decode(viewOf(b), off), off + codec.size];
  },
  encode(v) {
    const out = new Uint8Array(codec.size);
    try {
      codec.encode(viewOf(out), 0, v as T);
    } catch (e) {
      throw new AbiError("usage", `${name}: ${(e as Error).message}`, { code: "ABI_BAD_VALUE" });
    }
    return out;
  },
});

/** A buffer pointer: address (8 bytes), then length (8 bytes). */
export interface BufferPointer {
  address: bigint;
  length: bigint;
}
const bufferPointer: StructureCodec = fromLayout<BufferPointer>(
  "Buffer pointer",
  [
    ["address", u64],
    ["length", u64],
  ],
  (f) => f as unknown as BufferPointer,
  (v) => v as unknown as Fields,
  () => ({}),
);

/** The codecs the service host needs for sys::fs's table, by the names fs.ts gives its structures. */
export const FS_STRUCTURES: StructureCodecs = {
  "Filesystem path": filesystemPath,
  "Split path": splitPath,
  Filename: fromLayout<string>(
    "Filename",
    [["name", string]],
    (f) => f.name as string,
    (v) => ({ name: v }),
    () => ({}),
  ),
  "Item type byte": itemTypeByte,
  "Item metadata": itemMetadata,
  "Filesystem metadata": fsMetadata,
  "Buffer pointer": bufferPointer,
  Timestamp: fixed("Timestamp", u64),
};
