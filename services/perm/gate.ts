// The one place a permission is checked (docs/permissions.md): the service host's check of a method
// table's permissions, sys::fs's scoped checks and sys::perm's methods all come here. It gathers what
// the three scopes say (policy.ts), and asks the user on the terminal of the CLI that started the app
// when none settles it — never a silent grant: without a terminal the answer is a refusal.

import {
  defaultDuration,
  GRANT_DURATIONS,
  type GrantDuration,
  isPermission,
  type Permission,
  permissionInfo,
} from "../../commonassembly/abi/permissions.js";
import type { GrantSource } from "../../commonassembly/abi/services/perm.js";
import type { FsLayer } from "../fs/layer.js";
import { decide, formatGrant, type Grant, holds } from "./policy.js";
import { addGrant, readUser, removeGrants, updateUser, writeUser } from "./store.js";

/** The "deny" choice every question carries (kernel-compat/protocol.ts DENY). */
const DENY = "deny";

/** How the gate reaches the user of a process: the session of the CLI that started it. */
export interface AskingSession {
  /** Whether the CLI said it has a terminal to ask on. */
  canAsk(): boolean;
  /** Ask; resolves with one of `choices` ("deny" when the session goes meanwhile). */
  ask(text: string, choices: readonly string[], fallback: string): Promise<string>;
}

/** A process, as the gate sees it. */
export interface GateProcess {
  readonly pid: number;
  readonly ppid: number;
  readonly name: string;
  readonly userName: string;
  readonly system: boolean;
  readonly session: AskingSession | undefined;
}

export interface GateHost {
  process(pid: number): GateProcess | undefined;
  /** The key of the process' app's grants: its AID, or `hash:<sha256>` of a volatile program. */
  appKey(p: GateProcess): Promise<string>;
  /**
   * The home's tree, to read the grants from. A check runs inside a sys::fs call, which holds the
   * tree's queue: reads go to the layer directly (one readFile), writes through `serialize`.
   */
  tree(): Promise<FsLayer>;
  /** Run `fn` as one step of the tree's queue (after the sys::fs call that asked, if one did). */
  serialize<R>(fn: () => Promise<R>): Promise<R>;
  /** Tell the process' terminal (and the log) why something was refused. */
  tell(p: GateProcess, line: string): void;
  log(line: string): void;
}

/** What one run (a process started by `ncw run`, and the processes under it) was given. */
interface RunState {
  /** --allow and the policy file. */
  readonly allow: Grant[];
  /** --deny, the policy file's deny, and the "deny" answers of this run. */
  readonly deny: Grant[];
  /** Answers "run": until the run's process ends. */
  readonly granted: Grant[];
}

/** A grant of a process, with where it comes from (sys::perm LIST_GRANTS, `ncw perm list --pid`). */
export interface HeldGrant extends Grant {
  readonly source: GrantSource;
}

export class PermissionGate {
  private readonly runs = new Map<number, RunState>();
  /** Answers "session": until the kernel stops (NCW's session, docs/permissions.md), by user and app. */
  private readonly session = new Map<string, Grant[]>();
  /** "forever" answers not yet written (their write waits for the sys::fs call that asked to end). */
  private readonly unsaved = new Map<string, Grant[]>();
  /** One question per permission and scope of a run at a time: the other checks wait for its answer. */
  private readonly pending = new Map<string, Promise<boolean>>();

  constructor(
    private readonly host: GateHost,
    /** Granted up front to every process (NCW_GRANT_PERMISSIONS; docs/permissions.md). */
    private readonly upfront: readonly Grant[] = [],
  ) {}

  /** A run starts with `allow` and `deny` (`ncw run --allow/--deny`, a policy file). */
  startRun(pid: number, allow: readonly Grant[], deny: readonly Grant[]): void {
    this.runs.set(pid, { allow: [...allow], deny: [...deny], granted: [] });
  }

  /** A process ended: what its run was given goes with it. */
  processExited(pid: number): void {
    this.runs.delete(pid);
  }

  /**
   * The process whose run `p` belongs to: the nearest one (itself or an ancestor) that started a run —
   * an app sys::app LAUNCH_APP started is a child of its caller but a run of its own, so it never
   * holds its launcher's grants — else the topmost ancestor still known.
   */
  private runRoot(p: GateProcess): GateProcess {
    let r = p;
    for (let i = 0; i < 1024; i++) {
      if (this.runs.has(r.pid) || r.ppid === 0) return r;
      const up = this.host.process(r.ppid);
      if (up === undefined) return r;
      r = up;
    }
    return r;
  }

