// Shared-memory channels between a runner's main thread (which talks to the kernel) and the worker
// thread that executes the module (docs/kernel.md, "Runner"): a one-slot syscall mailbox the worker
// blocks on with Atomics.wait, a single-producer/single-consumer signal ring, and the outbox that bounds
// what the process' threads send the kernel (the trace window, the coalesced handler-set change).

import { DATAFIELD_SIZE } from "../../commonassembly/abi/signals.js";
import { SYSCALL_RET_SIZE } from "../../commonassembly/abi/wasm-names.js";

// ---- syscall mailbox: [state (idle, waiting, answered, interrupted), errcode, retLen, -] then up to
// RET_MAX bytes of return value: the ABI's return area (a call's buffers travel beside it,
// syscalls/buffers.ts) ----
/** Mailboxes per runner: one for the program's code, one for a signal handler's own kernel calls. */
export const MAILBOX_DEPTH = 2;
export const MAILBOX_IDLE = 0;
export const MAILBOX_WAITING = 1;
export const MAILBOX_ANSWERED = 2;
/** Waiting, and the main thread asked the worker to run signal handlers meanwhile. */
export const MAILBOX_INTERRUPTED = 3;
const RET_MAX = SYSCALL_RET_SIZE;
export const MAILBOX_BYTES = 16 + RET_MAX;

export class Mailbox {
  readonly words: Int32Array;
  readonly bytes: Uint8Array;
  constructor(readonly sab: SharedArrayBuffer) {
    this.words = new Int32Array(sab, 0, 4);
    this.bytes = new Uint8Array(sab, 16, RET_MAX);
  }
  static create(): Mailbox {
    return new Mailbox(new SharedArrayBuffer(MAILBOX_BYTES));
  }
  /** Worker side: mark the request sent; then `waitAnswer`. */
  arm(): void {
    Atomics.store(this.words, 0, MAILBOX_WAITING);
  }
  /**
   * Worker side: block until the main thread answers; returns errcode (null = success) and the return
   * bytes. While blocked, `onInterrupt` runs each time the main thread signals an interruption (a
   * signal arrived): the process' handlers run during a blocking syscall, as on NightOS.
   */
  waitAnswer(onInterrupt?: () => void): { errcode: number | null; ret: Uint8Array } {
    // The interruption is a state of the word waited on, so one raised while the handlers run (their
    // answers make the relay push more signals at once: a signal-backed AMS) is never lost.
    for (;;) {
      const state = Atomics.load(this.words, 0);
      if (state === MAILBOX_WAITING) Atomics.wait(this.words, 0, MAILBOX_WAITING);
      else if (state !== MAILBOX_INTERRUPTED) break;
      else if (
        Atomics.compareExchange(this.words, 0, MAILBOX_INTERRUPTED, MAILBOX_WAITING) ===
        MAILBOX_INTERRUPTED
      )
        onInterrupt?.();
    }
    const err = Atomics.load(this.words, 1);
    const len = Atomics.load(this.words, 2);
    const ret = this.bytes.slice(0, len);
    Atomics.store(this.words, 0, MAILBOX_IDLE);
    return { errcode: err < 0 ? null : err, ret };
  }
  /** Main side: wake a blocked worker to run signal handlers; it goes back to waiting afterwards. */
  interrupt(): void {
    if (
      Atomics.compareExchange(this.words, 0, MAILBOX_WAITING, MAILBOX_INTERRUPTED) ===
      MAILBOX_WAITING
    )
      Atomics.notify(this.words, 0);
  }

  /** Main side: deliver the kernel's answer and wake the worker. */
  answer(errcode: number | null, ret: Uint8Array): void {
    if (ret.length > RET_MAX) throw new Error("syscall return value too large for the mailbox");
    this.bytes.set(ret, 0);
    Atomics.store(this.words, 1, errcode === null ? -1 : errcode);
    Atomics.store(this.words, 2, ret.length);
    Atomics.store(this.words, 0, MAILBOX_ANSWERED);
    Atomics.notify(this.words, 0);
  }
}

