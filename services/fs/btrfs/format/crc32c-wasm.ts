// CRC-32C in WebAssembly (slicing-by-8; four sectors as independent interleaved streams), used by
// crc32c.ts for long inputs and by data-checksum verification (Btrfs csum_type 0; docs/btrfs.md "Reading").
// CRC32C_WAT is the source; CRC32C_WASM its assembled bytes (crc32c-wasm.test.ts re-assembles the text
// with wabt and checks they are equal, and prints the new bytes when the text changes).

/** The module's text. Tables T0..T7 (8 KiB) sit at address 0 and are written by the loader below. */
export const CRC32C_WAT = `(module
  ;; CRC-32C (Castagnoli), slicing-by-8. Tables T0..T7 at bytes 0..8191 (written by the loader:
  ;; Tk[b] = CRC of byte b followed by k zero bytes); data is placed by the caller above them.
  (memory (export "memory") 1)
  ;; Raw update (no pre/post inversion) of crc over [p, p+n).
  (func $update (export "update") (param $c i32) (param $p i32) (param $n i32) (result i32)
    (local $end i32) (local $a i32) (local $b i32)
    (local.set $end (i32.add (local.get $p) (i32.and (local.get $n) (i32.const -8))))
    (block $done
      (loop $eight
        (br_if $done (i32.ge_u (local.get $p) (local.get $end)))
        (local.set $a (i32.xor (local.get $c) (i32.load (local.get $p))))
        (local.set $b (i32.load offset=4 (local.get $p)))
        (local.set $c (i32.xor (i32.xor (i32.xor (i32.load offset=7168 (i32.and (i32.shl (local.get $a) (i32.const 2)) (i32.const 1020))) (i32.load offset=6144 (i32.and (i32.shr_u (local.get $a) (i32.const 6)) (i32.const 1020))))
          (i32.xor (i32.load offset=5120 (i32.and (i32.shr_u (local.get $a) (i32.const 14)) (i32.const 1020))) (i32.load offset=4096 (i32.shl (i32.shr_u (local.get $a) (i32.const 24)) (i32.const 2)))))
          (i32.xor (i32.xor (i32.load offset=3072 (i32.and (i32.shl (local.get $b) (i32.const 2)) (i32.const 1020))) (i32.load offset=2048 (i32.and (i32.shr_u (local.get $b) (i32.const 6)) (i32.const 1020))))
          (i32.xor (i32.load offset=1024 (i32.and (i32.shr_u (local.get $b) (i32.const 14)) (i32.const 1020))) (i32.load offset=0 (i32.shl (i32.shr_u (local.get $b) (i32.const 24)) (i32.const 2)))))))
        (local.set $p (i32.add (local.get $p) (i32.const 8)))
        (br $eight)))
    (local.set $end (i32.add (local.get $end) (i32.and (local.get $n) (i32.const 7))))
    (block $done1
      (loop $one
        (br_if $done1 (i32.ge_u (local.get $p) (local.get $end)))
        (local.set $c (i32.xor (i32.shr_u (local.get $c) (i32.const 8))
          (i32.load (i32.shl (i32.and (i32.xor (local.get $c) (i32.load8_u (local.get $p))) (i32.const 255)) (i32.const 2)))))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $one)))
    (local.get $c))
  ;; Standard CRC-32C of each of the count blocks of ss bytes at p (ss a multiple of 8), stored as u32
  ;; at out; four blocks run interleaved (independent streams) to keep the table loads in flight.
  (func (export "blocks") (param $p i32) (param $count i32) (param $ss i32) (param $out i32)
    (local $p1 i32) (local $p2 i32) (local $p3 i32) (local $end i32)
    (local $c0 i32) (local $c1 i32) (local $c2 i32) (local $c3 i32) (local $a i32) (local $b i32)
    (block $groups_done
      (loop $group
        (br_if $groups_done (i32.lt_u (local.get $count) (i32.const 4)))
        (local.set $p1 (i32.add (local.get $p) (local.get $ss)))
        (local.set $p2 (i32.add (local.get $p1) (local.get $ss)))
        (local.set $p3 (i32.add (local.get $p2) (local.get $ss)))
        (local.set $end (local.get $p1))
        (local.set $c0 (i32.const -1)) (local.set $c1 (i32.const -1))
        (local.set $c2 (i32.const -1)) (local.set $c3 (i32.const -1))
        (block $streams_done
          (loop $streams
            (br_if $streams_done (i32.ge_u (local.get $p) (local.get $end)))
          (local.set $a (i32.xor (local.get $c0) (i32.load (local.get $p))))
          (local.set $b (i32.load offset=4 (local.get $p)))
          (local.set $c0 (i32.xor (i32.xor (i32.xor (i32.load offset=7168 (i32.and (i32.shl (local.get $a) (i32.const 2)) (i32.const 1020))) (i32.load offset=6144 (i32.and (i32.shr_u (local.get $a) (i32.const 6)) (i32.const 1020))))
            (i32.xor (i32.load offset=5120 (i32.and (i32.shr_u (local.get $a) (i32.const 14)) (i32.const 1020))) (i32.load offset=4096 (i32.shl (i32.shr_u (local.get $a) (i32.const 24)) (i32.const 2)))))
            (i32.xor (i32.xor (i32.load offset=3072 (i32.and (i32.shl (local.get $b) (i32.const 2)) (i32.const 1020))) (i32.load offset=2048 (i32.and (i32.shr_u (local.get $b) (i32.const 6)) (i32.const 1020))))
            (i32.xor (i32.load offset=1024 (i32.and (i32.shr_u (local.get $b) (i32.const 14)) (i32.const 1020))) (i32.load offset=0 (i32.shl (i32.shr_u (local.get $b) (i32.const 24)) (i32.const 2)))))))
          (local.set $p (i32.add (local.get $p) (i32.const 8)))
          (local.set $a (i32.xor (local.get $c1) (i32.load (local.get $p1))))
          (local.set $b (i32.load offset=4 (local.get $p1)))
          (local.set $c1 (i32.xor (i32.xor (i32.xor (i32.load offset=7168 (i32.and (i32.shl (local.get $a) (i32.const 2)) (i32.const 1020))) (i32.load offset=6144 (i32.and (i32.shr_u (local.get $a) (i32.const 6)) (i32.const 1020))))
            (i32.xor (i32.load offset=5120 (i32.and (i32.shr_u (local.get $a) (i32.const 14)) (i32.const 1020))) (i32.load offset=4096 (i32.shl (i32.shr_u (local.get $a) (i32.const 24)) (i32.const 2)))))
            (i32.xor (i32.xor (i32.load offset=3072 (i32.and (i32.shl (local.get $b) (i32.const 2)) (i32.const 1020))) (i32.load offset=2048 (i32.and (i32.shr_u (local.get $b) (i32.const 6)) (i32.const 1020))))
            (i32.xor (i32.load offset=1024 (i32.and (i32.shr_u (local.get $b) (i32.const 14)) (i32.const 1020))) (i32.load offset=0 (i32.shl (i32.shr_u (local.get $b) (i32.const 24)) (i32.const 2)))))))
          (local.set $p1 (i32.add (local.get $p1) (i32.const 8)))
          (local.set $a (i32.xor (local.get $c2) (i32.load (local.get $p2))))
          (local.set $b (i32.load offset=4 (local.get $p2)))
          (local.set $c2 (i32.xor (i32.xor (i32.xor (i32.load offset=7168 (i32.and (i32.shl (local.get $a) (i32.const 2)) (i32.const 1020))) (i32.load offset=6144 (i32.and (i32.shr_u (local.get $a) (i32.const 6)) (i32.const 1020))))
            (i32.xor (i32.load offset=5120 (i32.and (i32.shr_u (local.get $a) (i32.const 14)) (i32.const 1020))) (i32.load offset=4096 (i32.shl (i32.shr_u (local.get $a) (i32.const 24)) (i32.const 2)))))
            (i32.xor (i32.xor (i32.load offset=3072 (i32.and (i32.shl (local.get $b) (i32.const 2)) (i32.const 1020))) (i32.load offset=2048 (i32.and (i32.shr_u (local.get $b) (i32.const 6)) (i32.const 1020))))
            (i32.xor (i32.load offset=1024 (i32.and (i32.shr_u (local.get $b) (i32.const 14)) (i32.const 1020))) (i32.load offset=0 (i32.shl (i32.shr_u (local.get $b) (i32.const 24)) (i32.const 2)))))))
          (local.set $p2 (i32.add (local.get $p2) (i32.const 8)))
          (local.set $a (i32.xor (local.get $c3) (i32.load (local.get $p3))))
          (local.set $b (i32.load offset=4 (local.get $p3)))
          (local.set $c3 (i32.xor (i32.xor (i32.xor (i32.load offset=7168 (i32.and (i32.shl (local.get $a) (i32.const 2)) (i32.const 1020))) (i32.load offset=6144 (i32.and (i32.shr_u (local.get $a) (i32.const 6)) (i32.const 1020))))
            (i32.xor (i32.load offset=5120 (i32.and (i32.shr_u (local.get $a) (i32.const 14)) (i32.const 1020))) (i32.load offset=4096 (i32.shl (i32.shr_u (local.get $a) (i32.const 24)) (i32.const 2)))))
            (i32.xor (i32.xor (i32.load offset=3072 (i32.and (i32.shl (local.get $b) (i32.const 2)) (i32.const 1020))) (i32.load offset=2048 (i32.and (i32.shr_u (local.get $b) (i32.const 6)) (i32.const 1020))))
            (i32.xor (i32.load offset=1024 (i32.and (i32.shr_u (local.get $b) (i32.const 14)) (i32.const 1020))) (i32.load offset=0 (i32.shl (i32.shr_u (local.get $b) (i32.const 24)) (i32.const 2)))))))
          (local.set $p3 (i32.add (local.get $p3) (i32.const 8)))
            (br $streams)))
        (i32.store (local.get $out) (i32.xor (local.get $c0) (i32.const -1)))
        (i32.store offset=4 (local.get $out) (i32.xor (local.get $c1) (i32.const -1)))
        (i32.store offset=8 (local.get $out) (i32.xor (local.get $c2) (i32.const -1)))
        (i32.store offset=12 (local.get $out) (i32.xor (local.get $c3) (i32.const -1)))
        (local.set $out (i32.add (local.get $out) (i32.const 16)))
        (local.set $p (local.get $p3))
        (local.set $count (i32.sub (local.get $count) (i32.const 4)))
        (br $group)))
    (block $rest_done
      (loop $rest
        (br_if $rest_done (i32.eqz (local.get $count)))
        (i32.store (local.get $out)
          (i32.xor (call $update (i32.const -1) (local.get $p) (local.get $ss)) (i32.const -1)))
        (local.set $p (i32.add (local.get $p) (local.get $ss)))
        (local.set $out (i32.add (local.get $out) (i32.const 4)))
        (local.set $count (i32.sub (local.get $count) (i32.const 1)))
        (br $rest))))
)
`;

