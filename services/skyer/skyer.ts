// Skyer, NightOS' application manager (applications/Skyer.md): install, update (.nau), uninstall
// and list applications and libraries in the NightOS tree, every change an atomic transaction.
// Specs: concepts/applications.md, specs/applications-libraries.md, specs/libraries.md,
// specs/update-processes.md, specs/filesystem.md "Structure". Decisions: docs/skyer.md.

import { randomBytes } from "node:crypto";
import semver from "semver";
import { NcwError } from "../../ncw/errors.js";
import { packageFileName } from "../../ncw/manifest/rules.js";
import { verifyHashFile } from "../../ncw/package/hashfile.js";
import { resolveSymlinkTarget } from "../../ncw/package/tar.js";
import type { FsLayer, NodeKind } from "../fs/layer.js";
import { forgetApp } from "../perm/store.js";
import type { SideloadingMode } from "../registry/keys.js";
import { type AotReport, type Precompiler, precompMissing } from "./aot.js";
import { readDb, type SkyerDb } from "./db.js";
import { type EventOutcome, type EventRunner, makeEvent, RecordingEventRunner } from "./events.js";
import {
  APP_SUBDIRS,
  APPDATA_SUBDIRS,
  appDataDir,
  appDirName,
  checkUserName,
  itemDir,
  scopeLabel,
  versionDir,
} from "./layout.js";
import {
  availableLibraries,
  resolveLibraries,
  SYS_LIB_AID,
  SYS_LIB_VERSION,
  visibleFrom,
} from "./libs.js";
import type { EventFlags, InstalledItem, InstalledVersion, PackageInfo, Scope } from "./model.js";
import type { NauPackage } from "./nau.js";
import { crashPoint, Transaction } from "./txn.js";

/** Reads a manifest found in an installed content/ folder (the package reader's parser). */
export type ManifestReader = (
  manifestToml: Uint8Array,
) => Pick<
  PackageInfo,
  "aid" | "version" | "libraries" | "events" | "isLibrary" | "name" | "precomp"
>;

export interface SkyerOptions {
  events?: EventRunner;
  /** Called as work progresses (for a progress bar). */
  progress?: (label: string, done: number, total: number) => void;
  /** Parses manifest.toml for updates; required by update(). */
  readManifest?: ManifestReader;
  /**
   * The AOT step for content.program.precomp, run before the commit point (services/skyer/aot.ts);
   * required to install or update an application that has one.
   */
  precompile?: Precompiler;
}

export interface InstallOptions {
  scope: Scope;
  sideloading: SideloadingMode;
  /** Allow installing an older version over a newer one. */
  force?: boolean;
  /** The user whose appdata folder a global application gets at once (default user). */
  user: string;
}

export interface OperationReport {
  action: "installed" | "updated" | "reinstalled" | "uninstalled";
  aid: string;
  anid: number;
  kind: "app" | "lib";
  scope: string;
  version: string;
  previousVersion?: string;
  dir: string;
  resolved?: Record<string, string>;
  /** Libraries embedded in the application package, installed with it. */
  embedded?: { aid: string; version: string; action: string; dir: string }[];
  /** The AOT step of the application's pre-compiled program, when it has one. */
  aot?: AotReport;
  events: EventOutcome[];
  warnings: string[];
}

const nowIso = () => new Date().toISOString();

function sideloadingCheck(mode: SideloadingMode, what: string): string[] {
  const hint =
    "allow it for this command with --sideloading unsecure, or for this home with `ncw skyer sideloading unsecure`";
  if (mode === "disabled") {
    throw new NcwError(
      "no-perm",
      `sideloading is disabled: ${what} from a package file is not allowed`,
      {
        code: "SKYER_SIDELOADING_DISABLED",
        hint,
      },
    );
  }
  if (mode === "store-checking") {
    throw new NcwError(
      "no-perm",
      `sideloading mode is store-checking, which must compare the package with the NightOS Store; no Store is reachable from NCW, so as when offline, sideloading is disabled`,
      { code: "SKYER_SIDELOADING_OFFLINE", hint },
    );
  }
  return [SIDELOADING_UNSECURE_WARNING];
}

/** The warning of an install or update in `unsecure` mode (the CLI shows it once per home). */
export const SIDELOADING_UNSECURE_WARNING =
  "sideloading in unsecure mode: the package's AID is not checked against the Store (AID spoofing is possible)";

