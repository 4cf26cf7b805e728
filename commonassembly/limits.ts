// The engine's limits a CommonAssembly program must stay within (docs/commonassembly.md, "Engine
// limits"): V8's WebAssembly implementation limits, less the room the AOT step needs for what it adds,
// and the bounds an active data segment must fit at instantiation. Checked by validate.ts.

import { ABI_IMPORT_MODULE, EXPORT_TABLE, IMPORT_SYSCALL_FORK } from "./abi/wasm-names.js";
import { ModuleError } from "./errors.js";
import { WasmCursor } from "./wasm/cursor.js";
import { skipImmediates } from "./wasm/instructions.js";
import type { WasmModuleInfo } from "./wasm/reader.js";

/** V8's limits (src/wasm/wasm-limits.h), the engine NCW runs programs on. */
export const V8_LIMITS = {
  types: 1_000_000,
  functions: 1_000_000,
  imports: 100_000,
  exports: 100_000,
  globals: 1_000_000,
  dataSegments: 100_000,
  /** Params plus declared locals of one function. */
  locals: 50_000,
  params: 1_000,
  results: 1_000,
  functionSize: 7_654_321,
  tables: 100_000,
  tableSize: 10_000_000,
} as const;

/**
 * What the AOT step may add (docs/commonassembly-aot.md): the `nightos.safepoint` import and its type,
 * the `__nightos_ctl` global and export, a memory export; locals for the poll (one, two on the Binaryen
 * path) and Asyncify's temporaries; Asyncify's globals and exported helpers; and, for a module that can
 * fork, one export per mutable global (counted separately).
 */
export const AOT_RESERVE = {
  types: 1,
  functions: 8,
  imports: 1,
  exports: 8,
  globals: 4,
  locals: 16,
} as const;

export const LimitRule = {
  TYPES: "LIMIT_TYPES",
  FUNCTIONS: "LIMIT_FUNCTIONS",
  IMPORTS: "LIMIT_IMPORTS",
  EXPORTS: "LIMIT_EXPORTS",
  GLOBALS: "LIMIT_GLOBALS",
  DATA_SEGMENTS: "LIMIT_DATA_SEGMENTS",
  LOCALS: "LIMIT_LOCALS",
  PARAMS: "LIMIT_PARAMS",
  RESULTS: "LIMIT_RESULTS",
  FUNCTION_SIZE: "LIMIT_FUNCTION_SIZE",
  TABLES: "LIMIT_TABLES",
  TABLE_SIZE: "LIMIT_TABLE_SIZE",
  DATA_BOUNDS: "LIMIT_DATA_BOUNDS",
  ELEM_BOUNDS: "LIMIT_ELEM_BOUNDS",
  NESTING: "LIMIT_NESTING",
} as const;

/**
 * How deep blocks, loops and ifs may nest in a program that imports `syscall_fork`: its AOT step runs
 * Binaryen (Asyncify), which recurses once per level and wraps each polled loop in three more; 1,500
 * nested loops already overflow its stack (measured), 1,000 do not. Programs without fork take the
 * rewriter, which has no such limit.
 */
export const BINARYEN_MAX_NESTING = 1_000;

const PAGE = 65_536;
const n = (x: number): string => x.toLocaleString("en-US");

