// Opens the NightOS tree of an NCW home (DIRECTION.md §3). The backend is chosen here and only
// here, so the Btrfs image can become the default without any caller (Skyer, services) changing.

import type { HomeLayout } from "../../ncw/home.js";
import { HostDirFs } from "./hostdir.js";
import type { FsLayer } from "./layer.js";

/** The backends a home's tree can be opened with. */
export type TreeBackend = "hostdir";

/** The backend used when nothing else is asked for: the host directory until the image lands. */
export function defaultTreeBackend(): TreeBackend {
  return "hostdir";
}

/** Open the NightOS tree of a home (created on first use). */
export async function openTree(
  home: HomeLayout,
  backend: TreeBackend = defaultTreeBackend(),
): Promise<FsLayer> {
  switch (backend) {
    case "hostdir":
      return HostDirFs.open(home.tree);
  }
}
