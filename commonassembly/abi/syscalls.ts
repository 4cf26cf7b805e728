// The declarative syscall table: every syscall of specs/kernel/syscalls.md with its argument and
// return layouts (typed codecs), its specific errcodes and how fully NCW supports it.

import {
  bufptr,
  bytes,
  type Codec,
  empty,
  type Infer,
  type StructCodec,
  struct,
  u8,
  u16,
  u32,
  u64,
} from "./codec.js";
import { Sys, type SysName } from "./numbers.js";
import { type Errcode, type Errcodes, errcodes, type SysResult } from "./result.js";
import { SYSCALL_RET_SIZE } from "./wasm-names.js";

/**
 * How NCW supports a syscall:
 * - `implemented`: a handler does what the spec says; `where` tells whether the runner answers it
 *   in-process or forwards it to the kernel server.
 * - `refused`: cannot exist for an app on a host (hardware, system-reserved); the handler runs the
 *   spec's constant argument checks, then returns `refusal`, the spec's own errcode for "not allowed".
 * - `later`: belongs to a later NCW issue (IPC, AMS); returns 0x01 (does not exist) until then.
 */
export type Support =
  | { kind: "implemented"; where: "runner" | "kernel" }
  | { kind: "refused"; refusal: Errcode; why: string }
  | { kind: "later"; issue: string };

/**
 * An argument that points into the caller's memory (data-structures.md, "Buffer pointers"): a `bufptr`
 * field (address and length) or a u64 address whose length another argument gives or the call decides.
 */
export interface BufferArg {
  /** The argument field holding the address (or the bufptr). */
  readonly field: string;
  /** "read": the kernel reads the caller's bytes; "written": the kernel writes into the caller's memory. */
  readonly access: "read" | "written";
  /**
   * How many bytes: "bufptr" (the field's own length), `{ field }` (another argument's value), or
   * "call" (as many as the call writes; its return value says how many).
   */
  readonly length: "bufptr" | { readonly field: string } | "call";
}

/**
 * What the caller must have for the call to do anything (specs/permissions.md, specs/kernel/syscalls.md).
 * The spec names no permissions.md permission for any syscall (permissions are asked of services): a
 * syscall is either open to every process, or needs the process' drivable-devices attribute
 * (processes.md), or is reserved to one system service. Service methods name permissions
 * (services/*.ts).
 */
export type Requirement =
  | { readonly kind: "none" }
  | { readonly kind: "permission"; readonly permission: string }
  | { readonly kind: "drivable-device" }
  | { readonly kind: "system-service"; readonly service: "sys::process" | "sys::hw" };

/** Argument layouts of variable length (system-reserved calls) are not decoded: `raw`. */
export const raw = { size: -1, layout: "raw" } as const;
export type RawArgs = typeof raw;

export interface SyscallDef<
  A extends Codec<unknown> | RawArgs = Codec<unknown> | RawArgs,
  R extends Codec<unknown> = Codec<unknown>,
  E extends Record<string, Errcode> = Record<string, Errcode>,
  N extends string = string,
> {
  readonly code: number;
  readonly name: N;
  readonly args: A;
  readonly ret: R;
  /** The syscall's specific errcodes, by a descriptive name (the generic 0x00–0x04 apply to all). */
  readonly errors: E;
  readonly support: Support;
  /**
   * The call returns twice (once in the caller, once in a new process or thread), so it goes through
   * `nightos.syscall_fork` and Asyncify (docs/commonassembly.md §5); `FORK_SYSCALLS` is made from it.
   */
  readonly returnsTwice: boolean;
  /** The arguments that are buffers in the caller's memory. */
  readonly buffers: readonly BufferArg[];
  readonly requires: Requirement;
}

/** What a table entry may add to its layouts: all optional, the defaults are the common case. */
interface More {
  returnsTwice?: boolean;
  buffers?: readonly BufferArg[];
  requires?: Requirement;
}

