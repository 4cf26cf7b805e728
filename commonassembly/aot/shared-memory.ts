// AOT step for threads (docs/commonassembly-aot.md "Imported memory", docs/kernel.md "Threads"): makes
// the module's memory an import (`nightos.memory`) so several instances (the threads of one process)
// share it, and turns its active data segments into passive ones written once by an added export
// `__nightos_init_memory` that the runtime calls on the process' first instance only.

import { INIT_MEMORY_EXPORT, SHARED_MEMORY_IMPORT } from "../abi/wasm-names.js";
import { WasmCursor } from "../wasm/cursor.js";
import { sleb32, uleb, wasmName } from "../wasm/leb.js";
import { readModule, SectionId } from "../wasm/reader.js";

/** The shared cursor over one section's content; the module was validated, so a failure is a bug. */
const cursor = (bytes: Uint8Array, start: number, size: number): WasmCursor =>
  new WasmCursor(bytes, start, start + size, (message, at) => {
    throw new Error(`shared-memory: ${message} at offset ${at}`);
  });

type Part = Uint8Array | number[];

function concat(parts: Part[]): Uint8Array {
  const total = parts.reduce((n, p) => n + p.length, 0);
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** A vector section's content with `extra` entries appended. */
function appendVector(
  bytes: Uint8Array,
  contentOffset: number,
  size: number,
  extra: number[][],
): Uint8Array {
  const c = cursor(bytes, contentOffset, size);
  const count = c.u32();
  return concat([
    uleb(count + extra.length),
    bytes.subarray(c.pos, contentOffset + size),
    extra.flat(),
  ]);
}

export interface SharedMemoryResult {
  wasm: Uint8Array;
  /** Passive segments the init function writes. */
  segments: number;
}

/**
 * Returns the module with its defined memory imported as `nightos.memory` and its active data
 * segments made passive (written by `__nightos_init_memory`), or undefined when the module does not
 * qualify (no defined memory, an imported one already, or a segment whose offset is not an i32.const).
 */
export function importMemory(wasm: Uint8Array): SharedMemoryResult | undefined {
  const info = readModule(wasm);
  if (info.memories.length !== 1 || info.imports.some((i) => i.kind === "memory")) return undefined;
  const mem = info.memories[0];
  if (mem === undefined) return undefined;
  const sec = (id: number) => info.sections.find((s) => s.id === id);

  // Data segments → passive; remember where each active one goes.
  const inits: { index: number; address: number; size: number }[] = [];
  let dataContent: Uint8Array | undefined;
  const data = sec(SectionId.data);
  if (data !== undefined) {
    const c = cursor(wasm, data.contentOffset, data.size);
    const n = c.u32();
    const out: Part[] = [uleb(n)];
    for (let i = 0; i < n; i++) {
      const flag = c.u32();
      if (flag === 1) {
        const len = c.u32();
        out.push([1, ...uleb(len)], c.take(len));
        continue;
      }
      if (flag === 2 && c.u32() !== 0) return undefined;
      if (flag !== 0 && flag !== 2) return undefined;
      if (c.byte() !== 0x41) return undefined; // i32.const
      const address = c.s32() >>> 0;
      if (c.byte() !== 0x0b) return undefined; // end
      const len = c.u32();
      out.push([1, ...uleb(len)], c.take(len));
      inits.push({ index: i, address, size: len });
    }
    dataContent = concat(out);
  }

  // The init function: memory.init + data.drop per formerly active segment.
  const body: number[] = [0]; // no locals
  for (const s of inits) {
    body.push(0x41, ...sleb32(s.address | 0), 0x41, 0, 0x41, ...sleb32(s.size | 0));
    body.push(0xfc, 8, ...uleb(s.index), 0);
    body.push(0xfc, 9, ...uleb(s.index));
  }
  body.push(0x0b);
  const importedFuncs = info.imports.filter((i) => i.kind === "func").length;
  const initFunc = importedFuncs + info.functions.length;
  const typeIndex = info.types.length;
  const limitsFlag = (mem.shared ? 2 : 0) | (mem.max !== undefined ? 1 : 0);
  const memImport = [
    ...wasmName("nightos"),
    ...wasmName(SHARED_MEMORY_IMPORT),
    2,
    limitsFlag,
    ...uleb(mem.min),
    ...(mem.max !== undefined ? uleb(mem.max) : []),
  ];

  const replaced = new Map<number, Part | null>();
  const vec = (id: number, extra: number[][]): Part => {
    const s = sec(id);
    return s === undefined
      ? [...uleb(extra.length), ...extra.flat()]
      : appendVector(wasm, s.contentOffset, s.size, extra);
  };
  replaced.set(SectionId.type, vec(SectionId.type, [[0x60, 0, 0]]));
  replaced.set(SectionId.import, vec(SectionId.import, [memImport]));
  replaced.set(SectionId.function, vec(SectionId.function, [uleb(typeIndex)]));
  replaced.set(SectionId.memory, null);
  replaced.set(
    SectionId.export,
    vec(SectionId.export, [[...wasmName(INIT_MEMORY_EXPORT), 0, ...uleb(initFunc)]]),
  );
  replaced.set(SectionId.code, vec(SectionId.code, [[...uleb(body.length), ...body]]));
  if (dataContent !== undefined) replaced.set(SectionId.data, dataContent);
  const segCount = info.dataSegments.length;
  replaced.set(SectionId.dataCount, uleb(segCount));

  // Section order (data count before code); sections missing from the input are inserted in order.
  const order = [1, 2, 3, 4, 5, 13, 6, 7, 8, 9, 12, 10, 11];
  const rank = (id: number) => order.indexOf(id);
  const out: Part[] = [wasm.subarray(0, 8)];
  const emit = (id: number, content: Part) => out.push([id, ...uleb(content.length)], content);
  const pending = new Map(replaced);
  const flushBefore = (r: number) => {
    for (const id of order) {
      if (rank(id) >= r) break;
      const c = pending.get(id);
      if (c === undefined) continue;
      pending.delete(id);
      if (c !== null && !(id === SectionId.dataCount && segCount === 0)) emit(id, c);
    }
  };
  for (const s of info.sections) {
    if (s.id !== 0) flushBefore(rank(s.id));
    const c = pending.get(s.id);
    if (s.id !== 0 && pending.has(s.id)) {
      pending.delete(s.id);
      if (c !== null && c !== undefined) emit(s.id, c);
      continue;
    }
    if (s.id !== 0 && replaced.has(s.id)) continue;
    out.push(wasm.subarray(s.offset, s.contentOffset + s.size));
  }
  flushBefore(order.length);
  return { wasm: concat(out), segments: inits.length };
}
