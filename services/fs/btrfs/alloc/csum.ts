// Data checksums in the csum tree: items (EXTENT_CSUM_OBJECTID, EXTENT_CSUM, logical start) holding
// one crc32c per sector; insertion in item-sized pieces, deletion of a range (splitting items that
// straddle it, as items written by the kernel cover several extents), lookup per sector.

import {
  CSUM_TREE_OBJECTID,
  EXTENT_CSUM_KEY,
  EXTENT_CSUM_OBJECTID,
  type Key,
} from "../format/key.js";
import { ITEM_SIZE } from "../format/node.js";
import type { BTree } from "../tree/ctree.js";
import type { Item } from "../tree/index.js";

const CSUM_SIZE = 4;

export function csumKey(bytenr: bigint): Key {
  return { objectid: EXTENT_CSUM_OBJECTID, type: EXTENT_CSUM_KEY, offset: bytenr };
}

/** Csum items overlapping [bytenr, end): the one starting before it, if any, and those inside. */
function overlapping(
  tree: Pick<BTree, "lastAtOrBefore" | "items">,
  bytenr: bigint,
  end: bigint,
): Item[] {
  const out: Item[] = [];
  const before = tree.lastAtOrBefore(CSUM_TREE_OBJECTID, csumKey(bytenr));
  if (
    before &&
    before.key.objectid === EXTENT_CSUM_OBJECTID &&
    before.key.type === EXTENT_CSUM_KEY
  ) {
    out.push(before);
  }
  if (end > bytenr) {
    for (const it of tree.items(CSUM_TREE_OBJECTID, csumKey(bytenr), csumKey(end - 1n))) {
      if (!out.some((f) => f.key.offset === it.key.offset)) out.push(it);
    }
  }
  return out;
}

/** Store checksums (4 bytes per sector) for the sectors starting at `bytenr`. */
export function insertCsums(
  tree: BTree,
  sectorsize: number,
  bytenr: bigint,
  csums: Uint8Array,
): void {
  const ss = BigInt(sectorsize);
  // As btrfs' MAX_CSUM_ITEMS: an item a little under a leaf.
  const per = (Math.floor((tree.maxItem - ITEM_SIZE) / CSUM_SIZE) - 1) * CSUM_SIZE;
  for (let off = 0; off < csums.length; off += per) {
    const part = csums.subarray(off, Math.min(csums.length, off + per));
    tree.insertItem(CSUM_TREE_OBJECTID, csumKey(bytenr + BigInt(off / CSUM_SIZE) * ss), part);
  }
}

/** Delete the checksums of [bytenr, bytenr+len), keeping the parts of items outside it. */
export function deleteCsums(tree: BTree, sectorsize: number, bytenr: bigint, len: bigint): void {
  const ss = BigInt(sectorsize);
  const end = bytenr + len;
  for (const it of overlapping(tree, bytenr, end)) {
    const s = it.key.offset;
    const e = s + BigInt(it.data.length / CSUM_SIZE) * ss;
    if (e <= bytenr || s >= end) continue;
    tree.deleteItem(CSUM_TREE_OBJECTID, it.key);
    if (s < bytenr) {
      const n = Number((bytenr - s) / ss) * CSUM_SIZE;
      tree.insertItem(CSUM_TREE_OBJECTID, csumKey(s), it.data.slice(0, n));
    }
    if (e > end) {
      const n = Number((end - s) / ss) * CSUM_SIZE;
      tree.insertItem(CSUM_TREE_OBJECTID, csumKey(end), it.data.slice(n));
    }
  }
}

/** The stored checksum of each sector of [bytenr, bytenr+len) (undefined where none). */
export function lookupCsumsIn(
  tree: Pick<BTree, "lastAtOrBefore" | "items">,
  sectorsize: number,
  bytenr: bigint,
  len: bigint,
): (Uint8Array | undefined)[] {
  const ss = BigInt(sectorsize);
  const n = Number((len + ss - 1n) / ss);
  const out: (Uint8Array | undefined)[] = new Array(n).fill(undefined);
  const end = bytenr + len;
  for (const it of overlapping(tree, bytenr, end)) {
    const count = it.data.length / CSUM_SIZE;
    for (let i = 0; i < count; i++) {
      const at = it.key.offset + BigInt(i) * ss;
      if (at < bytenr || at >= end) continue;
      out[Number((at - bytenr) / ss)] = it.data.slice(i * CSUM_SIZE, (i + 1) * CSUM_SIZE);
    }
  }
  return out;
}