export type ArgsOf<D> = D extends { args: infer A }
  ? A extends Codec<unknown>
    ? Infer<A>
    : Uint8Array
  : never;
export type RetOf<D> = D extends { ret: infer R extends Codec<unknown> } ? Infer<R> : never;
/** The syscall's name as a type: what its errcodes are branded with. */
export type NameOf<D> = D extends { name: infer N extends string } ? N : string;
/** What a handler of syscall D returns: D's return value, or D's own or a generic errcode. */
export type ResultOf<D> = SysResult<RetOf<D>, NameOf<D>>;

function def<
  const N extends SysName,
  const A extends Codec<unknown> | RawArgs,
  const R extends Codec<unknown>,
  const E extends Record<string, number>,
>(
  name: N,
  args: A,
  ret: R,
  errors: E,
  support: Support,
  more: More = {},
): SyscallDef<A, R, Errcodes<E, N>, N> {
  if (ret.size > SYSCALL_RET_SIZE)
    throw new Error(`${name}: return value larger than the ABI's ret area`);
  return {
    code: Sys[name],
    name,
    args,
    ret,
    errors: errcodes(name, errors),
    support,
    returnsTwice: more.returnsTwice ?? false,
    buffers: more.buffers ?? [],
    requires: more.requires ?? { kind: "none" },
  };
}

const read = (field: string, length: BufferArg["length"] = "bufptr"): BufferArg => ({
  field,
  access: "read",
  length,
});
const written = (field: string, length: BufferArg["length"] = "bufptr"): BufferArg => ({
  field,
  access: "written",
  length,
});
const driver: More = { requires: { kind: "drivable-device" } };
const service = (name: "sys::process" | "sys::hw"): More => ({
  requires: { kind: "system-service", service: name },
});

const runner: Support = { kind: "implemented", where: "runner" };
const kernel: Support = { kind: "implemented", where: "kernel" };
const hw = (refusal: number): Support => ({
  kind: "refused",
  refusal: errcodes("*", { refusal }).refusal,
  why: "an app on a host drives no hardware: its drivable-devices attribute is empty",
});
const sysOnly = (refusal: number, service: string): Support => ({
  kind: "refused",
  refusal: errcodes("*", { refusal }).refusal,
  why: `reserved to the ${service} service, which NCW implements natively, not as a NightOS process`,
});

const sig = struct([["signal", u8]]);
const none = empty;

// ---- signals (0x00–0x0F) -------------------------------------------------------------------------
export const HANDLE_SIGNAL = def(
  "HANDLE_SIGNAL",
  struct([
    ["signal", u8],
    ["handler", u64],
  ]),
  none,
  { NO_SUCH_SIGNAL: 0x10 },
  runner,
);
export const UNHANDLE_SIGNAL = def(
  "UNHANDLE_SIGNAL",
  sig,
  none,
  { NO_SUCH_SIGNAL: 0x10, NOT_HANDLED: 0x30 },
  runner,
);
export const IS_SIGNAL_HANDLED = def(
  "IS_SIGNAL_HANDLED",
  sig,
  struct([["handled", u8]]),
  { NO_SUCH_SIGNAL: 0x10 },
  runner,
);
export const READY = def("READY", none, none, { ALREADY_READY: 0x30 }, runner);

