// The data cache on its own (sectors, units, eviction, invalidation) and inside the engine: what a
// write leaves cached, what a free drops, what a corrupted image does with and without it.
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { expectCheckClean, onDisk, sameContent, tempDir } from "../../../test/btrfs-oracle.js";
import { DataCache, defaultDataCacheBytes } from "./datacache.js";
import { BtrfsFs } from "./fs.js";
import type { InodeId } from "./fsread.js";

const SS = 4096;
const UNIT = 32 * SS;

function sectors(first: number, count: number): Uint8Array {
  const out = new Uint8Array(count * SS);
  for (let i = 0; i < count; i++) out.fill((first + i) & 0xff, i * SS, (i + 1) * SS);
  return out;
}

describe("DataCache", () => {
  it("answers a read only when it holds every sector of it", () => {
    const c = new DataCache(SS, 4 * UNIT);
    const base = 10n * BigInt(UNIT);
    c.put(base + 4096n, sectors(1, 3)); // sectors 1..3 of unit 10
    const dest = new Uint8Array(2 * SS);
    expect(c.readInto(base + 4096n, dest)).toBe(true);
    expect(dest).toEqual(sectors(1, 2));
    expect(c.readInto(base + 3n * 4096n, dest)).toBe(false); // sector 4 missing
    expect(c.readInto(base, dest)).toBe(false); // sector 0 missing
    expect(c.readInto(base + 4096n + 1n, new Uint8Array(SS))).toBe(false); // not aligned
    expect(c.readInto(base + 4096n, new Uint8Array(SS + 1))).toBe(false); // not whole sectors
    expect(c.stats()).toMatchObject({ hits: 1, misses: 2, bytes: UNIT });
  });

  it("reads and writes across unit boundaries, up to the unit's last sector", () => {
    const c = new DataCache(SS, 4 * UNIT);
    const at = BigInt(UNIT - 2 * SS);
    c.put(at, sectors(7, 36)); // last 2 sectors of unit 0, all of unit 1, first 2 of unit 2
    const dest = new Uint8Array(36 * SS);
    expect(c.readInto(at, dest)).toBe(true);
    expect(sameContent(dest, sectors(7, 36))).toBe(true);
    const whole = new Uint8Array(UNIT);
    expect(c.readInto(BigInt(UNIT), whole)).toBe(true); // bit 31 included
    expect(sameContent(whole, sectors(9, 32))).toBe(true);
    expect(c.stats().bytes).toBe(3 * UNIT);
  });

  it("drops the sectors a free covers, and nothing else", () => {
    const c = new DataCache(SS, 4 * UNIT);
    c.put(0n, sectors(0, 8));
    c.drop(2n * 4096n + 100n, 4096); // touches sectors 2 and 3
    expect(c.readInto(0n, new Uint8Array(2 * SS))).toBe(true);
    expect(c.readInto(2n * 4096n, new Uint8Array(SS))).toBe(false);
    expect(c.readInto(3n * 4096n, new Uint8Array(SS))).toBe(false);
    expect(c.readInto(4n * 4096n, new Uint8Array(4 * SS))).toBe(true);
    c.drop(0n, 8 * SS);
    expect(c.stats().bytes).toBe(0); // an empty unit is released
  });

  it("keeps at most its capacity, evicting the least recently used unit", () => {
    const c = new DataCache(SS, 2 * UNIT);
    const u = (i: number) => BigInt(i * UNIT);
    c.put(u(0), sectors(0, 1));
    c.put(u(1), sectors(1, 1));
    expect(c.readInto(u(0), new Uint8Array(SS))).toBe(true); // unit 0 is now the most recent
    c.put(u(2), sectors(2, 1)); // evicts unit 1
    expect(c.stats().bytes).toBe(2 * UNIT);
    expect(c.readInto(u(1), new Uint8Array(SS))).toBe(false);
    const d = new Uint8Array(SS);
    expect(c.readInto(u(0), d)).toBe(true);
    expect(d).toEqual(sectors(0, 1));
    expect(c.readInto(u(2), d)).toBe(true);
    expect(d).toEqual(sectors(2, 1)); // the reused buffer holds only the new unit's sector
  });

  it("does nothing with a capacity below one unit", () => {
    const c = new DataCache(SS, 0);
    c.put(0n, sectors(0, 1));
    expect(c.enabled).toBe(false);
    expect(c.readInto(0n, new Uint8Array(SS))).toBe(false);
  });

  describe("its size", () => {
    const was = process.env.NCW_BTRFS_CACHE_MIB;
    afterEach(() => {
      if (was === undefined) delete process.env.NCW_BTRFS_CACHE_MIB;
      else process.env.NCW_BTRFS_CACHE_MIB = was;
    });
    it("is 1/16 of memory up to 512 MiB, or NCW_BTRFS_CACHE_MIB", () => {
      delete process.env.NCW_BTRFS_CACHE_MIB;
      expect(defaultDataCacheBytes()).toBeLessThanOrEqual(512 * 2 ** 20);
      expect(defaultDataCacheBytes()).toBeGreaterThan(0);
      process.env.NCW_BTRFS_CACHE_MIB = "3";
      expect(defaultDataCacheBytes()).toBe(3 * 2 ** 20);
      process.env.NCW_BTRFS_CACHE_MIB = "0";
      expect(defaultDataCacheBytes()).toBe(0);
      process.env.NCW_BTRFS_CACHE_MIB = "lots";
      expect(() => defaultDataCacheBytes()).toThrow(/whole number of MiB/);
    });
  });
});

