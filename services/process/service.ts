// sys::process (specs/services/system/process.md; its methods are NCW's, commonassembly/abi/services/
// process.ts, docs/services.md "sys::process"): the processes the kernel runs, from a process-list
// provider the kernel wires in (the same list `ncw ps` prints), and the kernel's controls to manage them.

import { Sig, SystemPid } from "../../commonassembly/abi/numbers.js";
import type { Fields } from "../../commonassembly/abi/services/fields.js";
import type { MethodDef } from "../../commonassembly/abi/services/method.js";
import {
  CHILDREN,
  LIST_PROCESSES,
  MANAGE_ACTIONS,
  MANAGE_PROCESS,
  PROCESS_ATTRIBUTES,
  PROCESS_INFO,
  PROCESS_STATES,
  SET_PRIORITY,
  SYS_PROCESS,
} from "../../commonassembly/abi/services/process.js";
import type { Answer, Caller, NativeService } from "../host/service.js";

/** A process as the kernel describes it (kernel-compat/protocol.ts ProcessInfo has these fields). */
export interface ProcessEntry {
  pid: number;
  ppid: number;
  name: string;
  kind: "system" | "app";
  state: (typeof PROCESS_STATES)[number];
  startedAt: number;
  user: number;
  anid: number;
  priority: number;
}

export type ProcessListProvider = () => readonly ProcessEntry[];

/** What the kernel does for MANAGE_PROCESS and SET_PRIORITY, on a live app process. */
export interface ProcessControl {
  signal(pid: number, signal: number): void;
  unsuspend(pid: number): void;
  setPriority(pid: number, priority: number): void;
}

/** NCW's priority scale (docs/kernel.md "Priorities"): 1–10 runs, 0 is suspension. */
const MAX_PRIORITY = 10;

export class SysProcess implements NativeService {
  readonly name = "sys::process";
  readonly pid = SystemPid["sys::process"];
  readonly def = SYS_PROCESS;

  constructor(
    private readonly processes: ProcessListProvider,
    private readonly control?: ProcessControl,
  ) {}

  handle(method: MethodDef, args: Fields, caller: Caller): Answer {
    const all = this.processes();
    const byPid = (pid: unknown) => all.find((x) => BigInt(x.pid) === pid);
    switch (method.code) {
      case LIST_PROCESSES.code:
        return { ok: true, value: { pids: sortedPids(all) } };
      case PROCESS_INFO.code: {
        const p = byPid(args.pid);
        if (p === undefined) return { ok: false, errcode: PROCESS_INFO.errors.NOT_FOUND };
        return {
          ok: true,
          value: {
            ppid: BigInt(p.ppid),
            name: p.name,
            system: p.kind === "system",
            state: PROCESS_STATES.indexOf(p.state),
            startedAt: BigInt(p.startedAt),
          },
        };
      }
      case CHILDREN.code: {
        const p = byPid(args.pid);
        if (p === undefined) return { ok: false, errcode: CHILDREN.errors.NOT_FOUND };
        // The system services' ppid is 0: no process is the child of a system service.
        const kids = p.kind === "system" ? [] : all.filter((x) => x.ppid === p.pid);
        return { ok: true, value: { pids: sortedPids(kids) } };
      }
      case PROCESS_ATTRIBUTES.code: {
        const p = byPid(args.pid);
        if (p === undefined) return { ok: false, errcode: PROCESS_ATTRIBUTES.errors.NOT_FOUND };
        return {
          ok: true,
          value: { priority: p.priority, user: BigInt(p.user), anid: BigInt(p.anid) },
        };
      }
      case MANAGE_PROCESS.code:
        return this.manage(all, args, caller);
      case SET_PRIORITY.code: {
        const priority = args.priority as number;
        if (priority < 1 || priority > MAX_PRIORITY)
          return { ok: false, errcode: SET_PRIORITY.errors.BAD_PRIORITY };
        const t = this.target(all, args.pid, caller);
        if ("errcode" in t) return { ok: false, errcode: t.errcode };
        this.controls().setPriority(t.pid, priority);
        return { ok: true, value: {} };
      }
      default:
        throw new Error(`sys::process has no handler for ${method.name}`);
    }
  }

  private manage(all: readonly ProcessEntry[], args: Fields, caller: Caller): Answer {
    const action = args.action as number;
    const E = MANAGE_PROCESS.errors;
    if (!Object.values(MANAGE_ACTIONS).includes(action as never))
      return { ok: false, errcode: E.BAD_ACTION };
    const t = this.target(all, args.pid, caller);
    if ("errcode" in t) return { ok: false, errcode: t.errcode };
    const suspended = t.state === "suspended";
    const c = this.controls();
    switch (action) {
      case MANAGE_ACTIONS.ASK_SUSPEND:
      case MANAGE_ACTIONS.FORCE_SUSPEND:
        if (suspended) return { ok: false, errcode: E.SAME_STATE };
        c.signal(t.pid, action === MANAGE_ACTIONS.ASK_SUSPEND ? Sig.SUSPEND : Sig.WILL_SUSPEND);
        break;
      case MANAGE_ACTIONS.UNSUSPEND:
        if (!suspended) return { ok: false, errcode: E.SAME_STATE };
        c.unsuspend(t.pid);
        break;
      default:
        c.signal(
          t.pid,
          action === MANAGE_ACTIONS.ASK_TERMINATE ? Sig.TERMINATE : Sig.WILL_TERMINATE,
        );
    }
    return { ok: true, value: {} };
  }

  /**
   * The live app process `pid` names, if the caller may act on it: one of its descendants, or a process
   * of its own application and user (MANAGE_PROCESS's NOT_ALLOWED says why not the others).
   */
  private target(
    all: readonly ProcessEntry[],
    pid: unknown,
    caller: Caller,
  ): ProcessEntry | { errcode: number } {
    const E = MANAGE_PROCESS.errors;
    const t = all.find((x) => BigInt(x.pid) === pid);
    if (t === undefined || t.state === "exited" || t.state === "reserved")
      return { errcode: E.NOT_FOUND };
    const me = all.find((x) => x.pid === caller.pid);
    if (t.kind === "system" || me === undefined || t.pid === me.pid)
      return { errcode: E.NOT_ALLOWED };
    const sameApp = t.anid !== 0 && t.anid === me.anid && t.user === me.user;
    if (!sameApp && !descends(all, t, me.pid)) return { errcode: E.NOT_ALLOWED };
    return t;
  }

  private controls(): ProcessControl {
    if (this.control === undefined) throw new Error("sys::process: no process control wired in");
    return this.control;
  }
}

function sortedPids(ps: readonly ProcessEntry[]): bigint[] {
  return ps.map((p) => BigInt(p.pid)).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** Whether `p` descends from process `ancestor` (its parent, its parent's parent, …). */
function descends(all: readonly ProcessEntry[], p: ProcessEntry, ancestor: number): boolean {
  const seen = new Set<number>();
  for (let at: ProcessEntry | undefined = p; at !== undefined && !seen.has(at.pid); ) {
    seen.add(at.pid);
    if (at.ppid === ancestor) return true;
    const ppid: number = at.ppid;
    at = all.find((x) => x.pid === ppid);
  }
  return false;
}
