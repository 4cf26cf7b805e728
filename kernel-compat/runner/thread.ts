// CREATE_THREAD (0x60) and the threads of a process (specs/kernel/syscalls.md, technical/processes.md;
// docs/kernel.md "Threads"). A thread is a nested worker thread of the runner, instantiating the same
// compiled module on the process' shared memory (imported: commonassembly/aot/shared-memory.ts). It is
// started like a fork child: the creator's stack, unwound by Asyncify into the fork buffer, is copied to
// pages of its own and rewound there with identity 1. A thread's children are nested workers of its own,
// terminated when it ends; the main thread's end ends the runner, hence every thread.

import path from "node:path";
import { fileURLToPath } from "node:url";
import {
  MessageChannel,
  type MessagePort,
  parentPort,
  Worker,
  workerData,
} from "node:worker_threads";
import {
  ABI_IMPORT_MODULE,
  CONTROL_BLOCK_ADDRESS,
  CTL_GLOBAL,
  errorStatus,
  IMPORT_SAFEPOINT,
  IMPORT_SYSCALL,
  IMPORT_SYSCALL_FORK,
  SYSCALL_RET_SIZE,
} from "../../commonassembly/abi.js";
import { encode } from "../abi/codec.js";
import { CREATE_PROCESS, CREATE_THREAD } from "../abi/syscalls.js";
import type { ForkImage, Outcome } from "../protocol.js";
import { dispatch, formatErr, formatValue, validateRequest } from "../syscalls/dispatch.js";
import { Mailbox, SignalRing, Throttle } from "./channel.js";
import {
  ASYNCIFY_REWINDING,
  ASYNCIFY_UNWINDING,
  asyncifyOf,
  ForkLock,
  forkGlobals,
  prepareForkBuffer,
  restoreGlobals,
} from "./fork.js";
import { PAGE_SIZE } from "./memory.js";
import { Proc } from "./process.js";
import { type HandlerEnv, ProcessEnd, ThreadEnd } from "./signals.js";
import { stamped } from "./trace-clock.js";

/** The import the AOT step gives a module whose memory threads share (shared-memory.ts). */
export const SHARED_MEMORY_IMPORT = "memory";
export const INIT_MEMORY_EXPORT = "__nightos_init_memory";

/** What a thread worker receives. */
export interface ThreadStart {
  t: "thread";
  pid: number;
  ppid: number;
  tid: number;
  context: Uint8Array;
  trace: boolean;
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  /** Where the copy of the creator's unwound stack is, in the shared memory (MEM_ALLOC pages). */
  rewindAt: number;
  /** How many pages that copy holds: freed once the thread has rewound. */
  rewindPages: number;
  globals: Record<string, number | bigint>;
  initData: bigint;
  tids: SharedArrayBuffer;
  tlsSlots: SharedArrayBuffer;
  sht: SharedArrayBuffer;
  pages: SharedArrayBuffer;
  ring: SharedArrayBuffer;
  /** To the runner's relay thread (traces, kernel syscalls, the process' end). */
  relay: MessagePort;
}

/** Messages a thread sends to the relay over its port. */
export type FromThread =
  | { t: "trace"; line: string }
  | { t: "syscall"; req: Uint8Array; box: SharedArrayBuffer; fork?: ForkImage }
  | { t: "port"; port: MessagePort }
  | { t: "handled"; signals: number[] }
  | { t: "exit"; outcome: Outcome };

export interface ThreadHost {
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
  ring: SharedArrayBuffer;
  /** Give the relay a port for a new thread. */
  sendPort(port: MessagePort): void;
  /** The creator's live child threads (terminated when it ends). */
  children: Worker[];
}

const here = path.dirname(fileURLToPath(import.meta.url));

function newThreadWorker(): Worker {
  return new Worker(path.join(here, "thread.js"), { workerData: { ncwThread: true } });
}

/**
 * A thread worker started ahead (its isolate up and this file loaded), nested in this thread, for the
 * next CREATE_THREAD this thread makes: a worker takes tens of ms to start (docs/kernel.md "Threads").
 */
let spare: Worker | undefined;

/** Start the spare now (the main thread does it when the process can create threads). */
export function prestartThread(): void {
  spare ??= newThreadWorker();
}

/**
 * The creator's side, after Asyncify unwound its stack into the fork buffer at `data`: copy that
 * stack to pages of the thread's own, start the thread, return its identifier (or an errcode).
 */
