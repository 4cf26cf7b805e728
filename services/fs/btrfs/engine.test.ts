// Engine tests against images made by mkfs.btrfs, judged by `btrfs check` (btrfs-progs) and, where
// loop mounts work, by the Linux kernel reading what the engine wrote.

import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import {
  btrfsCheck,
  btrfsProgsMissing,
  expectCheckClean,
  freshMkfsImage,
  loopMountMissing,
  skipUnless,
  tempDir,
  withLoopMount,
} from "../../../test/btrfs-oracle.js";
import { FileDevice } from "./device.js";
import { openEngine } from "./engine.js";
import {
  FREE_SPACE_BITMAP_KEY,
  FREE_SPACE_TREE_OBJECTID,
  FS_TREE_OBJECTID,
  U64_MAX,
} from "./format/key.js";
import { mkfs } from "./mkfs.js";
import { createSnapshot } from "./subvol.js";
import { addFile, inodeOf, removeFile } from "./tree/testing.js";

const skip = skipUnless(btrfsProgsMissing());
const FS = FS_TREE_OBJECTID;
const DIR = 256n;

function expectClean(img: string): void {
  expectCheckClean(img);
  // Free space is loaded from the free space tree; it must agree with the extent tree.
  const e = openEngine(FileDevice.open(img, { readOnly: true }));
  try {
    if (e.hasFreeSpaceTree) expect(e.freeSpaceFromFst()).toEqual(e.freeSpaceFromExtentTree());
  } finally {
    e.close();
  }
}

const nameOf = (i: number): string => `file-${i}-${"x".repeat(i % 50)}`;

function contentOf(i: number): Uint8Array {
  const b = new Uint8Array(1 + ((i * 7919) % 9000));
  for (let k = 0; k < b.length; k++) b[k] = (i * 31 + k) & 0xff;
  return b;
}

