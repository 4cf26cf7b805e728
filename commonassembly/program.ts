// What `ncw ca` does with files: load a program given as .npp, .wasm or .wat, assemble it into an
// NPP file, and describe it (docs/commonassembly.md). The CLI (cli/commands/ca.ts) only prints.

import { readFile, rename, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { isHostError } from "../native/errors.js";
import { NcwError } from "../ncw/errors.js";
import { formatSig } from "./abi/wasm-names.js";
import {
  abiVersionString,
  decodeNpp,
  encodeNpp,
  NPP_MAGIC,
  type Npp,
  NppFlag,
  type NppMetadata,
} from "./npp.js";
import { type AssembleOptions, watToWasm } from "./text.js";
import { type ValidatedModule, validateModule, validateNpp } from "./validate.js";
import { funcSig, WASM_MAGIC, type WasmModuleInfo } from "./wasm/reader.js";
import { renameExports } from "./wasm/rewrite.js";

export type ProgramKind = "npp" | "wasm" | "wat";

export interface LoadedProgram {
  path: string;
  kind: ProgramKind;
  /** The file as read. */
  file: Uint8Array;
  /** The WebAssembly module (decompressed, or assembled from text). */
  module: Uint8Array;
  /** Present when the input is an NPP file. */
  npp: Npp | undefined;
}

export async function readInput(file: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(file));
  } catch (e) {
    const missing = isHostError(e, "not-found");
    throw new NcwError(
      missing ? "not-found" : "io",
      `cannot read ${file}: ${missing ? "no such file" : String((e as Error).message)}`,
      { code: missing ? "CA_INPUT_NOT_FOUND" : "CA_INPUT_UNREADABLE" },
    );
  }
}

/** Tells an NPP file, a binary module and a text module apart by their first bytes. */
export function kindOf(bytes: Uint8Array): ProgramKind {
  if (NPP_MAGIC.every((b, i) => bytes[i] === b) || (bytes[0] === NPP_MAGIC[0] && bytes[1] === 0x4e))
    return "npp";
  if (WASM_MAGIC.every((b, i) => bytes[i] === b)) return "wasm";
  return "wat";
}

/** Loads a program file of any kind; NPP files are fully decoded (not yet validated). */
export async function loadProgram(
  file: string,
  opts: AssembleOptions = {},
): Promise<LoadedProgram> {
  const bytes = await readInput(file);
  const kind = kindOf(bytes);
  if (kind === "npp") {
    const npp = await decodeNpp(bytes);
    return { path: file, kind, file: bytes, module: npp.module, npp };
  }
  if (kind === "wasm") return { path: file, kind, file: bytes, module: bytes, npp: undefined };
  const text = new TextDecoder("utf-8", { fatal: false }).decode(bytes);
  if (!/^\s*(\(|;;)/.test(text))
    throw new NcwError(
      "data",
      `${file} is neither an NPP file, a WebAssembly binary nor WebAssembly text`,
      { code: "CA_UNKNOWN_INPUT", hint: "give a .npp, .wasm or .wat file" },
    );
  const module = await watToWasm(text, path.basename(file), opts);
  return { path: file, kind, file: bytes, module, npp: undefined };
}

/** Validates a loaded program: the module, and for NPP files the header's agreement with it. */
export async function validateProgram(p: LoadedProgram): Promise<ValidatedModule> {
  if (p.npp !== undefined) return (await validateNpp(p.file)).module;
  return validateModule(p.module);
}

export interface AsmResult {
  output: string;
  npp: Uint8Array;
  module: ValidatedModule;
  metadata: NppMetadata;
}

/**
 * Assembles `input` (.wat or .wasm; an .npp is re-packed) into a validated NPP file at `output`,
 * written atomically (temporary file, then rename). Invalid programs are never written.
 */
export async function assembleProgram(
  input: string,
  output: string,
  opts: AssembleOptions & {
    metadata?: NppMetadata;
    renameExports?: ReadonlyMap<string, string>;
  } = {},
): Promise<AsmResult> {
  const p = await loadProgram(input, opts);
  const bytes = renameExports(p.module, opts.renameExports ?? new Map());
  const module = await validateModule(bytes);
  const metadata: NppMetadata = {
    name: path.basename(input).replace(/\.(wat|wast|wasm|npp)$/i, ""),
    ...(p.npp?.metadata ?? {}),
    ...(opts.metadata ?? {}),
  };
  const npp = await encodeNpp(bytes, { metadata });
  await writeAtomically(output, npp);
  return { output, npp, module, metadata };
}

export async function writeAtomically(file: string, data: Uint8Array | string): Promise<void> {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  try {
    await writeFile(tmp, data);
    await rename(tmp, file);
  } catch (e) {
    await rm(tmp, { force: true });
    throw new NcwError("cant-create", `cannot write ${file}: ${(e as Error).message}`, {
      code: "CA_OUTPUT_UNWRITABLE",
    });
  }
}

/** Everything `ncw ca info` shows, as plain data (also the --json form). */
export interface ProgramInfo {
  path: string;
  kind: ProgramKind;
  fileSize: number;
  npp?: {
    formatVersion: number;
    abiVersion: string;
    flags: string[];
    metadata: NppMetadata;
    integrity: string;
    compressedSize: number;
  };
  moduleSize: number;
  imports: { module: string; name: string; kind: string; signature?: string }[];
  exports: { name: string; kind: string; index: number; signature?: string }[];
  memory: { min: number; max: number | undefined; shared: boolean }[];
  tables: { elemType: string; min: number; max: number | undefined }[];
  functions: { imported: number; defined: number };
  globals: number;
  startSection: number | undefined;
  sections: { name: string; offset: number; size: number }[];
}

export function describeProgram(p: LoadedProgram, info: WasmModuleInfo): ProgramInfo {
  const sigOf = (i: number) => {
    const s = funcSig(info, i);
    return s === undefined ? undefined : formatSig(s);
  };
  let fi = 0;
  return {
    path: p.path,
    kind: p.kind,
    fileSize: p.file.length,
    ...(p.npp
      ? {
          npp: {
            formatVersion: p.npp.header.formatVersion,
            abiVersion: abiVersionString(p.npp.header.abiVersion),
            flags: [
              ...(p.npp.header.flags & NppFlag.FORK ? ["fork"] : []),
              ...(p.npp.header.flags & NppFlag.NAMES ? ["names"] : []),
            ],
            metadata: p.npp.metadata,
            integrity: `sha256:${Buffer.from(p.npp.header.integrity).toString("hex")}`,
            compressedSize: p.npp.header.payloadLength,
          },
        }
      : {}),
    moduleSize: p.module.length,
    imports: info.imports.map((i) => ({
      module: i.module,
      name: i.name,
      kind: i.kind,
      ...(i.kind === "func" ? { signature: sigOf(fi++) } : {}),
    })),
    exports: info.exports.map((e) => ({
      name: e.name,
      kind: e.kind,
      index: e.index,
      ...(e.kind === "func" ? { signature: sigOf(e.index) } : {}),
    })),
    memory: info.memories.map((m) => ({ min: m.min, max: m.max, shared: m.shared })),
    tables: info.tables.map((t) => ({ elemType: t.elemType, min: t.min, max: t.max })),
    functions: { imported: info.importedFuncs, defined: info.functions.length },
    globals: info.importedGlobals + info.globals.length,
    startSection: info.start,
    sections: info.sections.map((s) => ({ name: s.name, offset: s.offset, size: s.size })),
  };
}
