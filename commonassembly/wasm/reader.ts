// A small strict reader for the WebAssembly binary format (core 2.0 + threads): the module's
// structure — sections, types, imports, functions, tables, memories, globals, exports, start,
// code-body offsets. Instruction bodies are not decoded (full validation is validate.ts' job).

import type { FuncSig, ValType } from "../abi/wasm-names.js";
import { hex, ModuleError } from "../errors.js";
import { WasmCursor } from "./cursor.js";

export const WASM_MAGIC = [0x00, 0x61, 0x73, 0x6d] as const;
export const WASM_VERSION = 1;

/** Section ids of the core binary format, in the order they must appear (custom sections anywhere). */
export const SectionId = {
  custom: 0,
  type: 1,
  import: 2,
  function: 3,
  table: 4,
  memory: 5,
  global: 6,
  export: 7,
  start: 8,
  element: 9,
  code: 10,
  data: 11,
  dataCount: 12,
  /** Exception handling's tag section: ordered here, refused by the reader (out of scope). */
  tag: 13,
} as const;
const SECTION_NAMES = [
  "custom",
  "type",
  "import",
  "function",
  "table",
  "memory",
  "global",
  "export",
  "start",
  "element",
  "code",
  "data",
  "data count",
  "tag",
];
/**
 * Position of each known section id in the required order: data count (12) comes before code (10),
 * tag (13) between memory and global. Custom sections (0) may appear anywhere. The one table for the
 * reader and for the rewriters that insert sections (wasm/polls.ts, aot/wasm-sections.ts).
 */
export const SECTION_ORDER: Readonly<Record<number, number>> = {
  1: 1,
  2: 2,
  3: 3,
  4: 4,
  5: 5,
  13: 5.5,
  6: 6,
  7: 7,
  8: 8,
  9: 9,
  12: 9.5,
  10: 10,
  11: 11,
};

export type ExternKind = "func" | "table" | "memory" | "global";
const EXTERN_KINDS: readonly ExternKind[] = ["func", "table", "memory", "global"];

export interface Section {
  id: number;
  /** "type", "import", … or the custom section's own name. */
  name: string;
  /** Offset of the section id byte. */
  offset: number;
  /** Offset of the section's content (after id and size). */
  contentOffset: number;
  size: number;
}

export interface Limits {
  min: number;
  max: number | undefined;
}
export interface MemoryType extends Limits {
  shared: boolean;
}
export interface TableType extends Limits {
  elemType: ValType;
}
export interface GlobalType {
  valType: ValType;
  mutable: boolean;
}

export type ImportDesc =
  | { kind: "func"; typeIndex: number }
  | { kind: "table"; table: TableType }
  | { kind: "memory"; memory: MemoryType }
  | { kind: "global"; global: GlobalType };

export type Import = { module: string; name: string; offset: number } & ImportDesc;

export interface Export {
  name: string;
  kind: ExternKind;
  index: number;
  offset: number;
}

export interface CodeBody {
  /** Offset of the body's size field. */
  offset: number;
  /** Offset of the body's first byte (locals), and its length. */
  bodyOffset: number;
  size: number;
}

export interface DataSegment {
  /** Offset of the segment in the module. */
  offset: number;
  active: boolean;
  /** For active segments whose offset is an `i32.const`: the address it is written to. */
  address: number | undefined;
  size: number;
}

export interface WasmModuleInfo {
  byteLength: number;
  sections: Section[];
  types: FuncSig[];
  imports: Import[];
  /** Type index of each function defined in the module (not imported). */
  functions: number[];
  /** Offset of each entry in the function section, parallel to `functions`. */
  functionOffsets: number[];
  tables: TableType[];
  memories: MemoryType[];
  globals: GlobalType[];
  exports: Export[];
  start: number | undefined;
  codeBodies: CodeBody[];
  dataCount: number | undefined;
  dataSegments: DataSegment[];
  /** Function names from the "name" custom section, if it has a valid function-names subsection. */
  functionNames: Map<number, string>;
  /** Counts of imported entities (they come first in each index space). */
  importedFuncs: number;
  importedTables: number;
  importedMemories: number;
  importedGlobals: number;
}

const VALTYPES: Record<number, ValType> = {
  127: "i32",
  126: "i64",
  125: "f32",
  124: "f64",
  123: "v128",
  112: "funcref",
  111: "externref",
};

const malformed = (message: string, offset: number): never => {
  throw new ModuleError("WASM_MALFORMED", message, { offset });
};

