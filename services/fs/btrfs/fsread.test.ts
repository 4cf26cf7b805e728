// Reads images made by mkfs.btrfs and filled by the Linux kernel (loop mount): the strongest oracle.
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  btrfsProgsMissing,
  loopMountMissing,
  mkfsBtrfs,
  setXattr,
  skipUnless,
  tempDir,
  withLoopMount,
} from "../../../test/btrfs-oracle.js";
import { FileDevice } from "./device.js";
import {
  COMPRESS_LZO,
  COMPRESS_ZLIB,
  COMPRESS_ZSTD,
  decodeBlockGroupItem,
  decodeChunkItem,
  decodeCsumItem,
  decodeDevExtent,
  decodeDevItem,
  decodeDirItems,
  decodeExtentItem,
  decodeFileExtentItem,
  decodeFreeSpaceInfo,
  decodeInodeItem,
  decodeInodeRefs,
  decodeRootItem,
  decodeRootRef,
  encodeBlockGroupItem,
  encodeChunkItem,
  encodeCsumItem,
  encodeDevExtent,
  encodeDevItem,
  encodeDirItems,
  encodeExtentItem,
  encodeFileExtentItem,
  encodeFreeSpaceInfo,
  encodeInodeItem,
  encodeInodeRefs,
  encodeRootItem,
  encodeRootRef,
  FILE_EXTENT_INLINE,
  FILE_EXTENT_REG,
  S_IFMT,
  S_IFREG,
} from "./format/items.js";
import {
  BLOCK_GROUP_ITEM_KEY,
  CHUNK_ITEM_KEY,
  DEV_EXTENT_KEY,
  DEV_ITEM_KEY,
  DIR_INDEX_KEY,
  DIR_ITEM_KEY,
  EXTENT_CSUM_KEY,
  EXTENT_DATA_KEY,
  EXTENT_ITEM_KEY,
  FREE_SPACE_INFO_KEY,
  INODE_ITEM_KEY,
  INODE_REF_KEY,
  METADATA_ITEM_KEY,
  ROOT_BACKREF_KEY,
  ROOT_ITEM_KEY,
  ROOT_REF_KEY,
  XATTR_ITEM_KEY,
} from "./format/key.js";
import { encodeNode, HEADER_SIZE, leafUsedBytes, maxLeafData } from "./format/node.js";
import { FsReader } from "./fsread.js";
import { Volume } from "./volume.js";

/** Deterministic pseudo-random bytes (xorshift), compressible when `text`. */
function content(seed: number, len: number, text = false): Uint8Array {
  const out = new Uint8Array(len);
  let x = seed * 2654435761 + 1;
  for (let i = 0; i < len; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = text ? 97 + ((x >>> 0) % 7) : x & 0xff;
  }
  return out;
}

/** Byte comparison that stays fast on megabytes (vitest's toEqual walks element by element). */
function expectBytes(got: Uint8Array, want: Uint8Array): void {
  const a = Buffer.from(got.buffer, got.byteOffset, got.byteLength);
  const b = Buffer.from(want.buffer, want.byteOffset, want.byteLength);
  if (a.equals(b)) return;
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  expect(`length ${a.length}, first difference at ${i}`).toBe(`length ${b.length}, no difference`);
}

