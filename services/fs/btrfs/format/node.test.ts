import { describe, expect, it } from "vitest";
import { crc32c } from "./crc32c.js";
import { INODE_ITEM_KEY, INODE_REF_KEY } from "./key.js";
import {
  DEFAULT_HEADER_FLAGS,
  decodeNode,
  encodeNode,
  HEADER_SIZE,
  ITEM_SIZE,
  KEY_PTR_SIZE,
  leafFreeSpace,
  maxKeyPtrs,
  maxLeafData,
  type NodeHeader,
  type TreeNode,
} from "./node.js";

const NODESIZE = 4096;

function header(level: number): NodeHeader {
  return {
    csum: new Uint8Array(32),
    fsid: new Uint8Array(16).fill(0xaa),
    bytenr: 0x1000000n,
    flags: DEFAULT_HEADER_FLAGS,
    chunkTreeUuid: new Uint8Array(16).fill(0xbb),
    generation: 7n,
    owner: 5n,
    nritems: 0,
    level,
  };
}

describe("btrfs tree block", () => {
  it("lays out a leaf exactly as struct btrfs_header/btrfs_item say (hand-written bytes)", () => {
    const node: TreeNode = {
      header: header(0),
      items: [
        { key: { objectid: 256n, type: INODE_ITEM_KEY, offset: 0n }, data: Uint8Array.of(1, 2, 3) },
        { key: { objectid: 256n, type: INODE_REF_KEY, offset: 256n }, data: Uint8Array.of(9, 8) },
      ],
    };
    const b = encodeNode(node, NODESIZE);
    const expectHeader = [
      ...new Array(32).fill(-1), // csum, checked below
      ...new Array(16).fill(0xaa), // fsid
      0x00,
      0x00,
      0x00,
      0x01,
      0,
      0,
      0,
      0, // bytenr 0x1000000
      0x01,
      0,
      0,
      0,
      0,
      0,
      0,
      0x01, // flags WRITTEN | rev 1 << 56
      ...new Array(16).fill(0xbb), // chunk tree uuid
      7,
      0,
      0,
      0,
      0,
      0,
      0,
      0, // generation
      5,
      0,
      0,
      0,
      0,
      0,
      0,
      0, // owner
      2,
      0,
      0,
      0, // nritems
      0, // level
    ];
    expect(expectHeader.length).toBe(HEADER_SIZE);
    expect(Array.from(b.subarray(32, HEADER_SIZE))).toEqual(expectHeader.slice(32));
    // item 0: key (256 1 0), offset = 3995 - 3 = 3992, size 3
    const dataEnd = NODESIZE - HEADER_SIZE; // 3995
    expect(Array.from(b.subarray(HEADER_SIZE, HEADER_SIZE + ITEM_SIZE))).toEqual([
      0x00,
      0x01,
      0,
      0,
      0,
      0,
      0,
      0,
      1,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      (dataEnd - 3) & 0xff,
      (dataEnd - 3) >> 8,
      0,
      0,
      3,
      0,
      0,
      0,
    ]);
    // item 1: key (256 12 256), offset 3990, size 2
    expect(Array.from(b.subarray(HEADER_SIZE + ITEM_SIZE, HEADER_SIZE + 2 * ITEM_SIZE))).toEqual([
      0x00,
      0x01,
      0,
      0,
      0,
      0,
      0,
      0,
      12,
      0x00,
      0x01,
      0,
      0,
      0,
      0,
      0,
      0,
      (dataEnd - 5) & 0xff,
      (dataEnd - 5) >> 8,
      0,
      0,
      2,
      0,
      0,
      0,
    ]);
    expect(Array.from(b.subarray(NODESIZE - 5))).toEqual([9, 8, 1, 2, 3]);
    // checksum: crc32c over bytes 32.., little-endian in the first 4 bytes, then zeros.
    const c = crc32c(b, 32);
    expect(Array.from(b.subarray(0, 4))).toEqual([
      c & 0xff,
      (c >>> 8) & 0xff,
      (c >>> 16) & 0xff,
      c >>> 24,
    ]);
    expect(b.subarray(4, 32).every((x) => x === 0)).toBe(true);
    // everything between item headers and data is zero
    expect(b.subarray(HEADER_SIZE + 2 * ITEM_SIZE, NODESIZE - 5).every((x) => x === 0)).toBe(true);

    const back = decodeNode(b, NODESIZE);
    expect(back.items).toEqual(node.items);
    expect(back.header.nritems).toBe(2);
    expect(back.header.generation).toBe(7n);
    expect(leafFreeSpace({ items: node.items }, NODESIZE)).toBe(dataEnd - 2 * ITEM_SIZE - 5);
  });

  it("lays out an internal node's key pointers", () => {
    const node: TreeNode = {
      header: header(1),
      ptrs: [
        { key: { objectid: 1n, type: 1, offset: 0n }, blockptr: 0x2000n, generation: 3n },
        { key: { objectid: 300n, type: 1, offset: 0n }, blockptr: 0x3000n, generation: 4n },
      ],
    };
    const b = encodeNode(node, NODESIZE);
    expect(
      Array.from(b.subarray(HEADER_SIZE + KEY_PTR_SIZE, HEADER_SIZE + 2 * KEY_PTR_SIZE)),
    ).toEqual([
      0x2c,
      0x01,
      0,
      0,
      0,
      0,
      0,
      0,
      1,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      0, // key (300 1 0)
      0x00,
      0x30,
      0,
      0,
      0,
      0,
      0,
      0, // blockptr
      4,
      0,
      0,
      0,
      0,
      0,
      0,
      0, // generation
    ]);
    const back = decodeNode(b, NODESIZE);
    expect(back.ptrs).toEqual(node.ptrs);
    expect(back.header.level).toBe(1);
  });

  it("rejects a bad checksum, wrong size, unsorted keys and overflowing leaves", () => {
    const node: TreeNode = {
      header: header(0),
      items: [{ key: { objectid: 256n, type: 1, offset: 0n }, data: Uint8Array.of(1) }],
    };
    const b = encodeNode(node, NODESIZE);
    const bad = b.slice();
    bad[NODESIZE - 1] = (bad[NODESIZE - 1] ?? 0) ^ 1;
    expect(() => decodeNode(bad, NODESIZE)).toThrow(/checksum mismatch/);
    expect(decodeNode(bad, NODESIZE, { verifyChecksum: false }).items?.[0]?.data).toEqual(
      Uint8Array.of(0),
    );
    expect(() => decodeNode(b, 8192)).toThrow(/nodesize/);
    expect(() => decodeNode(b, NODESIZE, { expectBytenr: 5n })).toThrow(/says it is at/);
    const unsorted = encodeNode(
      {
        header: header(0),
        items: [
          { key: { objectid: 257n, type: 1, offset: 0n }, data: new Uint8Array(0) },
          { key: { objectid: 256n, type: 1, offset: 0n }, data: new Uint8Array(0) },
        ],
      },
      NODESIZE,
    );
    expect(() => decodeNode(unsorted, NODESIZE)).toThrow(/not above/);
    expect(() =>
      encodeNode(
        {
          header: header(0),
          items: [{ key: node.items[0]!.key, data: new Uint8Array(maxLeafData(NODESIZE)) }],
        },
        NODESIZE,
      ),
    ).toThrow(/do not fit/);
    // A corrupted item offset inside a correctly checksummed block is caught by the bounds checks.
    const off = b.slice();
    new DataView(off.buffer).setUint32(HEADER_SIZE + 17, 5000, true);
    new DataView(off.buffer).setUint32(0, crc32c(off, 32), true);
    expect(() => decodeNode(off, NODESIZE)).toThrow(/does not end/);
    expect(maxKeyPtrs(16384)).toBe(493);
    expect(maxLeafData(16384)).toBe(16283);
  });
});
