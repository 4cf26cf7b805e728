// An opened Btrfs image for the engine: superblock, chunk map, block groups and their free space,
// a cache of committed tree blocks, read access to the committed state, and transactions on it.

import { NcwError } from "../../../ncw/errors.js";
import { SpaceManager } from "./alloc/allocator.js";
import type { SpaceInfo } from "./alloc/index.js";
import { ExtentSet } from "./alloc/space.js";
import { ChunkMap, readLogical } from "./chunks.js";
import { DataCache } from "./datacache.js";
import type { BlockDevice } from "./device.js";
import { MAX_KEY, MIN_KEY, noTree } from "./engine-keys.js";
import { decodeBlockGroupItem, decodeRootItem, type RootItem } from "./format/items.js";
import {
  BLOCK_GROUP_ITEM_KEY,
  BLOCK_GROUP_TREE_OBJECTID,
  CHUNK_TREE_OBJECTID,
  EXTENT_ITEM_KEY,
  EXTENT_TREE_OBJECTID,
  FREE_SPACE_BITMAP_KEY,
  FREE_SPACE_EXTENT_KEY,
  FREE_SPACE_TREE_OBJECTID,
  type Key,
  METADATA_ITEM_KEY,
  ROOT_ITEM_KEY,
  ROOT_TREE_OBJECTID,
  U64_MAX,
} from "./format/key.js";
import { blockChecksum, decodeNode, type KeyPtr, type TreeNode } from "./format/node.js";
import {
  COMPAT_RO_NAMES,
  decodeSuperblock,
  FEATURE_COMPAT_RO_BLOCK_GROUP_TREE,
  FEATURE_COMPAT_RO_FREE_SPACE_TREE,
  FEATURE_COMPAT_RO_FREE_SPACE_TREE_VALID,
  FEATURE_INCOMPAT_METADATA_UUID,
  FEATURE_INCOMPAT_MIXED_GROUPS,
  FEATURE_INCOMPAT_SKINNY_METADATA,
  featureNames,
  INCOMPAT_NAMES,
  SUPER_INFO_OFFSET,
  SUPER_INFO_SIZE,
  SUPER_MIRROR_OFFSETS,
  SUPPORTED_COMPAT_RO,
  SUPPORTED_INCOMPAT,
  type Superblock,
} from "./format/superblock.js";
import { type Engine, type Transaction, TransactionImpl } from "./transaction.js";
import { BTree, type NodeStore } from "./tree/ctree.js";
import type { Item, TreeReader } from "./tree/index.js";
import { readPrimarySuperblock } from "./volume.js";

const MAX_CACHED_NODES = 8192;

/** Where a tree's root is, from the superblock or its ROOT_ITEM. */
export interface RootLocation {
  bytenr: bigint;
  level: number;
  generation: bigint;
  item?: RootItem;
  itemKey?: Key;
}

export class BtrfsEngine implements Engine {
  sb: Superblock;
  readonly nodesize: number;
  readonly sectorsize: number;
  chunkMap: ChunkMap;
  private readonly space_: SpaceManager;
  private spaceLoaded = false;
  /** The uuid stamped in every tree block header (metadata_uuid). */
  readonly fsid: Uint8Array;
  chunkTreeUuid: Uint8Array;
  readonly hasFreeSpaceTree: boolean;
  readonly blockGroupRoot: bigint;
  private readonly cache = new Map<bigint, TreeNode>();
  private open: TransactionImpl | undefined;
  readonly committed: TreeReader;
  /** File data verified or written by this process, by logical address (datacache.ts). */
  readonly dataCache: DataCache;
  private readonly committedTree: BTree;

  private constructor(
    readonly dev: BlockDevice,
    sb: Superblock,
    dataCacheBytes?: number,
  ) {
    this.sb = sb;
    this.nodesize = sb.nodesize;
    this.sectorsize = sb.sectorsize;
    this.fsid =
      (sb.incompatFlags & FEATURE_INCOMPAT_METADATA_UUID) !== 0n ? sb.metadataUuid : sb.fsid;
    this.chunkTreeUuid = new Uint8Array(16);
    this.hasFreeSpaceTree = (sb.compatRoFlags & FEATURE_COMPAT_RO_FREE_SPACE_TREE) !== 0n;
    this.blockGroupRoot =
      (sb.compatRoFlags & FEATURE_COMPAT_RO_BLOCK_GROUP_TREE) !== 0n
        ? BLOCK_GROUP_TREE_OBJECTID
        : EXTENT_TREE_OBJECTID;
    if ((sb.incompatFlags & FEATURE_INCOMPAT_SKINNY_METADATA) === 0n) {
      throw new NcwError(
        "data",
        "this Btrfs image does not use skinny metadata; NCW writes only skinny-metadata images",
        {
          code: "BTRFS_NOT_SKINNY",
          hint: "Create the image with mkfs.btrfs defaults or `ncw fs mkfs`.",
        },
      );
    }
    this.chunkMap = ChunkMap.fromSuperblock(sb);
    this.space_ = new SpaceManager(sb.nodesize, sb.sectorsize);
    this.dataCache = new DataCache(sb.sectorsize, dataCacheBytes);
    const store = this.committedStore();
    this.committedTree = new BTree(store);
    this.committed = this.readerOf(this.committedTree);
  }