// ---- pipes (0x20–0x29) and services (0x2A–0x2F) ---------------------------------------------------
export const OPEN_PIPE = def(
  "OPEN_PIPE",
  struct([
    ["pid", u64],
    ["command", u16],
    ["pipeType", u8],
    ["sizeMultiplier", u8],
    ["transmissionMode", u8],
    ["notificationMode", u8],
    ["sizeHint", u64],
  ]),
  struct([["sc", u64]]),
  {
    INVALID_TRANSMISSION_MODE: 0x10,
    INVALID_NOTIFICATION_MODE: 0x11,
    NO_SUCH_PID: 0x30,
    OTHER_APPLICATION: 0x31,
    OTHER_USER: 0x32,
    NO_RECV_PIPE_HANDLER: 0x33,
  },
  kernel,
);
export const SEND_PIPE = def(
  "SEND_PIPE",
  struct([
    ["id", u64],
    ["pid", u64],
    ["notificationMode", u8],
  ]),
  none,
  { NO_RECV_PIPE_HANDLER: 0x30 },
  kernel,
);
export const PIPE_WRITE = def(
  "PIPE_WRITE",
  struct([
    ["sc", u64],
    ["count", u32],
    ["buffer", u64],
    ["mode", u8],
  ]),
  struct([["result", u32]]),
  {
    INVALID_MODE: 0x10,
    NO_SUCH_SC: 0x30,
    SC_CLOSED: 0x31,
    MESSAGE_TOO_LARGE: 0x32,
    PARTIAL_MODE_ON_MESSAGE_PIPE: 0x33,
    NOT_ENOUGH_SPACE: 0x40,
  },
  runner,
  { buffers: [read("buffer", { field: "count" })] },
);
/** The spec calls the buffer "readable", but the call writes the data it reads into it: a written buffer. */
export const PIPE_READ = def(
  "PIPE_READ",
  struct([
    ["rc", u64],
    ["mode", u8],
    ["buffer", bufptr],
  ]),
  struct([["result", u32]]),
  {
    INVALID_MODE: 0x10,
    NO_SUCH_RC: 0x30,
    RC_CLOSED: 0x31,
    NO_PENDING_DATA: 0x32,
    PARTIAL_MODE_ON_MESSAGE_PIPE: 0x33,
  },
  runner,
  { buffers: [written("buffer")] },
);
export const PIPE_INFO = def(
  "PIPE_INFO",
  struct([["id", u64]]),
  struct([
    ["status", u8],
    ["capacity", u64],
    ["remaining", u64],
    ["creator", u64],
  ]),
  { NO_SUCH_PIPE: 0x30 },
  runner,
);
export const CLOSE_PIPE = def(
  "CLOSE_PIPE",
  struct([["id", u64]]),
  none,
  { NO_SUCH_PIPE: 0x30, TARGET_TERMINATED: 0x31, SERVICE_PIPE: 0x32 },
  kernel,
);
export const OPEN_SERV_SOCK = def(
  "OPEN_SERV_SOCK",
  struct([
    ["pid", u64],
    ["sizeMultiplier", u16],
  ]),
  struct([["socket", u64]]),
  { NO_SUCH_PID: 0x30, NOT_ALLOWED: 0x31 },
  kernel,
);
const sockErrors = {
  NO_SUCH_SOCKET: 0x30,
  SOCKET_CLOSED: 0x31,
  NO_SUCH_EXCHANGE: 0x32,
  EXCHANGE_CONCLUDED: 0x40,
} as const;
/**
 * Decided (docs/ipc.md "Service sockets"): the method code is 2 bytes, as ipc.md's exchange structure
 * and the system services' method tables have it (syscalls.md says 1 byte); NOT_YOUR_TURN (0x41, NCW's)
 * answers a second message before the peer answered, which the spec forbids without an errcode. The
 * runner stages the bytes on the ring; the kernel keeps the exchange (syscalls/sockets.ts).
 */
