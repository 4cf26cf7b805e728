// The kernel's syscall table (docs/kernel.md "Architecture"): the kernel halves of the syscall families
// (kernel-compat/syscalls/), by code, for the requests runners forward. The runner's table is
// syscalls/dispatch.ts; the runner never loads this file.

import {
  ACCEPT_SERVICE_CONN,
  MEM_ALLOC,
  SEND_SOCK_MSG,
} from "../../commonassembly/abi/syscalls.js";
import { amsKernelHandlers } from "../syscalls/ams.js";
import { memoryReservation } from "../syscalls/memory.js";
import { pipeKernelHandlers } from "../syscalls/pipes.js";
import { processKernelHandlers } from "../syscalls/process.js";
import { acceptKernelHalf, serviceKernelHandlers } from "../syscalls/services.js";
import { socketKernelHandlers, socketSendBookkeeping } from "../syscalls/sockets.js";
import type { BoundKernelHandler } from "./api.js";

/** Every kernel-side handler of a syscall the table says the kernel answers, by code. */
export const KERNEL_HANDLERS: ReadonlyMap<number, BoundKernelHandler> = new Map(
  [
    ...processKernelHandlers,
    ...pipeKernelHandlers,
    ...socketKernelHandlers,
    ...serviceKernelHandlers,
    ...amsKernelHandlers,
  ].map((h) => [h.def.code, h]),
);

/**
 * The kernel halves of syscalls the runner answers, by code: MEM_ALLOC counts a growth against the
 * home's memory limit, SEND_SOCK_MSG keeps the exchange of a message its runner staged,
 * ACCEPT_SERVICE_CONN opens the connection before the runner creates the client thread.
 */
export const KERNEL_HALVES: ReadonlyMap<number, { handler: BoundKernelHandler; what: string }> =
  new Map([
    [MEM_ALLOC.code, { handler: memoryReservation, what: "home memory limit" }],
    [SEND_SOCK_MSG.code, { handler: socketSendBookkeeping, what: "exchange bookkeeping" }],
    [ACCEPT_SERVICE_CONN.code, { handler: acceptKernelHalf, what: "connection" }],
  ]);

/** The handler for a forwarded request with code `code`. */
export function kernelHandler(code: number): BoundKernelHandler | undefined {
  return KERNEL_HALVES.get(code)?.handler ?? KERNEL_HANDLERS.get(code);
}
