// The extent writer of BtrfsFs (docs/btrfs.md, "Writing data"): write, truncate, grow and punch a
// file's data as copy-on-write extents with data checksums, inline files, optional zlib/zstd.

import { NcwError } from "../../../ncw/errors.js";
import { compressExtent } from "./compression.js";
import { crc32cOfSectors } from "./format/crc32c.js";
import {
  COMPRESS_NONE,
  COMPRESS_ZLIB,
  COMPRESS_ZSTD,
  decodeFileExtentItem,
  encodeFileExtentItem,
  FILE_EXTENT_INLINE,
  FILE_EXTENT_REG,
  type FileExtentItem,
  INODE_NODATASUM,
  S_IFMT,
  S_IFREG,
} from "./format/items.js";
import { EXTENT_DATA_KEY, U64_MAX } from "./format/key.js";
import { FsReader, type InodeId } from "./fsread.js";
import type { InodeTable } from "./inodes.js";
import type { Transaction } from "./transaction.js";
import type { TreeReader } from "./tree/index.js";

/** Largest file stored inline in its leaf (the kernel's default max_inline). */
export const MAX_INLINE = 2048;
/** Largest uncompressed data extent (BTRFS_MAX_EXTENT_SIZE). */
export const MAX_EXTENT = 128 * 1024 * 1024;
/** Largest uncompressed range compressed as one extent (BTRFS_MAX_UNCOMPRESSED). */
export const MAX_COMPRESSED_CHUNK = 128 * 1024;

export type Compression = "none" | "zlib" | "zstd";

const alignUp = (v: bigint, a: bigint) => ((v + a - 1n) / a) * a;
const alignDown = (v: bigint, a: bigint) => (v / a) * a;

/**
 * Changes a regular file's data inside a transaction. It does not touch times (the caller does)
 * and does not decide when to commit (batch.ts does).
 */
export class ExtentWriter {
  constructor(
    private readonly inodes: InodeTable,
    readonly sectorsize: number,
    /** Compression for new data extents (read at each write). */
    private readonly compression: () => Compression,
  ) {}

  /**
   * Deallocates [offset, offset+len) of a file in `t`: whole sectors lose their extents, the
   * partial sectors at either end are written as zeros; the size is unchanged.
   */
  async punch(t: Transaction, id: InodeId, offset: bigint, len: bigint): Promise<void> {
    const v0 = this.inodes.get(t, id);
    const end = minBig(offset + len, v0.size);
    if (end <= offset) return;
    if (this.inlineOf(t, id)) {
      await this.write(t, id, offset, new Uint8Array(Number(end - offset)));
      return;
    }
    const ss = BigInt(this.sectorsize);
    const a = alignUp(offset, ss);
    const b = alignDown(end, ss);
    if (a < b) {
      const removed = this.dropRange(t, id, a, b);
      const v = this.inodes.get(t, id);
      v.nbytes -= removed;
      this.inodes.put(t, id, v);
    }
    if (offset < a)
      await this.write(t, id, offset, new Uint8Array(Number(minBig(a, end) - offset)));
    if (b < end && b >= a) await this.write(t, id, b, new Uint8Array(Number(end - b)));
  }

  dropExtentRef(t: Transaction, id: InodeId, fileOffset: bigint, data: Uint8Array): void {
    const fe = decodeFileExtentItem(data);
    if (fe.type === FILE_EXTENT_INLINE || fe.diskBytenr === 0n) return;
    t.dropDataRef({
      bytenr: fe.diskBytenr,
      numBytes: fe.diskNumBytes,
      root: id.root,
      inode: id.ino,
      offset: fileOffset - fe.offset,
    });
  }

  /** The inline extent of a file, if its data is stored inline. */
  inlineOf(t: TreeReader, id: InodeId): (FileExtentItem & { type: 0 }) | undefined {
    const b = t.lookup(id.root, { objectid: id.ino, type: EXTENT_DATA_KEY, offset: 0n });
    if (!b) return undefined;
    const fe = decodeFileExtentItem(b);
    return fe.type === FILE_EXTENT_INLINE ? fe : undefined;
  }

