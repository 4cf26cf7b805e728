// Reading a Btrfs filesystem at the inode level: directory lookups (DIR_ITEM by name hash),
// listings (DIR_INDEX order), inodes, file data (inline / regular / prealloc extents, holes,
// zlib/zstd/lzo compression) with crc32c data checksums verified, symlinks, xattrs, hard links.
// Works on any TreeReader: the read-only Volume or a transaction of the engine.

import { NcwError } from "../../../ncw/errors.js";
import { fsErrors, MAX_SYMLINK_HOPS, resolveLinkTarget, splitPath } from "../layer.js";
import { decompressExtent } from "./compression.js";
import type { DataCache } from "./datacache.js";
import { btrfsNameHash, crc32cOfSectors } from "./format/crc32c.js";
import {
  COMPRESS_NONE,
  type DirItem,
  decodeCsumItem,
  decodeDirItems,
  decodeFileExtentItem,
  decodeInodeExtrefs,
  decodeInodeItem,
  decodeInodeRefs,
  decodeRootItem,
  decodeRootRef,
  FILE_EXTENT_INLINE,
  FILE_EXTENT_PREALLOC,
  type FileExtentItem,
  FT_DIR,
  FT_SYMLINK,
  INODE_NODATASUM,
  type InodeItem,
} from "./format/items.js";
import {
  CSUM_TREE_OBJECTID,
  DIR_INDEX_KEY,
  DIR_ITEM_KEY,
  EXTENT_CSUM_KEY,
  EXTENT_CSUM_OBJECTID,
  EXTENT_DATA_KEY,
  INODE_EXTREF_KEY,
  INODE_ITEM_KEY,
  INODE_REF_KEY,
  type Key,
  ROOT_BACKREF_KEY,
  ROOT_ITEM_KEY,
  ROOT_TREE_OBJECTID,
  U64_MAX,
  XATTR_ITEM_KEY,
} from "./format/key.js";
import type { TreeReader } from "./tree/index.js";

/** Reads data at logical addresses (Volume, or an engine transaction). */
export interface DataReader {
  readData(bytenr: bigint, len: number): Uint8Array;
  /** Reads `dest.length` bytes at `bytenr` straight into `dest`. */
  readDataInto(bytenr: bigint, dest: Uint8Array): void;
  /** Optional: verified data kept by the engine (reads check it before the device). */
  readonly dataCache?: DataCache;
}

/** An inode of one subvolume: (tree id, inode number). */
export interface InodeId {
  root: bigint;
  ino: bigint;
}

export interface DirEntryInfo {
  name: Uint8Array;
  /** Where the entry points: an inode of the same tree, or the top directory of another subvolume. */
  target: InodeId;
  /** FT_* file type stored in the entry. */
  type: number;
  /** The DIR_INDEX sequence number. */
  index: bigint;
  /** True when the entry is a subvolume (its location is a ROOT_ITEM key). */
  subvolume: boolean;
}

export interface FileExtentAt {
  /** File offset (the EXTENT_DATA key offset). */
  fileOffset: bigint;
  item: FileExtentItem;
}

const dataError = (msg: string, code: string) =>
  new NcwError("data", msg, { code, hint: "The image is damaged; run `ncw fs check` on it." });

/** The most one read() returns (an in-memory buffer). */
const MAX_READ_AT_ONCE = 1n << 31n;

/** BTRFS_MAX_EXTENT_SIZE and BTRFS_MAX_UNCOMPRESSED: the largest extents btrfs writes. */
const MAX_EXTENT_BYTES = 128n * 1024n * 1024n;
const MAX_COMPRESSED_RAM = 128n * 1024n;