function scopeOf(it: InstalledItem): Scope {
  return it.scope === "global" ? { kind: "global" } : { kind: "user", user: it.user! };
}

function sameScope(it: InstalledItem, scope: Scope): boolean {
  return scope.kind === "global"
    ? it.scope === "global"
    : it.scope === "user" && it.user === scope.user;
}

export function pkgFileName(aid: string, version: string): string {
  return packageFileName(appDirName(aid), version);
}

/** One item of an install, checked and planned (Skyer.plan), not yet written. */
interface InstallPlan {
  pkg: PackageInfo;
  kind: "app" | "lib";
  prev: InstalledItem | null;
  prevVersion: InstalledVersion | undefined;
  resolved: Record<string, string>;
  anid: number;
  dir: string;
  /** The file name the package is kept under in packages/. */
  pkgName: string;
  next: InstalledItem;
}

function actionOf(
  prev: InstalledVersion | undefined,
  version: string,
): "installed" | "updated" | "reinstalled" {
  return prev === undefined ? "installed" : prev.version === version ? "reinstalled" : "updated";
}

/**
 * An error without the transaction's staging folder in its message: paths below it are shown as
 * the item's own (`content/main.npp`), the names the package and the update use.
 */
function withoutStaging(e: unknown, staging: string): unknown {
  if (!(e instanceof NcwError) || !e.message.includes(staging)) return e;
  const esc = staging.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const message = e.message.replace(new RegExp(`${esc}/(?:item-[0-9]+/)?`, "g"), "");
  return new NcwError(e.kind, message, {
    code: e.code,
    ...(e.hint === undefined ? {} : { hint: e.hint }),
    cause: e,
  });
}

function unsafePath(rel: string, why: string): NcwError {
  return new NcwError("data", `refusing to write ${JSON.stringify(rel)} in content/: ${why}`, {
    code: "SKYER_UNSAFE_PATH",
    hint: "a package or update may not write through or create links that leave the application's content/",
  });
}

/** Whether a relative symlink at `rel` (inside content/) with `target` resolves inside content/. */
export function linkStaysInside(rel: string, target: string): boolean {
  return resolveSymlinkTarget(rel, target) !== undefined;
}

/** The parent of a path relative to content/ ("" for a top-level name). */
function parentOf(rel: string): string {
  const i = rel.lastIndexOf("/");
  return i < 0 ? "" : rel.slice(0, i);
}

/**
 * The folders under a content/ root (relative paths) known to be real folders, never symlinks:
 * each folder on the way to an entry is checked (or created) once, so writing a package costs a
 * few tree operations per entry whatever its depth, instead of one per folder on its path.
 */
class ContentFolders {
  private readonly real = new Set<string>([""]);

  constructor(
    private readonly fs: FsLayer,
    readonly root: string,
  ) {}

  /**
   * Make sure `dir` is a real folder, as every folder on the way to it: a symlink on the way is
   * refused (nothing is written through links); with `create`, a missing folder is created and a
   * file in the way replaced. Without it, returns false at the first one missing. `entry` names
   * what is being written, for the error.
   */
  async reach(dir: string, entry: string, create: boolean): Promise<boolean> {
    const todo: string[] = [];
    for (let d = dir; !this.real.has(d); d = parentOf(d)) todo.push(d);
    for (const d of todo.reverse()) {
      const abs = `${this.root}/${d}`;
      const st = await this.fs.stat(abs);
      if (st?.kind === "symlink") throw unsafePath(entry, `${d} is a symlink`);
      if (st?.kind !== "dir") {
        if (!create) return false;
        if (st !== null) await this.fs.rm(abs);
        await this.fs.mkdir(abs);
      }
      this.real.add(d);
    }
    return true;
  }

  /** What is at `rel` (without following a final symlink), or null when it or a folder on the way is missing. */
  async kindOf(rel: string): Promise<NodeKind | null> {
    if (!(await this.reach(parentOf(rel), rel, false))) return null;
    return (await this.fs.stat(`${this.root}/${rel}`))?.kind ?? null;
  }

