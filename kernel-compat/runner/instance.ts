// The instance host every thread of a process runs on (docs/kernel.md "Runner", "Threads"): the worker
// running the main thread and those running created threads share it. It provides the module's
// `nightos.syscall` and `nightos.syscall_fork`, and serves the calls that return twice (CREATE_PROCESS,
// CREATE_THREAD: docs/commonassembly.md §5): Asyncify unwinds the caller's stack into the fork buffer,
// `run` takes the call, and the caller rewinds into syscall_fork with its answer.

import { GenericErr } from "../../commonassembly/abi/numbers.js";
import {
  ACCEPT_SERVICE_CONN,
  CREATE_PROCESS,
  CREATE_THREAD,
} from "../../commonassembly/abi/syscalls.js";
import {
  errorStatus,
  NEW_THREAD_RET_OFFSET,
  SYSCALL_RET_SIZE,
  SYSCALL_STATUS_NEW_THREAD,
  THREAD_RET_SIZE,
} from "../../commonassembly/abi/wasm-names.js";
import type { ForkImage } from "../protocol.js";
import { dispatch, formatErr, validateRequest } from "../syscalls/dispatch.js";
import { dispatchProxied } from "../syscalls/proxied.js";
import {
  ASYNCIFY_REWINDING,
  ASYNCIFY_UNWINDING,
  type Asyncify,
  type ForkLock,
  forkGlobals,
  memoryImage,
  prepareForkBuffer,
} from "./fork.js";
import type { KernelAnswer, Proc } from "./process.js";
import type { ProxyLink } from "./proxy.js";

/**
 * What syscall_fork returns once the stack has been rewound into it. A status of
 * SYSCALL_STATUS_NEW_THREAD (an ABI 1.1 new thread) puts `ret` in the area's second half.
 */
export interface Resume {
  status: number;
  ret: Uint8Array;
}

/** How a thread's worker carries out a call that returns twice. */
export interface ForkServices {
  /** CREATE_THREAD, once the creator's stack is unwound into the fork buffer at `data`. */
  startThread(data: number, initData: bigint): Resume;
  /** ACCEPT_SERVICE_CONN (request bytes `req`), once the dispatcher's stack is unwound at `data`. */
  acceptConnection(data: number, req: Uint8Array): Resume;
  /** CREATE_PROCESS: send the request and the process' image to the kernel; its answer. */
  forkToKernel(req: Uint8Array, image: ForkImage): KernelAnswer;
}

export class InstanceHost {
  /** Set once the module is instantiated (undefined: the AOT step gave it no Asyncify). */
  asyncify: Asyncify | undefined;
  /** Set once the thread's Proc exists. */
  proc: Proc | undefined;
  /** The main thread's link to the process' application proxy, set before instantiation; none: not proxied. */
  proxy: ProxyLink | undefined;
  /** The call in progress: set when syscall_fork starts unwinding, taken by `run`. */
  private call:
    | {
        req: number;
        len: number;
        data: number;
        initData: bigint;
        /** What the call makes: a thread (CREATE_THREAD), a client thread (ACCEPT), a process. */
        kind: "thread" | "accept" | "process";
      }
    | undefined;
  private resume: Resume | undefined;

  constructor(
    private readonly o: {
      /** The module shares its memory (imports nightos.memory): CREATE_THREAD can be made. */
      canThread: boolean;
      /**
       * ABI 1.1: CREATE_THREAD needs an 80-byte return area, the creator's half at `ret` and the new
       * thread's at `ret + 40` (`ownThreadAnswers` in fork.ts); false for a 1.0 program.
       */
      ownThreadAnswers: boolean;
      forkLock: ForkLock;
      trace: ((line: string) => void) | undefined;
      /** Runs when a rewind into syscall_fork has ended (a thread frees its copy of the creator's stack). */
      onRewound?: () => void;
    },
  ) {}

  /** `nightos.syscall`. */
  readonly syscall = (req: number, len: number, ret: number): number =>
    this.proc === undefined
      ? errorStatus(GenericErr.MEMORY_READ)
      : dispatch(this.proc, req, len, ret, false);

  /** `nightos.syscall` of a proxied main thread (the import is chosen once, at instantiation). */
  readonly syscallProxied = (req: number, len: number, ret: number): number =>
    this.proc === undefined || this.proxy === undefined
      ? errorStatus(GenericErr.MEMORY_READ)
      : dispatchProxied(this.proc, this.proxy, req, len, ret);

