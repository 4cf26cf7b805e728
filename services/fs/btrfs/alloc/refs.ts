// Extent back-references (kernel extent-tree.c's role): delayed reference changes collected during
// a transaction and applied to the extent tree at commit — METADATA_ITEM / EXTENT_ITEM records with
// inline refs (ascending type, descending sequence, as the tree-checker wants) or keyed refs.

import { NcwError } from "../../../../ncw/errors.js";
import {
  decodeExtentDataRef,
  decodeExtentItem,
  decodeSharedDataRef,
  EXTENT_FLAG_DATA,
  EXTENT_FLAG_TREE_BLOCK,
  type ExtentItem,
  encodeExtentDataRef,
  encodeExtentItem,
  encodeSharedDataRef,
  extentDataRefHash,
  extentItemSize,
  type InlineRef,
  inlineRefSize,
} from "../format/items.js";
import {
  EXTENT_DATA_REF_KEY,
  EXTENT_ITEM_KEY,
  EXTENT_OWNER_REF_KEY,
  EXTENT_TREE_OBJECTID,
  type Key,
  METADATA_ITEM_KEY,
  SHARED_BLOCK_REF_KEY,
  SHARED_DATA_REF_KEY,
  TREE_BLOCK_REF_KEY,
} from "../format/key.js";
import { ITEM_SIZE, maxLeafData } from "../format/node.js";
import type { BTree } from "../tree/ctree.js";

/** One back-reference, with its count (1 for tree-block refs). */
export type Ref = InlineRef;

/** A stable identity of a ref (count excluded). */
export function refId(r: Ref): string {
  switch (r.type) {
    case TREE_BLOCK_REF_KEY:
      return `T${r.root}`;
    case SHARED_BLOCK_REF_KEY:
      return `S${r.parent}`;
    case EXTENT_DATA_REF_KEY:
      return `D${r.root}:${r.objectid}:${r.offset}`;
    case SHARED_DATA_REF_KEY:
      return `P${r.parent}`;
    case EXTENT_OWNER_REF_KEY:
      return `O${r.root}`;
  }
}

function refCount(r: Ref): number {
  return r.type === EXTENT_DATA_REF_KEY || r.type === SHARED_DATA_REF_KEY ? r.count : 1;
}

function withCount(r: Ref, count: number): Ref {
  if (r.type === EXTENT_DATA_REF_KEY || r.type === SHARED_DATA_REF_KEY) return { ...r, count };
  return { ...r };
}

/** The sequence the tree-checker orders inline refs of one type by (descending). */
function refSeq(r: Ref): bigint {
  switch (r.type) {
    case EXTENT_DATA_REF_KEY:
      return extentDataRefHash(r.root, r.objectid, r.offset);
    case SHARED_BLOCK_REF_KEY:
    case SHARED_DATA_REF_KEY:
      return r.parent;
    default:
      return r.root;
  }
}

function compareRefs(a: Ref, b: Ref): number {
  if (a.type !== b.type) return a.type - b.type;
  const sa = refSeq(a);
  const sb = refSeq(b);
  return sa === sb ? 0 : sa > sb ? -1 : 1;
}

/** The key of a keyed (non-inline) back-reference item. */
function keyedRefKey(bytenr: bigint, r: Ref): Key {
  switch (r.type) {
    case EXTENT_DATA_REF_KEY:
      return {
        objectid: bytenr,
        type: r.type,
        offset: extentDataRefHash(r.root, r.objectid, r.offset),
      };
    case SHARED_BLOCK_REF_KEY:
    case SHARED_DATA_REF_KEY:
      return { objectid: bytenr, type: r.type, offset: r.parent };
    default:
      return { objectid: bytenr, type: r.type, offset: r.root };
  }
}

function keyedRefData(r: Ref): Uint8Array {
  if (r.type === EXTENT_DATA_REF_KEY) return encodeExtentDataRef(r);
  if (r.type === SHARED_DATA_REF_KEY) return encodeSharedDataRef(r.count);
  return new Uint8Array(0);
}

/** Pending reference changes of one extent. */
export interface RefHead {
  bytenr: bigint;
  isTree: boolean;
  /** Extent length (nodesize for tree blocks). */
  numBytes: bigint;
  /** Tree level (tree blocks). */
  level: number;
  mods: Map<string, { ref: Ref; delta: number }>;
  /** Extent flags to set (FULL_BACKREF). */
  setFlags: bigint;
}

