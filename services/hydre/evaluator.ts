// Hydre's evaluator: runs a script the checker accepted (checker.ts annotated its tree: bindings, calls,
// methods, types), statement by statement (specs/shell.md "Commands evaluation"). Native commands run
// here; app commands run through the host (HydreHost.runApps: the kernel's command machinery), those
// that follow one another in a pipeline all at once (docs/hydre.md "Pipes"). A failure goes up to the
// nearest `catch`, else the script fails; a panic stops it at once. Decisions: docs/hydre.md.

import { MAX_RETURN_SIZE, type Value } from "../../commonassembly/abi/values.js";
import { NcwError } from "../../ncw/errors.js";
import { parseShellType } from "../../ncw/manifest/rules.js";
import { ArgumentError, parseCommandLine, type Word } from "../shell/arguments.js";
import type { InstalledCommand } from "../shell/commands.js";
import { inputIsStream } from "../shell/input.js";
import type {
  Block,
  CommandNode,
  Cond,
  Expr,
  FnDef,
  LValue,
  Pipeline,
  Script,
  Stmt,
} from "./ast.js";
import { type CheckResult, type CommandPlan, flagValues } from "./checker.js";
import {
  FILE_COMMANDS,
  fileFailure,
  globPaths,
  INPUT_CHUNK,
  inputFile,
  outputFile,
  runFileCommand,
  type ScriptFs,
  streamText,
  writeRedirect,
  writeStreamRedirect,
} from "./fs-commands.js";
import { NATIVE_COMMANDS } from "./native-commands.js";
import {
  type CommandOutcome,
  compare,
  Failure,
  methodsOf,
  NATIVE_FUNCTIONS,
  type NativeContext,
  Panic,
} from "./natives.js";
import { RawQueue } from "./raw-stream.js";
import type { Span } from "./source.js";
import { fromShellType, type HType, T } from "./types.js";
import {
  bool,
  coerce,
  copy,
  equal,
  fromAbi,
  type HValue,
  hasType,
  int,
  keyId,
  NULL,
  show,
  str,
  toAbi,
  VOID,
} from "./values.js";

/** What an app command run gave back (the kernel's CommandReturn, and its messages when captured). */
export interface AppRun {
  ret:
    | { kind: "value"; value: Value }
    | { kind: "failure" }
    | { kind: "none" }
    | { kind: "faulty"; why: string };
  /** CMDMSG / CMDERR texts when captured (else they went to the terminal). */
  msg: string[];
  err: string[];
}

/**
 * One app command of a pipeline (docs/hydre.md "Pipes"); `capture`: keep its messages (for `$?(…)`,
 * a redirection, or a command before a `|`).
 */
export interface AppStage {
  cmd: InstalledCommand;
  args: Value[];
  capture: boolean;
  /**
   * Its CMDRAW's bytes go here (`@> file`), each piece once the one before is taken (the piece may
   * be reused then). A rejection: nobody reads CMDRAW any more (the app's writes to it fail).
   */
  rawTo?: (bytes: Uint8Array) => Promise<void>;
  /** It runs while the script goes on (`$@(…)`): the terminal's keys are not its. */
  background?: true;
  input: /** Nothing is piped into it. */
    | { kind: "none" }
    /** A value known before it starts (a native command's before the `|`); null: CMDIN closes empty. */
    | { kind: "value"; value: Value | null }
    /** Bytes known before it starts, for a `stream` input (a native command's value as text). */
    | { kind: "bytes"; bytes: Uint8Array }
    /**
     * The previous stage's CMDOUT value, once whole, as this command's input type reads it
     * (`convert`; null: CMDIN closes empty). Both run meanwhile.
     */
    | { kind: "previous-value"; convert: (v: Value) => Value | null }
    /** The previous stage's CMDRAW, as its bytes come: this command reads a `stream`. */
    | { kind: "previous-raw" }
    /**
     * A stream's bytes in bounded pieces (`< file` into a `stream` input): the next piece once the
     * one before is written, null at the end. A rejection: this command and those after it are
     * killed (the reader failed; they must not take a cut stream for a whole one).
     */
    | { kind: "chunks"; next: () => Promise<Uint8Array | null> };
}

/** The world a script runs in: the terminal, the environment, and the command machinery. */
export interface HydreHost {
  /** CMDOUT values and messages, shown on the terminal. */
  write(text: string): void;
  writeErr(text: string): void;
  /** One line of the user's input, after showing `prompt`; undefined at the end of the input. */
  readLine(prompt: string): Promise<string | undefined>;
  env(name: string): string | undefined;
  random(): number;
  /**
   * Run installed apps' commands with typed arguments, all at once: a pipeline's app commands side
   * by side (`a | b | c`; one command alone is a list of one). Their outcomes in the same order.
   */
  runApps(stages: readonly AppStage[]): Promise<AppRun[]>;
  /** The script's CMDRAW (`cmdraw`): resolves once the bytes are taken (a slow reader holds it). */
  writeRaw(bytes: Uint8Array): Promise<void>;
  /** The NightOS tree of the file commands and redirections. */
  files: ScriptFs;
  /** The script's CMDIN value, read as `cmdin` (its type) says; undefined: no value (it was empty). */
  scriptInput(cmdin: string): Promise<Value | undefined>;
  /** How a command's value on its own line is shown (default: its `.str()` and a line break). */
  showValue?(v: HValue): string;
}

export type RunEnd =
  /**
   * Ran to its end; `lastFailed`: the last command run on its own line failed (docs/hydre.md
   * "Failing": the script's exit status is that command's, 1).
   */
  | { kind: "done"; lastFailed: boolean }
  | { kind: "exit" }
  | { kind: "failed"; message: string }
  | { kind: "panic"; message: string; span?: Span };

class Env {
  readonly vars = new Map<number, HValue>();
  constructor(readonly parent?: Env) {}
  get(b: number): HValue {
    for (let e: Env | undefined = this; e !== undefined; e = e.parent) {
      const v = e.vars.get(b);
      if (v !== undefined) return v;
    }
    throw new Error(`internal: binding ${b} has no value`);
  }
  set(b: number, v: HValue): void {
    for (let e: Env | undefined = this; e !== undefined; e = e.parent)
      if (e.vars.has(b)) {
        e.vars.set(b, v);
        return;
      }
    throw new Error(`internal: binding ${b} is not defined`);
  }
}

const BREAK = Symbol("break");
class Return {
  constructor(readonly value: HValue) {}
}
type Flow = undefined | typeof BREAK | Return;
class ExitSignal extends Error {}
/** `cmdout v`: the script returns `v` and ends. */
class CmdOut extends Error {
  constructor(readonly value: HValue) {
    super("cmdout");
  }
}

class PanicAt extends Panic {
  constructor(
    message: string,
    readonly span: Span,
  ) {
    super(message);
  }
}

const I64_MIN = -(2n ** 63n);
const I64_MAX = 2n ** 63n - 1n;

/**
 * Runs the script; one with a command description then calls its `main` with `args` (its arguments,
 * read by the argument reader against the description) and shows what `main` returns, as a command's
 * return value is shown (specs "Commands typing").
 */
export async function runScript(
  script: Script,
  check: CheckResult,
  host: HydreHost,
  args: readonly Value[] = [],
): Promise<RunEnd> {
  const ev = new Evaluator(check, host);
  try {
    return await runMain(ev, script, check, host, args);
  } finally {
    await ev.dropStreams();
  }
}

