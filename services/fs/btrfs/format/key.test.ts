import { describe, expect, it } from "vitest";
import {
  compareKeys,
  DATA_RELOC_TREE_OBJECTID,
  DIR_ITEM_KEY,
  decodeKey,
  encodeKey,
  FS_TREE_OBJECTID,
  formatKey,
  INODE_ITEM_KEY,
  KEY_SIZE,
  ROOT_ITEM_KEY,
} from "./key.js";

describe("btrfs key", () => {
  it("encodes to the hand-written 17 bytes of struct btrfs_disk_key", () => {
    const bytes = encodeKey({
      objectid: 0x0102030405060708n,
      type: 0x54,
      offset: 0x1112131415161718n,
    });
    expect(Array.from(bytes)).toEqual([
      0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01, 0x54, 0x18, 0x17, 0x16, 0x15, 0x14, 0x13,
      0x12, 0x11,
    ]);
    expect(bytes.length).toBe(KEY_SIZE);
  });

  it("round-trips, including u64 extremes", () => {
    for (const k of [
      { objectid: 0n, type: 0, offset: 0n },
      { objectid: DATA_RELOC_TREE_OBJECTID, type: ROOT_ITEM_KEY, offset: (1n << 64n) - 1n },
      { objectid: 256n, type: DIR_ITEM_KEY, offset: 2378154706n },
    ]) {
      expect(decodeKey(encodeKey(k))).toEqual(k);
    }
    expect(DATA_RELOC_TREE_OBJECTID).toBe(18446744073709551607n);
  });

  it("orders by objectid, type, offset as unsigned values", () => {
    const a = { objectid: 5n, type: 1, offset: 9n };
    expect(compareKeys(a, { ...a })).toBe(0);
    expect(compareKeys(a, { objectid: 6n, type: 0, offset: 0n })).toBe(-1);
    expect(compareKeys(a, { objectid: 5n, type: 2, offset: 0n })).toBe(-1);
    expect(compareKeys(a, { objectid: 5n, type: 1, offset: 8n })).toBe(1);
    expect(compareKeys({ objectid: (1n << 64n) - 9n, type: 0, offset: 0n }, a)).toBe(1);
  });

  it("rejects out-of-range fields and short buffers", () => {
    expect(() => encodeKey({ objectid: -1n, type: 1, offset: 0n })).toThrow(/u64/);
    expect(() => encodeKey({ objectid: 1n << 64n, type: 1, offset: 0n })).toThrow(/u64/);
    expect(() => encodeKey({ objectid: 1n, type: 256, offset: 0n })).toThrow(/byte/);
    expect(() => decodeKey(new Uint8Array(16))).toThrow(/runs past/);
  });

  it("formats like dump-tree", () => {
    expect(formatKey({ objectid: FS_TREE_OBJECTID, type: INODE_ITEM_KEY, offset: 0n })).toBe(
      "(5 INODE_ITEM 0)",
    );
  });
});
