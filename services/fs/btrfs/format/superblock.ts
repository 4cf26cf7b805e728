// The Btrfs superblock (struct btrfs_super_block, 4096 bytes at 64 KiB with mirrors at 64 MiB and
// 256 GiB), its embedded device item, the sys_chunk_array and the four root backups.

import { NcwError } from "../../../../ncw/errors.js";
import { ByteReader, ByteWriter } from "./bytes.js";
import {
  type ChunkItem,
  chunkItemSize,
  type DevItem,
  encodeChunkItem,
  readChunkItem,
  readDevItem,
  writeDevItem,
} from "./items.js";
import { CHUNK_ITEM_KEY, decodeKey, encodeKeyInto, KEY_SIZE, type Key } from "./key.js";
import { blockChecksum, CSUM_SIZE } from "./node.js";

export const SUPER_INFO_SIZE = 4096;
export const SUPER_INFO_OFFSET = 65536n;
/** Offsets of superblock copy i: 64 KiB, then 16 KiB << (12 * i) → 64 MiB, 256 GiB. */
export const SUPER_MIRROR_OFFSETS: readonly bigint[] = [65536n, 64n << 20n, 256n << 30n];
export const SUPER_MAGIC = 0x4d5f53665248425fn; // "_BHRfS_M"
export const SYSTEM_CHUNK_ARRAY_SIZE = 2048;
export const NUM_BACKUP_ROOTS = 4;
export const ROOT_BACKUP_SIZE = 168;
export const LABEL_SIZE = 256;
export const CSUM_TYPE_CRC32 = 0;

// Incompatible feature flags.
export const FEATURE_INCOMPAT_MIXED_BACKREF = 1n << 0n;
export const FEATURE_INCOMPAT_DEFAULT_SUBVOL = 1n << 1n;
export const FEATURE_INCOMPAT_MIXED_GROUPS = 1n << 2n;
export const FEATURE_INCOMPAT_COMPRESS_LZO = 1n << 3n;
export const FEATURE_INCOMPAT_COMPRESS_ZSTD = 1n << 4n;
export const FEATURE_INCOMPAT_BIG_METADATA = 1n << 5n;
export const FEATURE_INCOMPAT_EXTENDED_IREF = 1n << 6n;
export const FEATURE_INCOMPAT_RAID56 = 1n << 7n;
export const FEATURE_INCOMPAT_SKINNY_METADATA = 1n << 8n;
export const FEATURE_INCOMPAT_NO_HOLES = 1n << 9n;
export const FEATURE_INCOMPAT_METADATA_UUID = 1n << 10n;
export const FEATURE_INCOMPAT_RAID1C34 = 1n << 11n;
export const FEATURE_INCOMPAT_ZONED = 1n << 12n;
export const FEATURE_INCOMPAT_EXTENT_TREE_V2 = 1n << 13n;
export const FEATURE_INCOMPAT_RAID_STRIPE_TREE = 1n << 14n;
export const FEATURE_INCOMPAT_SIMPLE_QUOTA = 1n << 16n;
// Read-only-compatible feature flags.
export const FEATURE_COMPAT_RO_FREE_SPACE_TREE = 1n << 0n;
export const FEATURE_COMPAT_RO_FREE_SPACE_TREE_VALID = 1n << 1n;
export const FEATURE_COMPAT_RO_VERITY = 1n << 2n;
export const FEATURE_COMPAT_RO_BLOCK_GROUP_TREE = 1n << 3n;

/** Incompat features NCW reads and writes. */
export const SUPPORTED_INCOMPAT =
  FEATURE_INCOMPAT_MIXED_BACKREF |
  FEATURE_INCOMPAT_DEFAULT_SUBVOL |
  FEATURE_INCOMPAT_COMPRESS_LZO |
  FEATURE_INCOMPAT_COMPRESS_ZSTD |
  FEATURE_INCOMPAT_BIG_METADATA |
  FEATURE_INCOMPAT_EXTENDED_IREF |
  FEATURE_INCOMPAT_SKINNY_METADATA |
  FEATURE_INCOMPAT_NO_HOLES;
