// Skyer's transactions: staging folder + intent journal + atomic renames, with recovery on the next
// open. The database replace is the commit point. Design and proof sketch: docs/skyer.md "Atomicity".

import { randomBytes } from "node:crypto";
import { appendFileSync, existsSync } from "node:fs";
import { NcwError } from "../../ncw/errors.js";
import type { FsLayer } from "../fs/layer.js";
import { parentPath } from "../fs/layer.js";
import { readDb, type SkyerDb, writeDb } from "./db.js";
import { JOURNAL_PATH, SKYER_DIR, STAGING_DIR } from "./layout.js";

export const JOURNAL_FORMAT = "ncw-skyer-journal";

/** One atomic rename of the commit, recorded before it happens. */
export interface Move {
  from: string;
  to: string;
}

export interface Journal {
  format: typeof JOURNAL_FORMAT;
  version: 1;
  txid: string;
  op: string;
  aid: string;
  /** Folders the commit creates (parents of move targets), outermost first. */
  createdDirs: string[];
  moves: Move[];
}

/**
 * Test-only hooks: NCW_TEST_TRACE_STEPS=<host file> appends each step's name to that file; when
 * NCW_TEST_CRASH_AT names this step, the process kills itself with SIGKILL, as a power cut or
 * `kill -9` would; when NCW_TEST_PAUSE_AT names it, the process stops for NCW_TEST_PAUSE_MS (or
 * until the file <NCW_TEST_TRACE_STEPS>.resume exists).
 * Used by test/skyer-crash.test.ts; inert otherwise.
 */
export function crashPoint(step: string): void {
  const trace = process.env.NCW_TEST_TRACE_STEPS;
  if (trace !== undefined && trace !== "") appendFileSync(trace, `${step}\n`);
  if (process.env.NCW_TEST_CRASH_AT === step) process.kill(process.pid, "SIGKILL");
  if (process.env.NCW_TEST_PAUSE_AT === step) {
    // Hold everything (the lock included) for a while, saying so in the trace file.
    if (trace !== undefined && trace !== "") appendFileSync(trace, "paused\n");
    // Until NCW_TEST_PAUSE_MS elapse, or sooner when the test creates <trace>.resume.
    const until = Date.now() + Number(process.env.NCW_TEST_PAUSE_MS ?? "3000");
    const cell = new Int32Array(new SharedArrayBuffer(4));
    while (Date.now() < until && !(trace !== undefined && existsSync(`${trace}.resume`)))
      Atomics.wait(cell, 0, 0, 20);
  }
}

async function exists(fs: FsLayer, p: string): Promise<boolean> {
  return (await fs.stat(p)) !== null;
}

async function writeJournal(fs: FsLayer, j: Journal): Promise<void> {
  const tmp = `${JOURNAL_PATH}.tmp`;
  await fs.writeFile(tmp, new TextEncoder().encode(`${JSON.stringify(j, null, 2)}\n`));
  await fs.sync();
  await fs.rename(tmp, JOURNAL_PATH, { replace: true });
  await fs.sync();
}

/**
 * A transaction. Callers build the new state in `staging` (which nobody else reads), queue the
 * renames that put it in place (`move`, `trash`), then `commit` with the new database.
 */
export class Transaction {
  private readonly moves: Move[] = [];
  private trashed = 0;
  private finished = false;

  private constructor(
    private readonly fs: FsLayer,
    readonly txid: string,
    readonly op: string,
    readonly aid: string,
    /** The transaction's private folder in the tree. */
    readonly staging: string,
  ) {}

  static async begin(fs: FsLayer, op: string, aid: string): Promise<Transaction> {
    const txid = `${Date.now().toString(36)}-${randomBytes(6).toString("hex")}`;
    const staging = `${STAGING_DIR}/${txid}`;
    await fs.mkdir(staging, { recursive: true });
    return new Transaction(fs, txid, op, aid, staging);
  }

  /** Queue an atomic rename of a staged item (or an existing one) to its place. */
  move(from: string, to: string): void {
    this.moves.push({ from, to });
  }

  /** Queue moving an existing item into the staging trash (deleted once committed). */
  trash(path: string): void {
    this.moves.push({ from: path, to: `${this.staging}/trash-${this.trashed++}` });
  }

  get plannedMoves(): readonly Move[] {
    return this.moves;
  }