  /**
   * Opens the image on `dev` (the primary superblock), loading chunks and block groups.
   * `dataCacheBytes`: the data cache's capacity (default: defaultDataCacheBytes; 0 turns it off).
   */
  static open(dev: BlockDevice, opts: EngineOptions = {}): BtrfsEngine {
    const sb = readPrimarySuperblock(dev);
    const e = new BtrfsEngine(dev, sb, opts.dataCacheBytes);
    e.load();
    return e;
  }

  get generation(): bigint {
    return this.sb.generation;
  }

  /**
   * The generation of the last commit on the device now (the primary superblock read again).
   * Past `generation` when another process (the image's writer) has committed since this engine
   * opened; undefined when the superblock cannot be read.
   */
  diskGeneration(): bigint | undefined {
    try {
      return decodeSuperblock(this.dev.read(SUPER_INFO_OFFSET, SUPER_INFO_SIZE)).generation;
    } catch {
      return undefined;
    }
  }

  private load(): void {
    const chunkRoot = this.readNode(this.sb.chunkRoot, this.sb.chunkRootLevel);
    this.chunkTreeUuid = chunkRoot.header.chunkTreeUuid;
    this.chunkMap.addChunkTreeItems(
      this.committedTree.items(CHUNK_TREE_OBJECTID, MIN_KEY(0n), MAX_KEY(U64_MAX)),
    );
  }

  /** Rebuild the chunk map from the committed state (after an aborted transaction added chunks). */
  reloadChunkMap(): void {
    this.chunkMap = ChunkMap.fromSuperblock(this.sb);
    this.load();
  }

  /** Block groups and their free space: loaded on first need (a transaction, space figures). */
  get spaceMgr(): SpaceManager {
    if (!this.spaceLoaded) {
      this.loadSpace();
      this.spaceLoaded = true;
    }
    return this.space_;
  }

  private loadSpace(): void {
    const sm = this.space_;
    // One BLOCK_GROUP_ITEM per chunk, looked up by key (not by scanning the extent tree).
    for (const c of this.chunkMap.all()) {
      const key = { objectid: c.logical, type: BLOCK_GROUP_ITEM_KEY, offset: c.chunk.length };
      const data = this.committedTree.lookup(this.blockGroupRoot, key);
      if (!data) {
        throw new NcwError("data", `btrfs chunk ${c.logical} has no block group item`, {
          code: "BTRFS_NO_BLOCK_GROUP",
          hint: "The image is damaged; run `btrfs check` on it.",
        });
      }
      const bg = decodeBlockGroupItem(data);
      sm.addGroup(Number(c.logical), Number(c.chunk.length), bg.flags, bg.chunkObjectid, bg.used);
    }
    const fstValid =
      this.hasFreeSpaceTree &&
      (this.sb.compatRoFlags & FEATURE_COMPAT_RO_FREE_SPACE_TREE_VALID) !== 0n;
    const free = fstValid ? this.freeSpaceFromFst() : this.freeSpaceFromExtentTree();
    for (const g of sm.groups) {
      g.free = new ExtentSet();
      for (const [s, l] of free.get(g.start) ?? []) g.free.add(s, l);
      const c = this.chunkMap.find(BigInt(g.start))!;
      sm.excludeSuperStripes(
        g,
        c.chunk.stripes.map((st) => st.offset),
        SUPER_MIRROR_OFFSETS,
      );
    }
  }

  /**
   * Free ranges of every block group as the free space tree records them (extents or bitmaps),
   * superblock stripes included (they are excluded from allocation afterwards).
   */
  freeSpaceFromFst(): Map<number, Array<[number, number]>> {
    const out = new Map<number, Array<[number, number]>>();
    const ss = this.sectorsize;
    for (const c of this.chunkMap.all()) {
      const start = c.logical;
      const end = c.logical + c.chunk.length;
      const set = new ExtentSet();
      const items = this.committedTree.items(
        FREE_SPACE_TREE_OBJECTID,
        { objectid: start, type: FREE_SPACE_EXTENT_KEY, offset: 0n },
        { objectid: end - 1n, type: FREE_SPACE_BITMAP_KEY, offset: U64_MAX },
      );
      for (const it of items) {
        if (it.key.type === FREE_SPACE_EXTENT_KEY) {
          set.add(Number(it.key.objectid), Number(it.key.offset));
        } else if (it.key.type === FREE_SPACE_BITMAP_KEY) {
          const base = Number(it.key.objectid);
          const sectors = Number(it.key.offset) / ss;
          let run = -1;
          for (let i = 0; i <= sectors; i++) {
            const bit = i < sectors && ((it.data[i >> 3] ?? 0) & (1 << (i & 7))) !== 0;
            if (bit && run < 0) run = i;
            if (!bit && run >= 0) {
              set.add(base + run * ss, (i - run) * ss);
              run = -1;
            }
          }
        }
      }
      out.set(Number(start), set.ranges());
    }
    return out;
  }