/** Compat-ro features NCW can write (others: read-only access). */
export const SUPPORTED_COMPAT_RO =
  FEATURE_COMPAT_RO_FREE_SPACE_TREE | FEATURE_COMPAT_RO_FREE_SPACE_TREE_VALID;

export const INCOMPAT_NAMES: ReadonlyArray<[bigint, string]> = [
  [FEATURE_INCOMPAT_MIXED_BACKREF, "mixed_backref"],
  [FEATURE_INCOMPAT_DEFAULT_SUBVOL, "default_subvol"],
  [FEATURE_INCOMPAT_MIXED_GROUPS, "mixed_groups"],
  [FEATURE_INCOMPAT_COMPRESS_LZO, "compress_lzo"],
  [FEATURE_INCOMPAT_COMPRESS_ZSTD, "compress_zstd"],
  [FEATURE_INCOMPAT_BIG_METADATA, "big_metadata"],
  [FEATURE_INCOMPAT_EXTENDED_IREF, "extended_iref"],
  [FEATURE_INCOMPAT_RAID56, "raid56"],
  [FEATURE_INCOMPAT_SKINNY_METADATA, "skinny_metadata"],
  [FEATURE_INCOMPAT_NO_HOLES, "no_holes"],
  [FEATURE_INCOMPAT_METADATA_UUID, "metadata_uuid"],
  [FEATURE_INCOMPAT_RAID1C34, "raid1c34"],
  [FEATURE_INCOMPAT_ZONED, "zoned"],
  [FEATURE_INCOMPAT_EXTENT_TREE_V2, "extent_tree_v2"],
  [FEATURE_INCOMPAT_RAID_STRIPE_TREE, "raid_stripe_tree"],
  [FEATURE_INCOMPAT_SIMPLE_QUOTA, "simple_quota"],
];
export const COMPAT_RO_NAMES: ReadonlyArray<[bigint, string]> = [
  [FEATURE_COMPAT_RO_FREE_SPACE_TREE, "free_space_tree"],
  [FEATURE_COMPAT_RO_FREE_SPACE_TREE_VALID, "free_space_tree_valid"],
  [FEATURE_COMPAT_RO_VERITY, "verity"],
  [FEATURE_COMPAT_RO_BLOCK_GROUP_TREE, "block_group_tree"],
];
export function featureNames(flags: bigint, table: ReadonlyArray<[bigint, string]>): string[] {
  const out = table.filter(([bit]) => (flags & bit) !== 0n).map(([, n]) => n);
  const known = table.reduce((m, [bit]) => m | bit, 0n);
  if ((flags & ~known) !== 0n) out.push(`unknown(0x${(flags & ~known).toString(16)})`);
  return out;
}

export interface RootBackup {
  treeRoot: bigint;
  treeRootGen: bigint;
  chunkRoot: bigint;
  chunkRootGen: bigint;
  extentRoot: bigint;
  extentRootGen: bigint;
  fsRoot: bigint;
  fsRootGen: bigint;
  devRoot: bigint;
  devRootGen: bigint;
  csumRoot: bigint;
  csumRootGen: bigint;
  totalBytes: bigint;
  bytesUsed: bigint;
  numDevices: bigint;
  treeRootLevel: number;
  chunkRootLevel: number;
  extentRootLevel: number;
  fsRootLevel: number;
  devRootLevel: number;
  csumRootLevel: number;
}

/** One entry of the sys_chunk_array: the key (FIRST_CHUNK_TREE_OBJECTID, CHUNK_ITEM, logical) and the chunk. */
export interface SysChunk {
  key: Key;
  chunk: ChunkItem;
}