/** CRC32C_WAT assembled by wabt (base64). */
export const CRC32C_WASM = [
  "AGFzbQEAAAABDwJgA39/fwF/YAR/f39/AAMDAgABBQMBAAEHHAMGbWVtb3J5AgAGdXBkYXRlAAAGYmxvY2tzAAEKswcC3wEB",
  "A38gASACQXhxaiEDAkADQCABIANPDQEgACABKAIAcyEEIAEoAgQhBSAEQQJ0QfwHcSgCgDggBEEGdkH8B3EoAoAwcyAEQQ52",
  "QfwHcSgCgCggBEEYdkECdCgCgCBzcyAFQQJ0QfwHcSgCgBggBUEGdkH8B3EoAoAQcyAFQQ52QfwHcSgCgAggBUEYdkECdCgC",
  "AHNzcyEAIAFBCGohAQwACwsgAyACQQdxaiEDAkADQCABIANPDQEgAEEIdiAAIAEtAABzQf8BcUECdCgCAHMhACABQQFqIQEM",
  "AAsLIAALzwUBCn8CQANAIAFBBEkNASAAIAJqIQQgBCACaiEFIAUgAmohBiAEIQdBfyEIQX8hCUF/IQpBfyELAkADQCAAIAdP",
  "DQEgCCAAKAIAcyEMIAAoAgQhDSAMQQJ0QfwHcSgCgDggDEEGdkH8B3EoAoAwcyAMQQ52QfwHcSgCgCggDEEYdkECdCgCgCBz",
  "cyANQQJ0QfwHcSgCgBggDUEGdkH8B3EoAoAQcyANQQ52QfwHcSgCgAggDUEYdkECdCgCAHNzcyEIIABBCGohACAJIAQoAgBz",
  "IQwgBCgCBCENIAxBAnRB/AdxKAKAOCAMQQZ2QfwHcSgCgDBzIAxBDnZB/AdxKAKAKCAMQRh2QQJ0KAKAIHNzIA1BAnRB/Adx",
  "KAKAGCANQQZ2QfwHcSgCgBBzIA1BDnZB/AdxKAKACCANQRh2QQJ0KAIAc3NzIQkgBEEIaiEEIAogBSgCAHMhDCAFKAIEIQ0g",
  "DEECdEH8B3EoAoA4IAxBBnZB/AdxKAKAMHMgDEEOdkH8B3EoAoAoIAxBGHZBAnQoAoAgc3MgDUECdEH8B3EoAoAYIA1BBnZB",
  "/AdxKAKAEHMgDUEOdkH8B3EoAoAIIA1BGHZBAnQoAgBzc3MhCiAFQQhqIQUgCyAGKAIAcyEMIAYoAgQhDSAMQQJ0QfwHcSgC",
  "gDggDEEGdkH8B3EoAoAwcyAMQQ52QfwHcSgCgCggDEEYdkECdCgCgCBzcyANQQJ0QfwHcSgCgBggDUEGdkH8B3EoAoAQcyAN",
  "QQ52QfwHcSgCgAggDUEYdkECdCgCAHNzcyELIAZBCGohBgwACwsgAyAIQX9zNgIAIAMgCUF/czYCBCADIApBf3M2AgggAyAL",
  "QX9zNgIMIANBEGohAyAGIQAgAUEEayEBDAALCwJAA0AgAUUNASADQX8gACACEABBf3M2AgAgACACaiEAIANBBGohAyABQQFr",
  "IQEMAAsLCw==",
].join("");

