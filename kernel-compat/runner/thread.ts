// CREATE_THREAD (0x60) and the threads of a process (specs/kernel/syscalls.md, technical/processes.md;
// docs/kernel.md "Threads"). A thread is a nested worker thread of the runner, instantiating the same
// compiled module on the process' shared memory (imported: commonassembly/aot/shared-memory.ts). It is
// started like a fork child: the creator's stack, unwound by Asyncify into the fork buffer, is copied to
// pages of its own and rewound there with identity 1; or, started by the kernel (ToRunner start-thread),
// it calls a table function on a stack of its own. Every thread runs on the instance host (instance.ts).
// A thread's children are nested workers of its own, terminated when it ends; the main thread's end ends
// the runner, hence every thread.

import {
  MessageChannel,
  type MessagePort,
  parentPort,
  type Worker,
  workerData,
} from "node:worker_threads";
import { encode } from "../../commonassembly/abi/codec.js";
import { signalName } from "../../commonassembly/abi/numbers.js";
import { DATAFIELD_SIZE } from "../../commonassembly/abi/signals.js";
import {
  ACCEPT_SERVICE_CONN,
  CREATE_THREAD,
  syscallName,
} from "../../commonassembly/abi/syscalls.js";
import {
  ABI_IMPORT_MODULE,
  CONTROL_BLOCK_ADDRESS,
  CTL_GLOBAL,
  EXPORT_TABLE,
  errorStatus,
  FORK_GLOBAL_EXPORT_PREFIX,
  IMPORT_SAFEPOINT,
  IMPORT_SYSCALL,
  IMPORT_SYSCALL_FORK,
  SHARED_MEMORY_IMPORT,
  SYSCALL_STATUS_NEW_THREAD,
} from "../../commonassembly/abi/wasm-names.js";
import type { ForkImage, Outcome, ProxyLinkRef } from "../protocol.js";
import type { BufferArea } from "../syscalls/buffers.js";
import { formatErr, formatValue } from "../syscalls/dispatch.js";
import { AmsMappings } from "./ams.js";
import { Mailbox, Outbox, SignalRing, Throttle } from "./channel.js";
import {
  asyncifyOf,
  ForkLock,
  forkGlobals,
  ownThreadAnswers,
  releaseThreadSlots,
  restoreGlobals,
  takeThreadSlot,
  threadCount,
} from "./fork.js";
import { InstanceHost, type Resume } from "./instance.js";
import { PAGE_SIZE } from "./memory.js";
import { PipeRings, PipeSlots } from "./pipes.js";
import { Proc } from "./process.js";
import { ProxyLink, reclaimProxyLock } from "./proxy.js";
import { type HandlerEnv, ProcessEnd, ThreadEnd } from "./signals.js";
import { SocketRings, SocketSlots } from "./sockets.js";
import { newThreadWorker, type PoolLink, WorkerState } from "./thread-worker.js";
import { stamped } from "./trace-clock.js";

/** What every thread of a process shares: what the worker gives the relay for kernel-started threads. */
export interface ThreadShare {
  /** The process' application proxy link and the state its threads share (runner/proxy.ts). */
  proxy?: { ref: ProxyLinkRef; shared: SharedArrayBuffer };
  pid: number;
  ppid: number;
  context: Uint8Array;
  trace: boolean;
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  tids: SharedArrayBuffer;
  tlsSlots: SharedArrayBuffer;
  sht: SharedArrayBuffer;
  pages: SharedArrayBuffer;
  /** The process' pipe table (pipes.ts PipeSlots). */
  pipes: SharedArrayBuffer;
  /** The process' socket table (sockets.ts SocketSlots). */
  sockets: SharedArrayBuffer;
  /** The process' AMS mappings (ams.ts AmsMappings). */
  ams: SharedArrayBuffer;
  ring: SharedArrayBuffer;
  /** The process' trace window and handler-set notice (channel.ts Outbox). */
  outbox: SharedArrayBuffer;
  /**
   * Which functions have the signal handler signature (i32, i32) -> i64, by function index (1: yes):
   * a client thread runs its own handlers (docs/services.md).
   */
  handlerFns: Uint8Array;
}

