// The AOT instrumentation step (DIRECTION.md §1, docs/commonassembly-aot.md): safepoint polls at every
// function entry and loop header, the `__nightos_ctl` global, the memory-maximum bump, Asyncify limited
// to `nightos.syscall_fork`, then Binaryen optimization.

import binaryen from "binaryen";
import { NcwError } from "../../ncw/errors.js";
import {
  ABI_IMPORT_MODULE,
  CTL_GLOBAL,
  CTL_MEMORY_EXPORT,
  FORK_GLOBAL_EXPORT_PREFIX,
  IMPORT_SAFEPOINT,
  IMPORT_SYSCALL_FORK,
} from "../abi/wasm-names.js";
import { PollRewriteUnsupported, rewritePolls } from "../wasm/polls.js";
import { readModule as readWasm } from "../wasm/reader.js";
import {
  DEFAULT_OPT_LEVEL,
  DEFAULT_POLL_SHAPE,
  type InstrumentOptions,
  type InstrumentReport,
  type InstrumentResult,
  type PollShape,
  type StepTiming,
} from "./options.js";
import {
  addMemorySection,
  bumpMemoryMaximum,
  readMemoryLimits,
  WASM32_MAX_PAGES,
} from "./wasm-sections.js";

/**
 * The WebAssembly features CommonAssembly allows (core 2.0 + threads). Binaryen reads and writes
 * modules with exactly these, so it never emits an instruction V8 on Node 20 cannot run.
 */
export const CA_FEATURES: number =
  binaryen.Features.Atomics |
  binaryen.Features.MutableGlobals |
  binaryen.Features.NontrappingFPToInt |
  binaryen.Features.SIMD128 |
  binaryen.Features.BulkMemory |
  binaryen.Features.BulkMemoryOpt |
  binaryen.Features.SignExt |
  binaryen.Features.ReferenceTypes |
  binaryen.Features.Multivalue |
  binaryen.Features.CallIndirectOverlong;

export {
  DEFAULT_OPT_LEVEL,
  DEFAULT_POLL_SHAPE,
  type InstrumentOptions,
  type InstrumentReport,
  type InstrumentResult,
  type PollMode,
  type PollShape,
  type StepTiming,
} from "./options.js";

type Getter = (expr: number) => number;
type ChildrenOf = (expr: number, out: number[]) => void;

function fields(...getters: Getter[]): ChildrenOf {
  return (expr, out) => {
    for (const g of getters) {
      const c = g(expr);
      if (c !== 0) out.push(c);
    }
  };
}

function operands(
  count: (e: number) => number,
  at: (e: number, i: number) => number,
  ...first: Getter[]
): ChildrenOf {
  return (expr, out) => {
    for (const g of first) {
      const c = g(expr);
      if (c !== 0) out.push(c);
    }
    const n = count(expr);
    for (let i = 0; i < n; i++) out.push(at(expr, i));
  };
}

const b = binaryen;

type Accessor = (expr: number, arg?: number) => number;
const CLASSES = binaryen as unknown as Record<
  string,
  Record<string, Accessor | undefined> | undefined
>;

/** An expression accessor of Binaryen's JS API (untyped in its .d.ts), checked to exist at load time. */
function g(cls: string, name: string): Accessor {
  const f = CLASSES[cls]?.[name];
  if (typeof f !== "function") throw new Error(`binaryen.js lacks ${cls}.${name}`);
  return f;
}
const h = g;
/** binaryen.Loop.setName (it takes a string, unlike the other accessors). */
const setLoopName = g("Loop", "setName") as unknown as (expr: number, name: string) => void;
const LEAF: ChildrenOf = () => {};
/** elem.drop: a leaf, numbered after table.init (binaryen.js does not export its id). */
const ELEM_DROP_ID = b.TableGrowId + 4;

