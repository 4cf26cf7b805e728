// Btrfs tree blocks (struct btrfs_header + btrfs_item[] / btrfs_key_ptr[]): decoding with checksum
// and tree-checker-style bounds checks, and encoding with items laid out from the end of the leaf.

import { NcwError } from "../../../../ncw/errors.js";
import { crc32c } from "./crc32c.js";
import {
  compareKeys,
  decodeKey,
  encodeKeyInto,
  formatKey,
  KEY_SIZE,
  type Key,
  U64_MAX,
} from "./key.js";

export interface NodeHeader {
  /** 32 bytes; for crc32c only the first 4 are used (little-endian), the rest are zero. */
  csum: Uint8Array;
  /** 16 bytes: the filesystem's metadata uuid. */
  fsid: Uint8Array;
  /** Logical address of this block. */
  bytenr: bigint;
  /** Low bits: WRITTEN (1), RELOC (2); top byte: backref revision (1 = mixed backrefs). */
  flags: bigint;
  /** 16 bytes. */
  chunkTreeUuid: Uint8Array;
  generation: bigint;
  /** Objectid of the tree this block belongs to. */
  owner: bigint;
  nritems: number;
  /** 0 for a leaf. */
  level: number;
}

export interface LeafItem {
  key: Key;
  data: Uint8Array;
}

export interface KeyPtr {
  key: Key;
  blockptr: bigint;
  generation: bigint;
}

export type TreeNode =
  | { header: NodeHeader; items: LeafItem[]; ptrs?: undefined }
  | { header: NodeHeader; ptrs: KeyPtr[]; items?: undefined };

export const CSUM_SIZE = 32;
export const FSID_SIZE = 16;
export const UUID_SIZE = 16;
export const HEADER_SIZE = 101;
export const ITEM_SIZE = 25;
export const KEY_PTR_SIZE = 33;
/** Tree levels run 0..7. */
export const MAX_LEVEL = 8;

export const HEADER_FLAG_WRITTEN = 1n;
export const HEADER_FLAG_RELOC = 2n;
export const BACKREF_REV_SHIFT = 56n;
export const MIXED_BACKREF_REV = 1n;
/** The flags every block written by current btrfs carries: WRITTEN | (MIXED_BACKREF_REV << 56). */
export const DEFAULT_HEADER_FLAGS = HEADER_FLAG_WRITTEN | (MIXED_BACKREF_REV << BACKREF_REV_SHIFT);

// Header field offsets.
const H_FSID = 32;
const H_BYTENR = 48;
const H_FLAGS = 56;
const H_CHUNK_UUID = 64;
const H_GENERATION = 80;
const H_OWNER = 88;
const H_NRITEMS = 96;
const H_LEVEL = 100;

function corrupt(message: string, code = "BTRFS_NODE_CORRUPT"): NcwError {
  return new NcwError("data", message, {
    code,
    hint: "The image is damaged or not a Btrfs image; run `ncw fs check` or `btrfs check` on it.",
  });
}

/** Bytes available to item headers and item data in a leaf (BTRFS_LEAF_DATA_SIZE). */
export function maxLeafData(nodesize: number): number {
  return nodesize - HEADER_SIZE;
}

/** The largest single item's data (a leaf holding just that item). */
export function maxItemSize(nodesize: number): number {
  return maxLeafData(nodesize) - ITEM_SIZE;
}

/** Key pointers an internal node can hold (BTRFS_NODEPTRS_PER_BLOCK). */
export function maxKeyPtrs(nodesize: number): number {
  return Math.floor((nodesize - HEADER_SIZE) / KEY_PTR_SIZE);
}

/** Bytes the items use in a leaf: a 25-byte header plus its data, each. */
export function leafUsedBytes(items: readonly LeafItem[]): number {
  let n = 0;
  for (const it of items) n += ITEM_SIZE + it.data.length;
  return n;
}

/** Free bytes left in a leaf (negative if the items do not fit). */
export function leafFreeSpace(node: { items: readonly LeafItem[] }, nodesize: number): number {
  return maxLeafData(nodesize) - leafUsedBytes(node.items);
}

