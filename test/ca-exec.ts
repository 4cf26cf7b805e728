// A minimal executor for AOT-instrumented CommonAssembly modules, for tests only (the real runtime is the
// kernel's): sets up the control block, answers safepoints, and drives Asyncify for syscall_fork exactly
// as docs/commonassembly-aot.md ("How the runtime drives syscall_fork") describes.

import {
  ABI_IMPORT_MODULE,
  CONTROL_BLOCK_ADDRESS,
  CTL_GLOBAL,
  CTL_POLL_FLAG_OFFSET,
  FORK_GLOBAL_EXPORT_PREFIX,
  IMPORT_SAFEPOINT,
  IMPORT_SYSCALL,
  IMPORT_SYSCALL_FORK,
  RESERVED_LOW_MEMORY,
  RUNTIME_SCRATCH_ADDRESS,
} from "../commonassembly/abi/wasm-names.js";

const PAGE = 65536;
/** Asyncify's data struct {stack start, stack end} at the start of the runtime scratch area (ABI §7). */
export const CTL_ASYNCIFY_DATA = RUNTIME_SCRATCH_ADDRESS;
/** Asyncify's saved call stack follows it, up to the end of NightOS low memory. */
export const CTL_ASYNCIFY_STACK = RUNTIME_SCRATCH_ADDRESS + 8;

/** Asyncify's states (binaryen src/passes/Asyncify.cpp). */
const ASYNCIFY_NORMAL = 0;
const ASYNCIFY_UNWINDING = 1;
const ASYNCIFY_REWINDING = 2;

export type SyscallHandler = (
  memory: WebAssembly.Memory,
  req: number,
  reqLen: number,
  ret: number,
) => number;

export interface TestProcessOptions {
  /** Called for every safepoint, after the flag was cleared (it may request another). */
  onSafepoint?: (proc: TestProcess) => void;
  /** Handles `nightos.syscall`. Default: returns 0x100 | 0x01 (no such syscall). */
  syscall?: SyscallHandler;
  /**
   * Handles the *real work* of `nightos.syscall_fork` in the parent, after the snapshot: returns the
   * parent's status and writes its 8-byte return value. The child gets status 0 and return value 0.
   */
  fork?: (
    parent: TestProcess,
    child: TestProcess,
    req: number,
    reqLen: number,
    ret: number,
  ) => number;
}

interface Exports {
  memory: WebAssembly.Memory;
  ctl: WebAssembly.Global;
  start: (() => void) | undefined;
  asyncify:
    | {
        startUnwind: (data: number) => void;
        stopUnwind: () => void;
        startRewind: (data: number) => void;
        stopRewind: () => void;
        getState: () => number;
      }
    | undefined;
}

function exportsOf(instance: WebAssembly.Instance): Exports {
  const e = instance.exports as Record<string, unknown>;
  const memory = e.memory;
  const ctl = e[CTL_GLOBAL];
  if (!(memory instanceof WebAssembly.Memory))
    throw new Error("module does not export its memory as `memory`");
  if (!(ctl instanceof WebAssembly.Global))
    throw new Error(`module lacks the AOT global ${CTL_GLOBAL}`);
  const f = (name: string): ((...a: number[]) => number) | undefined =>
    typeof e[name] === "function" ? (e[name] as (...a: number[]) => number) : undefined;
  const su = f("asyncify_start_unwind");
  const xu = f("asyncify_stop_unwind");
  const sr = f("asyncify_start_rewind");
  const xr = f("asyncify_stop_rewind");
  const gs = f("asyncify_get_state");
  return {
    memory,
    ctl,
    start: f("_start"),
    asyncify:
      su && xu && sr && xr && gs
        ? { startUnwind: su, stopUnwind: xu, startRewind: sr, stopRewind: xr, getState: gs }
        : undefined,
  };
}

/** One instance of a module run the way the NCW runtime will run it (single-threaded, for tests). */
export class TestProcess {
  readonly instance: WebAssembly.Instance;
  readonly memory: WebAssembly.Memory;
  /** Address of the control page (word 0 = poll flag). */
  readonly ctlAddr: number;
  safepoints = 0;
  forkCalls = 0;
  /** Status the next rewind of syscall_fork returns (set by the fork protocol). */
  private pendingForkStatus: number | undefined;
  private readonly ex: Exports;

