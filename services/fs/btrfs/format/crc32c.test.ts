import { describe, expect, it } from "vitest";
import {
  btrfsNameHash,
  type Crc32cBackend,
  crc32c,
  crc32cBackend,
  crc32cBackends,
  crc32cOfSectors,
  crc32cSectors,
  crc32cUpdate,
  useCrc32cBackend,
} from "./crc32c.js";
import { nativeCrc32c } from "./crc32c-native.js";

const ascii = (s: string) => new TextEncoder().encode(s);

/** Bit-by-bit reference, independent of the table code. */
function slowCrc(data: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of data) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  }
  return ~c >>> 0;
}

describe("crc32c", () => {
  it("matches the published check values (RFC 3720 B.4)", () => {
    expect(crc32c(ascii("123456789"))).toBe(0xe3069283);
    expect(crc32c(new Uint8Array(32))).toBe(0x8a9136aa);
    expect(crc32c(new Uint8Array(32).fill(0xff))).toBe(0x62a8ab43);
    const inc = new Uint8Array(32).map((_, i) => i);
    expect(crc32c(inc)).toBe(0x46dd794e);
    expect(crc32c(new Uint8Array(0))).toBe(0);
  });

  it("agrees with a bitwise reference on every length and offset", () => {
    const data = new Uint8Array(300).map((_, i) => (i * 131 + 7) & 0xff);
    for (let start = 0; start < 9; start++) {
      for (let end = start; end <= data.length; end += 13) {
        expect(crc32c(data, start, end)).toBe(slowCrc(data.subarray(start, end)));
      }
    }
  });

  it("updates incrementally", () => {
    const d = ascii("hello btrfs world");
    const a = crc32cUpdate(0xffffffff, d, 0, 5);
    expect(~crc32cUpdate(a, d, 5) >>> 0).toBe(crc32c(d));
  });

  it("computes the name hash btrfs stores in DIR_ITEM keys", () => {
    // mkfs.btrfs: (ROOT_TREE_DIR DIR_ITEM 2378154706) for the name "default".
    expect(btrfsNameHash(ascii("default"))).toBe(2378154706);
  });
});

describe("crc32c backends", () => {
  const data = new Uint8Array(3 * 4096 + 100).map((_, i) => (i * 2654435761) >>> 27);

  it.each(crc32cBackends)("%s agrees with the bitwise reference around every threshold", (b) => {
    const was = crc32cBackend();
    useCrc32cBackend(b);
    try {
      for (const len of [0, 1, 15, 63, 64, 65, 511, 512, 513, 4096, 4100]) {
        for (const start of [0, 1, 3]) {
          expect(crc32c(data, start, start + len)).toBe(slowCrc(data.subarray(start, start + len)));
        }
      }
      expect(btrfsNameHash(ascii("default"))).toBe(2378154706);
      const long = data.subarray(0, 200);
      const mid = crc32cUpdate(0xfffffffe, long, 0, 70);
      expect(crc32cUpdate(mid, long, 70)).toBe(crc32cUpdate(0xfffffffe, long));
      const out = new Uint32Array(3);
      crc32cSectors(data, 100, 3, 4096, out);
      for (let i = 0; i < 3; i++) {
        expect(out[i]).toBe(slowCrc(data.subarray(100 + i * 4096, 100 + (i + 1) * 4096)));
      }
      const all = crc32cOfSectors(data, 4096); // 3 whole sectors and a short one of 100 bytes
      expect(all.length).toBe(4);
      for (let i = 0; i < 4; i++) {
        expect(all[i]).toBe(
          slowCrc(data.subarray(i * 4096, Math.min(data.length, (i + 1) * 4096))),
        );
      }
    } finally {
      useCrc32cBackend(was);
    }
  });

  it("prefers the CPU's instruction where the prebuilt module loads", () => {
    // CI runs on linux-x64, which @node-rs/crc32 ships a binary for: there it must load.
    if (process.env.CI) expect(nativeCrc32c, "@node-rs/crc32 must load in CI").toBeDefined();
    expect(crc32cBackends[0]).toBe(nativeCrc32c ? "native" : "wasm");
    expect(() => useCrc32cBackend("nope" as Crc32cBackend)).toThrow(/not available/);
  });

  it("refuses sector sizes the sector code cannot take", () => {
    expect(() => crc32cSectors(data, 0, 1, 4100, new Uint32Array(1))).toThrow(/multiple of 8/);
    expect(() => crc32cSectors(data, 4096, 3, 4096, new Uint32Array(3))).toThrow(/outside/);
  });
});
