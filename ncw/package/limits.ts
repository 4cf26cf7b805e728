// Decompression-bomb protection for packages: the size, ratio and entry limits every package read
// obeys (DIRECTION §4; issue 2 "hostile packages never hurt the host"). Documented in docs/packages.md.

import { PATH_MAX_BYTES } from "./names.js";
import type { TarReadLimits } from "./tar.js";

export interface PackageLimits extends TarReadLimits {
  /** Largest compressed package accepted, in bytes. */
  maxCompressedSize: number;
  /** Largest uncompressed-to-compressed size ratio accepted ... */
  maxRatio: number;
  /** ... once the uncompressed size exceeds this many bytes (tiny archives compress extremely well). */
  ratioFloor: number;
}

export const DEFAULT_LIMITS: PackageLimits = {
  maxCompressedSize: 1024 * 1024 * 1024,
  maxTotalSize: 1024 * 1024 * 1024,
  maxFileSize: 512 * 1024 * 1024,
  maxEntries: 65_536,
  maxPathBytes: PATH_MAX_BYTES,
  maxRatio: 1000,
  ratioFloor: 16 * 1024 * 1024,
};

/** Fill unspecified limits with the defaults, rejecting nonsense values (a programming error). */
export function resolveLimits(partial: Partial<PackageLimits> = {}): PackageLimits {
  const l = { ...DEFAULT_LIMITS, ...partial };
  for (const [k, v] of Object.entries(l)) {
    if (!Number.isSafeInteger(v) || v < 0)
      throw new Error(`package limit ${k} must be a non-negative integer`);
  }
  return l;
}
