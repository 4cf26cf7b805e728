// The NightOS image of an NCW home and the helpers `ncw fs` uses: default image path, size
// parsing, a summary of an image (superblock, features, space, subvolumes), streamed put/get.

import * as fs from "node:fs";
import * as path from "node:path";
import { isHostError } from "../../../native/errors.js";
import { NcwError } from "../../../ncw/errors.js";
import type { HomeLayout } from "../../../ncw/home.js";
import { fsErrors } from "../layer.js";
import { decodeFileName } from "../names.js";
import type { BlockDevice } from "./device.js";
import { formatUuid } from "./format/bytes.js";
import {
  BLOCK_GROUP_DATA,
  BLOCK_GROUP_DUP,
  BLOCK_GROUP_METADATA,
  BLOCK_GROUP_SYSTEM,
  decodeBlockGroupItem,
  NAME_LEN,
  S_IFDIR,
  S_IFLNK,
  S_IFMT,
  S_IFREG,
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

/**
 * Copies host file `hostPath` to `dest` in the image, replacing an existing file atomically: the
 * content goes into a new file, in 8 MiB writes that may commit, which takes the old one's place
 * only when it is whole (BtrfsLayer.replaceFile). Returns the bytes copied and the new file.
 */
export async function putHostFile(
  layer: BtrfsLayer,
  hostPath: string,
  dest: string,
  onProgress?: CopyProgress,
): Promise<{ bytes: bigint; id: InodeId }> {
  const fd = fs.openSync(hostPath, "r");
  try {
    const total = fs.fstatSync(fd).size;
    return await layer.replaceFile(dest, async (f, id) => ({
      bytes: await streamHostFile(f, id, fd, (done) => onProgress?.(done, total)),
      id,
    }));
  } finally {
    fs.closeSync(fd);
  }
}

/** Told the bytes copied so far and the whole size after each piece of a copy. */
export type CopyProgress = (done: number, total: number) => void;

/**
 * How many bytes a put writes between two commits (docs/btrfs.md "Replacing a file"): 256 MiB, or
 * `NCW_FS_PUT_COMMIT_MIB`. The file is unnamed until whole, so a commit in the middle saves nothing a
 * kill could keep; it bounds the open transaction (its checksums and extent items in memory) and what
 * a failure aborts. Each commit is two fsyncs and the trees' writes: one per 8 MiB piece made a 64 MiB
 * put 9 commits.
 */
export function putCommitBytes(env: NodeJS.ProcessEnv = process.env): number {
  const mib = Number(env.NCW_FS_PUT_COMMIT_MIB);
  return (Number.isInteger(mib) && mib > 0 ? mib : 256) << 20;
}

/**
 * Streams an open host file into the (new, empty) file `id` of the image in 8 MiB writes, committed
 * once per `putCommitBytes` (the first commit before the first write, as before any large write).
 */
async function streamHostFile(
  fsys: BtrfsFs,
  id: InodeId,
  fd: number,
  onProgress: (done: number) => void,
): Promise<bigint> {
  const CHUNK = 8 << 20;
  const every = Math.max(CHUNK, putCommitBytes());
  let off = 0n;
  const buf = new Uint8Array(CHUNK);
  let end = false;
  while (!end) {
    await fsys.writeGroup(every, async () => {
      for (let written = 0; written < every; ) {
        const n = fs.readSync(fd, buf, 0, CHUNK, null);
        if (n === 0) {
          end = true;
          return;
        }
        await fsys.write(id, off, buf.subarray(0, n));
        off += BigInt(n);
        written += n;
        onProgress(Number(off));
      }
    });
  }
  return off;
}

/** Streams a file of the image to a host file descriptor in 8 MiB reads. */
export async function getToHost(
  fsys: BtrfsFs,
  id: InodeId,
  fd: number,
  onProgress?: CopyProgress,
): Promise<bigint> {
  const total = Number(fsys.inode(id)?.size ?? 0n);
  let copied = 0;
  return streamFile(fsys, id, async (data) => {
    let done = 0;
    while (done < data.length) done += fs.writeSync(fd, data, done, data.length - done);
    copied += data.length;
    onProgress?.(copied, total);
  });
}

/**
 * Reads a file of the image in 8 MiB chunks, handing each to `sink` and waiting for it before the
 * next (a sink that waits for a slow reader keeps memory bounded). The chunks share one buffer: a
 * chunk is valid until its sink call resolves, so a sink must be done with it by then (a stream
 * write whose callback has run is). Returns the file's size.
 */
export async function streamFile(
  fsys: BtrfsFs,
  id: InodeId,
  sink: (chunk: Uint8Array) => Promise<void>,
): Promise<bigint> {
  const ino = fsys.inode(id);
  if (!ino) throw new NcwError("not-found", "the file vanished", { code: "FS_NOT_FOUND" });
  const CHUNK = 8 << 20;
  const r = fsys.reader();
  const b = Buffer.allocUnsafeSlow(Number(ino.size < BigInt(CHUNK) ? ino.size : BigInt(CHUNK)));
  const buf = new Uint8Array(b.buffer, b.byteOffset, b.length);
  for (let off = 0n; off < ino.size; ) {
    const n = await r.readInto(id, off, buf, ino);
    if (n === 0) break;
    await sink(buf.subarray(0, n));
    off += BigInt(n);
  }
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
        out.bytes += (await putHostFile(layer, h, p)).bytes;
        out.files++;
      } else out.skipped.push(h);
    }
  };
  await walk(hostDir, dest);
  return out;
}

