// Public API of extent allocation (services/fs/btrfs/alloc/): data extents and their back-references
// (EXTENT_ITEM + EXTENT_DATA_REF / SHARED_DATA_REF), as used by fs.ts through a Transaction.

/** A contiguous run of logical bytes. */
export interface Extent {
  bytenr: bigint;
  len: number;
}

/**
 * A reference from a file extent item to a data extent, as btrfs counts them:
 * (root, inode, offset) where offset = file offset of the EXTENT_DATA key - the item's extent offset.
 */
export interface DataRef {
  /** The data extent's start (disk_bytenr of the file extent item). */
  bytenr: bigint;
  /** The data extent's length (disk_num_bytes). */
  numBytes: bigint;
  /** Subvolume (tree) id holding the EXTENT_DATA item. */
  root: bigint;
  /** Inode number. */
  inode: bigint;
  /** EXTENT_DATA key offset minus the file extent item's `offset` field. */
  offset: bigint;
}

/** Data-extent operations of a transaction. */
export interface DataAllocator {
  /**
   * Reserve `len` bytes (rounded up to the sector size) of data space, contiguous. The extent has
   * no references yet: add one with addDataRef before commit, or release it with freeReserved.
   * Throws NcwError BTRFS_NO_SPACE if no data block group has room (after trying a new chunk).
   */
  allocDataExtent(len: number): Extent;
  /** Give back a reserved extent that never got a reference. */
  freeReserved(ext: Extent): void;
  /** Write data at a logical address (all mirrors). Only for extents allocated in this transaction. */
  writeData(bytenr: bigint, data: Uint8Array): void;
  /** Read data at a logical address (first mirror). */
  readData(bytenr: bigint, len: number): Uint8Array;
  /** Read `dest.length` bytes at a logical address (first mirror) straight into `dest`. */
  readDataInto(bytenr: bigint, dest: Uint8Array): void;
  /** Add one reference (creates the EXTENT_ITEM on the first one). */
  addDataRef(ref: DataRef): void;
  /**
   * Drop one reference. When the last one goes, the extent is freed (reusable after commit) and
   * its checksums are deleted from the csum tree.
   */
  dropDataRef(ref: DataRef): void;
  /** Store data checksums (crc32c, 4 bytes per sector) for sectors starting at `bytenr`. */
  insertCsums(bytenr: bigint, csums: Uint8Array): void;
  /** Delete the checksums of [bytenr, bytenr+len). */
  deleteCsums(bytenr: bigint, len: bigint): void;
  /** Checksums of [bytenr, bytenr+len) as stored (undefined entries where none is stored). */
  lookupCsums(bytenr: bigint, len: bigint): (Uint8Array | undefined)[];
}

/** Space figures of the image. */
export interface SpaceInfo {
  totalBytes: bigint;
  bytesUsed: bigint;
  dataTotal: bigint;
  dataUsed: bigint;
  metadataTotal: bigint;
  metadataUsed: bigint;
}