export const SEND_SOCK_MSG = def(
  "SEND_SOCK_MSG",
  struct([
    ["socket", u64],
    ["exchange", u64],
    ["method", u16],
    ["errorCode", u16],
    ["content", bufptr],
  ]),
  struct([
    ["exchange", u64],
    ["counter", u32],
  ]),
  { ...sockErrors, NOT_YOUR_TURN: 0x41 },
  runner,
  { buffers: [read("content")] },
);
export const READ_SOCK_MSG = def(
  "READ_SOCK_MSG",
  struct([
    ["socket", u64],
    ["buffer", u64],
  ]),
  struct([
    ["written", u32],
    ["retrieved", u8],
    ["status", u8],
  ]),
  sockErrors,
  runner,
  { buffers: [written("buffer", "call")] },
);
export const CLOSE_SERV_SOCK = def(
  "CLOSE_SERV_SOCK",
  struct([["socket", u64]]),
  none,
  { NO_SUCH_SOCKET: 0x30, SOCKET_CLOSED: 0x40 },
  kernel,
);
/** The spec lists "flexible mode" under the return value, but its errors treat it as an argument: NCW reads it as the last argument. */
export const CONNECT_SERVICE = def(
  "CONNECT_SERVICE",
  struct([
    ["anid", u32],
    ["targetType", u8],
    ["scope", bytes(8)],
    ["command", u16],
    ["flexibleMode", u8],
  ]),
  struct([
    ["connection", u64],
    ["socket", u64],
  ]),
  {
    INVALID_FLEXIBLE_MODE: 0x10,
    INVALID_TARGET_TYPE: 0x11,
    NOT_A_SYSTEM_SERVICE: 0x30,
    NO_SUCH_ANID: 0x31,
    SERVICE_NOT_EXPOSED: 0x32,
    ALREADY_CONNECTED: 0x32,
    FS_WRONG_SERVICE_TYPE: 0x3f,
    DOUBLE_HANDLER_FAULT: 0x40,
    REJECTED: 0x41,
  },
  kernel,
);
export const END_SERVICE_CONN = def(
  "END_SERVICE_CONN",
  struct([["connection", u64]]),
  none,
  { NO_SUCH_CONNECTION: 0x30, ALREADY_CLOSED: 0x40, SERVICE_THREAD_TERMINATED: 0x41 },
  kernel,
);
const answerErrors = {
  NO_SUCH_REQUEST: 0x30,
  REQUESTER_TERMINATED: 0x40,
  ANSWER_TOO_LATE: 0x41,
} as const;
/**
 * ABI 1.1: returns twice, like CREATE_THREAD: the call creates a client thread in the service's process
 * and returns in both, `notClientThread` 0x00 in the new thread (specs/services.md "Connections"). The
 * runner makes the thread and asks the kernel (kernel-compat/syscalls/services.ts): "runner" here.
 */
export const ACCEPT_SERVICE_CONN = def(
  "ACCEPT_SERVICE_CONN",
  struct([["request", u64]]),
  struct([
    ["notClientThread", u8],
    ["socket", u64],
  ]),
  answerErrors,
  runner,
  { returnsTwice: true },
);
export const REJECT_SERVICE_CONN = def(
  "REJECT_SERVICE_CONN",
  struct([["request", u64]]),
  none,
  answerErrors,
  kernel,
);
export const HAS_SCOPED_SERVICE = def(
  "HAS_SCOPED_SERVICE",
  struct([
    ["anid", u32],
    ["scope", bytes(8)],
  ]),
  struct([["has", u8]]),
  { NO_SUCH_ANID: 0x30, SERVICE_NOT_EXPOSED: 0x31 },
  kernel,
);

// ---- memory (0x30–0x3F) ---------------------------------------------------------------------------
/** Permissions are "3 bits": NCW packs them in one byte (the low three bits). */
export const MEM_ALLOC = def(
  "MEM_ALLOC",
  struct([
    ["size", u64],
    ["permissions", u8],
    ["zeroed", u8],
  ]),
  struct([["address", u64]]),
  { INVALID_PERMISSION: 0x10, NO_CONTIGUOUS_BLOCK: 0x40 },
  runner,
);
export const MEM_FREE = def(
  "MEM_FREE",
  struct([
    ["address", u64],
    ["pages", u64],
  ]),
  none,
  {
    UNALIGNED: 0x10,
    ADDRESS_OUT_OF_RANGE: 0x30,
    SIZE_OUT_OF_RANGE: 0x31,
    NOT_ALLOCATED: 0x32,
    SHARED: 0x33,
  },
  runner,
);

