// Process syscalls the kernel server answers (specs/kernel/syscalls.md 0x50–0x55): they involve other
// processes, so the runner forwards them. Same uniform shape as the runner's handlers: decoded
// arguments in, the spec's result out.

import { GenericErr, Sig } from "../../commonassembly/abi/numbers.js";
import { fail, ok, type SysResult } from "../../commonassembly/abi/result.js";
import {
  type ArgsOf,
  CREATE_PROCESS,
  KILL_CHILD_PROCESS,
  MEM_ALLOC,
  type ResultOf,
  SUSPEND,
  type SyscallDef,
  UNSUSPEND,
  WAIT_CHILD_PROCESS,
} from "../../commonassembly/abi/syscalls.js";
import type { ForkImage } from "../protocol.js";
import type { Kernel, KProcess } from "./kernel.js";

/** What a forwarded request carries besides its bytes: CREATE_PROCESS' memory image. */
export interface KernelExtra {
  fork: ForkImage | undefined;
}

export type KernelHandler<D extends SyscallDef> = (
  k: Kernel,
  caller: KProcess,
  args: ArgsOf<D>,
  extra: KernelExtra,
) => Promise<ResultOf<D>>;
type AnyKernelHandler = (
  k: Kernel,
  caller: KProcess,
  args: unknown,
  extra: KernelExtra,
) => Promise<SysResult<unknown>>;

function bind<D extends SyscallDef>(def: D, h: KernelHandler<D>): [number, AnyKernelHandler] {
  return [def.code, h as unknown as AnyKernelHandler];
}

/** A child of `caller` (created by it), or undefined. */
function childOf(k: Kernel, caller: KProcess, pid: bigint): KProcess | undefined {
  const p = k.processes.get(Number(pid));
  return p !== undefined && p.ppid === caller.pid ? p : undefined;
}

/** True if `p` is `caller`'s parent, its parent's parent, … (its end kills `caller`: processes.md). */
function isAncestorOf(k: Kernel, p: KProcess, caller: KProcess): boolean {
  for (let q = k.processes.get(caller.ppid); q !== undefined; q = k.processes.get(q.ppid)) {
    if (q === p) return true;
  }
  return false;
}

/**
 * Not a syscall handler: MEM_ALLOC's runner handler sends its request here, with the size of the
 * growth it needs, only to count it against the home's memory limit (syscalls/memory.ts).
 */
export const MEMORY_RESERVATION = bind(MEM_ALLOC, async (k, caller, a) =>
  k.reserveMemory(caller, Number(a.size))
    ? ok({ address: 0n })
    : fail(MEM_ALLOC.errors.NO_CONTIGUOUS_BLOCK),
);

export const KERNEL_HANDLERS: ReadonlyMap<number, AnyKernelHandler> = new Map([
  bind(CREATE_PROCESS, async (k, caller, _a, { fork }) => {
    // The runner sends the image only for a well-formed call through syscall_fork (runner/fork.ts).
    if (fork === undefined) return fail(GenericErr.INVALID_ARGUMENT);
    // The home's limits are a lack of resources: the spec's 0x40 (docs/kernel.md "Limits").
    const refused = k.admit(fork.memory.length);
    if (refused !== undefined) {
      k.refusedLine(caller, `CREATE_PROCESS refused: ${refused}`);
      return fail(CREATE_PROCESS.errors.HARDWARE);
    }
    let child: KProcess;
    try {
      child = k.spawn({
        name: caller.name,
        wasm: caller.wasm,
        context: caller.context,
        anid: caller.anid,
        ppid: caller.pid,
        trace: caller.trace,
        session: caller.session,
        fork,
        priority: caller.priority,
      });
    } catch {
      return fail(CREATE_PROCESS.errors.HARDWARE);
    }
    return ok({ id: BigInt(child.pid), identity: 0, initData: 0n });
  }),
  bind(WAIT_CHILD_PROCESS, async (k, caller, a) => {
    const child = k.processes.get(Number(a.pid));
    // "does not exist or does not belong to the current application"; _decision_ (docs/kernel.md): not
    // the caller itself nor one of its ancestors, whose end kills the caller before the wait could end.
    if (
      child === undefined ||
      child.anid !== caller.anid ||
      child.pid === caller.pid ||
      isAncestorOf(k, child, caller)
    ) {
      return fail(WAIT_CHILD_PROCESS.errors.NO_SUCH_CHILD);
    }
    const ended = await k.waitFor(child, a.timeout);
    return ok({ terminated: ended ? 1 : 0 });
  }),
  bind(KILL_CHILD_PROCESS, async (k, caller, a) => {
    const child = childOf(k, caller, a.pid);
    if (child === undefined) return fail(GenericErr.INVALID_ARGUMENT);
    if (child.state !== "exited") {
      const delay = a.timeout === 0 ? k.delays.terminate : a.timeout;
      k.signal(child, Sig.WILL_TERMINATE, { delayMs: delay });
      await k.waitFor(child, 0);
    }
    const o = child.outcome;
    return ok({ exitData: o?.kind === "exit" ? o.exitData : 0n });
  }),
  bind(SUSPEND, async (k, caller, a) => {
    if (a.pid === 0n) {
      // Suspending oneself: the call returns when someone unsuspends the process.
      return new Promise((resolve) => {
        caller.selfSuspendReply = (ms) => resolve(ok({ duration: ms }));
        k.suspend(caller);
      });
    }
    const child = childOf(k, caller, a.pid);
    if (child === undefined || child.state === "exited") return fail(SUSPEND.errors.NO_SUCH_CHILD);
    k.suspend(child);
    return ok({ duration: 0n });
  }),
  bind(UNSUSPEND, async (k, caller, a) => {
    const child = a.pid === 0n ? undefined : childOf(k, caller, a.pid);
    if (child === undefined || child.state === "exited")
      return fail(UNSUSPEND.errors.NO_SUCH_CHILD);
    return ok({ duration: k.unsuspend(child) });
  }),
]);
