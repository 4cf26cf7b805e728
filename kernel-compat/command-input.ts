// The CLI's CMDIN pump (docs/ipc.md "Command pipes"), a worker thread: started with the run, before
// the kernel made the pipes (a thread's start costs tens of ms: off the critical path), it waits for the
// CMDIN ring's segment, then reads the host's stdin and writes the bytes straight into the ring it maps, sleeping on the ring (futex) when the app is
// behind, so piped input moves at memory speed and never through the kernel. At the end of the input
// it closes the ring's writer side ("once the input data have been fully transmitted, the CMDIN pipe is
// closed", shell.md) and says so; it stops early when the ring closes (the app ended) or it is asked to.

import { readSync } from "node:fs";
import { parentPort, workerData } from "node:worker_threads";
import { isHostError } from "../native/errors.js";
import { hostNative } from "../native/index.js";
import type { HostNative } from "../native/types.js";
import { hostRingMemory, RingWriter } from "./ipc/ring.js";

/** The worker's data. */
export interface CommandInputStart {
  /** The host file descriptor to read (0: stdin). */
  fd: number;
  /** Int32Array over it: [0] set to 1 asks the pump to stop. */
  stop: SharedArrayBuffer;
}

/** The one message the worker is sent: the CMDIN ring's segment (or none: the run never started). */
export type CommandInputAttach = { segment: string; size: number } | { cancel: true };

/** The pump mapped the ring (the kernel may drop its pins), then, once, how it ended. */
export type CommandInputMessage = { t: "mapped" } | CommandInputEnd;

/** How the pump ended: the input's end, the ring closed by the other side, asked to stop, an error. */
export type CommandInputEnd =
  | { t: "end"; how: "eof" | "closed" | "stopped"; bytes: number }
  | { t: "end"; how: "error"; bytes: number; message: string };

/**
 * How long one wait for stdin lasts before the stop flag is looked at again. Short: the CLI's exit
 * joins this thread, which cannot leave a poll(2) early, so it bounds how long an exit waits for it.
 */
const POLL_MS = 10;
/**
 * Most bytes read before they are published: the app reads one batch while the pump reads the next,
 * instead of waiting for a whole ring's worth.
 */
const BATCH = 256 * 1024;
/** The host pipe's buffer asked for (Linux's default pipe-max-size): fewer, larger reads. */
const PIPE_BUFFER = 1024 * 1024;

function pump(
  start: CommandInputStart,
  cmdin: { segment: string; size: number },
  native: HostNative,
): CommandInputEnd {
  const stop = new Int32Array(start.stop);
  const stopped = () => Atomics.load(stop, 0) !== 0;
  let segment: ReturnType<typeof native.openSegment>;
  try {
    segment = native.openSegment(cmdin.segment, cmdin.size);
  } catch (e) {
    return { t: "end", how: "error", bytes: 0, message: (e as Error).message };
  }
  const ring = new RingWriter(hostRingMemory(segment, native));
  parentPort?.postMessage({ t: "mapped" } satisfies CommandInputMessage);
  native.growPipe(start.fd, PIPE_BUFFER);
  let bytes = 0;
  let eof = false;
  // The host's bytes are read straight into the ring's free span, as many as are there now (up to a
  // batch), and published together: one copy, and one wake-up of the app per batch. A read that comes
  // back short of what it asked for emptied the host pipe: the batch ends there, with no poll(2) to
  // ask (a poll per read was half the pump's system calls).
  const produce = (span: Uint8Array): number => {
    let got = 0;
    const most = Math.min(span.length, BATCH);
    while (got < most) {
      let n: number;
      const ask = most - got;
      try {
        // A native read where the host has one: an empty pipe is an answer, not an exception.
        const r =
          native.readNonBlocking?.(start.fd, span.subarray(got, got + ask)) ??
          readSync(start.fd, span, got, ask, null);
        // A non-blocking stdin with nothing to read yet: publish what there is, wait again.
        if (r === "would-block") break;
        n = r;
      } catch (e) {
        if (isHostError(e, "would-block")) break;
        throw e;
      }
      if (n === 0) {
        eof = true;
        break;
      }
      got += n;
      if (n < ask) break;
    }
    return got;
  };
  try {
    for (;;) {
      if (stopped()) return { t: "end", how: "stopped", bytes };
      if (!native.waitReadable(start.fd, POLL_MS)) continue;
      const r = ring.fill(produce, { interrupted: stopped });
      bytes += r.written;
      if (!r.ok) return { t: "end", how: r.reason === "interrupted" ? "stopped" : "closed", bytes };
      if (eof) {
        ring.close("writer");
        return { t: "end", how: "eof", bytes };
      }
    }
  } catch (e) {
    ring.close("writer");
    return { t: "end", how: "error", bytes, message: (e as Error).message };
  } finally {
    segment.close();
  }
}

if (parentPort) {
  const port = parentPort;
  // koffi and libc's bindings are loaded while the CLI waits for the kernel (a poll with no wait is
  // the first native call: it binds libc), the pump runs once the ring exists. Not later: binding
  // libc in the pump, when a quick command's CLI was already exiting, threw inside koffi while Node
  // tore the thread down — a fatal napi_throw that killed the CLI (seen once in a full run).
  const native = hostNative();
  native.waitReadable((workerData as CommandInputStart).fd, 0);
  // One message, then the thread ends (no listener is left).
  port.once("message", (m: CommandInputAttach) => {
    if (!("cancel" in m)) port.postMessage(pump(workerData as CommandInputStart, m, native));
  });
}
