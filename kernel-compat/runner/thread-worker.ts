// Starting a thread worker (thread.ts runs in it; docs/kernel.md "Threads"). Apart from thread.ts so
// that the runner's relay thread, which starts the threads the kernel asks for, does not load the
// syscall modules only a thread runs: a pool runner starts with less to load.

import path from "node:path";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";

const here = path.dirname(fileURLToPath(import.meta.url));

export function newThreadWorker(): Worker {
  return new Worker(path.join(here, "thread.js"), { workerData: { ncwThread: true } });
}
