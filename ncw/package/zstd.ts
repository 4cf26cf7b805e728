// Bounded zstd decompression and package compression (RFC 8878 frame format) for .nap/.nva files.
// @mongodb-js/zstd only decompresses whole buffers, so every frame is walked block by block first and
// its largest possible output computed; nothing is decompressed unless the bound fits the limits.

import { NcwError } from "../errors.js";
import type { PackageLimits } from "./limits.js";
import { compress, decompress } from "./zstd-binding.js";

export const ZSTD_MAGIC = 0xfd2fb528;
export const ZSTD_SKIPPABLE_MASK = 0xfffffff0;
export const ZSTD_SKIPPABLE_MAGIC = 0x184d2a50;
/** Block_Maximum_Size upper limit (RFC 8878 §3.1.1.2.4): 128 KiB. */
export const ZSTD_BLOCK_MAX = 128 * 1024;

export interface ZstdFrameInfo {
  /** Offset of the frame in the input. */
  offset: number;
  /** Length of the frame in bytes (header, blocks, checksum). */
  length: number;
  skippable: boolean;
  /** Frame_Content_Size when the header declares it. */
  contentSize?: number;
  /** The largest output the frame's blocks can produce (exact for raw/RLE blocks). */
  bound: number;
  /** Offset of the header's FCS field and its width (0 when absent), for rewriting. */
  headerEnd: number;
}

function zstdError(code: string, message: string): NcwError {
  return new NcwError("data", message, {
    code,
    hint: "The package file is damaged or incomplete: download or build it again.",
  });
}

function u32(b: Uint8Array, o: number): number {
  return (
    ((b[o] ?? 0) | ((b[o + 1] ?? 0) << 8) | ((b[o + 2] ?? 0) << 16) | ((b[o + 3] ?? 0) << 24)) >>> 0
  );
}

function uintLE(b: Uint8Array, o: number, n: number): number {
  let v = 0;
  for (let i = n - 1; i >= 0; i--) v = v * 256 + (b[o + i] ?? 0);
  return v;
}

