// The kernel's ownership of the home's NightOS tree (docs/skyer.md "Writers and readers"): while a
// kernel runs it is the tree's only writer. CLI writers send it TreeOps (protocol.ts); they run here
// one at a time, and each one that changes the tree is committed before it is answered.

import { statSync } from "node:fs";
import { isNcwError } from "../../ncw/errors.js";
import type { HomeLayout } from "../../ncw/home.js";
import type { FsLayer } from "../../services/fs/layer.js";
import { type HostMount, mountTablePath, readMounts } from "../../services/fs/mounts.js";
import { openTree } from "../../services/fs/open.js";
import { markAsleep, prepareTree } from "../../services/fs/structure.js";
import { DEFAULT_USER } from "../../services/skyer/layout.js";
import type { TreeAnswer, TreeOp } from "../protocol.js";

/** How long the owner waits for a CLI that opened the image directly (before the kernel ran) to let go. */
export const OWNER_WAIT_MS = 60_000;

const READS = new Set<TreeOp["op"]>([
  "stat",
  "readFile",
  "readRange",
  "readdir",
  "readlink",
  "sandboxDiff",
  "sandboxList",
]);

/** The paths a request changes (a rename: both ends). */
function changedPaths(op: TreeOp): string[] {
  if (op.op === "rename") return [op.from, op.to];
  if (op.op === "subvolumes") return [...op.drop, ...op.dests];
  if (op.op === "sandboxApply") return ["/home", "/tmp", "/etc/public", op.dir];
  if ("dir" in op) return [op.dir];
  return "path" in op ? [op.path] : [];
}

export class TreeOwner {
  /**
   * Called after a committed request changed `path` (or a folder holding it): the kernel re-reads its
   * registry settings when `/etc/sys/registry` changes (main.ts; docs/registry.md "Who reads what").
   */
  onChange: (paths: string[]) => void = () => {};
  private layer: Promise<FsLayer> | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;

  constructor(
    private readonly home: HomeLayout,
    private readonly log: (line: string) => void,
  ) {}

  /**
   * The home's host mounts (docs/sysfs.md "Host mounts"), read when the kernel starts: a table that
   * does not parse gives none, a mount whose host folder is gone is left out; both are logged.
   */
  mounts(): HostMount[] {
    let all: HostMount[];
    try {
      all = readMounts(mountTablePath(this.home.root));
    } catch (e) {
      this.log(`no host mounts: ${(e as Error).message}`);
      return [];
    }
    return all.filter((m) => {
      let ok = false;
      try {
        ok = statSync(m.host).isDirectory();
      } catch {}
      this.log(
        ok
          ? `host mount /mnt/${m.name}: ${m.host}${m.readOnly ? " (read-only)" : ""}`
          : `host mount /mnt/${m.name} left out: ${m.host} is not a folder any more`,
      );
      return ok;
    });
  }

  /** The tree, opened for writing on the first request and kept until the kernel stops. */
  private open(): Promise<FsLayer> {
    this.layer ??= (async () => {
      const until = Date.now() + OWNER_WAIT_MS;
      for (;;) {
        try {
          const l = await openTree(this.home, { access: "write", owner: true });
          this.log(`the kernel owns the NightOS tree for writing (${l.backend})`);
          // The spec's structure and the users' homes, added in place to an older tree (docs/sysfs.md).
          const { wasAwake } = await prepareTree(l, DEFAULT_USER);
          await l.sync();
          if (wasAwake) this.log("the last run did not stop cleanly (/etc/sys/awake was left)");
          return l;
        } catch (e) {
          if ((e as { code?: string }).code !== "BTRFS_IMAGE_LOCKED" || Date.now() > until) {
            this.layer = undefined;
            throw e;
          }
          await new Promise((r) => setTimeout(r, 50));
        }
      }
    })();
    return this.layer;
  }

  /** The tree, for sys::fs (opened on its first call, as for a CLI request). */
  tree(): Promise<FsLayer> {
    if (this.closed) return Promise.reject(new Error("the kernel is stopping"));
    return this.open();
  }

  /**
   * Run `fn` as one step of the requests' queue: sys::fs runs each call (its changes and its commit)
   * here, so no CLI request falls between a change and its commit (a failed Btrfs operation aborts the
   * open transaction; docs/sysfs.md).
   */
  serialize<R>(fn: () => Promise<R>): Promise<R> {
    const p = this.queue.then(fn);
    this.queue = p.catch(() => undefined);
    return p;
  }

