// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78): the checksum Btrfs uses for tree blocks,
// the superblock and data (csum_type 0), and for directory-entry name hashes. Slicing-by-16 over one
// flat table; 4-byte-aligned runs are read as 32-bit words, 16 bytes a step (about 1 GB/s in V8).
// Inputs of WASM_MIN bytes or more go to the WebAssembly version (crc32c-wasm.ts, about 2.3 GB/s).

import { crc32cUpdateWasm } from "./crc32c-wasm.js";

/** From this length on, the WebAssembly code is faster than the JS tables (copy included). */
export const WASM_MIN = 512;

const POLY = 0x82f63b78;

/** T[k * 256 + b]: the CRC of byte b followed by k zero bytes (k < 16), as int32. */
const T: Int32Array = (() => {
  const t = new Int32Array(256 * 16);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
    t[i] = c;
  }
  for (let k = 1; k < 16; k++) {
    for (let i = 0; i < 256; i++) {
      const p = t[(k - 1) * 256 + i]!;
      t[k * 256 + i] = (p >>> 8) ^ t[p & 0xff]!;
    }
  }
  return t;
})();

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** One 32-bit view per buffer, so sector-by-sector checksums do not create a view each time. */
const wordViews = new WeakMap<ArrayBufferLike, Int32Array>();
function wordsOf(buf: ArrayBufferLike): Int32Array {
  let w = wordViews.get(buf);
  if (!w) {
    w = new Int32Array(buf, 0, buf.byteLength >>> 2);
    wordViews.set(buf, w);
  }
  return w;
}

function bytewise(crc: number, data: Uint8Array, start: number, end: number): number {
  let c = crc;
  for (let i = start; i < end; i++) c = (c >>> 8) ^ T[(c ^ data[i]!) & 0xff]!;
  return c;
}

/**
 * Raw CRC-32C update with no pre/post inversion (the Linux kernel's `crc32c(seed, buf, len)`).
 * Btrfs name hashes are `crc32cUpdate(~1 >>> 0, name)`.
 */
export function crc32cUpdate(crc: number, data: Uint8Array, start = 0, end = data.length): number {
  if (end - start >= WASM_MIN) return crc32cUpdateWasm(crc, data, start, end);
  return crc32cUpdateJs(crc, data, start, end);
}

/** crc32cUpdate with the JS tables only (short inputs; and the reference the wasm code is tested against). */
export function crc32cUpdateJs(
  crc: number,
  data: Uint8Array,
  start = 0,
  end = data.length,
): number {
  let c = crc | 0;
  let i = start;
  // Align to 4 bytes, then run 16 bytes at a time on 32-bit words (slicing-by-16).
  const lead = Math.min((4 - ((data.byteOffset + i) & 3)) & 3, end - i);
  c = bytewise(c, data, i, i + lead);
  i += lead;
  const n16 = (end - i) & ~15;
  if (n16 > 0 && LITTLE_ENDIAN) {
    const w = wordsOf(data.buffer);
    const first = (data.byteOffset + i) >>> 2;
    const last = first + (n16 >>> 2);
    for (let j = first; j < last; j += 4) {
      const a = c ^ w[j]!;
      const b = w[j + 1]!;
      const d = w[j + 2]!;
      const e = w[j + 3]!;
      c =
        T[3840 + (a & 0xff)]! ^
        T[3584 + ((a >>> 8) & 0xff)]! ^
        T[3328 + ((a >>> 16) & 0xff)]! ^
        T[3072 + (a >>> 24)]! ^
        T[2816 + (b & 0xff)]! ^
        T[2560 + ((b >>> 8) & 0xff)]! ^
        T[2304 + ((b >>> 16) & 0xff)]! ^
        T[2048 + (b >>> 24)]! ^
        T[1792 + (d & 0xff)]! ^
        T[1536 + ((d >>> 8) & 0xff)]! ^
        T[1280 + ((d >>> 16) & 0xff)]! ^
        T[1024 + (d >>> 24)]! ^
        T[768 + (e & 0xff)]! ^
        T[512 + ((e >>> 8) & 0xff)]! ^
        T[256 + ((e >>> 16) & 0xff)]! ^
        T[e >>> 24]!;
    }
    i += n16;
  }
  return bytewise(c, data, i, end) >>> 0;
}

/** Standard CRC-32C of `data[start..end)` (initial value ~0, final inversion), as Btrfs stores it. */
export function crc32c(data: Uint8Array, start = 0, end = data.length): number {
  return ~crc32cUpdate(0xffffffff, data, start, end) >>> 0;
}

/** The Btrfs directory-entry name hash (the offset of DIR_ITEM keys): crc32c seeded with ~1. */
export function btrfsNameHash(name: Uint8Array): number {
  return crc32cUpdate(0xfffffffe, name);
}