/** The shared cursor (cursor.ts) with the module-level types; every failure is WASM_MALFORMED. */
class Cursor extends WasmCursor {
  constructor(bytes: Uint8Array, start: number, end: number) {
    super(bytes, start, end, malformed);
  }

  valType(what: string): ValType {
    const at = this.pos;
    const b = this.byte(what);
    const t = VALTYPES[b];
    if (t === undefined) this.fail(`${what}: unknown value type ${hex(b)}`, at);
    return t;
  }

  refType(what: string): ValType {
    const at = this.pos;
    const t = this.valType(what);
    if (t !== "funcref" && t !== "externref")
      this.fail(`${what}: ${t} is not a reference type`, at);
    return t;
  }

  limits(what: string, allowShared: boolean): MemoryType {
    const at = this.pos;
    const flags = this.byte(`${what} limits`);
    if (flags > 3 || (!allowShared && flags > 1)) {
      if (flags >= 4 && flags <= 7 && allowShared)
        this.fail(`${what}: 64-bit memories (memory64) are not part of CommonAssembly`, at);
      this.fail(`${what}: invalid limits flags ${hex(flags)}`, at);
    }
    const min = this.u32(`${what} minimum`);
    const max = flags & 1 ? this.u32(`${what} maximum`) : undefined;
    const shared = (flags & 2) !== 0;
    if (shared && max === undefined)
      this.fail(`${what}: a shared memory must declare a maximum`, at);
    return { min, max, shared };
  }

  globalType(what: string): GlobalType {
    const valType = this.valType(what);
    const at = this.pos;
    const m = this.byte(`${what} mutability`);
    if (m > 1) this.fail(`${what}: invalid mutability ${hex(m)}`, at);
    return { valType, mutable: m === 1 };
  }

  /** Skips a constant expression (core 2.0 constant instructions) up to and including `end`. */
  constExpr(what: string): void {
    for (;;) {
      const at = this.pos;
      const op = this.byte(what);
      switch (op) {
        case 0x0b:
          return;
        case 0x41:
          this.sleb(32, what);
          break;
        case 0x42:
          this.sleb(64, what);
          break;
        case 0x43:
          this.skip(4, what);
          break;
        case 0x44:
          this.skip(8, what);
          break;
        case 0x23:
        case 0xd2:
          this.u32(what);
          break;
        case 0xd0:
          this.refType(what);
          break;
        case 0xfd: {
          const sub = this.u32(what);
          if (sub !== 12) this.fail(`${what}: instruction 0xfd ${sub} is not constant`, at);
          this.skip(16, what);
          break;
        }
        default:
          this.fail(`${what}: opcode ${hex(op)} is not allowed in a constant expression`, at);
      }
    }
  }
}

/** Reads the structure of a WebAssembly binary, strictly; throws ModuleError (WASM_MALFORMED). */
export function readModule(bytes: Uint8Array): WasmModuleInfo {
  const info: WasmModuleInfo = {
    byteLength: bytes.length,
    sections: [],
    types: [],
    imports: [],
    functions: [],
    functionOffsets: [],
    tables: [],
    memories: [],
    globals: [],
    exports: [],
    start: undefined,
    codeBodies: [],
    dataCount: undefined,
    dataSegments: [],
    functionNames: new Map(),
    importedFuncs: 0,
    importedTables: 0,
    importedMemories: 0,
    importedGlobals: 0,
  };
  const c: Cursor = new Cursor(bytes, 0, bytes.length);
  if (bytes.length < 8) c.fail("not a WebAssembly module: shorter than its 8-byte preamble", 0);
  for (let i = 0; i < 4; i++) {
    if (bytes[i] !== WASM_MAGIC[i])
      c.fail("not a WebAssembly module: the magic number \\0asm is missing", 0);
  }
  const version = bytes[4]! | (bytes[5]! << 8) | (bytes[6]! << 16) | (bytes[7]! << 24);
  if (version !== WASM_VERSION)
    c.fail(`unsupported WebAssembly binary version ${version} (expected 1)`, 4);
  c.pos = 8;

  let lastOrder = 0;
  let sawCode = false;
  while (c.pos < bytes.length) {
    const offset = c.pos;
    const id = c.byte("section id");
    const size = c.u32("section size");
    const contentOffset = c.pos;
    if (size > bytes.length - contentOffset)
      c.fail(`${SECTION_NAMES[id] ?? "unknown"} section runs past the end of the module`, offset);
    const s: Cursor = new Cursor(bytes, contentOffset, contentOffset + size);
    let name = SECTION_NAMES[id] ?? "";
    if (id === SectionId.custom) {
      name = s.name("custom section name");
      if (name === "name") info.functionNames = readFunctionNames(s);
    } else {
      const order = SECTION_ORDER[id];
      if (order === undefined) c.fail(`unknown section id ${id}`, offset);
      if (id === SectionId.tag)
        c.fail("tag section (exception handling) is not supported by CommonAssembly 1.0", offset);
      if (order <= lastOrder) c.fail(`${name} section is out of order or appears twice`, offset);
      lastOrder = order;
      readSection(id, s, info);
      if (s.pos !== s.end)
        s.fail(`${name} section has ${s.end - s.pos} bytes left over after its contents`);
      if (id === SectionId.code) sawCode = true;
    }
    info.sections.push({ id, name, offset, contentOffset, size });
    c.pos = contentOffset + size;
  }
  if (info.functions.length > 0 && !sawCode)
    c.fail(
      `function section declares ${info.functions.length} functions but there is no code section`,
      bytes.length,
    );
  return info;
}