/** Bytes of MEM_ALLOC pages a thread the kernel starts gets as its stack (docs/kernel.md). */
export const ENTRY_STACK_BYTES = 64 * 1024;
/** The AOT step's export of the module's first mutable global: clang's __stack_pointer. */
const STACK_POINTER_EXPORT = `${FORK_GLOBAL_EXPORT_PREFIX}0`;

/** What a thread worker receives: what every thread of the process shares, and its own start. */
export interface ThreadStart extends ThreadShare {
  t: "thread";
  tid: number;
  /**
   * A thread the kernel starts (ToRunner start-thread): it calls the table's function `index` with
   * `initData` on a stack of its own, instead of rewinding a creator's stack.
   */
  entry?: { index: number };
  /** Where the copy of the creator's unwound stack is, in the shared memory (MEM_ALLOC pages). */
  rewindAt: number;
  /** How many pages that copy holds: freed once the thread has rewound. */
  rewindPages: number;
  globals: Record<string, number | bigint>;
  initData: bigint;
  /** To the runner's relay thread (traces, kernel syscalls, the process' end). */
  relay: MessagePort;
  /** Its slot in `tids` (fork.ts takeThreadSlot), freed with its descendants' when it ends. */
  slot: number;
  /**
   * A client thread (ACCEPT_SERVICE_CONN): its own answer (the call's return value, in place of
   * CREATE_THREAD's), and the connection it serves.
   */
  client?: {
    connection: bigint;
    answer: Uint8Array;
    /** Its own signal ring (channel.ts SignalRing): the signals the kernel sends to this thread. */
    signals: SharedArrayBuffer;
  };
}

/** What the relay needs to know of a client thread: its connection and its signal ring. */
export interface ClientThreadLink {
  connection: bigint;
  signals: SharedArrayBuffer;
}

/** Messages a thread sends to the relay over its port. */
export type FromThread =
  /** `seq`: the line's number in the process' trace window (Outbox.admitTrace). */
  | { t: "trace"; line: string; seq: number }
  | {
      t: "syscall";
      req: Uint8Array;
      box: SharedArrayBuffer;
      fork?: ForkImage;
      read?: Uint8Array[];
      out?: BufferArea[];
    }
  /**
   * A new thread's port; `client`: it is that connection's client thread (ACCEPT_SERVICE_CONN), with
   * the signal ring the relay puts that thread's signals on.
   */
  | { t: "port"; port: MessagePort; client?: ClientThreadLink }
  /** ACCEPT_SERVICE_CONN could not create the client thread of `connection` (docs/services.md). */
  | { t: "client-thread-ended"; connection: bigint }
  /** The handler set changed (the relay reads it from the SHT). */
  | { t: "handled" }
  /** A line for the process' terminal, traced or not (a limit refused something). */
  | { t: "note"; line: string }
  | { t: "exit"; outcome: Outcome };

/** What a thread that creates threads has: what the process' threads share, and its own links. */
export interface ThreadHost extends ThreadShare {
  /** Give the relay a port for a new thread (`client`: a client thread's). */
  sendPort(port: MessagePort, client?: ClientThreadLink): void;
  /** Tell the kernel the client thread of `connection` could not be created. */
  clientThreadFailed(connection: bigint): void;
  /** The creator's live child threads (terminated when it ends). */
  children: Worker[];
  /** The creator's slot in `tids` (fork.ts takeThreadSlot). */
  slot: number;
  /** A line for the process' terminal, traced or not (a limit refused something). */
  note(line: string): void;
}

