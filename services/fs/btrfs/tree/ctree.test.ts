// B-tree algorithm tests on an in-memory node store (no image, no btrfs-progs): after every
// operation the tree keeps btrfs' invariants and matches a Map model.

import { describe, expect, it } from "vitest";
import { compareKeys, formatKey, type Key } from "../format/key.js";
import {
  DEFAULT_HEADER_FLAGS,
  type KeyPtr,
  leafUsedBytes,
  maxKeyPtrs,
  maxLeafData,
  type TreeNode,
} from "../format/node.js";
import { BTree, type NodeStore } from "./ctree.js";

/** Nodes in a Map; CoW copies once per "transaction" like the real store, frees are recorded. */
class MemStore implements NodeStore {
  nodes = new Map<bigint, TreeNode>();
  modifiable = new Set<bigint>();
  root: TreeNode;
  next = 1n;
  freed = 0;
  constructor(readonly nodesize: number) {
    this.root = this.newNode(1n, 0);
  }
  rootNode(): TreeNode {
    return this.root;
  }
  readNode(ptr: KeyPtr): TreeNode {
    const n = this.nodes.get(ptr.blockptr);
    if (!n) throw new Error(`dangling pointer ${ptr.blockptr}`);
    return n;
  }
  cowNode(_r: bigint, node: TreeNode, parent: TreeNode | undefined, slot: number): TreeNode {
    if (this.modifiable.has(node.header.bytenr)) return node;
    const copy: TreeNode = node.items
      ? { header: { ...node.header }, items: node.items.map((i) => ({ ...i })) }
      : { header: { ...node.header }, ptrs: node.ptrs.map((p) => ({ ...p })) };
    copy.header.bytenr = this.next++;
    this.nodes.set(copy.header.bytenr, copy);
    this.modifiable.add(copy.header.bytenr);
    if (parent) parent.ptrs![slot]!.blockptr = copy.header.bytenr;
    else this.root = copy;
    return copy;
  }
  newNode(_r: bigint, level: number): TreeNode {
    const header = {
      csum: new Uint8Array(32),
      fsid: new Uint8Array(16),
      bytenr: this.next++,
      flags: DEFAULT_HEADER_FLAGS,
      chunkTreeUuid: new Uint8Array(16),
      generation: 1n,
      owner: 1n,
      nritems: 0,
      level,
    };
    const n: TreeNode = level === 0 ? { header, items: [] } : { header, ptrs: [] };
    this.nodes.set(header.bytenr, n);
    this.modifiable.add(header.bytenr);
    return n;
  }
  freeNode(_r: bigint, node: TreeNode): void {
    this.nodes.delete(node.header.bytenr);
    this.freed++;
  }
  setRoot(_r: bigint, node: TreeNode): void {
    this.root = node;
  }
  /** A new transaction: everything becomes copy-on-write again. */
  endTransaction(): void {
    this.modifiable.clear();
  }
}

function firstKey(n: TreeNode): Key {
  return n.items ? n.items[0]!.key : n.ptrs[0]!.key;
}

/** Checks btrfs' structural rules below `node`; returns the number of leaf items. */
function checkNode(s: MemStore, node: TreeNode, isRoot: boolean, lo?: Key, hi?: Key): number {
  if (node.items) {
    if (!isRoot) expect(node.items.length).toBeGreaterThan(0);
    expect(leafUsedBytes(node.items)).toBeLessThanOrEqual(maxLeafData(s.nodesize));
    for (let i = 0; i < node.items.length; i++) {
      const k = node.items[i]!.key;
      if (i > 0) expect(compareKeys(node.items[i - 1]!.key, k)).toBeLessThan(0);
      if (lo) expect(compareKeys(k, lo)).toBeGreaterThanOrEqual(0);
      if (hi) expect(compareKeys(k, hi)).toBeLessThan(0);
    }
    return node.items.length;
  }
  expect(node.ptrs.length).toBeGreaterThan(isRoot ? 1 : 0);
  expect(node.ptrs.length).toBeLessThanOrEqual(maxKeyPtrs(s.nodesize));
  let n = 0;
  for (let i = 0; i < node.ptrs.length; i++) {
    const p = node.ptrs[i]!;
    const child = s.readNode(p);
    expect(child.header.level).toBe(node.header.level - 1);
    expect(formatKey(firstKey(child))).toBe(formatKey(p.key));
    n += checkNode(s, child, false, p.key, node.ptrs[i + 1]?.key ?? hi);
  }
  return n;
}