interface Crc32cExports {
  memory: WebAssembly.Memory;
  update(crc: number, ptr: number, len: number): number;
  blocks(ptr: number, count: number, blockSize: number, out: number): void;
}

const TABLES_BYTES = 8192;
/** Results of blocks(): up to OUT_MAX u32 at OUT_AT. */
const OUT_AT = TABLES_BYTES;
const OUT_MAX = 1024;
/** Input is copied in slices of at most DATA_MAX bytes at DATA_AT (stays in L2 while it is summed). */
const DATA_AT = OUT_AT + OUT_MAX * 4;
const DATA_MAX = 256 * 1024;
const PAGES = Math.ceil((DATA_AT + DATA_MAX) / 65536);

function instantiate(): { x: Crc32cExports; mem: Uint8Array } {
  const bytes = Uint8Array.from(atob(CRC32C_WASM), (c) => c.charCodeAt(0));
  const x = new WebAssembly.Instance(new WebAssembly.Module(bytes))
    .exports as unknown as Crc32cExports;
  x.memory.grow(PAGES - x.memory.buffer.byteLength / 65536);
  const t = new Int32Array(x.memory.buffer, 0, TABLES_BYTES / 4);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    t[i] = c;
  }
  for (let k = 1; k < 8; k++) {
    for (let i = 0; i < 256; i++) {
      const p = t[(k - 1) * 256 + i]!;
      t[k * 256 + i] = (p >>> 8) ^ t[p & 0xff]!;
    }
  }
  return { x, mem: new Uint8Array(x.memory.buffer) };
}

