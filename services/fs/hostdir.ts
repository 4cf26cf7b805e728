// The host-directory NightOS filesystem backend (services/fs/layer.ts): the tree is a plain folder
// on the host (the NCW home's tree/), kept for debugging. Symlinks are resolved by NCW inside the
// tree, never by the host, so no link in the tree can reach a host file outside it.

import { constants as fsc, promises as fsp, lstatSync, readlinkSync } from "node:fs";
import path from "node:path";
import { hostErrorKind, isHostError } from "../../native/errors.js";
import { NcwError } from "../../ncw/errors.js";
import {
  type DirEntry,
  type FsLayer,
  fsErrors,
  type NodeKind,
  type NodeStat,
  splitPath,
  walkPath,
} from "./layer.js";

/**
 * Opened without following a final symlink (where the host has the flag): a link put in an item's
 * place by another host program after NCW resolved its path is not followed out of the folder.
 */
const NOFOLLOW = fsc.O_NOFOLLOW ?? 0;

interface Resolved {
  /** The physical NightOS path components (every symlink before the last component resolved). */
  parts: string[];
  host: string;
}

function kindOf(st: { isFile(): boolean; isDirectory(): boolean; isSymbolicLink(): boolean }) {
  if (st.isSymbolicLink()) return "symlink" as const;
  if (st.isDirectory()) return "dir" as const;
  if (st.isFile()) return "file" as const;
  return null;
}

/** Translate a host error on `p` (a NightOS path) into the layer's errors. */
function translate(e: unknown, p: string): Error {
  switch (hostErrorKind(e)) {
    case "not-found":
      return fsErrors.notFound(p);
    case "exists":
      return fsErrors.exists(p);
    case "not-dir":
      return fsErrors.notDir(p);
    case "is-dir":
      return fsErrors.isDir(p);
    case "not-empty":
      return fsErrors.notEmpty(p);
    case "loop":
      return fsErrors.loop(p);
    default:
      if (e instanceof NcwError) return e;
      return new NcwError("io", `host I/O error on ${p}: ${(e as Error).message}`, {
        code: "FS_HOST_IO",
        cause: e,
      });
  }
}

async function fsyncPath(host: string): Promise<void> {
  let fh: fsp.FileHandle | undefined;
  try {
    fh = await fsp.open(host, fsc.O_RDONLY);
    await fh.sync();
  } catch (e) {
    const kind = hostErrorKind(e);
    // Gone since, or a folder on a host that cannot fsync folders (Windows): nothing to do.
    if (kind !== "not-found" && kind !== "is-dir" && kind !== "permission" && kind !== "busy") {
      throw translate(e, host);
    }
  } finally {
    await fh?.close();
  }
}

export class HostDirFs implements FsLayer {
  readonly backend = "hostdir";
  private closed = false;
  /** Host files and folders written since the last sync(), fsynced by it. */
  private readonly dirty = new Set<string>();
  /**
   * Host paths known to be real folders (not symlinks), so resolving a deep path does not lstat
   * every component every time. Cleared by anything that can remove or move a folder.
   */
  private readonly knownDirs = new Set<string>();
  /** The host device of the root (feidOf). */
  private rootDev: bigint | undefined;

  /** `root` is the host folder holding the tree; it is created if missing. */
  constructor(readonly root: string) {}

  static async open(root: string): Promise<HostDirFs> {
    try {
      await fsp.mkdir(root, { recursive: true });
    } catch (e) {
      throw new NcwError("cant-create", `cannot create the NightOS tree at ${root}`, {
        code: "FS_HOST_ROOT",
        cause: e,
        hint: "check that the NCW home is writable, or choose another with --home",
      });
    }
    return new HostDirFs(path.resolve(root));
  }

  private hostOf(parts: readonly string[]): string {
    return parts.length === 0 ? this.root : path.join(this.root, ...parts);
  }

