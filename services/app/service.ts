// sys::app (specs/services/system/app.md; its methods are NCW's, commonassembly/abi/services/app.ts): the
// applications installed for the caller's user, from Skyer's query API, the ones running now, from
// the kernel's process list, and installs, uninstalls and launches through Skyer (the same code as
// `ncw skyer`) — all injected by the kernel (services never import it). docs/services.md "sys::app".

import { SystemPid } from "../../commonassembly/abi/numbers.js";
import {
  APP_INFO,
  CURRENT_APP,
  FIND_APP,
  INSTALL_APP,
  LAUNCH_APP,
  LIST_APPS,
  RUNNING_APPS,
  SYS_APP,
  UNINSTALL_APP,
} from "../../commonassembly/abi/services/app.js";
import type { Fields } from "../../commonassembly/abi/services/fields.js";
import { FS_STRUCTURES, type FsPath } from "../../commonassembly/abi/services/fs-structures.js";
import { type MethodDef, ServiceErr } from "../../commonassembly/abi/services/method.js";
import type { Answer, Caller, NativeService } from "../host/service.js";

/** An installed application as sys::app describes it (services/skyer/query.ts InstalledApp). */
export interface AppEntry {
  aid: string;
  anid: number;
  version: string;
  scope: "global" | "user";
}

/** What sys::app asks of the kernel. */
export interface AppDirectory {
  /** The caller's NightOS user and its application's ANID (0: none), undefined for an unknown PID. */
  identity(pid: number): { user: string; anid: number } | undefined;
  /** Every application `user` sees, by AID (Skyer's query API, installedApps). */
  installed(user: string): Promise<readonly AppEntry[]>;
  /** The ANIDs of `user`'s live processes (0: a process with none, e.g. a system service). */
  runningAnids(user: string): readonly number[];
  /** Everything that changes the system; absent (unit tests, a kernel without a tree): 0xFFFF. */
  manager?: AppManager;
}

/** What a package read on a caller's behalf gives (sys::fs' rules: fs.items.read on it). */
export type PackageRead =
  | { ok: true; bytes: Uint8Array; path: string }
  | { ok: false; why: "not-found" | "permission" };

/** What a launch gives. */
export type Launched =
  | { ok: true; pid: number }
  | { ok: false; why: "not-runnable" | "limit" | "failed"; message: string };

/** Installs, uninstalls and launches (kernel-compat/server: Skyer's session on the kernel's tree). */
export interface AppManager {
  /** Read the file at `path` as the caller may (sys::fs' path rules and fs.items.read). */
  readPackage(caller: Caller, path: FsPath): Promise<PackageRead>;
  /** Whether the user consents (the permission gate: up front, a grant, or asked on the terminal). */
  consent(
    pid: number,
    permission: "ncw.apps.install" | "ncw.apps.uninstall",
    detail: string,
  ): Promise<boolean>;
  /**
   * `ncw skyer install` of `bytes` (named `name`) for `user`; throws Skyer's NcwError. `events`: what
   * each of its events did, as `ncw skyer install` prints it.
   */
  install(user: string, name: string, bytes: Uint8Array): Promise<InstallDone>;
  /** `ncw skyer uninstall <aid>` for `user`; throws Skyer's NcwError. `events` as for install. */
  uninstall(user: string, aid: string): Promise<{ events: string[] }>;
  /** A line on the terminal of process `pid` (and the kernel's log): what Skyer's events did. */
  tell(pid: number, line: string): void;
  /** Start `app` with `args` for the caller's user, as the caller's child in its session. */
  launch(callerPid: number, app: AppEntry, args: readonly string[]): Promise<Launched>;
}

/** What an install did (Skyer's report, in short). */
export interface InstallDone {
  anid: number;
  /** "installed", "updated" or "reinstalled". */
  action: string;
  aid: string;
  version: string;
  /** Each event's line, as `ncw skyer install` prints it. */
  events: string[];
}

const ACTIONS: Record<string, number> = { installed: 0x01, updated: 0x02, reinstalled: 0x03 };

