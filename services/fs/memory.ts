// The in-memory NightOS filesystem backend (services/fs/layer.ts): a tree of nodes in this process,
// used by unit tests and as the reference behaviour the host-directory and Btrfs backends match.

import {
  type DirEntry,
  type FsLayer,
  fsErrors,
  type NodeStat,
  splitPath,
  walkPath,
} from "./layer.js";

interface Base {
  feid: bigint;
  mtimeMs: number;
}
interface FileNode extends Base {
  kind: "file";
  data: Uint8Array;
}
interface DirNode extends Base {
  kind: "dir";
  children: Map<string, MemNode>;
}
interface LinkNode extends Base {
  kind: "symlink";
  target: string;
}
type MemNode = FileNode | DirNode | LinkNode;

/** A resolved location: the folder holding the item, its name, and the item if it exists. */
interface Slot {
  parent: DirNode;
  parentParts: string[];
  name: string;
  node: MemNode | undefined;
}

export class MemoryFs implements FsLayer {
  readonly backend = "memory";
  private nextFeid = 256n;
  private readonly root: DirNode;
  private closed = false;

  constructor() {
    this.root = this.newDir();
  }

  private newDir(): DirNode {
    return { kind: "dir", children: new Map(), feid: this.nextFeid++, mtimeMs: Date.now() };
  }

  /** Walk to a path's folder, following symlinks in the middle (and at the end if asked). */
  private lookup(path: string, followLast: boolean): Slot | null {
    if (this.closed) throw fsErrors.closed();
    const slot = walkPath<DirNode, MemNode>(
      path,
      {
        root: this.root,
        entry: (dir, name) => dir.children.get(name),
        symlinkTarget: (node) => (node.kind === "symlink" ? node.target : undefined),
        asDir: (node) => (node.kind === "dir" ? node : undefined),
      },
      followLast,
    );
    return (
      slot && {
        parent: slot.parent,
        parentParts: slot.parentParts,
        name: slot.name,
        node: slot.entry,
      }
    );
  }

  /** The node at a path (following every symlink), or the root for "/". */
  private nodeAt(path: string, followLast: boolean): MemNode | undefined {
    const slot = this.lookup(path, followLast);
    return slot === null ? this.root : slot.node;
  }

  async stat(path: string): Promise<NodeStat | null> {
    let node: MemNode | undefined;
    try {
      node = this.nodeAt(path, false);
    } catch (e) {
      if ((e as { code?: string }).code === "FS_NOT_FOUND") return null;
      throw e;
    }
    if (node === undefined) return null;
    const size =
      node.kind === "file"
        ? node.data.length
        : node.kind === "symlink"
          ? Buffer.byteLength(node.target)
          : 0;
    return { kind: node.kind, size, mtimeMs: node.mtimeMs, feid: node.feid };
  }

  async readFile(path: string): Promise<Uint8Array> {
    const node = this.nodeAt(path, true);
    if (node === undefined) throw fsErrors.notFound(path);
    if (node.kind === "dir") throw fsErrors.isDir(path);
    if (node.kind !== "file") throw fsErrors.notFound(path);
    return node.data.slice();
  }

  async readRange(path: string, offset: number, length: number): Promise<Uint8Array> {
    const node = this.nodeAt(path, true);
    if (node === undefined) throw fsErrors.notFound(path);
    if (node.kind === "dir") throw fsErrors.isDir(path);
    if (node.kind !== "file") throw fsErrors.notFound(path);
    return node.data.slice(offset, offset + length);
  }

  async appendFile(path: string, data: Uint8Array): Promise<void> {
    const node = this.nodeAt(path, true);
    if (node === undefined) throw fsErrors.notFound(path);
    if (node.kind === "dir") throw fsErrors.isDir(path);
    if (node.kind !== "file") throw fsErrors.notFound(path);
    const all = new Uint8Array(node.data.length + data.length);
    all.set(node.data);
    all.set(data, node.data.length);
    node.data = all;
  }

