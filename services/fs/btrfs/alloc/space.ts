// In-memory free space of Btrfs block groups: disjoint byte ranges per block group, with the space
// freed in the running transaction kept apart ("pinned") until the commit that frees it is durable.

import { NcwError } from "../../../../ncw/errors.js";

/** A set of disjoint half-open ranges [start, end) of logical bytes, kept sorted and merged. */
export class ExtentSet {
  starts: number[] = [];
  ends: number[] = [];

  /** Index of the last range with start <= pos, or -1. */
  private floor(pos: number): number {
    let lo = 0;
    let hi = this.starts.length - 1;
    let ans = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (this.starts[mid]! <= pos) {
        ans = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return ans;
  }

  get count(): number {
    return this.starts.length;
  }

  total(): number {
    let t = 0;
    for (let i = 0; i < this.starts.length; i++) t += this.ends[i]! - this.starts[i]!;
    return t;
  }

  /** Add [start, start+len); it must not overlap what is already there. */
  add(start: number, len: number): void {
    if (len <= 0) return;
    const end = start + len;
    const i = this.floor(start);
    if (i >= 0 && this.ends[i]! > start) throw overlap(start, len);
    const j = i + 1;
    if (j < this.starts.length && this.starts[j]! < end) throw overlap(start, len);
    const mergeLeft = i >= 0 && this.ends[i] === start;
    const mergeRight = j < this.starts.length && this.starts[j] === end;
    if (mergeLeft && mergeRight) {
      this.ends[i] = this.ends[j]!;
      this.starts.splice(j, 1);
      this.ends.splice(j, 1);
    } else if (mergeLeft) this.ends[i] = end;
    else if (mergeRight) this.starts[j] = start;
    else {
      this.starts.splice(j, 0, start);
      this.ends.splice(j, 0, end);
    }
  }

  /** Remove [start, start+len); it must lie inside one range. */
  remove(start: number, len: number): void {
    if (len <= 0) return;
    const end = start + len;
    const i = this.floor(start);
    if (i < 0 || this.ends[i]! < end) {
      throw new NcwError("data", `btrfs free space: range ${start}+${len} is not free`, {
        code: "BTRFS_SPACE_NOT_FREE",
        hint: "The extent tree and the block groups disagree; run `btrfs check` on the image.",
      });
    }
    const s = this.starts[i]!;
    const e = this.ends[i]!;
    if (s === start && e === end) {
      this.starts.splice(i, 1);
      this.ends.splice(i, 1);
    } else if (s === start) this.starts[i] = end;
    else if (e === end) this.ends[i] = start;
    else {
      this.ends[i] = start;
      this.starts.splice(i + 1, 0, end);
      this.ends.splice(i + 1, 0, e);
    }
  }

  contains(start: number, len: number): boolean {
    const i = this.floor(start);
    return i >= 0 && this.ends[i]! >= start + len;
  }

  /** First start >= from where `len` bytes are free (aligned to `align`), or -1. */
  findFit(len: number, from: number, align: number): number {
    let i = Math.max(0, this.floor(from));
    for (; i < this.starts.length; i++) {
      let s = Math.max(this.starts[i]!, from);
      s = Math.ceil(s / align) * align;
      if (s + len <= this.ends[i]!) return s;
    }
    return -1;
  }

  ranges(): Array<[number, number]> {
    return this.starts.map((s, i) => [s, this.ends[i]! - s]);
  }

  /** Remove whatever part of [start, start+len) is in the set; returns the removed ranges. */
  subtract(start: number, len: number): Array<[number, number]> {
    const end = start + len;
    const removed: Array<[number, number]> = [];
    for (const [s, l] of this.ranges()) {
      const a = Math.max(s, start);
      const b = Math.min(s + l, end);
      if (a < b) removed.push([a, b - a]);
    }
    for (const [a, l] of removed) this.remove(a, l);
    return removed;
  }

  clone(): ExtentSet {
    const c = new ExtentSet();
    c.starts = this.starts.slice();
    c.ends = this.ends.slice();
    return c;
  }

  /** The union of this set and another (disjoint) one. */
  union(other: ExtentSet): ExtentSet {
    const c = this.clone();
    for (const [s, l] of other.ranges()) c.add(s, l);
    return c;
  }
}

function overlap(start: number, len: number): NcwError {
  return new NcwError("data", `btrfs free space: range ${start}+${len} is already free`, {
    code: "BTRFS_SPACE_DOUBLE_FREE",
    hint: "An extent was freed twice; run `btrfs check` on the image.",
  });
}

/** One block group (a chunk's logical range) and its free space. */
export interface BlockGroup {
  start: number;
  length: number;
  /** BLOCK_GROUP_* type and profile bits. */
  flags: bigint;
  chunkObjectid: bigint;
  /** Space that can be allocated now. */
  free: ExtentSet;
  /** Space freed by the running transaction: free once it commits, not reusable before. */
  pinned: ExtentSet;
  /**
   * Free space never handed out because a superblock copy lives there (btrfs excludes the 64 KiB
   * stripe holding it); the free space tree still lists it as free, as btrfs does.
   */
  excluded: ExtentSet;
  /** `used` as last written in the block group item. */
  storedUsed: bigint;
  /** Needs its block group item and free space tree entries rewritten at commit. */
  dirty: boolean;
  /** Where the next first-fit search starts (keeps allocations together). */
  cursor: number;
}

/** Bytes in use in a block group (everything neither free, pinned nor excluded). */
export function blockGroupUsed(bg: BlockGroup): number {
  return bg.length - bg.free.total() - bg.pinned.total() - bg.excluded.total();
}

/** What the free space tree must list for a block group. */
export function freeSpaceOnDisk(bg: BlockGroup): ExtentSet {
  return bg.free.union(bg.pinned).union(bg.excluded);
}
