// Codecs of Btrfs item payloads (btrfs_tree.h): inode, inode ref/extref, dir item/index and xattr,
// root item/ref, extent item with inline refs, data refs, block group, chunk + stripes, device item,
// device extent, file extent (inline/regular/prealloc), csum, free space info, uuid items.

import { NcwError } from "../../../../ncw/errors.js";
import { ByteReader, ByteWriter } from "./bytes.js";
import { crc32cUpdate } from "./crc32c.js";
import {
  decodeKey,
  EXTENT_DATA_REF_KEY,
  EXTENT_OWNER_REF_KEY,
  encodeKeyInto,
  KEY_SIZE,
  type Key,
  SHARED_BLOCK_REF_KEY,
  SHARED_DATA_REF_KEY,
  TREE_BLOCK_REF_KEY,
} from "./key.js";

// ---------------------------------------------------------------- timespec
export interface Timespec {
  sec: bigint;
  nsec: number;
}
export const TIMESPEC_SIZE = 12;
const readTs = (r: ByteReader): Timespec => ({ sec: r.u64(), nsec: r.u32() });
const writeTs = (w: ByteWriter, t: Timespec): void => {
  w.u64(t.sec).u32(t.nsec);
};
export const ZERO_TIME: Timespec = { sec: 0n, nsec: 0 };
export function timespecFromMs(ms: number): Timespec {
  const sec = Math.floor(ms / 1000);
  return { sec: BigInt(sec), nsec: Math.round((ms - sec * 1000) * 1e6) % 1e9 };
}
export function timespecToMs(t: Timespec): number {
  return Number(t.sec) * 1000 + Math.floor(t.nsec / 1e6);
}

// ---------------------------------------------------------------- inode item
export interface InodeItem {
  generation: bigint;
  transid: bigint;
  size: bigint;
  nbytes: bigint;
  blockGroup: bigint;
  nlink: number;
  uid: number;
  gid: number;
  mode: number;
  rdev: bigint;
  flags: bigint;
  sequence: bigint;
  atime: Timespec;
  ctime: Timespec;
  mtime: Timespec;
  otime: Timespec;
}
export const INODE_ITEM_SIZE = 160;

// Inode flags (btrfs_inode_item.flags).
export const INODE_NODATASUM = 1n << 0n;
export const INODE_NODATACOW = 1n << 1n;
export const INODE_READONLY = 1n << 2n;
export const INODE_NOCOMPRESS = 1n << 3n;
export const INODE_PREALLOC = 1n << 4n;
export const INODE_SYNC = 1n << 5n;
export const INODE_IMMUTABLE = 1n << 6n;
export const INODE_APPEND = 1n << 7n;
export const INODE_NODUMP = 1n << 8n;
export const INODE_NOATIME = 1n << 9n;
export const INODE_DIRSYNC = 1n << 10n;
export const INODE_COMPRESS = 1n << 11n;

// POSIX mode bits.
export const S_IFMT = 0o170000;
export const S_IFSOCK = 0o140000;
export const S_IFLNK = 0o120000;
export const S_IFREG = 0o100000;
export const S_IFBLK = 0o060000;
export const S_IFDIR = 0o040000;
export const S_IFCHR = 0o020000;
export const S_IFIFO = 0o010000;

function readInode(r: ByteReader): InodeItem {
  const v = {
    generation: r.u64(),
    transid: r.u64(),
    size: r.u64(),
    nbytes: r.u64(),
    blockGroup: r.u64(),
    nlink: r.u32(),
    uid: r.u32(),
    gid: r.u32(),
    mode: r.u32(),
    rdev: r.u64(),
    flags: r.u64(),
    sequence: r.u64(),
  };
  r.skip(32);
  return { ...v, atime: readTs(r), ctime: readTs(r), mtime: readTs(r), otime: readTs(r) };
}
function writeInode(w: ByteWriter, v: InodeItem): void {
  w.u64(v.generation).u64(v.transid).u64(v.size).u64(v.nbytes).u64(v.blockGroup);
  w.u32(v.nlink).u32(v.uid).u32(v.gid).u32(v.mode);
  w.u64(v.rdev).u64(v.flags).u64(v.sequence).zeros(32);
  writeTs(w, v.atime);
  writeTs(w, v.ctime);
  writeTs(w, v.mtime);
  writeTs(w, v.otime);
}
export function decodeInodeItem(b: Uint8Array): InodeItem {
  const r = new ByteReader(b, "inode item");
  const v = readInode(r);
  r.end();
  return v;
}
export function encodeInodeItem(v: InodeItem): Uint8Array {
  const w = new ByteWriter(INODE_ITEM_SIZE, "inode item");
  writeInode(w, v);
  return w.done();
}

