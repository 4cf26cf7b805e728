// A runner's relay (docs/kernel.md "Runner"): the main thread of the host process that executes one
// NightOS process (DIRECTION.md §2). The entry (main.ts) has started its worker thread and its door
// thread and set the late V8 flags; on `start` the relay runs the module in the worker and relays
// syscalls, signals and traces between the worker and the kernel, every queue bounded (docs/kernel.md,
// "Tracing and back-pressure"). It exits when its process ends, once its last messages are on the
// channel, and at once if the kernel goes away (IPC channel closed, and on Linux also
// PR_SET_PDEATHSIG), so no runner outlives its kernel.

import { createHash } from "node:crypto";
import { MessageChannel, type MessagePort, type Worker } from "node:worker_threads";
import { CTL_POLL_FLAG_OFFSET } from "../../commonassembly/abi/wasm-names.js";
import { hostNative } from "../../native/index.js";
import type { SharedSegment } from "../../native/types.js";
import { DOOR_BYTES, Door } from "../ipc/door.js";
import { hostRingMemory } from "../ipc/ring.js";
import type { ForkImage, FromRunner, Outcome, RunnerAnswer, ToRunner } from "../protocol.js";
import { type BufferArea, scatter } from "../syscalls/buffers.js";
import { AmsMapper, AmsMappings, BackedAsker } from "./ams.js";
import { MAILBOX_DEPTH, Mailbox, Outbox, raisePollFlag, SignalRing } from "./channel.js";
import type { DoorThreadStart, FromDoorThread, ToDoorThread } from "./door-thread.js";
import { takeThreadSlot, threadCount, UNCOUNTED_SLOT } from "./fork.js";
import { openHostInput } from "./host-input.js";
import { createPagesState, PageAllocator } from "./memory.js";
import { PipeSlots } from "./pipes.js";
import { SharedSht } from "./signals.js";
import { SocketSlots } from "./sockets.js";
import type { ClientThreadLink, FromThread, ThreadShare, ThreadStart } from "./thread.js";
import { newThreadWorker } from "./thread-worker.js";
import type { FromWorker, WorkerStart } from "./worker.js";

/**
 * How long the end waits for trace lines already admitted by a thread to reach the relay. They are
 * posted right after admission, so they arrive at once; only a thread terminated between the two (a
 * nested thread killed with its creator) leaves a number never posted, and the end must not hang on it.
 */
const END_FLUSH_MS = 1000;

/** Send to the kernel; `written` runs once the message is on the channel (or the channel is gone). */
function send(m: FromRunner, written?: () => void): void {
  if (process.connected && process.send) {
    if (written) process.send(m, undefined, undefined, () => written());
    else process.send(m);
  } else written?.();
}

/** What the entry (main.ts) hands the relay: the threads it started, already past Node's bootstrap. */
export interface RunnerThreads {
  /** The program's worker, waiting at its gate (worker-entry.ts). */
  worker: Worker;
  /** Let the worker load its modules (worker-entry.ts): once the relay listens to it. */
  openWorkerGate: () => void;
  /** The door thread, waiting for its start (door-thread.ts); undefined if it failed to start. */
  doorWorker: Worker | undefined;
}

