// The CLI's ends of a command run's six pipes (specs/shell.md "Command pipes", "Interactivity";
// docs/ipc.md "Command pipes"). The CLI maps the rings the kernel created (same host user: it opens
// the kernel's segments as the runners do) and moves the bytes itself: stdin into CMDIN through a
// worker thread that sleeps on the ring, keystrokes into CMDUSR, and CMDMSG / CMDERR / CMDRAW / CMDOUT
// out to its sinks from a poll loop on the main thread. None of these bytes crosses the kernel socket.

import { fstatSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import type { Worker } from "node:worker_threads";
import { decodeReturn, MAX_RETURN_SIZE, type Value } from "../commonassembly/abi/values.js";
import type { SharedSegment } from "../native/types.js";
import { NcwError } from "../ncw/errors.js";
import type { KernelConnection } from "./client.js";
import { clockMark, clockMarksOn } from "./clock-marks.js";
import type {
  CommandInputAttach,
  CommandInputEnd,
  CommandInputMessage,
  CommandInputStart,
} from "./command-input.js";
import {
  COMMAND_PIPES,
  type CommandPipeMapping,
  type CommandPipeName,
} from "./ipc/command-pipes.js";
import { hostRingMemory, MAX_MESSAGE_SIZE, RingReader, RingState, RingWriter } from "./ipc/ring.js";

/** Where the command's output goes (the CLI renders it). */
export interface CommandSinks {
  /** One whole CMDMSG or CMDERR message, as the app wrote it. */
  message(pipe: "cmdmsg" | "cmderr", bytes: Uint8Array): void;
  /** CMDRAW bytes (the sink may keep them); false: call `rawDrained` before giving more. */
  raw(bytes: Uint8Array): boolean;
  rawDrained(): Promise<void>;
}

/** What CMDOUT amounted to (applications.md "Returning and failing"; shell.md "Command pipes"). */
export type CommandReturn =
  | { kind: "value"; value: Value }
  | { kind: "failure" }
  /** Nothing was written to CMDOUT (a program that does not return a value, docs/ipc.md). */
  | { kind: "none" }
  /** Closed or ended before a whole value, or an invalid one: the process is faulty. */
  | { kind: "faulty"; why: string };

/**
 * Where CMDIN's bytes come from: a pump already started on the host's stdin (a pipe or a file), or
 * none (a terminal, /dev/null, an empty file: CMDIN closes at once).
 */
export type CommandInput =
  | { kind: "pump"; pump: CommandInputPump }
  /** A typed input's encoded value (services/shell/input.ts), written whole, then CMDIN closes. */
  | { kind: "bytes"; bytes: Uint8Array }
  /**
   * The app's runner reads the host's stdin itself (docs/ipc.md "CMDIN read by the runner"): the CLI
   * leaves CMDIN alone (unless told to feed it after all, `feedInput`).
   */
  | { kind: "runner" }
  /**
   * A typed value that comes later (a Hydre pipeline's `a | b`: a's value, once whole, converted to
   * b's input type): written when it resolves, then CMDIN closes; null closes it without a value.
   */
  | { kind: "later"; bytes: Promise<Uint8Array | null> }
  /** CMDIN is another command's CMDRAW (docs/ipc.md "Command pipes between two commands"): not the CLI's. */
  | { kind: "piped" }
  /**
   * A stream's bytes in bounded pieces (Hydre's `<`: a file of the NightOS tree into a `stream`
   * input): `next` gives the next piece once the one before is written, null at the end (CMDIN then
   * closes). A rejection leaves CMDIN open, as for `later`: the caller kills the command, which so
   * never takes a cut stream for a whole one.
   */
  | { kind: "chunks"; next: () => Promise<Uint8Array | null> }
  | { kind: "none" };

/** How the CLI treats the outputs: `cmdraw: "next"`: CMDRAW is the next command's CMDIN, never read here. */
export interface CommandOutputs {
  cmdraw?: "next";
}

/**
 * The CMDIN pump's worker thread, started before the run request goes out so that its start (a
 * thread, koffi) overlaps the kernel's work; `attach` hands it the ring once the pipes exist.
 */
export class CommandInputPump {
  private attached = false;
  /** Int32Array over it: [0] set to 1 asks the pump to stop (command-input.ts). */
  private readonly stop = new SharedArrayBuffer(4);
  private readonly worker: Worker;
  private onMapped!: () => void;
  private readonly mapped = new Promise<void>((r) => {
    this.onMapped = r;
  });
  /** How the pump ended; undefined: it ended without saying (its thread failed, or was cancelled). */
  private readonly done: Promise<CommandInputEnd | undefined>;
  /** The thread is gone (its 'exit' event). */
  private readonly exited: Promise<void>;

  private constructor(fd: number) {
    // node:worker_threads is loaded with the first pump (a run whose stdin is /dev/null starts none).
    const { Worker } = createRequire(import.meta.url)(
      "node:worker_threads",
    ) as typeof import("node:worker_threads");
    this.worker = new Worker(new URL("./command-input.js", import.meta.url), {
      workerData: { fd, stop: this.stop } satisfies CommandInputStart,
    });
    this.done = new Promise((resolve) => {
      this.worker.on("message", (msg: CommandInputMessage) => {
        if (msg.t === "mapped") this.onMapped();
        else resolve(msg);
      });
      this.worker.once("error", (e) => {
        process.stderr.write(`ncw: the CMDIN pump failed: ${e.message}\n`);
        resolve(undefined);
      });
      this.worker.once("exit", () => resolve(undefined));
    });
    this.exited = new Promise((r) => this.worker.once("exit", () => r()));
    // After the listeners (a 'message' listener refs the port again): a blocked read of stdin never
    // holds the CLI; `end` is how the CLI waits for the thread.
    this.worker.unref();
    void this.done.then(this.onMapped);
  }

  /**
   * The pump for `fd`, or undefined when there is nothing to pump: `fd` is /dev/null or an empty
   * regular file (CMDIN then closes at once, without a thread).
   */
  static start(fd: number): CommandInputPump | undefined {
    return inputIsEmpty(fd) ? undefined : new CommandInputPump(fd);
  }

  /** Give the pump CMDIN's ring: `mapped` once it mapped it (or failed to), `done` with how it ended. */
  attach(m: CommandPipeMapping): {
    mapped: Promise<void>;
    done: Promise<CommandInputEnd | undefined>;
  } {
    this.attached = true;
    this.worker.postMessage({ segment: m.segment, size: m.size } satisfies CommandInputAttach);
    return { mapped: this.mapped, done: this.done };
  }

  /** Ask the attached pump to stop (it looks at the flag at least every 10 ms). */
  requestStop(): void {
    Atomics.store(new Int32Array(this.stop), 0, 1);
  }

  /** The run never got its pipes (or they could not be mapped): the thread ends without reading. */
  cancel(): void {
    if (this.attached) return;
    this.attached = true;
    this.worker.postMessage({ cancel: true } satisfies CommandInputAttach);
  }

  /**
   * Stop the pump (or cancel it) and wait until its thread is gone — at most its start plus one
   * 10 ms poll. The CLI calls this before it exits: Node ending a worker that is inside koffi (binding
   * libc at its start, or in a call) throws in the addon, a fatal napi_throw that kills the CLI.
   */
  async end(): Promise<void> {
    this.cancel();
    this.requestStop();
    await this.exited;
  }
}

/**
 * Whether `fd` has nothing to read, as far as can be told without reading: /dev/null, or an empty
 * regular file. Anything else (a pipe, a socket, a file with bytes) gets a pump.
 */
function inputIsEmpty(fd: number): boolean {
  try {
    const st = fstatSync(fd);
    if (st.isFile()) return st.size === 0;
    if (st.isCharacterDevice() && process.platform !== "win32")
      return st.rdev === statSync("/dev/null").rdev;
  } catch {
    // not a descriptor stat knows (a closed stdin): the pump reports its own error
  }
  return false;
}

/** The poll loop's sleep when nothing moved: doubles from the first to the last. */
const IDLE_MIN_MS = 1;
const IDLE_MAX_MS = 16;
/** CMDRAW bytes taken per read. */
const RAW_CHUNK = 1024 * 1024;
/** Messages taken from one pipe per turn of the loop (the others get their turn). */
const MESSAGES_PER_TURN = 256;

type Rings = {
  cmdin: RingWriter;
  cmdusr: RingWriter;
  cmdmsg: RingReader;
  cmderr: RingReader;
  cmdraw: RingReader;
  cmdout: RingReader;
};

export class CommandPipesClient {
  private readonly segments: SharedSegment[] = [];
  private readonly rings: Rings;
  private readonly msgBuf = new Uint8Array(MAX_MESSAGE_SIZE);
  private out = new Uint8Array(64);
  private outLen = 0;
  private outNeed: number | undefined;
  private settled: CommandReturn | undefined;
  private settle!: (r: CommandReturn) => void;
  /** Resolves when CMDOUT has a whole value, a failure, or is found faulty while the process lives. */
  readonly returned: Promise<CommandReturn>;
  private readonly usrQueue: Uint8Array[] = [];
  /** CMDUSR closes once usrQueue is written (endUserInput). */
  private usrEnding = false;
  private timer: NodeJS.Timeout | NodeJS.Immediate | undefined;
  private idleMs = IDLE_MIN_MS;
  private rawHeld = false;
  /** CMDRAW is the next command's CMDIN (CommandOutputs): this client never reads it. */
  private rawNext = false;
  private stopped = false;
  private pump: CommandInputPump | undefined;
  /** What is left to write of a typed input's value (the poll loop writes it as CMDIN has room). */
  private inputValue: Uint8Array | undefined;
  /** Where CMDIN's next piece comes from once `inputValue` is written (CommandInput "chunks"). */
  private inputChunks: (() => Promise<Uint8Array | null>) | undefined;
  /** Bytes the CMDIN pump moved (tests, the bench). */
  inputBytes = 0;

  private constructor(
    private readonly conn: KernelConnection,
    readonly pid: number,
    private readonly mappings: readonly CommandPipeMapping[],
    private readonly sinks: CommandSinks,
  ) {
    this.returned = new Promise((r) => {
      this.settle = r;
    });
    this.rings = this.map(mappings);
  }

  /**
   * Map the CLI's ends of `pid`'s command pipes and start moving bytes: CMDIN from `input`, the
   * outputs to `sinks`. Throws NcwError when the segments cannot be mapped (nothing is left running).
   */
  static async open(
    conn: KernelConnection,
    pid: number,
    mappings: readonly CommandPipeMapping[],
    sinks: CommandSinks,
    input: CommandInput,
    outputs: CommandOutputs = {},
  ): Promise<CommandPipesClient> {
    if (clockMarksOn) clockMark("command-pipes"); // benchmarks (bench/README.md "Exec")
    await loadCommandNative();
    const c = new CommandPipesClient(conn, pid, mappings, sinks);
    c.rawNext = outputs.cmdraw === "next";
    // The outputs are read from now on: a value written at once is not held back by CMDIN's pump.
    c.schedule(0);
    if (clockMarksOn) clockMark("command-pipes-read");
    // Every end mapped (the pump's too): the kernel may release its pins (the mappings keep the memory).
    const mapped = () => conn.send({ t: "command-mapped", pid });
    if (input.kind === "pump") void c.attachInput(input.pump, mappings).then(mapped);
    else if (input.kind === "runner" || input.kind === "piped") mapped();
    else if (input.kind === "later") {
      mapped();
      void input.bytes.then(
        (bytes) => {
          if (c.stopped) return;
          if (bytes === null) c.closeInput("cmdin");
          else {
            c.inputValue = bytes;
            c.schedule(0);
          }
        },
        // The value never comes (the command before failed): CMDIN is left as it is, open and
        // empty; the caller kills this command (docs/hydre.md "Pipes"), which so never takes a
        // missing value for an empty one.
        () => {},
      );
    } else if (input.kind === "bytes") {
      c.inputValue = input.bytes;
      mapped();
    } else if (input.kind === "chunks") {
      mapped();
      c.inputChunks = input.next;
      c.nextChunk();
    } else {
      c.closeInput("cmdin");
      mapped();
    }
    return c;
  }

  private map(mappings: readonly CommandPipeMapping[]): Rings {
    // Loaded here: native/ (koffi) only for commands that run apps.
    const rings: Partial<Record<CommandPipeName, RingReader | RingWriter>> = {};
    try {
      for (const d of COMMAND_PIPES) {
        const m = mappings.find((x) => x.name === d.name);
        if (m === undefined) throw new Error(`the kernel sent no ${d.name.toUpperCase()} pipe`);
        const seg = native().openSegment(m.segment, m.size);
        this.segments.push(seg);
        const memory = hostRingMemory(seg, native());
        // The CLI holds the other end than the app: it writes what the app reads.
        rings[d.name] = d.app === "rc" ? new RingWriter(memory) : new RingReader(memory);
      }
    } catch (e) {
      for (const s of this.segments.splice(0)) s.close();
      throw new NcwError(
        "unavailable",
        `cannot map the command pipes of process ${this.pid}: ${(e as Error).message}`,
        {
          code: "RUN_COMMAND_PIPES",
          hint: 'the CLI maps the kernel\'s shared memory itself (docs/ipc.md "Command pipes")',
        },
      );
    }
    return rings as Rings;
  }

  /** Hand CMDIN's ring to the pump; resolves once it mapped the ring (or failed to). */
  private attachInput(
    pump: CommandInputPump,
    mappings: readonly CommandPipeMapping[],
  ): Promise<void> {
    this.pump = pump;
    const m = mappings.find((x) => x.name === "cmdin") as CommandPipeMapping;
    const { mapped, done } = pump.attach(m);
    void done.then((end) => {
      if (end === undefined) return;
      this.inputBytes = end.bytes;
      if (end.how === "eof") this.conn.send({ t: "command-closed", pid: this.pid, pipe: "cmdin" });
      // Once the command is over its pipes go: a pump that maps CMDIN or reads stdin only then fails
      // for nothing anybody waits on.
      if (end.how === "error" && this.settled === undefined)
        process.stderr.write(`ncw: reading stdin for CMDIN failed: ${end.message}\n`);
    });
    return mapped;
  }

  /** The runner could not read stdin for CMDIN after all: this pump writes it, as if from the start. */
  feedInput(pump: CommandInputPump): void {
    if (this.stopped || this.pump !== undefined) return;
    void this.attachInput(pump, this.mappings);
  }

  /** Close CMDIN or CMDUSR from the CLI's side (no more input); the kernel closes its pipe too. */
  closeInput(pipe: "cmdin" | "cmdusr"): void {
    this.rings[pipe].close("writer");
    this.conn.send({ t: "command-closed", pid: this.pid, pipe });
  }

  /**
   * Nobody reads this output any more (stdout closed: its reader went away): the pipe's reader side
   * closes, so the app's next PIPE_WRITE to it answers 0x31 instead of filling the ring for nothing.
   */
  closeOutput(pipe: "cmdmsg" | "cmderr" | "cmdraw"): void {
    this.rings[pipe].close("reader");
  }

  /** Queue one user input message (6 bytes, user-input.ts) for CMDUSR. */
  sendUserInput(bytes: Uint8Array): void {
    this.usrQueue.push(bytes);
    this.schedule(0);
  }

  /** No more user input: CMDUSR closes once what is queued is written (a scripted input's end). */
  endUserInput(): void {
    this.usrEnding = true;
    this.schedule(0);
  }

  private schedule(ms: number): void {
    if (this.stopped || this.timer !== undefined) return;
    const run = () => {
      this.timer = undefined;
      const moved = this.turn();
      if (moved) this.idleMs = IDLE_MIN_MS;
      else this.idleMs = Math.min(IDLE_MAX_MS, this.idleMs * 2);
      this.schedule(moved ? 0 : this.idleMs);
    };
    this.timer = ms === 0 ? setImmediate(run) : setTimeout(run, ms);
  }

  /** One pass over every pipe; whether anything moved. */
  private turn(): boolean {
    let moved = this.drainMessages("cmdmsg") || false;
    moved = this.drainMessages("cmderr") || moved;
    moved = this.drainRaw() || moved;
    moved = this.flushUserInput() || moved;
    moved = this.flushInputValue() || moved;
    if (this.settled === undefined) {
      moved = this.readOut() || moved;
      const r = this.outcomeWhileAlive();
      if (r !== undefined) this.finishWith(r, true);
    }
    return moved;
  }

  private drainMessages(pipe: "cmdmsg" | "cmderr"): boolean {
    const ring = this.rings[pipe];
    let n = 0;
    for (; n < MESSAGES_PER_TURN; n++) {
      const r = ring.readExact(this.msgBuf, false);
      if (!r.ok) break;
      this.sinks.message(pipe, this.msgBuf.slice(0, r.read));
    }
    return n > 0;
  }

  private drainRaw(): boolean {
    if (this.rawHeld || this.rawNext) return false;
    const ring = this.rings.cmdraw;
    const n = Math.min(ring.used(), RAW_CHUNK);
    if (n === 0) return false;
    const chunk = new Uint8Array(n);
    const r = ring.readSome(chunk, false);
    if (!r.ok || r.read === 0) return false;
    if (!this.sinks.raw(chunk.subarray(0, r.read))) {
      this.rawHeld = true;
      void this.sinks.rawDrained().then(() => {
        this.rawHeld = false;
        this.schedule(0);
      });
    }
    return true;
  }

  private flushUserInput(): boolean {
    let moved = false;
    while (this.usrQueue.length > 0) {
      const msg = this.usrQueue[0] as Uint8Array;
      const r = this.rings.cmdusr.writeAll(msg, false);
      if (!r.ok && (r.reason === "full" || r.reason === "locked")) break; // retried next turn
      this.usrQueue.shift(); // written, or the pipe is gone (the app ended or closed it)
      moved = true;
    }
    if (this.usrEnding && this.usrQueue.length === 0) {
      this.usrEnding = false;
      this.closeInput("cmdusr");
      moved = true;
    }
    return moved;
  }

  /** Ask the chunk source for CMDIN's next piece: written as CMDIN has room; null closes CMDIN. */
  private nextChunk(): void {
    const next = this.inputChunks;
    if (next === undefined) return;
    void next().then(
      (bytes) => {
        if (this.stopped || this.inputChunks === undefined) return;
        if (bytes === null) {
          this.inputChunks = undefined;
          this.closeInput("cmdin");
        } else {
          this.inputValue = bytes;
          this.schedule(0);
        }
      },
      () => {
        this.inputChunks = undefined;
      },
    );
  }

  /**
   * Write what fits of the typed input's value (or the stream's piece); at its end CMDIN closes
   * ("fully transmitted"), or the next piece is asked for.
   */
  private flushInputValue(): boolean {
    const rest = this.inputValue;
    if (rest === undefined) return false;
    const r = this.rings.cmdin.writeSome(rest, false);
    if (!r.ok && r.reason === "locked") return false;
    if (r.ok && r.written === rest.length && this.inputChunks !== undefined) {
      this.inputValue = undefined;
      this.inputBytes += r.written;
      this.nextChunk();
      return true;
    }
    if (!r.ok || r.written === rest.length) {
      // Written, or the app closed its end (it reads no more): either way CMDIN is over.
      this.inputValue = undefined;
      this.inputChunks = undefined;
      this.inputBytes += r.written;
      this.closeInput("cmdin");
      return true;
    }
    this.inputValue = rest.subarray(r.written);
    this.inputBytes += r.written;
    return r.written > 0;
  }

  /** Take what CMDOUT holds, up to the whole value (the bytes after it are never read). */
  private readOut(): boolean {
    const ring = this.rings.cmdout;
    let moved = false;
    for (;;) {
      const want = (this.outNeed ?? 8) - this.outLen;
      if (want <= 0) {
        const s = decodeReturn(this.out.subarray(0, this.outLen));
        if (s.state === "incomplete" && s.need !== undefined && this.outNeed === undefined) {
          this.outNeed = s.need;
          this.grow(s.need);
          continue;
        }
        return moved;
      }
      this.grow(this.outLen + want);
      const r = ring.readSome(this.out.subarray(this.outLen, this.outLen + want), false);
      if (!r.ok || r.read === 0) return moved;
      this.outLen += r.read;
      moved = true;
    }
  }

  private grow(size: number): void {
    if (size <= this.out.length) return;
    const next = new Uint8Array(Math.min(MAX_RETURN_SIZE, Math.max(size, this.out.length * 2)));
    next.set(this.out.subarray(0, this.outLen));
    this.out = next;
  }

  /** CMDOUT's state while the process lives: a whole value or failure, faulty, or undefined (wait on). */
  private outcomeWhileAlive(): CommandReturn | undefined {
    const bytes = this.out.subarray(0, this.outLen);
    const s = decodeReturn(bytes);
    if (s.state === "value") return { kind: "value", value: s.value };
    if (s.state === "failure") return { kind: "failure" };
    if (s.state === "invalid") return { kind: "faulty", why: `invalid return value: ${s.why}` };
    const state = this.rings.cmdout.state();
    // A proper close (CLOSE_PIPE) before a whole value; a brutal one means the process ended: its
    // end is reported by the kernel, and `finish` decides.
    if ((state & RingState.writerClosed) !== 0 && (state & RingState.brutal) === 0) {
      const end = decodeReturn(bytes, true);
      if (end.state === "failure") return { kind: "failure" };
      return {
        kind: "faulty",
        why: `it closed CMDOUT after ${this.outLen} of ${s.need ?? "at least 8"} bytes of its return value`,
      };
    }
    return undefined;
  }

  private finishWith(r: CommandReturn, alive: boolean): void {
    if (this.settled !== undefined) return;
    this.settled = r;
    if (clockMarksOn) clockMark(`cmdout-${r.kind}`); // benchmarks: the value is whole here
    if (alive) {
      if (r.kind === "faulty")
        this.conn.send({ t: "command-faulty", pid: this.pid, reason: r.why });
      // shell.md: with the value whole, "all pipes are closed and the command is considered as finished".
      else this.conn.send({ t: "command-finished", pid: this.pid });
    }
    this.settle(r);
  }

  /**
   * The process ended: take everything it wrote (the rings stay mapped), and settle CMDOUT: nothing,
   * a whole value or failure, or faulty (it ended before its value was whole).
   */
  async finish(): Promise<CommandReturn> {
    await this.drainAll();
    if (this.settled === undefined) {
      this.readOut();
      const bytes = this.out.subarray(0, this.outLen);
      const s = decodeReturn(bytes, true);
      const state = this.rings.cmdout.state();
      const closedProperly =
        (state & RingState.writerClosed) !== 0 && (state & RingState.brutal) === 0;
      let r: CommandReturn;
      if (s.state === "value") r = { kind: "value", value: s.value };
      else if (s.state === "failure") r = { kind: "failure" };
      else if (s.state === "invalid") r = { kind: "faulty", why: `invalid return value: ${s.why}` };
      else if (this.outLen === 0 && !closedProperly) r = { kind: "none" };
      else
        r = {
          kind: "faulty",
          why:
            this.outLen === 0
              ? "it closed CMDOUT without a return value"
              : `it ended after ${this.outLen} of ${s.need ?? "at least 8"} bytes of its return value`,
        };
      this.finishWith(r, false);
    }
    return this.settled as CommandReturn;
  }

  /** Every pending message and raw byte to the sinks (waiting for a slow raw sink). */
  async drainAll(): Promise<void> {
    for (;;) {
      if (this.rawHeld) await this.sinks.rawDrained();
      this.rawHeld = false;
      const a = this.drainMessages("cmdmsg");
      const b = this.drainMessages("cmderr");
      const c = this.drainRaw();
      if (!a && !b && !c && !this.rawHeld) return;
    }
  }

  /** Stop every pump and unmap the rings. */
  async close(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer !== undefined) {
      clearTimeout(this.timer as NodeJS.Timeout);
      clearImmediate(this.timer as NodeJS.Immediate);
      this.timer = undefined;
    }
    // The pump maps the ring itself and sees the flag within 10 ms; the CLI waits for its thread
    // before it exits (CommandInputPump.end).
    this.pump?.requestStop();
    for (const s of this.segments.splice(0)) s.close();
  }
}

// native/ is loaded by the command that needs it (start-up cost), once.
let nativeHost: import("../native/types.js").HostNative | undefined;
function native(): import("../native/types.js").HostNative {
  if (nativeHost === undefined) throw new Error("loadCommandNative() first");
  return nativeHost;
}

/** Load native/ for the command pipes (koffi): call before `CommandPipesClient.open`. */
export async function loadCommandNative(): Promise<void> {
  nativeHost ??= (await import("../native/index.js")).hostNative();
}