/** Idle thread workers a creator keeps at most (spares and finished threads' workers, kept for reuse). */
export const MAX_IDLE_WORKERS = 4;
/** Thread creations within this window size the creator's spares (one each, up to MAX_IDLE_WORKERS). */
const DEMAND_WINDOW_MS = 1000;

/** A worker of a creator's pool and its state word (thread-worker.ts WorkerState). */
interface Pooled {
  worker: Worker;
  state: Int32Array;
}

/**
 * The thread workers of one creator (the thread this module instance runs in), started ahead or kept
 * after their thread ended: a worker takes tens of ms of CPU to boot and load this file's graph, hundreds
 * on a loaded machine (docs/kernel.md "Threads"). The creator runs wasm while it creates threads, so its
 * event loop never turns: everything it learns of its workers is read from shared memory.
 */
class ThreadPool {
  private idle = new Int32Array(new SharedArrayBuffer(4));
  /** Every worker this creator started that has not left: booting, idle, or running a thread. */
  private members: Pooled[] = [];
  /** When the last thread creations happened (performance.now()), within DEMAND_WINDOW_MS. */
  private recent: number[] = [];
  /** Spares kept ready whatever the demand (a process that can create threads: 1; a service: 2). */
  private floor = 0;

  /** A worker for a thread now: an idle one, else one still booting, else a new one. */
  take(): Worker {
    this.recent.push(performance.now());
    this.members = this.members.filter((m) => Atomics.load(m.state, 0) !== WorkerState.GONE);
    let got: Pooled | undefined;
    for (const m of this.members)
      if (
        Atomics.compareExchange(m.state, 0, WorkerState.IDLE, WorkerState.TAKEN) ===
        WorkerState.IDLE
      ) {
        Atomics.sub(this.idle, 0, 1);
        got = m;
        break;
      }
    got ??= this.members.find(
      (m) =>
        Atomics.compareExchange(m.state, 0, WorkerState.BOOTING, WorkerState.TAKEN) ===
        WorkerState.BOOTING,
    );
    got ??= this.start(WorkerState.TAKEN);
    this.refill();
    return got.worker;
  }

  /** Keep at least `n` spares from now on (prestartThread). */
  expect(n: number): void {
    this.floor = Math.max(this.floor, Math.min(n, MAX_IDLE_WORKERS));
    this.refill();
  }

  /** Start spares up to the demand: the floor, or one per thread created in the window. */
  private refill(): void {
    const now = performance.now();
    this.recent = this.recent.filter((t) => now - t < DEMAND_WINDOW_MS);
    const want = Math.min(MAX_IDLE_WORKERS, Math.max(this.floor, this.recent.length));
    let ready = this.members.filter((m) => {
      const s = Atomics.load(m.state, 0);
      return s === WorkerState.BOOTING || s === WorkerState.IDLE;
    }).length;
    for (; ready < want; ready++) this.start(WorkerState.BOOTING);
  }

  private start(state: number): Pooled {
    const link: PoolLink = {
      state: new SharedArrayBuffer(4),
      idle: this.idle.buffer as SharedArrayBuffer,
      maxIdle: MAX_IDLE_WORKERS,
    };
    const m = { worker: newThreadWorker(link), state: new Int32Array(link.state) };
    Atomics.store(m.state, 0, state);
    this.members.push(m);
    return m;
  }

  /** The creator ends: its workers go with it; a later thread of this worker starts a fresh pool. */
  close(): void {
    for (const m of this.members) void m.worker.terminate();
    this.members = [];
    this.recent = [];
    this.floor = 0;
    this.idle = new Int32Array(new SharedArrayBuffer(4));
  }
}

const pool = new ThreadPool();

/**
 * Have `spares` thread workers ready (the main thread asks for one when the process can create threads,
 * two when a service calls READY: its client threads come next).
 */
export function prestartThread(spares = 1): void {
  pool.expect(spares);
}

/**
 * The creator's side, after Asyncify unwound its stack into the fork buffer at `data`: copy that
 * stack to pages of the thread's own, start the thread, return its identifier (or an errcode, and
 * why when a limit refused it).
 */