/** Walk every frame of a zstd stream, validating its structure without decompressing it. */
export function scanZstdFrames(bytes: Uint8Array): ZstdFrameInfo[] {
  if (bytes.length < 4 || u32(bytes, 0) !== ZSTD_MAGIC) {
    throw zstdError(
      "PKG_NOT_ZSTD",
      "not a zstd-compressed package (the file does not start with the zstd magic number 28 B5 2F FD)",
    );
  }
  const frames: ZstdFrameInfo[] = [];
  let off = 0;
  while (off < bytes.length) {
    const need = (n: number, what: string): void => {
      if (off + n > bytes.length) {
        throw zstdError(
          "PKG_ZSTD_TRUNCATED",
          `zstd stream is truncated: ${what} at offset ${off} needs ${n} bytes, ${bytes.length - off} left`,
        );
      }
    };
    need(4, "frame magic");
    const magic = u32(bytes, off);
    const start = off;
    if ((magic & ZSTD_SKIPPABLE_MASK) >>> 0 === ZSTD_SKIPPABLE_MAGIC) {
      need(8, "skippable frame header");
      const len = u32(bytes, off + 4);
      off += 8;
      need(len, "skippable frame content");
      off += len;
      frames.push({
        offset: start,
        length: off - start,
        skippable: true,
        bound: 0,
        headerEnd: off,
      });
      continue;
    }
    if (magic !== ZSTD_MAGIC) {
      throw zstdError(
        "PKG_ZSTD_CORRUPT",
        `zstd stream is corrupt: no frame magic at offset ${off}`,
      );
    }
    off += 4;
    need(1, "frame header descriptor");
    const fhd = bytes[off] ?? 0;
    off += 1;
    const fcsFlag = fhd >> 6;
    const single = (fhd >> 5) & 1;
    const reserved = (fhd >> 3) & 1;
    const checksum = (fhd >> 2) & 1;
    const didFlag = fhd & 3;
    if (reserved !== 0) {
      throw zstdError("PKG_ZSTD_CORRUPT", `zstd frame at offset ${start}: reserved header bit set`);
    }
    let windowSize = 0;
    if (!single) {
      need(1, "window descriptor");
      const wd = bytes[off] ?? 0;
      off += 1;
      const base = 2 ** (10 + (wd >> 3));
      windowSize = base + (base / 8) * (wd & 7);
    }
    const didSize = [0, 1, 2, 4][didFlag] ?? 0;
    need(didSize, "dictionary id");
    if (didSize > 0 && uintLE(bytes, off, didSize) !== 0) {
      throw zstdError(
        "PKG_ZSTD_CORRUPT",
        `zstd frame at offset ${start} needs a dictionary; packages must not use zstd dictionaries`,
      );
    }
    off += didSize;
    const fcsSize = [single ? 1 : 0, 2, 4, 8][fcsFlag] ?? 0;
    need(fcsSize, "frame content size");
    let contentSize: number | undefined;
    if (fcsSize > 0) {
      contentSize = uintLE(bytes, off, fcsSize) + (fcsSize === 2 ? 256 : 0);
      if (!Number.isSafeInteger(contentSize)) {
        throw zstdError(
          "PKG_TOO_LARGE",
          `zstd frame at offset ${start} declares an impossible size`,
        );
      }
    }
    off += fcsSize;
    const headerEnd = off;
    if (single) windowSize = contentSize ?? 0;
    const blockMax = Math.min(ZSTD_BLOCK_MAX, Math.max(windowSize, 0));
    let bound = 0;
    for (;;) {
      need(3, "block header");
      const h = uintLE(bytes, off, 3);
      off += 3;
      const last = h & 1;
      const type = (h >> 1) & 3;
      const size = h >>> 3;
      if (type === 3) {
        throw zstdError(
          "PKG_ZSTD_CORRUPT",
          `zstd frame at offset ${start}: reserved block type at ${off - 3}`,
        );
      }
      if (size > blockMax) {
        throw zstdError(
          "PKG_ZSTD_CORRUPT",
          `zstd frame at offset ${start}: block at ${off - 3} is larger than the block maximum ${blockMax}`,
        );
      }
      if (type === 1) {
        need(1, "RLE block byte");
        off += 1;
        bound += size;
      } else {
        need(size, "block content");
        off += size;
        bound += type === 0 ? size : blockMax;
      }
      if (last) break;
    }
    if (checksum) {
      need(4, "content checksum");
      off += 4;
    }
    if (contentSize !== undefined && contentSize > bound) {
      throw zstdError(
        "PKG_ZSTD_CORRUPT",
        `zstd frame at offset ${start} declares ${contentSize} bytes but its blocks can hold at most ${bound}`,
      );
    }
    const info: ZstdFrameInfo = {
      offset: start,
      length: off - start,
      skippable: false,
      bound,
      headerEnd,
    };
    if (contentSize !== undefined) info.contentSize = contentSize;
    frames.push(info);
  }
  return frames;
}

/**
 * Decompress a package's zstd stream without ever producing more than `limits.maxTotalSize` bytes:
 * the block-level bound of every frame is checked before any decompression starts, declared sizes
 * (Frame_Content_Size) are checked against the limits and the ratio, and each frame's output is
 * checked against its declaration afterwards.
 */