/** A new inode: nlink 1, every time `now`, uid/gid/size/flags 0 unless `fields` says otherwise. */
export function newInodeItem(
  generation: bigint,
  mode: number,
  now: Timespec,
  fields: Partial<InodeItem> = {},
): InodeItem {
  return {
    generation,
    transid: generation,
    size: 0n,
    nbytes: 0n,
    blockGroup: 0n,
    nlink: 1,
    uid: 0,
    gid: 0,
    mode,
    rdev: 0n,
    flags: 0n,
    sequence: 0n,
    atime: now,
    ctime: now,
    mtime: now,
    otime: now,
    ...fields,
  };
}

// ---------------------------------------------------------------- inode ref / extref
/** One name of an inode in a parent directory. INODE_REF key: (inode, INODE_REF, parent). */
export interface InodeRef {
  index: bigint;
  name: Uint8Array;
}
export const INODE_REF_HEADER_SIZE = 10;
/** An INODE_REF item holds one or more refs (hard links in the same directory), back to back. */
export function decodeInodeRefs(b: Uint8Array): InodeRef[] {
  const r = new ByteReader(b, "inode ref");
  const out: InodeRef[] = [];
  while (r.remaining > 0) {
    const index = r.u64();
    const len = r.u16();
    out.push({ index, name: r.bytes(len) });
  }
  if (out.length === 0) throw emptyItem("inode ref");
  return out;
}
export function encodeInodeRefs(refs: readonly InodeRef[]): Uint8Array {
  const w = new ByteWriter(
    refs.reduce((n, x) => n + INODE_REF_HEADER_SIZE + x.name.length, 0),
    "inode ref",
  );
  for (const x of refs) w.u64(x.index).u16(checkNameLen(x.name)).bytes(x.name);
  return w.done();
}

/** INODE_EXTREF key: (inode, INODE_EXTREF, hash of parent+name). */
export interface InodeExtref {
  parent: bigint;
  index: bigint;
  name: Uint8Array;
}
export const INODE_EXTREF_HEADER_SIZE = 18;
export function decodeInodeExtrefs(b: Uint8Array): InodeExtref[] {
  const r = new ByteReader(b, "inode extref");
  const out: InodeExtref[] = [];
  while (r.remaining > 0) {
    const parent = r.u64();
    const index = r.u64();
    const len = r.u16();
    out.push({ parent, index, name: r.bytes(len) });
  }
  if (out.length === 0) throw emptyItem("inode extref");
  return out;
}
export function encodeInodeExtrefs(refs: readonly InodeExtref[]): Uint8Array {
  const w = new ByteWriter(
    refs.reduce((n, x) => n + INODE_EXTREF_HEADER_SIZE + x.name.length, 0),
    "inode extref",
  );
  for (const x of refs) w.u64(x.parent).u64(x.index).u16(checkNameLen(x.name)).bytes(x.name);
  return w.done();
}
/** Key offset of an INODE_EXTREF (btrfs_extref_hash): raw crc32c of the name seeded with the parent's low 32 bits. */
export function extrefHash(parent: bigint, name: Uint8Array): bigint {
  return BigInt(crc32cUpdate(Number(parent & 0xffffffffn), name));
}

// ---------------------------------------------------------------- dir item / dir index / xattr
export const FT_UNKNOWN = 0;
export const FT_REG_FILE = 1;
export const FT_DIR = 2;
export const FT_CHRDEV = 3;
export const FT_BLKDEV = 4;
export const FT_FIFO = 5;
export const FT_SOCK = 6;
export const FT_SYMLINK = 7;
export const FT_XATTR = 8;

export function fileTypeOfMode(mode: number): number {
  switch (mode & S_IFMT) {
    case S_IFREG:
      return FT_REG_FILE;
    case S_IFDIR:
      return FT_DIR;
    case S_IFCHR:
      return FT_CHRDEV;
    case S_IFBLK:
      return FT_BLKDEV;
    case S_IFIFO:
      return FT_FIFO;
    case S_IFSOCK:
      return FT_SOCK;
    case S_IFLNK:
      return FT_SYMLINK;
    default:
      return FT_UNKNOWN;
  }
}

/**
 * A directory entry (DIR_ITEM keyed by name hash, DIR_INDEX keyed by sequence) or an xattr
 * (XATTR_ITEM: location zero, type FT_XATTR, name = attribute name, data = value).
 */
export interface DirItem {
  location: Key;
  transid: bigint;
  type: number;
  name: Uint8Array;
  data: Uint8Array;
}
export const DIR_ITEM_HEADER_SIZE = 30;
/** Maximum length of a file name (BTRFS_NAME_LEN). */
export const NAME_LEN = 255;

