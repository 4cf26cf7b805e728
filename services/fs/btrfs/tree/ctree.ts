// The copy-on-write B-tree algorithms of Btrfs trees (kernel ctree.c's role): search with slots,
// insert/update/delete of leaf items, leaf and node split, merge on underflow, key fix-ups, scans.
// Node allocation, CoW and reference counting are the NodeStore's job (transaction.ts).

import { NcwError } from "../../../../ncw/errors.js";
import { compareKeys, formatKey, type Key } from "../format/key.js";
import {
  type KeyPtr,
  type LeafItem,
  leafUsedBytes,
  maxItemSize,
  maxKeyPtrs,
  maxLeafData,
  ptrSlot,
  type TreeNode,
} from "../format/node.js";
import type { Item, PathLevel, SearchOptions, TreePath } from "./index.js";

/** Where nodes come from and how they are copied, created and released. */
export interface NodeStore {
  readonly nodesize: number;
  /** The current root node of a tree (throws if the tree does not exist). */
  rootNode(rootId: bigint): TreeNode;
  /** Read the node a key pointer points at. */
  readNode(ptr: KeyPtr, level: number): TreeNode;
  /**
   * Make `node` modifiable in this transaction (copy-on-write unless already done) and point its
   * parent (`parent.ptrs[slot]`, or the tree's root when parent is undefined) at the copy.
   */
  cowNode(rootId: bigint, node: TreeNode, parent: TreeNode | undefined, slot: number): TreeNode;
  /** A new empty modifiable node of this tree at `level`. */
  newNode(rootId: bigint, level: number): TreeNode;
  /** A modifiable node leaves the tree (its reference is dropped). */
  freeNode(rootId: bigint, node: TreeNode): void;
  /** A modifiable node becomes the tree's root. */
  setRoot(rootId: bigint, node: TreeNode): void;
}

function firstKey(node: TreeNode): Key {
  const k = node.items ? node.items[0]?.key : node.ptrs[0]?.key;
  if (!k) throw new Error("btrfs engine: first key of an empty node");
  return k;
}

function copyKey(k: Key): Key {
  return { objectid: k.objectid, type: k.type, offset: k.offset };
}

/** Exact slot of `key` in the items, or the slot where it would be inserted. */
function itemSlot(items: readonly LeafItem[], key: Key): { slot: number; found: boolean } {
  let lo = 0;
  let hi = items.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    const c = compareKeys(items[mid]!.key, key);
    if (c === 0) return { slot: mid, found: true };
    if (c < 0) lo = mid + 1;
    else hi = mid;
  }
  return { slot: lo, found: false };
}

export class BTree {
  private readonly leafCap: number;
  private readonly ptrCap: number;
  readonly maxItem: number;

  constructor(private readonly store: NodeStore) {
    this.leafCap = maxLeafData(store.nodesize);
    this.ptrCap = maxKeyPtrs(store.nodesize);
    this.maxItem = maxItemSize(store.nodesize);
  }

  // ---------------------------------------------------------------- search and reads

  search(rootId: bigint, key: Key, opts: SearchOptions = {}): TreePath {
    const cow = opts.cow === true;
    let node = this.store.rootNode(rootId);
    if (cow) node = this.store.cowNode(rootId, node, undefined, 0);
    const down: PathLevel[] = [];
    for (;;) {
      if (node.ptrs) {
        const slot = ptrSlot(node.ptrs, key);
        down.push({ node, slot });
        let child = this.store.readNode(node.ptrs[slot]!, node.header.level - 1);
        if (cow) child = this.store.cowNode(rootId, child, node, slot);
        node = child;
      } else {
        const r = itemSlot(node.items, key);
        down.push({ node, slot: r.slot });
        return { levels: down.reverse(), found: r.found };
      }
    }
  }

  lookup(rootId: bigint, key: Key): Uint8Array | undefined {
    const p = this.search(rootId, key);
    if (!p.found) return undefined;
    const lv = p.levels[0]!;
    return lv.node.items![lv.slot]!.data.slice();
  }

