// Namespace operations of BtrfsFs (NightOS filesystem.md; docs/btrfs.md "Replacing a file"):
// create, hard link, unlink, rename, and the orphan inodes that replace a file atomically. Each runs
// in a transaction it is given; batch.ts decides when that commits.

import { NcwError } from "../../../ncw/errors.js";
import {
  addDirEntry,
  addInodeRef,
  findInodeRef,
  removeDirEntry,
  removeInodeRef,
  touchInode,
} from "./dirents.js";
import { type ExtentWriter, inlineExtent, MAX_INLINE } from "./extents.js";
import {
  decodeInodeItem,
  encodeFileExtentItem,
  encodeInodeItem,
  fileTypeOfMode,
  newInodeItem,
  S_IFDIR,
  S_IFLNK,
  S_IFMT,
  S_IFREG,
  timespecFromMs,
} from "./format/items.js";
import {
  DIR_INDEX_KEY,
  EXTENT_DATA_KEY,
  type Key,
  ORPHAN_ITEM_KEY,
  ORPHAN_OBJECTID,
  U64_MAX,
  XATTR_ITEM_KEY,
} from "./format/key.js";
import { FsReader, type InodeId } from "./fsread.js";
import { type InodeTable, inodeKey } from "./inodes.js";
import type { Transaction } from "./transaction.js";

const te = new TextEncoder();

/** The bytes of a new name (1-255 bytes, no '/' or NUL, not '.' or '..'), or BTRFS_BAD_NAME. */
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

/** The ORPHAN item recording that inode `ino` has no name yet (or any more) and is to be deleted. */
export function orphanKey(ino: bigint): Key {
  return { objectid: ORPHAN_OBJECTID, type: ORPHAN_ITEM_KEY, offset: ino };
}

export interface CreateOptions {
  mode?: number;
  uid?: number;
  gid?: number;
  nowMs?: number;
}

/** Where a name is shown in errors: the caller's string (names come in as strings). */
type Name = { text: string; bytes: Uint8Array };
export const named = (text: string): Name => ({ text, bytes: nameBytes(text) });

export class Namespace {
  constructor(
    private readonly inodes: InodeTable,
    private readonly extents: ExtentWriter,
    private readonly layout: { nodesize: number; maxItemSize: number; extendedIref: boolean },
  ) {}

  private reader(t: Transaction): FsReader {
    return new FsReader(t, t, this.extents.sectorsize);
  }

  private addRef(t: Transaction, dir: InodeId, ino: bigint, name: Uint8Array, index: bigint): void {
    addInodeRef(
      t,
      { root: dir.root, ino },
      dir.ino,
      name,
      index,
      this.layout.maxItemSize,
      this.layout.extendedIref,
    );
  }

  /** Creates a file, directory or symlink `name` in `dir`; returns its inode id. */
  create(
    t: Transaction,
    dir: InodeId,
    name: Name,
    kind: "file" | "dir" | "symlink",
    opts: CreateOptions & { target?: string } = {},
  ): InodeId {
    const n = name.bytes;
    if (this.reader(t).lookup(dir, n)) {
      throw new NcwError("conflict", `${name.text} already exists`, { code: "FS_EXISTS" });
    }
    const now = timespecFromMs(opts.nowMs ?? Date.now());
    const ino = this.inodes.alloc(t, dir.root);
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
    const index = addDirEntry(
      t,
      dir,
      n,
      inodeKey(ino),
      fileTypeOfMode(item.mode),
      now,
      this.inodes,
    );
    this.addRef(t, dir, ino, n, index);
    return id;
  }

  /** Adds another name (hard link) for a file in `dir` (same subvolume). */
  link(t: Transaction, target: InodeId, dir: InodeId, name: Name, nowMs: number): void {
    const n = name.bytes;
    if (target.root !== dir.root) {
      throw new NcwError("conflict", "a hard link cannot cross subvolumes", {
        code: "BTRFS_CROSS_SUBVOL",
      });
    }
    const v = this.inodes.get(t, target);
    if ((v.mode & S_IFMT) === S_IFDIR) {
      throw new NcwError("conflict", "directories cannot be hard-linked", { code: "FS_IS_DIR" });
    }
    if (this.reader(t).lookup(dir, n))
      throw new NcwError("conflict", `${name.text} already exists`, { code: "FS_EXISTS" });
    const now = timespecFromMs(nowMs);
    const index = addDirEntry(
      t,
      dir,
      n,
      inodeKey(target.ino),
      fileTypeOfMode(v.mode),
      now,
      this.inodes,
    );
    this.addRef(t, dir, target.ino, n, index);
    const v2 = this.inodes.get(t, target);
    v2.nlink += 1;
    touchInode(v2, t.generation, now, "c");
    this.inodes.put(t, target, v2);
  }