export function relay(threads: RunnerThreads): void {
  hostNative().dieWithParent();
  const { worker, openWorkerGate } = threads;
  const mailboxes = Array.from({ length: MAILBOX_DEPTH }, () => Mailbox.create());
  /** Kernel requests in flight: request id → the mailbox its answer goes to, where its written buffers go. */
  const inFlight = new Map<number, { box: Mailbox; out: BufferArea[] }>();
  const ring = SignalRing.create();
  /** The client threads' own signal rings, by connection (docs/services.md). */
  const clientRings = new Map<bigint, SignalRing>();
  /** Signals for a client thread whose port has not arrived yet (at most a few per connection). */
  const early = new Map<bigint, { signal: number; datafield: Uint8Array }[]>();
  /**
   * The process' signal door (ipc/door.ts) and its thread (door-thread.ts), made now, before the kernel
   * takes this runner from its pool: peers' runners post RECV_SOCK_MSG there (docs/ipc.md). `tellDoor`
   * hands the thread news and wakes it.
   */
  let doorThread: { door: Door; segment: SharedSegment; port: MessagePort | undefined } | undefined;
  const tellDoor = (m: ToDoorThread) => {
    if (doorThread?.port === undefined) return;
    doorThread.port.postMessage(m);
    doorThread.door.nudge();
  };
  const ownSignalsPending = () => {
    for (const r of clientRings.values()) if (r.pending()) return true;
    return false;
  };
  const outbox = Outbox.create();
  /** The process' SHT, created here so the relay can read the handler set the kernel mirrors. */
  const sht = new SharedSht();
  /** The pipe ends the process names (pipes.ts), filled on the kernel's grants. */
  const pipes = new PipeSlots();
  /** The service-socket ends the process names (sockets.ts), filled on the kernel's grants. */
  const sockets = new SocketSlots();
  /** The page allocator's state and the AMS mappings (ams.ts): the relay maps AMS on the kernel's asking. */
  const pages = createPagesState();
  const amsTable = new AmsMappings();
  let amsMapper: AmsMapper | undefined;
  /** AMS requests that came before the worker posted the memory (a process just started). */
  const waitingAms: Extract<ToRunner, { t: "ams-map" }>[] = [];
  let memory: WebAssembly.Memory | undefined;
  let ctlAddr = 0;
  let nextId = 1;
  /** The kernel's segments this runner mapped, by the kernel's identifier. */
  const segments = new Map<number, SharedSegment>();
  /**
   * What a thread the kernel starts needs of the process (the worker sends it once instantiated; null:
   * the module cannot have threads); start-thread requests wait for it.
   */
  let share: ThreadShare | null | undefined;
  const waitingThreads: Extract<ToRunner, { t: "start-thread" }>[] = [];
  const answer = (req: number, a: RunnerAnswer) => send({ t: "answer", req, answer: a });
  /** This process backs signal-backed AMS: the kernel's `ams-backed` become signals (ams.ts). */
  const backed = new BackedAsker(
    (signal, datafield) => ring.push(signal, datafield),
    () => {
      poke();
      mailboxes[0]?.interrupt();
    },
    (signal) => sht.ready && sht.has(signal),
  );

  // Raise the poll flag by changing it (an increment), and keep raising it until the worker has taken
  // what is queued: the AOT-optimized poll may test "flag changed" instead of "flag non-zero" (see
  // docs/kernel.md, "Safepoints"), and a single raise can race with the worker clearing the flag.
  let repoking = false;
  const raise = () => {
    if (memory) raisePollFlag(new Int32Array(memory.buffer), (ctlAddr + CTL_POLL_FLAG_OFFSET) >> 2);
  };
  const poke = () => {
    raise();
    if (!repoking && (ring.needsSafepoint() || ownSignalsPending())) {
      repoking = true;
      const again = () => {
        if (!ring.needsSafepoint() && !ownSignalsPending()) {
          repoking = false;
          return;
        }
        raise();
        setTimeout(again, 2);
      };
      setTimeout(again, 2);
    }
  };
  /** A signal for the client thread of `connection`: on its own ring (it takes it at a safepoint). */
  const toClientThread = (connection: bigint, signal: number, datafield: Uint8Array) => {
    const r = clientRings.get(connection);
    if (r === undefined) {
      const waiting = early.get(connection) ?? [];
      if (waiting.length < 8) waiting.push({ signal, datafield });
      early.set(connection, waiting);
      return;
    }
    if (!r.push(signal, datafield)) send({ t: "note", line: "signal queue full: signal dropped" });
    poke();
  };
  // Priorities 1–9 are enforced at safepoints: keep the poll flag raised often enough to throttle.
  let ticker: NodeJS.Timeout | undefined;
  const setPriority = (p: number) => {
    ring.priority = p;
    if (p > 0 && p < 10) ticker ??= setInterval(poke, 1);
    else if (ticker) {
      clearInterval(ticker);
      ticker = undefined;
    }
  };

  // The handler set: the threads raise the outbox's flag and post one notice (Outbox.markHandledChanged);
  // the relay reads the set when it takes the notice and keeps at most one `handled` on the channel,
  // sending the latest set after it when it changed meanwhile. A program toggling a handler in a loop
  // thus costs the channel nothing per toggle.
  let handledOnChannel = false;
  let handledAgain = false;
  const relayHandled = () => {
    outbox.takeHandledChanged();
    if (handledOnChannel) {
      handledAgain = true;
      return;
    }
    handledOnChannel = true;
    send({ t: "handled", signals: sht.keys(), ready: sht.ready }, () => {
      handledOnChannel = false;
      if (handledAgain) {
        handledAgain = false;
        relayHandled();
      }
    });
  };

  // Trace lines and the end. Every line a thread admitted (Outbox.admitTrace) before the process ended
  // is relayed before `exit`; `exit` is sent last and the runner leaves only once it is on the channel
  // (leaving with messages still queued lost them, and the kernel saw a runner dying "with exit code 0").
  let relayed = 0;
  let ending: { outcome: Outcome; upTo: number; code: number; sent: boolean } | undefined;
  const sendExit = () => {
    if (ending === undefined || ending.sent) return;
    ending.sent = true;
    const code = ending.code;
    send({ t: "exit", outcome: ending.outcome }, () => process.exit(code));
  };
  const relayTrace = (line: string, seq: number) => {
    // A line admitted after the end (another thread still running) is not part of the process' trace.
    if (ending !== undefined && seq >= ending.upTo) return;
    relayed++;
    send({ t: "trace", line });
    if (ending !== undefined && relayed >= ending.upTo) sendExit();
  };
  const end = (outcome: Outcome, code = 0) => {
    if (ending !== undefined) return;
    // Peers stop posting into the door of a process that ended.
    doorThread?.door.close();
    ending = { outcome, upTo: outbox.posted, code, sent: false };
    if (relayed >= ending.upTo) sendExit();
    else setTimeout(sendExit, END_FLUSH_MS);
  };

  /** Sends a syscall of the main thread or of a thread to the kernel; the answer goes to `box`. */
  const forwardSyscall = (
    box: Mailbox | undefined,
    req: Uint8Array,
    fork?: ForkImage,
    read?: Uint8Array[],
    out: BufferArea[] = [],
  ) => {
    const id = nextId++;
    if (box) inFlight.set(id, { box, out });
    send({ t: "syscall", id, req, ...(fork ? { fork } : {}), ...(read ? { read } : {}) });
  };

  // A thread's port (kernel-compat/runner/thread.ts): its traces, kernel syscalls and a process end.
  // A client thread's (ACCEPT_SERVICE_CONN, `connection`) port closes when it ends, however it ends
  // (returned, EXIT_THREAD, terminated with its creator): the kernel then closes its connection.
  const onThreadPort = (p: MessagePort, client?: ClientThreadLink) => {
    if (client !== undefined) {
      const connection = client.connection;
      clientRings.set(connection, new SignalRing(client.signals));
      tellDoor({ t: "client", connection, signals: client.signals });
      for (const s of early.get(connection) ?? [])
        toClientThread(connection, s.signal, s.datafield);
      early.delete(connection);
      p.on("close", () => {
        clientRings.delete(connection);
        tellDoor({ t: "client-gone", connection });
        send({ t: "client-thread-ended", connection });
      });
    }
    p.on("message", (m: FromThread) => {
      switch (m.t) {
        case "trace":
          relayTrace(m.line, m.seq);
          return;
        case "syscall":
          forwardSyscall(new Mailbox(m.box), m.req, m.fork, m.read, m.out);
          return;
        case "port":
          onThreadPort(m.port, m.client);
          return;
        case "handled":
          relayHandled();
          return;
        case "note":
          send({ t: "note", line: m.line });
          return;
        case "client-thread-ended":
          early.delete(m.connection);
          send({ t: "client-thread-ended", connection: m.connection });
          return;
        case "exit":
          end(m.outcome);
          return;
      }
    });
    p.unref();
  };

  worker.on("message", (m: FromWorker) => {
    switch (m.t) {
      case "warm":
        send(
          doorThread === undefined
            ? { t: "ready" }
            : { t: "ready", door: { name: doorThread.segment.name, size: DOOR_BYTES } },
        );
        return;
      case "note":
        send({ t: "note", line: m.line });
        return;
      case "memory":
        memory = m.memory;
        if (memory.buffer instanceof SharedArrayBuffer)
          amsMapper = new AmsMapper(amsTable, memory, new PageAllocator(memory, pages));
        for (const r of waitingAms.splice(0)) mapAms(r);
        ctlAddr = m.ctlAddr;
        tellDoor({ t: "memory", memory: m.memory, ctlAddr });
        if (ring.needsSafepoint()) poke();
        return;
      case "syscall":
        forwardSyscall(mailboxes[m.depth], m.req, m.fork, m.read, m.out);
        return;
      case "trace":
        relayTrace(m.line, m.seq);
        return;
      case "running":
        send({ t: "running" });
        return;
      case "handled":
        relayHandled();
        return;
      case "port":
        onThreadPort(m.port, m.client);
        return;
      case "client-thread-ended":
        early.delete(m.connection);
        send({ t: "client-thread-ended", connection: m.connection });
        return;
      case "signal-answers":
        backed.answered(m.batch);
        return;
      case "share":
        share = m.share;
        for (const r of waitingThreads.splice(0)) startThread(r);
        return;
      case "exit":
        // A runner serves exactly one process: it leaves once the end is on the channel.
        end(m.outcome);
        return;
    }
  });
  /**
   * The door, and its thread started by the entry with the runner (not at the first socket: that made
   * set-up slower). Without the thread (it failed), the relay drains the door itself, every
   * millisecond, so what the peers put there is still delivered.
   */
  const startDoorThread = () => {
    const native = hostNative();
    const w = threads.doorWorker;
    let segment: SharedSegment;
    let door: Door;
    try {
      segment = native.createSegment(DOOR_BYTES, "door");
      door = new Door(hostRingMemory(segment, native));
    } catch {
      void w?.terminate();
      return; // no shared segments here: no socket either (docs/ipc.md), the kernel's channel serves
    }
    const drainHere = (why: string) => {
      send({ t: "note", line: `the signal door's thread ${why}: the relay serves it` });
      const drain = () => {
        for (const s of door.take()) {
          if (s.connection !== 0n) {
            toClientThread(s.connection, s.signal, s.datafield);
            continue;
          }
          if (!ring.push(s.signal, s.datafield))
            send({ t: "note", line: "signal queue full: signal dropped" });
          poke();
          mailboxes[0]?.interrupt();
        }
      };
      drain();
      setInterval(drain, 1).unref();
    };
    if (w === undefined) {
      doorThread = { door, segment, port: undefined };
      drainHere("did not start");
      return;
    }
    const ch = new MessageChannel();
    const start: DoorThreadStart = {
      door: { name: segment.name, size: DOOR_BYTES },
      ring: ring.sab,
      mailbox: (mailboxes[0] as Mailbox).sab,
      port: ch.port2,
    };
    w.postMessage(start, [ch.port2]);
    w.on("message", (m: FromDoorThread) => {
      if (m.t === "client-signal") toClientThread(m.connection, m.signal, m.datafield);
    });
    w.on("error", (e) => drainHere(`failed (${e.message})`));
    w.unref();
    doorThread = { door, segment, port: ch.port1 };
  };
  startDoorThread();
  // Everything listens: the worker may load its modules (under the late V8 flags) and warm up.
  openWorkerGate();
  /** A thread the kernel asked for: a new thread worker, entering the table function (thread.ts). */
  const startThread = (r: Extract<ToRunner, { t: "start-thread" }>) => {
    if (share === undefined) {
      waitingThreads.push(r);
      return;
    }
    if (share === null || ending !== undefined) {
      answer(r.req, {
        ok: false,
        error:
          share === null
            ? "the process cannot have threads (its module does not import nightos.memory)"
            : "the process is ending",
      });
      return;
    }
    const tid = Atomics.add(new Int32Array(share.tids), 0, 1) + 1;
    const slot = takeThreadSlot(share.tids, tid, UNCOUNTED_SLOT);
    if (slot === undefined) {
      const { limit } = threadCount(share.tids);
      answer(r.req, {
        ok: false,
        error: `the process has ${limit} threads, the limit (registry system.processes.max_threads)`,
      });
      return;
    }
    const ch = new MessageChannel();
    onThreadPort(ch.port2);
    const start: ThreadStart = {
      ...share,
      t: "thread",
      tid,
      rewindAt: 0,
      rewindPages: 0,
      globals: {},
      initData: r.arg,
      entry: { index: r.index },
      relay: ch.port1,
      slot,
    };
    const w = newThreadWorker();
    w.postMessage(start, [ch.port1]);
    w.unref();
    answer(r.req, { ok: true, tid });
  };

  /** Map an AMS for the kernel (runner/ams.ts), once the memory is known. */
  const mapAms = (m: Extract<ToRunner, { t: "ams-map" }>) => {
    if (amsMapper === undefined) {
      answer(m.req, {
        ok: false,
        error: "the process' memory is not a shared WebAssembly memory (docs/ipc.md)",
      });
      return;
    }
    try {
      const r = amsMapper.map(m);
      answer(
        m.req,
        r.ok
          ? { ok: true, address: r.address }
          : { ok: false, error: `AMS mapping refused (${r.refusal})`, refusal: r.refusal },
      );
    } catch (e) {
      answer(m.req, { ok: false, error: (e as Error).message });
    }
  };

  worker.on("error", (e) => {
    end({ kind: "killed", reason: `runner crashed: ${e.message}` }, 1);
  });

  const handle = (m: ToRunner): void => {
    switch (m.t) {
      case "batch":
        // The kernel's messages of one turn, in order (Kernel.toRunner).
        for (const one of m.m) handle(one);
        return;
      case "start": {
        setPriority(m.priority);
        const start: WorkerStart = {
          t: "start",
          pid: m.pid,
          ppid: m.ppid,
          maxThreads: m.maxThreads,
          wasm: m.wasm,
          ...(m.ahead ? { ahead: true } : {}),
          context: m.context,
          trace: m.trace,
          mailboxes: mailboxes.map((b) => b.sab),
          ring: ring.sab,
          outbox: outbox.sab,
          sht: sht.sab,
          pipes: pipes.sab,
          sockets: sockets.sab,
          pages,
          ams: amsTable.sab,
          fork: m.fork,
          ...(m.proxy === undefined ? {} : { proxy: m.proxy }),
        };
        worker.postMessage(start);
        return;
      }
      case "signal":
        if (m.connection !== undefined) {
          toClientThread(m.connection, m.signal, m.datafield);
          return;
        }
        if (!ring.push(m.signal, m.datafield)) {
          send({ t: "note", line: "signal queue full: signal dropped" });
        }
        poke();
        // A worker blocked in a kernel syscall runs its handlers now (the program's mailbox only).
        mailboxes[0]?.interrupt();
        return;
      case "reply": {
        const f = inFlight.get(m.id);
        inFlight.delete(m.id);
        if (f === undefined) return;
        // The runner, not the kernel, writes into the process' (shared) memory, while the caller waits.
        if (m.written !== undefined && memory !== undefined)
          scatter(f.out, m.written, new Uint8Array(memory.buffer));
        f.box.answer(m.errcode, m.ret);
        return;
      }
      case "suspend":
        ring.setSuspended(true);
        poke();
        return;
      case "resume":
        ring.setSuspended(false);
        return;
      case "priority":
        setPriority(m.priority);
        return;
      case "trace-ack":
        outbox.ack(m.n);
        return;
      case "precompile":
        worker.postMessage(m);
        return;
      case "map-segment": {
        if (segments.has(m.id)) {
          answer(m.req, { ok: false, error: `segment ${m.id} is mapped already` });
          return;
        }
        try {
          const seg = hostNative().openSegment(m.name, m.size);
          segments.set(m.id, seg);
          const sha256 = createHash("sha256").update(new Uint8Array(seg.buffer)).digest("hex");
          answer(m.req, { ok: true, sha256 });
        } catch (e) {
          answer(m.req, { ok: false, error: (e as Error).message });
        }
        return;
      }
      case "unmap-segment": {
        const seg = segments.get(m.id);
        segments.delete(m.id);
        seg?.close();
        answer(m.req, seg ? { ok: true } : { ok: false, error: `segment ${m.id} is not mapped` });
        return;
      }
      case "start-thread":
        startThread(m);
        return;
      case "pipe-grant": {
        // A command's CMDIN the runner reads from the CLI's stdin itself (host-input.ts): opened
        // here, before `start`; when it cannot be, the grant stands and the CLI's pump feeds the ring.
        const hostFd = m.hostInput === undefined ? undefined : openHostInput(m.hostInput);
        const added = pipes.add({
          ...m,
          ...(typeof hostFd === "number" ? { hostFd } : {}),
        });
        if (m.hostInput !== undefined)
          send(
            typeof hostFd === "number" && added
              ? { t: "cmdin-host", ok: true, detail: m.hostInput.path }
              : {
                  t: "cmdin-host",
                  ok: false,
                  detail: `${m.hostInput.path}: ${typeof hostFd === "string" ? hostFd : "not granted"}`,
                },
          );
        answer(
          m.req,
          added
            ? { ok: true }
            : { ok: false, error: "the process' pipe table is full (docs/ipc.md)" },
        );
        return;
      }
      case "ams-map":
        if (memory === undefined) waitingAms.push(m);
        else mapAms(m);
        return;
      case "ams-unmap": {
        let done = false;
        try {
          done = amsMapper?.unmap(m.address, m.mode) ?? false;
        } catch (e) {
          answer(m.req, { ok: false, error: (e as Error).message });
          return;
        }
        answer(m.req, done ? { ok: true } : { ok: false, error: `no AMS mapped at ${m.address}` });
        return;
      }
      case "ams-backed":
        backed.ask(m).then((answers) => answer(m.req, { ok: true, answers }));
        return;
      case "pipe-revoke":
        answer(
          m.req,
          pipes.remove(m.handle)
            ? { ok: true }
            : { ok: false, error: `pipe end ${m.handle} is not in the table` },
        );
        return;
      case "socket-grant":
        answer(
          m.req,
          sockets.add(m)
            ? { ok: true }
            : { ok: false, error: "the process' socket table is full (docs/ipc.md)" },
        );
        return;
      case "socket-revoke":
        answer(
          m.req,
          sockets.remove(m.handle)
            ? { ok: true }
            : { ok: false, error: `socket end ${m.handle} is not in the table` },
        );
        return;
      case "memory-read":
      case "memory-write": {
        // A system service's access to a buffer of its client (docs/sysfs.md), while the client waits.
        const length = m.t === "memory-read" ? m.length : m.bytes.length;
        const size = memory?.buffer.byteLength ?? 0;
        if (memory === undefined || m.address < 0 || m.address + length > size) {
          answer(m.req, { ok: false, error: "the range is not all the process' memory" });
          return;
        }
        const view = new Uint8Array(memory.buffer, m.address, length);
        if (m.t === "memory-read") answer(m.req, { ok: true, bytes: view.slice() });
        else {
          view.set(m.bytes);
          answer(m.req, { ok: true });
        }
        return;
      }
    }
  };
  process.on("message", handle);
}
