// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78): the checksum Btrfs uses for tree blocks,
// the superblock and data (csum_type 0), and for directory-entry name hashes. Slicing-by-16 over one
// flat table; 4-byte-aligned runs are read as 32-bit words, 16 bytes a step (about 1 GB/s in V8).
// Longer inputs go to the fastest backend this machine has: the CPU's CRC instruction through a
// prebuilt N-API module (crc32c-native.ts), else WebAssembly (crc32c-wasm.ts, about 2.3 GB/s).
// NCW_CRC32C=native|wasm|js forces one (for comparisons; an unavailable one is refused at start).

import { nativeCrc32c } from "./crc32c-native.js";
import { crc32cBlocks, crc32cUpdateWasm } from "./crc32c-wasm.js";

/** From this length on, the WebAssembly code is faster than the JS tables (copy included). */
export const WASM_MIN = 512;
/** From this length on, the native call is faster than the JS tables (call overhead included). */
export const NATIVE_MIN = 64;

export type Crc32cBackend = "native" | "wasm" | "js";

/** The backends this machine has, fastest first. */
export const crc32cBackends: readonly Crc32cBackend[] = nativeCrc32c
  ? ["native", "wasm", "js"]
  : ["wasm", "js"];

let backend: Crc32cBackend = crc32cBackends[0]!;

/** The backend long inputs use now. */
export function crc32cBackend(): Crc32cBackend {
  return backend;
}

/** Chooses the backend for long inputs (tests and benchmarks compare them). */
export function useCrc32cBackend(b: Crc32cBackend): void {
  if (!crc32cBackends.includes(b)) {
    throw new Error(
      `CRC-32C backend "${b}" is not available here (have: ${crc32cBackends.join(", ")})`,
    );
  }
  backend = b;
}

{
  const forced = process.env.NCW_CRC32C;
  if (forced) useCrc32cBackend(forced as Crc32cBackend);
}

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
  const n = end - start;
  if (backend === "native" && n >= NATIVE_MIN) {
    return ~nativeCrc32c!(data.subarray(start, end), ~crc >>> 0) >>> 0;
  }
  if (backend !== "js" && n >= WASM_MIN) return crc32cUpdateWasm(crc, data, start, end);
  return crc32cUpdateJs(crc, data, start, end);
}

/**
 * Standard CRC-32C of each `size`-byte sector of data[start..start + count*size), into
 * out[0..count): how data checksums are computed and verified. size: a multiple of 8, at most
 * 256 KiB (Btrfs sectors are 4–64 KiB).
 */
export function crc32cSectors(
  data: Uint8Array,
  start: number,
  count: number,
  size: number,
  out: Uint32Array,
): void {
  if (size % 8 !== 0 || size <= 0 || size > 256 * 1024) {
    throw new RangeError(`crc32cSectors: sector size ${size} is not a multiple of 8 in 8..262144`);
  }
  if (backend === "wasm") {
    crc32cBlocks(data, start, count, size, out);
    return;
  }
  if (start < 0 || start + count * size > data.length || out.length < count) {
    throw new RangeError("crc32cSectors: range outside the buffers");
  }
  for (let i = 0, at = start; i < count; i++, at += size) out[i] = crc32c(data, at, at + size);
}

/** Standard CRC-32C of every `size`-byte sector of `data`; the last one may be shorter. */
export function crc32cOfSectors(data: Uint8Array, size: number): Uint32Array {
  const whole = Math.floor(data.length / size);
  const out = new Uint32Array(Math.ceil(data.length / size));
  crc32cSectors(data, 0, whole, size, out);
  if (whole < out.length) out[whole] = crc32c(data, whole * size, data.length);
  return out;
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