/** Checks the engine limits; pushes one ModuleError per limit exceeded (the message names it). */
export function checkLimits(
  bytes: Uint8Array,
  info: WasmModuleInfo,
  problems: ModuleError[],
): void {
  const count = (
    rule: string,
    what: string,
    have: number,
    engine: number,
    reserve: number,
    offset?: number,
  ) => {
    const allowed = engine - reserve;
    if (have <= allowed) return;
    problems.push(
      new ModuleError(
        rule,
        `the module has ${n(have)} ${what}; the engine (V8) allows ${n(engine)}` +
          (reserve > 0
            ? ` and the AOT step adds up to ${n(reserve)}, so a program may have at most ${n(allowed)}`
            : ""),
        offset === undefined ? {} : { offset },
      ),
    );
  };
  const section = (id: number) => info.sections.find((s) => s.id === id)?.offset;
  count(
    LimitRule.TYPES,
    "types",
    info.types.length,
    V8_LIMITS.types,
    AOT_RESERVE.types,
    section(1),
  );
  count(
    LimitRule.FUNCTIONS,
    "defined functions",
    info.functions.length,
    V8_LIMITS.functions,
    AOT_RESERVE.functions,
    section(3),
  );
  count(
    LimitRule.IMPORTS,
    "imports",
    info.imports.length,
    V8_LIMITS.imports,
    AOT_RESERVE.imports,
    section(2),
  );
  const canFork = info.imports.some(
    (i) => i.module === ABI_IMPORT_MODULE && i.name === IMPORT_SYSCALL_FORK,
  );
  const forkExports = canFork ? info.globals.filter((g) => g.mutable).length : 0;
  count(
    LimitRule.EXPORTS,
    canFork ? "exports (counting one per mutable global, exported for fork)" : "exports",
    info.exports.length + forkExports,
    V8_LIMITS.exports,
    AOT_RESERVE.exports,
    section(7),
  );
  count(
    LimitRule.GLOBALS,
    "globals",
    info.importedGlobals + info.globals.length,
    V8_LIMITS.globals,
    AOT_RESERVE.globals,
    section(6),
  );
  count(
    LimitRule.DATA_SEGMENTS,
    "data segments",
    info.dataSegments.length,
    V8_LIMITS.dataSegments,
    0,
    section(11),
  );
  count(
    LimitRule.TABLES,
    "tables",
    info.importedTables + info.tables.length,
    V8_LIMITS.tables,
    0,
    section(4),
  );

  info.types.forEach((t, i) => {
    if (t.params.length > V8_LIMITS.params)
      problems.push(
        new ModuleError(
          LimitRule.PARAMS,
          `type ${i} has ${n(t.params.length)} parameters; the engine (V8) allows ${n(V8_LIMITS.params)}`,
          { offset: section(1) },
        ),
      );
    if (t.results.length > V8_LIMITS.results)
      problems.push(
        new ModuleError(
          LimitRule.RESULTS,
          `type ${i} has ${n(t.results.length)} results; the engine (V8) allows ${n(V8_LIMITS.results)}`,
          { offset: section(1) },
        ),
      );
  });

  const tables = [
    ...info.imports.flatMap((i) => (i.kind === "table" ? [i.table] : [])),
    ...info.tables,
  ];
  // The exported table's size is an ABI rule (ABI_TABLE_TYPE, a stricter bound).
  const abiTable = info.exports.find((e) => e.name === EXPORT_TABLE && e.kind === "table")?.index;
  tables.forEach((t, i) => {
    if (i !== abiTable && t.min > V8_LIMITS.tableSize)
      problems.push(
        new ModuleError(
          LimitRule.TABLE_SIZE,
          `table ${i} starts with ${n(t.min)} entries; the engine (V8) allows ${n(V8_LIMITS.tableSize)}`,
          { offset: section(4) },
        ),
      );
  });
  const memory = [
    ...info.imports.flatMap((i) => (i.kind === "memory" ? [i.memory] : [])),
    ...info.memories,
  ][0];
  checkBodies(bytes, info, problems);
  if (canFork) checkNesting(bytes, info, problems);
  checkElements(bytes, info, tables, problems);

  // An active segment is written at instantiation: it must fit in the memory's initial size, or the
  // program can never start ("data segment is out of bounds").
  info.dataSegments.forEach((seg, i) => {
    if (!seg.active || seg.address === undefined) return;
    const size = (memory?.min ?? 0) * PAGE;
    const end = seg.address + seg.size;
    if (end > size)
      problems.push(
        new ModuleError(
          LimitRule.DATA_BOUNDS,
          `active data segment ${i} writes [${n(seg.address)}, ${n(end)}) but the initial memory is ${n(
            memory?.min ?? 0,
          )} page(s), ${n(size)} bytes: the program could never be instantiated`,
          { offset: seg.offset },
          "raise the memory's initial size, or place the data lower",
        ),
      );
  });
}

/** Per function: body size, and params plus declared locals. */
function checkBodies(bytes: Uint8Array, info: WasmModuleInfo, problems: ModuleError[]): void {
  const fail = (message: string, offset: number): never => {
    throw new ModuleError("WASM_MALFORMED", message, { offset });
  };
  const maxLocals = V8_LIMITS.locals - AOT_RESERVE.locals;
  info.codeBodies.forEach((body, i) => {
    const funcIndex = info.importedFuncs + i;
    const funcName = info.functionNames.get(funcIndex);
    const where = {
      offset: body.offset,
      funcIndex,
      ...(funcName === undefined ? {} : { funcName }),
    };
    const label = `function ${funcIndex}${funcName === undefined ? "" : ` (${funcName})`}`;
    if (body.size > V8_LIMITS.functionSize)
      problems.push(
        new ModuleError(
          LimitRule.FUNCTION_SIZE,
          `${label}'s body is ${n(body.size)} bytes; the engine (V8) allows ${n(V8_LIMITS.functionSize)}`,
          where,
        ),
      );
    const type = info.types[info.functions[i] as number];
    const c = new WasmCursor(bytes, body.bodyOffset, body.bodyOffset + body.size, fail);
    let locals = type?.params.length ?? 0;
    for (let g = c.u32("local declaration count"); g > 0; g--) {
      locals += c.u32("local count");
      c.byte("local type");
      if (locals > V8_LIMITS.locals) break; // no need to read on (and the sum stays small)
    }
    if (locals > maxLocals)
      problems.push(
        new ModuleError(
          LimitRule.LOCALS,
          `${label} has ${locals > V8_LIMITS.locals ? "more than " : ""}${n(Math.min(locals, V8_LIMITS.locals))} locals (parameters included); the engine (V8) allows ${n(V8_LIMITS.locals)} and the AOT step adds up to ${AOT_RESERVE.locals}, so a program may have at most ${n(maxLocals)}`,
          where,
        ),
      );
  });
}

