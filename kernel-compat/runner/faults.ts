// Turning a WebAssembly trap into the spec's MEM_FAULT datafield (specs/kernel/signals.md 0x02). V8
// reports the trapping instruction's byte offset in the stack trace but not the address it touched:
// NCW decodes the instruction to tell read from write, and reports the address as unknown
// (all bits set). docs/kernel.md, "MEM_FAULT".

import { MemAccess } from "../../commonassembly/abi/signals.js";
import { WasmCursor } from "../../commonassembly/wasm/cursor.js";
import type { WasmModuleInfo } from "../../commonassembly/wasm/reader.js";
import type { Outcome } from "../protocol.js";

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

/** One WebAssembly frame of a trap's backtrace, innermost first (docs/kernel.md, "Backtraces"). */
export interface WasmFrame {
  /** The function's index in the running module (the AOT artifact). */
  func: number;
  /** Its name from the module's name section, when it has one. */
  name?: string;
  /** Byte offset of the instruction in the running module. */
  offset: number;
}

/** Most frames a backtrace keeps, and the longest name (the outcome crosses two IPC hops). */
export const BACKTRACE_MAX_FRAMES = 64;
const NAME_MAX = 256;

// V8 records 10 frames by default; a trap's backtrace wants the whole (bounded) wasm stack.
if (Error.stackTraceLimit < BACKTRACE_MAX_FRAMES + 16)
  Error.stackTraceLimit = BACKTRACE_MAX_FRAMES + 16;

/**
 * The wasm frames of a trap, from V8's `error.stack` (`wasm://wasm/<hash>:wasm-function[<i>]:0x<off>`),
 * named from the module's name section, else by the function's export name. JS frames are left out.
 */
export function wasmBacktrace(
  e: Error,
  module: Pick<WasmModuleInfo, "functionNames" | "exports">,
): WasmFrame[] {
  const frames: WasmFrame[] = [];
  for (const m of (e.stack ?? "").matchAll(/wasm-function\[(\d+)\]:0x([0-9a-f]+)/g)) {
    if (frames.length === BACKTRACE_MAX_FRAMES) break;
    const func = Number(m[1]);
    const offset = Number.parseInt(m[2] ?? "0", 16);
    const name =
      module.functionNames.get(func) ??
      module.exports.find((x) => x.kind === "func" && x.index === func)?.name;
    frames.push(
      name === undefined ? { func, offset } : { func, name: name.slice(0, NAME_MAX), offset },
    );
  }
  return frames;
}

/** A "killed" outcome with the trap's backtrace (an exit, e.g. from a MEM_FAULT handler, has none). */
export function withBacktrace(o: Outcome, backtrace: WasmFrame[]): Outcome {
  return o.kind === "killed" && backtrace.length > 0 ? { ...o, backtrace } : o;
}
