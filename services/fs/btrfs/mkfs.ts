// Creating a Btrfs filesystem (what mkfs.btrfs does), written directly as the first committed
// state: chunks, device extents, block groups, every tree as one leaf, free space tree, superblocks.
// Decisions (docs/btrfs.md): metadata and system DUP by default (single on request), data single;
// first chunks sized like mkfs.btrfs' (the engine adds chunks on demand), or the whole device
// divided up front with `preallocate`.

import { unlinkSync } from "node:fs";
import { NcwError } from "../../../ncw/errors.js";
import { ChunkMap, writeLogical } from "./chunks.js";
import { type BlockDevice, FileDevice, renameIntoPlace } from "./device.js";
import { randomUuid } from "./format/bytes.js";
import { btrfsNameHash } from "./format/crc32c.js";
import {
  BLOCK_GROUP_DATA,
  BLOCK_GROUP_DUP,
  BLOCK_GROUP_METADATA,
  BLOCK_GROUP_SYSTEM,
  type ChunkItem,
  type DevItem,
  EXTENT_FLAG_TREE_BLOCK,
  emptyRootItem,
  encodeBlockGroupItem,
  encodeChunkItem,
  encodeDevExtent,
  encodeDevItem,
  encodeDirItems,
  encodeExtentItem,
  encodeFreeSpaceInfo,
  encodeInodeItem,
  encodeInodeRefs,
  encodeRootItem,
  encodeUuidItem,
  FT_DIR,
  type InodeItem,
  newInodeItem,
  type RootItem,
  S_IFDIR,
  STRIPE_LEN,
  type Timespec,
  timespecFromMs,
  uuidKeyParts,
  ZERO_TIME,
} from "./format/items.js";
import {
  BLOCK_GROUP_ITEM_KEY,
  CHUNK_ITEM_KEY,
  CHUNK_TREE_OBJECTID,
  CSUM_TREE_OBJECTID,
  compareKeys,
  DATA_RELOC_TREE_OBJECTID,
  DEV_EXTENT_KEY,
  DEV_ITEM_KEY,
  DEV_ITEMS_OBJECTID,
  DEV_TREE_OBJECTID,
  DIR_ITEM_KEY,
  EXTENT_TREE_OBJECTID,
  FIRST_CHUNK_TREE_OBJECTID,
  FREE_SPACE_EXTENT_KEY,
  FREE_SPACE_INFO_KEY,
  FREE_SPACE_TREE_OBJECTID,
  FS_TREE_OBJECTID,
  INODE_ITEM_KEY,
  INODE_REF_KEY,
  type Key,
  METADATA_ITEM_KEY,
  ROOT_ITEM_KEY,
  ROOT_TREE_DIR_OBJECTID,
  ROOT_TREE_OBJECTID,
  TREE_BLOCK_REF_KEY,
  U64_MAX,
  UUID_KEY_SUBVOL,
  UUID_TREE_OBJECTID,
} from "./format/key.js";
import {
  DEFAULT_HEADER_FLAGS,
  encodeNode,
  type LeafItem,
  leafUsedBytes,
  maxLeafData,
} from "./format/node.js";
import {
  CSUM_TYPE_CRC32,
  encodeSuperblock,
  FEATURE_COMPAT_RO_FREE_SPACE_TREE,
  FEATURE_COMPAT_RO_FREE_SPACE_TREE_VALID,
  FEATURE_INCOMPAT_EXTENDED_IREF,
  FEATURE_INCOMPAT_MIXED_BACKREF,
  FEATURE_INCOMPAT_NO_HOLES,
  FEATURE_INCOMPAT_SKINNY_METADATA,
  SUPER_INFO_SIZE,
  SUPER_MIRROR_OFFSETS,
  type Superblock,
} from "./format/superblock.js";

const MiB = 1n << 20n;
const GiB = 1n << 30n;
/** Smallest image NCW formats (room for system, metadata and some data). */
export const MKFS_MIN_SIZE = 64n * MiB;

