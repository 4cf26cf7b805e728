// The NightOS tree as the home's running kernel holds it (docs/skyer.md "Writers and readers"): an
// FsLayer whose every operation is a tree request to the kernel (server/tree.ts), the tree's one
// writer while it runs. services/fs/open.ts hands it to writers when a kernel runs (cli/kernel-tree.ts).

import { type ErrorKind, NcwError } from "../ncw/errors.js";
import {
  type DirEntry,
  type FsLayer,
  fsErrors,
  type NodeStat,
  splitPath,
} from "../services/fs/layer.js";
import type { ClientMessage, KernelMessage, TreeOp } from "./protocol.js";

/** A connection to the kernel (kernel-compat/client.ts KernelConnection is one). */
export interface KernelChannel {
  request<T>(m: ClientMessage, pick: (r: KernelMessage) => T | undefined): Promise<T>;
  close(): void;
}

export class RemoteFs implements FsLayer {
  readonly backend = "kernel";
  private nextId = 1;
  private closed = false;

  constructor(private readonly conn: KernelChannel) {}

  /** Send one operation and wait for its answer; the kernel's error comes back as an NcwError. */
  request<T>(op: TreeOp): Promise<T> {
    if (this.closed) return Promise.reject(fsErrors.closed());
    const id = this.nextId++;
    return this.conn
      .request({ t: "tree", id, op }, (m: KernelMessage) =>
        m.t === "tree" && m.id === id ? m : undefined,
      )
      .then((a) => {
        if (a.ok) return a.value as T;
        throw new NcwError(a.error.kind as ErrorKind, a.error.message, {
          code: a.error.code,
          ...(a.error.hint !== undefined ? { hint: a.error.hint } : {}),
        });
      });
  }

  /** Paths are checked here as every backend checks them, before anything is sent. */
  private checked(...paths: string[]): void {
    for (const p of paths) splitPath(p);
  }

  stat(path: string): Promise<NodeStat | null> {
    this.checked(path);
    return this.request({ op: "stat", path });
  }
  readFile(path: string): Promise<Uint8Array> {
    this.checked(path);
    return this.request({ op: "readFile", path });
  }
  readRange(path: string, offset: number, length: number): Promise<Uint8Array> {
    this.checked(path);
    return this.request({ op: "readRange", path, offset, length });
  }
  writeFile(path: string, data: Uint8Array): Promise<void> {
    this.checked(path);
    return this.request({ op: "writeFile", path, data });
  }
  appendFile(path: string, data: Uint8Array): Promise<void> {
    this.checked(path);
    return this.request({ op: "appendFile", path, data });
  }
  mkdir(path: string, opts: { recursive?: boolean } = {}): Promise<void> {
    this.checked(path);
    return this.request({ op: "mkdir", path, recursive: opts.recursive === true });
  }
  readdir(path: string): Promise<DirEntry[]> {
    this.checked(path);
    return this.request({ op: "readdir", path });
  }
  rm(path: string, opts: { recursive?: boolean; force?: boolean } = {}): Promise<void> {
    this.checked(path);
    return this.request({
      op: "rm",
      path,
      recursive: opts.recursive === true,
      force: opts.force === true,
    });
  }
  rename(from: string, to: string, opts: { replace?: boolean } = {}): Promise<void> {
    this.checked(from, to);
    return this.request({ op: "rename", from, to, replace: opts.replace === true });
  }
  symlink(target: string, path: string): Promise<void> {
    this.checked(path);
    return this.request({ op: "symlink", target, path });
  }
  readlink(path: string): Promise<string> {
    this.checked(path);
    return this.request({ op: "readlink", path });
  }
  /** A new, empty Btrfs subvolume at `path` (FS_NOT_BTRFS when the tree is not an image). */
  createSubvolume(path: string): Promise<void> {
    this.checked(path);
    return this.request({ op: "createSubvolume", path });
  }
  /** A snapshot of the subvolume `src` at `dest`: it shares every block with `src` until written. */
  snapshot(src: string, dest: string, opts: { readOnly?: boolean } = {}): Promise<void> {
    this.checked(src, dest);
    return this.request({ op: "snapshot", src, dest, readOnly: opts.readOnly === true });
  }
  /** Deletes the subvolume (or snapshot) at `path` and everything in it. */
  deleteSubvolume(path: string): Promise<void> {
    this.checked(path);
    return this.request({ op: "deleteSubvolume", path });
  }
  /**
   * Deletes the subvolumes `drop`, then snapshots `src` as each of `dests`, in one commit; when one
   * fails, none of them is done (`ncw test`'s homes, a window at a time).
   */
  subvolumes(drop: string[], src: string, dests: string[]): Promise<void> {
    this.checked(src, ...drop, ...dests);
    return this.request({ op: "subvolumes", drop, src, dests });
  }
  /** Every change the kernel acknowledged is committed already; this waits for those before it. */
  sync(): Promise<void> {
    return this.request({ op: "sync" });
  }
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.conn.close();
  }
}