describe.skipIf(skip)("engine on mkfs.btrfs images", () => {
  it("inserts thousands of items (multi-level splits), deletes them (merges), stays clean", () => {
    const img = freshMkfsImage();
    let e = openEngine(FileDevice.open(img));
    let t = e.begin();
    const N = 3000;
    for (let i = 0; i < N; i++) addFile(t, FS, DIR, nameOf(i), 257n + BigInt(i));
    t.commit();
    expect(e.rootLevel(FS)).toBeGreaterThanOrEqual(1);
    e.close();
    expectClean(img);
    e = openEngine(FileDevice.open(img));
    t = e.begin();
    for (let i = 0; i < N; i++) {
      if (i % 10 !== 0) removeFile(t, FS, DIR, nameOf(i), 257n + BigInt(i));
    }
    t.commit();
    e.close();
    expectClean(img);
  });

  it("grows a 4 KiB-node tree to three levels with data files and shrinks it back", () => {
    const img = freshMkfsImage(["-n", "4096"]);
    const e = openEngine(FileDevice.open(img));
    const N = 2500;
    for (let batch = 0; batch < 5; batch++) {
      const t = e.begin();
      for (let i = batch * (N / 5); i < (batch + 1) * (N / 5); i++) {
        addFile(t, FS, DIR, nameOf(i), 257n + BigInt(i), i % 3 === 0 ? contentOf(i) : undefined);
      }
      t.commit();
    }
    expect(e.rootLevel(FS)).toBeGreaterThanOrEqual(2);
    e.close();
    expectClean(img);
    const e2 = openEngine(FileDevice.open(img));
    const t2 = e2.begin();
    for (let i = 0; i < N; i++)
      if (i % 7 !== 0) removeFile(t2, FS, DIR, nameOf(i), 257n + BigInt(i));
    t2.commit();
    e2.close();
    expectClean(img);
    if (!skipUnless(loopMountMissing())) {
      withLoopMount(
        img,
        (mnt) => {
          const names = fs.readdirSync(mnt).sort();
          const want = [];
          for (let i = 0; i < N; i += 7) want.push(nameOf(i));
          expect(names).toEqual(want.sort());
          for (let i = 0; i < N; i += 7) {
            const got = fs.readFileSync(path.join(mnt, nameOf(i)));
            const exp = i % 3 === 0 ? contentOf(i) : new Uint8Array(0);
            expect(Buffer.compare(got, Buffer.from(exp))).toBe(0);
          }
        },
        ["ro"],
      );
    }
  });

  it("adds data and metadata chunks when block groups fill", () => {
    const img = freshMkfsImage();
    const e = openEngine(FileDevice.open(img));
    const groupsBefore = e.spaceMgr.groups.length;
    const big = new Uint8Array(1 << 20);
    for (let k = 0; k < big.length; k++) big[k] = (k * 7) & 0xff;
    for (let batch = 0; batch < 4; batch++) {
      const t = e.begin();
      for (let i = 0; i < 10; i++)
        addFile(t, FS, DIR, `big${batch}-${i}`, 257n + BigInt(batch * 10 + i), big);
      for (let i = 0; i < 1500; i++)
        addFile(t, FS, DIR, `s${batch}-${i}`, 1000n + BigInt(batch * 2000 + i));
      t.commit();
    }
    expect(e.spaceMgr.groups.length).toBeGreaterThan(groupsBefore);
    e.close();
    expectClean(img);
    if (!skipUnless(loopMountMissing())) {
      withLoopMount(
        img,
        (mnt) => {
          expect(Buffer.compare(fs.readFileSync(path.join(mnt, "big3-9")), Buffer.from(big))).toBe(
            0,
          );
          expect(fs.readdirSync(mnt).length).toBe(40 + 6000);
        },
        ["ro"],
      );
    }
  });

  it("adds a DUP metadata chunk when metadata fills", () => {
    const img = freshMkfsImage();
    const e = openEngine(FileDevice.open(img));
    const TREE = 100n; // a plain tree: only its structure and references are checked
    const meta0 = e.space().metadataTotal;
    let t = e.begin();
    t.createTree(TREE);
    t.commit();
    const item = new Uint8Array(7000).fill(1);
    for (let batch = 0; batch < 4; batch++) {
      t = e.begin();
      for (let i = 0; i < 1500; i++) {
        t.insertItem(TREE, { objectid: BigInt(batch * 1500 + i), type: 1, offset: 0n }, item);
      }
      t.commit();
    }
    expect(e.space().metadataTotal).toBeGreaterThan(meta0);
    t = e.begin();
    for (let i = 0; i < 6000; i += 2)
      t.deleteItem(TREE, { objectid: BigInt(i), type: 1, offset: 0n });
    t.commit();
    e.close();
    expectClean(img);
  });

  it("works on images made by NCW's own mkfs (data, snapshot, writes on both sides)", () => {
    const img = path.join(tempDir(), "n.img");
    const dev = FileDevice.create(img, 256n << 20n);
    mkfs(dev);
    dev.close();
    const e = openEngine(FileDevice.open(img));
    const chunks = e.chunkMap.all().length;
    let t = e.begin();
    // More data than the first data chunk holds: the engine adds chunks.
    for (let i = 0; i < 40; i++)
      addFile(t, FS, DIR, `big${i}`, 9000n + BigInt(i), new Uint8Array(1 << 20).fill(i));
    t.commit();
    expect(e.chunkMap.all().length).toBeGreaterThan(chunks);
    t = e.begin();
    for (let i = 0; i < 800; i++)
      addFile(t, FS, DIR, nameOf(i), 257n + BigInt(i), i % 5 === 0 ? contentOf(i) : undefined);
    t.commit();
    t = e.begin();
    const snap = createSnapshot(t, FS, FS, DIR, "snap");
    removeFile(t, FS, DIR, nameOf(5), 262n);
    t.commit();
    t = e.begin();
    removeFile(t, snap, DIR, nameOf(10), 267n);
    addFile(t, snap, DIR, "only-in-snap", 5000n, contentOf(3));
    t.commit();
    e.close();
    expectClean(img);
    if (!skipUnless(loopMountMissing())) {
      withLoopMount(
        img,
        (mnt) => {
          expect(fs.existsSync(path.join(mnt, nameOf(5)))).toBe(false);
          expect(fs.existsSync(path.join(mnt, "snap", nameOf(5)))).toBe(true);
          expect(fs.existsSync(path.join(mnt, "snap", nameOf(10)))).toBe(false);
          expect(
            Buffer.compare(
              fs.readFileSync(path.join(mnt, "snap", "only-in-snap")),
              Buffer.from(contentOf(3)),
            ),
          ).toBe(0);
        },
        ["ro"],
      );
    }
  });

  it("continues images written by the kernel (fragmented free space, many extents)", () => {
    if (skipUnless(loopMountMissing())) return;
    const img = freshMkfsImage();
    withLoopMount(img, (mnt) => {
      for (let i = 0; i < 400; i++) fs.writeFileSync(path.join(mnt, `k${i}`), contentOf(i));
      fs.mkdirSync(path.join(mnt, "d"));
      for (let i = 0; i < 400; i += 2) fs.rmSync(path.join(mnt, `k${i}`));
      execFileSync("btrfs", ["subvolume", "snapshot", mnt, path.join(mnt, "ksnap")], {
        stdio: "pipe",
      });
      for (let i = 1; i < 400; i += 4) fs.rmSync(path.join(mnt, `k${i}`));
    });
    expectClean(img);
    const e = openEngine(FileDevice.open(img));
    let t = e.begin();
    for (let i = 0; i < 300; i++)
      addFile(t, FS, DIR, `n${i}`, 10000n + BigInt(i), contentOf(i + 1));
    // Remove files the kernel wrote: their checksum items span several extents and get split.
    for (let i = 3; i < 400; i += 8) removeFile(t, FS, DIR, `k${i}`, inodeOf(t, FS, DIR, `k${i}`)!);
    t.commit();
    t = e.begin();
    const s2 = createSnapshot(t, FS, FS, DIR, "nsnap");
    addFile(t, s2, DIR, "extra", 20000n, contentOf(9));
    t.commit();
    e.close();
    expectClean(img);
    withLoopMount(img, (mnt) => {
      expect(Buffer.compare(fs.readFileSync(path.join(mnt, "n7")), Buffer.from(contentOf(8)))).toBe(
        0,
      );
      expect(
        Buffer.compare(fs.readFileSync(path.join(mnt, "ksnap", "k1")), Buffer.from(contentOf(1))),
      ).toBe(0);
      expect(
        Buffer.compare(fs.readFileSync(path.join(mnt, "nsnap", "k7")), Buffer.from(contentOf(7))),
      ).toBe(0);
      expect(fs.existsSync(path.join(mnt, "nsnap", "extra"))).toBe(true);
      expect(fs.existsSync(path.join(mnt, "k3"))).toBe(false);
      expect(fs.existsSync(path.join(mnt, "ksnap", "k3"))).toBe(true);
      expect(Buffer.compare(fs.readFileSync(path.join(mnt, "k7")), Buffer.from(contentOf(7)))).toBe(
        0,
      );
      // The kernel can keep writing after NCW.
      fs.writeFileSync(path.join(mnt, "after-ncw"), contentOf(11));
    });
    expectClean(img);
  });

  it("keeps fragmented free space as free space tree bitmaps, as the kernel does", () => {
    const img = freshMkfsImage();
    const e = openEngine(FileDevice.open(img));
    let t = e.begin();
    const five = new Uint8Array(5000).fill(1);
    for (let i = 0; i < 200; i++) addFile(t, FS, DIR, `f${i}`, 300n + BigInt(i), five);
    t.commit();
    t = e.begin();
    for (let i = 0; i < 200; i += 2) removeFile(t, FS, DIR, `f${i}`, 300n + BigInt(i));
    t.commit();
    const bitmaps = e.committed.items(
      FREE_SPACE_TREE_OBJECTID,
      { objectid: 0n, type: 0, offset: 0n },
      { objectid: U64_MAX, type: 255, offset: U64_MAX },
    );
    expect(bitmaps.some((it) => it.key.type === FREE_SPACE_BITMAP_KEY)).toBe(true);
    e.close();
    expectClean(img);
    if (!skipUnless(loopMountMissing())) {
      withLoopMount(img, (mnt) => {
        for (let i = 0; i < 30; i++) fs.writeFileSync(path.join(mnt, `x${i}`), contentOf(i));
      });
      expectClean(img);
    }
  });

  it("writes images that use the old v1 space cache (left stale on purpose: the kernel rebuilds it)", () => {
    const img = freshMkfsImage(["-R", "^free-space-tree"]);
    const e = openEngine(FileDevice.open(img));
    const t = e.begin();
    for (let i = 0; i < 100; i++) addFile(t, FS, DIR, nameOf(i), 300n + BigInt(i), contentOf(i));
    t.commit();
    // cache_generation stays behind the superblock generation, which invalidates every v1 cache.
    expect(e.sb.cacheGeneration).not.toBe(e.sb.generation);
    e.close();
    expectClean(img);
    if (!skipUnless(loopMountMissing())) {
      withLoopMount(
        img,
        (mnt) => {
          fs.writeFileSync(path.join(mnt, "k"), contentOf(3));
          expect(fs.readFileSync(path.join(mnt, nameOf(7)))).toEqual(Buffer.from(contentOf(7)));
        },
        ["space_cache=v1"],
      );
      expectClean(img);
    }
  });

  it("marks quota groups inconsistent (NCW does not account them); a kernel rescan repairs them", () => {
    if (skipUnless(loopMountMissing())) return;
    const img = freshMkfsImage();
    withLoopMount(img, (mnt) => {
      execFileSync("btrfs", ["quota", "enable", mnt], { stdio: "pipe" });
      fs.writeFileSync(path.join(mnt, "k"), contentOf(1));
    });
    const e = openEngine(FileDevice.open(img));
    const t = e.begin();
    for (let i = 0; i < 50; i++) addFile(t, FS, DIR, nameOf(i), 1000n + BigInt(i), contentOf(i));
    t.commit();
    e.close();
    expectClean(img);
    withLoopMount(img, (mnt) => {
      execFileSync("btrfs", ["quota", "rescan", "-w", mnt], { stdio: "pipe" });
    });
    const r = btrfsCheck(img);
    expect(r.ok).toBe(true);
    expect(r.output).not.toContain("are different");
  });

  it("refuses to write mixed-block-group images (reads them)", () => {
    const img = freshMkfsImage(["--mixed"]);
    const e = openEngine(FileDevice.open(img));
    expect(e.committed.lookup(FS, { objectid: DIR, type: 1, offset: 0n })).toBeDefined();
    expect(() => e.begin()).toThrow(/mixes data and metadata/);
    e.close();
  });

  it("runs out of metadata space cleanly and can still delete and commit", () => {
    const img = path.join(tempDir(), "full.img");
    const dev = FileDevice.create(img, 64n << 20n);
    mkfs(dev); // NCW's mkfs gives the whole device to chunks: no room for another one
    dev.close();
    const e = openEngine(FileDevice.open(img));
    const TREE = 100n;
    let t = e.begin();
    t.createTree(TREE);
    t.commit();
    const item = new Uint8Array(7000).fill(2);
    let n = 0;
    let full = false;
    while (!full) {
      t = e.begin();
      try {
        for (let i = 0; i < 200; i++) {
          t.insertItem(TREE, { objectid: BigInt(n), type: 1, offset: 0n }, item);
          n++;
        }
      } catch (err) {
        expect((err as { code?: string }).code).toBe("BTRFS_NO_SPACE");
        full = true;
      }
      t.commit(); // the refused insert changed nothing: everything before it commits
    }
    expect(
      e.committed.items(
        TREE,
        { objectid: 0n, type: 0, offset: 0n },
        { objectid: U64_MAX, type: 255, offset: U64_MAX },
      ).length,
    ).toBe(n);
    // Deletions may use the reserve, but deleting everything in one transaction copies every leaf:
    // the space runs out inside an operation, the transaction is broken and can only be aborted.
    const committedGen = e.generation;
    t = e.begin();
    let failure: unknown;
    try {
      for (let i = 0; i < n; i++) t.deleteItem(TREE, { objectid: BigInt(i), type: 1, offset: 0n });
    } catch (err) {
      failure = err;
    }
    expect((failure as { code?: string }).code).toBe("BTRFS_NO_SPACE");
    expect(t.isBroken).toBe(true);
    expect(() => t.lookup(TREE, { objectid: 0n, type: 1, offset: 0n })).toThrow(/half-way/);
    t.abort();
    expect(e.generation).toBe(committedGen);
    // Deleting copies leaves too; space freed is usable after each commit: commit when asked to.
    t = e.begin();
    let commits = 0;
    for (let i = 0; i < n / 2; i++) {
      t.deleteItem(TREE, { objectid: BigInt(i), type: 1, offset: 0n });
      if (t.needsCommit()) {
        t.commit();
        commits++;
        t = e.begin();
      }
    }
    t.commit();
    expect(commits).toBeGreaterThan(0);
    t = e.begin();
    for (let i = 0; i < 100; i++)
      t.insertItem(TREE, { objectid: BigInt(i * 2), type: 1, offset: 0n }, item);
    t.commit();
    e.close();
    expectClean(img);
  });

  it("abort leaves the committed state untouched (also after adding chunks)", () => {
    const img = freshMkfsImage();
    const e = openEngine(FileDevice.open(img));
    let t = e.begin();
    addFile(t, FS, DIR, "kept", 257n, contentOf(1));
    t.commit();
    const chunks = e.chunkMap.all().length;
    t = e.begin();
    for (let i = 0; i < 500; i++) addFile(t, FS, DIR, nameOf(i), 300n + BigInt(i), contentOf(i));
    for (let i = 0; i < 12; i++)
      addFile(t, FS, DIR, `big${i}`, 900n + BigInt(i), new Uint8Array(1 << 20));
    expect(e.chunkMap.all().length).toBeGreaterThan(chunks);
    t.abort();
    expect(e.chunkMap.all().length).toBe(chunks);
    t = e.begin();
    addFile(t, FS, DIR, "after", 1000n, contentOf(2));
    t.commit();
    e.close();
    expectClean(img);
  });
});