/** A DIR_ITEM or XATTR_ITEM holds every entry whose name hashes alike, back to back. */
export function decodeDirItems(b: Uint8Array): DirItem[] {
  const r = new ByteReader(b, "dir item");
  const out: DirItem[] = [];
  while (r.remaining > 0) {
    r.need(DIR_ITEM_HEADER_SIZE);
    const location = decodeKey(b, r.pos);
    r.skip(KEY_SIZE);
    const transid = r.u64();
    const dataLen = r.u16();
    const nameLen = r.u16();
    const type = r.u8();
    const name = r.bytes(nameLen);
    out.push({ location, transid, type, name, data: r.bytes(dataLen) });
  }
  if (out.length === 0) throw emptyItem("dir item");
  return out;
}
export function dirItemSize(d: { name: Uint8Array; data: Uint8Array }): number {
  return DIR_ITEM_HEADER_SIZE + d.name.length + d.data.length;
}
export function encodeDirItems(items: readonly DirItem[]): Uint8Array {
  const w = new ByteWriter(
    items.reduce((n, d) => n + dirItemSize(d), 0),
    "dir item",
  );
  for (const d of items) {
    encodeKeyInto(w.buf, w.pos, d.location);
    w.zeros(KEY_SIZE);
    w.u64(d.transid).u16(d.data.length).u16(d.name.length).u8(d.type).bytes(d.name).bytes(d.data);
  }
  return w.done();
}

// ---------------------------------------------------------------- root item
export interface RootItem {
  inode: InodeItem;
  generation: bigint;
  rootDirid: bigint;
  bytenr: bigint;
  byteLimit: bigint;
  bytesUsed: bigint;
  lastSnapshot: bigint;
  flags: bigint;
  refs: number;
  dropProgress: Key;
  dropLevel: number;
  level: number;
  generationV2: bigint;
  uuid: Uint8Array;
  parentUuid: Uint8Array;
  receivedUuid: Uint8Array;
  ctransid: bigint;
  otransid: bigint;
  stransid: bigint;
  rtransid: bigint;
  ctime: Timespec;
  otime: Timespec;
  stime: Timespec;
  rtime: Timespec;
}
export const ROOT_ITEM_SIZE = 439;
/** Size of the pre-3.x root item, which ends after `level` (readers must accept it). */
export const ROOT_ITEM_LEGACY_SIZE = 239;
export const ROOT_SUBVOL_RDONLY = 1n;
export const ROOT_SUBVOL_DEAD = 1n << 48n;

export function decodeRootItem(b: Uint8Array): RootItem {
  const r = new ByteReader(b, "root item");
  if (b.length !== ROOT_ITEM_SIZE && b.length !== ROOT_ITEM_LEGACY_SIZE) {
    throw new NcwError("data", `btrfs root item is ${b.length} bytes (expected 439 or 239)`, {
      code: "BTRFS_ITEM_SIZE",
    });
  }
  const inode = readInode(r);
  const generation = r.u64();
  const rootDirid = r.u64();
  const bytenr = r.u64();
  const byteLimit = r.u64();
  const bytesUsed = r.u64();
  const lastSnapshot = r.u64();
  const flags = r.u64();
  const refs = r.u32();
  const dropProgress = decodeKey(b, r.pos);
  r.skip(KEY_SIZE);
  const dropLevel = r.u8();
  const level = r.u8();
  const z16 = new Uint8Array(16);
  const base = {
    inode,
    generation,
    rootDirid,
    bytenr,
    byteLimit,
    bytesUsed,
    lastSnapshot,
    flags,
    refs,
    dropProgress,
    dropLevel,
    level,
  };
  if (b.length === ROOT_ITEM_LEGACY_SIZE) {
    return {
      ...base,
      generationV2: 0n,
      uuid: z16,
      parentUuid: z16.slice(),
      receivedUuid: z16.slice(),
      ctransid: 0n,
      otransid: 0n,
      stransid: 0n,
      rtransid: 0n,
      ctime: ZERO_TIME,
      otime: ZERO_TIME,
      stime: ZERO_TIME,
      rtime: ZERO_TIME,
    };
  }
  const v: RootItem = {
    ...base,
    generationV2: r.u64(),
    uuid: r.bytes(16),
    parentUuid: r.bytes(16),
    receivedUuid: r.bytes(16),
    ctransid: r.u64(),
    otransid: r.u64(),
    stransid: r.u64(),
    rtransid: r.u64(),
    ctime: readTs(r),
    otime: readTs(r),
    stime: readTs(r),
    rtime: readTs(r),
  };
  r.skip(64);
  r.end();
  return v;
}
export function encodeRootItem(v: RootItem): Uint8Array {
  const w = new ByteWriter(ROOT_ITEM_SIZE, "root item");
  writeInode(w, v.inode);
  w.u64(v.generation).u64(v.rootDirid).u64(v.bytenr).u64(v.byteLimit).u64(v.bytesUsed);
  w.u64(v.lastSnapshot).u64(v.flags).u32(v.refs);
  encodeKeyInto(w.buf, w.pos, v.dropProgress);
  w.zeros(KEY_SIZE);
  w.u8(v.dropLevel).u8(v.level).u64(v.generationV2);
  w.bytes(v.uuid, 16).bytes(v.parentUuid, 16).bytes(v.receivedUuid, 16);
  w.u64(v.ctransid).u64(v.otransid).u64(v.stransid).u64(v.rtransid);
  writeTs(w, v.ctime);
  writeTs(w, v.otime);
  writeTs(w, v.stime);
  writeTs(w, v.rtime);
  w.zeros(64);
  return w.done();
}

