// Stdio frames over the control socket (docs/kernel.md, "The session"): a process' stdin, stdout and
// stderr as `stdio` frames with credit-based back-pressure and an `eof`, the same on both sides.

import type { StdioMessage, StdioStream } from "./protocol.js";

/** Bytes a sender may have in flight per stream before the receiver grants more credit. */
export const STDIO_WINDOW = 256 * 1024;
/** Largest `bytes` of one `stdio` frame: a write larger than this travels as several frames. */
export const MAX_STDIO_FRAME = 64 * 1024;

/**
 * Most bytes a sender queues beyond its credit: a writer that ignores `write()` returning false and
 * writes past this gets a RangeError, so a stream never holds more than this much memory.
 */
export const MAX_STDIO_QUEUE = 4 * STDIO_WINDOW;

/** A peer broke the stdio rules: the session ends (the caller answers KERNEL_BAD_FRAME). */
export class StdioProtocolError extends Error {}

/** Which side of the socket a mux is: the kernel sends `out`/`err` and reads `in`; the CLI the reverse. */
export type StdioSide = "kernel" | "client";

const sends = (side: StdioSide, stream: StdioStream) =>
  side === "client" ? stream === "in" : stream !== "in";

/** The sending half of one stream. */
export class StdioSender {
  private credit = STDIO_WINDOW;
  private readonly queue: Uint8Array[] = [];
  private queued = 0;
  private ended = false;
  private eofSent = false;
  private drainWaiters: Array<() => void> = [];

  constructor(
    readonly pid: number,
    readonly stream: StdioStream,
    private readonly send: (m: StdioMessage) => void,
  ) {}

  /**
   * Queue `bytes` and send what the credit allows. Returns false once the queue holds a window's worth
   * or more (the writer should wait for `drained()`), like a Node writable.
   */
  write(bytes: Uint8Array): boolean {
    if (this.ended)
      throw new StdioProtocolError(`stdio ${this.pid}/${this.stream}: write after eof`);
    if (this.queued + bytes.length > MAX_STDIO_QUEUE)
      throw new RangeError(
        `stdio ${this.pid}/${this.stream}: ${this.queued} bytes wait for credit; the writer must wait for drained()`,
      );
    if (bytes.length > 0) {
      this.queue.push(bytes.slice());
      this.queued += bytes.length;
      this.flush();
    }
    return this.queued < STDIO_WINDOW;
  }

  /** End the stream: `eof` goes once every queued byte has been sent. */
  end(): void {
    this.ended = true;
    this.flush();
  }

  /** Bytes written and not yet sent (waiting for credit). */
  get pending(): number {
    return this.queued;
  }

  /** Resolves when the queue is below the window again (at once if it is). */
  drained(): Promise<void> {
    if (this.queued < STDIO_WINDOW) return Promise.resolve();
    return new Promise((r) => this.drainWaiters.push(r));
  }

  /** The receiver consumed `n` bytes. More credit than was ever sent is a protocol error. */
  grant(n: number): void {
    if (!Number.isInteger(n) || n <= 0 || this.credit + n > STDIO_WINDOW)
      throw new StdioProtocolError(
        `stdio ${this.pid}/${this.stream}: a credit of ${n} exceeds what was sent`,
      );
    this.credit += n;
    this.flush();
  }

  private flush(): void {
    while (this.queue.length > 0 && this.credit > 0) {
      const head = this.queue[0] as Uint8Array;
      const n = Math.min(head.length, this.credit, MAX_STDIO_FRAME);
      const part = n === head.length ? head : head.subarray(0, n);
      if (n === head.length) this.queue.shift();
      else this.queue[0] = head.subarray(n);
      this.queued -= n;
      this.credit -= n;
      this.send({ t: "stdio", pid: this.pid, stream: this.stream, bytes: part });
    }
    if (this.queued < STDIO_WINDOW) for (const w of this.drainWaiters.splice(0)) w();
    if (this.ended && this.queue.length === 0 && !this.eofSent) {
      this.eofSent = true;
      this.send({ t: "eof", pid: this.pid, stream: this.stream });
    }
  }
}

/** What a receiver hands its consumer: the bytes, and `release()` once they are consumed (credit). */
export interface StdioReader {
  data(bytes: Uint8Array, release: () => void): void;
  eof(): void;
}

/** The receiving half of one stream: at most STDIO_WINDOW bytes not yet released. */
export class StdioReceiver {
  private unreleased = 0;
  done = false;

