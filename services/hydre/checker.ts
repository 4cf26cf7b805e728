// Hydre's pre-evaluation checker (specs/shell.md "Pre-evaluation checking"): every name, command,
// argument and type of a script is checked before anything runs, and every problem is reported with its
// span. Commands are checked against their typing: the native ones' (native-commands.ts) and the
// installed apps' manifests (services/shell/commands.ts), through the same argument reader as `ncw exec`
// (services/shell/arguments.ts). The checker also annotates the tree for the evaluator: bindings,
// resolved calls and methods, expression types. Decisions: docs/hydre.md.

import { NcwError } from "../../ncw/errors.js";
import { parseShellType } from "../../ncw/manifest/rules.js";
import type { CommandSpec } from "../../ncw/manifest/types.js";
import { ArgumentError, parseCommandLine, type Word } from "../shell/arguments.js";
import { findCommand, type InstalledCommand } from "../shell/commands.js";
import { LiteralError, parseWord } from "../shell/literals.js";
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
  TypeNode,
} from "./ast.js";
import { FS_COMMANDS, NATIVE_COMMANDS } from "./native-commands.js";
import { type MethodDef, methodsOf, NATIVE_FUNCTIONS } from "./natives.js";
import type { Diagnostic, Span } from "./source.js";
import {
  assignable,
  BASE_NAMES,
  fromShellType,
  type HType,
  isLoose,
  isNumber,
  isOrdered,
  listOf,
  nullable,
  T,
  typeText,
  unify,
} from "./types.js";
import { placeholder } from "./values.js";

interface VarInfo {
  binding: number;
  type: HType;
  /** The type it was declared with (narrowing changes `type` only). */
  declared: HType;
  mutable: boolean;
  fn?: FnSig;
}

export interface FnSig {
  params: HType[];
  min: number;
  ret: HType;
  fallible: boolean;
}

class Scope {
  readonly vars = new Map<string, VarInfo>();
  readonly types = new Map<string, HType>();
  constructor(readonly parent?: Scope) {}
  lookup(name: string): VarInfo | undefined {
    return this.vars.get(name) ?? this.parent?.lookup(name);
  }
  type(name: string): HType | undefined {
    return this.types.get(name) ?? this.parent?.type(name);
  }
}

interface FnContext {
  ret: HType;
  fallible: boolean;
}

/** What the checker knows of the commands outside the script. */
export interface CheckOptions {
  /** The installed apps' commands (the user's), when they were asked for. */
  commands?: readonly InstalledCommand[];
  /** The script's text, to quote its expressions in messages. */
  text?: string;
}

/** A command's resolved typing, for the evaluator. */
export interface CommandPlan {
  kind: "native" | "app";
  name: string;
  app?: InstalledCommand;
  ret: HType;
}

export interface CheckResult {
  diagnostics: Diagnostic[];
  /** Every command node's resolved target. */
  plans: Map<CommandNode, CommandPlan>;
  /** Whether a command name was not found among the natives (the caller may ask for the apps'). */
  unknownCommands: boolean;
  /** The script's command description and its `main` (specs "Commands typing"), when it has one. */
  command?: ScriptCommand;
  /** Checked in a session: what the input declared, for CheckSession.commit. */
  input?: {
    scope: Scope;
    imported: ReadonlyMap<string, string>;
    namespaces: ReadonlyMap<string, string[] | "nonclashing">;
  };
}

export interface ScriptCommand {
  spec: CommandSpec;
  /** `main`'s binding and the types of its arguments (the description's, in its order). */
  main: number;
  params: HType[];
}

/**
 * What an interactive session (`ncw shell`) keeps from one input to the next: the names its inputs
 * declared at their top level (variables, functions, types) and its imports. Each input is checked in
 * a scope of its own inside `top`; `commit` moves what it declared into `top` once it ran.
 */
export class CheckSession {
  readonly top = new Scope();
  nextBinding = 1;
  readonly imported = new Map<string, string>();
  readonly namespaces = new Map<string, string[] | "nonclashing">();

  /** The variables and functions in scope at the prompt, for completion. */
  names(): string[] {
    return [...this.top.vars.keys()].sort();
  }

  /**
   * Keep what a checked input declared. `bound` tells the bindings that received a value: an input
   * that failed halfway leaves the names it did not reach as they were (a shadowed name keeps its
   * older binding).
   */
  commit(r: CheckResult, bound: (binding: number) => boolean): void {
    const input = r.input;
    if (input === undefined) return;
    for (const [name, info] of input.scope.vars)
      if (bound(info.binding)) this.top.vars.set(name, info);
    for (const [name, t] of input.scope.types) this.top.types.set(name, t);
    for (const [k, v] of input.imported) this.imported.set(k, v);
    for (const [k, v] of input.namespaces) this.namespaces.set(k, v);
  }
}

export function checkScript(
  script: Script,
  opts: CheckOptions = {},
  session?: CheckSession,
): CheckResult {
  const c = new Checker(opts, session);
  const first = script.body.stmts.find((s) => s.k === "cmd");
  if (first?.k === "cmd") c.scriptSpec = first.spec;
  c.importAll(script);
  const top = new Scope(session?.top);
  c.top = top;
  c.block(script.body, top, false);
  const command = c.scriptCommand(script, top);
  if (session !== undefined) session.nextBinding = c.bindings();
  return {
    diagnostics: c.diags,
    plans: c.plans,
    unknownCommands: c.unknownCommands,
    ...(command === undefined ? {} : { command }),
    ...(session === undefined
      ? {}
      : { input: { scope: top, imported: c.imported, namespaces: c.namespaces } }),
  };
}

/** The expression is a literal constant (an enumeration's value must be one: specs "Enumerations"). */
const isConstant = (e: Expr) =>
  e.k === "int" || e.k === "float" || (e.k === "string" && e.parts.every((p) => p.k === "text"));

class Checker {
  readonly diags: Diagnostic[] = [];
  readonly plans = new Map<CommandNode, CommandPlan>();
  unknownCommands = false;
  /** Imported commands: the name the script calls them by → their full name (specs "Imports"). */
  readonly imported: Map<string, string>;
  /** Imported namespaces (`ns::command`): the name → the apps (aids) it holds, or the non-clashing one. */
  readonly namespaces: Map<string, string[] | "nonclashing">;

  /**
   * Reads the script's imports (at its top level; they hold for the whole script). They need the
   * installed apps' commands: on the first pass (none asked yet) they only ask for them.
   */
  importAll(script: Script): void {
    const imports = script.body.stmts.filter((s) => s.k === "import");
    if (imports.length === 0) return;
    const all = this.opts.commands;
    if (all === undefined) {
      this.unknownCommands = true;
      return;
    }
    const owner = new Map<string, Span>();
    const bind = (map: Map<string, unknown>, name: string, value: never, at: Span) => {
      if (owner.has(name) || NATIVE_COMMANDS[name] !== undefined) {
        this.report(
          "HYDRE_IMPORT_CLASH",
          NATIVE_COMMANDS[name] !== undefined && !owner.has(name)
            ? `\`${name}\` is a native command: import it under another name (\`as\`)`
            : `\`${name}\` is imported twice: the script cannot run with a name clash`,
          at,
        );
        return;
      }
      owner.set(name, at);
      map.set(name, value);
    };
    const unique = all.filter((c) => all.filter((d) => d.command === c.command).length === 1);
    for (const s of imports) {
      if (s.k !== "import") continue;
      if (s.volatile !== undefined) {
        this.report(
          "HYDRE_UNSUPPORTED",
          `importing a volatile app's commands (\`${s.volatile}\`, specs "Volatile imports") is not supported by NCW's Hydre yet`,
          s.span,
          { kind: "syntax" },
        );
        continue;
      }
      const [dev, app, cmd, ...more] = s.path;
      const none = (what: string) =>
        this.report("HYDRE_UNKNOWN_IMPORT", `no installed app exposes ${what}`, s.span, {
          hint: "`ncw commands` lists the commands of the installed apps",
        });
      const nonclashing = dev === "shell" && app === "nonclashing";
      if (more.length > 0 || dev === undefined) {
        none(s.path.join("::"));
        continue;
      }
      if (app === undefined) {
        // `import dev::*`: every app of the developer, as a namespace.
        if (!s.star) {
          none(`an app or command named ${dev}`);
          continue;
        }
        const apps = [
          ...new Set(all.filter((c) => c.aid.startsWith(`${dev}::`)).map((c) => c.aid)),
        ];
        if (apps.length === 0) none(`commands of a developer ${dev}`);
        for (const aid of apps)
          bind(this.namespaces, aid.slice(dev.length + 2), [aid] as never, s.span);
        continue;
      }
      const aid = `${dev}::${app}`;
      const ofApp = nonclashing ? unique : all.filter((c) => c.aid === aid);
      if (ofApp.length === 0) {
        none(`commands of an app ${aid}`);
        continue;
      }
      const names =
        cmd !== undefined
          ? [cmd]
          : s.items !== undefined
            ? s.items
            : s.star
              ? ofApp.map((c) => c.command)
              : undefined;
      if (names === undefined) {
        // `import dev::app [as x]`: the app as a namespace.
        bind(
          this.namespaces,
          s.alias ?? app,
          (nonclashing ? "nonclashing" : [aid]) as never,
          s.span,
        );
        continue;
      }
      for (const n of names) {
        const c = ofApp.find((x) => x.command === n);
        if (c === undefined) {
          none(`a command ${n} in ${nonclashing ? "the non-clashing namespace" : aid}`);
          continue;
        }
        const local =
          names.length === 1 && cmd !== undefined && s.alias !== undefined ? s.alias : n;
        bind(this.imported, local, c.name as never, s.span);
      }
    }
  }