/** Rejects file extent items no btrfs writes (sizes, alignment), before anything is allocated for them. */
export function checkFileExtent(fe: FileExtentItem, sectorsize: number, where: string): void {
  const ss = BigInt(sectorsize);
  const bad = (why: string) => dataError(`file extent ${where}: ${why}`, "BTRFS_BAD_FILE_EXTENT");
  if (fe.type === FILE_EXTENT_INLINE) {
    if (
      fe.compression !== COMPRESS_NONE
        ? fe.ramBytes > MAX_COMPRESSED_RAM
        : BigInt(fe.inlineData.length) !== fe.ramBytes
    ) {
      throw bad(`inline extent of ${fe.inlineData.length} bytes claims ${fe.ramBytes}`);
    }
    return;
  }
  if (fe.diskBytenr === 0n) return;
  const compressed = fe.compression !== COMPRESS_NONE;
  if (fe.diskNumBytes === 0n || fe.diskNumBytes % ss !== 0n || fe.diskNumBytes > MAX_EXTENT_BYTES) {
    throw bad(`disk length ${fe.diskNumBytes}`);
  }
  if (compressed && fe.ramBytes > MAX_COMPRESSED_RAM)
    throw bad(`compressed extent of ${fe.ramBytes} bytes`);
  if (
    fe.offset + fe.numBytes > (compressed ? fe.ramBytes : fe.diskNumBytes) ||
    fe.numBytes === 0n
  ) {
    throw bad(`range ${fe.offset}+${fe.numBytes} outside the extent`);
  }
}

export class FsReader {
  /** When false, data checksums are not verified (for damaged images). */
  verifyCsums = true;

  constructor(
    readonly trees: TreeReader,
    readonly data: DataReader,
    readonly sectorsize: number,
  ) {}

  inode(id: InodeId): InodeItem | undefined {
    const b = this.trees.lookup(id.root, { objectid: id.ino, type: INODE_ITEM_KEY, offset: 0n });
    return b ? decodeInodeItem(b) : undefined;
  }

  /** The top directory inode of a subvolume (its ROOT_ITEM's root_dirid, normally 256). */
  subvolumeTop(root: bigint): InodeId {
    const it = this.trees.lastAtOrBefore(ROOT_TREE_OBJECTID, {
      objectid: root,
      type: ROOT_ITEM_KEY,
      offset: U64_MAX,
    });
    if (!it || it.key.objectid !== root || it.key.type !== ROOT_ITEM_KEY) {
      // A subvolume created in the open transaction has its ROOT_ITEM written at commit.
      if (this.trees.hasTree(root)) return { root, ino: 256n };
      throw new NcwError("not-found", `subvolume ${root} does not exist`, {
        code: "BTRFS_NO_SUBVOL",
      });
    }
    return { root, ino: decodeRootItem(it.data).rootDirid };
  }

  /** Looks up `name` in directory `dir` through its DIR_ITEM (name hash); crosses into subvolumes. */
  lookup(dir: InodeId, name: Uint8Array): DirEntryInfo | undefined {
    const b = this.trees.lookup(dir.root, {
      objectid: dir.ino,
      type: DIR_ITEM_KEY,
      offset: BigInt(btrfsNameHash(name)),
    });
    if (!b) return undefined;
    const d = decodeDirItems(b).find((x) => sameBytes(x.name, name));
    if (!d) return undefined;
    return this.entry(dir, d, -1n);
  }

  private entry(dir: InodeId, d: DirItem, index: bigint): DirEntryInfo {
    if (d.location.type === ROOT_ITEM_KEY) {
      return {
        name: d.name,
        target: this.subvolumeTop(d.location.objectid),
        type: d.type,
        index,
        subvolume: true,
      };
    }
    return {
      name: d.name,
      target: { root: dir.root, ino: d.location.objectid },
      type: d.type,
      index,
      subvolume: false,
    };
  }

  /**
   * Resolves an absolute path from the top of subvolume `top` (default: the FS tree, 5), following
   * symlinks in the middle and, if `followLast`, at the end. Undefined when something is missing.
   */
  resolve(path: string, opts: { top?: InodeId; followLast?: boolean } = {}): InodeId | undefined {
    const top = opts.top ?? this.subvolumeTop(5n);
    let pending = splitPath(path);
    let dir = top;
    let dirParts: string[] = [];
    let hops = 0;
    while (pending.length > 0) {
      const name = pending[0]!;
      pending = pending.slice(1);
      const e = this.lookup(dir, new TextEncoder().encode(name));
      if (!e) return undefined;
      const isLast = pending.length === 0;
      if (e.type === FT_SYMLINK && (!isLast || opts.followLast !== false)) {
        if (++hops > MAX_SYMLINK_HOPS) throw fsErrors.loop(path);
        const target = new TextDecoder().decode(this.readInlineSync(e.target));
        pending = [...resolveLinkTarget(dirParts, target), ...pending];
        dir = top;
        dirParts = [];
        continue;
      }
      if (isLast) return e.target;
      if (e.type !== FT_DIR) throw fsErrors.notDir(path);
      dir = e.target;
      dirParts = [...dirParts, name];
    }
    return dir;
  }