/**
 * The errcode of a Skyer error code (docs/services.md "sys::app"): the package reader's and the AOT
 * step's errors are the package's; the checks against what is installed a conflict.
 */
export function installErrcode(code: string): number {
  const E = INSTALL_APP.errors;
  if (code === "SKYER_MISSING_LIBRARIES") return E.MISSING_LIBRARIES;
  if (code === "SKYER_SIDELOADING_DISABLED" || code === "SKYER_SIDELOADING_OFFLINE")
    return E.SIDELOADING;
  if (code === "SKYER_LOCKED") return E.BUSY;
  if (
    [
      "SKYER_AID_CONFLICT",
      "SKYER_KIND_MISMATCH",
      "SKYER_RESERVED_DID",
      "SKYER_DOWNGRADE",
      "SKYER_BUILTIN",
    ].includes(code)
  )
    return E.CONFLICT;
  if (
    /^(PKG|MANIFEST|NPP|ABI|WASM|AOT|NAU|CA)_/.test(code) ||
    ["SKYER_VOLATILE", "SKYER_UNSAFE_PATH", "SKYER_PRECOMP_MISSING", "SKYER_BAD_AID"].includes(code)
  )
    return E.BAD_PACKAGE;
  return E.FAILED;
}

/** The errcode of a Skyer error of an uninstall. */
export function uninstallErrcode(code: string): number {
  const E = UNINSTALL_APP.errors;
  if (code === "SKYER_NOT_INSTALLED" || code === "SKYER_VERSION_NOT_INSTALLED") return E.NOT_FOUND;
  if (code === "SKYER_LIBRARY_IN_USE") return E.IN_USE;
  if (code === "SKYER_LOCKED") return E.BUSY;
  return E.FAILED;
}

const codeOf = (e: unknown): string => {
  const c = (e as { code?: unknown }).code;
  return typeof c === "string" ? c : "";
};

/** The package's name for the package reader (its extension decides .nap / .nva): its path's last part. */
function packageName(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1) || "package.nap";
}

export class SysApp implements NativeService {
  readonly name = "sys::app";
  readonly pid = SystemPid["sys::app"];
  readonly def = SYS_APP;
  readonly structures = FS_STRUCTURES;

  constructor(private readonly apps: AppDirectory) {}

  async handle(method: MethodDef, args: Fields, caller: Caller): Promise<Answer> {
    const who = this.apps.identity(caller.pid);
    if (who === undefined) throw new Error(`sys::app: no process ${caller.pid}`);
    switch (method.code) {
      case LIST_APPS.code: {
        const all = await this.apps.installed(who.user);
        return { ok: true, value: { anids: all.map((a) => a.anid) } };
      }
      case APP_INFO.code: {
        const app = (await this.apps.installed(who.user)).find((a) => a.anid === args.anid);
        if (app === undefined) return { ok: false, errcode: APP_INFO.errors.NOT_FOUND };
        return {
          ok: true,
          value: { aid: app.aid, version: app.version, global: app.scope === "global" },
        };
      }
      case FIND_APP.code: {
        const app = (await this.apps.installed(who.user)).find((a) => a.aid === args.aid);
        if (app === undefined) return { ok: false, errcode: FIND_APP.errors.NOT_FOUND };
        return { ok: true, value: { anid: app.anid } };
      }
      case CURRENT_APP.code: {
        const installed = (await this.apps.installed(who.user)).some((a) => a.anid === who.anid);
        return { ok: true, value: { anid: who.anid, installed } };
      }
      case RUNNING_APPS.code: {
        const anids = [...new Set(this.apps.runningAnids(who.user).filter((a) => a !== 0))];
        return { ok: true, value: { anids: anids.sort((a, b) => a - b) } };
      }
      case INSTALL_APP.code:
        return this.install(args.package as FsPath, caller, who.user);
      case UNINSTALL_APP.code:
        return this.uninstall(args.anid as number, caller.pid, who.user);
      case LAUNCH_APP.code:
        return this.launch(args.anid as number, args.args as string[], caller.pid, who.user);
      default:
        throw new Error(`sys::app has no handler for ${method.name}`);
    }
  }

