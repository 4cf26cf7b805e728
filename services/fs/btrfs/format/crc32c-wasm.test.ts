import { describe, expect, it } from "vitest";
import { crc32c, crc32cUpdate, crc32cUpdateJs, WASM_MIN } from "./crc32c.js";
import { CRC32C_WASM, CRC32C_WAT, crc32cBlocks, crc32cUpdateWasm } from "./crc32c-wasm.js";

interface WabtModule {
  toBinary(o: object): { buffer: Uint8Array };
  destroy(): void;
}

/** Bit-by-bit reference, independent of both table codes. */
function slowCrc(data: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of data) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  }
  return ~c >>> 0;
}

const bytes = (n: number, seed = 1) => {
  const d = new Uint8Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    d[i] = x >>> 24;
  }
  return d;
};

describe("crc32c in WebAssembly", () => {
  it("embeds exactly the bytes wabt assembles from CRC32C_WAT", async () => {
    const wabt = (await (await import("wabt")).default()) as unknown as {
      parseWat(name: string, text: string): WabtModule;
    };
    const m = wabt.parseWat("crc32c.wat", CRC32C_WAT);
    const b64 = Buffer.from(m.toBinary({}).buffer).toString("base64");
    m.destroy();
    expect(b64, `regenerate CRC32C_WASM in crc32c-wasm.ts:\n${b64}`).toBe(CRC32C_WASM);
  });

  it("matches the published check value and the bitwise reference on every length and offset", () => {
    expect(~crc32cUpdateWasm(0xffffffff, new TextEncoder().encode("123456789"), 0, 9) >>> 0).toBe(
      0xe3069283,
    );
    const d = bytes(3000);
    for (let start = 0; start < 9; start++) {
      for (let end = start; end <= d.length; end += 97) {
        const want = slowCrc(d.subarray(start, end));
        expect(~crc32cUpdateWasm(0xffffffff, d, start, end) >>> 0).toBe(want);
        expect(crc32c(d, start, end)).toBe(want);
      }
    }
  });

  it("agrees with the JS tables across the slice size (inputs longer than one copy)", () => {
    const d = bytes(600_000, 7);
    expect(crc32cUpdateWasm(0x12345678, d, 3, d.length)).toBe(
      crc32cUpdateJs(0x12345678, d, 3, d.length),
    );
    expect(crc32cUpdate(0xffffffff, d, 0, WASM_MIN)).toBe(
      crc32cUpdateJs(0xffffffff, d, 0, WASM_MIN),
    );
  });

  it("sums blocks (groups of four interleaved and the rest) like one crc32c each", () => {
    for (const [size, count, start] of [
      [4096, 1, 0],
      [4096, 7, 5],
      [4096, 100, 0], // more than one 256 KiB slice
      [16384, 9, 8],
      [65536, 5, 1],
      [8, 13, 3],
    ] as const) {
      const d = bytes(start + size * count, size + count);
      const out = new Uint32Array(count);
      crc32cBlocks(d, start, count, size, out);
      for (let i = 0; i < count; i++) {
        expect(out[i], `block ${i} of ${count}x${size}`).toBe(
          crc32c(d, start + i * size, start + (i + 1) * size),
        );
      }
    }
  });

  it("rejects block sizes and ranges it cannot sum", () => {
    const d = new Uint8Array(8192);
    expect(() => crc32cBlocks(d, 0, 1, 4100, new Uint32Array(1))).toThrow(/multiple of 8/);
    expect(() => crc32cBlocks(d, 4096, 2, 4096, new Uint32Array(2))).toThrow(/outside/);
    expect(() => crc32cBlocks(d, 0, 2, 4096, new Uint32Array(1))).toThrow(/outside/);
  });
});