  /** Advance the path to the first slot of the next leaf; false at the end of the tree. */
  private nextLeaf(path: TreePath): boolean {
    const L = path.levels;
    let l = 1;
    while (l < L.length && L[l]!.slot + 1 >= L[l]!.node.ptrs!.length) l++;
    if (l >= L.length) return false;
    L[l]!.slot++;
    for (let d = l; d > 0; d--) {
      const lv = L[d]!;
      const child = this.store.readNode(lv.node.ptrs![lv.slot]!, lv.node.header.level - 1);
      L[d - 1] = { node: child, slot: 0 };
    }
    return true;
  }

  /** Move the path to the last slot of the previous leaf; false at the start of the tree. */
  private prevLeaf(path: TreePath): boolean {
    const L = path.levels;
    let l = 1;
    while (l < L.length && L[l]!.slot === 0) l++;
    if (l >= L.length) return false;
    L[l]!.slot--;
    for (let d = l; d > 0; d--) {
      const lv = L[d]!;
      const child = this.store.readNode(lv.node.ptrs![lv.slot]!, lv.node.header.level - 1);
      const n = child.items ? child.items.length : child.ptrs.length;
      L[d - 1] = { node: child, slot: Math.max(0, n - 1) };
    }
    return true;
  }

  items(rootId: bigint, from: Key, to: Key, limit = Number.POSITIVE_INFINITY): Item[] {
    const out: Item[] = [];
    if (compareKeys(from, to) > 0) return out;
    const path = this.search(rootId, from);
    for (;;) {
      const lv = path.levels[0]!;
      const items = lv.node.items!;
      for (let i = lv.slot; i < items.length; i++) {
        const it = items[i]!;
        if (compareKeys(it.key, to) > 0 || out.length >= limit) return out;
        out.push({ key: copyKey(it.key), data: it.data.slice() });
      }
      if (!this.nextLeaf(path)) return out;
    }
  }

  firstAtOrAfter(rootId: bigint, key: Key): Item | undefined {
    const path = this.search(rootId, key);
    for (;;) {
      const lv = path.levels[0]!;
      const it = lv.node.items![lv.slot];
      if (it) return { key: copyKey(it.key), data: it.data.slice() };
      if (!this.nextLeaf(path)) return undefined;
    }
  }

  lastAtOrBefore(rootId: bigint, key: Key): Item | undefined {
    const path = this.search(rootId, key);
    const lv = path.levels[0]!;
    if (path.found) {
      const it = lv.node.items![lv.slot]!;
      return { key: copyKey(it.key), data: it.data.slice() };
    }
    if (lv.slot > 0) {
      const it = lv.node.items![lv.slot - 1]!;
      return { key: copyKey(it.key), data: it.data.slice() };
    }
    for (;;) {
      if (!this.prevLeaf(path)) return undefined;
      const l0 = path.levels[0]!;
      const it = l0.node.items![l0.slot];
      if (it) return { key: copyKey(it.key), data: it.data.slice() };
    }
  }

  /** Every node of a tree, visited top-down (for checks and tests). */
  walk(rootId: bigint, visit: (node: TreeNode) => void): void {
    const rec = (node: TreeNode): void => {
      visit(node);
      if (node.ptrs) {
        for (const p of node.ptrs) rec(this.store.readNode(p, node.header.level - 1));
      }
    };
    rec(this.store.rootNode(rootId));
  }

  // ---------------------------------------------------------------- modifications

  private checkSize(key: Key, len: number): void {
    if (len > this.maxItem) {
      throw new NcwError(
        "data",
        `btrfs item ${formatKey(key)} of ${len} bytes is larger than a leaf can hold (${this.maxItem})`,
        { code: "BTRFS_ITEM_TOO_LARGE" },
      );
    }
  }

  insertItem(rootId: bigint, key: Key, data: Uint8Array): void {
    this.checkSize(key, data.length);
    const path = this.search(rootId, key, { cow: true });
    if (path.found) {
      throw new NcwError("conflict", `btrfs item ${formatKey(key)} already exists`, {
        code: "BTRFS_ITEM_EXISTS",
      });
    }
    const lv = path.levels[0]!;
    lv.node.items!.splice(lv.slot, 0, { key: copyKey(key), data: data.slice() });
    if (lv.slot === 0) this.fixKeys(path, 0);
    this.splitIfNeeded(rootId, path, 0, lv.slot);
  }