function readSection(id: number, s: Cursor, info: WasmModuleInfo): void {
  switch (id) {
    case SectionId.type: {
      const n = s.u32("type count");
      for (let i = 0; i < n; i++) {
        const at = s.pos;
        const form = s.byte("type");
        if (form !== 0x60)
          s.fail(`type ${i}: expected a function type (0x60), found ${hex(form)}`, at);
        const params: ValType[] = [];
        const results: ValType[] = [];
        for (let k = s.u32("param count"); k > 0; k--) params.push(s.valType("param type"));
        for (let k = s.u32("result count"); k > 0; k--) results.push(s.valType("result type"));
        info.types.push({ params, results });
      }
      return;
    }
    case SectionId.import: {
      const n = s.u32("import count");
      for (let i = 0; i < n; i++) {
        const offset = s.pos;
        const module = s.name("import module name");
        const name = s.name("import name");
        const kindAt = s.pos;
        const kind = s.byte("import kind");
        switch (kind) {
          case 0: {
            const typeIndex = s.u32("import type index");
            if (typeIndex >= info.types.length)
              s.fail(`import ${module}.${name}: type index ${typeIndex} out of range`, kindAt);
            info.imports.push({ module, name, offset, kind: "func", typeIndex });
            info.importedFuncs++;
            break;
          }
          case 1: {
            const elemType = s.refType("import table type");
            const l = s.limits("imported table", false);
            info.imports.push({
              module,
              name,
              offset,
              kind: "table",
              table: { elemType, min: l.min, max: l.max },
            });
            info.importedTables++;
            break;
          }
          case 2:
            info.imports.push({
              module,
              name,
              offset,
              kind: "memory",
              memory: s.limits("imported memory", true),
            });
            info.importedMemories++;
            break;
          case 3:
            info.imports.push({
              module,
              name,
              offset,
              kind: "global",
              global: s.globalType("import"),
            });
            info.importedGlobals++;
            break;
          default:
            s.fail(
              kind === 4
                ? `import ${module}.${name}: tags (exception handling) are not part of CommonAssembly`
                : `import ${module}.${name}: unknown import kind ${hex(kind)}`,
              kindAt,
            );
        }
      }
      return;
    }
    case SectionId.function: {
      const n = s.u32("function count");
      for (let i = 0; i < n; i++) {
        const at = s.pos;
        const t = s.u32("function type index");
        if (t >= info.types.length)
          s.fail(`function ${info.importedFuncs + i}: type index ${t} out of range`, at);
        info.functions.push(t);
        info.functionOffsets.push(at);
      }
      return;
    }
    case SectionId.table: {
      const n = s.u32("table count");
      for (let i = 0; i < n; i++) {
        const elemType = s.refType("table type");
        const l = s.limits("table", false);
        info.tables.push({ elemType, min: l.min, max: l.max });
      }
      return;
    }
    case SectionId.memory: {
      const n = s.u32("memory count");
      for (let i = 0; i < n; i++) info.memories.push(s.limits("memory", true));
      return;
    }
    case SectionId.global: {
      const n = s.u32("global count");
      for (let i = 0; i < n; i++) {
        info.globals.push(s.globalType("global"));
        s.constExpr("global initializer");
      }
      return;
    }
    case SectionId.export: {
      const n = s.u32("export count");
      const seen = new Set<string>();
      for (let i = 0; i < n; i++) {
        const offset = s.pos;
        const name = s.name("export name");
        const kindAt = s.pos;
        const kind = s.byte("export kind");
        const k = EXTERN_KINDS[kind];
        if (k === undefined)
          s.fail(
            kind === 4
              ? `export "${name}": tags (exception handling) are not part of CommonAssembly`
              : `export "${name}": unknown export kind ${hex(kind)}`,
            kindAt,
          );
        const index = s.u32("export index");
        if (seen.has(name)) s.fail(`export name "${name}" is used twice`, offset);
        seen.add(name);
        info.exports.push({ name, kind: k, index, offset });
      }
      return;
    }
    case SectionId.start:
      info.start = s.u32("start function index");
      return;
    case SectionId.element:
      s.pos = s.end; // contents are checked by full validation (validate.ts)
      return;
    case SectionId.data: {
      const n = s.u32("data segment count");
      for (let i = 0; i < n; i++) {
        const offset = s.pos;
        const flags = s.u32("data segment flags");
        if (flags > 2) s.fail(`data segment ${i}: invalid flags ${flags}`, offset);
        let address: number | undefined;
        if (flags !== 1) {
          if (flags === 2) s.u32("data segment memory index");
          const exprAt = s.pos;
          s.constExpr("data segment offset");
          address = i32ConstValue(s.bytes.subarray(exprAt, s.pos));
        }
        const size = s.u32("data segment size");
        s.skip(size, `data segment ${i}`);
        info.dataSegments.push({ offset, active: flags !== 1, address, size });
      }
      return;
    }
    case SectionId.dataCount:
      info.dataCount = s.u32("data count");
      return;
    case SectionId.code: {
      const n = s.u32("code count");
      if (n !== info.functions.length)
        s.fail(
          `code section has ${n} bodies but the function section declares ${info.functions.length} functions`,
        );
      for (let i = 0; i < n; i++) {
        const offset = s.pos;
        const size = s.u32("function body size");
        const bodyOffset = s.pos;
        if (size > s.end - bodyOffset)
          s.fail(
            `body of function ${info.importedFuncs + i} runs past the end of the code section`,
            offset,
          );
        s.pos += size;
        info.codeBodies.push({ offset, bodyOffset, size });
      }
      return;
    }
  }
}