// ---- abstract memory segments (0x40–0x4F) ---------------------------------------------------------
export const VIRT_MEM_AMS = def(
  "VIRT_MEM_AMS",
  struct([
    ["address", u64],
    ["length", u64],
  ]),
  struct([["ams", u64]]),
  { UNALIGNED_ADDRESS: 0x10, UNALIGNED_LENGTH: 0x11, OUT_OF_RANGE: 0x30 },
  kernel,
);
/**
 * The spec gives no return value for BACKED_AMS; NCW returns the AMS ID, as every AMS-creating call.
 * The backer serves reads and writes through READ/WRITE_BACKED_AMS at synchronisation points
 * (docs/ipc.md "Signal-backed AMS"); length 0 or above 4 GiB is 0x02.
 */
export const BACKED_AMS = def(
  "BACKED_AMS",
  struct([
    ["length", u64],
    ["copyOnWrite", u8],
  ]),
  struct([["ams", u64]]),
  { INVALID_COW_MODE: 0x10, UNALIGNED_LENGTH: 0x11 },
  kernel,
);
export const SHARE_AMS = def(
  "SHARE_AMS",
  struct([
    ["pid", u64],
    ["ams", u64],
    ["command", u16],
    ["notificationMode", u8],
    ["mode", u8],
  ]),
  none,
  {
    INVALID_NOTIFICATION_MODE: 0x10,
    INVALID_MODE: 0x11,
    INVALID_EXCLUSIVE_MODE: 0x12,
    MUTUAL_WITHOUT_PERMISSIONS: 0x20,
    EXCLUSIVE_WITH_PERMISSIONS: 0x21,
    NO_SPACE_IN_RECEIVER: 0x40,
  },
  kernel,
);
export const AMS_SHARING_INFO = def(
  "AMS_SHARING_INFO",
  struct([["ams", u64]]),
  struct([
    ["sharer", u64],
    ["receiver", u64],
    ["mode", u8],
    ["buffer", bufptr],
    ["command", u16],
    ["permissions", u8],
  ]),
  { NO_SUCH_AMS: 0x30 },
  kernel,
);
export const UNSHARE_AMS = def(
  "UNSHARE_AMS",
  struct([
    ["ams", u64],
    ["pid", u64],
  ]),
  none,
  { NO_SUCH_AMS: 0x30, EXCLUSIVE: 0x21, NOT_SHARED_WITH: 0x32 },
  kernel,
);
/** `mapping` is a range of the caller's memory the AMS is mapped onto, not bytes the call copies: no buffer. */
export const MAP_AMS = def(
  "MAP_AMS",
  struct([
    ["ams", u64],
    ["from", u64],
    ["mapping", bufptr],
  ]),
  none,
  { NO_SUCH_AMS: 0x30, OUT_OF_AMS_RANGE: 0x31, OUT_OF_PROCESS_RANGE: 0x32 },
  kernel,
);
export const UNMAP_AMS = def(
  "UNMAP_AMS",
  struct([
    ["ams", u64],
    ["address", u64],
  ]),
  none,
  { NO_SUCH_AMS: 0x10, NOT_MAPPED_HERE: 0x30 },
  kernel,
);

// ---- processes (0x50–0x5F) ------------------------------------------------------------------------
const forked = struct([
  ["id", u64],
  ["identity", u8],
  ["initData", u64],
]);
export const CREATE_PROCESS = def(
  "CREATE_PROCESS",
  struct([["initData", u64]]),
  forked,
  { NOT_AN_APPLICATION: 0x30, HARDWARE: 0x40 },
  kernel,
  { returnsTwice: true },
);
/**
 * The spec's return value is empty and says nothing of what a timeout returns: NCW writes one byte,
 * 0x01 when the child terminated and 0x00 when the timeout elapsed first (timeout 0 = no timeout).
 */