  /** Free ranges of every block group computed from the extent tree (every extent is in use). */
  freeSpaceFromExtentTree(): Map<number, Array<[number, number]>> {
    const sets = new Map<number, ExtentSet>();
    const starts: number[] = [];
    for (const c of this.chunkMap.all()) {
      const s = new ExtentSet();
      s.add(Number(c.logical), Number(c.chunk.length));
      sets.set(Number(c.logical), s);
      starts.push(Number(c.logical));
    }
    const setOf = (bytenr: number): ExtentSet => {
      let lo = 0;
      let hi = starts.length - 1;
      while (lo < hi) {
        const mid = (lo + hi + 1) >> 1;
        if (starts[mid]! <= bytenr) lo = mid;
        else hi = mid - 1;
      }
      return sets.get(starts[lo]!)!;
    };
    for (const it of this.committedTree.items(
      EXTENT_TREE_OBJECTID,
      MIN_KEY(0n),
      MAX_KEY(U64_MAX),
    )) {
      if (it.key.type === METADATA_ITEM_KEY) {
        setOf(Number(it.key.objectid)).remove(Number(it.key.objectid), this.nodesize);
      } else if (it.key.type === EXTENT_ITEM_KEY) {
        setOf(Number(it.key.objectid)).remove(Number(it.key.objectid), Number(it.key.offset));
      }
    }
    return new Map([...sets].map(([k, v]) => [k, v.ranges()]));
  }

  /** A committed tree block (cached, checksum and header verified). */
  readNode(bytenr: bigint, level: number, generation?: bigint): TreeNode {
    let n = this.cache.get(bytenr);
    if (!n) {
      const buf = readLogical(this.dev, this.chunkMap, bytenr, this.nodesize, (b) => {
        const stored = new DataView(b.buffer, b.byteOffset, 4).getUint32(0, true);
        return stored === blockChecksum(b);
      });
      n = decodeNode(buf, this.nodesize, { expectBytenr: bytenr });
      if (this.cache.size >= MAX_CACHED_NODES) this.cache.clear();
      this.cache.set(bytenr, n);
    }
    if (n.header.level !== level) {
      throw new NcwError(
        "data",
        `btrfs tree block ${bytenr} has level ${n.header.level}, its parent says ${level}`,
        { code: "BTRFS_NODE_LEVEL", hint: "The image is damaged; run `btrfs check` on it." },
      );
    }
    if (generation !== undefined && n.header.generation !== generation) {
      throw new NcwError(
        "data",
        `btrfs tree block ${bytenr} has generation ${n.header.generation}, its parent expects ${generation}`,
        {
          code: "BTRFS_NODE_GENERATION",
          hint: "The image is damaged (a lost write?); run `btrfs check`.",
        },
      );
    }
    return n;
  }

  /** Put committed nodes in the cache (after a commit wrote them). */
  cacheNodes(nodes: Iterable<TreeNode>): void {
    for (const n of nodes) {
      if (this.cache.size >= MAX_CACHED_NODES) this.cache.clear();
      this.cache.set(n.header.bytenr, n);
    }
  }

  /** Where a tree's root is in the committed state (via `reader` for the root tree lookups). */
  locateRoot(rootId: bigint, tree: BTree, sb: Superblock): RootLocation | undefined {
    if (rootId === ROOT_TREE_OBJECTID) {
      return { bytenr: sb.root, level: sb.rootLevel, generation: sb.generation };
    }
    if (rootId === CHUNK_TREE_OBJECTID) {
      return { bytenr: sb.chunkRoot, level: sb.chunkRootLevel, generation: sb.chunkRootGeneration };
    }
    const it = tree.lastAtOrBefore(ROOT_TREE_OBJECTID, MAX_KEY(rootId, ROOT_ITEM_KEY));
    if (!it || it.key.objectid !== rootId || it.key.type !== ROOT_ITEM_KEY) return undefined;
    const item = decodeRootItem(it.data);
    return {
      bytenr: item.bytenr,
      level: item.level,
      generation: item.generation,
      item,
      itemKey: it.key,
    };
  }

