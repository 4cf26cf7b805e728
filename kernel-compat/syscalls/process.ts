// Process syscalls (specs/kernel/syscalls.md 0x50–0x5F) and the application syscall EXECUTION_CONTEXT
// (0xA0). The runner answers those about the calling process itself (0x53, 0x56, 0x5F, 0xA0); the kernel
// answers those that involve other processes (0x50–0x52, 0x54, 0x55), through KernelApi.

import {
  CONTEXT_BASE_SIZE,
  CONTEXT_COMMAND_HEADER_SIZE,
  StartupCode,
} from "../../commonassembly/abi/context.js";
import { ContextInfo, GenericErr, Sig } from "../../commonassembly/abi/numbers.js";
import { fail, ok } from "../../commonassembly/abi/result.js";
import {
  CREATE_PROCESS,
  EXECUTION_CONTEXT,
  EXIT,
  GET_PID,
  HAND_OVER,
  KILL_CHILD_PROCESS,
  SUSPEND,
  UNSUSPEND,
  WAIT_CHILD_PROCESS,
} from "../../commonassembly/abi/syscalls.js";
import type { KProcess } from "../kernel/process.js";
import { forkMemoryLength } from "../protocol.js";
import { ProcessEnd } from "../runner/signals.js";
import { bind, bindKernel } from "./result.js";

function headerLength(context: Uint8Array): number {
  const reason = context[0] ?? 0;
  return reason >> 4 === StartupCode.COMMAND ? CONTEXT_COMMAND_HEADER_SIZE : CONTEXT_BASE_SIZE;
}

export const processHandlers = [
  bind(GET_PID, (p) => ok({ pid: p.pid64 })),
  bind(HAND_OVER, (p) => {
    p.handOver();
    return ok({});
  }),
  bind(EXIT, (_p, a) => {
    throw new ProcessEnd({ kind: "exit", exitData: a.exitData });
  }),
  bind(EXECUTION_CONTEXT, (p, a) => {
    const h = headerLength(p.context);
    let part: Uint8Array;
    switch (a.info) {
      case ContextInfo.ALL:
        part = p.context;
        break;
      case ContextInfo.STARTUP_REASON:
        part = p.context.subarray(0, 1);
        break;
      case ContextInfo.HEADER:
        part = p.context.subarray(0, h);
        break;
      case ContextInfo.ARGUMENTS:
        part = p.context.subarray(h);
        break;
      default:
        return fail(EXECUTION_CONTEXT.errors.INVALID_INFO);
    }
    const bad = p.checkBuffer(a.buffer, BigInt(part.length));
    if (bad !== undefined) return fail(bad);
    p.bytes().set(part, Number(a.buffer));
    return ok({ written: BigInt(part.length) });
  }),
];

// ---- the kernel's half ----

export const processKernelHandlers = [
  bindKernel(CREATE_PROCESS, async (k, caller, _a, { fork }) => {
    // The runner sends the image only for a well-formed call through syscall_fork (runner/fork.ts).
    if (fork === undefined) return fail(GenericErr.INVALID_ARGUMENT);
    // The home's limits are a lack of resources: the spec's 0x40 (docs/kernel.md "Limits").
    const refused = k.admit(forkMemoryLength(fork));
    if (refused !== undefined) {
      k.refusedLine(caller, `CREATE_PROCESS refused: ${refused}`);
      return fail(CREATE_PROCESS.errors.HARDWARE);
    }
    let child: KProcess;
    try {
      child = k.spawnFork(caller, fork);
    } catch {
      return fail(CREATE_PROCESS.errors.HARDWARE);
    }
    return ok({ id: BigInt(child.pid), identity: 0, initData: 0n });
  }),
  bindKernel(WAIT_CHILD_PROCESS, async (k, caller, a) => {
    const child = k.processes.get(Number(a.pid));
    // "does not exist or does not belong to the current application"; _decision_ (docs/kernel.md): not
    // the caller itself nor one of its ancestors, whose end kills the caller before the wait could end.
    if (
      child === undefined ||
      child.anid !== caller.anid ||
      child.pid === caller.pid ||
      k.processes.isAncestorOf(child, caller)
    ) {
      return fail(WAIT_CHILD_PROCESS.errors.NO_SUCH_CHILD);
    }
    const ended = await k.waitFor(child, a.timeout);
    return ok({ terminated: ended ? 1 : 0 });
  }),
  bindKernel(KILL_CHILD_PROCESS, async (k, caller, a) => {
    const child = k.processes.childOf(caller, Number(a.pid));
    if (child === undefined) return fail(GenericErr.INVALID_ARGUMENT);
    if (child.state !== "exited") {
      const delay = a.timeout === 0 ? k.delays.terminate : a.timeout;
      k.signal(child, Sig.WILL_TERMINATE, { delayMs: delay });
      await k.waitFor(child, 0);
    }
    const o = child.outcome;
    return ok({ exitData: o?.kind === "exit" ? o.exitData : 0n });
  }),
  bindKernel(SUSPEND, async (k, caller, a) => {
    if (a.pid === 0n) {
      // Suspending oneself: the call returns when someone unsuspends the process.
      return new Promise((resolve) => {
        caller.selfSuspendReply = (ms) => resolve(ok({ duration: ms }));
        k.suspend(caller);
      });
    }
    const child = k.processes.childOf(caller, Number(a.pid));
    if (child === undefined || child.state === "exited") return fail(SUSPEND.errors.NO_SUCH_CHILD);
    k.suspend(child);
    return ok({ duration: 0n });
  }),
  bindKernel(UNSUSPEND, async (k, caller, a) => {
    const child = a.pid === 0n ? undefined : k.processes.childOf(caller, Number(a.pid));
    if (child === undefined || child.state === "exited")
      return fail(UNSUSPEND.errors.NO_SUCH_CHILD);
    return ok({ duration: k.unsuspend(child) });
  }),
];