export function spawnThread(
  host: ThreadHost,
  proc: Proc,
  ex: Record<string, unknown>,
  data: number,
  initData: bigint,
  client?: { connection: bigint; answer: Uint8Array },
): { tid: number } | { errcode: number; refused?: string } {
  const v = new DataView(host.memory.buffer);
  const top = v.getUint32(data, true);
  const used = top - data;
  const pages = proc.pages.alloc(Math.max(used, 16), 0b011, false);
  if (!pages.ok || used < 8) return { errcode: CREATE_THREAD.errors.HARDWARE };
  const at = pages.address;
  // The allocation may have grown the memory: fresh views.
  new Uint8Array(host.memory.buffer).copyWithin(at, data, top);
  const w32 = new DataView(host.memory.buffer);
  w32.setUint32(at, at + used, true);
  w32.setUint32(at + 4, at + used, true);
  const tid = Atomics.add(new Int32Array(host.tids), 0, 1) + 1;
  const slot = takeThreadSlot(host.tids, tid, host.slot);
  if (slot === undefined) {
    proc.pages.free_(at, Math.ceil(Math.max(used, 16) / PAGE_SIZE));
    const { limit } = threadCount(host.tids);
    return {
      errcode: CREATE_THREAD.errors.HARDWARE,
      refused: `${client ? "ACCEPT_SERVICE_CONN: no client thread" : "CREATE_THREAD refused"}: this process has ${limit} threads, the limit (registry system.processes.max_threads)`,
    };
  }
  const ch = new MessageChannel();
  const link =
    client === undefined
      ? undefined
      : { connection: client.connection, signals: SignalRing.create().sab };
  host.sendPort(ch.port2, link);
  const w = pool.take();
  const start: ThreadStart = {
    t: "thread",
    pid: host.pid,
    ppid: host.ppid,
    tid,
    context: host.context,
    trace: host.trace,
    module: host.module,
    memory: host.memory,
    rewindAt: at,
    rewindPages: Math.ceil(Math.max(used, 16) / PAGE_SIZE),
    globals: forkGlobals(ex),
    initData,
    tids: host.tids,
    tlsSlots: host.tlsSlots,
    sht: host.sht,
    pages: host.pages,
    pipes: host.pipes,
    sockets: host.sockets,
    ams: host.ams,
    ring: host.ring,
    outbox: host.outbox,
    relay: ch.port1,
    slot,
    handlerFns: host.handlerFns,
    ...(host.proxy === undefined ? {} : { proxy: host.proxy }),
    ...(client === undefined || link === undefined
      ? {}
      : { client: { ...client, signals: link.signals } }),
  };
  w.postMessage(start, [ch.port1]);
  // A reused worker is a child already (it stays one while idle: it ends with its creator).
  if (!host.children.includes(w)) {
    host.children.push(w);
    w.on("exit", () => {
      const i = host.children.indexOf(w);
      if (i >= 0) host.children.splice(i, 1);
    });
  }
  return { tid };
}

/**
 * CREATE_THREAD once the creator's stack is unwound (main thread or another thread): starts the thread,
 * traces the call, and returns what the creator resumes with.
 */
export function createThread(
  host: ThreadHost,
  proc: Proc,
  ex: Record<string, unknown>,
  data: number,
  initData: bigint,
  trace: ((line: string) => void) | undefined,
): { status: number; ret: Uint8Array } {
  const r = spawnThread(host, proc, ex, data, initData);
  if ("refused" in r && r.refused !== undefined) host.note(r.refused);
  trace?.(
    `CREATE_THREAD ${formatValue({ initData })} -> ${
      "tid" in r
        ? `ok ${formatValue({ id: r.tid, identity: 0, initData: 0 })}: thread ${r.tid} started`
        : formatErr(CREATE_THREAD, r.errcode)
    }`,
  );
  return parentReturn(r);
}