  /** `nightos.syscall_fork`. */
  readonly syscallFork = (req: number, len: number, ret: number): number => {
    const proc = this.proc;
    const asyncify = this.asyncify;
    if (proc === undefined) return errorStatus(GenericErr.MEMORY_READ);
    if (asyncify?.getState() === ASYNCIFY_REWINDING) {
      asyncify.stopRewind();
      this.o.onRewound?.();
      this.o.forkLock.release();
      const r = this.resume ?? {
        status: errorStatus(CREATE_PROCESS.errors.HARDWARE),
        ret: new Uint8Array(0),
      };
      this.resume = undefined;
      // Each thread's answer goes to its own half (1.1: the new thread's status says it is the new
      // one); the other half is never touched, so the other thread may read its own whenever it likes.
      const at = r.status === SYSCALL_STATUS_NEW_THREAD ? ret + NEW_THREAD_RET_OFFSET : ret;
      const mem = proc.bytes();
      mem.fill(0, at, at + SYSCALL_RET_SIZE);
      mem.set(r.ret, at);
      return r.status;
    }
    const v = validateRequest(proc, req, len, ret, true);
    const code = v.ok ? v.def.code : -1;
    // A call that starts a thread in this process needs a shared memory (else its runner handler fails).
    const kind =
      code === CREATE_PROCESS.code
        ? "process"
        : this.o.canThread && code === CREATE_THREAD.code
          ? "thread"
          : this.o.canThread && code === ACCEPT_SERVICE_CONN.code
            ? "accept"
            : undefined;
    const thread = kind === "thread" || kind === "accept";
    if (!v.ok || kind === undefined || asyncify === undefined || proc.signals.handling) {
      // Everything but a well-formed call that can be made outside a handler goes the ordinary way
      // (its errors, CREATE_THREAD in a module that cannot share its memory).
      return dispatch(proc, req, len, ret, true);
    }
    if (thread && this.o.ownThreadAnswers && ret + THREAD_RET_SIZE > proc.bytes().length) {
      this.o.trace?.(
        `${v.name}: the ${THREAD_RET_SIZE}-byte return area at ${ret} lies outside linear memory -> ${formatErr(v.def, GenericErr.UNMAPPED_POINTER)}`,
      );
      return errorStatus(GenericErr.UNMAPPED_POINTER);
    }
    this.o.forkLock.acquire();
    const data = prepareForkBuffer(proc.memory);
    if (data === undefined) {
      this.o.forkLock.release();
      this.o.trace?.(
        `${v.name}: the fork buffer named in the control block is unusable -> ${formatErr(v.def, CREATE_PROCESS.errors.HARDWARE)}`,
      );
      return errorStatus(CREATE_PROCESS.errors.HARDWARE);
    }
    const initData = kind === "accept" ? 0n : (v.args as { initData: bigint }).initData;
    this.call = { req, len, data, initData, kind };
    asyncify.startUnwind(data);
    return 0; // ignored while unwinding
  };

  /** Have the next `run` rewind from the fork buffer at `at` into syscall_fork, which returns `r`. */
  rewindWith(r: Resume, at: number): void {
    this.resume = r;
    this.asyncify?.startRewind(at);
  }

  /** Call `entry` until it returns with no call in progress, serving each call that unwound it. */
  run(entry: () => void, ex: Record<string, unknown>, services: ForkServices): void {
    for (;;) {
      entry();
      const asyncify = this.asyncify;
      if (asyncify === undefined || asyncify.getState() !== ASYNCIFY_UNWINDING) return;
      asyncify.stopUnwind();
      const f = this.call;
      this.call = undefined;
      const proc = this.proc;
      if (f === undefined || proc === undefined)
        throw new Error("Asyncify unwound without a fork in progress");
      if (f.kind === "thread") {
        this.resume = services.startThread(f.data, f.initData);
      } else if (f.kind === "accept") {
        this.resume = services.acceptConnection(f.data, proc.bytes().slice(f.req, f.req + f.len));
      } else {
        const { release, ...memory } = memoryImage(proc.memory);
        if (memory.memorySegment !== undefined)
          this.o.trace?.(
            `CREATE_PROCESS: the memory image (${(memory.memorySegment.length / 1048576).toFixed(1)} MiB) goes through a host segment`,
          );
        const image: ForkImage = {
          ...memory,
          globals: forkGlobals(ex),
          initData: f.initData,
          pages: proc.pages.snapshot(),
          tls: proc.tlsImage(),
        };
        let answer: KernelAnswer;
        try {
          answer = services.forkToKernel(proc.bytes().slice(f.req, f.req + f.len), image);
        } finally {
          // The kernel has mapped the image (or refused the call): the parent's copy can go.
          release();
        }
        this.resume =
          answer.errcode === null
            ? { status: 0, ret: answer.ret }
            : { status: errorStatus(answer.errcode), ret: new Uint8Array(0) };
      }
      asyncify.startRewind(f.data);
    }
  }
}
