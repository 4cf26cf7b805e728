// The AOT step's public API (DIRECTION.md §1, docs/commonassembly-aot.md): decompress, validate, check
// the ABI, instrument, optimize, store — with the artifact cache in the NCW home's cache folder.

import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { isHostError } from "../../native/errors.js";
import { NcwError } from "../../ncw/errors.js";
import { ABI_VERSION, ABI_VERSION_SECTION } from "../abi/wasm-names.js";
import { decodeNppHeader, NPP_MAGIC } from "../npp.js";
import { validateModule, validateNpp, validateWasm } from "../validate.js";
import { readModule } from "../wasm/reader.js";
import {
  ARTIFACT_EXTENSION,
  type ArtifactHeader,
  ArtifactRejected,
  type ArtifactTarget,
  cpuId,
  decodeArtifact,
  encodeArtifact,
  engineId,
  mismatch,
  ncwVersion,
  sha256Hex,
} from "./artifact.js";
import {
  DEFAULT_OPT_LEVEL,
  DEFAULT_POLL_SHAPE,
  type InstrumentOptions,
  type InstrumentReport,
  type StepTiming,
} from "./options.js";
import { importMemory } from "./shared-memory.js";
import { appendCustomSection } from "./wasm-sections.js";

export type { StepTiming } from "./options.js";

export interface AotOptions {
  /** Folder for artifacts (the NCW home's `cache`); artifacts go in its `aot/` subfolder. */
  cacheDir: string;
  /**
   * For a raw .wasm input: check the NightOS ABI too (default true). The spec-test runner passes false
   * (its modules are plain WebAssembly); NPP inputs are always checked.
   */
  abi?: boolean;
  /** Instrumentation options (the defaults are what `ncw ca aot` uses). */
  instrument?: InstrumentOptions;
  /** Rebuild even when a valid artifact exists. */
  force?: boolean;
}

export interface AotResult {
  artifactPath: string;
  module: WebAssembly.Module;
  header: ArtifactHeader;
  /** Every step with its duration in milliseconds, in order. */
  steps: StepTiming[];
  /** True when a valid cached artifact was used. */
  cached: boolean;
  /** Why an existing artifact was not used (stale, foreign or corrupt), when one was there. */
  rejected?: string;
  report: InstrumentReport;
}

function timed<T>(steps: StepTiming[], step: string, fn: () => T): T {
  const t0 = performance.now();
  const r = fn();
  steps.push({ step, ms: performance.now() - t0 });
  return r;
}

async function timedAsync<T>(steps: StepTiming[], step: string, fn: () => Promise<T>): Promise<T> {
  const t0 = performance.now();
  const r = await fn();
  steps.push({ step, ms: performance.now() - t0 });
  return r;
}

function optionsTag(o: InstrumentOptions | undefined): string {
  return [
    `polls=${o?.polls ?? "entry-and-loops"}`,
    `shape=${o?.pollShape ?? DEFAULT_POLL_SHAPE}`,
    `opt=${o?.optimizeLevel ?? DEFAULT_OPT_LEVEL}`,
    `shrink=${o?.shrinkLevel ?? 0}`,
    `reserve=${(o?.reserveControlPage ?? true) ? 1 : 0}`,
  ].join(" ");
}

function isNpp(bytes: Uint8Array): boolean {
  return bytes.length >= NPP_MAGIC.length && NPP_MAGIC.every((b, i) => bytes[i] === b);
}

function readInput(input: Uint8Array | string): Uint8Array {
  if (typeof input !== "string") return input;
  try {
    return new Uint8Array(readFileSync(input));
  } catch (e) {
    const missing = isHostError(e, "not-found");
    throw new NcwError(
      missing ? "not-found" : "io",
      `cannot read ${input}: ${(e as Error).message}`,
      {
        code: missing ? "AOT_INPUT_NOT_FOUND" : "AOT_INPUT_UNREADABLE",
        cause: e,
      },
    );
  }
}