export function spawnThread(
  host: ThreadHost,
  proc: Proc,
  ex: Record<string, unknown>,
  data: number,
  initData: bigint,
): { tid: number } | { errcode: number } {
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
  const ch = new MessageChannel();
  host.sendPort(ch.port2);
  const w = spare ?? newThreadWorker();
  // The next one starts now, in parallel (the creator's event loop is busy running wasm).
  spare = newThreadWorker();
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
    ring: host.ring,
    relay: ch.port1,
  };
  w.postMessage(start, [ch.port1]);
  host.children.push(w);
  w.on("exit", () => {
    const i = host.children.indexOf(w);
    if (i >= 0) host.children.splice(i, 1);
  });
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
  trace?.(
    `CREATE_THREAD ${formatValue({ initData })} -> ${
      "tid" in r
        ? `ok ${formatValue({ id: r.tid, identity: 0, initData: 0 })}: thread ${r.tid} started`
        : formatErr(CREATE_THREAD, r.errcode)
    }`,
  );
  return parentReturn(r);
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

/** This thread's priority throttle (each thread worker runs one thread). */
const throttling = new Throttle();

/**
 * A thread's safepoint: its priority and suspension (signals are the main thread's; it clears the poll
 * flag).
 */
function threadSafepoint(ring: SignalRing): void {
  throttling.at(ring);
  if (ring.suspended) ring.waitWhileSuspended();
}