export interface Superblock {
  csum: Uint8Array;
  fsid: Uint8Array;
  /** Physical offset of this copy. */
  bytenr: bigint;
  flags: bigint;
  magic: bigint;
  generation: bigint;
  root: bigint;
  chunkRoot: bigint;
  logRoot: bigint;
  logRootTransid: bigint;
  totalBytes: bigint;
  bytesUsed: bigint;
  rootDirObjectid: bigint;
  numDevices: bigint;
  sectorsize: number;
  nodesize: number;
  leafsize: number;
  stripesize: number;
  chunkRootGeneration: bigint;
  compatFlags: bigint;
  compatRoFlags: bigint;
  incompatFlags: bigint;
  csumType: number;
  rootLevel: number;
  chunkRootLevel: number;
  logRootLevel: number;
  devItem: DevItem;
  label: string;
  cacheGeneration: bigint;
  uuidTreeGeneration: bigint;
  metadataUuid: Uint8Array;
  nrGlobalRoots: bigint;
  sysChunks: SysChunk[];
  backups: RootBackup[];
}

function corrupt(msg: string, code = "BTRFS_BAD_SUPER"): NcwError {
  return new NcwError("data", `btrfs superblock: ${msg}`, {
    code,
    hint: "The file is not a Btrfs image, or its superblock is damaged (`btrfs rescue super-recover` may help).",
  });
}

function readBackup(r: ByteReader): RootBackup {
  const v = {
    treeRoot: r.u64(),
    treeRootGen: r.u64(),
    chunkRoot: r.u64(),
    chunkRootGen: r.u64(),
    extentRoot: r.u64(),
    extentRootGen: r.u64(),
    fsRoot: r.u64(),
    fsRootGen: r.u64(),
    devRoot: r.u64(),
    devRootGen: r.u64(),
    csumRoot: r.u64(),
    csumRootGen: r.u64(),
    totalBytes: r.u64(),
    bytesUsed: r.u64(),
    numDevices: r.u64(),
  };
  r.skip(32);
  const levels = {
    treeRootLevel: r.u8(),
    chunkRootLevel: r.u8(),
    extentRootLevel: r.u8(),
    fsRootLevel: r.u8(),
    devRootLevel: r.u8(),
    csumRootLevel: r.u8(),
  };
  r.skip(10);
  return { ...v, ...levels };
}
function writeBackup(w: ByteWriter, b: RootBackup): void {
  w.u64(b.treeRoot).u64(b.treeRootGen).u64(b.chunkRoot).u64(b.chunkRootGen);
  w.u64(b.extentRoot).u64(b.extentRootGen).u64(b.fsRoot).u64(b.fsRootGen);
  w.u64(b.devRoot).u64(b.devRootGen).u64(b.csumRoot).u64(b.csumRootGen);
  w.u64(b.totalBytes).u64(b.bytesUsed).u64(b.numDevices).zeros(32);
  w.u8(b.treeRootLevel).u8(b.chunkRootLevel).u8(b.extentRootLevel);
  w.u8(b.fsRootLevel).u8(b.devRootLevel).u8(b.csumRootLevel).zeros(10);
}

/** Walks a sys_chunk_array of `size` bytes: (disk key, chunk item) pairs back to back. */
export function decodeSysChunkArray(arr: Uint8Array): SysChunk[] {
  const r = new ByteReader(arr, "sys_chunk_array");
  const out: SysChunk[] = [];
  while (r.remaining > 0) {
    r.need(KEY_SIZE);
    const key = decodeKey(arr, r.pos);
    r.skip(KEY_SIZE);
    if (key.type !== CHUNK_ITEM_KEY)
      throw corrupt(`sys_chunk_array holds a key of type ${key.type}, not CHUNK_ITEM`);
    out.push({ key, chunk: readChunkItem(r) });
  }
  return out;
}
export function sysChunkArraySize(chunks: readonly SysChunk[]): number {
  return chunks.reduce((n, c) => n + KEY_SIZE + chunkItemSize(c.chunk.stripes.length), 0);
}
export function encodeSysChunkArray(chunks: readonly SysChunk[]): Uint8Array {
  const size = sysChunkArraySize(chunks);
  if (size > SYSTEM_CHUNK_ARRAY_SIZE)
    throw corrupt(`sys_chunk_array of ${size} bytes exceeds 2048`, "BTRFS_SYS_ARRAY_FULL");
  const out = new Uint8Array(size);
  let pos = 0;
  for (const c of chunks) {
    encodeKeyInto(out, pos, c.key);
    pos += KEY_SIZE;
    const b = encodeChunkItem(c.chunk);
    out.set(b, pos);
    pos += b.length;
  }
  return out;
}

