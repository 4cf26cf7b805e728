// Malformed input never crashes the toolchain: thousands of truncated and bit-flipped NPP files and
// modules (from a real program) give an NcwError with a code, or decode/validate fine — nothing else.
import { describe, expect, it } from "vitest";
import { isNcwError } from "../ncw/errors.js";
import { decodeNpp, encodeNpp, integrityOf, NPP_HEADER_SIZE } from "./npp.js";
import { watToWasm } from "./text.js";
import { validateModule } from "./validate.js";
import { readModule } from "./wasm/reader.js";

const SOURCE = `(module
  (import "nightos" "syscall" (func $sys (param i32 i32 i32) (result i32)))
  (memory (export "memory") 1 16 shared)
  (table (export "__indirect_function_table") 4 funcref)
  (global $g (mut i32) (i32.const 1024))
  (data (i32.const 1024) "\\5f\\2a\\00\\00\\00\\00\\00\\00\\00")
  (func $h (param i32 i32) (result i64) (i64.extend_i32_u (i32.atomic.load (local.get 1))))
  (elem (i32.const 1) $h)
  (func (export "_start") (local i32)
    (loop $l (local.set 0 (i32.add (local.get 0) (i32.const 1))) (br_if $l (i32.lt_u (local.get 0) (i32.const 9))))
    (drop (call $sys (global.get $g) (i32.const 9) (i32.const 2048)))))`;

/** A deterministic pseudo-random generator (xorshift32), so failures reproduce. */
function rng(seed: number): () => number {
  let x = seed;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

function mutants(base: Uint8Array, count: number, seed: number): Uint8Array[] {
  const r = rng(seed);
  const out: Uint8Array[] = [];
  for (let i = 0; i < base.length; i++) out.push(base.subarray(0, i));
  for (let i = 0; i < count; i++) {
    const m = Uint8Array.from(base);
    const flips = 1 + Math.floor(r() * 3);
    for (let k = 0; k < flips; k++) {
      const at = Math.floor(r() * m.length);
      m[at] = m[at]! ^ (1 << Math.floor(r() * 8));
    }
    if (!m.every((b, j) => b === base[j])) out.push(m); // two flips of one bit cancel out
  }
  return out;
}

async function outcome(f: () => Promise<unknown> | unknown): Promise<string> {
  try {
    await f();
    return "ok";
  } catch (e) {
    if (!isNcwError(e)) throw e;
    expect(e.code).toMatch(/^[A-Z][A-Z0-9_]+$/);
    expect(e.message.length).toBeGreaterThan(10);
    return e.code;
  }
}

describe("fuzz", () => {
  it("modules: reader and validator only ever raise coded errors", async () => {
    const wasm = await watToWasm(SOURCE);
    await validateModule(wasm);
    const codes = new Map<string, number>();
    for (const m of mutants(wasm, 1500, 0x1234)) {
      const c = await outcome(async () => {
        readModule(m);
        await validateModule(m);
      });
      codes.set(c, (codes.get(c) ?? 0) + 1);
    }
    expect(codes.get("WASM_MALFORMED")).toBeGreaterThan(0);
    expect(codes.get("WASM_INVALID")).toBeGreaterThan(0);
  });

  it("NPP files: the decoder only ever raises coded errors", async () => {
    const file = await encodeNpp(await watToWasm(SOURCE), { metadata: { name: "fuzz" } });
    const codes = new Set<string>();
    for (const m of mutants(file, 1500, 0x9876)) codes.add(await outcome(() => decodeNpp(m)));
    // A flipped bit anywhere is caught (mostly by the integrity hash); truncations are NPP_TRUNCATED.
    expect(codes.has("ok")).toBe(false);
    expect(codes).toContain("NPP_TRUNCATED");
    expect(codes).toContain("NPP_INTEGRITY");
    expect(codes).toContain("NPP_BAD_MAGIC");
  });

  it("NPP files with a resealed hash: deeper checks (metadata, zstd, sizes) only raise coded errors", async () => {
    const file = await encodeNpp(await watToWasm(SOURCE), { metadata: { name: "fuzz" } });
    const codes = new Set<string>();
    for (const m of mutants(file, 1500, 0x4242)) {
      if (m.length >= NPP_HEADER_SIZE) m.set(integrityOf(m), 32);
      codes.add(await outcome(() => decodeNpp(m)));
    }
    expect(codes).toContain("NPP_ZSTD_CORRUPT");
    expect(codes).toContain("NPP_METADATA");
  });
});