function runThread(msg: ThreadStart): Outcome | { thread: number } {
  const relay = msg.relay;
  const post = (m: FromThread) => relay.postMessage(m);
  const trace = msg.trace
    ? (line: string) => post({ t: "trace", line: stamped(`[thread ${msg.tid}] ${line}`) })
    : undefined;
  const ring = new SignalRing(msg.ring);
  const box = Mailbox.create();
  const forkLock = new ForkLock(msg.tids);
  const children: Worker[] = [];
  let proc: Proc | undefined;
  let asyncify: ReturnType<typeof asyncifyOf>;
  let pending: { status: number; ret: Uint8Array } | undefined = {
    status: 0,
    ret: encode(CREATE_THREAD.ret, { id: BigInt(msg.tid), identity: 1, initData: msg.initData }),
  };
  /** The CREATE_THREAD or CREATE_PROCESS in progress (its stack unwound into the fork buffer at `data`). */
  let threadCall:
    | { data: number; initData: bigint; process?: { req: number; len: number } }
    | undefined;
  /** The pages of the creator's stack copy, until the thread has rewound out of them. */
  let stackCopy: { at: number; pages: number } | undefined = {
    at: msg.rewindAt,
    pages: msg.rewindPages,
  };
  const freeStackCopy = () => {
    if (stackCopy !== undefined) proc?.pages.free_(stackCopy.at, stackCopy.pages);
    stackCopy = undefined;
  };
  const syscallFork = (req: number, len: number, ret: number): number => {
    if (proc === undefined) return errorStatus(0x00);
    if (asyncify?.getState() === ASYNCIFY_REWINDING) {
      asyncify.stopRewind();
      freeStackCopy();
      forkLock.release();
      const r = pending ?? { status: errorStatus(0x40), ret: new Uint8Array(0) };
      pending = undefined;
      const mem = proc.bytes();
      mem.fill(0, ret, ret + SYSCALL_RET_SIZE);
      mem.set(r.ret, ret);
      return r.status;
    }
    const v = validateRequest(proc, req, len, ret, true);
    const isProcess = v.ok && v.def.code === CREATE_PROCESS.code;
    if (!v.ok || (v.def.code !== CREATE_THREAD.code && !isProcess) || asyncify === undefined)
      return dispatch(proc, req, len, ret, true);
    forkLock.acquire();
    const data = prepareForkBuffer(proc.memory);
    if (data === undefined) {
      forkLock.release();
      return errorStatus(v.def.errors.HARDWARE ?? 0x40);
    }
    threadCall = {
      data,
      initData: (v.args as { initData: bigint }).initData,
      ...(isProcess ? { process: { req, len } } : {}),
    };
    asyncify.startUnwind(data);
    return 0;
  };
  const instance = new WebAssembly.Instance(msg.module, {
    [ABI_IMPORT_MODULE]: {
      [IMPORT_SYSCALL]: (req: number, len: number, ret: number) =>
        proc === undefined ? errorStatus(0x00) : dispatch(proc, req, len, ret, false),
      [IMPORT_SYSCALL_FORK]: syscallFork,
      [IMPORT_SAFEPOINT]: () => threadSafepoint(ring),
      [SHARED_MEMORY_IMPORT]: msg.memory,
    },
  });
  const ex = instance.exports as Record<string, unknown>;
  asyncify = asyncifyOf(ex);
  const start = ex._start;
  const ctlGlobal = ex[CTL_GLOBAL];
  if (ctlGlobal instanceof WebAssembly.Global) ctlGlobal.value = CONTROL_BLOCK_ADDRESS;
  if (asyncify === undefined || typeof start !== "function")
    return { kind: "killed", reason: "thread: the module has no Asyncify exports or _start" };
  restoreGlobals(ex, msg.globals);
  const env: HandlerEnv = {
    table: undefined,
    hasHandlerSig: () => false,
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
    toKernel: (req) => {
      box.arm();
      post({ t: "syscall", req, box: box.sab });
      return box.waitAnswer();
    },
    onHandledChange: (signals) => post({ t: "handled", signals }),
    trace,
    pullSignals: () => {},
    tid: msg.tid,
    tlsSlots: msg.tlsSlots,
    sht: msg.sht,
    pages: msg.pages,
  });
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
    ring: msg.ring,
    sendPort: (port) => relay.postMessage({ t: "port", port }, [port]),
    children,
  };
  trace?.("started");
  asyncify.startRewind(msg.rewindAt);
  try {
    for (;;) {
      (start as () => void)();
      if (asyncify.getState() !== ASYNCIFY_UNWINDING) break;
      asyncify.stopUnwind();
      const f = threadCall;
      threadCall = undefined;
      if (f === undefined)
        throw new Error("Asyncify unwound without a thread creation in progress");
      if (f.process !== undefined) {
        // CREATE_PROCESS from this thread: the child's only (main) thread continues this one's stack.
        const image: ForkImage = {
          memory: new Uint8Array(msg.memory.buffer).slice(),
          globals: forkGlobals(ex),
          initData: f.initData,
          pages: proc.pages.snapshot(),
          tls: proc.tlsImage(),
        };
        const req = proc.bytes().slice(f.process.req, f.process.req + f.process.len);
        box.arm();
        post({ t: "syscall", req, box: box.sab, fork: image });
        const answer = box.waitAnswer();
        pending =
          answer.errcode === null
            ? { status: 0, ret: answer.ret }
            : { status: errorStatus(answer.errcode), ret: new Uint8Array(0) };
        asyncify.startRewind(f.data);
        continue;
      }
      pending = createThread(host, proc, ex, f.data, f.initData, trace);
      asyncify.startRewind(f.data);
    }
    return { thread: 0 };
  } catch (e) {
    if (e instanceof ThreadEnd) return { thread: e.exitData };
    if (e instanceof ProcessEnd) return e.outcome;
    if (e instanceof WebAssembly.RuntimeError || e instanceof RangeError)
      return { kind: "killed", reason: `trap in thread ${msg.tid}: ${(e as Error).message}` };
    throw e;
  } finally {
    freeStackCopy();
    for (const c of children) void c.terminate();
    if (spare !== undefined) void spare.terminate();
  }
}

if (parentPort !== null && (workerData as { ncwThread?: boolean } | null)?.ncwThread === true) {
  parentPort.once("message", (msg: ThreadStart) => {
    if (msg.t !== "thread") return;
    let r: Outcome | { thread: number };
    try {
      r = runThread(msg);
    } catch (e) {
      r = { kind: "killed", reason: `runner error in thread ${msg.tid}: ${(e as Error).message}` };
    }
    const held = throttling.report();
    if (msg.trace && held !== undefined)
      msg.relay.postMessage({ t: "trace", line: `[thread ${msg.tid}] ${held}` });
    if ("thread" in r) {
      if (msg.trace)
        msg.relay.postMessage({ t: "trace", line: `[thread ${msg.tid}] exited with ${r.thread}` });
    } else {
      // EXIT, or a trap: the whole process ends (the relay reports it and leaves).
      msg.relay.postMessage({ t: "exit", outcome: r });
    }
    msg.relay.close();
    process.exit(0);
  });
}
