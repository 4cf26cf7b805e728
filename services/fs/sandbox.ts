// Sandboxes (spec features/sandboxes.md; docs/dev-loop.md "Sandboxes"): an app run with
// `ncw run --sandbox` writes to a Btrfs snapshot of the tree stored in its `sandboxes` folder instead
// of the real tree. Here: where a sandbox lives, the per-process view sys::fs gives a sandboxed
// process, the diff of a sandbox against the tree it was made from, and applying it to the real tree.

import { FT_DIR, FT_SYMLINK } from "./btrfs/format/items.js";
import { INODE_ITEM_KEY } from "./btrfs/format/key.js";
import type { InodeId } from "./btrfs/fsread.js";
import type { BtrfsLayer } from "./btrfs/layer.js";
import { type DirEntry, type FsLayer, fsErrors, type NodeStat, splitPath } from "./layer.js";
import { coveredPrefixes, inSandboxes } from "./sandbox-layout.js";

export {
  coveredPrefixes,
  DEFAULT_SANDBOX,
  inSandboxes,
  isOneOffName,
  oneOffSandboxName,
  SANDBOX_NAME,
  sandboxFolder,
  volatileAppFolder,
} from "./sandbox-layout.js";

const within = (p: string, prefix: string) => p === prefix || p.startsWith(`${prefix}/`);

/**
 * The tree as a sandboxed process sees it: the covered paths are those of the sandbox's snapshot
 * (`root`, a snapshot of "/", so `/home/u/x` is `<root>/home/u/x`), every other path is the real
 * tree's. Paths are the process' own (virtual) paths: sys::fs resolves symlinks itself, one
 * component at a time, so a link's target (a virtual path) is mapped again. The sandboxes folders are
 * hidden (a snapshot holds the nested subvolumes of the tree it copied as entries).
 */
export class SandboxView implements FsLayer {
  readonly backend: string;
  private readonly prefixes: string[];

  constructor(
    readonly base: FsLayer,
    readonly root: string,
    user: string,
  ) {
    this.backend = base.backend;
    this.prefixes = coveredPrefixes(user);
  }

  /** The real tree's path of a virtual path; throws not-found for a hidden one. */
  map(p: string): string {
    if (inSandboxes(splitPath(p))) throw fsErrors.notFound(p);
    for (const prefix of this.prefixes) if (within(p, prefix)) return `${this.root}${p}`;
    return p;
  }

  /** The virtual path of a real one, or null when the process cannot see it. */
  unmap(real: string): string | null {
    if (within(real, this.root)) {
      const v = real.slice(this.root.length) || "/";
      return this.prefixes.some((x) => within(v, x)) && !inSandboxes(splitPath(v)) ? v : null;
    }
    return this.prefixes.some((x) => within(real, x)) ? null : real;
  }

  private hidden(dir: string, name: string): boolean {
    return inSandboxes([...splitPath(dir), name]);
  }

  async stat(p: string): Promise<NodeStat | null> {
    if (inSandboxes(splitPath(p))) return null;
    return this.base.stat(this.map(p));
  }
  readFile(p: string): Promise<Uint8Array> {
    return this.base.readFile(this.map(p));
  }
  readRange(p: string, offset: number, length: number): Promise<Uint8Array> {
    return this.base.readRange(this.map(p), offset, length);
  }
  writeFile(p: string, data: Uint8Array): Promise<void> {
    return this.base.writeFile(this.map(p), data);
  }
  appendFile(p: string, data: Uint8Array): Promise<void> {
    return this.base.appendFile(this.map(p), data);
  }
  mkdir(p: string, opts?: { recursive?: boolean }): Promise<void> {
    return this.base.mkdir(this.map(p), opts);
  }
  async readdir(p: string): Promise<DirEntry[]> {
    return (await this.base.readdir(this.map(p))).filter((e) => !this.hidden(p, e.name));
  }
  rm(p: string, opts?: { recursive?: boolean; force?: boolean }): Promise<void> {
    return this.base.rm(this.map(p), opts);
  }
  rename(from: string, to: string, opts?: { replace?: boolean }): Promise<void> {
    return this.base.rename(this.map(from), this.map(to), opts);
  }
  symlink(target: string, p: string): Promise<void> {
    // The target stays virtual: sys::fs resolves it in the process' view.
    return this.base.symlink(target, this.map(p));
  }
  readlink(p: string): Promise<string> {
    return this.base.readlink(this.map(p));
  }
  sync(): Promise<void> {
    return this.base.sync();
  }
  close(): Promise<void> {
    return Promise.resolve();
  }

