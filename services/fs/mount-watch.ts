// Watching an item of a host mount (docs/sysfs.md "Host mounts"): changes made on the host folder by
// anything else than sys::fs reach WATCH_ITEM's watchers. One chokidar watcher per watch, on the
// item's host path only (depth 0: a folder's own entries, not its subfolders'), loaded only when an app
// watches an item of a mount. sys::fs tells its own changes itself; `own` says which host events are
// those, so they are not told twice.

import path from "node:path";
import type { MountedFs } from "./mount-view.js";

/** What a host event means for the watched item: 0x01 changed (a file's bytes, a folder's entries), 0x03 gone. */
export type HostItemEvent = 0x01 | 0x03;

export interface HostWatch {
  close(): Promise<void>;
}

/** How long after a change made through sys::fs a host event at its path is taken as that change's. */
export const OWN_CHANGE_MS = 2_000;

/**
 * Watch the item at `parts` (resolved: no symlink in it; ["mnt", name, ...]) of mount `m`, a folder or
 * not; `tell` gets each event that is not `own` (a NightOS path sys::fs changed itself lately).
 * Resolves once the host watcher is ready, so a change made after WATCH_ITEM's answer is seen.
 */
export async function watchHostItem(
  m: MountedFs,
  parts: readonly string[],
  isDir: boolean,
  own: (nightosPath: string) => boolean,
  tell: (event: HostItemEvent) => void,
  log: (line: string) => void,
): Promise<HostWatch> {
  const { watch } = await import("chokidar");
  const inside = parts.slice(2);
  const host = path.join(m.host, ...inside);
  const at = `/${parts.join("/")}`;
  const w = watch(host, { ignoreInitial: true, depth: 0, followSymlinks: false });
  w.on("all", (ev, p) => {
    const rel = path.relative(host, p);
    const nightos = rel === "" ? at : `${at}/${rel.split(path.sep).join("/")}`;
    if (own(nightos)) return;
    if (rel === "") {
      if (ev === "unlink" || ev === "unlinkDir") tell(0x03);
      else if (ev === "change") tell(0x01);
      return;
    }
    // A direct entry of the watched folder came or went: the folder's entries changed (not for a
    // change of an entry's bytes, nor for anything deeper).
    if (isDir && !rel.includes(path.sep) && ev !== "change") tell(0x01);
  });
  w.on("error", (e) => log(`watching ${at} on the host: ${(e as Error).message}`));
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, 5_000);
    w.once("ready", () => {
      clearTimeout(timer);
      resolve();
    });
  });
  return { close: () => w.close() };
}
