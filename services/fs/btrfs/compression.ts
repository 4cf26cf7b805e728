// Btrfs data compression: zlib (a zlib stream per extent), zstd (one zstd frame per extent, padded
// to the sector size on disk) and lzo (btrfs' segmented LZO1X format; decompression only).

import * as zlib from "node:zlib";
import { NcwError } from "../../../ncw/errors.js";
import { COMPRESS_LZO, COMPRESS_NONE, COMPRESS_ZLIB, COMPRESS_ZSTD } from "./format/items.js";

/** The zstd binding, loaded on first use: loading its native code costs every start otherwise. */
let zstdModule: Promise<typeof import("@mongodb-js/zstd")> | undefined;
function zstd(): Promise<typeof import("@mongodb-js/zstd")> {
  zstdModule ??= import("@mongodb-js/zstd");
  return zstdModule;
}

export type CompressionName = "none" | "zlib" | "zstd" | "lzo";
export const COMPRESSION_NAMES: Record<number, CompressionName> = {
  [COMPRESS_NONE]: "none",
  [COMPRESS_ZLIB]: "zlib",
  [COMPRESS_LZO]: "lzo",
  [COMPRESS_ZSTD]: "zstd",
};

function bad(what: string, msg: string): NcwError {
  return new NcwError("data", `btrfs ${what} extent cannot be decompressed: ${msg}`, {
    code: "BTRFS_BAD_COMPRESSED",
    hint: "The image is damaged; run `ncw fs check` on it.",
  });
}

/** Length of the zstd frame at the start of `b` (frame header + blocks + optional checksum). */
export function zstdFrameLength(b: Uint8Array): number {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (b.length < 6 || dv.getUint32(0, true) !== 0xfd2fb528)
    throw bad("zstd", "no zstd frame magic");
  const fhd = b[4]!;
  const singleSegment = (fhd >> 5) & 1;
  const checksum = (fhd >> 2) & 1;
  const dictIdSize = [0, 1, 2, 4][fhd & 3]!;
  const fcsCode = fhd >> 6;
  const fcsSize = fcsCode === 0 ? singleSegment : [1, 2, 4, 8][fcsCode]!;
  let pos = 5 + (singleSegment ? 0 : 1) + dictIdSize + fcsSize;
  for (;;) {
    if (pos + 3 > b.length) throw bad("zstd", "truncated block header");
    const h = b[pos]! | (b[pos + 1]! << 8) | (b[pos + 2]! << 16);
    pos += 3;
    const last = h & 1;
    const type = (h >> 1) & 3;
    const size = h >>> 3;
    if (type === 3) throw bad("zstd", "reserved block type");
    pos += type === 1 ? 1 : size; // RLE blocks store one byte
    if (last) break;
  }
  if (checksum) pos += 4;
  if (pos > b.length) throw bad("zstd", "frame runs past the extent");
  return pos;
}

/**
 * The kernel decompresses btrfs zstd extents with a window of at most 128 KiB (ZSTD_BTRFS_MAX_WINDOWLOG
 * 17) and refuses larger window descriptors. A frame of ≤128 KiB of content never references further
 * back than that, so a larger descriptor written by a streaming compressor is lowered to 2^17.
 */
export function clampZstdWindow(frame: Uint8Array): Uint8Array {
  const fhd = frame[4]!;
  const singleSegment = (fhd >> 5) & 1;
  if (!singleSegment) {
    const wd = frame[5]!;
    const windowLog = 10 + (wd >> 3);
    if (windowLog > 17 || (windowLog === 17 && (wd & 7) !== 0)) frame[5] = (17 - 10) << 3;
  }
  return frame;
}

/** Decompresses one extent's stored bytes to exactly `ramBytes` bytes (shorter output is zero-padded). */
export async function decompressExtent(
  type: number,
  data: Uint8Array,
  ramBytes: number,
): Promise<Uint8Array> {
  let out: Uint8Array;
  switch (type) {
    case COMPRESS_NONE:
      return data;
    case COMPRESS_ZLIB:
      try {
        out = zlib.inflateSync(data, { finishFlush: zlib.constants.Z_SYNC_FLUSH });
      } catch (e) {
        throw bad("zlib", (e as Error).message);
      }
      break;
    case COMPRESS_ZSTD: {
      const frame = data.subarray(0, zstdFrameLength(data));
      try {
        out = await (await zstd()).decompress(
          Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength),
        );
      } catch (e) {
        throw bad("zstd", (e as Error).message);
      }
      break;
    }
    case COMPRESS_LZO:
      out = lzoDecompressBtrfs(data, ramBytes);
      break;
    default:
      throw bad(`type-${type}`, "unknown compression type");
  }
  if (out.length === ramBytes) return out;
  const fixed = new Uint8Array(ramBytes);
  fixed.set(out.subarray(0, ramBytes));
  return fixed;
}