  /** Remove whatever is at `rel` (nothing when missing), through real folders only. */
  async remove(rel: string): Promise<void> {
    if (!(await this.reach(parentOf(rel), rel, false))) return;
    const abs = `${this.root}/${rel}`;
    const st = await this.fs.stat(abs);
    if (st === null) return;
    await this.fs.rm(abs, { recursive: true });
    if (st.kind !== "dir") return;
    const below = `${rel}/`;
    for (const d of this.real) if (d === rel || d.startsWith(below)) this.real.delete(d);
  }
}

export class Skyer {
  readonly events: EventRunner;

  constructor(
    readonly fs: FsLayer,
    private db: SkyerDb,
    private readonly opts: SkyerOptions = {},
  ) {
    this.events = opts.events ?? new RecordingEventRunner();
  }

  /** Open Skyer on a tree. The caller holds the home lock and has run recover() for writes. */
  static async open(fs: FsLayer, opts: SkyerOptions = {}): Promise<Skyer> {
    return new Skyer(fs, await readDb(fs), opts);
  }

  get items(): readonly InstalledItem[] {
    return this.db.items;
  }

  /** The installed item with this AID that `scope` sees (its own or a global one). */
  find(aid: string, scope: Scope): InstalledItem | undefined {
    return (
      this.db.items.find((it) => it.aid === aid && sameScope(it, scope)) ??
      this.db.items.find((it) => it.aid === aid && it.scope === "global")
    );
  }

  /** Items visible from a scope: global ones and the scope user's. */
  list(scope: Scope | "all"): InstalledItem[] {
    return this.db.items
      .filter((it) => scope === "all" || visibleFrom(scope, it))
      .sort((a, b) =>
        a.aid < b.aid ? -1 : a.aid > b.aid ? 1 : (a.user ?? "") < (b.user ?? "") ? -1 : 1,
      );
  }

  notInstalled(aid: string, scope: Scope): NcwError {
    if (aid === SYS_LIB_AID) {
      return new NcwError(
        "no-perm",
        `${SYS_LIB_AID} is the built-in system library (version ${SYS_LIB_VERSION}); it cannot be changed`,
        {
          code: "SKYER_BUILTIN",
        },
      );
    }
    const elsewhere = this.db.items.filter((it) => it.aid === aid);
    return new NcwError("not-found", `${aid} is not installed (${scopeLabel(scope)})`, {
      code: "SKYER_NOT_INSTALLED",
      hint:
        elsewhere.length > 0
          ? `it is installed for ${elsewhere.map((it) => scopeLabel(scopeOf(it))).join(", ")}: pass --user <name>`
          : "see what is installed with `ncw skyer list`",
    });
  }

  private newAnid(used: ReadonlySet<number>): number {
    for (;;) {
      const n = randomBytes(4).readUInt32LE(0);
      if (n !== 0 && !used.has(n)) return n;
    }
  }

  private async runEvent(
    flags: EventFlags,
    event: keyof EventFlags,
    it: { aid: string; anid: number; version: string; dir: string },
    out: EventOutcome[],
  ): Promise<void> {
    if (!flags[event]) return;
    const program = await this.installedProgram(it.dir);
    out.push(await this.events.run(makeEvent(event, { ...it, ...(program ? { program } : {}) })));
  }

  /**
   * The pre-compiled program of the application whose content/ is in `dir` (the installed one:
   * the old version before an update's commit, the new one after it), or undefined.
   */
  private async installedProgram(dir: string): Promise<Uint8Array | undefined> {
    const read = this.opts.readManifest;
    if (read === undefined) return undefined;
    let precomp: string | undefined;
    try {
      precomp = read(await this.fs.readFile(`${dir}/content/manifest.toml`)).precomp;
    } catch {
      return undefined;
    }
    if (precomp === undefined) return undefined;
    return this.fs.readFile(`${dir}/content/${precomp}`).catch(() => undefined);
  }

  /** Run the AOT step on an application's pre-compiled program (none for libraries). */
  private async precompile(
    aid: string,
    precomp: string | undefined,
    bytes: Uint8Array | undefined,
    missingCode: string,
  ): Promise<AotReport | undefined> {
    if (precomp === undefined) return undefined;
    if (bytes === undefined) throw precompMissing(aid, precomp, missingCode);
    const compile = this.opts.precompile;
    if (compile === undefined)
      throw new Error("Skyer needs a precompiler for content.program.precomp");
    return compile({ aid, path: precomp, bytes });
  }

