// The in-process half of a NightOS process (runs in the runner's worker thread): its identity, execution
// context, signal state, page allocator and TLS slots, plus the bridge to the kernel server for the
// syscalls the runner cannot answer itself.

import { GenericErr } from "../../commonassembly/abi/numbers.js";
import type { Errcode } from "../../commonassembly/abi/result.js";
import {
  CONTROL_BLOCK_ADDRESS,
  CTL_POLL_FLAG_OFFSET,
} from "../../commonassembly/abi/wasm-names.js";
import type { TlsImage } from "../protocol.js";
import type { BufferArea } from "../syscalls/buffers.js";
import type { AmsMappings } from "./ams.js";
import { AmsMark, PageAllocator } from "./memory.js";
import type { PipeRings } from "./pipes.js";
import { type HandlerEnv, SignalState } from "./signals.js";
import type { SocketRings } from "./sockets.js";

/** TLS limits NCW chooses (the spec gives none): slots per thread and bytes per slot. */
export const TLS_MAX_SLOTS = 1024;
export const TLS_MAX_BYTES = 1 << 20;
/**
 * The longest HAND_OVER sleeps (docs/kernel.md, "HAND_OVER"): the end of a NightOS cycle has no host
 * equivalent, so the thread gives its CPU up until a signal is raised for the process, at most this long.
 */
export const HAND_OVER_MAX_MS = 1;

/** A kernel syscall's buffers (syscalls/buffers.ts): the bytes the kernel reads, where it writes. */
export interface KernelBuffers {
  read: Uint8Array[];
  out: BufferArea[];
}

export interface KernelAnswer {
  errcode: number | null;
  ret: Uint8Array;
}

export interface ProcOptions {
  pid: number;
  ppid: number;
  context: Uint8Array;
  memory: WebAssembly.Memory;
  handlerEnv: HandlerEnv;
  /** Send a raw syscall request to the kernel server and block until it answers. */
  toKernel(req: Uint8Array, buffers?: KernelBuffers): KernelAnswer;
  /** Tell the kernel the handler set changed (the relay reads it from the shared SHT and sends it). */
  onHandledChange(): void;
  trace: ((line: string) => void) | undefined;
  /** Move signals the kernel sent into the process' queue (called before each delivery point). */
  pullSignals(): void;
  /** Whether a signal waits for this thread (HAND_OVER then returns at once); none: never. */
  signalsWaiting?(): boolean;
  /** This thread's identifier (1 = the main thread) and the process' shared TLS slot table. */
  tid?: number;
  tlsSlots?: SharedArrayBuffer;
  /** The process' SHT and readiness indicator (runner/signals.ts SharedSht), shared by its threads. */
  sht?: SharedArrayBuffer;
  /** The page allocator's state, shared by the process' threads (memory.ts). */
  pages?: SharedArrayBuffer;
  /** The pipe ends this thread can use (pipes.ts); none: every identifier names nothing. */
  pipes?: PipeRings;
  /** The service-socket ends this thread can use (sockets.ts); none: every identifier names nothing. */
  sockets?: SocketRings;
  /** The process' AMS mappings (ams.ts), shared by its threads. */
  ams?: AmsMappings;
}

/** The process-wide TLS slot table shared by its threads: [generation counter, state of slot 1..N]. */
export function createTlsSlots(): SharedArrayBuffer {
  return new SharedArrayBuffer(4 * (TLS_MAX_SLOTS + 1));
}

