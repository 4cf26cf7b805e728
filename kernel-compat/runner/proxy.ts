// A proxied process' link to its application proxy (technical/dev-mode.md "Application proxies";
// docs/kernel.md "Application proxies"): the runner's own ends of the two message pipes the kernel made
// for it (no identifier of the process names them, so the app cannot touch them). Each thread maps them
// (one ProxyLink per thread, on state they share: `proxyShared`); a thread writes its syscall as a CALL
// on the calls pipe and waits for the proxy's ANSWER on the answers pipe, holding the link's lock from
// one to the other, so one call of the process is with the proxy at a time. The main thread runs its
// signals while it waits. A proxy that goes away or answers garbage is detached, never obeyed.

import {
  decodeProxyAnswer,
  encodeProxyCall,
  PROXY_ANSWER_MAX,
  type ProxyAnswer,
  type ProxyCall,
} from "../../commonassembly/abi/proxy.js";
import { hostNative } from "../../native/index.js";
import type { SharedSegment } from "../../native/types.js";
import { hostRingMemory, RingReader, RingWriter, type WaitOptions } from "../ipc/ring.js";
import type { ProxyLinkRef } from "../protocol.js";

/** Words of the state a process' threads share about its link. */
const LOCK = 0;
const LAST_CALL = 1;
const DETACHED = 2;

/** The state a process' threads share about its link: the lock, the last call's number, detached. */
export function proxyShared(): SharedArrayBuffer {
  return new SharedArrayBuffer(12);
}

/** How long a thread waiting for the link's lock sleeps between looks for signals. */
const LOCK_SLICE_MS = 50;

/** What the link gives back for one call: the proxy's answer, or why the proxy is no longer asked. */
export type ProxyVerdict = ProxyAnswer | { action: "detached"; reason: string };

/**
 * Threads of the process ended (the ids `ended`, fork.ts releaseThreadSlots): one terminated while it
 * held the link's lock (with the proxy, its `finally` never ran) would leave every other thread waiting
 * for it forever. The lock is freed and the proxy detached for all (its calls pipe may hold that
 * thread's call, whose answer no thread could match). Whether it was.
 */
export function reclaimProxyLock(shared: SharedArrayBuffer, ended: ReadonlySet<number>): boolean {
  const state = new Int32Array(shared);
  const held = Atomics.load(state, LOCK);
  if (held === 0 || !ended.has(held)) return false;
  Atomics.store(state, DETACHED, 1);
  if (Atomics.compareExchange(state, LOCK, held, 0) === held) Atomics.notify(state, LOCK);
  return true;
}

export class ProxyLink {
  readonly proxyPid: number;
  private readonly calls: RingWriter;
  private readonly answers: RingReader;
  private readonly answer = new Uint8Array(PROXY_ANSWER_MAX);
  private readonly state: Int32Array;
  /** A call waits for the proxy on this thread (a signal handler's calls then go straight through). */
  busy = false;
  /** Why this thread detached the proxy (another thread may have: `detached`). */
  private reason: string | undefined;

  /** This thread's mappings of the two pipes (each a host descriptor and a mapping). */
  private readonly segments: SharedSegment[] = [];
  /** What this thread writes in the lock word while it holds it: its thread id (1 and up). */
  private readonly holder: number;

  constructor(
    ref: ProxyLinkRef,
    private readonly pid: bigint,
    /** A line for the process' terminal, traced or not (the proxy was detached). */
    private readonly note: (line: string) => void,
    shared: SharedArrayBuffer = proxyShared(),
    /** This thread's id (the main thread's is 1). */
    tid = 1,
  ) {
    this.holder = tid;
    this.state = new Int32Array(shared);
    const native = hostNative();
    this.proxyPid = ref.pid;
    const calls = native.openSegment(ref.calls.name, ref.calls.size);
    this.segments.push(calls);
    const answers = native.openSegment(ref.answers.name, ref.answers.size);
    this.segments.push(answers);
    this.calls = new RingWriter(hostRingMemory(calls, native));
    this.answers = new RingReader(hostRingMemory(answers, native));
  }

  /** A thread's end: its mappings go (the pipes stay, the process' other threads map them). */
  close(): void {
    for (const s of this.segments.splice(0)) s.close();
  }

  /** Why the proxy was detached (by any thread of the process); undefined while it is asked. */
  get detached(): string | undefined {
    if (Atomics.load(this.state, DETACHED) === 0) return undefined;
    return this.reason ?? "another thread of the process detached it";
  }

  /**
   * Ask the proxy about a call of thread `thread`; blocks until it answers, goes away or is refused
   * (first for the link's lock, while another thread's call is with the proxy).
   */
  ask(
    thread: number,
    code: number,
    args: Uint8Array,
    buffers: ProxyCall["buffers"],
    wait: WaitOptions,
  ): ProxyVerdict {
    this.lock(wait);
    try {
      const detached = this.detached;
      if (detached !== undefined) return { action: "detached", reason: detached };
      return this.askLocked(thread, code, args, buffers, wait);
    } finally {
      // Still this thread's (reclaimProxyLock may have taken it from a thread ended meanwhile).
      if (Atomics.compareExchange(this.state, LOCK, this.holder, 0) === this.holder)
        Atomics.notify(this.state, LOCK, 1);
    }
  }

  /** Take the link's lock, running `wait.interrupted` (the main thread's signals) between sleeps. */
  private lock(wait: WaitOptions): void {
    for (;;) {
      const held = Atomics.compareExchange(this.state, LOCK, 0, this.holder);
      if (held === 0) return;
      Atomics.wait(this.state, LOCK, held, LOCK_SLICE_MS);
      wait.interrupted?.();
    }
  }

  private askLocked(
    thread: number,
    code: number,
    args: Uint8Array,
    buffers: ProxyCall["buffers"],
    wait: WaitOptions,
  ): ProxyVerdict {
    // Numbered across the process' threads: 1, 2, … (0 skipped when it wraps).
    let call = (Atomics.add(this.state, LAST_CALL, 1) + 1) >>> 0;
    if (call === 0) call = (Atomics.add(this.state, LAST_CALL, 1) + 1) >>> 0;
    const w = this.calls.writeAll(
      encodeProxyCall({ pid: this.pid, thread, call, code, args, buffers }),
      wait,
    );
    if (!w.ok) return this.detach(`its calls pipe is ${w.reason}`);
    const r = this.answers.readExact(this.answer, wait);
    if (!r.ok)
      return this.detach(
        r.reason === "too-small"
          ? `it answered call ${call} with ${r.read} bytes, more than any answer (${PROXY_ANSWER_MAX})`
          : `its answers pipe is ${r.reason} (the proxy ended?)`,
      );
    let a: ProxyAnswer;
    try {
      a = decodeProxyAnswer(this.answer.subarray(0, r.read));
    } catch (e) {
      return this.detach(`it answered call ${call} with garbage: ${(e as Error).message}`);
    }
    if (a.call !== call) return this.detach(`it answered call ${a.call}, not call ${call}`);
    return a;
  }

  /** Stop asking the proxy: both pipes closed from this side (its PIPE_READ gets 0x31), the terminal told. */
  private detach(reason: string): ProxyVerdict {
    this.reason = reason;
    Atomics.store(this.state, DETACHED, 1);
    this.calls.close("writer");
    this.answers.close("reader");
    this.note(
      `application proxy ${this.proxyPid} detached: ${reason}; the calls go to the system from now on`,
    );
    return { action: "detached", reason };
  }
}
