// The uniform handler result: the spec's return value or one of its errcodes (never a bare integer).

import type { ArgsOf, RetOf, SyscallDef } from "../../commonassembly/abi/syscalls.js";
import type { Proc } from "../runner/process.js";

export type SysResult<R> = { ok: true; value: R } | { ok: false; errcode: number };

export function ok<R>(value: R): SysResult<R> {
  return { ok: true, value };
}
export function fail(errcode: number): { ok: false; errcode: number } {
  return { ok: false, errcode };
}

/** A handler answered inside the runner: decoded arguments in, spec result out. */
export type RunnerHandler<D extends SyscallDef> = (p: Proc, args: ArgsOf<D>) => SysResult<RetOf<D>>;

export interface BoundHandler {
  def: SyscallDef;
  run: (p: Proc, args: unknown) => SysResult<unknown>;
}

export function bind<D extends SyscallDef>(def: D, run: RunnerHandler<D>): BoundHandler {
  return { def, run: run as unknown as BoundHandler["run"] };
}
