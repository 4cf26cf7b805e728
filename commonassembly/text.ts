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

const ID_CHARS = /[0-9A-Za-z!#$%&'*+\-./:<=>?@\\^_`|~]/;

/**
 * Finds what wabt 1.0.39 accepts but the text format forbids: an empty identifier, `$` alone or `$""`
 * (WebAssembly 2.0 text format, identifiers; spec test id.wast). Comments and strings are skipped.
 * Returns the 1-based line and column of the first one, or undefined.
 */
export function findEmptyIdentifier(source: string): { line: number; column: number } | undefined {
  const n = source.length;
  let i = 0;
  const at = (k: number) => {
    const before = source.slice(0, k);
    const line = before.split("\n").length;
    return { line, column: k - before.lastIndexOf("\n") };
  };
  while (i < n) {
    const c = source[i] as string;
    if (c === ";" && source[i + 1] === ";") {
      const nl = source.indexOf("\n", i);
      i = nl < 0 ? n : nl + 1;
    } else if (c === "(" && source[i + 1] === ";") {
      let depth = 1;
      i += 2;
      while (i < n && depth > 0) {
        if (source[i] === "(" && source[i + 1] === ";") {
          depth++;
          i += 2;
        } else if (source[i] === ";" && source[i + 1] === ")") {
          depth--;
          i += 2;
        } else i++;
      }
    } else if (c === '"') {
      i++;
      while (i < n && source[i] !== '"') i += source[i] === "\\" ? 2 : 1;
      i++;
    } else if (ID_CHARS.test(c)) {
      // A whole token (keyword, number or identifier): only a token that is just "$" matters.
      const start = i;
      while (i < n && ID_CHARS.test(source[i] as string)) i++;
      if (i - start === 1 && c === "$") {
        if (source[i] !== '"' || source[i + 1] === '"') return at(start);
      }
    } else i++;
  }
  return undefined;
}

/** Assembles WebAssembly text into a binary module. Syntax and type errors give file:line:column. */
export async function watToWasm(
  source: string,
  filename = "input.wat",
  opts: AssembleOptions = {},
): Promise<Uint8Array> {
  const empty = findEmptyIdentifier(source);
  if (empty !== undefined)
    throw new NcwError(
      "data",
      `cannot assemble ${filename}: ${filename}:${empty.line}:${empty.column}: error: empty identifier`,
      { code: "WAT_INVALID", hint: 'an identifier needs at least one character: $"a" or $a' },
    );
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
