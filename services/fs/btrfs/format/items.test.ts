import { describe, expect, it } from "vitest";
import {
  BLOCK_GROUP_DATA,
  COMPRESS_ZSTD,
  decodeBlockGroupItem,
  decodeChunkItem,
  decodeCsumItem,
  decodeDevExtent,
  decodeDirItems,
  decodeExtentDataRef,
  decodeExtentItem,
  decodeFileExtentItem,
  decodeFreeSpaceInfo,
  decodeInodeItem,
  decodeInodeRefs,
  decodeRootItem,
  decodeRootRef,
  EXTENT_FLAG_DATA,
  EXTENT_FLAG_TREE_BLOCK,
  encodeBlockGroupItem,
  encodeChunkItem,
  encodeCsumItem,
  encodeDevExtent,
  encodeDirItems,
  encodeExtentDataRef,
  encodeExtentItem,
  encodeFileExtentItem,
  encodeFreeSpaceInfo,
  encodeInodeItem,
  encodeInodeRefs,
  encodeRootItem,
  encodeRootRef,
  FILE_EXTENT_INLINE,
  FILE_EXTENT_REG,
  FT_DIR,
  FT_REG_FILE,
  INODE_ITEM_SIZE,
  type InodeItem,
  ROOT_ITEM_SIZE,
  type RootItem,
  S_IFDIR,
} from "./items.js";
import { EXTENT_DATA_REF_KEY, INODE_ITEM_KEY, ROOT_ITEM_KEY, TREE_BLOCK_REF_KEY } from "./key.js";

const enc = new TextEncoder();
const u64 = (v: bigint) => {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, v, true);
  return Array.from(b);
};
const u32 = (v: number) => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24];
const u16 = (v: number) => [v & 0xff, v >>> 8];
const key = (o: bigint, t: number, off: bigint) => [...u64(o), t, ...u64(off)];

const inode: InodeItem = {
  generation: 3n,
  transid: 4n,
  size: 10n,
  nbytes: 4096n,
  blockGroup: 0n,
  nlink: 1,
  uid: 1000,
  gid: 100,
  mode: S_IFDIR | 0o755,
  rdev: 0n,
  flags: 0n,
  sequence: 2n,
  atime: { sec: 1700000000n, nsec: 5 },
  ctime: { sec: 1700000001n, nsec: 6 },
  mtime: { sec: 1700000002n, nsec: 7 },
  otime: { sec: 1700000003n, nsec: 8 },
};

