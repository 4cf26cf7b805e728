// sys::fs (PID 10, specs/services/system/fs.md): the NightOS filesystem for apps, on the home's tree
// (an FsLayer: the Btrfs image, or memory in unit tests). One handler per method of the table
// (commonassembly/abi/services/fs.ts): the host decodes the arguments with the table's codecs
// (fs-structures.ts), the handler resolves paths (paths.ts), checks the storage rules and the
// scoped fs.* permissions (access.ts), calls the layer and answers the table's fields or errcodes.
// Decisions: docs/sysfs.md.

import { SystemPid } from "../../../commonassembly/abi/numbers.js";
import type { FsPermission } from "../../../commonassembly/abi/permissions.js";
import type { EnumValue, Fields } from "../../../commonassembly/abi/services/fields.js";
import * as T from "../../../commonassembly/abi/services/fs.js";
import {
  type BufferPointer,
  FS_STRUCTURES,
  FsCapability,
  type FsPath,
  ItemFlag,
  type ItemMetadata,
  ItemType,
} from "../../../commonassembly/abi/services/fs-structures.js";
import {
  type MethodDef,
  ServiceCallErr,
  ServiceErr,
} from "../../../commonassembly/abi/services/method.js";
import type {
  Answer,
  Caller,
  NativeService,
  ProcessEvent,
  ServiceContext,
} from "../../host/service.js";
import type { BtrfsLayer } from "../btrfs/layer.js";
import { type FsLayer, fsErrors, type NodeStat, splitPath } from "../layer.js";
import { type MountedFs, MountView, mountedFs, mountSpace } from "../mount-view.js";
import { type HostWatch, OWN_CHANGE_MS, watchHostItem } from "../mount-watch.js";
import type { HostMount } from "../mounts.js";
import { fileNameProblem } from "../names.js";
import { SandboxView } from "../sandbox.js";
import { addUser, ensureUserHome, listUsers } from "../structure.js";
import {
  appDataArea,
  type FsIdentity,
  interimPolicy,
  type MountOptions,
  storageAllows,
} from "./access.js";
import { type OpenFile, OpenFiles } from "./handles.js";
import {
  normalizeSplit,
  pathOf,
  type Resolved,
  ResolveError,
  resolve,
  symlinkChain,
  tooLong,
} from "./paths.js";
import { feidOf, fsidOfTree, type ItemStore, storeOf } from "./store.js";
import { isTemporaryFeid, TemporaryFeids, type TemporaryRights } from "./temporary.js";

/** A client's memory, where READ_FILE and WRITE_FILE's buffer pointers point. */
export interface ClientMemory {
  /** `length` bytes at `address` of process `pid`; undefined when they are not all its memory. */
  read(pid: number, address: bigint, length: number): Promise<Uint8Array | undefined>;
  /** Write `bytes` at `address`; false when they do not all fit its memory. */
  write(pid: number, address: bigint, bytes: Uint8Array): Promise<boolean>;
}

/** Who a process is (its user and app), undefined for a PID the kernel does not know. */
export type IdentityOf = (pid: number) => FsIdentity | undefined | Promise<FsIdentity | undefined>;

/** Whether `who` holds a scoped fs.* permission for `parts` (null: a filesystem-wide permission). */
export type FsPermissionCheck = (
  who: FsIdentity,
  caller: Caller,
  permission: FsPermission,
  parts: readonly string[] | null,
) => boolean | Promise<boolean>;

export interface SysFsOptions {
  /** The home's tree (the kernel's TreeOwner layer), or how to open it on the first call. */
  layer: FsLayer | (() => Promise<FsLayer>);
  /** The FSID of the home's tree (docs/sysfs.md "Identifiers"); default: fsidOfTree(layer). */
  fsid?: bigint;
  /** The host mounts shown under /mnt/<name> (docs/sysfs.md "Host mounts"), as the kernel started (setMounts: later). */
  mounts?: readonly MountedFs[];
  /**
   * Runs each call after the other writers' operations on the same layer (the kernel's tree
   * requests): an operation that fails aborts the layer's open transaction, so no other writer's
   * operation may fall between a call's change and its commit. Default: sys::fs's own queue.
   */
  serialize?: <R>(fn: () => Promise<R>) => Promise<R>;
  identity: IdentityOf;
  /** The clients' memory (the kernel asks the client's runner, docs/sysfs.md "How an app reaches it"). */
  memory: ClientMemory;
  /**
   * Scoped permission check; default: NCW's interim policy (access.ts) or the host's checker
   * (`caller.has`, sys::perm's answer once it exists).
   */
  permits?: FsPermissionCheck;
  /**
   * Group commits (docs/sysfs.md "Commits"): a change is answered once it is in the open transaction,
   * and committed at most this many ms later, or at once past 1 MiB of data or 1,024 changes waiting. 0 (the default): every change is committed before its answer.
   */
  commitWindowMs?: number;
  now?: () => number;
}

/**
 * Thrown inside a call when only the user can settle a check: the call lets the tree's queue go, the
 * user is asked, and the call runs again from its start with the answer (SysFs.asking).
 */
class MustAsk extends Error {
  constructor(
    readonly permission: string,
    readonly scope: string | undefined,
  ) {
    super(`${permission} must be asked`);
  }
}

// The scope of an fs.* check is the item's resolved split path, `/`-joined (docs/permissions.md "Scopes").
// A check only the user can settle is not asked here, inside the tree's queue: MustAsk (when the host
// can tell, Caller.settled; otherwise the check asks where it stands).
const defaultPermits: FsPermissionCheck = async (who, caller, permission, parts) => {
  if (interimPolicy(who, permission, parts)) return true;
  const scope = parts === null ? undefined : `/${parts.join("/")}`;
  if (caller.settled === undefined) return caller.has(permission, scope);
  const s = await caller.settled(permission, scope);
  if (s === "ask") throw new MustAsk(permission, scope);
  return s === "granted";
};

/** A handler's early answer: thrown inside a handler, turned into its errcode. */
class Fail extends Error {
  constructor(readonly errcode: number) {
    super(`errcode 0x${errcode.toString(16)}`);
  }
}
const fail = (errcode: number): never => {
  throw new Fail(errcode);
};

/**
 * A check of the caller's rights on a path (Call.can): `permissions` on it (a new item: on `name`
 * under it). `check` throws a Fail.
 */
interface Guard {
  readonly call: Call;
  readonly permissions: readonly FsPermission[];
  readonly name: string | undefined;
  check(parts: readonly string[]): Promise<void>;
}

/** Whether `guard` accepts `parts`. */
const passes = async (guard: Guard, parts: readonly string[]): Promise<boolean> => {
  try {
    await guard.check(parts);
    return true;
  } catch (e) {
    if (e instanceof Fail) return false;
    throw e;
  }
};

/** The layer's error codes as a method's errcodes (each method names those it has). */
interface LayerCodes {
  notFound?: number;
  exists?: number;
  noSpace?: number;
  other?: number;
}

const typeByte = (s: NodeStat): number =>
  s.kind === "dir" ? ItemType.DIRECTORY : s.kind === "file" ? ItemType.FILE : ItemType.SYMLINK;

const isHidden = (name: string) => name.startsWith(".");

const NO_COUNTS = { aborts: 0, commits: 0 } as const;

/** Past these, the changes waiting are committed before the answer (docs/sysfs.md "Commits"). */
const REDO_MAX_BYTES = 1 << 20;
const REDO_MAX_OPS = 1024;

/** Largest single read or write (the Btrfs reader's limit, 2 GiB − 1). */
const MAX_IO = 0x7fff_ffff;

/** An item as a caller sees it (SysFs.itemFor): its own FEID and modification time, or why none. */
export type ItemSeen =
  | { ok: true; feid: bigint; mtimeMs: number }
  | { ok: false; why: "unknown-fsid" | "unknown-feid" };

export class SysFs implements NativeService {
  readonly name = "sys::fs";
  readonly pid = SystemPid["sys::fs"];
  readonly def = T.SYS_FS;
  readonly scopedPermissions = true;
  readonly structures = FS_STRUCTURES;