  /**
   * Resolve a NightOS path to a host path, following symlinks inside the tree only (the walk every
   * backend shares, services/fs/layer.ts walkPath; here an entry is an lstat of the host path).
   */
  private async resolve(p: string, followLast: boolean): Promise<Resolved> {
    if (this.closed) throw fsErrors.closed();
    // A path whose folder is known to be real needs no walk (unless its last part is a symlink
    // to follow): one join, not one per component.
    const all = splitPath(p);
    if (all.length > 1) {
      const parent = this.hostOf(all.slice(0, -1));
      if (this.knownDirs.has(parent)) {
        const host = path.join(parent, all[all.length - 1]!);
        if (!followLast || this.lkindAt(host, p) !== "symlink") return { parts: all, host };
      }
    }
    type Entry = { parts: string[]; kind: NodeKind | "other" };
    let slot: ReturnType<typeof walkPath<string[], Entry>>;
    try {
      slot = walkPath<string[], Entry>(
        p,
        {
          root: [],
          entry: (dir, name) => {
            const parts = [...dir, name];
            const host = this.hostOf(parts);
            if (this.knownDirs.has(host)) return { parts, kind: "dir" };
            const kind = this.lkind(host);
            return kind === null ? undefined : { parts, kind };
          },
          symlinkTarget: (e) =>
            e.kind === "symlink" ? readlinkSync(this.hostOf(e.parts)) : undefined,
          asDir: (e) => {
            if (e.kind !== "dir") return undefined;
            this.knownDirs.add(this.hostOf(e.parts));
            return e.parts;
          },
        },
        followLast,
      );
    } catch (e) {
      throw translate(e, p);
    }
    const parts = slot === null ? [] : [...slot.parentParts, slot.name];
    return { parts, host: this.hostOf(parts) };
  }

  /** lkind, with host errors translated for the NightOS path `p` (the resolution's fast path). */
  private lkindAt(host: string, p: string): NodeKind | null | "other" {
    try {
      return this.lkind(host);
    } catch (e) {
      throw translate(e, p);
    }
  }

  /** What is at a host path, without following a symlink; null when nothing is. */
  private lkind(host: string): NodeKind | null | "other" {
    try {
      return kindOf(lstatSync(host)) ?? "other";
    } catch (e) {
      if (isHostError(e, "not-found")) return null;
      throw e;
    }
  }

  /**
   * An item's FEID (docs/sysfs.md "Identifiers"): its host inode number when it is on the host
   * filesystem of the root, else FNV-1a 64 of its device and inode (a host folder spanning several
   * host filesystems); the top bit, which marks temporary FEIDs, cleared.
   */
  private feidOf(dev: bigint, ino: bigint): bigint {
    this.rootDev ??= lstatSync(this.root, { bigint: true }).dev;
    if (dev === this.rootDev) return ino & 0x7fff_ffff_ffff_ffffn;
    let h = 0xcbf29ce484222325n;
    for (const v of [dev, ino])
      for (let i = 0n; i < 64n; i += 8n) {
        h ^= (v >> i) & 0xffn;
        h = (h * 0x100000001b3n) & 0xffff_ffff_ffff_ffffn;
      }
    return h & 0x7fff_ffff_ffff_ffffn;
  }

  private async run<T>(p: string, op: () => Promise<T>): Promise<T> {
    try {
      return await op();
    } catch (e) {
      throw translate(e, p);
    }
  }

  private touch(host: string): void {
    this.dirty.add(host);
    this.dirty.add(path.dirname(host));
  }

  async stat(p: string): Promise<NodeStat | null> {
    let r: Resolved;
    try {
      r = await this.resolve(p, false);
    } catch (e) {
      if ((e as NcwError).code === "FS_NOT_FOUND") return null;
      throw e;
    }
    return this.run(p, async () => {
      let st: import("node:fs").BigIntStats;
      try {
        st = await fsp.lstat(r.host, { bigint: true });
      } catch (e) {
        if (isHostError(e, "not-found")) return null;
        throw e;
      }
      const kind = kindOf(st);
      if (kind === null) return null; // sockets, fifos: not NightOS items
      return {
        kind,
        size: kind === "dir" ? 0 : Number(st.size),
        mtimeMs: Number(st.mtimeMs),
        feid: this.feidOf(st.dev, st.ino),
      };
    });
  }

