// The mount-aware layer in front of the home's tree (docs/sysfs.md "Host mounts"): a path under
// /mnt/<name> of a host mount (mounts.ts) is a path in that host folder (a HostDirFs rooted at it);
// every other path is the home's tree's. sys::fs resolves symlinks itself, one component at a time,
// so this layer answers for one item at a time and the walk crosses into a mount by itself.
//
// A host symlink on a mount is read inside the mount (as HostDirFs resolves its own links): its
// target, relative or absolute, is taken from the mount's root and ".." never climbs above it, so
// `readlink` gives an absolute NightOS path under /mnt/<name>. No link on a mount reaches the host
// outside the mounted folder, nor the rest of the NightOS tree.

import { promises as fsp } from "node:fs";
import { NcwError } from "../../ncw/errors.js";
import type { InodeId } from "./btrfs/fsread.js";
import type { BtrfsLayer, ListedEntry } from "./btrfs/layer.js";
import { HostDirFs } from "./hostdir.js";
import {
  type DirEntry,
  type FsLayer,
  type NodeStat,
  type PartsResolution,
  resolveLinkTarget,
  splitPath,
} from "./layer.js";
import type { HostMount } from "./mounts.js";
import { fsidOfMount } from "./mounts.js";

/** A mount as the view serves it. */
export interface MountedFs {
  readonly name: string;
  readonly readOnly: boolean;
  readonly fsid: bigint;
  /** When the kernel took it (ms since the epoch). */
  readonly mountedAt: number;
  /** The host folder. */
  readonly host: string;
  readonly fs: HostDirFs;
}

/** How many item paths of the mounts a view remembers by FEID (MountView.seen). */
const SEEN_MAX = 100_000;

export const mountErrors = {
  readOnly: (p: string) =>
    new NcwError("no-perm", `read-only mount: ${p}`, { code: "FS_READ_ONLY" }),
  crossFs: (from: string, to: string) =>
    new NcwError("conflict", `${from} and ${to} are on different filesystems`, {
      code: "FS_CROSS_FS",
    }),
};

/** The mounts of a table, each on a HostDirFs of its folder. */
export function mountedFs(mounts: readonly HostMount[], now = Date.now()): MountedFs[] {
  return mounts.map((m) => ({
    name: m.name,
    readOnly: m.readOnly,
    fsid: fsidOfMount(m),
    mountedAt: now,
    host: m.host,
    fs: new HostDirFs(m.host),
  }));
}

/** The host folder's size and use (statfs), for FS_METADATA. */
export async function mountSpace(
  m: MountedFs,
): Promise<{ cluster: number; total: bigint; used: bigint }> {
  try {
    const s = await fsp.statfs(m.host, { bigint: true });
    return {
      cluster: Number(s.bsize),
      total: s.blocks * s.bsize,
      used: (s.blocks - s.bfree) * s.bsize,
    };
  } catch {
    return { cluster: 4096, total: 0n, used: 0n };
  }
}

export class MountView implements FsLayer {
  readonly backend: string;
  private readonly byName: ReadonlyMap<string, MountedFs>;
  /**
   * Changes made on host mounts so far: they are in no transaction of the tree, so sys::fs keeps
   * none of them to re-apply after an abort (SysFs.change).
   */
  hostChanges = 0;
  /**
   * Where the items of the mounts were last seen, by mount and FEID (stat, list): a FEID is looked
   * up there first, and the host folder walked only when the item is not (or no longer) there.
   * At most SEEN_MAX entries (then forgotten at once).
   */
  private readonly seen = new Map<string, string>();
  /** Told the path of each change made on a host mount (sys::fs: its own changes, mount-watch.ts). */
  onHostChange: (path: string) => void = () => {};

  constructor(
    readonly base: FsLayer,
    readonly mounts: readonly MountedFs[],
  ) {
    this.backend = base.backend;
    this.byName = new Map(mounts.map((m) => [m.name, m]));
  }

  /** The mount holding the item at `parts` (a resolved split path), if any. */
  mountOf(parts: readonly string[]): MountedFs | undefined {
    return parts[0] === "mnt" && parts.length >= 2 ? this.byName.get(parts[1]!) : undefined;
  }

