// Opens the NightOS tree of an NCW home (DIRECTION.md §3). The backend is chosen here and only
// here, so the Btrfs image can become the default without any caller (Skyer, services) changing.
// Decisions (which backend a home uses, where its image is): docs/skyer.md "Tree backends".

import { existsSync, mkdirSync, readdirSync } from "node:fs";
import path from "node:path";
import { NcwError } from "../../ncw/errors.js";
import type { HomeLayout } from "../../ncw/home.js";
import { HostDirFs } from "./hostdir.js";
import type { FsLayer } from "./layer.js";

/** The backends a home's tree can be opened with. */
export type TreeBackend = "hostdir" | "btrfs";
export const TREE_BACKENDS: readonly TreeBackend[] = ["hostdir", "btrfs"];

/**
 * The Btrfs image of a home: `nightos.img` in the home's root, where `ncw fs` looks by default
 * (services/fs/btrfs/image.ts defaultImagePath; a test checks they agree).
 */
export function imagePath(home: HomeLayout): string {
  return path.join(home.root, "nightos.img");
}

/** Size of a new image (a sparse file: only what is written takes space). */
export const IMAGE_SIZE = 4n << 30n;

/**
 * The backend a home's tree is opened with: NCW_TREE_BACKEND when set; else the host-directory
 * tree when it holds anything (it was written by that backend); else the image when the home has
 * one; else hostdir, the default until the image becomes it.
 */
export function treeBackendOf(home: HomeLayout, env: NodeJS.ProcessEnv = process.env): TreeBackend {
  const asked = env.NCW_TREE_BACKEND;
  if (asked !== undefined && asked !== "") {
    if (!(TREE_BACKENDS as readonly string[]).includes(asked)) {
      throw new NcwError("config", `NCW_TREE_BACKEND=${asked} is not a tree backend`, {
        code: "FS_UNKNOWN_BACKEND",
        hint: `use one of: ${TREE_BACKENDS.join(", ")}`,
      });
    }
    return asked as TreeBackend;
  }
  const hostTree = existsSync(home.tree) && readdirSync(home.tree).length > 0;
  if (!hostTree && existsSync(imagePath(home))) return "btrfs";
  return "hostdir";
}

/** Open the NightOS tree of a home (created on first use). */
export async function openTree(
  home: HomeLayout,
  backend: TreeBackend = treeBackendOf(home),
): Promise<FsLayer> {
  switch (backend) {
    case "hostdir":
      return HostDirFs.open(home.tree);
    case "btrfs": {
      // Loaded only for homes that use it.
      const { BtrfsLayer } = await import("./btrfs/layer.js");
      const img = imagePath(home);
      mkdirSync(home.root, { recursive: true });
      return existsSync(img) ? BtrfsLayer.open(img) : BtrfsLayer.create(img, IMAGE_SIZE);
    }
  }
}