  /** A symlink's target bytes (an uncompressed inline extent, as every btrfs symlink has). */
  readInlineSync(id: InodeId): Uint8Array {
    const ext = this.extents(id)[0];
    if (!ext || ext.item.type !== FILE_EXTENT_INLINE || ext.item.compression !== COMPRESS_NONE) {
      throw dataError(
        `symlink inode ${id.ino} of tree ${id.root} has no plain inline extent`,
        "BTRFS_BAD_SYMLINK",
      );
    }
    return ext.item.inlineData;
  }

  /** Directory entries in DIR_INDEX (creation) order. */
  readdir(dir: InodeId): DirEntryInfo[] {
    const out: DirEntryInfo[] = [];
    for (const it of this.trees.items(
      dir.root,
      { objectid: dir.ino, type: DIR_INDEX_KEY, offset: 0n },
      { objectid: dir.ino, type: DIR_INDEX_KEY, offset: U64_MAX },
    )) {
      for (const d of decodeDirItems(it.data)) out.push(this.entry(dir, d, it.key.offset));
    }
    return out;
  }

  /** Every (parent inode, name, index) naming this inode: INODE_REF and INODE_EXTREF items. */
  names(id: InodeId): { parent: bigint; name: Uint8Array; index: bigint }[] {
    const out: { parent: bigint; name: Uint8Array; index: bigint }[] = [];
    for (const it of this.trees.items(
      id.root,
      { objectid: id.ino, type: INODE_REF_KEY, offset: 0n },
      { objectid: id.ino, type: INODE_EXTREF_KEY, offset: U64_MAX },
    )) {
      if (it.key.type === INODE_REF_KEY) {
        for (const r of decodeInodeRefs(it.data))
          out.push({ parent: it.key.offset, name: r.name, index: r.index });
      } else {
        for (const r of decodeInodeExtrefs(it.data))
          out.push({ parent: r.parent, name: r.name, index: r.index });
      }
    }
    return out;
  }

  /**
   * The path of an inode from `top` (default: the FS tree's top directory), following INODE_REF
   * back-references and, at a subvolume's top, its ROOT_BACKREF. For an inode with several names
   * (hard links) the first is used. Undefined when the inode does not exist or is not below `top`.
   */
  pathOf(id: InodeId, top: InodeId = { root: 5n, ino: 256n }): string | undefined {
    const parts: string[] = [];
    let cur = id;
    for (let guard = 0; guard < 4096; guard++) {
      if (cur.root === top.root && cur.ino === top.ino) return `/${parts.reverse().join("/")}`;
      if (!this.trees.hasTree(cur.root) || !this.inode(cur)) return undefined;
      const isSubvolTop = cur.ino === 256n && cur.root !== 5n;
      if (isSubvolTop) {
        const back = this.trees.firstAtOrAfter(ROOT_TREE_OBJECTID, {
          objectid: cur.root,
          type: ROOT_BACKREF_KEY,
          offset: 0n,
        });
        if (!back || back.key.objectid !== cur.root || back.key.type !== ROOT_BACKREF_KEY)
          return undefined;
        const ref = decodeRootRef(back.data);
        parts.push(new TextDecoder().decode(ref.name));
        cur = { root: back.key.offset, ino: ref.dirid };
        continue;
      }
      const name = this.names(cur).find((n) => n.parent !== cur.ino);
      if (!name) return undefined;
      parts.push(new TextDecoder().decode(name.name));
      cur = { root: cur.root, ino: name.parent };
    }
    return undefined;
  }

