// File-level operations on a Btrfs image through the engine's transactions: path lookup, create,
// unlink, rename, hard links, symlinks, write/truncate/punch with copy-on-write extents and data
// checksums, optional zlib/zstd compression, xattrs, timestamps, inode numbers and FEIDs.

import { isNcwError, NcwError } from "../../../ncw/errors.js";
import { readLogical, readLogicalInto } from "./chunks.js";
import { compressExtent } from "./compression.js";
import { FileDevice } from "./device.js";
import {
  addDirEntry,
  addInodeRef,
  findInodeRef,
  type InodeAccess,
  removeDirEntry,
  removeInodeRef,
  touchInode,
} from "./dirents.js";
import { openEngine } from "./engine.js";
import { btrfsNameHash, crc32cOfSectors } from "./format/crc32c.js";
import {
  COMPRESS_NONE,
  COMPRESS_ZLIB,
  COMPRESS_ZSTD,
  type DirItem,
  decodeDirItems,
  decodeFileExtentItem,
  decodeInodeItem,
  decodeRootRef,
  encodeDirItems,
  encodeFileExtentItem,
  encodeInodeItem,
  FILE_EXTENT_INLINE,
  FILE_EXTENT_REG,
  type FileExtentItem,
  FT_XATTR,
  fileTypeOfMode,
  INODE_NODATASUM,
  type InodeItem,
  newInodeItem,
  S_IFDIR,
  S_IFLNK,
  S_IFMT,
  S_IFREG,
  type Timespec,
  timespecFromMs,
} from "./format/items.js";
import {
  DIR_INDEX_KEY,
  EXTENT_DATA_KEY,
  FIRST_FREE_OBJECTID,
  FS_TREE_OBJECTID,
  INODE_ITEM_KEY,
  type Key,
  LAST_FREE_OBJECTID,
  ORPHAN_ITEM_KEY,
  ORPHAN_OBJECTID,
  ROOT_REF_KEY,
  ROOT_TREE_OBJECTID,
  U64_MAX,
  XATTR_ITEM_KEY,
} from "./format/key.js";
import { maxItemSize } from "./format/node.js";
import { FEATURE_INCOMPAT_EXTENDED_IREF } from "./format/superblock.js";
import { type DataReader, type DirEntryInfo, FsReader, type InodeId, sameBytes } from "./fsread.js";
import { type ImageLock, lockImage } from "./lock.js";
import { type MkfsOptions, mkfsImageFile } from "./mkfs.js";
import {
  createSubvolume as engineCreateSubvolume,
  deleteSubvolume as engineDeleteSubvolume,
  listSubvolumes as engineListSubvolumes,
  createSnapshot as engineSnapshot,
  type SubvolumeInfo,
} from "./subvol.js";
import type { Engine, Transaction } from "./transaction.js";
import type { TreeReader } from "./tree/index.js";

/** Largest file stored inline in its leaf (the kernel's default max_inline). */
export const MAX_INLINE = 2048;
/** Largest uncompressed data extent (BTRFS_MAX_EXTENT_SIZE). */
export const MAX_EXTENT = 128 * 1024 * 1024;
/** Largest uncompressed range compressed as one extent (BTRFS_MAX_UNCOMPRESSED). */
export const MAX_COMPRESSED_CHUNK = 128 * 1024;

export type Compression = "none" | "zlib" | "zstd";

/** Transaction methods that change the image (see BtrfsFs.mutate). */
const WRITE_METHODS = new Set([
  "insertItem",
  "updateItem",
  "putItem",
  "deleteItem",
  "deleteRange",
  "search",
  "allocDataExtent",
  "writeData",
  "addDataRef",
  "dropDataRef",
  "insertCsums",
  "deleteCsums",
  "createTree",
  "setRootItem",
  "copyRoot",
  "dropTree",
]);

/** Engine errors raised before anything changed (docs/btrfs.md, "Engine"): the transaction stays usable. */
const UNCHANGED_ON_ERROR = new Set([
  "BTRFS_NO_SPACE",
  "BTRFS_ITEM_EXISTS",
  "BTRFS_ITEM_MISSING",
  "BTRFS_ITEM_TOO_LARGE",
  "BTRFS_TREE_EXISTS",
  "BTRFS_NO_TREE",
]);

/** Writes of at least this many bytes first commit what is pending, so running out of space
 * while writing them can only lose that one write (see mutate). */
const COMMIT_BEFORE_LARGE_WRITE = 1 << 20;

/** FEID (8 bytes, NightOS filesystem.md): subvolume id in the top 24 bits, inode number in the low 40. */
export function feidOf(id: InodeId): bigint {
  return (id.root << 40n) | (id.ino & ((1n << 40n) - 1n));
}
export function feidParts(feid: bigint): InodeId {
  return { root: feid >> 40n, ino: feid & ((1n << 40n) - 1n) };
}

const te = new TextEncoder();

export function nameBytes(name: string): Uint8Array {
  const n = te.encode(name);
  if (
    n.length === 0 ||
    n.length > 255 ||
    name.includes("/") ||
    name === "." ||
    name === ".." ||
    name.includes("\0")
  ) {
    throw new NcwError("usage", `${JSON.stringify(name)} is not a valid file name`, {
      code: "BTRFS_BAD_NAME",
      hint: "Names are 1-255 bytes, without '/' or NUL, and not '.' or '..'.",
    });
  }
  return n;
}