/** Decode + encode an item with its codec (undefined for item types without one). */
function reencode(type: number, data: Uint8Array, tree: bigint): Uint8Array | undefined {
  switch (type) {
    case INODE_ITEM_KEY:
      return encodeInodeItem(decodeInodeItem(data));
    case INODE_REF_KEY:
      return encodeInodeRefs(decodeInodeRefs(data));
    case DIR_ITEM_KEY:
    case DIR_INDEX_KEY:
    case XATTR_ITEM_KEY:
      return encodeDirItems(decodeDirItems(data));
    case EXTENT_DATA_KEY:
      return encodeFileExtentItem(decodeFileExtentItem(data));
    case ROOT_ITEM_KEY:
      return encodeRootItem(decodeRootItem(data));
    case ROOT_REF_KEY:
    case ROOT_BACKREF_KEY:
      return encodeRootRef(decodeRootRef(data));
    case EXTENT_ITEM_KEY:
    case METADATA_ITEM_KEY:
      return encodeExtentItem(decodeExtentItem(data, type === METADATA_ITEM_KEY));
    case BLOCK_GROUP_ITEM_KEY:
      return encodeBlockGroupItem(decodeBlockGroupItem(data));
    case CHUNK_ITEM_KEY:
      return encodeChunkItem(decodeChunkItem(data));
    case DEV_ITEM_KEY:
      return encodeDevItem(decodeDevItem(data));
    case DEV_EXTENT_KEY:
      return encodeDevExtent(decodeDevExtent(data));
    case FREE_SPACE_INFO_KEY:
      return encodeFreeSpaceInfo(decodeFreeSpaceInfo(data));
    case EXTENT_CSUM_KEY:
      return tree === 7n ? encodeCsumItem(decodeCsumItem(data)) : undefined;
    default:
      return undefined;
  }
}

function open(img: string): { vol: Volume; r: FsReader } {
  const vol = new Volume(FileDevice.open(img, { readOnly: true }));
  return { vol, r: new FsReader(vol, vol, vol.sectorsize) };
}

describe.skipIf(skipUnless(btrfsProgsMissing()))("reading mkfs.btrfs images", () => {
  const dir = tempDir();
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("opens an empty mkfs.btrfs image (DUP metadata, free space tree, no-holes, skinny) and walks every tree", () => {
    const img = path.join(dir, "empty.img");
    mkfsBtrfs(img, 128 << 20);
    const { vol, r } = open(img);
    expect(vol.chunks.all().length).toBe(3);
    for (const id of [1n, 2n, 3n, 4n, 5n, 7n, 9n, 10n]) {
      let n = 0;
      for (const node of vol.blocks(id)) n += node.items?.length ?? node.ptrs?.length ?? 0;
      expect(n).toBeGreaterThanOrEqual(0);
    }
    expect(r.readdir({ root: 5n, ino: 256n })).toEqual([]);
    expect(r.inode({ root: 5n, ino: 256n })?.nlink).toBe(1);
    vol.dev.close();
  });
});

