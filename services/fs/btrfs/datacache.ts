// The data cache: file data by logical address, kept after it was verified against its checksums
// or written by this process. It is NCW's equivalent of the kernel's page cache, and btrfs relies
// on the page cache the same way: the kernel verifies a data sector's crc32c when the sector is
// read from the device, never again while the page stays cached. gVisor's sentry keeps its own
// page cache of host files for the same reason.
//
// Invariant: a cached sector equals what the device holds at that logical address under the
// engine's chunk map. Everything that changes data on the device keeps it:
// - a data write (Transaction.writeData) stores the written sectors here (write-through);
// - a freed data extent is dropped (its space is reused after the commit that freed it);
// - an aborted transaction clears everything (it may have removed chunks it added).
// Only one writer opens an image (lock.ts), and read-only engines never move past their commit,
// so no other process can change what a cached address holds for this engine's trees.
//
// Sectors are grouped in units of 32 consecutive sectors (128 KiB with 4 KiB sectors), each with a
// bitmask of the sectors it holds. Units are evicted least recently used first once the cache
// holds `capacity` bytes of units. Buffers of evicted units are reused, so a full cache makes no
// garbage. The bound is documented in docs/btrfs.md ("Data cache").

import os from "node:os";
import { NcwError } from "../../../ncw/errors.js";

const SECTORS_PER_UNIT = 32;

interface Unit {
  buf: Uint8Array;
  /** Bit i set: sector i of the unit is cached. */
  mask: number;
}

/** Bits s0..s1-1 of a 32-bit mask (unsigned). */
function bits(s0: number, s1: number): number {
  const upTo = s1 >= 32 ? 0xffffffff : (1 << s1) - 1;
  return (upTo & ~((1 << s0) - 1)) >>> 0;
}

export interface DataCacheStats {
  capacity: number;
  /** Bytes of units held (a unit counts whole, even when only some of its sectors are cached). */
  bytes: number;
  /** Reads answered entirely from the cache, and reads that went to the device. */
  hits: number;
  misses: number;
}

/**
 * The default capacity: NCW_BTRFS_CACHE_MIB when set (0 turns the cache off), else 1/16 of the
 * machine's memory, at most 512 MiB.
 */
export function defaultDataCacheBytes(): number {
  const env = process.env.NCW_BTRFS_CACHE_MIB;
  if (env !== undefined && env !== "") {
    if (!/^\d+$/.test(env)) {
      throw new NcwError(
        "usage",
        `NCW_BTRFS_CACHE_MIB must be a whole number of MiB, not "${env}"`,
        {
          code: "BTRFS_BAD_CACHE_SIZE",
          hint: "Set NCW_BTRFS_CACHE_MIB=0 to turn the data cache off, or unset it for the default.",
        },
      );
    }
    return Number(env) * 1024 * 1024;
  }
  return Math.min(512 * 1024 * 1024, Math.floor(os.totalmem() / 16));
}

export class DataCache {
  readonly unitBytes: number;
  private readonly maxUnits: number;
  /** Map order is recency order: the first unit is the least recently used. */
  private readonly units = new Map<number, Unit>();
  private readonly spare: Uint8Array[] = [];
  private hits = 0;
  private misses = 0;

  constructor(
    readonly sectorsize: number,
    readonly capacity: number = defaultDataCacheBytes(),
  ) {
    this.unitBytes = sectorsize * SECTORS_PER_UNIT;
    this.maxUnits = Math.floor(capacity / this.unitBytes);
  }

  get enabled(): boolean {
    return this.maxUnits > 0;
  }

  stats(): DataCacheStats {
    return {
      capacity: this.capacity,
      bytes: this.units.size * this.unitBytes,
      hits: this.hits,
      misses: this.misses,
    };
  }

  /** Whole sectors at a sector-aligned address: the range split into (unit, first sector, end sector). */
  private *spans(bytenr: bigint, len: number): Generator<[number, number, number, number]> {
    const ss = this.sectorsize;
    const ub = this.unitBytes;
    let pos = Number(bytenr);
    const end = pos + len;
    let at = 0; // offset in the caller's buffer
    while (pos < end) {
      const ui = Math.floor(pos / ub);
      const base = ui * ub;
      const stop = Math.min(end, base + ub);
      yield [ui, (pos - base) / ss, Math.ceil((stop - base) / ss), at];
      at += stop - pos;
      pos = stop;
    }
  }

  private aligned(bytenr: bigint, len: number): boolean {
    return len > 0 && Number(bytenr) % this.sectorsize === 0 && len % this.sectorsize === 0;
  }

  /**
   * Copies [bytenr, bytenr + dest.length) into `dest` when every sector of it is cached, and
   * returns true; returns false (dest unspecified) otherwise. Whole, aligned sectors only.
   */
  readInto(bytenr: bigint, dest: Uint8Array): boolean {
    if (!this.enabled || !this.aligned(bytenr, dest.length)) return false;
    const ss = this.sectorsize;
    for (const [ui, s0, s1] of this.spans(bytenr, dest.length)) {
      const u = this.units.get(ui);
      const want = bits(s0, s1);
      if (!u || (u.mask & want) >>> 0 !== want) {
        this.misses++;
        return false;
      }
    }
    for (const [ui, s0, s1, at] of this.spans(bytenr, dest.length)) {
      const u = this.units.get(ui)!;
      dest.set(u.buf.subarray(s0 * ss, s1 * ss), at);
      this.units.delete(ui); // most recently used now
      this.units.set(ui, u);
    }
    this.hits++;
    return true;
  }

  /** Stores whole sectors read (and verified) or written at `bytenr`. */
  put(bytenr: bigint, data: Uint8Array): void {
    if (!this.enabled || !this.aligned(bytenr, data.length)) return;
    const ss = this.sectorsize;
    for (const [ui, s0, s1, at] of this.spans(bytenr, data.length)) {
      let u = this.units.get(ui);
      if (u) this.units.delete(ui);
      else u = { buf: this.unitBuffer(), mask: 0 };
      u.buf.set(data.subarray(at, at + (s1 - s0) * ss), s0 * ss);
      u.mask = (u.mask | bits(s0, s1)) >>> 0;
      this.units.set(ui, u);
    }
  }

  /** Forgets every cached sector that overlaps [bytenr, bytenr + len). */
  drop(bytenr: bigint, len: bigint | number): void {
    const n = Number(len);
    if (this.units.size === 0 || n <= 0) return;
    const ss = this.sectorsize;
    const start = Math.floor(Number(bytenr) / ss) * ss;
    const end = Math.ceil((Number(bytenr) + n) / ss) * ss;
    for (const [ui, s0, s1] of this.spans(BigInt(start), end - start)) {
      const u = this.units.get(ui);
      if (!u) continue;
      u.mask = (u.mask & ~bits(s0, s1)) >>> 0;
      if (u.mask === 0) {
        this.units.delete(ui);
        this.spare.push(u.buf);
      }
    }
  }

  clear(): void {
    for (const u of this.units.values()) this.spare.push(u.buf);
    this.units.clear();
  }

  /** A buffer for a new unit: a spare one, the least recently used unit's, or a new one. */
  private unitBuffer(): Uint8Array {
    const spare = this.spare.pop();
    if (spare) return spare;
    if (this.units.size >= this.maxUnits) {
      const [oldest, u] = this.units.entries().next().value as [number, Unit];
      this.units.delete(oldest);
      return u.buf;
    }
    const b = Buffer.allocUnsafeSlow(this.unitBytes);
    return new Uint8Array(b.buffer, b.byteOffset, b.length);
  }
}