function inodeKey(ino: bigint): Key {
  return { objectid: ino, type: INODE_ITEM_KEY, offset: 0n };
}

/** The ORPHAN item recording that inode `ino` has no name yet (or any more) and is to be deleted. */
function orphanKey(ino: bigint): Key {
  return { objectid: ORPHAN_OBJECTID, type: ORPHAN_ITEM_KEY, offset: ino };
}

const alignUp = (v: bigint, a: bigint) => ((v + a - 1n) / a) * a;
const alignDown = (v: bigint, a: bigint) => (v / a) * a;

export interface CreateOptions {
  mode?: number;
  uid?: number;
  gid?: number;
  nowMs?: number;
}

/** A Btrfs image opened for reading and writing. Changes collect in one transaction until commit(). */
export class BtrfsFs {
  private txn: Transaction | undefined;
  private readonly nextIno = new Map<bigint, bigint>();
  /** Compression for new data extents. */
  compression: Compression = "none";
  /** Operations since the last commit; commit() happens automatically past `autoCommitOps`. */
  private ops = 0;
  autoCommitOps = 20000;
  private closed = false;

  constructor(
    readonly engine: Engine & {
      dev: { close(): void };
      chunkMap: import("./chunks.js").ChunkMap;
      sb: { incompatFlags: bigint };
    },
    readonly readOnly = false,
  ) {}

  /** Opens an image file; for writing, takes its lock (one writer per image, see lock.ts). */
  static open(path: string, opts: { readOnly?: boolean } = {}): BtrfsFs {
    const readOnly = opts.readOnly === true;
    const lock = readOnly ? undefined : lockImage(path);
    let dev: FileDevice | undefined;
    try {
      dev = FileDevice.open(path, { readOnly });
      const f = new BtrfsFs(openEngine(dev), readOnly);
      f.lock = lock;
      if (!readOnly) f.removeLeftOrphans();
      return f;
    } catch (e) {
      dev?.close();
      lock?.release();
      throw e;
    }
  }

  /**
   * Creates (or overwrites) an image file of `size` bytes, formats it and opens it. The image takes
   * its name only once whole (mkfsImageFile), so a kill never leaves a half-made one there.
   */
  static create(path: string, size: bigint, opts: MkfsOptions = {}): BtrfsFs {
    const lock = lockImage(path);
    let dev: FileDevice | undefined;
    try {
      mkfsImageFile(path, size, opts);
      dev = FileDevice.open(path);
      const f = new BtrfsFs(openEngine(dev));
      f.lock = lock;
      return f;
    } catch (e) {
      dev?.close();
      lock.release();
      throw e;
    }
  }

  private lock: ImageLock | undefined;

  /**
   * At open for writing: the orphans a killed writer left (a `put` that did not finish) go. Best
   * effort — an image NCW cannot write (begin() refuses it) keeps them: btrfs check accepts them
   * and the kernel deletes them at mount.
   */
  private removeLeftOrphans(): void {
    try {
      this.removeOrphans();
    } catch (e) {
      if (!isNcwError(e)) throw e;
      this.abort();
    }
  }

  get sectorsize(): number {
    return this.engine.sectorsize;
  }

  /** Reads see this transaction's changes, or the last commit when none is open. */
  get trees(): TreeReader {
    return this.txn ?? this.engine.committed;
  }

  private get data(): DataReader {
    if (this.txn) return this.txn;
    const e = this.engine as unknown as { dev: import("./device.js").BlockDevice };
    return {
      readData: (b, l) => readLogical(e.dev, this.engine.chunkMap, b, l),
      readDataInto: (b, d) => readLogicalInto(e.dev, this.engine.chunkMap, b, d),
      dataCache: this.engine.dataCache,
    };
  }

  reader(): FsReader {
    this.checkOpen();
    return new FsReader(this.trees, this.data, this.sectorsize);
  }

  private checkOpen(): void {
    if (this.closed)
      throw new NcwError("io", "the Btrfs image was closed", { code: "BTRFS_CLOSED" });
  }

  /** The open transaction (started on first use). */
  tx(): Transaction {
    this.checkOpen();
    if (this.readOnly) {
      throw new NcwError("no-perm", "the Btrfs image is open read-only", {
        code: "BTRFS_READ_ONLY",
      });
    }
    if (!this.txn) {
      const raw = this.engine.begin();
      this.txn = new Proxy(raw, {
        get: (target, prop) => {
          const v: unknown = Reflect.get(target, prop, target);
          if (typeof v !== "function") return v;
          const f = v as (...a: unknown[]) => unknown;
          if (typeof prop === "string" && WRITE_METHODS.has(prop)) {
            return (...a: unknown[]) => {
              try {
                const r = f.apply(target, a);
                this.wrote = true;
                return r;
              } catch (e) {
                // The engine leaves the transaction unchanged for these; anything else counts as a change.
                if (!(isNcwError(e) && UNCHANGED_ON_ERROR.has(e.code))) this.wrote = true;
                throw e;
              }
            };
          }
          return f.bind(target);
        },
      });
    }
    return this.txn;
  }

  /** Makes every change durable: commits the open transaction (no-op when nothing changed). */
  commit(): void {
    this.inodeCache.clear();
    if (this.txn) {
      const t = this.txn;
      this.txn = undefined;
      this.ops = 0;
      t.commit();
    }
  }

  /** Forgets every change since the last commit. */
  abort(): void {
    this.inodeCache.clear();
    if (this.txn) {
      const t = this.txn;
      this.txn = undefined;
      this.nextIno.clear();
      this.ops = 0;
      t.abort();
    }
  }

