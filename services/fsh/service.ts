// sys::fsh (PID 11; specs/services/system/fsh.md; table: commonassembly/abi/services/fsh.ts): which
// apps open which file extensions (the file openers, services/integration/file-openers.md), and the
// thumbnail and preview caches a file manager fills and reads. Its state lives in the home's tree,
// under /etc/sys/fsh (closed to apps): the openers one JSON file per NightOS user, each cached image
// one file whose bytes are the bitmap as given, handed to the caller as a temporary FEID it reads with
// sys::fs. Decisions: docs/services.md "sys::fsh (PID 11)".

import { SystemPid } from "../../commonassembly/abi/numbers.js";
import type { Fields, StructureCodecs } from "../../commonassembly/abi/services/fields.js";
import {
  BITMAP_CODEC,
  bitmapHeader,
  CACHE_ITEM_PREVIEW,
  CACHE_ITEM_THUMBNAIL,
  CACHED_ITEM_CODEC,
  CHECK_ITEM_PREVIEW_CACHE,
  CHECK_ITEM_THUMBNAIL_CACHE,
  LIST_OPENERS,
  REGISTER_OPENER,
  SYS_FSH,
  UNREGISTER_OPENER,
} from "../../commonassembly/abi/services/fsh.js";
import type { MethodDef } from "../../commonassembly/abi/services/method.js";
import type { FsLayer } from "../fs/layer.js";
import type { ItemSeen } from "../fs/service/sysfs.js";
import type { TemporaryRights } from "../fs/service/temporary.js";
import type { Answer, Caller, NativeService, ServiceContext } from "../host/service.js";

/**
 * DECISION: the extensions the system opens itself, which no app may register (REGISTER_OPENER's
 * 0x1001): NightOS' application packages, which Skyer installs (`.nap`, `.nva`; docs/packages.md).
 */
export const RESERVED_EXTENSIONS: readonly string[] = ["nap", "nva"];

/** DECISION: the most images each cache keeps; past it the oldest cached go first. */
export const MAX_CACHED_IMAGES = 4096;

/** Where sys::fsh keeps its state in the home's tree. */
export const FSH_DIR = "/etc/sys/fsh";
const openersFile = (user: string) => `${FSH_DIR}/openers/${user}.json`;
const cacheDir = (kind: CacheKind) => `${FSH_DIR}/cache/${kind}`;
const hex16 = (v: bigint) => v.toString(16).padStart(16, "0");
const cachePath = (kind: CacheKind, fsid: bigint, feid: bigint) =>
  `${cacheDir(kind)}/${hex16(fsid)}-${hex16(feid)}`;

type CacheKind = "thumbnails" | "previews";

/** One user's openers file: each extension's openers, by ANID, in registration order. */
interface OpenersFile {
  format: "ncw-fsh-openers";
  version: 1;
  openers: Record<string, number[]>;
}

export interface SysFshOptions {
  layer: () => Promise<FsLayer>;
  /** Runs `fn` as one step of the tree's queue (the kernel's TreeOwner), as sys::fs's calls. */
  serialize: <R>(fn: () => Promise<R>) => Promise<R>;
  /** The caller's NightOS user (undefined: not a live process). */
  user: (pid: number) => Promise<string | undefined> | string | undefined;
  /**
   * The caller's installed app: its ANID and the integration services its manifest exposes, by their
   * manifest keys ("file_manager", "fs_items_opener", …; undefined: a program that is not an installed
   * app, which exposes none).
   */
  app: (pid: number) => Promise<{ anid: number; integration: readonly string[] } | undefined>;
  /** Whether the app `anid` is still installed for `user` (LIST_OPENERS leaves out the removed). */
  installed: (anid: number, user: string) => Promise<boolean>;
  /** sys::fs: the item a caller names, as it may see it (SysFs.itemFor). */
  items: { itemFor(caller: Caller, fsid: bigint, feid: bigint): Promise<ItemSeen> };
  /** sys::fs' temporary FEIDs, for the cached images handed out. */
  feids: {
    createTemporaryFeid(path: string, holder: number, rights: TemporaryRights): Promise<bigint>;
  };
}

/** An extension as the openers' table keys it. DECISION: compared without case (lowercased). */
const keyOf = (extension: string) => extension.toLowerCase();

export class SysFsh implements NativeService {
  readonly name = "sys::fsh";
  readonly pid = SystemPid["sys::fsh"];
  readonly def = SYS_FSH;
  readonly structures: StructureCodecs = {
    "Bitmap image": BITMAP_CODEC,
    "Cached item": CACHED_ITEM_CODEC,
  };
  private ctx: ServiceContext | undefined;

  constructor(private readonly opts: SysFshOptions) {}

  attach(ctx: ServiceContext): void {
    this.ctx = ctx;
  }

