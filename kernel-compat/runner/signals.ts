// A process' signal machinery (specs/kernel/signals.md): the signal handler table (SHT), the queue and
// the readiness indicator, and delivery: nothing before READY, one handler at a time, queued signals
// in order, an invalid handler turned into HANDLER_FAULT, a double fault or an unhandled fatal signal
// killing the process. Runs in the runner's worker thread, at safepoints and after syscalls.

import { Sig, signalName } from "../../commonassembly/abi/numbers.js";
import {
  ANSWERED_SIGNALS,
  DATAFIELD_SIZE,
  Datafield,
  defaultAction,
  encodeDatafield,
} from "../../commonassembly/abi/signals.js";

/** Thrown through the module's stack to end the process (EXIT, default kill, double fault). */
export class ProcessEnd extends Error {
  constructor(
    readonly outcome:
      | { kind: "exit"; exitData: bigint }
      | { kind: "killed"; reason: string; signal?: number },
  ) {
    super(outcome.kind === "exit" ? `exit ${outcome.exitData}` : `killed: ${outcome.reason}`);
  }
}

/** EXIT_THREAD on a thread other than the main one: that thread (and its children) end. */
export class ThreadEnd extends Error {
  constructor(readonly exitData: number) {
    super(`thread exit ${exitData}`);
  }
}

export interface SignalAnswer {
  signal: number;
  datafield: Uint8Array;
  answer: bigint | undefined;
}

export interface HandlerEnv {
  /** The module's handler table (`__indirect_function_table`), if it has one. */
  table: WebAssembly.Table | undefined;
  /** True if function index `fn` has the handler signature (i32, i32) -> i64. */
  hasHandlerSig(fnIndex: number): boolean;
  /** Where the 32-byte datafield copy is written before the call (inside the control block). */
  datafieldAddress: number;
  memory: WebAssembly.Memory;
  trace(line: string): void;
  /**
   * Signals that expect an answer (READ/WRITE_BACKED_AMS) were consumed, in order: each handler's i64,
   * or undefined when none ran (no handler, or HANDLER_FAULT instead). The kernel waits for them. One
   * call per delivery round: a backed AMS asks a signal per word, so answers travel in batches.
   */
  answered?(batch: SignalAnswer[]): void;
}

/**
 * The SHT (signal code → handler "pointer", a table index) and the readiness indicator, in a
 * SharedArrayBuffer so every thread of the process sees the same ones (docs/kernel.md "Threads"):
 * [ready flag + 256 present flags as i32][256 pointers as i64].
 */
export class SharedSht {
  static readonly SIGNALS = 256;
  private readonly flags: Int32Array;
  private readonly pointers: BigUint64Array;
  constructor(readonly sab: SharedArrayBuffer = SharedSht.create()) {
    this.flags = new Int32Array(sab, 0, 1 + SharedSht.SIGNALS);
    this.pointers = new BigUint64Array(sab, 8 * (SharedSht.SIGNALS / 2 + 1), SharedSht.SIGNALS);
  }
  static create(): SharedArrayBuffer {
    return new SharedArrayBuffer(4 * (1 + SharedSht.SIGNALS) + 4 + 8 * SharedSht.SIGNALS);
  }
  get ready(): boolean {
    return Atomics.load(this.flags, 0) !== 0;
  }
  set ready(on: boolean) {
    Atomics.store(this.flags, 0, on ? 1 : 0);
  }
  get(signal: number): bigint | undefined {
    if (signal < 0 || signal >= SharedSht.SIGNALS || Atomics.load(this.flags, 1 + signal) === 0)
      return undefined;
    return Atomics.load(this.pointers, signal);
  }
  has(signal: number): boolean {
    return this.get(signal) !== undefined;
  }
  set(signal: number, pointer: bigint): void {
    Atomics.store(this.pointers, signal, BigInt.asUintN(64, pointer));
    Atomics.store(this.flags, 1 + signal, 1);
  }
  delete(signal: number): boolean {
    return Atomics.exchange(this.flags, 1 + signal, 0) !== 0;
  }
  keys(): number[] {
    const out: number[] = [];
    for (let s = 0; s < SharedSht.SIGNALS; s++)
      if (Atomics.load(this.flags, 1 + s) !== 0) out.push(s);
    return out;
  }
}