/**
 * ACCEPT_SERVICE_CONN once the dispatcher's stack is unwound (docs/services.md): the kernel checks the
 * request and opens the connection's socket, then the client thread starts from the call with
 * `notClientThread` 0x00 and the socket, and the dispatcher resumes with 0x01 and the same socket. A
 * client thread that cannot be created (the thread limit) is told to the kernel as one that ended: its
 * client gets SERVICE_SERVER_QUITTED.
 */
export function acceptConnection(
  host: ThreadHost,
  proc: Proc,
  ex: Record<string, unknown>,
  data: number,
  req: Uint8Array,
  trace: ((line: string) => void) | undefined,
): Resume {
  const answer = proc.toKernel(req);
  if (answer.errcode !== null)
    return { status: errorStatus(answer.errcode), ret: new Uint8Array(0) };
  const mine = ACCEPT_SERVICE_CONN.ret.decode(
    new DataView(answer.ret.buffer, answer.ret.byteOffset),
    0,
  );
  const connection = new DataView(req.buffer, req.byteOffset + 1, 8).getBigUint64(0, true);
  const theirs = encode(ACCEPT_SERVICE_CONN.ret, { notClientThread: 0x00, socket: mine.socket });
  const r = spawnThread(host, proc, ex, data, 0n, { connection, answer: theirs });
  if ("errcode" in r) {
    host.note(
      r.refused ?? `${syscallName(ACCEPT_SERVICE_CONN.code)}: the client thread could not start`,
    );
    host.clientThreadFailed(connection);
  } else
    trace?.(`${ACCEPT_SERVICE_CONN.name}: client thread ${r.tid} serves connection ${connection}`);
  return { status: 0, ret: answer.ret };
}

/** The creator resumes CREATE_THREAD with identity 0 and the child's identifier. */
function parentReturn(r: { tid: number } | { errcode: number }): {
  status: number;
  ret: Uint8Array;
} {
  if ("errcode" in r) return { status: errorStatus(r.errcode), ret: new Uint8Array(0) };
  return {
    status: 0,
    ret: encode(CREATE_THREAD.ret, { id: BigInt(r.tid), identity: 0, initData: 0n }),
  };
}

/** This thread's priority throttle (a worker runs one thread at a time: a fresh one for each). */
let throttling = new Throttle();

/**
 * A thread's safepoint: its priority and suspension (the process' signals are the main thread's; it
 * clears the poll flag).
 */
function threadSafepoint(ring: SignalRing): void {
  throttling.at(ring);
  if (ring.suspended) ring.waitWhileSuspended();
}

/**
 * A client thread's own signals (SERVICE_CLIENT_CLOSED, SERVICE_CLIENT_QUITTED: docs/services.md),
 * which the relay puts on its ring: queued, then delivered here with the process' handlers, as the main
 * thread delivers its own (signals.ts), the datafield in a page of this thread's.
 */
function deliverOwnSignals(p: Proc, own: SignalRing, env: HandlerEnv): void {
  queueOwnSignals(p, own);
  p.signals.deliverPending(env);
}

/** Move a client thread's own signals into its queue (delivered at the next delivery point). */
function queueOwnSignals(p: Proc, own: SignalRing): void {
  if (!own.pending()) return;
  for (const s of own.drain()) {
    p.trace?.(`signal ${signalName(s.signal)} queued`);
    p.signals.enqueue(s.signal, s.datafield);
  }
}

