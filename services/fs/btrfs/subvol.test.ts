// Subvolume and snapshot tests on mkfs.btrfs images: btrfs check after snapshots and writes on both
// sides, snapshot cost independent of tree size, deletion, and the kernel reading both sides.

import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import {
  btrfsProgsMissing,
  expectCheckClean,
  freshMkfsImage,
  loopMountMissing,
  skipUnless,
  withLoopMount,
} from "../../../test/btrfs-oracle.js";
import { FileDevice } from "./device.js";
import { openEngine } from "./engine.js";
import { FS_TREE_OBJECTID } from "./format/key.js";
import { createSnapshot, createSubvolume, deleteSubvolume, listSubvolumes } from "./subvol.js";
import { addFile, inodeOf, listDir, removeFile } from "./tree/testing.js";

const skip = skipUnless(btrfsProgsMissing());
const FS = FS_TREE_OBJECTID;
const DIR = 256n;

/** The second oracle: btrfs check's lowmem mode walks the trees in a different way. */
function expectCleanLowmem(img: string): void {
  const r = spawnSync("btrfs", ["check", "--mode=lowmem", "--readonly", "--check-data-csum", img], {
    encoding: "utf8",
  });
  if (r.status !== 0) console.error(r.stdout, r.stderr);
  expect(r.status).toBe(0);
}

function contentOf(i: number): Uint8Array {
  const b = new Uint8Array(1 + ((i * 7919) % 6000));
  for (let k = 0; k < b.length; k++) b[k] = (i * 31 + k) & 0xff;
  return b;
}