  close(): void {
    if (this.closed) return;
    try {
      this.commit();
    } finally {
      this.closed = true;
      this.engine.close();
      this.lock?.release();
    }
  }

  /** Runs `fn` in the transaction; on failure the whole transaction is aborted (nothing half-done stays). */
  private depth = 0;
  /** Whether the current operation changed the transaction (then a failure must abort it). */
  private wrote = false;

  private beginOp(): Transaction {
    const t = this.tx();
    if (this.depth === 0) this.wrote = false;
    this.depth++;
    return t;
  }
  private endOp(failed: boolean): void {
    this.depth--;
    if (this.depth > 0) return;
    if (failed) {
      // A failure before any change leaves the transaction as it was; after one, nothing half-done stays.
      if (this.wrote) this.abort();
    } else if (++this.ops >= this.autoCommitOps) this.commit();
  }
  /** Runs a change in the open transaction with BtrfsFs' failure rules (for subvolume operations). */
  run<T>(fn: (t: Transaction) => T): T {
    this.inodeCache.clear(); // the subvolume code writes directory inodes itself
    try {
      return this.mutate(fn);
    } finally {
      this.inodeCache.clear();
    }
  }

  private mutate<T>(fn: (t: Transaction) => T): T {
    const t = this.beginOp();
    let r: T;
    try {
      r = fn(t);
    } catch (e) {
      this.endOp(true);
      throw e;
    }
    this.endOp(false);
    return r;
  }
  private async mutateAsync<T>(fn: (t: Transaction) => Promise<T>): Promise<T> {
    const t = this.beginOp();
    let r: T;
    try {
      r = await fn(t);
    } catch (e) {
      this.endOp(true);
      throw e;
    }
    this.endOp(false);
    return r;
  }

  // ------------------------------------------------------------------ reads

  /** The top directory of the default subvolume (the FS tree). */
  top(): InodeId {
    return { root: FS_TREE_OBJECTID, ino: 256n };
  }

  inode(id: InodeId): InodeItem | undefined {
    return this.reader().inode(id);
  }

  resolve(path: string, followLast = true): InodeId | undefined {
    return this.reader().resolve(path, { followLast });
  }

  lookup(dir: InodeId, name: string): DirEntryInfo | undefined {
    return this.reader().lookup(dir, nameBytes(name));
  }

  // ------------------------------------------------------------------ inode numbers, times

  private allocIno(t: Transaction, root: bigint): bigint {
    let next = this.nextIno.get(root);
    if (next === undefined) {
      const last = t.lastAtOrBefore(root, {
        objectid: LAST_FREE_OBJECTID,
        type: 255,
        offset: U64_MAX,
      });
      next =
        last && last.key.objectid >= FIRST_FREE_OBJECTID
          ? last.key.objectid + 1n
          : FIRST_FREE_OBJECTID;
    }
    this.nextIno.set(root, next + 1n);
    return next;
  }

  /** Decoded inodes of the open transaction (every write goes through putInode; cleared on commit/abort). */
  private readonly inodeCache = new Map<string, InodeItem>();

  private getInode(t: TreeReader, id: InodeId): InodeItem {
    const k = `${id.root}:${id.ino}`;
    const hit = t === this.txn ? this.inodeCache.get(k) : undefined;
    if (hit) return cloneInode(hit);
    const b = t.lookup(id.root, inodeKey(id.ino));
    if (!b)
      throw new NcwError("not-found", `inode ${id.ino} of subvolume ${id.root} does not exist`, {
        code: "BTRFS_NO_INODE",
      });
    const v = decodeInodeItem(b);
    if (t === this.txn) this.inodeCache.set(k, cloneInode(v));
    return v;
  }

  private putInode(t: Transaction, id: InodeId, v: InodeItem): void {
    const k = `${id.root}:${id.ino}`;
    this.inodeCache.delete(k);
    t.updateItem(id.root, inodeKey(id.ino), encodeInodeItem(v));
    if (t === this.txn) this.inodeCache.set(k, cloneInode(v));
  }

  private touch(t: Transaction, v: InodeItem, now: Timespec, what: "m" | "c" | "mc"): void {
    touchInode(v, t.generation, now, what);
  }

  /** Inode reads/writes through this filesystem's per-transaction cache (for dirents.ts, subvol.ts). */
  readonly inodes: InodeAccess = {
    get: (t, id) => this.getInode(t, id),
    put: (t, id, v) => this.putInode(t, id, v),
  };

  // ------------------------------------------------------------------ directory entries (dirents.ts)

  /** Adds the DIR_ITEM and DIR_INDEX of `name` in `dir` pointing at `location`; returns the index. */
  addDirEntry(
    t: Transaction,
    dir: InodeId,
    name: Uint8Array,
    location: Key,
    type: number,
    now: Timespec,
  ): bigint {
    return addDirEntry(t, dir, name, location, type, now, this.inodes);
  }

  /** Removes the DIR_ITEM and DIR_INDEX of `name` in `dir`. */
  removeDirEntry(
    t: Transaction,
    dir: InodeId,
    name: Uint8Array,
    index: bigint,
    now: Timespec,
  ): void {
    removeDirEntry(t, dir, name, index, now, this.inodes);
  }

  private findIndex(t: Transaction, dir: InodeId, name: Uint8Array, ino: bigint): bigint {
    return findInodeRef(t, dir, name, ino);
  }