/** An extent's record as stored in the extent tree. */
interface StoredExtent {
  key: Key;
  item: ExtentItem;
  /** Keyed refs, by refId, with their item keys. */
  keyed: Map<string, { ref: Ref; key: Key }>;
}

export interface RefRunContext {
  tree: BTree;
  generation: bigint;
  nodesize: number;
  /** The extent reached zero references: give its space back (after commit) and, for data, drop csums. */
  extentFreed(bytenr: bigint, numBytes: bigint, isData: boolean): void;
  /** Called between two extents' updates (no tree operation in progress). */
  between?(): void;
}

/** Delayed reference changes of a transaction, applied to the extent tree by run(). */
export class DelayedRefs {
  heads = new Map<bigint, RefHead>();
  private readonly maxInline: number;

  constructor(
    private readonly tree: BTree,
    nodesize: number,
  ) {
    // BTRFS_MAX_EXTENT_ITEM_SIZE: inline refs beyond this size go to keyed items.
    this.maxInline = (maxLeafData(nodesize) >> 4) - ITEM_SIZE;
  }

  private head(bytenr: bigint, isTree: boolean, numBytes: bigint, level: number): RefHead {
    let h = this.heads.get(bytenr);
    if (!h) {
      h = { bytenr, isTree, numBytes, level, mods: new Map(), setFlags: 0n };
      this.heads.set(bytenr, h);
    }
    return h;
  }

  /** Add (delta > 0) or drop (delta < 0) one reference. For data refs `delta` is the count change. */
  modify(
    bytenr: bigint,
    isTree: boolean,
    numBytes: bigint,
    level: number,
    ref: Ref,
    delta: number,
  ): void {
    const h = this.head(bytenr, isTree, numBytes, level);
    const id = refId(ref);
    const m = h.mods.get(id);
    if (m) m.delta += delta;
    else h.mods.set(id, { ref: withCount(ref, 1), delta });
  }

  setFlags(bytenr: bigint, numBytes: bigint, level: number, flags: bigint): void {
    this.head(bytenr, true, numBytes, level).setFlags |= flags;
  }

  private load(
    bytenr: bigint,
    isTree: boolean,
    numBytes: bigint,
    level: number,
  ): StoredExtent | undefined {
    const t = this.tree;
    let key: Key | undefined;
    let data: Uint8Array | undefined;
    if (isTree) {
      const k = { objectid: bytenr, type: METADATA_ITEM_KEY, offset: BigInt(level) };
      data = t.lookup(EXTENT_TREE_OBJECTID, k);
      if (data) key = k;
    }
    if (!data) {
      const k = { objectid: bytenr, type: EXTENT_ITEM_KEY, offset: numBytes };
      data = t.lookup(EXTENT_TREE_OBJECTID, k);
      if (data) key = k;
    }
    if (!data || !key) return undefined;
    const item = decodeExtentItem(data, key.type === METADATA_ITEM_KEY);
    const keyed = new Map<string, { ref: Ref; key: Key }>();
    const from = { objectid: bytenr, type: EXTENT_OWNER_REF_KEY + 1, offset: 0n };
    const to = { objectid: bytenr, type: SHARED_DATA_REF_KEY, offset: (1n << 64n) - 1n };
    for (const it of t.items(EXTENT_TREE_OBJECTID, from, to)) {
      let ref: Ref;
      switch (it.key.type) {
        case TREE_BLOCK_REF_KEY:
          ref = { type: TREE_BLOCK_REF_KEY, root: it.key.offset };
          break;
        case SHARED_BLOCK_REF_KEY:
          ref = { type: SHARED_BLOCK_REF_KEY, parent: it.key.offset };
          break;
        case EXTENT_DATA_REF_KEY:
          ref = { type: EXTENT_DATA_REF_KEY, ...decodeExtentDataRef(it.data) };
          break;
        case SHARED_DATA_REF_KEY:
          ref = {
            type: SHARED_DATA_REF_KEY,
            parent: it.key.offset,
            count: decodeSharedDataRef(it.data),
          };
          break;
        default:
          continue;
      }
      keyed.set(refId(ref), { ref, key: it.key });
    }
    return { key, item, keyed };
  }

