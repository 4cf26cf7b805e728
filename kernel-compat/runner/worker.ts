// The runner's worker thread: executes one NightOS process' module (docs/kernel.md, "Runner"). It is
// started (and its modules loaded) before any process is assigned, so a new process only pays for
// instantiating its module. Syscalls answered in-process never leave this thread; the others block
// on the mailbox while the runner's main thread asks the kernel. A trace line waits for room in the
// process' trace window (channel.ts Outbox), so tracing slows a program down but never loses a line.
// It runs the main thread on the instance host (instance.ts), as the thread workers run the others.

import { type MessagePort, parentPort, type Worker } from "node:worker_threads";
import { encode } from "../../commonassembly/abi/codec.js";
import { Sig, signalName } from "../../commonassembly/abi/numbers.js";
import { Datafield, encodeDatafield } from "../../commonassembly/abi/signals.js";
import { CREATE_PROCESS } from "../../commonassembly/abi/syscalls.js";
import {
  ABI_IMPORT_MODULE,
  CONTROL_BLOCK_ADDRESS,
  CTL_DATAFIELD_OFFSET,
  CTL_GLOBAL,
  CTL_POLL_FLAG_OFFSET,
  EXPORT_MEMORY,
  EXPORT_START,
  EXPORT_TABLE,
  IMPORT_SAFEPOINT,
  IMPORT_SYSCALL,
  IMPORT_SYSCALL_FORK,
  INIT_MEMORY_EXPORT,
  SHARED_MEMORY_IMPORT,
  SIGNAL_HANDLER_SIG,
  sameSig,
} from "../../commonassembly/abi/wasm-names.js";
import { funcSig, readModule } from "../../commonassembly/wasm/reader.js";
import type { ForkImage, Outcome, ProxyLinkRef, ToRunner } from "../protocol.js";
import type { BufferArea } from "../syscalls/buffers.js";
import { AmsMappings } from "./ams.js";
import { Mailbox, Outbox, SignalRing, Throttle } from "./channel.js";
import {
  accessKind,
  isOutOfBounds,
  trapOffset,
  UNKNOWN_FAULT_ADDRESS,
  wasmBacktrace,
  withBacktrace,
} from "./faults.js";
import {
  ASYNCIFY_UNWINDING,
  asyncifyOf,
  createThreadIds,
  ForkLock,
  forkBufferAddress,
  MAIN_THREAD_SLOT,
  ownThreadAnswers,
  restoreGlobals,
  restoreMemoryImage,
} from "./fork.js";
import { InstanceHost } from "./instance.js";
import { PipeRings, PipeSlots } from "./pipes.js";
import { createTlsSlots, type KernelBuffers, Proc } from "./process.js";
import { ProxyLink, proxyShared } from "./proxy.js";
import { type HandlerEnv, ProcessEnd, type SignalAnswer } from "./signals.js";
import { SocketRings, SocketSlots } from "./sockets.js";
import {
  acceptConnection,
  type ClientThreadLink,
  createThread,
  prestartThread,
  type ThreadHost,
  type ThreadShare,
} from "./thread.js";
import { stamped } from "./trace-clock.js";

export interface WorkerStart {
  t: "start";
  pid: number;
  ppid: number;
  /** The most threads the process may have at once, its main thread included (0: no limit). */
  maxThreads: number;
  /** The module; empty with `ahead` (the one compiled ahead, `precompiled`). */
  wasm: Uint8Array;
  ahead?: boolean;
  context: Uint8Array;
  trace: boolean;
  mailboxes: SharedArrayBuffer[];
  ring: SharedArrayBuffer;
  /** The trace window and the handler-set notice (channel.ts Outbox). */
  outbox: SharedArrayBuffer;
  /** The process' SHT (signals.ts SharedSht), which the relay reads for the kernel. */
  sht: SharedArrayBuffer;
  /** The process' pipe table (pipes.ts PipeSlots), filled by the relay. */
  pipes: SharedArrayBuffer;
  /** The process' socket table (sockets.ts SocketSlots), filled by the relay. */
  sockets: SharedArrayBuffer;
  /** The page allocator's state (memory.ts), which the relay also uses to place AMS mappings. */
  pages: SharedArrayBuffer;
  /** The process' AMS mappings (ams.ts AmsMappings), kept by the relay. */
  ams: SharedArrayBuffer;
  /** For a child made by CREATE_PROCESS: the parent's memory and globals at the call. */
  fork: ForkImage | undefined;
  /** The process' application proxy (proxy.ts); none: its syscalls go straight to the system. */
  proxy?: ProxyLinkRef;
}

