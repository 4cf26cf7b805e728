// Opening Skyer on an NCW home: the NightOS tree (services/fs/open.ts), the home lock, recovery of
// an interrupted operation, the registry. Writers hold the lock until close(); readers only take it
// to recover, and read the last committed state if another command holds it.

import type { HomeLayout } from "../../ncw/home.js";
import type { FsLayer } from "../fs/layer.js";
import { openTree } from "../fs/open.js";
import { Registry } from "../registry/registry.js";
import { aotPrecompiler } from "./aot.js";
import { acquireHomeLock, type HomeLock, type LockWait } from "./lock.js";
import { Skyer, type SkyerOptions } from "./skyer.js";
import { type Recovery, recover } from "./txn.js";

export interface SkyerSession {
  readonly fs: FsLayer;
  readonly skyer: Skyer;
  readonly registry: Registry;
  /** What recovery did when opening (an interrupted operation rolled back or completed). */
  readonly recovery: Recovery | null;
  close(): Promise<void>;
}

/** How long a lock holder waits for another process' brief hold on the image (a reader in `auto`). */
const IMAGE_WAIT_MS = 5000;

/**
 * The tree for the home lock's holder. Other processes may hold the image's own lock for a moment
 * (`ncw run <AID>` or the kernel reading the registry open it for writing when it is free), so a
 * BTRFS_IMAGE_LOCKED is retried for a few seconds before it is reported.
 */
async function openForWriting(home: HomeLayout, wait: LockWait | undefined): Promise<FsLayer> {
  const until = Date.now() + IMAGE_WAIT_MS;
  let told = false;
  for (;;) {
    try {
      return await openTree(home, { access: "write" });
    } catch (e) {
      if ((e as { code?: string }).code !== "BTRFS_IMAGE_LOCKED") throw e;
      if (Date.now() > until) {
        // With --wait, as long as it takes (said once, after the usual grace period).
        if (wait === undefined) throw e;
        if (!told) wait.onWait(`the NightOS image: ${(e as Error).message}`);
        told = true;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

export async function openSkyerSession(
  home: HomeLayout,
  opts: SkyerOptions & {
    command: string;
    write: boolean;
    wait?: LockWait;
    /**
     * The tree's writer to use instead of opening the tree (a writer session only): the running
     * kernel's own tree, when the kernel runs Skyer for sys::app (kernel-compat/server/app-manager.ts).
     */
    writer?: () => Promise<FsLayer>;
  },
): Promise<SkyerSession> {
  let lock: HomeLock | null = null;
  try {
    // Only a writer waits (`--wait`): a reader without the lock reads the last commit.
    lock = await acquireHomeLock(home.run, opts.command, opts.write ? opts.wait : undefined);
  } catch (e) {
    if (opts.write || (e as { code?: string }).code !== "SKYER_LOCKED") throw e;
  }
  let fs: FsLayer | null = null;
  try {
    // A writer needs the image; a reader with the home lock opens it for writing to recover, and
    // reads the last commit instead when another process holds the image for a moment (the next
    // command recovers then). Without the home lock a reader only reads.
    let writable = lock !== null;
    if (opts.write) fs = await (opts.writer?.() ?? openForWriting(home, opts.wait));
    else if (lock !== null) {
      try {
        fs = await openTree(home, { access: "write" });
      } catch (e) {
        if ((e as { code?: string }).code !== "BTRFS_IMAGE_LOCKED") throw e;
        fs = await openTree(home, { access: "read" });
        writable = false;
      }
    } else fs = await openTree(home, { access: "read" });
    const recovery = writable ? await recover(fs) : null;
    if (lock !== null && !opts.write) {
      await lock.release();
      lock = null;
    }
    const registry = await Registry.open(fs);
    const skyer = await Skyer.open(fs, {
      ...opts,
      precompile: opts.precompile ?? aotPrecompiler(home.cache),
    });
    const opened = fs;
    const held = lock;
    return {
      fs: opened,
      skyer,
      registry,
      recovery,
      async close() {
        try {
          // A writer's last steps (the clean-up after a commit) are made durable too.
          if (held !== null) await opened.sync();
          await opened.close();
        } finally {
          await held?.release();
        }
      },
    };
  } catch (e) {
    await fs?.close().catch(() => undefined);
    await lock?.release();
    throw e;
  }
}
