// The CommonAssembly text form, which is the WebAssembly text format (DIRECTION.md §1): wat -> wasm
// and wasm -> wat with wabt, with CommonAssembly's feature set (core 2.0 + threads) enabled.

import { NcwError } from "../ncw/errors.js";
import { CA_FEATURES } from "./validate.js";

interface WabtTextModule {
  resolveNames(): void;
  generateNames(): void;
  applyNames(): void;
  validate(features?: Record<string, boolean>): void;
  toText(options: { foldExprs?: boolean; inlineExport?: boolean }): string;
  toBinary(options: { log?: boolean; write_debug_names?: boolean; canonicalize_lebs?: boolean }): {
    buffer: Uint8Array;
  };
  destroy(): void;
}
interface WabtText {
  parseWat(
    filename: string,
    source: string | Uint8Array,
    features?: Record<string, boolean>,
  ): WabtTextModule;
  readWasm(buffer: Uint8Array, options: Record<string, boolean>): WabtTextModule;
}

const ALL_FEATURES: Record<string, boolean> = Object.fromEntries(
  Object.keys(CA_FEATURES).map((k) => [k, true]),
);

let wabtPromise: Promise<WabtText> | undefined;
function wabt(): Promise<WabtText> {
  wabtPromise ??= import("wabt").then((m) => m.default() as Promise<WabtText>);
  return wabtPromise;
}

export interface AssembleOptions {
  /** Keep `$names` as a "name" custom section (default false, like wat2wasm). */
  debugNames?: boolean;
}

/** Assembles WebAssembly text into a binary module. Syntax and type errors give file:line:column. */
export async function watToWasm(
  source: string,
  filename = "input.wat",
  opts: AssembleOptions = {},
): Promise<Uint8Array> {
  const w = await wabt();
  let mod: WabtTextModule | undefined;
  try {
    mod = w.parseWat(filename, source, { ...CA_FEATURES });
    mod.resolveNames();
    mod.validate({ ...CA_FEATURES });
    const { buffer } = mod.toBinary({ log: false, write_debug_names: opts.debugNames === true });
    return Uint8Array.from(buffer);
  } catch (e) {
    if (e instanceof NcwError) throw e;
    const text = e instanceof Error ? e.message : String(e);
    const lines = text
      .split("\n")
      .filter((l) => /error:/.test(l))
      .map((l) => l.trim());
    throw new NcwError(
      "data",
      `cannot assemble ${filename}: ${lines.length ? lines.join("; ") : text.trim()}`,
      { code: "WAT_INVALID" },
    );
  } finally {
    mod?.destroy();
  }
}

export interface DisassembleOptions {
  /** Fold instructions into S-expressions (default false: one instruction per line). */
  foldExprs?: boolean;
}

/** Disassembles a binary module to WebAssembly text, using its name section when present. */
export async function wasmToWat(bytes: Uint8Array, opts: DisassembleOptions = {}): Promise<string> {
  const w = await wabt();
  let mod: WabtTextModule | undefined;
  try {
    // Every feature wabt knows is on: disassembly also serves to look at modules that are not valid
    // CommonAssembly (e.g. to see the tail call that validation rejected).
    mod = w.readWasm(Uint8Array.from(bytes), {
      ...ALL_FEATURES,
      readDebugNames: true,
      check: true,
    });
    mod.generateNames();
    mod.applyNames();
    return mod.toText({ foldExprs: opts.foldExprs === true, inlineExport: false });
  } catch (e) {
    const text = e instanceof Error ? e.message : String(e);
    throw new NcwError(
      "data",
      `cannot disassemble the module: ${text.replace(/\s+/g, " ").trim()}`,
      {
        code: "WASM_INVALID",
      },
    );
  } finally {
    mod?.destroy();
  }
}