/** For a fork-capable program: the deepest nesting of blocks, loops and ifs per function. */
function checkNesting(bytes: Uint8Array, info: WasmModuleInfo, problems: ModuleError[]): void {
  // Malformed or unknown code is validation's to report (WASM_INVALID); here it just ends the walk.
  const stop = (): never => {
    throw stopWalk;
  };
  info.codeBodies.forEach((body, i) => {
    const c = new WasmCursor(bytes, body.bodyOffset, body.bodyOffset + body.size, stop);
    let depth = 0;
    let deepest = 0;
    try {
      for (let g = c.u32(); g > 0; g--) {
        c.u32();
        c.byte();
      }
      while (c.pos < c.end) {
        const op = c.byte();
        if (op === 0x02 || op === 0x03 || op === 0x04) deepest = Math.max(deepest, ++depth);
        else if (op === 0x0b) depth--;
        skipImmediates(c, op);
      }
    } catch (e) {
      if (e !== stopWalk) throw e;
    }
    if (deepest <= BINARYEN_MAX_NESTING) return;
    const funcIndex = info.importedFuncs + i;
    const funcName = info.functionNames.get(funcIndex);
    problems.push(
      new ModuleError(
        LimitRule.NESTING,
        `function ${funcIndex}${funcName === undefined ? "" : ` (${funcName})`} nests blocks, loops and ifs ${n(deepest)} deep; a program that imports syscall_fork goes through Binaryen, which allows ${n(BINARYEN_MAX_NESTING)}`,
        { offset: body.offset, funcIndex, ...(funcName === undefined ? {} : { funcName }) },
        "flatten the code, or do without syscall_fork (programs without it have no nesting limit)",
      ),
    );
  });
}
const stopWalk = new Error("stop");

/**
 * Active element segments at an `i32.const` offset must fit in their table's initial size, or the
 * program can never be instantiated ("table initializer is out of bounds"). The element section is
 * read here (the reader skips it); anything malformed is validation's to report.
 */
function checkElements(
  bytes: Uint8Array,
  info: WasmModuleInfo,
  tables: readonly { min: number }[],
  problems: ModuleError[],
): void {
  const sec = info.sections.find((x) => x.id === 9);
  if (sec === undefined) return;
  const stop = (): never => {
    throw stopWalk;
  };
  const c = new WasmCursor(bytes, sec.contentOffset, sec.contentOffset + sec.size, stop);
  /** Skips a constant expression; returns its value when it is exactly `i32.const N`. */
  const expr = (): number | undefined => {
    const first = c.pos;
    let value: number | undefined;
    for (;;) {
      const op = c.byte();
      if (op === 0x0b) return value;
      if (op === 0x41 && c.pos === first + 1) {
        value = c.s32() >>> 0;
        continue;
      }
      value = undefined;
      skipImmediates(c, op);
    }
  };
  try {
    for (let i = 0, count = c.u32(); i < count; i++) {
      const at = c.pos;
      const flags = c.u32();
      const active = (flags & 1) === 0;
      const table = (flags & 2) !== 0 && active ? c.u32() : 0;
      const offset = active ? expr() : undefined;
      if ((flags & 3) !== 0) c.byte(); // elemkind or reftype
      const entries = c.u32();
      for (let j = 0; j < entries; j++) {
        if ((flags & 4) !== 0) expr();
        else c.u32();
      }
      const size = tables[table]?.min;
      if (!active || offset === undefined || size === undefined || offset + entries <= size)
        continue;
      problems.push(
        new ModuleError(
          LimitRule.ELEM_BOUNDS,
          `active element segment ${i} fills table ${table} entries [${n(offset)}, ${n(offset + entries)}) but the table starts with ${n(size)}: the program could never be instantiated`,
          { offset: at },
          "raise the table's initial size, or place the elements lower",
        ),
      );
    }
  } catch (e) {
    if (e !== stopWalk) throw e;
  }
}