  /**
   * The tree as the current call's caller sees it, and its store: the home's tree, or a sandboxed
   * process' view of it (enter(); services/fs/sandbox.ts). Calls run one at a time, so the view is
   * chosen here once per call, and every method resolves its paths through it.
   */
  private layer!: FsLayer;
  private store!: ItemStore;
  /** The home's tree and its store (what every unsandboxed caller sees). */
  private real!: { layer: FsLayer; store: ItemStore };
  /** The sandboxed processes' views, by snapshot path. */
  private readonly views = new Map<string, { layer: FsLayer; store: ItemStore }>();
  private fsid!: bigint;
  /** The home's tree itself (under the MountView when there are mounts): the sandboxes' base. */
  private home!: FsLayer;
  private mounts: readonly MountedFs[];
  private mountByName: ReadonlyMap<string, MountedFs>;
  /**
   * The filesystem the current call's FSID names (ours()): its paths start at its root (a mount's:
   * /mnt/<name>) and its FEIDs are its own. The home's by default. Calls run one at a time.
   */
  private base: MountedFs | undefined;
  private opening: Promise<void> | undefined;
  private readonly permits: FsPermissionCheck;
  private readonly files = new OpenFiles();
  private readonly temporaries = new TemporaryFeids();
  /** The changes answered since the last commit, to re-apply after an abort (change()). */
  private redo: {
    op: () => Promise<unknown>;
    commits: number;
    /** The view the change was made in (a sandboxed caller's), where it is made again. */
    view: { layer: FsLayer; store: ItemStore };
  }[] = [];
  private redoBytes = 0;
  private commitTimer: ReturnType<typeof setTimeout> | undefined;
  /** Item watches: client → its watch IDs → the item watched (its filesystem and FEID). */
  private readonly watches = new Map<number, Map<bigint, { fsid: bigint; feid: bigint }>>();
  private readonly fsWatchers = new Set<number>();
  /** The host watchers of the watched items of mounts, by client and watch ID (mount-watch.ts). */
  private readonly hostWatches = new Map<string, Promise<HostWatch | undefined>>();
  /** Paths of host mounts sys::fs changed lately, and when: their host events are its own. */
  private readonly ownHostChanges = new Map<string, number>();
  private ctx: ServiceContext | undefined;
  /** Calls run one at a time: a lock check and the opening it allows cannot interleave. */
  private queue: Promise<unknown> = Promise.resolve();
  private readonly mountedAt: number;

  constructor(private readonly opts: SysFsOptions) {
    this.permits = opts.permits ?? defaultPermits;
    this.mountedAt = (opts.now ?? Date.now)();
    this.mounts = opts.mounts ?? [];
    this.mountByName = new Map(this.mounts.map((m) => [m.name, m]));
  }

  /** The layer, its store and FSID, once (a lazily opened tree is opened by the first call). */
  private ready(): Promise<void> {
    this.opening ??= (async () => {
      const l = this.opts.layer;
      this.home = typeof l === "function" ? await l() : l;
      this.showMounts();
      this.fsid = this.opts.fsid ?? fsidOfTree(this.home);
    })();
    this.opening.catch(() => {
      this.opening = undefined;
    });
    return this.opening;
  }

  /** The tree with the mounts (a MountView when there are some), as every unsandboxed caller sees it. */
  private showMounts(): void {
    if (this.mounts.length === 0) this.layer = this.home;
    else {
      const view = new MountView(this.home, this.mounts);
      view.onHostChange = (p) => this.ownHostChanges.set(p, Date.now());
      this.layer = view;
    }
    this.store = storeOf(this.layer);
    this.real = { layer: this.layer, store: this.store };
  }

  /**
   * The running kernel's mounts become `table` (`ncw mount` / `ncw umount` told it; docs/sysfs.md
   * "Host mounts"), between two calls: a mount kept keeps its FSID, mount time, open files and
   * watches; a mount gone closes its open files (their IDs are then unknown) and its items' watches
   * hear nothing more; FS_WATCH's subscribers get FS_CHANGED for each mount gone, then each one new.
   */
  setMounts(table: readonly HostMount[]): Promise<{ added: number; removed: number }> {
    return this.serial(async () => {
      const now = (this.opts.now ?? Date.now)();
      if (this.opening === undefined) {
        // Not serving yet: the tree is not opened for this; the first call shows the new table.
        const was = new Set(this.mounts.map((m) => m.fsid));
        const next = mountedFs(table, now);
        const removed = [...was].filter((f) => !next.some((m) => m.fsid === f)).length;
        this.mounts = next;
        this.mountByName = new Map(next.map((m) => [m.name, m]));
        return { added: next.filter((m) => !was.has(m.fsid)).length, removed };
      }
      await this.ready();
      const old = new Map(this.mounts.map((m) => [m.fsid, m]));
      const next = mountedFs(table, now).map((m) => {
        const kept = old.get(m.fsid);
        return kept !== undefined && kept.name === m.name && kept.host === m.host ? kept : m;
      });
      const gone = this.mounts.filter((m) => !next.includes(m));
      const added = next.filter((m) => !this.mounts.includes(m));
      for (const m of gone) {
        for (const f of this.files.closeUnder(`/mnt/${m.name}`)) this.changed(f.feid, 0x05, f.path);
        for (const [client, ws] of this.watches)
          for (const [id, w] of ws)
            if (w.fsid === m.fsid) {
              ws.delete(id);
              this.stopHostWatch(client, id);
            }
      }
      this.mounts = next;
      this.mountByName = new Map(next.map((m) => [m.name, m]));
      this.showMounts();
      for (const [mounted, list] of [
        [false, gone],
        [true, added],
      ] as const)
        for (const m of list)
          for (const client of this.fsWatchers)
            this.ctx?.notify(client, "FS_CHANGED", { mounted, fsid: m.fsid });
      return { added: added.length, removed: gone.length };
    });
  }

  /** The tree `who` sees: a sandboxed process' view (docs/dev-loop.md "Sandboxes"), else the home's. */
  private viewOf(who: FsIdentity): { layer: FsLayer; store: ItemStore } {
    if (who.sandbox === undefined) return this.real;
    let v = this.views.get(who.sandbox);
    if (v === undefined) {
      // A sandbox shows no host mount: its writes would reach the host (docs/sysfs.md "Host mounts").
      const layer = new SandboxView(this.home, who.sandbox, who.user);
      v = { layer, store: storeOf(layer) };
      this.views.set(who.sandbox, v);
    }
    return v;
  }

  /** Runs `fn` with `view` as the tree (one call's, or a redone change's); the home's after. */
  private async within<R>(
    view: { layer: FsLayer; store: ItemStore },
    fn: () => Promise<R>,
  ): Promise<R> {
    this.layer = view.layer;
    this.store = view.store;
    try {
      return await fn();
    } finally {
      this.layer = this.real.layer;
      this.store = this.real.store;
    }
  }

  attach(ctx: ServiceContext): void {
    this.ctx = ctx;
  }

  /** A known process connects; an app's data area is created for it (docs/sysfs.md). */
  async onConnect(client: Caller): Promise<boolean> {
    const who = await this.opts.identity(client.pid);
    if (who === undefined) return false;
    if (who.system === true) return true;
    const area = appDataArea(who);
    await this.serial(async () => {
      await this.ready();
      await this.within(this.viewOf(who), () => this.prepareClient(who, area));
    });
    return true;
  }

  /** A connecting client's home and data area, made if missing (in its view of the tree). */
  private async prepareClient(who: FsIdentity, area: string[] | undefined): Promise<void> {
    {
      // The user's home (a user first met here is added to /etc/sys/users), then the app's area.
      let changed = false;
      try {
        if (!(await listUsers(this.layer)).some((u) => u.name === who.user))
          changed = await addUser(this.layer, who.user);
        changed = (await ensureUserHome(this.layer, who.user)) || changed;
      } catch (e) {
        this.ctx?.log(`the home of user ${who.user} was not completed: ${(e as Error).message}`);
      }
      if (area !== undefined && (await this.layer.stat(pathOf(area)))?.kind !== "dir") {
        await this.layer.mkdir(pathOf(area), { recursive: true });
        changed = true;
      }
      // Not in the redo list (change()): committed at once, so no abort can forget it.
      if (changed) await this.commitNow();
    }
  }

  onDisconnect(clientPid: number): void {
    for (const f of this.files.closeAll(clientPid)) this.changed(f.feid, 0x05, f.path);
    for (const id of this.watches.get(clientPid)?.keys() ?? []) this.stopHostWatch(clientPid, id);
    this.watches.delete(clientPid);
    this.fsWatchers.delete(clientPid);
  }

