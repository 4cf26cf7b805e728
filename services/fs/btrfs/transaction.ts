// Transactions over a Btrfs image: the engine opened on a device, and the unit of change
// (copy-on-write of nodes, delayed extent references, commit writing all superblock copies last).

import { NcwError } from "../../../ncw/errors.js";
import type { SpaceManager } from "./alloc/allocator.js";
import { addChunk, planChunk } from "./alloc/chunk-alloc.js";
import { deleteCsums, insertCsums, lookupCsumsIn } from "./alloc/csum.js";
import { syncFreeSpace } from "./alloc/fst.js";
import type { DataAllocator, DataRef, Extent, SpaceInfo } from "./alloc/index.js";
import { DelayedRefs, type Ref } from "./alloc/refs.js";
import { blockGroupUsed, ExtentSet } from "./alloc/space.js";
import { readLogical, readLogicalInto, writeLogical } from "./chunks.js";
import type { DataCache } from "./datacache.js";
import type { BtrfsEngine } from "./engine.js";
import { MAX_KEY, noTree } from "./engine-keys.js";

export { emptyRootItem };

import {
  BLOCK_FLAG_FULL_BACKREF,
  BLOCK_GROUP_DATA,
  decodeBlockGroupItem,
  decodeFileExtentItem,
  emptyRootItem,
  encodeBlockGroupItem,
  encodeRootItem,
  FILE_EXTENT_INLINE,
  type RootItem,
} from "./format/items.js";
import {
  BLOCK_GROUP_ITEM_KEY,
  CHUNK_TREE_OBJECTID,
  CSUM_TREE_OBJECTID,
  compareKeys,
  DATA_RELOC_TREE_OBJECTID,
  DEV_TREE_OBJECTID,
  EXTENT_DATA_KEY,
  EXTENT_DATA_REF_KEY,
  EXTENT_TREE_OBJECTID,
  FIRST_FREE_OBJECTID,
  FS_TREE_OBJECTID,
  type Key,
  LAST_FREE_OBJECTID,
  QGROUP_STATUS_KEY,
  QUOTA_TREE_OBJECTID,
  ROOT_ITEM_KEY,
  ROOT_TREE_OBJECTID,
  SHARED_BLOCK_REF_KEY,
  SHARED_DATA_REF_KEY,
  TREE_BLOCK_REF_KEY,
  U64_MAX,
} from "./format/key.js";
import {
  DEFAULT_HEADER_FLAGS,
  encodeNode,
  HEADER_FLAG_RELOC,
  type KeyPtr,
  type TreeNode,
} from "./format/node.js";
import {
  encodeSuperblock,
  SUPER_INFO_SIZE,
  SUPER_MIRROR_OFFSETS,
  type Superblock,
} from "./format/superblock.js";
import { BTree, type NodeStore } from "./tree/ctree.js";
import type { Item, SearchOptions, TreePath, TreeReader, TreeWriter } from "./tree/index.js";
import { discardLogical } from "./trim.js";

/** What fs.ts and subvol.ts use to change an image. Only one transaction is open at a time. */
export interface Transaction extends TreeWriter, DataAllocator {
  /** This transaction's generation (last committed generation + 1). */
  readonly generation: bigint;
  /** The engine's data cache (datacache.ts): FsReader reads through it. */
  readonly dataCache: DataCache;
  /** Tree block size of the image. */
  readonly nodesize: number;
  /**
   * How many calls so far may have changed this transaction: every write that succeeded, and every
   * one that failed after it may have changed something (an error raised before any change, such as
   * BTRFS_ITEM_EXISTS, does not count). Unchanged since a point means nothing to undo since then.
   */
  readonly changes: number;
  /** Create an empty tree (one empty leaf) with a ROOT_ITEM in the root tree. */
  createTree(objectid: bigint): void;
  /** A free objectid for a new subvolume/tree (>= 256, above every existing ROOT_ITEM). */
  nextTreeId(): bigint;
  /**
   * Write everything durably: CoW'd nodes, root items, extent/free-space/block-group accounting,
   * flush, then every superblock copy (generation+1), flush. The transaction is finished after.
   */
  commit(): void;
  /** Forget every change of this transaction (nothing on disk that the last commit reaches changed). */
  abort(): void;
  /**
   * True once a change failed half-way (e.g. BTRFS_NO_SPACE inside a split): every later call
   * throws BTRFS_TXN_BROKEN and only abort() is possible.
   */
  readonly isBroken: boolean;
  /**
   * True when free metadata space is down to the reserve and the device has no room for another
   * chunk: commit soon (space freed by this transaction becomes reusable only after its commit).
   */
  needsCommit(): boolean;
  /** A tree's ROOT_ITEM as it will be written (throws BTRFS_NO_TREE). */
  rootItem(objectid: bigint): RootItem;
  /** Replace a tree's ROOT_ITEM fields (bytenr, level and generations are set at commit). */
  setRootItem(objectid: bigint, item: RootItem, key?: Key): void;
  /** Make `dst` a snapshot of `src`: a copy of src's root node, sharing everything below. */
  copyRoot(src: bigint, dst: bigint, item: RootItem, itemKey: Key): void;
  /** Delete a whole tree and its ROOT_ITEM, freeing the blocks and data only it references. */
  dropTree(rootId: bigint): void;
}