  async writeFile(path: string, data: Uint8Array): Promise<void> {
    const slot = this.lookup(path, true);
    if (slot === null) throw fsErrors.isDir(path);
    if (slot.node?.kind === "dir") throw fsErrors.isDir(path);
    if (slot.node?.kind === "file") {
      slot.node.data = data.slice();
      slot.node.mtimeMs = Date.now();
      return;
    }
    slot.parent.children.set(slot.name, {
      kind: "file",
      data: data.slice(),
      feid: this.nextFeid++,
      mtimeMs: Date.now(),
    });
  }

  async mkdir(path: string, opts: { recursive?: boolean } = {}): Promise<void> {
    const parts = splitPath(path);
    if (opts.recursive) {
      for (let i = 1; i <= parts.length; i++) {
        const sub = `/${parts.slice(0, i).join("/")}`;
        const slot = this.lookup(sub, true)!;
        if (slot.node === undefined) slot.parent.children.set(slot.name, this.newDir());
        else if (slot.node.kind !== "dir") throw fsErrors.notDir(sub);
      }
      return;
    }
    const slot = this.lookup(path, false);
    if (slot === null || slot.node !== undefined) throw fsErrors.exists(path);
    slot.parent.children.set(slot.name, this.newDir());
  }

  async readdir(path: string): Promise<DirEntry[]> {
    const node = this.nodeAt(path, true);
    if (node === undefined) throw fsErrors.notFound(path);
    if (node.kind !== "dir") throw fsErrors.notDir(path);
    return [...node.children]
      .map(([name, n]) => ({ name, kind: n.kind }))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  async rm(path: string, opts: { recursive?: boolean; force?: boolean } = {}): Promise<void> {
    let slot: Slot | null;
    try {
      slot = this.lookup(path, false);
    } catch (e) {
      if (opts.force && (e as { code?: string }).code === "FS_NOT_FOUND") return;
      throw e;
    }
    if (slot === null) throw fsErrors.isDir(path); // the root cannot be removed
    if (slot.node === undefined) {
      if (opts.force) return;
      throw fsErrors.notFound(path);
    }
    if (slot.node.kind === "dir" && slot.node.children.size > 0 && !opts.recursive) {
      throw fsErrors.notEmpty(path);
    }
    slot.parent.children.delete(slot.name);
  }

  async rename(from: string, to: string, opts: { replace?: boolean } = {}): Promise<void> {
    const src = this.lookup(from, false);
    const dst = this.lookup(to, false);
    if (src === null || dst === null) throw fsErrors.isDir(src === null ? from : to);
    if (src.node === undefined) throw fsErrors.notFound(from);
    if (src.node.kind === "dir") {
      const dstFull = [...dst.parentParts, dst.name];
      const srcFull = [...src.parentParts, src.name];
      if (dstFull.length > srcFull.length && srcFull.every((p, i) => dstFull[i] === p)) {
        throw fsErrors.intoItself(from, to);
      }
    }
    if (dst.node !== undefined) {
      if (dst.node === src.node) return;
      if (dst.node.kind === "dir" || src.node.kind === "dir" || !opts.replace) {
        throw fsErrors.exists(to);
      }
    }
    src.parent.children.delete(src.name);
    dst.parent.children.set(dst.name, src.node);
  }

  async symlink(target: string, path: string): Promise<void> {
    const slot = this.lookup(path, false);
    if (slot === null || slot.node !== undefined) throw fsErrors.exists(path);
    slot.parent.children.set(slot.name, {
      kind: "symlink",
      target,
      feid: this.nextFeid++,
      mtimeMs: Date.now(),
    });
  }

  async readlink(path: string): Promise<string> {
    const node = this.nodeAt(path, false);
    if (node === undefined) throw fsErrors.notFound(path);
    if (node.kind !== "symlink") throw fsErrors.notLink(path);
    return node.target;
  }

  async sync(): Promise<void> {
    if (this.closed) throw fsErrors.closed();
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}
