// Turning a WebAssembly trap into the spec's MEM_FAULT datafield (specs/kernel/signals.md 0x02). V8
// reports the trapping instruction's byte offset in the stack trace but not the address it touched:
// NCW decodes the instruction to tell read from write, and reports the address as unknown
// (all bits set). docs/kernel.md, "MEM_FAULT".

import { MemAccess } from "../../commonassembly/abi/signals.js";
import { WasmCursor } from "../../commonassembly/wasm/cursor.js";

export const UNKNOWN_FAULT_ADDRESS = 0xffff_ffff_ffff_ffffn;

export function isOutOfBounds(e: unknown): boolean {
  return (
    e instanceof WebAssembly.RuntimeError &&
    /memory access out of bounds|out of bounds memory access/.test(e.message)
  );
}

/** The byte offset (in the module) of the innermost wasm frame of a trap, if the stack shows one. */
export function trapOffset(e: Error): number | undefined {
  const m = /wasm-function\[\d+\]:0x([0-9a-f]+)/.exec(e.stack ?? "");
  return m?.[1] === undefined ? undefined : Number.parseInt(m[1], 16);
}

/** The sub-opcode (a u32, the shared decoder's) after a prefix byte, or undefined if none is there. */
function subOpcode(wasm: Uint8Array, at: number): number | undefined {
  const c = new WasmCursor(wasm, at, wasm.length, (message) => {
    throw new RangeError(message);
  });
  try {
    return c.u32("sub-opcode");
  } catch {
    return undefined;
  }
}

/** Read or write, from the opcode at `offset` of the module bytes. */
export function accessKind(wasm: Uint8Array, offset: number | undefined): number {
  if (offset === undefined) return MemAccess.READ;
  const op = wasm[offset];
  if (op === undefined) return MemAccess.READ;
  if (op >= 0x36 && op <= 0x3e) return MemAccess.WRITE;
  if (op === 0xfc) {
    const sub = subOpcode(wasm, offset + 1);
    return sub === 8 || sub === 10 || sub === 11 ? MemAccess.WRITE : MemAccess.READ;
  }
  if (op === 0xfe) {
    const sub = subOpcode(wasm, offset + 1);
    return sub !== undefined && sub >= 0x17 ? MemAccess.WRITE : MemAccess.READ;
  }
  return MemAccess.READ;
}
