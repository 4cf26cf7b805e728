// The handler types of a syscall family: a handler bound to its syscall table entry, decoded arguments
// in and a SysResult (commonassembly/abi/result.ts) out, answered in the runner (dispatch.ts decodes and
// encodes around it) or in the kernel (kernel/syscalls.ts), whose half reaches it through KernelApi.

import type { SysResult } from "../../commonassembly/abi/result.js";
import type { ArgsOf, ResultOf, SyscallDef } from "../../commonassembly/abi/syscalls.js";
import type { BoundKernelHandler, KernelHandler } from "../kernel/api.js";
import type { Proc } from "../runner/process.js";

/** A handler answered inside the runner: decoded arguments in, spec result (D's own errcodes) out. */
export type RunnerHandler<D extends SyscallDef> = (p: Proc, args: ArgsOf<D>) => ResultOf<D>;

export interface BoundHandler {
  def: SyscallDef;
  run: (p: Proc, args: unknown) => SysResult<unknown>;
}

export function bind<D extends SyscallDef>(def: D, run: RunnerHandler<D>): BoundHandler {
  return { def, run: run as unknown as BoundHandler["run"] };
}

/** A kernel-side handler bound to its table entry (the family's kernel half; kernel/api.ts). */
export function bindKernel<D extends SyscallDef>(
  def: D,
  run: KernelHandler<D>,
): BoundKernelHandler {
  return { def, run: run as unknown as BoundKernelHandler["run"] };
}
