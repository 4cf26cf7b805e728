// The NightOS ABI for CommonAssembly modules, version 1.1: imports, required exports, the syscall
// request/return convention and signal handlers (DIRECTION.md §1; documented in docs/commonassembly.md).

/** A WebAssembly value type as it appears in a function signature. */
export type ValType = "i32" | "i64" | "f32" | "f64" | "v128" | "funcref" | "externref";

export interface FuncSig {
  readonly params: readonly ValType[];
  readonly results: readonly ValType[];
}

/** The ABI version this NCW implements, stored in the NPP header as u16 (major << 8) | minor. */
export const ABI_VERSION_MAJOR = 1;
export const ABI_VERSION_MINOR = 1;
export const ABI_VERSION = (ABI_VERSION_MAJOR << 8) | ABI_VERSION_MINOR;

/** The only module name a CommonAssembly module may import from. */
export const ABI_IMPORT_MODULE = "nightos";

/** `syscall(req, req_len, ret) -> status`: every syscall that returns once. */
export const IMPORT_SYSCALL = "syscall";
/** `syscall_fork(req, req_len, ret) -> status`: exactly the calls that return twice (`FORK_SYSCALLS`). */
export const IMPORT_SYSCALL_FORK = "syscall_fork";
/** `safepoint()`: called by AOT-instrumented code when the poll flag is set; allowed but not needed in NPPs. */
export const IMPORT_SAFEPOINT = "safepoint";

const SYSCALL_SIG: FuncSig = { params: ["i32", "i32", "i32"], results: ["i32"] };

/** Every function an NPP module may import from `nightos`, with its exact signature. */
export const ABI_IMPORTS: Readonly<Record<string, FuncSig>> = {
  [IMPORT_SYSCALL]: SYSCALL_SIG,
  [IMPORT_SYSCALL_FORK]: SYSCALL_SIG,
  [IMPORT_SAFEPOINT]: { params: [], results: [] },
};

/** Required export: the module's linear memory, defined (not imported) and shared. */
export const EXPORT_MEMORY = "memory";
/** Required export: the entry point, `() -> ()`; returning from it is EXIT with exit data 0. */
export const EXPORT_START = "_start";
/** Required export: the funcref table that holds signal handlers (a handler "pointer" is an index). */
export const EXPORT_TABLE = "__indirect_function_table";
export const START_SIG: FuncSig = { params: [], results: [] };

/** Export-name prefixes reserved for what the AOT step adds (the control global, Asyncify's exports). */
export const RESERVED_EXPORT_PREFIXES: readonly string[] = ["__nightos_", "asyncify_"];
/**
 * NightOS low memory: linear-memory addresses [0, 1024) belong to the runtime; modules must not place
 * data there (clang and optimized AssemblyScript start data at 1024). It holds the control block
 * [0, 64) and the runtime's scratch area [64, 1024) (Asyncify data during syscall_fork).
 * ABI 1.0 decision, docs/commonassembly.md §7.
 */
export const RESERVED_LOW_MEMORY = 1024;
/** The control block: word 0 is the poll flag (non-zero: call `nightos.safepoint`). */
export const CONTROL_BLOCK_ADDRESS = 0;
export const CONTROL_BLOCK_SIZE = 64;
export const CTL_POLL_FLAG_OFFSET = 0;
/** Optional fork buffer chosen by the program (u32 address, u32 length); 0 = use the scratch area. */
export const CTL_FORK_BUFFER_OFFSET = 8;
export const CTL_FORK_BUFFER_LENGTH_OFFSET = 12;
/** Where the runtime copies the datafield of the signal being handled. */
export const CTL_DATAFIELD_OFFSET = 32;
/** The runtime's scratch area, after the control block. */
export const RUNTIME_SCRATCH_ADDRESS = 64;
export const RUNTIME_SCRATCH_SIZE = 960;
/** The global the AOT step adds and exports; it holds CONTROL_BLOCK_ADDRESS. */
export const CTL_GLOBAL = "__nightos_ctl";
/** Export name of the one-page memory the AOT step adds to modules that have no memory (not ABI programs). */
export const CTL_MEMORY_EXPORT = "__nightos_ctl_memory";
/**
 * Prefix of the exports the AOT step adds for every internal mutable global of a fork-capable module;
 * the runner copies the globals so named from the parent into the child (docs/commonassembly-aot.md).
 */