  private addInodeRef(
    t: Transaction,
    root: bigint,
    ino: bigint,
    parent: bigint,
    name: Uint8Array,
    index: bigint,
  ): void {
    const extended = (this.engine.sb.incompatFlags & FEATURE_INCOMPAT_EXTENDED_IREF) !== 0n;
    addInodeRef(t, { root, ino }, parent, name, index, maxItemSize(this.engine.nodesize), extended);
  }

  private removeInodeRef(
    t: Transaction,
    root: bigint,
    ino: bigint,
    parent: bigint,
    name: Uint8Array,
  ): void {
    removeInodeRef(t, { root, ino }, parent, name);
  }

  // ------------------------------------------------------------------ create / link / unlink

  /** Creates a file, directory or symlink `name` in `dir`; returns its inode id. */
  create(
    dir: InodeId,
    name: string,
    kind: "file" | "dir" | "symlink",
    opts: CreateOptions & { target?: string } = {},
  ): InodeId {
    const n = nameBytes(name);
    return this.mutate((t) => {
      if (this.reader().lookup(dir, n)) {
        throw new NcwError("conflict", `${name} already exists`, { code: "FS_EXISTS" });
      }
      const now = timespecFromMs(opts.nowMs ?? Date.now());
      const ino = this.allocIno(t, dir.root);
      const type = kind === "dir" ? S_IFDIR : kind === "symlink" ? S_IFLNK : S_IFREG;
      const perm = opts.mode ?? (kind === "dir" ? 0o755 : kind === "symlink" ? 0o777 : 0o644);
      const item = newInodeItem(t.generation, type | (perm & 0o7777), now, {
        uid: opts.uid ?? 0,
        gid: opts.gid ?? 0,
      });
      const id = { root: dir.root, ino };
      if (kind === "symlink") {
        const target = te.encode(opts.target ?? "");
        if (target.length === 0 || target.length > MAX_INLINE) {
          throw new NcwError("usage", `a symlink target must be 1-${MAX_INLINE} bytes`, {
            code: "BTRFS_BAD_SYMLINK",
          });
        }
        item.size = BigInt(target.length);
        item.nbytes = BigInt(target.length);
        t.insertItem(id.root, inodeKey(ino), encodeInodeItem(item));
        t.insertItem(
          id.root,
          { objectid: ino, type: EXTENT_DATA_KEY, offset: 0n },
          encodeFileExtentItem(inlineExtent(t.generation, target)),
        );
      } else {
        t.insertItem(id.root, inodeKey(ino), encodeInodeItem(item));
      }
      const index = this.addDirEntry(t, dir, n, inodeKey(ino), fileTypeOfMode(item.mode), now);
      this.addInodeRef(t, dir.root, ino, dir.ino, n, index);
      return id;
    });
  }

  /** Adds another name (hard link) for a file in `dir` (same subvolume). */
  link(target: InodeId, dir: InodeId, name: string, nowMs = Date.now()): void {
    const n = nameBytes(name);
    if (target.root !== dir.root) {
      throw new NcwError("conflict", "a hard link cannot cross subvolumes", {
        code: "BTRFS_CROSS_SUBVOL",
      });
    }
    this.mutate((t) => {
      const v = this.getInode(t, target);
      if ((v.mode & S_IFMT) === S_IFDIR) {
        throw new NcwError("conflict", "directories cannot be hard-linked", { code: "FS_IS_DIR" });
      }
      if (this.reader().lookup(dir, n))
        throw new NcwError("conflict", `${name} already exists`, { code: "FS_EXISTS" });
      const now = timespecFromMs(nowMs);
      const index = this.addDirEntry(t, dir, n, inodeKey(target.ino), fileTypeOfMode(v.mode), now);
      this.addInodeRef(t, dir.root, target.ino, dir.ino, n, index);
      const v2 = this.getInode(t, target);
      v2.nlink += 1;
      this.touch(t, v2, now, "c");
      this.putInode(t, target, v2);
    });
  }

  /**
   * Removes the entry `name` from `dir`. A directory must be empty. The inode goes (with its data)
   * when its last name goes. Subvolume entries are refused here (delete the subvolume instead).
   */
  unlink(dir: InodeId, name: string, nowMs = Date.now()): void {
    const n = nameBytes(name);
    this.mutate((t) => {
      const e = this.reader().lookup(dir, n);
      if (!e) throw new NcwError("not-found", `${name} does not exist`, { code: "FS_NOT_FOUND" });
      if (e.subvolume) {
        throw new NcwError(
          "conflict",
          `${name} is a subvolume; delete it with the subvolume commands`,
          {
            code: "BTRFS_IS_SUBVOL",
          },
        );
      }
      const id = e.target;
      const v = this.getInode(t, id);
      const isDir = (v.mode & S_IFMT) === S_IFDIR;
      if (isDir) {
        const k = t.firstAtOrAfter(id.root, {
          objectid: id.ino,
          type: DIR_INDEX_KEY,
          offset: 0n,
        })?.key;
        if (k && k.objectid === id.ino && k.type === DIR_INDEX_KEY) {
          throw new NcwError("conflict", `${name} is not empty`, { code: "FS_NOT_EMPTY" });
        }
      }
      const now = timespecFromMs(nowMs);
      const index = this.findIndex(t, dir, n, id.ino);
      this.removeDirEntry(t, dir, n, index, now);
      this.removeInodeRef(t, dir.root, id.ino, dir.ino, n);
      const v2 = this.getInode(t, id);
      v2.nlink -= 1;
      if (v2.nlink <= 0 || isDir) this.destroyInode(t, id);
      else {
        this.touch(t, v2, now, "c");
        this.putInode(t, id, v2);
      }
    });
  }