  /**
   * Removes the entry `name` from `dir`. A directory must be empty. The inode goes (with its data)
   * when its last name goes. Subvolume entries are refused here (delete the subvolume instead).
   */
  unlink(t: Transaction, dir: InodeId, name: Name, nowMs: number): void {
    const n = name.bytes;
    const e = this.reader(t).lookup(dir, n);
    if (!e)
      throw new NcwError("not-found", `${name.text} does not exist`, { code: "FS_NOT_FOUND" });
    if (e.subvolume) {
      throw new NcwError(
        "conflict",
        `${name.text} is a subvolume; delete it with the subvolume commands`,
        { code: "BTRFS_IS_SUBVOL" },
      );
    }
    const id = e.target;
    const v = this.inodes.get(t, id);
    const isDir = (v.mode & S_IFMT) === S_IFDIR;
    if (isDir) {
      const k = t.firstAtOrAfter(id.root, {
        objectid: id.ino,
        type: DIR_INDEX_KEY,
        offset: 0n,
      })?.key;
      if (k && k.objectid === id.ino && k.type === DIR_INDEX_KEY) {
        throw new NcwError("conflict", `${name.text} is not empty`, { code: "FS_NOT_EMPTY" });
      }
    }
    const now = timespecFromMs(nowMs);
    const index = findInodeRef(t, dir, n, id.ino);
    removeDirEntry(t, dir, n, index, now, this.inodes);
    removeInodeRef(t, { root: dir.root, ino: id.ino }, dir.ino, n);
    const v2 = this.inodes.get(t, id);
    v2.nlink -= 1;
    if (v2.nlink <= 0 || isDir) this.destroyInode(t, id);
    else {
      touchInode(v2, t.generation, now, "c");
      this.inodes.put(t, id, v2);
    }
  }

  /** Deletes an inode with every item it owns, dropping its data extent references. */
  destroyInode(t: Transaction, id: InodeId): void {
    const items = t.items(
      id.root,
      { objectid: id.ino, type: 0, offset: 0n },
      { objectid: id.ino, type: 255, offset: U64_MAX },
    );
    for (const it of items) {
      if (it.key.type === EXTENT_DATA_KEY)
        this.extents.dropExtentRef(t, id, it.key.offset, it.data);
    }
    this.inodes.forget(id);
    t.deleteRange(
      id.root,
      { objectid: id.ino, type: 0, offset: 0n },
      { objectid: id.ino, type: 255, offset: U64_MAX },
    );
  }

  /**
   * Creates an empty regular file in subvolume `root` that no folder names (link count 0), recorded
   * with an ORPHAN item as btrfs records a file that is to be deleted: btrfs check accepts it, the
   * kernel deletes it at mount, and so does the next BtrfsFs opened for writing (removeOrphans)
   * unless linkOrphan gave it a name first. Content written into it may be committed at any time
   * without becoming visible. docs/btrfs.md "Replacing a file".
   */
  createOrphan(t: Transaction, root: bigint, opts: CreateOptions = {}): InodeId {
    const now = timespecFromMs(opts.nowMs ?? Date.now());
    const ino = this.inodes.alloc(t, root);
    const item = newInodeItem(t.generation, S_IFREG | ((opts.mode ?? 0o644) & 0o7777), now, {
      uid: opts.uid ?? 0,
      gid: opts.gid ?? 0,
      nlink: 0,
    });
    t.insertItem(root, inodeKey(ino), encodeInodeItem(item));
    t.insertItem(root, orphanKey(ino), new Uint8Array(0));
    return { root, ino };
  }

