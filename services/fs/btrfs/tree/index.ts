// Public API of the copy-on-write B-tree engine (services/fs/btrfs/tree/): paths, item access and
// range scans over any Btrfs tree, as used by fs.ts and subvol.ts through a Transaction.

import type { Key } from "../format/key.js";
import type { TreeNode } from "../format/node.js";

export type { Key } from "../format/key.js";

/** One step of a path from the root to a leaf: the node and the slot followed (or found) in it. */
export interface PathLevel {
  node: TreeNode;
  slot: number;
}

/**
 * The result of a search. `levels[0]` is the leaf, `levels[levels.length - 1]` the root.
 * When `found` is false, `levels[0].slot` is where the key would be inserted (it may equal the
 * leaf's item count). A path is valid only until the next modification of that tree.
 */
export interface TreePath {
  levels: PathLevel[];
  found: boolean;
}

export interface SearchOptions {
  /**
   * Copy-on-write every node on the path (they become modifiable in this transaction). Splits
   * and merges happen after a change (insertItem/updateItem/deleteItem), not during the search.
   */
  cow?: boolean;
}

/** A leaf item as returned by reads: its own copy of the key and data. */
export interface Item {
  key: Key;
  data: Uint8Array;
}

/** Read access to the trees of one consistent state (a transaction, or the last commit). */
export interface TreeReader {
  /** The data of the item with exactly this key, or undefined. */
  lookup(rootId: bigint, key: Key): Uint8Array | undefined;
  /** Items with from <= key <= to, in key order (at most `limit`). */
  items(rootId: bigint, from: Key, to: Key, limit?: number): Item[];
  /** The first item with key >= `key`, or undefined. */
  firstAtOrAfter(rootId: bigint, key: Key): Item | undefined;
  /** The last item with key <= `key`, or undefined. */
  lastAtOrBefore(rootId: bigint, key: Key): Item | undefined;
  /** Whether a tree with this root id exists (has a ROOT_ITEM, or is the root/chunk tree). */
  hasTree(rootId: bigint): boolean;
}

/** Write access; every modification copies-on-write the nodes it touches (once per transaction). */
export interface TreeWriter extends TreeReader {
  /** Low-level search returning a path (see SearchOptions). */
  search(rootId: bigint, key: Key, opts?: SearchOptions): TreePath;
  /** Insert a new item; throws NcwError code BTRFS_ITEM_EXISTS if the key exists. */
  insertItem(rootId: bigint, key: Key, data: Uint8Array): void;
  /** Replace the data of an existing item (any new size); throws BTRFS_ITEM_MISSING if absent. */
  updateItem(rootId: bigint, key: Key, data: Uint8Array): void;
  /** Insert or replace. */
  putItem(rootId: bigint, key: Key, data: Uint8Array): void;
  /** Delete an item; returns false if it did not exist. */
  deleteItem(rootId: bigint, key: Key): boolean;
  /** Delete every item with from <= key <= to; returns how many were deleted. */
  deleteRange(rootId: bigint, from: Key, to: Key): number;
}