// ---------------------------------------------------------------- root ref / backref
/** ROOT_REF (parent, ROOT_REF, child) and ROOT_BACKREF (child, ROOT_BACKREF, parent). */
export interface RootRef {
  /** Inode number of the directory in the parent subvolume holding the entry. */
  dirid: bigint;
  /** The entry's DIR_INDEX sequence. */
  sequence: bigint;
  name: Uint8Array;
}
export const ROOT_REF_HEADER_SIZE = 18;
export function decodeRootRef(b: Uint8Array): RootRef {
  const r = new ByteReader(b, "root ref");
  const dirid = r.u64();
  const sequence = r.u64();
  const len = r.u16();
  const v = { dirid, sequence, name: r.bytes(len) };
  r.end();
  return v;
}
export function encodeRootRef(v: RootRef): Uint8Array {
  return new ByteWriter(ROOT_REF_HEADER_SIZE + v.name.length, "root ref")
    .u64(v.dirid)
    .u64(v.sequence)
    .u16(checkNameLen(v.name))
    .bytes(v.name)
    .done();
}

// ---------------------------------------------------------------- extent tree
export const EXTENT_FLAG_DATA = 1n;
export const EXTENT_FLAG_TREE_BLOCK = 2n;
export const BLOCK_FLAG_FULL_BACKREF = 1n << 8n;

export type InlineRef =
  | { type: typeof TREE_BLOCK_REF_KEY; root: bigint }
  | { type: typeof SHARED_BLOCK_REF_KEY; parent: bigint }
  | {
      type: typeof EXTENT_DATA_REF_KEY;
      root: bigint;
      objectid: bigint;
      offset: bigint;
      count: number;
    }
  | { type: typeof SHARED_DATA_REF_KEY; parent: bigint; count: number }
  | { type: typeof EXTENT_OWNER_REF_KEY; root: bigint };

/**
 * EXTENT_ITEM (bytenr, EXTENT_ITEM, length) or skinny METADATA_ITEM (bytenr, METADATA_ITEM, level).
 * `treeBlock` (key + level) is present only in a non-skinny EXTENT_ITEM of a tree block.
 */
export interface ExtentItem {
  refs: bigint;
  generation: bigint;
  flags: bigint;
  treeBlock?: { key: Key; level: number };
  inline: InlineRef[];
}
export const EXTENT_ITEM_HEADER_SIZE = 24;
export const TREE_BLOCK_INFO_SIZE = 18;

export function inlineRefSize(ref: InlineRef): number {
  switch (ref.type) {
    case EXTENT_DATA_REF_KEY:
      return 1 + 28;
    case SHARED_DATA_REF_KEY:
      return 1 + 8 + 4;
    default:
      return 1 + 8;
  }
}

/** `hasTreeBlockInfo`: true for a non-skinny EXTENT_ITEM whose flags say TREE_BLOCK. */
export function decodeExtentItem(b: Uint8Array, skinny: boolean): ExtentItem {
  const r = new ByteReader(b, "extent item");
  const refs = r.u64();
  const generation = r.u64();
  const flags = r.u64();
  let treeBlock: ExtentItem["treeBlock"];
  if (!skinny && (flags & EXTENT_FLAG_TREE_BLOCK) !== 0n) {
    r.need(TREE_BLOCK_INFO_SIZE);
    const key = decodeKey(b, r.pos);
    r.skip(KEY_SIZE);
    treeBlock = { key, level: r.u8() };
  }
  const inline: InlineRef[] = [];
  while (r.remaining > 0) {
    const type = r.u8();
    switch (type) {
      case TREE_BLOCK_REF_KEY:
        inline.push({ type, root: r.u64() });
        break;
      case SHARED_BLOCK_REF_KEY:
        inline.push({ type, parent: r.u64() });
        break;
      case EXTENT_DATA_REF_KEY:
        inline.push({ type, root: r.u64(), objectid: r.u64(), offset: r.u64(), count: r.u32() });
        break;
      case SHARED_DATA_REF_KEY:
        inline.push({ type, parent: r.u64(), count: r.u32() });
        break;
      case EXTENT_OWNER_REF_KEY:
        inline.push({ type, root: r.u64() });
        break;
      default:
        throw new NcwError("data", `btrfs extent item: unknown inline ref type ${type}`, {
          code: "BTRFS_BAD_INLINE_REF",
        });
    }
  }
  return treeBlock
    ? { refs, generation, flags, treeBlock, inline }
    : { refs, generation, flags, inline };
}
export function extentItemSize(v: ExtentItem): number {
  return (
    EXTENT_ITEM_HEADER_SIZE +
    (v.treeBlock ? TREE_BLOCK_INFO_SIZE : 0) +
    v.inline.reduce((n, x) => n + inlineRefSize(x), 0)
  );
}
export function encodeExtentItem(v: ExtentItem): Uint8Array {
  const w = new ByteWriter(extentItemSize(v), "extent item");
  w.u64(v.refs).u64(v.generation).u64(v.flags);
  if (v.treeBlock) {
    encodeKeyInto(w.buf, w.pos, v.treeBlock.key);
    w.zeros(KEY_SIZE).u8(v.treeBlock.level);
  }
  for (const x of v.inline) {
    w.u8(x.type);
    switch (x.type) {
      case TREE_BLOCK_REF_KEY:
      case EXTENT_OWNER_REF_KEY:
        w.u64(x.root);
        break;
      case SHARED_BLOCK_REF_KEY:
        w.u64(x.parent);
        break;
      case EXTENT_DATA_REF_KEY:
        w.u64(x.root).u64(x.objectid).u64(x.offset).u32(x.count);
        break;
      case SHARED_DATA_REF_KEY:
        w.u64(x.parent).u32(x.count);
        break;
    }
  }
  return w.done();
}

