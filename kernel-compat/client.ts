// The CLI's side of the kernel server (docs/kernel.md, "Kernel server", "The session"): connect to the
// home's running kernel over its Unix socket / named pipe, or start one (detached) on demand and connect
// to it; answer the kernel's questions; stream stdio. The kernel must be this host user's
// (docs/security.md): the peer is checked before a byte is sent.

import { openSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { Value } from "../commonassembly/abi/values.js";
import type { HostNative } from "../native/types.js";
import { type ErrorKind, NcwError } from "../ncw/errors.js";
import type { HomeLayout } from "../ncw/home.js";
import type { InstalledCommand } from "../services/shell/commands.js";
import { DEFAULT_USER } from "../services/skyer/layout.js";
import { clockMark, clockMarksOn } from "./clock-marks.js";
import type { CommandPipeMapping } from "./ipc/command-pipes.js";
import { kernelEndpoint, kernelLogPath } from "./paths.js";
import {
  type ClientMessage,
  DENY,
  encodeFrame,
  FrameReader,
  type HostFileId,
  type KernelMessage,
  type Outcome,
  PROTOCOL_VERSION,
  type QuestionKind,
  type Startup,
} from "./protocol.js";
import { isStdio, StdioMux, StdioProtocolError } from "./stdio.js";

const ERROR_KINDS: readonly ErrorKind[] = [
  "usage",
  "data",
  "not-found",
  "unavailable",
  "cant-create",
  "io",
  "temp-fail",
  "no-perm",
  "config",
  "conflict",
  "failure",
];
function isErrorKind(k: string | undefined): k is ErrorKind {
  return ERROR_KINDS.includes(k as ErrorKind);
}

const serverMain = path.join(path.dirname(fileURLToPath(import.meta.url)), "server", "main.js");

/** A question of the kernel, as the CLI's `ask` handler gets it. */
export interface KernelQuestion {
  kind: QuestionKind;
  text: string;
  choices: string[];
  /** The choice Enter picks. */
  default?: string;
  /** The run whose process asks (RunHandle.id): a CLI following several runs can tell which. */
  run?: number;
}
/** Asks the user (on the terminal) and resolves with one of the choices. */
export type AskHandler = (q: KernelQuestion) => Promise<string>;
const START_TIMEOUT_MS = 10_000;

export class KernelConnection {
  private readonly reader = new FrameReader<KernelMessage>();
  private readonly listeners = new Set<(m: KernelMessage) => void>();
  private readonly closeHandlers = new Set<() => void>();
  /** The id of this connection's next run (startRun): each run's messages carry its own. */
  private nextRun = 1;
  /** Writables the CLI is waiting on before it reads more from the kernel (holdUntilDrained). */
  private readonly holds = new Set<NodeJS.WritableStream>();
  closed = false;
  /** The session's stdio streams: this side writes `in`, reads `out` and `err`. */
  readonly stdio: StdioMux;

  constructor(
    private readonly sock: net.Socket,
    readonly kernelPid: number,
    /** Who answers the kernel's questions; without one (no terminal) every answer is "deny". */
    private readonly askUser?: AskHandler,
  ) {
    this.stdio = new StdioMux("client", (m) => this.send(m));
    sock.on("data", (chunk) => {
      try {
        for (const m of this.reader.push(chunk)) this.dispatch(m);
      } catch (e) {
        // A kernel that breaks the protocol is not talked to any more.
        if (!(e instanceof StdioProtocolError)) throw e;
        sock.destroy();
      }
    });
    sock.on("close", () => {
      this.closed = true;
      const handlers = [...this.closeHandlers];
      this.closeHandlers.clear();
      for (const h of handlers) h();
    });
    sock.on("error", () => {});
  }

  send(m: ClientMessage): void {
    if (!this.sock.destroyed) this.sock.write(encodeFrame(m));
  }

  private dispatch(m: KernelMessage): void {
    if (m.t === "ask") {
      const choose = this.askUser ?? (async () => DENY);
      void choose({
        kind: m.kind,
        text: m.text,
        choices: m.choices,
        ...(m.default !== undefined ? { default: m.default } : {}),
        ...(m.run !== undefined ? { run: m.run } : {}),
      })
        .catch(() => DENY)
        .then((c) =>
          this.send({ t: "answer", id: m.id, choice: m.choices.includes(c) ? c : DENY }),
        );
      return;
    }
    if (isStdio(m)) {
      this.stdio.handle(m);
      return;
    }
    for (const l of this.listeners) l(m);
  }

  /**
   * Stop reading from the kernel until `out` (where the CLI writes what it reads: the trace) has
   * drained. The kernel's socket then backs up and the kernel holds the traced process back.
   */
  holdUntilDrained(out: NodeJS.WritableStream): void {
    if (this.holds.has(out)) return;
    this.holds.add(out);
    this.sock.pause();
    const release = () => {
      out.off("drain", release);
      out.off("error", release);
      out.off("close", release);
      this.holds.delete(out);
      if (this.holds.size === 0) this.sock.resume();
    };
    // A writable that failed or closed never drains: reading goes on (what it would get is lost).
    out.on("drain", release);
    out.on("error", release);
    out.on("close", release);
  }

  onMessage(l: (m: KernelMessage) => void): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  /** Call `h` when the connection closes (at once if it has); the function returned removes it. */
  onClose(h: () => void): () => void {
    if (this.closed) {
      h();
      return () => {};
    }
    this.closeHandlers.add(h);
    return () => this.closeHandlers.delete(h);
  }

  /**
   * The message and close listeners on this connection: a run or a request that has ended leaves none
   * behind, so a long-lived connection (`ncw test`'s) does not gather them.
   */
  get listening(): { messages: number; close: number } {
    return { messages: this.listeners.size, close: this.closeHandlers.size };
  }

  /** A new run id for this connection (docs/kernel.md "Runs on one connection"). */
  newRunId(): number {
    return this.nextRun++;
  }

  /**
   * Send a request and wait for the first answer that `pick` accepts, or an error. An error about a
   * run (it carries the run's id) is that run's, not this request's.
   */
  request<T>(m: ClientMessage, pick: (r: KernelMessage) => T | undefined): Promise<T> {
    return new Promise((resolve, reject) => {
      const off = () => {
        offMessage();
        offClose();
      };
      const offMessage = this.onMessage((r) => {
        if (r.t === "error") {
          if (r.run !== undefined) return;
          off();
          reject(
            new NcwError(isErrorKind(r.kind) ? r.kind : "failure", r.message, {
              code: r.code,
              ...(r.hint ? { hint: r.hint } : {}),
            }),
          );
          return;
        }
        const v = pick(r);
        if (v !== undefined) {
          off();
          resolve(v);
        }
      });
      const offClose = this.onClose(() => {
        offMessage();
        reject(kernelGone());
      });
      this.send(m);
    });
  }

  close(): void {
    this.sock.end();
  }
}

export function kernelGone(): NcwError {
  return new NcwError(
    "unavailable",
    "the NCW kernel server closed the connection (it stopped or crashed)",
    {
      code: "KERNEL_GONE",
      hint: "run the command again (a new kernel starts on demand); its log is in the home's logs/kernel.log",
    },
  );
}

/** Connect to `sock`; undefined when nobody listens. A listener of another host user is refused. */
function connectOnce(sock: string, native: HostNative): Promise<net.Socket | undefined> {
  return new Promise((resolve, reject) => {
    const c = net.connect(sock);
    c.once("connect", () => {
      c.removeAllListeners("error");
      const peer = native.checkPeer(c);
      if (peer.ok) {
        resolve(c);
        return;
      }
      c.destroy();
      reject(
        new NcwError(
          "no-perm",
          `refusing to talk to ${sock}: it is not your kernel (${peer.reason}); nothing was sent to it`,
          {
            code: "KERNEL_PEER_REFUSED",
            hint:
              peer.code === "NATIVE_PEER_OTHER_USER"
                ? `another host user is listening there; remove ${sock} and run the command again`
                : "see docs/security.md, section The control socket",
          },
        ),
      );
    });
    c.once("error", () => resolve(undefined));
  });
}

async function handshake(s: net.Socket, ask: AskHandler | undefined): Promise<KernelConnection> {
  const reader = new FrameReader<KernelMessage>();
  const hello = await new Promise<KernelMessage>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      const [m] = reader.push(chunk);
      if (m) {
        s.off("data", onData);
        resolve(m);
      }
    };
    s.on("data", onData);
    s.once("close", () => reject(kernelGone()));
    s.write(encodeFrame({ t: "hello", version: PROTOCOL_VERSION, terminal: ask !== undefined }));
  });
  if (hello.t !== "hello" || hello.version !== PROTOCOL_VERSION) {
    // A kernel of another NCW (one started before ncw was upgraded) is not talked to: its messages
    // would be misread (docs/kernel.md "Control protocol"). It is the user's to stop: it runs their
    // processes.
    s.destroy();
    const known = hello.t === "hello";
    const who = known
      ? `the running kernel server (host PID ${hello.kernelPid})`
      : "the running kernel server";
    const speaks =
      known && typeof hello.version === "number"
        ? `protocol version ${hello.version}`
        : "another protocol";
    throw new NcwError(
      "unavailable",
      `${who} speaks ${speaks}, and this ncw speaks version ${PROTOCOL_VERSION} (a kernel of another NCW version: started before ncw was upgraded?)`,
      {
        code: "KERNEL_VERSION",
        hint: known
          ? `it exits by itself once idle (no process and no client; 30 s by default); to stop it now (ending its processes): kill ${hello.kernelPid}; then run the command again`
          : "it exits by itself once idle (no process and no client; 30 s by default); then run the command again",
      },
    );
  }
  return new KernelConnection(s, hello.kernelPid, ask);
}

