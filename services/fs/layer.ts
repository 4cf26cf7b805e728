// The NightOS filesystem layer: the interface every part of NCW uses to reach the NightOS tree
// (/apps, /home/<user>, /etc, /tmp, ...). Backends: the Btrfs image (the default once it lands),
// a host directory (kept for debugging) and memory (unit tests). Paths are absolute NightOS paths
// ("/apps/foo/content/main.npp"), always with "/" separators, never containing "." or "..".

import { NcwError } from "../../ncw/errors.js";

export type NodeKind = "file" | "dir" | "symlink";

export interface NodeStat {
  kind: NodeKind;
  size: number;
  /** Modification time, ms since the epoch. */
  mtimeMs: number;
  /** Stable identifier of the item inside this filesystem (the spec's FEID), when known. */
  feid?: bigint;
}

export interface DirEntry {
  /** The name as text; a name that is not valid UTF-8 shows U+FFFD where its bad bytes are. */
  name: string;
  kind: NodeKind;
  /** The name's bytes, given when `name` does not spell them (they are not valid UTF-8). */
  raw?: Uint8Array;
}

/**
 * A NightOS filesystem. All methods reject with NcwError("not-found") for a missing path and
 * NcwError("conflict") for an existing destination where one is not allowed.
 */
export interface FsLayer {
  /** A short name of the backend, e.g. "hostdir", "memory", "btrfs". */
  readonly backend: string;
  /**
   * Describe an item without following a final symlink (lstat); null when it does not exist.
   * Symlinks in the *middle* of a path are followed, inside the NightOS tree only.
   */
  stat(path: string): Promise<NodeStat | null>;
  readFile(path: string): Promise<Uint8Array>;
  /**
   * At most `length` bytes of a file from byte `offset`: fewer at its end, none from its end on (a
   * file read in bounded pieces, as Hydre's `<` streams one into a command's CMDIN).
   */
  readRange(path: string, offset: number, length: number): Promise<Uint8Array>;
  /** Create or replace a file's content. The parent directory must exist. */
  writeFile(path: string, data: Uint8Array): Promise<void>;
  /**
   * Add `data` at the end of an existing file (a file written in bounded pieces, as Hydre's `@>`
   * writes a command's CMDRAW).
   */
  appendFile(path: string, data: Uint8Array): Promise<void>;
  mkdir(path: string, opts?: { recursive?: boolean }): Promise<void>;
  readdir(path: string): Promise<DirEntry[]>;
  /** Remove a file, a symlink or (with recursive) a directory tree. Missing paths are ignored with force. */
  rm(path: string, opts?: { recursive?: boolean; force?: boolean }): Promise<void>;
  /**
   * Atomically move a file or directory. With `replace`, an existing destination *file* is replaced
   * atomically; an existing destination directory is never replaced (remove it first).
   */
  rename(from: string, to: string, opts?: { replace?: boolean }): Promise<void>;
  /**
   * Create a symlink. The target is a NightOS path (absolute, or relative to the link's folder);
   * backends resolve it inside the NightOS tree only, never on the host.
   */
  symlink(target: string, path: string): Promise<void>;
  readlink(path: string): Promise<string>;
  /** Make everything written so far durable (fsync / transaction commit). */
  sync(): Promise<void>;
  close(): Promise<void>;
}

/** Split and check a NightOS path; throws on relative paths, "." / ".." components or NUL bytes. */
export function splitPath(p: string): string[] {
  if (!p.startsWith("/"))
    throw new TypeError(`NightOS path must be absolute: ${JSON.stringify(p)}`);
  const parts = p.split("/").filter((s) => s.length > 0);
  for (const part of parts) {
    if (part === "." || part === ".." || part.includes("\0") || part.includes("\\")) {
      throw new TypeError(
        `invalid NightOS path component ${JSON.stringify(part)} in ${JSON.stringify(p)}`,
      );
    }
  }
  return parts;
}

export function joinPath(...parts: string[]): string {
  const joined = parts.join("/").replace(/\/+/g, "/");
  return joined.startsWith("/") ? joined : `/${joined}`;
}

export function parentPath(p: string): string {
  const parts = splitPath(p);
  parts.pop();
  return `/${parts.join("/")}`;
}

/** Symlinks followed while resolving one path before it is reported as a cycle (as Linux's ELOOP). */
export const MAX_SYMLINK_HOPS = 40;

/**
 * Where a symlink at `linkParent` (split path of the folder holding it) with `target` points, as a
 * split absolute NightOS path. ".." never climbs above "/", so a link cannot leave the tree.
 */
