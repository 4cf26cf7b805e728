// A runner: the host process that executes one NightOS process (DIRECTION.md §2, docs/kernel.md
// "Runner"). Started by the kernel server ahead of need (the warm pool) with its worker thread already
// loaded; on `start` it runs the module in the worker and relays syscalls, signals and traces between
// the worker and the kernel. It exits when its process ends, and at once if the kernel goes away
// (IPC channel closed, and on Linux also PR_SET_PDEATHSIG), so no runner outlives its kernel.

import path from "node:path";
import { fileURLToPath } from "node:url";
import { type MessagePort, Worker } from "node:worker_threads";
import { CTL_POLL_FLAG_OFFSET } from "../../commonassembly/abi/wasm-names.js";
import { hostNative } from "../../native/index.js";
import type { ForkImage, FromRunner, ToRunner } from "../protocol.js";
import { MAILBOX_DEPTH, Mailbox, SignalRing } from "./channel.js";
import type { FromThread } from "./thread.js";
import type { FromWorker, WorkerStart } from "./worker.js";

function send(m: FromRunner): void {
  if (process.connected) process.send?.(m);
}

function main(): void {
  if (!process.send) {
    process.stderr.write("ncw runner: started without an IPC channel to the kernel; exiting\n");
    process.exit(2);
  }
  hostNative().dieWithParent();
  process.on("disconnect", () => process.exit(0));
  // The kernel may have died while this runner was still loading its modules: the channel's
  // 'disconnect' was then emitted before the listener existed, and PR_SET_PDEATHSIG came too late.
  if (!process.connected) process.exit(0);

  const here = path.dirname(fileURLToPath(import.meta.url));
  const worker = new Worker(path.join(here, "worker.js"));
  const mailboxes = Array.from({ length: MAILBOX_DEPTH }, () => Mailbox.create());
  /** Kernel requests in flight: request id → the mailbox its answer goes to. */
  const inFlight = new Map<number, Mailbox>();
  const ring = SignalRing.create();
  let memory: WebAssembly.Memory | undefined;
  let ctlAddr = 0;
  let nextId = 1;

  // Raise the poll flag by changing it (an increment), and keep raising it until the worker has taken
  // what is queued: the AOT-optimized poll may test "flag changed" instead of "flag non-zero" (see
  // docs/kernel.md, "Safepoints"), and a single raise can race with the worker clearing the flag.
  let repoking = false;
  const poke = () => {
    if (memory)
      Atomics.add(new Int32Array(memory.buffer), (ctlAddr + CTL_POLL_FLAG_OFFSET) >> 2, 1);
    if (!repoking && ring.needsSafepoint()) {
      repoking = true;
      const again = () => {
        if (!ring.needsSafepoint()) {
          repoking = false;
          return;
        }
        if (memory)
          Atomics.add(new Int32Array(memory.buffer), (ctlAddr + CTL_POLL_FLAG_OFFSET) >> 2, 1);
        setTimeout(again, 2);
      };
      setTimeout(again, 2);
    }
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

  /** Sends a syscall of the main thread or of a thread to the kernel; the answer goes to `box`. */
  const forwardSyscall = (box: Mailbox | undefined, req: Uint8Array, fork?: ForkImage) => {
    const id = nextId++;
    if (box) inFlight.set(id, box);
    send(fork ? { t: "syscall", id, req, fork } : { t: "syscall", id, req });
  };

  // A thread's port (kernel-compat/runner/thread.ts): its traces, kernel syscalls and a process end.
  const onThreadPort = (p: MessagePort) => {
    p.on("message", (m: FromThread) => {
      switch (m.t) {
        case "trace":
          send({ t: "trace", line: m.line });
          return;
        case "syscall":
          forwardSyscall(new Mailbox(m.box), m.req, m.fork);
          return;
        case "port":
          onThreadPort(m.port);
          return;
        case "handled":
          send({ t: "handled", signals: m.signals });
          return;
        case "exit":
          send({ t: "exit", outcome: m.outcome });
          setImmediate(() => process.exit(0));
          return;
      }
    });
    p.unref();
  };

  worker.on("message", (m: FromWorker) => {
    switch (m.t) {
      case "warm":
        send({ t: "ready" });
        return;
      case "memory":
        memory = m.memory;
        ctlAddr = m.ctlAddr;
        if (ring.needsSafepoint()) poke();
        return;
      case "syscall":
        forwardSyscall(mailboxes[m.depth], m.req, m.fork);
        return;
      case "trace":
        send({ t: "trace", line: m.line });
        return;
      case "running":
        send({ t: "running" });
        return;
      case "handled":
        send({ t: "handled", signals: m.signals });
        return;
      case "port":
        onThreadPort(m.port);
        return;
      case "exit":
        send({ t: "exit", outcome: m.outcome });
        // Let the IPC message flush, then leave: a runner serves exactly one process.
        setImmediate(() => process.exit(0));
        return;
    }
  });
  worker.on("error", (e) => {
    send({ t: "exit", outcome: { kind: "killed", reason: `runner crashed: ${e.message}` } });
    setImmediate(() => process.exit(1));
  });

  process.on("message", (m: ToRunner) => {
    switch (m.t) {
      case "start": {
        setPriority(m.priority);
        const start: WorkerStart = {
          t: "start",
          pid: m.pid,
          ppid: m.ppid,
          wasm: m.wasm,
          context: m.context,
          trace: m.trace,
          mailboxes: mailboxes.map((b) => b.sab),
          ring: ring.sab,
          fork: m.fork,
        };
        worker.postMessage(start);
        return;
      }
      case "signal":
        if (!ring.push(m.signal, m.datafield)) {
          send({ t: "trace", line: "signal queue full: signal dropped" });
        }
        poke();
        // A worker blocked in a kernel syscall runs its handlers now (the program's mailbox only).
        mailboxes[0]?.interrupt();
        return;
      case "reply":
        inFlight.get(m.id)?.answer(m.errcode, m.ret);
        inFlight.delete(m.id);
        return;
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
      case "precompile":
        worker.postMessage({ t: "precompile", wasm: m.wasm });
        return;
    }
  });
}

main();
