// The NightOS image of an NCW home and the helpers `ncw fs` uses: default image path, size
// parsing, a summary of an image (superblock, features, space, subvolumes), streamed put/get.

import * as fs from "node:fs";
import * as path from "node:path";
import { NcwError } from "../../../ncw/errors.js";
import type { HomeLayout } from "../../../ncw/home.js";
import type { BlockDevice } from "./device.js";
import { formatUuid } from "./format/bytes.js";
import {
  BLOCK_GROUP_DATA,
  BLOCK_GROUP_DUP,
  BLOCK_GROUP_METADATA,
  BLOCK_GROUP_SYSTEM,
  decodeBlockGroupItem,
} from "./format/items.js";
import { BLOCK_GROUP_ITEM_KEY, EXTENT_TREE_OBJECTID } from "./format/key.js";
import { COMPAT_RO_NAMES, featureNames, INCOMPAT_NAMES } from "./format/superblock.js";
import { type BtrfsFs, listSubvolumes } from "./fs.js";
import type { InodeId } from "./fsread.js";
import type { BtrfsLayer } from "./layer.js";
import { MAX_KEY, MIN_KEY, Volume } from "./volume.js";

/** Where a home keeps its NightOS image (beside the host-directory tree, not inside it). */
export function defaultImagePath(home: HomeLayout): string {
  return path.join(home.root, "nightos.img");
}

/** "256M", "1G", "64MiB", "134217728" → bytes. */
export function parseSize(s: string): bigint {
  const m = /^(\d+)\s*([KMGT]?)(i?B)?$/i.exec(s.trim());
  if (!m) {
    throw new NcwError("usage", `${JSON.stringify(s)} is not a size`, {
      code: "BTRFS_BAD_SIZE",
      hint: "Write a number of bytes, or with a unit: 256M, 4G.",
    });
  }
  const unit = (m[2] ?? "").toUpperCase();
  const shift = { "": 0n, K: 10n, M: 20n, G: 30n, T: 40n }[unit] ?? 0n;
  return BigInt(m[1]!) << shift;
}

export interface ImageInfo {
  label: string;
  fsid: string;
  generation: bigint;
  totalBytes: bigint;
  bytesUsed: bigint;
  nodesize: number;
  sectorsize: number;
  features: string[];
  chunks: { type: string; logical: bigint; length: bigint; used: bigint; copies: number }[];
  subvolumes: { id: bigint; name: string; parent: bigint; readOnly: boolean }[];
}

function profileName(flags: bigint): string {
  const t =
    (flags & BLOCK_GROUP_DATA ? "data" : "") +
    (flags & BLOCK_GROUP_METADATA ? "metadata" : "") +
    (flags & BLOCK_GROUP_SYSTEM ? "system" : "");
  return `${t}/${flags & BLOCK_GROUP_DUP ? "dup" : "single"}`;
}

export function imageInfo(dev: BlockDevice, fsys?: BtrfsFs): ImageInfo {
  const vol = new Volume(dev);
  const sb = vol.sb;
  const used = new Map<bigint, bigint>();
  for (const it of vol.items(EXTENT_TREE_OBJECTID, MIN_KEY, MAX_KEY)) {
    if (it.key.type === BLOCK_GROUP_ITEM_KEY)
      used.set(it.key.objectid, decodeBlockGroupItem(it.data).used);
  }
  return {
    label: sb.label,
    fsid: formatUuid(sb.fsid),
    generation: sb.generation,
    totalBytes: sb.totalBytes,
    bytesUsed: sb.bytesUsed,
    nodesize: sb.nodesize,
    sectorsize: sb.sectorsize,
    features: [
      ...featureNames(sb.incompatFlags, INCOMPAT_NAMES),
      ...featureNames(sb.compatRoFlags, COMPAT_RO_NAMES),
    ],
    chunks: vol.chunks.all().map((c) => ({
      type: profileName(c.chunk.type),
      logical: c.logical,
      length: c.chunk.length,
      used: used.get(c.logical) ?? 0n,
      copies: c.chunk.stripes.length,
    })),
    subvolumes: fsys
      ? listSubvolumes(fsys).map((s) => ({
          id: s.id,
          name: s.name,
          parent: s.parent,
          readOnly: s.readOnly,
        }))
      : [],
  };
}