  private runOf(p: GateProcess): RunState | undefined {
    return this.runs.get(this.runRoot(p).pid);
  }

  /**
   * Whether process `pid` holds `permission` on `scope`. When nothing settles it and `ask` is on, the
   * user is asked on the run's terminal; without one it is refused, and the terminal is told how to
   * grant it up front. `detail` is said after the question (what an NCW consent is for).
   */
  async check(
    pid: number,
    permission: string,
    scope?: string,
    ask = true,
    detail?: string,
  ): Promise<boolean> {
    try {
      return await this.decideFor(pid, permission, scope, ask, detail);
    } catch (e) {
      // A damaged grant file, a tree that cannot be read: refused (never a grant), and logged.
      this.host.log(`permission ${permission} for PID ${pid} refused: ${(e as Error).message}`);
      return false;
    }
  }

  /**
   * What `check` would answer without asking: "ask" when only the user can settle it (or a question
   * for it is already on the terminal). A damaged grant file is a refusal, as for `check`.
   */
  async settle(
    pid: number,
    permission: string,
    scope?: string,
  ): Promise<"granted" | "refused" | "ask"> {
    let asks = false;
    try {
      const ok = await this.decideFor(pid, permission, scope, false, undefined, () => {
        asks = true;
      });
      return ok ? "granted" : asks ? "ask" : "refused";
    } catch (e) {
      this.host.log(`permission ${permission} for PID ${pid} refused: ${(e as Error).message}`);
      return "refused";
    }
  }

  private async decideFor(
    pid: number,
    permission: string,
    scope: string | undefined,
    ask: boolean,
    detail?: string,
    /** Called instead of asking when `ask` is off and only the user could settle it. */
    wouldAsk?: () => void,
  ): Promise<boolean> {
    const p = this.host.process(pid);
    if (p === undefined || !isPermission(permission)) return false;
    const app = await this.host.appKey(p);
    const user = await readUser(await this.host.tree(), p.userName);
    const run = this.runOf(p);
    const granted: Grant[] = [
      ...(user.apps[app] ?? []),
      ...(this.unsaved.get(sessionKey(p.userName, app)) ?? []),
      ...(this.session.get(sessionKey(p.userName, app)) ?? []),
      ...(run?.granted ?? []),
      ...(run?.allow ?? []),
      ...this.upfront,
    ];
    const d = decide(permission, scope, {
      system: p.system,
      userLevel: user.level,
      security: user.security,
      blocked: user.blocked,
      denied: run?.deny ?? [],
      granted,
    });
    if (d.kind === "granted") return true;
    const what = formatGrant({ permission, scope });
    if (d.kind === "refused") {
      this.host.log(`process ${p.pid} (${p.name}): permission ${what} refused: ${d.why}`);
      return false;
    }
    if (!ask) {
      wouldAsk?.();
      return false;
    }
    const key = `${this.runRoot(p).pid}\0${what}\0${detail ?? ""}`;
    let asking = this.pending.get(key);
    if (asking === undefined) {
      asking = this.prompt(p, app, permission, scope, detail).finally(() =>
        this.pending.delete(key),
      );
      this.pending.set(key, asking);
    }
    return asking;
  }

  private async prompt(
    p: GateProcess,
    app: string,
    permission: Permission,
    scope: string | undefined,
    detail?: string,
  ): Promise<boolean> {
    const what = formatGrant({ permission, scope });
    const s = p.session;
    if (s === undefined || !s.canAsk()) {
      this.host.tell(
        p,
        `permission ${what} refused: no terminal to ask on (grant it up front: \`ncw run --allow ${what}\`, or \`ncw perm grant\`)`,
      );
      return false;
    }
    const info = permissionInfo(permission);
    const on = scope === undefined ? "" : ` on ${scope}`;
    const level =
      info.level === undefined
        ? ""
        : ` (level ${info.level}${info.admin ? ", administrator" : ""})`;
    const text = `${p.name} (PID ${p.pid}, ${app.startsWith("hash:") ? "volatile app" : app}) asks for ${permission}${level}${on}${detail === undefined ? "" : `: ${detail}`}`;
    const choice = await s.ask(text, [...GRANT_DURATIONS, DENY], defaultDuration(permission));
    const grant: Grant = { permission, scope };
    const run = this.ensureRun(p);
    switch (choice as GrantDuration | typeof DENY) {
      case "once":
        return true;
      case "run":
        run.granted.push(grant);
        return true;
      case "session": {
        const k = sessionKey(p.userName, app);
        this.session.set(k, [...(this.session.get(k) ?? []), grant]);
        return true;
      }
      case "forever":
        this.saveForever(p.userName, app, grant);
        return true;
      default:
        // DECISION (docs/permissions.md "Prompts"): a refusal holds for the run, so an app that asks
        // again in a loop does not put the question again and again.
        run.deny.push(grant);
        this.host.log(`process ${p.pid} (${p.name}): permission ${what} refused by the user`);
        return false;
    }
  }

