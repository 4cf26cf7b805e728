// The home lock: one writer of a home's NightOS tree at a time (Skyer operations, registry writes).
// A host file (<home>/run/tree.lock) created atomically with link(); a lock left by a dead process
// is taken over. See docs/skyer.md "Atomicity".

import { randomBytes } from "node:crypto";
import { promises as fsp } from "node:fs";
import os from "node:os";
import path from "node:path";
import { hostProcessAlive as alive, isHostError } from "../../native/errors.js";
import { NcwError } from "../../ncw/errors.js";

export const LOCK_FILE = "tree.lock";

interface LockOwner {
  pid: number;
  host: string;
  command: string;
  since: string;
}

export interface HomeLock {
  readonly path: string;
  release(): Promise<void>;
}

async function readOwner(file: string): Promise<LockOwner | null | "missing"> {
  let text: string;
  try {
    text = await fsp.readFile(file, "utf8");
  } catch (e) {
    if (isHostError(e, "not-found")) return "missing";
    throw e;
  }
  try {
    const o = JSON.parse(text) as LockOwner;
    return typeof o.pid === "number" && typeof o.host === "string" ? o : null;
  } catch {
    return null;
  }
}

/** A lock whose owner is gone: same host and a pid that no longer runs, or unreadable content. */
function isStale(owner: LockOwner | null): boolean {
  if (owner === null) return true;
  return owner.host === os.hostname() && !alive(owner.pid);
}

export interface LockWait {
  /**
   * Told once, when a live process holds the lock, what the wait is for: "the NCW home, which another
   * ncw command holds (pid 123: skyer install x.nap, since …)".
   */
  onWait(what: string): void;
  /** How often to look again, milliseconds (default 100). */
  pollMs?: number;
}

/** "pid 123: skyer install x.nap, since …" */
function describe(owner: LockOwner | null): string {
  return `pid ${owner?.pid}: ${owner?.command}, since ${owner?.since}`;
}

/**
 * Take the home lock. Held by a live process: fail at once with TEMP_FAIL naming the holder, or with
 * `wait`, say once what it waits for and take the lock when the holder is done (or dies: its lock is
 * then stale and taken over).
 */
export async function acquireHomeLock(
  runDir: string,
  command: string,
  wait?: LockWait,
): Promise<HomeLock> {
  let told = false;
  for (;;) {
    try {
      return await tryHomeLock(runDir, command);
    } catch (e) {
      if (wait === undefined || !(e instanceof HomeLocked)) throw e;
      if (!told) wait.onWait(`the NCW home, which another ncw command holds (${e.holder})`);
      told = true;
      await new Promise((r) => setTimeout(r, wait.pollMs ?? 100));
    }
  }
}

/** SKYER_LOCKED for a lock a live process holds (`holder` describes it). */
class HomeLocked extends NcwError {
  constructor(
    readonly holder: string,
    lockPath: string,
  ) {
    super("temp-fail", `the NCW home is in use by another ncw command (${holder})`, {
      code: "SKYER_LOCKED",
      hint: `wait for it to finish and try again, or run this command with --wait; the lock is ${lockPath}`,
    });
  }
}

async function tryHomeLock(runDir: string, command: string): Promise<HomeLock> {
  await fsp.mkdir(runDir, { recursive: true });
  const lockPath = path.join(runDir, LOCK_FILE);
  const me: LockOwner = {
    pid: process.pid,
    host: os.hostname(),
    command,
    since: new Date().toISOString(),
  };
  const tmp = path.join(runDir, `${LOCK_FILE}.${process.pid}.${randomBytes(4).toString("hex")}`);
  await fsp.writeFile(tmp, `${JSON.stringify(me)}\n`);
  try {
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        await fsp.link(tmp, lockPath);
        return {
          path: lockPath,
          async release() {
            const owner = await readOwner(lockPath);
            if (owner !== "missing" && owner !== null && owner.pid === process.pid) {
              await fsp.rm(lockPath, { force: true });
            }
          },
        };
      } catch (e) {
        if (!isHostError(e, "exists")) throw e;
      }
      const owner = await readOwner(lockPath);
      if (owner === "missing") continue;
      if (!isStale(owner)) {
        throw new HomeLocked(describe(owner), lockPath);
      }
      // Take a stale lock over: move it aside (only one contender wins the rename), check that
      // what we moved is the stale lock we saw, and drop it.
      const aside = `${lockPath}.stale.${process.pid}`;
      try {
        await fsp.rename(lockPath, aside);
      } catch (e) {
        if (isHostError(e, "not-found")) continue;
        throw e;
      }
      const moved = await readOwner(aside);
      if (moved !== "missing" && !isStale(moved)) {
        // A live lock was taken between our read and our rename: put it back.
        await fsp.link(aside, lockPath).catch(() => undefined);
      }
      await fsp.rm(aside, { force: true });
    }
    throw new NcwError("temp-fail", "could not take the NCW home lock (heavy contention)", {
      code: "SKYER_LOCKED",
      hint: "try again",
    });
  } finally {
    await fsp.rm(tmp, { force: true });
  }
}