/** An opened image. */
export interface Engine {
  readonly nodesize: number;
  readonly sectorsize: number;
  /** The last committed generation. */
  readonly generation: bigint;
  /** Read access to the last committed state. */
  readonly committed: TreeReader;
  /** File data verified or written by this process (datacache.ts). */
  readonly dataCache: DataCache;
  /** The generation of the last commit on the device now (another process may have committed). */
  diskGeneration(): bigint | undefined;
  /** Start a transaction (throws BTRFS_TXN_OPEN if one is already open). */
  begin(): Transaction;
  space(): SpaceInfo;
  close(): void;
}

// ------------------------------------------------------------------------------------------------
// The implementation.

interface RootState {
  node: TreeNode;
  /** The ROOT_ITEM as it should be stored (undefined for the root tree and chunk tree). */
  item?: RootItem;
  itemKey?: Key;
  /** The item must be (re)written at commit. */
  itemDirty: boolean;
  /** The root node changed (CoW, split, collapse) since the transaction began. */
  nodeChanged: boolean;
}

/** btrfs_qgroup_status_item.flags bits. */
const QGROUP_STATUS_FLAG_ON = 1n;
const QGROUP_STATUS_FLAG_INCONSISTENT = 4n;

function isShareable(rootId: bigint): boolean {
  return (
    rootId === FS_TREE_OBJECTID ||
    (rootId >= FIRST_FREE_OBJECTID && rootId <= LAST_FREE_OBJECTID) ||
    rootId === DATA_RELOC_TREE_OBJECTID
  );
}

function cloneNode(n: TreeNode): TreeNode {
  const header = { ...n.header };
  if (n.items) {
    return { header, items: n.items.map((it) => ({ key: it.key, data: it.data })) };
  }
  return {
    header,
    ptrs: n.ptrs.map((p) => ({ key: p.key, blockptr: p.blockptr, generation: p.generation })),
  };
}

/** Errors raised before anything in the transaction changed (it stays usable). */
const UNCHANGED = new WeakSet<Error>();

function noSpace(kind: string, unchanged: boolean): NcwError {
  const e = new NcwError("failure", `the Btrfs image has no ${kind} space left`, {
    code: "BTRFS_NO_SPACE",
    hint: "Delete files or snapshots, or create a larger image.",
  });
  if (unchanged) UNCHANGED.add(e);
  return e;
}

export class TransactionImpl implements Transaction, NodeStore {
  readonly generation: bigint;
  readonly nodesize: number;
  private readonly tree: BTree;
  private readonly refs: DelayedRefs;
  private readonly sm: SpaceManager;
  /** Nodes allocated in this transaction, to be written at commit. */
  private readonly dirty = new Map<bigint, TreeNode>();
  /** Of those, the ones that may still be changed in place. */
  private readonly modifiable = new Set<bigint>();
  private readonly roots = new Map<bigint, RootState>();
  /** Data extents allocated in this transaction (writeData may only write there). */
  private readonly dataAllocated = new ExtentSet();
  /** Data extents allocated and not yet referenced. */
  private readonly reserved = new Map<number, number>();
  private ended = false;

  constructor(
    private readonly engine: BtrfsEngine,
    private readonly onEnd: () => void,
  ) {
    this.generation = engine.sb.generation + 1n;
    this.nodesize = engine.nodesize;
    this.sm = engine.spaceMgr;
    this.tree = new BTree(this);
    this.refs = new DelayedRefs(this.tree, engine.nodesize);
  }

  private live(): void {
    if (this.ended) {
      throw new NcwError("usage", "this Btrfs transaction has already been committed or aborted", {
        code: "BTRFS_TXN_ENDED",
      });
    }
    if (this.broken) {
      throw new NcwError(
        "failure",
        `this Btrfs transaction cannot continue: an earlier change failed half-way (${this.broken.message})`,
        {
          code: "BTRFS_TXN_BROKEN",
          hint: "Abort the transaction; the image still holds its last commit.",
        },
      );
    }
  }

  private changeCount = 0;
  get changes(): number {
    return this.changeCount;
  }

  /** The error that left this transaction's trees half-changed, if any. */
  private broken: Error | undefined;

  get isBroken(): boolean {
    return this.broken !== undefined;
  }

  needsCommit(): boolean {
    if (!this.deviceFull) return false;
    const total = Number(this.sm.figures("metadata").total);
    const reserve = Math.min(128 * this.nodesize, Math.floor(total / 8));
    return this.sm.freeBytes("metadata") < 2 * reserve;
  }

  /**
   * Run a change. Errors raised before anything changed (bad arguments, existing or missing items)
   * leave the transaction usable; any other error (no space in the middle of a split, a corrupt
   * block) marks it broken: it can only be aborted, so half a change is never committed.
   */
  private mutate<T>(fn: () => T, space: "grow" | "shrink" | "none" = "grow"): T {
    this.live();
    try {
      if (space !== "none") this.ensureMetadataSpace(space === "grow");
      const r = fn();
      this.changeCount++;
      return r;
    } catch (e) {
      const safe =
        e instanceof NcwError &&
        (e.code === "BTRFS_ITEM_EXISTS" ||
          e.code === "BTRFS_ITEM_MISSING" ||
          e.code === "BTRFS_ITEM_TOO_LARGE" ||
          e.code === "BTRFS_TREE_EXISTS" ||
          e.code === "BTRFS_NO_TREE" ||
          e.code === "BTRFS_BAD_EXTENT" ||
          UNCHANGED.has(e));
      if (!safe) {
        this.broken = e instanceof Error ? e : new Error(String(e));
        this.changeCount++;
      }
      throw e;
    }
  }