  /**
   * Write a "forever" answer to the user's file. Not awaited: the check may run inside a sys::fs call,
   * which holds the tree's queue; until it is written the grant holds from memory.
   */
  private saveForever(user: string, app: string, grant: Grant): void {
    const k = sessionKey(user, app);
    this.unsaved.set(k, [...(this.unsaved.get(k) ?? []), grant]);
    void this.host
      .serialize(async () =>
        updateUser(await this.host.tree(), user, (u) =>
          addGrant(u, app, grant.permission, grant.scope),
        ),
      )
      .catch((e) =>
        this.host.log(
          `permission ${formatGrant(grant)} for ${app} not saved: ${(e as Error).message}`,
        ),
      )
      .finally(() => {
        const left = (this.unsaved.get(k) ?? []).filter((g) => g !== grant);
        if (left.length === 0) this.unsaved.delete(k);
        else this.unsaved.set(k, left);
      });
  }

  private ensureRun(p: GateProcess): RunState {
    const root = this.runRoot(p).pid;
    let r = this.runs.get(root);
    if (r === undefined) {
      r = { allow: [], deny: [], granted: [] };
      this.runs.set(root, r);
    }
    return r;
  }

  /** The process gives `permission` up (every scope of it, or `scope`): for this run and for good. */
  async drop(pid: number, permission: Permission, scope?: string): Promise<void> {
    const p = this.host.process(pid);
    if (p === undefined) return;
    const app = await this.host.appKey(p);
    const gone = (g: Grant) =>
      g.permission === permission && (scope === undefined || g.scope === scope);
    const run = this.ensureRun(p);
    const k = sessionKey(p.userName, app);
    for (const list of [
      run.granted,
      run.allow,
      this.session.get(k) ?? [],
      this.unsaved.get(k) ?? [],
    ])
      for (let i = list.length - 1; i >= 0; i--) if (gone(list[i]!)) list.splice(i, 1);
    // Given up front to every process: this run refuses it from now on.
    if (holds(this.upfront, permission, scope)) run.deny.push({ permission, scope });
    await this.host.serialize(async () => {
      const fs = await this.host.tree();
      const u = await readUser(fs, p.userName);
      if (removeGrants(u, app, permission, scope) > 0) await writeUser(fs, p.userName, u);
    });
  }

  /** What process `pid` holds beyond its security level's automatic grants, with their sources. */
  async grants(pid: number): Promise<HeldGrant[] | undefined> {
    const p = this.host.process(pid);
    if (p === undefined) return undefined;
    const app = await this.host.appKey(p);
    const user = await readUser(await this.host.tree(), p.userName);
    const run = this.runOf(p);
    const denied = run?.deny ?? [];
    const out: HeldGrant[] = [];
    const add = (gs: readonly Grant[], source: GrantSource) => {
      for (const g of gs) {
        if (holds(denied, g.permission, g.scope) || user.blocked.includes(g.permission)) continue;
        out.push({
          permission: g.permission,
          ...(g.scope === undefined ? {} : { scope: g.scope }),
          source,
        });
      }
    };
    add(
      [...(user.apps[app] ?? []), ...(this.unsaved.get(sessionKey(p.userName, app)) ?? [])],
      "forever",
    );
    add(this.session.get(sessionKey(p.userName, app)) ?? [], "session");
    add(run?.granted ?? [], "run");
    add([...(run?.allow ?? []), ...this.upfront], "upfront");
    return out;
  }

  /** Where `permission` on `scope` comes from for `pid` without asking (REQUEST_PERMISSION's answer). */
  async source(
    pid: number,
    permission: Permission,
    scope?: string,
  ): Promise<GrantSource | undefined> {
    if (!(await this.check(pid, permission, scope, false))) return undefined;
    const held = (await this.grants(pid)) ?? [];
    const order: GrantSource[] = ["forever", "session", "run", "upfront"];
    for (const src of order)
      if (
        holds(
          held.filter((g) => g.source === src),
          permission,
          scope,
        )
      )
        return src;
    return "automatic";
  }
}

const sessionKey = (user: string, app: string) => `${user}\0${app}`;
