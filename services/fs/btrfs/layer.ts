// The Btrfs image as a NightOS filesystem (services/fs/layer.ts FsLayer): path resolution with
// symlinks, the layer's error codes, FEIDs (subvolume + inode), xattrs and subvolume snapshots.
// Changes collect in one Btrfs transaction; sync() commits it, and it commits by itself every few
// thousand operations. Operations run one at a time (a queue), as the engine allows one transaction.

import { NcwError } from "../../../ncw/errors.js";
import {
  type DirEntry,
  type FsLayer,
  fsErrors,
  MAX_SYMLINK_HOPS,
  type NodeKind,
  type NodeStat,
  type PartsResolution,
  resolveLinkTarget,
  splitPath,
  type WalkSlot,
  walkPath,
} from "../layer.js";
import {
  FT_DIR,
  FT_SYMLINK,
  type InodeItem,
  S_IFDIR,
  S_IFLNK,
  S_IFMT,
  timespecToMs,
} from "./format/items.js";
import {
  BtrfsFs,
  type Compression,
  createSubvolume,
  deleteSubvolumeTree,
  feidOf,
  feidParts,
  nameBytes,
  snapshot,
} from "./fs.js";
import type { DirEntryInfo, InodeId } from "./fsread.js";
import type { MkfsOptions } from "./mkfs.js";

type Slot = WalkSlot<InodeId, DirEntryInfo>;

const enc = new TextEncoder();
const dec = new TextDecoder();
const strict = new TextDecoder("utf-8", { fatal: true });

/** The name of an entry as DirEntry gives it: text, and the bytes when the text cannot spell them. */
function entryName(bytes: Uint8Array): { name: string; raw?: Uint8Array } {
  try {
    return { name: strict.decode(bytes) };
  } catch {
    return { name: dec.decode(bytes), raw: bytes };
  }
}

/** A listed entry with what stat would say of it (null when its inode is missing). */
export interface ListedEntry extends DirEntry {
  stat: NodeStat | null;
}

function kindOf(mode: number): NodeKind {
  const t = mode & S_IFMT;
  return t === S_IFDIR ? "dir" : t === S_IFLNK ? "symlink" : "file";
}

export interface BtrfsLayerOptions {
  readOnly?: boolean;
  /** Serve this subvolume as "/" (default: the top-level FS tree, 5). */
  subvolume?: bigint;
  compression?: Compression;
  /**
   * Capacity of the data cache in bytes (default: datacache.ts defaultDataCacheBytes). 0 for a
   * one-shot copy that reads or writes every byte once: caching them would only cost time.
   */
  dataCacheBytes?: number;
}

/** How many times a read-only layer moves to a newer commit for one operation before giving up. */
const MAX_VIEW_MOVES = 4;

export class BtrfsLayer implements FsLayer {
  readonly backend = "btrfs";
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;
  readonly top: InodeId;
  private fs_: BtrfsFs;
  /**
   * Folders resolved by earlier walks (their own path, no symlink in it, split and joined with "/" →
   * inode), so operations on the entries of a deep folder do not walk every folder of their path
   * again. Kept across commits (a commit changes no folder) and across reads and writes of files;
   * dropped by any operation that can remove, move or replace a folder (rm and rename of one,
   * subvolume changes, `exclusive` without `keepDirs`), and by any error (an abort forgets the folders
   * the open transaction made; see run). Every writer of the tree goes through this layer (the
   * kernel's TreeOwner serves `ncw fs` and sys::fs with the same one), so nothing changes a folder
   * behind it.
   */
  private readonly knownDirs = new Map<string, InodeId>();
  /**
   * The image and its abort count when knownDirs was last known good: an abort from anywhere (a
   * failed operation or commit, BtrfsFs.abort called directly) forgets the folders the open
   * transaction made, and a read-only layer that moved to a newer commit reads another tree.
   */
  private dirsOf: { fs: BtrfsFs; aborts: number } | undefined;
  /** How often this read-only layer moved to a newer commit of the image (see moveToNewerCommit). */
  viewMoves = 0;
  /** The image file, for a read-only layer that moves to the writer's newer commits. */
  private readonly image: string | undefined;