/** Compresses an extent's data as btrfs would store it (zlib or zstd). */
export async function compressExtent(
  type: number,
  data: Uint8Array,
  level?: number,
): Promise<Uint8Array> {
  switch (type) {
    case COMPRESS_ZLIB:
      return zlib.deflateSync(data, { level: level ?? 3 });
    case COMPRESS_ZSTD: {
      if (data.length > 128 * 1024) {
        throw new NcwError("failure", "internal: zstd extents hold at most 128 KiB", {
          code: "BTRFS_INTERNAL",
        });
      }
      const c = await (await zstd()).compress(
        Buffer.from(data.buffer, data.byteOffset, data.byteLength),
        level ?? 3,
      );
      return clampZstdWindow(new Uint8Array(c.buffer, c.byteOffset, c.byteLength));
    }
    default:
      throw new NcwError("usage", `NCW writes zlib or zstd compression, not type ${type}`, {
        code: "BTRFS_COMPRESS_TYPE",
      });
  }
}

/**
 * btrfs LZO: u32 total length, then segments of (u32 length, LZO1X data), one segment per
 * sector of output; a segment header never straddles a 4 KiB boundary (zero padding instead).
 */
export function lzoDecompressBtrfs(
  data: Uint8Array,
  ramBytes: number,
  sectorsize = 4096,
): Uint8Array {
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  if (data.length < 4) throw bad("lzo", "no header");
  const total = dv.getUint32(0, true);
  if (total > data.length) throw bad("lzo", `total length ${total} exceeds ${data.length}`);
  const out = new Uint8Array(ramBytes);
  let outPos = 0;
  let pos = 4;
  while (pos < total && outPos < ramBytes) {
    const left = sectorsize - (pos % sectorsize);
    if (left < 4) pos += left;
    if (pos + 4 > total) break;
    const segLen = dv.getUint32(pos, true);
    pos += 4;
    if (pos + segLen > total) throw bad("lzo", "segment runs past the data");
    const seg = lzo1xDecompress(
      data.subarray(pos, pos + segLen),
      Math.min(sectorsize, ramBytes - outPos),
    );
    out.set(seg, outPos);
    outPos += seg.length;
    pos += segLen;
  }
  return out;
}

/** LZO1X decompression (the format of lzo1x_decompress_safe), bounded by `maxOut`. */
export function lzo1xDecompress(src: Uint8Array, maxOut: number): Uint8Array {
  const out = new Uint8Array(maxOut);
  let op = 0;
  let ip = 0;
  const need = (n: number) => {
    if (ip + n > src.length) throw bad("lzo", "input overrun");
  };
  const literal = (n: number) => {
    need(n);
    if (op + n > maxOut) throw bad("lzo", "output overrun");
    out.set(src.subarray(ip, ip + n), op);
    op += n;
    ip += n;
  };
  const copyMatch = (dist: number, n: number) => {
    const from = op - dist;
    if (from < 0) throw bad("lzo", "match before the start");
    if (op + n > maxOut) throw bad("lzo", "output overrun");
    for (let i = 0; i < n; i++) out[op + i] = out[from + i]!;
    op += n;
  };
  const longLen = (base: number, t: number): number => {
    if (t !== 0) return t;
    let n = base;
    need(1);
    while (src[ip] === 0) {
      n += 255;
      ip++;
      need(1);
    }
    return n + src[ip++]!;
  };
  need(1);
  let t = src[ip]!;
  let state = 0;
  if (t > 17) {
    ip++;
    literal(t - 17);
    state = Math.min(t - 17, 4);
  }
  for (;;) {
    need(1);
    t = src[ip++]!;
    if (t < 16) {
      if (state === 0) {
        // literal run
        const n = longLen(15, t) + 3;
        literal(n);
        state = 4;
        continue;
      }
      if (state === 4) {
        // 3-byte match, distance 2049..3072
        need(1);
        const dist = 1 + 0x0800 + (t >> 2) + (src[ip++]! << 2);
        copyMatch(dist, 3);
      } else {
        need(1);
        const dist = 1 + (t >> 2) + (src[ip++]! << 2);
        copyMatch(dist, 2);
      }
      state = t & 3;
      literal(state);
      continue;
    }
    let len: number;
    let dist: number;
    if (t >= 64) {
      need(1);
      len = (t >> 5) - 1 + 2;
      dist = 1 + ((t >> 2) & 7) + (src[ip++]! << 3);
    } else if (t >= 32) {
      len = longLen(31, t & 31) + 2;
      need(2);
      const ds = src[ip]! | (src[ip + 1]! << 8);
      ip += 2;
      dist = 1 + (ds >> 2);
      t = ds;
    } else {
      len = longLen(7, t & 7) + 2;
      need(2);
      const ds = src[ip]! | (src[ip + 1]! << 8);
      ip += 2;
      dist = 16384 + ((t & 8) << 11) + (ds >> 2);
      if (dist === 16384) break; // end of stream marker
      t = ds;
    }
    copyMatch(dist, len);
    state = t & 3;
    literal(state);
  }
  return out.subarray(0, op);
}
