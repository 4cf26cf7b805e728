// Opens the NightOS tree of an NCW home (DIRECTION.md §3): by default one Btrfs image file,
// `<home>/nightos.img`, read and written by NCW's own Btrfs code. The backend is chosen here and
// only here. Decisions (default, detection, image size, readers): docs/skyer.md "Tree backends".

import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readSync } from "node:fs";
import path from "node:path";
import { NcwError } from "../../ncw/errors.js";
import type { HomeLayout } from "../../ncw/home.js";
import type { FsLayer } from "./layer.js";

/** The backends a home's tree can be opened with. */
export type TreeBackend = "hostdir" | "btrfs";
export const TREE_BACKENDS: readonly TreeBackend[] = ["hostdir", "btrfs"];

/** The backend of a new home (one that holds neither a host-directory tree nor an image). */
export const DEFAULT_TREE_BACKEND: TreeBackend = "btrfs";

/**
 * The Btrfs image of a home: `nightos.img` in the home's root, where `ncw fs` looks by default
 * (services/fs/btrfs/image.ts defaultImagePath; a test checks they agree).
 */
export function imagePath(home: HomeLayout): string {
  return path.join(home.root, "nightos.img");
}

/**
 * The generation of the tree's last commit, read from the primary superblock of the home's image (one
 * small read): it changes with every commit of any writer, so what was read from the tree at a
 * generation is still what the tree holds while it does not change. Undefined when the home has no
 * image (a host-directory tree, nothing written yet) or its superblock does not read as one.
 */
export function treeGeneration(home: HomeLayout): bigint | undefined {
  let fd: number;
  try {
    fd = openSync(imagePath(home), "r");
  } catch {
    return undefined;
  }
  try {
    // struct btrfs_super_block at 64 KiB: magic at 0x40, generation at 0x48.
    const b = Buffer.alloc(16);
    if (readSync(fd, b, 0, 16, 0x10040) !== 16) return undefined;
    if (b.readBigUInt64LE(0) !== SUPERBLOCK_MAGIC) return undefined;
    return b.readBigUInt64LE(8);
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}
/** "_BHRfS_M" (format/superblock.ts SUPER_MAGIC; a test checks they agree). */
export const SUPERBLOCK_MAGIC = 0x4d5f53665248425fn;

/**
 * Size of a new image: 8 GiB, a sparse file (only what is written takes space on Linux and macOS;
 * on NTFS a file is not sparse unless marked, see docs/skyer.md). The engine cannot grow a
 * filesystem, so the size is chosen once, large. NCW_IMAGE_SIZE ("2G", "512M", bytes) overrides it
 * for a new home.
 */
export const IMAGE_SIZE = 8n << 30n;
/** Smallest size NCW_IMAGE_SIZE may ask for (room for the system and metadata chunks). */
export const MIN_IMAGE_SIZE = 256n << 20n;

export function imageSizeOf(env: NodeJS.ProcessEnv = process.env): bigint {
  const s = env.NCW_IMAGE_SIZE;
  if (s === undefined || s === "") return IMAGE_SIZE;
  const m = /^(\d+)\s*([KMGT]?)(i?B)?$/i.exec(s.trim());
  const shift = { "": 0n, K: 10n, M: 20n, G: 30n, T: 40n }[(m?.[2] ?? "").toUpperCase()] ?? 0n;
  const size = m ? BigInt(m[1]!) << shift : -1n;
  if (size < MIN_IMAGE_SIZE) {
    throw new NcwError("config", `NCW_IMAGE_SIZE=${s} is not a usable image size`, {
      code: "FS_BAD_IMAGE_SIZE",
      hint: "write a size of at least 256M, with a unit: 512M, 2G, 8G (or unset it for 8G)",
    });
  }
  return size;
}

/**
 * The backend a home's tree is opened with: NCW_TREE_BACKEND when set; else the host-directory
 * tree when it holds anything (a home written by that backend is never switched, even if an image
 * appears beside it); else the image (which a new home gets on first use).
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
  if (existsSync(home.tree) && readdirSync(home.tree).length > 0) return "hostdir";
  return DEFAULT_TREE_BACKEND;
}

/**
 * How the tree is opened. `write`: for changing it — through the home's kernel when one runs (it is
 * then the tree's only writer, docs/skyer.md "Writers and readers"), else directly (the image's
 * one-writer lock is taken; another writer makes it fail with BTRFS_IMAGE_LOCKED). `read`: the last
 * committed state, read-only, which never waits for a writer. `auto` (default): through the kernel
 * when one runs, else write when the image is free, else read.
 */
export type TreeAccess = "write" | "read" | "auto";

export interface OpenTreeOptions {
  backend?: TreeBackend;
  access?: TreeAccess;
  /** The caller is the kernel that owns the tree (kernel-compat/server/tree.ts): always direct. */
  owner?: boolean;
}

/**
 * Finds the home's running kernel as the tree's writer (an FsLayer over its tree requests), or
 * undefined when none runs; never starts one. The CLI registers it (cli/kernel-tree.ts): this
 * folder does not import the kernel's client. Without one, every open is direct.
 */
export type KernelWriterFinder = (home: HomeLayout) => Promise<FsLayer | undefined>;
let findKernelWriter: KernelWriterFinder = async () => undefined;

export function useKernelWriter(find: KernelWriterFinder): void {
  findKernelWriter = find;
}

/** Open the NightOS tree of a home (created on first use). */
export async function openTree(
  home: HomeLayout,
  opts: TreeBackend | OpenTreeOptions = {},
): Promise<FsLayer> {
  const o = typeof opts === "string" ? { backend: opts } : opts;
  const access = o.access ?? "auto";
  if (o.owner === true || access === "read") return openDirect(home, o, access);
  const remote = await findKernelWriter(home);
  if (remote !== undefined) return remote;
  try {
    return await openDirect(home, o, access);
  } catch (e) {
    // A kernel that started meanwhile and took the image: it is the writer now.
    if (access !== "write" || (e as { code?: string }).code !== "BTRFS_IMAGE_LOCKED") throw e;
    const late = await findKernelWriter(home);
    if (late === undefined) throw e;
    return late;
  }
}

async function openDirect(
  home: HomeLayout,
  o: OpenTreeOptions,
  access: TreeAccess,
): Promise<FsLayer> {
  const backend = o.backend ?? treeBackendOf(home);
  switch (backend) {
    case "hostdir": {
      // Loaded only for homes that use it, as the Btrfs layer below.
      const { HostDirFs } = await import("./hostdir.js");
      return HostDirFs.open(home.tree);
    }
    case "btrfs": {
      // Loaded only for homes that use it.
      const { BtrfsLayer } = await import("./btrfs/layer.js");
      const img = imagePath(home);
      // A writer gives freed space back to the host (docs/btrfs.md "Giving space back").
      if (access !== "read") await (await import("./btrfs/punch.js")).loadHolePunching();
      if (!existsSync(img)) {
        if (access === "read") {
          // Nothing was ever written: an empty tree, without creating anything.
          const { MemoryFs } = await import("./memory.js");
          return new MemoryFs();
        }
        mkdirSync(home.root, { recursive: true });
        return BtrfsLayer.create(img, imageSizeOf());
      }
      if (access === "read") return BtrfsLayer.open(img, { readOnly: true });
      try {
        return BtrfsLayer.open(img);
      } catch (e) {
        if (access === "auto" && (e as { code?: string }).code === "BTRFS_IMAGE_LOCKED")
          return BtrfsLayer.open(img, { readOnly: true });
        throw e;
      }
    }
  }
}