  /** Run one request after those before it; the answer carries the value or the error as a value. */
  handle(id: number, op: TreeOp): Promise<TreeAnswer> {
    const p = this.queue.then(async (): Promise<TreeAnswer> => {
      try {
        if (this.closed) throw new Error("the kernel is stopping");
        const fs = await this.open();
        // sys::fs's changes answered and not yet committed (its group commit) are committed first, so
        // a change here that fails (aborting the open transaction) cannot take them back.
        if (!READS.has(op.op)) await fs.sync();
        const value = await this.apply(fs, op);
        // An acknowledged change is committed: a kill of the kernel after the answer loses nothing,
        // and a later request that fails (and aborts the open transaction) cannot take it back.
        if (!READS.has(op.op)) {
          await fs.sync();
          const paths = changedPaths(op);
          // After this step of the queue: a listener that reads the tree queues behind it.
          queueMicrotask(() => this.onChange(paths));
        }
        return { t: "tree", id, ok: true, value };
      } catch (e) {
        const err = e as Error & { code?: string; kind?: string; hint?: string };
        if (!isNcwError(e)) this.log(`tree request ${op.op} failed: ${err.stack ?? err.message}`);
        return {
          t: "tree",
          id,
          ok: false,
          error: {
            code: isNcwError(e) ? e.code : e instanceof TypeError ? "FS_BAD_PATH" : "FS_KERNEL",
            message: err.message,
            kind: isNcwError(e) ? e.kind : e instanceof TypeError ? "usage" : "failure",
            ...(isNcwError(e) && e.hint !== undefined ? { hint: e.hint } : {}),
          },
        };
      }
    });
    this.queue = p;
    return p;
  }

  private async apply(fs: FsLayer, op: TreeOp): Promise<unknown> {
    switch (op.op) {
      case "stat":
        return fs.stat(op.path);
      case "readFile":
        return fs.readFile(op.path);
      case "readRange":
        return fs.readRange(op.path, op.offset, op.length);
      case "readdir":
        return fs.readdir(op.path);
      case "readlink":
        return fs.readlink(op.path);
      case "writeFile":
        return fs.writeFile(op.path, op.data);
      case "appendFile":
        return fs.appendFile(op.path, op.data);
      case "mkdir":
        return fs.mkdir(op.path, { recursive: op.recursive });
      case "rm":
        return fs.rm(op.path, { recursive: op.recursive, force: op.force });
      case "rename":
        return fs.rename(op.from, op.to, { replace: op.replace });
      case "symlink":
        return fs.symlink(op.target, op.path);
      case "sync":
        return undefined;
      case "putHost":
        return this.putHost(fs, op);
      case "createSubvolume":
        // The subvolume's id stays in the kernel: callers name subvolumes by path.
        await (await this.btrfs(fs)).createSubvolume(op.path);
        return undefined;
      case "snapshot":
        await (await this.btrfs(fs)).snapshot(op.src, op.dest, { readOnly: op.readOnly });
        return undefined;
      case "deleteSubvolume":
        return (await this.btrfs(fs)).deleteSubvolume(op.path);
      case "subvolumes":
        return (await this.btrfs(fs)).subvolumes(op.drop, op.src, op.dests);
      case "sandboxOpen":
        return this.sandboxOpen(await this.btrfs(fs), op.dir);
      case "sandboxDiff": {
        const { diffSandbox } = await import("../../services/fs/sandbox.js");
        return diffSandbox(await this.btrfs(fs), op.dir, op.user);
      }
      case "sandboxApply":
        return this.sandboxApply(await this.btrfs(fs), op.dir, op.user, op.keep);
      case "sandboxDrop":
        return this.sandboxDrop(await this.btrfs(fs), op.dir);
      case "sandboxList":
        return this.sandboxList(fs, op.user);
    }
  }

  /** Run a request of the queue from inside the kernel (main.ts: `ncw run --sandbox` opens its sandbox). */
  request(op: TreeOp): Promise<unknown> {
    return this.handle(0, op).then((a) => {
      if (a.ok) return a.value;
      throw Object.assign(new Error(a.error.message), a.error);
    });
  }

  /** The sandbox's snapshots of "/" (docs/dev-loop.md "Sandboxes"), made unless they exist. */
  private async sandboxOpen(
    fs: import("../../services/fs/btrfs/layer.js").BtrfsLayer,
    dir: string,
  ): Promise<{ created: boolean }> {
    if ((await fs.stat(`${dir}/tree`)) !== null && (await fs.stat(`${dir}/base`)) !== null)
      return { created: false };
    // What an interrupted open or drop left.
    await this.sandboxDrop(fs, dir);
    await fs.mkdir(dir, { recursive: true });
    await fs.snapshot("/", `${dir}/base`, { readOnly: true });
    await fs.snapshot("/", `${dir}/tree`);
    return { created: true };
  }

