// Instruction immediates of CommonAssembly's WebAssembly (core 2.0 + threads; core spec "Binary Format >
// Instructions"), decoded through the shared cursor: the one instruction walker of the poll rewriter,
// the feature check of validation and the fault decoder. Anything outside that set is a `fail`.

import type { WasmCursor } from "./cursor.js";

/** A block type: -1 for empty (0x40), -2 for a value type, else the type index (s33, non-negative). */
export function blockType(c: WasmCursor): number {
  const first = c.peek();
  if (first === 0x40 || (first !== undefined && first >= 0x6f && first <= 0x7f && first !== 0x7a)) {
    c.pos++;
    return first === 0x40 ? -1 : -2;
  }
  const at = c.pos;
  // An s33: five bytes at most; a type index is its non-negative part.
  const v = c.sleb(64, "block type");
  if (v < 0 || at + 5 < c.pos || v > 0xffffffff) c.fail("invalid block type", at);
  return v;
}

/** A memory argument: alignment (bit 6 set: a memory index follows, multi-memory), then offset. */
export function memarg(c: WasmCursor): void {
  const align = c.u32("memory alignment");
  if ((align & 0x40) !== 0) c.u32("memory index");
  c.u32("memory offset");
}

/** Skips the immediates of the instruction whose opcode byte `op` was just read, control ones included. */
export function skipImmediates(c: WasmCursor, op: number): void {
  if (op >= 0x28 && op <= 0x3e) {
    memarg(c);
    return;
  }
  switch (op) {
    case 0x02:
    case 0x03:
    case 0x04:
      blockType(c);
      return;
    case 0x0e: {
      const n = c.u32("br_table size");
      for (let i = 0; i <= n; i++) c.u32("br_table label");
      return;
    }
    case 0x11:
      c.u32("type index");
      c.u32("table index");
      return;
    case 0x1c: {
      const n = c.u32("select types");
      c.skip(n, "select types");
      return;
    }
    case 0x0c:
    case 0x0d:
    case 0x10:
    case 0x20:
    case 0x21:
    case 0x22:
    case 0x23:
    case 0x24:
    case 0x25:
    case 0x26:
    case 0x3f:
    case 0x40:
    case 0xd2:
      c.u32("index");
      return;
    case 0x41:
      c.sleb(32, "i32.const");
      return;
    case 0x42:
      c.sleb(64, "i64.const");
      return;
    case 0x43:
      c.skip(4, "f32.const");
      return;
    case 0x44:
      c.skip(8, "f64.const");
      return;
    case 0xd0:
      c.byte("ref.null type");
      return;
    case 0xfc: {
      const at = c.pos;
      const sub = c.u32("0xfc instruction");
      if (sub <= 7) return;
      if (sub === 8 || sub === 10 || sub === 12 || sub === 14) {
        c.u32("index");
        c.u32("index");
        return;
      }
      if (sub <= 17) {
        c.u32("index");
        return;
      }
      c.fail(`unknown instruction 0xfc ${sub}`, at - 1);
      return;
    }
    case 0xfd: {
      const at = c.pos;
      const sub = c.u32("0xfd instruction");
      if (sub <= 11 || sub === 92 || sub === 93) {
        memarg(c);
        return;
      }
      if (sub === 12 || sub === 13) {
        c.skip(16, "v128 immediate");
        return;
      }
      if (sub >= 21 && sub <= 34) {
        c.byte("lane index");
        return;
      }
      if (sub >= 84 && sub <= 91) {
        memarg(c);
        c.byte("lane index");
        return;
      }
      if (sub > 0xff) c.fail(`unknown instruction 0xfd ${sub}`, at - 1);
      return;
    }
    case 0xfe: {
      const at = c.pos;
      const sub = c.u32("0xfe instruction");
      if (sub === 0x03) {
        c.byte("atomic.fence");
        return;
      }
      if (sub <= 0x02 || (sub >= 0x10 && sub <= 0x4e)) {
        memarg(c);
        return;
      }
      c.fail(`unknown instruction 0xfe ${sub}`, at - 1);
      return;
    }
    default:
      if (op <= 0x01 || op === 0x05 || op === 0x0b || op === 0x0f || op === 0x1a || op === 0x1b)
        return;
      if ((op >= 0x45 && op <= 0xc4) || op === 0xd1) return;
      c.fail(`unknown opcode 0x${op.toString(16)}`, c.pos - 1);
  }
}
