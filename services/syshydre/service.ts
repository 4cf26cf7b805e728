// sys::hydre (PID 17; specs/services/system/hydre.md is "TODO": its methods are NCW's,
// commonassembly/abi/services/hydre.ts, docs/services.md "sys::hydre (PID 17)"): the caller's shell
// session as the kernel knows it from the CLI that started the run (a Hydre session's ID, the
// terminal's size and its changes), and WINDOW_RESIZED to the clients that watch it.

import { SystemPid } from "../../commonassembly/abi/numbers.js";
import type { Fields } from "../../commonassembly/abi/services/fields.js";
import {
  RUN_COMMAND,
  SESSION_INFO,
  SYS_HYDRE,
  WATCH_RESIZE,
  WINDOW_RESIZED,
  WINDOW_SIZE,
} from "../../commonassembly/abi/services/hydre.js";
import { type MethodDef, ServiceErr } from "../../commonassembly/abi/services/method.js";
import type { Answer, Caller, NativeService, ServiceContext } from "../host/service.js";

/** A terminal's size, in characters. */
export interface WindowSize {
  columns: number;
  rows: number;
}

/**
 * What the kernel knows of a run's session (one object per CLI connection, shared by its runs and
 * their children): the Hydre session it belongs to (0: none) and its terminal's size (undefined: the
 * CLI's output is not a terminal).
 */
export interface SessionTerminal {
  hydre: number;
  size: WindowSize | undefined;
  /** Runs a command line in the Hydre session for process `pid` (RUN_COMMAND); absent: no Hydre session. */
  run?: (pid: number, line: string) => Promise<LineOutcome>;
}

/** A command line the session ran for an app: refused by its parse or check, or its end. */
export type LineOutcome =
  | { kind: "bad-line" | "check-failed" | "gone" }
  | { kind: "ran"; status: number; value: Uint8Array };

/** RUN_COMMAND's consent (docs/services.md "sys::hydre (PID 17)"). */
export const RUN_PERMISSION = "ncw.hydre.commands.run";

/** The session of a live process, or undefined (a process of no CLI session: a service). */
export type SessionOf = (pid: number) => SessionTerminal | undefined;

/** u16 fields: a size above 65535 (no terminal has one) is told as 65535. */
const u16 = (n: number) => Math.min(0xffff, Math.max(0, Math.floor(n)));

export class SysHydre implements NativeService {
  readonly name = "sys::hydre";
  readonly pid = SystemPid["sys::hydre"];
  readonly def = SYS_HYDRE;
  private ctx: ServiceContext | undefined;
  /** The clients that asked for WINDOW_RESIZED (WATCH_RESIZE true), until they stop or disconnect. */
  private readonly watchers = new Set<number>();

  constructor(private readonly sessionOf: SessionOf) {}

  attach(ctx: ServiceContext): void {
    this.ctx = ctx;
  }

  handle(method: MethodDef, args: Fields, caller: Caller): Answer | Promise<Answer> {
    const s = this.sessionOf(caller.pid);
    switch (method.code) {
      case SESSION_INFO.code:
        return {
          ok: true,
          value: {
            hydre: s !== undefined && s.hydre !== 0,
            session: BigInt(s?.hydre ?? 0),
            terminal: s?.size !== undefined,
            columns: u16(s?.size?.columns ?? 0),
            rows: u16(s?.size?.rows ?? 0),
          },
        };
      case WINDOW_SIZE.code:
        if (s?.size === undefined) return { ok: false, errcode: WINDOW_SIZE.errors.NO_TERMINAL };
        return { ok: true, value: { columns: u16(s.size.columns), rows: u16(s.size.rows) } };
      case WATCH_RESIZE.code:
        if (args.watch === false) {
          this.watchers.delete(caller.pid);
          return { ok: true, value: {} };
        }
        if (s?.size === undefined) return { ok: false, errcode: WATCH_RESIZE.errors.NO_TERMINAL };
        this.watchers.add(caller.pid);
        return { ok: true, value: {} };
      case RUN_COMMAND.code:
        return this.runCommand(s, args.line as string, caller);
      default:
        throw new Error(`sys::hydre has no handler for ${method.name}`);
    }
  }

  /**
   * RUN_COMMAND: the constant check (an empty line), the context (a Hydre session to run it), the
   * user's consent, then the session's CLI parses, checks and runs it (cli/hydre-host.ts).
   */
  private async runCommand(
    s: SessionTerminal | undefined,
    line: string,
    caller: Caller,
  ): Promise<Answer> {
    const E = RUN_COMMAND.errors;
    if (line.trim() === "") return { ok: false, errcode: E.BAD_LINE };
    const run = s?.hydre === 0 ? undefined : s?.run;
    if (run === undefined) return { ok: false, errcode: E.NOT_IN_SESSION };
    if (!(await caller.has(RUN_PERMISSION))) return { ok: false, errcode: ServiceErr.PERMISSION };
    const r = await run(caller.pid, line);
    switch (r.kind) {
      case "bad-line":
        return { ok: false, errcode: E.BAD_LINE };
      case "check-failed":
        return { ok: false, errcode: E.CHECK_FAILED };
      case "gone":
        return { ok: false, errcode: E.SESSION_GONE };
      default:
        return { ok: true, value: { status: r.status, value: Array.from(r.value) } };
    }
  }

  onDisconnect(clientPid: number): void {
    this.watchers.delete(clientPid);
  }

  onProcessExit(p: { pid: number }): void {
    this.watchers.delete(p.pid);
  }

  /** The terminal of `session` changed size (the CLI said so): WINDOW_RESIZED to its watchers. */
  resized(session: SessionTerminal): void {
    const size = session.size;
    if (size === undefined) return;
    for (const pid of this.watchers)
      if (this.sessionOf(pid) === session)
        this.ctx?.notify(pid, WINDOW_RESIZED.name, {
          columns: u16(size.columns),
          rows: u16(size.rows),
        });
  }
}