export const FORK_GLOBAL_EXPORT_PREFIX = "__nightos_global_";
/** The memory import the AOT step gives a module whose memory the threads of one process share. */
export const SHARED_MEMORY_IMPORT = "memory";
/** The export the AOT step adds to write the data segments, called on a process' first instance only. */
export const INIT_MEMORY_EXPORT = "__nightos_init_memory";

/** WebAssembly page size in bytes. */
export const WASM_PAGE_SIZE = 65536;
/**
 * NCW's limit on the declared memory maximum, in pages: one below the wasm32 limit (65536), so the
 * AOT step can always raise the maximum by one page (kept from the first draft of ABI 1.0).
 */
export const MAX_MEMORY_PAGES = 65535;
/** NCW's limit on the initial size of the signal-handler table (entries). */
export const MAX_TABLE_SIZE = 1 << 20;

/** Signal handler signature: `(signal: i32, datafield: i32) -> answer: i64`. */
export const SIGNAL_HANDLER_SIG: FuncSig = { params: ["i32", "i32"], results: ["i64"] };
/** Size of a signal's datafield (signals.md); the handler gets a pointer to a copy of it. */
export const SIGNAL_DATAFIELD_SIZE = 32;

/** Status returned by `syscall`/`syscall_fork` on success. */
export const SYSCALL_STATUS_OK = 0;
/** Error status = SYSCALL_ERROR_FLAG | errcode (errcode 0x00 is a real error, so it needs the flag). */
export const SYSCALL_ERROR_FLAG = 0x100;
/** Size of the return area `ret` points to: the return fields packed, zero-filled to this size. */
export const SYSCALL_RET_SIZE = 40;
/**
 * ABI 1.1, the calls that start a thread in the caller's process (CREATE_THREAD, ACCEPT_SERVICE_CONN;
 * `NEW_THREAD_SYSCALLS`): the new thread's `syscall_fork` returns this success status, and its answer is
 * in the second half of the return area, at `ret + NEW_THREAD_RET_OFFSET`; the caller gets
 * SYSCALL_STATUS_OK and its answer at `ret`. Neither half is ever written for the other thread
 * (docs/commonassembly.md §5).
 */
export const SYSCALL_STATUS_NEW_THREAD = 1;
/** Where the new thread's half of the return area starts (ABI 1.1). */
export const NEW_THREAD_RET_OFFSET = SYSCALL_RET_SIZE;
/** The return area of a call that starts a thread (ABI 1.1): the caller's half, then the new thread's. */
export const THREAD_RET_SIZE = 2 * SYSCALL_RET_SIZE;
/**
 * The custom section the AOT step adds to a fork-capable module: the program's ABI version, u16
 * little-endian, so the runner knows whether a new thread gets its own half of the return area (1.1)
 * or the shared area of 1.0 (docs/commonassembly-aot.md).
 */
export const ABI_VERSION_SECTION = "nightos.abi";
/** The first ABI version whose new threads get their own half of the return area. */
export const ABI_VERSION_THREAD_ANSWERS = 0x0101;
/** The largest request NCW accepts (code + arguments), in bytes. */
export const SYSCALL_REQ_MAX = 4096;

/** The status value for an errcode, as returned by the syscall imports. */
export function errorStatus(errcode: number): number {
  return SYSCALL_ERROR_FLAG | (errcode & 0xff);
}

/** Splits a syscall status into success (either success status) or the spec's 8-bit errcode; undefined if not a valid status. */
export function decodeStatus(
  status: number,
): { ok: true } | { ok: false; errcode: number } | undefined {
  if (status === SYSCALL_STATUS_OK || status === SYSCALL_STATUS_NEW_THREAD) return { ok: true };
  if ((status & ~0xff) === SYSCALL_ERROR_FLAG) return { ok: false, errcode: status & 0xff };
  return undefined;
}

/** Formats a signature like the WebAssembly text format: `(func (param i32 i32) (result i64))`. */
export function formatSig(sig: FuncSig): string {
  const p = sig.params.length ? ` (param ${sig.params.join(" ")})` : "";
  const r = sig.results.length ? ` (result ${sig.results.join(" ")})` : "";
  return `(func${p}${r})`;
}

export function sameSig(a: FuncSig, b: FuncSig): boolean {
  return (
    a.params.length === b.params.length &&
    a.results.length === b.results.length &&
    a.params.every((t, i) => t === b.params[i]) &&
    a.results.every((t, i) => t === b.results[i])
  );
}