async function runMain(
  ev: Evaluator,
  script: Script,
  check: CheckResult,
  host: HydreHost,
  args: readonly Value[],
): Promise<RunEnd> {
  try {
    const top = new Env();
    await ev.block(script.body, top, false);
    const cmd = check.command;
    if (cmd !== undefined) {
      const main = top.get(cmd.main);
      if (main.t !== "fn") throw new Error("internal: main is no function");
      const values = cmd.params.map((t, i) => {
        const v = args[i];
        return v === undefined || v.type === "void" ? NULL : fromAbi(v, t);
      });
      const ret = await main.call(values);
      if (ret.t !== "void") host.write(`${show(ret)}\n`);
    }
    return { kind: "done", lastFailed: ev.lineFailed };
  } catch (e) {
    return endOf(e, host);
  }
}

/** How a script or an input that threw `e` ended (anything else is rethrown). */
function endOf(e: unknown, host: HydreHost): RunEnd {
  if (e instanceof ExitSignal) return { kind: "exit" };
  if (e instanceof CmdOut) {
    // The script's return value, shown as a command's.
    if (e.value.t !== "void") host.write(`${show(e.value)}\n`);
    return { kind: "exit" };
  }
  if (e instanceof Failure) return { kind: "failed", message: failureText(e.value) };
  if (e instanceof PanicAt) return { kind: "panic", message: e.message, span: e.span };
  if (e instanceof Panic) return { kind: "panic", message: e.message };
  throw e;
}

/**
 * An interactive session's values (`ncw shell`): one top-level environment every input runs in, so
 * what an input declared is there for the next (its names are kept by checker.ts CheckSession).
 */
export class RunSession {
  readonly top = new Env();
  readonly state = { failedLast: false };
  /** Whether a binding received a value (an input that stopped halfway did not reach them all). */
  bound(b: number): boolean {
    return this.top.vars.has(b);
  }
}

/** Runs one checked input of a session in its top-level environment. */
export async function runInSession(
  script: Script,
  check: CheckResult,
  host: HydreHost,
  session: RunSession,
): Promise<RunEnd> {
  const ev = new Evaluator(check, host, session.state);
  try {
    await ev.input(script.body, session.top);
    return { kind: "done", lastFailed: ev.lineFailed };
  } catch (e) {
    return endOf(e, host);
  } finally {
    // A `$@(…)` stream lives as long as its input (docs/hydre.md "Streams held by the script").
    await ev.dropStreams();
  }
}

/**
 * Runs a command line for an app (sys::hydre RUN_COMMAND, docs/services.md): its statements as a
 * script's, but a command or an expression last gives its value instead of showing it. `ok` false:
 * that last command failed, or the line failed or panicked (its messages shown as a script's are).
 */
export async function runForValue(
  script: Script,
  check: CheckResult,
  host: HydreHost,
): Promise<{ ok: boolean; value: Value }> {
  const ev = new Evaluator(check, host);
  try {
    const top = new Env();
    const stmts = script.body.stmts;
    for (const [i, s] of stmts.entries()) {
      const last = i === stmts.length - 1;
      if (last && s.k === "pipeline") {
        const r = await ev.lastPipeline(s.pipeline, top);
        return { ok: r.ok, value: r.ok ? toAbi(r.value) : { type: "void" } };
      }
      if (last && s.k === "expr") return { ok: true, value: toAbi(await ev.value(s.expr, top)) };
      const f = await ev.block({ ...script.body, stmts: [s] }, top, false);
      if (f !== undefined) break;
    }
    return { ok: !ev.lineFailed, value: { type: "void" } };
  } catch (e) {
    const end = endOf(e, host);
    if (end.kind === "failed") host.writeErr(`error: ${end.message}\n`);
    if (end.kind === "panic") host.writeErr(`panic: ${end.message}\n`);
    return { ok: end.kind === "exit", value: { type: "void" } };
  } finally {
    await ev.dropStreams();
  }
}

function failureText(v: HValue): string {
  if (v.t === "string") return v.v;
  // A command's CMDERR messages, one a line (their own line breaks at the end are not doubled).
  if (v.t === "list") return v.items.map((x) => show(x).replace(/\r?\n$/, "")).join("\n");
  return show(v);
}

class Evaluator {
  private readonly natives: NativeContext;
  /** The `$@(…)` commands still running, each with the queue of its CMDRAW (dropStreams). */
  private readonly rawRuns = new Set<{ queue: RawQueue; done: Promise<void> }>();
  /** Whether the last command run on its own line failed (the script's exit status). */
  lineFailed = false;

  constructor(
    private readonly check: CheckResult,
    private readonly host: HydreHost,
    /** `last_failed()`'s state (a session's is kept from one input to the next). */
    private readonly state = { failedLast: false },
  ) {
    this.natives = {
      readLine: (p) => host.readLine(p),
      write: (t) => host.write(t),
      env: (n) => host.env(n),
      random: () => host.random(),
      lastFailed: () => this.state.failedLast,
      runCommand: (cmd, capture) => this.commandValue(cmd, capture),
      rawCommand: (cmd) => this.rawCommandValue(cmd),
    };
  }

  // ---------------------------------------------------------------------------------------------
  // Statements

  async block(b: Block, env: Env, newScope = true): Promise<Flow> {
    const e = newScope ? new Env(env) : env;
    for (const s of b.stmts) {
      const f = await this.stmt(s, e);
      if (f !== undefined) return f;
    }
    return undefined;
  }

  private async stmt(s: Stmt, env: Env): Promise<Flow> {
    switch (s.k) {
      case "let": {
        const v = coerce(copy(await this.expr(s.value, env)), s.value.ty);
        env.vars.set(s.binding as number, coerce(v, s.declared));
        return;
      }
      case "discard":
        await this.expr(s.value, env);
        return;
      case "assign":
        await this.assign(s, env);
        return;
      case "incdec": {
        if (s.asCommand !== undefined) {
          await this.statementPipeline(s.asCommand, env);
          return;
        }
        const b = s.binding as number;
        const v = env.get(b);
        const d = s.op === "++" ? 1 : -1;
        env.set(
          b,
          v.t === "int"
            ? int(checked(v.v + BigInt(d), s.span))
            : { t: "float", v: (v as { v: number }).v + d },
        );
        return;
      }
      case "delete": {
        const t = s.target as Extract<LValue, { k: "index" }>;
        const container = await this.place(t.target, env);
        const key = await this.expr(t.index, env);
        if (container.t === "list") {
          const i = this.listIndex(container, key, t.span);
          container.items.splice(i, 1);
        } else if (container.t === "map") {
          if (!container.entries.delete(keyId(key)))
            throw new PanicAt(`the map has no key ${show(key, true)}`, t.index.span);
        }
        return;
      }
      case "expr":
        await this.expr(s.expr, env);
        return;
      case "pipeline":
        await this.statementPipeline(s.pipeline, env);
        return;
      case "if": {
        for (const b of s.branches)
          if (await this.cond(b.cond, env)) return this.block(b.body, env);
        if (s.otherwise !== undefined) return this.block(s.otherwise, env);
        return;
      }
      case "switch": {
        const v = await this.expr(s.value, env);
        for (const w of s.whens)
          if (equal(v, await this.expr(w.value, env))) return this.block(w.body, env);
        if (s.otherwise !== undefined) return this.block(s.otherwise, env);
        return;
      }
      case "for":
        return this.forStmt(s, env);
      case "while": {
        while (await this.cond(s.cond, env)) {
          const f = await this.block(s.body, env);
          if (f === BREAK) break;
          if (f !== undefined) return f;
        }
        return;
      }
      case "break":
        return BREAK;
      case "fn":
        env.vars.set(s.def.binding as number, this.fnValue(s.def, env));
        return;
      case "return":
        return new Return(s.value === undefined ? VOID : copy(await this.expr(s.value, env)));
      case "fail":
        throw new Failure(await this.expr(s.message, env));
      case "exit":
        throw new ExitSignal();
      case "type":
        return;
      case "catch":
        return this.catchStmt(s, env);
      case "cmd":
      case "import":
        return;
      case "unsupported":
        throw new Error("internal: an unsupported statement passed the checker");
    }
  }

