// Tests for bounded zstd decompression (RFC 8878 frame walking) and package compression.

import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { compress } from "@mongodb-js/zstd";
import { describe, expect, it } from "vitest";
import { NcwError } from "../errors.js";
import { DEFAULT_LIMITS, resolveLimits } from "./limits.js";
import { compressPackage, decompressBounded, scanZstdFrames, withContentSize } from "./zstd.js";

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    if (e instanceof NcwError) return e.code;
    throw e;
  }
  return "no error";
}

function hasZstdCli(): boolean {
  try {
    execFileSync("zstd", ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

describe("zstd frames", () => {
  it("parses a hand-written frame: magic, FHD, FCS, one raw block", async () => {
    // 28 B5 2F FD | FHD 0x20 (single segment, 1-byte FCS) | FCS 5 | block header: last=1, raw, size 5
    const blockHeader = 1 | (0 << 1) | (5 << 3);
    const bytes = new Uint8Array([
      0x28,
      0xb5,
      0x2f,
      0xfd,
      0x20,
      0x05,
      blockHeader & 0xff,
      (blockHeader >> 8) & 0xff,
      blockHeader >> 16,
      0x68,
      0x65,
      0x6c,
      0x6c,
      0x6f,
    ]);
    const frames = scanZstdFrames(bytes);
    expect(frames).toHaveLength(1);
    expect(frames[0]).toMatchObject({ offset: 0, length: 14, contentSize: 5, bound: 5 });
    expect(Buffer.from(await decompressBounded(bytes, DEFAULT_LIMITS)).toString()).toBe("hello");
  });

  it("round-trips and writes Frame_Content_Size into the header", async () => {
    const d = Buffer.alloc(3_000_000);
    for (let i = 0; i < d.length; i++) d[i] = (i * 7) % 251;
    const c = await compressPackage(d);
    const [f] = scanZstdFrames(c);
    expect(f?.contentSize).toBe(d.length);
    expect(Buffer.from(await decompressBounded(c, DEFAULT_LIMITS)).equals(d)).toBe(true);
    const empty = await compressPackage(new Uint8Array(0));
    expect((await decompressBounded(empty, DEFAULT_LIMITS)).length).toBe(0);
  });

  it.skipIf(!hasZstdCli() && !process.env.CI)(
    "is accepted by the zstd CLI, which sees the size",
    async () => {
      const d = Buffer.from("x".repeat(100_000));
      const dir = mkdtempSync(path.join(os.tmpdir(), "ncw-zstd-"));
      const f = path.join(dir, "a.zst");
      writeFileSync(f, await compressPackage(d));
      execFileSync("zstd", ["-t", "-q", f]);
      const list = execFileSync("zstd", ["-lv", f], { encoding: "utf8" });
      expect(list).toMatch(/Decompressed Size:.*100000/);
    },
  );

  it("accepts frames without a declared size (e.g. from tar --zstd) by bounding their blocks", async () => {
    const c = await compress(Buffer.from("abc".repeat(1000)));
    expect(scanZstdFrames(c)[0]?.contentSize).toBeUndefined();
    expect((await decompressBounded(c, DEFAULT_LIMITS)).length).toBe(3000);
  });

  it("concatenated and skippable frames", async () => {
    const a = await compressPackage(Buffer.from("abc"));
    const skip = new Uint8Array([0x50, 0x2a, 0x4d, 0x18, 2, 0, 0, 0, 9, 9]);
    const b = await compress(Buffer.from("def"));
    const all = Buffer.concat([a, skip, b]);
    expect(scanZstdFrames(all).map((f) => f.skippable)).toEqual([false, true, false]);
    expect(Buffer.from(await decompressBounded(all, DEFAULT_LIMITS)).toString()).toBe("abcdef");
  });

  it("rejects a bomb before decompressing: total size limit", async () => {
    const zeros = await compressPackage(Buffer.alloc(20 * 1024 * 1024));
    const limits = resolveLimits({ maxTotalSize: 10 * 1024 * 1024 });
    expect(await code(decompressBounded(zeros, limits))).toBe("PKG_TOO_LARGE");
    // Same with the declared size removed: the block bound alone catches it.
    const undeclared = await compress(Buffer.alloc(20 * 1024 * 1024));
    expect(await code(decompressBounded(undeclared, limits))).toBe("PKG_TOO_LARGE");
  });

  it("rejects a bomb by ratio", async () => {
    const zeros = await compressPackage(Buffer.alloc(40 * 1024 * 1024));
    expect(await code(decompressBounded(zeros, DEFAULT_LIMITS))).toBe("PKG_RATIO_EXCEEDED");
  });

  it("rejects a frame that lies about its size", async () => {
    const c = await compress(Buffer.alloc(1_000_000, 1));
    expect(await code(decompressBounded(withContentSize(c, 100), DEFAULT_LIMITS))).toBe(
      "PKG_ZSTD_CORRUPT",
    );
    expect(await code(decompressBounded(withContentSize(c, 999_999), DEFAULT_LIMITS))).toBe(
      "PKG_ZSTD_CORRUPT",
    );
  });

  it("bounds frames without a declared size: a block may not expand past Block_Maximum_Size", async () => {
    // A hand-written compressed block (RFC 8878 §3.1.1.3): RLE literals "a" x n, then n sequences
    // with RLE tables (LL code 1 = 1 literal, OF code 0 = repeat offset 1, ML code 52 = 65539 when
    // its 16 extra bits are 0). The bitstream is n*16 zero bits and the end marker.
    const frame = (n: number): Uint8Array => {
      const lit = [0x01 | (1 << 2) | ((n & 0xf) << 4), n >> 4, 0x61];
      const seqHeader = n < 128 ? [n] : [(n >> 8) + 128, n & 0xff];
      const content = [...lit, ...seqHeader, 0x54, 1, 0, 52, ...new Array(n * 2).fill(0), 0x01];
      const bh = (content.length << 3) | (2 << 1) | 1;
      // magic, FHD 0 (no FCS), window descriptor 0x38 (128 KiB), block header
      return new Uint8Array([
        0x28,
        0xb5,
        0x2f,
        0xfd,
        0x00,
        0x38,
        bh & 0xff,
        (bh >> 8) & 0xff,
        bh >> 16,
        ...content,
      ]);
    };
    expect(scanZstdFrames(frame(1))[0]?.bound).toBe(128 * 1024);
    expect((await decompressBounded(frame(1), DEFAULT_LIMITS)).length).toBe(65540);
    // 2 sequences = 131080 bytes > 128 KiB; 30000 would be ~2 GB: the decoder refuses both.
    expect(await code(decompressBounded(frame(2), DEFAULT_LIMITS))).toBe("PKG_ZSTD_CORRUPT");
    expect(await code(decompressBounded(frame(30000), DEFAULT_LIMITS))).toBe("PKG_ZSTD_CORRUPT");
  });

  it("rejects non-zstd, truncated and corrupt input with clear codes", async () => {
    expect(await code(decompressBounded(Buffer.from("hello world"), DEFAULT_LIMITS))).toBe(
      "PKG_NOT_ZSTD",
    );
    expect(await code(decompressBounded(new Uint8Array(0), DEFAULT_LIMITS))).toBe("PKG_NOT_ZSTD");
    const d = Buffer.alloc(500_000);
    for (let i = 0; i < d.length; i++) d[i] = (i * 31) % 253;
    const c = await compressPackage(d);
    for (const cut of [5, 14, 20, c.length - 1]) {
      expect(await code(decompressBounded(c.subarray(0, cut), DEFAULT_LIMITS))).toBe(
        "PKG_ZSTD_TRUNCATED",
      );
    }
    // Block type 3 is reserved. (Content corruption without a zstd checksum may decode to wrong
    // bytes: that is what hash.md5 catches, see package.test.ts.)
    const f = scanZstdFrames(c)[0];
    const bad = Buffer.from(c);
    bad[f?.headerEnd ?? 0] = (bad[f?.headerEnd ?? 0] ?? 0) | 0b110;
    expect(await code(decompressBounded(bad, DEFAULT_LIMITS))).toBe("PKG_ZSTD_CORRUPT");
    const garbage = Buffer.concat([c, Buffer.from([1, 2, 3, 4, 5])]);
    expect(await code(decompressBounded(garbage, DEFAULT_LIMITS))).toBe("PKG_ZSTD_CORRUPT");
  });
});