/** The current host's target for an input: what a cached artifact must have been built for. */
export function currentTarget(
  inputHash: string,
  abiVersion: number,
  options?: InstrumentOptions,
): ArtifactTarget {
  return {
    ncwVersion: ncwVersion(),
    engine: engineId(),
    cpu: cpuId(),
    inputHash,
    abiVersion,
    options: optionsTag(options),
  };
}

/** Where the artifact for an input with this hash and these options lives. */
export function artifactPathFor(
  cacheDir: string,
  inputHash: string,
  options?: InstrumentOptions,
): string {
  const tag = sha256Hex(new TextEncoder().encode(optionsTag(options))).slice(0, 8);
  return path.join(cacheDir, "aot", `${inputHash}-${tag}${ARTIFACT_EXTENSION}`);
}

function compile(bytes: Uint8Array): WebAssembly.Module {
  try {
    return new WebAssembly.Module(bytes);
  } catch (e) {
    throw new NcwError("failure", `V8 rejects the instrumented module: ${(e as Error).message}`, {
      code: "AOT_ENGINE_REJECTED",
      hint: "this is a bug in NCW's AOT step; please report it with the program",
      cause: e,
    });
  }
}

/** Writes a file so that readers see either the old file or the complete new one, never a mix. */
function writeAtomically(file: string, bytes: Uint8Array): void {
  try {
    mkdirSync(path.dirname(file), { recursive: true });
  } catch (e) {
    throw new NcwError(
      "cant-create",
      `cannot create the AOT cache folder ${path.dirname(file)}: ${(e as Error).message}`,
      {
        code: "AOT_CACHE_UNWRITABLE",
        cause: e,
      },
    );
  }
  const tmp = `${file}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`;
  try {
    writeFileSync(tmp, bytes);
    renameSync(tmp, file);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw new NcwError(
      "cant-create",
      `cannot write the AOT artifact ${file}: ${(e as Error).message}`,
      {
        code: "AOT_CACHE_UNWRITABLE",
        cause: e,
      },
    );
  }
}

/**
 * Reads an artifact for `want`, or says why it cannot be used. Returns undefined when there is none.
 * Throws nothing for a bad artifact: a bad artifact is a reason to rebuild, reported in `rejected`.
 */
function tryCached(
  file: string,
  want: ArtifactTarget,
  steps: StepTiming[],
): { header: ArtifactHeader; module: WebAssembly.Module } | { rejected: string } | undefined {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(readFileSync(file));
  } catch {
    return undefined;
  }
  try {
    const a = timed(steps, "artifact-check", () => decodeArtifact(bytes));
    const why = mismatch(a.header, want);
    if (why !== undefined) return { rejected: `stale or foreign artifact: ${why}` };
    return { header: a.header, module: timed(steps, "engine-compile", () => compile(a.module)) };
  } catch (e) {
    if (e instanceof ArtifactRejected) return { rejected: e.message };
    throw e;
  }
}

interface Lookup {
  steps: StepTiming[];
  bytes: Uint8Array;
  npp: boolean;
  abiChecked: boolean;
  want: ArtifactTarget;
  artifactPath: string;
  /** The valid cached artifact, when there is one (and `force` is off). */
  hit?: AotResult;
  /** Why an existing artifact was not used. */
  rejected?: string;
}

/** Reads the input and looks its artifact up in the cache (cheap: no validation, no Binaryen). */
function lookup(input: Uint8Array | string, options: AotOptions): Lookup {
  const steps: StepTiming[] = [];
  const bytes = timed(steps, "read", () => readInput(input));
  const inputHash = timed(steps, "hash", () => sha256Hex(bytes));
  const npp = isNpp(bytes);
  // An NPP names its ABI version; a raw module checked against the ABI gets this NCW's; unchecked ones 0.
  const abiChecked = npp || options.abi !== false;
  let abiVersion = 0;
  if (npp) {
    // The header alone (container checks and integrity, no decompression) names the ABI version; the
    // module is decompressed and validated only when no valid artifact exists for this exact file.
    abiVersion = timed(steps, "npp-header", () => decodeNppHeader(bytes)).header.abiVersion;
  }
  if (!npp && abiChecked) abiVersion = ABI_VERSION;
  const want = currentTarget(inputHash, abiVersion, options.instrument);
  const artifactPath = artifactPathFor(options.cacheDir, inputHash, options.instrument);
  const l: Lookup = { steps, bytes, npp, abiChecked, want, artifactPath };
  if (options.force === true) return l;
  const hit = tryCached(artifactPath, want, steps);
  if (hit !== undefined && "module" in hit)
    l.hit = {
      artifactPath,
      module: hit.module,
      header: hit.header,
      steps,
      cached: true,
      report: hit.header.report,
    };
  else if (hit !== undefined) l.rejected = hit.rejected;
  return l;
}

