// Validation of a CommonAssembly module: WebAssembly core 2.0 + threads validation (wabt with exactly
// that feature set, then V8, the engine that runs it) and the NightOS ABI rules of docs/commonassembly.md.

import {
  ABI_IMPORT_MODULE,
  ABI_IMPORTS,
  EXPORT_MEMORY,
  EXPORT_START,
  EXPORT_TABLE,
  formatSig,
  IMPORT_SAFEPOINT,
  IMPORT_SYSCALL,
  IMPORT_SYSCALL_FORK,
  MAX_MEMORY_PAGES,
  MAX_TABLE_SIZE,
  RESERVED_EXPORT_PREFIXES,
  RESERVED_LOW_MEMORY,
  START_SIG,
  sameSig,
} from "./abi/wasm-names.js";
import { ModuleError } from "./errors.js";
import { checkLimits } from "./limits.js";
import { decodeNpp, flagsForModule, type Npp } from "./npp.js";
import { findNonCaInstruction } from "./wasm/polls.js";
import {
  funcSig,
  functionAtOffset,
  type MemoryType,
  readModule,
  SectionId,
  type TableType,
  type WasmModuleInfo,
} from "./wasm/reader.js";

/** The WebAssembly features CommonAssembly allows (core 2.0 + threads; DIRECTION.md §1), by wabt name. */
export const CA_FEATURES = {
  mutable_globals: true,
  sat_float_to_int: true,
  sign_extension: true,
  simd: true,
  multi_value: true,
  bulk_memory: true,
  reference_types: true,
  threads: true,
  exceptions: false,
  tail_call: false,
  function_references: false,
  gc: false,
  memory64: false,
  extended_const: false,
  relaxed_simd: false,
  code_metadata: false,
  annotations: false,
} as const;

/** The ABI rule names, used as error codes (documented in docs/commonassembly.md). */
export const AbiRule = {
  IMPORT_MODULE: "ABI_IMPORT_MODULE",
  IMPORT_UNKNOWN: "ABI_IMPORT_UNKNOWN",
  IMPORT_KIND: "ABI_IMPORT_KIND",
  IMPORT_SIGNATURE: "ABI_IMPORT_SIGNATURE",
  IMPORT_DUPLICATE: "ABI_IMPORT_DUPLICATE",
  MEMORY_COUNT: "ABI_MEMORY_COUNT",
  MEMORY_NOT_SHARED: "ABI_MEMORY_NOT_SHARED",
  MEMORY_LIMIT: "ABI_MEMORY_LIMIT",
  MEMORY_EMPTY: "ABI_MEMORY_EMPTY",
  EXPORT_MISSING: "ABI_EXPORT_MISSING",
  EXPORT_KIND: "ABI_EXPORT_KIND",
  START_SIGNATURE: "ABI_START_SIGNATURE",
  TABLE_TYPE: "ABI_TABLE_TYPE",
  RESERVED_EXPORT: "ABI_RESERVED_EXPORT",
  START_SECTION: "ABI_START_SECTION",
  LOW_MEMORY: "ABI_LOW_MEMORY",
} as const;

export interface ValidatedModule {
  info: WasmModuleInfo;
  memory: MemoryType;
  table: TableType;
  /** Function index of the exported `_start`. */
  startFunc: number;
  /** Which `nightos` imports the module uses. */
  imports: { syscall: boolean; syscallFork: boolean; safepoint: boolean };
}

interface WabtValidatable {
  validate(features?: Record<string, boolean>): void;
  destroy(): void;
}
interface WabtReader {
  readWasm(buffer: Uint8Array, options: Record<string, boolean>): WabtValidatable;
}
let wabtPromise: Promise<WabtReader> | undefined;
function wabt(): Promise<WabtReader> {
  // Loaded on first use, so commands that never validate do not pay for it.
  wabtPromise ??= import("wabt").then((m) => m.default() as Promise<WabtReader>);
  return wabtPromise;
}

/**
 * Fully validates a module: structure, WebAssembly validation, NightOS ABI. Throws the first
 * ModuleError (its message says how many more problems there are); `checkModule` lists them all.
 */
export async function validateModule(bytes: Uint8Array): Promise<ValidatedModule> {
  const { module, problems } = await checkModule(bytes);
  const first = problems[0];
  if (first !== undefined) {
    if (problems.length > 1)
      first.message += ` — and ${problems.length - 1} more problem(s); \`ncw ca validate\` lists them all`;
    throw first;
  }
  return module!;
}