/** Streams a host file into a file of the image (created or replaced), in 8 MiB writes. */
export async function putHostFile(fsys: BtrfsFs, id: InodeId, hostPath: string): Promise<bigint> {
  await fsys.truncate(id, 0n);
  const CHUNK = 8 << 20;
  const fd = fs.openSync(hostPath, "r");
  try {
    let off = 0n;
    const buf = new Uint8Array(CHUNK);
    for (;;) {
      const n = fs.readSync(fd, buf, 0, CHUNK, null);
      if (n === 0) break;
      await fsys.write(id, off, buf.subarray(0, n));
      off += BigInt(n);
    }
    return off;
  } finally {
    fs.closeSync(fd);
  }
}

/** Streams a file of the image to a host file descriptor in 8 MiB reads. */
export async function getToHost(fsys: BtrfsFs, id: InodeId, fd: number): Promise<bigint> {
  return streamFile(fsys, id, async (data) => {
    let done = 0;
    while (done < data.length) done += fs.writeSync(fd, data, done, data.length - done);
  });
}

/**
 * Reads a file of the image in 8 MiB chunks, handing each to `sink` and waiting for it before the
 * next (a sink that waits for a slow reader keeps memory bounded). Returns the file's size.
 */
export async function streamFile(
  fsys: BtrfsFs,
  id: InodeId,
  sink: (chunk: Uint8Array) => Promise<void>,
): Promise<bigint> {
  const ino = fsys.inode(id);
  if (!ino) throw new NcwError("not-found", "the file vanished", { code: "FS_NOT_FOUND" });
  const CHUNK = 8n << 20n;
  const r = fsys.reader();
  for (let off = 0n; off < ino.size; off += CHUNK)
    await sink(await r.read(id, off, Number(CHUNK), ino));
  return ino.size;
}

/**
 * Copies a host folder into the image under `dest` (created when missing): folders, files and
 * symlinks (their target text as is). Returns the counts. Other host file types are skipped.
 */
export async function putHostTree(
  layer: BtrfsLayer,
  hostDir: string,
  dest: string,
): Promise<{ files: number; dirs: number; links: number; bytes: bigint; skipped: string[] }> {
  const out = { files: 0, dirs: 0, links: 0, bytes: 0n, skipped: [] as string[] };
  await layer.mkdir(dest, { recursive: true });
  const walk = async (host: string, at: string) => {
    for (const e of fs
      .readdirSync(host, { withFileTypes: true })
      .sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const h = path.join(host, e.name);
      const p = `${at === "/" ? "" : at}/${e.name}`;
      if (e.isDirectory()) {
        await layer.mkdir(p, { recursive: true });
        out.dirs++;
        await walk(h, p);
      } else if (e.isSymbolicLink()) {
        if (!(await layer.stat(p))) await layer.symlink(fs.readlinkSync(h), p);
        out.links++;
      } else if (e.isFile()) {
        const id = await layer.ensureFile(p);
        out.bytes += await layer.exclusive((f) => putHostFile(f, id, h));
        out.files++;
      } else out.skipped.push(h);
    }
  };
  await walk(hostDir, dest);
  return out;
}

/** Copies a folder of the image to a host folder (created): folders, files and symlinks. */
export async function getHostTree(
  layer: BtrfsLayer,
  src: string,
  hostDir: string,
): Promise<{ files: number; dirs: number; links: number; bytes: bigint }> {
  const out = { files: 0, dirs: 0, links: 0, bytes: 0n };
  fs.mkdirSync(hostDir, { recursive: true });
  const walk = async (at: string, host: string) => {
    for (const e of await layer.readdir(at)) {
      const p = `${at === "/" ? "" : at}/${e.name}`;
      const h = path.join(host, e.name);
      if (e.kind === "dir") {
        fs.mkdirSync(h, { recursive: true });
        out.dirs++;
        await walk(p, h);
      } else if (e.kind === "symlink") {
        fs.rmSync(h, { force: true });
        fs.symlinkSync(await layer.readlink(p), h);
        out.links++;
      } else {
        const id = await layer.inodeAt(p);
        if (!id) continue;
        const fd = fs.openSync(h, "w");
        try {
          out.bytes += await layer.exclusive((f) => getToHost(f, id, fd));
        } finally {
          fs.closeSync(fd);
        }
        out.files++;
      }
    }
  };
  await walk(src, hostDir);
  return out;
}