  // What sys::fs and its store use of a Btrfs layer (services/fs/service/store.ts).
  private get btrfs(): BtrfsLayer {
    return this.base as BtrfsLayer;
  }
  get fs(): BtrfsLayer["fs"] {
    return this.btrfs.fs;
  }
  async list(p: string): Promise<Awaited<ReturnType<BtrfsLayer["list"]>>> {
    return (await this.btrfs.list(this.map(p))).filter((e) => !this.hidden(p, e.name));
  }
  inodeAt(p: string): Promise<InodeId | undefined> {
    return this.btrfs.inodeAt(this.map(p));
  }
  exclusive<T>(fn: (fs: BtrfsLayer["fs"]) => Promise<T> | T): Promise<T> {
    return this.btrfs.exclusive(fn);
  }
  async pathOfFeid(feid: bigint): Promise<string | null> {
    const real = await this.btrfs.pathOfFeid(feid);
    return real === null ? null : this.unmap(real);
  }
}

// ---------------------------------------------------------------- the diff

export type ChangeKind = "added" | "changed" | "removed";

export interface SandboxChange {
  /** The item's path in the tree (as the app saw it). */
  path: string;
  change: ChangeKind;
  /** What the item is (for "removed": what it was). */
  kind: "file" | "dir" | "symlink";
  /** Bytes now (a removed item: 0; a folder: 0). */
  size: number;
  /** Bytes before (an added item: 0). */
  oldSize: number;
}

interface Found {
  id: InodeId;
  /** The inode item's bytes, undecoded (the walk compares them; items.ts's layout). */
  raw: Uint8Array;
  type: number;
}

const enc = new TextEncoder();
const dec = new TextDecoder();
const kindOfType = (t: number): SandboxChange["kind"] =>
  t === FT_DIR ? "dir" : t === FT_SYMLINK ? "symlink" : "file";

type Fs = BtrfsLayer["fs"];

/** The inode item's bytes of `id`. */
function rawInode(fs: Fs, id: InodeId): Uint8Array | undefined {
  return fs.reader().trees.lookup(id.root, { objectid: id.ino, type: INODE_ITEM_KEY, offset: 0n });
}

/** btrfs_inode_item: generation u64, transid u64, size u64, ... */
const sizeOf = (f: Found) =>
  Number(new DataView(f.raw.buffer, f.raw.byteOffset, f.raw.length).getBigUint64(16, true));

/** The item at `path` below subvolume top `top`, a final symlink not followed; undefined when none. */
function itemAt(fs: Fs, top: InodeId, path: string): Found | undefined {
  const r = fs.reader();
  let dir = top;
  const parts = splitPath(path);
  if (parts.length === 0) {
    const raw = rawInode(fs, top);
    return raw ? { id: top, raw, type: FT_DIR } : undefined;
  }
  for (let i = 0; i < parts.length; i++) {
    const e = r.lookup(dir, enc.encode(parts[i]!));
    if (e === undefined || e.subvolume) return undefined;
    const last = i === parts.length - 1;
    if (!last && e.type !== FT_DIR) return undefined;
    if (last) {
      const raw = rawInode(fs, e.target);
      return raw ? { id: e.target, raw, type: e.type } : undefined;
    }
    dir = e.target;
  }
  return undefined;
}

/** Entries of a folder by name, nested subvolumes left out (they are not part of the sandbox). */
function entries(fs: Fs, dir: InodeId): Map<string, Found> {
  const out = new Map<string, Found>();
  for (const e of fs.reader().readdir(dir)) {
    if (e.subvolume) continue;
    const raw = rawInode(fs, e.target);
    if (raw) out.set(dec.decode(e.name), { id: e.target, raw, type: e.type });
  }
  return out;
}

/** The bytes of a file or a symlink's target. */
async function bytesOf(fs: Fs, f: Found): Promise<Uint8Array> {
  if (f.type === FT_SYMLINK) return fs.reader().readInlineSync(f.id);
  return fs.reader().read(f.id, 0n, sizeOf(f));
}