/** Decodes a 4096-byte superblock, verifying magic and crc32c. */
export function decodeSuperblock(
  buf: Uint8Array,
  opts: { verifyChecksum?: boolean } = {},
): Superblock {
  if (buf.length !== SUPER_INFO_SIZE)
    throw corrupt(`is ${buf.length} bytes, expected ${SUPER_INFO_SIZE}`);
  const r = new ByteReader(buf, "superblock");
  const csum = r.bytes(CSUM_SIZE);
  const fsid = r.bytes(16);
  const bytenr = r.u64();
  const flags = r.u64();
  const magic = r.u64();
  if (magic !== SUPER_MAGIC) {
    if (buf.every((b) => b === 0)) {
      // What an image whose making was killed holds (NCW before mkfsImageFile wrote in place).
      throw new NcwError("data", "btrfs superblock: all zeros, no Btrfs magic (_BHRfS_M)", {
        code: "BTRFS_NO_MAGIC",
        hint: "The file is not a Btrfs image: never written, or its creation was interrupted. If it holds nothing you need, remove it (a home's image is made again on next use) or run `ncw fs mkfs --force`.",
      });
    }
    throw corrupt("no Btrfs magic (_BHRfS_M) at offset 0x40", "BTRFS_NO_MAGIC");
  }
  const s0 = {
    csum,
    fsid,
    bytenr,
    flags,
    magic,
    generation: r.u64(),
    root: r.u64(),
    chunkRoot: r.u64(),
    logRoot: r.u64(),
    logRootTransid: r.u64(),
    totalBytes: r.u64(),
    bytesUsed: r.u64(),
    rootDirObjectid: r.u64(),
    numDevices: r.u64(),
    sectorsize: r.u32(),
    nodesize: r.u32(),
    leafsize: r.u32(),
    stripesize: r.u32(),
  };
  const sysArraySize = r.u32();
  const s1 = {
    chunkRootGeneration: r.u64(),
    compatFlags: r.u64(),
    compatRoFlags: r.u64(),
    incompatFlags: r.u64(),
    csumType: r.u16(),
    rootLevel: r.u8(),
    chunkRootLevel: r.u8(),
    logRootLevel: r.u8(),
    devItem: readDevItem(r),
  };
  const labelBytes = r.bytes(LABEL_SIZE);
  const nul = labelBytes.indexOf(0);
  const label = new TextDecoder().decode(labelBytes.subarray(0, nul < 0 ? LABEL_SIZE : nul));
  const s2 = {
    label,
    cacheGeneration: r.u64(),
    uuidTreeGeneration: r.u64(),
    metadataUuid: r.bytes(16),
    nrGlobalRoots: r.u64(),
  };
  r.skip(27 * 8);
  if (sysArraySize > SYSTEM_CHUNK_ARRAY_SIZE)
    throw corrupt(`sys_chunk_array_size ${sysArraySize} exceeds 2048`);
  const arr = r.bytes(SYSTEM_CHUNK_ARRAY_SIZE);
  const sysChunks = decodeSysChunkArray(arr.subarray(0, sysArraySize));
  const backups: RootBackup[] = [];
  for (let i = 0; i < NUM_BACKUP_ROOTS; i++) backups.push(readBackup(r));
  if (opts.verifyChecksum !== false) {
    if (s1.csumType !== CSUM_TYPE_CRC32) {
      throw corrupt(
        `checksum type ${s1.csumType} is not supported (only crc32c)`,
        "BTRFS_CSUM_TYPE",
      );
    }
    const stored = new DataView(csum.buffer, csum.byteOffset, 4).getUint32(0, true);
    if (stored !== blockChecksum(buf)) throw corrupt("checksum mismatch", "BTRFS_SUPER_CSUM");
  }
  if (
    s0.sectorsize < 4096 ||
    s0.nodesize < s0.sectorsize ||
    s0.nodesize > 65536 ||
    (s0.nodesize & (s0.nodesize - 1)) !== 0
  ) {
    throw corrupt(`implausible sectorsize ${s0.sectorsize} / nodesize ${s0.nodesize}`);
  }
  return { ...s0, ...s1, ...s2, sysChunks, backups };
}