  constructor(fs: BtrfsFs, opts: BtrfsLayerOptions = {}, image?: string) {
    this.fs_ = fs;
    this.image = fs.readOnly ? image : undefined;
    this.top = opts.subvolume === undefined ? fs.top() : { root: opts.subvolume, ino: 256n };
    if (opts.compression) fs.compression = opts.compression;
    this.dataCacheBytes = opts.dataCacheBytes;
  }

  private readonly dataCacheBytes: number | undefined;

  /** The image underneath (a read-only layer replaces it when it moves to a newer commit). */
  get fs(): BtrfsFs {
    return this.fs_;
  }

  static open(image: string, opts: BtrfsLayerOptions = {}): BtrfsLayer {
    return new BtrfsLayer(
      BtrfsFs.open(image, {
        readOnly: opts.readOnly === true,
        dataCacheBytes: opts.dataCacheBytes,
      }),
      opts,
      image,
    );
  }

  static create(
    image: string,
    size: bigint,
    mkfsOpts: MkfsOptions = {},
    opts: BtrfsLayerOptions = {},
  ): BtrfsLayer {
    return new BtrfsLayer(BtrfsFs.create(image, size, mkfsOpts), opts);
  }

  /**
   * Runs operations one after another. Only those that `keepDirs` (they never remove, move or
   * replace a folder) keep the folders resolved so far (knownDirs); any error drops them.
   */
  private run<T>(fn: () => Promise<T> | T, keepDirs = false): Promise<T> {
    const p = this.queue.then(async () => {
      if (this.closed) throw fsErrors.closed();
      this.checkDirs();
      if (!keepDirs) this.knownDirs.clear();
      for (let moves = 0; ; moves++) {
        try {
          return await fn();
        } catch (e) {
          this.knownDirs.clear();
          if (moves >= MAX_VIEW_MOVES || !this.moveToNewerCommit(e)) throw e;
        } finally {
          if (!keepDirs) this.knownDirs.clear();
          this.checkDirs();
        }
      }
    });
    this.queue = p.catch(() => undefined);
    return p;
  }

  /** Drops knownDirs when the open transaction was aborted, or the image replaced, since it was filled. */
  private checkDirs(): void {
    const fs = this.fs_;
    if (this.dirsOf?.fs === fs && this.dirsOf.aborts === fs.aborts) return;
    this.knownDirs.clear();
    this.dirsOf = { fs, aborts: fs.aborts };
  }

  /**
   * A read-only layer reads the commit that was last when it opened, while the image's writer
   * (another process) goes on committing. Blocks that commit used are freed by the writer's next
   * commit and may be overwritten after the one after it, so a long-lived reader can meet a tree
   * block or data sector that fails its checks. When an operation fails that way ("data" errors)
   * and the device holds a newer commit, the layer reopens the image at that commit and runs the
   * operation again, so it sees one consistent, newer state. A "data" error with no newer commit
   * is real damage and is reported. docs/btrfs.md, "Readers beside a writer".
   */
  private moveToNewerCommit(e: unknown): boolean {
    if (!this.image || !(e instanceof NcwError) || e.kind !== "data") return false;
    const now = this.fs_.engine.diskGeneration();
    if (now === undefined || now <= this.fs_.engine.generation) return false;
    const next = BtrfsFs.open(this.image, {
      readOnly: true,
      dataCacheBytes: this.dataCacheBytes,
    });
    this.fs_.close();
    this.fs_ = next;
    this.viewMoves++;
    return true;
  }

  // ---------------------------------------------------------------- resolution