export const WAIT_CHILD_PROCESS = def(
  "WAIT_CHILD_PROCESS",
  struct([
    ["pid", u64],
    ["timeout", u16],
  ]),
  struct([["terminated", u8]]),
  { NO_SUCH_CHILD: 0x30 },
  kernel,
);
/** The spec lists no error for an unknown PID (only a copied 0x40): NCW returns the generic 0x02. */
export const KILL_CHILD_PROCESS = def(
  "KILL_CHILD_PROCESS",
  struct([
    ["pid", u64],
    ["timeout", u16],
  ]),
  struct([["exitData", u64]]),
  { HARDWARE: 0x40 },
  kernel,
);
export const GET_PID = def("GET_PID", none, struct([["pid", u64]]), {}, runner);
const suspendErrors = { NOT_AN_APPLICATION: 0x30, NO_SUCH_CHILD: 0x31 } as const;
export const SUSPEND = def(
  "SUSPEND",
  struct([["pid", u64]]),
  struct([["duration", u64]]),
  suspendErrors,
  kernel,
);
export const UNSUSPEND = def(
  "UNSUSPEND",
  struct([["pid", u64]]),
  struct([["duration", u64]]),
  suspendErrors,
  kernel,
);
export const HAND_OVER = def("HAND_OVER", none, none, {}, runner);
export const EXIT = def("EXIT", struct([["exitData", u64]]), none, {}, runner);

// ---- threads (0x60–0x6F) --------------------------------------------------------------------------
export const CREATE_THREAD = def(
  "CREATE_THREAD",
  struct([["initData", u64]]),
  forked,
  { HARDWARE: 0x40 },
  runner,
  { returnsTwice: true },
);
export const CREATE_TLS_SLOT = def(
  "CREATE_TLS_SLOT",
  none,
  struct([["slot", u64]]),
  { MAX_SLOTS: 0x40, NO_MEMORY: 0x41 },
  runner,
);
export const READ_TLS_SLOT = def(
  "READ_TLS_SLOT",
  struct([
    ["slot", u64],
    ["buffer", bufptr],
  ]),
  struct([["written", u64]]),
  { NO_SUCH_SLOT: 0x30 },
  runner,
  { buffers: [written("buffer")] },
);
export const WRITE_TLS_SLOT = def(
  "WRITE_TLS_SLOT",
  struct([
    ["slot", u64],
    ["buffer", bufptr],
  ]),
  none,
  { NO_SUCH_SLOT: 0x30, NO_MEMORY: 0x40 },
  runner,
  { buffers: [read("buffer")] },
);
export const DELETE_TLS_SLOT = def(
  "DELETE_TLS_SLOT",
  struct([["slot", u64]]),
  none,
  { NO_SUCH_SLOT: 0x30 },
  runner,
);
export const EXIT_THREAD = def("EXIT_THREAD", struct([["exitData", u32]]), none, {}, runner);

