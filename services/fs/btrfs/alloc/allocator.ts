// Block-group space accounting of a Btrfs image: which logical ranges are free, allocation of tree
// blocks (METADATA / SYSTEM groups) and data extents (DATA groups), pinning of freed space until
// commit, and the figures the superblock and block group items record.

import { NcwError } from "../../../../ncw/errors.js";
import { BLOCK_GROUP_DATA, BLOCK_GROUP_METADATA, BLOCK_GROUP_SYSTEM } from "../format/items.js";
import { type BlockGroup, blockGroupUsed, ExtentSet } from "./space.js";

export type SpaceKind = "data" | "metadata" | "system";

function kindOf(flags: bigint): SpaceKind | undefined {
  if ((flags & BLOCK_GROUP_SYSTEM) !== 0n) return "system";
  if ((flags & BLOCK_GROUP_METADATA) !== 0n) return "metadata";
  if ((flags & BLOCK_GROUP_DATA) !== 0n) return "data";
  return undefined;
}

export class SpaceManager {
  /** Sorted by start. */
  readonly groups: BlockGroup[] = [];
  private saved: Array<{
    bg: BlockGroup;
    free: ExtentSet;
    pinned: ExtentSet;
    dirty: boolean;
    cursor: number;
  }> = [];

  constructor(
    readonly nodesize: number,
    readonly sectorsize: number,
  ) {}

  /** Registers a block group as entirely free (the caller then sets its real free space). */
  addGroup(
    start: number,
    length: number,
    flags: bigint,
    chunkObjectid: bigint,
    storedUsed: bigint,
  ): BlockGroup {
    const free = new ExtentSet();
    free.add(start, length);
    const bg: BlockGroup = {
      start,
      length,
      flags,
      chunkObjectid,
      free,
      pinned: new ExtentSet(),
      excluded: new ExtentSet(),
      storedUsed,
      dirty: false,
      cursor: start,
    };
    let i = this.groups.length;
    while (i > 0 && this.groups[i - 1]!.start > start) i--;
    this.groups.splice(i, 0, bg);
    return bg;
  }

  groupOf(bytenr: number): BlockGroup {
    let lo = 0;
    let hi = this.groups.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const g = this.groups[mid]!;
      if (bytenr < g.start) hi = mid - 1;
      else if (bytenr >= g.start + g.length) lo = mid + 1;
      else return g;
    }
    throw new NcwError("data", `btrfs: logical address ${bytenr} is in no block group`, {
      code: "BTRFS_NO_BLOCK_GROUP",
      hint: "The extent tree references space outside every block group; run `btrfs check`.",
    });
  }

  /**
   * Keep the superblock copies out of reach: for every stripe of the group's chunk holding a
   * superblock offset, the 64 KiB stripe unit around it is excluded from allocation.
   */
  excludeSuperStripes(
    bg: BlockGroup,
    stripeOffsets: readonly bigint[],
    superOffsets: readonly bigint[],
  ): void {
    const unit = 65536;
    for (const so of superOffsets) {
      for (const st of stripeOffsets) {
        if (so < st || so >= st + BigInt(bg.length)) continue;
        const rel = Math.floor(Number(so - st) / unit) * unit;
        const len = Math.min(unit, bg.length - rel);
        for (const [a, l] of bg.free.subtract(bg.start + rel, len)) bg.excluded.add(a, l);
      }
    }
  }

  /** Allocate `len` bytes from a group of this kind (first fit from the group's cursor). */
  alloc(kind: SpaceKind, len: number): number | undefined {
    const align = kind === "data" ? this.sectorsize : this.nodesize;
    for (const g of this.groups) {
      if (kindOf(g.flags) !== kind) continue;
      let s = g.free.findFit(len, g.cursor, align);
      if (s < 0 && g.cursor > g.start) s = g.free.findFit(len, g.start, align);
      if (s < 0) continue;
      g.free.remove(s, len);
      g.cursor = s + len;
      g.dirty = true;
      return s;
    }
    return undefined;
  }

  /** Space freed in this transaction: reusable only after the commit. */
  pin(bytenr: number, len: number): void {
    const g = this.groupOf(bytenr);
    g.pinned.add(bytenr, len);
    g.dirty = true;
  }

  /** Give back space allocated in this transaction and never referenced. */
  unreserve(bytenr: number, len: number): void {
    const g = this.groupOf(bytenr);
    g.free.add(bytenr, len);
    g.dirty = true;
  }

  /** Remember the state at the start of a transaction (for abort). */
  save(): void {
    this.saved = this.groups.map((g) => ({
      bg: g,
      free: g.free.clone(),
      pinned: g.pinned.clone(),
      dirty: g.dirty,
      cursor: g.cursor,
    }));
  }

  restore(): void {
    // Groups created by the aborted transaction disappear again.
    const keep = new Set(this.saved.map((s) => s.bg));
    for (let i = this.groups.length - 1; i >= 0; i--) {
      if (!keep.has(this.groups[i]!)) this.groups.splice(i, 1);
    }
    this.saved.forEach((s) => {
      const g = s.bg;
      g.free = s.free;
      g.pinned = s.pinned;
      g.dirty = s.dirty;
      g.cursor = s.cursor;
    });
  }

  /** After a durable commit: pinned space becomes allocatable, nothing is dirty. */
  committed(): void {
    for (const g of this.groups) {
      for (const [s, l] of g.pinned.ranges()) g.free.add(s, l);
      g.pinned = new ExtentSet();
      g.dirty = false;
      g.storedUsed = BigInt(blockGroupUsed(g));
    }
  }

  /** Free (allocatable) bytes in groups of this kind. */
  freeBytes(kind: SpaceKind): number {
    let t = 0;
    for (const g of this.groups) if (kindOf(g.flags) === kind) t += g.free.total();
    return t;
  }

  /** Whether `len` contiguous bytes can be allocated from groups of this kind. */
  canFit(kind: SpaceKind, len: number): boolean {
    const align = kind === "data" ? this.sectorsize : this.nodesize;
    return this.groups.some(
      (g) => kindOf(g.flags) === kind && g.free.findFit(len, g.start, align) >= 0,
    );
  }

  /** The flags (type and profile) existing groups of this kind use, if any. */
  flagsOf(kind: SpaceKind): bigint | undefined {
    return this.groups.find((g) => kindOf(g.flags) === kind)?.flags;
  }

  totalUsed(): bigint {
    let t = 0;
    for (const g of this.groups) t += blockGroupUsed(g);
    return BigInt(t);
  }

  figures(kind: SpaceKind): { total: bigint; used: bigint } {
    let total = 0;
    let used = 0;
    for (const g of this.groups) {
      if (kindOf(g.flags) !== kind) continue;
      total += g.length;
      used += blockGroupUsed(g);
    }
    return { total: BigInt(total), used: BigInt(used) };
  }
}