/**
 * The valid cached artifact for a program, or undefined when it must be compiled. Never loads Binaryen
 * or validates: what the kernel asks before handing a compile to a worker (kernel-compat/program.ts).
 */
export function aotCached(input: Uint8Array | string, options: AotOptions): AotResult | undefined {
  return lookup(input, options).hit;
}

/**
 * AOT-compiles a program (an NPP file, or a raw WebAssembly module) and caches the artifact; reuses a
 * valid cached artifact. Accepts the file's bytes or its path.
 */
export async function aotCompile(
  input: Uint8Array | string,
  options: AotOptions,
): Promise<AotResult> {
  const l = lookup(input, options);
  if (l.hit !== undefined) return l.hit;
  const { steps, bytes, npp, abiChecked, want, artifactPath, rejected } = l;
  let moduleBytes: Uint8Array;
  if (npp) {
    const { npp: decoded } = await timedAsync(steps, "decode+validate", () => validateNpp(bytes));
    moduleBytes = decoded.module;
  } else {
    const raw = bytes;
    if (abiChecked) await timedAsync(steps, "validate", () => validateModule(raw));
    else await timedAsync(steps, "validate", () => validateWasm(raw, readModule(raw)));
    moduleBytes = raw;
  }
  // Binaryen loads only here, on a miss: a cache hit never pays for it (nor keeps it in memory).
  const { instrument } = await timedAsync(steps, "load-binaryen", () => import("./instrument.js"));
  const result = instrument(moduleBytes, options.instrument);
  steps.push(...result.steps);
  // Threads: a module that can fork gets its memory imported (kernel helper; shared-memory.ts).
  if (result.report.asyncify)
    result.wasm = timed(
      steps,
      "import-memory",
      () => importMemory(result.wasm)?.wasm ?? result.wasm,
    );
  // A fork-capable module carries its ABI version: the runner gives 1.1 threads their own answer area.
  if (result.report.asyncify) {
    const v = Uint8Array.of(want.abiVersion & 0xff, want.abiVersion >> 8);
    result.wasm = appendCustomSection(result.wasm, ABI_VERSION_SECTION, v);
  }
  const header: ArtifactHeader = {
    ...want,
    built: new Date().toISOString(),
    flags: {
      polls: (options.instrument?.polls ?? "entry-and-loops") !== "none",
      asyncify: result.report.asyncify,
    },
    report: result.report,
    moduleLength: result.wasm.length,
  };
  const module = timed(steps, "engine-compile", () => compile(result.wasm));
  const file = timed(steps, "encode", () => encodeArtifact({ header, module: result.wasm }));
  timed(steps, "store", () => writeAtomically(artifactPath, file));
  return {
    artifactPath,
    module,
    header,
    steps,
    cached: false,
    report: result.report,
    ...(rejected === undefined ? {} : { rejected }),
  };
}

/**
 * Loads an artifact file and compiles it for V8. Throws ArtifactRejected (with a readable reason) when
 * it is corrupt, or was built by another NCW version, engine or CPU than this one.
 */
export function loadArtifact(file: string): { header: ArtifactHeader; module: WebAssembly.Module } {
  const bytes = readInput(file);
  const a = decodeArtifact(bytes);
  const here = currentTarget(a.header.inputHash, a.header.abiVersion, undefined);
  const why = mismatch({ ...a.header, options: here.options }, here);
  if (why !== undefined)
    throw new ArtifactRejected("stale", `${file}: stale or foreign AOT artifact: ${why}`);
  return { header: a.header, module: compile(a.module) };
}