export class Proc {
  readonly pid: number;
  /** The same PID as the u64 the ABI answers it in (GET_PID), made once. */
  readonly pid64: bigint;
  readonly ppid: number;
  readonly context: Uint8Array;
  readonly memory: WebAssembly.Memory;
  readonly signals: SignalState;
  readonly pages: PageAllocator;
  /** This thread's values: slot → {generation of the slot it was written for, data}. */
  private readonly tlsValues = new Map<bigint, { gen: number; data: Uint8Array }>();
  /** Slot identifiers are process-wide (technical/processes.md): 0 = free, else the slot's generation. */
  private readonly tlsSlots: Int32Array;
  readonly tid: number;
  readonly handlerEnv: HandlerEnv;
  readonly toKernel: (req: Uint8Array, buffers?: KernelBuffers) => KernelAnswer;
  readonly onHandledChange: () => void;
  readonly trace: ((line: string) => void) | undefined;
  readonly pullSignals: () => void;
  private readonly signalsWaiting: () => boolean;
  readonly pipes: PipeRings | undefined;
  readonly sockets: SocketRings | undefined;
  readonly ams: AmsMappings | undefined;

  constructor(o: ProcOptions) {
    this.pipes = o.pipes;
    this.sockets = o.sockets;
    this.ams = o.ams;
    this.pid = o.pid;
    this.pid64 = BigInt(o.pid);
    this.ppid = o.ppid;
    this.context = o.context;
    this.memory = o.memory;
    this.pages = new PageAllocator(o.memory, o.pages);
    this.handlerEnv = o.handlerEnv;
    this.toKernel = o.toKernel;
    this.onHandledChange = o.onHandledChange;
    this.trace = o.trace;
    this.pullSignals = o.pullSignals;
    this.signalsWaiting = o.signalsWaiting ?? (() => false);
    this.tid = o.tid ?? 1;
    this.signals = new SignalState(o.sht);
    this.tlsSlots = new Int32Array(o.tlsSlots ?? createTlsSlots());
  }

  get isMainThread(): boolean {
    return this.tid === 1;
  }

  newTlsSlot(): bigint | undefined {
    for (let i = 1; i <= TLS_MAX_SLOTS; i++) {
      if (Atomics.load(this.tlsSlots, i) !== 0) continue;
      const gen = Atomics.add(this.tlsSlots, 0, 1) + 1;
      if (Atomics.compareExchange(this.tlsSlots, i, 0, gen) === 0) return BigInt(i);
    }
    return undefined;
  }

  private slotGen(slot: bigint): number {
    if (slot < 1n || slot > BigInt(TLS_MAX_SLOTS)) return 0;
    return Atomics.load(this.tlsSlots, Number(slot));
  }

  tlsExists(slot: bigint): boolean {
    return this.slotGen(slot) !== 0;
  }

  /** This thread's value of a slot (empty if it never wrote it); undefined if the slot does not exist. */
  tlsRead(slot: bigint): Uint8Array | undefined {
    const gen = this.slotGen(slot);
    if (gen === 0) return undefined;
    const v = this.tlsValues.get(slot);
    return v !== undefined && v.gen === gen ? v.data : new Uint8Array(0);
  }

  tlsWrite(slot: bigint, data: Uint8Array): boolean {
    const gen = this.slotGen(slot);
    if (gen === 0) return false;
    this.tlsValues.set(slot, { gen, data });
    return true;
  }

  tlsDelete(slot: bigint): boolean {
    const gen = this.slotGen(slot);
    if (gen === 0) return false;
    this.tlsValues.delete(slot);
    return Atomics.compareExchange(this.tlsSlots, Number(slot), gen, 0) === gen;
  }

  /** A fork child's copy: the slot table and this thread's values (processes.md: a 1:1 copy). */
  tlsImage(): TlsImage {
    const values: TlsImage["values"] = [];
    for (const [slot, v] of this.tlsValues)
      if (this.slotGen(slot) === v.gen) values.push([slot, v.gen, v.data]);
    return { slots: Int32Array.from(this.tlsSlots), values };
  }

  /** Start from a parent's TLS image (a fork child's main thread, before `_start` resumes). */
  restoreTls(img: TlsImage): void {
    for (let i = 0; i < this.tlsSlots.length; i++)
      Atomics.store(this.tlsSlots, i, img.slots[i] ?? 0);
    for (const [slot, gen, data] of img.values) this.tlsValues.set(slot, { gen, data });
  }