describe.skipIf(skip)("subvolumes and snapshots", () => {
  it("snapshots a multi-level tree, then writes on both sides; both stay correct", () => {
    const img = freshMkfsImage(["-n", "4096"]);
    const e = openEngine(FileDevice.open(img));
    let t = e.begin();
    for (let i = 0; i < 1500; i++)
      addFile(t, FS, DIR, `f${i}`, 300n + BigInt(i), i % 4 === 0 ? contentOf(i) : undefined);
    t.commit();
    expect(e.rootLevel(FS)).toBeGreaterThanOrEqual(2);

    t = e.begin();
    const snap = createSnapshot(t, FS, FS, DIR, "snap");
    t.commit();
    e.close();
    expectCheckClean(img);

    const e2 = openEngine(FileDevice.open(img));
    t = e2.begin();
    // Source side: remove some, add some. Snapshot side: remove others, add others.
    for (let i = 0; i < 1500; i += 3) removeFile(t, FS, DIR, `f${i}`, 300n + BigInt(i));
    for (let i = 0; i < 200; i++)
      addFile(t, FS, DIR, `new${i}`, 5000n + BigInt(i), contentOf(i + 7));
    for (let i = 1; i < 1500; i += 5) removeFile(t, snap, DIR, `f${i}`, 300n + BigInt(i));
    for (let i = 0; i < 100; i++)
      addFile(t, snap, DIR, `snapnew${i}`, 9000n + BigInt(i), contentOf(i + 3));
    t.commit();
    e2.close();
    expectCheckClean(img);

    if (!skipUnless(loopMountMissing())) {
      withLoopMount(
        img,
        (mnt) => {
          const top = new Set(fs.readdirSync(mnt));
          const inSnap = new Set(fs.readdirSync(path.join(mnt, "snap")));
          for (let i = 0; i < 1500; i++) {
            expect(top.has(`f${i}`)).toBe(i % 3 !== 0);
            expect(inSnap.has(`f${i}`)).toBe(i % 5 !== 1);
          }
          expect(top.has("new5")).toBe(true);
          expect(inSnap.has("new5")).toBe(false);
          expect(inSnap.has("snapnew5")).toBe(true);
          expect(
            Buffer.compare(
              fs.readFileSync(path.join(mnt, "snap", "f4")),
              Buffer.from(contentOf(4)),
            ),
          ).toBe(0);
          expect(
            Buffer.compare(fs.readFileSync(path.join(mnt, "f8")), Buffer.from(contentOf(8))),
          ).toBe(0);
        },
        ["ro"],
      );
    }
  });

  it("creates, lists and deletes subvolumes and snapshots; deleting frees their blocks", () => {
    const img = freshMkfsImage();
    const e = openEngine(FileDevice.open(img));
    let t = e.begin();
    const sv = createSubvolume(t, FS, DIR, "vol");
    // Visible inside the transaction already (ROOT_ITEM written at once, as btrfs does).
    expect(listSubvolumes(t).map((s) => s.name)).toEqual(["vol"]);
    for (let i = 0; i < 300; i++) addFile(t, sv, 256n, `g${i}`, 257n + BigInt(i), contentOf(i));
    t.commit();
    const usedBefore = e.space().bytesUsed;
    t = e.begin();
    const s1 = createSnapshot(t, sv, FS, DIR, "vol-snap", { readOnly: true });
    t.commit();
    t = e.begin();
    for (let i = 0; i < 300; i += 2) removeFile(t, sv, 256n, `g${i}`, 257n + BigInt(i));
    t.commit();
    expectCheckClean(img);
    const list = listSubvolumes(e.committed);
    expect(list.map((s) => [s.id, s.name, s.readOnly])).toEqual([
      [sv, "vol", false],
      [s1, "vol-snap", true],
    ]);
    t = e.begin();
    deleteSubvolume(t, FS, DIR, "vol-snap");
    t.commit();
    expectCheckClean(img);
    expect(listSubvolumes(e.committed).map((s) => s.id)).toEqual([sv]);
    t = e.begin();
    deleteSubvolume(t, FS, DIR, "vol");
    t.commit();
    expect(e.space().bytesUsed).toBeLessThan(usedBefore);
    e.close();
    expectCheckClean(img);
  });

  it("keeps shared subtrees (full backrefs) through small writes, nested snapshots and deletes", () => {
    const img = freshMkfsImage(["-n", "4096"]);
    const e = openEngine(FileDevice.open(img));
    let t = e.begin();
    const sv = createSubvolume(t, FS, DIR, "vol");
    for (let i = 0; i < 3000; i++) {
      addFile(t, sv, 256n, `f${i}`, 300n + BigInt(i), i % 4 === 0 ? contentOf(i) : undefined);
    }
    t.commit();
    expect(e.rootLevel(sv)).toBeGreaterThanOrEqual(2);
    t = e.begin();
    const snap = createSnapshot(t, sv, FS, DIR, "snap");
    t.commit();
    // One write in the origin: only its path is copied, the rest stays shared.
    t = e.begin();
    removeFile(t, sv, 256n, "f100", 400n);
    t.commit();
    expectCheckClean(img);
    t = e.begin();
    removeFile(t, snap, 256n, "f2000", 2300n);
    removeFile(t, snap, 256n, "f100", 400n);
    t.commit();
    expectCheckClean(img);
    t = e.begin();
    const snap2 = createSnapshot(t, snap, FS, DIR, "snap2");
    addFile(t, snap2, 256n, "zz", 99999n, contentOf(5));
    removeFile(t, sv, 256n, "f2004", 2304n);
    t.commit();
    expectCheckClean(img);
    // Deleting the origin must leave nothing that names it: shared blocks go to full backrefs.
    t = e.begin();
    deleteSubvolume(t, FS, DIR, "vol");
    t.commit();
    expectCheckClean(img);
    t = e.begin();
    removeFile(t, snap2, 256n, "f8", 308n);
    deleteSubvolume(t, FS, DIR, "snap");
    t.commit();
    expectCheckClean(img);
    expectCleanLowmem(img);
    t = e.begin();
    deleteSubvolume(t, FS, DIR, "snap2");
    t.commit();
    e.close();
    expectCheckClean(img);
  });

  it("continues subvolumes and snapshots made by the kernel, deleting the origin", () => {
    if (skipUnless(loopMountMissing())) return;
    const img = freshMkfsImage(["-n", "4096"]);
    withLoopMount(img, (mnt) => {
      execFileSync("btrfs", ["subvolume", "create", `${mnt}/vol`], { stdio: "pipe" });
      for (let i = 0; i < 2000; i++) {
        fs.writeFileSync(`${mnt}/vol/f${i}`, Buffer.alloc(i % 3 === 0 ? 5000 : 10, i));
      }
      execFileSync("sync");
      execFileSync("btrfs", ["subvolume", "snapshot", `${mnt}/vol`, `${mnt}/snap`], {
        stdio: "pipe",
      });
      for (let i = 0; i < 2000; i += 7) fs.rmSync(`${mnt}/vol/f${i}`);
      fs.writeFileSync(`${mnt}/snap/new`, "x");
    });
    const e = openEngine(FileDevice.open(img));
    const subs = listSubvolumes(e.committed);
    expect(subs.map((s) => s.name).sort()).toEqual(["snap", "vol"]);
    const snap = subs.find((s) => s.name === "snap")!.id;
    let t = e.begin();
    for (let i = 1; i < 2000; i += 5) {
      removeFile(t, snap, 256n, `f${i}`, inodeOf(t, snap, 256n, `f${i}`)!);
    }
    addFile(t, snap, 256n, "ncw", 50000n, contentOf(1));
    t.commit();
    expectCheckClean(img);
    t = e.begin();
    deleteSubvolume(t, FS, DIR, "vol");
    t.commit();
    e.close();
    expectCheckClean(img);
    expectCleanLowmem(img);
    withLoopMount(img, (mnt) => {
      expect(fs.readdirSync(`${mnt}/snap`).length).toBe(2000 - 400 + 2);
      expect(fs.readFileSync(`${mnt}/snap/f3`)).toEqual(Buffer.alloc(5000, 3));
      fs.writeFileSync(`${mnt}/snap/after`, "y");
    });
    expectCheckClean(img);
  });

  it("the kernel relocates (full balance) and scrubs NCW's shared snapshot trees", () => {
    if (skipUnless(loopMountMissing())) return;
    const img = freshMkfsImage(["-n", "4096"]);
    const e = openEngine(FileDevice.open(img));
    let t = e.begin();
    const sv = createSubvolume(t, FS, DIR, "vol");
    for (let i = 0; i < 2000; i++) {
      addFile(t, sv, 256n, `f${i}`, 300n + BigInt(i), i % 4 === 0 ? contentOf(i) : undefined);
    }
    t.commit();
    t = e.begin();
    const snap = createSnapshot(t, sv, FS, DIR, "snap");
    t.commit();
    t = e.begin();
    for (let i = 0; i < 2000; i += 9) removeFile(t, sv, 256n, `f${i}`, 300n + BigInt(i));
    removeFile(t, snap, 256n, "f2", 302n);
    t.commit();
    e.close();
    expectCheckClean(img);
    // Balance reads every tree block (through the kernel's tree-checker) and every extent's refs.
    withLoopMount(img, (mnt) => {
      execFileSync("btrfs", ["balance", "start", "--full-balance", mnt], { stdio: "pipe" });
      const scrub = execFileSync("btrfs", ["scrub", "start", "-B", mnt], { encoding: "utf8" });
      expect(scrub).toContain("no errors found");
      expect(fs.readFileSync(`${mnt}/snap/f0`)).toEqual(Buffer.from(contentOf(0)));
      expect(fs.existsSync(`${mnt}/vol/f0`)).toBe(false);
    });
    expectCheckClean(img);
    // NCW continues on the relocated image (new chunk addresses, relocated shared blocks).
    const e2 = openEngine(FileDevice.open(img));
    t = e2.begin();
    for (let i = 1; i < 2000; i += 9) removeFile(t, snap, 256n, `f${i}`, 300n + BigInt(i));
    addFile(t, sv, 256n, "after-balance", 90000n, contentOf(4));
    createSnapshot(t, snap, FS, DIR, "snap2");
    t.commit();
    e2.close();
    expectCheckClean(img);
  });

  it("continues kernel images with reflinks, compression, snapshots and a balance", () => {
    if (skipUnless(loopMountMissing())) return;
    const img = freshMkfsImage(["-n", "4096"]);
    withLoopMount(
      img,
      (mnt) => {
        execFileSync("btrfs", ["subvolume", "create", `${mnt}/vol`], { stdio: "pipe" });
        for (let i = 0; i < 600; i++) {
          fs.writeFileSync(`${mnt}/vol/f${i}`, Buffer.alloc(i % 3 === 0 ? 20000 : 100, i));
        }
        execFileSync("sync");
        for (let i = 0; i < 600; i += 5) {
          execFileSync("cp", ["--reflink=always", `${mnt}/vol/f${i}`, `${mnt}/vol/r${i}`]);
        }
        execFileSync("btrfs", ["subvolume", "snapshot", `${mnt}/vol`, `${mnt}/s1`], {
          stdio: "pipe",
        });
        for (let i = 0; i < 600; i += 7) fs.rmSync(`${mnt}/vol/f${i}`);
        execFileSync("btrfs", ["balance", "start", "--full-balance", mnt], { stdio: "pipe" });
        for (let i = 1; i < 600; i += 7) fs.rmSync(`${mnt}/s1/f${i}`);
      },
      ["compress=zstd"],
    );
    const e = openEngine(FileDevice.open(img));
    const subs = listSubvolumes(e.committed);
    const vol = subs.find((s) => s.name === "vol")!.id;
    const s1 = subs.find((s) => s.name === "s1")!.id;
    let t = e.begin();
    // Reflinked copies share data extents with their originals (EXTENT_DATA_REF per inode).
    for (let i = 0; i < 600; i += 10)
      removeFile(t, vol, 256n, `r${i}`, inodeOf(t, vol, 256n, `r${i}`)!);
    for (let i = 3; i < 600; i += 11) {
      const ino = inodeOf(t, s1, 256n, `f${i}`);
      if (ino) removeFile(t, s1, 256n, `f${i}`, ino);
    }
    addFile(t, s1, 256n, "ncw", 90000n, contentOf(6));
    const s2 = createSnapshot(t, s1, FS, DIR, "s2");
    t.commit();
    expectCheckClean(img);
    expectCleanLowmem(img);
    t = e.begin();
    deleteSubvolume(t, FS, DIR, "vol");
    removeFile(t, s2, 256n, "r5", inodeOf(t, s2, 256n, "r5")!);
    t.commit();
    t = e.begin();
    deleteSubvolume(t, FS, DIR, "s1");
    t.commit();
    const left = listDir(e.committed, s2, 256n).length;
    e.close();
    expectCheckClean(img);
    expectCleanLowmem(img);
    withLoopMount(img, (mnt) => {
      expect(fs.readdirSync(`${mnt}/s2`).length).toBe(left);
      expect(fs.readFileSync(`${mnt}/s2/r30`)).toEqual(Buffer.alloc(20000, 30));
      execFileSync("btrfs", ["balance", "start", "--full-balance", mnt], { stdio: "pipe" });
      expect(execFileSync("btrfs", ["scrub", "start", "-B", mnt], { encoding: "utf8" })).toContain(
        "no errors found",
      );
    });
    expectCheckClean(img);
  });

  it("snapshot cost does not grow with the tree", () => {
    const img = freshMkfsImage();
    const e = openEngine(FileDevice.open(img));
    let t = e.begin();
    for (let i = 0; i < 4000; i++) addFile(t, FS, DIR, `h${i}`, 300n + BigInt(i));
    t.commit();
    const dirtyBefore = e.space().metadataUsed;
    t = e.begin();
    createSnapshot(t, FS, FS, DIR, "s");
    t.commit();
    // Root copy + CoW of the source root and a handful of root/extent/fst/uuid blocks.
    expect(Number(e.space().metadataUsed - dirtyBefore)).toBeLessThan(16 * 16384);
    e.close();
    expectCheckClean(img);
  });
});
