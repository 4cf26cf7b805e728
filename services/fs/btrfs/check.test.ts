import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  btrfsProgsMissing,
  loopMountMissing,
  mkfsBtrfs,
  skipUnless,
  tempDir,
  withLoopMount,
} from "../../../test/btrfs-oracle.js";
import { checkImage } from "./check.js";
import { writeLogical } from "./chunks.js";
import { FileDevice } from "./device.js";
import { decodeInodeItem, encodeInodeItem } from "./format/items.js";
import { INODE_ITEM_KEY } from "./format/key.js";
import { encodeNode } from "./format/node.js";
import { BtrfsFs, createSubvolume, snapshot } from "./fs.js";
import { FsReader } from "./fsread.js";
import { Volume } from "./volume.js";

const MiB = 1 << 20;
const dir = tempDir();
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function check(img: string) {
  const dev = FileDevice.open(img, { readOnly: true });
  try {
    return checkImage(dev);
  } finally {
    dev.close();
  }
}

async function ncwImage(name: string): Promise<string> {
  const img = path.join(dir, name);
  const f = BtrfsFs.create(img, 128n * BigInt(MiB));
  const sub = createSubvolume(f, f.top(), "sub");
  const home = f.reader().resolve("/sub")!;
  for (let i = 0; i < 40; i++)
    await f.writeFile(f.create(home, `f${i}`, "file"), new Uint8Array(i * 5000).fill(i));
  f.link(f.reader().resolve("/sub/f3")!, home, "hard");
  f.commit();
  snapshot(f, sub, f.top(), "snap");
  await f.write(f.reader().resolve("/sub/f20")!, 10n, new Uint8Array(100).fill(7));
  f.close();
  return img;
}

describe("ncw fs check", () => {
  it("finds no problem in an image NCW wrote (files, hard links, subvolume, snapshot, CoW)", async () => {
    const r = check(await ncwImage("ok.img"));
    expect(r.errors).toEqual([]);
    expect(r.stats.inodes).toBeGreaterThan(80);
    expect(r.stats.dataBytesChecked).toBeGreaterThan(1_000_000);
  });

  it("reports a flipped data byte and a wrong link count", async () => {
    const img = await ncwImage("bad.img");
    let vol = new Volume(FileDevice.open(img, { readOnly: true }));
    const r = new FsReader(vol, vol, vol.sectorsize);
    const id = r.resolve("/sub/f30")!;
    const ext = r.extents(id)[0]!.item;
    if (ext.type === 0) throw new Error("expected a regular extent");
    const phys = vol.chunks.physical(ext.diskBytenr, 1)[0]!;
    vol.dev.close();
    const fd = fs.openSync(img, "r+");
    fs.writeSync(fd, Uint8Array.of(99), 0, 1, Number(phys) + 17);
    fs.closeSync(fd);
    // Rewrite the leaf holding /sub/f5's inode with nlink 3 (valid checksum: only the logic is wrong).
    const dev = FileDevice.open(img);
    vol = new Volume(dev);
    const f5 = new FsReader(vol, vol, vol.sectorsize).resolve("/sub/f5")!;
    for (const node of vol.blocks(f5.root)) {
      const slot =
        node.items?.findIndex(
          (it) => it.key.objectid === f5.ino && it.key.type === INODE_ITEM_KEY,
        ) ?? -1;
      if (slot < 0) continue;
      const item = node.items![slot]!;
      const v = decodeInodeItem(item.data);
      v.nlink = 3;
      item.data = encodeInodeItem(v);
      writeLogical(dev, vol.chunks, node.header.bytenr, encodeNode(node, vol.nodesize));
    }
    dev.close();
    const rep = check(img);
    expect(rep.ok).toBe(false);
    expect(rep.errors.some((e) => /data checksum mismatch/.test(e))).toBe(true);
    expect(
      rep.errors.some((e) => new RegExp(`inode ${f5.ino} link count 3, names 1`).test(e)),
    ).toBe(true);
  });

  describe.skipIf(skipUnless(btrfsProgsMissing()))("on mkfs.btrfs images", () => {
    it("finds no problem in a fresh mkfs.btrfs image", () => {
      const img = path.join(dir, "m.img");
      mkfsBtrfs(img, 128 * MiB);
      expect(check(img).errors).toEqual([]);
    });
  });

  describe.skipIf(skipUnless(loopMountMissing()))("on kernel-written images", () => {
    it("finds no problem in what the kernel wrote (incl. compressed extents and snapshots)", () => {
      const img = path.join(dir, "k.img");
      mkfsBtrfs(img, 256 * MiB);
      withLoopMount(
        img,
        (mnt) => {
          for (let i = 0; i < 100; i++)
            fs.writeFileSync(path.join(mnt, `f${i}`), Buffer.alloc(i * 3000, i));
          fs.linkSync(path.join(mnt, "f5"), path.join(mnt, "f5-link"));
          fs.symlinkSync("f1", path.join(mnt, "ln"));
          fs.writeFileSync(path.join(mnt, "big"), Buffer.alloc(4 * MiB, 1));
          execFileSync("btrfs", ["subvolume", "snapshot", mnt, path.join(mnt, "snap")], {
            stdio: "pipe",
          });
          for (let i = 0; i < 100; i += 3)
            fs.writeFileSync(path.join(mnt, `f${i}`), Buffer.alloc(2000, 9));
          fs.rmSync(path.join(mnt, "f50"));
          execFileSync("btrfs", ["subvolume", "create", path.join(mnt, "sub")], { stdio: "pipe" });
          fs.writeFileSync(path.join(mnt, "sub", "x"), Buffer.alloc(70_000, 3));
        },
        ["compress-force=zstd"],
      );
      expect(check(img).errors).toEqual([]);
    });
  });
});