describe("btrfs item codecs (bytes written out from btrfs_tree.h)", () => {
  it("inode item: 160 bytes", () => {
    const expected = [
      ...u64(3n),
      ...u64(4n),
      ...u64(10n),
      ...u64(4096n),
      ...u64(0n),
      ...u32(1),
      ...u32(1000),
      ...u32(100),
      ...u32(0o40755),
      ...u64(0n),
      ...u64(0n),
      ...u64(2n),
      ...new Array(32).fill(0),
      ...u64(1700000000n),
      ...u32(5),
      ...u64(1700000001n),
      ...u32(6),
      ...u64(1700000002n),
      ...u32(7),
      ...u64(1700000003n),
      ...u32(8),
    ];
    expect(expected.length).toBe(INODE_ITEM_SIZE);
    expect(Array.from(encodeInodeItem(inode))).toEqual(expected);
    expect(decodeInodeItem(Uint8Array.from(expected))).toEqual(inode);
    expect(() => decodeInodeItem(new Uint8Array(159))).toThrow(/needs/);
    expect(() => decodeInodeItem(new Uint8Array(161))).toThrow(/trailing/);
  });

  it("inode ref: index, name_len, name — several back to back", () => {
    const refs = [
      { index: 2n, name: enc.encode("a") },
      { index: 3n, name: enc.encode("bc") },
    ];
    const expected = [...u64(2n), ...u16(1), 0x61, ...u64(3n), ...u16(2), 0x62, 0x63];
    expect(Array.from(encodeInodeRefs(refs))).toEqual(expected);
    expect(decodeInodeRefs(Uint8Array.from(expected))).toEqual(refs);
    expect(() => decodeInodeRefs(Uint8Array.from(expected.slice(0, -1)))).toThrow();
  });

  it("dir item: location key, transid, data_len, name_len, type, name, data", () => {
    const d = {
      location: { objectid: 257n, type: INODE_ITEM_KEY, offset: 0n },
      transid: 7n,
      type: FT_REG_FILE,
      name: enc.encode("hi"),
      data: new Uint8Array(0),
    };
    const x = {
      location: { objectid: 0n, type: 0, offset: 0n },
      transid: 7n,
      type: 8,
      name: enc.encode("user.k"),
      data: enc.encode("v"),
    };
    const expected = [
      ...key(257n, 1, 0n),
      ...u64(7n),
      ...u16(0),
      ...u16(2),
      1,
      0x68,
      0x69,
      ...key(0n, 0, 0n),
      ...u64(7n),
      ...u16(1),
      ...u16(6),
      8,
      ...enc.encode("user.k"),
      0x76,
    ];
    expect(Array.from(encodeDirItems([d, x]))).toEqual(expected);
    expect(decodeDirItems(Uint8Array.from(expected))).toEqual([d, x]);
  });

  it("root item: 439 bytes, fields in order", () => {
    const r: RootItem = {
      inode: { ...inode, mode: S_IFDIR | 0o755 },
      generation: 9n,
      rootDirid: 256n,
      bytenr: 0x1d04000n,
      byteLimit: 0n,
      bytesUsed: 16384n,
      lastSnapshot: 0n,
      flags: 0n,
      refs: 1,
      dropProgress: { objectid: 0n, type: 0, offset: 0n },
      dropLevel: 0,
      level: 0,
      generationV2: 9n,
      uuid: new Uint8Array(16).fill(1),
      parentUuid: new Uint8Array(16),
      receivedUuid: new Uint8Array(16),
      ctransid: 9n,
      otransid: 9n,
      stransid: 0n,
      rtransid: 0n,
      ctime: { sec: 1n, nsec: 2 },
      otime: { sec: 3n, nsec: 4 },
      stime: { sec: 0n, nsec: 0 },
      rtime: { sec: 0n, nsec: 0 },
    };
    const b = encodeRootItem(r);
    expect(b.length).toBe(ROOT_ITEM_SIZE);
    expect(Array.from(b.subarray(160, 239))).toEqual([
      ...u64(9n),
      ...u64(256n),
      ...u64(0x1d04000n),
      ...u64(0n),
      ...u64(16384n),
      ...u64(0n),
      ...u64(0n),
      ...u32(1),
      ...key(0n, 0, 0n),
      0,
      0,
    ]);
    expect(Array.from(b.subarray(239, 247))).toEqual(u64(9n));
    expect(Array.from(b.subarray(247, 263))).toEqual(new Array(16).fill(1));
    expect(Array.from(b.subarray(295, 327))).toEqual([
      ...u64(9n),
      ...u64(9n),
      ...u64(0n),
      ...u64(0n),
    ]);
    expect(Array.from(b.subarray(327, 339))).toEqual([...u64(1n), ...u32(2)]);
    expect(decodeRootItem(b)).toEqual(r);
    // legacy 239-byte root items are accepted
    expect(decodeRootItem(b.subarray(0, 239)).bytenr).toBe(0x1d04000n);
  });

  it("root ref: dirid, sequence, name_len, name", () => {
    const v = { dirid: 256n, sequence: 2n, name: enc.encode("snap") };
    const expected = [...u64(256n), ...u64(2n), ...u16(4), ...enc.encode("snap")];
    expect(Array.from(encodeRootRef(v))).toEqual(expected);
    expect(decodeRootRef(Uint8Array.from(expected))).toEqual(v);
  });

  it("extent items: skinny metadata with a tree block ref, data with an inline data ref", () => {
    const meta = {
      refs: 1n,
      generation: 5n,
      flags: EXTENT_FLAG_TREE_BLOCK,
      inline: [{ type: TREE_BLOCK_REF_KEY, root: 5n } as const],
    };
    const mexp = [...u64(1n), ...u64(5n), ...u64(2n), 176, ...u64(5n)];
    expect(Array.from(encodeExtentItem(meta))).toEqual(mexp);
    expect(decodeExtentItem(Uint8Array.from(mexp), true)).toEqual(meta);

    const data = {
      refs: 1n,
      generation: 6n,
      flags: EXTENT_FLAG_DATA,
      inline: [
        { type: EXTENT_DATA_REF_KEY, root: 5n, objectid: 257n, offset: 0n, count: 1 } as const,
      ],
    };
    const dexp = [
      ...u64(1n),
      ...u64(6n),
      ...u64(1n),
      178,
      ...u64(5n),
      ...u64(257n),
      ...u64(0n),
      ...u32(1),
    ];
    expect(Array.from(encodeExtentItem(data))).toEqual(dexp);
    expect(decodeExtentItem(Uint8Array.from(dexp), false)).toEqual(data);

    // non-skinny tree block: tree_block_info (key + level) before the inline refs
    const old = {
      refs: 1n,
      generation: 1n,
      flags: EXTENT_FLAG_TREE_BLOCK,
      treeBlock: { key: { objectid: 1n, type: ROOT_ITEM_KEY, offset: 0n }, level: 0 },
      inline: [{ type: TREE_BLOCK_REF_KEY, root: 1n } as const],
    };
    const oexp = [...u64(1n), ...u64(1n), ...u64(2n), ...key(1n, 132, 0n), 0, 176, ...u64(1n)];
    expect(Array.from(encodeExtentItem(old))).toEqual(oexp);
    expect(decodeExtentItem(Uint8Array.from(oexp), false)).toEqual(old);
    expect(() => decodeExtentItem(Uint8Array.from([...mexp.slice(0, 24), 99]), true)).toThrow(
      /unknown inline/,
    );

    const dr = { root: 5n, objectid: 258n, offset: 4096n, count: 2 };
    expect(Array.from(encodeExtentDataRef(dr))).toEqual([
      ...u64(5n),
      ...u64(258n),
      ...u64(4096n),
      ...u32(2),
    ]);
    expect(decodeExtentDataRef(encodeExtentDataRef(dr))).toEqual(dr);
  });

  it("file extent items: inline and regular", () => {
    const inl = {
      generation: 7n,
      ramBytes: 3n,
      compression: 0,
      encryption: 0,
      otherEncoding: 0,
      type: FILE_EXTENT_INLINE,
      inlineData: enc.encode("abc"),
    } as const;
    const iexp = [...u64(7n), ...u64(3n), 0, 0, 0, 0, 0, 0x61, 0x62, 0x63];
    expect(Array.from(encodeFileExtentItem(inl))).toEqual(iexp);
    expect(decodeFileExtentItem(Uint8Array.from(iexp))).toEqual(inl);
    const reg = {
      generation: 8n,
      ramBytes: 131072n,
      compression: COMPRESS_ZSTD,
      encryption: 0,
      otherEncoding: 0,
      type: FILE_EXTENT_REG,
      diskBytenr: 0x1500000n,
      diskNumBytes: 4096n,
      offset: 0n,
      numBytes: 131072n,
    } as const;
    const rexp = [
      ...u64(8n),
      ...u64(131072n),
      3,
      0,
      0,
      0,
      1,
      ...u64(0x1500000n),
      ...u64(4096n),
      ...u64(0n),
      ...u64(131072n),
    ];
    expect(Array.from(encodeFileExtentItem(reg))).toEqual(rexp);
    expect(decodeFileExtentItem(Uint8Array.from(rexp))).toEqual(reg);
    expect(() => decodeFileExtentItem(Uint8Array.from([...rexp.slice(0, 20), 5]))).toThrow(
      /unknown type/,
    );
  });

  it("chunk, dev extent, block group, csum and free space info items", () => {
    const uuid = new Uint8Array(16).fill(0xcd);
    const c = {
      length: 8388608n,
      owner: 2n,
      stripeLen: 65536n,
      type: BLOCK_GROUP_DATA,
      ioAlign: 65536,
      ioWidth: 65536,
      sectorSize: 4096,
      subStripes: 1,
      stripes: [{ devid: 1n, offset: 0x1500000n, devUuid: uuid }],
    };
    const cexp = [
      ...u64(8388608n),
      ...u64(2n),
      ...u64(65536n),
      ...u64(1n),
      ...u32(65536),
      ...u32(65536),
      ...u32(4096),
      ...u16(1),
      ...u16(1),
      ...u64(1n),
      ...u64(0x1500000n),
      ...new Array(16).fill(0xcd),
    ];
    expect(Array.from(encodeChunkItem(c))).toEqual(cexp);
    expect(decodeChunkItem(Uint8Array.from(cexp))).toEqual(c);

    const de = {
      chunkTree: 3n,
      chunkObjectid: 256n,
      chunkOffset: 0x1500000n,
      length: 8388608n,
      chunkTreeUuid: uuid,
    };
    expect(Array.from(encodeDevExtent(de))).toEqual([
      ...u64(3n),
      ...u64(256n),
      ...u64(0x1500000n),
      ...u64(8388608n),
      ...new Array(16).fill(0xcd),
    ]);
    expect(decodeDevExtent(encodeDevExtent(de))).toEqual(de);

    const bg = { used: 16384n, chunkObjectid: 256n, flags: 1n };
    expect(Array.from(encodeBlockGroupItem(bg))).toEqual([
      ...u64(16384n),
      ...u64(256n),
      ...u64(1n),
    ]);
    expect(decodeBlockGroupItem(encodeBlockGroupItem(bg))).toEqual(bg);

    expect(Array.from(encodeCsumItem([0x11223344, 0xdeadbeef]))).toEqual([
      0x44, 0x33, 0x22, 0x11, 0xef, 0xbe, 0xad, 0xde,
    ]);
    expect(Array.from(decodeCsumItem(Uint8Array.of(1, 0, 0, 0)))).toEqual([1]);
    expect(() => decodeCsumItem(new Uint8Array(3))).toThrow(/whole number/);

    expect(Array.from(encodeFreeSpaceInfo({ extentCount: 3, flags: 1 }))).toEqual([
      ...u32(3),
      ...u32(1),
    ]);
    expect(decodeFreeSpaceInfo(Uint8Array.from([...u32(3), ...u32(0)]))).toEqual({
      extentCount: 3,
      flags: 0,
    });
    expect(FT_DIR).toBe(2);
  });
});
