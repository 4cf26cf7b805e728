// A proxied process' link to its application proxy (technical/dev-mode.md "Application proxies";
// docs/kernel.md "Application proxies"): the runner's own ends of the two message pipes the kernel made
// for it (no identifier of the process names them, so the app cannot touch them). The main thread
// writes each syscall as a CALL on the calls pipe and waits for the proxy's ANSWER on the answers pipe,
// running signals meanwhile. A proxy that goes away or answers garbage is detached, never obeyed.

import {
  decodeProxyAnswer,
  encodeProxyCall,
  PROXY_ANSWER_MAX,
  type ProxyAnswer,
} from "../../commonassembly/abi/proxy.js";
import { hostNative } from "../../native/index.js";
import { hostRingMemory, RingReader, RingWriter, type WaitOptions } from "../ipc/ring.js";
import type { ProxyLinkRef } from "../protocol.js";

/** What the link gives back for one call: the proxy's answer, or why the proxy is no longer asked. */
export type ProxyVerdict = ProxyAnswer | { action: "detached"; reason: string };

export class ProxyLink {
  readonly proxyPid: number;
  private readonly calls: RingWriter;
  private readonly answers: RingReader;
  private readonly answer = new Uint8Array(PROXY_ANSWER_MAX);
  private nextCall = 1;
  /** A call waits for the proxy on this thread (a signal handler's calls then go straight through). */
  busy = false;
  /** Why the proxy was detached; undefined while it is asked. */
  detached: string | undefined;

  constructor(
    ref: ProxyLinkRef,
    private readonly pid: bigint,
    /** A line for the process' terminal, traced or not (the proxy was detached). */
    private readonly note: (line: string) => void,
  ) {
    const native = hostNative();
    this.proxyPid = ref.pid;
    this.calls = new RingWriter(
      hostRingMemory(native.openSegment(ref.calls.name, ref.calls.size), native),
    );
    this.answers = new RingReader(
      hostRingMemory(native.openSegment(ref.answers.name, ref.answers.size), native),
    );
  }

  /** Ask the proxy about a call of thread `thread`; blocks until it answers, goes away or is refused. */
  ask(thread: number, code: number, args: Uint8Array, wait: WaitOptions): ProxyVerdict {
    const call = this.nextCall;
    this.nextCall = call === 0xffff_ffff ? 1 : call + 1;
    const w = this.calls.writeAll(
      encodeProxyCall({ pid: this.pid, thread, call, code, args }),
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
    this.detached = reason;
    this.calls.close("writer");
    this.answers.close("reader");
    this.note(
      `application proxy ${this.proxyPid} detached: ${reason}; the calls go to the system from now on`,
    );
    return { action: "detached", reason };
  }
}
