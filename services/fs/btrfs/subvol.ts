// Btrfs subvolumes and snapshots: create (a new tree with its root directory), snapshot (a copy of
// the source's root node sharing everything below: cost proportional to the root, not the tree),
// list and delete; with the directory entry in the parent, ROOT_REF/ROOT_BACKREF and UUID items.

import { randomBytes } from "node:crypto";
import { NcwError } from "../../../ncw/errors.js";
import {
  addDirEntry,
  findDirEntry,
  type InodeAccess,
  removeDirEntry,
  treeInodes,
} from "./dirents.js";
import { MAX_KEY } from "./engine-keys.js";
import {
  decodeRootItem,
  decodeRootRef,
  decodeUuidItem,
  encodeInodeItem,
  encodeInodeRefs,
  encodeRootRef,
  encodeUuidItem,
  FT_DIR,
  type InodeItem,
  newInodeItem,
  ROOT_SUBVOL_RDONLY,
  type RootItem,
  S_IFDIR,
  timespecFromMs,
  uuidKeyParts,
} from "./format/items.js";
import {
  FIRST_FREE_OBJECTID,
  INODE_ITEM_KEY,
  INODE_REF_KEY,
  type Key,
  LAST_FREE_OBJECTID,
  ROOT_BACKREF_KEY,
  ROOT_ITEM_KEY,
  ROOT_REF_KEY,
  ROOT_TREE_OBJECTID,
  U64_MAX,
  UUID_KEY_SUBVOL,
  UUID_TREE_OBJECTID,
} from "./format/key.js";
import type { Transaction } from "./transaction.js";
import type { TreeReader } from "./tree/index.js";

/** The first inode number of every subvolume: its root directory. */
export const SUBVOL_ROOT_DIR = 256n;

export interface SubvolumeInfo {
  id: bigint;
  /** The subvolume holding its directory entry (0 for the top level). */
  parent: bigint;
  /** Inode of the directory in `parent` holding the entry. */
  dirid: bigint;
  name: string;
  readOnly: boolean;
  uuid: Uint8Array;
  parentUuid: Uint8Array;
  /** Transaction that created it. */
  otransid: bigint;
}

const te = new TextEncoder();
const td = new TextDecoder();

function inodeKey(ino: bigint): Key {
  return { objectid: ino, type: INODE_ITEM_KEY, offset: 0n };
}

function checkName(name: string): Uint8Array {
  const n = te.encode(name);
  if (n.length === 0 || n.length > 255 || name.includes("/") || name === "." || name === "..") {
    throw new NcwError("usage", `"${name}" is not a valid subvolume name`, {
      code: "BTRFS_BAD_NAME",
      hint: "Use 1-255 bytes without '/', and not '.' or '..'.",
    });
  }
  return n;
}

function nowTs(): { sec: bigint; nsec: number } {
  return timespecFromMs(Date.now());
}

export { findDirEntry };

/** The entry `name` -> subvolume `id` in `dir` of `root` (dirents.ts); returns its dir index. */
function addSubvolEntry(
  txn: Transaction,
  root: bigint,
  dir: bigint,
  name: Uint8Array,
  id: bigint,
  inodes: InodeAccess,
): bigint {
  const location = { objectid: id, type: ROOT_ITEM_KEY, offset: U64_MAX };
  return addDirEntry(txn, { root, ino: dir }, name, location, FT_DIR, nowTs(), inodes);
}

function addRootRefs(
  txn: Transaction,
  parent: bigint,
  id: bigint,
  dir: bigint,
  index: bigint,
  name: Uint8Array,
): void {
  const ref = encodeRootRef({ dirid: dir, sequence: index, name });
  txn.insertItem(ROOT_TREE_OBJECTID, { objectid: parent, type: ROOT_REF_KEY, offset: id }, ref);
  txn.insertItem(ROOT_TREE_OBJECTID, { objectid: id, type: ROOT_BACKREF_KEY, offset: parent }, ref);
}

