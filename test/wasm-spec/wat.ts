// Assembles WebAssembly text to binary with wabt (the JS build), with the CommonAssembly feature set
// (core 2.0 + threads): used by the AOT tests, the spec-test runner and the benchmarks.

import wabtInit from "wabt";

type Wabt = Awaited<ReturnType<typeof wabtInit>>;
let wabt: Promise<Wabt> | undefined;

/** wabt feature flags for CommonAssembly: WebAssembly core 2.0 plus threads. */
export const CA_WABT_FEATURES = {
  mutable_globals: true,
  sat_float_to_int: true,
  sign_extension: true,
  simd: true,
  threads: true,
  multi_value: true,
  bulk_memory: true,
  reference_types: true,
} as const;

export function loadWabt(): Promise<Wabt> {
  wabt ??= wabtInit();
  return wabt;
}

/** Assembles and validates `text`; throws wabt's message on a syntax or validation error. */
export async function wat(
  text: string,
  features: Record<string, boolean> = CA_WABT_FEATURES,
): Promise<Uint8Array> {
  const w = await loadWabt();
  const m = w.parseWat("module.wat", new TextEncoder().encode(text), features);
  try {
    m.resolveNames();
    (m.validate as (f: Record<string, boolean>) => void)(features);
    return m.toBinary({}).buffer;
  } finally {
    m.destroy();
  }
}
