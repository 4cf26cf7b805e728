// Runs a WebAssembly spec-test script (.wast) through NCW's full path: assemble (wabt) → AOT with
// instrumentation (aotCompile: validate, polls, optimize, cache) → execute in V8; counts each assertion.
// What is in scope and why: docs/conformance.md.

import { readFileSync } from "node:fs";
import type { ValType } from "../../commonassembly/abi/wasm-names.js";
import { aotCompile } from "../../commonassembly/aot/cache.js";
import type { InstrumentReport } from "../../commonassembly/aot/instrument.js";
import { findEmptyIdentifier } from "../../commonassembly/text.js";
import { readModule, type WasmModuleInfo } from "../../commonassembly/wasm/reader.js";
import {
  atomText,
  headOf,
  lineOf,
  parseSExprs,
  type SList,
  type SNode,
  stringText,
} from "./sexpr.js";
import { CA_WABT_FEATURES, loadWabt } from "./wat.js";
import { callWrapper, globalWrapper } from "./wrapper.js";

export interface Outcome {
  line: number;
  command: string;
  detail: string;
}

export interface ScriptResult {
  file: string;
  passed: number;
  failed: Outcome[];
  /** Assertions not run, each with why (a feature outside CommonAssembly). */
  skipped: Outcome[];
  /** Safepoint calls observed (polls that found a non-zero word). */
  safepoints: number;
  /** Modules that went through the AOT path. */
  modules: number;
}

export interface RunOptions {
  cacheDir: string;
}

/** wabt feature flags for each WebAssembly proposal outside CommonAssembly, to name what a module needs. */
const PROPOSALS: Record<string, Record<string, boolean>> = {
  "tail calls": { tail_call: true },
  "exception handling": { exceptions: true },
  "typed function references": { function_references: true },
  GC: { gc: true, function_references: true },
  memory64: { memory64: true },
  "extended constant expressions": { extended_const: true },
  "relaxed SIMD": { relaxed_simd: true },
  annotations: { annotations: true },
  "code metadata": { code_metadata: true },
};

/**
 * Text that only proposals outside CommonAssembly use; wabt 1.0.39 cannot assemble some of it at all,
 * so the feature flags alone cannot name what a module needs.
 */