  /** Level of a tree's root node in the committed state (0: a single leaf). */
  rootLevel(rootId: bigint): number {
    const loc = this.locateRoot(rootId, this.committedTree, this.sb);
    if (!loc) throw noTree(rootId);
    return loc.level;
  }

  private committedStore(): NodeStore {
    const readOnly = (): never => {
      throw new Error("btrfs engine: the committed state is read-only");
    };
    const roots = new Map<bigint, TreeNode>();
    let rootsGen = -1n;
    const store: NodeStore = {
      nodesize: this.nodesize,
      rootNode: (rootId) => {
        if (rootsGen !== this.sb.generation) {
          roots.clear();
          rootsGen = this.sb.generation;
        }
        let n = roots.get(rootId);
        if (!n) {
          const loc = this.locateRoot(rootId, this.committedTree, this.sb);
          if (!loc) throw noTree(rootId);
          n = this.readNode(loc.bytenr, loc.level);
          roots.set(rootId, n);
        }
        return n;
      },
      readNode: (ptr: KeyPtr, level: number) => this.readNode(ptr.blockptr, level, ptr.generation),
      cowNode: readOnly,
      newNode: readOnly,
      freeNode: readOnly,
      setRoot: readOnly,
    };
    return store;
  }

  readerOf(tree: BTree): TreeReader {
    return {
      lookup: (r, k) => tree.lookup(r, k),
      items: (r, f, t, l) => tree.items(r, f, t, l),
      firstAtOrAfter: (r, k) => tree.firstAtOrAfter(r, k),
      lastAtOrBefore: (r, k) => tree.lastAtOrBefore(r, k),
      hasTree: (r) => {
        try {
          tree.search(r, MIN_KEY(0n));
          return true;
        } catch (e) {
          if (e instanceof NcwError && e.code === "BTRFS_NO_TREE") return false;
          throw e;
        }
      },
    };
  }

  begin(): Transaction {
    if (this.sb.logRoot !== 0n) {
      throw new NcwError(
        "unavailable",
        "this Btrfs image has an unreplayed tree log (it was not unmounted cleanly by Linux); NCW will not write to it",
        {
          code: "BTRFS_LOG_TREE",
          hint: "Mount it once with Linux (`mount -o loop`) and unmount it, then retry.",
        },
      );
    }
    if ((this.sb.incompatFlags & FEATURE_INCOMPAT_MIXED_GROUPS) !== 0n) {
      throw new NcwError(
        "unavailable",
        "this Btrfs image mixes data and metadata in the same block groups (mkfs.btrfs --mixed); NCW reads it but does not write it",
        { code: "BTRFS_MIXED_GROUPS", hint: "Create the image without --mixed." },
      );
    }
    const incompat = this.sb.incompatFlags & ~(SUPPORTED_INCOMPAT | FEATURE_INCOMPAT_METADATA_UUID);
    const compatRo = this.sb.compatRoFlags & ~SUPPORTED_COMPAT_RO;
    if (incompat !== 0n || compatRo !== 0n) {
      const names = [
        ...featureNames(incompat, INCOMPAT_NAMES),
        ...featureNames(compatRo, COMPAT_RO_NAMES),
      ];
      throw new NcwError(
        "unavailable",
        `this Btrfs image uses features NCW cannot write: ${names.join(", ")}`,
        {
          code: "BTRFS_UNSUPPORTED_FEATURE",
          hint: "NCW can still read it; use Linux to change it.",
        },
      );
    }
    if (this.open) {
      throw new NcwError("temp-fail", "a Btrfs transaction is already open on this image", {
        code: "BTRFS_TXN_OPEN",
      });
    }
    this.spaceMgr.save();
    this.open = new TransactionImpl(this, () => {
      this.open = undefined;
    });
    return this.open;
  }

  space(): SpaceInfo {
    const d = this.spaceMgr.figures("data");
    const m = this.spaceMgr.figures("metadata");
    const s = this.spaceMgr.figures("system");
    return {
      totalBytes: this.sb.totalBytes,
      bytesUsed: this.spaceMgr.totalUsed(),
      dataTotal: d.total,
      dataUsed: d.used,
      metadataTotal: m.total + s.total,
      metadataUsed: m.used + s.used,
    };
  }

  close(): void {
    if (this.open) this.open.abort();
    this.dev.close();
  }
}

export type { Item };

/** Opens an image for reading and writing through transactions. */
export interface EngineOptions {
  /** Capacity of the data cache in bytes (default: defaultDataCacheBytes; 0: no cache). */
  dataCacheBytes?: number;
}

export function openEngine(dev: BlockDevice, opts: EngineOptions = {}): Engine & BtrfsEngine {
  return BtrfsEngine.open(dev, opts);
}