  constructor(
    readonly pid: number,
    readonly stream: StdioStream,
    private readonly reader: StdioReader,
    private readonly send: (m: StdioMessage) => void,
  ) {}

  receive(bytes: Uint8Array): void {
    if (this.done) throw new StdioProtocolError(`stdio ${this.pid}/${this.stream}: data after eof`);
    if (bytes.length === 0 || bytes.length > MAX_STDIO_FRAME)
      throw new StdioProtocolError(
        `stdio ${this.pid}/${this.stream}: a frame of ${bytes.length} bytes (1–${MAX_STDIO_FRAME})`,
      );
    if (this.unreleased + bytes.length > STDIO_WINDOW)
      throw new StdioProtocolError(
        `stdio ${this.pid}/${this.stream}: the sender overran its credit of ${STDIO_WINDOW} bytes`,
      );
    this.unreleased += bytes.length;
    let released = false;
    this.reader.data(bytes, () => {
      if (released) return;
      released = true;
      this.unreleased -= bytes.length;
      if (!this.done)
        this.send({ t: "stdio-credit", pid: this.pid, stream: this.stream, bytes: bytes.length });
    });
  }

  eof(): void {
    if (this.done) return;
    this.done = true;
    this.reader.eof();
  }
}

const key = (pid: number, stream: StdioStream) => `${pid}/${stream}`;

/**
 * The stdio streams of one session, by (pid, stream). Streams are opened explicitly on each side:
 * a frame for a stream this side did not open, or in the wrong direction, is a protocol error.
 */
export class StdioMux {
  private readonly senders = new Map<string, StdioSender>();
  private readonly receivers = new Map<string, StdioReceiver>();

  constructor(
    private readonly side: StdioSide,
    private readonly send: (m: StdioMessage) => void,
  ) {}

  /** The sending half of `stream` of `pid` (this side must be its writer). */
  sender(pid: number, stream: StdioStream): StdioSender {
    if (!sends(this.side, stream))
      throw new RangeError(`the ${this.side} side does not write ${stream}`);
    const k = key(pid, stream);
    let s = this.senders.get(k);
    if (s === undefined) {
      s = new StdioSender(pid, stream, this.send);
      this.senders.set(k, s);
    }
    return s;
  }

  /** Accept `stream` of `pid` from the peer, delivered to `reader`. */
  receive(pid: number, stream: StdioStream, reader: StdioReader): StdioReceiver {
    if (sends(this.side, stream))
      throw new RangeError(`the ${this.side} side writes ${stream}, it does not read it`);
    const r = new StdioReceiver(pid, stream, reader, this.send);
    this.receivers.set(key(pid, stream), r);
    return r;
  }

  /** An incoming stdio message; throws StdioProtocolError when it breaks the rules. */
  handle(m: StdioMessage): void {
    // Off the socket, a message has any shape: checked before it is trusted.
    const shapeOk =
      Number.isInteger(m.pid) &&
      (m.stream === "in" || m.stream === "out" || m.stream === "err") &&
      (m.t !== "stdio" || m.bytes instanceof Uint8Array) &&
      (m.t !== "stdio-credit" || typeof m.bytes === "number");
    if (!shapeOk) throw new StdioProtocolError(`a malformed ${m.t} message`);
    const k = key(m.pid, m.stream);
    switch (m.t) {
      case "stdio":
      case "eof": {
        const r = this.receivers.get(k);
        if (r === undefined)
          throw new StdioProtocolError(`stdio ${k}: no such stream is open for reading`);
        if (m.t === "eof") {
          r.eof();
          this.receivers.delete(k);
        } else r.receive(m.bytes);
        return;
      }
      case "stdio-credit": {
        const s = this.senders.get(k);
        if (s === undefined)
          throw new StdioProtocolError(`stdio ${k}: credit for a stream this side does not write`);
        s.grant(m.bytes);
        return;
      }
    }
  }

  /** The session ended: every reader gets its eof; writers are dropped. */
  close(): void {
    for (const r of this.receivers.values()) r.eof();
    this.receivers.clear();
    this.senders.clear();
  }
}

/** Whether a message is a stdio frame (routed to the mux). */
export function isStdio(m: { t: string }): m is StdioMessage {
  return m.t === "stdio" || m.t === "stdio-credit" || m.t === "eof";
}