function runThread(msg: ThreadStart): Outcome | { thread: number } {
  const relay = msg.relay;
  const post = (m: FromThread) => relay.postMessage(m);
  const outbox = new Outbox(msg.outbox);
  const trace = msg.trace ? threadTrace(msg) : undefined;
  const ring = new SignalRing(msg.ring);
  const box = Mailbox.create();
  const forkLock = new ForkLock(msg.tids);
  const children: Worker[] = [];
  let proc: Proc | undefined;
  const entry = msg.entry;
  /** The pages of the creator's stack copy, until the thread has rewound out of them. */
  let stackCopy: { at: number; pages: number } | undefined =
    entry !== undefined ? undefined : { at: msg.rewindAt, pages: msg.rewindPages };
  const freeStackCopy = () => {
    if (stackCopy !== undefined) proc?.pages.free_(stackCopy.at, stackCopy.pages);
    stackCopy = undefined;
  };
  const ownAnswers = ownThreadAnswers(msg.module);
  /** A client thread's own signal ring. */
  const own = msg.client === undefined ? undefined : new SignalRing(msg.client.signals);
  const iHost = new InstanceHost({
    canThread: true,
    ownThreadAnswers: ownAnswers,
    forkLock,
    trace,
    onRewound: freeStackCopy,
  });
  // A proxied process' threads ask its proxy too, through this thread's own mapping of the link.
  if (msg.proxy !== undefined) {
    const note = (line: string) => relay.postMessage({ t: "note", line } satisfies FromThread);
    try {
      iHost.proxy = new ProxyLink(msg.proxy.ref, BigInt(msg.pid), note, msg.proxy.shared, msg.tid);
    } catch (e) {
      note(`thread ${msg.tid}: application proxy not linked: ${(e as Error).message}`);
    }
  }
  const instance = new WebAssembly.Instance(msg.module, {
    [ABI_IMPORT_MODULE]: {
      [IMPORT_SYSCALL]: iHost.proxy === undefined ? iHost.syscall : iHost.syscallProxied,
      [IMPORT_SYSCALL_FORK]: iHost.syscallFork,
      [IMPORT_SAFEPOINT]: () => {
        threadSafepoint(ring);
        if (own !== undefined && proc !== undefined && env.table !== undefined)
          deliverOwnSignals(proc, own, env);
      },
      [SHARED_MEMORY_IMPORT]: msg.memory,
    },
  });
  const ex = instance.exports as Record<string, unknown>;
  const asyncify = asyncifyOf(ex);
  iHost.asyncify = asyncify;
  const start = ex._start;
  const ctlGlobal = ex[CTL_GLOBAL];
  if (ctlGlobal instanceof WebAssembly.Global) ctlGlobal.value = CONTROL_BLOCK_ADDRESS;
  if (entry === undefined && (asyncify === undefined || typeof start !== "function"))
    return { kind: "killed", reason: "thread: the module has no Asyncify exports or _start" };
  restoreGlobals(ex, msg.globals);
  // Only a client thread runs handlers (its own signals); it gets a datafield page once its Proc exists.
  const env: HandlerEnv = {
    table: undefined,
    hasHandlerSig: (i) => msg.handlerFns[i] === 1,
    datafieldAddress: 0,
    memory: msg.memory,
    trace: (line) => trace?.(line),
  };
  proc = new Proc({
    pid: msg.pid,
    ppid: msg.ppid,
    context: msg.context,
    memory: msg.memory,
    handlerEnv: env,
    toKernel: (req, buffers) => {
      box.arm();
      post({
        t: "syscall",
        req,
        box: box.sab,
        ...(buffers ? { read: buffers.read, out: buffers.out } : {}),
      });
      return box.waitAnswer();
    },
    onHandledChange: () => {
      if (outbox.markHandledChanged()) post({ t: "handled" });
    },
    trace,
    // A client thread's own signals are delivered as a syscall returns too, not only at a safepoint.
    pullSignals: () => {
      if (own !== undefined && proc !== undefined && env.table !== undefined)
        queueOwnSignals(proc, own);
    },
    signalsWaiting: () => ring.suspended || (own?.pending() ?? false),
    tid: msg.tid,
    tlsSlots: msg.tlsSlots,
    sht: msg.sht,
    pages: msg.pages,
    ams: new AmsMappings(msg.ams),
    pipes: new PipeRings(new PipeSlots(msg.pipes)),
    sockets: new SocketRings(new SocketSlots(msg.sockets)),
  });
  iHost.proc = proc;
  let datafieldPage: number | undefined;
  if (own !== undefined) {
    const page = proc.pages.alloc(DATAFIELD_SIZE, 0b011, true);
    const table = ex[EXPORT_TABLE];
    if (page.ok && table instanceof WebAssembly.Table) {
      datafieldPage = page.address;
      env.datafieldAddress = page.address;
      env.table = table;
    } else trace?.("no memory for its signals' datafield: its signals are not delivered");
  }
  const host: ThreadHost = {
    pid: msg.pid,
    ppid: msg.ppid,
    context: msg.context,
    trace: msg.trace,
    module: msg.module,
    memory: msg.memory,
    tids: msg.tids,
    tlsSlots: msg.tlsSlots,
    sht: msg.sht,
    pages: msg.pages,
    pipes: msg.pipes,
    sockets: msg.sockets,
    ams: msg.ams,
    ring: msg.ring,
    outbox: msg.outbox,
    handlerFns: msg.handlerFns,
    ...(msg.proxy === undefined ? {} : { proxy: msg.proxy }),
    sendPort: (port, client) =>
      relay.postMessage(
        {
          t: "port",
          port,
          ...(client === undefined ? {} : { client }),
        } satisfies FromThread,
        [port],
      ),
    children,
    slot: msg.slot,
    note: (line) => relay.postMessage({ t: "note", line } satisfies FromThread),
    clientThreadFailed: (connection) =>
      relay.postMessage({ t: "client-thread-ended", connection } satisfies FromThread),
  };
  let run = start as () => void;
  let entryStack: number | undefined;
  if (entry !== undefined) {
    const fn =
      ex[EXPORT_TABLE] instanceof WebAssembly.Table ? ex[EXPORT_TABLE].get(entry.index) : null;
    // An exported wasm function's `length` is its parameter count: the entry takes the one u64.
    if (typeof fn !== "function" || fn.length !== 1) {
      trace?.(`not started: table index ${entry.index} is not a function of one parameter`);
      return { thread: 0 };
    }
    const stack = proc.pages.alloc(ENTRY_STACK_BYTES, 0b011, true);
    if (!stack.ok) {
      trace?.("not started: no memory for its stack");
      return { thread: 0 };
    }
    entryStack = stack.address;
    const sp = ex[STACK_POINTER_EXPORT];
    if (sp instanceof WebAssembly.Global && typeof sp.value === "number")
      sp.value = stack.address + ENTRY_STACK_BYTES;
    const arg = msg.initData;
    run = () => (fn as (a: bigint) => void)(arg);
    trace?.(`started by the kernel at table index ${entry.index}`);
  } else {
    trace?.(
      msg.client ? `started: client thread of connection ${msg.client.connection}` : "started",
    );
    const ret =
      msg.client?.answer ??
      encode(CREATE_THREAD.ret, {
        id: BigInt(msg.tid),
        identity: 1,
        initData: msg.initData,
      });
    // ABI 1.1: the new thread's own status and half of the return area; 1.0: the creator's area.
    iHost.rewindWith({ status: ownAnswers ? SYSCALL_STATUS_NEW_THREAD : 0, ret }, msg.rewindAt);
  }
  try {
    const p = proc;
    iHost.run(run, ex, {
      startThread: (data, initData) => createThread(host, p, ex, data, initData, trace),
      acceptConnection: (data, req) => acceptConnection(host, p, ex, data, req, trace),
      // CREATE_PROCESS from this thread: the child's only (main) thread continues this one's stack.
      forkToKernel: (req, image) => {
        box.arm();
        post({ t: "syscall", req, box: box.sab, fork: image });
        return box.waitAnswer();
      },
    });
    return { thread: 0 };
  } catch (e) {
    if (e instanceof ThreadEnd) return { thread: e.exitData };
    if (e instanceof ProcessEnd) return e.outcome;
    if (e instanceof WebAssembly.RuntimeError || e instanceof RangeError)
      return { kind: "killed", reason: `trap in thread ${msg.tid}: ${(e as Error).message}` };
    throw e;
  } finally {
    freeStackCopy();
    if (entryStack !== undefined) proc.pages.free_(entryStack, ENTRY_STACK_BYTES / PAGE_SIZE);
    if (datafieldPage !== undefined) proc.pages.free_(datafieldPage, 1);
    for (const c of children) void c.terminate();
    // Its children end with it: their slots go with its own (they run no code once terminated).
    iHost.proxy?.close();
    const ended = releaseThreadSlots(msg.tids, msg.slot);
    ended.delete(msg.tid); // its own calls released the lock (this `finally` ran)
    if (msg.proxy !== undefined && reclaimProxyLock(msg.proxy.shared, ended))
      msg.relay.postMessage({
        t: "note",
        line: "application proxy detached: a thread ended while its call was with the proxy",
      } satisfies FromThread);
    pool.close();
  }
}