  handle(method: MethodDef, args: Fields, caller: Caller): Promise<Answer> {
    return this.asking(caller, async (answers): Promise<Answer> => {
      const who = await this.opts.identity(caller.pid);
      if (who === undefined) return { ok: false, errcode: ServiceErr.PERMISSION };
      await this.ready();
      this.base = undefined;
      try {
        const value = await this.within(this.viewOf(who), () =>
          this.run(method, args, new Call(this.permits, who, caller, answers, this.mountAt)),
        );
        return { ok: true, value: value ?? {} };
      } catch (e) {
        if (e instanceof Fail) return { ok: false, errcode: e.errcode };
        throw e;
      }
    });
  }

  /**
   * Run `fn` as one step of the queue; when a check in it needs the user (MustAsk), the step ends, the
   * user is asked OUTSIDE the queue (other sys::fs calls and the CLI's tree requests go on meanwhile),
   * and `fn` runs again from the start with the answers so far (DECISION, docs/permissions.md "sys::fs":
   * a check comes before anything the call changes, so a call that stops there has changed nothing; the
   * item may have changed while the user was asked, and the call sees it as it is then). The answers
   * are the call's: "once" holds for the whole call, and each is asked once.
   */
  private async asking<R>(
    caller: Caller,
    fn: (answers: Map<string, boolean>) => Promise<R>,
  ): Promise<R> {
    const answers = new Map<string, boolean>();
    for (;;) {
      const step = await this.serial(async () => {
        try {
          return { done: true as const, value: await fn(answers) };
        } catch (e) {
          if (e instanceof MustAsk) return { done: false as const, ask: e };
          throw e;
        }
      });
      if (step.done) return step.value;
      const { permission, scope } = step.ask;
      answers.set(answerKey(permission, scope), await caller.has(permission, scope));
    }
  }

  private serial<R>(fn: () => Promise<R>): Promise<R> {
    if (this.opts.serialize !== undefined) return this.opts.serialize(fn);
    const p = this.queue.then(fn);
    this.queue = p.catch(() => undefined);
    return p;
  }

  // ---------------------------------------------------------------- dispatch

  private run(m: MethodDef, a: Fields, c: Call): Promise<Fields | undefined> {
    switch (m.code) {
      case T.IS_FS_MOUNTED.code:
        return this.isFsMounted(a, c);
      case T.ENUM_FS.code:
        return this.enumFs(c);
      case T.FS_METADATA.code:
        return this.fsMetadata(a, c);
      case T.FS_MOUNT.code:
        return this.fsMount(a, c);
      case T.FS_UNMOUNT.code:
        return this.fsUnmount(a, c);
      case T.FS_WATCH.code:
        return c.need("fs.filesystems.watch", null).then(() => {
          this.fsWatchers.add(c.caller.pid);
          return undefined;
        });
      case T.FS_UNWATCH.code:
        this.fsWatchers.delete(c.caller.pid);
        return Promise.resolve(undefined);
      case T.ITEM_EXISTS.code:
        return this.itemExists(a, c);
      case T.FEID_TO_SPLIT.code:
        return this.feidToSplit(a, c);
      case T.ITEM_METADATA.code:
        return this.itemMetadata(a, c);
      case T.RENAME_ITEM.code:
        return this.renameItem(a, c);
      case T.MOVE_ITEM.code:
        return this.moveItem(a, c);
      case T.DELETE_ITEM.code:
        return this.deleteItem(a, c);
      case T.CREATE_DIRECTORY.code:
        return this.createDirectory(a, c);
      case T.READ_DIRECTORY.code:
        return this.readDirectory(a, c);
      case T.OPEN_FILE.code:
        return this.openFile(a, c);
      case T.CLOSE_FILE.code:
        return this.closeFile(a, c);
      case T.READ_FILE.code:
        return this.readFile(a, c);
      case T.WRITE_FILE.code:
        return this.writeFile(a, c);
      case T.CREATE_SYMLINK.code:
        return this.createSymlink(a, c);
      case T.UPDATE_SYMLINK.code:
        return this.updateSymlink(a, c);
      case T.READ_SYMLINK.code:
        return this.readSymlink(a, c);
      case T.WATCH_ITEM.code:
        return this.watchItem(a, c);
      case T.UNWATCH.code:
        return this.unwatch(a, c);
      case T.FORMAT.code:
        return this.format(a, c);
      default:
        return Promise.resolve(fail(ServiceCallErr.UNKNOWN_METHOD));
    }
  }

  // ---------------------------------------------------------------- helpers the handlers share

  /**
   * An FSID argument: the home's tree or a host mount (the call's `base` from now on), or `errcode`.
   * A sandboxed caller sees no mount.
   */
  private ours(fsid: unknown, errcode: number): void {
    if (fsid === this.fsid) {
      this.base = undefined;
      return;
    }
    const m = this.layer instanceof MountView ? this.mountWithFsid(fsid) : undefined;
    if (m === undefined) fail(errcode);
    this.base = m;
  }

  /** /mnt/<name> of a host mount: neither moved, renamed nor removed by an app (`ncw umount`). */
  private isMountRoot(parts: readonly string[]): boolean {
    return parts.length === 2 && this.mountOf(parts) !== undefined;
  }

  private mountWithFsid(fsid: unknown): MountedFs | undefined {
    return this.mounts.find((m) => m.fsid === fsid);
  }

  /** The storage rules' view of a mount (access.ts). */
  private readonly mountAt = (name: string): MountOptions | undefined =>
    this.layer instanceof MountView ? this.mountByName.get(name) : undefined;

  /** The host mount holding the item at `parts` (resolved), if any. */
  private mountOf(parts: readonly string[]): MountedFs | undefined {
    return this.layer instanceof MountView ? this.layer.mountOf(parts) : undefined;
  }

  /** The FSID of the filesystem holding the item at `path`. */
  private fsidAt(path: string): bigint {
    return this.mountOf(splitPath(path))?.fsid ?? this.fsid;
  }

  /** The item with this FEID on the call's filesystem (`base`), or null. */
  private pathOfFeid(feid: bigint): Promise<string | null> {
    if (this.base !== undefined && this.layer instanceof MountView)
      return this.layer.pathOfFeidIn(this.base, feid);
    return this.store.pathOfFeid(feid);
  }

  /**
   * A path on the call's filesystem from its root, as an answer gives it (a mount's: without
   * /mnt/<name>; resolution from a mount never leaves it, its links are read inside it).
   */
  private relative(parts: readonly string[]): string[] {
    return this.base === undefined ? [...parts] : parts.slice(2);
  }

  /**
   * Where a filesystem path argument leads (`follow`: through a final symlink). A FEID no item has,
   * a component missing on the way, a path over the limit: `notFound`. Cycles on the way too, unless
   * the method has `cyclic`.
   *
   * `guard` checks the caller's rights on the path the item has, or would have (as far as resolution
   * reached, then the components left), BEFORE any "not found" is answered: where an app has no
   * permission it learns nothing of what exists (docs/sysfs.md "Paths"). A FEID whose item the guard
   * refuses is answered as a FEID no item has, so FEIDs cannot be probed either.
   */
  async locate(
    p: FsPath,
    follow: boolean,
    notFound: number,
    guard?: Guard,
  ): Promise<Resolved & { temporary?: bigint }> {
    let parts: string[];
    if ("feid" in p && isTemporaryFeid(p.feid))
      return this.locateTemporary(p.feid, follow, notFound, guard);
    if ("feid" in p) {
      const path = await this.pathOfFeid(p.feid);
      if (path === null) fail(notFound);
      parts = splitPath(path!);
      if (guard !== undefined && !(await passes(guard, parts))) fail(notFound);
    } else {
      // A mount's paths start at its root: ".." never leaves it (normalized first).
      parts = normalizeSplit(p.split);
      if (this.base !== undefined) parts = ["mnt", this.base.name, ...parts];
      // No item can have a "\\" in its name (checkName), so such a path names nothing.
      if (tooLong(parts) || parts.some((c) => c.includes("\\"))) {
        await guard?.check(parts);
        fail(notFound);
      }
    }
    let r: Resolved;
    try {
      r = await resolve(this.layer, parts, follow);
    } catch (e) {
      if (!(e instanceof ResolveError)) throw e;
      await guard?.check(e.reached);
      return fail(notFound);
    }
    await guard?.check(r.parts);
    return r;
  }