  /**
   * Gives the orphan file `id` the name `name` in `dir`, in one operation. An existing entry there
   * is replaced only with `replace` and only when it is not a folder: the new file takes its
   * permission bits, owner and xattrs (storage permission maps), then the old name goes (the old
   * inode with it unless it has other hard links).
   */
  linkOrphan(
    t: Transaction,
    id: InodeId,
    dir: InodeId,
    name: Name,
    opts: { replace?: boolean; nowMs: number },
  ): void {
    const n = name.bytes;
    if (id.root !== dir.root) {
      throw new NcwError("conflict", "a file cannot be placed in another subvolume", {
        code: "BTRFS_CROSS_SUBVOL",
      });
    }
    if (!t.lookup(id.root, orphanKey(id.ino))) {
      throw new NcwError("failure", `internal: inode ${id.ino} is not an orphan`, {
        code: "BTRFS_INTERNAL",
      });
    }
    const old = this.reader(t).lookup(dir, n);
    if (old) {
      if (!opts.replace)
        throw new NcwError("conflict", `${name.text} already exists`, { code: "FS_EXISTS" });
      if (old.subvolume || (this.inodes.get(t, old.target).mode & S_IFMT) === S_IFDIR) {
        throw new NcwError("conflict", `${name.text} is a folder and is never replaced`, {
          code: "FS_IS_DIR",
        });
      }
      this.copyAttributes(t, old.target, id);
      this.unlink(t, dir, name, opts.nowMs);
    }
    const now = timespecFromMs(opts.nowMs);
    const v = this.inodes.get(t, id);
    const index = addDirEntry(
      t,
      dir,
      n,
      inodeKey(id.ino),
      fileTypeOfMode(v.mode),
      now,
      this.inodes,
    );
    this.addRef(t, dir, id.ino, n, index);
    const v2 = this.inodes.get(t, id);
    v2.nlink = 1;
    touchInode(v2, t.generation, now, "c");
    this.inodes.put(t, id, v2);
    t.deleteItem(id.root, orphanKey(id.ino));
  }

  /** Permission bits, owner and xattrs of regular file `from` onto `to` (a replacement of it). */
  private copyAttributes(t: Transaction, from: InodeId, to: InodeId): void {
    const src = this.inodes.get(t, from);
    if ((src.mode & S_IFMT) !== S_IFREG) return;
    const v = this.inodes.get(t, to);
    v.mode = (v.mode & S_IFMT) | (src.mode & 0o7777);
    v.uid = src.uid;
    v.gid = src.gid;
    this.inodes.put(t, to, v);
    const xattrs = t.items(
      from.root,
      { objectid: from.ino, type: XATTR_ITEM_KEY, offset: 0n },
      { objectid: from.ino, type: XATTR_ITEM_KEY, offset: U64_MAX },
    );
    for (const it of xattrs) t.putItem(to.root, { ...it.key, objectid: to.ino }, it.data);
  }

  /**
   * Deletes the given orphans of subvolume `root` whose inode has no link, with their data, and
   * their ORPHAN items (an orphan item of a linked inode is the kernel's and is left to it).
   * Returns how many went.
   */
  removeOrphans(t: Transaction, root: bigint, inos: readonly bigint[]): number {
    let removed = 0;
    for (const ino of inos) {
      const b = t.lookup(root, inodeKey(ino));
      if (b && decodeInodeItem(b).nlink > 0) continue;
      if (b) this.destroyInode(t, { root, ino });
      t.deleteItem(root, orphanKey(ino));
      removed++;
    }
    return removed;
  }

  /**
   * Moves entry `name` of `fromDir` to `toName` in `toDir` (same subvolume). An existing
   * destination is replaced only when `replace` is set and it is not a directory.
   */
  rename(
    t: Transaction,
    fromDir: InodeId,
    name: Name,
    toDir: InodeId,
    toName: Name,
    opts: { replace?: boolean; nowMs: number },
  ): void {
    const n = name.bytes;
    const tn = toName.bytes;
    const r = this.reader(t);
    const e = r.lookup(fromDir, n);
    if (!e)
      throw new NcwError("not-found", `${name.text} does not exist`, { code: "FS_NOT_FOUND" });
    if (e.subvolume)
      throw new NcwError("conflict", `${name.text} is a subvolume and cannot be moved`, {
        code: "BTRFS_IS_SUBVOL",
      });
    const dest = r.lookup(toDir, tn);
    if (dest) {
      if (!opts.replace)
        throw new NcwError("conflict", `${toName.text} already exists`, { code: "FS_EXISTS" });
      if (dest.subvolume || (this.inodes.get(t, dest.target).mode & S_IFMT) === S_IFDIR) {
        throw new NcwError("conflict", `${toName.text} is a folder and is never replaced`, {
          code: "FS_IS_DIR",
        });
      }
      this.unlink(t, toDir, toName, opts.nowMs);
    }
    const now = timespecFromMs(opts.nowMs);
    const id = e.target;
    const v = this.inodes.get(t, id);
    const index = findInodeRef(t, fromDir, n, id.ino);
    removeDirEntry(t, fromDir, n, index, now, this.inodes);
    removeInodeRef(t, id, fromDir.ino, n);
    const newIndex = addDirEntry(
      t,
      toDir,
      tn,
      inodeKey(id.ino),
      fileTypeOfMode(v.mode),
      now,
      this.inodes,
    );
    this.addRef(t, toDir, id.ino, tn, newIndex);
    const v2 = this.inodes.get(t, id);
    touchInode(v2, t.generation, now, "c");
    this.inodes.put(t, id, v2);
  }
}
