// Buffer arguments of syscalls the kernel answers (data-structures.md "Buffer pointers"; docs/kernel.md
// "Buffers"): the kernel never touches a process' memory. Driven by the table's `buffers` field, the
// runner copies the buffers the kernel reads into the request, and writes what the kernel answers for
// the buffers it writes back into the caller's memory (PIPE_WRITE, READ_SOCK_MSG, sys::fs reads alike).

import { GenericErr } from "../../commonassembly/abi/numbers.js";
import type { Errcode } from "../../commonassembly/abi/result.js";
import type { SyscallDef } from "../../commonassembly/abi/syscalls.js";

/** An area of the caller's memory a buffer argument names, checked against the memory's size. */
export interface BufferArea {
  readonly access: "read" | "written";
  readonly address: number;
  /**
   * Its length; for a buffer whose length the call decides ("call"), the room from its address to the
   * end of the memory, which the kernel's answer may not exceed.
   */
  readonly length: number;
}

function asNumber(v: unknown): bigint | undefined {
  if (typeof v === "bigint") return v;
  if (typeof v === "number") return BigInt(v);
  return undefined;
}

/**
 * The areas `def`'s buffer arguments name in a memory of `memSize` bytes, in the table's order; the
 * errcode of the first one that is not in it (address 0: 0x02; past the end: 0x03, as Proc.checkBuffer).
 */
export function bufferAreas(
  def: SyscallDef,
  args: unknown,
  memSize: number,
): BufferArea[] | Errcode {
  const a = (args ?? {}) as Record<string, unknown>;
  const out: BufferArea[] = [];
  for (const b of def.buffers) {
    const f = a[b.field];
    const ptr =
      typeof f === "object" && f !== null && "addr" in f
        ? (f as { addr: bigint; len: bigint })
        : undefined;
    const address = ptr?.addr ?? asNumber(f);
    if (address === undefined)
      throw new Error(`${def.name}: buffer field ${b.field} is not an address`);
    let length: bigint | undefined;
    if (b.length === "bufptr") length = ptr?.len;
    else if (b.length === "call")
      length = address < BigInt(memSize) ? BigInt(memSize) - address : 0n;
    else length = asNumber(a[b.length.field]);
    if (length === undefined) throw new Error(`${def.name}: no length for buffer ${b.field}`);
    if (address === 0n) return GenericErr.INVALID_ARGUMENT;
    if (address + length > BigInt(memSize) || address >= BigInt(memSize))
      return GenericErr.UNMAPPED_POINTER;
    out.push({ access: b.access, address: Number(address), length: Number(length) });
  }
  return out;
}

/** The bytes of the areas the kernel reads, copied out of `mem`, in order. */
export function gather(areas: readonly BufferArea[], mem: Uint8Array): Uint8Array[] {
  return areas
    .filter((a) => a.access === "read")
    .map((a) => mem.slice(a.address, a.address + a.length));
}

/** The areas the kernel writes, in order (what the runner keeps to place the kernel's answer). */
export function writtenAreas(areas: readonly BufferArea[]): BufferArea[] {
  return areas.filter((a) => a.access === "written");
}

/**
 * Write the kernel's answer for each written area into `mem`. More bytes than an area holds is a
 * kernel bug: it throws rather than write past the caller's buffer.
 */
export function scatter(
  written: readonly BufferArea[],
  bytes: readonly Uint8Array[],
  mem: Uint8Array,
): void {
  if (bytes.length > written.length)
    throw new Error(`the kernel answered ${bytes.length} buffers for ${written.length}`);
  bytes.forEach((b, i) => {
    const area = written[i] as BufferArea;
    if (b.length > area.length)
      throw new Error(`the kernel wrote ${b.length} bytes into a buffer of ${area.length}`);
    mem.set(b, area.address);
  });
}