export type FromWorker =
  | { t: "warm" }
  | { t: "memory"; memory: WebAssembly.Memory; ctlAddr: number }
  | {
      t: "syscall";
      req: Uint8Array;
      depth: number;
      fork?: ForkImage;
      read?: Uint8Array[];
      out?: BufferArea[];
    }
  /** `seq`: the line's number in the trace window (Outbox.admitTrace). */
  | { t: "trace"; line: string; seq: number }
  /** The handler set changed (the relay reads it from the SHT). */
  | { t: "handled" }
  /** A line for the process' terminal, traced or not (a limit refused something). */
  | { t: "note"; line: string }
  | { t: "running" }
  | { t: "exit"; outcome: Outcome }
  /** A new thread's port; `client`: it is a connection's client thread (ACCEPT_SERVICE_CONN). */
  | { t: "port"; port: MessagePort; client?: ClientThreadLink }
  /** ACCEPT_SERVICE_CONN could not create the client thread of `connection` (docs/services.md). */
  | { t: "client-thread-ended"; connection: bigint }
  /** What the relay needs to start threads the kernel asks for; null: the module cannot have threads. */
  | { t: "share"; share: ThreadShare | null }
  /** READ/WRITE_BACKED_AMS were consumed: their handlers' answers, undefined if none ran (runner/ams.ts). */
  | { t: "signal-answers"; batch: SignalAnswer[] };

const port = parentPort;
if (port === null) throw new Error("runner worker started outside a worker thread");
const post = (m: FromWorker) => port.postMessage(m);