  /**
   * A temporary FEID (temporary.ts): only its holder may use it, for the rights it grants, on the
   * item itself (not to create items under it); it names nothing for anyone else. A followed symlink
   * leads to an item the rules decide on again.
   */
  private async locateTemporary(
    id: bigint,
    follow: boolean,
    notFound: number,
    guard: Guard | undefined,
  ): Promise<Resolved & { temporary?: bigint }> {
    const t = guard === undefined ? undefined : this.temporaries.get(id, guard.call.caller.pid);
    if (t === undefined) return fail(notFound);
    const path = await this.store.pathOfFeid(t.feid);
    if (path === null) {
      this.temporaries.itemGone(t.feid);
      return fail(notFound);
    }
    if (guard!.name !== undefined || !guard!.permissions.every((x) => t.rights.has(x)))
      fail(ServiceErr.PERMISSION);
    const r = await resolve(this.layer, splitPath(path), follow);
    if (r.path !== path) await guard!.check(r.parts);
    return { ...r, temporary: id };
  }

  /**
   * A temporary FEID for `holder` on the item at `path` (a NightOS path; a final symlink is not
   * followed), with `rights`; for the system services (sys::crashsave, sys::fsh), which give it to the
   * holder. It lives in memory until its item is removed, its holder ends, or `revokeTemporaryFeid`.
   * Throws FS_NOT_FOUND (NcwError "not-found") when no item is there. docs/sysfs.md "Temporary FEIDs".
   */
  createTemporaryFeid(path: string, holder: number, rights: TemporaryRights): Promise<bigint> {
    return this.serial(async () => {
      await this.ready();
      const st = await this.layer.stat(path);
      // Temporary FEIDs name items of the home's tree only (docs/sysfs.md "Host mounts").
      if (st === null || this.mountOf(splitPath(path)) !== undefined) throw fsErrors.notFound(path);
      return this.temporaries.create(feidOf(st, path), holder, rights);
    });
  }

  /**
   * The bytes of the file at `p`, read on `caller`'s behalf with the rights READ_FILE would need
   * (fs.items.read on it, the path rules, the prompt): for the system services that take a file an app
   * names (sys::app INSTALL_APP). A file the caller may not read is "permission"; no file, "not-found".
   */
  readFor(
    caller: Caller,
    p: FsPath,
  ): Promise<
    { ok: true; bytes: Uint8Array; path: string } | { ok: false; why: "not-found" | "permission" }
  > {
    return this.asking(caller, async (answers) => {
      const who = await this.opts.identity(caller.pid);
      if (who === undefined) return { ok: false, why: "permission" } as const;
      await this.ready();
      this.base = undefined;
      const NOT_FOUND = T.OPEN_FILE.errors.FILE_NOT_FOUND;
      try {
        // In the caller's view of the tree: a sandboxed app reads the package from its sandbox.
        return await this.within(this.viewOf(who), async () => {
          const c = new Call(this.permits, who, caller, answers, this.mountAt);
          const r = await this.existing(p, true, NOT_FOUND, c.can(["fs.items.read"]));
          if (r.stat.kind !== "file") fail(NOT_FOUND);
          return { ok: true, bytes: await this.layer.readFile(r.path), path: r.path } as const;
        });
      } catch (e) {
        if (!(e instanceof Fail)) throw e;
        return {
          ok: false,
          why: e.errcode === ServiceErr.PERMISSION ? "permission" : "not-found",
        } as const;
      }
    });
  }

  /**
   * The item `feid` of filesystem `fsid` as `caller` sees it (its view of the tree, the storage rules;
   * no permission is asked): for sys::fsh's caches, which answer "unknown FSID" and "unknown FEID". An
   * item the rules hide from the caller is an unknown FEID, as sys::fs answers it (docs/sysfs.md
   * "Paths").
   */
  itemFor(caller: Caller, fsid: bigint, feid: bigint): Promise<ItemSeen> {
    return this.asking(caller, async (answers) => {
      await this.ready();
      this.base = undefined;
      const who = await this.opts.identity(caller.pid);
      if (who === undefined) return { ok: false, why: "unknown-feid" } as const;
      const NOT_FOUND = -1;
      const UNKNOWN_FSID = -2;
      try {
        return await this.within(this.viewOf(who), async () => {
          // The home's tree or a host mount the caller sees (a sandboxed caller sees none).
          this.ours(fsid, UNKNOWN_FSID);
          const c = new Call(this.permits, who, caller, answers, this.mountAt);
          const r = await this.existing({ feid }, false, NOT_FOUND, c.can([]));
          return { ok: true, feid: feidOf(r.stat, r.path), mtimeMs: r.stat.mtimeMs } as const;
        });
      } catch (e) {
        if (!(e instanceof Fail)) throw e;
        return {
          ok: false,
          why: e.errcode === UNKNOWN_FSID ? "unknown-fsid" : "unknown-feid",
        } as const;
      }
    });
  }

  /** End a temporary FEID; false when it was not alive. */
  revokeTemporaryFeid(id: bigint): boolean {
    return this.temporaries.revoke(id);
  }

  onProcessExit(p: ProcessEvent): void {
    this.temporaries.holderEnded(p.pid);
  }

  /** Like locate, the item existing. */
  async existing(
    p: FsPath,
    follow: boolean,
    notFound: number,
    guard?: Guard,
  ): Promise<Resolved & { stat: NodeStat; temporary?: bigint }> {
    const r = await this.locate(p, follow, notFound, guard);
    if (r.stat === null) fail(notFound);
    return r as Resolved & { stat: NodeStat };
  }

  /** A layer call with its errors as the method's errcodes (unknown failures: `other`, or thrown). */
  async layerCall<R>(codes: LayerCodes, fn: () => Promise<R>): Promise<R> {
    try {
      return await fn();
    } catch (e) {
      const code = (e as { code?: string }).code;
      const mapped =
        code === "FS_NOT_FOUND" || code === "FS_NOT_DIR"
          ? codes.notFound
          : code === "FS_EXISTS"
            ? codes.exists
            : code === "BTRFS_NO_SPACE"
              ? (codes.noSpace ?? codes.other)
              : codes.other;
      if (mapped === undefined || e instanceof Fail) throw e;
      this.ctx?.log(`layer failure (${code ?? "?"}): ${(e as Error).message}`);
      return fail(mapped);
    }
  }

  /**
   * A layer call that changes the tree (a layerCall): once it succeeded it is kept in the redo list
   * until the next commit. When any operation aborts the open transaction (a failure after a change,
   * which forgets every uncommitted change), the changes already answered are re-applied and committed
   * at once, so an acknowledged change is never lost to another call's failure.
   */
  async change<R>(codes: LayerCodes, fn: () => Promise<R>, bytes = 0): Promise<R> {
    const before = this.counts().aborts;
    const hostBefore = this.hostChanges();
    try {
      const r = await this.layerCall(codes, fn);
      // A change on a host mount is in no transaction: nothing to re-apply after an abort.
      if (this.hostChanges() !== hostBefore) return r;
      this.redo.push({
        op: fn,
        commits: this.counts().commits,
        view: { layer: this.layer, store: this.store },
      });
      this.redoBytes += bytes;
      return r;
    } finally {
      if (this.counts().aborts !== before) await this.reapply();
    }
  }

  /** Changes made on host mounts so far (MountView.hostChanges). */
  private hostChanges(): number {
    return this.layer instanceof MountView ? this.layer.hostChanges : 0;
  }

  /** Transactions aborted and committed so far (Btrfs; other layers have none). */
  private counts(): { aborts: number; commits: number } {
    return this.layer.backend === "btrfs" ? (this.layer as BtrfsLayer).fs : NO_COUNTS;
  }

  /**
   * Re-apply the answered changes the last abort forgot, in order, and commit them. A change the
   * engine committed meanwhile (a commit since it was made: another writer's, or the engine's own
   * before a large write) is kept, not re-applied.
   */
  private async reapply(): Promise<void> {
    const now = this.counts().commits;
    const ops = this.redo.filter((r) => r.commits === now);
    this.redo = [];
    this.redoBytes = 0;
    if (ops.length === 0) return;
    this.ctx?.log(
      `an aborted transaction forgot ${ops.length} answered change(s): re-applying them`,
    );
    try {
      const current = { layer: this.layer, store: this.store };
      for (const r of ops) await this.within(r.view, r.op);
      this.layer = current.layer;
      this.store = current.store;
      await this.layer.sync();
    } catch (e) {
      this.ctx?.log(`LOST ${ops.length} answered change(s): ${(e as Error).message}`);
    }
  }

