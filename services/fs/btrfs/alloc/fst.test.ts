// Free space tree representation: thresholds and bitmap layout against values worked out by hand
// from btrfs' free-space-tree.c rules.

import { describe, expect, it } from "vitest";
import { bitmapItems, bitmapThresholds } from "./fst.js";
import { type BlockGroup, ExtentSet } from "./space.js";

function group(start: number, length: number): BlockGroup {
  return {
    start,
    length,
    flags: 1n,
    chunkObjectid: 256n,
    free: new ExtentSet(),
    pinned: new ExtentSet(),
    excluded: new ExtentSet(),
    storedUsed: 0n,
    dirty: false,
    cursor: start,
  };
}

describe("free space tree bitmaps", () => {
  it("uses the kernel's thresholds", () => {
    // 8 MiB group, 4 KiB sectors: one bitmap (covers 8*256*4096 = 8 MiB): (25+256)/25 = 11.
    expect(bitmapThresholds(8 << 20, 4096)).toEqual({ high: 11, low: 0 });
    // 1 GiB: 128 bitmaps: 128*281/25 = 1438 (floor), low = 1338.
    expect(bitmapThresholds(1 << 30, 4096)).toEqual({ high: 1438, low: 1338 });
  });

  it("lays bits out one per sector, LSB first, one item per 8 MiB", () => {
    const g = group(1 << 20, 10 << 20); // 10 MiB: a full bitmap and a 2 MiB one
    const items = bitmapItems(
      g,
      [
        [(1 << 20) + 4096, 3 * 4096],
        [(1 << 20) + (8 << 20), 4096],
      ],
      4096,
    );
    expect(items.length).toBe(2);
    expect(items[0]!.key).toEqual({ objectid: 1048576n, type: 200, offset: 8388608n });
    expect(items[0]!.data.length).toBe(256);
    // sectors 1,2,3 free: 0b00001110
    expect(items[0]!.data[0]).toBe(0x0e);
    expect(items[0]!.data.subarray(1).every((b) => b === 0)).toBe(true);
    expect(items[1]!.key).toEqual({ objectid: 9437184n, type: 200, offset: 2097152n });
    expect(items[1]!.data.length).toBe(64);
    expect(items[1]!.data[0]).toBe(0x01);
  });
});