export function resolveLinkTarget(linkParent: readonly string[], target: string): string[] {
  const out = target.startsWith("/") ? [] : [...linkParent];
  for (const part of target.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") out.pop();
    else out.push(part);
  }
  return out;
}

/**
 * The outcome of resolving split components through symlinks (services/fs/service/paths.ts
 * `resolve`), as a backend that does it in one step gives it (BtrfsLayer.resolveParts): the
 * components reached without any symlink and the last item's lstat (null: missing, its folder
 * there), or why not, with the components then pending and how far resolution reached.
 */
export type PartsResolution =
  | { ok: true; parts: string[]; stat: NodeStat | null }
  | {
      ok: false;
      why: "not-found" | "cyclic";
      pending: readonly string[];
      reached: readonly string[];
    };

/** What a backend tells `walkPath` about its folders and entries (D: a folder, E: an entry in one). */
export interface PathWalker<D, E> {
  readonly root: D;
  /** The entry called `name` in `dir`, if any. */
  entry(dir: D, name: string): E | undefined;
  /** The target of a symlink entry; undefined for anything else. */
  symlinkTarget(entry: E): string | undefined;
  /** The folder an entry is; undefined when it is not a folder. */
  asDir(entry: E): D | undefined;
}

/** Where a path ends: its parent folder (and that folder's split path), its name and its entry if any. */
export interface WalkSlot<D, E> {
  parent: D;
  parentParts: string[];
  name: string;
  entry: E | undefined;
}

/**
 * Walk a NightOS path to its last component, following symlinks in the middle (and at the end when
 * `followLast`), at most MAX_SYMLINK_HOPS of them. Returns null for the root itself (it has no slot);
 * throws fsErrors.notFound / notDir / loop.
 */
export function walkPath<D, E>(
  path: string,
  w: PathWalker<D, E>,
  followLast: boolean,
): WalkSlot<D, E> | null {
  // One pass over the components, each visited once (no re-slicing of the rest or re-copying of
  // the folder's split path per step), so a walk costs time linear in the path's depth.
  let pending = splitPath(path);
  let at = 0;
  if (pending.length === 0) return null;
  let dir = w.root;
  let dirParts: string[] = [];
  let hops = 0;
  for (;;) {
    const name = pending[at]!;
    const entry = w.entry(dir, name);
    const isLast = at === pending.length - 1;
    const target =
      entry !== undefined && (!isLast || followLast) ? w.symlinkTarget(entry) : undefined;
    if (target !== undefined) {
      if (++hops > MAX_SYMLINK_HOPS) throw fsErrors.loop(path);
      pending = [...resolveLinkTarget(dirParts, target), ...pending.slice(at + 1)];
      at = 0;
      dir = w.root;
      dirParts = [];
      if (pending.length === 0) return null;
      continue;
    }
    if (isLast) return { parent: dir, parentParts: dirParts, name, entry };
    if (entry === undefined) throw fsErrors.notFound(path);
    const next = w.asDir(entry);
    if (next === undefined) throw fsErrors.notDir(path);
    dir = next;
    dirParts.push(name);
    at++;
  }
}

/** The errors every backend raises, so callers can tell them apart by code whatever the backend. */
export const fsErrors = {
  notFound: (p: string) =>
    new NcwError("not-found", `no such file or folder in the NightOS tree: ${p}`, {
      code: "FS_NOT_FOUND",
    }),
  exists: (p: string) =>
    new NcwError("conflict", `already exists in the NightOS tree: ${p}`, { code: "FS_EXISTS" }),
  notDir: (p: string) =>
    new NcwError("conflict", `not a folder in the NightOS tree: ${p}`, { code: "FS_NOT_DIR" }),
  isDir: (p: string) =>
    new NcwError("conflict", `is a folder in the NightOS tree: ${p}`, { code: "FS_IS_DIR" }),
  notEmpty: (p: string) =>
    new NcwError("conflict", `folder is not empty in the NightOS tree: ${p}`, {
      code: "FS_NOT_EMPTY",
    }),
  notLink: (p: string) =>
    new NcwError("data", `not a symlink in the NightOS tree: ${p}`, { code: "FS_NOT_SYMLINK" }),
  loop: (p: string) =>
    new NcwError("data", `too many symlinks (a cycle?) while resolving ${p}`, {
      code: "FS_SYMLINK_LOOP",
    }),
  intoItself: (from: string, to: string) =>
    new NcwError("conflict", `cannot move ${from} inside itself (${to})`, { code: "FS_INTO_SELF" }),
  closed: () => new NcwError("io", "the NightOS filesystem was closed", { code: "FS_CLOSED" }),
};
