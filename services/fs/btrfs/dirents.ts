// Directory entries (Btrfs DIR_ITEM by name hash + DIR_INDEX by sequence, spec: filesystem.md on
// Btrfs): adding and removing one entry with the directory inode kept in step (isize = name bytes
// x 2, transid, sequence, mtime/ctime). Shared by files (fs.ts) and subvolume entries (subvol.ts).

import { NcwError } from "../../../ncw/errors.js";
import { btrfsNameHash } from "./format/crc32c.js";
import {
  type DirItem,
  decodeDirItems,
  decodeInodeItem,
  encodeDirItems,
  encodeInodeItem,
  type InodeItem,
  S_IFDIR,
  S_IFMT,
  type Timespec,
} from "./format/items.js";
import { DIR_INDEX_KEY, DIR_ITEM_KEY, INODE_ITEM_KEY, type Key, U64_MAX } from "./format/key.js";
import type { InodeId } from "./fsread.js";
import type { Transaction } from "./transaction.js";
import type { TreeReader } from "./tree/index.js";

/** How inode items are read and written (fs.ts passes its per-transaction cache). */
export interface InodeAccess {
  get(t: Transaction, id: InodeId): InodeItem;
  put(t: Transaction, id: InodeId, v: InodeItem): void;
}

const inodeKey = (ino: bigint): Key => ({ objectid: ino, type: INODE_ITEM_KEY, offset: 0n });

/** Inode items read from and written to the tree directly. */
export const treeInodes: InodeAccess = {
  get(t, id) {
    const b = t.lookup(id.root, inodeKey(id.ino));
    if (!b) {
      throw new NcwError("not-found", `inode ${id.ino} of subvolume ${id.root} does not exist`, {
        code: "BTRFS_NO_INODE",
      });
    }
    return decodeInodeItem(b);
  },
  put(t, id, v) {
    t.updateItem(id.root, inodeKey(id.ino), encodeInodeItem(v));
  },
};

/** A change to an inode in transaction `generation`: ctime always, mtime with "m". */
export function touchInode(
  v: InodeItem,
  generation: bigint,
  now: Timespec,
  what: "m" | "c" | "mc",
): void {
  v.transid = generation;
  v.sequence += 1n;
  if (what.includes("m")) v.mtime = now;
  v.ctime = now;
}

export function sameName(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

const hashKey = (dir: bigint, name: Uint8Array): Key => ({
  objectid: dir,
  type: DIR_ITEM_KEY,
  offset: BigInt(btrfsNameHash(name)),
});

/** The entry `name` in directory `dir` of tree `root`, if any (through its DIR_ITEM). */
export function findDirEntry(
  r: TreeReader,
  root: bigint,
  dir: bigint,
  name: Uint8Array,
): DirItem | undefined {
  const data = r.lookup(root, hashKey(dir, name));
  return data ? decodeDirItems(data).find((d) => sameName(d.name, name)) : undefined;
}

/** The DIR_INDEX the next entry of `dir` gets (2 in an empty directory, as btrfs). */
export function nextDirIndex(t: TreeReader, dir: InodeId): bigint {
  const last = t.lastAtOrBefore(dir.root, {
    objectid: dir.ino,
    type: DIR_INDEX_KEY,
    offset: U64_MAX,
  });
  return last && last.key.objectid === dir.ino && last.key.type === DIR_INDEX_KEY
    ? last.key.offset + 1n
    : 2n;
}

/** Adds the DIR_ITEM and DIR_INDEX of `name` in `dir` pointing at `location`; returns the index. */
export function addDirEntry(
  t: Transaction,
  dir: InodeId,
  name: Uint8Array,
  location: Key,
  type: number,
  now: Timespec,
  inodes: InodeAccess = treeInodes,
): bigint {
  const dinode = inodes.get(t, dir);
  if ((dinode.mode & S_IFMT) !== S_IFDIR) {
    throw new NcwError("conflict", `inode ${dir.ino} is not a directory`, { code: "FS_NOT_DIR" });
  }
  const index = nextDirIndex(t, dir);
  const entry: DirItem = { location, transid: t.generation, type, name, data: new Uint8Array(0) };
  const key = hashKey(dir.ino, name);
  const existing = t.lookup(dir.root, key);
  if (existing) {
    const list = decodeDirItems(existing);
    if (list.some((d) => sameName(d.name, name))) {
      throw new NcwError("conflict", `${new TextDecoder().decode(name)} already exists`, {
        code: "FS_EXISTS",
      });
    }
    t.updateItem(dir.root, key, encodeDirItems([...list, entry]));
  } else {
    t.insertItem(dir.root, key, encodeDirItems([entry]));
  }
  t.insertItem(
    dir.root,
    { objectid: dir.ino, type: DIR_INDEX_KEY, offset: index },
    encodeDirItems([entry]),
  );
  dinode.size += BigInt(name.length * 2);
  touchInode(dinode, t.generation, now, "mc");
  inodes.put(t, dir, dinode);
  return index;
}

/** Removes the DIR_ITEM and DIR_INDEX of `name` in `dir`. */
export function removeDirEntry(
  t: Transaction,
  dir: InodeId,
  name: Uint8Array,
  index: bigint,
  now: Timespec,
  inodes: InodeAccess = treeInodes,
): void {
  const key = hashKey(dir.ino, name);
  const existing = t.lookup(dir.root, key);
  if (existing) {
    const rest = decodeDirItems(existing).filter((d) => !sameName(d.name, name));
    if (rest.length > 0) t.updateItem(dir.root, key, encodeDirItems(rest));
    else t.deleteItem(dir.root, key);
  }
  t.deleteItem(dir.root, { objectid: dir.ino, type: DIR_INDEX_KEY, offset: index });
  const dinode = inodes.get(t, dir);
  dinode.size -= BigInt(name.length * 2);
  touchInode(dinode, t.generation, now, "mc");
  inodes.put(t, dir, dinode);
}