  /** The file extent items of an inode overlapping [from, to), in file order. */
  extents(id: InodeId, from = 0n, to = U64_MAX): FileExtentAt[] {
    const out: FileExtentAt[] = [];
    const start =
      from === 0n
        ? { objectid: id.ino, type: EXTENT_DATA_KEY, offset: 0n }
        : (this.trees.lastAtOrBefore(id.root, {
            objectid: id.ino,
            type: EXTENT_DATA_KEY,
            offset: from,
          })?.key ?? {
            objectid: id.ino,
            type: EXTENT_DATA_KEY,
            offset: 0n,
          });
    const first: Key =
      start.objectid === id.ino && start.type === EXTENT_DATA_KEY
        ? start
        : { objectid: id.ino, type: EXTENT_DATA_KEY, offset: 0n };
    for (const it of this.trees.items(id.root, first, {
      objectid: id.ino,
      type: EXTENT_DATA_KEY,
      offset: to === U64_MAX ? U64_MAX : to - 1n,
    })) {
      const item = decodeFileExtentItem(it.data);
      checkFileExtent(
        item,
        this.sectorsize,
        `(${id.ino} EXTENT_DATA ${it.key.offset}) of tree ${id.root}`,
      );
      out.push({ fileOffset: it.key.offset, item });
    }
    return out;
  }

  /** Reads [offset, offset+len) of a file (clipped to its size); holes read as zeros. */
  async read(id: InodeId, offset: bigint, len: number, inode?: InodeItem): Promise<Uint8Array> {
    const ino = this.inodeOrThrow(id, inode);
    const end = minBig(offset + BigInt(len), ino.size);
    if (end <= offset) return new Uint8Array(0);
    this.checkReadSize(id, end - offset);
    // Not zero-filled: readInto writes every byte (extents, or zeros for holes and gaps).
    const n = Number(end - offset);
    const un = Buffer.allocUnsafe(n);
    const out = new Uint8Array(un.buffer, un.byteOffset, n);
    await this.readInto(id, offset, out, ino);
    return out;
  }

  /**
   * Reads the file from `offset` into `dest` (as read(2) does: the caller's buffer) and returns
   * how many bytes it wrote: dest.length, or fewer at the end of the file.
   */
  async readInto(
    id: InodeId,
    offset: bigint,
    dest: Uint8Array,
    inode?: InodeItem,
  ): Promise<number> {
    const ino = this.inodeOrThrow(id, inode);
    const end = minBig(offset + BigInt(dest.length), ino.size);
    if (end <= offset) return 0;
    this.checkReadSize(id, end - offset);
    const n = Number(end - offset);
    const out = n === dest.length ? dest : dest.subarray(0, n);
    let filled = offset; // file offset up to which `out` holds the final bytes
    const upTo = (to: bigint) => {
      if (to > filled) out.fill(0, Number(filled - offset), Number(to - offset));
    };
    const checkSums = this.verifyCsums && (ino.flags & INODE_NODATASUM) === 0n;
    for (const { fileOffset, item } of this.extents(id, offset, end)) {
      if (item.type === FILE_EXTENT_INLINE) {
        const plain =
          item.compression === COMPRESS_NONE
            ? item.inlineData
            : await decompressExtent(item.compression, item.inlineData, Number(item.ramBytes));
        upTo(fileOffset);
        copyRange(out, offset, plain, fileOffset);
        filled = maxBig(filled, minBig(end, fileOffset + BigInt(plain.length)));
        continue;
      }
      const extLen = item.numBytes;
      const extEnd = fileOffset + extLen;
      if (extEnd <= offset || fileOffset >= end) continue;
      if (item.diskBytenr === 0n || item.type === FILE_EXTENT_PREALLOC) continue; // hole / unwritten: zeros
      const wantFrom = maxBig(offset, fileOffset);
      const wantTo = minBig(end, extEnd);
      upTo(wantFrom);
      if (item.compression !== COMPRESS_NONE) {
        const raw = new Uint8Array(Number(item.diskNumBytes));
        this.readSectors(item.diskBytenr, raw, checkSums, id);
        const plain = await decompressExtent(item.compression, raw, Number(item.ramBytes));
        const part = plain.subarray(Number(item.offset), Number(item.offset + item.numBytes));
        copyRange(out, offset, part, fileOffset);
        filled = maxBig(filled, minBig(wantTo, fileOffset + BigInt(part.length)));
        upTo(wantTo); // a short decompressed extent reads as zeros past its end
        filled = maxBig(filled, wantTo);
        continue;
      }
      // Uncompressed: the sectors the range needs, in one device read, verified in place.
      const ss = BigInt(this.sectorsize);
      const relFrom = ((wantFrom - fileOffset + item.offset) / ss) * ss;
      const relTo = minBig(
        ((wantTo - fileOffset + item.offset + ss - 1n) / ss) * ss,
        item.offset + item.numBytes,
      );
      const relToAligned = ((relTo + ss - 1n) / ss) * ss;
      const rawAt = fileOffset - item.offset + relFrom; // file offset of the first byte read
      const rawLen = Number(relToAligned - relFrom);
      const into = rawAt - offset;
      if (into >= 0n && into + BigInt(rawLen) <= BigInt(out.length)) {
        // Whole sectors land inside the result: read them in place (no extra buffer, no copy).
        // Bytes past wantTo (a sector's tail) are overwritten by the next extent or zeroed as a gap.
        const dest = out.subarray(Number(into), Number(into) + rawLen);
        this.readSectors(item.diskBytenr + relFrom, dest, checkSums, id);
      } else {
        const raw = new Uint8Array(rawLen);
        this.readSectors(item.diskBytenr + relFrom, raw, checkSums, id);
        copyRange(out, offset, raw, rawAt);
      }
      filled = maxBig(filled, wantTo);
    }
    upTo(end);
    return n;
  }

