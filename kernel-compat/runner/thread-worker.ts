// Starting a thread worker (thread.ts runs in it; docs/kernel.md "Threads"). Apart from thread.ts so
// that the runner's relay thread, which starts the threads the kernel asks for, does not load the
// syscall modules only a thread runs: a pool runner starts with less to load.

import path from "node:path";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";

const here = path.dirname(fileURLToPath(import.meta.url));

/**
 * A pooled worker's state word (Int32 0 of `PoolLink.state`), which its creator reads without its event
 * loop (it is busy running wasm while it creates threads): the worker sets IDLE once it can take a
 * thread, the creator takes it with a compare-and-exchange, and a worker that leaves says GONE.
 */
export const WorkerState = { BOOTING: 0, IDLE: 1, TAKEN: 2, GONE: 3 } as const;

/** What a pooled thread worker shares with its creator (thread.ts ThreadPool). */
export interface PoolLink {
  /** This worker's WorkerState word. */
  state: SharedArrayBuffer;
  /** The creator's count of idle workers (Int32 0), bounded by `maxIdle`. */
  idle: SharedArrayBuffer;
  maxIdle: number;
}

export function newThreadWorker(pool?: PoolLink): Worker {
  return new Worker(path.join(here, "thread.js"), {
    workerData: { ncwThread: true, ...(pool === undefined ? {} : { pool }) },
  });
}