  private lookup(path: string, followLast: boolean): Slot | null {
    const r = this.fs.reader();
    const parts = splitPath(path);
    const name = parts[parts.length - 1];
    const parentParts = parts.slice(0, -1);
    const parent = parentParts.length === 0 ? undefined : this.knownDirs.get(parentParts.join("/"));
    if (parent !== undefined && name !== undefined) {
      const entry = r.lookup(parent, enc.encode(name));
      if (!followLast || entry?.type !== FT_SYMLINK) return { parent, parentParts, name, entry };
    }
    // A whole walk, remembering each folder it enters under its path (after a symlink the walk
    // starts again from the root, so that path is always the folder's own).
    let at = "";
    let step = "";
    return walkPath<InodeId, DirEntryInfo>(
      path,
      {
        root: this.top,
        entry: (dir, n) => {
          step = n;
          return r.lookup(dir, enc.encode(n));
        },
        symlinkTarget: (e) => {
          if (e.type !== FT_SYMLINK) return undefined;
          at = "";
          return dec.decode(r.readInlineSync(e.target));
        },
        asDir: (e) => {
          if (e.type !== FT_DIR) return undefined;
          at = at === "" ? step : `${at}/${step}`;
          this.knownDirs.set(at, e.target);
          return e.target;
        },
      },
      followLast,
    );
  }

  /** The inode at a path (following symlinks), undefined when missing. */
  private idAt(path: string, followLast: boolean): InodeId | undefined {
    const slot = this.lookup(path, followLast);
    return slot === null ? this.top : slot.entry?.target;
  }

  private inodeOf(id: InodeId): InodeItem {
    const v = this.fs.inode(id);
    if (!v)
      throw new NcwError("data", `inode ${id.ino} of subvolume ${id.root} is missing`, {
        code: "BTRFS_NO_INODE",
      });
    return v;
  }

  /** lstat of an inode as `stat` gives it (a missing inode is damage: BTRFS_NO_INODE). */
  private statOfInode(id: InodeId): NodeStat {
    const v = this.inodeOf(id);
    return {
      kind: kindOf(v.mode),
      size: Number(v.size),
      mtimeMs: timespecToMs(v.mtime),
      feid: feidOf(id),
    };
  }

  /**
   * What sys::fs's `resolve` (services/fs/service/paths.ts) finds by a `stat` of each component, in
   * one operation: from the root (or the deepest folder of the path already known), one entry lookup
   * per component, the symlinks met followed with `resolve`'s rules and limits, and the last item's
   * stat. Same answers as the component-by-component walk; one queue step and one inode read.
   */
  resolveParts(parts: readonly string[], followLast: boolean): Promise<PartsResolution> {
    return this.run((): PartsResolution => {
      const r = this.fs.reader();
      let pending: readonly string[] = parts;
      let at = 0;
      let done: string[] = [];
      let dir = this.top;
      let hops = 0;
      if (pending.length === 0) return { ok: true, parts: [], stat: this.statOfInode(this.top) };
      // The folder of the last component, when an earlier walk knew it by this (own) path.
      if (pending.length > 1) {
        const known = this.knownDirs.get(pending.slice(0, -1).join("/"));
        if (known !== undefined) {
          done = pending.slice(0, -1);
          at = done.length;
          dir = known;
        }
      }
      // Where a walk that cannot go on stopped: the components left, and those met on the way.
      const stopped = (why: "not-found" | "cyclic"): PartsResolution => ({
        ok: false,
        why,
        pending,
        reached: [...done, ...pending.slice(at)],
      });
      for (;;) {
        const name = pending[at]!;
        // The components a path string could not carry (splitPath's refusals, as `stat` meets them).
        if (name.includes("\0") || name.includes("\\") || name === "." || name === "..")
          splitPath(`/${[...done, name].join("/")}`);
        const e = r.lookup(dir, enc.encode(name));
        const last = at === pending.length - 1;
        if (e === undefined) {
          if (last) return { ok: true, parts: [...done, name], stat: null };
          return stopped("not-found");
        }
        if (e.type === FT_SYMLINK && (!last || followLast)) {
          if (++hops > MAX_SYMLINK_HOPS) return stopped("cyclic");
          const target = dec.decode(r.readInlineSync(e.target));
          pending = [...resolveLinkTarget(done, target), ...pending.slice(at + 1)];
          at = 0;
          done = [];
          dir = this.top;
          if (pending.length === 0)
            return { ok: true, parts: [], stat: this.statOfInode(this.top) };
          continue;
        }
        if (last) return { ok: true, parts: [...done, name], stat: this.statOfInode(e.target) };
        if (e.type !== FT_DIR) return stopped("not-found");
        done = [...done, name];
        dir = e.target;
        // `done` has no symlink in it (a link starts the walk again from the root): its own path.
        this.knownDirs.set(done.join("/"), dir);
        at++;
      }
    }, true);
  }