/** Keyed EXTENT_DATA_REF item: (bytenr, EXTENT_DATA_REF, extentDataRefHash(root, objectid, offset)). */
export interface ExtentDataRef {
  root: bigint;
  objectid: bigint;
  offset: bigint;
  count: number;
}
export const EXTENT_DATA_REF_SIZE = 28;
export function decodeExtentDataRef(b: Uint8Array): ExtentDataRef {
  const r = new ByteReader(b, "extent data ref");
  const v = { root: r.u64(), objectid: r.u64(), offset: r.u64(), count: r.u32() };
  r.end();
  return v;
}
export function encodeExtentDataRef(v: ExtentDataRef): Uint8Array {
  return new ByteWriter(EXTENT_DATA_REF_SIZE, "extent data ref")
    .u64(v.root)
    .u64(v.objectid)
    .u64(v.offset)
    .u32(v.count)
    .done();
}
/** Keyed SHARED_DATA_REF item (bytenr, SHARED_DATA_REF, parent): just a count. */
export const SHARED_DATA_REF_SIZE = 4;
export function decodeSharedDataRef(b: Uint8Array): number {
  const r = new ByteReader(b, "shared data ref");
  const v = r.u32();
  r.end();
  return v;
}
export function encodeSharedDataRef(count: number): Uint8Array {
  return new ByteWriter(SHARED_DATA_REF_SIZE, "shared data ref").u32(count).done();
}

/** hash_extent_data_ref(): the key offset of a keyed EXTENT_DATA_REF and the inline sort order. */
export function extentDataRefHash(root: bigint, objectid: bigint, offset: bigint): bigint {
  const b = new Uint8Array(8);
  const dv = new DataView(b.buffer);
  dv.setBigUint64(0, root, true);
  const high = crc32cUpdate(0xffffffff, b);
  dv.setBigUint64(0, objectid, true);
  let low = crc32cUpdate(0xffffffff, b);
  dv.setBigUint64(0, offset, true);
  low = crc32cUpdate(low, b);
  return ((BigInt(high) << 31n) ^ BigInt(low)) & ((1n << 64n) - 1n);
}

// ---------------------------------------------------------------- block group
export const BLOCK_GROUP_DATA = 1n;
export const BLOCK_GROUP_SYSTEM = 2n;
export const BLOCK_GROUP_METADATA = 4n;
export const BLOCK_GROUP_RAID0 = 8n;
export const BLOCK_GROUP_RAID1 = 16n;
export const BLOCK_GROUP_DUP = 32n;
export const BLOCK_GROUP_RAID10 = 64n;
export const BLOCK_GROUP_RAID5 = 128n;
export const BLOCK_GROUP_RAID6 = 256n;
export const BLOCK_GROUP_RAID1C3 = 512n;
export const BLOCK_GROUP_RAID1C4 = 1024n;
export const BLOCK_GROUP_TYPE_MASK = BLOCK_GROUP_DATA | BLOCK_GROUP_SYSTEM | BLOCK_GROUP_METADATA;
export const BLOCK_GROUP_PROFILE_MASK =
  BLOCK_GROUP_RAID0 |
  BLOCK_GROUP_RAID1 |
  BLOCK_GROUP_DUP |
  BLOCK_GROUP_RAID10 |
  BLOCK_GROUP_RAID5 |
  BLOCK_GROUP_RAID6 |
  BLOCK_GROUP_RAID1C3 |
  BLOCK_GROUP_RAID1C4;

