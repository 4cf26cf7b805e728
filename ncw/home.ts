// The NCW home: where installed apps, the NightOS filesystem image and caches live.
// Chosen by --home, else NCW_HOME, else the platform's convention; created on first use.

import { existsSync, mkdirSync, statSync } from "node:fs";
import path from "node:path";
import { isHostError } from "../native/errors.js";
import { platformDataHome } from "../native/host-info.js";
import { NcwError } from "./errors.js";

export interface HomeLayout {
  /** The home's root folder. */
  readonly root: string;
  /** The NightOS tree when it is kept in host folders (the hostdir backend; the default is an image). */
  readonly tree: string;
  /** Compiled-artifact cache (AOT output). */
  readonly cache: string;
  /** Kernel server socket, pid files and locks. */
  readonly run: string;
  /** Logs. */
  readonly logs: string;
}

/** The platform's default home (XDG on Linux, Application Support on macOS, LocalAppData on Windows). */
export const defaultHomePath = platformDataHome;

/** Resolve the home from the --home flag, NCW_HOME or the default. */
export function resolveHomePath(
  flag: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): string {
  const chosen = flag ?? env.NCW_HOME;
  if (chosen !== undefined && chosen !== "") return path.resolve(chosen);
  return defaultHomePath(env);
}

export function homeLayout(root: string): HomeLayout {
  return {
    root,
    tree: path.join(root, "tree"),
    cache: path.join(root, "cache"),
    run: path.join(root, "run"),
    logs: path.join(root, "logs"),
  };
}

/**
 * `mkdir -p`: creates `dir` and its missing parents, one level at a time, and returns the topmost
 * folder it created (undefined if `dir` existed). Node's `mkdirSync(…, {recursive: true})` is not
 * used: where mkdir keeps answering ENOENT (under /proc) it retries forever.
 */
export function makeDirs(dir: string): string | undefined {
  const missing: string[] = [];
  let d = path.resolve(dir);
  while (!existsSync(d)) {
    missing.push(d);
    const up = path.dirname(d);
    if (up === d) break;
    d = up;
  }
  for (const m of missing.reverse()) {
    try {
      mkdirSync(m);
    } catch (e) {
      if (!isHostError(e, "exists")) throw e;
    }
  }
  if (!statSync(path.resolve(dir)).isDirectory()) {
    throw new NcwError("conflict", `${dir} is not a folder`, { code: "HOME_NOT_A_FOLDER" });
  }
  return missing[0];
}

/** Create the home's folders if they are missing (no questions asked) and return its layout. */
export function openHome(root: string): HomeLayout {
  const layout = homeLayout(root);
  try {
    // The tree folder is not made here: a new home keeps its NightOS tree in a Btrfs image, and the
    // host-folder backend creates tree/ itself when chosen (services/fs/open.ts).
    for (const dir of [layout.root, layout.cache, layout.run, layout.logs]) makeDirs(dir);
  } catch (e) {
    throw new NcwError(
      "cant-create",
      `cannot create the NCW home at ${root}: ${(e as Error).message}`,
      {
        hint: "choose another place with --home <dir> or the NCW_HOME environment variable",
        cause: e,
      },
    );
  }
  return layout;
}
