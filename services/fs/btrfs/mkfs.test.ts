import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  btrfsCheck,
  btrfsProgsMissing,
  dumpTree,
  loopMountMissing,
  skipUnless,
  tempDir,
  withLoopMount,
} from "../../../test/btrfs-oracle.js";
import { FileDevice, MemoryDevice } from "./device.js";
import {
  BLOCK_GROUP_DATA,
  BLOCK_GROUP_DUP,
  BLOCK_GROUP_METADATA,
  BLOCK_GROUP_SYSTEM,
} from "./format/items.js";
import { FsReader } from "./fsread.js";
import { mkfs } from "./mkfs.js";
import { Volume } from "./volume.js";

const MiB = 1 << 20;
const kernelDir = tempDir();
afterAll(() => fs.rmSync(kernelDir, { recursive: true, force: true }));

function makeImage(
  dir: string,
  name: string,
  size: number,
  opts: Parameters<typeof mkfs>[1] = {},
): string {
  const img = path.join(dir, name);
  const dev = FileDevice.create(img, BigInt(size));
  mkfs(dev, opts);
  dev.close();
  return img;
}

describe("ncw mkfs", () => {
  it("lays out system and metadata DUP and data single, avoiding the superblock mirrors", () => {
    const dev = new MemoryDevice(256n * BigInt(MiB));
    const r = mkfs(dev, { label: "x", preallocate: true });
    const sys = r.chunks.find((c) => c.type & BLOCK_GROUP_SYSTEM)!;
    const meta = r.chunks.find((c) => c.type & BLOCK_GROUP_METADATA)!;
    expect(sys.type).toBe(BLOCK_GROUP_SYSTEM | BLOCK_GROUP_DUP);
    expect(sys.stripes.length).toBe(2);
    expect(meta.type).toBe(BLOCK_GROUP_METADATA | BLOCK_GROUP_DUP);
    expect(meta.length).toBe(32n * BigInt(MiB));
    const data = r.chunks.filter((c) => c.type === BLOCK_GROUP_DATA);
    expect(data.length).toBe(2); // split around the 64 MiB mirror
    for (const c of r.chunks) {
      for (const s of c.stripes) {
        expect(s >= BigInt(MiB)).toBe(true);
        const overlapsMirror = s < 65n * BigInt(MiB) && s + c.length > 64n * BigInt(MiB);
        expect(overlapsMirror).toBe(false);
        expect(s + c.length <= 256n * BigInt(MiB)).toBe(true);
      }
    }
    // Our own reader opens it: an empty root directory.
    const vol = new Volume(dev);
    const fr = new FsReader(vol, vol, vol.sectorsize);
    expect(fr.readdir({ root: 5n, ino: 256n })).toEqual([]);
    expect(vol.sb.label).toBe("x");
    expect(vol.chunks.all().length).toBe(r.chunks.length);
  });

  it("by default makes first chunks only (the engine adds more on demand), as mkfs.btrfs does", () => {
    const r = mkfs(new MemoryDevice(1024n * BigInt(MiB)));
    const meta = r.chunks.find((c) => c.type & BLOCK_GROUP_METADATA)!;
    const data = r.chunks.filter((c) => c.type === BLOCK_GROUP_DATA);
    expect(meta.length).toBe(64n * BigInt(MiB));
    expect(data.map((c) => c.length)).toEqual([64n * BigInt(MiB)]);
  });

  it("refuses sizes that are too small and bad node sizes with clear errors", () => {
    expect(() => mkfs(new MemoryDevice(32n * BigInt(MiB)))).toThrow(/too small/);
    expect(() => mkfs(new MemoryDevice(128n * BigInt(MiB)), { nodesize: 12288 })).toThrow(
      /power of two/,
    );
    expect(() => mkfs(new MemoryDevice(128n * BigInt(MiB)), { size: 1n << 40n })).toThrow(
      /exceeds/,
    );
  });

  describe.skipIf(skipUnless(btrfsProgsMissing()))("accepted by btrfs-progs", () => {
    const dir = tempDir();
    afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

    for (const [name, size, opts] of [
      ["dup-128M", 128 * MiB, {}],
      ["single-64M", 64 * MiB, { metadata: "single" as const }],
      ["dup-1G-4k-nodes", 1024 * MiB, { nodesize: 4096 }],
      ["dup-512M-preallocated", 512 * MiB, { preallocate: true }],
    ] as const) {
      it(`btrfs check passes on ${name}`, () => {
        const img = makeImage(dir, `${name}.img`, size, opts);
        const res = btrfsCheck(img);
        expect(res.output.replace("no error found", "")).not.toMatch(/error/i);
        expect(res.ok).toBe(true);
        expect(dumpTree(img, ["-t", "fs"])).toMatch(/256 INODE_ITEM 0/);
      });
    }
  });

  describe.skipIf(skipUnless(loopMountMissing()))("mounted by the Linux kernel", () => {
    const dir = kernelDir;

    it("mounts, takes writes, and still checks clean", () => {
      const img = makeImage(dir, "k.img", 256 * MiB, { label: "nightos" });
      withLoopMount(img, (mnt) => {
        expect(fs.readdirSync(mnt)).toEqual([]);
        fs.mkdirSync(path.join(mnt, "apps"));
        fs.writeFileSync(path.join(mnt, "apps/a.bin"), Buffer.alloc(5 * MiB, 3));
      });
      const res = btrfsCheck(img);
      expect(res.ok, res.output).toBe(true);
      const vol = new Volume(FileDevice.open(img, { readOnly: true }));
      const fr = new FsReader(vol, vol, vol.sectorsize);
      expect(fr.inode(fr.resolve("/apps/a.bin")!)?.size).toBe(BigInt(5 * MiB));
      vol.dev.close();
    });
  });
});
