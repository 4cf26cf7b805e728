// The kernel server's control protocol (docs/kernel.md, "Control protocol"): messages between the CLI
// and the kernel over a Unix socket / named pipe, and between the kernel and its runners over the
// runner's IPC channel. Frames on the socket: u32 LE length, then a V8-serialized message (structured
// clone: BigInt and Uint8Array travel as themselves).

import { deserialize, serialize } from "node:v8";
import type { Value } from "../commonassembly/abi/values.js";
import type { InstalledCommand } from "../services/shell/commands.js";
import type { CommandInputName, CommandPipeMapping } from "./ipc/command-pipes.js";
import type { WasmFrame } from "./runner/faults.js";
import type { SocketFastGrant } from "./runner/sockets.js";

/**
 * 2: `run` carries the NightOS user (a kernel speaking 1 would use its own NCW_USER).
 * 3: `run` carries typed arguments and the startup information, not context bytes (the kernel builds
 * the execution context); the session is two-way (`ask`/`answer`) and streams stdio (`stdio`,
 * `stdio-credit`, `eof`); `hello` says whether the client has a terminal to ask on.
 * 4: `tree` requests (the kernel is the image's one writer; a kernel speaking 3 would leave a CLI's
 * write unanswered).
 * 5: command pipes (`command-pipes` and the CLI's `command-*` messages, docs/ipc.md "Command pipes");
 * `commands` (the installed apps' commands, read by the kernel, which has the tree's reader loaded);
 * a `run`'s startup names the manifest command.
 * 6: the `subvolumes` tree request (`ncw test`'s homes; a kernel speaking 5 would answer it ok without
 * doing it).
 * 7: run ids (docs/kernel.md "Runs on one connection"): `run` carries the id the client picked, and
 * every message about that run (`started`, `trace`, `exited`, `command-pipes`, its `error`, its
 * processes' `ask`) carries it back; a client of 6 would take another run's `exited` for its own.
 * 8: `run` may name an application proxy (`proxy`, docs/kernel.md "Application proxies"); a kernel
 * speaking 7 would run the app unproxied without a word. And a `run`'s `cmdraw: "next"` and
 * `cmdinFrom` (a Hydre pipeline's CMDRAW handed to the next command as its CMDIN), `command-pipes`'
 * `cmdin: "piped"`; a kernel of 7 would ignore them and the pipeline's bytes would go nowhere.
 * 9: the `readRange` and `appendFile` tree requests (Hydre's `< file` and `@> file`, docs/hydre.md
 * "Files"); a kernel of 8 would answer them ok with no value: a file read as empty, bytes dropped.
 * 10: a `run`'s CMDRAW handed on (`cmdraw: "next"`) is held open past its writer until the CLI's
 * `command-raw-done` (the producer did not fail, docs/ipc.md "Command pipes between two commands");
 * a kernel of 9 would end the stream at the producer's end (its reader could take a failed
 * producer's stream for whole), and a CLI of 9 would never let it go (its reader would wait forever).
 */
export const PROTOCOL_VERSION = 10;
/** Largest frame accepted on the socket (a program's bytes travel inside `run`). */
export const MAX_FRAME = 512 * 1024 * 1024;

/** How a NightOS process ended. */
export type Outcome =
  | { kind: "exit"; exitData: bigint }
  | {
      kind: "killed";
      reason: string;
      signal?: number;
      /** A trap's WebAssembly frames, innermost first (kernel-compat/runner/faults.ts). */
      backtrace?: WasmFrame[];
    };

export interface ProcessInfo {
  pid: number;
  ppid: number;
  name: string;
  kind: "system" | "app";
  state: "reserved" | "starting" | "running" | "suspended" | "terminating" | "exited";
  user: number;
  anid: number;
  priority: number;
  hostPid: number | undefined;
  startedAt: number;
  /** A service process (docs/services.md): what it serves ("main", "scoped:<name>") and its clients' PIDs. */
  service?: string;
  clients?: number[];
  /** The PIDs of the services this process holds an open connection to. */
  connectedTo?: number[];
}

/**
 * How the process starts (specs/applications.md "Startup Reason"): as a command (with arguments), or
 * for another reason (an install event: StartupCode POST_INSTALL…, no arguments).
 */