  // ------------------------------------------------------------------ NodeStore

  private state(rootId: bigint): RootState {
    let st = this.roots.get(rootId);
    if (!st) {
      const loc = this.engine.locateRoot(rootId, this.tree, this.engine.sb);
      if (!loc) throw noTree(rootId);
      const node = this.engine.readNode(loc.bytenr, loc.level);
      st = { node, item: loc.item, itemKey: loc.itemKey, itemDirty: false, nodeChanged: false };
      this.roots.set(rootId, st);
    }
    return st;
  }

  rootNode(rootId: bigint): TreeNode {
    return this.state(rootId).node;
  }

  readNode(ptr: KeyPtr, level: number): TreeNode {
    const d = this.dirty.get(ptr.blockptr);
    if (d) return d;
    return this.engine.readNode(ptr.blockptr, level, ptr.generation);
  }

  private allocTreeBlock(rootId: bigint, level: number): bigint {
    const kind = rootId === CHUNK_TREE_OBJECTID ? "system" : "metadata";
    const s = this.sm.alloc(kind, this.nodesize);
    if (s === undefined) throw noSpace(kind, false);
    const bytenr = BigInt(s);
    this.refs.modify(
      bytenr,
      true,
      BigInt(this.nodesize),
      level,
      { type: TREE_BLOCK_REF_KEY, root: rootId },
      1,
    );
    return bytenr;
  }

  private freeTreeBlock(rootId: bigint, node: TreeNode): void {
    this.refs.modify(
      node.header.bytenr,
      true,
      BigInt(this.nodesize),
      node.header.level,
      { type: TREE_BLOCK_REF_KEY, root: rootId },
      -1,
    );
  }

  newNode(rootId: bigint, level: number): TreeNode {
    const bytenr = this.allocTreeBlock(rootId, level);
    const header = {
      csum: new Uint8Array(32),
      fsid: this.engine.fsid,
      bytenr,
      flags: DEFAULT_HEADER_FLAGS,
      chunkTreeUuid: this.engine.chunkTreeUuid,
      generation: this.generation,
      owner: rootId,
      nritems: 0,
      level,
    };
    const node: TreeNode = level === 0 ? { header, items: [] } : { header, ptrs: [] };
    this.dirty.set(bytenr, node);
    this.modifiable.add(bytenr);
    return node;
  }

  freeNode(rootId: bigint, node: TreeNode): void {
    this.freeTreeBlock(rootId, node);
    this.dirty.delete(node.header.bytenr);
    this.modifiable.delete(node.header.bytenr);
  }

  setRoot(rootId: bigint, node: TreeNode): void {
    const st = this.state(rootId);
    st.node = node;
    st.nodeChanged = true;
  }

  cowNode(rootId: bigint, node: TreeNode, parent: TreeNode | undefined, slot: number): TreeNode {
    const bytenr = node.header.bytenr;
    if (this.modifiable.has(bytenr) && this.dirty.get(bytenr) === node) return node;
    const level = node.header.level;
    const cow = cloneNode(node);
    const newBytenr = this.allocTreeBlock(rootId, level);
    cow.header.bytenr = newBytenr;
    cow.header.generation = this.generation;
    cow.header.owner = rootId;
    cow.header.flags = DEFAULT_HEADER_FLAGS;
    cow.header.fsid = this.engine.fsid;
    cow.header.chunkTreeUuid = this.engine.chunkTreeUuid;
    this.updateRefForCow(rootId, node, cow);
    if (parent) {
      const p = parent.ptrs![slot]!;
      p.blockptr = newBytenr;
      p.generation = this.generation;
    } else {
      const st = this.state(rootId);
      st.node = cow;
      st.nodeChanged = true;
    }
    this.freeTreeBlock(rootId, node);
    this.dirty.set(newBytenr, cow);
    this.modifiable.add(newBytenr);
    return cow;
  }

  /** Whether a block of this tree may be shared with a snapshot (btrfs_block_can_be_shared). */
  private canBeShared(rootId: bigint, node: TreeNode): boolean {
    if (!isShareable(rootId)) return false;
    const st = this.state(rootId);
    if (st.node === node) return false;
    // Blocks written by the kernel's relocation (balance) may be shared whatever their generation.
    if ((node.header.flags & HEADER_FLAG_RELOC) !== 0n) return true;
    return node.header.generation <= (st.item?.lastSnapshot ?? 0n);
  }