  /** After a change: commit now, or within the window (docs/sysfs.md "Commits"). */
  async commit(): Promise<void> {
    const window = this.opts.commitWindowMs ?? 0;
    if (window <= 0 || this.redoBytes >= REDO_MAX_BYTES || this.redo.length >= REDO_MAX_OPS)
      return this.commitNow();
    if (this.commitTimer === undefined) {
      this.commitTimer = setTimeout(() => {
        this.commitTimer = undefined;
        this.serial(() => this.commitNow()).catch((e: Error) =>
          this.ctx?.log(`group commit failed: ${e.message}`),
        );
      }, window);
      this.commitTimer.unref?.();
    }
  }

  /** Commit every change made so far; a failed commit re-applies them and commits again. */
  async commitNow(): Promise<void> {
    if (this.commitTimer !== undefined) clearTimeout(this.commitTimer);
    this.commitTimer = undefined;
    try {
      await this.layer.sync();
      this.redo = [];
      this.redoBytes = 0;
    } catch (e) {
      const code = (e as { code?: string }).code;
      // A tree the kernel has let go was committed as it closed: nothing is left to re-apply.
      if (code === "FS_CLOSED" || code === "BTRFS_CLOSED") {
        this.redo = [];
        this.redoBytes = 0;
        return;
      }
      this.ctx?.log(`commit failed: ${(e as Error).message}`);
      await this.reapply();
    }
  }

  metadataOf(name: string, stat: NodeStat, path: string): ItemMetadata {
    return {
      feid: feidOf(stat, path),
      type: typeByte(stat),
      flags:
        (isHidden(name) ? ItemFlag.HIDDEN : 0) |
        (this.mountOf(splitPath(path))?.readOnly === true ? ItemFlag.READ_ONLY : 0),
      size: stat.kind === "dir" ? 0n : BigInt(stat.size),
      owner: null,
      createdAt: null,
      modifiedAt: BigInt(Math.max(0, Math.floor(stat.mtimeMs))),
      accessedAt: null,
      name,
    };
  }

  /** Tell the watchers of the item `feid` at `path` (ITEM_CHANGED, with its filesystem's FSID). */
  changed(feid: bigint, event: number, path: string): void {
    if (this.watches.size === 0) return;
    const fsid = this.fsidAt(path);
    for (const [client, ws] of this.watches)
      for (const w of ws.values())
        if (w.feid === feid && w.fsid === fsid)
          this.ctx?.notify(client, "ITEM_CHANGED", { fsid, feid, event });
  }

  /** The folder at `parts` changed its entries: its watchers hear "metadata changed". */
  private async folderChanged(parts: readonly string[]): Promise<void> {
    if (this.watches.size === 0) return;
    const path = pathOf(parts);
    const st = await this.layer.stat(path);
    if (st) this.changed(feidOf(st, path), 0x01, path);
  }

  /**
   * A new item's name: the spec's filename rules, and no backslash, which NCW's tree paths refuse
   * (services/fs/layer.ts splitPath; docs/sysfs.md "Paths").
   */
  private checkName(name: unknown, errcode: number): string {
    if (typeof name !== "string" || fileNameProblem(name) !== undefined || name.includes("\\"))
      fail(errcode);
    return name as string;
  }

  // ---------------------------------------------------------------- filesystems

  private async isFsMounted(a: Fields, c: Call): Promise<Fields> {
    await c.need("fs.filesystems.mounted", null);
    const mounted =
      a.fsid === this.fsid || (this.layer instanceof MountView && this.mountWithFsid(a.fsid));
    return { mounted: mounted ? 1 : 0 };
  }

  /** The home's tree, then the host mounts in the table's order (none for a sandboxed caller). */
  private async enumFs(c: Call): Promise<Fields> {
    await c.need("fs.filesystems.list", null);
    const mounts = this.layer instanceof MountView ? this.mounts.map((m) => m.fsid) : [];
    return { filesystems: [this.fsid, ...mounts] };
  }

  /**
   * The home's tree: mounted at the service's start, at the root. A host mount: mounted when the
   * kernel took it, at /mnt/<name> (the FEID of its root, what ITEM_METADATA of /mnt/<name> gives),
   * writable unless read-only, the host folder's filesystem's size and use (docs/sysfs.md "Host mounts").
   */
  private async fsMetadata(a: Fields, c: Call): Promise<Fields> {
    await c.need("fs.filesystems.metadata", null);
    this.ours(a.fsid, T.FS_METADATA.errors.NOT_MOUNTED);
    const m = this.base;
    const at = m === undefined ? "/" : `/mnt/${m.name}`;
    const root = await this.layer.stat(at);
    const space = m === undefined ? this.space() : await mountSpace(m);
    return {
      mountedAt: BigInt(m === undefined ? this.mountedAt : m.mountedAt),
      mountPath: root ? feidOf(root, at) : 0n,
      volumeFile: null,
      metadata: {
        capabilities:
          (m?.readOnly === true ? 0 : FsCapability.WRITABLE) |
          FsCapability.SYMLINKS |
          FsCapability.HIDDEN_FLAG |
          (m === undefined ? 0 : FsCapability.READ_ONLY_FLAG) |
          FsCapability.MODIFICATION_DATES,
        clusterSize: space.cluster,
        totalSize: space.total,
        usedSpace: space.used,
        freeSpace: space.total - space.used,
        name: m === undefined ? "NightOS" : m.name,
      },
    };
  }

  /** The image's size and use (Btrfs); zeros for layers that have none. */
  private space(): { cluster: number; total: bigint; used: bigint } {
    if (this.home.backend !== "btrfs") return { cluster: 4096, total: 0n, used: 0n };
    const fs = (this.home as BtrfsLayer).fs;
    const u = fs.engine.space();
    return { cluster: fs.sectorsize, total: u.totalBytes, used: u.bytesUsed };
  }

  private async fsMount(a: Fields, c: Call): Promise<Fields | undefined> {
    await c.need("fs.filesystems.mount", null);
    this.ours(a.fsid, T.FS_MOUNT.errors.UNKNOWN_FSID);
    return fail(T.FS_MOUNT.errors.ALREADY_MOUNTED);
  }

  /**
   * The home's tree is the system's own, and host mounts are the CLI's (`ncw umount`): no app unmounts
   * or formats either (docs/sysfs.md).
   */
  private async fsUnmount(a: Fields, c: Call): Promise<Fields | undefined> {
    await c.need("fs.filesystems.unmount", null);
    this.ours(a.fsid, T.FS_UNMOUNT.errors.UNKNOWN_FSID);
    return fail(ServiceErr.PERMISSION);
  }

  private async format(a: Fields, c: Call): Promise<Fields | undefined> {
    const size = a.sectorSize as bigint | null;
    if (size !== null && (size < 512n || size > 65536n || (size & (size - 1n)) !== 0n))
      fail(T.FORMAT.errors.INVALID_SECTOR_SIZE);
    await c.need("fs.filesystems.format", null);
    this.ours(a.fsid, T.FORMAT.errors.INVALID_FSID);
    return fail(ServiceErr.PERMISSION);
  }

  // ---------------------------------------------------------------- items

  private async itemExists(a: Fields, c: Call): Promise<Fields> {
    const E = T.ITEM_EXISTS.errors;
    this.ours(a.fsid, E.INVALID_FSID);
    const p = a.path as FsPath;
    const NOTHING = -1;
    let r: Resolved | undefined;
    try {
      // A missing item is checked at the path it would have (its folder may be missing too).
      r = await this.locate(
        p,
        false,
        NOTHING,
        c.can(["feid" in p ? "fs.feid.exists" : "fs.items.exists"]),
      );
    } catch (e) {
      if (!(e instanceof Fail) || e.errcode !== NOTHING) throw e;
    }
    const found = r?.stat ? typeByte(r.stat) : 0;
    const want = a.type as number;
    return { type: want === ItemType.ANY || want === found ? found : 0 };
  }