export type Startup =
  | {
      kind: "command";
      /** The ANID of the app that started the command (0: the user, from `ncw run`). */
      callerAnid: number;
      /** Bit 5 of the startup reason: the CMDRAW output will be read. */
      rawOutputRead?: boolean;
      /**
       * The manifest command started (`ncw run app.nap <command>`, `ncw exec`), written into the
       * context's future-proof space (NCW addition, commonassembly/abi/context.ts); absent for a program.
       */
      command?: string;
    }
  | { kind: "event"; code: number };

/**
 * What a question is about (docs/kernel.md, "The session"): a permission, which the kernel asks the
 * CLI, or what to do with a sandbox's changes, which `ncw run --sandbox` asks itself.
 */
export type QuestionKind = "permission" | "sandbox";

/** The answer of a session that cannot ask anyone (no terminal, or gone): DIRECTION.md §5. */
export const DENY = "deny";

/**
 * The kernel → runner argument (`<this><flags, space-separated>`) naming the V8 flags a runner sets
 * once its threads are up (server/pool.ts DEFAULT_RUNNER_V8_FLAGS, runner/main.ts, runner/worker-entry.ts).
 */
export const LATE_V8_FLAGS_ARG = "--ncw-late-v8-flags=";

/** A standard stream of a process: `in` flows CLI → kernel, `out` and `err` kernel → CLI. */
export type StdioStream = "in" | "out" | "err";

/** A host file's identity: fstat's device and inode numbers. */
export interface HostFileId {
  dev: bigint;
  ino: bigint;
}

/** Where a runner reads a command's CMDIN from (the CLI's stdin), and what it must be. */
export interface HostInputRef extends HostFileId {
  path: string;
}

/**
 * A proxied process' link to its application proxy (docs/kernel.md "Application proxies"): the proxy's
 * PID and the segments of the two message pipes whose ends the runner holds itself (the calls pipe's
 * SC, the answers pipe's RC).
 */
export interface ProxyLinkRef {
  pid: number;
  calls: { name: string; size: number };
  answers: { name: string; size: number };
}

