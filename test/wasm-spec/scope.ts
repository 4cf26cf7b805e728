// Which WebAssembly spec-test files are in CommonAssembly's scope (core 2.0 + threads, DIRECTION.md §1),
// why the others are not, and the assertions known to fail with their reasons (docs/conformance.md).

import { existsSync, readdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

/** The suite shipped beside the repository (shared/wasm-testsuite). */
export function suiteDir(): string | undefined {
  const here = path.dirname(fileURLToPath(import.meta.url));
  for (const up of ["../../../shared/wasm-testsuite", "../../../../shared/wasm-testsuite"]) {
    const d = path.resolve(here, up);
    if (existsSync(path.join(d, "i32.wast"))) return d;
  }
  return process.env.NCW_WASM_TESTSUITE;
}

/** File-level exclusions: the first matching rule gives the reason. Paths are relative to the suite. */
export const OUT_OF_SCOPE: readonly { pattern: RegExp; reason: string }[] = [
  {
    pattern: /^legacy\//,
    reason:
      "legacy exception handling (not in WebAssembly 2.0; exceptions are out of CommonAssembly)",
  },
  {
    pattern: /^custom\//,
    reason: "custom annotations and branch hints (text-format proposals outside core 2.0)",
  },
  {
    pattern: /^proposals\/(custom-descriptors|custom-page-sizes|wide-arithmetic)\//,
    reason: "a proposal outside CommonAssembly",
  },
  {
    pattern:
      /^(memory64|memory64-imports|table_copy_mixed)\.wast$|^(?!(i|f)64\.wast$)[a-z0-9_]+64\.wast$/,
    reason: "memory64 / table64 (WebAssembly 3.0)",
  },
  { pattern: /^(memory-multi|simd_memory-multi)\.wast$/, reason: "multi-memory (WebAssembly 3.0)" },
  {
    pattern:
      /^(address|align|binary|data|data_drop|exports|float_exprs|float_memory|imports|linking|load|memory_copy|memory_fill|memory_init|memory_size|memory_trap|start|store|traps)[0-9]\.wast$/,
    reason: "multi-memory variants of the core file of the same name (WebAssembly 3.0)",
  },
  {
    pattern:
      /^(array|array_copy|array_fill|array_init_data|array_init_elem|array_new_data|array_new_elem|binary-gc|br_on_cast|br_on_cast_fail|extern|i31|ref_cast|ref_eq|ref_test|struct|type-canon|type-equivalence|type-rec|type-subtyping|table-sub)\.wast$/,
    reason: "GC (WebAssembly 3.0)",
  },
  {
    pattern:
      /^(br_on_non_null|br_on_null|call_ref|local_init|ref_as_non_null|return_call_ref)\.wast$/,
    reason: "typed function references (WebAssembly 3.0)",
  },
  { pattern: /^(return_call|return_call_indirect)\.wast$/, reason: "tail calls (WebAssembly 3.0)" },
  {
    pattern: /^(tag|throw|throw_ref|try_table)\.wast$/,
    reason: "exception handling (WebAssembly 3.0)",
  },
  {
    pattern:
      /^(relaxed_[a-z_]+|i16x8_relaxed_q15mulr_s|i32x4_relaxed_trunc|i8x16_relaxed_swizzle)\.wast$/,
    reason: "relaxed SIMD (WebAssembly 3.0)",
  },
  {
    pattern: /^annotations\.wast$/,
    reason: "custom annotations (text-format proposal outside core 2.0)",
  },
  {
    pattern: /^instance\.wast$/,
    reason:
      "module definitions/instances of the WebAssembly 3.0 script format, with tags (exception handling)",
  },
];

/**
 * Assertions in in-scope files that are known to fail, with why. The spec test fails on any other
 * failure; a known failure that starts passing is reported so the entry can be removed.
 */
export const KNOWN_FAILURES: readonly { file: string; line: number; reason: string }[] = [];

/**
 * Assertions whose expectation WebAssembly 2.0 itself reversed: the threads proposal's files predate
 * reference types, under which several tables are valid. They are counted as skipped, with this reason.
 */
export const SUPERSEDED: readonly { file: string; lines: readonly number[]; reason: string }[] = [
  {
    file: "proposals/threads/imports.wast",
    lines: [309, 313, 317],
    reason:
      'expects "multiple tables" to be invalid; WebAssembly 2.0 (reference types) allows several tables',
  },
];

export function supersededReason(file: string, line: number): string | undefined {
  return SUPERSEDED.find((s) => s.file === file && s.lines.includes(line))?.reason;
}

export function outOfScopeReason(rel: string): string | undefined {
  return OUT_OF_SCOPE.find((r) => r.pattern.test(rel))?.reason;
}

/** Every .wast file of the suite that CommonAssembly covers: core (top level) and threads, sorted. */
export function allFiles(dir: string): string[] {
  const top = readdirSync(dir).filter((f) => f.endsWith(".wast"));
  const sub = (d: string): string[] =>
    existsSync(path.join(dir, d))
      ? readdirSync(path.join(dir, d))
          .filter((f) => f.endsWith(".wast"))
          .map((f) => `${d}/${f}`)
      : [];
  const proposals = existsSync(path.join(dir, "proposals"))
    ? readdirSync(path.join(dir, "proposals")).flatMap((p) => sub(`proposals/${p}`))
    : [];
  return [...top, ...sub("legacy"), ...sub("custom"), ...proposals].sort();
}

export function inScopeFiles(dir: string): string[] {
  return allFiles(dir).filter((f) => outOfScopeReason(f) === undefined);
}