function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const key = (o: number, off = 0): Key => ({ objectid: BigInt(o), type: 1, offset: BigInt(off) });

describe("B-tree algorithms", () => {
  it("sequential appends fill leaves (an append splits off a leaf of its own)", () => {
    const s = new MemStore(4096);
    const t = new BTree(s);
    for (let i = 0; i < 2000; i++) t.insertItem(1n, key(i), new Uint8Array(50));
    expect(checkNode(s, s.root, true)).toBe(2000);
    let leaves = 0;
    t.walk(1n, (n) => {
      if (n.items) leaves++;
    });
    // 75 bytes per item: 53 fit in a 4 KiB leaf; mostly full leaves mean about 38 leaves.
    expect(leaves).toBeLessThanOrEqual(40);
  });

  it("random inserts, updates and deletes keep the invariants and match a model", () => {
    const s = new MemStore(4096);
    const t = new BTree(s);
    const rnd = prng(99);
    const model = new Map<string, { k: Key; len: number }>();
    for (let step = 0; step < 6000; step++) {
      if (step % 500 === 0) s.endTransaction();
      const k = key(Math.floor(rnd() * 3000), Math.floor(rnd() * 4));
      const id = formatKey(k);
      const r = rnd();
      if (r < 0.55) {
        const len = rnd() < 0.05 ? 3000 + Math.floor(rnd() * 900) : Math.floor(rnd() * 200);
        if (model.has(id)) t.updateItem(1n, k, new Uint8Array(len).fill(len & 255));
        else t.insertItem(1n, k, new Uint8Array(len).fill(len & 255));
        model.set(id, { k, len });
      } else {
        expect(t.deleteItem(1n, k)).toBe(model.delete(id));
      }
      if (step % 250 === 0) expect(checkNode(s, s.root, true)).toBe(model.size);
    }
    expect(checkNode(s, s.root, true)).toBe(model.size);
    const all = t.items(1n, key(0), key(1 << 30));
    const want = [...model.values()].sort((a, b) => compareKeys(a.k, b.k));
    expect(all.map((i) => formatKey(i.key))).toEqual(want.map((w) => formatKey(w.k)));
    expect(all.map((i) => i.data.length)).toEqual(want.map((w) => w.len));
    expect(s.root.header.level).toBeGreaterThanOrEqual(2);
    // Delete everything: merges collapse the tree back to one empty root leaf.
    for (const w of want) t.deleteItem(1n, w.k);
    expect(s.root.header.level).toBe(0);
    expect(s.root.items).toEqual([]);
  });

  it("finds neighbours across leaves: firstAtOrAfter, lastAtOrBefore, ranges", () => {
    const s = new MemStore(4096);
    const t = new BTree(s);
    for (let i = 0; i < 3000; i += 3) t.insertItem(1n, key(i), new Uint8Array(40));
    expect(t.firstAtOrAfter(1n, key(1))!.key.objectid).toBe(3n);
    expect(t.lastAtOrBefore(1n, key(1))!.key.objectid).toBe(0n);
    expect(t.lastAtOrBefore(1n, key(2998))!.key.objectid).toBe(2997n);
    expect(t.firstAtOrAfter(1n, key(2998))).toBeUndefined();
    expect(t.lastAtOrBefore(1n, { objectid: 0n, type: 0, offset: 0n })).toBeUndefined();
    expect(t.items(1n, key(100), key(200)).length).toBe(33);
    expect(t.items(1n, key(0), key(3000), 7).length).toBe(7);
    expect(t.deleteRange(1n, key(1000), key(1999))).toBe(333);
    expect(checkNode(s, s.root, true)).toBe(1000 - 333);
  });

  it("refuses items larger than a leaf and duplicate keys", () => {
    const s = new MemStore(4096);
    const t = new BTree(s);
    expect(() => t.insertItem(1n, key(1), new Uint8Array(4096))).toThrow(/larger than a leaf/);
    t.insertItem(1n, key(1), new Uint8Array(1));
    expect(() => t.insertItem(1n, key(1), new Uint8Array(1))).toThrow(/already exists/);
    expect(() => t.updateItem(1n, key(2), new Uint8Array(1))).toThrow(/does not exist/);
  });
});
