// The runner's handler type: a handler bound to its syscall table entry, decoded arguments in and a
// SysResult (commonassembly/abi/result.ts) out; dispatch.ts decodes and encodes around it.

import type { SysResult } from "../../commonassembly/abi/result.js";
import type { ArgsOf, ResultOf, SyscallDef } from "../../commonassembly/abi/syscalls.js";
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