export interface ConnectOptions {
  start: boolean;
  /**
   * Answers the kernel's questions: given only by a CLI with a terminal to ask on. Without it the
   * session says it has no terminal, and every question is denied (DIRECTION.md §5).
   */
  ask?: AskHandler;
}

/** Connect to the home's kernel; start one first when none runs and `start` is true. */
export async function connectKernel(
  home: HomeLayout,
  opts: ConnectOptions = { start: true },
): Promise<KernelConnection | undefined> {
  // A kernel that is stopping (idle) may accept a connection and close it before answering: the
  // handshake then fails, and a new kernel is started (the stopping one has freed the socket path).
  for (let attempt = 1; ; attempt++) {
    try {
      return await connectOrStart(home, opts);
    } catch (e) {
      if (!(e instanceof NcwError) || e.code !== "KERNEL_GONE" || attempt >= 3) throw e;
    }
  }
}

async function connectOrStart(
  home: HomeLayout,
  opts: ConnectOptions,
): Promise<KernelConnection | undefined> {
  // Loaded here, not at start-up: only commands that talk to a kernel pay for koffi.
  const { hostNative } = await import("../native/index.js");
  const native = hostNative();
  const ep = kernelEndpoint(home, native);
  native.secureEndpoint(ep);
  const sock = ep.path;
  const existing = await connectOnce(sock, native);
  if (existing) return handshake(existing, opts.ask);
  if (!opts.start) return undefined;
  const log = openSync(kernelLogPath(home), "a");
  // The NightOS user travels with each request: the kernel must not see (and serve everyone as)
  // the user of whoever happened to start it.
  const { NCW_USER: _user, ...env } = process.env;
  // node:child_process only to start a kernel: a run on a running kernel does not load it.
  const { spawn } = await import("node:child_process");
  const child = spawn(process.execPath, [serverMain, "--home", home.root], {
    detached: true,
    stdio: ["ignore", log, log],
    env,
  });
  child.unref();
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    const s = await connectOnce(sock, native);
    if (s) return handshake(s, opts.ask);
    await new Promise((r) => setTimeout(r, 15));
  }
  throw new NcwError(
    "unavailable",
    `the NCW kernel server did not start within ${START_TIMEOUT_MS / 1000} s`,
    {
      code: "KERNEL_START_TIMEOUT",
      hint: `see ${kernelLogPath(home)}`,
    },
  );
}