  /** Apply the moves and commit `db` (its lastTx is set to this transaction). */
  async commit(db: SkyerDb): Promise<void> {
    const fs = this.fs;
    crashPoint("staged");
    // Parents of the targets that do not exist yet: created now, removed again by a rollback.
    const createdDirs: string[] = [];
    for (const m of this.moves) {
      const missing: string[] = [];
      for (let p = parentPath(m.to); p !== "/" && !(await exists(fs, p)); p = parentPath(p)) {
        if (!createdDirs.includes(p)) missing.unshift(p);
      }
      createdDirs.push(...missing);
    }
    const journal: Journal = {
      format: JOURNAL_FORMAT,
      version: 1,
      txid: this.txid,
      op: this.op,
      aid: this.aid,
      createdDirs,
      moves: this.moves,
    };
    // From here on the journal, not this process, decides: abort() must not drop the staging
    // folder (it holds the trashed originals), a failure rolls back through recover().
    this.finished = true;
    await writeJournal(fs, journal);
    crashPoint("journal");
    try {
      for (const d of createdDirs) await fs.mkdir(d, { recursive: true });
      let i = 0;
      for (const m of this.moves) {
        await fs.rename(m.from, m.to);
        crashPoint(`move:${++i}`);
      }
      await fs.sync();
      // Every rename is durable, the database is not yet: on the Btrfs image (where a kill loses
      // what the last sync did not commit) the only point where a rollback has renames to undo.
      crashPoint("moved");
      await writeDb(fs, { ...db, lastTx: this.txid }); // the commit point
    } catch (e) {
      await recover(fs).catch(() => undefined); // best effort; the next open retries
      throw e;
    }
    crashPoint("committed");
    // Committed: leftovers of a failed cleanup are removed by the next recover().
    await cleanup(fs, this.txid).catch(() => undefined);
    crashPoint("done");
  }

  /** Undo a transaction that did not reach commit (before any journal: just drop staging). */
  async abort(): Promise<void> {
    if (this.finished) return;
    this.finished = true;
    await this.fs.rm(this.staging, { recursive: true, force: true });
    const st = await this.fs.stat(STAGING_DIR);
    if (st?.kind === "dir" && (await this.fs.readdir(STAGING_DIR)).length === 0) {
      await this.fs.rm(STAGING_DIR);
    }
  }
}

async function cleanup(fs: FsLayer, txid: string): Promise<void> {
  await fs.rm(`${STAGING_DIR}/${txid}`, { recursive: true, force: true });
  await fs.rm(JOURNAL_PATH, { force: true });
  const st = await fs.stat(STAGING_DIR);
  if (st?.kind === "dir" && (await fs.readdir(STAGING_DIR)).length === 0) await fs.rm(STAGING_DIR);
  await fs.sync();
}

export interface Recovery {
  txid: string;
  op: string;
  aid: string;
  outcome: "rolled-back" | "completed";
}

/**
 * Bring the tree back to a committed state after an interrupted operation. Must run under the
 * home lock. Returns what was done, or null when there was nothing to recover.
 */
export async function recover(fs: FsLayer): Promise<Recovery | null> {
  let journal: Journal | null = null;
  if (await exists(fs, JOURNAL_PATH)) {
    try {
      journal = JSON.parse(new TextDecoder().decode(await fs.readFile(JOURNAL_PATH))) as Journal;
    } catch (e) {
      throw new NcwError("config", `Skyer's journal (${JOURNAL_PATH}) is unreadable`, {
        code: "SKYER_JOURNAL_CORRUPT",
        cause: e,
        hint: "an interrupted operation cannot be recovered automatically; inspect the home",
      });
    }
    const validMoves =
      Array.isArray(journal.moves) &&
      journal.moves.every((m) => typeof m?.from === "string" && typeof m.to === "string");
    const validDirs =
      Array.isArray(journal.createdDirs) && journal.createdDirs.every((d) => typeof d === "string");
    if (journal.format !== JOURNAL_FORMAT || !validMoves || !validDirs) {
      throw new NcwError("config", `Skyer's journal (${JOURNAL_PATH}) is invalid`, {
        code: "SKYER_JOURNAL_CORRUPT",
      });
    }
  }
  // A journal whose temporary file was written but not renamed is just an unfinished staging.
  await fs.rm(`${JOURNAL_PATH}.tmp`, { force: true });
  let result: Recovery | null = null;
  if (journal !== null) {
    const db = await readDb(fs);
    if (db.lastTx === journal.txid) {
      result = { txid: journal.txid, op: journal.op, aid: journal.aid, outcome: "completed" };
    } else {
      let undone = 0;
      for (const m of [...journal.moves].reverse()) {
        if ((await exists(fs, m.to)) && !(await exists(fs, m.from))) {
          await fs.mkdir(parentPath(m.from), { recursive: true });
          await fs.rename(m.to, m.from);
          crashPoint(`rollback:${++undone}`);
        }
      }
      for (const d of [...journal.createdDirs].reverse()) {
        const st = await fs.stat(d);
        if (st?.kind === "dir" && (await fs.readdir(d)).length === 0) await fs.rm(d);
      }
      result = { txid: journal.txid, op: journal.op, aid: journal.aid, outcome: "rolled-back" };
    }
    await fs.sync();
  }
  // Staging folders of transactions that never wrote a journal hold nothing anyone uses.
  if (await exists(fs, STAGING_DIR)) await fs.rm(STAGING_DIR, { recursive: true });
  await fs.rm(JOURNAL_PATH, { force: true });
  await fs.rm(`${SKYER_DIR}/installed.json.tmp`, { force: true });
  await fs.sync();
  return result;
}
