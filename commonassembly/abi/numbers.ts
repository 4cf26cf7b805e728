// The Cosmos kernel's numbers, once: syscall codes (specs/kernel/syscalls.md), signal codes
// (specs/kernel/signals.md) and the generic syscall errcodes 0x00–0x04 (syscalls.md "Technical overview").

import { errcodes } from "./result.js";

/**
 * The spec's general syscall errcodes (syscalls.md, "Technical overview"): every syscall may return them,
 * and the calling convention itself produces them (docs/commonassembly.md §4.4).
 */
export const GenericErr = errcodes("*", {
  /** Cannot read the syscall's code or arguments (request out of bounds, req_len 0). */
  MEMORY_READ: 0x00,
  /** The requested syscall does not exist. */
  NO_SUCH_SYSCALL: 0x01,
  /** An argument is invalid (incl. wrong length, or a fork-like call through the wrong import). */
  INVALID_ARGUMENT: 0x02,
  /** Unmapped memory pointer (pointer or return area outside the linear memory). */
  UNMAPPED_POINTER: 0x03,
  /** Memory permission error. */
  MEMORY_PERMISSION: 0x04,
});

/** Every syscall code of syscalls.md, by the spec's name. */
export const Sys = {
  HANDLE_SIGNAL: 0x01,
  UNHANDLE_SIGNAL: 0x02,
  IS_SIGNAL_HANDLED: 0x03,
  READY: 0x04,
  OPEN_PIPE: 0x20,
  SEND_PIPE: 0x21,
  PIPE_WRITE: 0x22,
  PIPE_READ: 0x23,
  PIPE_INFO: 0x24,
  CLOSE_PIPE: 0x25,
  OPEN_SERV_SOCK: 0x26,
  SEND_SOCK_MSG: 0x27,
  READ_SOCK_MSG: 0x28,
  CLOSE_SERV_SOCK: 0x29,
  CONNECT_SERVICE: 0x2a,
  END_SERVICE_CONN: 0x2b,
  ACCEPT_SERVICE_CONN: 0x2c,
  REJECT_SERVICE_CONN: 0x2d,
  HAS_SCOPED_SERVICE: 0x2e,
  MEM_ALLOC: 0x30,
  MEM_FREE: 0x31,
  VIRT_MEM_AMS: 0x40,
  BACKED_AMS: 0x41,
  SHARE_AMS: 0x42,
  AMS_SHARING_INFO: 0x43,
  UNSHARE_AMS: 0x44,
  MAP_AMS: 0x45,
  UNMAP_AMS: 0x46,
  CREATE_PROCESS: 0x50,
  WAIT_CHILD_PROCESS: 0x51,
  KILL_CHILD_PROCESS: 0x52,
  GET_PID: 0x53,
  SUSPEND: 0x54,
  UNSUSPEND: 0x55,
  HAND_OVER: 0x56,
  EXIT: 0x5f,
  CREATE_THREAD: 0x60,
  CREATE_TLS_SLOT: 0x61,
  READ_TLS_SLOT: 0x62,
  WRITE_TLS_SLOT: 0x63,
  DELETE_TLS_SLOT: 0x64,
  EXIT_THREAD: 0x6f,
  READ_IO_PORT: 0x70,
  WRITE_IO_PORT: 0x71,
  DEVICE_INTERRUPT: 0x72,
  DEVICE_AMS: 0x73,
  SET_DMA_MEM_ACCESS: 0x74,
  EXECUTION_CONTEXT: 0xa0,
  SYS_CREATE_PROCESS: 0xd0,
  SYS_MANAGE_PROCESS: 0xd1,
  SYS_PROCESS_ATTRIBUTES: 0xd2,
  SYS_ENUM_DEVICES: 0xd4,
  CREATE_CONTAINER: 0xd5,
  LINK_CONTAINER_DEVICE: 0xd6,
  DESTROY_CONTAINER: 0xd7,
} as const;
export type SysName = keyof typeof Sys;

