// Extent back-reference records: inline ref order and layout checked against bytes written out by
// hand from btrfs_tree.h (btrfs_extent_item + btrfs_extent_inline_ref), keyed overflow, counts.

import { describe, expect, it } from "vitest";
import { EXTENT_TREE_OBJECTID, type Key } from "../format/key.js";
import { DEFAULT_HEADER_FLAGS, type KeyPtr, type TreeNode } from "../format/node.js";
import { BTree, type NodeStore } from "../tree/ctree.js";
import { DelayedRefs } from "./refs.js";

/** A single in-memory tree standing in for the extent tree. */
function memTree(nodesize: number): BTree {
  const nodes = new Map<bigint, TreeNode>();
  let next = 1n;
  const mk = (level: number): TreeNode => {
    const header = {
      csum: new Uint8Array(32),
      fsid: new Uint8Array(16),
      bytenr: next++,
      flags: DEFAULT_HEADER_FLAGS,
      chunkTreeUuid: new Uint8Array(16),
      generation: 1n,
      owner: 2n,
      nritems: 0,
      level,
    };
    const n: TreeNode = level === 0 ? { header, items: [] } : { header, ptrs: [] };
    nodes.set(header.bytenr, n);
    return n;
  };
  let root = mk(0);
  const store: NodeStore = {
    nodesize,
    rootNode: () => root,
    readNode: (p: KeyPtr) => nodes.get(p.blockptr)!,
    cowNode: (_r, n) => n,
    newNode: (_r, level) => mk(level),
    freeNode: (_r, n) => {
      nodes.delete(n.header.bytenr);
    },
    setRoot: (_r, n) => {
      root = n;
    },
  };
  return new BTree(store);
}

function hex(b: Uint8Array): string {
  return Buffer.from(b).toString("hex");
}
const u64 = (v: bigint): string => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(v);
  return b.toString("hex");
};
const u32 = (v: number): string => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v);
  return b.toString("hex");
};

const E = EXTENT_TREE_OBJECTID;
const all: [Key, Key] = [
  { objectid: 0n, type: 0, offset: 0n },
  { objectid: (1n << 64n) - 1n, type: 255, offset: (1n << 64n) - 1n },
];

describe("delayed extent references", () => {
  it("writes a skinny tree block record with refs ordered by type, then offset descending", () => {
    const t = memTree(16384);
    const r = new DelayedRefs(t, 16384);
    const freed: bigint[] = [];
    const b = 0x1000000n;
    r.modify(b, true, 16384n, 1, { type: 176, root: 5n }, 1);
    r.modify(b, true, 16384n, 1, { type: 182, parent: 0x2000n }, 1);
    r.modify(b, true, 16384n, 1, { type: 176, root: 256n }, 1);
    r.modify(b, true, 16384n, 1, { type: 176, root: 7n }, 1);
    r.setFlags(b, 16384n, 1, 1n << 8n);
    r.run({ tree: t, generation: 9n, nodesize: 16384, extentFreed: (x) => freed.push(x) });
    const items = t.items(E, ...all);
    expect(items.length).toBe(1);
    expect(items[0]!.key).toEqual({ objectid: b, type: 169, offset: 1n });
    // refs 4, generation 9, flags TREE_BLOCK|FULL_BACKREF; then (176,256) (176,7) (176,5) (182,0x2000).
    expect(hex(items[0]!.data)).toBe(
      u64(4n) + u64(9n) + u64(0x102n) + `b0${u64(256n)}b0${u64(7n)}b0${u64(5n)}b6${u64(0x2000n)}`,
    );
    // Dropping every reference deletes the record and frees the extent.
    for (const ref of [
      { type: 176, root: 5n },
      { type: 176, root: 7n },
      { type: 176, root: 256n },
      { type: 182, parent: 0x2000n },
    ] as const) {
      r.modify(b, true, 16384n, 1, ref, -1);
    }
    r.run({ tree: t, generation: 10n, nodesize: 16384, extentFreed: (x) => freed.push(x) });
    expect(t.items(E, ...all)).toEqual([]);
    expect(freed).toEqual([b]);
  });

  it("counts data references and keeps the generation of the first record", () => {
    const t = memTree(16384);
    const r = new DelayedRefs(t, 16384);
    const b = 0x4000000n;
    const ref = { type: 178, root: 5n, objectid: 257n, offset: 0n, count: 1 } as const;
    r.modify(b, false, 8192n, 0, ref, 1);
    r.modify(b, false, 8192n, 0, ref, 1);
    r.run({ tree: t, generation: 3n, nodesize: 16384, extentFreed: () => {} });
    r.modify(b, false, 8192n, 0, { type: 184, parent: 0x9000n, count: 1 }, 1);
    r.modify(b, false, 8192n, 0, ref, -1);
    r.run({ tree: t, generation: 4n, nodesize: 16384, extentFreed: () => {} });
    const it = t.items(E, ...all)[0]!;
    expect(it.key).toEqual({ objectid: b, type: 168, offset: 8192n });
    expect(hex(it.data)).toBe(
      u64(2n) +
        u64(3n) +
        u64(1n) +
        `b2${u64(5n)}${u64(257n)}${u64(0n)}${u32(1)}` +
        `b8${u64(0x9000n)}${u32(1)}`,
    );
  });

  it("moves refs beyond the inline limit to keyed items, and back", () => {
    const t = memTree(16384);
    const r = new DelayedRefs(t, 16384);
    const b = 0x8000000n;
    for (let i = 0; i < 120; i++)
      r.modify(b, true, 16384n, 0, { type: 176, root: 1000n + BigInt(i) }, 1);
    r.run({ tree: t, generation: 2n, nodesize: 16384, extentFreed: () => {} });
    let items = t.items(E, ...all);
    // (16283 >> 4) - 25 = 992 bytes: 24 + 107 * 9 = 987 fit inline, 13 become keyed items.
    expect(items[0]!.data.length).toBe(24 + 107 * 9);
    expect(items.slice(1).map((i) => i.key.type)).toEqual(new Array(13).fill(176));
    for (let i = 0; i < 110; i++)
      r.modify(b, true, 16384n, 0, { type: 176, root: 1000n + BigInt(i) }, -1);
    r.run({ tree: t, generation: 3n, nodesize: 16384, extentFreed: () => {} });
    items = t.items(E, ...all);
    expect(items.length).toBe(1);
    expect(items[0]!.data.length).toBe(24 + 10 * 9);
  });

  it("refuses a reference count going negative", () => {
    const t = memTree(16384);
    const r = new DelayedRefs(t, 16384);
    r.modify(0x1000n, true, 16384n, 0, { type: 176, root: 5n }, 1);
    r.run({ tree: t, generation: 2n, nodesize: 16384, extentFreed: () => {} });
    r.modify(0x1000n, true, 16384n, 0, { type: 176, root: 6n }, -1);
    expect(() =>
      r.run({ tree: t, generation: 3n, nodesize: 16384, extentFreed: () => {} }),
    ).toThrow(/count -1/);
  });
});