  private inodeOrThrow(id: InodeId, inode?: InodeItem): InodeItem {
    const ino = inode ?? this.inode(id);
    if (!ino)
      throw new NcwError("not-found", `inode ${id.ino} of tree ${id.root} does not exist`, {
        code: "BTRFS_NO_INODE",
      });
    return ino;
  }

  private checkReadSize(id: InodeId, len: bigint): void {
    if (len > MAX_READ_AT_ONCE) {
      throw new NcwError(
        "failure",
        `cannot read ${len} bytes at once (inode ${id.ino} of tree ${id.root})`,
        {
          code: "BTRFS_READ_TOO_LARGE",
          hint: "Read large files in ranges (e.g. `ncw fs get`, which streams).",
        },
      );
    }
  }

  /**
   * Whole sectors at `bytenr` into `dest`: from the engine's data cache when it holds all of them,
   * else from the device, with their checksums verified (`checkSums`), then kept in the cache.
   * With verification turned off (damaged images) the cache is neither read nor filled.
   */
  private readSectors(bytenr: bigint, dest: Uint8Array, checkSums: boolean, id: InodeId): void {
    const cache = this.verifyCsums ? this.data.dataCache : undefined;
    if (cache?.readInto(bytenr, dest)) return;
    this.data.readDataInto(bytenr, dest);
    if (checkSums) {
      this.verify(bytenr, dest, id);
      cache?.put(bytenr, dest);
    }
  }

  async readAll(id: InodeId): Promise<Uint8Array> {
    const ino = this.inode(id);
    if (!ino)
      throw new NcwError("not-found", `inode ${id.ino} of tree ${id.root} does not exist`, {
        code: "BTRFS_NO_INODE",
      });
    return this.read(id, 0n, Number(ino.size), ino);
  }

  /** A symlink's target (stored as its inline extent). */
  async readlink(id: InodeId): Promise<string> {
    return new TextDecoder().decode(await this.readAll(id));
  }

