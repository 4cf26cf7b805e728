// Btrfs keys (struct btrfs_disk_key: objectid u64, type u8, offset u64, little-endian, 17 bytes),
// their ordering, and the named item types and well-known object ids of btrfs_tree.h.

import { NcwError } from "../../../../ncw/errors.js";

export interface Key {
  objectid: bigint;
  type: number;
  offset: bigint;
}

export const KEY_SIZE = 17;

/** Object ids are u64; the "negative" ids of btrfs_tree.h are stored as 2^64 - n. */
export const u64neg = (n: number): bigint => (1n << 64n) - BigInt(n);
export const U64_MAX = (1n << 64n) - 1n;

// ---- Item types (the key's type byte) ----
export const INODE_ITEM_KEY = 1;
export const INODE_REF_KEY = 12;
export const INODE_EXTREF_KEY = 13;
export const XATTR_ITEM_KEY = 24;
export const VERITY_DESC_ITEM_KEY = 36;
export const VERITY_MERKLE_ITEM_KEY = 37;
export const ORPHAN_ITEM_KEY = 48;
export const DIR_LOG_ITEM_KEY = 60;
export const DIR_LOG_INDEX_KEY = 72;
export const DIR_ITEM_KEY = 84;
export const DIR_INDEX_KEY = 96;
export const EXTENT_DATA_KEY = 108;
export const EXTENT_CSUM_KEY = 128;
export const ROOT_ITEM_KEY = 132;
export const ROOT_BACKREF_KEY = 144;
export const ROOT_REF_KEY = 156;
export const EXTENT_ITEM_KEY = 168;
export const METADATA_ITEM_KEY = 169;
export const EXTENT_OWNER_REF_KEY = 172;
export const TREE_BLOCK_REF_KEY = 176;
export const EXTENT_DATA_REF_KEY = 178;
export const SHARED_BLOCK_REF_KEY = 182;
export const SHARED_DATA_REF_KEY = 184;
export const BLOCK_GROUP_ITEM_KEY = 192;
export const FREE_SPACE_INFO_KEY = 198;
export const FREE_SPACE_EXTENT_KEY = 199;
export const FREE_SPACE_BITMAP_KEY = 200;
export const DEV_EXTENT_KEY = 204;
export const DEV_ITEM_KEY = 216;
export const CHUNK_ITEM_KEY = 228;
export const RAID_STRIPE_KEY = 230;
export const QGROUP_STATUS_KEY = 240;
export const QGROUP_INFO_KEY = 242;
export const QGROUP_LIMIT_KEY = 244;
export const QGROUP_RELATION_KEY = 246;
/** Also called BALANCE_ITEM_KEY. */
export const TEMPORARY_ITEM_KEY = 248;
/** Also called DEV_STATS_KEY. */
export const PERSISTENT_ITEM_KEY = 249;
export const DEV_REPLACE_KEY = 250;
export const UUID_KEY_SUBVOL = 251;
export const UUID_KEY_RECEIVED_SUBVOL = 252;
export const STRING_ITEM_KEY = 253;

/** Item type names as `btrfs inspect-internal dump-tree` prints them. */
export const ITEM_TYPE_NAMES: Readonly<Record<number, string>> = {
  [INODE_ITEM_KEY]: "INODE_ITEM",
  [INODE_REF_KEY]: "INODE_REF",
  [INODE_EXTREF_KEY]: "INODE_EXTREF",
  [XATTR_ITEM_KEY]: "XATTR_ITEM",
  [VERITY_DESC_ITEM_KEY]: "VERITY_DESC_ITEM",
  [VERITY_MERKLE_ITEM_KEY]: "VERITY_MERKLE_ITEM",
  [ORPHAN_ITEM_KEY]: "ORPHAN_ITEM",
  [DIR_LOG_ITEM_KEY]: "DIR_LOG_ITEM",
  [DIR_LOG_INDEX_KEY]: "DIR_LOG_INDEX",
  [DIR_ITEM_KEY]: "DIR_ITEM",
  [DIR_INDEX_KEY]: "DIR_INDEX",
  [EXTENT_DATA_KEY]: "EXTENT_DATA",
  [EXTENT_CSUM_KEY]: "EXTENT_CSUM",
  [ROOT_ITEM_KEY]: "ROOT_ITEM",
  [ROOT_BACKREF_KEY]: "ROOT_BACKREF",
  [ROOT_REF_KEY]: "ROOT_REF",
  [EXTENT_ITEM_KEY]: "EXTENT_ITEM",
  [METADATA_ITEM_KEY]: "METADATA_ITEM",
  [EXTENT_OWNER_REF_KEY]: "EXTENT_OWNER_REF",
  [TREE_BLOCK_REF_KEY]: "TREE_BLOCK_REF",
  [EXTENT_DATA_REF_KEY]: "EXTENT_DATA_REF",
  [SHARED_BLOCK_REF_KEY]: "SHARED_BLOCK_REF",
  [SHARED_DATA_REF_KEY]: "SHARED_DATA_REF",
  [BLOCK_GROUP_ITEM_KEY]: "BLOCK_GROUP_ITEM",
  [FREE_SPACE_INFO_KEY]: "FREE_SPACE_INFO",
  [FREE_SPACE_EXTENT_KEY]: "FREE_SPACE_EXTENT",
  [FREE_SPACE_BITMAP_KEY]: "FREE_SPACE_BITMAP",
  [DEV_EXTENT_KEY]: "DEV_EXTENT",
  [DEV_ITEM_KEY]: "DEV_ITEM",
  [CHUNK_ITEM_KEY]: "CHUNK_ITEM",
  [RAID_STRIPE_KEY]: "RAID_STRIPE",
  [QGROUP_STATUS_KEY]: "QGROUP_STATUS",
  [QGROUP_INFO_KEY]: "QGROUP_INFO",
  [QGROUP_LIMIT_KEY]: "QGROUP_LIMIT",
  [QGROUP_RELATION_KEY]: "QGROUP_RELATION",
  [TEMPORARY_ITEM_KEY]: "TEMPORARY_ITEM",
  [PERSISTENT_ITEM_KEY]: "PERSISTENT_ITEM",
  [DEV_REPLACE_KEY]: "DEV_REPLACE",
  [UUID_KEY_SUBVOL]: "UUID_KEY_SUBVOL",
  [UUID_KEY_RECEIVED_SUBVOL]: "UUID_KEY_RECEIVED_SUBVOL",
  [STRING_ITEM_KEY]: "STRING_ITEM",
};

