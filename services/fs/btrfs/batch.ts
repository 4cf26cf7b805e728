// The batching policy of BtrfsFs (docs/btrfs.md, "Engine"): changes collect in one open transaction
// until commit(); an operation that fails after changing something aborts the whole transaction.

import { NcwError } from "../../../ncw/errors.js";
import type { Engine, Transaction } from "./transaction.js";

/** Writes of at least this many bytes first commit what is pending, so running out of space
 * while writing them can only lose that one write (see BtrfsFs.write). */
export const COMMIT_BEFORE_LARGE_WRITE = 1 << 20;

/**
 * One open transaction at a time, started on first use. Operations run through `run`/`runAsync`
 * and may nest; only the outermost one counts. Whether an operation changed anything is read from
 * the transaction's change counter (Transaction.changes): a failure before any change leaves the
 * transaction as it was, a failure after one aborts it, so nothing half-done is ever committed.
 */
export class Batch {
  private txn: Transaction | undefined;
  /** Outermost operations since the last commit; commit() happens automatically past `autoCommitOps`. */
  private ops = 0;
  autoCommitOps = 20000;
  /** Nesting depth of the running operation (0: none). */
  private depth = 0;
  /** The transaction's change counter when the outermost operation began. */
  private changesAtStart = 0;

  constructor(
    private readonly engine: Engine,
    private readonly readOnly: boolean,
    private readonly checkOpen: () => void,
    /** Called whenever the open transaction ends (after commit or abort), e.g. to drop caches. */
    private readonly onEnd: (aborted: boolean) => void,
  ) {}

  /** The open transaction, if any (reads see its changes). */
  get current(): Transaction | undefined {
    return this.txn;
  }

  /** True when no operation is running (so a commit now splits nothing). */
  get idle(): boolean {
    return this.depth === 0;
  }

  /** The open transaction (started on first use). */
  tx(): Transaction {
    this.checkOpen();
    if (this.readOnly) {
      throw new NcwError("no-perm", "the Btrfs image is open read-only", {
        code: "BTRFS_READ_ONLY",
      });
    }
    if (!this.txn) this.txn = this.engine.begin();
    return this.txn;
  }

  /** Makes every change durable: commits the open transaction (no-op when nothing changed). */
  commit(): void {
    const t = this.txn;
    this.txn = undefined;
    this.ops = 0;
    let committed = false;
    try {
      t?.commit();
      committed = true;
    } finally {
      // A commit that failed aborted its transaction (Transaction.commit): it ends as aborted.
      this.onEnd(!committed);
    }
  }

  /** Forgets every change since the last commit. */
  abort(): void {
    const t = this.txn;
    this.txn = undefined;
    this.ops = 0;
    try {
      t?.abort();
    } finally {
      this.onEnd(true);
    }
  }

  /** Commits first when `bytes` is a large write and no operation is running (see COMMIT_BEFORE_LARGE_WRITE). */
  commitBeforeWrite(bytes: number): void {
    if (bytes >= COMMIT_BEFORE_LARGE_WRITE && this.depth === 0) this.commit();
  }

  run<T>(fn: (t: Transaction) => T): T {
    const t = this.begin();
    let r: T;
    try {
      r = fn(t);
    } catch (e) {
      this.end(t, true);
      throw e;
    }
    this.end(t, false);
    return r;
  }

  async runAsync<T>(fn: (t: Transaction) => Promise<T>): Promise<T> {
    const t = this.begin();
    let r: T;
    try {
      r = await fn(t);
    } catch (e) {
      this.end(t, true);
      throw e;
    }
    this.end(t, false);
    return r;
  }

  private begin(): Transaction {
    const t = this.tx();
    if (this.depth === 0) this.changesAtStart = t.changes;
    this.depth++;
    return t;
  }

  private end(t: Transaction, failed: boolean): void {
    this.depth--;
    if (this.depth > 0) return;
    if (failed) {
      // A failure before any change leaves the transaction as it was; after one, nothing half-done stays.
      const cur = this.txn;
      const changed = cur === t ? t.changes !== this.changesAtStart : (cur?.changes ?? 0) > 0;
      if (changed) this.abort();
    } else if (++this.ops >= this.autoCommitOps) this.commit();
  }
}