  updateItem(rootId: bigint, key: Key, data: Uint8Array): void {
    this.checkSize(key, data.length);
    const probe = this.search(rootId, key);
    if (!probe.found) {
      throw new NcwError("not-found", `btrfs item ${formatKey(key)} does not exist`, {
        code: "BTRFS_ITEM_MISSING",
      });
    }
    this.replaceAt(rootId, key, data);
  }

  putItem(rootId: bigint, key: Key, data: Uint8Array): void {
    this.checkSize(key, data.length);
    if (this.search(rootId, key).found) this.replaceAt(rootId, key, data);
    else this.insertItem(rootId, key, data);
  }

  private replaceAt(rootId: bigint, key: Key, data: Uint8Array): void {
    const path = this.search(rootId, key, { cow: true });
    const lv = path.levels[0]!;
    const it = lv.node.items![lv.slot]!;
    const grew = data.length > it.data.length;
    it.data = data.slice();
    if (grew) this.splitIfNeeded(rootId, path, 0, lv.slot);
    else this.rebalance(rootId, path, 0);
  }

  deleteItem(rootId: bigint, key: Key): boolean {
    if (!this.search(rootId, key).found) return false;
    const path = this.search(rootId, key, { cow: true });
    const lv = path.levels[0]!;
    lv.node.items!.splice(lv.slot, 1);
    if (lv.slot === 0 && lv.node.items!.length > 0) this.fixKeys(path, 0);
    this.rebalance(rootId, path, 0);
    return true;
  }

  deleteRange(rootId: bigint, from: Key, to: Key): number {
    let n = 0;
    for (;;) {
      const it = this.firstAtOrAfter(rootId, from);
      if (!it || compareKeys(it.key, to) > 0) return n;
      this.deleteItem(rootId, it.key);
      n++;
    }
  }

  /** After the first key of the node at `level` changed, update the keys above it. */
  private fixKeys(path: TreePath, level: number): void {
    const L = path.levels;
    const node = L[level]!.node;
    if ((node.items ? node.items.length : node.ptrs.length) === 0) return;
    const k = firstKey(node);
    for (let l = level + 1; l < L.length; l++) {
      const lv = L[l]!;
      lv.node.ptrs![lv.slot]!.key = copyKey(k);
      if (lv.slot !== 0) break;
    }
  }

  private size(node: TreeNode): number {
    return node.items ? leafUsedBytes(node.items) : node.ptrs.length;
  }

  private cap(node: TreeNode): number {
    return node.items ? this.leafCap : this.ptrCap;
  }

  /** Split the node at `level` of the path if it overflows, then its parent, up to a new root. */
  private splitIfNeeded(rootId: bigint, path: TreePath, level: number, hintSlot: number): void {
    const L = path.levels;
    const lv = L[level]!;
    const node = lv.node;
    if (this.size(node) <= this.cap(node)) return;
    const parts = node.items
      ? this.partitionLeaf(node.items, hintSlot)
      : this.partitionPtrs(node.ptrs);
    const newNodes: TreeNode[] = [];
    if (node.items) node.items = parts[0] as LeafItem[];
    else node.ptrs = parts[0] as KeyPtr[];
    for (let i = 1; i < parts.length; i++) {
      const nn = this.store.newNode(rootId, node.header.level);
      if (nn.items) nn.items = parts[i] as LeafItem[];
      else nn.ptrs = parts[i] as KeyPtr[];
      newNodes.push(nn);
    }
    const ptrsFor = (ns: TreeNode[]): KeyPtr[] =>
      ns.map((n) => ({
        key: copyKey(firstKey(n)),
        blockptr: n.header.bytenr,
        generation: n.header.generation,
      }));
    if (level + 1 >= L.length) {
      // The root split: grow the tree by one level.
      const root = this.store.newNode(rootId, node.header.level + 1);
      root.ptrs = ptrsFor([node, ...newNodes]);
      this.store.setRoot(rootId, root);
      return;
    }
    const parent = L[level + 1]!;
    parent.node.ptrs!.splice(parent.slot + 1, 0, ...ptrsFor(newNodes));
    this.splitIfNeeded(rootId, path, level + 1, parent.slot + 1);
  }