export async function decompressBounded(
  bytes: Uint8Array,
  limits: PackageLimits,
): Promise<Uint8Array> {
  if (bytes.length > limits.maxCompressedSize) {
    throw zstdError(
      "PKG_TOO_LARGE",
      `package is ${bytes.length} bytes compressed, over the limit of ${limits.maxCompressedSize}`,
    );
  }
  const frames = scanZstdFrames(bytes);
  // A frame with a declared size is decompressed into a buffer of that size (the binding refuses
  // to overrun it); a frame without one can produce at most its block bound.
  let declared = 0;
  for (const f of frames) {
    declared += f.contentSize ?? f.bound;
    if (declared > limits.maxTotalSize) {
      throw bomb(`can expand to more than ${limits.maxTotalSize} bytes`, f.offset);
    }
  }
  const allDeclared = frames.every((f) => f.skippable || f.contentSize !== undefined);
  if (allDeclared) checkRatio(declared, bytes.length, limits);
  const parts: Uint8Array[] = [];
  let total = 0;
  for (const f of frames) {
    if (f.skippable) continue;
    let out: Uint8Array;
    try {
      out = await decompress(Buffer.from(bytes.buffer, bytes.byteOffset + f.offset, f.length));
    } catch (e) {
      throw zstdError(
        "PKG_ZSTD_CORRUPT",
        `zstd frame at offset ${f.offset} is corrupt: ${e instanceof Error ? e.message : String(e)}`,
      );
    }
    if (f.contentSize !== undefined && out.length !== f.contentSize) {
      throw zstdError(
        "PKG_ZSTD_CORRUPT",
        `zstd frame at offset ${f.offset} declares ${f.contentSize} bytes but holds ${out.length}`,
      );
    }
    if (out.length > f.bound) {
      throw zstdError(
        "PKG_ZSTD_CORRUPT",
        `zstd frame at offset ${f.offset} overran its blocks' bound`,
      );
    }
    total += out.length;
    if (total > limits.maxTotalSize)
      throw bomb(`expands to more than ${limits.maxTotalSize} bytes`, f.offset);
    parts.push(out);
  }
  checkRatio(total, bytes.length, limits);
  if (parts.length === 1 && parts[0] !== undefined) return parts[0];
  return Buffer.concat(parts);
}

function bomb(what: string, offset: number): NcwError {
  return new NcwError("data", `package rejected: its zstd frame at offset ${offset} ${what}`, {
    code: "PKG_TOO_LARGE",
    hint: "Packages are limited in size to protect the host (see docs/packages.md, Limits).",
  });
}

function checkRatio(uncompressed: number, compressed: number, limits: PackageLimits): void {
  if (uncompressed <= limits.ratioFloor) return;
  if (uncompressed > limits.maxRatio * compressed) {
    throw new NcwError(
      "data",
      `package rejected: ${compressed} compressed bytes expand to ${uncompressed} (ratio over ${limits.maxRatio})`,
      {
        code: "PKG_RATIO_EXCEEDED",
        hint: "This looks like a decompression bomb; packages are limited in compression ratio (docs/packages.md).",
      },
    );
  }
}

/**
 * Compress a package's tar with zstd and write its Frame_Content_Size into the frame header
 * (the compressor binding leaves it out), so readers and `zstd -l` know the size up front.
 */
export async function compressPackage(tar: Uint8Array, level = 9): Promise<Uint8Array> {
  const c = await compress(Buffer.from(tar.buffer, tar.byteOffset, tar.byteLength), level);
  const frames = scanZstdFrames(c);
  const f = frames[0];
  if (frames.length !== 1 || f === undefined || f.contentSize !== undefined) return c;
  return withContentSize(c, tar.length);
}

/** Rewrite a single-frame zstd stream's header to declare an 8-byte Frame_Content_Size. */
export function withContentSize(frame: Uint8Array, size: number): Uint8Array {
  const fhd = frame[4] ?? 0;
  if (fhd >> 6 !== 0 || ((fhd >> 5) & 1) !== 0) throw new Error("frame already declares its size");
  const didSize = [0, 1, 2, 4][fhd & 3] ?? 0;
  const headerEnd = 6 + didSize;
  const out = new Uint8Array(frame.length + 8);
  out.set(frame.subarray(0, headerEnd), 0);
  out[4] = fhd | 0xc0;
  new DataView(out.buffer).setBigUint64(headerEnd, BigInt(size), true);
  out.set(frame.subarray(headerEnd), headerEnd + 8);
  return out;
}
