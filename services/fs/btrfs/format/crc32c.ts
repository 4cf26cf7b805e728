// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78): the checksum Btrfs uses for tree blocks,
// the superblock and data (csum_type 0), and for directory-entry name hashes. Slicing-by-8 tables.

const POLY = 0x82f63b78;

/** TABLES[k][b]: CRC of byte b followed by k zero bytes (slicing-by-8). */
const TABLES: Uint32Array[] = (() => {
  const t: Uint32Array[] = [];
  const t0 = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
    t0[i] = c >>> 0;
  }
  t.push(t0);
  for (let k = 1; k < 8; k++) {
    const prev = t[k - 1]!;
    const cur = new Uint32Array(256);
    for (let i = 0; i < 256; i++) {
      const p = prev[i]!;
      cur[i] = ((p >>> 8) ^ t0[p & 0xff]!) >>> 0;
    }
    t.push(cur);
  }
  return t;
})();

/**
 * Raw CRC-32C update with no pre/post inversion (the Linux kernel's `crc32c(seed, buf, len)`).
 * Btrfs name hashes are `crc32cUpdate(~1 >>> 0, name)`.
 */
export function crc32cUpdate(crc: number, data: Uint8Array, start = 0, end = data.length): number {
  const [t0, t1, t2, t3, t4, t5, t6, t7] = TABLES as [
    Uint32Array,
    Uint32Array,
    Uint32Array,
    Uint32Array,
    Uint32Array,
    Uint32Array,
    Uint32Array,
    Uint32Array,
  ];
  let c = crc >>> 0;
  let i = start;
  const end8 = start + ((end - start) & ~7);
  while (i < end8) {
    const a =
      (c ^ (data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24))) >>> 0;
    c =
      t7[a & 0xff]! ^
      t6[(a >>> 8) & 0xff]! ^
      t5[(a >>> 16) & 0xff]! ^
      t4[a >>> 24]! ^
      t3[data[i + 4]!]! ^
      t2[data[i + 5]!]! ^
      t1[data[i + 6]!]! ^
      t0[data[i + 7]!]!;
    i += 8;
  }
  while (i < end) c = (c >>> 8) ^ t0[(c ^ data[i++]!) & 0xff]!;
  return c >>> 0;
}

/** Standard CRC-32C of `data[start..end)` (initial value ~0, final inversion), as Btrfs stores it. */
export function crc32c(data: Uint8Array, start = 0, end = data.length): number {
  return ~crc32cUpdate(0xffffffff, data, start, end) >>> 0;
}

/** The Btrfs directory-entry name hash (the offset of DIR_ITEM keys): crc32c seeded with ~1. */
export function btrfsNameHash(name: Uint8Array): number {
  return crc32cUpdate(0xfffffffe, name);
}