function run(msg: WorkerStart): Outcome {
  const mailboxes = msg.mailboxes.map((m) => new Mailbox(m));
  let depth = 0;
  const ring = new SignalRing(msg.ring);
  const outbox = new Outbox(msg.outbox);
  const trace = msg.trace ? traceTo(outbox) : undefined;
  const t0 = performance.now();
  const pre = precompiled;
  precompiled = undefined;
  // `ahead` names the module last sent to compile ahead, even if that compile failed (it fails again
  // below, with its error).
  const wasm = msg.ahead ? (sentAhead ?? msg.wasm) : msg.wasm;
  const ahead = pre !== undefined && (msg.ahead === true || sameBytes(pre.wasm, wasm));
  const info = ahead && pre ? pre.info : readModule(wasm);
  const module = ahead && pre ? pre.module : new WebAssembly.Module(wasm);
  const compiledMs = performance.now() - t0;
  const ctl = CONTROL_BLOCK_ADDRESS;
  let proc: Proc | undefined;
  // Threads need the memory imported (the AOT step does it for modules that import syscall_fork).
  const memImport = info.imports.find(
    (i) => i.kind === "memory" && i.module === ABI_IMPORT_MODULE && i.name === SHARED_MEMORY_IMPORT,
  );
  const sharedMemory =
    memImport?.kind === "memory"
      ? new WebAssembly.Memory({
          initial: memImport.memory.min,
          ...(memImport.memory.max === undefined ? {} : { maximum: memImport.memory.max }),
          shared: memImport.memory.shared,
        } as WebAssembly.MemoryDescriptor)
      : undefined;
  const threads: Worker[] = [];
  const tids = createThreadIds(msg.maxThreads);
  const forkLock = new ForkLock(tids);
  // A module with an imported memory may create threads: have a thread worker ready for the first.
  if (sharedMemory !== undefined) prestartThread();
  const host = new InstanceHost({
    canThread: sharedMemory !== undefined,
    ownThreadAnswers: ownThreadAnswers(module),
    forkLock,
    trace,
  });
  // A proxied process' main thread gets the proxied entry point; every other process the plain one,
  // so a process without a proxy pays nothing for the feature (docs/kernel.md "Application proxies").
  const proxyShare =
    msg.proxy === undefined ? undefined : { ref: msg.proxy, shared: proxyShared() };
  if (proxyShare !== undefined) {
    const note = (line: string) => post({ t: "note", line });
    try {
      host.proxy = new ProxyLink(proxyShare.ref, BigInt(msg.pid), note, proxyShare.shared);
    } catch (e) {
      note(
        `application proxy ${proxyShare.ref.pid} not linked: ${(e as Error).message}; the app runs unproxied`,
      );
    }
  }
  const nightos = {
    [IMPORT_SYSCALL]: host.proxy === undefined ? host.syscall : host.syscallProxied,
    [IMPORT_SYSCALL_FORK]: host.syscallFork,
    [IMPORT_SAFEPOINT]: () => {
      if (proc !== undefined) safepoint(proc, ring, ctl);
    },
  };
  const instance = new WebAssembly.Instance(module, {
    [ABI_IMPORT_MODULE]:
      sharedMemory === undefined ? nightos : { ...nightos, [SHARED_MEMORY_IMPORT]: sharedMemory },
  });
  const ex = instance.exports as Record<string, unknown>;
  host.asyncify = asyncifyOf(ex);
  const memory = ex[EXPORT_MEMORY];
  const start = ex[EXPORT_START];
  const table = ex[EXPORT_TABLE];
  const ctlGlobal = ex[CTL_GLOBAL];
  if (!(memory instanceof WebAssembly.Memory) || typeof start !== "function") {
    return {
      kind: "killed",
      reason: "the module does not export `memory` and `_start` (run `ncw ca validate`)",
    };
  }
  if (ctlGlobal instanceof WebAssembly.Global) ctlGlobal.value = ctl;
  const initMemory = ex[INIT_MEMORY_EXPORT];
  if (!msg.fork && typeof initMemory === "function") (initMemory as () => void)();
  if (msg.fork) {
    // A forked child: the parent's memory and globals, then rewind into syscall_fork with identity 1.
    restoreMemoryImage(msg.fork, memory);
    restoreGlobals(ex, msg.fork.globals);
    Atomics.store(new Int32Array(memory.buffer), (ctl + CTL_POLL_FLAG_OFFSET) >> 2, 0);
    host.rewindWith(
      {
        status: 0,
        ret: encode(CREATE_PROCESS.ret, {
          id: BigInt(msg.pid),
          identity: 1,
          initData: msg.fork.initData,
        }),
      },
      forkBufferAddress(memory),
    );
  }
  post({ t: "memory", memory, ctlAddr: ctl });
  const env: HandlerEnv = {
    table: table instanceof WebAssembly.Table ? table : undefined,
    hasHandlerSig: (i) => {
      const s = funcSig(info, i);
      return s !== undefined && sameSig(s, SIGNAL_HANDLER_SIG);
    },
    datafieldAddress: ctl + CTL_DATAFIELD_OFFSET,
    memory,
    trace: (line) => trace?.(line),
    answered: (batch) => post({ t: "signal-answers", batch }),
  };
  const toKernel = (req: Uint8Array, buffers?: KernelBuffers, fork?: ForkImage) => {
    const mailbox = mailboxes[depth];
    if (mailbox === undefined) return { errcode: 0x02, ret: new Uint8Array(0) };
    const d = depth++;
    try {
      mailbox.arm();
      post({
        t: "syscall",
        req,
        depth: d,
        ...(fork ? { fork } : {}),
        ...(buffers ? { read: buffers.read, out: buffers.out } : {}),
      });
      // Signals that arrive while the call blocks are delivered meanwhile (not inside a handler).
      return mailbox.waitAnswer(() => {
        if (proc === undefined) return;
        proc.pullSignals();
        proc.signals.deliverPending(proc.handlerEnv);
      });
    } finally {
      depth--;
    }
  };
  const tlsSlots = createTlsSlots();
  proc = new Proc({
    tlsSlots,
    pid: msg.pid,
    ppid: msg.ppid,
    context: msg.context,
    memory,
    handlerEnv: env,
    toKernel,
    onHandledChange: () => {
      if (outbox.markHandledChanged()) post({ t: "handled" });
      // A service ready for connections gets client threads next: two workers ready for them.
      if (
        sharedMemory !== undefined &&
        proc?.signals.ready === true &&
        proc.signals.handlers.has(Sig.SERVICE_CONN_REQUEST)
      )
        prestartThread(2);
    },
    trace,
    sht: msg.sht,
    pages: msg.pages,
    ams: new AmsMappings(msg.ams),
    pipes: new PipeRings(new PipeSlots(msg.pipes)),
    sockets: new SocketRings(new SocketSlots(msg.sockets)),
    pullSignals: () => {
      if (!ring.pending() || proc === undefined) return;
      for (const s of ring.drain()) proc.signals.enqueue(s.signal, s.datafield);
    },
    signalsWaiting: () => ring.needsSafepoint(),
  });
  host.proc = proc;
  const p = proc;
  if (msg.fork) proc.pages.restore(msg.fork.pages);
  if (msg.fork?.tls) proc.restoreTls(msg.fork.tls);
  const threadHost: ThreadHost = {
    ...(host.proxy === undefined || proxyShare === undefined ? {} : { proxy: proxyShare }),
    pid: msg.pid,
    ppid: msg.ppid,
    context: msg.context,
    trace: msg.trace,
    module,
    memory,
    tids,
    tlsSlots: tlsSlots,
    sht: proc.signals.handlers.sab,
    pages: proc.pages.sab,
    pipes: msg.pipes,
    sockets: msg.sockets,
    ams: msg.ams,
    ring: msg.ring,
    outbox: msg.outbox,
    handlerFns: handlerFunctions(info),
    sendPort: (p, client) =>
      port?.postMessage({ t: "port", port: p, ...(client === undefined ? {} : { client }) }, [p]),
    children: threads,
    slot: MAIN_THREAD_SLOT,
    note: (line) => post({ t: "note", line }),
    clientThreadFailed: (connection) => post({ t: "client-thread-ended", connection }),
  };
  const {
    sendPort: _s,
    children: _c,
    slot: _l,
    note: _n,
    clientThreadFailed: _f,
    ...share
  } = threadHost;
  post({ t: "share", share: sharedMemory === undefined ? null : share });
  trace?.(
    `runner: module ${ahead ? "compiled ahead" : `compiled in ${compiledMs.toFixed(1)} ms`}, ready to run ${(performance.now() - t0).toFixed(1)} ms after start`,
  );
  post({ t: "running" });
  try {
    host.run(start as () => void, ex, {
      startThread: (data, initData) => createThread(threadHost, p, ex, data, initData, trace),
      acceptConnection: (data, req) => acceptConnection(threadHost, p, ex, data, req, trace),
      forkToKernel: (req, image) => toKernel(req, undefined, image),
    });
    return { kind: "exit", exitData: 0n };
  } catch (e) {
    if (e instanceof ProcessEnd) return e.outcome;
    const backtrace = e instanceof Error ? wasmBacktrace(e, info) : [];
    if (isOutOfBounds(e)) return withBacktrace(memFault(proc, e as Error, wasm), backtrace);
    if (e instanceof WebAssembly.RuntimeError || e instanceof RangeError) {
      const during =
        host.asyncify?.getState() === ASYNCIFY_UNWINDING
          ? " (while saving the stack for CREATE_PROCESS: the fork buffer is too small)"
          : "";
      return withBacktrace(
        { kind: "killed", reason: `trap: ${(e as Error).message}${during}` },
        backtrace,
      );
    }
    throw e;
  }
}

