// The AOT step's options, report and defaults (docs/commonassembly-aot.md): what the cache, the CLI and
// the kernel need to name without loading Binaryen (instrument.ts, which does, re-exports them).

import type { MemoryLimits } from "./wasm-sections.js";

export type PollMode = "entry-and-loops" | "none";

export interface InstrumentOptions {
  /** Where polls go. "none" is for measuring the cost of polls only (bench); the AOT step always polls. */
  polls?: PollMode;
  /** Binaryen optimize level after instrumentation (0 = no optimization). Default DEFAULT_OPT_LEVEL. */
  optimizeLevel?: 0 | 1 | 2 | 3;
  /** Binaryen shrink level. Default 0. */
  shrinkLevel?: 0 | 1 | 2;
  /**
   * Raise the memory maximum by one page for the control block the runtime adds (default true: an ABI
   * program). The spec-test runner turns it off: it changes what memory.grow may do, by design.
   */
  reserveControlPage?: boolean;
  /** Poll shape (bench/ca measures the alternatives; docs/commonassembly-aot.md). Default DEFAULT_POLL_SHAPE. */
  pollShape?: PollShape;
  /**
   * "auto" (default): modules that need no Asyncify, have a memory of at least a page and use the default
   * poll shape and optimize level 0 are rewritten by commonassembly/wasm/polls.ts (fast); the others, or
   * "binaryen", go through Binaryen.
   */
  engine?: "auto" | "binaryen";
}

/**
 * "cached": address from __nightos_ctl cached in a local, flag compared with the value this call last saw.
 * "const": atomic load of the ABI 1.0 address 0, compared with 0. "const-seen": address 0, compared with
 * the value last seen. "const-plain": like "const" with a non-atomic load (measurement only: unsound).
 * Modules whose memory starts empty always get the guarded "cached" form.
 */
export type PollShape = "cached" | "const" | "const-seen" | "const-plain";
export const DEFAULT_POLL_SHAPE: PollShape = "const-seen";

/** The default optimization level, chosen by measurement (docs/commonassembly-aot.md, "Optimization"). */
export const DEFAULT_OPT_LEVEL = 0;

export interface StepTiming {
  step: string;
  ms: number;
}

export interface InstrumentReport {
  functions: number;
  /** Polls inserted at function entries. */
  entryPolls: number;
  /** Polls inserted at loop headers. */
  loopPolls: number;
  /** Loops left without a header poll because every iteration calls a function that polls at entry. */
  elidedLoopPolls: number;
  /** Expressions whose operands Binaryen's JS API cannot reach (table.fill/copy/init): not searched for loops. */
  opaqueExpressions: number;
  /** True when the module imports nightos.syscall_fork and Asyncify was applied. */
  asyncify: boolean;
  /** The memory limits after the step (undefined: the module has no memory of its own). */
  memory: MemoryLimits | undefined;
  /** True when the memory maximum was raised by one page for the control block. */
  memoryMaxBumped: boolean;
  /** True when a memory was added because the module had none (never for ABI programs). */
  memoryAdded: boolean;
  /** True when polls also test that __nightos_ctl is non-zero (modules whose memory may be empty). */
  guardedPolls: boolean;
  /** Which engine inserted the polls ("rewriter": commonassembly/wasm/polls.ts). */
  engine: "rewriter" | "binaryen";
  /** Why the rewriter was not used (when engine is "binaryen" under "auto"). */
  engineReason?: string;
  /** Names of the internal mutable globals exported for fork (index order). */
  forkGlobals: string[];
  optimizeLevel: number;
}

export interface InstrumentResult {
  wasm: Uint8Array;
  report: InstrumentReport;
  steps: StepTiming[];
}
