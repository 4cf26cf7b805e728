// Minimal WebAssembly binary section access for the AOT step (WebAssembly core spec, "Binary Format"):
// finds memory 0's limits and rewrites the memory section to raise its maximum by one page.

import { NcwError } from "../../ncw/errors.js";
import { WasmCursor } from "../wasm/cursor.js";
import { uleb } from "../wasm/leb.js";
import { SECTION_ORDER } from "../wasm/reader.js";

export interface MemoryLimits {
  initial: number;
  max: number | undefined;
  shared: boolean;
  is64: boolean;
  /** True when memory 0 is imported rather than defined by the module. */
  imported: boolean;
}

/** The largest memory a wasm32 module may declare, in 64 KiB pages. */
export const WASM32_MAX_PAGES = 65536;

function bad(what: string): NcwError {
  return new NcwError("data", `malformed WebAssembly module: ${what}`, {
    code: "AOT_MALFORMED_MODULE",
  });
}

type Reader = WasmCursor;
const reader = (bytes: Uint8Array, pos: number, end: number): Reader =>
  new WasmCursor(bytes, pos, end, (message, at) => {
    throw bad(`${message} at offset ${at}`);
  });

interface Section {
  id: number;
  /** Offset of the section id byte. */
  start: number;
  contentStart: number;
  end: number;
}

function sections(bytes: Uint8Array): Section[] {
  if (
    bytes.length < 8 ||
    bytes[0] !== 0 ||
    bytes[1] !== 0x61 ||
    bytes[2] !== 0x73 ||
    bytes[3] !== 0x6d
  ) {
    throw bad("missing the \\0asm magic");
  }
  const r = reader(bytes, 8, bytes.length);
  const out: Section[] = [];
  while (r.pos < bytes.length) {
    const start = r.pos;
    const id = r.byte();
    const size = r.u32();
    const contentStart = r.pos;
    r.skip(size);
    out.push({ id, start, contentStart, end: r.pos });
  }
  return out;
}

function readLimits(r: Reader): {
  initial: number;
  max: number | undefined;
  shared: boolean;
  is64: boolean;
} {
  const flags = r.byte();
  if (flags > 0x07) throw bad(`memory limits flags 0x${flags.toString(16)}`);
  const bits = (flags & 4) !== 0 ? 64 : 32; // memory64 limits are u64
  const initial = r.uleb(bits);
  const max = (flags & 1) !== 0 ? r.uleb(bits) : undefined;
  return { initial, max, shared: (flags & 2) !== 0, is64: (flags & 4) !== 0 };
}

function skipTableType(r: Reader): void {
  r.byte(); // reftype
  const flags = r.byte();
  r.u32();
  if ((flags & 1) !== 0) r.u32();
}

/** The limits of memory 0, or undefined when the module has no memory. */
export function readMemoryLimits(bytes: Uint8Array): MemoryLimits | undefined {
  const secs = sections(bytes);
  const imp = secs.find((s) => s.id === 2);
  if (imp !== undefined) {
    const r = reader(bytes, imp.contentStart, imp.end);
    const count = r.u32();
    for (let i = 0; i < count; i++) {
      r.name();
      r.name();
      const kind = r.byte();
      if (kind === 0) r.u32();
      else if (kind === 1) skipTableType(r);
      else if (kind === 2) return { ...readLimits(r), imported: true };
      else if (kind === 3) {
        r.byte();
        r.byte();
      } else if (kind === 4) {
        r.byte();
        r.u32();
      } else throw bad(`import kind ${kind}`);
    }
  }
  const mem = secs.find((s) => s.id === 5);
  if (mem === undefined) return undefined;
  const r = reader(bytes, mem.contentStart, mem.end);
  if (r.u32() === 0) return undefined;
  return { ...readLimits(r), imported: false };
}

/**
 * Returns the module with the maximum of its defined memory 0 raised by one page (capped at the wasm32
 * limit), so the runtime can grow the memory by the page that holds the control block. Modules whose
 * memory has no maximum, is imported, or is already at the limit come back unchanged.
 */
export function bumpMemoryMaximum(bytes: Uint8Array): Uint8Array {
  const secs = sections(bytes);
  const mem = secs.find((s) => s.id === 5);
  if (mem === undefined) return bytes;
  const r = reader(bytes, mem.contentStart, mem.end);
  const count = r.u32();
  if (count === 0) return bytes;
  const entryStart = r.pos;
  const lim = readLimits(r);
  const entryEnd = r.pos;
  if (lim.max === undefined || lim.is64 || lim.max >= WASM32_MAX_PAGES) return bytes;
  const flags = bytes[entryStart] as number;
  const entry = [flags, ...uleb(lim.initial), ...uleb(lim.max + 1)];
  const content = [...uleb(count), ...entry, ...bytes.subarray(entryEnd, mem.end)];
  const header = [5, ...uleb(content.length)];
  const out = new Uint8Array(mem.start + header.length + content.length + (bytes.length - mem.end));
  out.set(bytes.subarray(0, mem.start), 0);
  out.set(header, mem.start);
  out.set(content, mem.start + header.length);
  out.set(bytes.subarray(mem.end), mem.start + header.length + content.length);
  return out;
}

/**
 * Returns the module with a memory section declaring one memory (`flags initial [max]`), inserted at its
 * place in section order. Only for modules without any memory (checked by the caller).
 */
export function addMemorySection(
  bytes: Uint8Array,
  initial: number,
  max: number,
  shared: boolean,
): Uint8Array {
  const secs = sections(bytes);
  const content = [1, shared ? 0x03 : 0x01, ...uleb(initial), ...uleb(max)];
  const sec = [5, ...uleb(content.length), ...content];
  // An empty memory section (count 0) is replaced; otherwise the new one goes at its place in order.
  const empty = secs.find((s) => s.id === 5);
  const before = secs.find((s) => s.id !== 0 && (SECTION_ORDER[s.id] ?? 0) > 5);
  const at = empty?.start ?? before?.start ?? bytes.length;
  const resume = empty?.end ?? at;
  const out = new Uint8Array(at + sec.length + (bytes.length - resume));
  out.set(bytes.subarray(0, at), 0);
  out.set(sec, at);
  out.set(bytes.subarray(resume), at + sec.length);
  return out;
}

/** `wasm` with a custom section `name` holding `payload` appended (a custom section may come last). */
export function appendCustomSection(
  wasm: Uint8Array,
  name: string,
  payload: Uint8Array,
): Uint8Array {
  const nameBytes = new TextEncoder().encode(name);
  const content = [...uleb(nameBytes.length), ...nameBytes, ...payload];
  const head = [0, ...uleb(content.length)];
  const out = new Uint8Array(wasm.length + head.length + content.length);
  out.set(wasm, 0);
  out.set(head, wasm.length);
  out.set(content, wasm.length + head.length);
  return out;
}