  async readFile(p: string): Promise<Uint8Array> {
    const r = await this.resolve(p, true);
    return this.run(p, async () => {
      const kind = this.lkind(r.host);
      if (kind === null) throw fsErrors.notFound(p);
      if (kind === "dir") throw fsErrors.isDir(p);
      return new Uint8Array(await fsp.readFile(r.host, { flag: fsc.O_RDONLY | NOFOLLOW }));
    });
  }

  async readRange(p: string, offset: number, length: number): Promise<Uint8Array> {
    const r = await this.resolve(p, true);
    return this.run(p, async () => {
      const kind = this.lkind(r.host);
      if (kind === null) throw fsErrors.notFound(p);
      if (kind === "dir") throw fsErrors.isDir(p);
      const f = await fsp.open(r.host, fsc.O_RDONLY | NOFOLLOW);
      try {
        const buf = new Uint8Array(length);
        const { bytesRead } = await f.read(buf, 0, length, offset);
        return buf.subarray(0, bytesRead);
      } finally {
        await f.close();
      }
    });
  }

  async appendFile(p: string, data: Uint8Array): Promise<void> {
    const r = await this.resolve(p, true);
    await this.run(p, async () => {
      const kind = this.lkind(r.host);
      if (kind === null) throw fsErrors.notFound(p);
      if (kind === "dir") throw fsErrors.isDir(p);
      await fsp.appendFile(r.host, data, { flag: fsc.O_WRONLY | fsc.O_APPEND | NOFOLLOW });
      this.touch(r.host);
    });
  }

  /**
   * Write `data` at byte `offset` of an existing file, which grows as needed; with `truncate`, the
   * file ends after it (sys::fs's WRITE_FILE on a host mount, without rewriting the whole file).
   */
  async writeRange(p: string, offset: number, data: Uint8Array, truncate: boolean): Promise<void> {
    const r = await this.resolve(p, true);
    await this.run(p, async () => {
      const kind = this.lkind(r.host);
      if (kind === null) throw fsErrors.notFound(p);
      if (kind === "dir") throw fsErrors.isDir(p);
      const f = await fsp.open(r.host, fsc.O_RDWR | NOFOLLOW);
      try {
        if (data.length > 0) await f.write(data, 0, data.length, offset);
        if (truncate) await f.truncate(offset + data.length);
      } finally {
        await f.close();
      }
      this.touch(r.host);
    });
  }

  async writeFile(p: string, data: Uint8Array): Promise<void> {
    const r = await this.resolve(p, true);
    if (r.parts.length === 0) throw fsErrors.isDir(p);
    await this.run(p, async () => {
      if (this.lkind(r.host) === "dir") throw fsErrors.isDir(p);
      await fsp.writeFile(r.host, data, {
        flag: fsc.O_WRONLY | fsc.O_CREAT | fsc.O_TRUNC | NOFOLLOW,
      });
      this.touch(r.host);
    });
  }

  async mkdir(p: string, opts: { recursive?: boolean } = {}): Promise<void> {
    if (opts.recursive) {
      const parts = splitPath(p);
      if (this.knownDirs.has(this.hostOf(parts))) return;
      for (let i = 1; i <= parts.length; i++) {
        const sub = `/${parts.slice(0, i).join("/")}`;
        const r = await this.resolve(sub, true);
        const kind = await this.run(sub, async () => this.lkind(r.host));
        if (kind === null) {
          await this.run(sub, () => fsp.mkdir(r.host));
          this.touch(r.host);
        } else if (kind !== "dir") throw fsErrors.notDir(sub);
        this.knownDirs.add(r.host);
      }
      return;
    }
    const r = await this.resolve(p, false);
    if (r.parts.length === 0) throw fsErrors.exists(p);
    await this.run(p, () => fsp.mkdir(r.host));
    this.touch(r.host);
    this.knownDirs.add(r.host);
  }