  /**
   * HAND_OVER (syscalls.md 0x56: "no additional work to do for now"): sleep on the poll flag until a
   * signal is raised for the process (raisePollFlag wakes it) or `maxMs` pass; at once when a signal
   * already waits. The signals are then delivered as the syscall returns, as for any syscall.
   */
  handOver(maxMs = HAND_OVER_MAX_MS): void {
    const buffer = this.memory.buffer;
    if (!(buffer instanceof SharedArrayBuffer)) {
      // Nobody can wake a private memory's flag: the sleep is the whole slice.
      if (!this.signalsWaiting()) Atomics.wait(privateWord(), 0, 0, maxMs);
      return;
    }
    const words = new Int32Array(buffer, CONTROL_BLOCK_ADDRESS, 1);
    const at = CTL_POLL_FLAG_OFFSET >> 2;
    // Read the flag before looking for signals: a raise in between changes it and the wait returns.
    const flag = Atomics.load(words, at);
    if (this.signalsWaiting()) return;
    Atomics.wait(words, at, flag, maxMs);
  }

  /** The memory's current bytes (a fresh view: the memory may have grown). */
  bytes(): Uint8Array {
    return new Uint8Array(this.memory.buffer);
  }

  private view: Uint8Array | undefined;
  private data: DataView | undefined;

  /**
   * A view of the memory that covers [0, end) if the memory is that large, else of all of it: the
   * syscall path's view (dispatch.ts). Cached, because reading `buffer` of a shared memory costs about
   * a fifth of a GET_PID: a memory never shrinks, a shared one keeps its bytes where they are when it
   * grows (an older view stays valid for what it covers), and a non-shared one that grew detached the
   * older view (length 0), so a view too short for `end` is the one case to look again.
   */
  bytesCovering(end: number): Uint8Array {
    const v = this.view;
    if (v !== undefined && v.length >= end) return v;
    const fresh = new Uint8Array(this.memory.buffer);
    this.view = fresh;
    this.data = undefined;
    return fresh;
  }

  /** A DataView over `bytesCovering(end)`'s bytes (cached with it). */
  dataCovering(end: number): DataView {
    const v = this.bytesCovering(end);
    // bytesCovering drops `data` whenever it makes a new view, so a cached one is over `v`.
    if (this.data === undefined) this.data = new DataView(v.buffer, v.byteOffset, v.length);
    return this.data;
  }

  /**
   * Check a buffer the kernel will read or write: address 0 is an invalid argument (0x02), a range
   * past the memory's end is an unmapped pointer (0x03). Returns the errcode, or undefined if usable.
   */
  checkBuffer(addr: bigint, len: bigint): Errcode<"*"> | undefined {
    if (addr === 0n) return GenericErr.INVALID_ARGUMENT;
    const end = addr + len;
    // Past any 32-bit memory; else against the cached view, fetched again only when it is too short.
    if (end > MAX_MEMORY_END) return GenericErr.UNMAPPED_POINTER;
    const n = Number(end);
    if (this.bytesCovering(n).length < n) return GenericErr.UNMAPPED_POINTER;
    return undefined;
  }

  /**
   * Whether the runner may write [addr, addr + len) of the memory: not where an AMS is mapped read-only
   * (a store there from JavaScript would fault outside WebAssembly and kill the runner; docs/ipc.md).
   */
  writable(addr: number, len: number): boolean {
    return !this.pages.anyMarked(addr, len, AmsMark.READ_ONLY);
  }
}

/** The end of the largest memory a 32-bit WebAssembly module can have (65,536 pages of 64 KiB). */
const MAX_MEMORY_END = 1n << 32n;

let ownWord: Int32Array | undefined;
function privateWord(): Int32Array {
  ownWord ??= new Int32Array(new SharedArrayBuffer(4));
  return ownWord;
}