/** A wasm trap cannot be resumed: a MEM_FAULT handler runs, then the process ends (docs/kernel.md). */
function memFault(p: Proc, e: Error, wasm: Uint8Array): Outcome {
  const access = accessKind(wasm, trapOffset(e));
  const what = access === 0x02 ? "write" : "read";
  p.trace?.(`MEM_FAULT: out-of-bounds ${what} (address unknown to the host engine)`);
  const df = encodeDatafield(Datafield[Sig.MEM_FAULT], { address: UNKNOWN_FAULT_ADDRESS, access });
  if (p.signals.ready && p.signals.handlers.has(Sig.MEM_FAULT)) {
    try {
      p.signals.enqueue(Sig.MEM_FAULT, df);
      p.signals.deliverPending(p.handlerEnv);
    } catch (inner) {
      if (inner instanceof ProcessEnd) return inner.outcome;
      return {
        kind: "killed",
        reason: `MEM_FAULT handler failed: ${(inner as Error).message}`,
        signal: Sig.MEM_FAULT,
      };
    }
    return {
      kind: "killed",
      reason: `MEM_FAULT (out-of-bounds ${what}; handled, cannot resume)`,
      signal: Sig.MEM_FAULT,
    };
  }
  return { kind: "killed", reason: `MEM_FAULT (out-of-bounds ${what})`, signal: Sig.MEM_FAULT };
}