/**
 * Like validateModule but returns every ABI and engine-limit problem found (WebAssembly errors stop
 * at the first). Limits come first: V8 would refuse some of those modules, less clearly, so a module
 * past one gets the ABI checks but no WebAssembly validation.
 */
export async function checkModule(
  bytes: Uint8Array,
): Promise<{ module: ValidatedModule | undefined; problems: ModuleError[] }> {
  const info = readModule(bytes);
  const problems: ModuleError[] = [];
  checkLimits(bytes, info, problems);
  if (problems.length === 0) await validateWasm(bytes, info);
  const module = checkAbi(info, problems);
  return { module: problems.length === 0 ? module : undefined, problems };
}

/** Decodes an NPP file and validates its module, including the header flags' agreement with it. */
export async function validateNpp(
  file: Uint8Array,
): Promise<{ npp: Npp; module: ValidatedModule }> {
  const npp = await decodeNpp(file);
  const module = await validateModule(npp.module);
  const flags = flagsForModule(npp.module);
  if (flags !== npp.header.flags)
    throw new ModuleError(
      "NPP_FLAGS_MISMATCH",
      `the NPP header flags (0x${npp.header.flags.toString(16)}) do not match the module (0x${flags.toString(16)})`,
      {},
      "rebuild the NPP with `ncw ca asm`",
    );
  return { npp, module };
}

const WABT_ERROR = /(?:^|[\s:])([0-9a-f]{6,}): error: (.*)/m;
const V8_OFFSET = /@\+(\d+)/;
const V8_FUNCTION = /function #(\d+)/;

/** WebAssembly validation with CommonAssembly's feature set (wabt), then by V8 itself. */
export async function validateWasm(bytes: Uint8Array, info: WasmModuleInfo): Promise<void> {
  const copy = Uint8Array.from(bytes); // wabt needs an unshared, zero-offset buffer
  // Fast path: V8 validates the module and every instruction is core 2.0 + threads (V8 also accepts
  // some proposals; the reader already refused their sections, types and constant expressions). wabt,
  // 20-50x slower on large modules, then runs only to explain a rejection.
  if (WebAssembly.validate(copy) && findNonCaInstruction(copy, info) === undefined) return;
  const w = await wabt();
  let mod: WabtValidatable | undefined;
  try {
    mod = w.readWasm(copy, { ...CA_FEATURES, readDebugNames: false, check: true });
    mod.validate({ ...CA_FEATURES });
  } catch (e) {
    const text = e instanceof Error ? e.message : String(e);
    const m = WABT_ERROR.exec(text);
    if (m) {
      const offset = Number.parseInt(m[1]!, 16);
      const funcIndex = functionAtOffset(info, offset);
      const funcName = funcIndex === undefined ? undefined : info.functionNames.get(funcIndex);
      throw new ModuleError(
        "WASM_INVALID",
        `invalid WebAssembly: ${m[2]!.trim()}`,
        {
          offset,
          ...(funcIndex === undefined ? {} : { funcIndex }),
          ...(funcName === undefined ? {} : { funcName }),
        },
        featureHint(m[2]!),
      );
    }
    throw new ModuleError(
      "WASM_INVALID",
      `invalid WebAssembly: ${text.replace(/\s+/g, " ").trim()}`,
    );
  } finally {
    mod?.destroy();
  }
  if (WebAssembly.validate(copy)) return;
  try {
    new WebAssembly.Module(copy);
  } catch (e) {
    throw v8Error(e instanceof Error ? e.message : String(e));
  }
}

/** Turns V8's compile error ("Compiling function #3 failed: … @+123") into a located ModuleError. */
export function v8Error(text: string): ModuleError {
  const off = V8_OFFSET.exec(text);
  const fn = V8_FUNCTION.exec(text);
  return new ModuleError(
    "WASM_INVALID",
    `the WebAssembly engine (V8) rejects the module: ${text.replace(/^WebAssembly\.Module\(\): /, "")}`,
    {
      ...(off ? { offset: Number(off[1]) } : {}),
      ...(fn ? { funcIndex: Number(fn[1]) } : {}),
    },
  );
}

function featureHint(message: string): string | undefined {
  if (/not enabled|feature/i.test(message))
    return "CommonAssembly is WebAssembly core 2.0 plus threads; exceptions, tail calls, GC, memory64 and other proposals are not allowed";
  return undefined;
}