  async handle(method: MethodDef, args: Fields, caller: Caller): Promise<Answer> {
    switch (method.code) {
      case REGISTER_OPENER.code:
        return this.register(args.extensions as string[], caller);
      case UNREGISTER_OPENER.code:
        return this.unregister(args.extensions as string[], caller);
      case LIST_OPENERS.code:
        return this.list(args.extension as string, caller);
      case CHECK_ITEM_THUMBNAIL_CACHE.code:
        return this.check("thumbnails", args, caller);
      case CHECK_ITEM_PREVIEW_CACHE.code:
        return this.check("previews", args, caller);
      case CACHE_ITEM_THUMBNAIL.code:
        return this.cache("thumbnails", args, caller);
      case CACHE_ITEM_PREVIEW.code:
        return this.cache("previews", args, caller);
      default:
        throw new Error(`sys::fsh has no handler for ${method.name}`);
    }
  }

  // ------------------------------------------------------------------------------- openers

  /**
   * REGISTER_OPENER: all the extensions or none. The page's checks in its errcodes' order: an empty
   * extension (0x1000), a reserved one (0x1001), then the client (0x3000), then one it already handles
   * (0x3001). The same extension twice in one list counts once.
   */
  private async register(extensions: string[], caller: Caller): Promise<Answer> {
    const E = REGISTER_OPENER.errors;
    if (extensions.some((x) => x.length === 0)) return { ok: false, errcode: E.EMPTY };
    if (extensions.some((x) => RESERVED_EXTENSIONS.includes(keyOf(x))))
      return { ok: false, errcode: E.RESERVED };
    const who = await this.opener(caller);
    if (who === undefined) return { ok: false, errcode: E.NOT_OPENER };
    return this.withOpeners(who.user, (table) => {
      const keys = [...new Set(extensions.map(keyOf))];
      if (keys.some((k) => table.openers[k]?.includes(who.anid) === true))
        return { answer: { ok: false, errcode: E.ALREADY_HANDLED } };
      for (const k of keys) table.openers[k] = [...(table.openers[k] ?? []), who.anid];
      return { answer: { ok: true, value: {} }, changed: true };
    });
  }

  /** UNREGISTER_OPENER: all or none, as REGISTER_OPENER; 0x3001 when one is not the client's. */
  private async unregister(extensions: string[], caller: Caller): Promise<Answer> {
    const E = UNREGISTER_OPENER.errors;
    if (extensions.some((x) => x.length === 0)) return { ok: false, errcode: E.EMPTY };
    const who = await this.opener(caller);
    if (who === undefined) return { ok: false, errcode: E.NOT_OPENER };
    return this.withOpeners(who.user, (table) => {
      const keys = [...new Set(extensions.map(keyOf))];
      if (keys.some((k) => table.openers[k]?.includes(who.anid) !== true))
        return { answer: { ok: false, errcode: E.NOT_HANDLED } };
      for (const k of keys) {
        const left = table.openers[k]!.filter((a) => a !== who.anid);
        if (left.length === 0) delete table.openers[k];
        else table.openers[k] = left;
      }
      return { answer: { ok: true, value: {} }, changed: true };
    });
  }

  /**
   * LIST_OPENERS. DECISION: its 0x3000 ("Client does not expose a file opening service") refuses a
   * client that exposes neither a file opener nor a file manager service: the page's text names the
   * opener, while its purpose ("up to the file manager to determine the display order") is the file
   * manager's. Apps uninstalled since they registered are left out. An empty extension has no opener.
   */
  private async list(extension: string, caller: Caller): Promise<Answer> {
    const app = await this.opts.app(caller.pid);
    const user = await this.opts.user(caller.pid);
    if (
      app === undefined ||
      user === undefined ||
      !(app.integration.includes("fs_items_opener") || app.integration.includes("file_manager"))
    )
      return { ok: false, errcode: LIST_OPENERS.errors.NOT_OPENER };
    const table = await this.opts.serialize(async () => readOpeners(await this.opts.layer(), user));
    const openers: bigint[] = [];
    for (const anid of table.openers[keyOf(extension)] ?? [])
      if (await this.opts.installed(anid, user)) openers.push(BigInt(anid));
    return { ok: true, value: { openers } };
  }

  /** The caller as an opener: its user and ANID, when its manifest exposes a file opener service. */
  private async opener(caller: Caller): Promise<{ user: string; anid: number } | undefined> {
    const app = await this.opts.app(caller.pid);
    const user = await this.opts.user(caller.pid);
    if (app === undefined || user === undefined || !app.integration.includes("fs_items_opener"))
      return undefined;
    return { user, anid: app.anid };
  }

  /** Read `user`'s openers, let `fn` decide, write them back (and commit) when it changed them. */
  private withOpeners(
    user: string,
    fn: (table: OpenersFile) => { answer: Answer; changed?: boolean },
  ): Promise<Answer> {
    return this.opts.serialize(async () => {
      const l = await this.opts.layer();
      const table = await readOpeners(l, user);
      const { answer, changed } = fn(table);
      if (changed === true) {
        await writeAtomically(
          l,
          openersFile(user),
          new TextEncoder().encode(`${JSON.stringify(table, null, "\t")}\n`),
        );
        await l.sync();
      }
      return answer;
    });
  }

  // ------------------------------------------------------------------------------- caches

  /** The client as a file manager (the cache methods' 0x3000), or undefined. */
  private async fileManager(caller: Caller): Promise<boolean> {
    const app = await this.opts.app(caller.pid);
    return app?.integration.includes("file_manager") === true;
  }