  /** Reference bookkeeping when `buf` is copied to `cow` in tree `rootId` (update_ref_for_cow). */
  private updateRefForCow(rootId: bigint, buf: TreeNode, cow: TreeNode): void {
    let refs = 1n;
    let flags = 0n;
    if (this.canBeShared(rootId, buf)) {
      const info = this.refs.lookupInfo(buf.header.bytenr, buf.header.level, BigInt(this.nodesize));
      refs = info.refs;
      flags = info.flags;
      if (refs === 0n) {
        throw new NcwError("data", `btrfs tree block ${buf.header.bytenr} has no references`, {
          code: "BTRFS_BAD_REFCOUNT",
          hint: "The extent tree is inconsistent; run `btrfs check`.",
        });
      }
    }
    if (refs > 1n) {
      if (buf.header.owner === rootId && (flags & BLOCK_FLAG_FULL_BACKREF) === 0n) {
        this.modChildRefs(rootId, buf, true, 1);
        this.refs.setFlags(
          buf.header.bytenr,
          BigInt(this.nodesize),
          buf.header.level,
          BLOCK_FLAG_FULL_BACKREF,
        );
      } else {
        this.modChildRefs(rootId, cow, false, 1);
      }
    } else if ((flags & BLOCK_FLAG_FULL_BACKREF) !== 0n) {
      this.modChildRefs(rootId, cow, false, 1);
      this.modChildRefs(rootId, buf, true, -1);
    }
  }

  /**
   * Add or drop the references `node` holds on its children (btrfs_inc_ref / btrfs_dec_ref):
   * tree blocks for a node, data extents of file extent items for a leaf of a subvolume tree.
   * `full`: by parent bytenr (shared refs), else by the node's owner root.
   */
  private modChildRefs(rootId: bigint, node: TreeNode, full: boolean, delta: number): void {
    const parent = node.header.bytenr;
    const owner = node.header.owner;
    if (node.ptrs) {
      const ref = full
        ? { type: SHARED_BLOCK_REF_KEY, parent }
        : { type: TREE_BLOCK_REF_KEY, root: owner };
      for (const p of node.ptrs) {
        this.refs.modify(
          p.blockptr,
          true,
          BigInt(this.nodesize),
          node.header.level - 1,
          ref as Ref,
          delta,
        );
      }
      return;
    }
    if (!isShareable(rootId)) return;
    for (const it of node.items) {
      if (it.key.type !== EXTENT_DATA_KEY) continue;
      const fe = decodeFileExtentItem(it.data);
      if (fe.type === FILE_EXTENT_INLINE || fe.diskBytenr === 0n) continue;
      const ref: Ref = full
        ? { type: SHARED_DATA_REF_KEY, parent, count: 1 }
        : {
            type: EXTENT_DATA_REF_KEY,
            root: owner,
            objectid: it.key.objectid,
            offset: (it.key.offset - fe.offset) & U64_MAX,
            count: 1,
          };
      this.refs.modify(fe.diskBytenr, false, fe.diskNumBytes, 0, ref, delta);
    }
  }

  // ------------------------------------------------------------------ TreeWriter

  lookup(rootId: bigint, key: Key): Uint8Array | undefined {
    this.live();
    return this.tree.lookup(rootId, key);
  }
  items(rootId: bigint, from: Key, to: Key, limit?: number): Item[] {
    this.live();
    return this.tree.items(rootId, from, to, limit);
  }
  firstAtOrAfter(rootId: bigint, key: Key): Item | undefined {
    this.live();
    return this.tree.firstAtOrAfter(rootId, key);
  }
  lastAtOrBefore(rootId: bigint, key: Key): Item | undefined {
    this.live();
    return this.tree.lastAtOrBefore(rootId, key);
  }
  hasTree(rootId: bigint): boolean {
    this.live();
    if (this.roots.has(rootId)) return true;
    return this.engine.locateRoot(rootId, this.tree, this.engine.sb) !== undefined;
  }
  search(rootId: bigint, key: Key, opts?: SearchOptions): TreePath {
    this.live();
    if (opts?.cow) {
      this.changeCount++;
      this.ensureMetadataSpace();
    }
    return this.tree.search(rootId, key, opts);
  }
  insertItem(rootId: bigint, key: Key, data: Uint8Array): void {
    this.mutate(() => this.tree.insertItem(rootId, key, data));
  }
  updateItem(rootId: bigint, key: Key, data: Uint8Array): void {
    this.mutate(() => this.tree.updateItem(rootId, key, data), "shrink");
  }
  putItem(rootId: bigint, key: Key, data: Uint8Array): void {
    this.mutate(() => this.tree.putItem(rootId, key, data));
  }
  deleteItem(rootId: bigint, key: Key): boolean {
    return this.mutate(() => this.tree.deleteItem(rootId, key), "shrink");
  }
  deleteRange(rootId: bigint, from: Key, to: Key): number {
    return this.mutate(() => this.tree.deleteRange(rootId, from, to), "shrink");
  }

  // ------------------------------------------------------------------ trees

  createTree(objectid: bigint): void {
    this.mutate(() => this.createTreeImpl(objectid));
  }

