// Logical → physical address mapping of a single-device Btrfs filesystem: chunks from the
// superblock's sys_chunk_array and the chunk tree, SINGLE and DUP profiles (others refused).

import { NcwError } from "../../../ncw/errors.js";
import type { BlockDevice } from "./device.js";
import {
  BLOCK_GROUP_DUP,
  BLOCK_GROUP_PROFILE_MASK,
  type ChunkItem,
  decodeChunkItem,
} from "./format/items.js";
import { CHUNK_ITEM_KEY, type Key } from "./format/key.js";
import type { Superblock } from "./format/superblock.js";

/** Largest single read (a data extent is at most 128 MiB). */
const MAX_READ = 256 * 1024 * 1024;

export interface ChunkMapping {
  /** Logical start of the chunk. */
  logical: bigint;
  chunk: ChunkItem;
}

/** A physical range on the device backing a logical range (one per copy: DUP has two). */
export interface PhysicalRange {
  devid: bigint;
  physical: bigint;
}

export class ChunkMap {
  /** Sorted by logical start. */
  private readonly chunks: ChunkMapping[] = [];

  constructor(readonly devid: bigint = 1n) {}

  /** The bootstrap map: the SYSTEM chunks of the superblock's sys_chunk_array. */
  static fromSuperblock(sb: Superblock): ChunkMap {
    const m = new ChunkMap(sb.devItem.devid);
    for (const c of sb.sysChunks) m.add(c.key.offset, c.chunk);
    return m;
  }

  /** Adds every CHUNK_ITEM among the chunk tree's items (other items are ignored). */
  addChunkTreeItems(items: Iterable<{ key: Key; data: Uint8Array }>): void {
    for (const it of items) {
      if (it.key.type === CHUNK_ITEM_KEY) this.add(it.key.offset, decodeChunkItem(it.data));
    }
  }

  /** Physical offsets of every copy of [logical, logical+len) (SINGLE: 1, DUP: 2). */
  physical(logical: bigint, len: number): bigint[] {
    return this.map(logical, len).map((p) => p.physical);
  }

  /** Adds (or replaces) the chunk starting at `logical`. */
  add(logical: bigint, chunk: ChunkItem): void {
    const profile = chunk.type & BLOCK_GROUP_PROFILE_MASK;
    if (profile !== 0n && profile !== BLOCK_GROUP_DUP) {
      throw new NcwError(
        "data",
        `chunk at ${logical} uses a RAID profile (flags 0x${chunk.type.toString(16)}); NCW supports single and DUP`,
        { code: "BTRFS_UNSUPPORTED_PROFILE" },
      );
    }
    for (const s of chunk.stripes) {
      if (s.devid !== this.devid) {
        throw new NcwError(
          "data",
          `chunk at ${logical} lives on device ${s.devid}; NCW supports one device`,
          {
            code: "BTRFS_MULTI_DEVICE",
          },
        );
      }
    }
    const copies = profile === BLOCK_GROUP_DUP ? 2 : 1;
    if (
      chunk.length <= 0n ||
      chunk.length % 4096n !== 0n ||
      chunk.stripes.length !== copies ||
      logical % 4096n !== 0n
    ) {
      throw new NcwError(
        "data",
        `chunk at ${logical} is malformed (length ${chunk.length}, ${chunk.stripes.length} stripes for flags 0x${chunk.type.toString(16)})`,
        { code: "BTRFS_BAD_CHUNK", hint: "The image is damaged; run `ncw fs check` on it." },
      );
    }
    let lo = 0;
    let hi = this.chunks.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.chunks[mid]!.logical < logical) lo = mid + 1;
      else hi = mid;
    }
    const existing = this.chunks[lo];
    if (existing && existing.logical === logical) {
      this.chunks[lo] = { logical, chunk };
      return;
    }
    const prev = this.chunks[lo - 1];
    if (
      (prev && prev.logical + prev.chunk.length > logical) ||
      (existing && logical + chunk.length > existing.logical)
    ) {
      throw new NcwError("data", `chunk at ${logical} overlaps another chunk`, {
        code: "BTRFS_BAD_CHUNK",
        hint: "The image is damaged; run `ncw fs check` on it.",
      });
    }
    this.chunks.splice(lo, 0, { logical, chunk });
  }

  all(): readonly ChunkMapping[] {
    return this.chunks;
  }

  /** The chunk containing `logical`, or undefined. */
  find(logical: bigint): ChunkMapping | undefined {
    let lo = 0;
    let hi = this.chunks.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const c = this.chunks[mid]!;
      if (logical < c.logical) hi = mid - 1;
      else if (logical >= c.logical + c.chunk.length) lo = mid + 1;
      else return c;
    }
    return undefined;
  }

  /**
   * The physical copies of [logical, logical+len): one per stripe (SINGLE: 1, DUP: 2).
   * The range must lie inside one chunk.
   */
  map(logical: bigint, len: number): PhysicalRange[] {
    const c = this.find(logical);
    if (!c || logical + BigInt(len) > c.logical + c.chunk.length) {
      throw new NcwError("data", `logical range ${logical}+${len} is not inside any chunk`, {
        code: "BTRFS_UNMAPPED",
        hint: "The image is damaged; run `ncw fs check` on it.",
      });
    }
    const rel = logical - c.logical;
    return c.chunk.stripes.map((s) => ({ devid: s.devid, physical: s.offset + rel }));
  }
}