  /** Split leaf items into parts that each fit, balanced; an append goes to a leaf of its own. */
  private partitionLeaf(items: LeafItem[], hintSlot: number): LeafItem[][] {
    const n = items.length;
    const pre: number[] = [0];
    for (const it of items) pre.push(pre[pre.length - 1]! + 25 + it.data.length);
    const total = pre[n]!;
    const cap = this.leafCap;
    if (hintSlot === n - 1 && n > 1 && pre[n - 1]! <= cap) {
      return [items.slice(0, n - 1), items.slice(n - 1)];
    }
    if (hintSlot === 0 && n > 1 && total - pre[1]! <= cap) {
      return [items.slice(0, 1), items.slice(1)];
    }
    let best = -1;
    let bestScore = Number.POSITIVE_INFINITY;
    for (let i = 1; i < n; i++) {
      const left = pre[i]!;
      const right = total - left;
      if (left <= cap && right <= cap) {
        const score = Math.max(left, right);
        if (score < bestScore) {
          bestScore = score;
          best = i;
        }
      }
    }
    if (best > 0) return [items.slice(0, best), items.slice(best)];
    const parts: LeafItem[][] = [];
    let cur: LeafItem[] = [];
    let used = 0;
    for (const it of items) {
      const sz = 25 + it.data.length;
      if (used + sz > cap && cur.length > 0) {
        parts.push(cur);
        cur = [];
        used = 0;
      }
      cur.push(it);
      used += sz;
    }
    parts.push(cur);
    return parts;
  }

  private partitionPtrs(ptrs: KeyPtr[]): KeyPtr[][] {
    const mid = ptrs.length >> 1;
    return [ptrs.slice(0, mid), ptrs.slice(mid)];
  }

  /**
   * After a removal or shrink at `level`: drop an empty node, merge an underfull node into a
   * sibling when both fit in one, and collapse a root with a single child.
   */
  private rebalance(rootId: bigint, path: TreePath, level: number): void {
    const L = path.levels;
    const node = L[level]!.node;
    if (level + 1 >= L.length) {
      // The root: an internal root with one child hands the root over to that child.
      if (node.ptrs && node.ptrs.length === 1) {
        const child = this.store.cowNode(
          rootId,
          this.store.readNode(node.ptrs[0]!, node.header.level - 1),
          node,
          0,
        );
        this.store.setRoot(rootId, child);
        this.store.freeNode(rootId, node);
        if (child.ptrs && child.ptrs.length === 1) {
          this.rebalance(rootId, { levels: [{ node: child, slot: 0 }], found: false }, 0);
        }
      }
      return;
    }
    const parentLv = L[level + 1]!;
    const parent = parentLv.node;
    const pslot = parentLv.slot;
    const count = node.items ? node.items.length : node.ptrs.length;
    if (count === 0) {
      parent.ptrs!.splice(pslot, 1);
      this.store.freeNode(rootId, node);
      if (pslot === 0 && parent.ptrs!.length > 0) this.fixKeys(path, level + 1);
      this.rebalance(rootId, path, level + 1);
      return;
    }
    const cap = this.cap(node);
    if (this.size(node) >= cap / 4) return;
    const level0 = node.header.level;
    if (pslot > 0) {
      const leftRO = this.store.readNode(parent.ptrs![pslot - 1]!, level0);
      if (this.size(leftRO) + this.size(node) <= cap) {
        const left = this.store.cowNode(rootId, leftRO, parent, pslot - 1);
        if (left.items) left.items.push(...node.items!);
        else left.ptrs.push(...node.ptrs!);
        parent.ptrs!.splice(pslot, 1);
        this.store.freeNode(rootId, node);
        this.rebalance(rootId, path, level + 1);
        return;
      }
    }
    if (pslot + 1 < parent.ptrs!.length) {
      const rightRO = this.store.readNode(parent.ptrs![pslot + 1]!, level0);
      if (this.size(rightRO) + this.size(node) <= cap) {
        const right = this.store.cowNode(rootId, rightRO, parent, pslot + 1);
        if (node.items) node.items.push(...right.items!);
        else node.ptrs.push(...right.ptrs!);
        parent.ptrs!.splice(pslot + 1, 1);
        this.store.freeNode(rootId, right);
        this.rebalance(rootId, path, level + 1);
      }
    }
  }
}