  /**
   * Checksums stored for the sectors of [bytenr, bytenr+len) (one csum-tree range scan):
   * sums[i] is sector i's, valid where has[i] is 1.
   */
  csums(bytenr: bigint, len: number): { sums: Uint32Array; has: Uint8Array } {
    const ss = this.sectorsize;
    const ssB = BigInt(ss);
    const n = Math.ceil(len / ss);
    const sums = new Uint32Array(n);
    const has = new Uint8Array(n);
    if (!this.trees.hasTree(CSUM_TREE_OBJECTID)) return { sums, has };
    const end = bytenr + BigInt(len);
    const first = this.trees.lastAtOrBefore(CSUM_TREE_OBJECTID, {
      objectid: EXTENT_CSUM_OBJECTID,
      type: EXTENT_CSUM_KEY,
      offset: bytenr,
    });
    const from: Key =
      first && first.key.objectid === EXTENT_CSUM_OBJECTID && first.key.type === EXTENT_CSUM_KEY
        ? first.key
        : { objectid: EXTENT_CSUM_OBJECTID, type: EXTENT_CSUM_KEY, offset: 0n };
    for (const it of this.trees.items(CSUM_TREE_OBJECTID, from, {
      objectid: EXTENT_CSUM_OBJECTID,
      type: EXTENT_CSUM_KEY,
      offset: end - 1n,
    })) {
      const item = decodeCsumItem(it.data);
      const at = it.key.offset;
      // First sum of the item at or after bytenr, and the sector of the range it covers.
      const skip = at < bytenr ? Number((bytenr - at + ssB - 1n) / ssB) : 0;
      const rel = at + BigInt(skip) * ssB - bytenr;
      if (rel % ssB !== 0n) continue; // not on this range's sector grid: covers none of its sectors
      for (let i = skip, j = Number(rel / ssB); i < item.length && j < n; i++, j++) {
        sums[j] = item[i]!;
        has[j] = 1;
      }
    }
    return { sums, has };
  }

  /**
   * Sectors of data read at `bytenr` (sector-aligned) whose checksum is missing or differs, with
   * the stored and computed values; empty when all match.
   */
  badSectors(
    bytenr: bigint,
    data: Uint8Array,
  ): { at: bigint; want: number | undefined; got: number }[] {
    const ss = this.sectorsize;
    const { sums, has } = this.csums(bytenr, data.length);
    const n = sums.length;
    const got = crc32cOfSectors(data, ss);
    const bad: { at: bigint; want: number | undefined; got: number }[] = [];
    for (let i = 0; i < n; i++) {
      if (has[i] === 1 && sums[i] === got[i]) continue;
      bad.push({ at: bytenr + BigInt(i * ss), want: has[i] ? sums[i] : undefined, got: got[i]! });
    }
    return bad;
  }

  /** Verifies sector checksums of data read at `bytenr` (sector-aligned, whole sectors). */
  verify(bytenr: bigint, data: Uint8Array, id: InodeId): void {
    const bad = this.badSectors(bytenr, data)[0];
    if (!bad) return;
    if (bad.want === undefined) {
      throw dataError(
        `no data checksum stored for logical ${bad.at} (inode ${id.ino} of tree ${id.root})`,
        "BTRFS_CSUM_MISSING",
      );
    }
    throw dataError(
      `data checksum mismatch at logical ${bad.at} (inode ${id.ino} of tree ${id.root}): stored 0x${bad.want.toString(16)}, computed 0x${bad.got.toString(16)}`,
      "BTRFS_DATA_CSUM",
    );
  }

  /** Names of an inode's extended attributes. */
  listXattrs(id: InodeId): string[] {
    const out: string[] = [];
    for (const it of this.trees.items(
      id.root,
      { objectid: id.ino, type: XATTR_ITEM_KEY, offset: 0n },
      { objectid: id.ino, type: XATTR_ITEM_KEY, offset: U64_MAX },
    )) {
      for (const d of decodeDirItems(it.data)) out.push(new TextDecoder().decode(d.name));
    }
    return out.sort();
  }

  getXattr(id: InodeId, name: string): Uint8Array | undefined {
    const n = new TextEncoder().encode(name);
    const b = this.trees.lookup(id.root, {
      objectid: id.ino,
      type: XATTR_ITEM_KEY,
      offset: BigInt(btrfsNameHash(n)),
    });
    if (!b) return undefined;
    return decodeDirItems(b).find((d) => sameBytes(d.name, n))?.data;
  }
}

export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Copies `src`, which holds file bytes starting at file offset `srcAt`, into `out` (file offset `outAt`). */
function copyRange(out: Uint8Array, outAt: bigint, src: Uint8Array, srcAt: bigint): void {
  const from = maxBig(outAt, srcAt);
  const to = minBig(outAt + BigInt(out.length), srcAt + BigInt(src.length));
  if (to <= from) return;
  out.set(src.subarray(Number(from - srcAt), Number(to - srcAt)), Number(from - outAt));
}

const minBig = (a: bigint, b: bigint) => (a < b ? a : b);
const maxBig = (a: bigint, b: bigint) => (a > b ? a : b);