const equalBytes = (x: Uint8Array, y: Uint8Array) => Buffer.compare(x, y) === 0;

/** inSandboxes of a path, split only when it can be one. */
const hiddenPath = (path: string) => path.includes("/sandboxes") && inSandboxes(splitPath(path));

/**
 * Whether two items (of two snapshots of one tree) are the same, without reading content when it
 * can: an item untouched since the snapshot is the same inode with the same inode item (its transid,
 * size and times unchanged); one that differs there with a different size has changed; one with the
 * same size is compared byte for byte (a file rewritten with the same bytes, or one applied to the
 * real tree, which is a new inode). "maybe": the bytes decide (sameBytes).
 */
function sameQuick(a: Found, b: Found): boolean | "maybe" {
  if (a.type !== b.type) return false;
  if (a.type === FT_DIR) return true;
  if (a.id.ino === b.id.ino && equalBytes(a.raw, b.raw)) return true;
  return sizeOf(a) !== sizeOf(b) ? false : "maybe";
}

async function same(fs: Fs, a: Found, b: Found): Promise<boolean> {
  const q = sameQuick(a, b);
  if (q !== "maybe") return q;
  return equalBytes(await bytesOf(fs, a), await bytesOf(fs, b));
}

function subvolumeTop(fs: Fs, path: string): InodeId {
  const f = itemAt(fs, fs.top(), path);
  if (f !== undefined) throw fsErrors.notFound(path); // a plain item, not a subvolume entry
  const parts = splitPath(path);
  const parent = itemAt(fs, fs.top(), `/${parts.slice(0, -1).join("/")}`);
  const e = parent && fs.reader().lookup(parent.id, enc.encode(parts[parts.length - 1]!));
  if (!e?.subvolume) throw fsErrors.notFound(path);
  return e.target;
}

/** The two snapshots of sandbox folder `dir`: `base` (the tree when it was made) and `tree` (the app's). */
export function sandboxTops(fs: Fs, dir: string): { base: InodeId; tree: InodeId } {
  return { base: subvolumeTop(fs, `${dir}/base`), tree: subvolumeTop(fs, `${dir}/tree`) };
}

/**
 * What the app changed in sandbox `dir`: its `tree` against its `base`, under the covered paths,
 * in path order (a folder before what is in it). Folders are walked whole on both sides; files are
 * compared by inode and transid first (no read), by content only when those differ and sizes match.
 */
export async function diffSandbox(
  layer: BtrfsLayer,
  dir: string,
  user: string,
): Promise<SandboxChange[]> {
  return layer.exclusive(async (fs) => {
    const { base, tree } = sandboxTops(fs, dir);
    const out: SandboxChange[] = [];
    // Files of the same size whose inode items differ: their bytes decide, after the walk.
    const maybe: { at: number; b: Found; t: Found }[] = [];
    const change = (path: string, f: Found, b: Found) => ({
      path,
      change: "changed" as const,
      kind: kindOfType(f.type),
      size: sizeOf(f),
      oldSize: sizeOf(b),
    });
    const all = (path: string, f: Found, kind: "added" | "removed") => {
      const size = f.type === FT_DIR ? 0 : sizeOf(f);
      out.push({
        path,
        change: kind,
        kind: kindOfType(f.type),
        size: kind === "added" ? size : 0,
        oldSize: kind === "removed" ? size : 0,
      });
      if (f.type === FT_DIR)
        for (const [n, c] of [...entries(fs, f.id)].sort(byName)) {
          const p = `${path}/${n}`;
          if (!hiddenPath(p)) all(p, c, kind);
        }
    };
    // Synchronous: one walk of both trees, no await per item.
    const walk = (path: string, b: Found | undefined, t: Found | undefined): void => {
      if (b === undefined && t === undefined) return;
      if (hiddenPath(path)) return;
      if (b === undefined || t === undefined || b.type !== t.type) {
        if (b !== undefined) all(path, b, "removed");
        if (t !== undefined) all(path, t, "added");
        return;
      }
      if (b.type === FT_DIR) {
        const [be, te] = [entries(fs, b.id), entries(fs, t.id)];
        const names = [...new Set([...be.keys(), ...te.keys()])].sort();
        for (const n of names) walk(`${path}/${n}`, be.get(n), te.get(n));
        return;
      }
      const q = sameQuick(b, t);
      if (q === false) out.push(change(path, t, b));
      else if (q === "maybe") {
        maybe.push({ at: out.length, b, t });
        out.push(change(path, t, b));
      }
    };
    for (const prefix of coveredPrefixes(user))
      walk(prefix, itemAt(fs, base, prefix), itemAt(fs, tree, prefix));
    const same = new Set<number>();
    for (const m of maybe)
      if (equalBytes(await bytesOf(fs, m.b), await bytesOf(fs, m.t))) same.add(m.at);
    return same.size === 0 ? out : out.filter((_, i) => !same.has(i));
  });
}