  private createTreeImpl(objectid: bigint): void {
    if (this.hasTree(objectid)) {
      throw new NcwError("conflict", `btrfs tree ${objectid} already exists`, {
        code: "BTRFS_TREE_EXISTS",
      });
    }
    const node = this.newNode(objectid, 0);
    const item = { ...emptyRootItem(this.generation), bytenr: node.header.bytenr };
    const itemKey = { objectid, type: ROOT_ITEM_KEY, offset: 0n };
    this.roots.set(objectid, { node, item, itemKey, itemDirty: true, nodeChanged: true });
    // Visible to lookups at once (bytenr and level are refreshed at commit), as btrfs does.
    this.tree.insertItem(ROOT_TREE_OBJECTID, itemKey, encodeRootItem(item));
  }

  rootItem(objectid: bigint): RootItem {
    this.live();
    const st = this.state(objectid);
    if (!st.item) throw noTree(objectid);
    return { ...st.item };
  }

  setRootItem(objectid: bigint, item: RootItem, key?: Key): void {
    this.mutate(() => {
      const st = this.state(objectid);
      if (!st.item || !st.itemKey) throw noTree(objectid);
      const n = st.node.header;
      st.item = { ...item, bytenr: n.bytenr, level: n.level };
      if (key && compareKeys(key, st.itemKey) !== 0) {
        this.tree.deleteItem(ROOT_TREE_OBJECTID, st.itemKey);
        st.itemKey = key;
      }
      st.itemDirty = true;
      this.tree.putItem(ROOT_TREE_OBJECTID, st.itemKey, encodeRootItem(st.item));
    });
  }

  nextTreeId(): bigint {
    this.live();
    let max = FIRST_FREE_OBJECTID - 1n;
    const last = this.tree.lastAtOrBefore(ROOT_TREE_OBJECTID, MAX_KEY(LAST_FREE_OBJECTID));
    if (last && last.key.objectid > max) max = last.key.objectid;
    for (const id of this.roots.keys()) if (id <= LAST_FREE_OBJECTID && id > max) max = id;
    return max + 1n;
  }

  /**
   * Make a snapshot's root: `dst` becomes a tree whose root is a copy of `src`'s root node
   * (btrfs_copy_root); both then share every block below. The source is frozen for the rest of the
   * transaction so later changes to either side copy-on-write shared blocks.
   */
  copyRoot(src: bigint, dst: bigint, item: RootItem, itemKey: Key): void {
    this.mutate(() => this.copyRootImpl(src, dst, item, itemKey));
  }

  private copyRootImpl(src: bigint, dst: bigint, item: RootItem, itemKey: Key): void {
    if (this.hasTree(dst)) {
      throw new NcwError("conflict", `btrfs tree ${dst} already exists`, {
        code: "BTRFS_TREE_EXISTS",
      });
    }
    const srcRoot = this.cowNode(src, this.state(src).node, undefined, 0);
    const level = srcRoot.header.level;
    const copy = cloneNode(srcRoot);
    const bytenr = this.allocTreeBlock(dst, level);
    copy.header.bytenr = bytenr;
    copy.header.generation = this.generation;
    copy.header.owner = dst;
    copy.header.flags = DEFAULT_HEADER_FLAGS;
    this.modChildRefs(dst, copy, false, 1);
    this.dirty.set(bytenr, copy);
    this.modifiable.add(bytenr);
    // Freeze the source's blocks written so far: they are shared from now on.
    for (const [b, n] of this.dirty) {
      if (n.header.owner === src) this.modifiable.delete(b);
    }
    const sst = this.state(src);
    if (sst.item) {
      sst.item = { ...sst.item, lastSnapshot: this.generation };
      sst.itemDirty = true;
    }
    const dstItem = {
      ...item,
      bytenr,
      level,
      generation: this.generation,
      generationV2: this.generation,
    };
    this.roots.set(dst, { node: copy, item: dstItem, itemKey, itemDirty: true, nodeChanged: true });
    this.tree.insertItem(ROOT_TREE_OBJECTID, itemKey, encodeRootItem(dstItem));
  }

  /** Drop a whole tree (subvolume delete): every block only it references is freed. */
  dropTree(rootId: bigint): void {
    this.mutate(() => this.dropTreeImpl(rootId), "shrink");
  }

  private dropTreeImpl(rootId: bigint): void {
    const st = this.state(rootId);
    this.dropSubtree(rootId, st.node, { type: TREE_BLOCK_REF_KEY, root: rootId });
    if (st.itemKey) this.tree.deleteItem(ROOT_TREE_OBJECTID, st.itemKey);
    this.roots.delete(rootId);
  }

  /**
   * Release this tree's reference `ref` on `node`; where it was the last one, first release what
   * the node references (btrfs_drop_snapshot's walk, without its resumable progress).
   */
  private dropSubtree(rootId: bigint, node: TreeNode, ref: Ref): void {
    const h = node.header;
    const info = this.refs.lookupInfo(h.bytenr, h.level, BigInt(this.nodesize));
    if (info.refs === 1n) {
      const full = (info.flags & BLOCK_FLAG_FULL_BACKREF) !== 0n;
      if (node.ptrs) {
        for (const p of node.ptrs) {
          const child = this.readNode(p, h.level - 1);
          this.dropSubtree(
            rootId,
            child,
            full
              ? { type: SHARED_BLOCK_REF_KEY, parent: h.bytenr }
              : { type: TREE_BLOCK_REF_KEY, root: h.owner },
          );
        }
      } else {
        this.modChildRefs(rootId, node, full, -1);
      }
      this.dirty.delete(h.bytenr);
      this.modifiable.delete(h.bytenr);
    } else if (h.owner === rootId) {
      this.convertToFullBackref(rootId, node, info.flags);
    }
    this.refs.modify(h.bytenr, true, BigInt(this.nodesize), h.level, ref, -1);
  }