  /**
   * CHECK_ITEM_*_CACHE. DECISION (the page's "internal criterias"): a cached image holds while its item
   * has not changed since it was cached (the item's modification time is not after the caching time);
   * a stale one is dropped and answered absent. A present one is answered with its caching timestamp
   * and a new temporary FEID, the caller's, to read the image with sys::fs.
   */
  private async check(kind: CacheKind, args: Fields, caller: Caller): Promise<Answer> {
    const E = CHECK_ITEM_THUMBNAIL_CACHE.errors;
    if (!(await this.fileManager(caller))) return { ok: false, errcode: E.NOT_FILE_MANAGER };
    const item = await this.opts.items.itemFor(caller, args.fsid as bigint, args.feid as bigint);
    if (!item.ok)
      return { ok: false, errcode: item.why === "unknown-fsid" ? E.UNKNOWN_FSID : E.UNKNOWN_FEID };
    const path = cachePath(kind, args.fsid as bigint, item.feid);
    const cachedAt = await this.opts.serialize(async () => {
      const l = await this.opts.layer();
      const st = await l.stat(path);
      if (st === null || st.kind !== "file") return undefined;
      if (item.mtimeMs > st.mtimeMs) {
        await l.rm(path, { force: true });
        await l.sync();
        return undefined;
      }
      return st.mtimeMs;
    });
    if (cachedAt === undefined) return { ok: true, value: { cached: null } };
    const tfeid = await this.opts.feids.createTemporaryFeid(path, caller.pid, { read: true });
    return {
      ok: true,
      value: { cached: { cachedAt: BigInt(Math.floor(cachedAt)), tfeid } },
    };
  }

  /**
   * CACHE_ITEM_*: the bitmap checked (0x1000 before the client and the item: a constant check), then
   * written in place of any cached one, committed, and handed back as a temporary FEID of the caller's.
   */
  private async cache(kind: CacheKind, args: Fields, caller: Caller): Promise<Answer> {
    const E = CACHE_ITEM_THUMBNAIL.errors;
    const image = args.image as Uint8Array;
    const header = bitmapHeader(image);
    if (!header.ok) return { ok: false, errcode: E.INVALID_BITMAP };
    if (!(await this.fileManager(caller))) return { ok: false, errcode: E.NOT_FILE_MANAGER };
    const item = await this.opts.items.itemFor(caller, args.fsid as bigint, args.feid as bigint);
    if (!item.ok)
      return { ok: false, errcode: item.why === "unknown-fsid" ? E.UNKNOWN_FSID : E.UNKNOWN_FEID };
    const path = cachePath(kind, args.fsid as bigint, item.feid);
    await this.opts.serialize(async () => {
      const l = await this.opts.layer();
      await writeAtomically(l, path, image);
      await evict(l, cacheDir(kind), MAX_CACHED_IMAGES, path);
      await l.sync();
    });
    this.ctx?.log(
      `sys::fsh: cached a ${header.width}x${header.height} ${kind.slice(0, -1)} for pid ${caller.pid}`,
    );
    const tfeid = await this.opts.feids.createTemporaryFeid(path, caller.pid, { read: true });
    return { ok: true, value: { tfeid } };
  }
}

/** `user`'s openers; an absent or unreadable file is no opener (a damaged one is logged by no one). */
async function readOpeners(l: FsLayer, user: string): Promise<OpenersFile> {
  const empty: OpenersFile = { format: "ncw-fsh-openers", version: 1, openers: {} };
  const st = await l.stat(openersFile(user));
  if (st === null) return empty;
  try {
    const v = JSON.parse(
      new TextDecoder().decode(await l.readFile(openersFile(user))),
    ) as OpenersFile;
    if (v.format !== "ncw-fsh-openers" || v.version !== 1 || typeof v.openers !== "object")
      return empty;
    return v;
  } catch {
    return empty;
  }
}

/** Write `bytes` to `path` through a temporary beside it, renamed over it (never half a file). */
async function writeAtomically(l: FsLayer, path: string, bytes: Uint8Array): Promise<void> {
  const dir = path.slice(0, path.lastIndexOf("/"));
  await l.mkdir(dir, { recursive: true });
  const tmp = `${path}.tmp`;
  await l.writeFile(tmp, bytes);
  await l.rename(tmp, path, { replace: true });
}

/** Past `max` images in `dir`, remove the oldest cached (never `keep`, the one just written). */
async function evict(l: FsLayer, dir: string, max: number, keep: string): Promise<void> {
  const entries = (await l.readdir(dir)).filter((e) => e.kind === "file");
  if (entries.length <= max) return;
  const aged: { path: string; at: number }[] = [];
  for (const e of entries) {
    const path = `${dir}/${e.name}`;
    if (path === keep) continue;
    const st = await l.stat(path);
    if (st !== null) aged.push({ path, at: st.mtimeMs });
  }
  aged.sort((a, b) => a.at - b.at);
  for (const a of aged.slice(0, entries.length - max)) await l.rm(a.path, { force: true });
}