  /** Write a package's files (or an update's) under `root`, reporting progress. */
  private async writeTree(
    root: string,
    p: {
      files: ReadonlyMap<string, Uint8Array>;
      dirs: readonly string[];
      symlinks: ReadonlyMap<string, string>;
    },
    label: string,
    folders: ContentFolders = new ContentFolders(this.fs, root),
  ): Promise<void> {
    const fs = this.fs;
    await fs.mkdir(root, { recursive: true });
    for (const d of p.dirs) await folders.reach(d, d, true);
    const total = p.files.size + p.symlinks.size;
    let done = 0;
    for (const [rel, data] of p.files) {
      await folders.reach(parentOf(rel), rel, true);
      const dest = `${root}/${rel}`;
      const st = await fs.stat(dest);
      if (st !== null && st.kind !== "file") await folders.remove(rel);
      await fs.writeFile(dest, data);
      done++;
      this.opts.progress?.(label, done, total);
      if (done === 1) crashPoint("staging");
    }
    for (const [rel, target] of p.symlinks) {
      if (!linkStaysInside(rel, target))
        throw unsafePath(rel, `its target ${JSON.stringify(target)} leaves content/`);
      await folders.reach(parentOf(rel), rel, true);
      await folders.remove(rel);
      await fs.symlink(target, `${root}/${rel}`);
      done++;
      this.opts.progress?.(label, done, total);
    }
  }

  private async copyTree(from: string, to: string): Promise<void> {
    const fs = this.fs;
    await fs.mkdir(to, { recursive: true });
    for (const e of await fs.readdir(from)) {
      const a = `${from}/${e.name}`;
      const b = `${to}/${e.name}`;
      if (e.kind === "dir") await this.copyTree(a, b);
      else if (e.kind === "file") await fs.writeFile(b, await fs.readFile(a));
      else await fs.symlink(await fs.readlink(a), b);
    }
  }

  /** Collect every file under a folder (relative paths), for integrity checks. */
  private async collectFiles(root: string, prefix = "", out = new Map<string, Uint8Array>()) {
    for (const e of await this.fs.readdir(root)) {
      const rel = prefix === "" ? e.name : `${prefix}/${e.name}`;
      if (e.kind === "dir") await this.collectFiles(`${root}/${e.name}`, rel, out);
      else if (e.kind === "file") out.set(rel, await this.fs.readFile(`${root}/${e.name}`));
    }
    return out;
  }

  private replaceItem(next: InstalledItem | null, prev: InstalledItem | null): SkyerDb {
    const items = this.db.items.filter((it) => it !== prev);
    if (next !== null) items.push(next);
    return { ...this.db, items };
  }

