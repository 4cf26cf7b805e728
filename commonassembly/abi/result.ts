// The uniform syscall result: the spec's return value or one of its errcodes (never a bare integer).
// Handlers in the runner and the kernel server both return it (docs/kernel.md, "Syscalls").

declare const syscallOfErrcode: unique symbol;

/**
 * An errcode syscall `S` may return. Only the syscall table (its `errors`, syscalls.ts) and `GenericErr`
 * (numbers.ts, `S` = "*": every syscall may return them) make errcodes, so `fail(0x02)` does not compile
 * and a handler cannot return another syscall's errcode.
 */
export type Errcode<S extends string = string> = number & { readonly [syscallOfErrcode]: S };

/** The errcodes of a syscall named `N`, by the names `E` gives them. */
export type Errcodes<E extends Record<string, number>, N extends string> = {
  readonly [K in keyof E]: Errcode<N>;
};

/** Names the spec's numbers as errcodes of `syscall` (the table and GenericErr only). */
export function errcodes<const E extends Record<string, number>, const N extends string>(
  _syscall: N,
  codes: E,
): Errcodes<E, N> {
  return codes as unknown as Errcodes<E, N>;
}

/**
 * What a handler of syscall `S` returns: its value, or its own or a generic errcode. A failure may carry
 * a value too, written into the return area beside the errcode (PIPE_WRITE / PIPE_READ mode 0x01 say
 * why they failed in it, docs/ipc.md "Pipes"; the area is otherwise unspecified on error).
 */
export type SysResult<R, S extends string = string> =
  | { ok: true; value: R }
  | { ok: false; errcode: Errcode<S | "*">; value?: R };

export function ok<R>(value: R): { ok: true; value: R } {
  return { ok: true, value };
}
export function fail<S extends string>(errcode: Errcode<S>): { ok: false; errcode: Errcode<S> } {
  return { ok: false, errcode };
}
/** A failure whose return area still says something (see SysResult). */
export function failWith<S extends string, R>(
  errcode: Errcode<S>,
  value: R,
): { ok: false; errcode: Errcode<S>; value: R } {
  return { ok: false, errcode, value };
}
