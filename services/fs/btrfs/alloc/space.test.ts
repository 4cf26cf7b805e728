// ExtentSet (free space ranges) and super-stripe exclusion.

import { describe, expect, it } from "vitest";
import { SpaceManager } from "./allocator.js";
import { ExtentSet } from "./space.js";

describe("ExtentSet", () => {
  it("merges neighbours, splits on removal and finds aligned fits", () => {
    const s = new ExtentSet();
    s.add(0, 10);
    s.add(20, 10);
    s.add(10, 10);
    expect(s.ranges()).toEqual([[0, 30]]);
    s.remove(5, 5);
    expect(s.ranges()).toEqual([
      [0, 5],
      [10, 20],
    ]);
    expect(s.total()).toBe(25);
    expect(s.findFit(8, 0, 4)).toBe(12);
    expect(s.findFit(30, 0, 1)).toBe(-1);
    expect(s.contains(10, 20)).toBe(true);
    expect(s.contains(4, 2)).toBe(false);
    expect(s.subtract(3, 10)).toEqual([
      [3, 2],
      [10, 3],
    ]);
    expect(s.ranges()).toEqual([
      [0, 3],
      [13, 17],
    ]);
  });

  it("refuses double frees and removing space that is not free", () => {
    const s = new ExtentSet();
    s.add(100, 50);
    expect(() => s.add(120, 10)).toThrow(/already free/);
    expect(() => s.remove(90, 20)).toThrow(/not free/);
  });
});

describe("SpaceManager", () => {
  it("keeps the 64 KiB stripe holding a superblock copy out of allocation", () => {
    const m = new SpaceManager(16384, 4096);
    // A metadata group at logical 30 MiB whose first copy sits at physical 37 MiB..69 MiB.
    const g = m.addGroup(30 << 20, 32 << 20, 4n, 256n, 0n);
    m.excludeSuperStripes(g, [37n << 20n, 72n << 20n], [65536n, 64n << 20n]);
    // 64 MiB is 27 MiB into the stripe: logical 57 MiB, 64 KiB.
    expect(g.excluded.ranges()).toEqual([[57 << 20, 65536]]);
    expect(g.free.contains(57 << 20, 1)).toBe(false);
    let n = 0;
    while (m.alloc("metadata", 16384) !== undefined) n++;
    expect(n).toBe(((32 << 20) - 65536) / 16384);
  });
});