  /** Checks one item of an install and works out its new state; writes nothing. */
  private plan(
    pkg: PackageInfo,
    opts: InstallOptions,
    alsoInstalled: readonly InstalledItem[],
    usedAnids: Set<number>,
  ): InstallPlan {
    const { scope } = opts;
    if (pkg.did === "sys" || pkg.did === "sysl") {
      throw new NcwError(
        "no-perm",
        `the DID "${pkg.did}" is reserved for NightOS system applications and libraries (${pkg.aid})`,
        {
          code: "SKYER_RESERVED_DID",
          hint: "use your own developer identifier in the manifest's infos.did",
        },
      );
    }
    const kind = pkg.isLibrary ? "lib" : "app";
    const clash = this.db.items.find(
      (it) =>
        it.aid === pkg.aid &&
        !sameScope(it, scope) &&
        (it.scope === "global" || scope.kind === "global"),
    );
    if (clash) {
      throw new NcwError(
        "conflict",
        `${pkg.aid} is already installed for ${scopeLabel(scopeOf(clash))}; an AID is installed globally or per user, not both`,
        {
          code: "SKYER_AID_CONFLICT",
          hint: `uninstall it first: ncw skyer uninstall ${pkg.aid}${clash.scope === "user" ? ` --user ${clash.user}` : " --global"}`,
        },
      );
    }
    const prev = this.db.items.find((it) => it.aid === pkg.aid && sameScope(it, scope)) ?? null;
    if (prev !== null && prev.kind !== kind) {
      throw new NcwError(
        "conflict",
        `${pkg.aid} is installed as ${prev.kind === "app" ? "an application" : "a library"}, and this package is ${kind === "app" ? "an application" : "a library"}`,
        {
          code: "SKYER_KIND_MISMATCH",
          hint: `uninstall the installed one first: ncw skyer uninstall ${pkg.aid}`,
        },
      );
    }
    const prevVersion =
      prev === null
        ? undefined
        : kind === "app"
          ? prev.versions[0]
          : prev.versions.find((v) => v.version === pkg.version);
    if (
      kind === "app" &&
      prevVersion &&
      semver.lt(pkg.version, prevVersion.version) &&
      !opts.force
    ) {
      throw new NcwError(
        "conflict",
        `${pkg.aid} ${prevVersion.version} is installed; this package is the older ${pkg.version}`,
        {
          code: "SKYER_DOWNGRADE",
          hint: "pass --force to install the older version anyway (its data/ is kept)",
        },
      );
    }
    const resolved = resolveLibraries(
      pkg.libraries,
      availableLibraries(
        [...this.db.items.filter((it) => it.aid !== pkg.aid), ...alsoInstalled],
        scope,
      ),
      `${pkg.aid} ${pkg.version}`,
    );
    const anid = prev?.anid ?? this.newAnid(usedAnids);
    usedAnids.add(anid);
    const dir = versionDir(scope, pkg.aid, kind, pkg.version);
    const pkgName = pkg.packageName ?? pkgFileName(pkg.aid, pkg.version);
    const version: InstalledVersion = {
      version: pkg.version,
      dir,
      installedAt: prevVersion?.installedAt ?? nowIso(),
      updatedAt: nowIso(),
      packages:
        prevVersion === undefined
          ? [pkgName]
          : [...prevVersion.packages.filter((p) => p !== pkgName), pkgName],
      requires: { ...pkg.libraries },
      resolved,
      events: { ...pkg.events },
    };
    const next: InstalledItem = {
      aid: pkg.aid,
      anid,
      kind,
      name: pkg.name,
      scope: scope.kind,
      user: scope.kind === "user" ? scope.user : null,
      versions:
        kind === "app"
          ? [version]
          : [...(prev?.versions ?? []).filter((v) => v.version !== pkg.version), version].sort(
              (a, b) => semver.compare(a.version, b.version),
            ),
    };
    return { pkg, kind, prev, prevVersion, resolved, anid, dir, pkgName, next };
  }

  /** Stage one planned item in `tx` and queue the renames that put it in place. */
  private async stage(p: InstallPlan, tx: Transaction, n: number, opts: InstallOptions) {
    const { pkg, dir, pkgName } = p;
    const stagedItem = `${tx.staging}/item-${n}`;
    await this.writeTree(`${stagedItem}/content`, pkg, `installing ${pkg.aid}`);
    await this.fs.mkdir(`${stagedItem}/packages`, { recursive: true });
    await this.fs.writeFile(`${stagedItem}/packages/${pkgName}`, pkg.bytes);
    if (p.prevVersion !== undefined) {
      // Replace content/ and add the package; data/, crashsaves/, sandboxes/ stay.
      if (await this.fs.stat(`${dir}/content`)) tx.trash(`${dir}/content`);
      tx.move(`${stagedItem}/content`, `${dir}/content`);
      if (await this.fs.stat(`${dir}/packages/${pkgName}`)) tx.trash(`${dir}/packages/${pkgName}`);
      tx.move(`${stagedItem}/packages/${pkgName}`, `${dir}/packages/${pkgName}`);
      for (const sub of APP_SUBDIRS) {
        if (!(await this.fs.stat(`${dir}/${sub}`))) {
          await this.fs.mkdir(`${stagedItem}/${sub}`, { recursive: true });
          if (sub !== "content" && sub !== "packages")
            tx.move(`${stagedItem}/${sub}`, `${dir}/${sub}`);
        }
      }
    } else {
      for (const sub of APP_SUBDIRS)
        await this.fs.mkdir(`${stagedItem}/${sub}`, { recursive: true });
      tx.move(stagedItem, dir);
    }
    if (opts.scope.kind === "global" && p.kind === "app") {
      const appdata = appDataDir(checkUserName(opts.user), pkg.aid);
      if (!(await this.fs.stat(appdata))) {
        for (const sub of APPDATA_SUBDIRS)
          await this.fs.mkdir(`${tx.staging}/appdata/${sub}`, { recursive: true });
        tx.move(`${tx.staging}/appdata`, appdata);
      }
    }
  }

