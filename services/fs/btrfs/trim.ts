// Giving an image's free space back to the host (docs/btrfs.md "Giving space back"): space a commit
// freed is punched out of the sparse image file right after that commit, and `ncw fs trim` punches
// every range the last commit does not use (free space in chunks, device space in no chunk).

import type { SpaceManager } from "./alloc/allocator.js";
import type { ChunkMap } from "./chunks.js";
import type { BlockDevice } from "./device.js";
import { SUPER_INFO_SIZE, SUPER_MIRROR_OFFSETS } from "./format/superblock.js";

/** The device's first MiB (boot area and primary superblock) is never handed out nor punched. */
const RESERVED_START = 1n << 20n;

/**
 * Punches the physical copies of logical ranges `[start, length]` (each inside one chunk; DUP has
 * two copies). Returns the bytes given back, 0 when the device cannot punch.
 */
export function discardLogical(
  dev: BlockDevice,
  map: ChunkMap,
  ranges: Iterable<readonly [number, number]>,
): bigint {
  if (!dev.discard) return 0n;
  let done = 0n;
  for (const [start, len] of ranges) {
    if (len <= 0) continue;
    for (const p of map.map(BigInt(start), len)) {
      if (!dev.discard(p.physical, BigInt(len))) return done;
      done += BigInt(len);
    }
  }
  return done;
}

/** Ranges [start, end) of `[lo, hi)` not covered by any of `used` (which may overlap). */
function gaps(lo: bigint, hi: bigint, used: Array<[bigint, bigint]>): Array<[bigint, bigint]> {
  const out: Array<[bigint, bigint]> = [];
  let pos = lo;
  for (const [s, e] of [...used].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))) {
    if (e <= pos) continue;
    if (s > pos) out.push([pos, s < hi ? s : hi]);
    if (e > pos) pos = e;
    if (pos >= hi) break;
  }
  if (pos < hi) out.push([pos, hi]);
  return out.filter(([s, e]) => e > s);
}

/**
 * Punches everything the last commit does not use: free space of every block group, and device
 * space outside every chunk (past the first MiB, sparing the superblock copies). Call it with no
 * transaction open (the space manager then holds exactly the committed free space). Returns the
 * bytes given back (already-sparse ranges count too: the host does not say), 0 where the device
 * cannot punch.
 */
export function trimFreeSpace(dev: BlockDevice, map: ChunkMap, sm: SpaceManager): bigint {
  if (!dev.discard) return 0n;
  let done = 0n;
  for (const g of sm.groups) {
    const got = discardLogical(dev, map, g.free.ranges());
    done += got;
    if (got === 0n && g.free.count > 0) return done;
  }
  const used: Array<[bigint, bigint]> = [];
  for (const c of map.all()) {
    for (const st of c.chunk.stripes) used.push([st.offset, st.offset + c.chunk.length]);
  }
  for (const off of SUPER_MIRROR_OFFSETS) used.push([off, off + BigInt(SUPER_INFO_SIZE)]);
  for (const [s, e] of gaps(RESERVED_START, dev.size, used)) {
    if (!dev.discard(s, e - s)) return done;
    done += e - s;
  }
  return done;
}