  private manager(): AppManager {
    const m = this.apps.manager;
    if (m === undefined) throw new Error("sys::app: this kernel installs no applications");
    return m;
  }

  private async install(pkg: FsPath, caller: Caller, user: string): Promise<Answer> {
    const m = this.manager();
    const pid = caller.pid;
    const E = INSTALL_APP.errors;
    const where =
      "feid" in pkg ? `the file of FEID 0x${pkg.feid.toString(16)}` : `/${pkg.split.join("/")}`;
    // The lowest errcode first (services/README.md): the consent, then the file, then the package.
    if (!(await m.consent(pid, "ncw.apps.install", `to install the package ${where} for ${user}`)))
      return { ok: false, errcode: ServiceErr.PERMISSION };
    const read = await m.readPackage(caller, pkg);
    if (!read.ok)
      return {
        ok: false,
        errcode: read.why === "permission" ? ServiceErr.PERMISSION : E.NOT_FOUND,
      };
    try {
      const r = await m.install(user, packageName(read.path), read.bytes);
      for (const e of r.events)
        m.tell(pid, `sys::app: ${r.action} ${r.aid} ${r.version} for ${user}: ${e}`);
      return { ok: true, value: { anid: r.anid, action: ACTIONS[r.action] ?? 0x01 } };
    } catch (e) {
      const errcode = installErrcode(codeOf(e));
      // The user's terminal says why, as `ncw skyer install` would (the app gets the errcode).
      m.tell(
        pid,
        `sys::app: INSTALL_APP ${read.path} for ${user} refused (0x${errcode.toString(16).padStart(4, "0")}): ${codeOf(e) || "error"}: ${(e as Error).message}`,
      );
      return { ok: false, errcode };
    }
  }

  private async uninstall(anid: number, pid: number, user: string): Promise<Answer> {
    const m = this.manager();
    const E = UNINSTALL_APP.errors;
    const app = (await this.apps.installed(user)).find((a) => a.anid === anid);
    if (
      !(await m.consent(
        pid,
        "ncw.apps.uninstall",
        `to uninstall ${app?.aid ?? `ANID 0x${anid.toString(16)}`} for ${user}`,
      ))
    )
      return { ok: false, errcode: ServiceErr.PERMISSION };
    if (app === undefined) return { ok: false, errcode: E.NOT_FOUND };
    if (app.scope === "global") return { ok: false, errcode: E.GLOBAL };
    try {
      const r = await m.uninstall(user, app.aid);
      for (const e of r.events) m.tell(pid, `sys::app: uninstalled ${app.aid} for ${user}: ${e}`);
      return { ok: true, value: {} };
    } catch (e) {
      const errcode = uninstallErrcode(codeOf(e));
      m.tell(
        pid,
        `sys::app: UNINSTALL_APP ${app.aid} for ${user} refused (0x${errcode.toString(16).padStart(4, "0")}): ${codeOf(e) || "error"}: ${(e as Error).message}`,
      );
      return { ok: false, errcode };
    }
  }

  private async launch(
    anid: number,
    args: readonly string[],
    pid: number,
    user: string,
  ): Promise<Answer> {
    const E = LAUNCH_APP.errors;
    const app = (await this.apps.installed(user)).find((a) => a.anid === anid);
    if (app === undefined) return { ok: false, errcode: E.NOT_FOUND };
    const r = await this.manager().launch(pid, app, args);
    if (r.ok) return { ok: true, value: { pid: BigInt(r.pid) } };
    this.manager().tell(pid, `sys::app: LAUNCH_APP ${app.aid} failed: ${r.message}`);
    const errcode =
      r.why === "not-runnable" ? E.NOT_RUNNABLE : r.why === "limit" ? E.LIMIT : E.FAILED;
    return { ok: false, errcode };
  }
}