  /**
   * Install a package (or update/reinstall it when the same AID is installed in the scope), with
   * the libraries it embeds, all in one transaction.
   */
  async install(pkg: PackageInfo, opts: InstallOptions): Promise<OperationReport> {
    const { scope } = opts;
    if (pkg.kind === "nva") {
      throw new NcwError(
        "usage",
        `${pkg.aid} is a volatile application (.nva): volatile apps are run, not installed`,
        {
          code: "SKYER_VOLATILE",
          hint: "run it with `ncw run <app.nva>`, or pack it as a .nap to install it",
        },
      );
    }
    const warnings = sideloadingCheck(opts.sideloading, `installing ${pkg.aid}`);
    // Embedded libraries first: the application's dependencies may resolve to them.
    const usedAnids = new Set(this.db.items.map((it) => it.anid));
    const plans: InstallPlan[] = [];
    for (const lib of pkg.embedded ?? [])
      plans.push(
        this.plan(
          lib,
          opts,
          plans.map((q) => q.next),
          usedAnids,
        ),
      );
    const main = this.plan(
      pkg,
      opts,
      plans.map((q) => q.next),
      usedAnids,
    );
    plans.push(main);
    const { kind, anid, dir, prevVersion } = main;
    // The AOT step, before anything is written to the tree: a program that fails it fails the install.
    const aot =
      kind === "app"
        ? await this.precompile(
            pkg.aid,
            pkg.precomp,
            pkg.precomp === undefined ? undefined : pkg.files.get(pkg.precomp),
            "SKYER_PRECOMP_MISSING",
          )
        : undefined;
    const events: EventOutcome[] = [];
    const isUpdate = prevVersion !== undefined;
    if (isUpdate && kind === "app") {
      await this.runEvent(
        prevVersion.events,
        "preupdate",
        { aid: pkg.aid, anid, version: prevVersion.version, dir },
        events,
      );
    }

    const tx = await Transaction.begin(this.fs, isUpdate ? "reinstall" : "install", pkg.aid);
    try {
      for (const [n, p] of plans.entries()) await this.stage(p, tx, n, opts);
      const replaced = new Set(plans.map((p) => p.prev));
      const nextDb: SkyerDb = {
        ...this.db,
        items: [...this.db.items.filter((it) => !replaced.has(it)), ...plans.map((p) => p.next)],
      };
      await tx.commit(nextDb);
      this.db = { ...nextDb, lastTx: tx.txid };
    } catch (e) {
      await tx.abort();
      throw withoutStaging(e, tx.staging);
    }
    const ev = { aid: pkg.aid, anid, version: pkg.version, dir };
    if (kind === "app")
      await this.runEvent(pkg.events, isUpdate ? "postupdate" : "postinstall", ev, events);
    const embedded = plans.slice(0, -1).map((p) => ({
      aid: p.pkg.aid,
      version: p.pkg.version,
      action: actionOf(p.prevVersion, p.pkg.version),
      dir: p.dir,
    }));
    return {
      action: actionOf(prevVersion, pkg.version),
      aid: pkg.aid,
      anid,
      kind,
      scope: scopeLabel(scope),
      version: pkg.version,
      ...(isUpdate ? { previousVersion: prevVersion.version } : {}),
      dir,
      resolved: main.resolved,
      ...(embedded.length === 0 ? {} : { embedded }),
      ...(aot === undefined ? {} : { aot }),
      events,
      warnings,
    };
  }

  /** Items (and versions) that depend on a library version. */
  dependents(lib: InstalledItem, versions: readonly string[]): string[] {
    const out: string[] = [];
    for (const it of this.db.items) {
      if (it === lib || !visibleFrom(scopeOf(it), lib)) continue;
      for (const v of it.versions) {
        const used = v.resolved[lib.aid];
        if (used !== undefined && versions.includes(used)) {
          out.push(`${it.aid} ${v.version} (${scopeLabel(scopeOf(it))}) uses ${lib.aid} ${used}`);
        }
      }
    }
    return out;
  }