  /** Deletes an inode with every item it owns, dropping its data extent references. */
  private destroyInode(t: Transaction, id: InodeId): void {
    const items = t.items(
      id.root,
      { objectid: id.ino, type: 0, offset: 0n },
      { objectid: id.ino, type: 255, offset: U64_MAX },
    );
    for (const it of items) {
      if (it.key.type === EXTENT_DATA_KEY) this.dropExtentRef(t, id, it.key.offset, it.data);
    }
    this.inodeCache.delete(`${id.root}:${id.ino}`);
    t.deleteRange(
      id.root,
      { objectid: id.ino, type: 0, offset: 0n },
      { objectid: id.ino, type: 255, offset: U64_MAX },
    );
  }

  private dropExtentRef(t: Transaction, id: InodeId, fileOffset: bigint, data: Uint8Array): void {
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

  // ------------------------------------------------------------------ orphans (atomic replacement)

  /**
   * Creates an empty regular file in subvolume `root` that no folder names (link count 0), recorded
   * with an ORPHAN item as btrfs records a file that is to be deleted: btrfs check accepts it, the
   * kernel deletes it at mount, and so does the next BtrfsFs opened for writing (removeOrphans)
   * unless linkOrphan gave it a name first. Content written into it may be committed at any time
   * without becoming visible. docs/btrfs.md "Replacing a file".
   */
  createOrphan(root: bigint, opts: CreateOptions = {}): InodeId {
    return this.mutate((t) => {
      const now = timespecFromMs(opts.nowMs ?? Date.now());
      const ino = this.allocIno(t, root);
      const item = newInodeItem(t.generation, S_IFREG | ((opts.mode ?? 0o644) & 0o7777), now, {
        uid: opts.uid ?? 0,
        gid: opts.gid ?? 0,
        nlink: 0,
      });
      t.insertItem(root, inodeKey(ino), encodeInodeItem(item));
      t.insertItem(root, orphanKey(ino), new Uint8Array(0));
      return { root, ino };
    });
  }

  /**
   * Gives the orphan file `id` the name `name` in `dir`, in one operation. An existing entry there
   * is replaced only with `replace` and only when it is not a folder: the new file takes its
   * permission bits, owner and xattrs (storage permission maps), then the old name goes (the old
   * inode with it unless it has other hard links).
   */
  linkOrphan(
    id: InodeId,
    dir: InodeId,
    name: string,
    opts: { replace?: boolean; nowMs?: number } = {},
  ): void {
    const n = nameBytes(name);
    if (id.root !== dir.root) {
      throw new NcwError("conflict", "a file cannot be placed in another subvolume", {
        code: "BTRFS_CROSS_SUBVOL",
      });
    }
    this.mutate((t) => {
      if (!t.lookup(id.root, orphanKey(id.ino))) {
        throw new NcwError("failure", `internal: inode ${id.ino} is not an orphan`, {
          code: "BTRFS_INTERNAL",
        });
      }
      const old = this.reader().lookup(dir, n);
      if (old) {
        if (!opts.replace)
          throw new NcwError("conflict", `${name} already exists`, { code: "FS_EXISTS" });
        if (old.subvolume || (this.getInode(t, old.target).mode & S_IFMT) === S_IFDIR) {
          throw new NcwError("conflict", `${name} is a folder and is never replaced`, {
            code: "FS_IS_DIR",
          });
        }
        this.copyAttributes(t, old.target, id);
        this.unlink(dir, name, opts.nowMs);
      }
      const now = timespecFromMs(opts.nowMs ?? Date.now());
      const v = this.getInode(t, id);
      const index = this.addDirEntry(t, dir, n, inodeKey(id.ino), fileTypeOfMode(v.mode), now);
      this.addInodeRef(t, dir.root, id.ino, dir.ino, n, index);
      const v2 = this.getInode(t, id);
      v2.nlink = 1;
      this.touch(t, v2, now, "c");
      this.putInode(t, id, v2);
      t.deleteItem(id.root, orphanKey(id.ino));
    });
  }

  /** Permission bits, owner and xattrs of regular file `from` onto `to` (a replacement of it). */
  private copyAttributes(t: Transaction, from: InodeId, to: InodeId): void {
    const src = this.getInode(t, from);
    if ((src.mode & S_IFMT) !== S_IFREG) return;
    const v = this.getInode(t, to);
    v.mode = (v.mode & S_IFMT) | (src.mode & 0o7777);
    v.uid = src.uid;
    v.gid = src.gid;
    this.putInode(t, to, v);
    const xattrs = t.items(
      from.root,
      { objectid: from.ino, type: XATTR_ITEM_KEY, offset: 0n },
      { objectid: from.ino, type: XATTR_ITEM_KEY, offset: U64_MAX },
    );
    for (const it of xattrs) t.putItem(to.root, { ...it.key, objectid: to.ino }, it.data);
  }

  /**
   * Deletes the files a killed writer left without a name: for each ORPHAN item of a writable
   * subvolume whose inode has no link, the inode with its data, then the item (an orphan item of a
   * linked inode is the kernel's and is left to it). Commits when it removed any. Returns how many.
   */
  removeOrphans(): number {
    const roots = [
      FS_TREE_OBJECTID,
      ...engineListSubvolumes(this.trees)
        .filter((s) => !s.readOnly)
        .map((s) => s.id),
    ];
    let removed = 0;
    for (const root of roots) {
      const found = [...this.trees.items(root, orphanKey(0n), orphanKey(U64_MAX))].map(
        (it) => it.key.offset,
      );
      if (found.length === 0) continue;
      this.mutate((t) => {
        for (const ino of found) {
          const b = t.lookup(root, inodeKey(ino));
          if (b && decodeInodeItem(b).nlink > 0) continue;
          if (b) this.destroyInode(t, { root, ino });
          t.deleteItem(root, orphanKey(ino));
          removed++;
        }
      });
    }
    if (removed > 0) this.commit();
    return removed;
  }

  /**
   * Moves entry `name` of `fromDir` to `toName` in `toDir` (same subvolume). An existing
   * destination is replaced only when `replace` is set and it is not a directory.
   */
  rename(
    fromDir: InodeId,
    name: string,
    toDir: InodeId,
    toName: string,
    opts: { replace?: boolean; nowMs?: number } = {},
  ): void {
    const n = nameBytes(name);
    const tn = nameBytes(toName);
    if (fromDir.root !== toDir.root) {
      throw new NcwError("conflict", "cannot move an item to another subvolume", {
        code: "BTRFS_CROSS_SUBVOL",
      });
    }
    if (fromDir.ino === toDir.ino && sameBytes(n, tn)) return;
    this.mutate((t) => {
      const r = this.reader();
      const e = r.lookup(fromDir, n);
      if (!e) throw new NcwError("not-found", `${name} does not exist`, { code: "FS_NOT_FOUND" });
      if (e.subvolume)
        throw new NcwError("conflict", `${name} is a subvolume and cannot be moved`, {
          code: "BTRFS_IS_SUBVOL",
        });
      const dest = r.lookup(toDir, tn);
      if (dest) {
        if (!opts.replace)
          throw new NcwError("conflict", `${toName} already exists`, { code: "FS_EXISTS" });
        if (dest.subvolume || (this.getInode(t, dest.target).mode & S_IFMT) === S_IFDIR) {
          throw new NcwError("conflict", `${toName} is a folder and is never replaced`, {
            code: "FS_IS_DIR",
          });
        }
        this.unlink(toDir, toName, opts.nowMs);
      }
      const now = timespecFromMs(opts.nowMs ?? Date.now());
      const id = e.target;
      const v = this.getInode(t, id);
      const index = this.findIndex(t, fromDir, n, id.ino);
      this.removeDirEntry(t, fromDir, n, index, now);
      this.removeInodeRef(t, id.root, id.ino, fromDir.ino, n);
      const newIndex = this.addDirEntry(
        t,
        toDir,
        tn,
        inodeKey(id.ino),
        fileTypeOfMode(v.mode),
        now,
      );
      this.addInodeRef(t, id.root, id.ino, toDir.ino, tn, newIndex);
      const v2 = this.getInode(t, id);
      this.touch(t, v2, now, "c");
      this.putInode(t, id, v2);
    });
  }

  // ------------------------------------------------------------------ attributes

  setTimes(id: InodeId, times: { atimeMs?: number; mtimeMs?: number }): void {
    this.mutate((t) => {
      const v = this.getInode(t, id);
      if (times.atimeMs !== undefined) v.atime = timespecFromMs(times.atimeMs);
      if (times.mtimeMs !== undefined) v.mtime = timespecFromMs(times.mtimeMs);
      v.ctime = timespecFromMs(Date.now());
      v.transid = t.generation;
      this.putInode(t, id, v);
    });
  }

  chmod(id: InodeId, mode: number): void {
    this.mutate((t) => {
      const v = this.getInode(t, id);
      v.mode = (v.mode & S_IFMT) | (mode & 0o7777);
      this.touch(t, v, timespecFromMs(Date.now()), "c");
      this.putInode(t, id, v);
    });
  }

  setXattr(id: InodeId, name: string, value: Uint8Array): void {
    const n = te.encode(name);
    if (n.length === 0 || n.length > 255) {
      throw new NcwError("usage", `xattr name ${JSON.stringify(name)} must be 1-255 bytes`, {
        code: "BTRFS_BAD_XATTR",
      });
    }
    this.mutate((t) => {
      const key = { objectid: id.ino, type: XATTR_ITEM_KEY, offset: BigInt(btrfsNameHash(n)) };
      const cur = t.lookup(id.root, key);
      const others = cur ? decodeDirItems(cur).filter((d) => !sameBytes(d.name, n)) : [];
      const entry: DirItem = {
        location: { objectid: 0n, type: 0, offset: 0n },
        transid: t.generation,
        type: FT_XATTR,
        name: n,
        data: value,
      };
      const enc = encodeDirItems([...others, entry]);
      if (enc.length > maxItemSize(this.engine.nodesize)) {
        throw new NcwError("usage", `xattr ${name} is too large (${value.length} bytes)`, {
          code: "BTRFS_XATTR_TOO_BIG",
        });
      }
      t.putItem(id.root, key, enc);
      const v = this.getInode(t, id);
      this.touch(t, v, timespecFromMs(Date.now()), "c");
      this.putInode(t, id, v);
    });
  }

  removeXattr(id: InodeId, name: string): boolean {
    const n = te.encode(name);
    return this.mutate((t) => {
      const key = { objectid: id.ino, type: XATTR_ITEM_KEY, offset: BigInt(btrfsNameHash(n)) };
      const cur = t.lookup(id.root, key);
      if (!cur) return false;
      const all = decodeDirItems(cur);
      const rest = all.filter((d) => !sameBytes(d.name, n));
      if (rest.length === all.length) return false;
      if (rest.length > 0) t.updateItem(id.root, key, encodeDirItems(rest));
      else t.deleteItem(id.root, key);
      return true;
    });
  }

  // ------------------------------------------------------------------ data

  /** Replaces a file's whole content. */
  async writeFile(id: InodeId, data: Uint8Array, nowMs = Date.now()): Promise<void> {
    if (data.length >= COMMIT_BEFORE_LARGE_WRITE && this.depth === 0) this.commit();
    await this.mutateAsync(async (t) => {
      await this.truncateIn(t, id, 0n);
      await this.writeIn(t, id, 0n, data);
      const v = this.getInode(t, id);
      this.touch(t, v, timespecFromMs(nowMs), "mc");
      this.putInode(t, id, v);
    });
  }

  /**
   * Creates file `name` in `dir` holding `data`, as one operation: a commit never holds the name
   * without the content (writeFile on a new file of 1 MiB or more would commit the empty file first).
   */
  async createFile(
    dir: InodeId,
    name: string,
    data: Uint8Array,
    opts: CreateOptions = {},
  ): Promise<InodeId> {
    if (data.length >= COMMIT_BEFORE_LARGE_WRITE && this.depth === 0) this.commit();
    return this.mutateAsync(async () => {
      const id = this.create(dir, name, "file", opts);
      await this.writeFile(id, data, opts.nowMs);
      return id;
    });
  }

  /** Writes `data` at `offset` (extending the file as needed). */
  async write(id: InodeId, offset: bigint, data: Uint8Array, nowMs = Date.now()): Promise<void> {
    if (data.length >= COMMIT_BEFORE_LARGE_WRITE && this.depth === 0) this.commit();
    await this.mutateAsync(async (t) => {
      await this.writeIn(t, id, offset, data);
      const v = this.getInode(t, id);
      this.touch(t, v, timespecFromMs(nowMs), "mc");
      this.putInode(t, id, v);
    });
  }

  /** Sets a file's size: shrinking drops the data beyond, growing adds a hole. */
  async truncate(id: InodeId, size: bigint, nowMs = Date.now()): Promise<void> {
    await this.mutateAsync(async (t) => {
      const v0 = this.getInode(t, id);
      if (size > v0.size) await this.growIn(t, id, size);
      else await this.truncateIn(t, id, size);
      const v = this.getInode(t, id);
      this.touch(t, v, timespecFromMs(nowMs), "mc");
      this.putInode(t, id, v);
    });
  }

  /** Deallocates [offset, offset+len): reads as zeros afterwards, size unchanged. */
  async punch(id: InodeId, offset: bigint, len: bigint, nowMs = Date.now()): Promise<void> {
    await this.mutateAsync(async (t) => {
      const v0 = this.getInode(t, id);
      const end = minBig(offset + len, v0.size);
      if (end <= offset) return;
      if (this.inlineOf(t, id)) {
        await this.writeIn(t, id, offset, new Uint8Array(Number(end - offset)));
      } else {
        const ss = BigInt(this.sectorsize);
        const a = alignUp(offset, ss);
        const b = alignDown(end, ss);
        if (a < b) {
          const removed = this.dropRange(t, id, a, b);
          const v = this.getInode(t, id);
          v.nbytes -= removed;
          this.putInode(t, id, v);
        }
        if (offset < a)
          await this.writeIn(t, id, offset, new Uint8Array(Number(minBig(a, end) - offset)));
        if (b < end && b >= a) await this.writeIn(t, id, b, new Uint8Array(Number(end - b)));
      }
      const v = this.getInode(t, id);
      this.touch(t, v, timespecFromMs(nowMs), "mc");
      this.putInode(t, id, v);
    });
  }

  /** The inline extent of a file, if its data is stored inline. */
  private inlineOf(t: TreeReader, id: InodeId): (FileExtentItem & { type: 0 }) | undefined {
    const b = t.lookup(id.root, { objectid: id.ino, type: EXTENT_DATA_KEY, offset: 0n });
    if (!b) return undefined;
    const fe = decodeFileExtentItem(b);
    return fe.type === FILE_EXTENT_INLINE ? fe : undefined;
  }

  /** Reads the current bytes [0, size) of an inline file. */
  private async inlineBytes(t: Transaction, id: InodeId, size: bigint): Promise<Uint8Array> {
    return new FsReader(t, t, this.sectorsize).read(id, 0n, Number(size));
  }

  private async writeIn(
    t: Transaction,
    id: InodeId,
    offset: bigint,
    data: Uint8Array,
  ): Promise<void> {
    const v = this.getInode(t, id);
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
      const v2 = this.getInode(t, id);
      v2.size = newSize;
      v2.nbytes = newSize;
      this.putInode(t, id, v2);
      return;
    }
    if (inline) {
      // Convert the inline extent into a regular one first.
      const old = await this.inlineBytes(t, id, v.size);
      t.deleteItem(id.root, { objectid: id.ino, type: EXTENT_DATA_KEY, offset: 0n });
      const v1 = this.getInode(t, id);
      v1.nbytes = 0n;
      this.putInode(t, id, v1);
      if (old.length > 0) await this.writeAligned(t, id, 0n, old);
    }
    await this.writeAligned(t, id, offset, data);
    const v3 = this.getInode(t, id);
    if (newSize > v3.size) v3.size = newSize;
    this.putInode(t, id, v3);
  }

