// CRC-32C through the CPU's own instruction (SSE 4.2 `crc32` on x86-64, the CRC extension on
// ARMv8), reached through @node-rs/crc32: a prebuilt N-API module for every platform NCW runs on
// (npm installs the one that matches; nothing is compiled). About 2x the WebAssembly code per
// 4 KiB sector on the machines measured (bench/btrfs prints the figure). When the platform has
// no prebuilt binary, or the binary gives a wrong check value, NCW uses crc32c-wasm.ts instead.

import { createRequire } from "node:module";

/** Standard CRC-32C of `input`, continuing from a previous standard CRC (`initialState`). */
export type NativeCrc32c = (input: Uint8Array, initialState?: number) => number;

function load(): NativeCrc32c | undefined {
  try {
    const mod = createRequire(import.meta.url)("@node-rs/crc32") as { crc32c?: NativeCrc32c };
    const f = mod.crc32c;
    if (typeof f !== "function") return undefined;
    // RFC 3720 B.4 check value, and continuation across two calls.
    const check = new TextEncoder().encode("123456789");
    if (f(check) !== 0xe3069283) return undefined;
    if (f(check.subarray(4), f(check.subarray(0, 4))) !== 0xe3069283) return undefined;
    return f;
  } catch {
    return undefined;
  }
}

/** The native CRC-32C, or undefined when this platform has none (see the header). */
export const nativeCrc32c: NativeCrc32c | undefined = load();
