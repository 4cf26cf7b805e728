// An open Btrfs image for reading and writing (docs/btrfs.md): opening and locking, reads, and every
// change as one operation of the batch (batch.ts) carried out by the namespace (namespace.ts) and
// the extent writer (extents.ts); attributes, xattrs, FEIDs (NightOS filesystem.md) and subvolumes.

import { isNcwError, NcwError } from "../../../ncw/errors.js";
import type { SpaceManager } from "./alloc/allocator.js";
import { Batch } from "./batch.js";
import { type ChunkMap, readLogical, readLogicalInto } from "./chunks.js";
import { type BlockDevice, FileDevice } from "./device.js";
import { type InodeAccess, touchInode } from "./dirents.js";
import { type EngineOptions, openEngine } from "./engine.js";
import { type Compression, ExtentWriter } from "./extents.js";
import { btrfsNameHash } from "./format/crc32c.js";
import {
  type DirItem,
  decodeDirItems,
  decodeRootRef,
  encodeDirItems,
  FT_XATTR,
  type InodeItem,
  S_IFMT,
  timespecFromMs,
} from "./format/items.js";
import {
  FS_TREE_OBJECTID,
  ROOT_REF_KEY,
  ROOT_TREE_OBJECTID,
  U64_MAX,
  XATTR_ITEM_KEY,
} from "./format/key.js";
import { maxItemSize } from "./format/node.js";
import { FEATURE_INCOMPAT_EXTENDED_IREF } from "./format/superblock.js";
import { type DataReader, type DirEntryInfo, FsReader, type InodeId, sameBytes } from "./fsread.js";
import { InodeTable } from "./inodes.js";
import { type ImageLock, lockImage } from "./lock.js";
import { type MkfsOptions, mkfsImageFile } from "./mkfs.js";
import { type CreateOptions, Namespace, nameBytes, named, orphanKey } from "./namespace.js";
import {
  createSubvolume as engineCreateSubvolume,
  deleteSubvolume as engineDeleteSubvolume,
  listSubvolumes as engineListSubvolumes,
  createSnapshot as engineSnapshot,
  type SubvolumeInfo,
} from "./subvol.js";
import type { Engine, Transaction } from "./transaction.js";
import type { TreeReader } from "./tree/index.js";
import { trimFreeSpace } from "./trim.js";

export {
  type Compression,
  MAX_COMPRESSED_CHUNK,
  MAX_EXTENT,
  MAX_INLINE,
  sectorCsums,
} from "./extents.js";
export { type CreateOptions, nameBytes } from "./namespace.js";

/** FEID (8 bytes, NightOS filesystem.md): subvolume id in the top 24 bits, inode number in the low 40. */
export function feidOf(id: InodeId): bigint {
  return (id.root << 40n) | (id.ino & ((1n << 40n) - 1n));
}
export function feidParts(feid: bigint): InodeId {
  return { root: feid >> 40n, ino: feid & ((1n << 40n) - 1n) };
}

const te = new TextEncoder();

/** A Btrfs image opened for reading and writing. Changes collect in one transaction until commit(). */
export class BtrfsFs {
  /** Compression for new data extents. */
  compression: Compression = "none";
  private closed = false;
  private readonly batch: Batch;
  private readonly inodeTable: InodeTable;
  private readonly extents: ExtentWriter;
  private readonly ns: Namespace;

  constructor(
    readonly engine: Engine & {
      dev: BlockDevice;
      chunkMap: ChunkMap;
      spaceMgr: SpaceManager;
      sb: { incompatFlags: bigint };
    },
    readonly readOnly = false,
  ) {
    this.batch = new Batch(
      engine,
      readOnly,
      () => this.checkOpen(),
      (aborted) => {
        if (aborted) this.abortCount++;
        else this.commitCount++;
        this.inodeTable.reset(aborted);
      },
    );
    this.inodeTable = new InodeTable(() => this.batch.current);
    this.extents = new ExtentWriter(this.inodeTable, engine.sectorsize, () => this.compression);
    this.ns = new Namespace(this.inodeTable, this.extents, {
      nodesize: engine.nodesize,
      maxItemSize: maxItemSize(engine.nodesize),
      extendedIref: (engine.sb.incompatFlags & FEATURE_INCOMPAT_EXTENDED_IREF) !== 0n,
    });
  }

  /** Outermost operations after which the open transaction commits by itself. */
  get autoCommitOps(): number {
    return this.batch.autoCommitOps;
  }
  set autoCommitOps(n: number) {
    this.batch.autoCommitOps = n;
  }