  /** Writes into regular extents: the range widened to whole sectors with the existing bytes around it. */
  private async writeAligned(
    t: Transaction,
    id: InodeId,
    offset: bigint,
    data: Uint8Array,
  ): Promise<void> {
    const ss = BigInt(this.sectorsize);
    const v = this.getInode(t, id);
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
    const v2 = this.getInode(t, id);
    v2.nbytes += added - removed;
    this.putInode(t, id, v2);
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
    const v = this.getInode(t, id);
    const sums = (v.flags & INODE_NODATASUM) === 0n;
    const compress =
      this.compression === "none"
        ? COMPRESS_NONE
        : this.compression === "zlib"
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

  private async truncateIn(t: Transaction, id: InodeId, size: bigint): Promise<void> {
    const v = this.getInode(t, id);
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
      const v2 = this.getInode(t, id);
      v2.size = size;
      v2.nbytes = size;
      this.putInode(t, id, v2);
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
    const v2 = this.getInode(t, id);
    v2.nbytes -= removed;
    v2.size = size;
    this.putInode(t, id, v2);
  }

  private async growIn(t: Transaction, id: InodeId, size: bigint): Promise<void> {
    const v = this.getInode(t, id);
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
        const v2 = this.getInode(t, id);
        v2.size = size;
        v2.nbytes = size;
        this.putInode(t, id, v2);
        return;
      }
      t.deleteItem(id.root, { objectid: id.ino, type: EXTENT_DATA_KEY, offset: 0n });
      const v1 = this.getInode(t, id);
      v1.nbytes = 0n;
      this.putInode(t, id, v1);
      if (old.length > 0) await this.writeAligned(t, id, 0n, old);
    }
    const v2 = this.getInode(t, id);
    v2.size = size;
    this.putInode(t, id, v2);
  }
}