// ---- signal ring: [write, read, suspended, resumeSeq, priority, throttle-wait, -, -] then SLOTS entries
// of (signal u32 + 32 bytes) ----
const HEAD_WORDS = 8;
const W_PRIORITY = 4;
const W_THROTTLE = 5;
const W_SUSPEND_ACK = 6;
/** The producers' lock: the relay and the door thread (runner/door-thread.ts) both push. */
const W_PUSH_LOCK = 7;
/** A priority-p process (1–9) runs p ms of every SLICE_MS and sleeps the rest (docs/kernel.md, "Priorities"). */
export const SLICE_MS = 10;
const SLOT_WORDS = 1 + DATAFIELD_SIZE / 4;
export const RING_SLOTS = 256;

export class SignalRing {
  readonly words: Int32Array;
  constructor(readonly sab: SharedArrayBuffer) {
    this.words = new Int32Array(sab);
  }
  static create(): SignalRing {
    return new SignalRing(new SharedArrayBuffer((HEAD_WORDS + RING_SLOTS * SLOT_WORDS) * 4));
  }
  /**
   * Producer side (the relay, the door thread: a short lock orders them). Returns false when the ring
   * is full (the signal is then dropped, with a note).
   */
  push(signal: number, datafield: Uint8Array): boolean {
    while (Atomics.compareExchange(this.words, W_PUSH_LOCK, 0, 1) !== 0);
    try {
      const w = Atomics.load(this.words, 0);
      const r = Atomics.load(this.words, 1);
      if (w - r >= RING_SLOTS) return false;
      const at = HEAD_WORDS + (w % RING_SLOTS) * SLOT_WORDS;
      this.words[at] = signal;
      new Uint8Array(this.sab, (at + 1) * 4, DATAFIELD_SIZE).set(
        datafield.subarray(0, DATAFIELD_SIZE),
      );
      Atomics.store(this.words, 0, w + 1);
      return true;
    } finally {
      Atomics.store(this.words, W_PUSH_LOCK, 0);
    }
  }
  /** Worker side: take every queued signal, in order. */
  drain(): { signal: number; datafield: Uint8Array }[] {
    const out: { signal: number; datafield: Uint8Array }[] = [];
    let r = Atomics.load(this.words, 1);
    const w = Atomics.load(this.words, 0);
    while (r < w) {
      const at = HEAD_WORDS + (r % RING_SLOTS) * SLOT_WORDS;
      out.push({
        signal: this.words[at] as number,
        datafield: new Uint8Array(this.sab, (at + 1) * 4, DATAFIELD_SIZE).slice(),
      });
      r++;
    }
    Atomics.store(this.words, 1, r);
    return out;
  }
  pending(): boolean {
    return Atomics.load(this.words, 0) !== Atomics.load(this.words, 1);
  }
  setSuspended(on: boolean): void {
    Atomics.store(this.words, 2, on ? 1 : 0);
    if (!on) {
      Atomics.add(this.words, 3, 1);
      Atomics.notify(this.words, 2);
    }
  }
  get suspended(): boolean {
    return Atomics.load(this.words, 2) === 1;
  }
  get priority(): number {
    return Atomics.load(this.words, W_PRIORITY);
  }
  set priority(p: number) {
    Atomics.store(this.words, W_PRIORITY, p);
  }
  /** Worker side: sleep `ms` (the throttled part of a slice). */
  throttle(ms: number): void {
    Atomics.wait(this.words, W_THROTTLE, 0, ms);
  }

  /** Worker side: block while suspended (the process is not scheduled). */
  waitWhileSuspended(): void {
    Atomics.store(this.words, W_SUSPEND_ACK, 1);
    while (Atomics.load(this.words, 2) === 1) Atomics.wait(this.words, 2, 1, 1000);
    Atomics.store(this.words, W_SUSPEND_ACK, 0);
  }

  /** True while the main thread still needs the worker to reach a safepoint (signals queued, suspension not yet taken). */
  needsSafepoint(): boolean {
    return this.pending() || (this.suspended && Atomics.load(this.words, W_SUSPEND_ACK) === 0);
  }
}