  /**
   * A block this dropped tree owns stays in use by others: switch it, and every block below it
   * that the tree owns, to references by parent bytenr (FULL_BACKREF) so nothing still names the
   * dropped tree (the UPDATE_BACKREF stage of btrfs_drop_snapshot).
   */
  private convertToFullBackref(rootId: bigint, node: TreeNode, flags: bigint): void {
    const h = node.header;
    if ((flags & BLOCK_FLAG_FULL_BACKREF) === 0n) {
      this.modChildRefs(rootId, node, true, 1);
      this.modChildRefs(rootId, node, false, -1);
      this.refs.setFlags(h.bytenr, BigInt(this.nodesize), h.level, BLOCK_FLAG_FULL_BACKREF);
    }
    if (!node.ptrs) return;
    for (const p of node.ptrs) {
      const child = this.readNode(p, h.level - 1);
      if (child.header.owner !== rootId) continue;
      const info = this.refs.lookupInfo(
        child.header.bytenr,
        child.header.level,
        BigInt(this.nodesize),
      );
      this.convertToFullBackref(rootId, child, info.flags);
    }
  }

  // ------------------------------------------------------------------ data

  allocDataExtent(len: number): Extent {
    return this.mutate(() => this.allocDataExtentImpl(len), "none");
  }

  private allocDataExtentImpl(len: number): Extent {
    const ss = this.engine.sectorsize;
    const n = Math.ceil(len / ss) * ss;
    if (n <= 0)
      throw new NcwError("usage", "a data extent must be at least one byte", {
        code: "BTRFS_BAD_EXTENT",
      });
    if (!this.sm.canFit("data", n)) this.allocChunk("data", n);
    const s = this.sm.alloc("data", n);
    if (s === undefined) throw noSpace("data", true);
    this.dataAllocated.add(s, n);
    this.reserved.set(s, n);
    return { bytenr: BigInt(s), len: n };
  }

  freeReserved(ext: Extent): void {
    this.live();
    const s = Number(ext.bytenr);
    const n = this.reserved.get(s);
    if (n === undefined) {
      throw new NcwError("usage", `data extent ${ext.bytenr} is not reserved in this transaction`, {
        code: "BTRFS_NOT_RESERVED",
      });
    }
    this.reserved.delete(s);
    this.dataAllocated.remove(s, n);
    this.sm.unreserve(s, n);
  }

  writeData(bytenr: bigint, data: Uint8Array): void {
    this.live();
    if (!this.dataAllocated.contains(Number(bytenr), data.length)) {
      throw new NcwError(
        "usage",
        `refusing to write ${data.length} bytes at ${bytenr}: not inside a data extent allocated by this transaction`,
        { code: "BTRFS_WRITE_OUTSIDE_EXTENT" },
      );
    }
    this.changeCount++;
    // Dropped first: a write that fails half-way must not leave older bytes cached for it.
    this.engine.dataCache.drop(bytenr, data.length);
    writeLogical(this.engine.dev, this.engine.chunkMap, bytenr, data);
    this.engine.dataCache.put(bytenr, data);
  }

  readData(bytenr: bigint, len: number): Uint8Array {
    this.live();
    return readLogical(this.engine.dev, this.engine.chunkMap, bytenr, len);
  }

  readDataInto(bytenr: bigint, dest: Uint8Array): void {
    this.live();
    readLogicalInto(this.engine.dev, this.engine.chunkMap, bytenr, dest);
  }

  get dataCache(): DataCache {
    return this.engine.dataCache;
  }

  addDataRef(ref: DataRef): void {
    this.live();
    this.changeCount++;
    this.reserved.delete(Number(ref.bytenr));
    this.refs.modify(ref.bytenr, false, ref.numBytes, 0, dataRefOf(ref), 1);
  }

  dropDataRef(ref: DataRef): void {
    this.live();
    this.changeCount++;
    this.refs.modify(ref.bytenr, false, ref.numBytes, 0, dataRefOf(ref), -1);
  }

  insertCsums(bytenr: bigint, csums: Uint8Array): void {
    this.mutate(() => insertCsums(this.tree, this.engine.sectorsize, bytenr, csums));
  }

  deleteCsums(bytenr: bigint, len: bigint): void {
    this.mutate(() => deleteCsums(this.tree, this.engine.sectorsize, bytenr, len), "shrink");
  }

  lookupCsums(bytenr: bigint, len: bigint): (Uint8Array | undefined)[] {
    this.live();
    return lookupCsumsIn(this.tree, this.engine.sectorsize, bytenr, len);
  }

  // ------------------------------------------------------------------ chunks

  /** Device bytes given to new chunks by this transaction. */
  private devBytesAdded = 0n;
  private inChunkAlloc = false;
  /** No room on the device for another metadata chunk (seen in this transaction). */
  private deviceFull = false;

