// CMDIN read by the app's runner (docs/ipc.md "CMDIN read by the runner"): when the CLI's stdin is a
// host pipe or a file it has not read from, the kernel names it to the runner (the CLI's own
// /proc/<pid>/fd/0, Linux), the relay opens it with CMDIN's grant, and the thread that executes
// PIPE_READ reads the host's bytes straight into the app's memory: one copy (host pipe → wasm memory)
// and two threads (the writer, the app), where the CLI's pump made two copies (host pipe → ring →
// memory) on three threads. The ring stays the pipe: bytes the runner moved into it (PIPE_INFO, a
// mode 0x01 read that needs them) are read first, and its writer side closes at the host's end of
// input, so PIPE_READ and PIPE_INFO see CMDIN end as they do when the CLI closes it. Every host read
// happens under the ring's read lock, so two threads never interleave the bytes.

import { closeSync, constants, fstatSync, openSync, readSync } from "node:fs";
import { isHostError } from "../../native/errors.js";
import { hostNative } from "../../native/index.js";
import type { HostNative } from "../../native/types.js";
import {
  DEFAULT_SLICE_MS,
  type RingReader,
  RingState,
  type RingWriter,
  type WaitOptions,
} from "../ipc/ring.js";
import type { HostInputRef } from "../protocol.js";

/** The host pipe's buffer asked for (Linux's default pipe-max-size), as the CLI's pump asks. */
const PIPE_BUFFER = 1024 * 1024;

/**
 * The relay's half: open `path` (the CLI's stdin) for reading, non-blocking (a FIFO's open then never
 * waits for a writer, and a read never blocks the thread past a signal: waits are poll(2) slices);
 * its descriptor, or why it cannot be read here (then the CLI's pump feeds CMDIN). What it opened must
 * be the file the CLI's stdin was when it asked (`ref`'s device and inode), so a PID taken over by
 * another process meanwhile is never read.
 */
export function openHostInput(ref: HostInputRef): number | string {
  let fd: number;
  try {
    fd = openSync(ref.path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    return (e as Error).message;
  }
  try {
    const st = fstatSync(fd, { bigint: true });
    // The CLI's stdin as it named it (device, inode): not another process' that took its PID.
    if (st.dev !== ref.dev || st.ino !== ref.ino) {
      closeSync(fd);
      return "not the file ncw's stdin was (has ncw ended?)";
    }
    if (!st.isFIFO() && !st.isFile()) {
      closeSync(fd);
      return "neither a pipe nor a file";
    }
    if (st.isFIFO()) hostNative().growPipe(fd, PIPE_BUFFER);
    return fd;
  } catch (e) {
    closeSync(fd);
    return (e as Error).message;
  }
}

/** One thread's view of a host-fed CMDIN: the host descriptor, and a writer side of the ring. */
export class HostInput {
  constructor(
    readonly fd: number,
    private readonly writer: RingWriter,
    private readonly native: HostNative,
  ) {}

  /** Nothing more comes from the host: its end was seen, or the kernel closed the pipe. */
  done(ring: RingReader): boolean {
    return (ring.state() & (RingState.writerClosed | RingState.readerClosed)) !== 0;
  }

  /**
   * One read(2) into `dst`: how many bytes, "would-block", or "end" — the host's end of input (or a
   * read error, which ends the input as well): the ring's writer side closes then.
   */
  private readOnce(dst: Uint8Array): number | "would-block" | "end" {
    let n: number;
    try {
      // Without an exception for an empty pipe where the host allows (it is most reads' fate when
      // the app keeps up with the writer).
      const r =
        this.native.readNonBlocking?.(this.fd, dst) ?? readSync(this.fd, dst, 0, dst.length, null);
      if (r === "would-block") return r;
      n = r;
    } catch (e) {
      if (isHostError(e, "would-block")) return "would-block";
      n = 0;
    }
    if (n > 0) return n;
    this.writer.close("writer");
    return "end";
  }

  /**
   * Read what the host has now into `dst`, read after read until one comes back short (the host pipe
   * is empty) or `dst` is full: how many bytes (0: none yet), or "end" when the input ended first.
   * The caller holds the ring's read lock.
   */
  readNow(dst: Uint8Array): number | "end" {
    let got = 0;
    while (got < dst.length) {
      const ask = dst.length - got;
      const r = this.readOnce(dst.subarray(got));
      if (r === "would-block") break;
      if (r === "end") return got === 0 ? "end" : got;
      got += r;
      if (r < ask) break;
    }
    return got;
  }

  /**
   * Sleep until the host has bytes (or its end), in poll(2) slices between which `opts.interrupted`
   * runs (the main thread's signals, as a ring's sleep runs them); "closed" when the ring closed.
   */
  wait(ring: RingReader, opts: WaitOptions): "ready" | "closed" | "interrupted" {
    const slice = opts.sliceMs ?? DEFAULT_SLICE_MS;
    for (;;) {
      if (this.done(ring)) return "closed";
      if (this.native.waitReadable(this.fd, slice)) return "ready";
      if (opts.interrupted?.()) return "interrupted";
    }
  }

  /**
   * Move what the host has now into the ring, until it holds `want` bytes or is full (PIPE_INFO, a
   * mode 0x01 read of an exact size). The caller holds the ring's read lock.
   */
  topUp(ring: RingReader, want = Number.POSITIVE_INFINITY): void {
    while (!this.done(ring) && ring.used() < want && this.writer.free() > 0) {
      const seen: { last: number | "would-block" | "end" } = { last: 0 };
      const r = this.writer.fill((span) => {
        seen.last = this.readOnce(span);
        return typeof seen.last === "number" ? seen.last : 0;
      });
      if (!r.ok || typeof seen.last !== "number") return;
    }
  }
}
