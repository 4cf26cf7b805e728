// CREATE_PROCESS through `nightos.syscall_fork` (docs/commonassembly.md §5, docs/kernel.md "Fork"):
// Binaryen's Asyncify unwinds the caller's stack into the fork buffer, the runner snapshots memory and
// globals, the kernel starts the child on a warm runner from that image, and both sides rewind into the
// call: the parent with identity 0, the child with identity 1.

import {
  CONTROL_BLOCK_ADDRESS,
  CTL_FORK_BUFFER_LENGTH_OFFSET,
  CTL_FORK_BUFFER_OFFSET,
  FORK_GLOBAL_EXPORT_PREFIX,
  RUNTIME_SCRATCH_ADDRESS,
  RUNTIME_SCRATCH_SIZE,
} from "../../commonassembly/abi/wasm-names.js";

/** Asyncify's states (binaryen src/passes/Asyncify.cpp). */
export const ASYNCIFY_NORMAL = 0;
export const ASYNCIFY_UNWINDING = 1;
export const ASYNCIFY_REWINDING = 2;

export interface Asyncify {
  startUnwind(data: number): void;
  stopUnwind(): void;
  startRewind(data: number): void;
  stopRewind(): void;
  getState(): number;
}

export function asyncifyOf(ex: Record<string, unknown>): Asyncify | undefined {
  const f = (n: string) =>
    typeof ex[n] === "function" ? (ex[n] as (...a: number[]) => number) : undefined;
  const su = f("asyncify_start_unwind");
  const xu = f("asyncify_stop_unwind");
  const sr = f("asyncify_start_rewind");
  const xr = f("asyncify_stop_rewind");
  const gs = f("asyncify_get_state");
  if (!su || !xu || !sr || !xr || !gs) return undefined;
  return {
    startUnwind: (d) => su(d),
    stopUnwind: () => xu(),
    startRewind: (d) => sr(d),
    stopRewind: () => xr(),
    getState: () => gs(),
  };
}

/**
 * Where Asyncify's data goes: the program's fork buffer if it named one in the control block, else
 * the runtime scratch area. Writes Asyncify's 8-byte header {stack start, stack end} and returns its
 * address, or undefined if the named buffer is unusable.
 */
export function prepareForkBuffer(memory: WebAssembly.Memory): number | undefined {
  const v = new DataView(memory.buffer);
  const size = memory.buffer.byteLength;
  let addr = v.getUint32(CONTROL_BLOCK_ADDRESS + CTL_FORK_BUFFER_OFFSET, true);
  let len = v.getUint32(CONTROL_BLOCK_ADDRESS + CTL_FORK_BUFFER_LENGTH_OFFSET, true);
  if (addr === 0) {
    addr = RUNTIME_SCRATCH_ADDRESS;
    len = RUNTIME_SCRATCH_SIZE;
  }
  if (addr % 8 !== 0 || len < 16 || addr + len > size) return undefined;
  v.setUint32(addr, addr + 8, true);
  v.setUint32(addr + 4, addr + len, true);
  return addr;
}

/** The fork buffer's address as the child finds it in its copy of the parent's memory. */
export function forkBufferAddress(memory: WebAssembly.Memory): number {
  const v = new DataView(memory.buffer);
  const addr = v.getUint32(CONTROL_BLOCK_ADDRESS + CTL_FORK_BUFFER_OFFSET, true);
  return addr === 0 ? RUNTIME_SCRATCH_ADDRESS : addr;
}

export function forkGlobals(ex: Record<string, unknown>): Record<string, number | bigint> {
  const out: Record<string, number | bigint> = {};
  for (const [name, g] of Object.entries(ex)) {
    if (name.startsWith(FORK_GLOBAL_EXPORT_PREFIX) && g instanceof WebAssembly.Global)
      out[name] = g.value as number | bigint;
  }
  return out;
}

export function restoreGlobals(
  ex: Record<string, unknown>,
  globals: Record<string, number | bigint>,
): void {
  for (const [name, value] of Object.entries(globals)) {
    const g = ex[name];
    if (g instanceof WebAssembly.Global) g.value = value;
  }
}

/**
 * The process' fork buffer is one (the control block names it) and its threads share it: a thread
 * holds this lock from the start of its unwind into the buffer until its rewind out of it has ended
 * (docs/kernel.md "Threads"). Word 1 of the process' thread-identifier SharedArrayBuffer.
 */
export class ForkLock {
  private readonly words: Int32Array;
  private held = false;

  constructor(sab: SharedArrayBuffer) {
    this.words = new Int32Array(sab, 0, 2);
  }

  acquire(): void {
    while (Atomics.compareExchange(this.words, 1, 0, 1) !== 0) Atomics.wait(this.words, 1, 1, 50);
    this.held = true;
  }

  /** Release it if this thread holds it (idempotent). */
  release(): void {
    if (!this.held) return;
    this.held = false;
    Atomics.store(this.words, 1, 0);
    Atomics.notify(this.words, 1, 1);
  }
}

/** The SharedArrayBuffer of a process' thread identifiers (word 0: the last given) and fork lock (word 1). */
export function createThreadIds(): SharedArrayBuffer {
  const t = new SharedArrayBuffer(8);
  new Int32Array(t)[0] = 1; // the main thread is thread 1
  return t;
}