/**
 * Reads [logical, logical+len), possibly across chunks, from the first copy. `verify` may reject
 * a copy (e.g. a bad tree-block checksum): the next copy is tried, as btrfs does for DUP.
 */
export function readLogical(
  dev: BlockDevice,
  map: ChunkMap,
  logical: bigint,
  len: number,
  verify?: (data: Uint8Array) => boolean,
): Uint8Array {
  if (len < 0 || len > MAX_READ) {
    throw new NcwError(
      "data",
      `a read of ${len} bytes at logical ${logical} is larger than any Btrfs extent`,
      {
        code: "BTRFS_BAD_LENGTH",
        hint: "The image is damaged; run `ncw fs check` on it.",
      },
    );
  }
  const c = map.find(logical);
  if (c && logical + BigInt(len) <= c.logical + c.chunk.length) {
    const copies = map.map(logical, len);
    let first: Uint8Array | undefined;
    for (const p of copies) {
      const data = dev.read(p.physical, len);
      if (!verify || verify(data)) return data;
      first ??= data;
    }
    return first!;
  }
  // Spans chunks: read piecewise (data extents never do, but be general).
  const out = new Uint8Array(len);
  let done = 0;
  while (done < len) {
    const at = logical + BigInt(done);
    const cc = map.find(at);
    if (!cc) map.map(at, 1); // throws the unmapped error
    const n = Math.min(len - done, Number(cc!.logical + cc!.chunk.length - at));
    if (n <= 0) map.map(at, 1);
    out.set(readLogical(dev, map, at, n), done);
    done += n;
  }
  return out;
}

/** Writes [logical, logical+len) to every copy. */
export function writeLogical(
  dev: BlockDevice,
  map: ChunkMap,
  logical: bigint,
  data: Uint8Array,
): void {
  for (const p of map.map(logical, data.length)) dev.write(p.physical, data);
}

/** Reads [logical, logical + dest.length) of one chunk's first copy straight into `dest` (data reads). */
export function readLogicalInto(
  dev: BlockDevice,
  map: ChunkMap,
  logical: bigint,
  dest: Uint8Array,
): void {
  const c = map.find(logical);
  if (dev.readInto && c && logical + BigInt(dest.length) <= c.logical + c.chunk.length) {
    dev.readInto(map.map(logical, dest.length)[0]!.physical, dest);
    return;
  }
  dest.set(readLogical(dev, map, logical, dest.length));
}
