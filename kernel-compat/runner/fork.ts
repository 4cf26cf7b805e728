// CREATE_PROCESS through `nightos.syscall_fork` (docs/commonassembly.md §5, docs/kernel.md "Fork"):
// Binaryen's Asyncify unwinds the caller's stack into the fork buffer, the runner snapshots memory and
// globals, the kernel starts the child on a warm runner from that image, and both sides rewind into the
// call: the parent with identity 0, the child with identity 1.

import {
  ABI_VERSION_SECTION,
  ABI_VERSION_THREAD_ANSWERS,
  CONTROL_BLOCK_ADDRESS,
  CTL_FORK_BUFFER_LENGTH_OFFSET,
  CTL_FORK_BUFFER_OFFSET,
  FORK_GLOBAL_EXPORT_PREFIX,
  RUNTIME_SCRATCH_ADDRESS,
  RUNTIME_SCRATCH_SIZE,
  WASM_PAGE_SIZE,
} from "../../commonassembly/abi/wasm-names.js";
import { hostNative } from "../../native/index.js";
import type { HostNative, SharedSegment } from "../../native/types.js";
import { type ForkImage, forkMemoryLength } from "../protocol.js";

/**
 * The ABI version the AOT step recorded in the module (its custom section), 0x0100 (1.0) when it has
 * none: an artifact from before the section existed is rebuilt (artifact format 3), so only modules
 * that cannot fork lack it, and for them the version does not matter.
 */
export function moduleAbiVersion(module: WebAssembly.Module): number {
  const s = WebAssembly.Module.customSections(module, ABI_VERSION_SECTION)[0];
  if (s === undefined || s.byteLength < 2) return 0x0100;
  return new DataView(s).getUint16(0, true);
}

/**
 * Whether a new thread gets SYSCALL_STATUS_NEW_THREAD and its own half of the return area (ABI 1.1),
 * rather than the 1.0 area at `ret` that it shares with its creator (docs/commonassembly.md §5).
 */
export function ownThreadAnswers(module: WebAssembly.Module): boolean {
  return moduleAbiVersion(module) >= ABI_VERSION_THREAD_ANSWERS;
}

/**
 * Memories at least this large travel to a fork child through a host shared-memory segment (one copy
 * on each side) rather than by value through two IPC hops and two thread hops (six copies and two
 * pipe transfers): docs/kernel.md "CREATE_PROCESS". Smaller ones are cheaper by value.
 */
export const FORK_SEGMENT_MIN_BYTES = 1 << 20;

/** The memory part of a fork image; `release` once the kernel has answered the CREATE_PROCESS. */
export interface MemoryImage {
  memory: Uint8Array;
  memorySegment?: { name: string; length: number };
  release(): void;
}

/** Snapshot `memory` for a fork child: into a new host segment when large and the host has them. */
export function memoryImage(
  memory: WebAssembly.Memory,
  native: Pick<HostNative, "createSegment"> = hostNative(),
): MemoryImage {
  const bytes = new Uint8Array(memory.buffer);
  if (bytes.length >= FORK_SEGMENT_MIN_BYTES) {
    let seg: SharedSegment | undefined;
    try {
      seg = native.createSegment(bytes.length, "fork");
    } catch {
      // no host shared memory here (docs/kernel.md): by value
    }
    if (seg !== undefined) {
      const s = seg;
      s.write(bytes, 0);
      return {
        memory: new Uint8Array(0),
        memorySegment: { name: s.name, length: bytes.length },
        release: () => s.close(),
      };
    }
  }
  return { memory: bytes.slice(), release: () => {} };
}

/** A fork child: grow `memory` to the parent's size and copy the parent's memory into it. */
export function restoreMemoryImage(
  fork: ForkImage,
  memory: WebAssembly.Memory,
  native: Pick<HostNative, "openSegment"> = hostNative(),
): void {
  const length = forkMemoryLength(fork);
  const have = memory.buffer.byteLength / WASM_PAGE_SIZE;
  const want = length / WASM_PAGE_SIZE;
  if (want > have) memory.grow(want - have);
  const to = new Uint8Array(memory.buffer);
  if (fork.memorySegment === undefined) {
    to.set(fork.memory);
    return;
  }
  const seg = native.openSegment(fork.memorySegment.name, length);
  try {
    seg.read(to.subarray(0, length), 0);
  } finally {
    seg.close();
  }
}

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

/**
 * The SharedArrayBuffer of a process' threads: word 0 the last thread identifier given, word 1 the fork
 * lock, word 2 the most threads the process may have at once (the home's registry key
 * system.processes.max_threads; 0: no limit), then one pair of words per slot: the identifier of the
 * live thread holding it (0: free) and the slot of the thread that created it (-1: none). Slot 0 is
 * the main thread's (docs/kernel.md "Limits").
 */
export function createThreadIds(maxThreads = 0): SharedArrayBuffer {
  const slots = Math.max(0, Math.floor(maxThreads));
  const t = new SharedArrayBuffer(12 + 8 * slots);
  const w = new Int32Array(t);
  w[0] = 1; // the main thread is thread 1
  w[2] = slots;
  if (slots > 0) {
    w[3] = 1;
    w[4] = -1;
  }
  return t;
}

/** The slot of a thread in a process without a thread limit, and of the main thread. */
export const UNCOUNTED_SLOT = -1;
export const MAIN_THREAD_SLOT = 0;

/**
 * A slot for new thread `tid` made by the thread holding slot `creator` (UNCOUNTED_SLOT for a thread
 * the kernel starts); undefined when the process already has its limit of live threads.
 */
export function takeThreadSlot(
  threads: SharedArrayBuffer,
  tid: number,
  creator: number,
): number | undefined {
  const w = new Int32Array(threads);
  const n = w[2] ?? 0;
  if (n === 0) return UNCOUNTED_SLOT;
  for (let i = 0; i < n; i++) {
    if (Atomics.compareExchange(w, 3 + 2 * i, 0, tid) === 0) {
      Atomics.store(w, 4 + 2 * i, creator);
      return i;
    }
  }
  return undefined;
}

/**
 * Thread `slot` ended: free its slot and those of the threads it created, and theirs (they end with it,
 * terminated without running any code of theirs, so their creator frees them). Their thread ids (none
 * in a process without a thread limit: its threads have no slot).
 */
export function releaseThreadSlots(threads: SharedArrayBuffer, slot: number): Set<number> {
  if (slot < 0) return new Set();
  const w = new Int32Array(threads);
  const n = w[2] ?? 0;
  const ended = new Set([slot]);
  for (let grew = true; grew; ) {
    grew = false;
    for (let i = 0; i < n; i++) {
      if (ended.has(i) || Atomics.load(w, 3 + 2 * i) === 0) continue;
      if (ended.has(Atomics.load(w, 4 + 2 * i))) {
        ended.add(i);
        grew = true;
      }
    }
  }
  const tids = new Set<number>();
  for (const i of ended) {
    tids.add(Atomics.load(w, 3 + 2 * i));
    Atomics.store(w, 4 + 2 * i, -1);
    Atomics.store(w, 3 + 2 * i, 0);
  }
  return tids;
}

/** Live threads of the process (counted only when it has a limit), and the limit. */
export function threadCount(threads: SharedArrayBuffer): { live: number; limit: number } {
  const w = new Int32Array(threads);
  const n = w[2] ?? 0;
  let live = 0;
  for (let i = 0; i < n; i++) if (Atomics.load(w, 3 + 2 * i) !== 0) live++;
  return { live, limit: n };
}
