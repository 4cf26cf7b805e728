// Inode items of an open BtrfsFs (docs/btrfs.md, "Engine"): decoded once per transaction, written
// back through one place, and new inode numbers handed out above the highest one in use.

import { NcwError } from "../../../ncw/errors.js";
import type { InodeAccess } from "./dirents.js";
import { decodeInodeItem, encodeInodeItem, type InodeItem } from "./format/items.js";
import {
  FIRST_FREE_OBJECTID,
  INODE_ITEM_KEY,
  type Key,
  LAST_FREE_OBJECTID,
  U64_MAX,
} from "./format/key.js";
import type { InodeId } from "./fsread.js";
import type { Transaction } from "./transaction.js";
import type { TreeReader } from "./tree/index.js";

export function inodeKey(ino: bigint): Key {
  return { objectid: ino, type: INODE_ITEM_KEY, offset: 0n };
}

/** The inodes of one BtrfsFs: a cache of the open transaction's decoded items and the next free numbers. */
export class InodeTable implements InodeAccess {
  private readonly cache = new Map<string, InodeItem>();
  private readonly nextIno = new Map<bigint, bigint>();

  /** `current` is the open transaction: only its reads are cached. */
  constructor(private readonly current: () => Transaction | undefined) {}

  /** Forgets the cache (the transaction ended, or code outside wrote inodes itself); after an abort also the numbers. */
  reset(aborted = false): void {
    this.cache.clear();
    if (aborted) this.nextIno.clear();
  }

  /**
   * Forgets what is known of subvolume `root`: a new tree was made under that id (a subvolume or
   * snapshot may take the id of one deleted before), whose inode numbers follow its own items, not
   * those the old tree handed out (a stale next number below the new tree's highest inode would be
   * given again: BTRFS_ITEM_EXISTS).
   */
  forgetRoot(root: bigint): void {
    this.nextIno.delete(root);
    for (const k of this.cache.keys()) if (k.startsWith(`${root}:`)) this.cache.delete(k);
  }

  /** Forgets one inode (it is being deleted). */
  forget(id: InodeId): void {
    this.cache.delete(`${id.root}:${id.ino}`);
  }

  get(t: TreeReader, id: InodeId): InodeItem {
    const k = `${id.root}:${id.ino}`;
    const cached = t === this.current();
    const hit = cached ? this.cache.get(k) : undefined;
    if (hit) return cloneInode(hit);
    const b = t.lookup(id.root, inodeKey(id.ino));
    if (!b)
      throw new NcwError("not-found", `inode ${id.ino} of subvolume ${id.root} does not exist`, {
        code: "BTRFS_NO_INODE",
      });
    const v = decodeInodeItem(b);
    if (cached) this.cache.set(k, cloneInode(v));
    return v;
  }

  put(t: Transaction, id: InodeId, v: InodeItem): void {
    const k = `${id.root}:${id.ino}`;
    this.cache.delete(k);
    t.updateItem(id.root, inodeKey(id.ino), encodeInodeItem(v));
    if (t === this.current()) this.cache.set(k, cloneInode(v));
  }

  /** A free inode number in subvolume `root` (above the highest in use, or handed out before). */
  alloc(t: Transaction, root: bigint): bigint {
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