  /** Reads the current bytes [0, size) of an inline file. */
  private async inlineBytes(t: Transaction, id: InodeId, size: bigint): Promise<Uint8Array> {
    return new FsReader(t, t, this.sectorsize).read(id, 0n, Number(size));
  }

  async write(t: Transaction, id: InodeId, offset: bigint, data: Uint8Array): Promise<void> {
    const v = this.inodes.get(t, id);
    if ((v.mode & S_IFMT) !== S_IFREG) {
      throw new NcwError("conflict", "only regular files hold data", { code: "FS_NOT_FILE" });
    }
    const end = offset + BigInt(data.length);
    const newSize = end > v.size ? end : v.size;
    if (data.length === 0) return;
    const inline = this.inlineOf(t, id);
    const hasOther =
      !inline &&
      t.firstAtOrAfter(id.root, { objectid: id.ino, type: EXTENT_DATA_KEY, offset: 0n })?.key;
    const noExtents =
      !inline && !(hasOther && hasOther.objectid === id.ino && hasOther.type === EXTENT_DATA_KEY);
    if (
      (inline || noExtents) &&
      newSize <= BigInt(MAX_INLINE) &&
      newSize < BigInt(this.sectorsize)
    ) {
      // Stays (or becomes) an inline file: rebuild the whole content.
      const buf = new Uint8Array(Number(newSize));
      if (inline) buf.set((await this.inlineBytes(t, id, v.size)).subarray(0, Number(v.size)));
      buf.set(data, Number(offset));
      const key = { objectid: id.ino, type: EXTENT_DATA_KEY, offset: 0n };
      t.putItem(id.root, key, encodeFileExtentItem(inlineExtent(t.generation, buf)));
      const v2 = this.inodes.get(t, id);
      v2.size = newSize;
      v2.nbytes = newSize;
      this.inodes.put(t, id, v2);
      return;
    }
    if (inline) {
      // Convert the inline extent into a regular one first.
      const old = await this.inlineBytes(t, id, v.size);
      t.deleteItem(id.root, { objectid: id.ino, type: EXTENT_DATA_KEY, offset: 0n });
      const v1 = this.inodes.get(t, id);
      v1.nbytes = 0n;
      this.inodes.put(t, id, v1);
      if (old.length > 0) await this.writeAligned(t, id, 0n, old);
    }
    await this.writeAligned(t, id, offset, data);
    const v3 = this.inodes.get(t, id);
    if (newSize > v3.size) v3.size = newSize;
    this.inodes.put(t, id, v3);
  }

  /** Writes into regular extents: the range widened to whole sectors with the existing bytes around it. */
  private async writeAligned(
    t: Transaction,
    id: InodeId,
    offset: bigint,
    data: Uint8Array,
  ): Promise<void> {
    const ss = BigInt(this.sectorsize);
    const v = this.inodes.get(t, id);
    const start = alignDown(offset, ss);
    const end = offset + BigInt(data.length);
    const endA = alignUp(end, ss);
    let buf = data;
    if (start !== offset || endA !== end) {
      buf = new Uint8Array(Number(endA - start));
      const r = new FsReader(t, t, this.sectorsize);
      if (start < offset && start < v.size)
        buf.set(await r.read(id, start, Number(offset - start), v), 0);
      if (end < endA && end < v.size)
        buf.set(await r.read(id, end, Number(endA - end), v), Number(end - start));
      buf.set(data, Number(offset - start));
    }
    const removed = this.dropRange(t, id, start, endA);
    const added = await this.insertExtents(t, id, start, buf);
    const v2 = this.inodes.get(t, id);
    v2.nbytes += added - removed;
    this.inodes.put(t, id, v2);
  }