// ---- ncw run: start a process and follow it to its end ------------------------------------------

export interface RunRequest {
  /** Absolute path of the program or package, or an installed app's AID. */
  path: string;
  /** The NightOS user the run is for (whose install an AID names); default: `requestUser()`. */
  user?: string;
  /** The arguments, typed: the kernel builds the execution context from them and `startup`. */
  args: Value[];
  startup: Startup;
  /** The ANID to run a program file under (Skyer's events); else the app's own or one the kernel picks. */
  anid?: number;
  trace: boolean;
  priority: number;
  /** Permissions given and refused up front (`--allow`, `--deny`, docs/permissions.md). */
  allow?: string[];
  deny?: string[];
  /** Run in this sandbox (`ncw run --sandbox`, docs/dev-loop.md "Sandboxes"). */
  sandbox?: string;
  /** The runner may read the CLI's stdin for CMDIN itself (protocol.ts `run`). */
  cmdinDirect?: HostFileId;
  /** CMDRAW goes to a later run's CMDIN, which names this run's id in `cmdinFrom` (protocol.ts `run`). */
  cmdraw?: "next";
  cmdinFrom?: number;
  /** The Hydre session the run belongs to (`ncw hydre`, `ncw shell`; sys::hydre SESSION_INFO). */
  hydre?: number;
  /** The PID of the run's application proxy (`ncw run --proxy`, docs/kernel.md "Application proxies"). */
  proxy?: number;
}