export interface MkfsOptions {
  /** Device size to use (default: the whole device), rounded down to the sector size. */
  size?: bigint;
  label?: string;
  nodesize?: number;
  sectorsize?: number;
  /** Metadata/system profile: "dup" (the default, as mkfs.btrfs on a single disk) or "single". */
  metadata?: "dup" | "single";
  /** First metadata block group size (default: size/16 clamped to 16 MiB..256 MiB). */
  metadataSize?: bigint;
  /** First data block group size (default: size/16 clamped to 16 MiB..1 GiB). */
  dataSize?: bigint;
  /** Divide the whole device into chunks now (data takes everything after metadata). */
  preallocate?: boolean;
  /** For reproducible images (tests): fixed uuids and time. */
  fsid?: Uint8Array;
  devUuid?: Uint8Array;
  chunkTreeUuid?: Uint8Array;
  fsTreeUuid?: Uint8Array;
  nowMs?: number;
}

export interface MkfsResult {
  fsid: Uint8Array;
  size: bigint;
  nodesize: number;
  sectorsize: number;
  chunks: { logical: bigint; length: bigint; type: bigint; stripes: bigint[] }[];
}

interface PlannedChunk {
  logical: bigint;
  length: bigint;
  type: bigint;
  stripes: bigint[];
}

function usage(msg: string, code: string, hint?: string): NcwError {
  return new NcwError("usage", msg, hint === undefined ? { code } : { code, hint });
}

/** Physical ranges no chunk may cover: the first MiB (boot area + primary superblock) and mirrors. */
function reservedRanges(size: bigint): [bigint, bigint][] {
  const out: [bigint, bigint][] = [[0n, MiB]];
  for (const m of SUPER_MIRROR_OFFSETS.slice(1)) if (m < size) out.push([m, m + MiB]);
  return out;
}

/** Lays out chunks on the device: SYSTEM, METADATA (each DUP or single), then DATA in ≤1 GiB chunks. */
function planChunks(
  size: bigint,
  metaSize: bigint,
  dup: boolean,
  dataSize: bigint | "all",
): PlannedChunk[] {
  // Free physical segments: the device minus the reserved ranges, first-fit.
  const free: [bigint, bigint][] = [];
  let at = 0n;
  for (const [a, b] of reservedRanges(size).sort((x, y) => (x[0] < y[0] ? -1 : 1))) {
    if (a > at) free.push([at, a]);
    if (b > at) at = b;
  }
  if (at < size) free.push([at, size]);
  const place = (len: bigint): bigint | undefined => {
    const seg = free.find(([a, b]) => b - a >= len);
    if (!seg) return undefined;
    const start = seg[0];
    seg[0] += len;
    return start;
  };
  const chunks: PlannedChunk[] = [];
  for (const [type, len] of [
    [BLOCK_GROUP_SYSTEM, 4n * MiB],
    [BLOCK_GROUP_METADATA, metaSize],
  ] as const) {
    const first = place(len);
    const second = dup ? place(len) : undefined;
    if (first === undefined || (dup && second === undefined)) {
      throw usage(
        `the image is too small for ${dup ? "DUP " : ""}metadata`,
        "BTRFS_MKFS_TOO_SMALL",
        "Use a larger --size.",
      );
    }
    chunks.push({
      logical: first,
      length: len,
      type: type | (dup ? BLOCK_GROUP_DUP : 0n),
      stripes: second === undefined ? [first] : [first, second],
    });
  }
  // Data: one chunk of dataSize, or every free segment left in chunks of at most 1 GiB (≥ 4 MiB).
  let want = dataSize === "all" ? size : dataSize;
  const whole = dataSize === "all" ? undefined : place(dataSize);
  if (whole !== undefined) {
    chunks.push({
      logical: whole,
      length: dataSize as bigint,
      type: BLOCK_GROUP_DATA,
      stripes: [whole],
    });
    want = 0n;
  }
  for (const seg of free) {
    while (seg[1] - seg[0] >= 4n * MiB && want >= 4n * MiB) {
      let len = seg[1] - seg[0];
      if (len > GiB) len = GiB;
      if (len > want) len = want;
      want -= len;
      len -= len % MiB;
      chunks.push({ logical: seg[0], length: len, type: BLOCK_GROUP_DATA, stripes: [seg[0]] });
      seg[0] += len;
    }
  }
  if (!chunks.some((c) => c.type === BLOCK_GROUP_DATA)) {
    throw usage(
      "the image is too small for a data block group",
      "BTRFS_MKFS_TOO_SMALL",
      "Use a larger --size.",
    );
  }
  return chunks;
}