/** CLI → kernel. */
export type ClientMessage =
  | {
      t: "hello";
      version: number;
      /** The CLI has a terminal it can ask the user on: without one, every `ask` is answered "deny". */
      terminal?: boolean;
    }
  | {
      t: "run";
      /**
       * The run's id, picked by the client (a non-negative integer, one per run on the connection):
       * every message about this run carries it back, and the client takes only its own.
       */
      run: number;
      /**
       * The program or package to run, as an absolute host path: the kernel resolves and AOT-compiles
       * it (it keeps the compiler loaded, so a warm `ncw run` does not pay for loading it).
       */
      path: string;
      /**
       * The NightOS user the request acts for (the caller's NCW_USER, else the default user): whose
       * install an AID names. The kernel trusts it because the connection's host user, checked on
       * connect, owns the home and every NightOS user in it (docs/security.md).
       */
      user: string;
      /** The arguments, typed (shell values): the kernel encodes them into the execution context. */
      args: Value[];
      startup: Startup;
      /**
       * The ANID to run a program file under (Skyer's events run the installed app's program from a
       * file). An installed app (by AID) always runs with its own; without either the kernel picks one.
       */
      anid?: number;
      trace: boolean;
      /** Initial priority 0–10 (docs/kernel.md, "Priorities"). */
      priority: number;
      /**
       * Permissions given up front to this run (`ncw run --allow`, a policy file's `allow`) and refused
       * to it (`--deny`, `deny`), as `perm` or `perm=scope` (docs/permissions.md "Up front").
       */
      allow?: string[];
      deny?: string[];
      /**
       * Run in sandbox `sandbox` (docs/dev-loop.md "Sandboxes"): the kernel opens it (made if missing)
       * in the app's `sandboxes` folder, tells its folder (`sandbox` message) and runs the app in it.
       */
      sandbox?: string;
      /**
       * The CLI's stdin is a host pipe or a file it has not read from: the command's runner may read
       * it itself for CMDIN (the kernel names it by the peer's /proc/<pid>/fd/0), one copy and one
       * thread fewer than the CLI's pump (docs/ipc.md "Command pipes", "CMDIN read by the runner").
       * Its host identity (fstat's device and inode): the runner checks that what it opened is it.
       */
      cmdinDirect?: HostFileId;
      /**
       * A Hydre pipeline `a | b` whose b reads a stream (docs/hydre.md "Pipes"; docs/ipc.md "Command
       * pipes between two commands"): `"next"` on a's run: its CMDRAW is for a later run of this
       * connection, the CLI never reads it and the kernel keeps it until that run takes it (or the
       * connection ends: it is then closed). The run id of such a run in `cmdinFrom` on b's run (sent
       * after a's, possibly before a's pipes exist: the kernel waits for them): b's CMDIN is that
       * CMDRAW pipe itself (its RC end as b's identifier 1), so the bytes go from one app's memory to
       * the other's through one ring, never through the CLI.
       */
      cmdraw?: "next";
      cmdinFrom?: number;
      /**
       * The Hydre session the run belongs to (`ncw hydre`, `ncw shell`: an ID the CLI picks once, a
       * positive integer); absent or 0: none. And the CLI's terminal size when its stdout is one.
       * sys::hydre answers them (docs/services.md "sys::hydre (PID 17)").
       */
      hydre?: number;
      window?: { columns: number; rows: number };
      /**
       * `ncw run --proxy PID` (developer mode, docs/kernel.md "Application proxies"): process PID is
       * this run's application proxy; it receives the process' syscalls.
       */
      proxy?: number;
    }
  /** The CLI's terminal changed size (SIGWINCH): for every run of this connection (sys::hydre). */
  | { t: "window-size"; columns: number; rows: number }
  /**
   * The end of the command line `hydre-run` `id` asked for (sys::hydre RUN_COMMAND): refused by its
   * parse (`bad-line`) or its check (`check-failed`), or run: its status and its value's encoding.
   */
  | {
      t: "hydre-ran";
      id: number;
      outcome: "bad-line" | "check-failed" | "ran";
      status?: number;
      value?: Uint8Array;
    }
  | { t: "signal"; pid: number; signal: number }
  | { t: "kill"; pid: number }
  | { t: "priority"; pid: number; priority: number }
  | { t: "ps" }
  /**
   * The commands of the installed apps `user` sees (only those of `aid` when given), or those of the
   * app package `package` (an absolute host path), for `ncw exec` and `ncw run` to type their arguments
   * (docs/cli.md "Command arguments").
   */
  | { t: "commands"; user: string; aid?: string; package?: string }
  | { t: "shutdown" }
  /**
   * The home's mount table changed (`ncw mount` / `ncw umount`): the kernel reads it again and sys::fs
   * shows the mounts it lists from now on (docs/sysfs.md "Host mounts"); answered `ok`.
   */
  | { t: "mounts" }
  /** The answer to the kernel's `ask` with this id: one of its choices. */
  | { t: "answer"; id: number; choice: string }
  | StdioMessage
  /**
   * Test hooks, refused (KERNEL_NO_TEST_HOOKS) unless the kernel started with NCW_KERNEL_TEST_HOOKS=1:
   * the session's pieces through the real server before a syscall uses them (docs/kernel.md).
   * `test-ask`: the kernel asks this question and reports the answer (`test-answered`).
   * `test-echo`: the kernel reads stdin of `pid` and writes it back as its stdout, then eof.
   */
  | { t: "test-ask"; text: string; choices: string[] }
  | CommandClientMessage
  | { t: "test-echo"; pid: number }
  | TreeRequest;

/**
 * The CLI's side of a command run's pipes (docs/ipc.md "Command pipes"), for a process of its session:
 * `command-mapped`: it mapped its ends (the kernel drops its pins); `command-closed`: it closed CMDIN or
 * CMDUSR (end of input: the kernel's pipe closes too); `command-finished`: the return value came whole (the
 * pipes close, the command is over); `command-faulty`: CMDOUT closed before a whole value, or an
 * invalid one (the process is killed with `reason`); `command-raw-done`: a run whose CMDRAW is handed
 * on (`cmdraw: "next"`) did not fail (a value, or an end without one): its CMDRAW, held open past
 * its writer, may end (the next command's CMDIN sees the end of the stream; docs/ipc.md "Command
 * pipes between two commands").
 */
