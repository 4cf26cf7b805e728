// Temporary FEIDs (specs/filesystem.md "Temporary FEID"): a FEID that "only lives in memory, and refers
// an existing filesystem item", to "grant access to a resource to an application without giving actual
// access to the original item itself". One holder (a process) may use it, with the rights it was made
// with; it dies with its item, with its holder, or when revoked. docs/sysfs.md "Temporary FEIDs".

import type { FsPermission } from "../../../commonassembly/abi/permissions.js";

/** The top bit marks a temporary FEID; no item's FEID has it (store.ts feidOf, docs/sysfs.md). */
export const TEMPORARY_FEID_BIT = 1n << 63n;

export const isTemporaryFeid = (feid: bigint): boolean => (feid & TEMPORARY_FEID_BIT) !== 0n;

/** What the holder may do with the item. */
export interface TemporaryRights {
  /** Read it: exists, metadata, contents (a folder: its listing). */
  read?: boolean;
  /** Write its contents (OPEN_FILE for writing, WRITE_FILE). */
  write?: boolean;
}

export interface TemporaryFeid {
  readonly id: bigint;
  /** The item's own FEID (it follows the item through renames and moves). */
  readonly feid: bigint;
  readonly holder: number;
  readonly rights: ReadonlySet<FsPermission>;
}

/** The read rights; never fs.feid.path, which would tell the item's path. */
const READ: readonly FsPermission[] = [
  "fs.items.exists",
  "fs.feid.exists",
  "fs.items.metadata",
  "fs.items.read",
  "fs.dir.read",
  "fs.symlinks.read",
];

export class TemporaryFeids {
  private next = 1n;
  private readonly byId = new Map<bigint, TemporaryFeid>();

  /** A new temporary FEID for `holder` on the item `feid`; never one given before. */
  create(feid: bigint, holder: number, rights: TemporaryRights): bigint {
    const id = TEMPORARY_FEID_BIT | this.next++;
    const granted = new Set<FsPermission>([
      ...(rights.read === true ? READ : []),
      ...(rights.write === true ? (["fs.items.write"] as const) : []),
    ]);
    this.byId.set(id, { id, feid, holder, rights: granted });
    return id;
  }

  /** The temporary FEID `id` as `pid` may use it: undefined for anyone but its holder. */
  get(id: bigint, pid: number): TemporaryFeid | undefined {
    const t = this.byId.get(id);
    return t?.holder === pid ? t : undefined;
  }

  revoke(id: bigint): boolean {
    return this.byId.delete(id);
  }

  /** The item `feid` was removed: its temporary FEIDs die. */
  itemGone(feid: bigint): void {
    for (const [id, t] of this.byId) if (t.feid === feid) this.byId.delete(id);
  }

  /** The holder `pid` ended: its temporary FEIDs die. */
  holderEnded(pid: number): void {
    for (const [id, t] of this.byId) if (t.holder === pid) this.byId.delete(id);
  }

  get size(): number {
    return this.byId.size;
  }
}
