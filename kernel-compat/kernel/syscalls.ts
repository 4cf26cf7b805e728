// The kernel's syscall table (docs/kernel.md "Architecture"): the kernel halves of the syscall families
// (kernel-compat/syscalls/), by code, for the requests runners forward. The runner's table is
// syscalls/dispatch.ts; the runner never loads this file.

import { MEM_ALLOC } from "../../commonassembly/abi/syscalls.js";
import { amsKernelHandlers } from "../syscalls/ams.js";
import { memoryReservation } from "../syscalls/memory.js";
import { pipeKernelHandlers } from "../syscalls/pipes.js";
import { processKernelHandlers } from "../syscalls/process.js";
import type { BoundKernelHandler } from "./api.js";

/** Every kernel-side handler of a syscall the table says the kernel answers, by code. */
export const KERNEL_HANDLERS: ReadonlyMap<number, BoundKernelHandler> = new Map(
  [...processKernelHandlers, ...pipeKernelHandlers, ...amsKernelHandlers].map((h) => [
    h.def.code,
    h,
  ]),
);

/** The handler for a forwarded request with code `code`: MEM_ALLOC is the memory reservation. */
export function kernelHandler(code: number): BoundKernelHandler | undefined {
  return code === MEM_ALLOC.code ? memoryReservation : KERNEL_HANDLERS.get(code);
}