export type CommandClientMessage =
  | { t: "command-mapped"; pid: number }
  | { t: "command-raw-done"; pid: number }
  | { t: "command-closed"; pid: number; pipe: CommandInputName }
  | { t: "command-finished"; pid: number }
  | { t: "command-faulty"; pid: number; reason: string };

/**
 * Stdio frames, both directions (docs/kernel.md, "The session"): the bytes of one stream of a
 * process, within the credit the receiver granted (`stdio-credit`); `eof` ends the stream.
 */
export type StdioMessage =
  | { t: "stdio"; pid: number; stream: StdioStream; bytes: Uint8Array }
  | { t: "stdio-credit"; pid: number; stream: StdioStream; bytes: number }
  | { t: "eof"; pid: number; stream: StdioStream };

/**
 * Kernel → CLI. `run`: the id of the run (the client's `run` request) the message is about: the
 * process the run started, or a child or a service started on its behalf. `trace` with pid 0 is the
 * kernel's own line about the run (its AOT compile).
 */
export type KernelMessage =
  | { t: "hello"; version: number; kernelPid: number; startedAt: number }
  /**
   * Run a command line in the connection's Hydre session for process `pid` (sys::hydre RUN_COMMAND;
   * only to a connection whose runs gave a `hydre` session); answered with `hydre-ran` `id`.
   */
  | { t: "hydre-run"; id: number; pid: number; line: string }
  | { t: "started"; run: number; pid: number; hostPid: number; name: string }
  /** A sandboxed run's sandbox folder (`ncw run --sandbox`), before its `started`. */
  | { t: "sandbox"; run: number; dir: string; created: boolean }
  | { t: "trace"; run: number; pid: number; line: string }
  | { t: "exited"; run: number; pid: number; outcome: Outcome }
  /** A command run's pipes: the CLI maps its ends of them (sent before `started`). */
  | {
      t: "command-pipes";
      run: number;
      pid: number;
      pipes: CommandPipeMapping[];
      /**
       * "runner": the app's runner reads the CLI's stdin for CMDIN itself; "piped": CMDIN is another
       * command's CMDRAW (the run's `cmdinFrom`). Either way the CLI leaves CMDIN be.
       */
      cmdin?: "runner" | "piped";
    }
  /**
   * The runner could not open the CLI's stdin after all (`why`): the CLI moves its stdin into CMDIN
   * itself (its pump), as when it had not asked.
   */
  | { t: "command-input"; run: number; pid: number; reader: "cli"; why: string }
  | { t: "ps"; processes: ProcessInfo[] }
  | { t: "commands"; commands: InstalledCommand[] }
  | { t: "ok" }
  /** `run`: a run request refused (no process started): the end of that run. */
  | { t: "error"; code: string; message: string; kind?: string; hint?: string; run?: number }
  /** A question for the user; the CLI answers with `answer` and the same id. */
  | {
      t: "ask";
      id: number;
      /** The run whose process asks (absent for the `test-ask` hook's question). */
      run?: number;
      kind: QuestionKind;
      text: string;
      choices: string[];
      /** The choice Enter picks (permissions.md: "forever", or "run" for the privacy level). */
      default?: string;
    }
  | StdioMessage
  /** The answer a `test-ask` got. */
  | { t: "test-answered"; choice: string }
  | TreeAnswer;

// ---- The NightOS tree's one writer (docs/skyer.md "Writers and readers") ---------------------------
// While a kernel runs it owns the home's tree for writing (server/tree.ts); the CLI's writers send it
// these requests (tree-client.ts). `id` pairs an answer with its request on one connection.

