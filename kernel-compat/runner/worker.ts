// The runner's worker thread: executes one NightOS process' module (docs/kernel.md, "Runner"). It is
// started (and its modules loaded) before any process is assigned, so a new process only pays for
// instantiating its module. Syscalls answered in-process never leave this thread; the others block
// on the mailbox while the runner's main thread asks the kernel.

import { parentPort } from "node:worker_threads";
import {
  ABI_IMPORT_MODULE,
  CTL_GLOBAL,
  EXPORT_MEMORY,
  EXPORT_START,
  EXPORT_TABLE,
  IMPORT_SAFEPOINT,
  IMPORT_SYSCALL,
  IMPORT_SYSCALL_FORK,
  SIGNAL_HANDLER_SIG,
  sameSig,
} from "../../commonassembly/abi.js";
import { funcSig, readModule } from "../../commonassembly/wasm/reader.js";
import { Sig, signalName } from "../abi/numbers.js";
import { Datafield, encodeDatafield } from "../abi/signals.js";
import type { Outcome } from "../protocol.js";
import { dispatch } from "../syscalls/dispatch.js";
import { Mailbox, SignalRing } from "./channel.js";
import { accessKind, isOutOfBounds, trapOffset, UNKNOWN_FAULT_ADDRESS } from "./faults.js";
import { Proc } from "./process.js";
import { type HandlerEnv, ProcessEnd } from "./signals.js";

export interface WorkerStart {
  t: "start";
  pid: number;
  ppid: number;
  wasm: Uint8Array;
  context: Uint8Array;
  trace: boolean;
  mailbox: SharedArrayBuffer;
  ring: SharedArrayBuffer;
}

export type FromWorker =
  | { t: "warm" }
  | { t: "memory"; memory: WebAssembly.Memory; ctlAddr: number }
  | { t: "syscall"; req: Uint8Array }
  | { t: "trace"; line: string }
  | { t: "handled"; signals: number[] }
  | { t: "exit"; outcome: Outcome };

const WASM_PAGE = 65536;
/** Control block layout (64 bytes at the start of the control page): word 0 = poll flag, bytes 32–63 = datafield copy. */
export const CTL_POLL = 0;
export const CTL_DATAFIELD = 32;

const port = parentPort;
if (port === null) throw new Error("runner worker started outside a worker thread");
const post = (m: FromWorker) => port.postMessage(m);

function run(msg: WorkerStart): Outcome {
  const mailbox = new Mailbox(msg.mailbox);
  const ring = new SignalRing(msg.ring);
  const trace = msg.trace ? (line: string) => post({ t: "trace", line }) : undefined;
  const info = readModule(msg.wasm);
  const module = new WebAssembly.Module(msg.wasm);
  let proc: Proc | undefined;
  const fault = (): number => 0x100;
  const nightos = {
    [IMPORT_SYSCALL]: (req: number, len: number, ret: number) =>
      proc === undefined ? fault() : dispatch(proc, req, len, ret, false),
    [IMPORT_SYSCALL_FORK]: (req: number, len: number, ret: number) =>
      proc === undefined ? fault() : dispatch(proc, req, len, ret, true),
    [IMPORT_SAFEPOINT]: () => {
      if (proc !== undefined) safepoint(proc, ring, ctl);
    },
  };
  const instance = new WebAssembly.Instance(module, { [ABI_IMPORT_MODULE]: nightos });
  const ex = instance.exports as Record<string, unknown>;
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
  // The runtime's reservation: one page past the module's memory holds the control block.
  const ctl = memory.grow(1) * WASM_PAGE;
  if (ctlGlobal instanceof WebAssembly.Global) ctlGlobal.value = ctl;
  post({ t: "memory", memory, ctlAddr: ctl });
  const env: HandlerEnv = {
    table: table instanceof WebAssembly.Table ? table : undefined,
    hasHandlerSig: (i) => {
      const s = funcSig(info, i);
      return s !== undefined && sameSig(s, SIGNAL_HANDLER_SIG);
    },
    datafieldAddress: ctl + CTL_DATAFIELD,
    memory,
    trace: (line) => trace?.(line),
  };
  proc = new Proc({
    pid: msg.pid,
    ppid: msg.ppid,
    context: msg.context,
    memory,
    handlerEnv: env,
    toKernel: (req) => {
      mailbox.arm();
      post({ t: "syscall", req });
      return mailbox.waitAnswer();
    },
    onHandledChange: (signals) => post({ t: "handled", signals }),
    trace,
    pullSignals: () => {
      if (!ring.pending() || proc === undefined) return;
      for (const s of ring.drain()) proc.signals.enqueue(s.signal, s.datafield);
    },
  });
  try {
    (start as () => void)();
    return { kind: "exit", exitData: 0n };
  } catch (e) {
    if (e instanceof ProcessEnd) return e.outcome;
    if (isOutOfBounds(e)) return memFault(proc, e as Error, msg.wasm);
    if (e instanceof WebAssembly.RuntimeError || e instanceof RangeError) {
      return { kind: "killed", reason: `trap: ${(e as Error).message}` };
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

function safepoint(p: Proc, ring: SignalRing, ctl: number): void {
  const words = new Int32Array(p.memory.buffer);
  Atomics.store(words, (ctl + CTL_POLL) >> 2, 0);
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

port.on("message", (msg: WorkerStart) => {
  if (msg.t !== "start") return;
  let outcome: Outcome;
  try {
    outcome = run(msg);
  } catch (e) {
    outcome = { kind: "killed", reason: `runner error: ${(e as Error).message}` };
  }
  post({ t: "exit", outcome });
});

// Pre-warm: compile and run a tiny module once so V8's WebAssembly pipeline is loaded before use.
new WebAssembly.Instance(
  new WebAssembly.Module(Uint8Array.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0])),
  {},
);
post({ t: "warm" });