/** Decodes only the 101-byte header (no checksum check). */
export function decodeHeader(buf: Uint8Array): NodeHeader {
  if (buf.length < HEADER_SIZE) throw corrupt(`tree block of ${buf.length} bytes has no header`);
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  return {
    csum: buf.slice(0, CSUM_SIZE),
    fsid: buf.slice(H_FSID, H_FSID + FSID_SIZE),
    bytenr: dv.getBigUint64(H_BYTENR, true),
    flags: dv.getBigUint64(H_FLAGS, true),
    chunkTreeUuid: buf.slice(H_CHUNK_UUID, H_CHUNK_UUID + UUID_SIZE),
    generation: dv.getBigUint64(H_GENERATION, true),
    owner: dv.getBigUint64(H_OWNER, true),
    nritems: dv.getUint32(H_NRITEMS, true),
    level: dv.getUint8(H_LEVEL),
  };
}

/** The crc32c a tree block (or superblock) stores: over every byte after the 32-byte csum field. */
export function blockChecksum(buf: Uint8Array): number {
  return crc32c(buf, CSUM_SIZE, buf.length);
}

export interface DecodeNodeOptions {
  /** Check the stored crc32c (default true). */
  verifyChecksum?: boolean;
  /** When given, the header's bytenr must equal it. */
  expectBytenr?: bigint;
}

/**
 * Decodes a tree block of exactly `nodesize` bytes. Verifies the crc32c and that every item,
 * key pointer and data range lies inside the block, that keys are strictly ascending and that
 * leaf data is packed from the end as btrfs lays it out. Throws NcwError("data") otherwise.
 */
export function decodeNode(
  buf: Uint8Array,
  nodesize: number,
  opts: DecodeNodeOptions = {},
): TreeNode {
  if (buf.length !== nodesize) {
    throw corrupt(`tree block is ${buf.length} bytes, expected nodesize ${nodesize}`);
  }
  const header = decodeHeader(buf);
  const where = `tree block ${header.bytenr}`;
  if (opts.verifyChecksum !== false) {
    const stored = new DataView(buf.buffer, buf.byteOffset, 4).getUint32(0, true);
    const actual = blockChecksum(buf);
    if (stored !== actual) {
      throw corrupt(
        `${where}: checksum mismatch (stored 0x${stored.toString(16).padStart(8, "0")}, computed 0x${actual.toString(16).padStart(8, "0")})`,
        "BTRFS_NODE_CSUM",
      );
    }
  }
  if (opts.expectBytenr !== undefined && header.bytenr !== opts.expectBytenr) {
    throw corrupt(
      `tree block at ${opts.expectBytenr} says it is at ${header.bytenr}`,
      "BTRFS_NODE_BYTENR",
    );
  }
  if (header.level >= MAX_LEVEL)
    throw corrupt(`${where}: level ${header.level} is over ${MAX_LEVEL - 1}`);
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const n = header.nritems;
  if (header.level > 0) {
    if (n === 0 || n > maxKeyPtrs(nodesize)) {
      throw corrupt(
        `${where}: internal node with ${n} pointers (1..${maxKeyPtrs(nodesize)} allowed)`,
      );
    }
    const ptrs: KeyPtr[] = [];
    for (let i = 0; i < n; i++) {
      const off = HEADER_SIZE + i * KEY_PTR_SIZE;
      const key = decodeKey(buf, off);
      const prev = ptrs[i - 1];
      if (prev && compareKeys(prev.key, key) >= 0) {
        throw corrupt(
          `${where}: key ${formatKey(key)} at slot ${i} is not above ${formatKey(prev.key)}`,
        );
      }
      ptrs.push({
        key,
        blockptr: dv.getBigUint64(off + KEY_SIZE, true),
        generation: dv.getBigUint64(off + KEY_SIZE + 8, true),
      });
    }
    return { header, ptrs };
  }
  const dataArea = maxLeafData(nodesize);
  if (n * ITEM_SIZE > dataArea) throw corrupt(`${where}: ${n} items do not fit in a leaf`);
  const items: LeafItem[] = [];
  let expectEnd = dataArea;
  for (let i = 0; i < n; i++) {
    const off = HEADER_SIZE + i * ITEM_SIZE;
    const key = decodeKey(buf, off);
    const dataOff = dv.getUint32(off + KEY_SIZE, true);
    const size = dv.getUint32(off + KEY_SIZE + 4, true);
    if (dataOff + size !== expectEnd) {
      throw corrupt(
        `${where}: item ${i} ${formatKey(key)} data at ${dataOff}+${size} does not end where the previous item's begins (${expectEnd})`,
      );
    }
    if (dataOff < n * ITEM_SIZE) {
      throw corrupt(`${where}: item ${i} ${formatKey(key)} data overlaps the item headers`);
    }
    const prev = items[i - 1];
    if (prev && compareKeys(prev.key, key) >= 0) {
      throw corrupt(
        `${where}: key ${formatKey(key)} at slot ${i} is not above ${formatKey(prev.key)}`,
      );
    }
    items.push({ key, data: buf.slice(HEADER_SIZE + dataOff, HEADER_SIZE + dataOff + size) });
    expectEnd = dataOff;
  }
  return { header, items };
}