export class SignalState {
  /** The SHT and readiness indicator, shared by the process' threads. */
  readonly handlers: SharedSht;
  constructor(sht?: SharedArrayBuffer) {
    this.handlers = new SharedSht(sht);
  }
  get ready(): boolean {
    return this.handlers.ready;
  }
  set ready(on: boolean) {
    this.handlers.ready = on;
  }
  private readonly queue: { signal: number; datafield: Uint8Array }[] = [];
  private inHandler = false;
  /** The last answers read back from handlers (a backed AMS asks thousands: only the latest are kept). */
  readonly answers: { signal: number; answer: bigint }[] = [];

  enqueue(signal: number, datafield: Uint8Array): void {
    this.queue.push({ signal, datafield });
  }

  /** True while a handler runs (syscall_fork is refused there: Asyncify cannot unwind through it). */
  get handling(): boolean {
    return this.inHandler;
  }

  get queued(): number {
    return this.queue.length;
  }

  /** Deliver every queued signal, in order, if the process is ready and no handler is running. */
  deliverPending(env: HandlerEnv): void {
    if (this.queue.length === 0 || !this.ready || this.inHandler) return;
    const batch: SignalAnswer[] = [];
    try {
      for (let s = this.queue.shift(); s !== undefined; s = this.queue.shift()) {
        const answer = this.deliver(env, s.signal, s.datafield);
        if (ANSWERED_SIGNALS.has(s.signal))
          batch.push({ signal: s.signal, datafield: s.datafield, answer });
      }
    } finally {
      if (batch.length > 0) env.answered?.(batch);
    }
  }

  private resolve(
    env: HandlerEnv,
    pointer: bigint,
  ): ((sig: number, df: number) => unknown) | undefined {
    const t = env.table;
    if (t === undefined || pointer >= BigInt(t.length)) return undefined;
    const fn = t.get(Number(pointer)) as ((sig: number, df: number) => unknown) | null;
    if (typeof fn !== "function") return undefined;
    const index = Number.parseInt(fn.name, 10);
    if (!Number.isInteger(index) || !env.hasHandlerSig(index)) return undefined;
    return fn;
  }

  /** Run `signal`'s handler (or its default); the handler's answer when it returned an i64. */
  private deliver(env: HandlerEnv, signal: number, datafield: Uint8Array): bigint | undefined {
    const pointer = this.handlers.get(signal);
    if (pointer === undefined) {
      if (defaultAction(signal) === "kill") {
        env.trace(`signal ${signalName(signal)}: no handler, default action kills the process`);
        throw new ProcessEnd({
          kind: "killed",
          reason: `${signalName(signal)} (no handler)`,
          signal,
        });
      }
      env.trace(`signal ${signalName(signal)}: no handler, ignored`);
      return undefined;
    }
    const fn = this.resolve(env, pointer);
    if (fn === undefined) {
      if (signal === Sig.HANDLER_FAULT) {
        env.trace(
          `signal HANDLER_FAULT: handler ${pointer} is not a valid function: double handler fault`,
        );
        throw new ProcessEnd({ kind: "killed", reason: "double handler fault", signal });
      }
      env.trace(
        `signal ${signalName(signal)}: handler ${pointer} is not a valid function: HANDLER_FAULT`,
      );
      this.deliver(
        env,
        Sig.HANDLER_FAULT,
        encodeDatafield(Datafield[Sig.HANDLER_FAULT], { faultySignal: BigInt(signal) }),
      );
      return undefined;
    }
    new Uint8Array(env.memory.buffer, env.datafieldAddress, DATAFIELD_SIZE).set(datafield);
    env.trace(`signal ${signalName(signal)} -> handler ${pointer}`);
    this.inHandler = true;
    let answer: unknown;
    try {
      answer = fn(signal, env.datafieldAddress);
    } finally {
      this.inHandler = false;
    }
    if (typeof answer === "bigint" && this.answers.push({ signal, answer }) > 64)
      this.answers.shift();
    env.trace(`signal ${signalName(signal)} handled, answer ${String(answer)}`);
    return typeof answer === "bigint" ? answer : undefined;
  }
}