/**
 * The function-names subsection (id 1) of a "name" section. Custom sections never make a module
 * invalid, so a malformed one just yields no names.
 */
function readFunctionNames(s: Cursor): Map<number, string> {
  const names = new Map<number, string>();
  try {
    while (s.pos < s.end) {
      const id = s.byte("name subsection id");
      const size = s.u32("name subsection size");
      const end = s.pos + size;
      if (id === 1) {
        for (let n = s.u32("name count"); n > 0; n--) {
          const index = s.u32("function index");
          names.set(index, s.name("function name"));
        }
      }
      s.pos = end;
    }
  } catch {
    return new Map();
  }
  return names;
}

/** The value of a constant expression that is exactly `i32.const N end`, as an unsigned address. */
function i32ConstValue(expr: Uint8Array): number | undefined {
  if (expr[0] !== 0x41) return undefined;
  const c = new WasmCursor(expr, 1, expr.length, malformed);
  const value = c.s32("i32.const");
  return c.pos === expr.length - 1 && expr[c.pos] === 0x0b ? value >>> 0 : undefined;
}

/** The signature of function `index` (imports first, then defined functions), if it exists. */
export function funcSig(info: WasmModuleInfo, index: number): FuncSig | undefined {
  let typeIndex: number | undefined;
  if (index < info.importedFuncs) {
    const imp = info.imports.filter((i) => i.kind === "func")[index];
    typeIndex = imp?.kind === "func" ? imp.typeIndex : undefined;
  } else {
    typeIndex = info.functions[index - info.importedFuncs];
  }
  return typeIndex === undefined ? undefined : info.types[typeIndex];
}

/** The function whose body contains byte `offset`, if any (for error locations). */
export function functionAtOffset(info: WasmModuleInfo, offset: number): number | undefined {
  const bodies = info.codeBodies;
  let lo = 0;
  let hi = bodies.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const b = bodies[mid]!;
    if (offset < b.offset) hi = mid - 1;
    else if (offset >= b.bodyOffset + b.size) lo = mid + 1;
    else return info.importedFuncs + mid;
  }
  return undefined;
}

/** True if the module carries a "name" custom section (debug names). */
export function hasNameSection(info: WasmModuleInfo): boolean {
  return info.sections.some((s) => s.id === SectionId.custom && s.name === "name");
}