  /** Add a chunk for `kind` (see alloc/chunk-alloc.ts), never re-entering itself. */
  private allocChunk(kind: "data" | "metadata", minLen: number): void {
    if (this.inChunkAlloc) return;
    const placed = planChunk(this.engine, this.tree, this.sm, kind, minLen);
    if (!placed) throw noSpace(kind, true);
    this.inChunkAlloc = true;
    try {
      this.devBytesAdded += addChunk(this.engine, this.tree, this.sm, placed);
    } finally {
      this.inChunkAlloc = false;
    }
  }

  /**
   * Keep a reserve of free metadata space, adding a metadata chunk when it runs low. Called only
   * between tree operations (never while a path is held), since a chunk means new items.
   * With `grow`, refuse (cleanly, before any change) when the device is full and less than the
   * reserve is left: the reserve is kept for deletions and commits, as btrfs' global reserve is.
   */
  private ensureMetadataSpace(grow = false): void {
    if (this.inChunkAlloc) return;
    const want = 128 * this.nodesize;
    if (this.sm.freeBytes("metadata") >= want) return;
    try {
      this.allocChunk("metadata", want);
    } catch (e) {
      if (!(e instanceof Error && UNCHANGED.has(e))) throw e;
      this.deviceFull = true;
    }
    if (!grow) return;
    const total = Number(this.sm.figures("metadata").total);
    const reserve = Math.min(want, Math.floor(total / 8));
    if (this.sm.freeBytes("metadata") < reserve) throw noSpace("metadata", true);
  }

  // ------------------------------------------------------------------ commit

  private extentFreed = (bytenr: bigint, numBytes: bigint, isData: boolean): void => {
    this.sm.pin(Number(bytenr), Number(numBytes));
    if (isData) {
      deleteCsums(this.tree, this.engine.sectorsize, bytenr, numBytes);
      this.engine.dataCache.drop(bytenr, numBytes);
    }
  };

  /** Write the ROOT_ITEMs of trees whose root moved or whose item changed. */
  private updateRootItems(): boolean {
    let changed = false;
    for (const [id, st] of this.roots) {
      if (id === ROOT_TREE_OBJECTID || id === CHUNK_TREE_OBJECTID || !st.item || !st.itemKey)
        continue;
      const n = st.node.header;
      if (
        !st.itemDirty &&
        st.item.bytenr === n.bytenr &&
        st.item.level === n.level &&
        st.item.generation === n.generation
      ) {
        continue;
      }
      st.item = {
        ...st.item,
        bytenr: n.bytenr,
        level: n.level,
        generation: this.generation,
        generationV2: this.generation,
      };
      st.itemDirty = false;
      this.tree.putItem(ROOT_TREE_OBJECTID, st.itemKey, encodeRootItem(st.item));
      changed = true;
    }
    return changed;
  }

  /** Block group items and free space tree entries of the groups whose space changed. */
  private syncBlockGroups(): boolean {
    let changed = false;
    for (const g of [...this.sm.groups]) {
      if (!g.dirty) continue;
      this.ensureMetadataSpace();
      g.dirty = false;
      const bgKey = {
        objectid: BigInt(g.start),
        type: BLOCK_GROUP_ITEM_KEY,
        offset: BigInt(g.length),
      };
      const used = BigInt(blockGroupUsed(g));
      const cur = this.tree.lookup(this.engine.blockGroupRoot, bgKey);
      if (!cur) {
        throw new NcwError("data", `btrfs block group item ${g.start} is missing`, {
          code: "BTRFS_NO_BLOCK_GROUP",
        });
      }
      const bgi = decodeBlockGroupItem(cur);
      if (bgi.used !== used) {
        this.tree.updateItem(
          this.engine.blockGroupRoot,
          bgKey,
          encodeBlockGroupItem({ ...bgi, used }),
        );
        changed = true;
      }
      if (this.engine.hasFreeSpaceTree && syncFreeSpace(this.tree, g, this.engine.sectorsize)) {
        changed = true;
      }
    }
    return changed;
  }

  commit(): void {
    this.live();
    try {
      for (const [s, n] of this.reserved) this.sm.unreserve(s, n);
      this.reserved.clear();
      this.markQgroupsInconsistent();
      for (let pass = 0; ; pass++) {
        if (pass > 64) throw new Error("btrfs engine: commit did not converge");
        this.ensureMetadataSpace();
        this.refs.run({
          tree: this.tree,
          generation: this.generation,
          nodesize: this.nodesize,
          extentFreed: this.extentFreed,
          between: () => this.ensureMetadataSpace(),
        });
        const a = this.updateRootItems();
        const b = this.syncBlockGroups();
        if (!a && !b && this.refs.heads.size === 0) break;
      }
      this.writeOut();
    } catch (e) {
      this.abort();
      throw e;
    }
    this.ended = true;
    this.onEnd();
    // The commit is durable and references none of it: the sparse image gives it back (trim.ts).
    discardLogical(this.engine.dev, this.engine.chunkMap, this.freedByCommit);
    this.freedByCommit = [];
  }

