// Opening Skyer on an NCW home: the NightOS tree (services/fs/open.ts), the home lock, recovery of
// an interrupted operation, the registry. Writers hold the lock until close(); readers only take it
// to recover, and read the last committed state if another command holds it.

import type { HomeLayout } from "../../ncw/home.js";
import type { FsLayer } from "../fs/layer.js";
import { openTree } from "../fs/open.js";
import { Registry } from "../registry/registry.js";
import { aotPrecompiler } from "./aot.js";
import { acquireHomeLock, type HomeLock } from "./lock.js";
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

export async function openSkyerSession(
  home: HomeLayout,
  opts: SkyerOptions & { command: string; write: boolean },
): Promise<SkyerSession> {
  let lock: HomeLock | null = null;
  try {
    lock = await acquireHomeLock(home.run, opts.command);
  } catch (e) {
    if (opts.write || (e as { code?: string }).code !== "SKYER_LOCKED") throw e;
  }
  let fs: FsLayer | null = null;
  try {
    // A lock holder may write (recovery, the operation); a reader without the lock reads the last
    // committed state and never waits for the writer.
    fs = await openTree(home, { access: lock !== null ? "write" : "read" });
    const recovery = lock !== null ? await recover(fs) : null;
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