  // ---------------------------------------------------------------- FsLayer

  stat(path: string): Promise<NodeStat | null> {
    return this.run(() => {
      let id: InodeId | undefined;
      try {
        id = this.idAt(path, false);
      } catch (e) {
        if ((e as { code?: string }).code === "FS_NOT_FOUND") return null;
        throw e;
      }
      return id ? this.statOfInode(id) : null;
    }, true);
  }

  readFile(path: string): Promise<Uint8Array> {
    return this.run(async () => {
      const id = this.idAt(path, true);
      if (!id) throw fsErrors.notFound(path);
      const v = this.inodeOf(id);
      if (kindOf(v.mode) === "dir") throw fsErrors.isDir(path);
      return this.fs.reader().read(id, 0n, Number(v.size), v);
    }, true);
  }

  readRange(path: string, offset: number, length: number): Promise<Uint8Array> {
    return this.run(async () => {
      const id = this.idAt(path, true);
      if (!id) throw fsErrors.notFound(path);
      const v = this.inodeOf(id);
      if (kindOf(v.mode) === "dir") throw fsErrors.isDir(path);
      const n = Math.max(0, Math.min(length, Number(v.size) - offset));
      if (n === 0) return new Uint8Array(0);
      return this.fs.reader().read(id, BigInt(offset), n, v);
    }, true);
  }

  appendFile(path: string, data: Uint8Array): Promise<void> {
    return this.run(async () => {
      const id = this.idAt(path, true);
      if (!id) throw fsErrors.notFound(path);
      const v = this.inodeOf(id);
      if (kindOf(v.mode) === "dir") throw fsErrors.isDir(path);
      await this.fs.write(id, v.size, data);
    }, true);
  }

  writeFile(path: string, data: Uint8Array): Promise<void> {
    return this.run(async () => {
      const slot = this.lookup(path, true);
      if (slot === null) throw fsErrors.isDir(path);
      if (slot.entry) {
        if (slot.entry.type === FT_DIR) throw fsErrors.isDir(path);
        await this.fs.writeFile(slot.entry.target, data);
        return;
      }
      await this.fs.createFile(slot.parent, slot.name, data);
    }, true);
  }

  mkdir(path: string, opts: { recursive?: boolean } = {}): Promise<void> {
    return this.run(() => {
      const parts = splitPath(path);
      if (opts.recursive) {
        // One walk down the path, creating each missing folder in the one before it: linear in
        // the path's depth (a symlink on the way is resolved like any path, from the root).
        let dir = this.top;
        let own = true; // no symlink on the way yet: `key` is the folder's own path
        let key = "";
        for (let i = 0; i < parts.length; i++) {
          const name = parts[i]!;
          key = i === 0 ? name : `${key}/${name}`;
          const e = this.fs.reader().lookup(dir, enc.encode(name));
          if (e === undefined) dir = this.fs.create(dir, name, "dir");
          else if (e.type === FT_DIR) dir = e.target;
          else {
            own = false;
            const sub = `/${parts.slice(0, i + 1).join("/")}`;
            const slot = e.type === FT_SYMLINK ? this.lookup(sub, true) : undefined;
            if (slot === null) dir = this.top;
            else if (slot !== undefined && slot.entry === undefined)
              dir = this.fs.create(slot.parent, slot.name, "dir");
            else if (slot?.entry?.type === FT_DIR) dir = slot.entry.target;
            else throw fsErrors.notDir(sub);
          }
          if (own) this.knownDirs.set(key, dir);
        }
        return;
      }
      const slot = this.lookup(path, false);
      if (slot === null || slot.entry !== undefined) throw fsErrors.exists(path);
      const id = this.fs.create(slot.parent, slot.name, "dir");
      this.knownDirs.set([...slot.parentParts, slot.name].join("/"), id);
    }, true);
  }