/** An operation on the tree: the FsLayer methods, and `putHost` (a host file or folder the kernel reads). */
export type TreeOp =
  | { op: "stat"; path: string }
  | { op: "readFile"; path: string }
  | { op: "readRange"; path: string; offset: number; length: number }
  | { op: "readdir"; path: string }
  | { op: "readlink"; path: string }
  | { op: "writeFile"; path: string; data: Uint8Array }
  | { op: "appendFile"; path: string; data: Uint8Array }
  | { op: "mkdir"; path: string; recursive: boolean }
  | { op: "rm"; path: string; recursive: boolean; force: boolean }
  | { op: "rename"; from: string; to: string; replace: boolean }
  | { op: "symlink"; target: string; path: string }
  | { op: "sync" }
  /** Btrfs subvolumes (docs/dev-loop.md: `ncw test` gives each test a snapshot of a prepared home). */
  | { op: "createSubvolume"; path: string }
  | { op: "snapshot"; src: string; dest: string; readOnly: boolean }
  | { op: "deleteSubvolume"; path: string }
  /** Deletes the subvolumes `drop`, then snapshots `src` as each of `dests`: one commit, all or none. */
  | { op: "subvolumes"; drop: string[]; src: string; dests: string[] }
  /**
   * Sandboxes (docs/dev-loop.md "Sandboxes"; services/fs/sandbox.ts), by their folder `dir`:
   * `sandboxOpen` makes its two snapshots of "/" (`base`, read-only, and `tree`) unless they exist
   * (answers `{ created }`); `sandboxDiff` answers its changes; `sandboxApply` copies them into the
   * real tree in one commit (answers `{ applied, refused }`), then makes `base` again (`keep`) or
   * drops the sandbox; `sandboxDrop` drops it; `sandboxList` answers the sandboxes of `user`.
   */
  | { op: "sandboxOpen"; dir: string }
  | { op: "sandboxDiff"; dir: string; user: string }
  | { op: "sandboxApply"; dir: string; user: string; keep: boolean }
  | { op: "sandboxDrop"; dir: string }
  | { op: "sandboxList"; user: string }
  | {
      op: "putHost";
      /** Absolute host path the kernel reads itself (it runs as the same host user). */
      hostPath: string;
      path: string;
      recursive: boolean;
      compression: "none" | "zlib" | "zstd";
    };

export interface TreeRequest {
  t: "tree";
  id: number;
  op: TreeOp;
}

export type TreeAnswer =
  | { t: "tree"; id: number; ok: true; value: unknown }
  | {
      t: "tree";
      id: number;
      ok: false;
      error: { code: string; message: string; kind: string; hint?: string };
    };

