// The runner worker's entry (docs/kernel.md "Runner start: V8 flags set late"). Node checks its
// built-in modules' code cache against V8's flags: an isolate that bootstraps Node under flags other
// than the defaults compiles Node's own JavaScript from source (~50–100 ms of CPU per thread). So a
// runner starts with V8's defaults: this entry says it has bootstrapped, waits at its gate while the
// runner's entry (main.ts) sets the kernel's flags — V8's flags are the process' — and the relay
// starts listening, and only then loads the worker's modules, which V8 compiles under those flags.

import { parentPort, workerData } from "node:worker_threads";

/** What the relay hands the worker's entry (main.ts). */
export interface WorkerBoot {
  /** An Int32 the relay sets to 1 (and notifies) once the flags are set and it listens. */
  gate: SharedArrayBuffer;
  /** The V8 flags the entry sets (main.ts), space-separated ("" = none). */
  flags: string;
}

/** Past this the worker goes on without the gate (the relay never came: the runner is ending). */
const GATE_MAX_MS = 10_000;

const boot = workerData as WorkerBoot;
parentPort?.postMessage({ t: "booted" });
Atomics.wait(new Int32Array(boot.gate), 0, 0, GATE_MAX_MS);
await import("./worker.js");
