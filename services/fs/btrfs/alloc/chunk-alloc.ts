// New chunks for a filling image (kernel volumes.c's role, single device): where on the device a
// chunk's stripes go (holes between DEV_EXTENTs), and the items that create it — CHUNK_ITEM,
// DEV_EXTENT per stripe, DEV_ITEM bytes_used, BLOCK_GROUP_ITEM — plus the in-memory maps.

import type { BtrfsEngine } from "../engine.js";
import {
  BLOCK_GROUP_DATA,
  BLOCK_GROUP_DUP,
  BLOCK_GROUP_METADATA,
  type ChunkItem,
  decodeDevExtent,
  decodeDevItem,
  encodeBlockGroupItem,
  encodeChunkItem,
  encodeDevExtent,
  encodeDevItem,
  STRIPE_LEN,
} from "../format/items.js";
import {
  BLOCK_GROUP_ITEM_KEY,
  CHUNK_ITEM_KEY,
  CHUNK_TREE_OBJECTID,
  DEV_EXTENT_KEY,
  DEV_ITEM_KEY,
  DEV_ITEMS_OBJECTID,
  DEV_TREE_OBJECTID,
  EXTENT_TREE_OBJECTID,
  FIRST_CHUNK_TREE_OBJECTID,
  U64_MAX,
} from "../format/key.js";
import { SUPER_MIRROR_OFFSETS } from "../format/superblock.js";
import type { BTree } from "../tree/ctree.js";
import type { SpaceManager } from "./allocator.js";

const MiB = 1 << 20;

/** A chunk ready to be added: its logical start, length, flags and stripe offsets. */
export interface PlannedChunk {
  logical: bigint;
  size: number;
  flags: bigint;
  offsets: number[];
}

/** Free ranges of the device not used by any chunk stripe (from the dev tree), MiB-aligned. */
export function deviceHoles(e: BtrfsEngine, tree: BTree): Array<[number, number]> {
  const devid = e.sb.devItem.devid;
  const total = Number(e.sb.devItem.totalBytes);
  const holes: Array<[number, number]> = [];
  let pos = MiB; // btrfs leaves the first MiB of the device alone
  const exts = tree.items(
    DEV_TREE_OBJECTID,
    { objectid: devid, type: DEV_EXTENT_KEY, offset: 0n },
    { objectid: devid, type: DEV_EXTENT_KEY, offset: U64_MAX },
  );
  for (const it of exts) {
    const start = Number(it.key.offset);
    const len = Number(decodeDevExtent(it.data).length);
    if (start > pos) holes.push([pos, start - pos]);
    pos = Math.max(pos, Math.ceil((start + len) / MiB) * MiB);
  }
  if (total > pos) holes.push([pos, Math.floor((total - pos) / MiB) * MiB]);
  return holes.filter(([, l]) => l > 0);
}

/**
 * Plan a chunk for `kind` holding at least `minLen` bytes: the profile of the existing groups of
 * that kind (DUP metadata by default), a tenth of the device (8 MiB..1 GiB data, ..256 MiB
 * metadata), halved until its stripes fit in the device's holes. Undefined when nothing fits.
 */
export function planChunk(
  e: BtrfsEngine,
  tree: BTree,
  sm: SpaceManager,
  kind: "data" | "metadata",
  minLen: number,
): PlannedChunk | undefined {
  const flags =
    sm.flagsOf(kind) ??
    (kind === "data" ? BLOCK_GROUP_DATA : BLOCK_GROUP_METADATA | BLOCK_GROUP_DUP);
  const copies = (flags & BLOCK_GROUP_DUP) !== 0n ? 2 : 1;
  const total = Number(e.sb.totalBytes);
  const cap = kind === "data" ? 1024 * MiB : 256 * MiB;
  const need = Math.ceil(minLen / MiB) * MiB;
  let size = Math.max(need, Math.min(cap, Math.max(8 * MiB, Math.floor(total / 10 / MiB) * MiB)));
  const holes = deviceHoles(e, tree);
  const place = (sz: number): number[] | undefined => {
    const out: number[] = [];
    for (const [s, l] of holes) {
      let at = s;
      while (out.length < copies && at + sz <= s + l) {
        out.push(at);
        at += sz;
      }
    }
    return out.length === copies ? out : undefined;
  };
  let offsets = place(size);
  while (!offsets && size > need) {
    size = Math.max(need, Math.floor(size / 2 / MiB) * MiB);
    offsets = place(size);
  }
  if (!offsets) return undefined;
  let logical = 0n;
  for (const c of e.chunkMap.all()) {
    const end = c.logical + c.chunk.length;
    if (end > logical) logical = end;
  }
  return { logical, size, flags, offsets };
}

/**
 * Create a planned chunk: in-memory chunk map and block group first (so the tree blocks the new
 * items need can come from it), then the items. Returns the device bytes it uses.
 */
export function addChunk(e: BtrfsEngine, tree: BTree, sm: SpaceManager, p: PlannedChunk): bigint {
  const devid = e.sb.devItem.devid;
  const chunk: ChunkItem = {
    length: BigInt(p.size),
    owner: EXTENT_TREE_OBJECTID,
    stripeLen: STRIPE_LEN,
    type: p.flags,
    ioAlign: 65536,
    ioWidth: 65536,
    sectorSize: e.sectorsize,
    subStripes: 1,
    stripes: p.offsets.map((o) => ({ devid, offset: BigInt(o), devUuid: e.sb.devItem.uuid })),
  };
  e.chunkMap.add(p.logical, chunk);
  const g = sm.addGroup(Number(p.logical), p.size, p.flags, FIRST_CHUNK_TREE_OBJECTID, 0n);
  sm.excludeSuperStripes(
    g,
    chunk.stripes.map((st) => st.offset),
    SUPER_MIRROR_OFFSETS,
  );
  g.dirty = true;
  tree.insertItem(
    CHUNK_TREE_OBJECTID,
    { objectid: FIRST_CHUNK_TREE_OBJECTID, type: CHUNK_ITEM_KEY, offset: p.logical },
    encodeChunkItem(chunk),
  );
  for (const o of p.offsets) {
    tree.insertItem(
      DEV_TREE_OBJECTID,
      { objectid: devid, type: DEV_EXTENT_KEY, offset: BigInt(o) },
      encodeDevExtent({
        chunkTree: CHUNK_TREE_OBJECTID,
        chunkObjectid: FIRST_CHUNK_TREE_OBJECTID,
        chunkOffset: p.logical,
        length: BigInt(p.size),
        chunkTreeUuid: e.chunkTreeUuid,
      }),
    );
  }
  const devKey = { objectid: DEV_ITEMS_OBJECTID, type: DEV_ITEM_KEY, offset: devid };
  const dev = decodeDevItem(tree.lookup(CHUNK_TREE_OBJECTID, devKey)!);
  const added = BigInt(p.size * p.offsets.length);
  dev.bytesUsed += added;
  tree.updateItem(CHUNK_TREE_OBJECTID, devKey, encodeDevItem(dev));
  tree.insertItem(
    e.blockGroupRoot,
    { objectid: p.logical, type: BLOCK_GROUP_ITEM_KEY, offset: BigInt(p.size) },
    encodeBlockGroupItem({ used: 0n, chunkObjectid: FIRST_CHUNK_TREE_OBJECTID, flags: p.flags }),
  );
  return added;
}
