// A runner: the host process that executes one NightOS process (DIRECTION.md §2, docs/kernel.md
// "Runner"), forked by the kernel ahead of need (the warm pool). This entry starts the runner's two
// other threads — the worker that will run the program and the door thread (peers' signals) — waits
// until both have bootstrapped Node, sets the V8 flags the kernel asked for, and only then loads the
// relay (relay.ts), which lets the worker load its own modules. Why in this order (docs/kernel.md
// "Runner start: V8 flags set late"): Node checks its built-in modules' code cache against V8's flags,
// so an isolate that bootstraps under flags other than the defaults compiles Node's own JavaScript
// from source; the runner's modules, loaded after the flags, are compiled under them (`--no-lazy`).

import path from "node:path";
import { fileURLToPath } from "node:url";
import v8 from "node:v8";
import { Worker } from "node:worker_threads";
import { LATE_V8_FLAGS_ARG } from "../protocol.js";
import type { WorkerBoot } from "./worker-entry.js";

/** Past this a thread that has not said it bootstrapped is not waited for (it is late, or failed). */
const BOOT_MAX_MS = 2000;

/** The V8 flags the kernel asked this runner to set once its threads are up (`LATE_V8_FLAGS_ARG`). */
function lateV8Flags(): string {
  const arg = process.argv.find((a) => a.startsWith(LATE_V8_FLAGS_ARG));
  return arg?.slice(LATE_V8_FLAGS_ARG.length).trim() ?? "";
}

/** Resolves once `w` posts `{ t: "booted" }`: true, or false if it failed or is late. */
function booted(w: Worker): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => done(false), BOOT_MAX_MS);
    const onMessage = (m: { t?: string }) => {
      if (m?.t === "booted") done(true);
    };
    const onError = () => done(false);
    const done = (ok: boolean) => {
      clearTimeout(timer);
      w.off("message", onMessage);
      w.off("error", onError);
      resolve(ok);
    };
    w.on("message", onMessage);
    w.once("error", onError);
  });
}

async function main(): Promise<void> {
  if (!process.send) {
    process.stderr.write("ncw runner: started without an IPC channel to the kernel; exiting\n");
    process.exit(2);
  }
  process.on("disconnect", () => process.exit(0));
  // The kernel may have died while this runner was still loading: the channel's 'disconnect' was
  // then emitted before the listener existed (the relay adds PR_SET_PDEATHSIG).
  if (!process.connected) process.exit(0);

  const here = path.dirname(fileURLToPath(import.meta.url));
  const boot: WorkerBoot = { gate: new SharedArrayBuffer(4), flags: lateV8Flags() };
  const worker = new Worker(path.join(here, "worker-entry.js"), { workerData: boot });
  const door = new Worker(path.join(here, "door-thread.js"), { workerData: { ncwDoor: true } });
  const [, doorUp] = await Promise.all([booted(worker), booted(door)]);
  if (!doorUp) void door.terminate();
  if (boot.flags !== "") v8.setFlagsFromString(boot.flags);
  const { relay } = await import("./relay.js");
  relay({
    worker,
    doorWorker: doorUp ? door : undefined,
    openWorkerGate: () => {
      const g = new Int32Array(boot.gate);
      Atomics.store(g, 0, 1);
      Atomics.notify(g, 0);
    },
  });
}

await main();