  private async feidToSplit(a: Fields, c: Call): Promise<Fields> {
    const E = T.FEID_TO_SPLIT.errors;
    this.ours(a.fsid, E.INVALID_FSID);
    // A temporary FEID never tells its item's path.
    if (isTemporaryFeid(a.feid as bigint)) fail(E.FEID_NOT_FOUND);
    const path = await this.pathOfFeid(a.feid as bigint);
    if (path === null) fail(E.FEID_NOT_FOUND);
    const parts = splitPath(path!);
    // An item out of the caller's reach is as a FEID no item has (locate).
    if (!(await passes(c.can(["fs.feid.path"]), parts))) fail(E.FEID_NOT_FOUND);
    // From the root of the filesystem the FSID names (a mount's: without /mnt/<name>).
    return { path: this.relative(parts) };
  }

  private async itemMetadata(a: Fields, c: Call): Promise<Fields> {
    const E = T.ITEM_METADATA.errors;
    this.ours(a.fsid, E.INVALID_FSID);
    const r = await this.existing(
      a.path as FsPath,
      false,
      E.NOT_FOUND,
      c.can(["fs.items.metadata"]),
    );
    // The root of the filesystem the FSID names (the tree's "/", a mount's /mnt/<name>) has no name.
    const root = r.parts.length === (this.base === undefined ? 0 : 2);
    const metadata = this.metadataOf(root ? "" : r.parts.at(-1)!, r.stat, r.path);
    // Through a temporary FEID the item's own FEID stays hidden (filesystem.md "Temporary FEID").
    return { metadata: r.temporary === undefined ? metadata : { ...metadata, feid: r.temporary } };
  }

  /** An item that may be moved or removed: it exists, is not the root, and no open file is in it. */
  private movable(r: Resolved, openErr: number): void {
    if (r.parts.length === 0 || this.isMountRoot(r.parts)) fail(ServiceErr.PERMISSION);
    if (this.files.openAtOrUnder(r.path)) fail(openErr);
  }

  private async renameItem(a: Fields, c: Call): Promise<undefined> {
    const E = T.RENAME_ITEM.errors;
    const name = this.checkName(a.filename, E.INVALID_FILENAME);
    this.ours(a.fsid, E.INVALID_FSID);
    const r = await this.existing(a.path as FsPath, false, E.NOT_FOUND, c.can(["fs.items.move"]));
    if (r.parts.length === 0 || this.isMountRoot(r.parts)) fail(ServiceErr.PERMISSION);
    const to = [...r.parts.slice(0, -1), name];
    // RENAME_ITEM has no path-length errcode: a name that makes the path too long is not valid here.
    if (tooLong(to)) fail(E.INVALID_FILENAME);
    await this.relocate(r, to, { notFound: E.NOT_FOUND, exists: E.ALREADY_EXISTS });
    return undefined;
  }

  private async moveItem(a: Fields, c: Call): Promise<undefined> {
    const E = T.MOVE_ITEM.errors;
    const name = a.filename === null ? undefined : this.checkName(a.filename, E.INVALID_FILENAME);
    this.ours(a.fsid, E.INVALID_FSID);
    const move = c.can(["fs.items.move"]);
    const r = await this.existing(a.path as FsPath, false, E.NOT_FOUND, move);
    const dir = await this.existing(a.parent as FsPath, true, E.TARGET_NOT_FOUND, move);
    if (dir.stat.kind !== "dir") fail(E.TARGET_NOT_FOUND);
    if (r.parts.length === 0 || this.isMountRoot(r.parts)) fail(ServiceErr.PERMISSION);
    const to = [...dir.parts, name ?? r.parts.at(-1)!];
    if (tooLong(to)) fail(E.MAX_PATH_LENGTH);
    // Not from one filesystem to another (a host mount and the tree, two mounts): "cannot be moved".
    if (this.mountOf(r.parts) !== this.mountOf(to)) fail(E.CANNOT_MOVE);
    // Into itself, or onto an existing name: "cannot be moved".
    if (to.length > r.parts.length && r.parts.every((p, i) => to[i] === p)) fail(E.CANNOT_MOVE);
    await this.relocate(r, to, {
      notFound: E.NOT_FOUND,
      exists: E.CANNOT_MOVE,
      other: E.UNSPECIFIED,
    });
    return undefined;
  }

  /** Rename `r` to `to` (a new name or folder); open files and watchers follow. */
  private async relocate(r: Resolved & { stat: NodeStat }, to: string[], codes: LayerCodes) {
    const dest = pathOf(to);
    if (dest === r.path) return;
    if ((await this.layer.stat(dest)) !== null) fail(codes.exists!);
    const feid = feidOf(r.stat, r.path);
    await this.change(codes, () => this.layer.rename(r.path, dest));
    await this.commit();
    this.files.moved(r.path, dest);
    this.changed(feid, 0x02, dest);
    await this.folderChanged(r.parts.slice(0, -1));
    await this.folderChanged(to.slice(0, -1));
  }

  private async deleteItem(a: Fields, c: Call): Promise<undefined> {
    const E = T.DELETE_ITEM.errors;
    const mode = a.mode as number;
    if (mode !== 0x01 && mode !== 0x02) fail(ServiceCallErr.BAD_ARGUMENTS);
    this.ours(a.fsid, E.INVALID_FSID);
    const remove = mode === 0x01 ? "fs.items.remove.trash" : "fs.items.remove";
    const r = await this.existing(a.path as FsPath, false, E.NOT_FOUND, c.can([remove]));
    this.movable(r, E.UNSPECIFIED);
    // The trash is in the user's home: an item of a host mount is only removed (mode 0x02).
    if (mode === 0x01 && this.mountOf(r.parts) !== undefined) fail(E.UNSPECIFIED);
    const feid = feidOf(r.stat, r.path);
    if (mode === 0x02) {
      if (r.stat.kind === "dir" && (await this.layer.readdir(r.path)).length > 0)
        fail(E.DIRECTORY_NOT_EMPTY);
      await this.change({ notFound: E.NOT_FOUND, other: E.UNSPECIFIED }, () =>
        this.layer.rm(r.path),
      );
    } else {
      await this.change({ notFound: E.NOT_FOUND, other: E.UNSPECIFIED }, () =>
        this.toTrash(c.who, r),
      );
    }
    await this.commit();
    if (mode === 0x02) this.temporaries.itemGone(feid);
    this.changed(feid, 0x03, r.path);
    await this.folderChanged(r.parts.slice(0, -1));
    return undefined;
  }

  /** Into the caller's user's trash (/home/<user>/trash), under a free name ("x", "x (2)", …). */
  private async toTrash(who: FsIdentity, r: Resolved): Promise<void> {
    const trash = ["home", who.user, "trash"];
    await this.layer.mkdir(pathOf(trash), { recursive: true });
    const name = r.parts.at(-1)!;
    let dest = pathOf([...trash, name]);
    for (let n = 2; (await this.layer.stat(dest)) !== null; n++)
      dest = pathOf([...trash, `${name} (${n})`]);
    if (r.path !== dest) await this.layer.rename(r.path, dest);
  }

  // ---------------------------------------------------------------- directories

  private async createDirectory(a: Fields, c: Call): Promise<undefined> {
    const E = T.CREATE_DIRECTORY.errors;
    const name = this.checkName(a.filename, E.INVALID_FILENAME);
    this.ours(a.fsid, E.INVALID_FSID);
    const create = c.can(["fs.items.create"], name);
    const dir = await this.existing(a.parent as FsPath, true, E.PARENT_NOT_FOUND, create);
    if (dir.stat.kind !== "dir") fail(E.PARENT_NOT_FOUND);
    const parts = [...dir.parts, name];
    if (tooLong(parts)) fail(E.MAX_PATH_LENGTH);
    await this.change(
      { notFound: E.PARENT_NOT_FOUND, exists: E.ALREADY_EXISTS, other: E.UNSPECIFIED },
      () => this.layer.mkdir(pathOf(parts)),
    );
    await this.commit();
    await this.folderChanged(dir.parts);
    return undefined;
  }