/** Checks the NightOS ABI rules; pushes one ModuleError per broken rule. */
export function checkAbi(info: WasmModuleInfo, problems: ModuleError[]): ValidatedModule {
  const used = { syscall: false, syscallFork: false, safepoint: false };
  let funcIndex = 0;
  for (const imp of info.imports) {
    const where = { offset: imp.offset };
    const fi = imp.kind === "func" ? funcIndex++ : undefined;
    if (imp.module !== ABI_IMPORT_MODULE) {
      problems.push(
        new ModuleError(
          AbiRule.IMPORT_MODULE,
          `import "${imp.module}"."${imp.name}": modules may import only from "${ABI_IMPORT_MODULE}"`,
          where,
          imp.module === "env" || imp.module === "wasi_snapshot_preview1"
            ? "this usually means an undefined symbol or a libc/WASI function; NightOS programs reach the system through nightos.syscall"
            : undefined,
        ),
      );
      continue;
    }
    const expected = ABI_IMPORTS[imp.name];
    if (expected === undefined) {
      problems.push(
        new ModuleError(
          AbiRule.IMPORT_UNKNOWN,
          `import "nightos"."${imp.name}" does not exist; the nightos imports are ${Object.keys(ABI_IMPORTS).join(", ")}`,
          where,
        ),
      );
      continue;
    }
    if (imp.kind !== "func") {
      problems.push(
        new ModuleError(
          AbiRule.IMPORT_KIND,
          `import "nightos"."${imp.name}" must be a function, not a ${imp.kind}`,
          where,
        ),
      );
      continue;
    }
    const sig = info.types[imp.typeIndex]!;
    if (!sameSig(sig, expected))
      problems.push(
        new ModuleError(
          AbiRule.IMPORT_SIGNATURE,
          `import "nightos"."${imp.name}" has signature ${formatSig(sig)}; the ABI requires ${formatSig(expected)}`,
          { ...where, funcIndex: fi },
        ),
      );
    const key =
      imp.name === IMPORT_SYSCALL
        ? "syscall"
        : imp.name === IMPORT_SYSCALL_FORK
          ? "syscallFork"
          : imp.name === IMPORT_SAFEPOINT
            ? "safepoint"
            : undefined;
    if (key !== undefined) {
      if (used[key])
        problems.push(
          new ModuleError(
            AbiRule.IMPORT_DUPLICATE,
            `"nightos"."${imp.name}" is imported twice`,
            where,
          ),
        );
      used[key] = true;
    }
  }

  const memory = info.memories[0];
  const memSection = info.sections.find((s) => s.id === SectionId.memory);
  if (info.importedMemories !== 0) {
    problems.push(
      new ModuleError(
        AbiRule.MEMORY_COUNT,
        "the memory must be defined by the module and exported, not imported",
        {},
        "clang: do not link with --import-memory; AssemblyScript: do not use --importMemory",
      ),
    );
  } else if (info.memories.length !== 1) {
    problems.push(
      new ModuleError(
        AbiRule.MEMORY_COUNT,
        `the module must define exactly one memory, it defines ${info.memories.length}`,
        memSection ? { offset: memSection.offset } : {},
      ),
    );
  } else if (memory !== undefined) {
    const where = memSection ? { offset: memSection.contentOffset } : {};
    if (!memory.shared)
      problems.push(
        new ModuleError(
          AbiRule.MEMORY_NOT_SHARED,
          "the memory must be shared (declared `shared` with a maximum) so NightOS threads can use it",
          where,
          "clang: link with -Wl,--shared-memory -Wl,--max-memory=N; AssemblyScript: --sharedMemory --maximumMemory N; wat: (memory 1 16 shared)",
        ),
      );
    if (memory.max !== undefined && memory.max > MAX_MEMORY_PAGES)
      problems.push(
        new ModuleError(
          AbiRule.MEMORY_LIMIT,
          `the memory maximum is ${memory.max} pages; NCW allows at most ${MAX_MEMORY_PAGES} (one page is kept for the control block)`,
          where,
        ),
      );
    if (memory.min < 1)
      problems.push(
        new ModuleError(
          AbiRule.MEMORY_EMPTY,
          "the memory starts with 0 pages; NightOS programs must declare at least 1 (the control block at address 0 is read from the first instruction on)",
          where,
          "clang and AssemblyScript always declare at least one page; wat: (memory 1 16 shared)",
        ),
      );
  }

  const exportOf = (name: string) => info.exports.find((e) => e.name === name);
  const requireExport = (name: string, kind: string) => {
    const e = exportOf(name);
    if (e === undefined) {
      problems.push(
        new ModuleError(
          AbiRule.EXPORT_MISSING,
          `the module must export a ${kind} named "${name}"`,
          {},
          name === EXPORT_TABLE
            ? "clang: link with -Wl,--export-table; AssemblyScript: --exportTable, then `ncw ca asm --rename-export table=__indirect_function_table`"
            : name === EXPORT_START
              ? "clang: -Wl,--export=_start (or define _start); AssemblyScript: --exportStart _start"
              : undefined,
        ),
      );
      return undefined;
    }
    if (e.kind !== kind) {
      problems.push(
        new ModuleError(
          AbiRule.EXPORT_KIND,
          `export "${name}" must be a ${kind}, it is a ${e.kind}`,
          { offset: e.offset },
        ),
      );
      return undefined;
    }
    return e;
  };
  requireExport(EXPORT_MEMORY, "memory");
  const startExport = requireExport(EXPORT_START, "func");
  const tableExport = requireExport(EXPORT_TABLE, "table");

  let startFunc = -1;
  if (startExport) {
    startFunc = startExport.index;
    const sig = funcSig(info, startFunc);
    if (sig !== undefined && !sameSig(sig, START_SIG))
      problems.push(
        new ModuleError(
          AbiRule.START_SIGNATURE,
          `"_start" has signature ${formatSig(sig)}; it must take no parameters and return nothing`,
          { offset: startExport.offset, funcIndex: startFunc },
        ),
      );
  }
  let table: TableType = { elemType: "funcref", min: 0, max: 0 };
  if (tableExport) {
    const t =
      tableExport.index < info.importedTables
        ? undefined
        : info.tables[tableExport.index - info.importedTables];
    if (t === undefined)
      problems.push(
        new ModuleError(
          AbiRule.TABLE_TYPE,
          `"${EXPORT_TABLE}" must be a table defined by the module`,
          {
            offset: tableExport.offset,
          },
        ),
      );
    else {
      table = t;
      if (t.elemType !== "funcref")
        problems.push(
          new ModuleError(
            AbiRule.TABLE_TYPE,
            `"${EXPORT_TABLE}" must hold funcref (signal handlers), it holds ${t.elemType}`,
            { offset: tableExport.offset },
          ),
        );
      if (t.min > MAX_TABLE_SIZE)
        problems.push(
          new ModuleError(
            AbiRule.TABLE_TYPE,
            `"${EXPORT_TABLE}" starts with ${t.min} entries; NCW allows at most ${MAX_TABLE_SIZE}`,
            { offset: tableExport.offset },
          ),
        );
    }
  }

  for (const e of info.exports) {
    const prefix = RESERVED_EXPORT_PREFIXES.find((p) => e.name.startsWith(p));
    if (prefix !== undefined)
      problems.push(
        new ModuleError(
          AbiRule.RESERVED_EXPORT,
          `export "${e.name}" uses the prefix "${prefix}", reserved for the AOT step`,
          { offset: e.offset },
        ),
      );
  }

  if (info.start !== undefined && info.start < info.importedFuncs) {
    const sec = info.sections.find((s) => s.id === SectionId.start);
    problems.push(
      new ModuleError(
        AbiRule.START_SECTION,
        "the start section names an imported function; nightos imports cannot run during instantiation",
        { ...(sec ? { offset: sec.contentOffset } : {}), funcIndex: info.start },
      ),
    );
  }

  for (const seg of info.dataSegments) {
    if (!seg.active || seg.size === 0) continue;
    const overlaps = seg.address === undefined || seg.address < RESERVED_LOW_MEMORY;
    if (overlaps)
      problems.push(
        new ModuleError(
          AbiRule.LOW_MEMORY,
          seg.address === undefined
            ? `an active data segment has a computed address; it must be an i32.const of at least ${RESERVED_LOW_MEMORY}`
            : `an active data segment writes at address ${seg.address}, inside NightOS low memory [0, ${RESERVED_LOW_MEMORY})`,
          { offset: seg.offset },
          "place data at address 1024 or above (clang does by default; AssemblyScript: -O2 or --memoryBase 1024)",
        ),
      );
  }

  return {
    info,
    memory: memory ?? { min: 0, max: 0, shared: false },
    table,
    startFunc,
    imports: used,
  };
}