  async readdir(p: string): Promise<DirEntry[]> {
    const r = await this.resolve(p, true);
    return this.run(p, async () => {
      const entries = await fsp.readdir(r.host, { withFileTypes: true });
      const out: DirEntry[] = [];
      for (const d of entries) {
        const kind = kindOf(d);
        if (kind !== null) out.push({ name: d.name, kind });
      }
      return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    });
  }

  async rm(p: string, opts: { recursive?: boolean; force?: boolean } = {}): Promise<void> {
    let r: Resolved;
    try {
      r = await this.resolve(p, false);
    } catch (e) {
      if (opts.force && (e as NcwError).code === "FS_NOT_FOUND") return;
      throw e;
    }
    if (r.parts.length === 0) throw fsErrors.isDir(p);
    this.knownDirs.clear();
    await this.run(p, async () => {
      const kind = this.lkind(r.host);
      if (kind === null) {
        if (opts.force) return;
        throw fsErrors.notFound(p);
      }
      if (kind === "dir") {
        if (opts.recursive) await fsp.rm(r.host, { recursive: true, force: true });
        else await fsp.rmdir(r.host);
      } else await fsp.unlink(r.host);
      this.dirty.delete(r.host);
      this.dirty.add(path.dirname(r.host));
    });
  }

  async rename(from: string, to: string, opts: { replace?: boolean } = {}): Promise<void> {
    const src = await this.resolve(from, false);
    const dst = await this.resolve(to, false);
    if (src.parts.length === 0 || dst.parts.length === 0) throw fsErrors.isDir("/");
    this.knownDirs.clear();
    await this.run(from, async () => {
      const sk = this.lkind(src.host);
      if (sk === null) throw fsErrors.notFound(from);
      if (
        sk === "dir" &&
        dst.parts.length > src.parts.length &&
        src.parts.every((x, i) => dst.parts[i] === x)
      ) {
        throw fsErrors.intoItself(from, to);
      }
      if (src.host === dst.host) return;
      const dk = this.lkind(dst.host);
      if (dk !== null && (dk === "dir" || sk === "dir" || !opts.replace)) {
        throw fsErrors.exists(to);
      }
      await fsp.rename(src.host, dst.host);
      this.dirty.add(path.dirname(src.host));
      this.dirty.add(path.dirname(dst.host));
    });
  }

  async symlink(target: string, p: string): Promise<void> {
    const r = await this.resolve(p, false);
    if (r.parts.length === 0) throw fsErrors.exists(p);
    await this.run(p, () => fsp.symlink(target, r.host));
    this.dirty.add(path.dirname(r.host));
  }

  async readlink(p: string): Promise<string> {
    const r = await this.resolve(p, false);
    return this.run(p, async () => {
      const kind = this.lkind(r.host);
      if (kind === null) throw fsErrors.notFound(p);
      if (kind !== "symlink") throw fsErrors.notLink(p);
      return fsp.readlink(r.host);
    });
  }

  async sync(): Promise<void> {
    if (this.closed) throw fsErrors.closed();
    const items = [...this.dirty];
    this.dirty.clear();
    // Files first, then folders (so new entries are durable after their content); in parallel.
    const dirs = items.filter((h) => this.knownDirs.has(h));
    const files = items.filter((h) => !this.knownDirs.has(h));
    for (const batch of [files, dirs]) {
      let next = 0;
      const worker = async () => {
        while (next < batch.length) await fsyncPath(batch[next++]!);
      };
      await Promise.all(Array.from({ length: Math.min(16, batch.length) }, worker));
    }
  }

  async close(): Promise<void> {
    if (!this.closed) await this.sync();
    this.closed = true;
  }
}