  /** The mount of a path and the path inside it, or undefined for the home's tree. */
  private at(p: string): { m: MountedFs; rest: string; parts: string[] } | undefined {
    const parts = splitPath(p);
    const m = this.mountOf(parts);
    return m === undefined ? undefined : { m, rest: `/${parts.slice(2).join("/")}`, parts };
  }

  /** A change at `p`: refused on a read-only mount. */
  private writable(p: string): { m: MountedFs; rest: string; parts: string[] } | undefined {
    const a = this.at(p);
    if (a?.m.readOnly) throw mountErrors.readOnly(p);
    if (a !== undefined) {
      this.hostChanges++;
      this.onHostChange(`/${a.parts.join("/")}`);
    }
    return a;
  }

  async stat(p: string): Promise<NodeStat | null> {
    const a = this.at(p);
    if (a === undefined) return this.base.stat(p);
    const st = await a.m.fs.stat(a.rest);
    if (st?.feid !== undefined) {
      if (this.seen.size >= SEEN_MAX) this.seen.clear();
      this.seen.set(`${a.m.name}\0${st.feid}`, p);
    }
    return st;
  }
  readFile(p: string): Promise<Uint8Array> {
    const a = this.at(p);
    return a === undefined ? this.base.readFile(p) : a.m.fs.readFile(a.rest);
  }
  readRange(p: string, offset: number, length: number): Promise<Uint8Array> {
    const a = this.at(p);
    return a === undefined
      ? this.base.readRange(p, offset, length)
      : a.m.fs.readRange(a.rest, offset, length);
  }
  writeFile(p: string, data: Uint8Array): Promise<void> {
    const a = this.writable(p);
    return a === undefined ? this.base.writeFile(p, data) : a.m.fs.writeFile(a.rest, data);
  }
  /** On a mount: `data` written at `offset` of the host file (HostDirFs.writeRange). */
  writeRange(p: string, offset: number, data: Uint8Array, truncate: boolean): Promise<void> {
    const a = this.writable(p);
    if (a === undefined) throw new TypeError(`writeRange is for host mounts: ${p}`);
    return a.m.fs.writeRange(a.rest, offset, data, truncate);
  }
  appendFile(p: string, data: Uint8Array): Promise<void> {
    const a = this.writable(p);
    return a === undefined ? this.base.appendFile(p, data) : a.m.fs.appendFile(a.rest, data);
  }
  mkdir(p: string, opts?: { recursive?: boolean }): Promise<void> {
    const a = this.writable(p);
    return a === undefined ? this.base.mkdir(p, opts) : a.m.fs.mkdir(a.rest, opts);
  }
  async readdir(p: string): Promise<DirEntry[]> {
    const a = this.at(p);
    if (a !== undefined) return a.m.fs.readdir(a.rest);
    return this.withMounts(p, await this.base.readdir(p));
  }
  rm(p: string, opts?: { recursive?: boolean; force?: boolean }): Promise<void> {
    const a = this.writable(p);
    if (a === undefined) return this.base.rm(p, opts);
    if (a.rest === "/") throw mountErrors.readOnly(p); // the mount itself: `ncw umount`
    return a.m.fs.rm(a.rest, opts);
  }
  rename(from: string, to: string, opts?: { replace?: boolean }): Promise<void> {
    const a = this.writable(from);
    const b = this.writable(to);
    if (a?.m !== b?.m) throw mountErrors.crossFs(from, to);
    if (a === undefined || b === undefined) return this.base.rename(from, to, opts);
    if (a.rest === "/" || b.rest === "/") throw mountErrors.readOnly(from);
    return a.m.fs.rename(a.rest, b.rest, opts);
  }
  /**
   * A link on a mount: `target` (an absolute NightOS path, as sys::fs stores it) must be in the same
   * mount, and is written relative to the link's folder, so the host folder keeps working as a whole.
   */
  symlink(target: string, p: string): Promise<void> {
    const a = this.writable(p);
    const t = splitPath(target);
    if (a?.m !== this.mountOf(t)) throw mountErrors.crossFs(p, target);
    if (a === undefined) return this.base.symlink(target, p);
    const from = a.parts.slice(2, -1);
    const to = t.slice(2);
    let common = 0;
    while (common < from.length && common < to.length && from[common] === to[common]) common++;
    const rel = [...from.slice(common).map(() => ".."), ...to.slice(common)].join("/") || ".";
    return a.m.fs.symlink(rel, a.rest);
  }
  /** On a mount: the target read inside the mount, as an absolute NightOS path (above). */
  async readlink(p: string): Promise<string> {
    const a = this.at(p);
    if (a === undefined) return this.base.readlink(p);
    const target = await a.m.fs.readlink(a.rest);
    const inside = resolveLinkTarget(a.parts.slice(2, -1), target);
    return `/${["mnt", a.m.name, ...inside].join("/")}`;
  }
  async sync(): Promise<void> {
    await this.base.sync();
    for (const m of this.mounts) if (!m.readOnly) await m.fs.sync();
  }
  /** The mounts' layers; the home's tree is its owner's to close. */
  async close(): Promise<void> {
    for (const m of this.mounts) await m.fs.close();
  }