  /** The full name a script's command name stands for, through its imports (else the name itself). */
  private importedName(name: string): string {
    const full = this.imported.get(name);
    if (full !== undefined) return full;
    const at = name.lastIndexOf("::");
    if (at < 0) return name;
    const ns = this.namespaces.get(name.slice(0, at));
    const command = name.slice(at + 2);
    if (ns === undefined) return name;
    if (ns === "nonclashing") {
      const all = this.opts.commands ?? [];
      const hits = all.filter((c) => c.command === command);
      // Only a name no other app exposes is in the non-clashing namespace.
      return hits.length === 1
        ? (hits[0] as InstalledCommand).name
        : `shell::nonclashing.${command}`;
    }
    return `${ns[0]}.${command}`;
  }

  /** The script's top-level scope (imports and `cmd` are written there only). */
  top: Scope | undefined;
  /** The script's command description, when it has one (for `cmdin` and `cmdout`). */
  scriptSpec: CommandSpec | undefined;
  private nextBinding: number;
  private fnStack: FnContext[] = [];
  private loops = 0;

  constructor(
    private readonly opts: CheckOptions,
    session?: CheckSession,
  ) {
    // In a session, bindings go on from the last input's (the session's values are kept by binding).
    this.nextBinding = session?.nextBinding ?? 1;
    this.imported = new Map(session?.imported);
    this.namespaces = new Map(session?.namespaces);
  }

  bindings(): number {
    return this.nextBinding;
  }

  /**
   * A script's command description (`cmd`, at the top level, once) and its `main`: declared at the top
   * level, taking the described arguments by name and in order, each of its type (an optional one
   * nullable, a flag a bool, an `anystr` a string), returning the described type (specs "Commands
   * typing").
   */
  scriptCommand(script: Script, top: Scope): ScriptCommand | undefined {
    const cmds = script.body.stmts.filter((s) => s.k === "cmd");
    for (const extra of cmds.slice(1))
      this.report("HYDRE_CMD", "a script has one command description", extra.span);
    const cmd = cmds[0];
    if (cmd === undefined || cmd.k !== "cmd") return undefined;
    const spec = cmd.spec;
    const want: { name: string; type: HType }[] = [];
    let ok = true;
    const bad = (message: string) => {
      ok = false;
      this.report("HYDRE_CMD", message, cmd.span);
    };
    for (const t of [spec.return, spec.cmdin])
      if (t !== undefined && shellType(t).k === "unknown") bad(`\`${t}\` is not a type`);
    for (const { name, arg } of spec.args) {
      if (arg.syntax === "flag") {
        if (arg.type !== undefined) bad(`the flag ${name} takes no type`);
        want.push({ name, type: T.bool });
        continue;
      }
      if (arg.syntax === "dash" && arg.short === undefined && arg.long === undefined)
        bad(`the dash argument ${name} needs a short or a long name`);
      if (arg.optional === true && arg.default !== undefined)
        bad(`the argument ${name} is optional or has a default, not both`);
      if (arg.type === undefined) {
        bad(`the argument ${name} needs a type`);
        continue;
      }
      const t = arg.type === "anystr" ? T.string : shellType(arg.type);
      if (t.k === "unknown") bad(`\`${arg.type}\` (argument ${name}) is not a type`);
      want.push({ name, type: arg.optional === true ? nullable(t) : t });
    }
    const def = script.body.stmts.find((s) => s.k === "fn" && s.def.name === "main");
    if (def === undefined || def.k !== "fn") {
      this.report(
        "HYDRE_NO_MAIN",
        "a script with a command description needs a `main` function, at the top level",
        cmd.span,
        { hint: `fn main(${want.map((w) => `${w.name}: ${typeText(w.type)}`).join(", ")})` },
      );
      return undefined;
    }
    const d = def.def;
    const params = d.params.map((p) => p.ty ?? T.unknown);
    const shape = want.map((w) => `${w.name}: ${typeText(w.type)}`).join(", ");
    if (
      d.params.length !== want.length ||
      want.some((w, i) => {
        const p = d.params[i];
        return p === undefined || p.name !== w.name || !assignable(params[i] as HType, w.type);
      })
    ) {
      this.report(
        "HYDRE_MAIN_ARGS",
        `\`main\` takes the described arguments, by name and in order: main(${shape})`,
        d.nameSpan,
      );
      return undefined;
    }
    const ret = spec.return === undefined ? T.void : shellType(spec.return);
    const got = top.lookup("main")?.fn?.ret ?? T.void;
    if (ret.k !== "unknown" && !(ret.k === "void" ? got.k === "void" : assignable(ret, got))) {
      this.report(
        "HYDRE_MAIN_ARGS",
        `\`main\` returns ${typeText(got)}, the command description says ${typeText(ret)}`,
        d.nameSpan,
      );
      return undefined;
    }
    if (!ok) return undefined;
    return { spec, main: d.binding as number, params };
  }

  private report(
    code: string,
    message: string,
    span: Span,
    extra: { expected?: string; hint?: string; kind?: Diagnostic["kind"] } = {},
  ): HType {
    this.diags.push({
      kind: extra.kind ?? (code.startsWith("ARG_") ? "argument" : "type"),
      code,
      message,
      span,
      ...(extra.expected === undefined ? {} : { expected: extra.expected }),
      ...(extra.hint === undefined ? {} : { hint: extra.hint }),
    });
    return T.unknown;
  }

  private mismatch(want: HType, got: HType, span: Span, what: string): void {
    const nullHint =
      got.k === "nullable" && assignable(want, got.inner)
        ? "the value may be null: use `.unwrap()`, `.default(x)`, or check it with `if some x`"
        : got.k === "int" && want.k === "path"
          ? undefined
          : got.k === "path" && isNumber(want)
            ? "`a/b` without spaces is a path: write `a / b` to divide"
            : undefined;
    this.report(
      "HYDRE_TYPE_MISMATCH",
      `${what}: expected ${typeText(want)}, found ${typeText(got)}`,
      span,
      {
        expected: `expected ${typeText(want)}`,
        ...(nullHint === undefined ? {} : { hint: nullHint }),
      },
    );
  }

  private expectType(want: HType, e: Expr, scope: Scope, what: string): HType {
    const got = this.expr(e, scope, want);
    if (!assignable(want, got)) this.mismatch(want, got, e.span, what);
    return got;
  }

  private declare(scope: Scope, name: string, type: HType, mutable: boolean, fn?: FnSig): number {
    const binding = this.nextBinding++;
    scope.vars.set(name, {
      binding,
      type,
      declared: type,
      mutable,
      ...(fn === undefined ? {} : { fn }),
    });
    return binding;
  }

  // ---------------------------------------------------------------------------------------------
  // Types as written