/** What getHostTree copied, and what it refused with the reason. */
export interface HostTreeCopy {
  files: number;
  dirs: number;
  links: number;
  bytes: bigint;
  skipped: { path: string; reason: string }[];
}

/** O_NOFOLLOW where the host has it (not on Windows, whose symlinks the unlink before removes). */
const O_NOFOLLOW = fs.constants.O_NOFOLLOW ?? 0;

/**
 * Copies a folder of the image to a host folder (created): folders, files and symlinks (their
 * target text as is). The image is not trusted (docs/btrfs.md "Copying out of an image"): a name
 * is used only when it is a valid NightOS file name (names.ts) of at most 255 bytes that the host
 * takes as one name inside the folder being filled; a second entry with a name already used in
 * its folder, and a folder met a second time, are skipped; nothing is written through a host
 * symlink or hard link — what is in the way of an entry (not a folder) is unlinked and the entry
 * made anew, files with O_EXCL | O_NOFOLLOW. Whatever was skipped is listed with the reason.
 */
export async function getHostTree(
  layer: BtrfsLayer,
  src: string,
  hostDir: string,
): Promise<HostTreeCopy> {
  const out: HostTreeCopy = { files: 0, dirs: 0, links: 0, bytes: 0n, skipped: [] };
  const top = await layer.inodeAt(src);
  if (!top) throw fsErrors.notFound(src);
  fs.mkdirSync(hostDir, { recursive: true });
  const root = fs.realpathSync(hostDir);
  const seenDirs = new Set<string>();
  const skip = (p: string, reason: string) => out.skipped.push({ path: p, reason });

  const walk = async (dir: InodeId, at: string, host: string): Promise<void> => {
    seenDirs.add(`${dir.root}:${dir.ino}`);
    const entries = await layer.exclusive((f) =>
      f
        .reader()
        .readdir(dir)
        .map((e) => ({ e, inode: f.inode(e.target) })),
    );
    const used = new Set<string>();
    for (const { e, inode } of entries) {
      const d = decodeFileName(e.name);
      const shown = `${at === "/" ? "" : at}/${d.name ?? JSON.stringify(lossy.decode(e.name))}`;
      if (d.problem !== undefined) {
        skip(shown, `not a valid file name: ${d.problem}`);
        continue;
      }
      const name = d.name;
      if (e.name.length > NAME_LEN) {
        // The image's own limit beside the spec's rules (BTRFS_NAME_LEN).
        skip(shown, `not a valid file name: longer than Btrfs' ${NAME_LEN} bytes`);
        continue;
      }
      if (used.has(name)) {
        skip(shown, "a second entry with the same name in its folder");
        continue;
      }
      used.add(name);
      const h = path.join(host, name);
      if (path.dirname(h) !== host || path.basename(h) !== name || !isInside(root, h)) {
        skip(shown, "the host does not take it as one file name");
        continue;
      }
      if (!inode) {
        skip(shown, "its inode is missing");
        continue;
      }
      const type = inode.mode & S_IFMT;
      if (type === S_IFDIR) {
        const key = `${e.target.root}:${e.target.ino}`;
        if (seenDirs.has(key)) {
          skip(shown, "a folder met a second time (the image names it twice or loops)");
          continue;
        }
        makeHostDir(h);
        out.dirs++;
        await walk(e.target, shown, h);
      } else if (type === S_IFLNK) {
        const target = await layer.exclusive((f) => f.reader().readInlineSync(e.target));
        if (target.length === 0 || target.includes(0)) {
          skip(shown, "its target is empty or holds a NUL byte");
          continue;
        }
        if (!clearForNonDir(h)) {
          skip(shown, "a host folder is in the way");
          continue;
        }
        fs.symlinkSync(Buffer.from(target), h);
        out.links++;
      } else if (type === S_IFREG) {
        if (!clearForNonDir(h)) {
          skip(shown, "a host folder is in the way");
          continue;
        }
        const fd = fs.openSync(
          h,
          fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | O_NOFOLLOW,
          0o644,
        );
        try {
          out.bytes += await layer.exclusive((f) => getToHost(f, e.target, fd));
        } finally {
          fs.closeSync(fd);
        }
        out.files++;
      } else skip(shown, "not a file, folder or symlink");
    }
  };
  await walk(top, src, root);
  return out;
}

const lossy = new TextDecoder();

/** Whether host path `p` is `root` or inside it (both resolved). */
function isInside(root: string, p: string): boolean {
  const rel = path.relative(root, p);
  return rel === "" || (!rel.startsWith("..") && !path.isAbsolute(rel));
}

/** The host item at `h` without following a symlink there, or undefined when there is none. */
function lstatOrNone(h: string): fs.Stats | undefined {
  try {
    return fs.lstatSync(h);
  } catch (e) {
    if (isHostError(e, "not-found")) return undefined;
    throw e;
  }
}

/** Makes `h` a real folder: kept when it is one, else what is there (not a folder) is unlinked. */
function makeHostDir(h: string): void {
  const st = lstatOrNone(h);
  if (st?.isDirectory()) return;
  if (st) fs.unlinkSync(h);
  fs.mkdirSync(h);
}

/** Frees `h` for a new file or symlink: unlinks a non-folder there; false when a folder is. */
function clearForNonDir(h: string): boolean {
  const st = lstatOrNone(h);
  if (st?.isDirectory()) return false;
  if (st) fs.unlinkSync(h);
  return true;
}