function inlineExtent(generation: bigint, data: Uint8Array): FileExtentItem {
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

// ------------------------------------------------------------------ subvolumes (engine: subvol.ts)

export type { SubvolumeInfo };

/** Creates an empty subvolume `name` in directory `dir`; returns its id. */
export function createSubvolume(fs: BtrfsFs, dir: InodeId, name: string): bigint {
  nameBytes(name);
  if (fs.reader().lookup(dir, nameBytes(name))) {
    throw new NcwError("conflict", `${name} already exists`, { code: "FS_EXISTS" });
  }
  return fs.run((t) => engineCreateSubvolume(t, dir.root, dir.ino, name, fs.inodes));
}

/** Snapshots subvolume `src` as `name` in directory `dir` (cost proportional to the root node). */
export function snapshot(
  fs: BtrfsFs,
  src: bigint,
  dir: InodeId,
  name: string,
  readOnly = false,
): bigint {
  if (fs.reader().lookup(dir, nameBytes(name))) {
    throw new NcwError("conflict", `${name} already exists`, { code: "FS_EXISTS" });
  }
  return fs.run((t) =>
    engineSnapshot(t, src, dir.root, dir.ino, name, { readOnly, inodes: fs.inodes }),
  );
}

export function deleteSubvolume(fs: BtrfsFs, dir: InodeId, name: string): void {
  const e = fs.reader().lookup(dir, nameBytes(name));
  if (!e?.subvolume)
    throw new NcwError("not-found", `${name} is not a subvolume`, { code: "BTRFS_NO_SUBVOL" });
  fs.run((t) => engineDeleteSubvolume(t, dir.root, dir.ino, name, fs.inodes));
}

/**
 * Deletes a subvolume together with every subvolume nested in it, innermost first (`rm -r`,
 * `ncw fs subvolume delete`). Each one is dropped whole: no file inside is unlinked one by one, and
 * blocks still shared with a snapshot only lose a reference.
 */
export function deleteSubvolumeTree(fs: BtrfsFs, dir: InodeId, name: string): void {
  const e = fs.reader().lookup(dir, nameBytes(name));
  if (!e?.subvolume)
    throw new NcwError("not-found", `${name} is not a subvolume`, { code: "BTRFS_NO_SUBVOL" });
  const id = e.target.root;
  const nested = [
    ...fs.trees.items(
      ROOT_TREE_OBJECTID,
      { objectid: id, type: ROOT_REF_KEY, offset: 0n },
      { objectid: id, type: ROOT_REF_KEY, offset: U64_MAX },
    ),
  ].map((it) => decodeRootRef(it.data));
  for (const ref of nested) {
    deleteSubvolumeTree(fs, { root: id, ino: ref.dirid }, new TextDecoder().decode(ref.name));
  }
  deleteSubvolume(fs, dir, name);
}

export function listSubvolumes(fs: BtrfsFs): SubvolumeInfo[] {
  return engineListSubvolumes(fs.trees);
}

function cloneInode(v: InodeItem): InodeItem {
  return {
    ...v,
    atime: { ...v.atime },
    ctime: { ...v.ctime },
    mtime: { ...v.mtime },
    otime: { ...v.otime },
  };
}

/** The smaller of two bigints (Math.min does not take them). */
function minBig(a: bigint, b: bigint): bigint {
  return a < b ? a : b;
}