  /** Uninstall an application, or a library (all versions, or one with `version`). */
  async uninstall(aid: string, scope: Scope, version?: string): Promise<OperationReport> {
    const it = this.find(aid, scope);
    if (it === undefined) throw this.notInstalled(aid, scope);
    const itScope = scopeOf(it);
    let removing = it.versions;
    if (version !== undefined) {
      removing = it.versions.filter((v) => v.version === version);
      if (removing.length === 0) {
        throw new NcwError(
          "not-found",
          `${aid} ${version} is not installed (installed: ${it.versions.map((v) => v.version).join(", ")})`,
          {
            code: "SKYER_VERSION_NOT_INSTALLED",
            hint: `see \`ncw skyer info ${aid}\``,
          },
        );
      }
    }
    const removed = removing.map((v) => v.version);
    if (it.kind === "lib") {
      const deps = this.dependents(it, removed);
      if (deps.length > 0) {
        throw new NcwError(
          "conflict",
          `cannot uninstall ${aid} ${removed.join(", ")}: installed items need it:\n  - ${deps.join("\n  - ")}`,
          {
            code: "SKYER_LIBRARY_IN_USE",
            hint: "uninstall or update those first",
          },
        );
      }
    }
    const events: EventOutcome[] = [];
    const first = it.versions[0]!;
    if (it.kind === "app") {
      await this.runEvent(
        first.events,
        "preuninstall",
        { aid, anid: it.anid, version: first.version, dir: first.dir },
        events,
      );
    }
    const tx = await Transaction.begin(this.fs, "uninstall", aid);
    try {
      const keep = it.versions.filter((v) => !removed.includes(v.version));
      for (const v of removing) if (await this.fs.stat(v.dir)) tx.trash(v.dir);
      const top = itemDir(itScope, aid);
      if (it.kind === "lib" && keep.length === 0 && (await this.fs.stat(top))) tx.trash(top);
      const nextDb = this.replaceItem(keep.length > 0 ? { ...it, versions: keep } : null, it);
      await tx.commit(nextDb);
      this.db = { ...nextDb, lastTx: tx.txid };
    } catch (e) {
      await tx.abort();
      throw withoutStaging(e, tx.staging);
    }
    // The app is gone: so are the permissions its users granted it (permissions.md "If the
    // application is uninstalled and re-installed later, all the granted permissions will have been
    // dropped"); a user's install for that user, a global one for every user.
    if (it.kind === "app" && !this.find(aid, itScope))
      await forgetApp(this.fs, aid, itScope.kind === "user" ? itScope.user : undefined);
    return {
      action: "uninstalled",
      aid,
      anid: it.anid,
      kind: it.kind,
      scope: scopeLabel(itScope),
      version: removed.join(", "),
      dir: it.kind === "lib" ? itemDir(itScope, aid) : first.dir,
      events,
      warnings: [],
    };
  }