  private constructor(
    readonly module: WebAssembly.Module,
    private readonly options: TestProcessOptions,
  ) {
    const nightos: Record<string, (...a: number[]) => number | undefined> = {
      [IMPORT_SAFEPOINT]: () => {
        if (this === undefined) return undefined;
        this.safepoints++;
        // What the kernel does: handle the requests, then clear the flag word (docs/commonassembly-aot.md).
        this.setPollFlag(false);
        options.onSafepoint?.(this);
        return undefined;
      },
      [IMPORT_SYSCALL]: (req = 0, len = 0, ret = 0) =>
        this === undefined ? 0x101 : (options.syscall?.(this.memory, req, len, ret) ?? 0x101),
      [IMPORT_SYSCALL_FORK]: (req = 0, len = 0, ret = 0) =>
        this === undefined ? 0x101 : this.onFork(req, len, ret),
    };
    this.instance = new WebAssembly.Instance(module, { [ABI_IMPORT_MODULE]: nightos });
    this.ex = exportsOf(this.instance);
    this.memory = this.ex.memory;
    // ABI 1.0: the control block is NightOS low memory at address 0 (docs/commonassembly.md §7).
    this.ctlAddr = CONTROL_BLOCK_ADDRESS;
    this.ex.ctl.value = this.ctlAddr;
  }

  static create(module: WebAssembly.Module, options: TestProcessOptions = {}): TestProcess {
    return new TestProcess(module, options);
  }

  get i32(): Int32Array {
    return new Int32Array(this.memory.buffer);
  }

  private requests = 0;

  /** Requests a safepoint (a new non-zero flag value each time) or clears the request. */
  setPollFlag(on: boolean): void {
    Atomics.store(this.i32, (this.ctlAddr + CTL_POLL_FLAG_OFFSET) >> 2, on ? ++this.requests : 0);
  }

  /** Runs `_start` (to completion, or until an unwind for fork returns control to the runtime). */
  runStart(): void {
    const start = this.ex.start;
    if (start === undefined) throw new Error("module has no _start export");
    for (;;) {
      start();
      const a = this.ex.asyncify;
      if (a === undefined || a.getState() !== ASYNCIFY_UNWINDING) return;
      // syscall_fork unwound the stack to here: finish the fork and rewind both sides.
      a.stopUnwind();
      this.completeFork();
    }
  }

  /** The fork that unwound; set by onFork, consumed by completeFork. */
  private forkRequest: { req: number; len: number; ret: number } | undefined;
  /** Children created by fork, in order. */
  readonly children: TestProcess[] = [];

  private onFork(req: number, len: number, ret: number): number {
    const a = this.ex.asyncify;
    if (a === undefined) throw new Error("syscall_fork called in a module without Asyncify");
    const state = a.getState();
    if (state === ASYNCIFY_REWINDING) {
      a.stopRewind();
      const status = this.pendingForkStatus ?? 0;
      this.pendingForkStatus = undefined;
      return status;
    }
    if (state !== ASYNCIFY_NORMAL) throw new Error(`syscall_fork in Asyncify state ${state}`);
    this.forkCalls++;
    const data = CTL_ASYNCIFY_DATA;
    this.i32[data >> 2] = CTL_ASYNCIFY_STACK;
    this.i32[(data >> 2) + 1] = RESERVED_LOW_MEMORY;
    this.forkRequest = { req, len, ret };
    a.startUnwind(data);
    return 0; // ignored while unwinding
  }

  private completeFork(): void {
    const fr = this.forkRequest;
    const a = this.ex.asyncify;
    if (fr === undefined || a === undefined) throw new Error("unwind without a fork request");
    this.forkRequest = undefined;
    // The child: a new instance whose memory and mutable globals are copies of the parent's.
    const child = new TestProcess(this.module, this.options);
    const pages = this.memory.buffer.byteLength / PAGE;
    const have = child.memory.buffer.byteLength / PAGE;
    if (pages > have) child.memory.grow(pages - have);
    new Uint8Array(child.memory.buffer).set(new Uint8Array(this.memory.buffer));
    const pe = this.instance.exports as Record<string, unknown>;
    const ce = child.instance.exports as Record<string, unknown>;
    for (const [name, value] of Object.entries(pe)) {
      if (!name.startsWith(FORK_GLOBAL_EXPORT_PREFIX)) continue;
      const cg = ce[name];
      if (value instanceof WebAssembly.Global && cg instanceof WebAssembly.Global)
        cg.value = value.value;
    }
    child.ex.ctl.value = this.ctlAddr;
    // The parent's status and return value come from the fork handler; the child's are 0.
    const status = this.options.fork?.(this, child, fr.req, fr.len, fr.ret) ?? 0;
    new DataView(child.memory.buffer).setBigUint64(fr.ret, 0n, true);
    child.pendingForkStatus = 0;
    this.pendingForkStatus = status;
    this.children.push(child);
    const data = CTL_ASYNCIFY_DATA;
    child.ex.asyncify?.startRewind(data);
    child.runStart();
    a.startRewind(data);
  }
}