/** The CLI's terminal size when its stdout is a terminal (sys::hydre, docs/services.md). */
function terminalSize(): { columns: number; rows: number } | undefined {
  const out = process.stdout;
  if (out.isTTY !== true || !(out.columns > 0) || !(out.rows > 0)) return undefined;
  return { columns: out.columns, rows: out.rows };
}

export interface RunEvents {
  started(pid: number, name: string): void;
  /** A sandboxed run's sandbox folder, before `started` (`created`: made for this run). */
  sandbox?(dir: string, created: boolean): void;
  trace(pid: number, line: string): void;
  /** A command run's pipes, before `started` (docs/ipc.md "Command pipes"): the CLI maps its ends. */
  commandPipes?(pid: number, pipes: CommandPipeMapping[], cmdin?: "runner" | "piped"): void;
  /** The runner could not read stdin for CMDIN after all: the CLI's pump takes over (protocol.ts). */
  commandInput?(pid: number, why: string): void;
}

export interface RunHandle {
  /** The run's id on its connection: the kernel's messages about the run carry it. */
  id: number;
  /** Resolves with the process' outcome (rejects when the run is refused or the kernel goes). */
  done: Promise<Outcome>;
  /** The PID, once started. */
  pid(): number | undefined;
  /** Send a signal to the process (Ctrl-C → TERMINATE, SIGTERM → WILL_TERMINATE). */
  signal(signal: number): void;
  /** Kill it at once. */
  kill(): void;
  /**
   * Stop following the run: its listeners leave the connection, and `done` settles no more if it has
   * not. For a command whose value came whole while its process runs on (the kernel reports it no
   * more): on a connection that goes on, nothing of the run is left listening.
   */
  close(): void;
}

/** The NightOS user of this command: NCW_USER, else the default user (as `ncw skyer` chooses it). */
/**
 * The commands of the installed apps `user` sees (those of `aid` only, if given) or of a package file,
 * read by the running kernel: it has the tree's and the package's readers loaded, so the CLI does not
 * load them (docs/cli.md "Command arguments").
 */
export function askInstalledCommands(
  conn: KernelConnection,
  user: string,
  of: { aid?: string; package?: string } = {},
): Promise<InstalledCommand[]> {
  return conn.request({ t: "commands", user, ...of }, (m) =>
    m.t === "commands" ? m.commands : undefined,
  );
}

export function requestUser(env: NodeJS.ProcessEnv = process.env): string {
  const u = env.NCW_USER;
  return u !== undefined && u !== "" ? u : DEFAULT_USER;
}

