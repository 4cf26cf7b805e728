// Crash saves on the home's tree (specs/crash-saves.md, features/crash-saves.md; docs/crash-saves.md):
// where an app's crash saves, its awake indicator and its restoration markers live, and how they are
// listed. Shared by sys::crashsave (service.ts) and `ncw crashsave` (cli/commands/crashsave.ts).

import type { FsLayer } from "../fs/layer.js";

/** An app's crash-save folder: /home/<user>/appdata/<app>/crashsaves (app: its folder name). */
export function crashDir(user: string, app: string): string {
  return `/home/${user}/appdata/${app}/crashsaves`;
}

/** The app's awake indicator (crash-saves.md "Application's crash indicator"). */
export const awakePath = (dir: string) => `${dir}/awake`;

/** A crash save's file name: `<timestamp>_<pid>.csf` (features/crash-saves.md). */
export const csfName = (collectedAt: number, pid: number) => `${collectedAt}_${pid}.csf`;

/**
 * NCW's restoration marker beside a crash save being restored (docs/crash-saves.md "Restorations"):
 * empty while the restoration waits for its answer, `crashed` once the app crashed before answering.
 */
export const markerName = (collectedAt: number, pid: number) => `${collectedAt}_${pid}.restoring`;

/** Where a collection is written before it is answered (a hidden name: never listed as a save). */
export const pendingName = (pid: number) => `.collect_${pid}`;

export type Restoring = "pending" | "crashed" | null;

export interface CrashSave {
  name: string;
  path: string;
  /** When its CRASH_SAVE_COLLECTION was sent, ms since 1970 (the name's timestamp). */
  collectedAt: number;
  /** The process that wrote it, or the instance it was last given to (its name's PID). */
  pid: number;
  /** When it was written to the disk (the file's modification time, ms since 1970). */
  writtenAt: number;
  size: number;
  /** Whether a restoration of it is waiting for its answer, or crashed. */
  restoring: Restoring;
}

const CSF = /^(\d{1,16})_(\d{1,16})\.csf$/;

async function exists(layer: FsLayer, path: string): Promise<boolean> {
  return (await layer.stat(path)) !== null;
}

/** The crash saves in `dir`, oldest first (an absent folder has none). */
export async function listCrashSaves(layer: FsLayer, dir: string): Promise<CrashSave[]> {
  if ((await layer.stat(dir))?.kind !== "dir") return [];
  const out: CrashSave[] = [];
  for (const e of await layer.readdir(dir)) {
    const m = CSF.exec(e.name);
    if (m === null || e.kind !== "file") continue;
    const collectedAt = Number(m[1]);
    const pid = Number(m[2]);
    const path = `${dir}/${e.name}`;
    const st = await layer.stat(path);
    if (st === null) continue;
    const marker = `${dir}/${markerName(collectedAt, pid)}`;
    let restoring: Restoring = null;
    if (await exists(layer, marker))
      restoring =
        new TextDecoder().decode(await layer.readFile(marker)) === "crashed"
          ? "crashed"
          : "pending";
    out.push({
      name: e.name,
      path,
      collectedAt,
      pid,
      writtenAt: st.mtimeMs,
      size: st.size,
      restoring,
    });
  }
  return out.sort((a, b) => a.collectedAt - b.collectedAt || a.pid - b.pid);
}

/** Remove a crash save and its marker. */
export async function removeCrashSave(layer: FsLayer, dir: string, s: CrashSave): Promise<void> {
  await layer.rm(s.path, { force: true });
  await layer.rm(`${dir}/${markerName(s.collectedAt, s.pid)}`, { force: true });
}

export interface AppCrashSaves {
  /** The app's folder name (`<did>.<slug>`). */
  app: string;
  /** Its awake indicator is there: it runs, or it crashed (or the system did). */
  awake: boolean;
  saves: CrashSave[];
}

/** Every app of `user` with a crash-save folder. */
export async function listUserCrashSaves(layer: FsLayer, user: string): Promise<AppCrashSaves[]> {
  const appdata = `/home/${user}/appdata`;
  if ((await layer.stat(appdata))?.kind !== "dir") return [];
  const out: AppCrashSaves[] = [];
  for (const e of await layer.readdir(appdata)) {
    if (e.kind !== "dir") continue;
    const dir = crashDir(user, e.name);
    if ((await layer.stat(dir))?.kind !== "dir") continue;
    out.push({
      app: e.name,
      awake: await exists(layer, awakePath(dir)),
      saves: await listCrashSaves(layer, dir),
    });
  }
  return out.sort((a, b) => (a.app < b.app ? -1 : a.app > b.app ? 1 : 0));
}