// ---- hardware (0x70–0x7F): refused ----------------------------------------------------------------
const ioErrors = {
  NOT_DRIVABLE: 0x30,
  NO_SUCH_DEVICE: 0x31,
  NO_SUCH_PORT: 0x32,
  WRONG_DIRECTION: 0x33,
} as const;
const ioArgs = struct([
  ["kdi", u64],
  ["port", u16],
  ["buffer", bufptr],
]);
export const READ_IO_PORT = def(
  "READ_IO_PORT",
  ioArgs,
  struct([["count", u64]]),
  ioErrors,
  hw(0x30),
  { ...driver, buffers: [written("buffer")] },
);
export const WRITE_IO_PORT = def(
  "WRITE_IO_PORT",
  ioArgs,
  struct([["count", u64]]),
  ioErrors,
  hw(0x30),
  { ...driver, buffers: [read("buffer")] },
);
export const DEVICE_INTERRUPT = def(
  "DEVICE_INTERRUPT",
  struct([
    ["kdi", u64],
    ["port", u16],
    ["interrupt", u8],
  ]),
  none,
  ioErrors,
  hw(0x30),
  driver,
);
export const DEVICE_AMS = def(
  "DEVICE_AMS",
  struct([
    ["kdi", u64],
    ["deviceAddress", u64],
    ["length", u64],
    ["address", u64],
  ]),
  struct([["ams", u64]]),
  {
    UNALIGNED_ADDRESS: 0x10,
    UNALIGNED_LENGTH: 0x11,
    ZERO_LENGTH: 0x12,
    NOT_DRIVABLE: 0x30,
    NO_SUCH_DEVICE: 0x31,
    NO_MMIO: 0x32,
  },
  hw(0x30),
  driver,
);
export const SET_DMA_MEM_ACCESS = def(
  "SET_DMA_MEM_ACCESS",
  struct([
    ["kdi", u64],
    ["address", u64],
    ["length", u64],
    ["authorization", u8],
  ]),
  none,
  {
    UNALIGNED_ADDRESS: 0x10,
    UNALIGNED_LENGTH: 0x11,
    ZERO_LENGTH: 0x12,
    NOT_DRIVABLE: 0x30,
    NO_SUCH_DEVICE: 0x31,
    NO_DMA: 0x32,
  },
  hw(0x30),
  driver,
);

// ---- applications (0xA0–0xAF) ---------------------------------------------------------------------
export const EXECUTION_CONTEXT = def(
  "EXECUTION_CONTEXT",
  struct([
    ["info", u8],
    ["buffer", u64],
  ]),
  struct([["written", u64]]),
  { INVALID_INFO: 0x10, SYSTEM_SERVICE: 0x30 },
  runner,
  { buffers: [written("buffer", "call")] },
);

// ---- reserved to system services (0xD0–0xDF): refused ---------------------------------------------
export const SYS_CREATE_PROCESS = def(
  "SYS_CREATE_PROCESS",
  raw,
  struct([["pid", u64]]),
  { NOT_SYS_PROCESS: 0x30, TOKEN_REFUSED: 0x31, INVALID_CONTEXT: 0x32 },
  sysOnly(0x30, "sys::process"),
  service("sys::process"),
);
export const SYS_MANAGE_PROCESS = def(
  "SYS_MANAGE_PROCESS",
  struct([
    ["pid", u64],
    ["action", u8],
  ]),
  none,
  { INVALID_ACTION: 0x10, NOT_SYS_PROCESS: 0x30, NO_SUCH_PID: 0x31, ALREADY_IN_STATE: 0x32 },
  sysOnly(0x30, "sys::process"),
  service("sys::process"),
);
export const SYS_PROCESS_ATTRIBUTES = def(
  "SYS_PROCESS_ATTRIBUTES",
  raw,
  struct([
    ["written", u64],
    ["incomplete", u8],
  ]),
  {
    INVALID_ACTION: 0x10,
    INVALID_ATTRIBUTE: 0x11,
    READ_ONLY: 0x12,
    NOT_SYS_PROCESS: 0x30,
    ATTRIBUTE_NOT_ALLOWED: 0x31,
    INDEX_OUT_OF_BOUNDS: 0x32,
  },
  sysOnly(0x30, "sys::process"),
  service("sys::process"),
);
export const SYS_ENUM_DEVICES = def(
  "SYS_ENUM_DEVICES",
  struct([
    ["patternType", u8],
    ["cii", u32],
    ["buffer", bufptr],
  ]),
  struct([
    ["count", u32],
    ["incomplete", u8],
  ]),
  { INVALID_CONNECTION_TYPE: 0x10, NOT_SYS_HW: 0x30 },
  sysOnly(0x30, "sys::hw"),
  { ...service("sys::hw"), buffers: [written("buffer")] },
);
export const CREATE_CONTAINER = def(
  "CREATE_CONTAINER",
  none,
  struct([["container", u64]]),
  { NOT_SYS_PROCESS: 0x30 },
  sysOnly(0x30, "sys::process"),
  service("sys::process"),
);
export const LINK_CONTAINER_DEVICE = def(
  "LINK_CONTAINER_DEVICE",
  struct([["kdi", u64]]),
  none,
  { NOT_SYS_PROCESS: 0x30, UNKNOWN_KDI: 0x31 },
  sysOnly(0x30, "sys::process"),
  service("sys::process"),
);
export const DESTROY_CONTAINER = def(
  "DESTROY_CONTAINER",
  struct([["container", u64]]),
  none,
  { NOT_SYS_PROCESS: 0x30, UNKNOWN_CONTAINER: 0x31 },
  sysOnly(0x30, "sys::process"),
  service("sys::process"),
);