  private async forStmt(s: Extract<Stmt, { k: "for" }>, env: Env): Promise<Flow> {
    const [a, b] = s.names.map((n) => n.binding as number) as [number, number | undefined];
    const run = async (x: HValue, y?: HValue): Promise<Flow | "stop"> => {
      const inner = new Env(env);
      inner.vars.set(a, x);
      if (b !== undefined && y !== undefined) inner.vars.set(b, y);
      const f = await this.block(s.body, inner, false);
      if (f === BREAK) return "stop";
      return f;
    };
    if (s.iter.k === "range") {
      const from = (await this.expr(s.iter.from, env)) as { v: bigint };
      const to = (await this.expr(s.iter.to, env)) as { v: bigint };
      const end = s.iter.inclusive ? to.v + 1n : to.v;
      for (let i = from.v; i < end; i++) {
        const f = await run(int(i));
        if (f === "stop") break;
        if (f !== undefined) return f;
      }
      return;
    }
    if (s.iter.k === "glob") {
      let paths: string[];
      try {
        paths = await globPaths(this.host.files, s.iter.pattern);
      } catch (e) {
        if (!(e instanceof NcwError)) throw e;
        throw new PanicAt(`cannot list ${s.iter.pattern}: ${e.message}`, s.iter.span);
      }
      for (const p of paths) {
        const f = await run({ t: "path", v: p });
        if (f === "stop") break;
        if (f !== undefined) return f;
      }
      return;
    }
    const it = await this.expr(s.iter.expr, env);
    if (it.t === "list") {
      const items = [...it.items];
      for (let i = 0; i < items.length; i++) {
        const item = items[i] as HValue;
        const f = b === undefined ? await run(item) : await run(int(BigInt(i)), item);
        if (f === "stop") break;
        if (f !== undefined) return f;
      }
    } else if (it.t === "map") {
      for (const e of [...it.entries.values()]) {
        const f = await run(e.key, e.value);
        if (f === "stop") break;
        if (f !== undefined) return f;
      }
    }
    return;
  }

  private async catchStmt(s: Extract<Stmt, { k: "catch" }>, env: Env): Promise<Flow> {
    let value: HValue;
    try {
      value = await this.expr(s.expr, env);
    } catch (e) {
      if (!(e instanceof Failure)) throw e;
      if (s.err === undefined) return;
      const inner = new Env(env);
      const b = (s.err as { binding?: number }).binding;
      if (b !== undefined) inner.vars.set(b, e.value);
      return this.block(s.err.body, inner, false);
    }
    if (s.ok === undefined) return;
    const inner = new Env(env);
    const b = (s.ok as { binding?: number }).binding;
    if (b !== undefined) inner.vars.set(b, value);
    return this.block(s.ok.body, inner, false);
  }

  private async cond(c: Cond, env: Env): Promise<boolean> {
    if (c.k === "expr") return ((await this.expr(c.expr, env)) as { v: boolean }).v;
    const v = env.get(c.binding as number);
    return c.k === "some" ? v.t !== "null" : v.t === "null";
  }

  private async assign(s: Extract<Stmt, { k: "assign" }>, env: Env): Promise<void> {
    const rhs = await this.expr(s.value, env);
    const compute = async (old: HValue): Promise<HValue> =>
      s.op === "=" ? copy(rhs) : this.binary(s.op.slice(0, -1), old, rhs, s.span);
    const t = s.target;
    if (t.k === "var") {
      const b = t.binding as number;
      env.set(b, coerce(await compute(env.get(b)), s.targetTy));
      return;
    }
    if (t.k === "append") {
      const list = await this.place(t.target, env);
      if (list.t === "list") list.items.push(coerce(copy(rhs), s.targetTy));
      return;
    }
    if (t.k === "field") {
      const st = await this.place(t.target, env);
      if (st.t === "struct") st.fields.set(t.name, await compute(st.fields.get(t.name) as HValue));
      return;
    }
    const container = await this.place(t.target, env);
    const key = await this.expr(t.index, env);
    if (container.t === "list") {
      const i = this.listIndex(container, key, t.index.span);
      container.items[i] = await compute(container.items[i] as HValue);
    } else if (container.t === "map") {
      const id = keyId(key);
      const old = container.entries.get(id);
      if (old === undefined && s.op !== "=")
        throw new PanicAt(`the map has no key ${show(key, true)}`, t.index.span);
      container.entries.set(id, { key, value: await compute(old?.value ?? VOID) });
    }
  }

  /** The stored value a place names (changed in place by the caller). */
  private async place(lv: LValue, env: Env): Promise<HValue> {
    switch (lv.k) {
      case "var":
        return env.get(lv.binding as number);
      case "field": {
        const st = await this.place(lv.target, env);
        return st.t === "struct" ? (st.fields.get(lv.name) as HValue) : VOID;
      }
      case "index": {
        const c = await this.place(lv.target, env);
        return this.indexValue(c, await this.expr(lv.index, env), lv.index.span);
      }
      case "append":
        throw new Error("internal: `[]` is not a value");
    }
  }

  private listIndex(list: { items: HValue[] }, key: HValue, at: Span): number {
    const i = key.t === "int" ? key.v : -1n;
    if (i < 0n || i >= BigInt(list.items.length))
      throw new PanicAt(
        `index ${show(key)} is out of bounds: the list has ${list.items.length} item${list.items.length === 1 ? "" : "s"}`,
        at,
      );
    return Number(i);
  }

  private indexValue(c: HValue, key: HValue, at: Span): HValue {
    if (c.t === "list") return c.items[this.listIndex(c, key, at)] as HValue;
    if (c.t === "map") {
      const e = c.entries.get(keyId(key));
      if (e === undefined) throw new PanicAt(`the map has no key ${show(key, true)}`, at);
      return e.value;
    }
    throw new Error("internal: indexing a value that is not a list or map");
  }

  // ---------------------------------------------------------------------------------------------
  // Functions

  private fnValue(d: FnDef, env: Env): HValue {
    return {
      t: "fn",
      arity: d.params.length,
      call: async (args) => {
        const inner = new Env(env);
        for (let i = 0; i < d.params.length; i++) {
          const p = d.params[i] as FnDef["params"][number];
          const b = (p as { binding?: number }).binding as number;
          const given = args[i];
          const v = given ?? (p.default === undefined ? VOID : await this.expr(p.default, env));
          inner.vars.set(b, coerce(copy(v), p.ty));
        }
        const f = await this.block(d.body, inner, false);
        return f instanceof Return ? f.value : VOID;
      },
    };
  }

  private closure(e: Extract<Expr, { k: "closure" }>, env: Env): HValue {
    const t = e.ty as Extract<HType, { k: "fn" }>;
    return {
      t: "fn",
      arity: e.params.length,
      call: async (args) => {
        const inner = new Env(env);
        e.params.forEach((p, i) => {
          inner.vars.set((p as { binding?: number }).binding as number, args[i] ?? VOID);
        });
        const last = e.body.stmts.at(-1);
        for (const s of e.body.stmts) {
          if (s === last && s.k === "expr" && t.ret.k !== "void")
            return coerce(await this.expr(s.expr, inner), t.ret);
          const f = await this.stmt(s, inner);
          if (f instanceof Return) return f.value;
          if (f !== undefined) break;
        }
        return VOID;
      },
    };
  }

