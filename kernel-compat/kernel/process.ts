// The kernel's process objects (specs/kernel/processes.md; docs/kernel.md "Processes"): a process as the
// kernel server knows it, and the process table: app PIDs from FIRST_APP_PID, never reused; the records
// of exited processes stay (their outcome answers WAIT/KILL_CHILD_PROCESS); each process' children.

import type { ChildProcess } from "node:child_process";
import { FIRST_APP_PID } from "../../commonassembly/abi/numbers.js";
import type { SessionTerminal } from "../../services/syshydre/service.js";
import type { CommandPipeMapping } from "../ipc/command-pipes.js";
import type { Outcome, ProcessInfo, RunnerAnswer } from "../protocol.js";
import type { CommandPipeSet } from "./command-pipes.js";
import type { ProxyLinkSet } from "./proxy-link.js";

/**
 * Who receives a process' trace lines and its end: the run of a CLI session that started it (one sink
 * per run: its messages carry the run's id, docs/kernel.md "Runs on one connection"). A child and a
 * service started on the process' behalf report to the same sink.
 */
export interface SessionSink {
  /** The control connection the run came on: shared by the sinks of that connection's runs. */
  readonly connection: object;
  started(pid: number, hostPid: number, name: string): void;
  trace(pid: number, line: string): void;
  exited(pid: number, outcome: Outcome): void;
  /** The command pipes of `pid`: the segments the CLI maps for its ends (docs/ipc.md "Command pipes"). */
  commandPipes(pid: number, pipes: CommandPipeMapping[], cmdin?: "runner" | "piped"): void;
  /** The runner could not open the CLI's stdin for CMDIN (`why`): the CLI's pump moves it instead. */
  commandInput?(pid: number, why: string): void;
  /**
   * Run `go` once the session's socket takes more (at once when it is not backed up; never if the
   * session closes): the kernel acknowledges trace lines and answers traced kernel syscalls through it,
   * so a slow reader holds the traced process back instead of filling the kernel's memory.
   */
  whenWritable(go: () => void): void;
  /**
   * The CLI session's Hydre session and terminal size, as the run request and `window-size` said
   * (sys::hydre, docs/services.md "sys::hydre (PID 17)"); undefined for a sink that has none.
   */
  readonly terminal?: SessionTerminal;
  /** Whether the CLI has a terminal to ask the user on (docs/permissions.md "Prompts"). */
  canAsk?(): boolean;
  /** Ask the user a permission question; one of `choices` ("deny" when nobody can answer). */
  ask?(text: string, choices: readonly string[], fallback: string): Promise<string>;
}

export interface KProcess {
  pid: number;
  ppid: number;
  name: string;
  anid: number;
  user: number;
  /** The NightOS user it runs for (whose installs it sees, whose service instances it reaches). */
  userName: string;
  /**
   * A sandboxed run's snapshot (`ncw run --sandbox`, docs/dev-loop.md "Sandboxes"): the tree path of
   * the sandbox's writable snapshot of "/", which sys::fs shows this process (and its children) in
   * place of the paths a sandbox covers.
   */
  sandbox?: string;
  /**
   * A service started on demand (docs/services.md): it reports to the terminal of the client that
   * started it while that one lasts, but does not end with it.
   */
  detached: boolean;
  state: ProcessInfo["state"];
  startedAt: number;
  runner: ChildProcess | undefined;
  /**
   * Its runner's signal door (ipc/door.ts): the peers' runners post its RECV_SOCK_MSG there (docs/ipc.md
   * "The runner-to-runner path"). Undefined until the runner named it, or where the host has none.
   */
  door?: { name: string; size: number };
  session: SessionSink | undefined;
  trace: boolean;
  wasm: Uint8Array;
  context: Uint8Array;
  children: Set<number>;
  /** Signals the process has a handler for (mirrored from its runner). */
  handled: Set<number>;
  waiters: Array<() => void>;
  outcome: Outcome | undefined;
  suspendedAt: number | undefined;
  /** A syscall reply held back while the process suspends itself. */
  selfSuspendReply: ((durationMs: bigint) => void) | undefined;
  timers: Set<NodeJS.Timeout>;
  /** 0–10: 0 suspends, 1–9 throttle at safepoints, 10 runs freely (docs/kernel.md, "Priorities"). */
  priority: number;
  /** performance.now() when the kernel created the process (for "running … ms after"). */
  spawnedAt: number;
  /** Its NightOS memory as the kernel counts it for the home's limit (docs/kernel.md "Limits"). */
  memoryBytes: number;
  /** Trace lines passed to the session and not yet acknowledged to the runner (its trace window). */
  traceUnacked: number;
  /** A command run's six pipes (kernel/command-pipes.ts), or undefined. */
  commandPipes?: CommandPipeSet;
  /** Its link to its application proxy (kernel/proxy-link.ts, docs/kernel.md); none: not proxied. */
  proxyLink?: ProxyLinkSet;
  /** Kernel requests to its runner (map-segment, start-thread, …) not answered yet, by request number. */
  requests: Map<number, (answer: RunnerAnswer) => void>;
}

/**
 * Every app process the kernel created, live or exited, by PID. PIDs are handed out from
 * FIRST_APP_PID up and never reused, so a PID names one process for the kernel's whole life.
 */
export class ProcessTable {
  private readonly byPid = new Map<number, KProcess>();
  private next = FIRST_APP_PID;

  /** The PID the next process gets (taken by `add`). */
  nextPid(): number {
    return this.next;
  }

  /** Enter a new process under the next PID (its `pid` must be `nextPid()`), child of its parent. */
  add(p: KProcess): void {
    if (p.pid !== this.next)
      throw new Error(`process ${p.pid} added out of order (next ${this.next})`);
    this.next++;
    this.byPid.set(p.pid, p);
    this.byPid.get(p.ppid)?.children.add(p.pid);
  }

  /** A process by PID, live or exited (its record), or undefined. */
  get(pid: number): KProcess | undefined {
    return this.byPid.get(pid);
  }

  /** The processes not exited yet. */
  live(): KProcess[] {
    return [...this.byPid.values()].filter((p) => p.state !== "exited");
  }

  /** `pid`'s children (created by it), live or exited. */
  childrenOf(pid: number): KProcess[] {
    const p = this.byPid.get(pid);
    if (p === undefined) return [];
    return [...p.children].flatMap((c) => this.byPid.get(c) ?? []);
  }

  /** A child of `parent` (created by it) by PID, or undefined. */
  childOf(parent: KProcess, pid: number): KProcess | undefined {
    const p = this.byPid.get(pid);
    return p !== undefined && p.ppid === parent.pid ? p : undefined;
  }

  /** True if `p` is `q`'s parent, its parent's parent, … */
  isAncestorOf(p: KProcess, q: KProcess): boolean {
    for (let a = this.byPid.get(q.ppid); a !== undefined; a = this.byPid.get(a.ppid)) {
      if (a === p) return true;
    }
    return false;
  }
}
