// The uniform syscall result: the spec's return value or one of its errcodes (never a bare integer).
// Handlers in the runner and the kernel server both return it (docs/kernel.md, "Syscalls").

export type SysResult<R> = { ok: true; value: R } | { ok: false; errcode: number };

export function ok<R>(value: R): SysResult<R> {
  return { ok: true, value };
}
export function fail(errcode: number): { ok: false; errcode: number } {
  return { ok: false, errcode };
}