  private async callArgs(args: Expr[], params: HType[] | undefined, env: Env): Promise<HValue[]> {
    const out: HValue[] = [];
    for (let i = 0; i < args.length; i++)
      out.push(coerce(copy(await this.expr(args[i] as Expr, env)), params?.[i]));
    return out;
  }

  // ---------------------------------------------------------------------------------------------
  // Expressions

  async expr(e: Expr, env: Env): Promise<HValue> {
    switch (e.k) {
      case "bool":
        return bool(e.value);
      case "int":
        return int(e.value);
      case "float":
        return { t: "float", v: e.value };
      case "char":
        return { t: "char", v: e.value };
      case "path":
        return { t: "path", v: e.value };
      case "null":
        return NULL;
      case "string": {
        let out = "";
        for (const p of e.parts)
          out += p.k === "text" ? p.text : show(await this.expr(p.expr, env));
        return str(out);
      }
      case "var":
        return env.get(e.binding as number);
      case "list": {
        const item = e.ty?.k === "list" ? e.ty.item : undefined;
        const items: HValue[] = [];
        for (const x of e.items) items.push(coerce(copy(await this.expr(x, env)), item));
        return { t: "list", items };
      }
      case "map": {
        const vt = e.ty?.k === "map" ? e.ty.value : undefined;
        const entries = new Map<string, { key: HValue; value: HValue }>();
        for (const en of e.entries) {
          const key = await this.expr(en.key, env);
          entries.set(keyId(key), { key, value: coerce(copy(await this.expr(en.value, env)), vt) });
        }
        if (e.ty?.k === "struct") return { t: "struct", fields: new Map() };
        return { t: "map", entries };
      }
      case "struct": {
        const fields = new Map<string, HValue>();
        for (const f of e.fields) fields.set(f.name, copy(await this.expr(f.value, env)));
        return { t: "struct", fields };
      }
      case "command":
        return { t: "command", text: commandText(e.command), node: e.command, env };
      case "closure":
        return this.closure(e, env);
      case "nullable":
        return this.expr(e.expr, env);
      case "unary": {
        const v = await this.expr(e.expr, env);
        if (e.op === "!") return bool(!(v as { v: boolean }).v);
        if (e.op === "~") return int(~(v as { v: bigint }).v);
        return v.t === "int"
          ? int(checked(-v.v, e.span))
          : { t: "float", v: -(v as { v: number }).v };
      }
      case "binary": {
        if (e.op === "&&" || e.op === "||") {
          const l = (await this.expr(e.left, env)) as { v: boolean };
          if (e.op === "&&" ? !l.v : l.v) return bool(l.v);
          return bool(((await this.expr(e.right, env)) as { v: boolean }).v);
        }
        const l = await this.expr(e.left, env);
        const r = await this.expr(e.right, env);
        return this.binary(e.op, l, r, e.opSpan);
      }
      case "is": {
        const v = await this.expr(e.expr, env);
        const has = hasType(v, e.target ?? T.unknown);
        return bool(e.negated ? !has : has);
      }
      case "index":
        return this.indexValue(
          await this.expr(e.target, env),
          await this.expr(e.index, env),
          e.index.span,
        );
      case "field": {
        const st = await this.expr(e.target, env);
        return st.t === "struct" ? (st.fields.get(e.name) ?? VOID) : VOID;
      }
      case "call":
        return this.call(e, env);
      case "apply": {
        const f = await this.expr(e.target, env);
        if (f.t === "command") {
          const r = await this.commandValue(f, false);
          if (!r.ok) throw new Failure({ t: "list", items: r.err.map(str) });
          return VOID;
        }
        if (f.t !== "fn") throw new Error("internal: applying a value that is not a function");
        return f.call(await this.callArgs(e.args, e.params, env));
      }
      case "method": {
        const recv = await this.expr(e.target, env);
        const [name, index] = (e.method as string).split("#") as [string, string];
        const recvType = e.target.ty ?? T.unknown;
        const def = methodsOf(recvType)[name]?.[Number(index)];
        if (def === undefined) throw new Error(`internal: no method ${e.method}`);
        const args = await this.callArgs(e.args, def.params, env);
        try {
          return await def.run(recv, args, this.natives);
        } catch (err) {
          if (err instanceof Panic && !(err instanceof PanicAt))
            throw new PanicAt(err.message, e.span);
          throw err;
        }
      }
      case "capture":
        return this.capture(e, env);
      case "retry": {
        const times =
          e.times === undefined ? undefined : ((await this.expr(e.times, env)) as { v: bigint }).v;
        for (let attempt = 0n; ; attempt++) {
          try {
            return await this.expr(e.call, env);
          } catch (err) {
            if (!(err instanceof Failure)) throw err;
            if (times !== undefined && attempt >= times) throw err;
          }
        }
      }
    }
  }

  private async call(e: Extract<Expr, { k: "call" }>, env: Env): Promise<HValue> {
    if (e.native !== undefined) {
      const n = NATIVE_FUNCTIONS[e.native];
      if (n === undefined) throw new Error(`internal: no native ${e.native}`);
      const args = await this.callArgs(e.args, n.params, env);
      try {
        return await n.run(args, this.natives);
      } catch (err) {
        if (err instanceof Panic && !(err instanceof PanicAt))
          throw new PanicAt(err.message, e.span);
        throw err;
      }
    }
    const f = env.get(e.binding as number);
    if (f.t === "command") {
      const r = await this.commandValue(f, false);
      if (!r.ok) throw new Failure({ t: "list", items: r.err.map(str) });
      return VOID;
    }
    if (f.t !== "fn") throw new Error("internal: calling a value that is not a function");
    return f.call(await this.callArgs(e.args, e.params, env));
  }