/** How to reach the children of every expression kind of core 2.0 + threads. */
const CHILDREN: ReadonlyMap<number, ChildrenOf> = new Map<number, ChildrenOf>([
  [b.NopId, LEAF],
  [b.BlockId, operands(g("Block", "getNumChildren"), g("Block", "getChildAt"))],
  [b.IfId, fields(g("If", "getCondition"), g("If", "getIfTrue"), g("If", "getIfFalse"))],
  [b.LoopId, fields(g("Loop", "getBody"))],
  [b.BreakId, fields(g("Break", "getCondition"), g("Break", "getValue"))],
  [b.SwitchId, fields(g("Switch", "getCondition"), g("Switch", "getValue"))],
  [b.CallId, operands(g("Call", "getNumOperands"), g("Call", "getOperandAt"))],
  [
    b.CallIndirectId,
    operands(
      g("CallIndirect", "getNumOperands"),
      g("CallIndirect", "getOperandAt"),
      g("CallIndirect", "getTarget"),
    ),
  ],
  [b.LocalGetId, LEAF],
  [b.LocalSetId, fields(g("LocalSet", "getValue"))],
  [b.GlobalGetId, LEAF],
  [b.GlobalSetId, fields(g("GlobalSet", "getValue"))],
  [b.LoadId, fields(g("Load", "getPtr"))],
  [b.StoreId, fields(g("Store", "getPtr"), g("Store", "getValue"))],
  [b.AtomicRMWId, fields(g("AtomicRMW", "getPtr"), g("AtomicRMW", "getValue"))],
  [
    b.AtomicCmpxchgId,
    fields(
      g("AtomicCmpxchg", "getPtr"),
      g("AtomicCmpxchg", "getExpected"),
      g("AtomicCmpxchg", "getReplacement"),
    ),
  ],
  [
    b.AtomicWaitId,
    fields(
      g("AtomicWait", "getPtr"),
      g("AtomicWait", "getExpected"),
      g("AtomicWait", "getTimeout"),
    ),
  ],
  [b.AtomicNotifyId, fields(g("AtomicNotify", "getPtr"), g("AtomicNotify", "getNotifyCount"))],
  [b.AtomicFenceId, LEAF],
  [b.SIMDExtractId, fields(g("SIMDExtract", "getVec"))],
  [b.SIMDReplaceId, fields(g("SIMDReplace", "getVec"), g("SIMDReplace", "getValue"))],
  [b.SIMDShuffleId, fields(g("SIMDShuffle", "getLeft"), g("SIMDShuffle", "getRight"))],
  [
    b.SIMDTernaryId,
    fields(g("SIMDTernary", "getA"), g("SIMDTernary", "getB"), g("SIMDTernary", "getC")),
  ],
  [b.SIMDShiftId, fields(g("SIMDShift", "getVec"), g("SIMDShift", "getShift"))],
  [b.SIMDLoadId, fields(g("SIMDLoad", "getPtr"))],
  [
    b.SIMDLoadStoreLaneId,
    fields(g("SIMDLoadStoreLane", "getPtr"), g("SIMDLoadStoreLane", "getVec")),
  ],
  [
    b.MemoryInitId,
    fields(g("MemoryInit", "getDest"), g("MemoryInit", "getOffset"), g("MemoryInit", "getSize")),
  ],
  [b.DataDropId, LEAF],
  [
    b.MemoryCopyId,
    fields(g("MemoryCopy", "getDest"), g("MemoryCopy", "getSource"), g("MemoryCopy", "getSize")),
  ],
  [
    b.MemoryFillId,
    fields(g("MemoryFill", "getDest"), g("MemoryFill", "getValue"), g("MemoryFill", "getSize")),
  ],
  [b.ConstId, LEAF],
  [b.UnaryId, fields(g("Unary", "getValue"))],
  [b.BinaryId, fields(g("Binary", "getLeft"), g("Binary", "getRight"))],
  [
    b.SelectId,
    fields(g("Select", "getIfTrue"), g("Select", "getIfFalse"), g("Select", "getCondition")),
  ],
  [b.DropId, fields(g("Drop", "getValue"))],
  [b.ReturnId, fields(g("Return", "getValue"))],
  [b.MemorySizeId, LEAF],
  [b.MemoryGrowId, fields(g("MemoryGrow", "getDelta"))],
  [b.UnreachableId, LEAF],
  [b.PopId, LEAF],
  [b.RefNullId, LEAF],
  [b.RefIsNullId, fields(g("RefIsNull", "getValue"))],
  [b.RefFuncId, LEAF],
  [b.RefEqId, fields(g("RefEq", "getLeft"), g("RefEq", "getRight"))],
  [b.RefAsId, fields(g("RefAs", "getValue"))],
  [b.TableGetId, fields(g("TableGet", "getIndex"))],
  [b.TableSetId, fields(g("TableSet", "getIndex"), g("TableSet", "getValue"))],
  [b.TableSizeId, LEAF],
  [b.TableGrowId, fields(g("TableGrow", "getValue"), g("TableGrow", "getDelta"))],
  [ELEM_DROP_ID, LEAF],
  [b.TupleMakeId, operands(g("TupleMake", "getNumOperands"), g("TupleMake", "getOperandAt"))],
  [b.TupleExtractId, fields(g("TupleExtract", "getTuple"))],
]);

