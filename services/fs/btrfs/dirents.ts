// Names in directories (Btrfs DIR_ITEM by name hash + DIR_INDEX by sequence, and the inode's back
// references INODE_REF / INODE_EXTREF): adding and removing an entry with the directory inode kept in
// step (isize = name bytes x 2, transid, sequence, mtime/ctime). Used by fs.ts and subvol.ts.

import { NcwError } from "../../../ncw/errors.js";
import { btrfsNameHash } from "./format/crc32c.js";
import {
  type DirItem,
  decodeDirItems,
  decodeInodeExtrefs,
  decodeInodeItem,
  decodeInodeRefs,
  encodeDirItems,
  encodeInodeExtrefs,
  encodeInodeItem,
  encodeInodeRefs,
  extrefHash,
  type InodeItem,
  S_IFDIR,
  S_IFMT,
  type Timespec,
} from "./format/items.js";
import {
  DIR_INDEX_KEY,
  DIR_ITEM_KEY,
  INODE_EXTREF_KEY,
  INODE_ITEM_KEY,
  INODE_REF_KEY,
  type Key,
  U64_MAX,
} from "./format/key.js";
import { type InodeId, sameBytes } from "./fsread.js";
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
  return data ? decodeDirItems(data).find((d) => sameBytes(d.name, name)) : undefined;
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
    if (list.some((d) => sameBytes(d.name, name))) {
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
    const rest = decodeDirItems(existing).filter((d) => !sameBytes(d.name, name));
    if (rest.length > 0) t.updateItem(dir.root, key, encodeDirItems(rest));
    else t.deleteItem(dir.root, key);
  }
  t.deleteItem(dir.root, { objectid: dir.ino, type: DIR_INDEX_KEY, offset: index });
  const dinode = inodes.get(t, dir);
  dinode.size -= BigInt(name.length * 2);
  touchInode(dinode, t.generation, now, "mc");
  inodes.put(t, dir, dinode);
}

// ------------------------------------------------------------------ inode back references

const refKey = (ino: bigint, parent: bigint): Key => ({
  objectid: ino,
  type: INODE_REF_KEY,
  offset: parent,
});
const extrefKey = (ino: bigint, parent: bigint, name: Uint8Array): Key => ({
  objectid: ino,
  type: INODE_EXTREF_KEY,
  offset: extrefHash(parent, name),
});

const noRef = (ino: bigint, parent: bigint) =>
  new NcwError("data", `inode ${ino} has no back reference for its name in directory ${parent}`, {
    code: "BTRFS_NO_INODE_REF",
    hint: "The image is inconsistent; run `btrfs check`.",
  });

/** The dir index of the name `name` of inode `ino` in `dir` (from its INODE_REF or INODE_EXTREF). */
export function findInodeRef(t: TreeReader, dir: InodeId, name: Uint8Array, ino: bigint): bigint {
  const b = t.lookup(dir.root, refKey(ino, dir.ino));
  const ref = b ? decodeInodeRefs(b).find((r) => sameBytes(r.name, name)) : undefined;
  if (ref) return ref.index;
  const x = t.lookup(dir.root, extrefKey(ino, dir.ino, name));
  const ext = x
    ? decodeInodeExtrefs(x).find((r) => r.parent === dir.ino && sameBytes(r.name, name))
    : undefined;
  if (ext) return ext.index;
  throw noRef(ino, dir.ino);
}

/**
 * Records the name `name` (dir index `index`) of inode `id` in directory `parent`. As the kernel
 * (btrfs_insert_inode_ref): appended to the INODE_REF item of (inode, parent); when that item would
 * outgrow a leaf and the image has the EXTENDED_IREF feature, an INODE_EXTREF keyed by the hash of
 * parent and name is used instead (appended to on a hash collision). Without the feature: EMLINK.
 */
export function addInodeRef(
  t: Transaction,
  id: InodeId,
  parent: bigint,
  name: Uint8Array,
  index: bigint,
  maxItem: number,
  extendedIref: boolean,
): void {
  const key = refKey(id.ino, parent);
  const cur = t.lookup(id.root, key);
  const refs = cur ? [...decodeInodeRefs(cur), { index, name }] : [{ index, name }];
  const enc = encodeInodeRefs(refs);
  if (enc.length <= maxItem) {
    if (cur) t.updateItem(id.root, key, enc);
    else t.insertItem(id.root, key, enc);
    return;
  }
  if (!extendedIref) {
    throw new NcwError("failure", "too many hard links to one file in one directory", {
      code: "BTRFS_TOO_MANY_LINKS",
      hint: "Images made with the extended_iref feature (the default) allow more.",
    });
  }
  const xkey = extrefKey(id.ino, parent, name);
  const xcur = t.lookup(id.root, xkey);
  const xrefs = xcur ? decodeInodeExtrefs(xcur) : [];
  xrefs.push({ parent, index, name });
  const xenc = encodeInodeExtrefs(xrefs);
  if (xenc.length > maxItem) {
    throw new NcwError("failure", "too many hard links with colliding name hashes", {
      code: "BTRFS_TOO_MANY_LINKS",
    });
  }
  if (xcur) t.updateItem(id.root, xkey, xenc);
  else t.insertItem(id.root, xkey, xenc);
}

/** Removes the name `name` of inode `id` in `parent` from its INODE_REF or INODE_EXTREF. */
export function removeInodeRef(
  t: Transaction,
  id: InodeId,
  parent: bigint,
  name: Uint8Array,
): void {
  const key = refKey(id.ino, parent);
  const cur = t.lookup(id.root, key);
  const refs = cur ? decodeInodeRefs(cur) : [];
  const rest = refs.filter((r) => !sameBytes(r.name, name));
  if (rest.length < refs.length) {
    if (rest.length > 0) t.updateItem(id.root, key, encodeInodeRefs(rest));
    else t.deleteItem(id.root, key);
    return;
  }
  const xkey = extrefKey(id.ino, parent, name);
  const xcur = t.lookup(id.root, xkey);
  if (!xcur) return;
  const xrefs = decodeInodeExtrefs(xcur);
  const xrest = xrefs.filter((r) => !(r.parent === parent && sameBytes(r.name, name)));
  if (xrest.length > 0) t.updateItem(id.root, xkey, encodeInodeExtrefs(xrest));
  else t.deleteItem(id.root, xkey);
}