  readdir(path: string): Promise<DirEntry[]> {
    return this.list(path, false);
  }

  /**
   * Lists a folder with each entry's stat, taken from the entry itself rather than by looking its
   * name up again, so an entry whose name is not valid UTF-8 (DirEntry.raw) is described too.
   */
  list(path: string): Promise<ListedEntry[]>;
  list(path: string, withStat: false): Promise<DirEntry[]>;
  list(path: string, withStat = true): Promise<DirEntry[] | ListedEntry[]> {
    return this.run(() => {
      const id = this.idAt(path, true);
      if (!id) throw fsErrors.notFound(path);
      const v = this.inodeOf(id);
      if (kindOf(v.mode) !== "dir") throw fsErrors.notDir(path);
      return this.fs
        .reader()
        .readdir(id)
        .map((e) => {
          const entry: DirEntry = {
            ...entryName(e.name),
            kind: e.type === FT_DIR ? "dir" : e.type === FT_SYMLINK ? "symlink" : "file",
          };
          return withStat ? { ...entry, stat: this.statOf(e.target) } : entry;
        })
        .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    }, true);
  }

  /**
   * Describes entry `name` (its bytes, as DirEntry.raw gives them) of folder `dir`, without
   * following it; null when missing. For names a path string cannot spell.
   */
  statEntry(dir: string, name: Uint8Array): Promise<NodeStat | null> {
    return this.run(() => {
      const id = this.idAt(dir, true);
      if (!id) return null;
      const e = this.fs.reader().lookup(id, name);
      return e ? this.statOf(e.target) : null;
    });
  }

  private statOf(id: InodeId): NodeStat | null {
    const v = this.fs.inode(id);
    if (!v) return null;
    return {
      kind: kindOf(v.mode),
      size: Number(v.size),
      mtimeMs: timespecToMs(v.mtime),
      feid: feidOf(id),
    };
  }

  rm(path: string, opts: { recursive?: boolean; force?: boolean } = {}): Promise<void> {
    return this.run(() => {
      let slot: Slot | null;
      try {
        slot = this.lookup(path, false);
      } catch (e) {
        if (opts.force && (e as { code?: string }).code === "FS_NOT_FOUND") return;
        throw e;
      }
      if (slot === null) throw fsErrors.isDir(path);
      if (!slot.entry) {
        if (opts.force) return;
        throw fsErrors.notFound(path);
      }
      // Only a folder's removal changes which folders the paths name.
      if (slot.entry.type === FT_DIR) this.knownDirs.clear();
      this.removeEntry(slot.parent, slot.name, slot.entry, path, opts.recursive === true);
    }, true);
  }

  private removeEntry(
    parent: InodeId,
    name: string,
    entry: DirEntryInfo,
    path: string,
    recursive: boolean,
  ): void {
    if (entry.type === FT_DIR) {
      const children = this.fs.reader().readdir(entry.target);
      if (children.length > 0 && !recursive) throw fsErrors.notEmpty(path);
      if (entry.subvolume) {
        // Dropped whole (with subvolumes nested in it), not emptied file by file.
        deleteSubvolumeTree(this.fs, parent, name);
        return;
      }
      for (const c of children) {
        const cn = dec.decode(c.name);
        this.removeEntry(entry.target, cn, c, `${path}/${cn}`, true);
      }
    }
    this.fs.unlink(parent, name);
  }