export function startRun(conn: KernelConnection, req: RunRequest, ev: RunEvents): RunHandle {
  const id = conn.newRunId();
  let pid: number | undefined;
  let stop = () => {};
  const done = new Promise<Outcome>((resolve, reject) => {
    // Only this run's messages: each carries the run's id (another run's `exited` on the same
    // connection is not this one's end). Nothing is reported after the end: the kernel sends every
    // trace line before `exited`.
    const offMessage = conn.onMessage((m) => {
      if (!("run" in m) || m.run !== id) return;
      switch (m.t) {
        case "started":
          // The first process started is ours; later ones are its children (CREATE_PROCESS) and
          // services it started.
          pid ??= m.pid;
          ev.started(m.pid, m.name);
          return;
        case "trace":
          ev.trace(m.pid, m.line);
          return;
        case "sandbox":
          ev.sandbox?.(m.dir, m.created);
          return;
        case "command-pipes":
          // Only the process the run started gets command pipes; they come before its `started`.
          pid ??= m.pid;
          if (m.pid === pid) ev.commandPipes?.(m.pid, m.pipes, m.cmdin);
          return;
        case "command-input":
          if (m.pid === pid) ev.commandInput?.(m.pid, m.why);
          return;
        case "exited":
          // Ours, or the first of the run (a process whose runner could not start ends unstarted).
          pid ??= m.pid;
          if (m.pid === pid) {
            stop();
            resolve(m.outcome);
          }
          return;
        case "error":
          stop();
          reject(
            new NcwError(isErrorKind(m.kind) ? m.kind : "failure", m.message, {
              code: m.code,
              ...(m.hint ? { hint: m.hint } : {}),
            }),
          );
          return;
        default:
          return;
      }
    });
    const offClose = conn.onClose(() => {
      offMessage();
      reject(kernelGone());
    });
    // The terminal's new size goes to the kernel while the run lasts (sys::hydre WINDOW_RESIZED).
    const onResize = () => {
      const size = terminalSize();
      if (size !== undefined) conn.send({ t: "window-size", ...size });
    };
    if (process.stdout.isTTY === true) process.stdout.on("resize", onResize);
    stop = () => {
      offMessage();
      offClose();
      process.stdout.off("resize", onResize);
    };
  });
  const window = terminalSize();
  conn.send({
    t: "run",
    run: id,
    ...req,
    user: req.user ?? requestUser(),
    ...(window === undefined ? {} : { window }),
  });
  // With the wall clock when Node's bootstrap ended: it splits the CLI's start (benchmarks only).
  if (clockMarksOn)
    clockMark(
      `run-request-sent node-bootstrap=@${(performance.timeOrigin + performance.nodeTiming.bootstrapComplete).toFixed(3)}`,
    );
  return {
    id,
    done,
    pid: () => pid,
    signal: (signal) => {
      if (pid !== undefined) conn.send({ t: "signal", pid, signal });
    },
    kill: () => {
      if (pid !== undefined) conn.send({ t: "kill", pid });
    },
    close: () => stop(),
  };
}

/**
 * Run a program or package to its end on the home's kernel (starting it if needed) with the given
 * arguments and startup, e.g. an install event (startup `{ kind: "event", code: POST_INSTALL }`).
 * Returns the outcome; the caller decides what a failure means for it.
 */
export async function runToEnd(
  home: HomeLayout,
  req: { path: string; args?: Value[]; startup: Startup; anid?: number; priority?: number },
): Promise<Outcome> {
  const conn = await connectKernel(home, { start: true });
  if (conn === undefined) throw new Error("unreachable: connectKernel with start");
  try {
    const run = startRun(
      conn,
      {
        path: req.path,
        args: req.args ?? [],
        startup: req.startup,
        ...(req.anid === undefined ? {} : { anid: req.anid }),
        trace: false,
        priority: req.priority ?? 10,
      },
      { started: () => {}, trace: () => {} },
    );
    return await run.done;
  } finally {
    conn.close();
  }
}