/**
 * Every signal code of signals.md. The spec gives DEVICE_CHANGED and DEVICE_INTERRUPT the same code
 * 0xD4 (a spec contradiction); both are sent to sys::hw only, which NCW does not run, so NCW keeps the
 * spec's value for both and never sends either (docs/kernel.md, "Decisions").
 */
export const Sig = {
  HANDLER_FAULT: 0x01,
  MEM_FAULT: 0x02,
  RECV_PIPE: 0x20,
  PIPE_CLOSED: 0x21,
  RECV_SERV_SOCK: 0x26,
  RECV_SOCK_MSG: 0x27,
  SERV_SOCK_CLOSED: 0x29,
  SERVICE_CONN_REQUEST: 0x2a,
  SERVICE_CLIENT_CLOSED: 0x2b,
  SERVICE_CLIENT_QUITTED: 0x2c,
  SERVICE_SERVER_QUITTED: 0x2d,
  READ_BACKED_AMS: 0x33,
  WRITE_BACKED_AMS: 0x34,
  RECV_SHARED_AMS: 0x35,
  UNSHARED_AMS: 0x37,
  SUSPEND: 0x44,
  WILL_SUSPEND: 0x45,
  UNSUSPENDED: 0x46,
  TERMINATE: 0x4e,
  WILL_TERMINATE: 0x4f,
  DEVICE_CHANGED: 0xd4,
  DEVICE_INTERRUPT: 0xd4,
} as const;
export type SigName = keyof typeof Sig;

const SIG_NAMES = new Map<number, string>();
for (const [name, code] of Object.entries(Sig)) {
  const prev = SIG_NAMES.get(code);
  SIG_NAMES.set(code, prev ? `${prev}/${name}` : name);
}

/** The set of valid signal codes (HANDLE_SIGNAL & co. return 0x10 for anything else). */
export function isSignalCode(code: number): boolean {
  return SIG_NAMES.has(code);
}

export function signalName(code: number): string {
  return SIG_NAMES.get(code) ?? `SIGNAL_0x${code.toString(16).padStart(2, "0")}`;
}

/** Fixed PIDs of the system services (specs/services/system/README.md). */
export const SystemPid = {
  "sys::fs": 10,
  "sys::fsh": 11,
  "sys::hw": 12,
  "sys::perm": 13,
  "sys::net": 14,
  "sys::crypto": 15,
  "sys::crashsave": 16,
  "sys::hydre": 17,
  "sys::ui": 18,
  "sys::app": 19,
  "sys::process": 20,
} as const;

/** CONNECT_SERVICE's target types (specs/kernel/syscalls.md 0x2A). */
export const ServiceTarget = { MAIN: 0x00, SCOPED: 0x01, INTEGRATION: 0x02, DRIVER: 0x03 } as const;

/** The first PID given to a userland process (processes.md: userland PIDs are >= 100). */
export const FIRST_APP_PID = 100;

/** Registry keys the kernel reads (specs/registry.md, `system.processes`), with the spec's defaults. */
export const RegistryDefaults = {
  "system.processes.suspend_delay": 500,
  "system.processes.terminate_delay": 2000,
  "system.processes.service_answer_delay": 2000,
} as const;
export type RegistryKey = keyof typeof RegistryDefaults;

/** PIPE_WRITE / PIPE_READ's mode byte (syscalls.md 0x22, 0x23). */
export const PipeMode = { BLOCK: 0x00, FAIL: 0x01, PARTIAL: 0x02 } as const;

/** EXECUTION_CONTEXT's information code (syscalls.md 0xA0). */
export const ContextInfo = {
  ALL: 0x00,
  STARTUP_REASON: 0x01,
  HEADER: 0x02,
  ARGUMENTS: 0x03,
} as const;

/** The largest message a message pipe carries (ipc.md "Pipes": 64 KB, the buffer's minimal capacity). */
export const MAX_PIPE_MESSAGE_SIZE = 64 * 1024;
