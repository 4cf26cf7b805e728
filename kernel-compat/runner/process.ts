// The in-process half of a NightOS process (runs in the runner's worker thread): its identity, execution
// context, signal state, page allocator and TLS slots, plus the bridge to the kernel server for the
// syscalls the runner cannot answer itself.

import { PageAllocator } from "./memory.js";
import { type HandlerEnv, SignalState } from "./signals.js";

/** TLS limits NCW chooses (the spec gives none): slots per thread and bytes per slot. */
export const TLS_MAX_SLOTS = 1024;
export const TLS_MAX_BYTES = 1 << 20;

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
  toKernel(req: Uint8Array): KernelAnswer;
  /** Tell the kernel which signals now have a handler (it needs it for IPC checks). */
  onHandledChange(signals: number[]): void;
  trace: ((line: string) => void) | undefined;
  /** Move signals the kernel sent into the process' queue (called before each delivery point). */
  pullSignals(): void;
}

export class Proc {
  readonly pid: number;
  readonly ppid: number;
  readonly context: Uint8Array;
  readonly memory: WebAssembly.Memory;
  readonly signals = new SignalState();
  readonly pages: PageAllocator;
  readonly tls = new Map<bigint, Uint8Array>();
  private nextTls = 1n;
  readonly handlerEnv: HandlerEnv;
  readonly toKernel: (req: Uint8Array) => KernelAnswer;
  readonly onHandledChange: (signals: number[]) => void;
  readonly trace: ((line: string) => void) | undefined;
  readonly pullSignals: () => void;

  constructor(o: ProcOptions) {
    this.pid = o.pid;
    this.ppid = o.ppid;
    this.context = o.context;
    this.memory = o.memory;
    this.pages = new PageAllocator(o.memory);
    this.handlerEnv = o.handlerEnv;
    this.toKernel = o.toKernel;
    this.onHandledChange = o.onHandledChange;
    this.trace = o.trace;
    this.pullSignals = o.pullSignals;
  }

  newTlsSlot(): bigint | undefined {
    if (this.tls.size >= TLS_MAX_SLOTS) return undefined;
    const id = this.nextTls++;
    this.tls.set(id, new Uint8Array(0));
    return id;
  }

  /** The memory's current bytes (a fresh view: the memory may have grown). */
  bytes(): Uint8Array {
    return new Uint8Array(this.memory.buffer);
  }

  /**
   * Check a buffer the kernel will read or write: address 0 is an invalid argument (0x02), a range
   * past the memory's end is an unmapped pointer (0x03). Returns the errcode, or undefined if usable.
   */
  checkBuffer(addr: bigint, len: bigint): number | undefined {
    if (addr === 0n) return 0x02;
    if (addr + len > BigInt(this.memory.buffer.byteLength)) return 0x03;
    return undefined;
  }
}