  /** Apply a .nau update to an installed application (specs/update-processes.md). */
  async update(
    aid: string,
    nau: NauPackage,
    nauBytes: Uint8Array,
    opts: { scope: Scope; sideloading: SideloadingMode },
  ): Promise<OperationReport> {
    const it = this.find(aid, opts.scope);
    if (it === undefined) throw this.notInstalled(aid, opts.scope);
    if (it.kind !== "app") {
      throw new NcwError(
        "usage",
        `${aid} is a library: libraries are updated by installing the new version beside the old ones`,
        {
          code: "SKYER_NAU_LIBRARY",
          hint: "ncw skyer install <lib-new-version.nap>",
        },
      );
    }
    const m = nau.metadata;
    if (m.aid !== aid) {
      throw new NcwError("data", `this update is for ${m.aid}, not ${aid}`, {
        code: "NAU_WRONG_APP",
      });
    }
    const cur = it.versions[0]!;
    if (m.from !== cur.version) {
      throw new NcwError(
        "conflict",
        `this update applies to ${aid} ${m.from} only, and ${cur.version} is installed`,
        {
          code: "NAU_WRONG_VERSION",
          hint:
            semver.valid(cur.version) && semver.lt(cur.version, m.from)
              ? `install the updates from ${cur.version} to ${m.from} first`
              : "this update is older than the installed version; nothing to do",
        },
      );
    }
    const warnings = sideloadingCheck(opts.sideloading, `updating ${aid}`);
    const readManifest = this.opts.readManifest;
    if (readManifest === undefined) throw new Error("Skyer.update needs a manifest reader");
    const itScope = scopeOf(it);
    const dir = cur.dir;
    const events: EventOutcome[] = [];
    const tx = await Transaction.begin(this.fs, "update", aid);
    let newInfo: ReturnType<ManifestReader>;
    let resolved: Record<string, string>;
    let aot: AotReport | undefined;
    const nauName = `${appDirName(aid)}-${m.from}-to-${m.to}.nau`;
    try {
      const staged = `${tx.staging}/content`;
      await this.copyTree(`${dir}/content`, staged);
      const folders = new ContentFolders(this.fs, staged);
      for (const r of m.remove) await folders.reach(parentOf(r), r, false);
      for (const r of m.remove) await folders.remove(r);
      await this.writeTree(staged, nau, `updating ${aid}`, folders);
      const manifestPath = `${staged}/manifest.toml`;
      if ((await this.fs.stat(manifestPath))?.kind !== "file") {
        throw new NcwError("data", "after the update, content/ has no manifest.toml file", {
          code: "NAU_MANIFEST_MISMATCH",
          hint: "an update must keep (or carry the new) manifest.toml; build it with `ncw skyer make-update`",
        });
      }
      newInfo = readManifest(await this.fs.readFile(manifestPath));
      if (newInfo.aid !== aid || newInfo.version !== m.to || newInfo.isLibrary) {
        throw new NcwError(
          "data",
          `after the update, content/manifest.toml says ${newInfo.aid} ${newInfo.version}; the update's metadata says ${aid} ${m.to}`,
          {
            code: "NAU_MANIFEST_MISMATCH",
            hint: "an update must carry the new manifest.toml (and hash.md5) in files/; build it with `ncw skyer make-update`",
          },
        );
      }
      const files = await this.collectFiles(staged);
      const hash = files.get("hash.md5");
      if (hash !== undefined) {
        files.delete("hash.md5");
        try {
          verifyHashFile(new TextDecoder().decode(hash), files);
        } catch (e) {
          throw new NcwError(
            "data",
            `the updated content fails its hash.md5 check: ${(e as Error).message}`,
            {
              code: "NAU_HASH_MISMATCH",
              hint: "the update does not match the installed files; rebuild it from the installed version's package",
              cause: e,
            },
          );
        }
      }
      resolved = resolveLibraries(
        newInfo.libraries,
        availableLibraries(this.db.items, itScope),
        `${aid} ${m.to}`,
      );
      // The AOT step on the updated program, before the commit point.
      const precomp = newInfo.precomp;
      aot = await this.precompile(
        aid,
        precomp,
        precomp !== undefined && (await folders.kindOf(precomp)) === "file"
          ? await this.fs.readFile(`${staged}/${precomp}`)
          : undefined,
        "NAU_PRECOMP_MISSING",
      );
      await this.runEvent(
        cur.events,
        "preupdate",
        { aid, anid: it.anid, version: cur.version, dir },
        events,
      );
      await this.fs.writeFile(`${tx.staging}/${nauName}`, nauBytes);
      if (await this.fs.stat(`${dir}/content`)) tx.trash(`${dir}/content`);
      tx.move(staged, `${dir}/content`);
      if (await this.fs.stat(`${dir}/packages/${nauName}`)) tx.trash(`${dir}/packages/${nauName}`);
      tx.move(`${tx.staging}/${nauName}`, `${dir}/packages/${nauName}`);
      const next: InstalledItem = {
        ...it,
        name: newInfo.name,
        versions: [
          {
            ...cur,
            version: m.to,
            updatedAt: nowIso(),
            packages: [...cur.packages.filter((p) => p !== nauName), nauName],
            requires: { ...newInfo.libraries },
            resolved,
            events: { ...newInfo.events },
          },
        ],
      };
      const nextDb = this.replaceItem(next, it);
      await tx.commit(nextDb);
      this.db = { ...nextDb, lastTx: tx.txid };
    } catch (e) {
      await tx.abort();
      throw withoutStaging(e, tx.staging);
    }
    await this.runEvent(
      newInfo.events,
      "postupdate",
      { aid, anid: it.anid, version: m.to, dir },
      events,
    );
    return {
      action: "updated",
      aid,
      anid: it.anid,
      kind: "app",
      scope: scopeLabel(itScope),
      version: m.to,
      previousVersion: m.from,
      dir,
      resolved,
      ...(aot === undefined ? {} : { aot }),
      events,
      warnings,
    };
  }
}