/** (logical start, BLOCK_GROUP_ITEM, length) in the extent tree. */
export interface BlockGroupItem {
  used: bigint;
  chunkObjectid: bigint;
  flags: bigint;
}
export const BLOCK_GROUP_ITEM_SIZE = 24;
export function decodeBlockGroupItem(b: Uint8Array): BlockGroupItem {
  const r = new ByteReader(b, "block group item");
  const v = { used: r.u64(), chunkObjectid: r.u64(), flags: r.u64() };
  r.end();
  return v;
}
export function encodeBlockGroupItem(v: BlockGroupItem): Uint8Array {
  return new ByteWriter(BLOCK_GROUP_ITEM_SIZE, "block group item")
    .u64(v.used)
    .u64(v.chunkObjectid)
    .u64(v.flags)
    .done();
}

// ---------------------------------------------------------------- chunk item
export interface Stripe {
  devid: bigint;
  offset: bigint;
  devUuid: Uint8Array;
}
/** (FIRST_CHUNK_TREE_OBJECTID, CHUNK_ITEM, logical start) in the chunk tree and sys_chunk_array. */
export interface ChunkItem {
  length: bigint;
  owner: bigint;
  stripeLen: bigint;
  type: bigint;
  ioAlign: number;
  ioWidth: number;
  sectorSize: number;
  subStripes: number;
  stripes: Stripe[];
}
export const CHUNK_ITEM_HEADER_SIZE = 48;
export const STRIPE_SIZE = 32;
export const STRIPE_LEN = 65536n;
export function chunkItemSize(numStripes: number): number {
  return CHUNK_ITEM_HEADER_SIZE + numStripes * STRIPE_SIZE;
}
/** Reads one chunk item at the reader's position (used by the sys_chunk_array walker too). */
export function readChunkItem(r: ByteReader): ChunkItem {
  const length = r.u64();
  const owner = r.u64();
  const stripeLen = r.u64();
  const type = r.u64();
  const ioAlign = r.u32();
  const ioWidth = r.u32();
  const sectorSize = r.u32();
  const numStripes = r.u16();
  const subStripes = r.u16();
  if (numStripes === 0) {
    throw new NcwError("data", "btrfs chunk item has no stripes", { code: "BTRFS_BAD_CHUNK" });
  }
  const stripes: Stripe[] = [];
  for (let i = 0; i < numStripes; i++) {
    stripes.push({ devid: r.u64(), offset: r.u64(), devUuid: r.bytes(16) });
  }
  return { length, owner, stripeLen, type, ioAlign, ioWidth, sectorSize, subStripes, stripes };
}
export function decodeChunkItem(b: Uint8Array): ChunkItem {
  const r = new ByteReader(b, "chunk item");
  const v = readChunkItem(r);
  r.end();
  return v;
}
export function encodeChunkItem(v: ChunkItem): Uint8Array {
  const w = new ByteWriter(chunkItemSize(v.stripes.length), "chunk item");
  w.u64(v.length).u64(v.owner).u64(v.stripeLen).u64(v.type);
  w.u32(v.ioAlign).u32(v.ioWidth).u32(v.sectorSize).u16(v.stripes.length).u16(v.subStripes);
  for (const s of v.stripes) w.u64(s.devid).u64(s.offset).bytes(s.devUuid, 16);
  return w.done();
}

// ---------------------------------------------------------------- device item
/** (DEV_ITEMS_OBJECTID, DEV_ITEM, devid) in the chunk tree; also embedded in the superblock. */
export interface DevItem {
  devid: bigint;
  totalBytes: bigint;
  bytesUsed: bigint;
  ioAlign: number;
  ioWidth: number;
  sectorSize: number;
  type: bigint;
  generation: bigint;
  startOffset: bigint;
  devGroup: number;
  seekSpeed: number;
  bandwidth: number;
  uuid: Uint8Array;
  fsid: Uint8Array;
}
export const DEV_ITEM_SIZE = 98;
export function readDevItem(r: ByteReader): DevItem {
  return {
    devid: r.u64(),
    totalBytes: r.u64(),
    bytesUsed: r.u64(),
    ioAlign: r.u32(),
    ioWidth: r.u32(),
    sectorSize: r.u32(),
    type: r.u64(),
    generation: r.u64(),
    startOffset: r.u64(),
    devGroup: r.u32(),
    seekSpeed: r.u8(),
    bandwidth: r.u8(),
    uuid: r.bytes(16),
    fsid: r.bytes(16),
  };
}
export function writeDevItem(w: ByteWriter, v: DevItem): void {
  w.u64(v.devid).u64(v.totalBytes).u64(v.bytesUsed).u32(v.ioAlign).u32(v.ioWidth).u32(v.sectorSize);
  w.u64(v.type)
    .u64(v.generation)
    .u64(v.startOffset)
    .u32(v.devGroup)
    .u8(v.seekSpeed)
    .u8(v.bandwidth);
  w.bytes(v.uuid, 16).bytes(v.fsid, 16);
}
export function decodeDevItem(b: Uint8Array): DevItem {
  const r = new ByteReader(b, "dev item");
  const v = readDevItem(r);
  r.end();
  return v;
}
export function encodeDevItem(v: DevItem): Uint8Array {
  const w = new ByteWriter(DEV_ITEM_SIZE, "dev item");
  writeDevItem(w, v);
  return w.done();
}