/** Binaryen's JS API has no accessors for these; their operands are not searched (see report). */
const OPAQUE: ReadonlySet<number> = opaqueIds();

/** The ids of table.fill/copy/init, which binaryen.js numbers after TableGrow but does not export. */
function opaqueIds(): ReadonlySet<number> {
  const grow = b.TableGrowId;
  const ids = b as unknown as Record<string, number | undefined>;
  if (ids.TryId !== grow + 5)
    throw new Error("binaryen.js expression ids changed: update OPAQUE in instrument.ts");
  return new Set([grow + 1, grow + 2, grow + 3]);
}

/** Collects every Loop expression under `root` (iteratively: bodies can be deep). */
function collectLoops(root: number, loops: number[]): number {
  let opaque = 0;
  const stack: number[] = [root];
  const kids: number[] = [];
  while (stack.length > 0) {
    const e = stack.pop() as number;
    const id = binaryen.getExpressionId(e);
    if (id === b.LoopId) loops.push(e);
    const of = CHILDREN.get(id);
    if (of === undefined) {
      if (OPAQUE.has(id)) {
        opaque++;
        continue;
      }
      throw new NcwError(
        "data",
        `the module uses an instruction outside CommonAssembly (Binaryen expression id ${id})`,
        {
          code: "AOT_UNSUPPORTED_INSTRUCTION",
          hint: "CommonAssembly is WebAssembly core 2.0 plus threads; rebuild without GC, exceptions or other proposals",
        },
      );
    }
    kids.length = 0;
    of(e, kids);
    for (const k of kids) stack.push(k);
  }
  return opaque;
}

/** Adds a local of `type` to a function and returns its index (binaryen.js has the C call, not a wrapper). */
const addVar = (
  binaryen as unknown as { _BinaryenFunctionAddVar: (f: number, t: number) => number }
)._BinaryenFunctionAddVar;

function findImport(mod: binaryen.Module, moduleName: string, base: string): string | undefined {
  const n = mod.getNumFunctions();
  for (let i = 0; i < n; i++) {
    const info = binaryen.getFunctionInfo(mod.getFunctionByIndex(i));
    if (info.module === moduleName && info.base === base) return info.name;
  }
  return undefined;
}

function uniqueName(taken: (name: string) => boolean, base: string): string {
  let name = base;
  for (let i = 1; taken(name); i++) name = `${base}_${i}`;
  return name;
}

function hasExport(mod: binaryen.Module, name: string): boolean {
  const n = mod.getNumExports();
  for (let i = 0; i < n; i++) {
    if (binaryen.getExportInfo(mod.getExportByIndex(i)).name === name) return true;
  }
  return false;
}

function time<T>(steps: StepTiming[], step: string, fn: () => T): T {
  const t0 = performance.now();
  let r: T;
  try {
    r = fn();
  } catch (e) {
    throw binaryenFailure(step, e);
  }
  steps.push({ step, ms: performance.now() - t0 });
  return r;
}