/**
 * Encodes a tree block of `nodesize` bytes: header (nritems taken from the items/ptrs given),
 * item headers ascending from the front, item data packed from the end of the block in slot order
 * (slot 0's data last), unused bytes zero, crc32c in the first 4 csum bytes.
 */
export function encodeNode(node: TreeNode, nodesize: number): Uint8Array {
  const h = node.header;
  const buf = new Uint8Array(nodesize);
  const dv = new DataView(buf.buffer);
  if (h.fsid.length !== FSID_SIZE || h.chunkTreeUuid.length !== UUID_SIZE) {
    throw new NcwError("data", "tree block header fsid and chunk tree uuid must be 16 bytes", {
      code: "BTRFS_NODE_ENCODE",
    });
  }
  buf.set(h.fsid, H_FSID);
  dv.setBigUint64(H_BYTENR, h.bytenr, true);
  dv.setBigUint64(H_FLAGS, h.flags, true);
  buf.set(h.chunkTreeUuid, H_CHUNK_UUID);
  dv.setBigUint64(H_GENERATION, h.generation, true);
  dv.setBigUint64(H_OWNER, h.owner, true);
  dv.setUint8(H_LEVEL, h.level);
  if (node.ptrs !== undefined) {
    if (h.level === 0) throw encodeError("a node with key pointers must have level > 0");
    if (node.ptrs.length > maxKeyPtrs(nodesize)) {
      throw encodeError(`${node.ptrs.length} key pointers do not fit in a ${nodesize}-byte node`);
    }
    dv.setUint32(H_NRITEMS, node.ptrs.length, true);
    let off = HEADER_SIZE;
    for (const p of node.ptrs) {
      putKey(dv, off, p.key);
      dv.setBigUint64(off + KEY_SIZE, p.blockptr, true);
      dv.setBigUint64(off + KEY_SIZE + 8, p.generation, true);
      off += KEY_PTR_SIZE;
    }
  } else {
    if (h.level !== 0) throw encodeError("a leaf must have level 0");
    const items = node.items;
    const used = leafUsedBytes(items);
    if (used > maxLeafData(nodesize)) {
      throw encodeError(
        `${items.length} items (${used} bytes) do not fit in a ${nodesize}-byte leaf`,
      );
    }
    dv.setUint32(H_NRITEMS, items.length, true);
    let end = maxLeafData(nodesize);
    let off = HEADER_SIZE;
    for (const it of items) {
      const data = it.data;
      const dataOff = end - data.length;
      putKey(dv, off, it.key);
      dv.setUint32(off + KEY_SIZE, dataOff, true);
      dv.setUint32(off + KEY_SIZE + 4, data.length, true);
      buf.set(data, HEADER_SIZE + dataOff);
      end = dataOff;
      off += ITEM_SIZE;
    }
  }
  dv.setUint32(0, blockChecksum(buf), true);
  return buf;
}

/**
 * Writes `key` at `off` (17 bytes), with encodeKeyInto's checks, on the node's own DataView: a commit
 * encodes every key of every block it writes, so no view is made per key (encodeKeyInto's).
 */
function putKey(dv: DataView, off: number, key: Key): void {
  const { objectid, type, offset } = key;
  if (
    objectid < 0n ||
    objectid > U64_MAX ||
    offset < 0n ||
    offset > U64_MAX ||
    (type & 0xff) !== type
  ) {
    // The full checks and their messages.
    encodeKeyInto(new Uint8Array(dv.buffer, dv.byteOffset, dv.byteLength), off, key);
  }
  dv.setBigUint64(off, objectid, true);
  dv.setUint8(off + 8, type);
  dv.setBigUint64(off + 9, offset, true);
}

function encodeError(message: string): NcwError {
  return new NcwError("data", `cannot encode tree block: ${message}`, {
    code: "BTRFS_NODE_ENCODE",
  });
}

/** Slot of the last key pointer with key <= `key` (0 if all are greater): the child to descend into. */
export function ptrSlot(ptrs: readonly KeyPtr[], key: Key): number {
  let lo = 0;
  let hi = ptrs.length - 1;
  let ans = 0;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (compareKeys(ptrs[mid]!.key, key) <= 0) {
      ans = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return ans;
}