// ---- Well-known object ids ----
export const ROOT_TREE_OBJECTID = 1n;
export const EXTENT_TREE_OBJECTID = 2n;
export const CHUNK_TREE_OBJECTID = 3n;
export const DEV_TREE_OBJECTID = 4n;
export const FS_TREE_OBJECTID = 5n;
export const ROOT_TREE_DIR_OBJECTID = 6n;
export const CSUM_TREE_OBJECTID = 7n;
export const QUOTA_TREE_OBJECTID = 8n;
export const UUID_TREE_OBJECTID = 9n;
export const FREE_SPACE_TREE_OBJECTID = 10n;
export const BLOCK_GROUP_TREE_OBJECTID = 11n;
export const RAID_STRIPE_TREE_OBJECTID = 12n;
/** Device stats item's objectid (the key is (0, PERSISTENT_ITEM, devid)). */
export const DEV_STATS_OBJECTID = 0n;
export const BALANCE_OBJECTID = u64neg(4);
export const ORPHAN_OBJECTID = u64neg(5);
export const TREE_LOG_OBJECTID = u64neg(6);
export const TREE_LOG_FIXUP_OBJECTID = u64neg(7);
export const TREE_RELOC_OBJECTID = u64neg(8);
export const DATA_RELOC_TREE_OBJECTID = u64neg(9);
export const EXTENT_CSUM_OBJECTID = u64neg(10);
export const FREE_SPACE_OBJECTID = u64neg(11);
export const FREE_INO_OBJECTID = u64neg(12);
export const MULTIPLE_OBJECTIDS = u64neg(255);
export const FIRST_FREE_OBJECTID = 256n;
export const LAST_FREE_OBJECTID = u64neg(256);
export const FIRST_CHUNK_TREE_OBJECTID = 256n;
/** Objectid of DEV_ITEMs in the chunk tree. */
export const DEV_ITEMS_OBJECTID = 1n;
export const BTREE_INODE_OBJECTID = 1n;
export const EMPTY_SUBVOL_DIR_OBJECTID = 2n;

/** Orders keys as btrfs does: by objectid, then type, then offset (all unsigned). */
export function compareKeys(a: Key, b: Key): number {
  if (a.objectid !== b.objectid) return a.objectid < b.objectid ? -1 : 1;
  if (a.type !== b.type) return a.type < b.type ? -1 : 1;
  if (a.offset !== b.offset) return a.offset < b.offset ? -1 : 1;
  return 0;
}

function checkU64(v: bigint, what: string): void {
  if (v < 0n || v > U64_MAX) {
    throw new NcwError("data", `btrfs key ${what} ${v} does not fit in a u64`, {
      code: "BTRFS_KEY_RANGE",
    });
  }
}

/** Writes `key` at `off` in `buf` (17 bytes). */
export function encodeKeyInto(buf: Uint8Array, off: number, key: Key): void {
  if (off < 0 || off + KEY_SIZE > buf.length) {
    throw new NcwError("data", `btrfs key does not fit at offset ${off} of ${buf.length} bytes`, {
      code: "BTRFS_KEY_BOUNDS",
    });
  }
  checkU64(key.objectid, "objectid");
  checkU64(key.offset, "offset");
  if (!Number.isInteger(key.type) || key.type < 0 || key.type > 255) {
    throw new NcwError("data", `btrfs key type ${key.type} is not a byte`, {
      code: "BTRFS_KEY_RANGE",
    });
  }
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  dv.setBigUint64(off, key.objectid, true);
  dv.setUint8(off + 8, key.type);
  dv.setBigUint64(off + 9, key.offset, true);
}

export function encodeKey(key: Key): Uint8Array {
  const b = new Uint8Array(KEY_SIZE);
  encodeKeyInto(b, 0, key);
  return b;
}

/** Reads a key at `off` of `buf`. */
export function decodeKey(buf: Uint8Array, off = 0): Key {
  if (off < 0 || off + KEY_SIZE > buf.length) {
    throw new NcwError("data", `btrfs key at offset ${off} runs past ${buf.length} bytes`, {
      code: "BTRFS_KEY_BOUNDS",
    });
  }
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  return {
    objectid: dv.getBigUint64(off, true),
    type: dv.getUint8(off + 8),
    offset: dv.getBigUint64(off + 9, true),
  };
}

/** "(256 INODE_ITEM 0)" — the notation of `btrfs inspect-internal dump-tree`, for messages. */
export function formatKey(key: Key): string {
  const name = ITEM_TYPE_NAMES[key.type] ?? `UNKNOWN.${key.type}`;
  return `(${key.objectid} ${name} ${key.offset})`;
}