/** Encodes a superblock (4096 bytes) with its crc32c; `bytenr` should be the copy's offset. */
export function encodeSuperblock(s: Superblock): Uint8Array {
  const w = new ByteWriter(SUPER_INFO_SIZE, "superblock");
  w.zeros(CSUM_SIZE).bytes(s.fsid, 16).u64(s.bytenr).u64(s.flags).u64(SUPER_MAGIC);
  w.u64(s.generation).u64(s.root).u64(s.chunkRoot).u64(s.logRoot).u64(s.logRootTransid);
  w.u64(s.totalBytes).u64(s.bytesUsed).u64(s.rootDirObjectid).u64(s.numDevices);
  w.u32(s.sectorsize).u32(s.nodesize).u32(s.leafsize).u32(s.stripesize);
  const arr = encodeSysChunkArray(s.sysChunks);
  w.u32(arr.length);
  w.u64(s.chunkRootGeneration).u64(s.compatFlags).u64(s.compatRoFlags).u64(s.incompatFlags);
  w.u16(s.csumType).u8(s.rootLevel).u8(s.chunkRootLevel).u8(s.logRootLevel);
  writeDevItem(w, s.devItem);
  const label = new TextEncoder().encode(s.label);
  if (label.length >= LABEL_SIZE)
    throw corrupt(`label of ${label.length} bytes is too long (max 255)`, "BTRFS_LABEL");
  w.bytes(label, LABEL_SIZE);
  w.u64(s.cacheGeneration).u64(s.uuidTreeGeneration).bytes(s.metadataUuid, 16).u64(s.nrGlobalRoots);
  w.zeros(27 * 8);
  w.bytes(arr, SYSTEM_CHUNK_ARRAY_SIZE);
  for (let i = 0; i < NUM_BACKUP_ROOTS; i++) {
    const b = s.backups[i];
    if (b) writeBackup(w, b);
    else w.zeros(ROOT_BACKUP_SIZE);
  }
  w.zeros(w.buf.length - w.pos);
  const out = w.done();
  new DataView(out.buffer).setUint32(0, blockChecksum(out), true);
  return out;
}

/** Field offsets inside the superblock, for tests and tools (from struct btrfs_super_block). */
export const SUPER_OFFSETS = {
  magic: 0x40,
  generation: 0x48,
  root: 0x50,
  chunkRoot: 0x58,
  totalBytes: 0x70,
  bytesUsed: 0x78,
  sectorsize: 0x90,
  nodesize: 0x94,
  sysChunkArraySize: 0xa0,
  chunkRootGeneration: 0xa4,
  incompatFlags: 0xbc,
  csumType: 0xc4,
  devItem: 0xc9,
  label: 0x12b,
  cacheGeneration: 0x22b,
  metadataUuid: 0x23b,
  sysChunkArray: 0x32b,
  backups: 0xb2b,
} as const;
