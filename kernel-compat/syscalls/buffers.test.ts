// Unit tests of the runner's buffer copies for kernel syscalls (syscalls/buffers.ts), on the table's
// own entries.

import { describe, expect, it } from "vitest";
import { GenericErr } from "../../commonassembly/abi/numbers.js";
import {
  PIPE_READ,
  PIPE_WRITE,
  READ_SOCK_MSG,
  SEND_SOCK_MSG,
} from "../../commonassembly/abi/syscalls.js";
import { type BufferArea, bufferAreas, gather, scatter, writtenAreas } from "./buffers.js";

const MEM = 4096;

/** The areas, for a request that names them well. */
function areasOf(r: BufferArea[] | number): BufferArea[] {
  if (typeof r === "number") throw new Error(`errcode ${r}`);
  return r;
}

describe("buffer arguments", () => {
  it("reads PIPE_WRITE's buffer of `count` bytes and SEND_SOCK_MSG's bufptr", () => {
    const mem = new Uint8Array(MEM);
    mem.set([1, 2, 3, 4], 100);
    const areas = bufferAreas(PIPE_WRITE, { sc: 1n, count: 3, buffer: 100n, mode: 0 }, MEM);
    expect(areas).toEqual([{ access: "read", address: 100, length: 3 }]);
    expect(gather(areasOf(areas), mem)).toEqual([Uint8Array.from([1, 2, 3])]);
    const send = bufferAreas(
      SEND_SOCK_MSG,
      { socket: 1n, exchange: 0n, method: 0, errorCode: 0, content: { addr: 101n, len: 2n } },
      MEM,
    );
    expect(gather(areasOf(send), mem)).toEqual([Uint8Array.from([2, 3])]);
  });
  it("writes PIPE_READ's bufptr and READ_SOCK_MSG's call-sized buffer back, never past them", () => {
    const mem = new Uint8Array(MEM);
    const areas = bufferAreas(PIPE_READ, { rc: 1n, mode: 0, buffer: { addr: 200n, len: 4n } }, MEM);
    expect(areas).toEqual([{ access: "written", address: 200, length: 4 }]);
    const w = writtenAreas(areasOf(areas));
    scatter(w, [Uint8Array.from([9, 8, 7])], mem);
    expect([...mem.subarray(200, 204)]).toEqual([9, 8, 7, 0]);
    expect(() => scatter(w, [new Uint8Array(5)], mem)).toThrow(/5 bytes into a buffer of 4/);
    // "call": as much as the memory holds from the address on.
    const sock = bufferAreas(READ_SOCK_MSG, { socket: 1n, buffer: 4000n }, MEM);
    expect(sock).toEqual([{ access: "written", address: 4000, length: 96 }]);
  });
  it("refuses a buffer at address 0 or past the memory, as the runner's own handlers do", () => {
    expect(bufferAreas(PIPE_WRITE, { sc: 1n, count: 3, buffer: 0n, mode: 0 }, MEM)).toBe(
      GenericErr.INVALID_ARGUMENT,
    );
    expect(bufferAreas(PIPE_WRITE, { sc: 1n, count: 10, buffer: 4090n, mode: 0 }, MEM)).toBe(
      GenericErr.UNMAPPED_POINTER,
    );
    expect(bufferAreas(READ_SOCK_MSG, { socket: 1n, buffer: 5000n }, MEM)).toBe(
      GenericErr.UNMAPPED_POINTER,
    );
  });
});