/** Kernel → runner (IPC channel). */
export type ToRunner =
  | {
      t: "start";
      pid: number;
      ppid: number;
      /** The module; empty with `ahead`. */
      wasm: Uint8Array;
      /** Run the module this runner compiled ahead (`precompile`): it is not sent again. */
      ahead?: boolean;
      context: Uint8Array;
      trace: boolean;
      /** The registry values the runner needs (system.processes.*), in ms. */
      delays: { suspend: number; terminate: number };
      /** The most threads the process may have at once, its main thread included (0: no limit). */
      maxThreads: number;
      priority: number;
      /** For a forked child: the parent's memory and globals to start from. */
      fork?: ForkImage;
      /** The process' application proxy (docs/kernel.md "Application proxies"); none: not proxied. */
      proxy?: ProxyLinkRef;
    }
  /**
   * Several messages, handled in order: what the kernel had for this runner at the end of one turn of
   * its event loop (Kernel.toRunner), written in one go.
   */
  | { t: "batch"; m: ToRunner[] }
  /** `connection`: for that connection's client thread (docs/services.md), not the main thread. */
  | { t: "signal"; signal: number; datafield: Uint8Array; connection?: bigint }
  /** `written`: the bytes for the call's written buffers, in the table's order (syscalls/buffers.ts). */
  | { t: "reply"; id: number; errcode: number | null; ret: Uint8Array; written?: Uint8Array[] }
  | { t: "suspend" }
  | { t: "resume" }
  | { t: "priority"; priority: number }
  /** The kernel passed `n` more of the runner's `trace` lines to the CLI's socket (the trace window). */
  | { t: "trace-ack"; n: number }
  /** An idle pool runner compiles this module ahead of a likely CREATE_PROCESS (docs/kernel.md). */
  | {
      t: "precompile";
      wasm: Uint8Array;
      /** Also start a thread worker ahead if the module can create threads (default true). */
      threads?: boolean;
    }
  /**
   * Map the kernel's host shared-memory segment `id` (kernel/segments.ts) by its host `name`; answered
   * by `answer` `req` (docs/kernel.md "Kernel objects").
   */
  | { t: "map-segment"; req: number; id: number; name: string; size: number }
  | { t: "unmap-segment"; req: number; id: number }
  /**
   * The process now names an end of a pipe by `handle` (docs/ipc.md "Pipes"): the runner records it in
   * its pipe table, and its thread maps the ring (segment `name`, `size` bytes) on first use. Answered
   * by `answer` `req` before the kernel replies to OPEN_PIPE or sends RECV_PIPE.
   */
  | {
      t: "pipe-grant";
      req: number;
      handle: bigint;
      name: string;
      size: number;
      end: "sc" | "rc";
      creator: number;
      /**
       * A command's CMDIN whose bytes the runner reads itself from this host path (the CLI's stdin,
       * /proc/<cli>/fd/0): it opens it with the grant and says how it went (`cmdin-host`).
       */
      hostInput?: HostInputRef;
    }
  /** The process no longer names a pipe end by `handle` (its own CLOSE_PIPE). */
  | { t: "pipe-revoke"; req: number; handle: bigint }
  /**
   * The process now names a service-socket end by `handle` (docs/ipc.md "Service sockets"): the runner
   * records it in its socket table; a thread maps the two rings (`out`: the ring it writes, `in`: the one
   * it reads) on first use. `maxMessage`: the socket's largest message. Answered by `answer` `req` before
   * the kernel replies to OPEN_SERV_SOCK or sends RECV_SERV_SOCK.
   */
  | {
      t: "socket-grant";
      req: number;
      handle: bigint;
      out: { name: string; size: number };
      in: { name: string; size: number };
      maxMessage: number;
      /**
       * The runner-to-runner path (docs/ipc.md): where the exchange table is and who the peer is. Absent
       * when the kernel holds the peer's end (a native service) or the peer's runner has no door:
       * SEND_SOCK_MSG then asks the kernel.
       */
      fast?: SocketFastGrant;
    }
  /** The process no longer names a socket end by `handle` (its own CLOSE_SERV_SOCK). */
  | { t: "socket-revoke"; req: number; handle: bigint }
  /**
   * Start a thread of the process at function `index` of its table, called with `arg` (docs/kernel.md
   * "Threads started by the kernel"); the answer carries the thread's identifier.
   */
  | { t: "start-thread"; req: number; index: number; arg: bigint }
  /**
   * Map `length` bytes of the AMS segment `name` from byte `offset` over the process' memory at `at`
   * (0: pages its allocator gives), read-only, copy-on-write, or as the VIRT_MEM_AMS source (the range's
   * bytes go into the segment first) (docs/ipc.md "Shared memory", runner/ams.ts). The answer carries
   * the address, or a `refusal` the kernel turns into the syscall's errcode.
   */
  | {
      t: "ams-map";
      req: number;
      name: string;
      offset: number;
      at: number;
      length: number;
      readOnly: boolean;
      private: boolean;
      source: boolean;
    }
  /** Unmap the AMS mapping at `address`, leaving a private copy of its bytes ("keep") or zeros. */
  | { t: "ams-unmap"; req: number; address: number; mode: "keep" | "zero" }
  /**
   * The backer of signal-backed AMS `ams` (docs/ipc.md "Signal-backed AMS"): deliver READ_BACKED_AMS
   * (`access`) or WRITE_BACKED_AMS (`data[i]`) for each relative address, in order; the answer's
   * `answers` are the handlers' i64s, null where none ran.
   */
  | {
      t: "ams-backed";
      req: number;
      ams: bigint;
      signal: number;
      addresses: number[];
      access?: number;
      data?: number[];
    }
  /**
   * The `length` bytes of the process' memory at `address` (the answer's `bytes`), for a system service
   * that reads a buffer pointer of its client (sys::fs WRITE_FILE; docs/sysfs.md). Refused when the
   * range is not all the process' memory.
   */
  | { t: "memory-read"; req: number; address: number; length: number }
  /** Write `bytes` into the process' memory at `address` (sys::fs READ_FILE); refused as above. */
  | { t: "memory-write"; req: number; address: number; bytes: Uint8Array };

/**
 * What a runner answers to a kernel request (`map-segment`, `unmap-segment`, `start-thread`, `pipe-*`,
 * `socket-*`, `ams-*`, `memory-*`).
 */