function addUuidItem(txn: Transaction, uuid: Uint8Array, id: bigint): void {
  if (!txn.hasTree(UUID_TREE_OBJECTID)) return;
  const p = uuidKeyParts(uuid);
  const key = { objectid: p.objectid, type: UUID_KEY_SUBVOL, offset: p.offset };
  const cur = txn.lookup(UUID_TREE_OBJECTID, key);
  const ids = cur ? decodeUuidItem(cur) : [];
  if (!ids.includes(id)) ids.push(id);
  txn.putItem(UUID_TREE_OBJECTID, key, encodeUuidItem(ids));
}

function removeUuidItem(txn: Transaction, uuid: Uint8Array, id: bigint): void {
  if (!txn.hasTree(UUID_TREE_OBJECTID)) return;
  const p = uuidKeyParts(uuid);
  const key = { objectid: p.objectid, type: UUID_KEY_SUBVOL, offset: p.offset };
  const cur = txn.lookup(UUID_TREE_OBJECTID, key);
  if (!cur) return;
  const ids = decodeUuidItem(cur).filter((x) => x !== id);
  if (ids.length > 0) txn.updateItem(UUID_TREE_OBJECTID, key, encodeUuidItem(ids));
  else txn.deleteItem(UUID_TREE_OBJECTID, key);
}

function dirInode(generation: bigint, nbytes: bigint): InodeItem {
  return newInodeItem(generation, S_IFDIR | 0o755, nowTs(), { nbytes });
}

/**
 * Create an empty subvolume named `name` in directory `dir` of subvolume `parent`.
 * Returns the new subvolume's id (its tree objectid).
 */
export function createSubvolume(
  txn: Transaction,
  parent: bigint,
  dir: bigint,
  name: string,
  inodes: InodeAccess = treeInodes,
): bigint {
  const n = checkName(name);
  const id = txn.nextTreeId();
  txn.createTree(id);
  const gen = txn.generation;
  txn.insertItem(id, inodeKey(SUBVOL_ROOT_DIR), encodeInodeItem(dirInode(gen, 0n)));
  txn.insertItem(
    id,
    { objectid: SUBVOL_ROOT_DIR, type: INODE_REF_KEY, offset: SUBVOL_ROOT_DIR },
    encodeInodeRefs([{ index: 0n, name: te.encode("..") }]),
  );
  const t = nowTs();
  const item: RootItem = {
    ...txn.rootItem(id),
    inode: { ...dirInode(1n, BigInt(txn.nodesize)), size: 3n },
    rootDirid: SUBVOL_ROOT_DIR,
    refs: 1,
    uuid: new Uint8Array(randomBytes(16)),
    ctransid: gen,
    otransid: gen,
    ctime: t,
    otime: t,
  };
  txn.setRootItem(id, item);
  const index = addSubvolEntry(txn, parent, dir, n, id, inodes);
  addRootRefs(txn, parent, id, dir, index, n);
  addUuidItem(txn, item.uuid, id);
  return id;
}

/**
 * Snapshot subvolume `src` as `name` in directory `dir` of subvolume `parent`. Only the source's
 * root node is copied; every other block is shared until one side changes it.
 */
export function createSnapshot(
  txn: Transaction,
  src: bigint,
  parent: bigint,
  dir: bigint,
  name: string,
  opts: { readOnly?: boolean; inodes?: InodeAccess } = {},
): bigint {
  const n = checkName(name);
  if (!(src === 5n || (src >= FIRST_FREE_OBJECTID && src <= LAST_FREE_OBJECTID))) {
    throw new NcwError("usage", `tree ${src} is not a subvolume`, { code: "BTRFS_NOT_SUBVOL" });
  }
  if (findDirEntry(txn, parent, dir, n)) {
    throw new NcwError("conflict", `"${name}" already exists in that directory`, {
      code: "BTRFS_EXISTS",
    });
  }
  const id = txn.nextTreeId();
  const gen = txn.generation;
  const srcItem = txn.rootItem(src);
  const t = nowTs();
  const item: RootItem = {
    ...srcItem,
    uuid: new Uint8Array(randomBytes(16)),
    parentUuid: srcItem.uuid,
    receivedUuid: new Uint8Array(16),
    ctransid: gen,
    otransid: gen,
    stransid: 0n,
    rtransid: 0n,
    otime: t,
    ctime: t,
    stime: { sec: 0n, nsec: 0 },
    rtime: { sec: 0n, nsec: 0 },
    lastSnapshot: gen,
    refs: 1,
    flags: opts.readOnly ? srcItem.flags | ROOT_SUBVOL_RDONLY : srcItem.flags & ~ROOT_SUBVOL_RDONLY,
    dropProgress: { objectid: 0n, type: 0, offset: 0n },
    dropLevel: 0,
  };
  txn.copyRoot(src, id, item, { objectid: id, type: ROOT_ITEM_KEY, offset: gen });
  const index = addSubvolEntry(txn, parent, dir, n, id, opts.inodes ?? treeInodes);
  addRootRefs(txn, parent, id, dir, index, n);
  addUuidItem(txn, item.uuid, id);
  return id;
}