describe("the data cache in the engine", () => {
  const dir = tempDir();
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** Overwrites the first byte of a file's first data sector in the image file, behind NCW's back. */
  function corruptFirstSector(f: BtrfsFs, img: string, id: InodeId): void {
    const ext = onDisk(f.reader().extents(id)[0]!.item);
    const phys = f.engine.chunkMap.map(ext.diskBytenr, SS)[0]!.physical;
    const fd = fs.openSync(img, "r+");
    const one = Buffer.alloc(1);
    fs.readSync(fd, one, 0, 1, Number(phys));
    one[0] = one[0]! ^ 0xff;
    fs.writeSync(fd, one, 0, 1, Number(phys));
    fs.closeSync(fd);
  }

  it("serves what was written, and verifies again once it is dropped", async () => {
    const img = path.join(dir, "w.img");
    const f = BtrfsFs.create(img, 128n << 20n);
    const data = sectors(3, 64);
    const id = f.create(f.top(), "a", "file");
    await f.writeFile(id, data);
    f.commit();
    expect(f.engine.dataCache.stats().bytes).toBeGreaterThanOrEqual(data.length);
    corruptFirstSector(f, img, id);
    // Like the kernel's page cache: what this process wrote is not read back from the device.
    expect(sameContent(await f.reader().readAll(id), data)).toBe(true);
    f.engine.dataCache.clear();
    await expect(f.reader().readAll(id)).rejects.toMatchObject({ code: "BTRFS_DATA_CSUM" });
    f.close();
    const g = BtrfsFs.open(img, { readOnly: true });
    await expect(g.reader().readAll(g.reader().resolve("/a")!)).rejects.toMatchObject({
      code: "BTRFS_DATA_CSUM",
    });
    g.close();
  });

  it("forgets a freed extent, and serves new data written at a reused address", async () => {
    const img = path.join(dir, "reuse.img");
    const f = BtrfsFs.create(img, 128n << 20n);
    const a = f.create(f.top(), "a", "file");
    await f.writeFile(a, sectors(1, 16));
    f.commit();
    const first = onDisk(f.reader().extents(a)[0]!.item).diskBytenr;
    const probe = new Uint8Array(16 * SS);
    expect(f.engine.dataCache.readInto(first, probe)).toBe(true);
    f.unlink(f.top(), "a");
    f.commit(); // frees the extent (references are settled at commit); its space is free after it
    expect(f.engine.dataCache.readInto(first, probe)).toBe(false);
    // Fill the data chunk until the allocator wraps around and hands the freed space out again.
    let reused = false;
    for (let i = 0; i < 600 && !reused; i++) {
      const b = f.create(f.top(), `b${i}`, "file");
      await f.writeFile(b, sectors(100 + i, 16));
      f.commit();
      reused = f
        .reader()
        .extents(b)
        .map((e) => onDisk(e.item))
        .some((x) => x.diskBytenr <= first && first < x.diskBytenr + x.diskNumBytes);
      expect(sameContent(await f.reader().readAll(b), sectors(100 + i, 16))).toBe(true);
    }
    expect(reused, "the allocator reused the freed extent").toBe(true);
    f.close();
    expectCheckClean(img);
  });

  it("is filled by verified reads of an image another process wrote", async () => {
    const img = path.join(dir, "r.img");
    const f = BtrfsFs.create(img, 128n << 20n);
    const id = f.create(f.top(), "a", "file");
    await f.writeFile(id, sectors(9, 40));
    f.close();
    const g = BtrfsFs.open(img, { readOnly: true });
    const r = g.reader();
    const gid = r.resolve("/a")!;
    expect(g.engine.dataCache.stats().bytes).toBe(0);
    const dest = new Uint8Array(40 * SS);
    expect(await r.readInto(gid, 0n, dest)).toBe(40 * SS);
    expect(g.engine.dataCache.stats().misses).toBe(1);
    expect(await r.readInto(gid, 0n, dest)).toBe(40 * SS);
    expect(g.engine.dataCache.stats().hits).toBe(1);
    expect(sameContent(dest, sectors(9, 40))).toBe(true);
    expect(await r.readInto(gid, 39n * 4096n, dest)).toBe(SS); // short at the end of the file
    g.close();
  });
});
