// The free space tree (btrfs free-space-tree.c's role): per block group a FREE_SPACE_INFO and either
// FREE_SPACE_EXTENT items or FREE_SPACE_BITMAP items, switched at the kernel's thresholds.

import {
  decodeFreeSpaceInfo,
  encodeFreeSpaceInfo,
  FREE_SPACE_USING_BITMAPS,
} from "../format/items.js";
import {
  FREE_SPACE_BITMAP_KEY,
  FREE_SPACE_EXTENT_KEY,
  FREE_SPACE_INFO_KEY,
  FREE_SPACE_TREE_OBJECTID,
  type Key,
  U64_MAX,
} from "../format/key.js";
import { ITEM_SIZE } from "../format/node.js";
import type { BTree } from "../tree/ctree.js";
import { type BlockGroup, freeSpaceOnDisk } from "./space.js";

/** Bytes of one bitmap item's data (BTRFS_FREE_SPACE_BITMAP_SIZE). */
export const FREE_SPACE_BITMAP_SIZE = 256;

/** The kernel's conversion thresholds for a block group (btrfs_set_free_space_tree_thresholds). */
export function bitmapThresholds(
  length: number,
  sectorsize: number,
): { high: number; low: number } {
  const range = 8 * FREE_SPACE_BITMAP_SIZE * sectorsize;
  const numBitmaps = Math.ceil(length / range);
  const high = Math.floor((numBitmaps * (ITEM_SIZE + FREE_SPACE_BITMAP_SIZE)) / ITEM_SIZE);
  return { high, low: high > 100 ? high - 100 : 0 };
}

/** The bitmap items describing `free` in a block group: key and bits (1 = free sector, LSB first). */
export function bitmapItems(
  g: BlockGroup,
  free: Array<[number, number]>,
  sectorsize: number,
): Array<{ key: Key; data: Uint8Array }> {
  const range = 8 * FREE_SPACE_BITMAP_SIZE * sectorsize;
  const out: Array<{ key: Key; data: Uint8Array }> = [];
  for (let off = 0; off < g.length; off += range) {
    const bstart = g.start + off;
    const blen = Math.min(range, g.length - off);
    const bits = new Uint8Array(Math.ceil(blen / sectorsize / 8));
    for (const [s, l] of free) {
      const a = Math.max(s, bstart);
      const b = Math.min(s + l, bstart + blen);
      for (let x = a; x < b; x += sectorsize) {
        const bit = (x - bstart) / sectorsize;
        bits[bit >> 3]! |= 1 << (bit & 7);
      }
    }
    out.push({
      key: { objectid: BigInt(bstart), type: FREE_SPACE_BITMAP_KEY, offset: BigInt(blen) },
      data: bits,
    });
  }
  return out;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/**
 * Make a block group's free space tree entries describe its free space (free + pinned + excluded),
 * writing only the differences. Returns whether anything was written.
 */
export function syncFreeSpace(tree: BTree, g: BlockGroup, sectorsize: number): boolean {
  const F = FREE_SPACE_TREE_OBJECTID;
  const start = BigInt(g.start);
  const end = BigInt(g.start + g.length);
  const infoKey = { objectid: start, type: FREE_SPACE_INFO_KEY, offset: BigInt(g.length) };
  const desired = freeSpaceOnDisk(g).ranges();
  const infoData = tree.lookup(F, infoKey);
  const info = infoData ? decodeFreeSpaceInfo(infoData) : { extentCount: 0, flags: 0 };
  const wasBitmaps = (info.flags & FREE_SPACE_USING_BITMAPS) !== 0;
  const th = bitmapThresholds(g.length, sectorsize);
  const count = desired.length;
  const useBitmaps = wasBitmaps ? count >= th.low : count > th.high;
  const existing = tree.items(
    F,
    { objectid: start, type: FREE_SPACE_EXTENT_KEY, offset: 0n },
    { objectid: end - 1n, type: FREE_SPACE_BITMAP_KEY, offset: U64_MAX },
  );
  let changed = false;
  if (useBitmaps) {
    const want = bitmapItems(g, desired, sectorsize);
    const wantKeys = new Set(want.map((w) => `${w.key.objectid}:${w.key.offset}`));
    for (const it of existing) {
      const keep =
        it.key.type === FREE_SPACE_BITMAP_KEY &&
        wantKeys.has(`${it.key.objectid}:${it.key.offset}`);
      if (!keep) {
        tree.deleteItem(F, it.key);
        changed = true;
      }
    }
    for (const w of want) {
      const cur = existing.find(
        (it) =>
          it.key.type === FREE_SPACE_BITMAP_KEY &&
          it.key.objectid === w.key.objectid &&
          it.key.offset === w.key.offset,
      );
      if (cur && sameBytes(cur.data, w.data)) continue;
      tree.putItem(F, w.key, w.data);
      changed = true;
    }
  } else {
    // The entries and the ranges wanted are both sorted by start: one merge walk finds the entries
    // to keep, to delete and to add, without a set of every range of the group each pass.
    const add: Array<[number, number]> = [];
    let i = 0;
    for (const it of existing) {
      if (it.key.type === FREE_SPACE_EXTENT_KEY) {
        const s = Number(it.key.objectid);
        while (i < desired.length && desired[i]![0] < s) add.push(desired[i++]!);
        const d = desired[i];
        if (d !== undefined && d[0] === s && d[1] === Number(it.key.offset)) {
          i++;
          continue;
        }
      }
      tree.deleteItem(F, it.key);
      changed = true;
    }
    while (i < desired.length) add.push(desired[i++]!);
    for (const [s, l] of add) {
      tree.insertItem(
        F,
        { objectid: BigInt(s), type: FREE_SPACE_EXTENT_KEY, offset: BigInt(l) },
        new Uint8Array(0),
      );
      changed = true;
    }
  }
  const flags = useBitmaps
    ? info.flags | FREE_SPACE_USING_BITMAPS
    : info.flags & ~FREE_SPACE_USING_BITMAPS;
  if (!infoData || count !== info.extentCount || flags !== info.flags) {
    tree.putItem(F, infoKey, encodeFreeSpaceInfo({ extentCount: count, flags }));
    changed = true;
  }
  return changed;
}
