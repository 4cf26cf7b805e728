// The NightOS filesystem layer: the interface every part of NCW uses to reach the NightOS tree
// (/apps, /home/<user>, /etc, /tmp, ...). Backends: the Btrfs image (the default once it lands),
// a host directory (kept for debugging) and memory (unit tests). Paths are absolute NightOS paths
// ("/apps/foo/content/main.npp"), always with "/" separators, never containing "." or "..".

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
  name: string;
  kind: NodeKind;
}

/**
 * A NightOS filesystem. All methods reject with NcwError("not-found") for a missing path and
 * NcwError("conflict") for an existing destination where one is not allowed.
 */
export interface FsLayer {
  /** A short name of the backend, e.g. "hostdir", "memory", "btrfs". */
  readonly backend: string;
  stat(path: string): Promise<NodeStat | null>;
  readFile(path: string): Promise<Uint8Array>;
  /** Create or replace a file's content. The parent directory must exist. */
  writeFile(path: string, data: Uint8Array): Promise<void>;
  mkdir(path: string, opts?: { recursive?: boolean }): Promise<void>;
  readdir(path: string): Promise<DirEntry[]>;
  /** Remove a file, a symlink or (with recursive) a directory tree. Missing paths are ignored with force. */
  rm(path: string, opts?: { recursive?: boolean; force?: boolean }): Promise<void>;
  /**
   * Atomically move a file or directory. With `replace`, an existing destination *file* is replaced
   * atomically; an existing destination directory is never replaced (remove it first).
   */
  rename(from: string, to: string, opts?: { replace?: boolean }): Promise<void>;
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