/** Every subvolume below the top level (FS_TREE), from ROOT_ITEMs and ROOT_BACKREFs. */
export function listSubvolumes(r: TreeReader): SubvolumeInfo[] {
  const out: SubvolumeInfo[] = [];
  const items = r.items(
    ROOT_TREE_OBJECTID,
    { objectid: FIRST_FREE_OBJECTID, type: 0, offset: 0n },
    MAX_KEY(LAST_FREE_OBJECTID),
  );
  const byId = new Map<bigint, Partial<SubvolumeInfo>>();
  for (const it of items) {
    const id = it.key.objectid;
    const s = byId.get(id) ?? { id, parent: 0n, dirid: 0n, name: "" };
    if (it.key.type === ROOT_ITEM_KEY) {
      const ri = decodeRootItem(it.data);
      s.readOnly = (ri.flags & ROOT_SUBVOL_RDONLY) !== 0n;
      s.uuid = ri.uuid;
      s.parentUuid = ri.parentUuid;
      s.otransid = ri.otransid;
    } else if (it.key.type === ROOT_BACKREF_KEY) {
      const rr = decodeRootRef(it.data);
      s.parent = it.key.offset;
      s.dirid = rr.dirid;
      s.name = td.decode(rr.name);
    }
    byId.set(id, s);
  }
  for (const s of byId.values()) {
    if (s.uuid === undefined) continue;
    out.push(s as SubvolumeInfo);
  }
  return out;
}

/**
 * Delete the subvolume `name` in directory `dir` of subvolume `parent`, with every block and data
 * extent only it references. Refuses while it contains other subvolumes.
 */
export function deleteSubvolume(
  txn: Transaction,
  parent: bigint,
  dir: bigint,
  name: string,
  inodes: InodeAccess = treeInodes,
): void {
  const n = checkName(name);
  const entry = findDirEntry(txn, parent, dir, n);
  if (!entry || entry.location.type !== ROOT_ITEM_KEY) {
    throw new NcwError("not-found", `no subvolume "${name}" in that directory`, {
      code: "BTRFS_NO_SUBVOL",
    });
  }
  const id = entry.location.objectid;
  const nested = txn.items(
    ROOT_TREE_OBJECTID,
    { objectid: id, type: ROOT_REF_KEY, offset: 0n },
    MAX_KEY(id, ROOT_REF_KEY),
  );
  if (nested.length > 0) {
    throw new NcwError("conflict", `subvolume "${name}" contains other subvolumes`, {
      code: "BTRFS_SUBVOL_NOT_EMPTY",
      hint: "Delete the subvolumes inside it first.",
    });
  }
  const refKey = { objectid: parent, type: ROOT_REF_KEY, offset: id };
  const refData = txn.lookup(ROOT_TREE_OBJECTID, refKey);
  if (!refData) {
    throw new NcwError("data", `subvolume ${id} has no ROOT_REF from ${parent}`, {
      code: "BTRFS_NO_ROOT_REF",
      hint: "The image is inconsistent; run `btrfs check`.",
    });
  }
  const rr = decodeRootRef(refData);
  const item = txn.rootItem(id);
  removeDirEntry(txn, { root: parent, ino: dir }, n, rr.sequence, nowTs(), inodes);
  txn.deleteItem(ROOT_TREE_OBJECTID, refKey);
  txn.deleteItem(ROOT_TREE_OBJECTID, { objectid: id, type: ROOT_BACKREF_KEY, offset: parent });
  removeUuidItem(txn, item.uuid, id);
  txn.dropTree(id);
}