export type RunnerAnswer =
  /**
   * `tid`: the started thread; `sha256`: of the segment's bytes as the runner sees them once mapped;
   * `address`: where an AMS was mapped; `answers`: an `ams-backed`'s; `bytes`: what a `memory-read` read.
   */
  | {
      ok: true;
      tid?: number;
      sha256?: string;
      address?: number;
      answers?: (bigint | null)[];
      bytes?: Uint8Array;
    }
  /** `refusal`: why an `ams-map` was refused (runner/ams.ts MapRefusal). */
  | { ok: false; error: string; refusal?: "range" | "overlap" | "space" };

export interface ForkImage {
  /** The parent's memory, by value; empty when it travels in `memorySegment` instead. */
  memory: Uint8Array;
  /**
   * The parent's memory in a host shared-memory segment (docs/kernel.md "CREATE_PROCESS"): its name
   * and the memory's length. From the parent's runner to the kernel, the parent's segment; from the
   * kernel to the child's runner, the kernel's mapping of it.
   */
  memorySegment?: { name: string; length: number };
  globals: Record<string, number | bigint>;
  initData: bigint;
  /** MEM_ALLOC's bookkeeping, so the child can free what the parent allocated. */
  pages: { allocated: [number, number][]; free: number[] };
  /** The TLS slot table and the calling thread's values (docs/kernel.md "CREATE_PROCESS"). */
  tls?: TlsImage;
}

/** The length of the parent's memory a fork image carries (by value or in its segment). */
export function forkMemoryLength(f: ForkImage): number {
  return f.memorySegment?.length ?? f.memory.length;
}

export interface TlsImage {
  /** The process-wide slot table: [generation counter, state of slot 1..N]. */
  slots: Int32Array;
  /** The calling thread's values: slot, generation it was written for, bytes. */
  values: [bigint, number, Uint8Array][];
}

/** Runner → kernel. */
export type FromRunner =
  /** `door`: the runner's signal door (ipc/door.ts), made when it started; none where the host has no segments. */
  | { t: "ready"; door?: { name: string; size: number } }
  /** The module is instantiated (and, for a fork child, its image copied): `_start` runs next. */
  | { t: "running" }
  /** `read`: the bytes of the call's read buffers, in the table's order (syscalls/buffers.ts). */
  | { t: "syscall"; id: number; req: Uint8Array; fork?: ForkImage; read?: Uint8Array[] }
  /** A trace line of the process' threads: counted in its trace window until the kernel acknowledges it. */
  | { t: "trace"; line: string }
  /** A trace line of the runner itself (not counted, never acknowledged). */
  | { t: "note"; line: string }
  /** The handler set changed, or the process called READY (`ready`: its readiness indicator). */
  | { t: "handled"; signals: number[]; ready?: boolean }
  /**
   * The client thread ACCEPT_SERVICE_CONN created for `connection` ended, or could not be created
   * (docs/services.md): its client gets SERVICE_SERVER_QUITTED.
   */
  | { t: "client-thread-ended"; connection: bigint }
  | { t: "answer"; req: number; answer: RunnerAnswer }
  /** A `pipe-grant`'s `hostInput` opened (`ok`), or not (`detail`: why); `detail` names the path either way. */
  | { t: "cmdin-host"; ok: boolean; detail: string }
  /** The last message: sent once every trace line before it is on the channel. */
  | { t: "exit"; outcome: Outcome };

export function encodeFrame(msg: ClientMessage | KernelMessage): Buffer {
  const body = serialize(msg);
  const head = Buffer.alloc(4);
  head.writeUInt32LE(body.length, 0);
  return Buffer.concat([head, body]);
}

/** Accumulates socket bytes and yields whole messages; throws on an oversize or undecodable frame. */
export class FrameReader<T> {
  private buf: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): T[] {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    const out: T[] = [];
    while (this.buf.length >= 4) {
      const len = this.buf.readUInt32LE(0);
      if (len > MAX_FRAME) throw new Error(`control frame of ${len} bytes exceeds the limit`);
      if (this.buf.length < 4 + len) break;
      const body = this.buf.subarray(4, 4 + len);
      this.buf = this.buf.subarray(4 + len);
      const msg = deserialize(body) as unknown;
      if (
        typeof msg !== "object" ||
        msg === null ||
        typeof (msg as { t?: unknown }).t !== "string"
      ) {
        throw new Error("control frame is not a message");
      }
      out.push(msg as T);
    }
    return out;
  }
}