  rename(from: string, to: string, opts: { replace?: boolean } = {}): Promise<void> {
    return this.run(() => {
      const src = this.lookup(from, false);
      const dst = this.lookup(to, false);
      if (src === null || dst === null) throw fsErrors.isDir(src === null ? from : to);
      if (!src.entry) throw fsErrors.notFound(from);
      if (src.entry.type === FT_DIR) {
        const dstFull = [...dst.parentParts, dst.name];
        const srcFull = [...src.parentParts, src.name];
        if (dstFull.length > srcFull.length && srcFull.every((p, i) => dstFull[i] === p)) {
          throw fsErrors.intoItself(from, to);
        }
      }
      if (dst.entry) {
        if (
          dst.entry.target.root === src.entry.target.root &&
          dst.entry.target.ino === src.entry.target.ino
        )
          return;
        if (dst.entry.type === FT_DIR || src.entry.type === FT_DIR || !opts.replace)
          throw fsErrors.exists(to);
      }
      // Moving a folder moves every folder under it; moving a file or a link moves none (a folder
      // is never replaced: refused above).
      if (src.entry.type === FT_DIR) this.knownDirs.clear();
      this.fs.rename(src.parent, src.name, dst.parent, dst.name, {
        replace: opts.replace === true,
      });
    }, true);
  }

  symlink(target: string, path: string): Promise<void> {
    return this.run(() => {
      const slot = this.lookup(path, false);
      if (slot === null || slot.entry !== undefined) throw fsErrors.exists(path);
      this.fs.create(slot.parent, slot.name, "symlink", { target });
    }, true);
  }

  readlink(path: string): Promise<string> {
    return this.run(() => {
      const slot = this.lookup(path, false);
      if (slot === null) throw fsErrors.notLink(path);
      if (!slot.entry) throw fsErrors.notFound(path);
      if (slot.entry.type !== FT_SYMLINK) throw fsErrors.notLink(path);
      return dec.decode(this.fs.reader().readInlineSync(slot.entry.target));
    }, true);
  }

  /** Commits the open transaction. A commit changes no folder: the folders resolved are kept. */
  sync(): Promise<void> {
    return this.run(() => this.fs.commit(), true);
  }

  close(): Promise<void> {
    return this.run(() => {
      this.closed = true;
      this.fs.close();
    });
  }

  // ---------------------------------------------------------------- Btrfs extras

  /** Extended attribute of an item (storage permission maps live here). */
  getXattr(path: string, name: string): Promise<Uint8Array | undefined> {
    return this.run(() => {
      const id = this.idAt(path, true);
      if (!id) throw fsErrors.notFound(path);
      return this.fs.reader().getXattr(id, name);
    }, true);
  }

  setXattr(path: string, name: string, value: Uint8Array): Promise<void> {
    return this.run(() => {
      const id = this.idAt(path, true);
      if (!id) throw fsErrors.notFound(path);
      this.fs.setXattr(id, name, value);
    }, true);
  }

  /** Creates an empty subvolume at `path` (its parent must exist). */
  createSubvolume(path: string): Promise<bigint> {
    return this.run(() => {
      const slot = this.lookup(path, false);
      if (slot === null || slot.entry) throw fsErrors.exists(path);
      nameBytes(slot.name);
      return createSubvolume(this.fs, slot.parent, slot.name);
    });
  }

  /** Deletes the subvolume at `path`, with the subvolumes nested in it; a plain folder is refused. */
  deleteSubvolume(path: string): Promise<void> {
    return this.run(() => this.deleteSubvolumeAt(path));
  }

  /** Snapshots the subvolume at `src` (its top directory) as `dest`. */
  snapshot(src: string, dest: string, opts: { readOnly?: boolean } = {}): Promise<bigint> {
    return this.run(() => this.snapshotAt(src, dest, opts.readOnly === true));
  }

  /**
   * Deletes the subvolumes `drop`, then snapshots `src` as each of `dests`, as one change: they go in
   * the same commit, and when one of them fails none of them is made (the open transaction is
   * aborted). `ncw test` makes its tests' homes and drops them this way, a window at a time, so a test
   * does not pay a commit of its own for each (docs/dev-loop.md "Isolation").
   */
  subvolumes(drop: readonly string[], src: string, dests: readonly string[]): Promise<void> {
    // One outermost operation (Batch.run): a failure after any change aborts the whole transaction.
    return this.run(() =>
      this.fs.run(() => {
        for (const path of drop) {
          this.deleteSubvolumeAt(path);
          this.knownDirs.clear();
        }
        for (const dest of dests) this.snapshotAt(src, dest, false);
      }),
    );
  }