let inst: { x: Crc32cExports; mem: Uint8Array } | undefined;
const wasm = () => {
  inst ??= instantiate();
  return inst;
};

/** Raw CRC-32C update (no pre/post inversion) of data[start..end) in WebAssembly. */
export function crc32cUpdateWasm(
  crc: number,
  data: Uint8Array,
  start: number,
  end: number,
): number {
  const { x, mem } = wasm();
  let c = crc | 0;
  for (let i = start; i < end; i += DATA_MAX) {
    const n = Math.min(DATA_MAX, end - i);
    mem.set(data.subarray(i, i + n), DATA_AT);
    c = x.update(c, DATA_AT, n);
  }
  return c >>> 0;
}

/**
 * Standard CRC-32C of each `blockSize`-byte block of data[start..start + count*blockSize), written to
 * out[0..count). blockSize: a multiple of 8 up to 256 KiB (Btrfs sector sizes are 4..64 KiB).
 */
export function crc32cBlocks(
  data: Uint8Array,
  start: number,
  count: number,
  blockSize: number,
  out: Uint32Array,
): void {
  if (blockSize % 8 !== 0 || blockSize <= 0 || blockSize > DATA_MAX) {
    throw new RangeError(
      `crc32cBlocks: block size ${blockSize} is not a multiple of 8 in 8..${DATA_MAX}`,
    );
  }
  if (start < 0 || start + count * blockSize > data.length || out.length < count) {
    throw new RangeError("crc32cBlocks: range outside the buffers");
  }
  const { x, mem } = wasm();
  const per = Math.min(OUT_MAX, Math.floor(DATA_MAX / blockSize));
  const res = new Uint32Array(x.memory.buffer, OUT_AT, OUT_MAX);
  for (let done = 0; done < count; done += per) {
    const n = Math.min(per, count - done);
    const from = start + done * blockSize;
    mem.set(data.subarray(from, from + n * blockSize), DATA_AT);
    x.blocks(DATA_AT, n, blockSize, OUT_AT);
    out.set(res.subarray(0, n), done);
  }
}