  private async readDirectory(a: Fields, c: Call): Promise<Fields> {
    const E = T.READ_DIRECTORY.errors;
    this.ours(a.fsid, E.INVALID_FSID);
    const hidden = a.hidden === true;
    const perms: FsPermission[] = hidden ? ["fs.dir.read", "fs.dir.read.hidden"] : ["fs.dir.read"];
    const dir = await this.existing(a.path as FsPath, true, E.NOT_FOUND, c.can(perms));
    if (dir.stat.kind !== "dir") fail(E.NOT_FOUND);
    const items: ItemMetadata[] = [];
    const at = (n: string) => (dir.path === "/" ? `/${n}` : `${dir.path}/${n}`);
    if (this.layer.backend === "btrfs") {
      // One walk of the folder with each entry's stat (no lookup per name).
      const listed = await this.layerCall({ notFound: E.NOT_FOUND, other: E.UNSPECIFIED }, () =>
        (this.layer as BtrfsLayer).list(dir.path),
      );
      for (const e of listed)
        if (e.stat && (hidden || !isHidden(e.name)))
          items.push(this.metadataOf(e.name, e.stat, at(e.name)));
    } else {
      const entries = await this.layerCall({ notFound: E.NOT_FOUND, other: E.UNSPECIFIED }, () =>
        this.layer.readdir(dir.path),
      );
      for (const e of entries) {
        if (!hidden && isHidden(e.name)) continue;
        const st = await this.layer.stat(at(e.name));
        if (st) items.push(this.metadataOf(e.name, st, at(e.name)));
      }
    }
    return { items };
  }

  // ---------------------------------------------------------------- files

  private async openFile(a: Fields, c: Call): Promise<Fields> {
    const E = T.OPEN_FILE.errors;
    const target = a.target as EnumValue;
    // A temporary FEID names its item by itself, and its holder is given no FSID with it (the
    // notifications carry the FEID alone): the FSID is not checked (docs/sysfs.md "Temporary FEIDs").
    const path = target.variant === 0 ? (target.fields.path as FsPath) : undefined;
    if (!(path !== undefined && "feid" in path && isTemporaryFeid(path.feid)))
      this.ours(a.fsid, E.INVALID_FSID);
    const read = this.accessByte(a.read);
    const write = this.accessByte(a.write);
    if (!read && !write) fail(ServiceCallErr.BAD_ARGUMENTS);
    // The access asked is needed wherever the file is, or would be created.
    const access: FsPermission[] = [];
    if (read) access.push("fs.items.read");
    if (write) access.push("fs.items.write");
    let r: Resolved;
    let created = false;
    if (target.variant === 0) {
      r = await this.existing(target.fields.path as FsPath, true, E.FILE_NOT_FOUND, c.can(access));
    } else {
      const name = this.checkName(target.fields.filename, ServiceCallErr.BAD_ARGUMENTS);
      const parent = target.fields.parent as FsPath;
      const dir = await this.existing(parent, true, E.DIRECTORY_NOT_FOUND, c.can(access, name));
      if (dir.stat.kind !== "dir") fail(E.INVALID_PARENT);
      const parts = [...dir.parts, name];
      if (tooLong(parts)) fail(E.MAX_PATH_LENGTH);
      // Resolved paths, given again from the root of the call's filesystem (locate adds the mount's).
      r = await this.locate({ split: this.relative(parts) }, true, E.FILE_NOT_FOUND, c.can(access));
      if (r.stat === null) {
        await c.need("fs.items.create", r.parts);
        const at = r.path;
        await this.change(
          { notFound: E.DIRECTORY_NOT_FOUND, noSpace: E.UNSPECIFIED, other: E.UNSPECIFIED },
          () => this.layer.writeFile(at, new Uint8Array(0)),
        );
        created = true;
        r = await this.existing({ split: this.relative(r.parts) }, false, E.FILE_NOT_FOUND);
      }
    }
    if (r.stat?.kind !== "file") fail(E.FILE_NOT_FOUND);
    const feid = feidOf(r.stat!, r.path);
    const fsid = this.fsidAt(r.path);
    if (this.files.conflicts(fsid, feid, write)) fail(E.ALREADY_OPEN);
    if (created) {
      await this.commit();
      await this.folderChanged(r.parts.slice(0, -1));
    }
    const f = this.files.open(c.caller.pid, r.path, { fsid, feid }, read, write);
    this.changed(feid, 0x04, r.path);
    return { file: f.id };
  }

  /** OPEN_FILE's access bytes: 0x01 enables; 0x00 (or a boolean's false, 0x02) does not. */
  private accessByte(v: unknown): boolean {
    if (v === 0x01) return true;
    if (v === 0x00 || v === 0x02) return false;
    return fail(ServiceCallErr.BAD_ARGUMENTS);
  }

  private async closeFile(a: Fields, c: Call): Promise<undefined> {
    const f = this.files.get(c.caller.pid, a.file as bigint);
    if (f === undefined) fail(T.CLOSE_FILE.errors.INVALID_FILE);
    this.files.close(f!);
    this.changed(f!.feid, 0x05, f!.path);
    return undefined;
  }

  private opened(c: Call, id: unknown, errcode: number): OpenFile {
    const f = this.files.get(c.caller.pid, id as bigint);
    if (f === undefined) fail(errcode);
    return f!;
  }

  private async readFile(a: Fields, c: Call): Promise<undefined> {
    const E = T.READ_FILE.errors;
    const f = this.opened(c, a.file, E.INVALID_FILE);
    if (!f.read) fail(E.NOT_OPEN_FOR_READ);
    const offset = a.offset as bigint;
    const length = a.length as bigint;
    const buf = a.buffer as BufferPointer;
    const st = await this.layer.stat(f.path);
    if (st === null) fail(E.UNSPECIFIED);
    const size = BigInt(st!.size);
    if (offset > size) fail(E.OFFSET_OUT_OF_RANGE);
    if (offset + length > size) fail(E.END_OUT_OF_RANGE);
    if (length > buf.length || length > BigInt(MAX_IO)) fail(ServiceCallErr.BAD_ARGUMENTS);
    const data = await this.layerCall({ other: E.UNSPECIFIED }, () =>
      this.store.read(f.path, offset, Number(length)),
    );
    if (!(await this.opts.memory.write(c.caller.pid, buf.address, data)))
      fail(ServiceCallErr.BAD_ARGUMENTS);
    return undefined;
  }

  private async writeFile(a: Fields, c: Call): Promise<undefined> {
    const E = T.WRITE_FILE.errors;
    const f = this.opened(c, a.file, E.INVALID_FILE);
    if (!f.write) fail(E.NOT_OPEN_FOR_WRITE);
    const offset = a.offset as bigint;
    const length = a.length as bigint;
    const buf = a.buffer as BufferPointer;
    const st = await this.layer.stat(f.path);
    if (st === null) fail(E.UNSPECIFIED);
    if (offset > BigInt(st!.size)) fail(E.OFFSET_OUT_OF_RANGE);
    if (offset + length > BigInt(Number.MAX_SAFE_INTEGER)) fail(E.MAX_FILE_SIZE);
    if (length > buf.length || length > BigInt(MAX_IO)) fail(ServiceCallErr.BAD_ARGUMENTS);
    const data = await this.opts.memory.read(c.caller.pid, buf.address, Number(length));
    if (data === undefined) fail(ServiceCallErr.BAD_ARGUMENTS);
    const at = f.path;
    await this.change(
      { noSpace: E.CAPACITY_EXCEEDED, other: E.UNSPECIFIED },
      () => this.store.write(at, offset, data!, a.truncate === true),
      data!.length,
    );
    await this.commit();
    this.changed(f.feid, 0x01, f.path);
    return undefined;
  }

  // ---------------------------------------------------------------- symbolic links

  /**
   * A symlink's target argument, as the absolute path stored in the link (`at`: the link's split
   * path). It must be on the link's filesystem (no capability of cross-filesystem links): a target
   * FSID no filesystem has, or another filesystem's item, is `cross`.
   */
  private async linkTarget(
    c: Call,
    at: readonly string[],
    fsid: unknown,
    p: FsPath,
    cross: number,
    missing: number,
  ): Promise<string> {
    const linkBase = this.base;
    this.ours(fsid, cross);
    try {
      const r = await this.existing(p, false, missing, c.can(["fs.items.exists"]));
      if (this.mountOf(r.parts) !== this.mountOf(at)) fail(cross);
      return r.path;
    } finally {
      this.base = linkBase;
    }
  }