  binary(op: string, l: HValue, r: HValue, at: Span): HValue {
    if (op === "==") return bool(equal(l, r));
    if (op === "!=") return bool(!equal(l, r));
    if (op === "<" || op === ">" || op === "<=" || op === ">=") {
      const c = compare(l, r);
      return bool(op === "<" ? c < 0 : op === ">" ? c > 0 : op === "<=" ? c <= 0 : c >= 0);
    }
    if (op === "&&") return bool((l as { v: boolean }).v && (r as { v: boolean }).v);
    if (op === "||") return bool((l as { v: boolean }).v || (r as { v: boolean }).v);
    if (l.t === "int" && r.t === "int" && op !== "//") {
      const a = l.v;
      const b = r.v;
      switch (op) {
        case "+":
          return int(checked(a + b, at));
        case "-":
          return int(checked(a - b, at));
        case "*":
          return int(checked(a * b, at));
        case "/":
          if (b === 0n) throw new PanicAt("division by zero", at);
          return int(checked(a / b, at));
        case "%":
          if (b === 0n) throw new PanicAt("remainder of a division by zero", at);
          return int(a % b);
        case "**":
          if (b < 0n)
            throw new PanicAt(`an int to a negative power (${b}): write \`${a}.0 ** ${b}\``, at);
          if (b > 64n && a !== 0n && a !== 1n && a !== -1n)
            throw new PanicAt("integer overflow", at);
          return int(checked(a ** b, at));
        case "&":
          return int(a & b);
        case "|":
          return int(a | b);
        case "^":
          return int(a ^ b);
        case "<<":
        case ">>":
          if (b < 0n || b > 63n) throw new PanicAt(`a shift by ${b}: shifts go from 0 to 63`, at);
          return int(op === "<<" ? BigInt.asIntN(64, a << b) : a >> b);
      }
    }
    const a = l.t === "int" ? Number(l.v) : (l as { v: number }).v;
    const b = r.t === "int" ? Number(r.v) : (r as { v: number }).v;
    switch (op) {
      case "+":
        return { t: "float", v: a + b };
      case "-":
        return { t: "float", v: a - b };
      case "*":
        return { t: "float", v: a * b };
      case "/":
      case "//":
        return { t: "float", v: a / b };
      case "**":
        return { t: "float", v: a ** b };
      default:
        throw new Error(`internal: ${op} on ${l.t} and ${r.t}`);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Commands

  /** A command statement: its value is shown (specs technical/shell.md "Pipes"), its status kept. */
  private async statementPipeline(p: Pipeline, env: Env): Promise<void> {
    const r = await this.pipeline(p, env, false);
    this.state.failedLast = !r.ok;
    this.lineFailed = !r.ok;
    if (!r.ok) {
      // Reported (docs/hydre.md "Failing"): the messages the terminal has not shown (a command
      // before a `|` is captured, a faulty command's reason), then which command failed.
      for (const m of r.unshown ?? []) this.host.writeErr(`${m.replace(/\r?\n$/, "")}\n`);
      if (r.failed !== undefined) this.host.writeErr(`error: the command \`${r.failed}\` failed\n`);
      return;
    }
    if (r.display !== undefined) this.host.write(r.display);
    else if (r.value.t !== "void") this.host.write(this.shown(r.value));
  }

  /** A line's last command for runForValue: run as a command line is, its value kept, not shown. */
  async lastPipeline(p: Pipeline, env: Env): Promise<CommandOutcome> {
    const r = await this.pipeline(p, env, false);
    this.state.failedLast = !r.ok;
    if (!r.ok) {
      for (const m of r.unshown ?? []) this.host.writeErr(`${m.replace(/\r?\n$/, "")}\n`);
      if (r.failed !== undefined) this.host.writeErr(`error: the command \`${r.failed}\` failed\n`);
    }
    return r;
  }

  /** An expression's value (runForValue). */
  value(e: Expr, env: Env): Promise<HValue> {
    return this.expr(e, env);
  }

  private shown(v: HValue): string {
    return this.host.showValue?.(v) ?? `${show(v)}\n`;
  }

  /**
   * A session's input (`ncw shell`): its statements in the session's environment; an expression on
   * its own line at the top level shows its value, as a command's is shown (nushell's way).
   */
  async input(b: Block, env: Env): Promise<void> {
    for (const s of b.stmts) {
      if (s.k === "expr") {
        const v = await this.expr(s.expr, env);
        if (v.t !== "void") this.host.write(this.shown(v));
        continue;
      }
      const f = await this.stmt(s, env);
      if (f !== undefined) return;
    }
  }

  /**
   * The script or input ended: the `$@(…)` streams not read to their end are dropped (their
   * commands' CMDRAW no longer read: their writes fail, and they end), and their runs awaited.
   */
  async dropStreams(): Promise<void> {
    for (const r of this.rawRuns) r.queue.drop();
    await Promise.allSettled([...this.rawRuns].map((r) => r.done));
  }

  /**
   * `$@(a | b)`: the app commands start (their arguments evaluated first, as for any line) and run
   * while the script goes on; the value is a stream of the last one's CMDRAW, read when the script
   * reads it (docs/hydre.md "Streams held by the script"). Its end is the commands' success: one that
   * failed makes reading its end fail with its CMDERR messages, so no reader takes a failed command's
   * stream for whole.
   */
  private async rawCapture(commands: readonly CommandNode[], env: Env): Promise<HValue> {
    const apps: (PreparedApp & { capture: boolean })[] = [];
    for (const c of commands) {
      const prepared = await this.prepare(c as CommandNode, env);
      if (prepared.kind === "done") {
        // `--help`: shown; nothing runs, the stream is empty.
        this.host.write(prepared.outcome.display ?? "");
        const queue = new RawQueue();
        queue.end();
        return { t: "stream", source: queue };
      }
      if (prepared.kind !== "app")
        throw new Error(`internal: ${c.name} in $@(…) is no app command`);
      apps.push({ ...prepared, capture: true });
    }
    const queue = new RawQueue();
    const rawFile: RawFile = {
      target: "$@(…)",
      path: "",
      write: (bytes) => queue.put(bytes),
      end: async () => {},
    };
    const done = this.runGroup(apps, undefined, undefined, rawFile, true).then(
      (outs) => {
        const bad = outs.findIndex((o) => !o.ok);
        if (bad < 0) return queue.end();
        const why = (outs[bad] as PipelineOutcome).err.join("; ");
        const name = (commands[bad] as CommandNode).name;
        queue.end(
          new NcwError("usage", `the command \`${name}\` failed${why === "" ? "" : `: ${why}`}`),
        );
      },
      (e: unknown) => queue.end(e),
    );
    const run = { queue, done };
    this.rawRuns.add(run);
    void done.finally(() => this.rawRuns.delete(run));
    return { t: "stream", source: queue };
  }

  private async capture(e: Extract<Expr, { k: "capture" }>, env: Env): Promise<HValue> {
    if (e.pipe === "raw") return this.rawCapture(e.pipeline.commands, env);
    const r = await this.pipeline(e.pipeline, env, true);
    this.state.failedLast = !r.ok;
    const strings = (xs: string[]): HValue => ({ t: "list", items: xs.map(str) });
    switch (e.pipe) {
      case "out":
        // `$(…)` of a failed command stops the script, unless caught (specs "Reading a command's output").
        if (!r.ok) throw new Failure(strings(r.err));
        return r.value;
      case "msg":
        return strings(r.msg);
      case "err":
        return strings(r.err);
      default:
        return strings([...r.msg, ...r.err]);
    }
  }

  private async pipeline(p: Pipeline, env: Env, capture: boolean): Promise<PipelineOutcome> {
    let input: HValue | undefined;
    let last: PipelineOutcome = { ok: true, value: VOID, msg: [], err: [] };
    // A redirected CMDMSG or CMDERR is captured, to go to its file.
    const keep = p.redirects.some((r) => r.op === "?>" || r.op === "!>" || r.op === "*>");
    const n = p.commands.length;
    // `< file`: the first command's CMDIN (checked: one, after the first command; docs/hydre.md
    // "Files"): its text for a native command or a typed input, its bytes in pieces for a stream.
    const from = p.redirects.find((r) => r.op === "<");
    let file: FileInput | undefined;
    if (from !== undefined) {
      const target =
        from.target.k === "word" ? from.target.text : show(await this.expr(from.target.expr, env));
      try {
        file = { target, ...(await inputFile(this.host.files, target)) };
        if ((this.check.plans.get(p.commands[0] as CommandNode) as CommandPlan).kind === "native")
          input = str(await file.text(MAX_RETURN_SIZE));
      } catch (e) {
        if (!(e instanceof NcwError)) throw e;
        const why = `< ${target}: ${e.message}`;
        return { ok: false, value: VOID, msg: [], err: [why], unshown: [why] };
      }
    }
    // `@> file`: the last command's CMDRAW (checked: an app command's), the file made now.
    const to = p.redirects.find((r) => r.op === "@>");
    let rawFile: RawFile | undefined;
    if (to !== undefined) {
      const target =
        to.target.k === "word" ? to.target.text : show(await this.expr(to.target.expr, env));
      try {
        rawFile = { target, ...(await outputFile(this.host.files, target)) };
      } catch (e) {
        if (!(e instanceof NcwError)) throw e;
        const why = `@> ${target}: ${e.message}`;
        return { ok: false, value: VOID, msg: [], err: [why], unshown: [why] };
      }
    }
    /** Whether command `i`'s messages are kept: the caller's, a redirection's, or a `|` follows it. */
    const kept = (i: number) => capture || keep || i < n - 1;
    /** An app command's (or a native one's) failure, as the line that runs it reports it. */
    const failedAt = (i: number, r: PipelineOutcome): PipelineOutcome => {
      // Named by the line that reports it; the CMDERR messages of a command captured only because
      // a `|` follows it were never shown (nor its reason, faulty).
      if (capture) return r;
      const c = p.commands[i] as CommandNode;
      const plan = this.check.plans.get(c) as CommandPlan;
      const unshown = i < n - 1 && !keep ? r.err : (r.unshown ?? []);
      return {
        ...r,
        unshown,
        ...(plan.kind === "native" || r.byFile === true ? {} : { failed: c.name }),
      };
    };
    let i = 0;
    pipe: while (i < n) {
      const c = p.commands[i] as CommandNode;
      if ((this.check.plans.get(c) as CommandPlan).kind === "native") {
        last = await this.command(c, env, input, kept(i));
        if (!last.ok) {
          last = failedAt(i, last);
          break;
        }
        input = last.value;
        i++;
        continue;
      }
      // The app commands that follow one another run at once, each one's output flowing into the
      // next (docs/hydre.md "Pipes"); their arguments are evaluated first, left to right.
      const group: { at: number; app: PreparedApp }[] = [];
      for (let j = i; j < n; j++) {
        const d = p.commands[j] as CommandNode;
        if ((this.check.plans.get(d) as CommandPlan).kind === "native") break;
        const prepared = await this.prepare(d, env);
        if (prepared.kind === "done") {
          // `--help`: shown, nothing runs; it ends the group as a native command would.
          if (group.length === 0) {
            last = prepared.outcome;
            input = last.value;
            i = j + 1;
            continue pipe;
          }
          break;
        }
        if (prepared.kind !== "app")
          throw new Error(`internal: ${d.name} planned as an app command`);
        group.push({ at: j, app: prepared });
      }
      const outs = await this.runGroup(
        group.map((g) => ({ ...g.app, capture: kept(g.at) })),
        input,
        i === 0 ? file : undefined,
        (group.at(-1) as { at: number }).at === n - 1 ? rawFile : undefined,
      );
      for (const [k, out] of outs.entries()) {
        last = out;
        if (!out.ok) {
          last = failedAt((group[k] as { at: number }).at, out);
          break pipe;
        }
      }
      input = last.value;
      i = (group.at(-1) as { at: number }).at + 1;
    }
    if (!p.redirects.some((r) => r.op !== "<" && r.op !== "@>")) return last;
    return this.redirect(p, env, last, capture || !keep);
  }

  /**
   * Writes the redirected pipes to their files (specs "Redirecting the output to a file"): CMDOUT's
   * value as its `.str()` text (`>` replaces the file, `>>` appends), CMDMSG / CMDERR messages one a
   * line. A failed command writes no CMDOUT. What is not redirected goes on as without redirection.
   */
  private async redirect(
    p: Pipeline,
    env: Env,
    r: PipelineOutcome,
    /** The messages are the caller's (a capture) or were shown already (none was redirected). */
    shown: boolean,
  ): Promise<PipelineOutcome> {
    const lines = (xs: string[]) => xs.map((x) => `${x}\n`).join("");
    let out: PipelineOutcome = r;
    const sent = { msg: false, err: false };
    for (const d of p.redirects) {
      if (d.op === "<" || d.op === "@>") continue; // CMDIN and CMDRAW, while it ran (pipeline)
      const target =
        d.target.k === "word" ? d.target.text : show(await this.expr(d.target.expr, env));
      let content: string | undefined;
      if ((d.op === ">" || d.op === ">>") && r.ok && r.value.t === "stream") {
        // A stream is written as it is, in pieces (docs/hydre.md "Streams held by the script").
        try {
          await writeStreamRedirect(this.host.files, target, r.value, d.op === ">>");
        } catch (e) {
          if (!(e instanceof NcwError)) throw e;
          const why = `${d.op} ${target}: ${e.message}`;
          return {
            ...out,
            ok: false,
            err: [...r.err, why],
            unshown: [...(out.unshown ?? []), why],
          };
        }
        out = { ...out, value: VOID, display: "" };
        continue;
      }
      if (d.op === ">" || d.op === ">>") {
        if (r.ok) content = r.value.t === "void" ? "" : show(r.value);
        out = { ...out, value: VOID, display: "" };
      } else if (d.op === "?>") {
        content = lines(r.msg);
        sent.msg = true;
      } else if (d.op === "!>") {
        content = lines(r.err);
        sent.err = true;
      } else {
        content = lines([...r.msg, ...r.err]);
        sent.msg = sent.err = true;
      }
      if (content === undefined) continue;
      try {
        await writeRedirect(this.host.files, target, content, d.op === ">>");
      } catch (e) {
        if (!(e instanceof NcwError)) throw e;
        const why = `${d.op} ${target}: ${e.message}`;
        return { ...out, ok: false, err: [...r.err, why], unshown: [...(out.unshown ?? []), why] };
      }
    }
    const msg = sent.msg ? [] : r.msg;
    const err = sent.err ? [] : r.err;
    // Captured only for their files: the others are shown as they would have been.
    if (!shown) {
      for (const m of msg) this.host.write(`${m}\n`);
      for (const m of err) this.host.writeErr(`${m}\n`);
    }
    return { ...out, msg, err };
  }

  /** Run a command value (`@{ … }`): its node, with the variables it saw where it was written. */
  /**
   * `command.cmdraw()` (specs "Run the command and get its CMDRAW output"): an app command as
   * `$@(…)` runs it; a native one writes no CMDRAW: it runs (captured) and its stream is empty, its
   * end failing when the command failed. A value from outside the script cannot be run: its
   * stream's end fails.
   */
  private async rawCommandValue(cmd: HValue): Promise<HValue> {
    const ended = (error?: NcwError): HValue => {
      const queue = new RawQueue();
      queue.end(error);
      return { t: "stream", source: queue };
    };
    if (cmd.t !== "command" || cmd.node === undefined)
      return ended(
        new NcwError("usage", "this command value cannot be run (it came from outside the script)"),
      );
    const node = cmd.node;
    if ((this.check.plans.get(node) as CommandPlan).kind === "app")
      return this.rawCapture([node], cmd.env as Env);
    const r = await this.command(node, cmd.env as Env, undefined, true);
    return ended(
      r.ok
        ? undefined
        : new NcwError("usage", `the command \`${node.name}\` failed: ${r.err.join("; ")}`),
    );
  }

  private async commandValue(cmd: HValue, capture: boolean): Promise<CommandOutcome> {
    if (cmd.t !== "command" || cmd.node === undefined)
      return {
        ok: false,
        value: VOID,
        msg: [],
        err: ["this command value cannot be run (it came from outside the script)"],
      };
    const r = await this.command(cmd.node, cmd.env as Env, undefined, capture);
    if (!capture && r.ok) {
      if (r.display !== undefined) this.host.write(r.display);
      else if (r.value.t !== "void") this.host.write(this.shown(r.value));
    }
    return r;
  }

  private async command(
    c: CommandNode,
    env: Env,
    input: HValue | undefined,
    capture: boolean,
  ): Promise<PipelineOutcome> {
    const prepared = await this.prepare(c, env);
    if (prepared.kind === "done") return prepared.outcome;
    if (prepared.kind === "native") return this.native(prepared, c, input, capture);
    const [out] = await this.runGroup([{ ...prepared, capture }], input);
    return out as PipelineOutcome;
  }

  /**
   * A command's words evaluated and read against its typing: an app command ready to start, a
   * native one ready to run, or done already (`--help`).
   */
  private async prepare(c: CommandNode, env: Env): Promise<Prepared> {
    const plan = this.check.plans.get(c) as CommandPlan;
    const spec = plan.kind === "native" ? NATIVE_COMMANDS[plan.name] : plan.app?.spec;
    if (spec === undefined) throw new Error(`internal: no typing for ${c.name}`);
    // The words, values evaluated; a null value leaves its optional argument out (and its dash).
    const words: Word[] = [];
    const evaluated = new Map<number, HValue>();
    /** For each word, the argument it came from (for `-n $flag`: checker.ts flagValues). */
    const argOf: number[] = [];
    for (const [ai, a] of c.args.entries()) {
      if (a.k === "word") {
        words.push(
          a.escaped ? { text: a.text, resolve: () => [{ type: "string", value: a.text }] } : a.text,
        );
        argOf.push(ai);
        continue;
      }
      const v = await this.expr(a.expr, env);
      evaluated.set(ai, v);
      if (v.t === "null") {
        const prev = words.at(-1);
        if (typeof prev === "string" && prev.startsWith("-") && !prev.includes("=")) {
          words.pop();
          argOf.pop();
        }
        continue;
      }
      argOf.push(ai);
      words.push({
        text: show(v, true),
        resolve: (st) => {
          if (st.kind === "base" && st.name === "anystr")
            return [{ type: "string", value: show(v) }];
          const want = fromShellType(st);
          if (want.k === "list" && v.t !== "list") return [toAbi(coerce(v, want.item))];
          if (want.k === "list" && v.t === "list")
            return v.items.map((x) => toAbi(coerce(x, want.item)));
          return [toAbi(coerce(v, want))];
        },
      });
    }
    const flagged = flagValues(spec, words, (i) => {
      const v = evaluated.get(argOf[i] ?? -1);
      return v?.t === "bool" ? v.v : undefined;
    });
    let parsed: ReturnType<typeof parseCommandLine>;
    try {
      parsed = parseCommandLine(plan.name, spec, flagged.words);
    } catch (e) {
      // Checked before the run; only values known now can still break the line (a null that left
      // a required argument out, a list that conflicts): the script stops here.
      if (e instanceof ArgumentError) throw new PanicAt(e.message, c.span);
      throw e;
    }
    if (parsed.kind === "help") {
      const { commandHelp } = await import("../shell/help.js");
      return {
        kind: "done",
        outcome: {
          ok: true,
          value: VOID,
          msg: [],
          err: [],
          display: `${commandHelp(plan.name, spec)}\n`,
        },
      };
    }
    if (plan.kind === "native") return { kind: "native", plan, parsed, evaluated };
    return { kind: "app", plan, parsed };
  }

  /** Run a native command (prepared) with the value piped into it. */
  private async native(
    { plan, parsed, evaluated }: Extract<Prepared, { kind: "native" }>,
    c: CommandNode,
    input: HValue | undefined,
    capture: boolean,
  ): Promise<PipelineOutcome> {
    if (FILE_COMMANDS[plan.name] !== undefined) {
      const r = await runFileCommand(plan.name, parsed.values, this.host.files);
      // A native command's CMDERR goes to the terminal as an app command's does.
      if (!capture) for (const m of r.err) this.host.writeErr(`${m}\n`);
      return r;
    }
    if (plan.name === "cmdin") {
      const t = plan.ret;
      const spec = this.check.command?.spec;
      const declared =
        spec?.cmdin ??
        spec?.args.flatMap((a) => a.arg.if ?? []).find((x) => x.cmdin !== undefined)?.cmdin;
      const v = declared === undefined ? undefined : await this.host.scriptInput(declared);
      return { ok: true, value: v === undefined ? VOID : fromAbi(v, t), msg: [], err: [] };
    }
    if (plan.name === "cmdraw") {
      // The stream read in pieces and written to the script's CMDRAW, each once the one before is
      // taken (docs/hydre.md "Streams held by the script"): to its end before the script goes on,
      // so no other stream is ever pending on CMDRAW meanwhile.
      const v = evaluated.get(0) ?? VOID;
      const source = v.t === "stream" ? v.source : undefined;
      try {
        if (source === undefined)
          throw new NcwError(
            "usage",
            "this stream cannot be read by the script (an app command returned it)",
          );
        for (let b = await source.read(INPUT_CHUNK); b !== null; b = await source.read(INPUT_CHUNK))
          await this.host.writeRaw(b);
      } catch (e) {
        if (!(e instanceof NcwError)) throw e;
        const r = fileFailure(`cmdraw: ${e.message}`);
        if (!capture) for (const m of r.err) this.host.writeErr(`${m}\n`);
        return r;
      }
      return { ok: true, value: VOID, msg: [], err: [] };
    }
    if (plan.name === "cmdout") {
      const a = c.args[0];
      const v =
        a?.k === "expr" ? (evaluated.get(0) ?? VOID) : fromAbi(parsed.values[0] as Value, T.any);
      const want = this.check.command?.spec.return;
      throw new CmdOut(want === undefined ? v : coerce(v, fromShellType(parseShellType(want))));
    }
    if (plan.name === "pass") {
      const a = c.args[0];
      const value =
        a === undefined
          ? (input ?? VOID)
          : a.k === "expr"
            ? (evaluated.get(0) ?? VOID)
            : fromAbi(parsed.values[0] as Value, T.any);
      return { ok: true, value, msg: [], err: [] };
    }
    // echo; `-b <stream>`: the stream read to its end, as UTF-8 (specs "echo": "print a stream as
    // UTF-8"), its text echo's value as any other's.
    const [noNewline, , value] = parsed.values as [Value, Value, Value];
    const streamed = [...evaluated.values()].find((x) => x.t === "stream");
    let text = value.type === "string" ? value.value : "";
    if (streamed !== undefined)
      try {
        text = await streamText(streamed, MAX_RETURN_SIZE);
      } catch (e) {
        if (!(e instanceof NcwError)) throw e;
        const r = fileFailure(`echo: ${e.message}`);
        if (!capture) for (const m of r.err) this.host.writeErr(`${m}\n`);
        return r;
      }
    const nl = noNewline.type === "bool" && noNewline.value ? "" : "\n";
    return { ok: true, value: str(text), msg: [], err: [], display: `${text}${nl}` };
  }

  /**
   * App commands one after the other in a pipeline (`a | b | c`), run at once (docs/hydre.md
   * "Pipes"): each one's CMDIN is the one before's output as its input type reads it — the CMDRAW
   * bytes themselves for a `stream` input, else the CMDOUT value once whole, converted; the first
   * one's is `input` (a native command's value), if any. Their outcomes, in order.
   */
  private async runGroup(
    apps: readonly (PreparedApp & { capture: boolean })[],
    input: HValue | undefined,
    /** `< file`, the first one's CMDIN instead of `input`. */
    file?: FileInput,
    /** `@> file`, where the last one's CMDRAW goes. */
    rawFile?: RawFile,
    /** They run while the script goes on (`$@(…)`). */
    background = false,
  ): Promise<PipelineOutcome[]> {
    /** Why writing `rawFile` failed (the last command's CMDRAW was closed then). */
    let writeFailed: string | undefined;
    /** An internal error while the file of `<` or `@>` was read or written: thrown once they ran. */
    let internal: unknown;
    const rawTo = (bytes: Uint8Array) =>
      (rawFile as RawFile).write(bytes).catch((e: unknown) => {
        if (e instanceof NcwError)
          writeFailed ??= `@> ${(rawFile as RawFile).target}: ${e.message}`;
        else internal ??= e;
        throw e;
      });
    const first = apps[0]?.parsed.cmdin;
    const firstStream = first !== undefined && inputIsStream(first);
    /** Why reading `file` failed while the first command ran (it was killed). */
    let readFailed: string | undefined;
    const failure = (why: string): PipelineOutcome => ({
      ok: false,
      value: VOID,
      msg: [],
      err: [why],
      unshown: [why],
    });
    // Into a typed input, the file's text is a value as `rd`'s is (`rd f | b` would give the same).
    if (file !== undefined && !firstStream)
      try {
        input = str(await file.text(MAX_RETURN_SIZE));
      } catch (e) {
        if (!(e instanceof NcwError)) throw e;
        return [failure(`< ${file.target}: ${e.message}`)];
      }
    if (input?.t === "stream" && input.source === undefined)
      return [failure("this stream cannot be read by the script (an app command returned it)")];
    const stages: AppStage[] = apps.map((a, k) => {
      const cmdin = a.parsed.cmdin === undefined ? undefined : parseShellType(a.parsed.cmdin);
      const stream = cmdin?.kind === "base" && cmdin.name === "stream";
      const want = cmdin === undefined || stream ? undefined : fromShellType(cmdin);
      const base = {
        cmd: a.plan.app as InstalledCommand,
        args: a.parsed.values,
        capture: a.capture,
        ...(rawFile !== undefined && k === apps.length - 1 ? { rawTo } : {}),
        ...(background ? { background: true as const } : {}),
      };
      if (k > 0) {
        if (stream) return { ...base, input: { kind: "previous-raw" } };
        const prevRet = (apps[k - 1] as PreparedApp).plan.ret;
        return {
          ...base,
          input: {
            kind: "previous-value",
            convert: (v) => {
              const h = fromAbi(v, prevRet);
              return h.t === "void" || want === undefined ? null : toAbi(coerce(h, want));
            },
          },
        };
      }
      // The first: the file of `<`, as a stream's bytes; or what a native command before it gave
      // (its value; its text for a stream).
      if (file !== undefined && stream)
        return {
          ...base,
          input: {
            kind: "chunks",
            next: () =>
              file.next().catch((e: unknown) => {
                if (e instanceof NcwError) readFailed = `< ${file.target}: ${e.message}`;
                else internal ??= e;
                throw e;
              }),
          },
        };
      if (input === undefined) return { ...base, input: { kind: "none" } };
      // A stream the script holds (`rd -s f | b`): its bytes, read in pieces as `<`'s are.
      const source = input.t === "stream" ? input.source : undefined;
      if (stream && source !== undefined)
        return {
          ...base,
          input: {
            kind: "chunks",
            next: () =>
              source.read(INPUT_CHUNK).catch((e: unknown) => {
                if (e instanceof NcwError) readFailed = `stream: ${e.message}`;
                else internal ??= e;
                throw e;
              }),
          },
        };
      if (stream)
        return {
          ...base,
          input: {
            kind: "bytes",
            bytes: new TextEncoder().encode(input.t === "void" ? "" : show(input)),
          },
        };
      return {
        ...base,
        input: {
          kind: "value",
          value: input.t === "void" || want === undefined ? null : toAbi(coerce(input, want)),
        },
      };
    });
    const runs = await this.host.runApps(stages);
    if (internal !== undefined) throw internal;
    if (rawFile !== undefined && writeFailed === undefined)
      await rawFile.end().catch((e: unknown) => {
        if (!(e instanceof NcwError)) throw e;
        writeFailed = `@> ${rawFile.target}: ${e.message}`;
      });
    if (writeFailed !== undefined) {
      const k = runs.length - 1;
      const run = runs[k] as AppRun;
      const outs = runs.map((r, j) => {
        const a = apps[j] as PreparedApp & { capture: boolean };
        return this.appOutcome(a, r, a.capture);
      });
      const out = outs[k] as PipelineOutcome;
      // The command's own failure, if any, comes first; the file's is the line's.
      outs[k] = {
        ...out,
        ok: false,
        value: VOID,
        err: [...run.err, writeFailed],
        unshown: [...(out.unshown ?? []), writeFailed],
        ...(out.ok ? { byFile: true } : {}),
      };
      return outs;
    }
    if (readFailed !== undefined) {
      const run = runs[0] as AppRun;
      return [
        { ...failure(readFailed), msg: run.msg, err: [...run.err, readFailed], byFile: true },
      ];
    }
    return runs.map((run, k) => {
      const a = apps[k] as PreparedApp & { capture: boolean };
      return this.appOutcome(a, run, a.capture);
    });
  }

  /** What an app command's run amounted to, as a command's outcome. */
  private appOutcome({ plan }: PreparedApp, run: AppRun, capture: boolean): PipelineOutcome {
    const ret = run.ret;
    if (ret.kind === "value")
      return { ok: true, value: fromAbi(ret.value, plan.ret), msg: run.msg, err: run.err };
    if (ret.kind === "none") return { ok: true, value: VOID, msg: run.msg, err: run.err };
    if (ret.kind === "faulty") {
      const why = `${plan.name} is faulty: ${ret.why}`;
      return {
        ok: false,
        value: VOID,
        msg: run.msg,
        err: [...run.err, why],
        // Not captured, its messages went to the terminal, but this reason is Hydre's own.
        ...(capture ? {} : { unshown: [why] }),
      };
    }
    return { ok: false, value: VOID, msg: run.msg, err: run.err };
  }
}

/** The file of a pipeline's `< file` (fs-commands.ts inputFile), named as the script wrote it. */
type FileInput = Awaited<ReturnType<typeof inputFile>> & { target: string };

/** The file of a pipeline's `@> file` (fs-commands.ts outputFile), named as the script wrote it. */
type RawFile = Awaited<ReturnType<typeof outputFile>> & { target: string };

/** A command ready to run (Evaluator.prepare). */
type Prepared =
  | { kind: "done"; outcome: PipelineOutcome }
  | {
      kind: "native";
      plan: CommandPlan;
      parsed: Extract<ReturnType<typeof parseCommandLine>, { kind: "run" }>;
      evaluated: Map<number, HValue>;
    }
  | PreparedApp;

type PreparedApp = {
  kind: "app";
  plan: CommandPlan;
  parsed: Extract<ReturnType<typeof parseCommandLine>, { kind: "run" }>;
};

/** A command's or a pipeline's outcome, with what the line that runs it reports. */
type PipelineOutcome = CommandOutcome & {
  /** The text a native command shows instead of its value's (`echo`'s, a help). */
  display?: string;
  /** The failed app command, as the script names it (reported by a command line). */
  failed?: string;
  /** CMDERR messages of the failure that the terminal has not shown. */
  unshown?: string[];
  /** The line failed for a redirection's file (`<`, `@>`), not for its command. */
  byFile?: boolean;
};

function checked(n: bigint, at: Span): bigint {
  if (n < I64_MIN || n > I64_MAX) throw new PanicAt("integer overflow (ints are 64-bit)", at);
  return n;
}

/** A command value's text (`.str()`): its words, `-d=4` written `-d 4` (specs "any.str()"). */
function commandText(c: CommandNode): string {
  const words = [c.name];
  for (const a of c.args) {
    if (a.k === "word") {
      const m = /^(-{1,2}[^=\s]+)=(.*)$/.exec(a.text);
      if (m !== null && !a.escaped) words.push(m[1] as string, m[2] as string);
      else words.push(a.text);
    } else
      words.push(
        a.expr.k === "string" && a.expr.parts.every((p) => p.k === "text")
          ? JSON.stringify(a.expr.parts.map((p) => (p.k === "text" ? p.text : "")).join(""))
          : "(…)",
      );
  }
  return words.join(" ");
}