/** A thread's trace function: each line waits for room in the process' trace window, then goes to the relay. */
function threadTrace(msg: ThreadStart): (line: string) => void {
  const outbox = new Outbox(msg.outbox);
  return (line) => {
    const seq = outbox.admitTrace();
    const m: FromThread = { t: "trace", line: stamped(`[thread ${msg.tid}] ${line}`), seq };
    msg.relay.postMessage(m);
  };
}

/**
 * A pooled worker whose thread ended (or that just booted) offers itself to its creator again, unless
 * the creator keeps enough idle workers already: then it leaves (false).
 */
function offerIdle(link: PoolLink, booted: boolean): boolean {
  const state = new Int32Array(link.state);
  const idle = new Int32Array(link.idle);
  if (Atomics.add(idle, 0, 1) >= link.maxIdle) {
    Atomics.sub(idle, 0, 1);
    // A spare the creator took while it booted has its thread on the way: it stays for it.
    if (booted && Atomics.load(state, 0) === WorkerState.TAKEN) return true;
    Atomics.store(state, 0, WorkerState.GONE);
    return false;
  }
  const was = booted
    ? Atomics.compareExchange(state, 0, WorkerState.BOOTING, WorkerState.IDLE)
    : Atomics.exchange(state, 0, WorkerState.IDLE);
  // Taken while it booted: not idle, its thread is on the way.
  if (booted && was !== WorkerState.BOOTING) Atomics.sub(idle, 0, 1);
  return true;
}