// ---------------------------------------------------------------- device extent
/** (devid, DEV_EXTENT, physical start) in the device tree. */
export interface DevExtent {
  chunkTree: bigint;
  chunkObjectid: bigint;
  chunkOffset: bigint;
  length: bigint;
  chunkTreeUuid: Uint8Array;
}
export const DEV_EXTENT_SIZE = 48;
export function decodeDevExtent(b: Uint8Array): DevExtent {
  const r = new ByteReader(b, "dev extent");
  const v = {
    chunkTree: r.u64(),
    chunkObjectid: r.u64(),
    chunkOffset: r.u64(),
    length: r.u64(),
    chunkTreeUuid: r.bytes(16),
  };
  r.end();
  return v;
}
export function encodeDevExtent(v: DevExtent): Uint8Array {
  return new ByteWriter(DEV_EXTENT_SIZE, "dev extent")
    .u64(v.chunkTree)
    .u64(v.chunkObjectid)
    .u64(v.chunkOffset)
    .u64(v.length)
    .bytes(v.chunkTreeUuid, 16)
    .done();
}

// ---------------------------------------------------------------- file extent item
export const FILE_EXTENT_INLINE = 0;
export const FILE_EXTENT_REG = 1;
export const FILE_EXTENT_PREALLOC = 2;
export const COMPRESS_NONE = 0;
export const COMPRESS_ZLIB = 1;
export const COMPRESS_LZO = 2;
export const COMPRESS_ZSTD = 3;

interface FileExtentCommon {
  generation: bigint;
  /** Uncompressed size of the whole extent (inline: of the inline data). */
  ramBytes: bigint;
  compression: number;
  encryption: number;
  otherEncoding: number;
}
/** (inode, EXTENT_DATA, file offset) in a subvolume tree. */
export type FileExtentItem =
  | (FileExtentCommon & { type: typeof FILE_EXTENT_INLINE; inlineData: Uint8Array })
  | (FileExtentCommon & {
      type: typeof FILE_EXTENT_REG | typeof FILE_EXTENT_PREALLOC;
      /** 0 means a hole (explicit hole extent). */
      diskBytenr: bigint;
      diskNumBytes: bigint;
      /** Offset into the (uncompressed) extent where this file range starts. */
      offset: bigint;
      numBytes: bigint;
    });
export const FILE_EXTENT_INLINE_HEADER_SIZE = 21;
export const FILE_EXTENT_REG_SIZE = 53;
export function decodeFileExtentItem(b: Uint8Array): FileExtentItem {
  const r = new ByteReader(b, "file extent item");
  const c = {
    generation: r.u64(),
    ramBytes: r.u64(),
    compression: r.u8(),
    encryption: r.u8(),
    otherEncoding: r.u16(),
  };
  const type = r.u8();
  if (type === FILE_EXTENT_INLINE) return { ...c, type, inlineData: r.bytes(r.remaining) };
  if (type !== FILE_EXTENT_REG && type !== FILE_EXTENT_PREALLOC) {
    throw new NcwError("data", `btrfs file extent item has unknown type ${type}`, {
      code: "BTRFS_BAD_FILE_EXTENT",
    });
  }
  const v: FileExtentItem = {
    ...c,
    type: type as typeof FILE_EXTENT_REG | typeof FILE_EXTENT_PREALLOC,
    diskBytenr: r.u64(),
    diskNumBytes: r.u64(),
    offset: r.u64(),
    numBytes: r.u64(),
  };
  r.end();
  return v;
}
export function encodeFileExtentItem(v: FileExtentItem): Uint8Array {
  const size =
    v.type === FILE_EXTENT_INLINE
      ? FILE_EXTENT_INLINE_HEADER_SIZE + v.inlineData.length
      : FILE_EXTENT_REG_SIZE;
  const w = new ByteWriter(size, "file extent item");
  w.u64(v.generation).u64(v.ramBytes).u8(v.compression).u8(v.encryption).u16(v.otherEncoding);
  w.u8(v.type);
  if (v.type === FILE_EXTENT_INLINE) w.bytes(v.inlineData);
  else w.u64(v.diskBytenr).u64(v.diskNumBytes).u64(v.offset).u64(v.numBytes);
  return w.done();
}