  /**
   * Removes file extents over [start, end) (sector-aligned), keeping the parts of extents that
   * stick out (they keep referencing the same data extent). Returns the bytes no longer referenced.
   */
  private dropRange(t: Transaction, id: InodeId, start: bigint, end: bigint): bigint {
    let removed = 0n;
    const r = new FsReader(t, t, this.sectorsize);
    for (const { fileOffset: k, item } of r.extents(id, start, end)) {
      if (item.type === FILE_EXTENT_INLINE) {
        throw new NcwError("failure", "internal: inline extent in a regular range", {
          code: "BTRFS_INTERNAL",
        });
      }
      const e = k + item.numBytes;
      if (e <= start || k >= end) continue;
      const key = { objectid: id.ino, type: EXTENT_DATA_KEY, offset: k };
      const real = item.diskBytenr !== 0n;
      const ref = {
        bytenr: item.diskBytenr,
        numBytes: item.diskNumBytes,
        root: id.root,
        inode: id.ino,
        offset: k - item.offset,
      };
      t.deleteItem(id.root, key);
      if (k < start) {
        t.insertItem(id.root, key, encodeFileExtentItem({ ...item, numBytes: start - k }));
        if (real) t.addDataRef(ref);
      }
      if (e > end) {
        t.insertItem(
          id.root,
          { objectid: id.ino, type: EXTENT_DATA_KEY, offset: end },
          encodeFileExtentItem({ ...item, offset: item.offset + (end - k), numBytes: e - end }),
        );
        if (real) t.addDataRef(ref);
      }
      if (real) {
        t.dropDataRef(ref);
        const lo = k > start ? k : start;
        const hi = e < end ? e : end;
        removed += hi - lo;
      }
    }
    return removed;
  }

  /** Allocates, writes and references new data extents for `buf` at file offset `at` (aligned). */
  private async insertExtents(
    t: Transaction,
    id: InodeId,
    at: bigint,
    buf: Uint8Array,
  ): Promise<bigint> {
    const ss = this.sectorsize;
    const v = this.inodes.get(t, id);
    const sums = (v.flags & INODE_NODATASUM) === 0n;
    const compress =
      this.compression() === "none"
        ? COMPRESS_NONE
        : this.compression() === "zlib"
          ? COMPRESS_ZLIB
          : COMPRESS_ZSTD;
    const step = compress === COMPRESS_NONE ? MAX_EXTENT : MAX_COMPRESSED_CHUNK;
    let pos = 0;
    let maxPiece = step; // shrinks when no contiguous free run is that large
    while (pos < buf.length) {
      const len = Math.min(maxPiece, buf.length - pos);
      const piece = buf.subarray(pos, pos + len);
      let disk = piece;
      let type = COMPRESS_NONE;
      if (compress !== COMPRESS_NONE) {
        const c = await compressExtent(compress, piece);
        const cLen = Math.ceil(c.length / ss) * ss;
        if (cLen + ss <= piece.length) {
          disk = new Uint8Array(cLen);
          disk.set(c);
          type = compress;
        }
      }
      let ext: { bytenr: bigint; len: number };
      try {
        ext = t.allocDataExtent(disk.length);
      } catch (e) {
        // No contiguous room that large: retry with half (uncompressed only).
        if (
          type !== COMPRESS_NONE ||
          len <= ss ||
          !(e instanceof NcwError) ||
          e.code !== "BTRFS_NO_SPACE"
        )
          throw e;
        maxPiece = Math.max(ss, Math.floor(len / 2 / ss) * ss);
        continue;
      }
      t.writeData(ext.bytenr, disk);
      if (sums) t.insertCsums(ext.bytenr, sectorCsums(disk, ss));
      const fileOffset = at + BigInt(pos);
      t.insertItem(
        id.root,
        { objectid: id.ino, type: EXTENT_DATA_KEY, offset: fileOffset },
        encodeFileExtentItem({
          generation: t.generation,
          ramBytes: BigInt(len),
          compression: type,
          encryption: 0,
          otherEncoding: 0,
          type: FILE_EXTENT_REG,
          diskBytenr: ext.bytenr,
          diskNumBytes: BigInt(disk.length),
          offset: 0n,
          numBytes: BigInt(len),
        }),
      );
      t.addDataRef({
        bytenr: ext.bytenr,
        numBytes: BigInt(disk.length),
        root: id.root,
        inode: id.ino,
        offset: fileOffset,
      });
      pos += len;
    }
    return BigInt(buf.length);
  }

