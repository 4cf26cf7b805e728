// The runner worker's entry (docs/kernel.md "Runner start: V8 flags set late"). Node checks its
// built-in modules' code cache against V8's flags: an isolate that bootstraps Node under flags other
// than the defaults compiles Node's own JavaScript from source (~100 ms of CPU per thread for each of
// `--no-liftoff` and `--no-lazy`). So a runner starts with V8's defaults; this entry waits until the
// runner's other thread (the door thread) has bootstrapped too, sets the kernel's flags — V8's flags
// are the process' — and only then loads the worker's modules, which V8 compiles under them.

import v8 from "node:v8";
import { workerData } from "node:worker_threads";

/** What the relay hands the worker's entry (main.ts). */
export interface WorkerBoot {
  /** An Int32 the relay sets to 1 (and notifies) once no other thread is bootstrapping. */
  gate: SharedArrayBuffer;
  /** The V8 flags to set then, space-separated ("" = none). */
  flags: string;
}

/** Past this the entry goes on without the gate: a door thread that never came up delays nothing. */
const GATE_MAX_MS = 2000;

const boot = workerData as WorkerBoot;
Atomics.wait(new Int32Array(boot.gate), 0, 0, GATE_MAX_MS);
if (boot.flags !== "") v8.setFlagsFromString(boot.flags);
await import("./worker.js");
