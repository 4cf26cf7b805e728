import { describe, expect, it } from "vitest";
import { btrfsNameHash, crc32c, crc32cUpdate } from "./crc32c.js";

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
