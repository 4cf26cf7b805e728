// Opening a Btrfs image for reading: superblock (primary, falling back to mirrors), chunk mapping
// (sys_chunk_array + chunk tree), verified tree-block reads (DUP copy on a bad checksum), and a
// read-only TreeReader over the trees of the last committed state. Writes go through the engine.

import { NcwError } from "../../../ncw/errors.js";
import { ChunkMap, readLogical, readLogicalInto } from "./chunks.js";
import type { BlockDevice } from "./device.js";
import { decodeRootItem, type RootItem } from "./format/items.js";
import {
  CHUNK_TREE_OBJECTID,
  compareKeys,
  type Key,
  ROOT_ITEM_KEY,
  ROOT_TREE_OBJECTID,
  U64_MAX,
} from "./format/key.js";
import { blockChecksum, decodeHeader, decodeNode, ptrSlot, type TreeNode } from "./format/node.js";
import {
  decodeSuperblock,
  FEATURE_INCOMPAT_METADATA_UUID,
  SUPER_INFO_OFFSET,
  SUPER_INFO_SIZE,
  SUPER_MIRROR_OFFSETS,
  SUPPORTED_INCOMPAT,
  type Superblock,
} from "./format/superblock.js";
import type { Item, TreeReader } from "./tree/index.js";

/**
 * Reads the primary superblock (64 KiB into the device). A file too short to hold one is not a
 * Btrfs image, and is told so rather than with a device-range error.
 */
export function readPrimarySuperblock(dev: BlockDevice): Superblock {
  if (dev.size < SUPER_INFO_OFFSET + BigInt(SUPER_INFO_SIZE)) throw noSuperblock(dev.size);
  return decodeSuperblock(dev.read(SUPER_INFO_OFFSET, SUPER_INFO_SIZE));
}

function noSuperblock(size: bigint): NcwError {
  return new NcwError(
    "data",
    `not a Btrfs image: no superblock at 64 KiB (the file is only ${size} bytes)`,
    {
      code: "BTRFS_NO_SUPER",
      hint: "Point --image at a Btrfs image, or create one with `ncw fs mkfs <image> --size 256M`.",
    },
  );
}

/** Reads the newest valid superblock copy (the primary unless it is damaged). */
export function readSuperblock(dev: BlockDevice): Superblock {
  if (dev.size < SUPER_INFO_OFFSET + BigInt(SUPER_INFO_SIZE)) throw noSuperblock(dev.size);
  let firstError: unknown;
  for (const off of SUPER_MIRROR_OFFSETS) {
    if (off + BigInt(SUPER_INFO_SIZE) > dev.size) break;
    try {
      const sb = decodeSuperblock(dev.read(off, SUPER_INFO_SIZE));
      if (sb.bytenr !== off)
        throw new NcwError("data", `superblock copy at ${off} says it is at ${sb.bytenr}`);
      return sb;
    } catch (e) {
      firstError ??= e;
    }
  }
  if (firstError instanceof NcwError) throw firstError;
  throw new NcwError("data", "no valid Btrfs superblock found", {
    code: "BTRFS_NO_SUPER",
    hint: "The file is not a Btrfs image (create one with `ncw fs mkfs`).",
  });
}

/** The uuid tree blocks carry: metadata_uuid when the METADATA_UUID feature is on, else the fsid. */
export function metadataFsid(sb: Superblock): Uint8Array {
  return (sb.incompatFlags & FEATURE_INCOMPAT_METADATA_UUID) !== 0n ? sb.metadataUuid : sb.fsid;
}

/** The smallest and largest possible keys. */
export const MIN_KEY: Key = { objectid: 0n, type: 0, offset: 0n };
export const MAX_KEY: Key = { objectid: U64_MAX, type: 255, offset: U64_MAX };

/** A Btrfs image opened for reading at its last committed state. */
export class Volume implements TreeReader {
  readonly sb: Superblock;
  readonly chunks: ChunkMap;
  readonly nodesize: number;
  readonly sectorsize: number;
  private readonly cache = new Map<bigint, TreeNode>();
  private readonly cacheLimit = 4096;
  private readonly rootCache = new Map<
    bigint,
    { bytenr: bigint; level: number; generation: bigint } | null
  >();