  private deleteSubvolumeAt(path: string): void {
    const slot = this.lookup(path, false);
    if (slot === null) {
      throw new NcwError("usage", "the top of the tree is not a subvolume that can be deleted", {
        code: "BTRFS_TOP_SUBVOL",
      });
    }
    if (!slot.entry) throw fsErrors.notFound(path);
    if (!slot.entry.subvolume) {
      throw new NcwError("usage", `${path} is not a subvolume`, {
        code: "BTRFS_NOT_SUBVOL",
        hint: "Remove folders with `ncw fs rm -r`.",
      });
    }
    deleteSubvolumeTree(this.fs, slot.parent, slot.name);
  }

  private snapshotAt(src: string, dest: string, readOnly: boolean): bigint {
    const id = src === "/" ? this.top : this.idAt(src, true);
    if (!id) throw fsErrors.notFound(src);
    if (id.ino !== 256n) {
      throw new NcwError(
        "usage",
        `${src} is not a subvolume (only subvolumes can be snapshotted)`,
        {
          code: "BTRFS_NOT_SUBVOL",
          hint: 'Create one with `ncw fs subvolume create`, or snapshot "/".',
        },
      );
    }
    const slot = this.lookup(dest, false);
    if (slot === null || slot.entry) throw fsErrors.exists(dest);
    return snapshot(this.fs, id.root, slot.parent, slot.name, readOnly);
  }

  /** The inode at a path (following symlinks), or undefined. */
  inodeAt(path: string): Promise<InodeId | undefined> {
    return this.run(() => this.idAt(path, true), true);
  }

  /**
   * Replaces (or creates) the file at `path` (a final symlink followed) atomically: `fill` writes the
   * new content into a new file that no folder names yet — an orphan (BtrfsFs.createOrphan), so it
   * may commit along the way — and one operation then puts it in place of the old name. A kill
   * before that leaves the old file (or no file) and an orphan the next writer deletes.
   * docs/btrfs.md "Replacing a file".
   */
  replaceFile<T>(path: string, fill: (fs: BtrfsFs, id: InodeId) => Promise<T>): Promise<T> {
    return this.run(async () => {
      const slot = this.lookup(path, true);
      if (slot === null || slot.entry?.type === FT_DIR) throw fsErrors.isDir(path);
      nameBytes(slot.name);
      const id = this.fs.createOrphan(slot.parent.root);
      const r = await fill(this.fs, id);
      this.fs.linkOrphan(id, slot.parent, slot.name, { replace: true });
      return r;
    });
  }

  /** The file at `path`, created empty when missing (its folder must exist). */
  ensureFile(path: string): Promise<InodeId> {
    return this.run(() => {
      const slot = this.lookup(path, true);
      if (slot === null) throw fsErrors.isDir(path);
      if (slot.entry) {
        if (slot.entry.type === FT_DIR) throw fsErrors.isDir(path);
        return slot.entry.target;
      }
      return this.fs.create(slot.parent, slot.name, "file");
    }, true);
  }

  /**
   * Runs `fn` on the underlying BtrfsFs in the operation queue. `keepDirs`: `fn` removes, moves or
   * replaces no folder and aborts nothing (reads, writes and truncations of a file's bytes), so the
   * folders resolved so far stay known; without it they are dropped.
   */
  exclusive<T>(fn: (fs: BtrfsFs) => Promise<T> | T, keepDirs = false): Promise<T> {
    return this.run(() => fn(this.fs), keepDirs);
  }

  /** The path of the item with this FEID (the spec's FEID_TO_SPLIT), or null when none has it. */
  pathOfFeid(feid: bigint): Promise<string | null> {
    return this.run(() => this.fs.reader().pathOf(feidParts(feid), this.top) ?? null, true);
  }

  /** The FEID of the item at a path (no symlink following at the end). */
  feid(path: string): Promise<bigint> {
    return this.run(() => {
      const id = this.idAt(path, false);
      if (!id) throw fsErrors.notFound(path);
      return feidOf(id);
    }, true);
  }
}