  /** Opens an image file; for writing, takes its lock (one writer per image, see lock.ts). */
  static open(path: string, opts: { readOnly?: boolean } & EngineOptions = {}): BtrfsFs {
    const readOnly = opts.readOnly === true;
    const lock = readOnly ? undefined : lockImage(path);
    let dev: FileDevice | undefined;
    try {
      dev = FileDevice.open(path, { readOnly });
      const f = new BtrfsFs(openEngine(dev, { dataCacheBytes: opts.dataCacheBytes }), readOnly);
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
    return this.batch.current ?? this.engine.committed;
  }

  private get data(): DataReader {
    const t = this.batch.current;
    if (t) return t;
    const e = this.engine;
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
    return this.batch.tx();
  }

  /** Makes every change durable: commits the open transaction (no-op when nothing changed). */
  commit(): void {
    this.batch.commit();
  }

  private abortCount = 0;
  private commitCount = 0;

  /**
   * How many transactions ended aborted (a failed operation's or commit's, or abort()) and how many
   * committed: sys::fs re-applies the answered changes an abort forgot (docs/sysfs.md "Commits").
   */
  get aborts(): number {
    return this.abortCount;
  }
  get commits(): number {
    return this.commitCount;
  }

  /** Forgets every change since the last commit. */
  abort(): void {
    this.batch.abort();
  }

  /**
   * Commits, then gives every byte the image does not use back to the host: the sparse file's free
   * ranges are punched out (trim.ts). Returns the bytes punched (0 where the host cannot).
   */
  trim(): bigint {
    this.checkOpen();
    if (this.readOnly) this.tx(); // (refuses: BTRFS_READ_ONLY)
    this.commit();
    return trimFreeSpace(this.engine.dev, this.engine.chunkMap, this.engine.spaceMgr);
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

  /** Runs a change in the open transaction with BtrfsFs' failure rules (for subvolume operations). */
  run<T>(fn: (t: Transaction) => T): T {
    this.inodeTable.reset(); // the subvolume code writes directory inodes itself
    try {
      return this.batch.run(fn);
    } finally {
      this.inodeTable.reset();
    }
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

  /** A new subvolume or snapshot took tree id `root` (maybe a deleted one's): InodeTable.forgetRoot. */
  forgetTree(root: bigint): void {
    this.inodeTable.forgetRoot(root);
  }

  /** Inode reads/writes through this filesystem's per-transaction cache (for dirents.ts, subvol.ts). */
  get inodes(): InodeAccess {
    return this.inodeTable;
  }

  // ------------------------------------------------------------------ namespace (namespace.ts)

  /** Creates a file, directory or symlink `name` in `dir`; returns its inode id. */
  create(
    dir: InodeId,
    name: string,
    kind: "file" | "dir" | "symlink",
    opts: CreateOptions & { target?: string } = {},
  ): InodeId {
    const n = named(name);
    return this.batch.run((t) => this.ns.create(t, dir, n, kind, opts));
  }

  /** Adds another name (hard link) for a file in `dir` (same subvolume). */
  link(target: InodeId, dir: InodeId, name: string, nowMs = Date.now()): void {
    const n = named(name);
    this.batch.run((t) => this.ns.link(t, target, dir, n, nowMs));
  }

  /**
   * Removes the entry `name` from `dir`. A directory must be empty. The inode goes (with its data)
   * when its last name goes. Subvolume entries are refused here (delete the subvolume instead).
   */
  unlink(dir: InodeId, name: string, nowMs = Date.now()): void {
    const n = named(name);
    this.batch.run((t) => this.ns.unlink(t, dir, n, nowMs));
  }

  /** An unnamed regular file in subvolume `root`, to be named by linkOrphan (namespace.ts). */
  createOrphan(root: bigint, opts: CreateOptions = {}): InodeId {
    return this.batch.run((t) => this.ns.createOrphan(t, root, opts));
  }

  /** Names the orphan file `id` `name` in `dir`, replacing a file there with `replace` (namespace.ts). */
  linkOrphan(
    id: InodeId,
    dir: InodeId,
    name: string,
    opts: { replace?: boolean; nowMs?: number } = {},
  ): void {
    const n = named(name);
    const nowMs = opts.nowMs ?? Date.now();
    this.batch.run((t) => this.ns.linkOrphan(t, id, dir, n, { replace: opts.replace, nowMs }));
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
      removed += this.batch.run((t) => this.ns.removeOrphans(t, root, found));
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
    const n = named(name);
    const tn = named(toName);
    if (fromDir.root !== toDir.root) {
      throw new NcwError("conflict", "cannot move an item to another subvolume", {
        code: "BTRFS_CROSS_SUBVOL",
      });
    }
    if (fromDir.ino === toDir.ino && sameBytes(n.bytes, tn.bytes)) return;
    const nowMs = opts.nowMs ?? Date.now();
    this.batch.run((t) =>
      this.ns.rename(t, fromDir, n, toDir, tn, { replace: opts.replace, nowMs }),
    );
  }

  // ------------------------------------------------------------------ attributes

  setTimes(id: InodeId, times: { atimeMs?: number; mtimeMs?: number }): void {
    this.batch.run((t) => {
      const v = this.inodeTable.get(t, id);
      if (times.atimeMs !== undefined) v.atime = timespecFromMs(times.atimeMs);
      if (times.mtimeMs !== undefined) v.mtime = timespecFromMs(times.mtimeMs);
      v.ctime = timespecFromMs(Date.now());
      v.transid = t.generation;
      this.inodeTable.put(t, id, v);
    });
  }

  chmod(id: InodeId, mode: number): void {
    this.batch.run((t) => {
      const v = this.inodeTable.get(t, id);
      v.mode = (v.mode & S_IFMT) | (mode & 0o7777);
      touchInode(v, t.generation, timespecFromMs(Date.now()), "c");
      this.inodeTable.put(t, id, v);
    });
  }

  setXattr(id: InodeId, name: string, value: Uint8Array): void {
    const n = te.encode(name);
    if (n.length === 0 || n.length > 255) {
      throw new NcwError("usage", `xattr name ${JSON.stringify(name)} must be 1-255 bytes`, {
        code: "BTRFS_BAD_XATTR",
      });
    }
    this.batch.run((t) => {
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
      const v = this.inodeTable.get(t, id);
      touchInode(v, t.generation, timespecFromMs(Date.now()), "c");
      this.inodeTable.put(t, id, v);
    });
  }

  removeXattr(id: InodeId, name: string): boolean {
    const n = te.encode(name);
    return this.batch.run((t) => {
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

  // ------------------------------------------------------------------ data (extents.ts)

  /** Sets the times of a change to a file's data. */
  private touchData(t: Transaction, id: InodeId, nowMs: number): void {
    const v = this.inodeTable.get(t, id);
    touchInode(v, t.generation, timespecFromMs(nowMs), "mc");
    this.inodeTable.put(t, id, v);
  }

  /** Replaces a file's whole content. */
  async writeFile(id: InodeId, data: Uint8Array, nowMs = Date.now()): Promise<void> {
    this.batch.commitBeforeWrite(data.length);
    await this.batch.runAsync(async (t) => {
      await this.extents.truncate(t, id, 0n);
      await this.extents.write(t, id, 0n, data);
      this.touchData(t, id, nowMs);
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
    this.batch.commitBeforeWrite(data.length);
    return this.batch.runAsync(async () => {
      const id = this.create(dir, name, "file", opts);
      await this.writeFile(id, data, opts.nowMs);
      return id;
    });
  }

  /**
   * Runs `fn`, whose writes add up to about `bytes`, as one operation: the commit before a large write
   * happens once, before it, instead of before each of its writes (nested operations never commit).
   * A failure inside aborts the open transaction, as any operation's does. For streaming a host file
   * into a new inode in pieces (putHostFile): one commit per group, not per piece.
   */
  async writeGroup<T>(bytes: number, fn: () => Promise<T>): Promise<T> {
    this.batch.commitBeforeWrite(bytes);
    return this.batch.runAsync(() => fn());
  }

  /** Writes `data` at `offset` (extending the file as needed). */
  async write(id: InodeId, offset: bigint, data: Uint8Array, nowMs = Date.now()): Promise<void> {
    this.batch.commitBeforeWrite(data.length);
    await this.batch.runAsync(async (t) => {
      await this.extents.write(t, id, offset, data);
      this.touchData(t, id, nowMs);
    });
  }

  /** Sets a file's size: shrinking drops the data beyond, growing adds a hole. */
  async truncate(id: InodeId, size: bigint, nowMs = Date.now()): Promise<void> {
    await this.batch.runAsync(async (t) => {
      const v0 = this.inodeTable.get(t, id);
      if (size > v0.size) await this.extents.grow(t, id, size);
      else await this.extents.truncate(t, id, size);
      this.touchData(t, id, nowMs);
    });
  }

  /** Deallocates [offset, offset+len): reads as zeros afterwards, size unchanged. */
  async punch(id: InodeId, offset: bigint, len: bigint, nowMs = Date.now()): Promise<void> {
    await this.batch.runAsync(async (t) => {
      const v0 = this.inodeTable.get(t, id);
      if (offset + len <= offset || offset >= v0.size) return;
      await this.extents.punch(t, id, offset, len);
      this.touchData(t, id, nowMs);
    });
  }
}

// ------------------------------------------------------------------ subvolumes (engine: subvol.ts)

export type { SubvolumeInfo };

/** Creates an empty subvolume `name` in directory `dir`; returns its id. */
export function createSubvolume(fs: BtrfsFs, dir: InodeId, name: string): bigint {
  nameBytes(name);
  if (fs.reader().lookup(dir, nameBytes(name))) {
    throw new NcwError("conflict", `${name} already exists`, { code: "FS_EXISTS" });
  }
  return fs.run((t) => {
    const id = engineCreateSubvolume(t, dir.root, dir.ino, name, fs.inodes);
    fs.forgetTree(id);
    return id;
  });
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
  return fs.run((t) => {
    const id = engineSnapshot(t, src, dir.root, dir.ino, name, { readOnly, inodes: fs.inodes });
    // The id may be a deleted subvolume's: its inode numbers are this tree's own from now on.
    fs.forgetTree(id);
    return id;
  });
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