function dirInode(now: Timespec, generation: bigint, nbytes: bigint, size = 0n): InodeItem {
  return newInodeItem(generation, S_IFDIR | 0o755, now, { size, nbytes });
}

/** Formats `dev` as a fresh Btrfs filesystem and returns what it made. */
export function mkfs(dev: BlockDevice, opts: MkfsOptions = {}): MkfsResult {
  const sectorsize = opts.sectorsize ?? 4096;
  const nodesize = opts.nodesize ?? 16384;
  if (sectorsize !== 4096)
    throw usage("only a 4096-byte sector size is supported", "BTRFS_MKFS_SECTORSIZE");
  if (nodesize < sectorsize || nodesize > 65536 || (nodesize & (nodesize - 1)) !== 0) {
    throw usage(
      `node size ${nodesize} must be a power of two from 4096 to 65536`,
      "BTRFS_MKFS_NODESIZE",
    );
  }
  let size = opts.size ?? dev.size;
  if (size > dev.size)
    throw usage(`size ${size} exceeds the device (${dev.size} bytes)`, "BTRFS_MKFS_SIZE");
  size -= size % BigInt(sectorsize);
  if (size < MKFS_MIN_SIZE) {
    throw usage(
      `an image of ${size} bytes is too small; NCW needs at least 64 MiB`,
      "BTRFS_MKFS_TOO_SMALL",
      "Use --size 64M or more.",
    );
  }
  const dup = (opts.metadata ?? "dup") === "dup";
  const clampSize = (v: bigint, lo: bigint, hi: bigint) => {
    const x = v < lo ? lo : v > hi ? hi : v;
    return x - (x % MiB);
  };
  const preallocate = opts.preallocate === true;
  const metaSize = clampSize(
    opts.metadataSize ?? size / (preallocate ? 8n : 16n),
    16n * MiB,
    preallocate ? GiB : 256n * MiB,
  );
  const dataSize = preallocate
    ? ("all" as const)
    : clampSize(opts.dataSize ?? size / 16n, 16n * MiB, GiB);
  const label = opts.label ?? "";
  if (new TextEncoder().encode(label).length > 255)
    throw usage("the label is longer than 255 bytes", "BTRFS_MKFS_LABEL");

  const fsid = opts.fsid ?? randomUuid();
  const devUuid = opts.devUuid ?? randomUuid();
  const chunkTreeUuid = opts.chunkTreeUuid ?? randomUuid();
  const fsTreeUuid = opts.fsTreeUuid ?? randomUuid();
  const now = timespecFromMs(opts.nowMs ?? Date.now());
  now.nsec = 0;
  const gen = 1n;
  const nodeLen = BigInt(nodesize);

  const plan = planChunks(size, metaSize, dup, dataSize);
  const system = plan.find((c) => (c.type & BLOCK_GROUP_SYSTEM) !== 0n)!;
  const meta = plan.find((c) => (c.type & BLOCK_GROUP_METADATA) !== 0n)!;

  // Tree blocks: the chunk tree in SYSTEM, the others one after another in METADATA.
  const metaTrees = [
    ROOT_TREE_OBJECTID,
    EXTENT_TREE_OBJECTID,
    DEV_TREE_OBJECTID,
    FS_TREE_OBJECTID,
    CSUM_TREE_OBJECTID,
    UUID_TREE_OBJECTID,
    FREE_SPACE_TREE_OBJECTID,
    DATA_RELOC_TREE_OBJECTID,
  ];
  const blockOf = new Map<bigint, bigint>([[CHUNK_TREE_OBJECTID, system.logical]]);
  metaTrees.forEach((id, i) => {
    blockOf.set(id, meta.logical + BigInt(i) * nodeLen);
  });
  const usedIn = (c: PlannedChunk) =>
    c === system ? nodeLen : c === meta ? BigInt(metaTrees.length) * nodeLen : 0n;

  const chunkItemOf = (c: PlannedChunk): ChunkItem => ({
    length: c.length,
    owner: EXTENT_TREE_OBJECTID,
    stripeLen: STRIPE_LEN,
    type: c.type,
    ioAlign: Number(STRIPE_LEN),
    ioWidth: Number(STRIPE_LEN),
    sectorSize: sectorsize,
    subStripes: 1,
    stripes: c.stripes.map((offset) => ({ devid: 1n, offset, devUuid })),
  });
  const devBytesUsed = plan.reduce((n, c) => n + c.length * BigInt(c.stripes.length), 0n);
  const devItem: DevItem = {
    devid: 1n,
    totalBytes: size,
    bytesUsed: devBytesUsed,
    ioAlign: sectorsize,
    ioWidth: sectorsize,
    sectorSize: sectorsize,
    type: 0n,
    generation: 0n,
    startOffset: 0n,
    devGroup: 0,
    seekSpeed: 0,
    bandwidth: 0,
    uuid: devUuid,
    fsid,
  };

  const leaves = new Map<bigint, LeafItem[]>();
  const add = (tree: bigint, key: Key, data: Uint8Array) => {
    const l = leaves.get(tree);
    if (!l) throw new Error(`mkfs: no leaf for tree ${tree}`);
    l.push({ key, data });
  };
  for (const id of [CHUNK_TREE_OBJECTID, ...metaTrees]) leaves.set(id, []);

  // Chunk tree: the device and every chunk.
  add(
    CHUNK_TREE_OBJECTID,
    { objectid: DEV_ITEMS_OBJECTID, type: DEV_ITEM_KEY, offset: 1n },
    encodeDevItem(devItem),
  );
  for (const c of plan) {
    add(
      CHUNK_TREE_OBJECTID,
      { objectid: FIRST_CHUNK_TREE_OBJECTID, type: CHUNK_ITEM_KEY, offset: c.logical },
      encodeChunkItem(chunkItemOf(c)),
    );
  }
  // Device tree: one device extent per stripe.
  for (const c of plan) {
    for (const phys of c.stripes) {
      add(
        DEV_TREE_OBJECTID,
        { objectid: 1n, type: DEV_EXTENT_KEY, offset: phys },
        encodeDevExtent({
          chunkTree: CHUNK_TREE_OBJECTID,
          chunkObjectid: FIRST_CHUNK_TREE_OBJECTID,
          chunkOffset: c.logical,
          length: c.length,
          chunkTreeUuid,
        }),
      );
    }
  }
  // Extent tree: block groups and the skinny metadata items of every tree block.
  for (const c of plan) {
    add(
      EXTENT_TREE_OBJECTID,
      { objectid: c.logical, type: BLOCK_GROUP_ITEM_KEY, offset: c.length },
      encodeBlockGroupItem({
        used: usedIn(c),
        chunkObjectid: FIRST_CHUNK_TREE_OBJECTID,
        flags: c.type,
      }),
    );
  }
  for (const [tree, bytenr] of blockOf) {
    add(
      EXTENT_TREE_OBJECTID,
      { objectid: bytenr, type: METADATA_ITEM_KEY, offset: 0n },
      encodeExtentItem({
        refs: 1n,
        generation: gen,
        flags: EXTENT_FLAG_TREE_BLOCK,
        inline: [{ type: TREE_BLOCK_REF_KEY, root: tree }],
      }),
    );
  }
  // Free space tree: each block group's free ranges as extents.
  for (const c of plan) {
    const used = usedIn(c);
    const free: [bigint, bigint][] = used < c.length ? [[c.logical + used, c.length - used]] : [];
    add(
      FREE_SPACE_TREE_OBJECTID,
      { objectid: c.logical, type: FREE_SPACE_INFO_KEY, offset: c.length },
      encodeFreeSpaceInfo({ extentCount: free.length, flags: 0 }),
    );
    for (const [start, len] of free) {
      add(
        FREE_SPACE_TREE_OBJECTID,
        { objectid: start, type: FREE_SPACE_EXTENT_KEY, offset: len },
        new Uint8Array(0),
      );
    }
  }
  // Subvolume-like trees: the FS tree and the data relocation tree, each with its root directory.
  for (const id of [FS_TREE_OBJECTID, DATA_RELOC_TREE_OBJECTID]) {
    add(
      id,
      { objectid: 256n, type: INODE_ITEM_KEY, offset: 0n },
      encodeInodeItem(dirInode(now, gen, 0n)),
    );
    add(
      id,
      { objectid: 256n, type: INODE_REF_KEY, offset: 256n },
      encodeInodeRefs([{ index: 0n, name: new TextEncoder().encode("..") }]),
    );
  }
  // UUID tree: the FS tree's uuid.
  const uk = uuidKeyParts(fsTreeUuid);
  add(
    UUID_TREE_OBJECTID,
    { objectid: uk.objectid, type: UUID_KEY_SUBVOL, offset: uk.offset },
    encodeUuidItem([FS_TREE_OBJECTID]),
  );
  // Root tree: the root items, and directory 6 with its "default" entry.
  const zero16 = new Uint8Array(16);
  const legacyInode: InodeItem = { ...dirInode(ZERO_TIME, 1n, nodeLen, 3n), transid: 0n };
  const rootItem = (id: bigint): RootItem => {
    const isSubvol = id === FS_TREE_OBJECTID || id === DATA_RELOC_TREE_OBJECTID;
    return {
      ...emptyRootItem(gen),
      inode: legacyInode,
      rootDirid: isSubvol ? 256n : 0n,
      bytenr: blockOf.get(id)!,
      bytesUsed: nodeLen,
      uuid: id === FS_TREE_OBJECTID ? fsTreeUuid : zero16,
      ctransid: id === FS_TREE_OBJECTID ? gen : 0n,
      ctime: id === FS_TREE_OBJECTID ? now : ZERO_TIME,
      otime: id === FS_TREE_OBJECTID ? now : ZERO_TIME,
    };
  };
  for (const id of metaTrees) {
    if (id === ROOT_TREE_OBJECTID) continue;
    add(
      ROOT_TREE_OBJECTID,
      { objectid: id, type: ROOT_ITEM_KEY, offset: 0n },
      encodeRootItem(rootItem(id)),
    );
  }
  const defaultName = new TextEncoder().encode("default");
  add(
    ROOT_TREE_OBJECTID,
    { objectid: ROOT_TREE_DIR_OBJECTID, type: INODE_ITEM_KEY, offset: 0n },
    encodeInodeItem(dirInode(now, gen, 0n)),
  );
  add(
    ROOT_TREE_OBJECTID,
    { objectid: ROOT_TREE_DIR_OBJECTID, type: INODE_REF_KEY, offset: ROOT_TREE_DIR_OBJECTID },
    encodeInodeRefs([{ index: 0n, name: new TextEncoder().encode("..") }]),
  );
  add(
    ROOT_TREE_OBJECTID,
    {
      objectid: ROOT_TREE_DIR_OBJECTID,
      type: DIR_ITEM_KEY,
      offset: BigInt(btrfsNameHash(defaultName)),
    },
    encodeDirItems([
      {
        location: { objectid: FS_TREE_OBJECTID, type: ROOT_ITEM_KEY, offset: U64_MAX },
        transid: 0n,
        type: FT_DIR,
        name: defaultName,
        data: new Uint8Array(0),
      },
    ]),
  );

  // Write every leaf (each tree is one leaf) to every copy.
  const map = new ChunkMap(1n);
  for (const c of plan) map.add(c.logical, chunkItemOf(c));
  const totalUsed = plan.reduce((n, c) => n + usedIn(c), 0n);
  for (const [tree, items] of leaves) {
    items.sort((a, b) => compareKeys(a.key, b.key));
    if (leafUsedBytes(items) > maxLeafData(nodesize)) {
      throw usage(
        `the initial ${tree} tree does not fit one ${nodesize}-byte leaf; use a larger node size`,
        "BTRFS_MKFS_LEAF",
      );
    }
    const bytenr = blockOf.get(tree)!;
    const block = encodeNode(
      {
        header: {
          csum: new Uint8Array(32),
          fsid,
          bytenr,
          flags: DEFAULT_HEADER_FLAGS,
          chunkTreeUuid,
          generation: gen,
          owner: tree,
          nritems: items.length,
          level: 0,
        },
        items,
      },
      nodesize,
    );
    writeLogical(dev, map, bytenr, block);
  }

  // Superblocks last, every copy that fits.
  const sb: Superblock = {
    csum: new Uint8Array(32),
    fsid,
    bytenr: 0n,
    flags: 1n,
    magic: 0n,
    generation: gen,
    root: blockOf.get(ROOT_TREE_OBJECTID)!,
    chunkRoot: blockOf.get(CHUNK_TREE_OBJECTID)!,
    logRoot: 0n,
    logRootTransid: 0n,
    totalBytes: size,
    bytesUsed: totalUsed,
    rootDirObjectid: ROOT_TREE_DIR_OBJECTID,
    numDevices: 1n,
    sectorsize,
    nodesize,
    leafsize: nodesize,
    stripesize: sectorsize,
    chunkRootGeneration: gen,
    compatFlags: 0n,
    compatRoFlags: FEATURE_COMPAT_RO_FREE_SPACE_TREE | FEATURE_COMPAT_RO_FREE_SPACE_TREE_VALID,
    incompatFlags:
      FEATURE_INCOMPAT_MIXED_BACKREF |
      FEATURE_INCOMPAT_EXTENDED_IREF |
      FEATURE_INCOMPAT_SKINNY_METADATA |
      FEATURE_INCOMPAT_NO_HOLES,
    csumType: CSUM_TYPE_CRC32,
    rootLevel: 0,
    chunkRootLevel: 0,
    logRootLevel: 0,
    devItem,
    label,
    cacheGeneration: 0n,
    uuidTreeGeneration: gen,
    metadataUuid: new Uint8Array(16),
    nrGlobalRoots: 0n,
    sysChunks: [
      {
        key: { objectid: FIRST_CHUNK_TREE_OBJECTID, type: CHUNK_ITEM_KEY, offset: system.logical },
        chunk: chunkItemOf(system),
      },
    ],
    backups: [
      {
        treeRoot: blockOf.get(ROOT_TREE_OBJECTID)!,
        treeRootGen: gen,
        chunkRoot: blockOf.get(CHUNK_TREE_OBJECTID)!,
        chunkRootGen: gen,
        extentRoot: blockOf.get(EXTENT_TREE_OBJECTID)!,
        extentRootGen: gen,
        fsRoot: blockOf.get(FS_TREE_OBJECTID)!,
        fsRootGen: gen,
        devRoot: blockOf.get(DEV_TREE_OBJECTID)!,
        devRootGen: gen,
        csumRoot: blockOf.get(CSUM_TREE_OBJECTID)!,
        csumRootGen: gen,
        totalBytes: size,
        bytesUsed: totalUsed,
        numDevices: 1n,
        treeRootLevel: 0,
        chunkRootLevel: 0,
        extentRootLevel: 0,
        fsRootLevel: 0,
        devRootLevel: 0,
        csumRootLevel: 0,
      },
    ],
  };
  // Wipe stale superblock copies beyond the new size, then write ours.
  dev.sync();
  for (const off of SUPER_MIRROR_OFFSETS) {
    if (off + BigInt(SUPER_INFO_SIZE) > size) {
      if (off + BigInt(SUPER_INFO_SIZE) <= dev.size)
        dev.write(off, new Uint8Array(SUPER_INFO_SIZE));
      continue;
    }
    dev.write(off, encodeSuperblock({ ...sb, bytenr: off }));
  }
  dev.sync();
  return {
    fsid,
    size,
    nodesize,
    sectorsize,
    chunks: plan.map((c) => ({
      logical: c.logical,
      length: c.length,
      type: c.type,
      stripes: c.stripes,
    })),
  };
}

/** Where `mkfsImageFile` formats an image before it takes its name (beside it, same filesystem). */
export function partialImagePath(image: string): string {
  return `${image}.partial`;
}

/**
 * Creates the image file `path` of `size` bytes and formats it, atomically: the image is written and
 * made durable as `<path>.partial`, then renamed into place (replacing a file there), so a kill
 * leaves no image (or the one that was there) or a whole one — never a half-made image under its
 * name. A `.partial` left by a kill is overwritten by the next attempt. The caller holds the
 * image's lock (lock.ts). docs/btrfs.md "Creating images".
 */
export function mkfsImageFile(path: string, size: bigint, opts: MkfsOptions = {}): MkfsResult {
  const tmp = partialImagePath(path);
  const dev = FileDevice.create(tmp, size);
  let r: MkfsResult;
  try {
    r = mkfs(dev, opts); // ends with the superblocks written and synced
  } catch (e) {
    dev.close();
    try {
      unlinkSync(tmp);
    } catch {
      // already gone
    }
    throw e;
  }
  dev.close();
  renameIntoPlace(tmp, path);
  return r;
}
