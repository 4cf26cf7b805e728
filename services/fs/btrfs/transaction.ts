// Transactions over a Btrfs image: the engine opened on a device, and the unit of change
// (copy-on-write of nodes, delayed extent references, commit writing all superblock copies last).

import type { DataAllocator, SpaceInfo } from "./alloc/index.js";
import type { TreeReader, TreeWriter } from "./tree/index.js";

/** What fs.ts and subvol.ts use to change an image. Only one transaction is open at a time. */
export interface Transaction extends TreeWriter, DataAllocator {
  /** This transaction's generation (last committed generation + 1). */
  readonly generation: bigint;
  /** Create an empty tree (one empty leaf) with a ROOT_ITEM in the root tree. */
  createTree(objectid: bigint): void;
  /** A free objectid for a new subvolume/tree (>= 256, above every existing ROOT_ITEM). */
  nextTreeId(): bigint;
  /**
   * Write everything durably: CoW'd nodes, root items, extent/free-space/block-group accounting,
   * flush, then every superblock copy (generation+1), flush. The transaction is finished after.
   */
  commit(): void;
  /** Forget every change of this transaction (nothing on disk that the last commit reaches changed). */
  abort(): void;
}

/** An opened image. */
export interface Engine {
  readonly nodesize: number;
  readonly sectorsize: number;
  /** The last committed generation. */
  readonly generation: bigint;
  /** Read access to the last committed state. */
  readonly committed: TreeReader;
  /** Start a transaction (throws BTRFS_TXN_OPEN if one is already open). */
  begin(): Transaction;
  space(): SpaceInfo;
  close(): void;
}