  async truncate(t: Transaction, id: InodeId, size: bigint): Promise<void> {
    const v = this.inodes.get(t, id);
    if ((v.mode & S_IFMT) !== S_IFREG)
      throw new NcwError("conflict", "only regular files can be truncated", {
        code: "FS_NOT_FILE",
      });
    if (size >= v.size) return;
    const inline = this.inlineOf(t, id);
    if (inline) {
      const key = { objectid: id.ino, type: EXTENT_DATA_KEY, offset: 0n };
      if (size === 0n) t.deleteItem(id.root, key);
      else
        t.updateItem(
          id.root,
          key,
          encodeFileExtentItem(
            // (a compressed inline extent, as the kernel writes, is decompressed first)
            inlineExtent(
              t.generation,
              (await this.inlineBytes(t, id, v.size)).slice(0, Number(size)),
            ),
          ),
        );
      const v2 = this.inodes.get(t, id);
      v2.size = size;
      v2.nbytes = size;
      this.inodes.put(t, id, v2);
      return;
    }
    const ss = BigInt(this.sectorsize);
    const keep = alignUp(size, ss);
    // Zero the tail of the last kept sector first, so a later extension reads zeros (as the kernel does).
    if (size % ss !== 0n) {
      const r = new FsReader(t, t, this.sectorsize);
      const last = r.extents(id, size, size + 1n).find((e) => e.fileOffset <= size);
      if (
        last &&
        last.item.type !== FILE_EXTENT_INLINE &&
        last.item.diskBytenr !== 0n &&
        last.item.type === FILE_EXTENT_REG
      ) {
        await this.writeAligned(t, id, size, new Uint8Array(Number(keep - size)));
      }
    }
    const removed = this.dropRange(t, id, keep, U64_MAX - ss);
    const v2 = this.inodes.get(t, id);
    v2.nbytes -= removed;
    v2.size = size;
    this.inodes.put(t, id, v2);
  }

  async grow(t: Transaction, id: InodeId, size: bigint): Promise<void> {
    const v = this.inodes.get(t, id);
    if ((v.mode & S_IFMT) !== S_IFREG)
      throw new NcwError("conflict", "only regular files can be resized", { code: "FS_NOT_FILE" });
    const inline = this.inlineOf(t, id);
    if (inline) {
      // Re-store with the new size: stays inline when small, else becomes a regular extent + hole.
      const old = await this.inlineBytes(t, id, v.size);
      if (size <= BigInt(MAX_INLINE) && size < BigInt(this.sectorsize)) {
        const buf = new Uint8Array(Number(size));
        buf.set(old);
        t.updateItem(
          id.root,
          { objectid: id.ino, type: EXTENT_DATA_KEY, offset: 0n },
          encodeFileExtentItem(inlineExtent(t.generation, buf)),
        );
        const v2 = this.inodes.get(t, id);
        v2.size = size;
        v2.nbytes = size;
        this.inodes.put(t, id, v2);
        return;
      }
      t.deleteItem(id.root, { objectid: id.ino, type: EXTENT_DATA_KEY, offset: 0n });
      const v1 = this.inodes.get(t, id);
      v1.nbytes = 0n;
      this.inodes.put(t, id, v1);
      if (old.length > 0) await this.writeAligned(t, id, 0n, old);
    }
    const v2 = this.inodes.get(t, id);
    v2.size = size;
    this.inodes.put(t, id, v2);
  }
}

export function inlineExtent(generation: bigint, data: Uint8Array): FileExtentItem {
  return {
    generation,
    ramBytes: BigInt(data.length),
    compression: COMPRESS_NONE,
    encryption: 0,
    otherEncoding: 0,
    type: FILE_EXTENT_INLINE,
    inlineData: data,
  };
}

/** crc32c of every sector of `data` (the last may be shorter), 4 bytes each little-endian. */
export function sectorCsums(data: Uint8Array, sectorsize: number): Uint8Array {
  const sums = crc32cOfSectors(data, sectorsize);
  const out = new Uint8Array(sums.length * 4);
  const dv = new DataView(out.buffer);
  for (let i = 0; i < sums.length; i++) dv.setUint32(i * 4, sums[i]!, true);
  return out;
}

/** The smaller of two bigints (Math.min does not take them). */
function minBig(a: bigint, b: bigint): bigint {
  return a < b ? a : b;
}