  /** /mnt's entries: the mounts in place of whatever the tree has under their names. */
  private withMounts(p: string, entries: DirEntry[]): DirEntry[] {
    const parts = splitPath(p);
    if (parts.length !== 1 || parts[0] !== "mnt") return entries;
    const out = entries.filter((e) => !this.byName.has(e.name));
    for (const m of this.mounts) out.push({ name: m.name, kind: "dir" });
    return out.sort((x, y) => (x.name < y.name ? -1 : x.name > y.name ? 1 : 0));
  }

  /** The path of the item of `m` with this FEID (a walk of the mount: a host folder has no index). */
  async pathOfFeidIn(m: MountedFs, feid: bigint): Promise<string | null> {
    const known = this.seen.get(`${m.name}\0${feid}`);
    if (known !== undefined && (await this.stat(known))?.feid === feid) return known;
    const prefix = `/mnt/${m.name}`;
    const queue = ["/"];
    while (queue.length > 0) {
      const dir = queue.shift()!;
      const st = await m.fs.stat(dir);
      if (st?.feid === feid) return dir === "/" ? prefix : `${prefix}${dir}`;
      let entries: DirEntry[];
      try {
        entries = await m.fs.readdir(dir);
      } catch {
        continue; // gone meanwhile, or not readable by the host user
      }
      for (const e of entries) {
        const sub = dir === "/" ? `/${e.name}` : `${dir}/${e.name}`;
        if (e.kind === "dir") queue.push(sub);
        else if ((await m.fs.stat(sub))?.feid === feid) return `${prefix}${sub}`;
      }
    }
    return null;
  }

  // What sys::fs and its store use of a Btrfs layer (services/fs/service/store.ts), for the home's tree.
  private get btrfs(): BtrfsLayer {
    return this.base as BtrfsLayer;
  }
  get fs(): BtrfsLayer["fs"] {
    return this.btrfs.fs;
  }
  async list(p: string): Promise<ListedEntry[]> {
    const a = this.at(p);
    if (a === undefined && splitPath(p).join("/") !== "mnt") return this.btrfs.list(p);
    const entries = await this.readdir(p);
    const at = (n: string) => (p === "/" ? `/${n}` : `${p}/${n}`);
    return Promise.all(entries.map(async (e) => ({ ...e, stat: await this.stat(at(e.name)) })));
  }
  inodeAt(p: string): Promise<InodeId | undefined> {
    return this.at(p) === undefined ? this.btrfs.inodeAt(p) : Promise.resolve(undefined);
  }
  exclusive<T>(fn: (fs: BtrfsLayer["fs"]) => Promise<T> | T, keepDirs?: boolean): Promise<T> {
    return this.btrfs.exclusive(fn, keepDirs);
  }
  /** A FEID of the home's tree (a mount's: pathOfFeidIn). */
  pathOfFeid(feid: bigint): Promise<string | null> {
    return this.btrfs.pathOfFeid(feid);
  }
  /**
   * The home's one-step resolution (BtrfsLayer.resolveParts) where it cannot meet a mount; undefined
   * (walk component by component, services/fs/service/paths.ts) for a path that starts under /mnt or
   * that the tree resolves to one, so that the walk crosses into the mount.
   */
  async resolveParts(
    parts: readonly string[],
    followLast: boolean,
  ): Promise<PartsResolution | undefined> {
    const oneStep = (this.base as Partial<BtrfsLayer>).resolveParts;
    if (oneStep === undefined || parts[0] === "mnt") return undefined;
    const r = await oneStep.call(this.base, parts, followLast);
    const reached = r.ok ? r.parts : r.reached;
    return reached[0] === "mnt" ? undefined : r;
  }
}