/**
 * A thread's priority throttle (specs/kernel/scheduling.md; docs/kernel.md "Priorities"): every thread of
 * the process (the main one and each created thread) keeps a slice of its own and is held back at its
 * safepoints. Priorities 1–9 get that many ms of every SLICE_MS; 10 runs freely; 0 is the kernel's
 * suspension (the ring's flag, honoured by every thread's safepoint).
 */
export class Throttle {
  total = 0;
  sleeps = 0;
  safepoints = 0;
  private sliceStart = performance.now();

  at(ring: SignalRing): void {
    const pr = ring.priority;
    const now = performance.now();
    this.safepoints++;
    if (pr >= 10 || pr <= 0) {
      this.sliceStart = now;
      return;
    }
    if (now - this.sliceStart < (SLICE_MS * pr) / 10) return;
    const sleep = (SLICE_MS * (10 - pr)) / 10;
    ring.throttle(sleep);
    this.total += sleep;
    this.sleeps++;
    this.sliceStart = performance.now();
  }

  /** The trace line a thread writes at its end, if it was held back at all. */
  report(): string | undefined {
    if (this.total <= 0) return undefined;
    return `priority: held back ${this.total.toFixed(0)} ms in all (${this.sleeps} pauses, ${this.safepoints} safepoints)`;
  }
}

// ---- outbox: [trace lines posted, trace lines the kernel acknowledged, handler set changed] ----
/**
 * Trace lines a process may have on their way to the CLI (posted by its threads, not yet acknowledged
 * by the kernel): a thread that would exceed it blocks until the kernel acknowledges lines, which it
 * does only while the CLI's socket takes them (docs/kernel.md, "Tracing and back-pressure").
 */
export const TRACE_WINDOW = 256;
const O_POSTED = 0;
const O_ACKED = 1;
const O_HANDLED = 2;

export class Outbox {
  readonly words: Int32Array;
  constructor(readonly sab: SharedArrayBuffer) {
    this.words = new Int32Array(sab);
  }
  static create(): Outbox {
    return new Outbox(new SharedArrayBuffer(4 * 4));
  }
  /**
   * Thread side: wait until the window has room for one more trace line, then take its sequence
   * number (lines are numbered from 0 in the order they were admitted, across the process' threads).
   */
  admitTrace(): number {
    for (;;) {
      const posted = Atomics.load(this.words, O_POSTED);
      const acked = Atomics.load(this.words, O_ACKED);
      if (posted - acked < TRACE_WINDOW) {
        if (Atomics.compareExchange(this.words, O_POSTED, posted, posted + 1) === posted)
          return posted;
        continue;
      }
      Atomics.wait(this.words, O_ACKED, acked);
    }
  }
  /** Main side: how many trace lines the threads have admitted so far. */
  get posted(): number {
    return Atomics.load(this.words, O_POSTED);
  }
  /** Main side: the kernel acknowledged `n` lines; blocked threads go on. */
  ack(n: number): void {
    Atomics.add(this.words, O_ACKED, n);
    Atomics.notify(this.words, O_ACKED);
  }
  /**
   * Thread side: the handler set changed. True if the relay must be told; false if a notice is already
   * on its way (the relay reads the set when it takes the notice, so one notice covers every change).
   */
  markHandledChanged(): boolean {
    return Atomics.exchange(this.words, O_HANDLED, 1) === 0;
  }
  /** Main side: take the notice (before reading the handler set). */
  takeHandledChanged(): void {
    Atomics.store(this.words, O_HANDLED, 0);
  }
}

/**
 * Raise a process' poll flag (docs/kernel.md, "Safepoints and the poll flag"): an increment, so the
 * AOT-optimized poll sees a changed value, and a wake for a thread sleeping in HAND_OVER on it.
 */
export function raisePollFlag(words: Int32Array, at: number): void {
  Atomics.add(words, at, 1);
  Atomics.notify(words, at);
}
