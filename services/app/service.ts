// sys::app (specs/services/system/app.md; its methods are NCW's, commonassembly/abi/services/app.ts): the
// applications installed for the caller's user, from Skyer's query API, and the ones running now, from
// the kernel's process list — both injected by the kernel (services never import it).

import { SystemPid } from "../../commonassembly/abi/numbers.js";
import {
  APP_INFO,
  CURRENT_APP,
  FIND_APP,
  LIST_APPS,
  RUNNING_APPS,
  SYS_APP,
} from "../../commonassembly/abi/services/app.js";
import type { Fields } from "../../commonassembly/abi/services/fields.js";
import type { MethodDef } from "../../commonassembly/abi/services/method.js";
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
  /** The ANIDs of the live processes (0: a process with none, e.g. a system service). */
  runningAnids(): readonly number[];
}

export class SysApp implements NativeService {
  readonly name = "sys::app";
  readonly pid = SystemPid["sys::app"];
  readonly def = SYS_APP;

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
        const anids = [...new Set(this.apps.runningAnids().filter((a) => a !== 0))];
        return { ok: true, value: { anids: anids.sort((a, b) => a - b) } };
      }
      default:
        throw new Error(`sys::app has no handler for ${method.name}`);
    }
  }
}