const byName = (a: [string, unknown], b: [string, unknown]) =>
  a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0;

export interface ApplyResult {
  applied: SandboxChange[];
  /** Changes not applied: the real tree changed the same item since the sandbox was made. */
  refused: (SandboxChange & { why: string })[];
}

/**
 * Copies sandbox `dir`'s changes into the real tree, as one transaction: the caller (the kernel's
 * tree owner) commits it once; a failure aborts it, so nothing is applied. A change whose item the
 * real tree changed too since the sandbox was made (it is no longer what `base` holds) is refused,
 * and so is what is inside a refused folder.
 */
export async function applySandbox(
  layer: BtrfsLayer,
  dir: string,
  changes: readonly SandboxChange[],
): Promise<ApplyResult> {
  const result: ApplyResult = { applied: [], refused: [] };
  // What to do, decided on one consistent reading of the three trees.
  const plan = await layer.exclusive(async (fs) => {
    const { base, tree } = sandboxTops(fs, dir);
    const steps: { c: SandboxChange; data?: Uint8Array; target?: string }[] = [];
    const refusedDirs: string[] = [];
    for (const c of changes) {
      if (refusedDirs.some((d) => within(c.path, d))) {
        result.refused.push({ ...c, why: "its folder was refused" });
        continue;
      }
      const b = itemAt(fs, base, c.path);
      const r = itemAt(fs, fs.top(), c.path);
      const unchanged =
        b === undefined
          ? r === undefined || (c.kind === "dir" && c.change === "added" && r.type === FT_DIR)
          : r !== undefined && (await same(fs, b, r));
      if (!unchanged) {
        result.refused.push({
          ...c,
          why: "the real tree changed it too since the sandbox was made",
        });
        if (c.kind === "dir") refusedDirs.push(c.path);
        continue;
      }
      const t = c.change === "removed" ? undefined : itemAt(fs, tree, c.path);
      if (t === undefined && c.change !== "removed")
        throw fsErrors.notFound(`${dir}/tree${c.path}`);
      steps.push({
        c,
        ...(t && t.type !== FT_DIR && t.type !== FT_SYMLINK ? { data: await bytesOf(fs, t) } : {}),
        ...(t && t.type === FT_SYMLINK ? { target: dec.decode(await bytesOf(fs, t)) } : {}),
      });
    }
    return steps;
  });
  try {
    // Removals deepest first (a folder after what was in it), then the rest in path order.
    const removals = plan.filter((s) => s.c.change === "removed").reverse();
    for (const s of removals) {
      const st = await layer.stat(s.c.path);
      if (st === null) continue;
      // A folder the real tree added to meanwhile keeps what was added (rm refuses a non-empty one).
      if (st.kind === "dir" && (await layer.readdir(s.c.path)).length > 0) {
        result.refused.push({ ...s.c, why: "the real tree added items in it" });
        continue;
      }
      await layer.rm(s.c.path);
      result.applied.push(s.c);
    }
    for (const s of plan) {
      const c = s.c;
      if (c.change === "removed") continue;
      if (c.change === "changed" || (await layer.stat(c.path)) !== null) {
        if (c.kind !== "file") await layer.rm(c.path, { force: true, recursive: false });
      }
      if (c.kind === "dir") {
        if ((await layer.stat(c.path))?.kind !== "dir") await layer.mkdir(c.path);
      } else if (c.kind === "symlink") await layer.symlink(s.target!, c.path);
      else await layer.writeFile(c.path, s.data!);
      result.applied.push(c);
    }
  } catch (e) {
    // All or none: forget every change made here (the caller commits nothing).
    await layer.exclusive((fs) => fs.abort());
    throw e;
  }
  return result;
}