  constructor(
    readonly dev: BlockDevice,
    sb?: Superblock,
  ) {
    this.sb = sb ?? readSuperblock(dev);
    const unknown = this.sb.incompatFlags & ~SUPPORTED_INCOMPAT;
    if (unknown !== 0n) {
      throw new NcwError(
        "data",
        `image uses Btrfs features NCW does not support (incompat 0x${unknown.toString(16)})`,
        {
          code: "BTRFS_UNSUPPORTED_FEATURE",
        },
      );
    }
    this.nodesize = this.sb.nodesize;
    this.sectorsize = this.sb.sectorsize;
    this.chunks = ChunkMap.fromSuperblock(this.sb);
    // The chunk tree lives in SYSTEM chunks; read it all to learn every chunk.
    this.chunks.addChunkTreeItems(
      this.scan(
        {
          bytenr: this.sb.chunkRoot,
          level: this.sb.chunkRootLevel,
          generation: this.sb.chunkRootGeneration,
        },
        MIN_KEY,
        MAX_KEY,
      ),
    );
  }

  /** Reads and verifies one tree block (checksum, bytenr, fsid, level, generation when known). */
  readNode(bytenr: bigint, expect?: { level?: number; generation?: bigint }): TreeNode {
    const hit = this.cache.get(bytenr);
    if (hit) {
      this.cache.delete(bytenr);
      this.cache.set(bytenr, hit);
      return hit;
    }
    const fsid = metadataFsid(this.sb);
    const ok = (b: Uint8Array) => {
      if (new DataView(b.buffer, b.byteOffset, 4).getUint32(0, true) !== blockChecksum(b))
        return false;
      const h = decodeHeader(b);
      return h.bytenr === bytenr && h.fsid.every((x, i) => x === fsid[i]);
    };
    const raw = readLogical(this.dev, this.chunks, bytenr, this.nodesize, ok);
    if (!ok(raw)) {
      const h = decodeHeader(raw);
      const why =
        h.bytenr !== bytenr
          ? `it says it is at ${h.bytenr}`
          : !h.fsid.every((x, i) => x === fsid[i])
            ? "it belongs to another filesystem"
            : "its checksum is wrong";
      throw new NcwError("data", `tree block ${bytenr} is damaged in every copy: ${why}`, {
        code: "BTRFS_BAD_TREE_BLOCK",
        hint: "Run `ncw fs check` or `btrfs check` on the image.",
      });
    }
    const node = decodeNode(raw, this.nodesize, { verifyChecksum: false });
    if (expect?.level !== undefined && node.header.level !== expect.level) {
      throw new NcwError(
        "data",
        `tree block ${bytenr} has level ${node.header.level}, expected ${expect.level}`,
        {
          code: "BTRFS_BAD_TREE_BLOCK",
        },
      );
    }
    if (expect?.generation !== undefined && node.header.generation !== expect.generation) {
      throw new NcwError(
        "data",
        `tree block ${bytenr} has generation ${node.header.generation}, its parent expects ${expect.generation}`,
        { code: "BTRFS_BAD_TREE_BLOCK", hint: "The image holds a stale or torn write." },
      );
    }
    this.cache.set(bytenr, node);
    if (this.cache.size > this.cacheLimit) {
      const oldest = this.cache.keys().next().value;
      if (oldest !== undefined) this.cache.delete(oldest);
    }
    return node;
  }

  /** Root block of a tree, or undefined when the tree does not exist. */
  treeRoot(rootId: bigint): { bytenr: bigint; level: number; generation: bigint } | undefined {
    if (rootId === ROOT_TREE_OBJECTID) {
      return { bytenr: this.sb.root, level: this.sb.rootLevel, generation: this.sb.generation };
    }
    if (rootId === CHUNK_TREE_OBJECTID) {
      return {
        bytenr: this.sb.chunkRoot,
        level: this.sb.chunkRootLevel,
        generation: this.sb.chunkRootGeneration,
      };
    }
    const cached = this.rootCache.get(rootId);
    if (cached !== undefined) return cached ?? undefined;
    const ri = this.rootItem(rootId);
    const r = ri ? { bytenr: ri.bytenr, level: ri.level, generation: ri.generation } : null;
    this.rootCache.set(rootId, r);
    return r ?? undefined;
  }

  /** The ROOT_ITEM of a tree (the one with the highest key offset), or undefined. */
  rootItem(rootId: bigint): RootItem | undefined {
    const it = this.lastAtOrBefore(ROOT_TREE_OBJECTID, {
      objectid: rootId,
      type: ROOT_ITEM_KEY,
      offset: U64_MAX,
    });
    if (!it || it.key.objectid !== rootId || it.key.type !== ROOT_ITEM_KEY) return undefined;
    return decodeRootItem(it.data);
  }

  hasTree(rootId: bigint): boolean {
    return this.treeRoot(rootId) !== undefined;
  }

  private rootOf(rootId: bigint): { bytenr: bigint; level: number; generation: bigint } {
    const r = this.treeRoot(rootId);
    if (!r)
      throw new NcwError("not-found", `tree ${rootId} does not exist`, { code: "BTRFS_NO_TREE" });
    return r;
  }