  /** References and flags of an extent, including the changes not yet applied. */
  lookupInfo(bytenr: bigint, level: number, numBytes: bigint): { refs: bigint; flags: bigint } {
    const rec = this.load(bytenr, true, numBytes, level);
    let refs = rec ? rec.item.refs : 0n;
    let flags = rec ? rec.item.flags : 0n;
    const h = this.heads.get(bytenr);
    if (h) {
      for (const m of h.mods.values()) refs += BigInt(m.delta);
      flags |= h.setFlags;
    }
    return { refs, flags };
  }

  /** Apply every pending change (and those that applying them causes) to the extent tree. */
  run(ctx: RefRunContext): void {
    while (this.heads.size > 0) {
      const batch = [...this.heads.values()].sort((a, b) =>
        a.bytenr < b.bytenr ? -1 : a.bytenr > b.bytenr ? 1 : 0,
      );
      this.heads = new Map();
      for (const h of batch) {
        ctx.between?.();
        this.apply(ctx, h);
      }
    }
  }

  private apply(ctx: RefRunContext, h: RefHead): void {
    const t = ctx.tree;
    const E = EXTENT_TREE_OBJECTID;
    const rec = this.load(h.bytenr, h.isTree, h.numBytes, h.level);
    const refs = new Map<string, Ref>();
    if (rec) {
      for (const r of rec.item.inline) refs.set(refId(r), r);
      for (const [id, k] of rec.keyed) refs.set(id, k.ref);
    }
    let changed = false;
    for (const [id, m] of h.mods) {
      if (m.delta === 0) continue;
      changed = true;
      const cur = refs.get(id);
      const n = (cur ? refCount(cur) : 0) + m.delta;
      if (n < 0 || (h.isTree && n > 1)) {
        throw new NcwError(
          "data",
          `btrfs extent ${h.bytenr}: reference ${id} would have count ${n}`,
          {
            code: "BTRFS_BAD_REFCOUNT",
            hint: "The extent tree's back-references are inconsistent; run `btrfs check`.",
          },
        );
      }
      if (n === 0) refs.delete(id);
      else refs.set(id, withCount(m.ref, n));
    }
    if (!rec && refs.size === 0) {
      // Allocated and released within this transaction: it never reached the extent tree.
      ctx.extentFreed(h.bytenr, h.numBytes, !h.isTree);
      return;
    }
    if (!changed && (h.setFlags === 0n || !rec || (rec.item.flags & h.setFlags) === h.setFlags)) {
      return;
    }
    let total = 0n;
    for (const r of refs.values()) total += BigInt(refCount(r));
    if (total === 0n) {
      if (rec) {
        t.deleteItem(E, rec.key);
        for (const k of rec.keyed.values()) t.deleteItem(E, k.key);
      }
      ctx.extentFreed(h.bytenr, h.numBytes, !h.isTree);
      return;
    }
    const sorted = [...refs.values()].sort(compareRefs);
    const base: ExtentItem = rec
      ? { ...rec.item, inline: [] }
      : {
          refs: 0n,
          generation: ctx.generation,
          flags: h.isTree ? EXTENT_FLAG_TREE_BLOCK : EXTENT_FLAG_DATA,
          inline: [],
        };
    base.refs = total;
    base.flags |= h.setFlags;
    let size = extentItemSize(base);
    const keyedWanted = new Map<string, Ref>();
    for (const r of sorted) {
      const sz = inlineRefSize(r);
      if (keyedWanted.size === 0 && size + sz <= this.maxInline) {
        base.inline.push(r);
        size += sz;
      } else keyedWanted.set(refId(r), r);
    }
    const key: Key = rec
      ? rec.key
      : h.isTree
        ? { objectid: h.bytenr, type: METADATA_ITEM_KEY, offset: BigInt(h.level) }
        : { objectid: h.bytenr, type: EXTENT_ITEM_KEY, offset: h.numBytes };
    t.putItem(E, key, encodeExtentItem(base));
    const old = rec ? rec.keyed : new Map<string, { ref: Ref; key: Key }>();
    for (const [id, o] of old) {
      const w = keyedWanted.get(id);
      if (!w) t.deleteItem(E, o.key);
      else if (refCount(w) !== refCount(o.ref)) t.updateItem(E, o.key, keyedRefData(w));
    }
    for (const [id, w] of keyedWanted) {
      if (!old.has(id)) t.insertItem(E, keyedRefKey(h.bytenr, w), keyedRefData(w));
    }
  }
}