  /**
   * NCW does not account quota groups. If quotas are on, flag them inconsistent (as btrfs does when
   * it cannot keep them exact) so the kernel asks for `btrfs quota rescan` and checkers skip them.
   */
  private markQgroupsInconsistent(): void {
    if (!this.hasTree(QUOTA_TREE_OBJECTID)) return;
    const key = { objectid: 0n, type: QGROUP_STATUS_KEY, offset: 0n };
    const cur = this.tree.lookup(QUOTA_TREE_OBJECTID, key);
    if (!cur || cur.length < 24) return;
    const dv = new DataView(cur.buffer, cur.byteOffset, cur.byteLength);
    const flags = dv.getBigUint64(16, true);
    if (
      (flags & QGROUP_STATUS_FLAG_ON) === 0n ||
      (flags & QGROUP_STATUS_FLAG_INCONSISTENT) !== 0n
    ) {
      return;
    }
    dv.setBigUint64(16, flags | QGROUP_STATUS_FLAG_INCONSISTENT, true);
    this.tree.updateItem(QUOTA_TREE_OBJECTID, key, cur);
  }

  private rootLoc(id: bigint): { bytenr: bigint; level: number; gen: bigint } {
    const st = this.roots.get(id);
    if (st)
      return {
        bytenr: st.node.header.bytenr,
        level: st.node.header.level,
        gen: st.node.header.generation,
      };
    const loc = this.engine.locateRoot(id, this.tree, this.engine.sb);
    return loc
      ? { bytenr: loc.bytenr, level: loc.level, gen: loc.generation }
      : { bytenr: 0n, level: 0, gen: 0n };
  }

  private writeOut(): void {
    const e = this.engine;
    for (const node of this.dirty.values()) {
      writeLogical(e.dev, e.chunkMap, node.header.bytenr, encodeNode(node, this.nodesize));
    }
    e.dev.sync();
    const root = this.rootLoc(ROOT_TREE_OBJECTID);
    const chunk = this.rootLoc(CHUNK_TREE_OBJECTID);
    const sb: Superblock = {
      ...e.sb,
      generation: this.generation,
      root: root.bytenr,
      rootLevel: root.level,
      bytesUsed: this.sm.totalUsed(),
      devItem: { ...e.sb.devItem, bytesUsed: e.sb.devItem.bytesUsed + this.devBytesAdded },
    };
    if (this.roots.get(CHUNK_TREE_OBJECTID)?.nodeChanged) {
      sb.chunkRoot = chunk.bytenr;
      sb.chunkRootLevel = chunk.level;
      sb.chunkRootGeneration = this.generation;
    }
    if (e.sb.uuidTreeGeneration === e.sb.generation) sb.uuidTreeGeneration = this.generation;
    const ext = this.rootLoc(EXTENT_TREE_OBJECTID);
    const fs = this.rootLoc(FS_TREE_OBJECTID);
    const dev = this.rootLoc(DEV_TREE_OBJECTID);
    const csum = this.rootLoc(CSUM_TREE_OBJECTID);
    const backups = e.sb.backups.slice();
    backups[Number(this.generation % 4n)] = {
      treeRoot: root.bytenr,
      treeRootGen: this.generation,
      chunkRoot: sb.chunkRoot,
      chunkRootGen: sb.chunkRootGeneration,
      extentRoot: ext.bytenr,
      extentRootGen: ext.gen,
      fsRoot: fs.bytenr,
      fsRootGen: fs.gen,
      devRoot: dev.bytenr,
      devRootGen: dev.gen,
      csumRoot: csum.bytenr,
      csumRootGen: csum.gen,
      totalBytes: sb.totalBytes,
      bytesUsed: sb.bytesUsed,
      numDevices: sb.numDevices,
      treeRootLevel: root.level,
      chunkRootLevel: sb.chunkRootLevel,
      extentRootLevel: ext.level,
      fsRootLevel: fs.level,
      devRootLevel: dev.level,
      csumRootLevel: csum.level,
    };
    sb.backups = backups;
    for (const off of SUPER_MIRROR_OFFSETS) {
      if (off + BigInt(SUPER_INFO_SIZE) > e.dev.size) continue;
      e.dev.write(off, encodeSuperblock({ ...sb, bytenr: off }));
    }
    e.dev.sync();
    e.sb = sb;
    e.cacheNodes(this.dirty.values());
    // Data only: freed tree blocks are few, scattered and soon reused (`ncw fs trim` takes them).
    this.freedByCommit = this.sm.groups
      .filter((g) => (g.flags & BLOCK_GROUP_DATA) !== 0n)
      .flatMap((g) => g.pinned.ranges());
    this.sm.committed();
  }

  /** Data ranges this commit freed (the pinned space), punched out once it is durable. */
  private freedByCommit: Array<[number, number]> = [];

  abort(): void {
    if (this.ended) return;
    this.ended = true;
    this.sm.restore();
    // Written sectors stay what the device holds, but chunks this transaction added go away.
    this.engine.dataCache.clear();
    if (this.devBytesAdded > 0n) this.engine.reloadChunkMap();
    this.onEnd();
  }
}

function dataRefOf(ref: DataRef): Ref {
  return {
    type: EXTENT_DATA_REF_KEY,
    root: ref.root,
    objectid: ref.inode,
    offset: ref.offset & U64_MAX,
    count: 1,
  };
}
