// The CLI's CMDIN pump (docs/ipc.md "Command pipes"), a worker thread: it reads the host's stdin and
// writes the bytes straight into the CMDIN ring it maps, sleeping on the ring (futex) when the app is
// behind, so piped input moves at memory speed and never through the kernel. At the end of the input
// it closes the ring's writer side ("once the input data have been fully transmitted, the CMDIN pipe is
// closed", shell.md) and says so; it stops early when the ring closes (the app ended) or it is asked to.

import { readSync } from "node:fs";
import { parentPort, workerData } from "node:worker_threads";
import { isHostError } from "../native/errors.js";
import { hostNative } from "../native/index.js";
import { hostRingMemory, RingWriter } from "./ipc/ring.js";

export interface CommandInputStart {
  segment: string;
  size: number;
  /** The host file descriptor to read (0: stdin). */
  fd: number;
  /** Int32Array over it: [0] set to 1 asks the pump to stop. */
  stop: SharedArrayBuffer;
}

/** The pump mapped the ring (the kernel may drop its pins), then, once, how it ended. */
export type CommandInputMessage = { t: "mapped" } | CommandInputEnd;

/** How the pump ended: the input's end, the ring closed by the other side, asked to stop, an error. */
export type CommandInputEnd =
  | { t: "end"; how: "eof" | "closed" | "stopped"; bytes: number }
  | { t: "end"; how: "error"; bytes: number; message: string };

/** Read size: more than a pipe's 64 KiB, so a file or a fast writer fills the ring in few calls. */
const CHUNK = 1024 * 1024;
/** How long one wait for stdin lasts before the stop flag is looked at again. */
const POLL_MS = 50;

function pump(start: CommandInputStart): CommandInputEnd {
  const native = hostNative();
  const stop = new Int32Array(start.stop);
  const stopped = () => Atomics.load(stop, 0) !== 0;
  let segment: ReturnType<typeof native.openSegment>;
  try {
    segment = native.openSegment(start.segment, start.size);
  } catch (e) {
    return { t: "end", how: "error", bytes: 0, message: (e as Error).message };
  }
  const ring = new RingWriter(hostRingMemory(segment, native));
  parentPort?.postMessage({ t: "mapped" } satisfies CommandInputMessage);
  const buf = new Uint8Array(CHUNK);
  let bytes = 0;
  try {
    for (;;) {
      if (stopped()) return { t: "end", how: "stopped", bytes };
      if (!native.waitReadable(start.fd, POLL_MS)) continue;
      let n: number;
      try {
        n = readSync(start.fd, buf, 0, CHUNK, null);
      } catch (e) {
        // A non-blocking stdin with nothing to read yet: wait again.
        if (isHostError(e, "would-block")) continue;
        throw e;
      }
      if (n === 0) {
        ring.close("writer");
        return { t: "end", how: "eof", bytes };
      }
      const r = ring.writeAll(buf.subarray(0, n), { interrupted: stopped });
      bytes += r.written;
      if (!r.ok) return { t: "end", how: r.reason === "interrupted" ? "stopped" : "closed", bytes };
    }
  } catch (e) {
    ring.close("writer");
    return { t: "end", how: "error", bytes, message: (e as Error).message };
  } finally {
    segment.close();
  }
}

if (parentPort) parentPort.postMessage(pump(workerData as CommandInputStart));
