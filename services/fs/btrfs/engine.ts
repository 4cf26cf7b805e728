// An opened Btrfs image for the engine: superblock, chunk map, block groups and their free space,
// a cache of committed tree blocks, read access to the committed state, and transactions on it.

import { NcwError } from "../../../ncw/errors.js";
import { SpaceManager } from "./alloc/allocator.js";
import type { SpaceInfo } from "./alloc/index.js";
import { ChunkMap, readLogical } from "./chunks.js";
import type { BlockDevice } from "./device.js";
import { MAX_KEY, MIN_KEY, noTree } from "./engine-keys.js";
import { decodeBlockGroupItem, decodeRootItem, type RootItem } from "./format/items.js";
import {
  BLOCK_GROUP_ITEM_KEY,
  BLOCK_GROUP_TREE_OBJECTID,
  CHUNK_TREE_OBJECTID,
  EXTENT_ITEM_KEY,
  EXTENT_TREE_OBJECTID,
  type Key,
  METADATA_ITEM_KEY,
  ROOT_ITEM_KEY,
  ROOT_TREE_OBJECTID,
  U64_MAX,
} from "./format/key.js";
import { blockChecksum, decodeNode, type KeyPtr, type TreeNode } from "./format/node.js";
import {
  decodeSuperblock,
  FEATURE_COMPAT_RO_BLOCK_GROUP_TREE,
  FEATURE_COMPAT_RO_FREE_SPACE_TREE,
  FEATURE_INCOMPAT_METADATA_UUID,
  FEATURE_INCOMPAT_SKINNY_METADATA,
  SUPER_INFO_OFFSET,
  SUPER_INFO_SIZE,
  SUPER_MIRROR_OFFSETS,
  type Superblock,
} from "./format/superblock.js";
import { type Engine, type Transaction, TransactionImpl } from "./transaction.js";
import { BTree, type NodeStore } from "./tree/ctree.js";
import type { Item, TreeReader } from "./tree/index.js";

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
  readonly chunkMap: ChunkMap;
  readonly spaceMgr: SpaceManager;
  /** The uuid stamped in every tree block header (metadata_uuid). */
  readonly fsid: Uint8Array;
  chunkTreeUuid: Uint8Array;
  readonly hasFreeSpaceTree: boolean;
  readonly blockGroupRoot: bigint;
  private readonly cache = new Map<bigint, TreeNode>();
  private open: TransactionImpl | undefined;
  readonly committed: TreeReader;
  private readonly committedTree: BTree;

  private constructor(
    readonly dev: BlockDevice,
    sb: Superblock,
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
    this.spaceMgr = new SpaceManager(sb.nodesize, sb.sectorsize);
    const store = this.committedStore();
    this.committedTree = new BTree(store);
    this.committed = this.readerOf(this.committedTree);
  }

  /** Opens the image on `dev` (the primary superblock), loading chunks and block groups. */
  static open(dev: BlockDevice): BtrfsEngine {
    const sb = decodeSuperblock(dev.read(SUPER_INFO_OFFSET, SUPER_INFO_SIZE));
    const e = new BtrfsEngine(dev, sb);
    e.load();
    return e;
  }

  get generation(): bigint {
    return this.sb.generation;
  }

  private load(): void {
    const chunkRoot = this.readNode(this.sb.chunkRoot, this.sb.chunkRootLevel);
    this.chunkTreeUuid = chunkRoot.header.chunkTreeUuid;
    this.chunkMap.addChunkTreeItems(
      this.committedTree.items(CHUNK_TREE_OBJECTID, MIN_KEY(0n), MAX_KEY(U64_MAX)),
    );
    for (const it of this.committedTree.items(this.blockGroupRoot, MIN_KEY(0n), MAX_KEY(U64_MAX))) {
      if (it.key.type !== BLOCK_GROUP_ITEM_KEY) continue;
      const bg = decodeBlockGroupItem(it.data);
      this.spaceMgr.addGroup(
        Number(it.key.objectid),
        Number(it.key.offset),
        bg.flags,
        bg.chunkObjectid,
        bg.used,
      );
    }
    for (const it of this.committedTree.items(
      EXTENT_TREE_OBJECTID,
      MIN_KEY(0n),
      MAX_KEY(U64_MAX),
    )) {
      if (it.key.type === METADATA_ITEM_KEY) {
        this.spaceMgr.markUsed(Number(it.key.objectid), this.nodesize);
      } else if (it.key.type === EXTENT_ITEM_KEY) {
        this.spaceMgr.markUsed(Number(it.key.objectid), Number(it.key.offset));
      }
    }
    for (const g of this.spaceMgr.groups) {
      const c = this.chunkMap.find(BigInt(g.start));
      if (!c) {
        throw new NcwError("data", `btrfs block group ${g.start} has no chunk`, {
          code: "BTRFS_NO_CHUNK",
          hint: "The image is damaged; run `btrfs check` on it.",
        });
      }
      this.spaceMgr.excludeSuperStripes(
        g,
        c.chunk.stripes.map((st) => st.offset),
        SUPER_MIRROR_OFFSETS,
      );
    }
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
export function openEngine(dev: BlockDevice): Engine & BtrfsEngine {
  return BtrfsEngine.open(dev);
}