if (parentPort !== null && (workerData as { ncwThread?: boolean } | null)?.ncwThread === true) {
  const link = (workerData as { pool?: PoolLink }).pool;
  const port = parentPort;
  const onStart = (msg: ThreadStart) => {
    if (msg.t !== "thread") return;
    throttling = new Throttle();
    let r: Outcome | { thread: number };
    try {
      r = runThread(msg);
    } catch (e) {
      r = { kind: "killed", reason: `runner error in thread ${msg.tid}: ${(e as Error).message}` };
    }
    const held = throttling.report();
    const trace = msg.trace ? threadTrace(msg) : undefined;
    if (held !== undefined) trace?.(held);
    if ("thread" in r) {
      trace?.(`exited with ${r.thread}`);
    } else {
      // EXIT, or a trap: the whole process ends (the relay reports it and leaves).
      msg.relay.postMessage({ t: "exit", outcome: r });
    }
    // The port's close tells the relay the thread ended (a client thread's connection closes with it).
    msg.relay.close();
    // Only a thread that ended alone is reused: after a process end the worker goes with the process.
    if (link !== undefined && "thread" in r && offerIdle(link, false)) return;
    process.exit(0);
  };
  port.on("message", onStart);
  if (link !== undefined && !offerIdle(link, true)) process.exit(0);
}