/** Every syscall, in code order. */
export const SYSCALLS: readonly SyscallDef[] = [
  HANDLE_SIGNAL,
  UNHANDLE_SIGNAL,
  IS_SIGNAL_HANDLED,
  READY,
  OPEN_PIPE,
  SEND_PIPE,
  PIPE_WRITE,
  PIPE_READ,
  PIPE_INFO,
  CLOSE_PIPE,
  OPEN_SERV_SOCK,
  SEND_SOCK_MSG,
  READ_SOCK_MSG,
  CLOSE_SERV_SOCK,
  CONNECT_SERVICE,
  END_SERVICE_CONN,
  ACCEPT_SERVICE_CONN,
  REJECT_SERVICE_CONN,
  HAS_SCOPED_SERVICE,
  MEM_ALLOC,
  MEM_FREE,
  VIRT_MEM_AMS,
  BACKED_AMS,
  SHARE_AMS,
  AMS_SHARING_INFO,
  UNSHARE_AMS,
  MAP_AMS,
  UNMAP_AMS,
  CREATE_PROCESS,
  WAIT_CHILD_PROCESS,
  KILL_CHILD_PROCESS,
  GET_PID,
  SUSPEND,
  UNSUSPEND,
  HAND_OVER,
  EXIT,
  CREATE_THREAD,
  CREATE_TLS_SLOT,
  READ_TLS_SLOT,
  WRITE_TLS_SLOT,
  DELETE_TLS_SLOT,
  EXIT_THREAD,
  READ_IO_PORT,
  WRITE_IO_PORT,
  DEVICE_INTERRUPT,
  DEVICE_AMS,
  SET_DMA_MEM_ACCESS,
  EXECUTION_CONTEXT,
  SYS_CREATE_PROCESS,
  SYS_MANAGE_PROCESS,
  SYS_PROCESS_ATTRIBUTES,
  SYS_ENUM_DEVICES,
  CREATE_CONTAINER,
  LINK_CONTAINER_DEVICE,
  DESTROY_CONTAINER,
] as SyscallDef[];

/** Syscalls that must go through `syscall_fork`, and only those (docs/commonassembly.md §5). */
export const FORK_SYSCALLS: readonly number[] = SYSCALLS.filter((d) => d.returnsTwice).map(
  (d) => d.code,
);

/**
 * The fork-like calls that start a thread in the caller's own process (every one but CREATE_PROCESS,
 * whose child is another process with its own copy of the memory): since ABI 1.1 the new thread gets
 * SYSCALL_STATUS_NEW_THREAD and its own half of the return area (docs/commonassembly.md §5).
 */
export const NEW_THREAD_SYSCALLS: readonly number[] = FORK_SYSCALLS.filter(
  (c) => c !== CREATE_PROCESS.code,
);

const BY_CODE = new Map<number, SyscallDef>(SYSCALLS.map((d) => [d.code, d]));

export function syscallByCode(code: number): SyscallDef | undefined {
  return BY_CODE.get(code);
}

export function syscallName(code: number): string {
  return BY_CODE.get(code)?.name ?? `SYSCALL_0x${code.toString(16).padStart(2, "0")}`;
}

export type { StructCodec };