  private async createSymlink(a: Fields, c: Call): Promise<undefined> {
    const E = T.CREATE_SYMLINK.errors;
    const name = this.checkName(a.filename, E.INVALID_FILENAME);
    this.ours(a.fsid, E.INVALID_FSID);
    const create = c.can(["fs.symlinks.create"], name);
    const dir = await this.existing(a.parent as FsPath, true, E.PARENT_NOT_FOUND, create);
    if (dir.stat.kind !== "dir") fail(E.PARENT_NOT_FOUND);
    const parts = [...dir.parts, name];
    if (tooLong(parts)) fail(E.MAX_PATH_LENGTH);
    const target = await this.linkTarget(
      c,
      parts,
      a.targetFsid,
      a.target as FsPath,
      E.CROSS_FILESYSTEM,
      E.TARGET_NOT_FOUND,
    );
    await this.change(
      {
        notFound: E.PARENT_NOT_FOUND,
        exists: E.ALREADY_EXISTS,
        noSpace: E.CAPACITY_EXCEEDED,
        other: E.UNSPECIFIED,
      },
      () => this.layer.symlink(target, pathOf(parts)),
    );
    await this.commit();
    await this.folderChanged(dir.parts);
    return undefined;
  }

  private async updateSymlink(a: Fields, c: Call): Promise<undefined> {
    const E = T.UPDATE_SYMLINK.errors;
    this.ours(a.fsid, E.INVALID_FSID);
    const update = c.can(["fs.symlinks.update"]);
    const r = await this.existing(a.path as FsPath, false, E.NOT_FOUND, update);
    if (r.stat.kind !== "symlink") fail(E.NOT_FOUND);
    const target = await this.linkTarget(
      c,
      r.parts,
      a.targetFsid,
      a.target as FsPath,
      E.CROSS_FILESYSTEM,
      E.TARGET_NOT_FOUND,
    );
    // A new link beside the old one, then put in its place in one rename (never no link there).
    const tmp = pathOf([...r.parts.slice(0, -1), `.sysfs-link-${process.pid}-${Date.now()}`]);
    await this.change({ other: E.UNSPECIFIED }, async () => {
      await this.layer.symlink(target, tmp);
      await this.layer.rename(tmp, r.path, { replace: true });
    });
    await this.commit();
    this.changed(feidOf(r.stat, r.path), 0x01, r.path);
    return undefined;
  }

  private async readSymlink(a: Fields, c: Call): Promise<Fields> {
    const E = T.READ_SYMLINK.errors;
    this.ours(a.fsid, E.INVALID_FSID);
    const r = await this.existing(
      a.path as FsPath,
      false,
      E.NOT_FOUND,
      c.can(["fs.symlinks.read"]),
    );
    if (r.stat.kind !== "symlink") fail(E.NOT_FOUND);
    let chain: Awaited<ReturnType<typeof symlinkChain>>;
    try {
      chain = await symlinkChain(this.layer, r.parts);
    } catch (e) {
      // A target whose folders are missing is a dangling link, not an error of the link.
      if (!(e instanceof ResolveError)) throw e;
      chain = { links: [r.path], cycle: null, end: null };
    }
    if (chain.cycle !== null) {
      this.ctx?.log(`cyclic symlink chain: ${chain.cycle.join(" -> ")}`);
      fail(E.CYCLIC);
    }
    const target = await this.layer.readlink(r.path);
    const parts = normalizeSplit([
      ...(target.startsWith("/") ? [] : r.parts.slice(0, -1)),
      ...target.split("/"),
    ]);
    // The target's filesystem and its path from that filesystem's root.
    const m = this.mountOf(parts);
    return {
      targetFsid: m?.fsid ?? this.fsid,
      target: { split: m === undefined ? parts : parts.slice(2) } satisfies FsPath,
    };
  }

  // ---------------------------------------------------------------- watching

  private async watchItem(a: Fields, c: Call): Promise<undefined> {
    const E = T.WATCH_ITEM.errors;
    this.ours(a.fsid, E.INVALID_FSID);
    const r = await this.existing(
      a.path as FsPath,
      false,
      E.NOT_FOUND,
      c.can(["fs.items.metadata"]),
    );
    const ws = this.watches.get(c.caller.pid) ?? new Map<bigint, { fsid: bigint; feid: bigint }>();
    this.watches.set(c.caller.pid, ws);
    // A watch ID the client already uses now watches this item (docs/sysfs.md).
    const id = a.watch as bigint;
    const watched = { fsid: this.fsidAt(r.path), feid: feidOf(r.stat, r.path) };
    ws.set(id, watched);
    this.stopHostWatch(c.caller.pid, id);
    const m = this.mountOf(r.parts);
    if (m !== undefined) await this.startHostWatch(c.caller.pid, id, m, r, watched);
    return undefined;
  }

  /**
   * Changes made on the host folder of a mount reach the watchers of its items (docs/sysfs.md "Host
   * mounts"): a chokidar watcher per watch, closed with it; sys::fs's own changes are not told twice.
   */
  private async startHostWatch(
    client: number,
    id: bigint,
    m: MountedFs,
    r: Resolved & { stat: NodeStat },
    watched: { fsid: bigint; feid: bigint },
  ): Promise<void> {
    const own = (p: string) => {
      const now = Date.now();
      for (const [q, at] of this.ownHostChanges)
        if (now - at > OWN_CHANGE_MS) this.ownHostChanges.delete(q);
      return this.ownHostChanges.has(p);
    };
    const log = (line: string) => this.ctx?.log(line);
    const started = watchHostItem(
      m,
      r.parts,
      r.stat.kind === "dir",
      own,
      (event) => {
        if (this.watches.get(client)?.get(id) === watched)
          this.ctx?.notify(client, "ITEM_CHANGED", { ...watched, event });
      },
      log,
    ).catch((e: Error) => {
      log(`cannot watch ${r.path} on the host: ${e.message}`);
      return undefined;
    });
    this.hostWatches.set(`${client}:${id}`, started);
    await started;
  }

  private stopHostWatch(client: number, id: bigint): void {
    const key = `${client}:${id}`;
    const w = this.hostWatches.get(key);
    if (w === undefined) return;
    this.hostWatches.delete(key);
    void w.then((x) => x?.close());
  }

  private async unwatch(a: Fields, c: Call): Promise<undefined> {
    const ws = this.watches.get(c.caller.pid);
    if (ws?.delete(a.watch as bigint) !== true) fail(T.UNWATCH.errors.WATCH_NOT_FOUND);
    this.stopHostWatch(c.caller.pid, a.watch as bigint);
    return undefined;
  }
}

/** The key of a check's answer within a call: the permission and its scope (the `/`-joined path). */
const answerKey = (permission: string, scope: string | undefined) =>
  `${permission}\0${scope ?? ""}`;

/**
 * One call: the caller, who it is, and the permission check with the item's path as scope. The check
 * is the permission gate's (services/perm/gate.ts), which may ask the user: it is awaited inside
 * `locate`, on the path the item has or would have, before anything about existence is answered
 * (docs/sysfs.md "Paths", docs/permissions.md "sys::fs").
 */
class Call {
  /**
   * The gate's answers in this call, by permission and scope: a call that checks the same right on
   * the same path twice (OPEN_FILE's folder, then its file) asks once, and a "once" answer holds
   * for the whole call.
   */
  constructor(
    private readonly permits: FsPermissionCheck,
    readonly who: FsIdentity,
    readonly caller: Caller,
    private readonly answers = new Map<string, boolean>(),
    private readonly mountAt: (name: string) => MountOptions | undefined = () => undefined,
  ) {}

  /** A guard (SysFs.locate) needing `permissions` on the path (a new item: `name` under it). */
  can(permissions: readonly FsPermission[], name?: string): Guard {
    return {
      call: this,
      permissions,
      name,
      check: async (parts) => {
        const at = name === undefined ? parts : [...parts, name];
        // One after the other: the first refusal ends the call's questions.
        for (const p of permissions) await this.need(p, at);
      },
    };
  }

  /** Both the storage rules and the scoped permission, or PERMISSION (0x0001). */
  async need(permission: FsPermission, parts: readonly string[] | null): Promise<void> {
    // The storage rules first: where they refuse, the user is not asked.
    if (parts !== null && !storageAllows(this.who, parts, permission, this.mountAt))
      fail(ServiceErr.PERMISSION);
    const key = answerKey(permission, parts === null ? undefined : `/${parts.join("/")}`);
    let ok = this.answers.get(key);
    if (ok === undefined) {
      ok = await this.permits(this.who, this.caller, permission, parts);
      this.answers.set(key, ok);
    }
    if (!ok) fail(ServiceErr.PERMISSION);
  }
}