// ---------------------------------------------------------------- csum item
/** (EXTENT_CSUM_OBJECTID, EXTENT_CSUM, logical start): one crc32c (u32 LE) per data sector. */
export function decodeCsumItem(b: Uint8Array): Uint32Array {
  if (b.length % 4 !== 0) {
    throw new NcwError(
      "data",
      `btrfs csum item of ${b.length} bytes is not a whole number of crc32c`,
      {
        code: "BTRFS_BAD_CSUM_ITEM",
      },
    );
  }
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const out = new Uint32Array(b.length / 4);
  for (let i = 0; i < out.length; i++) out[i] = dv.getUint32(i * 4, true);
  return out;
}
export function encodeCsumItem(sums: ArrayLike<number>): Uint8Array {
  const b = new Uint8Array(sums.length * 4);
  const dv = new DataView(b.buffer);
  for (let i = 0; i < sums.length; i++) dv.setUint32(i * 4, sums[i]! >>> 0, true);
  return b;
}

// ---------------------------------------------------------------- free space tree
/** (block group start, FREE_SPACE_INFO, block group length) in the free space tree. */
export interface FreeSpaceInfo {
  extentCount: number;
  flags: number;
}
export const FREE_SPACE_INFO_SIZE = 8;
export const FREE_SPACE_USING_BITMAPS = 1;
export function decodeFreeSpaceInfo(b: Uint8Array): FreeSpaceInfo {
  const r = new ByteReader(b, "free space info");
  const v = { extentCount: r.u32(), flags: r.u32() };
  r.end();
  return v;
}
export function encodeFreeSpaceInfo(v: FreeSpaceInfo): Uint8Array {
  return new ByteWriter(FREE_SPACE_INFO_SIZE, "free space info")
    .u32(v.extentCount)
    .u32(v.flags)
    .done();
}
// FREE_SPACE_EXTENT items have no data: (start, FREE_SPACE_EXTENT, length).
// FREE_SPACE_BITMAP items (start, FREE_SPACE_BITMAP, length) hold one bit per sector, LSB first.

// ---------------------------------------------------------------- uuid tree
/** (uuid low u64, UUID_KEY_SUBVOL, uuid high u64): the subvolume ids with that uuid. */
export function decodeUuidItem(b: Uint8Array): bigint[] {
  const r = new ByteReader(b, "uuid item");
  const out: bigint[] = [];
  while (r.remaining > 0) out.push(r.u64());
  return out;
}
export function encodeUuidItem(ids: readonly bigint[]): Uint8Array {
  const w = new ByteWriter(ids.length * 8, "uuid item");
  for (const id of ids) w.u64(id);
  return w.done();
}
/** The key of a uuid-tree item: objectid = first 8 bytes LE, offset = last 8 bytes LE. */
export function uuidKeyParts(uuid: Uint8Array): { objectid: bigint; offset: bigint } {
  const dv = new DataView(uuid.buffer, uuid.byteOffset, 16);
  return { objectid: dv.getBigUint64(0, true), offset: dv.getBigUint64(8, true) };
}

// ---------------------------------------------------------------- helpers
function checkNameLen(name: Uint8Array): number {
  if (name.length === 0 || name.length > 0xffff) {
    throw new NcwError("data", `btrfs name of ${name.length} bytes cannot be encoded`, {
      code: "BTRFS_BAD_NAME",
    });
  }
  return name.length;
}
function emptyItem(what: string): NcwError {
  return new NcwError("data", `btrfs ${what} is empty`, { code: "BTRFS_ITEM_TRUNCATED" });
}

/** A ROOT_ITEM for a new empty tree (refs 1, every other field empty) in transaction `generation`. */
export function emptyRootItem(generation: bigint): RootItem {
  const zero = { sec: 0n, nsec: 0 };
  return {
    inode: {
      generation: 0n,
      transid: 0n,
      size: 0n,
      nbytes: 0n,
      blockGroup: 0n,
      nlink: 0,
      uid: 0,
      gid: 0,
      mode: 0,
      rdev: 0n,
      flags: 0n,
      sequence: 0n,
      atime: zero,
      ctime: zero,
      mtime: zero,
      otime: zero,
    },
    generation,
    rootDirid: 0n,
    bytenr: 0n,
    byteLimit: 0n,
    bytesUsed: 0n,
    lastSnapshot: 0n,
    flags: 0n,
    refs: 1,
    dropProgress: { objectid: 0n, type: 0, offset: 0n },
    dropLevel: 0,
    level: 0,
    generationV2: generation,
    uuid: new Uint8Array(16),
    parentUuid: new Uint8Array(16),
    receivedUuid: new Uint8Array(16),
    ctransid: 0n,
    otransid: 0n,
    stransid: 0n,
    rtransid: 0n,
    ctime: zero,
    otime: zero,
    stime: zero,
    rtime: zero,
  };
}