  private async sandboxDrop(
    fs: import("../../services/fs/btrfs/layer.js").BtrfsLayer,
    dir: string,
  ): Promise<void> {
    for (const s of ["tree", "base"])
      if ((await fs.stat(`${dir}/${s}`)) !== null) await fs.deleteSubvolume(`${dir}/${s}`);
    await fs.rm(dir, { recursive: true, force: true });
  }

  /** Apply, then the next run's starting point: `base` made again (persistent) or the sandbox dropped. */
  private async sandboxApply(
    fs: import("../../services/fs/btrfs/layer.js").BtrfsLayer,
    dir: string,
    user: string,
    keep: boolean,
  ): Promise<unknown> {
    const { applySandbox, diffSandbox } = await import("../../services/fs/sandbox.js");
    const result = await applySandbox(fs, dir, await diffSandbox(fs, dir, user));
    if (keep) {
      // What was applied is now in the real tree: the new base is the real tree as it is now (what
      // was refused still differs from it, so it stays to apply).
      await fs.deleteSubvolume(`${dir}/base`);
      await fs.snapshot("/", `${dir}/base`, { readOnly: true });
    } else await this.sandboxDrop(fs, dir);
    return result;
  }

  /** The sandboxes of `user`: each app folder's `sandboxes/<name>` that holds a sandbox's snapshots. */
  private async sandboxList(
    fs: FsLayer,
    user: string,
  ): Promise<{ app: string; name: string; dir: string }[]> {
    const out: { app: string; name: string; dir: string }[] = [];
    const appdata = `/home/${user}/appdata`;
    if ((await fs.stat(appdata))?.kind !== "dir") return out;
    for (const a of await fs.readdir(appdata)) {
      const folder = `${appdata}/${a.name}/sandboxes`;
      if (a.kind !== "dir" || (await fs.stat(folder))?.kind !== "dir") continue;
      for (const s of await fs.readdir(folder))
        if ((await fs.stat(`${folder}/${s.name}/tree`)) !== null)
          out.push({ app: a.name, name: s.name, dir: `${folder}/${s.name}` });
    }
    return out;
  }

  /** The tree as the Btrfs layer (subvolumes and snapshots exist only there). */
  private async btrfs(fs: FsLayer): Promise<import("../../services/fs/btrfs/layer.js").BtrfsLayer> {
    const { BtrfsLayer } = await import("../../services/fs/btrfs/layer.js");
    if (!(fs instanceof BtrfsLayer)) {
      const { NcwError } = await import("../../ncw/errors.js");
      throw new NcwError("usage", "the home's tree is not a Btrfs image", { code: "FS_NOT_BTRFS" });
    }
    return fs;
  }

  /** `ncw fs put` on the kernel's open image: the kernel reads the host file itself, 8 MiB at a time. */
  private async putHost(fs: FsLayer, op: Extract<TreeOp, { op: "putHost" }>): Promise<unknown> {
    const { BtrfsLayer } = await import("../../services/fs/btrfs/layer.js");
    if (!(fs instanceof BtrfsLayer)) {
      const { NcwError } = await import("../../ncw/errors.js");
      throw new NcwError("usage", "the home's tree is not a Btrfs image", { code: "FS_NOT_BTRFS" });
    }
    const { putHostFile, putHostTree } = await import("../../services/fs/btrfs/image.js");
    const { feidOf } = await import("../../services/fs/btrfs/fs.js");
    const before = fs.fs.compression;
    fs.fs.compression = op.compression;
    try {
      if (op.recursive) return await putHostTree(fs, op.hostPath, op.path);
      const { bytes, id } = await putHostFile(fs, op.hostPath, op.path);
      return { bytes, feid: feidOf(id) };
    } finally {
      fs.fs.compression = before;
    }
  }

  /** Let the tree go (commit, release the image's lock) once the requests already queued are done. */
  async close(): Promise<void> {
    this.closed = true;
    await this.queue.catch(() => undefined);
    const l = this.layer;
    this.layer = undefined;
    const fs = await l?.catch(() => undefined);
    if (fs === undefined) return;
    await markAsleep(fs).catch((e) =>
      this.log(`could not mark the tree asleep: ${(e as Error).message}`),
    );
    await fs.close();
  }
}