/** A trace function: each line waits for room in the trace window, then goes to the relay. */
function traceTo(outbox: Outbox): (line: string) => void {
  return (line) => {
    const seq = outbox.admitTrace();
    post({ t: "trace", line: stamped(line), seq });
  };
}

/** Which functions have the signal handler signature, by function index (ThreadShare.handlerFns). */
function handlerFunctions(info: ReturnType<typeof readModule>): Uint8Array {
  const n = info.importedFuncs + info.functions.length;
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const s = funcSig(info, i);
    if (s !== undefined && sameSig(s, SIGNAL_HANDLER_SIG)) out[i] = 1;
  }
  return out;
}

/** This (main) thread's priority throttle. */
const throttling = new Throttle();

function safepoint(p: Proc, ring: SignalRing, ctl: number): void {
  const words = new Int32Array(p.memory.buffer);
  Atomics.store(words, (ctl + CTL_POLL_FLAG_OFFSET) >> 2, 0);
  throttling.at(ring);
  for (const s of ring.drain()) {
    p.trace?.(`signal ${signalName(s.signal)} queued`);
    p.signals.enqueue(s.signal, s.datafield);
  }
  if (ring.suspended) {
    p.trace?.("suspended");
    ring.waitWhileSuspended();
    p.trace?.("resumed");
    for (const s of ring.drain()) p.signals.enqueue(s.signal, s.datafield);
  }
  p.signals.deliverPending(p.handlerEnv);
}

/** A module compiled ahead while this runner waited in the pool (the kernel's guess for a fork). */
let precompiled:
  | { wasm: Uint8Array; module: WebAssembly.Module; info: ReturnType<typeof readModule> }
  | undefined;
/** The module of the last `precompile`, whether it compiled or not. */
let sentAhead: Uint8Array | undefined;

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.length).equals(
    Buffer.from(b.buffer, b.byteOffset, b.length),
  );
}

port.on("message", (msg: WorkerStart | Extract<ToRunner, { t: "precompile" }>) => {
  if (msg.t === "precompile") {
    sentAhead = msg.wasm;
    try {
      precompiled = {
        wasm: msg.wasm,
        module: new WebAssembly.Module(msg.wasm),
        info: readModule(msg.wasm),
      };
      // A module that can create threads: start a thread worker ahead too.
      const imports = WebAssembly.Module.imports(precompiled.module);
      if (
        msg.threads !== false &&
        imports.some((i) => i.kind === "memory" && i.name === SHARED_MEMORY_IMPORT)
      )
        prestartThread();
    } catch {
      precompiled = undefined;
    }
    return;
  }
  if (msg.t !== "start") return;
  let outcome: Outcome;
  try {
    outcome = run(msg);
  } catch (e) {
    outcome = { kind: "killed", reason: `runner error: ${(e as Error).message}` };
  }
  const held = throttling.report();
  if (msg.trace && held !== undefined) traceTo(new Outbox(msg.outbox))(held);
  post({ t: "exit", outcome });
});

// Pre-warm: compile and run a tiny module once so V8's WebAssembly pipeline is loaded before use.
new WebAssembly.Instance(
  new WebAssembly.Module(Uint8Array.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0])),
  {},
);
post({ t: "warm" });
