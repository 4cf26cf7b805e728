// Memory syscalls 0x30–0x31 (specs/kernel/syscalls.md): MEM_ALLOC, MEM_FREE, page-granular inside the
// process' WebAssembly memory (runner/memory.ts), answered in the runner; the kernel's half only counts
// a MEM_ALLOC growth against the home's memory limit. Permission bits: docs/kernel.md, "Memory".

import { encode } from "../../commonassembly/abi/codec.js";
import { GenericErr } from "../../commonassembly/abi/numbers.js";
import { fail, ok } from "../../commonassembly/abi/result.js";
import { MEM_ALLOC, MEM_FREE } from "../../commonassembly/abi/syscalls.js";
import { PAGE_SIZE } from "../runner/memory.js";
import { bind, bindKernel } from "./result.js";

/** Read-only, write-only, read-write. Exec-only (0b100) is refused: linear memory never executes. */
const ACCEPTED_PERMISSIONS = new Set([0b001, 0b010, 0b011]);
const WASM32_LIMIT = 2n ** 32n;

export const memoryHandlers = [
  bind(MEM_ALLOC, (p, a) => {
    if (!ACCEPTED_PERMISSIONS.has(a.permissions)) return fail(MEM_ALLOC.errors.INVALID_PERMISSION);
    if (a.zeroed > 1 || a.size === 0n) return fail(GenericErr.INVALID_ARGUMENT);
    if (a.size > WASM32_LIMIT) return fail(MEM_ALLOC.errors.NO_CONTIGUOUS_BLOCK);
    // A growth is counted against the home's memory limit first (memoryReservation below).
    const reserve = (bytes: number) =>
      p.toKernel(
        new Uint8Array([MEM_ALLOC.code, ...encode(MEM_ALLOC.args, { ...a, size: BigInt(bytes) })]),
      ).errcode === null;
    const r = p.pages.alloc(Number(a.size), a.permissions, a.zeroed === 1, reserve);
    if (!r.ok) return fail(MEM_ALLOC.errors.NO_CONTIGUOUS_BLOCK);
    return ok({ address: BigInt(r.address) });
  }),
  bind(MEM_FREE, (p, a) => {
    if (a.address % BigInt(PAGE_SIZE) !== 0n) return fail(MEM_FREE.errors.UNALIGNED);
    // Address 0 is the spec's example of an invalid argument (syscalls.md "0x02"); 0 pages frees nothing.
    if (a.address === 0n || a.pages === 0n) return fail(GenericErr.INVALID_ARGUMENT);
    const size = BigInt(p.memory.buffer.byteLength);
    if (a.address >= size) return fail(MEM_FREE.errors.ADDRESS_OUT_OF_RANGE);
    if (a.address + a.pages * BigInt(PAGE_SIZE) > size)
      return fail(MEM_FREE.errors.SIZE_OUT_OF_RANGE);
    const e = p.pages.free_(Number(a.address), Number(a.pages));
    if (e === "not-allocated" || e === "mapped") return fail(MEM_FREE.errors.NOT_ALLOCATED);
    if (e === "shared") return fail(MEM_FREE.errors.SHARED);
    if (e !== undefined) return fail(GenericErr.INVALID_ARGUMENT);
    return ok({});
  }),
];

// ---- the kernel's half ----

/**
 * Not a syscall handler of the table: MEM_ALLOC's runner handler sends its request to the kernel, with
 * the size of the growth it needs, only to count it against the home's memory limit.
 */
export const memoryReservation = bindKernel(MEM_ALLOC, async (k, caller, a) =>
  k.reserveMemory(caller, Number(a.size))
    ? ok({ address: 0n })
    : fail(MEM_ALLOC.errors.NO_CONTIGUOUS_BLOCK),
);