const SYNTAX_OF_PROPOSALS: [RegExp, string][] = [
  [
    /\(ref\s+(null\s+)?(\$|\d|func\b|extern\b|any\b|eq\b|i31\b|struct\b|array\b|none\b|nofunc\b|noextern\b|exn\b)/,
    "typed references (function-references / GC, WebAssembly 3.0)",
  ],
  [
    /\b(struct|array|i31|anyref|eqref|structref|arrayref|nullref|nullfuncref|nullexternref|exnref|br_on_cast|ref\.cast|ref\.test|ref\.i31|any\.convert_extern|extern\.convert_any)\b/,
    "GC (WebAssembly 3.0)",
  ],
  [
    /\b(call_ref|return_call_ref|br_on_null|br_on_non_null|ref\.as_non_null)\b/,
    "typed function references (WebAssembly 3.0)",
  ],
  [/\b(return_call|return_call_indirect)\b/, "tail calls (WebAssembly 3.0)"],
  [/\b(try_table|throw_ref|throw|tag)\b/, "exception handling (WebAssembly 3.0)"],
  [
    /\((memory|table)(\s+\$[^\s()]+)?(\s+\(export\s+"[^"]*"\))*\s+i64\b/,
    "memory64 / table64 (WebAssembly 3.0)",
  ],
  [/\(rec\b|\(sub\b/, "GC type definitions (WebAssembly 3.0)"],
  [/\(@/, "custom annotations"],
  [
    /\(table[^()]*\b(funcref|externref)\s*\(ref\./,
    "table initializer expressions (WebAssembly 3.0)",
  ],
  [/\$"/, "quoted identifiers (WebAssembly 3.0 text format)"],
];

/** Validation messages that mean "this module uses a feature outside CommonAssembly". */
const VALIDATION_OF_PROPOSALS: [RegExp, string][] = [
  [
    /initializer expression can only reference an imported global|not valid in initializer expression|is not allowed in a constant expression/,
    "extended constant expressions (WebAssembly 3.0)",
  ],
  [
    /only one memory block allowed|multiple memories|Specifying memory variable is not allowed/,
    "multi-memory (WebAssembly 3.0)",
  ],
  [
    /table: invalid limits flags 0x[45]|memory: invalid limits flags 0x[4-7]/,
    "memory64 / table64 (WebAssembly 3.0)",
  ],
  [/table type: unknown value type 0x40/, "table initializer expressions (WebAssembly 3.0)"],
];

function utf8(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

class Skip extends Error {}
class Fail extends Error {}

type Bits = number | bigint | null | unknown;

interface Loaded {
  instance: WebAssembly.Instance;
  info: WasmModuleInfo;
}

type ModuleSource =
  | { kind: "text"; text: string }
  | { kind: "binary"; bytes: Uint8Array }
  | { kind: "quote"; text: string };

interface ModuleCmd {
  id: string | undefined;
  definition: boolean;
  source: ModuleSource;
}

const SPECTEST_GLOBALS: Record<string, [ValType, number | bigint]> = {
  global_i32: ["i32", 666],
  global_i64: ["i64", 666n],
  global_f32: ["f32", 666.6],
  global_f64: ["f64", 666.6],
};

function concatBytes(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function parseModuleCmd(src: string, n: SList): ModuleCmd {
  let i = 1;
  let definition = false;
  if (atomText(n.items[i]) === "definition") {
    definition = true;
    i++;
  }
  let id: string | undefined;
  const maybeId = atomText(n.items[i]);
  if (maybeId?.startsWith("$")) {
    id = maybeId;
    i++;
  }
  const mode = atomText(n.items[i]);
  if (mode === "binary" || mode === "quote") {
    const strings = n.items
      .slice(i + 1)
      .map((s) => (s.kind === "string" ? s.bytes : new Uint8Array()));
    const bytes = concatBytes(strings);
    return {
      id,
      definition,
      source:
        mode === "binary"
          ? { kind: "binary", bytes }
          : { kind: "quote", text: new TextDecoder("utf-8", { ignoreBOM: true }).decode(bytes) },
    };
  }
  let text = src.slice(n.start, n.end);
  if ((n as SList & { inline?: boolean }).inline === true) text = `(module ${text})`;
  if (definition) text = text.replace(/^\(\s*module\s+definition/, "(module");
  return { id, definition, source: { kind: "text", text } };
}

export class ScriptRunner {
  private readonly src: string;
  private readonly modules = new Map<string, Loaded>();
  private readonly definitions = new Map<string, WebAssembly.Module>();
  private readonly registry = new Map<string, Record<string, unknown>>();
  private current: Loaded | undefined;
  private readonly wrappers = new Map<string, WebAssembly.Module>();
  private readonly externs = new Map<string, object>();
  private constBits = new Map<string, Bits>();
  private readonly result: ScriptResult;
  private spectest: Record<string, unknown> | undefined;
  private unloadedReason = "no module loaded";
  /** Named modules that were not loaded, with why. */
  private readonly unloadedById = new Map<string, string>();
  /** Registered names whose module was not loaded, with why. */
  private readonly unregistered = new Map<string, string>();
  /** Bit wrappers bound to each exported function already called. */
  private readonly bound = new WeakMap<object, (...a: unknown[]) => unknown>();

  constructor(
    readonly file: string,
    private readonly options: RunOptions,
  ) {
    this.src = readFileSync(file, "utf8");
    this.result = { file, passed: 0, failed: [], skipped: [], safepoints: 0, modules: 0 };
  }

  private spectestExports(): Record<string, unknown> {
    if (this.spectest !== undefined) return this.spectest;
    const noop = (): void => {};
    const s: Record<string, unknown> = {
      print: noop,
      print_i32: noop,
      print_i64: noop,
      print_f32: noop,
      print_f64: noop,
      print_i32_f32: noop,
      print_f64_f64: noop,
      table: new WebAssembly.Table({ element: "anyfunc", initial: 10, maximum: 20 }),
      memory: new WebAssembly.Memory({ initial: 1, maximum: 2 }),
      shared_memory: new WebAssembly.Memory({ initial: 1, maximum: 2, shared: true }),
    };
    for (const [k, [t, v]] of Object.entries(SPECTEST_GLOBALS))
      s[k] = new WebAssembly.Global({ value: t }, v);
    this.spectest = s;
    return s;
  }

  /** Runs the whole script; never throws for a failing assertion (it is counted). */
  async run(): Promise<ScriptResult> {
    let nodes: SNode[];
    try {
      nodes = parseSExprs(this.src);
    } catch (e) {
      this.result.failed.push({ line: 0, command: "parse", detail: (e as Error).message });
      return this.result;
    }
    await this.prepareConsts(nodes);
    for (const n of inlineModules(nodes)) {
      if (n.kind !== "list") continue;
      const head = headOf(n) ?? "?";
      const line = lineOf(this.src, n.start);
      try {
        await this.command(n, head);
        if (head.startsWith("assert_")) this.result.passed++;
      } catch (e) {
        const detail = e instanceof Error ? e.message : String(e);
        if (e instanceof Skip) this.result.skipped.push({ line, command: head, detail });
        else this.result.failed.push({ line, command: head, detail: detail.slice(0, 400) });
        // A module that could not be loaded: the assertions on it are skipped, with its reason.
        if (head === "module") {
          this.current = undefined;
          this.unloadedReason = e instanceof Skip ? detail : `its module failed: ${detail}`;
          const id = parseModuleCmd(this.src, n).id;
          if (id !== undefined) this.unloadedById.set(id, this.unloadedReason);
        }
      }
    }
    return this.result;
  }

  // ---- assembling and loading ----

  private async assemble(m: ModuleCmd): Promise<Uint8Array> {
    if (m.source.kind === "binary") return m.source.bytes;
    const text = m.source.kind === "quote" ? `(module ${m.source.text})` : m.source.text;
    const w = await loadWabt();
    try {
      // wabt accepts the empty identifier $"": the text front end's own check (commonassembly/text.ts).
      const empty = findEmptyIdentifier(text);
      if (empty !== undefined)
        throw new Error(`spec.wat:${empty.line}:${empty.column}: empty identifier`);
      const mod = w.parseWat("spec.wat", utf8(text), CA_WABT_FEATURES);
      try {
        mod.resolveNames();
        return mod.toBinary({}).buffer;
      } finally {
        mod.destroy();
      }
    } catch (e) {
      throw new AssembleError((e as Error).message, await this.neededProposal(text));
    }
  }

  /** Which proposal outside CommonAssembly makes this text assemble (or which it visibly uses), if any. */
  private async neededProposal(text: string): Promise<string | undefined> {
    for (const [re, name] of SYNTAX_OF_PROPOSALS) if (re.test(text)) return name;
    const w = await loadWabt();
    for (const [name, flags] of Object.entries(PROPOSALS)) {
      try {
        const mod = w.parseWat("spec.wat", utf8(text), { ...CA_WABT_FEATURES, ...flags });
        try {
          mod.resolveNames();
          mod.toBinary({});
          return name;
        } finally {
          mod.destroy();
        }
      } catch {
        // not this one
      }
    }
    return undefined;
  }

  /** Assemble → AOT (validate, instrument, optimize, cache) → V8 module. */
  private async compile(
    m: ModuleCmd,
  ): Promise<{ module: WebAssembly.Module; info: WasmModuleInfo; report: InstrumentReport }> {
    const bytes = await this.assemble(m);
    const r = await aotCompile(bytes, {
      cacheDir: this.options.cacheDir,
      abi: false,
      instrument: { reserveControlPage: false },
    });
    this.result.modules++;
    return { module: r.module, info: readModule(bytes), report: r.report };
  }

  private instantiate(
    module: WebAssembly.Module,
    info: WasmModuleInfo,
    report: InstrumentReport,
  ): Loaded {
    const imports: Record<string, Record<string, unknown>> = {
      nightos: { safepoint: () => void this.result.safepoints++ },
    };
    for (const imp of WebAssembly.Module.imports(module)) {
      if (imp.module === "nightos") continue;
      const missing = this.unregistered.get(imp.module);
      if (missing !== undefined)
        throw new Skip(`imports from "${imp.module}", which was not loaded: ${missing}`);
      const from =
        imp.module === "spectest" ? this.spectestExports() : this.registry.get(imp.module);
      imports[imp.module] ??= {};
      if (from === undefined || !(imp.name in from)) continue; // V8 reports the LinkError
      (imports[imp.module] as Record<string, unknown>)[imp.name] = from[imp.name];
    }
    const instance = new WebAssembly.Instance(module, imports as WebAssembly.Imports);
    // Point the poll at a word of memory 0 when it surely exists (≥ 1 page): polls then really load.
    const ctl = instance.exports.__nightos_ctl;
    if (
      ctl instanceof WebAssembly.Global &&
      report.memory !== undefined &&
      report.memory.initial >= 1
    )
      ctl.value = 8;
    return { instance, info };
  }

  // ---- commands ----

  private async command(n: SList, head: string): Promise<void> {
    switch (head) {
      case "module": {
        const m = parseModuleCmd(this.src, n);
        const c = await this.compileOrSkip(m);
        if (m.definition) {
          if (m.id) this.definitions.set(m.id, c.module);
          return;
        }
        const loaded = this.instantiate(c.module, c.info, c.report);
        this.current = loaded;
        if (m.id) this.modules.set(m.id, loaded);
        return;
      }
      case "register": {
        const name = stringText(n.items[1]) ?? "";
        let target: Loaded;
        try {
          target = this.moduleById(atomText(n.items[2]));
        } catch (e) {
          this.unregistered.set(name, (e as Error).message);
          throw e;
        }
        this.registry.set(name, target.instance.exports as Record<string, unknown>);
        return;
      }
      case "invoke":
      case "get":
        await this.action(n);
        return;
      case "assert_return":
        return this.assertReturn(n);
      case "assert_trap":
      case "assert_exhaustion":
        return this.assertTrap(n, head === "assert_exhaustion");
      case "assert_invalid":
      case "assert_malformed":
        return this.assertRejected(n, head);
      case "assert_unlinkable":
      case "assert_uninstantiable":
        return this.assertInstantiationFails(n, head === "assert_unlinkable");
      case "assert_exception":
        throw new Skip("exception handling is outside CommonAssembly");
      default:
        throw new Skip(`script command "${head}" is not supported by this runner`);
    }
  }

  private async compileOrSkip(m: ModuleCmd) {
    try {
      return await this.compile(m);
    } catch (e) {
      if (e instanceof AssembleError && e.proposal !== undefined) {
        throw new Skip(`module needs ${e.proposal}, which CommonAssembly does not include`);
      }
      const msg = e instanceof Error ? e.message : String(e);
      for (const [re, name] of VALIDATION_OF_PROPOSALS) {
        if (re.test(msg))
          throw new Skip(`module needs ${name}, which CommonAssembly does not include (${msg})`);
      }
      throw e;
    }
  }

  private moduleById(id: string | undefined): Loaded {
    if (id !== undefined) {
      const m = this.modules.get(id);
      if (m === undefined)
        throw new Skip(this.unloadedById.get(id) ?? `module ${id} was not loaded`);
      return m;
    }
    if (this.current === undefined) throw new Skip(this.unloadedReason);
    return this.current;
  }

  private async action(n: SNode | undefined): Promise<Bits[]> {
    if (n?.kind !== "list") throw new Fail("missing action");
    const kind = headOf(n);
    let i = 1;
    const id = atomText(n.items[i])?.startsWith("$") ? atomText(n.items[i++]) : undefined;
    const target = this.moduleById(id);
    const name = stringText(n.items[i++]) ?? "";
    const exp = target.info.exports.find((e) => e.name === name);
    if (exp === undefined) throw new Fail(`no export "${name}"`);
    if (kind === "get") {
      if (exp.kind !== "global") throw new Fail(`"${name}" is not a global`);
      const g = globalTypes(target.info)[exp.index];
      const glob = target.instance.exports[name];
      if (g === undefined || !(glob instanceof WebAssembly.Global))
        throw new Fail(`global "${name}" not found`);
      const w = this.wrapper(`g:${g.valType}:${g.mutable}`, () =>
        globalWrapper(g.valType, g.mutable),
      );
      const inst = new WebAssembly.Instance(w, { m: { g: glob } });
      return this.collect([g.valType], (inst.exports.w as () => unknown)());
    }
    if (exp.kind !== "func") throw new Fail(`"${name}" is not a function`);
    const sig = funcSigOf(target.info, exp.index);
    const args: unknown[] = [];
    n.items.slice(i).forEach((a, k) => {
      args.push(...this.argValue(a, sig.params[k]));
    });
    const fn = target.instance.exports[name] as WebAssembly.HostFunction;
    let call = this.bound.get(fn);
    if (call === undefined) {
      const key = `f:${sig.params.join(",")}->${sig.results.join(",")}`;
      const w = this.wrapper(key, () => callWrapper(sig.params, sig.results));
      call = new WebAssembly.Instance(w, { m: { f: fn } }).exports.w as (
        ...a: unknown[]
      ) => unknown;
      this.bound.set(fn, call);
    }
    const r = call(...args);
    return this.collect(sig.results, r);
  }

  /** Regroups the wrapper's flat results by the original types (v128 = [lo, hi]). */
  private collect(types: readonly ValType[], r: unknown): Bits[] {
    const count = types.reduce((c, t) => c + (t === "v128" ? 2 : 1), 0);
    const flat: unknown[] = count === 1 ? [r] : count === 0 ? [] : (r as unknown[]);
    const out: Bits[] = [];
    let k = 0;
    for (const t of types) {
      if (t === "v128") {
        out.push([flat[k], flat[k + 1]]);
        k += 2;
      } else out.push(flat[k++]);
    }
    return out;
  }

  private wrapper(key: string, make: () => Uint8Array): WebAssembly.Module {
    let m = this.wrappers.get(key);
    if (m === undefined) {
      m = new WebAssembly.Module(make());
      this.wrappers.set(key, m);
    }
    return m;
  }

  private extern(n: string): object {
    let o = this.externs.get(n);
    if (o === undefined) {
      o = { extern: n };
      this.externs.set(n, o);
    }
    return o;
  }

  private argValue(a: SNode, type: ValType | undefined): unknown[] {
    const head = headOf(a);
    if (a.kind !== "list" || head === undefined) throw new Fail("bad argument");
    if (head === "ref.null") return [null];
    if (head === "ref.extern" || head === "ref.host")
      return [this.extern(atomText(a.items[1]) ?? "")];
    const bits = this.constBits.get(this.src.slice(a.start, a.end));
    if (bits === undefined) throw new Fail(`cannot evaluate ${this.src.slice(a.start, a.end)}`);
    if (type === "v128") return bits as bigint[];
    return [bits];
  }

  private async assertReturn(n: SList): Promise<void> {
    const actual = await this.action(n.items[1]);
    const expected = n.items.slice(2);
    if (actual.length !== expected.length)
      throw new Fail(`got ${actual.length} results, expected ${expected.length}`);
    expected.forEach((e, k) => {
      const why = this.match(e, actual[k]);
      if (why !== undefined) throw new Fail(`result ${k}: ${why}`);
    });
  }

  /** undefined when `actual` matches the expected-result node `e`, else why not. */
  private match(e: SNode, actual: Bits): string | undefined {
    const head = headOf(e);
    if (e.kind !== "list" || head === undefined) return "bad expected value";
    const text = this.src.slice(e.start, e.end);
    if (head === "either") {
      const whys = e.items.slice(1).map((alt) => this.match(alt, actual));
      return whys.some((w) => w === undefined) ? undefined : `none of ${whys.join(" | ")}`;
    }
    if (head === "ref.null")
      return actual === null ? undefined : `expected null, got ${String(actual)}`;
    if (head === "ref.extern" || head === "ref.host") {
      const arg = atomText(e.items[1]);
      if (arg === undefined) return actual !== null ? undefined : "expected a non-null externref";
      return actual === this.extern(arg) ? undefined : `expected ${text}, got ${String(actual)}`;
    }
    if (head === "ref.func")
      return typeof actual === "function" ? undefined : `expected a funcref, got ${String(actual)}`;
    if (
      head === "ref.array" ||
      head === "ref.struct" ||
      head === "ref.i31" ||
      head === "ref.eq" ||
      head === "ref.any"
    ) {
      throw new Skip("GC references are outside CommonAssembly");
    }
    const pattern = atomText(e.items[1]);
    if (
      (head === "f32.const" || head === "f64.const") &&
      pattern?.startsWith("nan:") &&
      !pattern.startsWith("nan:0x")
    ) {
      return nanMatch(head === "f32.const" ? "f32" : "f64", pattern, actual)
        ? undefined
        : `expected ${pattern}, got ${hex(actual)}`;
    }
    if (
      head === "v128.const" &&
      e.items.some((x) => atomText(x)?.startsWith("nan:") && !atomText(x)?.startsWith("nan:0x"))
    ) {
      return this.v128LaneMatch(e, actual);
    }
    const want = this.constBits.get(text);
    if (want === undefined) return `cannot evaluate ${text}`;
    if (head === "v128.const") {
      const [a0, a1] = actual as bigint[];
      const [w0, w1] = want as bigint[];
      return a0 === w0 && a1 === w1 ? undefined : `expected ${text}, got ${hex(a0)} ${hex(a1)}`;
    }
    return want === actual ? undefined : `expected ${text} (${hex(want)}), got ${hex(actual)}`;
  }

  private v128LaneMatch(e: SList, actual: Bits): string | undefined {
    const shape = atomText(e.items[1]);
    const lanes = e.items.slice(2);
    const [lo, hi] = actual as bigint[];
    const bytes = new DataView(new ArrayBuffer(16));
    bytes.setBigUint64(0, BigInt.asUintN(64, lo ?? 0n), true);
    bytes.setBigUint64(8, BigInt.asUintN(64, hi ?? 0n), true);
    const f32 = shape === "f32x4";
    for (let k = 0; k < lanes.length; k++) {
      const lane = atomText(lanes[k]) ?? "";
      const got = f32 ? bytes.getInt32(k * 4, true) : bytes.getBigInt64(k * 8, true);
      if (lane.startsWith("nan:") && !lane.startsWith("nan:0x")) {
        if (!nanMatch(f32 ? "f32" : "f64", lane, got))
          return `lane ${k}: expected ${lane}, got ${hex(got)}`;
      } else {
        const want = this.constBits.get(`(${f32 ? "f32" : "f64"}.const ${lane})`);
        if (want !== got) return `lane ${k}: expected ${lane}, got ${hex(got)}`;
      }
    }
    return undefined;
  }

  private async assertTrap(n: SList, exhaustion: boolean): Promise<void> {
    const what = n.items[1];
    if (headOf(what) === "module") {
      await this.assertInstantiationFails(n, false);
      return;
    }
    try {
      await this.action(what);
    } catch (e) {
      if (e instanceof Skip || e instanceof Fail) throw e;
      if (exhaustion && e instanceof RangeError) return;
      if (!exhaustion && e instanceof WebAssembly.RuntimeError) return;
      throw new Fail(`expected a ${exhaustion ? "stack exhaustion" : "trap"}, got ${String(e)}`);
    }
    throw new Fail(
      `expected a ${exhaustion ? "stack exhaustion" : "trap"} (${stringText(n.items[2])}), got a result`,
    );
  }

  private async assertRejected(n: SList, head: string): Promise<void> {
    const modNode = n.items[1];
    if (modNode?.kind !== "list") throw new Fail("missing module");
    const m = parseModuleCmd(this.src, modNode);
    let bytes: Uint8Array;
    try {
      bytes = await this.assemble(m);
    } catch {
      return; // rejected by the assembler: a malformed or invalid text module
    }
    if (head === "assert_malformed" && m.source.kind === "quote") {
      throw new Fail(`the assembler (wabt) accepted malformed text (${stringText(n.items[2])})`);
    }
    try {
      await aotCompile(bytes, {
        cacheDir: this.options.cacheDir,
        abi: false,
        instrument: { reserveControlPage: false },
      });
    } catch {
      return; // rejected by the AOT step's validation
    }
    throw new Fail(
      `the module was accepted, expected it ${head === "assert_invalid" ? "invalid" : "malformed"} (${stringText(n.items[2])})`,
    );
  }

  private async assertInstantiationFails(n: SList, unlinkable: boolean): Promise<void> {
    const modNode = n.items[1];
    if (modNode?.kind !== "list") throw new Fail("missing module");
    const m = parseModuleCmd(this.src, modNode);
    const c = await this.compileOrSkip(m);
    try {
      const loaded = this.instantiate(c.module, c.info, c.report);
      // A module whose instantiation fails part-way may still have written to shared tables/memories;
      // on success it is not registered (the spec's "uninstantiable" modules keep no instance).
      void loaded;
    } catch (e) {
      if (e instanceof Skip || e instanceof Fail) throw e;
      if (unlinkable && e instanceof WebAssembly.LinkError) return;
      if (!unlinkable && e instanceof WebAssembly.RuntimeError) return;
      throw new Fail(`expected ${unlinkable ? "a link error" : "a trap"}, got ${String(e)}`);
    }
    throw new Fail(
      `expected ${unlinkable ? "a link error" : "a trap"} at instantiation, it succeeded`,
    );
  }

  // ---- constants ----

  /** Evaluates every numeric constant of the script to its bits at once, with one wabt module. */
  private async prepareConsts(nodes: SNode[]): Promise<void> {
    const texts = new Map<string, string>(); // source text -> function body
    const visit = (x: SNode): void => {
      if (x.kind !== "list") return;
      const head = headOf(x);
      if (
        head === "i32.const" ||
        head === "i64.const" ||
        head === "f32.const" ||
        head === "f64.const" ||
        head === "v128.const"
      ) {
        const text = this.src.slice(x.start, x.end);
        if (/nan:(canonical|arithmetic)/.test(text)) {
          if (head === "v128.const") {
            const lt = atomText(x.items[1]) === "f32x4" ? "f32" : "f64";
            for (const lane of x.items.slice(2)) {
              const t = atomText(lane) ?? "";
              if (!t.startsWith("nan:") || t.startsWith("nan:0x"))
                texts.set(`(${lt}.const ${t})`, bodyFor(lt, `(${lt}.const ${t})`));
            }
          }
          return;
        }
        texts.set(text, bodyFor(head, text));
        return;
      }
      if (head === "module") return;
      for (const c of x.items) visit(c);
    };
    for (const n of nodes) {
      const head = headOf(n);
      if (
        head === "assert_return" ||
        head === "invoke" ||
        head === "assert_trap" ||
        head === "assert_exhaustion"
      )
        visit(n);
    }
    const entries = [...texts.entries()];
    this.constBits = await evaluate(entries);
  }
}

/** Module fields that may stand at the top of a script: a run of them is an inline module (spec "Scripts"). */
const MODULE_FIELDS = new Set([
  "type",
  "import",
  "func",
  "table",
  "memory",
  "global",
  "export",
  "start",
  "elem",
  "data",
]);

/** Replaces each run of top-level module fields by one synthetic `(module ...)` list spanning them. */
function inlineModules(nodes: SNode[]): SNode[] {
  const out: SNode[] = [];
  let run: SList[] = [];
  const flush = (): void => {
    const first = run[0];
    const last = run[run.length - 1];
    if (first && last)
      out.push({
        kind: "list",
        items: [{ kind: "atom", text: "module", start: first.start, end: first.start }, ...run],
        start: first.start,
        end: last.end,
        inline: true,
      } as SList);
    run = [];
  };
  for (const n of nodes) {
    if (n.kind === "list" && MODULE_FIELDS.has(headOf(n) ?? "")) run.push(n);
    else {
      flush();
      out.push(n);
    }
  }
  flush();
  return out;
}

class AssembleError extends Error {
  constructor(
    message: string,
    readonly proposal: string | undefined,
  ) {
    super(message);
  }
}

/** Global types in the global index space (imports first). */
function globalTypes(info: WasmModuleInfo): { valType: ValType; mutable: boolean }[] {
  const imported = info.imports.flatMap((i) => (i.kind === "global" ? [i.global] : []));
  return [...imported, ...info.globals];
}

function funcSigOf(info: WasmModuleInfo, index: number): { params: ValType[]; results: ValType[] } {
  let typeIndex: number | undefined;
  let fi = 0;
  for (const imp of info.imports) {
    if (imp.kind !== "func") continue;
    if (fi === index) typeIndex = imp.typeIndex;
    fi++;
  }
  if (typeIndex === undefined) typeIndex = info.functions[index - info.importedFuncs];
  const sig = typeIndex === undefined ? undefined : info.types[typeIndex];
  if (sig === undefined) throw new Fail(`no signature for function ${index}`);
  return { params: [...sig.params], results: [...sig.results] };
}

function bodyFor(head: string, text: string): string {
  if (head === "i32.const") return `(result i32) ${text}`;
  if (head === "i64.const") return `(result i64) ${text}`;
  if (head === "f32.const" || head === "f32") return `(result i32) (i32.reinterpret_f32 ${text})`;
  if (head === "f64.const" || head === "f64") return `(result i64) (i64.reinterpret_f64 ${text})`;
  return `(result i64 i64) (i64x2.extract_lane 0 ${text}) (i64x2.extract_lane 1 ${text})`;
}

async function evaluate(entries: [string, string][]): Promise<Map<string, Bits>> {
  const out = new Map<string, Bits>();
  if (entries.length === 0) return out;
  const w = await loadWabt();
  const build = (list: [string, string][]): WebAssembly.Instance => {
    const funcs = list.map(([, body], k) => `(func (export "c${k}") ${body})`).join("\n");
    const mod = w.parseWat("consts.wat", utf8(`(module ${funcs})`), CA_WABT_FEATURES);
    try {
      mod.resolveNames();
      return new WebAssembly.Instance(new WebAssembly.Module(mod.toBinary({}).buffer));
    } finally {
      mod.destroy();
    }
  };
  const read = (inst: WebAssembly.Instance, list: [string, string][]): void => {
    list.forEach(([text], k) => {
      const r = (inst.exports[`c${k}`] as () => unknown)();
      out.set(text, Array.isArray(r) ? r : r);
    });
  };
  try {
    read(build(entries), entries);
  } catch {
    // One bad literal spoils the batch: evaluate one by one, leaving out the bad ones.
    for (const e of entries) {
      try {
        read(build([e]), [e]);
      } catch {
        // left undefined: the assertion that uses it fails with "cannot evaluate"
      }
    }
  }
  return out;
}

function nanMatch(t: "f32" | "f64", pattern: string, actual: Bits): boolean {
  if (t === "f32") {
    const b = (actual as number) >>> 0;
    if (pattern === "nan:canonical") return (b & 0x7fffffff) === 0x7fc00000;
    return (b & 0x7fc00000) === 0x7fc00000;
  }
  const b = BigInt.asUintN(64, actual as bigint);
  if (pattern === "nan:canonical") return (b & 0x7fffffffffffffffn) === 0x7ff8000000000000n;
  return (b & 0x7ff8000000000000n) === 0x7ff8000000000000n;
}

function hex(v: Bits): string {
  if (typeof v === "number") return `0x${(v >>> 0).toString(16)}`;
  if (typeof v === "bigint") return `0x${BigInt.asUintN(64, v).toString(16)}`;
  return String(v);
}

export async function runScript(file: string, options: RunOptions): Promise<ScriptResult> {
  return new ScriptRunner(file, options).run();
}