  lookup(rootId: bigint, key: Key): Uint8Array | undefined {
    let node = this.readNode(this.rootOf(rootId).bytenr);
    while (node.ptrs) {
      const slot = ptrSlot(node.ptrs, key);
      const p = node.ptrs[slot]!;
      node = this.readNode(p.blockptr, { level: node.header.level - 1, generation: p.generation });
    }
    const items = node.items!;
    let lo = 0;
    let hi = items.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const c = compareKeys(items[mid]!.key, key);
      if (c === 0) return items[mid]!.data;
      if (c < 0) lo = mid + 1;
      else hi = mid - 1;
    }
    return undefined;
  }

  items(rootId: bigint, from: Key, to: Key, limit = Number.POSITIVE_INFINITY): Item[] {
    const out: Item[] = [];
    if (limit <= 0) return out;
    for (const it of this.scan(this.rootOf(rootId), from, to)) {
      out.push(it);
      if (out.length >= limit) break;
    }
    return out;
  }

  /** Items with from <= key <= to in key order, lazily. */
  *iterate(rootId: bigint, from: Key, to: Key): Generator<Item> {
    yield* this.scan(this.rootOf(rootId), from, to);
  }

  /** Items with from <= key <= to in descending key order, lazily. */
  *iterateBack(rootId: bigint, from: Key, to: Key): Generator<Item> {
    yield* this.scanBack(this.rootOf(rootId), from, to);
  }

  firstAtOrAfter(rootId: bigint, key: Key): Item | undefined {
    for (const it of this.scan(this.rootOf(rootId), key, MAX_KEY)) return it;
    return undefined;
  }

  lastAtOrBefore(rootId: bigint, key: Key): Item | undefined {
    for (const it of this.scanBack(this.rootOf(rootId), MIN_KEY, key)) return it;
    return undefined;
  }

  /** Every tree block of a tree, top-down (for checks and statistics). */
  *blocks(rootId: bigint): Generator<TreeNode> {
    const r = this.rootOf(rootId);
    const stack: { bytenr: bigint; level?: number; generation?: bigint }[] = [r];
    while (stack.length > 0) {
      const s = stack.pop()!;
      const node = this.readNode(s.bytenr, s);
      yield node;
      if (node.ptrs) {
        for (let i = node.ptrs.length - 1; i >= 0; i--) {
          const p = node.ptrs[i]!;
          stack.push({
            bytenr: p.blockptr,
            level: node.header.level - 1,
            generation: p.generation,
          });
        }
      }
    }
  }

  private *scan(
    root: { bytenr: bigint; level?: number; generation?: bigint },
    from: Key,
    to: Key,
  ): Generator<Item> {
    const node = this.readNode(root.bytenr, root);
    if (node.items) {
      for (const it of node.items) {
        if (compareKeys(it.key, from) < 0) continue;
        if (compareKeys(it.key, to) > 0) return;
        yield { key: it.key, data: it.data };
      }
      return;
    }
    const ptrs = node.ptrs;
    for (let i = ptrSlot(ptrs, from); i < ptrs.length; i++) {
      const p = ptrs[i]!;
      if (compareKeys(p.key, to) > 0) return;
      yield* this.scan(
        { bytenr: p.blockptr, level: node.header.level - 1, generation: p.generation },
        from,
        to,
      );
    }
  }

  private *scanBack(
    root: { bytenr: bigint; level?: number; generation?: bigint },
    from: Key,
    to: Key,
  ): Generator<Item> {
    const node = this.readNode(root.bytenr, root);
    if (node.items) {
      for (let i = node.items.length - 1; i >= 0; i--) {
        const it = node.items[i]!;
        if (compareKeys(it.key, to) > 0) continue;
        if (compareKeys(it.key, from) < 0) return;
        yield { key: it.key, data: it.data };
      }
      return;
    }
    const ptrs = node.ptrs;
    for (let i = ptrSlot(ptrs, to); i >= 0; i--) {
      const p = ptrs[i]!;
      const next = ptrs[i + 1];
      if (next && compareKeys(next.key, from) <= 0) return;
      yield* this.scanBack(
        { bytenr: p.blockptr, level: node.header.level - 1, generation: p.generation },
        from,
        to,
      );
    }
  }

  /** Reads data at a logical address (first copy). */
  readData(bytenr: bigint, len: number): Uint8Array {
    return readLogical(this.dev, this.chunks, bytenr, len);
  }

  readDataInto(bytenr: bigint, dest: Uint8Array): void {
    readLogicalInto(this.dev, this.chunks, bytenr, dest);
  }
}