/**
 * A failure inside Binaryen (an Emscripten abort, "Aborted(). Build with -sASSERTIONS…", or a stack
 * overflow) as an error naming the AOT step it happened in; NCW's own errors pass through unchanged.
 * After an abort this process' Binaryen is unusable: the kernel compiles in a child process per
 * program (off-thread.ts), so only that compile fails.
 */
export function binaryenFailure(step: string, e: unknown): unknown {
  if (e instanceof NcwError) return e;
  const text = e instanceof Error ? e.message : String(e);
  let why: string;
  if (/^Aborted\(/.test(text))
    why = "Binaryen aborted (an internal error, or it ran out of memory)";
  else if (e instanceof RangeError && /call stack/i.test(text))
    why = "Binaryen ran out of stack (the code nests too deeply for it)";
  else if (e instanceof WebAssembly.RuntimeError) why = `Binaryen crashed (${text})`;
  else return e;
  return new NcwError("failure", `the AOT step "${step}" failed: ${why}`, {
    code: "AOT_BINARYEN_FAILED",
    hint: "the program is valid WebAssembly but NCW's optimizer cannot process it; please report it with the program",
    cause: e,
  });
}

/**
 * Reads a module with Binaryen (CommonAssembly features only), or explains why it cannot.
 * Binaryen aborts the process on some malformed input, so callers validate first (aotCompile does).
 */
function readModule(wasm: Uint8Array): binaryen.Module {
  try {
    return (binaryen.readBinary as (data: Uint8Array, features?: number) => binaryen.Module)(
      wasm,
      CA_FEATURES,
    );
  } catch (e) {
    const failure = binaryenFailure("read", e);
    if (failure !== e) throw failure;
    throw new NcwError("data", `Binaryen cannot read the module: ${(e as Error).message}`, {
      code: "AOT_READ_FAILED",
      hint: "run `ncw ca validate` on the program to see what is wrong with it",
      cause: e,
    });
  }
}

/**
 * Instruments a (valid) WebAssembly module for NCW. The result imports `nightos.safepoint`, exports the
 * mutable i32 global `__nightos_ctl` (the control block's address), and polls the flag word there at
 * every function entry and loop header, calling safepoint() when it changed to a new non-zero value.
 * See docs/commonassembly-aot.md ("The poll") for the exact code and the contract with the runtime.
 */
export function instrument(wasm: Uint8Array, options: InstrumentOptions = {}): InstrumentResult {
  const steps: StepTiming[] = [];
  const polls = options.polls ?? "entry-and-loops";
  const optimizeLevel = options.optimizeLevel ?? DEFAULT_OPT_LEVEL;
  const before = time(steps, "read-limits", () => readMemoryLimits(wasm));
  if (before?.is64 === true) {
    throw new NcwError(
      "data",
      "the module uses a 64-bit memory (memory64), which CommonAssembly does not allow",
      {
        code: "AOT_MEMORY64",
      },
    );
  }
  // A module without memory (never an ABI program) gets a one-page memory for the poll word.
  const memoryAdded = before === undefined;
  const input = memoryAdded ? addMemorySection(wasm, 1, 1, true) : wasm;
  // Unguarded polls read memory 0 at __nightos_ctl (0 until the runtime sets it: the ABI 1.0 control block
  // is at address 0) from the first instruction on, even in a start function, so memory 0 must hold at
  // least a page from instantiation on. A module whose memory starts empty gets guarded polls, which skip
  // the load while __nightos_ctl is 0.
  const needsGuard = before !== undefined && before.initial === 0;
  const fast = tryRewriter(input, options, optimizeLevel, needsGuard, memoryAdded, steps);
  if ("wasm" in fast) return fast;
  const mod = time(steps, "read", () => readModule(input));
  try {
    const report: InstrumentReport = {
      functions: 0,
      entryPolls: 0,
      loopPolls: 0,
      elidedLoopPolls: 0,
      opaqueExpressions: 0,
      asyncify: false,
      memory: undefined,
      memoryMaxBumped: false,
      memoryAdded: false,
      guardedPolls: false,
      engine: "binaryen",
      ...(fast.reason === undefined ? {} : { engineReason: fast.reason }),
      forkGlobals: [],
      optimizeLevel,
    };
    time(steps, "instrument", () => {
      if (memoryAdded) mod.addMemoryExport("0", CTL_MEMORY_EXPORT);
      report.memoryAdded = memoryAdded;
      const globalTaken = (n: string): boolean => {
        try {
          return mod.getGlobal(n) !== 0;
        } catch {
          return false;
        }
      };
      if (hasExport(mod, CTL_GLOBAL)) {
        throw new NcwError(
          "data",
          `the module already exports "${CTL_GLOBAL}", a name reserved for the AOT step`,
          {
            code: "AOT_RESERVED_EXPORT",
          },
        );
      }
      const ctl = uniqueName(globalTaken, CTL_GLOBAL);
      mod.addGlobal(ctl, binaryen.i32, true, mod.i32.const(0));
      mod.addGlobalExport(ctl, CTL_GLOBAL);
      let safepoint = findImport(mod, ABI_IMPORT_MODULE, IMPORT_SAFEPOINT);
      if (safepoint === undefined) {
        const funcTaken = (n: string): boolean => {
          try {
            return mod.getFunction(n) !== 0;
          } catch {
            return false;
          }
        };
        safepoint = uniqueName(funcTaken, "__nightos_safepoint");
        mod.addFunctionImport(
          safepoint,
          ABI_IMPORT_MODULE,
          IMPORT_SAFEPOINT,
          binaryen.none,
          binaryen.none,
        );
      }
      const sp = safepoint;
      // The poll (docs/commonassembly-aot.md, "The poll"): the control-block address is read from the
      // global once per call into a local; the flag word is read with an atomic load.
      const guarded = needsGuard;
      report.guardedPolls = guarded;
      const shape: PollShape = guarded ? "cached" : (options.pollShape ?? DEFAULT_POLL_SHAPE);
      const constAddr = shape !== "cached";
      const useSeen = shape === "cached" || shape === "const-seen";
      let ctlLocal = -1;
      let seenLocal = -1;
      const addr = (): number =>
        constAddr ? mod.i32.const(0) : mod.local.get(ctlLocal, binaryen.i32);
      const flag = (): number =>
        shape === "const-plain" ? mod.i32.load(0, 4, addr()) : mod.i32.atomic.load(0, addr());
      const guard = (e: number, otherwise: number): number =>
        guarded ? mod.if(addr(), e, otherwise) : e;
      /** True when the flag word differs from what this frame last saw (guarded: and the address is set). */
      const cond = (): number =>
        useSeen
          ? guard(mod.i32.ne(flag(), mod.local.get(seenLocal, binaryen.i32)), mod.i32.const(0))
          : flag();
      /** Calls the safepoint, then records the flag word as seen (the handler normally clears it to 0). */
      const take = (): number =>
        useSeen
          ? mod.block(
              null,
              [mod.call(sp, [], binaryen.none), mod.local.set(seenLocal, flag())],
              binaryen.none,
            )
          : mod.call(sp, [], binaryen.none);
      const entryPoll = (): number =>
        useSeen
          ? guard(
              mod.block(
                null,
                [
                  mod.local.set(seenLocal, flag()),
                  mod.if(mod.local.get(seenLocal, binaryen.i32), take()),
                ],
                binaryen.none,
              ),
              mod.nop(),
            )
          : mod.if(flag(), take());
      const n = mod.getNumFunctions();
      const loops: number[] = [];
      for (let i = 0; i < n; i++) {
        const f = mod.getFunctionByIndex(i);
        const info = binaryen.getFunctionInfo(f);
        if (info.module !== null && info.module !== "") continue; // imported
        report.functions++;
        if (polls === "none") continue;
        loops.length = 0;
        if (!constAddr) ctlLocal = addVar(f, binaryen.i32);
        if (useSeen) seenLocal = addVar(f, binaryen.i32);
        // table.fill/copy/init operands are out of binaryen.js's reach (no accessors); a loop nested
        // inside one of them gets no header poll (the function entry poll remains). Counted in the report.
        report.opaqueExpressions += collectLoops(info.body, loops);
        for (const loop of loops) {
          if (alwaysCallsPollingFunction(mod, loop)) {
            report.elidedLoopPolls++;
            continue;
          }
          outlineLoopPoll(mod, loop, report.loopPolls, cond(), take());
          report.loopPolls++;
        }
        const entry = [
          ...(constAddr ? [] : [mod.local.set(ctlLocal, mod.global.get(ctl, binaryen.i32))]),
          entryPoll(),
          info.body,
        ];
        h("Function", "setBody")(f, mod.block(null, entry, binaryen.getExpressionType(info.body)));
        report.entryPolls++;
      }
    });

    const fork = findImport(mod, ABI_IMPORT_MODULE, IMPORT_SYSCALL_FORK);
    if (fork !== undefined) {
      time(steps, "asyncify", () => {
        // The child of a fork needs the parent's globals too (e.g. clang's __stack_pointer): export them.
        const ng = mod.getNumGlobals();
        for (let i = 0; i < ng; i++) {
          const g = binaryen.getGlobalInfo(mod.getGlobalByIndex(i));
          if (
            !g.mutable ||
            g.name === ctlInternalName(mod) ||
            (g.module !== null && g.module !== "")
          )
            continue;
          const exportName = `${FORK_GLOBAL_EXPORT_PREFIX}${report.forkGlobals.length}`;
          mod.addGlobalExport(g.name, exportName);
          report.forkGlobals.push(g.name);
        }
        // Asyncify's own clean-up of the code it generates needs an optimize level of at least 1.
        binaryen.setOptimizeLevel(Math.max(1, optimizeLevel));
        binaryen.setShrinkLevel(options.shrinkLevel ?? 0);
        binaryen.setPassArgument("asyncify-imports", `${ABI_IMPORT_MODULE}.${IMPORT_SYSCALL_FORK}`);
        try {
          mod.runPasses(["asyncify"]);
        } finally {
          binaryen.setPassArgument("asyncify-imports", null);
        }
        report.asyncify = true;
      });
    }
    if (optimizeLevel > 0) {
      time(steps, "optimize", () => {
        binaryen.setOptimizeLevel(optimizeLevel);
        binaryen.setShrinkLevel(options.shrinkLevel ?? 0);
        // Function-level passes only: Binaryen's module-level passes remove unused imports, which would
        // change what instantiation checks (a missing import must still fail to link).
        const nf = mod.getNumFunctions();
        for (let i = 0; i < nf; i++) {
          const f = mod.getFunctionByIndex(i);
          const fi = binaryen.getFunctionInfo(f);
          if (fi.module === null || fi.module === "") mod.optimizeFunction(f);
        }
      });
    }
    // The name section is kept (Binaryen writes it only with debug info on): a trap's backtrace names
    // the artifact's functions (kernel-compat/runner/faults.ts, docs/kernel.md "Backtraces").
    const out = time(steps, "emit", () => {
      const debug = binaryen.getDebugInfo();
      binaryen.setDebugInfo(true);
      try {
        return mod.emitBinary();
      } finally {
        binaryen.setDebugInfo(debug);
      }
    });
    return { wasm: reserve(out, options, report, steps), report, steps };
  } finally {
    mod.dispose();
  }
}

/** Expression kinds that evaluate every operand (unnamed blocks: every child) before completing. */
const EAGER: ReadonlySet<number> = new Set([
  b.BlockId,
  b.CallId,
  b.CallIndirectId,
  b.DropId,
  b.LocalSetId,
  b.GlobalSetId,
  b.LoadId,
  b.StoreId,
  b.UnaryId,
  b.BinaryId,
  b.SelectId,
]);

const exprName = (e: number): string | null =>
  (binaryen.getExpressionInfo(e) as unknown as { name?: string | null }).name ?? null;

/** True when `root` contains a branch (br, br_if, br_table) to the label `label`. */
function branchesTo(root: number, label: string): boolean {
  const stack: number[] = [root];
  const kids: number[] = [];
  while (stack.length > 0) {
    const e = stack.pop() as number;
    const id = binaryen.getExpressionId(e);
    if (id === b.BreakId && exprName(e) === label) return true;
    if (id === b.SwitchId) {
      const info = binaryen.getExpressionInfo(e) as unknown as {
        names: string[];
        defaultName: string;
      };
      if (info.defaultName === label || info.names.includes(label)) return true;
    }
    const of = CHILDREN.get(id);
    if (of === undefined) {
      if (OPAQUE.has(id)) continue; // table.fill/copy/init operands: treated by the caller
      return true; // unknown: assume the worst
    }
    kids.length = 0;
    of(e, kids);
    for (const k of kids) stack.push(k);
  }
  return false;
}

/** True when `root` holds a table.fill/copy/init whose operands cannot be searched. */
function hasOpaque(root: number): boolean {
  const stack: number[] = [root];
  const kids: number[] = [];
  while (stack.length > 0) {
    const e = stack.pop() as number;
    const id = binaryen.getExpressionId(e);
    if (OPAQUE.has(id)) return true;
    const of = CHILDREN.get(id);
    if (of === undefined) return true;
    kids.length = 0;
    of(e, kids);
    for (const k of kids) stack.push(k);
  }
  return false;
}

/**
 * Elision rule (docs/commonassembly-aot.md, "Elided loop polls"): a loop needs no header poll when every
 * path from its header back to its header runs a direct call to a function defined in the module (which
 * polls at its entry). Checked conservatively on the loop body's statement sequence (unnamed blocks
 * flattened): some statement is such a call (bare, or the value of drop / local.set / local.tee /
 * global.set), and nothing before it, nor its operands, can branch back to the loop's label.
 */
function alwaysCallsPollingFunction(mod: binaryen.Module, loop: number): boolean {
  const label = exprName(loop);
  const seq: number[] = [];
  const flatten = (e: number): void => {
    if (binaryen.getExpressionId(e) === b.BlockId && !exprName(e)) {
      const n = (g("Block", "getNumChildren") as (x: number) => number)(e);
      for (let i = 0; i < n; i++) flatten((g("Block", "getChildAt") as Accessor)(e, i));
    } else seq.push(e);
  };
  flatten(h("Loop", "getBody")(loop));
  const isDefined = (call: number): boolean => {
    const target = (binaryen.getExpressionInfo(call) as unknown as { target: string }).target;
    const info = binaryen.getFunctionInfo(mod.getFunction(target));
    return info.module === null || info.module === "";
  };
  // Descends only through expressions that evaluate all their operands (and unnamed blocks), so a call
  // found this way runs unless something branches out first; the only branch that stays in the loop is
  // one to its own label, excluded below. Named blocks, ifs and loops are not entered.
  const kids: number[] = [];
  const definedCall = (root: number): boolean => {
    const stack: number[] = [root];
    while (stack.length > 0) {
      const e = stack.pop() as number;
      const id = binaryen.getExpressionId(e);
      if (id === b.CallId && isDefined(e)) return true;
      if (id === b.BlockId && exprName(e)) continue;
      if (!EAGER.has(id)) continue;
      const of = CHILDREN.get(id);
      if (of === undefined) continue;
      kids.length = 0;
      of(e, kids);
      for (const k of kids) stack.push(k);
    }
    return false;
  };
  for (const e of seq) {
    if (hasOpaque(e)) return false;
    if (label !== null && branchesTo(e, label)) return false;
    if (definedCall(e)) return true;
  }
  return false;
}

/** Raises the memory maximum by a page when asked and possible (see InstrumentOptions.reserveControlPage). */
function reserve(
  out: Uint8Array,
  options: InstrumentOptions,
  report: InstrumentReport,
  steps: StepTiming[],
): Uint8Array {
  const limits = readMemoryLimits(out);
  if (
    (options.reserveControlPage ?? true) &&
    limits !== undefined &&
    !limits.imported &&
    limits.max !== undefined &&
    limits.max < WASM32_MAX_PAGES &&
    !report.memoryAdded
  ) {
    const final = time(steps, "memory-max", () => bumpMemoryMaximum(out));
    report.memoryMaxBumped = true;
    report.memory = readMemoryLimits(final);
    return final;
  }
  report.memory = limits;
  return out;
}

/** The fast path (commonassembly/wasm/polls.ts), or why it does not apply. */
function tryRewriter(
  wasm: Uint8Array,
  options: InstrumentOptions,
  optimizeLevel: number,
  needsGuard: boolean,
  memoryAdded: boolean,
  steps: StepTiming[],
): InstrumentResult | { reason: string | undefined } {
  if (options.engine === "binaryen") return { reason: undefined };
  if (optimizeLevel > 0) return { reason: "optimization needs Binaryen" };
  if ((options.pollShape ?? DEFAULT_POLL_SHAPE) !== DEFAULT_POLL_SHAPE)
    return { reason: "non-default poll shape" };
  if (needsGuard) return { reason: "guarded polls (memory starts empty)" };
  const info = time(steps, "read", () => readWasm(wasm));
  if (info.imports.some((i) => i.module === ABI_IMPORT_MODULE && i.name === IMPORT_SYSCALL_FORK))
    return { reason: "Asyncify (syscall_fork) needs Binaryen" };
  try {
    const r = time(steps, "instrument", () =>
      rewritePolls(
        wasm,
        {
          polls: (options.polls ?? "entry-and-loops") !== "none",
          ...(memoryAdded ? { exportMemory: CTL_MEMORY_EXPORT } : {}),
        },
        info,
      ),
    );
    const report: InstrumentReport = {
      functions: r.functions,
      entryPolls: r.entryPolls,
      loopPolls: r.loopPolls,
      elidedLoopPolls: r.elidedLoopPolls,
      opaqueExpressions: 0,
      asyncify: false,
      memory: undefined,
      memoryMaxBumped: false,
      memoryAdded,
      guardedPolls: false,
      engine: "rewriter",
      forkGlobals: [],
      optimizeLevel,
    };
    const final = reserve(r.wasm, options, report, steps);
    return { wasm: final, report, steps };
  } catch (e) {
    if (e instanceof PollRewriteUnsupported) return { reason: e.message };
    throw e;
  }
}

/**
 * Turns `(loop $L body)` into a poll whose slow path is outside the loop, so the hot loop holds no call:
 *   (loop $re (block $done (block $take (br $done (loop $L (br_if $take COND) body))) (call $sp) (br $re)))
 * The original Loop node becomes the outer `$re` loop; branches to $L still reach the (new) inner loop's
 * header, which polls. After the safepoint the loop is re-entered at its header: no iteration is lost or
 * repeated, since the poll comes before the body.
 */
function outlineLoopPoll(
  mod: binaryen.Module,
  loop: number,
  k: number,
  cond: number,
  take: number,
): void {
  const body = h("Loop", "getBody")(loop);
  const name = binaryen.getExpressionInfo(loop) as unknown as { name: string };
  const type = binaryen.getExpressionType(loop);
  const re = `__nightos_re${k}`;
  const takeLabel = `__nightos_take${k}`;
  const done = `__nightos_done${k}`;
  const inner = mod.loop(
    name.name,
    mod.block(null, [mod.br_if(takeLabel, cond), body], binaryen.getExpressionType(body)),
  );
  const exit =
    type === binaryen.none
      ? mod.block(null, [inner, mod.br(done)], binaryen.unreachable)
      : type === binaryen.unreachable
        ? inner
        : mod.br(done, 0, inner);
  const slow = mod.block(
    done,
    [mod.block(takeLabel, [exit], binaryen.none), take, mod.br(re)],
    type,
  );
  setLoopName(loop, re);
  h("Loop", "setBody")(loop, slow);
}

/** The internal name of the control global (it is the one exported as CTL_GLOBAL). */
function ctlInternalName(mod: binaryen.Module): string | undefined {
  const n = mod.getNumExports();
  for (let i = 0; i < n; i++) {
    const e = binaryen.getExportInfo(mod.getExportByIndex(i));
    if (e.name === CTL_GLOBAL) return e.value;
  }
  return undefined;
}