describe.skipIf(skipUnless(loopMountMissing()))("reading what the Linux kernel wrote", () => {
  const dir = tempDir();
  const img = path.join(dir, "kernel.img");
  const big = content(1, 3 * 1024 * 1024 + 123);
  const text = content(2, 700 * 1024, true);
  const small = new TextEncoder().encode("hello from the kernel\n");

  beforeAll(() => {
    mkfsBtrfs(img, 256 << 20);
    withLoopMount(img, (mnt) => {
      fs.writeFileSync(path.join(mnt, "small.txt"), small);
      fs.mkdirSync(path.join(mnt, "d1/d2"), { recursive: true });
      fs.writeFileSync(path.join(mnt, "d1/d2/big.bin"), big);
      fs.linkSync(path.join(mnt, "d1/d2/big.bin"), path.join(mnt, "d1/hard.bin"));
      fs.symlinkSync("d2/big.bin", path.join(mnt, "d1/link"));
      // sparse: data at 0, hole, data at 5 MiB, size 8 MiB
      const fd = fs.openSync(path.join(mnt, "sparse.bin"), "w");
      fs.writeSync(fd, content(3, 10000), 0, 10000, 0);
      fs.writeSync(fd, content(4, 8192), 0, 8192, 5 * 1024 * 1024);
      fs.ftruncateSync(fd, 8 * 1024 * 1024);
      fs.closeSync(fd);
      setXattr(
        path.join(mnt, "small.txt"),
        "user.nightos.perm",
        new TextEncoder().encode("rw-app"),
      );
      for (let i = 0; i < 300; i++) fs.writeFileSync(path.join(mnt, "d1", `f${i}`), `file ${i}\n`);
      execFileSync("btrfs", ["subvolume", "create", path.join(mnt, "sub")], { stdio: "pipe" });
      fs.writeFileSync(path.join(mnt, "sub/in-sub.txt"), "inside a subvolume");
      execFileSync("btrfs", ["subvolume", "snapshot", mnt, path.join(mnt, "snap")], {
        stdio: "pipe",
      });
      fs.writeFileSync(path.join(mnt, "small.txt"), "changed after the snapshot");
    });
    withLoopMount(
      img,
      (mnt) => {
        fs.mkdirSync(path.join(mnt, "z"));
        fs.writeFileSync(path.join(mnt, "z/zstd.txt"), text);
      },
      ["compress-force=zstd"],
    );
    withLoopMount(
      img,
      (mnt) => {
        fs.writeFileSync(path.join(mnt, "z/zlib.txt"), text);
        fs.writeFileSync(path.join(mnt, "z/zlib-small.txt"), text.subarray(0, 2000));
      },
      ["compress-force=zlib"],
    );
    withLoopMount(
      img,
      (mnt) => {
        fs.writeFileSync(path.join(mnt, "z/lzo.txt"), text);
        fs.writeFileSync(
          path.join(mnt, "z/lzo-mixed.bin"),
          Buffer.concat([text.subarray(0, 200_000), big.subarray(0, 300_000)]),
        );
      },
      ["compress-force=lzo"],
    );
  }, 120_000);
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("reads files, directories, links, holes, xattrs and subvolumes byte for byte", async () => {
    const { vol, r } = open(img);
    const at = (p: string) => {
      const id = r.resolve(p);
      if (!id) throw new Error(`missing ${p}`);
      return id;
    };
    expect(new TextDecoder().decode(await r.readAll(at("/small.txt")))).toBe(
      "changed after the snapshot",
    );
    expectBytes(await r.readAll(at("/d1/d2/big.bin")), big);
    expect(at("/d1/hard.bin")).toEqual(at("/d1/d2/big.bin"));
    expect(r.inode(at("/d1/hard.bin"))?.nlink).toBe(2);
    expect(
      r
        .names(at("/d1/hard.bin"))
        .map((n) => new TextDecoder().decode(n.name))
        .sort(),
    ).toEqual(["big.bin", "hard.bin"]);
    expect(await r.readlink(r.resolve("/d1/link", { followLast: false })!)).toBe("d2/big.bin");
    expectBytes(await r.readAll(at("/d1/link")), big);
    // a range read across the middle
    expectBytes(
      await r.read(at("/d1/d2/big.bin"), 1_000_000n, 100_000),
      big.subarray(1_000_000, 1_100_000),
    );

    const sparse = await r.readAll(at("/sparse.bin"));
    expect(sparse.length).toBe(8 * 1024 * 1024);
    expectBytes(sparse.subarray(0, 10000), content(3, 10000));
    expect(sparse.subarray(10000, 5 * 1024 * 1024).every((b) => b === 0)).toBe(true);
    expectBytes(sparse.subarray(5 * 1024 * 1024, 5 * 1024 * 1024 + 8192), content(4, 8192));

    const names = r.readdir(at("/d1")).map((e) => new TextDecoder().decode(e.name));
    expect(names.length).toBe(303);
    expect(names.slice(0, 3)).toEqual(["d2", "hard.bin", "link"]);
    expect(new TextDecoder().decode(await r.readAll(at("/d1/f299")))).toBe("file 299\n");

    expect(r.listXattrs(at("/small.txt"))).toEqual(["user.nightos.perm"]);
    expect(new TextDecoder().decode(r.getXattr(at("/small.txt"), "user.nightos.perm"))).toBe(
      "rw-app",
    );

    const sub = at("/sub");
    expect(sub.root).toBeGreaterThanOrEqual(256n);
    expect(new TextDecoder().decode(await r.readAll(at("/sub/in-sub.txt")))).toBe(
      "inside a subvolume",
    );
    const snap = at("/snap");
    expect(snap.root).not.toBe(5n);
    expect(new TextDecoder().decode(await r.readAll(at("/snap/small.txt")))).toBe(
      "hello from the kernel\n",
    );
    expectBytes(await r.readAll(at("/snap/d1/d2/big.bin")), big);
    const ino = r.inode(at("/small.txt"))!;
    expect(ino.mode & S_IFMT).toBe(S_IFREG);
    vol.dev.close();
  });

  it("reads zstd-, zlib- and lzo-compressed extents", async () => {
    const { vol, r } = open(img);
    const zs = r.resolve("/z/zstd.txt")!;
    const zl = r.resolve("/z/zlib.txt")!;
    const kinds = (id: { root: bigint; ino: bigint }) =>
      new Set(r.extents(id).map((e) => e.item.compression));
    expect(kinds(zs)).toEqual(new Set([COMPRESS_ZSTD]));
    expect(kinds(zl)).toEqual(new Set([COMPRESS_ZLIB]));
    expect(r.extents(zs).every((e) => e.item.type === FILE_EXTENT_REG)).toBe(true);
    expectBytes(await r.readAll(zs), text);
    expectBytes(await r.readAll(zl), text);
    expectBytes(await r.read(zs, 300_000n, 5000), text.subarray(300_000, 305_000));
    const lz = r.resolve("/z/lzo.txt")!;
    expect(kinds(lz)).toEqual(new Set([COMPRESS_LZO]));
    expectBytes(await r.readAll(lz), text);
    const mixed = Buffer.concat([text.subarray(0, 200_000), big.subarray(0, 300_000)]);
    expectBytes(await r.readAll(r.resolve("/z/lzo-mixed.bin")!), mixed);
    const small = r.resolve("/z/zlib-small.txt")!;
    expect(r.extents(small)[0]?.item.type).toBe(FILE_EXTENT_INLINE);
    expectBytes(await r.readAll(small), text.subarray(0, 2000));
    vol.dev.close();
  });

  it("re-encodes every tree block and every item the kernel wrote byte for byte", () => {
    const { vol } = open(img);
    const trees = [1n, 2n, 3n, 4n, 5n, 7n, 9n, 10n];
    for (const it of vol.items(
      1n,
      { objectid: 256n, type: 0, offset: 0n },
      { objectid: 1n << 63n, type: 255, offset: 0n },
    )) {
      if (it.key.type === ROOT_ITEM_KEY) trees.push(it.key.objectid);
    }
    let blocks = 0;
    let items = 0;
    for (const id of trees) {
      for (const node of vol.blocks(id)) {
        blocks++;
        const raw = vol.dev.read(
          vol.chunks.physical(node.header.bytenr, vol.nodesize)[0]!,
          vol.nodesize,
        );
        const mine = encodeNode(node, vol.nodesize);
        // The kernel leaves stale bytes between the item headers and the item data: mask them.
        const gapFrom = HEADER_SIZE + (node.items ? node.items.length * 25 : node.ptrs.length * 33);
        const gapTo = node.items
          ? HEADER_SIZE +
            maxLeafData(vol.nodesize) -
            leafUsedBytes(node.items) +
            node.items.length * 25
          : vol.nodesize;
        const mask = (b: Uint8Array) => {
          const m = b.slice();
          m.fill(0, gapFrom, gapTo);
          return m;
        };
        expectBytes(mask(mine), mask(raw));
        for (const it of node.items ?? []) {
          const re = reencode(it.key.type, it.data, id);
          if (re) {
            items++;
            expectBytes(re, it.data);
          }
        }
      }
    }
    expect(blocks).toBeGreaterThan(10);
    expect(items).toBeGreaterThan(1000);
    vol.dev.close();
  });

  it("detects a corrupted data sector through its checksum", async () => {
    const copy = path.join(dir, "corrupt.img");
    fs.copyFileSync(img, copy);
    let { vol, r } = open(copy);
    const id = r.resolve("/d1/d2/big.bin")!;
    const ext = r.extents(id)[0]!.item;
    if (ext.type === FILE_EXTENT_INLINE) throw new Error("expected a regular extent");
    const phys = vol.chunks.physical(ext.diskBytenr + 8192n, 1)[0]!;
    vol.dev.close();
    const fd = fs.openSync(copy, "r+");
    fs.writeSync(fd, Uint8Array.of(0xff ^ big[8192]!), 0, 1, Number(phys));
    fs.closeSync(fd);
    ({ vol, r } = open(copy));
    await expect(r.readAll(r.resolve("/d1/d2/big.bin")!)).rejects.toThrow(/checksum mismatch/);
    vol.dev.close();
  });
});