  resolveType(t: TypeNode, scope: Scope): HType {
    switch (t.k) {
      case "name": {
        if ((BASE_NAMES as readonly string[]).includes(t.name)) return { k: t.name } as HType;
        if (t.name === "anystr") return T.string;
        const alias = scope.type(t.name);
        if (alias !== undefined) return alias;
        return this.report("HYDRE_UNKNOWN_TYPE", `unknown type \`${t.name}\``, t.span, {
          hint: `the types: ${BASE_NAMES.join(", ")}, list[T], map[K, V], struct { … }, fn (…), T?, or a \`type\` alias`,
        });
      }
      case "list":
        return listOf(this.resolveType(t.item, scope));
      case "map":
        return {
          k: "map",
          key: this.resolveType(t.key, scope),
          value: this.resolveType(t.value, scope),
        };
      case "struct": {
        const seen = new Set<string>();
        for (const f of t.fields) {
          if (seen.has(f.name))
            this.report(
              "HYDRE_DUPLICATE_FIELD",
              `the field \`${f.name}\` is declared twice`,
              t.span,
            );
          seen.add(f.name);
        }
        return {
          k: "struct",
          fields: t.fields.map((f) => ({ name: f.name, type: this.resolveType(f.type, scope) })),
        };
      }
      case "enum":
        return { k: "enum", values: t.values };
      case "fn":
        return {
          k: "fn",
          params: t.params.map((p) => this.resolveType(p, scope)),
          ret: t.ret === undefined ? T.void : this.resolveType(t.ret, scope),
          fallible: t.fallible,
        };
      case "nullable": {
        const inner = this.resolveType(t.inner, scope);
        if (inner.k === "nullable")
          return this.report("HYDRE_NESTED_NULLABLE", "nullable types do not nest", t.span);
        if (inner.k === "void") return this.report("HYDRE_TYPE", "`void?` is not a type", t.span);
        return nullable(inner);
      }
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Statements

  block(b: Block, scope: Scope, newScope = true): void {
    const s = newScope ? new Scope(scope) : scope;
    for (const stmt of b.stmts) this.stmt(stmt, s);
  }

  private stmt(s: Stmt, scope: Scope): void {
    switch (s.k) {
      case "let": {
        const declared = s.type === undefined ? undefined : this.resolveType(s.type, scope);
        let t =
          declared === undefined
            ? this.expr(s.value, scope)
            : this.expectType(declared, s.value, scope, `the value of \`${s.name}\``);
        if (declared !== undefined) {
          t = declared;
          s.declared = declared;
        }
        if (t.k === "void") {
          this.report(
            "HYDRE_VOID_VALUE",
            `\`${s.name}\` would hold no value: the expression gives void`,
            s.value.span,
          );
          t = T.unknown;
        }
        if (t.k === "null") {
          this.report(
            "HYDRE_NULL_TYPE",
            `\`${s.name}\` = null needs a type: write \`let ${s.name}: T? = null\``,
            s.value.span,
            {
              hint: 'null has no type of its own (specs "Nullable types")',
            },
          );
          t = T.unknown;
        }
        if (
          t.k === "never" ||
          (t.k === "list" && t.item.k === "never") ||
          (t.k === "map" && t.key.k === "never")
        )
          if (declared === undefined && t.k !== "never")
            this.report(
              "HYDRE_EMPTY_LITERAL",
              `the type of \`${s.name}\` cannot be told from an empty literal`,
              s.value.span,
              {
                hint: `give it a type: \`let ${s.mutable ? "mut " : ""}${s.name}: list[string] = []\``,
              },
            );
        // Shadowing (specs "Variables shadowing"): the value is checked in the old scope, then bound.
        s.binding = this.declare(scope, s.name, t, s.mutable);
        return;
      }
      case "discard":
        this.expr(s.value, scope);
        return;
      case "assign":
        this.assign(s, scope);
        return;
      case "incdec": {
        const v = scope.lookup(s.name);
        if (v === undefined || v.fn !== undefined) {
          // Not a variable: the command `name ++` / `name --`.
          if (s.asCommand !== undefined) this.pipeline(s.asCommand, scope);
          return;
        }
        s.asCommand = undefined;
        s.binding = v.binding;
        if (!v.mutable) this.notMutable(s.name, s.nameSpan);
        if (!isNumber(v.type) && !isLoose(v.type))
          this.report(
            "HYDRE_TYPE_MISMATCH",
            `\`${s.op}\` needs a number, \`${s.name}\` is ${an(v.type)}`,
            s.span,
          );
        return;
      }
      case "delete": {
        const t = s.target;
        if (t.k !== "index") {
          this.report(
            "HYDRE_DELETE",
            "`delete` removes a list's item or a map's key: `delete names[0]`",
            s.span,
          );
          return;
        }
        const container = this.lvalue(t.target, scope, true);
        this.indexType(container, t.index, scope, t.span);
        return;
      }
      case "expr": {
        this.expr(s.expr, scope);
        return;
      }
      case "pipeline":
        this.pipeline(s.pipeline, scope);
        return;
      case "if": {
        const exits: boolean[] = [];
        let after: { name: string; info: VarInfo }[] = [];
        for (const b of s.branches) {
          const inner = new Scope(scope);
          const n = this.cond(b.cond, scope);
          for (const x of n.inside) inner.vars.set(x.name, x.info);
          this.block(b.body, inner, false);
          exits.push(blockExits(b.body));
          after = n.otherwise;
          // elif / else see the narrowing of the previous condition being false.
          if (s.branches.length === 1) break;
        }
        if (s.otherwise !== undefined) {
          const inner = new Scope(scope);
          if (s.branches.length === 1) for (const x of after) inner.vars.set(x.name, x.info);
          this.block(s.otherwise, inner, false);
        }
        // `if none b exit end`: b is its inner type for the rest of the block (specs "Handle the null value").
        if (s.branches.length === 1 && s.otherwise === undefined && exits[0] === true)
          for (const x of after) scope.vars.set(x.name, x.info);
        return;
      }
      case "switch": {
        const t = this.expr(s.value, scope);
        for (const w of s.whens) {
          const wt = this.expr(w.value, scope, t);
          if (!assignable(t, wt) && !assignable(wt, t))
            this.mismatch(
              t,
              wt,
              w.value.span,
              "this `when` value is never equal to the switch's value",
            );
          this.block(w.body, scope);
        }
        if (s.otherwise !== undefined) this.block(s.otherwise, scope);
        return;
      }
      case "for": {
        const inner = new Scope(scope);
        let types: HType[];
        if (s.iter.k === "range") {
          this.expectType(T.int, s.iter.from, scope, "a range's start");
          this.expectType(T.int, s.iter.to, scope, "a range's end");
          if (s.names.length > 1)
            this.report(
              "HYDRE_FOR_NAMES",
              "a range loop has one variable",
              (s.names[1] as { span: Span }).span,
            );
          types = [T.int, T.int];
        } else if (s.iter.k === "glob") {
          if (s.names.length > 1)
            this.report(
              "HYDRE_FOR_NAMES",
              "a filesystem loop has one variable (the path)",
              (s.names[1] as { span: Span }).span,
            );
          types = [T.path];
        } else {
          const t = this.expr(s.iter.expr, scope);
          if (t.k === "list") types = s.names.length === 2 ? [T.int, t.item] : [t.item];
          else if (t.k === "map") types = s.names.length === 2 ? [t.key, t.value] : [t.key];
          else {
            if (!isLoose(t))
              this.report(
                "HYDRE_NOT_ITERABLE",
                `${an(t)} cannot be iterated: \`for\` takes a range, a list or a map`,
                s.iter.expr.span,
              );
            types = [T.unknown, T.unknown];
          }
        }
        s.names.forEach((n, i) => {
          n.binding = this.declare(inner, n.name, types[i] ?? T.unknown, false);
        });
        this.loops++;
        this.block(s.body, inner, false);
        this.loops--;
        return;
      }
      case "while": {
        const inner = new Scope(scope);
        const n = this.cond(s.cond, scope);
        for (const x of n.inside) inner.vars.set(x.name, x.info);
        this.loops++;
        this.block(s.body, inner, false);
        this.loops--;
        return;
      }
      case "break":
        if (this.loops === 0)
          this.report("HYDRE_BREAK_OUTSIDE_LOOP", "`break` outside of a loop", s.span);
        return;
      case "fn":
        this.fnDef(s.def, scope);
        return;
      case "return": {
        const f = this.fnStack.at(-1);
        if (f === undefined) {
          this.report("HYDRE_RETURN_OUTSIDE_FN", "`return` outside of a function", s.span, {
            hint: "`exit` ends the script",
          });
          return;
        }
        if (s.value === undefined) {
          if (f.ret.k !== "void" && !isLoose(f.ret))
            this.report(
              "HYDRE_MISSING_VALUE",
              `this function returns ${an(f.ret)}: \`return\` needs a value`,
              s.span,
            );
        } else if (f.ret.k === "void") {
          this.expr(s.value, scope);
          this.report(
            "HYDRE_RETURN_VALUE",
            "this function declares no return type: it cannot return a value",
            s.value.span,
            {
              hint: "declare one: `fn name(…) -> int`",
            },
          );
        } else this.expectType(f.ret, s.value, scope, "the returned value");
        return;
      }
      case "fail": {
        const f = this.fnStack.at(-1);
        if (f !== undefined && !f.fallible)
          this.report(
            "HYDRE_FAIL_NOT_FALLIBLE",
            "`fail` in a function that is not `fallible`",
            s.span,
            {
              hint: "declare it `-> fallible` (or `-> fallible T`)",
            },
          );
        this.expectType(T.string, s.message, scope, "a failure's message");
        return;
      }
      case "exit":
        return;
      case "type":
        scope.types.set(s.name, this.resolveType(s.type, scope));
        return;
      case "catch":
        this.catchStmt(s, scope);
        return;
      case "import":
        // Read before the script (importAll); only at the top level.
        if (scope !== this.top)
          this.report("HYDRE_IMPORT", "imports are at the top level of the script", s.span);
        return;
      case "cmd":
        // Checked with `main` once the script is (scriptCommand); only at the top level.
        if (scope !== this.top)
          this.report(
            "HYDRE_CMD",
            "a command description is at the top level of the script",
            s.span,
          );
        return;
      case "unsupported":
        this.report(
          "HYDRE_UNSUPPORTED",
          `\`${s.what}\` (specs/shell-scripting.md "${s.section}") is not supported by NCW yet`,
          s.span,
          {
            kind: "syntax",
            hint: "docs/hydre.md lists what NCW's Hydre runs",
          },
        );
        return;
    }
  }

  private notMutable(name: string, span: Span): void {
    this.report("HYDRE_NOT_MUTABLE", `\`${name}\` is not mutable`, span, {
      hint: `declare it \`let mut ${name} = …\` to change it`,
    });
  }

  private assign(s: Extract<Stmt, { k: "assign" }>, scope: Scope): void {
    const target = this.lvalue(s.target, scope, true);
    s.targetTy = target;
    if (s.op === "=") {
      const got = this.expr(s.value, scope, target);
      if (!assignable(target, got))
        this.report(
          "HYDRE_TYPE_MISMATCH",
          `cannot assign ${an(got)} to ${lvText(s.target)}, ${an(target)}`,
          s.value.span,
          {
            expected: `expected ${typeText(target)}`,
            ...(got.k === "nullable" && assignable(target, got.inner)
              ? {
                  hint: "the value may be null: use `.unwrap()`, `.default(x)`, or check it with `if some x`",
                }
              : {}),
          },
        );
      return;
    }
    const op = s.op.slice(0, -1) as Extract<Expr, { k: "binary" }>["op"];
    const right = this.expr(s.value, scope);
    // `a &&= 1` on an int: the result's type is the error (specs "Assignment operators").
    if ((op === "&&" || op === "||") && target.k !== "bool" && !isLoose(target)) {
      this.report(
        "HYDRE_TYPE_MISMATCH",
        `cannot assign a bool to ${lvText(s.target)}, ${an(target)}`,
        s.span,
        {
          expected: `\`${s.op}\` gives a bool`,
        },
      );
      return;
    }
    const result = this.binaryType(op, target, right, s.opSpan, s.value.span);
    if (!isLoose(result) && !assignable(target, result))
      this.report(
        "HYDRE_TYPE_MISMATCH",
        `cannot assign ${an(result)} to ${lvText(s.target)}, ${an(target)}`,
        s.span,
        {
          expected: `\`${s.op}\` gives ${an(result)}`,
        },
      );
  }

  /** The type of a place; `write`: it is being changed (its variable must be mutable). */
  private lvalue(lv: LValue, scope: Scope, write: boolean): HType {
    switch (lv.k) {
      case "var": {
        const v = scope.lookup(lv.name);
        if (v === undefined) return this.unknownName(lv.name, lv.span, scope);
        lv.binding = v.binding;
        if (write && !v.mutable) this.notMutable(lv.name, lv.span);
        return v.type;
      }
      case "append": {
        const t = this.lvalue(lv.target, scope, write);
        if (t.k === "list") return t.item;
        if (!isLoose(t))
          this.report(
            "HYDRE_TYPE_MISMATCH",
            `\`[] =\` appends to a list, this is ${an(t)}`,
            lv.span,
          );
        return T.unknown;
      }
      case "index":
        return this.indexType(this.lvalue(lv.target, scope, write), lv.index, scope, lv.span);
      case "field":
        return this.fieldType(this.lvalue(lv.target, scope, write), lv.name, lv.span);
    }
  }

  private unknownName(name: string, span: Span, scope: Scope): HType {
    const native = NATIVE_FUNCTIONS[name] !== undefined;
    void scope;
    return this.report("HYDRE_UNKNOWN_NAME", `\`${name}\` is not in scope`, span, {
      kind: "scope",
      ...(native ? { hint: `\`${name}\` is a native function: call it \`${name}(…)\`` } : {}),
    });
  }

  private indexType(t: HType, index: Expr, scope: Scope, span: Span): HType {
    if (t.k === "list") {
      this.expectType(T.int, index, scope, "a list's index");
      return t.item;
    }
    if (t.k === "map") {
      this.expectType(t.key, index, scope, "a map's key");
      return t.value;
    }
    this.expr(index, scope);
    if (isLoose(t)) return T.unknown;
    return this.report("HYDRE_NOT_INDEXABLE", `${an(t)} has no items to index`, span, {
      ...(t.k === "nullable" ? { hint: "the value may be null: unwrap it first" } : {}),
    });
  }

  private fieldType(t: HType, name: string, span: Span): HType {
    if (t.k === "struct") {
      const f = t.fields.find((x) => x.name === name);
      if (f !== undefined) return f.type;
      return this.report("HYDRE_UNKNOWN_FIELD", `${typeText(t)} has no field \`${name}\``, span, {
        hint: `its fields: ${t.fields.map((x) => x.name).join(", ")}`,
      });
    }
    if (isLoose(t)) return T.unknown;
    return this.report("HYDRE_UNKNOWN_FIELD", `${an(t)} has no fields (\`${name}\`)`, span);
  }

  /** A condition's type check and what it narrows: in the body (`inside`) and past it (`otherwise`). */
  private cond(
    c: Cond,
    scope: Scope,
  ): { inside: { name: string; info: VarInfo }[]; otherwise: { name: string; info: VarInfo }[] } {
    if (c.k === "expr") {
      this.expectType(T.bool, c.expr, scope, "a condition");
      const e = c.expr;
      if (e.k === "is" && e.expr.k === "var" && e.target !== undefined) {
        const v = scope.lookup(e.expr.name);
        if (v !== undefined) {
          const narrowed = { name: e.expr.name, info: { ...v, type: e.target } };
          return e.negated
            ? { inside: [], otherwise: [narrowed] }
            : { inside: [narrowed], otherwise: [] };
        }
      }
      return { inside: [], otherwise: [] };
    }
    const v = scope.lookup(c.name);
    if (v === undefined) {
      this.unknownName(c.name, c.span, scope);
      return { inside: [], otherwise: [] };
    }
    c.binding = v.binding;
    if (v.type.k !== "nullable") {
      if (!isLoose(v.type))
        this.report(
          "HYDRE_NOT_NULLABLE",
          `\`${c.name}\` is ${an(v.type)}, never null: \`${c.k}\` tests a nullable`,
          c.span,
        );
      return { inside: [], otherwise: [] };
    }
    const inner = { name: c.name, info: { ...v, type: v.type.inner } };
    return c.k === "some" ? { inside: [inner], otherwise: [] } : { inside: [], otherwise: [inner] };
  }

  private fnDef(d: FnDef, scope: Scope): void {
    const inner = new Scope(scope);
    const params: HType[] = [];
    let min = 0;
    let seenDefault = false;
    for (const p of d.params) {
      let t = p.type === undefined ? undefined : this.resolveType(p.type, scope);
      if (p.default !== undefined) {
        const dt =
          t === undefined
            ? this.expr(p.default, scope)
            : this.expectType(t, p.default, scope, `the default of \`${p.name}\``);
        t ??= dt;
        seenDefault = true;
      } else {
        if (seenDefault)
          this.report(
            "HYDRE_DEFAULT_ORDER",
            `\`${p.name}\` has no default but comes after one that has`,
            p.span,
          );
        min++;
      }
      params.push(t ?? T.unknown);
    }
    const ret = d.ret === undefined ? T.void : this.resolveType(d.ret, scope);
    const sig: FnSig = { params, min, ret, fallible: d.fallible };
    // The function is visible from its definition on, and in its own body (docs/hydre.md "Functions").
    d.binding = this.declare(
      scope,
      d.name,
      { k: "fn", params, ret, fallible: d.fallible },
      false,
      sig,
    );
    inner.vars.set(d.name, scope.vars.get(d.name) as VarInfo);
    d.params.forEach((p, i) => {
      p.ty = params[i] as HType;
      p.binding = this.declare(inner, p.name, p.ty, false);
    });
    this.fnStack.push({ ret, fallible: d.fallible });
    const loops = this.loops;
    this.loops = 0;
    this.block(d.body, inner, false);
    this.loops = loops;
    this.fnStack.pop();
    if (ret.k !== "void" && !isLoose(ret) && !blockExits(d.body, false))
      this.report(
        "HYDRE_MISSING_RETURN",
        `\`${d.name}\` returns ${an(ret)}, but not on every path`,
        d.span,
        {
          hint: "every path of its body ends with `return`, `fail` or `exit`",
        },
      );
  }

  private catchStmt(s: Extract<Stmt, { k: "catch" }>, scope: Scope): void {
    const e = s.expr;
    let okType: HType = T.unknown;
    let errType: HType = T.string;
    if (e.k === "capture") {
      okType = this.expr(e, scope);
      errType = listOf(T.string);
      (e as { caught?: boolean }).caught = true;
    } else if (e.k === "call" || e.k === "method" || e.k === "apply" || e.k === "retry") {
      okType = this.expr(e, scope);
      if (!(e as { fallible?: boolean }).fallible && !isLoose(okType))
        this.report(
          "HYDRE_NOT_FALLIBLE",
          "this call never fails: there is nothing to catch",
          e.span,
          {
            hint: "`catch` takes a call to a `fallible` function or a `$(command)`",
          },
        );
    } else {
      this.expr(e, scope);
      this.report("HYDRE_CATCH", "`catch` takes a function call or a `$(command)`", e.span);
    }
    for (const [arm, t] of [
      [s.ok, okType],
      [s.err, errType],
    ] as const) {
      if (arm === undefined) continue;
      const inner = new Scope(scope);
      if (arm.name !== "_")
        (arm as { binding?: number }).binding = this.declare(
          inner,
          arm.name,
          t.k === "void" ? T.unknown : t,
          false,
        );
      this.block(arm.body, inner, false);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Commands

  /** The command being checked gets its CMDIN from `< file` (its messages say so). */
  private inputFromFile = false;

  pipeline(p: Pipeline, scope: Scope, capture = false): HType {
    // `< file`: the first command's CMDIN, the file's text as a `string` (a `stream` input takes its
    // bytes; docs/hydre.md "Files").
    const fromFile = p.redirects.filter((r) => r.op === "<");
    for (const [k, r] of fromFile.entries()) {
      if (r.after !== 0)
        this.report(
          "HYDRE_REDIRECT",
          "`<` gives the pipeline's first command its CMDIN: the others get theirs from `|`",
          r.span,
          { hint: "write it after the first command: `a < ./file | b`" },
        );
      else if (k > 0)
        this.report("HYDRE_REDIRECT", "a command has one CMDIN: one `<` only", r.span);
    }
    let input: HType | undefined = fromFile.length > 0 ? T.string : undefined;
    let ret: HType = T.void;
    p.commands.forEach((c, i) => {
      this.inputFromFile = i === 0 && fromFile.length > 0;
      ret = this.command(c, scope, input, i < p.commands.length - 1 || capture);
      this.inputFromFile = false;
      input = ret;
    });
    // `@> file`: the last command's CMDRAW, an app command's (docs/hydre.md "Files").
    const toFile = p.redirects.filter((r) => r.op === "@>");
    const lastCmd = p.commands.at(-1) as CommandNode;
    for (const [k, r] of toFile.entries()) {
      if (r.after !== p.commands.length - 1)
        this.report(
          "HYDRE_REDIRECT",
          "`@>` takes the pipeline's last command's CMDRAW: a command before a `|` gives its output to the next one",
          r.span,
          { hint: "write it after the last command: `a | b @> ./file`" },
        );
      else if (k > 0)
        this.report("HYDRE_REDIRECT", "a command has one CMDRAW: one `@>` only", r.span);
      else if (lastCmd.target?.kind === "native")
        this.report(
          "HYDRE_REDIRECT",
          `\`${lastCmd.name}\` is a native command: it writes no CMDRAW for \`@>\``,
          r.span,
          { hint: "`>` writes a command's value to a file" },
        );
    }
    for (const r of p.redirects) {
      // The file: a word is a path (`> out.txt` too: after a redirection nothing else is meant); a
      // value is a path or a string (docs/hydre.md "Files").
      if (r.target.k === "expr") {
        const t = this.expr(r.target.expr, scope);
        if (!assignable(T.path, t) && !assignable(T.string, t))
          this.report(
            "HYDRE_TYPE_MISMATCH",
            `the file of \`${r.op}\` is a path or a string, not ${an(t)}`,
            r.target.span,
            { expected: "expected path" },
          );
      }
      // `>` and `>>` take CMDOUT to the file: the command's value is no longer there.
      if (r.op === ">" || r.op === ">>") ret = T.void;
    }
    return ret;
  }

  private command(c: CommandNode, scope: Scope, input: HType | undefined, piped: boolean): HType {
    let spec = NATIVE_COMMANDS[c.name];
    let app: InstalledCommand | undefined;
    let fullName = c.name;
    if (spec === undefined) {
      if (FS_COMMANDS.includes(c.name)) {
        this.argsOnly(c, scope);
        return this.report(
          "HYDRE_UNSUPPORTED",
          `the native command \`${c.name}\` is not supported by NCW's Hydre yet`,
          c.nameSpan,
          { kind: "syntax" },
        );
      }
      const v = scope.lookup(c.name);
      if (this.opts.commands === undefined) {
        this.unknownCommands = true;
        this.argsOnly(c, scope);
        return this.report("HYDRE_UNKNOWN_COMMAND", `unknown command \`${c.name}\``, c.nameSpan, {
          kind: "unknown-command",
          ...(v !== undefined
            ? {
                hint: v.fn
                  ? `\`${c.name}\` is a function: call it \`${c.name}(…)\``
                  : `\`${c.name}\` is a variable: write \`$${c.name}\` as a command's argument`,
              }
            : {}),
        });
      }
      try {
        app = findCommand(this.opts.commands, this.importedName(c.name));
      } catch (e) {
        if (!(e instanceof NcwError)) throw e;
        this.argsOnly(c, scope);
        return this.report(
          e.code === "EXEC_AMBIGUOUS" ? "HYDRE_AMBIGUOUS_COMMAND" : "HYDRE_UNKNOWN_COMMAND",
          e.code === "EXEC_AMBIGUOUS" ? e.message : `unknown command \`${c.name}\`: ${e.message}`,
          c.nameSpan,
          {
            kind: "unknown-command",
            hint:
              v?.fn !== undefined
                ? `\`${c.name}\` is a function: call it \`${c.name}(…)\``
                : v !== undefined
                  ? `\`${c.name}\` is a variable: write \`$${c.name}\` as a command's argument, or \`_ = ${c.name}\``
                  : (e.hint ?? ""),
          },
        );
      }
      spec = app.spec;
      fullName = app.name;
    }
    void piped;
    const words: Word[] = c.args.map((a) => {
      if (a.k === "word") {
        if (!a.escaped) return a.text;
        return { text: JSON.stringify(a.text), resolve: (t) => [parseWord(a.text, t)] };
      }
      const et = this.expr(a.expr, scope);
      const quoted = this.opts.text?.slice(a.span.start, a.span.end) ?? a.expr.k;
      const text = quoted.length > 40 ? `${quoted.slice(0, 37)}...` : quoted;
      return {
        text: `${text} (${an(et)})`,
        resolve: (st, optional) => {
          // A stream the script holds is read by the script: an app would get an RC identifier of
          // its own to read (docs/hydre.md "Streams held by the script": not yet).
          const held = et.k === "nullable" ? et.inner : et;
          if (app !== undefined && held.k === "stream")
            throw new LiteralError(
              "a stream as an app command's argument is not supported by NCW's Hydre yet (pipe it into the command's CMDIN: `pass $s | cmd`)",
            );
          // A nullable for an optional argument: null leaves it out (specs "The case of optional
          // arguments"); a required one cannot be left out.
          if (et.k === "nullable" && !optional)
            throw new LiteralError(
              `${an(et)} may be null, and this argument is required: unwrap it first (\`.unwrap()\`, \`.default(x)\`)`,
            );
          const want = fromShellType(st);
          if (st.kind === "enum" && !isConstant(a.expr))
            throw new LiteralError("an enumeration's value is written as a constant, not computed");
          if (st.kind === "base" && st.name === "anystr") {
            // A nullable: null leaves the (optional) argument out.
            const inner = et.k === "nullable" ? et.inner : et;
            if (
              inner.k === "stream" ||
              inner.k === "void" ||
              inner.k === "null" ||
              inner.k === "fn"
            )
              throw new LiteralError(`${an(et)} cannot be turned into a string`);
            return [placeholder()];
          }
          // An optional argument takes a nullable of its type: null leaves it out (specs "The case of optional arguments").
          const got = et.k === "nullable" ? et.inner : et;
          if (want.k === "list" && !assignable(want, got) && assignable(want.item, got))
            return [placeholder()];
          if (!assignable(want, got))
            throw new LiteralError(`expected ${typeText(want)}, found ${typeText(et)}`);
          return [placeholder()];
        },
      };
    });
    let ret: HType = T.void;
    let origin: number[] = [];
    try {
      const argType = (i: number) => {
        const a = c.args[i];
        return a?.k === "expr" ? a.expr.ty : undefined;
      };
      const isBool = (i: number) => {
        const t = argType(i);
        return t !== undefined && (t.k === "bool" || (t.k === "nullable" && t.inner.k === "bool"))
          ? true
          : undefined;
      };
      const flagged = flagValues(spec, words, isBool);
      origin = flagged.origin;
      const r = parseCommandLine(fullName, spec, flagged.words);
      if (r.kind === "run") {
        ret =
          c.name === "pass"
            ? passType(c, input)
            : c.name === "cmdin" || c.name === "cmdout" || c.name === "cmdraw"
              ? this.scriptPipe(c)
              : shellType(r.returnType);
        // `rd -s` reads a stream (docs/hydre.md "Streams held by the script").
        if (c.name === "rd" && r.values[0]?.type === "bool" && r.values[0].value) ret = T.stream;
        // `syml <srcpath> <targetpath>` creates, `syml -r <path>` reads: one of the two forms.
        if (c.name === "syml" && r.values[0]?.type === "bool" && !r.values[0].value)
          if (r.values[3]?.type === "void")
            this.report(
              "ARG_MISSING",
              "`syml` needs the target path (`syml <srcpath> <targetpath>`), or -r to read a symlink",
              c.span,
              { kind: "argument" },
            );
        const cmdin = r.cmdin === undefined ? undefined : shellType(r.cmdin);
        if (input !== undefined) {
          if (cmdin === undefined)
            this.report(
              "HYDRE_NO_CMDIN",
              `\`${c.name}\` reads no input: nothing can be piped into it`,
              c.nameSpan,
            );
          // A `stream` input takes any command's output: an app's CMDRAW bytes, a native
          // command's value as text (docs/hydre.md "Pipes").
          else if (cmdin.k !== "stream" && !assignable(cmdin, input))
            this.report(
              "HYDRE_TYPE_MISMATCH",
              this.inputFromFile
                ? `\`${c.name}\` reads ${an(cmdin)} from CMDIN, \`<\` gives it a file's text (a string; a \`stream\` input takes its bytes)`
                : `\`${c.name}\` reads ${an(cmdin)} from CMDIN, the command before it returns ${an(input)}`,
              c.nameSpan,
              {
                expected: `expected ${typeText(cmdin)}`,
              },
            );
        }
      }
    } catch (e) {
      if (!(e instanceof ArgumentError)) throw e;
      const at =
        e.word === undefined ? c.span : (c.args[origin[e.word] ?? e.word] as { span: Span }).span;
      this.report(e.code, e.message, at, {
        kind: "argument",
        ...(e.hint === undefined ? {} : { hint: e.hint }),
      });
    }
    this.plans.set(
      c,
      app === undefined
        ? { kind: "native", name: c.name, ret }
        : { kind: "app", name: fullName, app, ret },
    );
    c.target =
      app === undefined ? { kind: "native", name: c.name } : { kind: "app", name: fullName };
    return ret;
  }

  /**
   * `cmdin` gives the script's CMDIN value, of its description's `cmdin` type; `cmdout v` returns `v`,
   * of its `return` type (specs "Output data"). Both need a command description.
   */
  private scriptPipe(c: CommandNode): HType {
    const spec = this.scriptSpec;
    if (spec === undefined)
      return this.report(
        "HYDRE_NO_CMD",
        `\`${c.name}\` needs the script's command description (\`cmd\`): a script gets its own CMDIN, CMDOUT and CMDRAW when it is declared as a command`,
        c.nameSpan,
      );
    // `cmdraw <stream>`: the argument reader checked the stream.
    if (c.name === "cmdraw") return T.void;
    if (c.name === "cmdin") {
      const t =
        spec.cmdin ??
        spec.args.flatMap((a) => a.arg.if ?? []).find((x) => x.cmdin !== undefined)?.cmdin;
      if (t === undefined)
        return this.report(
          "HYDRE_NO_CMDIN",
          "the script's command description declares no input (`cmdin <type>`)",
          c.nameSpan,
        );
      return shellType(t);
    }
    const want = spec.return === undefined ? T.void : shellType(spec.return);
    const a = c.args[0];
    const got = a?.k === "expr" ? a.expr.ty : undefined;
    if (got !== undefined && want.k !== "unknown" && !assignable(want, got))
      this.report(
        "HYDRE_TYPE_MISMATCH",
        `the script returns ${an(want)} (its command description), not ${an(got)}`,
        (a as { span: Span }).span,
        { expected: `expected ${typeText(want)}` },
      );
    return T.void;
  }

  /** An unknown command's expression arguments are still checked. */
  private argsOnly(c: CommandNode, scope: Scope): void {
    for (const a of c.args) if (a.k === "expr") this.expr(a.expr, scope);
  }

  // ---------------------------------------------------------------------------------------------
  // Expressions

  expr(e: Expr, scope: Scope, expected?: HType): HType {
    const t = this.exprInner(e, scope, expected);
    e.ty = t;
    return t;
  }

  private exprInner(e: Expr, scope: Scope, expected?: HType): HType {
    switch (e.k) {
      case "bool":
        return T.bool;
      case "int":
        return T.int;
      case "float":
        return T.float;
      case "char":
        return T.char;
      case "path":
        return T.path;
      case "null":
        return T.null;
      case "string":
        for (const p of e.parts)
          if (p.k === "expr") {
            const t = this.expr(p.expr, scope);
            if (t.k === "void" || t.k === "fn" || t.k === "stream")
              this.report(
                "HYDRE_TYPE_MISMATCH",
                `${an(t)} cannot be inserted into a string`,
                p.expr.span,
              );
          }
        return T.string;
      case "var": {
        const v = scope.lookup(e.name);
        if (v === undefined) return this.unknownName(e.name, e.span, scope);
        e.binding = v.binding;
        return v.type;
      }
      case "list": {
        const want =
          expected?.k === "list"
            ? expected.item
            : expected?.k === "nullable" && expected.inner.k === "list"
              ? expected.inner.item
              : undefined;
        let item: HType = T.never;
        for (const x of e.items) {
          const t =
            want === undefined
              ? this.expr(x, scope)
              : this.expectType(want, x, scope, "a list's item");
          const u = unify(item, t);
          if (u === undefined && want === undefined) {
            this.report(
              "HYDRE_MIXED_LIST",
              `a list's items have one type: this ${typeText(t)} is not ${an(item)}`,
              x.span,
              {
                hint: "give the list a type, e.g. `let l: list[any] = […]`",
              },
            );
            item = T.unknown;
          } else if (u !== undefined) item = u;
        }
        return listOf(want ?? item);
      }
      case "map": {
        const wk = expected?.k === "map" ? expected.key : undefined;
        const wv = expected?.k === "map" ? expected.value : undefined;
        let key: HType = T.never;
        let value: HType = T.never;
        for (const en of e.entries) {
          const kt =
            wk === undefined
              ? this.expr(en.key, scope)
              : this.expectType(wk, en.key, scope, "a map's key");
          const vt =
            wv === undefined
              ? this.expr(en.value, scope)
              : this.expectType(wv, en.value, scope, "a map's value");
          const uk = unify(key, kt);
          const uv = unify(value, vt);
          if (uk === undefined)
            this.report(
              "HYDRE_MIXED_MAP",
              `a map's keys have one type: this ${typeText(kt)} is not ${an(key)}`,
              en.key.span,
            );
          else key = uk;
          if (uv === undefined)
            this.report(
              "HYDRE_MIXED_MAP",
              `a map's values have one type: this ${typeText(vt)} is not ${an(value)}`,
              en.value.span,
            );
          else value = uv;
        }
        if (expected?.k === "struct" && e.entries.length === 0) return expected;
        return { k: "map", key: wk ?? key, value: wv ?? value };
      }
      case "struct": {
        const want = expected?.k === "struct" ? expected : undefined;
        const fields: { name: string; type: HType }[] = [];
        for (const f of e.fields) {
          if (fields.some((x) => x.name === f.name))
            this.report(
              "HYDRE_DUPLICATE_FIELD",
              `the field \`${f.name}\` is given twice`,
              f.nameSpan,
            );
          const wf = want?.fields.find((x) => x.name === f.name);
          fields.push({
            name: f.name,
            type:
              wf === undefined
                ? this.expr(f.value, scope)
                : this.expectType(wf.type, f.value, scope, `the field \`${f.name}\``),
          });
        }
        // Against a known structure, each field is reported on its own and the literal is one.
        if (
          want !== undefined &&
          e.fields.every((f) => want.fields.some((x) => x.name === f.name))
        ) {
          const missing = want.fields.filter((x) => !e.fields.some((f) => f.name === x.name));
          if (missing.length > 0)
            this.report(
              "HYDRE_MISSING_FIELD",
              `the structure misses the field${missing.length === 1 ? "" : "s"} ${missing.map((x) => `\`${x.name}\``).join(", ")}`,
              e.span,
              { expected: `expected ${typeText(want)}` },
            );
          return want;
        }
        return { k: "struct", fields };
      }
      case "command":
        this.pipeline({ commands: [e.command], redirects: [], span: e.command.span }, scope);
        return T.command;
      case "closure": {
        const want = expected?.k === "fn" ? expected : undefined;
        if (want !== undefined && e.params.length > want.params.length)
          return this.report(
            "HYDRE_ARITY",
            `this closure takes ${e.params.length} parameters, its type gives ${want.params.length}`,
            e.span,
          );
        const inner = new Scope(scope);
        const params = e.params.map((p, i) => {
          const t = want?.params[i] ?? T.any;
          (p as { binding?: number }).binding = this.declare(inner, p.name, t, false);
          return t;
        });
        const ret = want?.ret ?? T.void;
        this.fnStack.push({ ret, fallible: want?.fallible ?? false });
        const loops = this.loops;
        this.loops = 0;
        // The last statement's value is the closure's value when it returns one (specs "Closures").
        const last = e.body.stmts.at(-1);
        for (const s of e.body.stmts) {
          if (s === last && s.k === "expr" && ret.k !== "void")
            this.expectType(ret, s.expr, inner, "the closure's value");
          else this.stmt(s, inner);
        }
        this.loops = loops;
        this.fnStack.pop();
        return { k: "fn", params, ret, fallible: want?.fallible ?? false };
      }
      case "nullable": {
        const t = this.expr(e.expr, scope);
        if (t.k === "nullable" || t.k === "null") return t;
        return nullable(t);
      }
      case "unary": {
        const t = this.expr(e.expr, scope);
        if (isLoose(t)) return T.unknown;
        if (e.op === "!") {
          if (t.k !== "bool") this.mismatch(T.bool, t, e.expr.span, "`!` takes a bool");
          return T.bool;
        }
        if (e.op === "~") {
          if (t.k !== "int") this.mismatch(T.int, t, e.expr.span, "`~` takes an int");
          return T.int;
        }
        if (!isNumber(t)) {
          this.mismatch(T.float, t, e.expr.span, "`-` takes a number");
          return T.unknown;
        }
        return t;
      }
      case "binary": {
        const l = this.expr(e.left, scope);
        const r = this.expr(e.right, scope, l);
        return this.binaryType(e.op, l, r, e.left.span, e.right.span);
      }
      case "is": {
        this.expr(e.expr, scope);
        e.target = this.resolveType(e.type, scope);
        return T.bool;
      }
      case "index":
        return this.indexType(this.expr(e.target, scope), e.index, scope, e.span);
      case "field":
        return this.fieldType(this.expr(e.target, scope), e.name, e.nameSpan);
      case "call":
        return this.call(e, scope);
      case "apply": {
        const t = this.expr(e.target, scope);
        const what = "this value";
        if (t.k === "fn") {
          const sig: FnSig = {
            params: t.params,
            min: t.params.length,
            ret: t.ret,
            fallible: t.fallible,
          };
          this.args({ args: e.args, span: e.span, nameSpan: e.target.span }, sig, scope, what);
          e.params = t.params;
          e.fallible = t.fallible;
          return t.ret;
        }
        if (t.k === "command") {
          this.args(
            { args: e.args, span: e.span, nameSpan: e.target.span },
            { params: [], min: 0, ret: T.void, fallible: true },
            scope,
            what,
          );
          e.fallible = true;
          return T.void;
        }
        for (const a of e.args) this.expr(a, scope);
        if (isLoose(t)) return T.unknown;
        return this.report("HYDRE_NOT_CALLABLE", `${an(t)} is not a function`, e.target.span);
      }
      case "method":
        return this.method(e, scope);
      case "capture": {
        const t = this.pipeline(e.pipeline, scope, true);
        if (e.pipe === "raw") {
          // `$@(…)`: the last command's CMDRAW as a stream, its commands left running (docs/hydre.md
          // "Streams held by the script"): app commands only (a native one writes no CMDRAW, and
          // runs in the script), no redirection.
          const native = e.pipeline.commands.find((c) => this.plans.get(c)?.kind === "native");
          if (native !== undefined)
            return this.report(
              "HYDRE_UNSUPPORTED",
              `\`$@(…)\` takes app commands only: \`${native.name}\` is a native command (it writes no CMDRAW)`,
              native.nameSpan,
              { kind: "syntax" },
            );
          const redirect = e.pipeline.redirects[0];
          if (redirect !== undefined)
            return this.report(
              "HYDRE_REDIRECT",
              `\`$@(…)\` takes no redirection (\`${redirect.op}\`): its commands' CMDRAW is the stream`,
              redirect.span,
            );
          return T.stream;
        }
        return e.pipe === "out" ? t : listOf(T.string);
      }
      case "retry": {
        const t = this.expr(e.call, scope);
        if (e.times !== undefined) this.expectType(T.int, e.times, scope, "the number of retries");
        if (!(e.call as { fallible?: boolean }).fallible && !isLoose(t))
          this.report(
            "HYDRE_NOT_FALLIBLE",
            "this call never fails: `retry` has nothing to retry",
            e.call.span,
          );
        // Unbounded, it ends when the call succeeds; bounded, it fails as the last try did.
        (e as { fallible?: boolean }).fallible = e.times !== undefined;
        return t;
      }
    }
  }

  binaryType(op: string, l: HType, r: HType, ls: Span, rs: Span): HType {
    const loose = isLoose(l) || isLoose(r);
    switch (op) {
      case "+":
      case "-":
      case "*":
      case "/":
      case "**":
      case "//":
        if (loose)
          return op === "//"
            ? T.float
            : isNumber(l) && isNumber(r) && l.k === "int" && r.k === "int"
              ? T.int
              : T.unknown;
        if (!isNumber(l)) return this.numberOperand(op, l, ls);
        if (!isNumber(r)) return this.numberOperand(op, r, rs);
        return op === "//" ? T.float : l.k === "int" && r.k === "int" ? T.int : T.float;
      case "%":
      case "&":
      case "|":
      case "^":
      case "<<":
      case ">>":
        if (loose) return T.int;
        if (l.k !== "int") this.mismatch(T.int, l, ls, `\`${op}\` takes two ints`);
        else if (r.k !== "int") this.mismatch(T.int, r, rs, `\`${op}\` takes two ints`);
        return T.int;
      case "&&":
      case "||":
        if (!loose) {
          if (l.k !== "bool") this.mismatch(T.bool, l, ls, `\`${op}\` takes two bools`);
          else if (r.k !== "bool") this.mismatch(T.bool, r, rs, `\`${op}\` takes two bools`);
        }
        return T.bool;
      case "==":
      case "!=":
        if (!loose && !assignable(l, r) && !assignable(r, l) && !(isNumber(l) && isNumber(r)))
          this.report("HYDRE_TYPE_MISMATCH", `${an(l)} and ${an(r)} are never equal`, rs, {
            expected: `expected ${typeText(l)}`,
          });
        return T.bool;
      default:
        // < > <= >=
        if (!loose) {
          const ok = (isNumber(l) && isNumber(r)) || (isOrdered(l) && l.k === r.k);
          if (!ok)
            this.report(
              "HYDRE_TYPE_MISMATCH",
              `\`${op}\` compares two numbers, chars or strings, not ${an(l)} and ${an(r)}`,
              isOrdered(l) ? rs : ls,
            );
        }
        return T.bool;
    }
  }

  private numberOperand(op: string, t: HType, span: Span): HType {
    this.report("HYDRE_TYPE_MISMATCH", `\`${op}\` takes numbers, this is ${an(t)}`, span, {
      expected: "expected int or float",
      ...(t.k === "string"
        ? { hint: 'join strings with "$a$b" or `a.concat(b)`' }
        : t.k === "nullable"
          ? { hint: "the value may be null: unwrap it first" }
          : t.k === "path"
            ? { hint: "`a/b` without spaces is a path: write `a / b` to divide" }
            : {}),
    });
    return T.unknown;
  }

  private args(
    e: { args: Expr[]; span: Span; nameSpan: Span },
    sig: FnSig,
    scope: Scope,
    what: string,
  ): void {
    if (e.args.length < sig.min || e.args.length > sig.params.length)
      this.report(
        "HYDRE_ARITY",
        `${what} takes ${sig.min === sig.params.length ? sig.min : `${sig.min} to ${sig.params.length}`} argument${sig.params.length === 1 ? "" : "s"}, ${e.args.length} given`,
        e.span,
        {
          expected:
            sig.params.length === 0 ? "no arguments" : `(${sig.params.map(typeText).join(", ")})`,
        },
      );
    e.args.forEach((a, i) => {
      const want = sig.params[i];
      if (want === undefined) this.expr(a, scope);
      else this.expectType(want, a, scope, `argument ${i + 1} of ${what}`);
    });
  }

  private call(e: Extract<Expr, { k: "call" }>, scope: Scope): HType {
    const v = scope.lookup(e.name);
    let sig: FnSig | undefined;
    if (v !== undefined) {
      e.binding = v.binding;
      if (v.fn !== undefined) sig = v.fn;
      else if (v.type.k === "fn")
        sig = {
          params: v.type.params,
          min: v.type.params.length,
          ret: v.type.ret,
          fallible: v.type.fallible,
        };
      else if (v.type.k === "command") {
        // `cmd()`: run the command value, failing if it fails (specs "command.fallible()").
        this.args(e, { params: [], min: 0, ret: T.void, fallible: true }, scope, `\`${e.name}\``);
        (e as { fallible?: boolean }).fallible = true;
        return T.void;
      } else if (!isLoose(v.type))
        return this.report(
          "HYDRE_NOT_CALLABLE",
          `\`${e.name}\` is ${an(v.type)}, not a function`,
          e.nameSpan,
        );
      else return T.unknown;
    } else {
      const n = NATIVE_FUNCTIONS[e.name];
      if (n !== undefined) {
        e.native = e.name;
        sig = n;
      }
    }
    if (sig === undefined) {
      for (const a of e.args) this.expr(a, scope);
      return this.report(
        "HYDRE_UNKNOWN_NAME",
        `no function \`${e.name}\` is in scope`,
        e.nameSpan,
        {
          kind: "scope",
          hint:
            NATIVE_COMMANDS[e.name] !== undefined
              ? `\`${e.name}\` is a command: write \`${e.name} …\` without parentheses`
              : "functions are visible from their `fn` on",
        },
      );
    }
    this.args(e, sig, scope, `\`${e.name}\``);
    e.params = sig.params;
    e.fallible = sig.fallible;
    return sig.ret;
  }

  private method(e: Extract<Expr, { k: "method" }>, scope: Scope): HType {
    const recv = this.expr(e.target, scope);
    if (isLoose(recv)) {
      for (const a of e.args) this.expr(a, scope);
      return T.unknown;
    }
    const defs = methodsOf(recv)[e.name];
    if (defs === undefined) {
      for (const a of e.args) this.expr(a, scope);
      const names = Object.keys(methodsOf(recv)).join(", ");
      return this.report(
        "HYDRE_UNKNOWN_METHOD",
        `${an(recv)} has no method \`${e.name}\``,
        e.nameSpan,
        {
          hint:
            recv.k === "nullable" && methodsOf(recv.inner)[e.name] !== undefined
              ? "the value may be null: unwrap it first"
              : `its methods: ${names}`,
        },
      );
    }
    // Overloads: by the number of arguments, then by their types (`concat`).
    const argTypes = e.args.map((a) => this.expr(a, scope));
    const fits = (d: MethodDef) => argTypes.length >= d.min && argTypes.length <= d.params.length;
    const candidates = defs.filter(fits);
    const def =
      candidates.find((d) => argTypes.every((t, i) => assignable(d.params[i] as HType, t))) ??
      candidates[0] ??
      (defs[0] as MethodDef);
    const index = defs.indexOf(def);
    e.method = `${e.name}#${index}`;
    if (!fits(def))
      this.report(
        "HYDRE_ARITY",
        `\`.${e.name}()\` takes ${def.min === def.params.length ? def.min : `${def.min} to ${def.params.length}`} argument${def.params.length === 1 ? "" : "s"}, ${e.args.length} given`,
        e.span,
        {
          expected:
            def.params.length === 0 ? "no arguments" : `(${def.params.map(typeText).join(", ")})`,
        },
      );
    else
      argTypes.forEach((t, i) => {
        const want = def.params[i] as HType;
        if (!assignable(want, t))
          this.mismatch(want, t, (e.args[i] as Expr).span, `argument ${i + 1} of \`.${e.name}()\``);
      });
    if (def.mutates === true) {
      const root = rootVar(e.target);
      const v = root === undefined ? undefined : scope.lookup(root);
      if (root === undefined)
        this.report(
          "HYDRE_NOT_MUTABLE",
          `\`.${e.name}()\` changes its list or map: call it on a variable`,
          e.target.span,
        );
      else if (v !== undefined && !v.mutable) this.notMutable(root, e.target.span);
    }
    (e as { fallible?: boolean }).fallible = def.fallible === true;
    return def.ret;
  }
}

/** "an int", "a string": the type with its article. */
function an(t: HType): string {
  const text = typeText(t);
  return `${/^[aeiou]/.test(text) ? "an" : "a"} ${text}`;
}

function rootVar(e: Expr): string | undefined {
  if (e.k === "var") return e.name;
  if (e.k === "index" || e.k === "field") return rootVar(e.target);
  return undefined;
}

function lvText(lv: LValue): string {
  switch (lv.k) {
    case "var":
      return `\`${lv.name}\``;
    case "append":
      return `an item of ${lvText(lv.target)}`;
    case "index":
      return `an item of ${lvText(lv.target)}`;
    case "field":
      return `the field \`${lv.name}\` of ${lvText(lv.target)}`;
  }
}

/** `pass x` returns x, `… | pass` what it reads. */
function passType(c: CommandNode, input: HType | undefined): HType {
  const a = c.args[0];
  if (a === undefined) return input ?? T.void;
  if (a.k === "expr") return a.expr.ty ?? T.unknown;
  try {
    const v = parseWord(a.text, { kind: "base", name: "any" });
    return v.type === "list" ? listOf(T.any) : ({ k: v.type } as HType);
  } catch {
    return T.unknown;
  }
}

function shellType(text: string): HType {
  try {
    return fromShellType(parseShellType(text));
  } catch {
    return T.unknown;
  }
}

/** Does every path through the block leave it (return, fail, exit; break when `loops`)? */
export function blockExits(b: Block, withBreak = true): boolean {
  const last = b.stmts.at(-1);
  if (last === undefined) return false;
  return b.stmts.some((s) => stmtExits(s, withBreak));
}

function stmtExits(s: Stmt, withBreak: boolean): boolean {
  switch (s.k) {
    case "return":
    case "fail":
    case "exit":
      return true;
    case "break":
      return withBreak;
    case "if":
      return (
        s.otherwise !== undefined &&
        s.branches.every((b) => blockExits(b.body, withBreak)) &&
        blockExits(s.otherwise, withBreak)
      );
    case "switch":
      return (
        s.otherwise !== undefined &&
        s.whens.every((w) => blockExits(w.body, withBreak)) &&
        blockExits(s.otherwise, withBreak)
      );
    case "while":
      // `while true` without a `break` never ends but by leaving.
      return (
        s.cond.k === "expr" &&
        s.cond.expr.k === "bool" &&
        s.cond.expr.value &&
        !containsBreak(s.body)
      );
    default:
      return false;
  }
}

function containsBreak(b: Block): boolean {
  return b.stmts.some((s) => {
    if (s.k === "break") return true;
    if (s.k === "if")
      return (
        s.branches.some((x) => containsBreak(x.body)) ||
        (s.otherwise !== undefined && containsBreak(s.otherwise))
      );
    if (s.k === "switch")
      return (
        s.whens.some((x) => containsBreak(x.body)) ||
        (s.otherwise !== undefined && containsBreak(s.otherwise))
      );
    if (s.k === "catch")
      return (
        (s.ok !== undefined && containsBreak(s.ok.body)) ||
        (s.err !== undefined && containsBreak(s.err.body))
      );
    return false;
  });
}

/**
 * `-n $x` where `-n` is a flag and `x` a bool (or bool?): the flag is given when `x` is true (specs
 * "The case of optional arguments": `echo "Hello!" -n $no_newline`; docs/hydre.md). `given(i)` says, for
 * a typed word after a flag, whether the flag stays (true), goes (false), or the word is no flag value
 * (undefined). Returns the words left and, for each, the index of the argument it came from.
 */
export function flagValues(
  spec: CommandSpec,
  words: readonly Word[],
  given: (i: number) => boolean | undefined,
): { words: Word[]; origin: number[] } {
  const isFlag = (w: Word) => {
    if (typeof w !== "string") return false;
    const long = /^--([^=]+)$/.exec(w)?.[1];
    const short = /^-([^-=])$/.exec(w)?.[1];
    return spec.args.some(
      (a) =>
        a.arg.syntax === "flag" &&
        ((long !== undefined && a.arg.long === long) ||
          (short !== undefined && a.arg.short === short)),
    );
  };
  const out: Word[] = [];
  const origin: number[] = [];
  for (let i = 0; i < words.length; i++) {
    const w = words[i] as Word;
    const next = words[i + 1];
    const keep =
      next !== undefined && typeof next !== "string" && isFlag(w) ? given(i + 1) : undefined;
    if (keep === undefined) {
      out.push(w);
      origin.push(i);
      continue;
    }
    if (keep) {
      out.push(w);
      origin.push(i);
    }
    i++;
  }
  return { words: out, origin };
}
