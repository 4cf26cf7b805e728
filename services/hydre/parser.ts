// The Hydre parser (specs/shell-scripting.md): a script's text into the syntax tree of ast.ts, every node
// with its span. Hydre has two modes: commands (`cmd pos -a --long=2`, words typed by the command) and
// expressions (`(a + 1) * 2`, literals, calls); the statement's first words say which (docs/hydre.md
// "Statements"). Hand-written recursive descent over the text itself, as the two modes tokenize it
// differently; the first error stops it with a diagnostic.

import type { CommandSpec } from "../../ncw/manifest/types.js";
import { parseFloat64, parseInt64 } from "../shell/literals.js";
import type {
  ArgNode,
  AssignOp,
  BinaryOp,
  Block,
  CapturePipe,
  CatchArm,
  CommandNode,
  Cond,
  Expr,
  FnDef,
  Iterable_,
  LValue,
  Param,
  Pipeline,
  Redirect,
  Script,
  Stmt,
  StringPart,
  TypeNode,
} from "./ast.js";
import { CmdBlockError, parseCmdBlock } from "./cmd-block.js";
import { HydreSyntaxError, type Span, span } from "./source.js";

const IDENT_START = /[A-Za-z_]/;
const IDENT = /[A-Za-z0-9_]/;
const KEYWORDS = new Set([
  "let",
  "mut",
  "if",
  "elif",
  "else",
  "end",
  "switch",
  "when",
  "for",
  "in",
  "while",
  "break",
  "fn",
  "return",
  "fail",
  "exit",
  "type",
  "delete",
  "catch",
  "retry",
  "is",
  "isnt",
  "true",
  "false",
  "null",
]);
/** Statements NCW reads but does not run yet: keyword → spec section (docs/hydre.md). */
const UNSUPPORTED: Record<string, string> = {
  import: "Imports",
  on: "Event listeners",
  wait: "Waiting",
  bg: "Running in background",
  fg: "Running in background",
  detach: "Running in background",
  kill: "Running in background",
  with: "Environment variables",
  cmd: "Commands typing",
};

/** The binary operators by precedence level, lowest first (docs/hydre.md "Operator precedence"). */
const LEVELS: BinaryOp[][] = [
  ["||"],
  ["&&"],
  ["==", "!=", "<=", ">=", "<", ">"],
  ["|"],
  ["^"],
  ["&"],
  ["<<", ">>"],
  ["+", "-"],
  ["*", "//", "/", "%"],
];
const ALL_OPS: BinaryOp[] = [
  "**",
  "//",
  "<<",
  ">>",
  "&&",
  "||",
  "==",
  "!=",
  "<=",
  ">=",
  "+",
  "-",
  "*",
  "/",
  "%",
  "&",
  "|",
  "^",
  "<",
  ">",
];
const ASSIGN_OPS = [
  "**=",
  "//=",
  "<<=",
  ">>=",
  "&&=",
  "||=",
  "+=",
  "-=",
  "*=",
  "/=",
  "%=",
  "&=",
  "|=",
  "^=",
  "=",
];
const REDIRECTS = [">>", "@>", "?>", "!>", "*>", ">", "<"] as const;

/** A statement without its span (distributed over the union). */
type StmtBody = Stmt extends infer S ? (S extends unknown ? Omit<S, "span"> : never) : never;

export function parseScript(text: string): Script {
  const p = new Parser(text);
  const body = p.block([]);
  p.expectEof();
  return { body };
}

class Parser {
  i = 0;
  /** Open brackets in expression mode: newlines inside them are spaces. */
  private depth = 0;

  constructor(readonly text: string) {}

  // ---------------------------------------------------------------------------------------------
  // Characters, spaces, comments

  private ch(off = 0): string {
    return this.text[this.i + off] ?? "";
  }
  private at(s: string): boolean {
    return this.text.startsWith(s, this.i);
  }
  private fail(message: string, at: Span = span(this.i, this.i + 1), expected?: string): never {
    throw new HydreSyntaxError(
      {
        kind: "syntax",
        code: "HYDRE_SYNTAX",
        message,
        span: at,
        ...(expected === undefined ? {} : { expected }),
      },
      // The text ended where more was needed (an unclosed block, bracket or string, an operator
      // without its operand): `ncw shell` reads another line instead of reporting it.
      this.text.slice(this.i).trim() === "",
    );
  }

  /** Skip spaces and comments on this line (and newlines too inside brackets). */
  ws(newlines = this.depth > 0): void {
    for (;;) {
      const c = this.ch();
      if (c === " " || c === "\t" || c === "\r") this.i++;
      else if (c === "\n" && newlines) this.i++;
      else if (c === "\\" && this.ch(1) === "\n")
        this.i += 2; // a line continued
      else if (this.at("###")) this.blockComment();
      else if (c === "#") while (this.i < this.text.length && this.ch() !== "\n") this.i++;
      else return;
    }
  }

  private blockComment(): void {
    const start = this.i;
    const close = this.text.indexOf("###", this.i + 3);
    if (close < 0)
      this.fail("this ### comment is never closed", span(start, start + 3), "a closing ###");
    this.i = close + 3;
  }

  private eol(): boolean {
    return this.i >= this.text.length || this.ch() === "\n";
  }

  /** The end of a statement: the line's end (or a closing `}` of a one-line closure). */
  private endStatement(closer?: string): void {
    this.ws(false);
    if (closer !== undefined && this.ch() === closer) return;
    if (!this.eol())
      this.fail(
        `unexpected ${JSON.stringify(this.rest())}`,
        this.wordSpan(),
        "the end of the line",
      );
  }

  private rest(): string {
    const m = /^[^\s]*/.exec(this.text.slice(this.i, this.i + 40));
    return m?.[0] || this.ch();
  }
  private wordSpan(): Span {
    return span(this.i, this.i + Math.max(1, this.rest().length));
  }

  expectEof(): void {
    this.skipBlank();
    if (this.i < this.text.length) {
      const w = this.peekWord();
      this.fail(
        w === "end" || w === "else" || w === "elif"
          ? `\`${w}\` closes no block`
          : `unexpected ${JSON.stringify(this.rest())}`,
        this.wordSpan(),
      );
    }
  }

  /** Skip blank and comment-only lines. */
  private skipBlank(): void {
    for (;;) {
      this.ws(false);
      if (this.ch() === "\n") this.i++;
      else return;
    }
  }

  private peekWord(): string | undefined {
    if (!IDENT_START.test(this.ch())) return undefined;
    let j = this.i;
    while (j < this.text.length && IDENT.test(this.text[j] as string)) j++;
    return this.text.slice(this.i, j);
  }

  private ident(what = "a name"): { name: string; span: Span } {
    this.ws();
    const w = this.peekWord();
    if (w === undefined) this.fail(`expected ${what}`, this.wordSpan(), what);
    const start = this.i;
    this.i += w.length;
    return { name: w, span: span(start, this.i) };
  }

  private keyword(k: string): boolean {
    this.ws();
    if (this.peekWord() !== k) return false;
    this.i += k.length;
    return true;
  }

  private expect(s: string, what = `"${s}"`): void {
    this.ws();
    if (!this.at(s)) this.fail(`expected ${what}`, this.wordSpan(), what);
    this.i += s.length;
  }

  // ---------------------------------------------------------------------------------------------
  // Blocks and statements

  /** Statements up to one of `ends` (a keyword starting a line) or `}`, which is not consumed. */
  block(ends: readonly string[], closer?: string): Block {
    const start = this.i;
    const stmts: Stmt[] = [];
    for (;;) {
      this.skipBlank();
      if (this.i >= this.text.length) break;
      if (closer !== undefined) {
        this.ws(true);
        if (this.ch() === closer) break;
      }
      const w = this.peekWord();
      if (w !== undefined && ends.includes(w) && !IDENT.test(this.text[this.i + w.length] ?? " "))
        break;
      if (w === "end" || w === "elif" || w === "else" || w === "when") {
        if (ends.length === 0 && closer === undefined) break; // reported by expectEof
        this.fail(
          `\`${w}\` is not expected here`,
          span(this.i, this.i + w.length),
          ends.map((e) => `\`${e}\``).join(" or "),
        );
      }
      stmts.push(this.statement(closer));
      if (closer !== undefined) {
        this.ws(false);
        if (this.ch() === closer) break;
      }
    }
    return { stmts, span: span(start, this.i) };
  }

  private end(opener: string, at: Span): void {
    this.skipBlank();
    if (!this.keyword("end"))
      this.fail(`this \`${opener}\` is never closed`, at, "an `end` closing it");
  }

  private statement(closer?: string): Stmt {
    this.ws(false);
    const start = this.i;
    const w = this.peekWord();
    const wEnd = w === undefined ? start : start + w.length;
    const boundary =
      w !== undefined && !IDENT.test(this.text[wEnd] ?? " ") && this.text[wEnd] !== "(";
    const done = (s: StmtBody): Stmt => {
      const stmt = { ...s, span: span(start, this.i) } as Stmt;
      this.endStatement(closer);
      return stmt;
    };
    if (w === "import" && boundary && this.unsupportedAhead(w)) return done(this.importStmt());
    if (w !== undefined && UNSUPPORTED[w] !== undefined && boundary && this.unsupportedAhead(w))
      return this.unsupported(w, closer);
    if (w !== undefined && (boundary || this.text[wEnd] === "(")) {
      switch (w) {
        case "let":
          return this.letStmt(start, closer);
        case "if":
          return this.ifStmt(start);
        case "switch":
          return this.switchStmt(start);
        case "for":
          return this.forStmt(start);
        case "while": {
          this.i += 5;
          const cond = this.cond();
          const body = this.block(["end"]);
          this.end("while", span(start, start + 5));
          return done({ k: "while", cond, body });
        }
        case "break":
          this.i += 5;
          return done({ k: "break" });
        case "fn":
          return this.fnStmt(start);
        case "return": {
          this.i += 6;
          this.ws(false);
          const value = this.eol() || this.ch() === closer ? undefined : this.expr();
          return done({ k: "return", value });
        }
        case "fail":
          this.i += 4;
          return done({ k: "fail", message: this.expr() });
        case "exit":
          this.i += 4;
          if (this.ch() === "(") {
            this.i++;
            this.expect(")");
          }
          return done({ k: "exit" });
        case "type": {
          this.i += 4;
          const n = this.ident("a type name");
          this.expect("=");
          return done({ k: "type", name: n.name, nameSpan: n.span, type: this.type() });
        }
        case "delete":
          this.i += 6;
          this.ws();
          return done({ k: "delete", target: this.lvalue() });
        case "catch":
          return this.catchStmt(start);
        default:
          break;
      }
    }
    if (w !== undefined && !KEYWORDS.has(w)) {
      const after = this.text[wEnd] ?? "";
      // `name(…)`, `name.x`, `name[…]`: an expression or an assignment to a part of a variable.
      const assign = this.tryAssign(start, closer);
      if (assign !== undefined) return assign;
      // `x * 2`, `a == b`: a name, spaces, a binary operator and a space is an expression (`cmd -x`,
      // `cmd | cmd`, `cmd > file` stay commands: docs/hydre.md "Statements").
      const opAfter =
        /^[ \t]+(\*\*|\/\/|==|!=|<=|>=|&&|\|\||<<|>>|[-+*/%&^])[ \t]/.test(this.text.slice(wEnd)) &&
        !/^[ \t]+(\*\*|\/\/|==|!=|<=|>=|&&|\|\||<<|>>|[-+*/%&^])=/.test(this.text.slice(wEnd));
      if (after === "(" || after === "." || after === "[" || opAfter)
        return done({ k: "expr", expr: this.expr() });
      // `name ++`, `name --` alone: an increment, or a command with that argument (the checker knows).
      const m = /^[ \t]+(\+\+|--)[ \t]*(?=\n|$|#)/.exec(this.text.slice(wEnd));
      if (m !== null) {
        const save = this.i;
        const asCommand = this.pipeline(closer);
        this.i = save + w.length + m[0].length;
        return done({
          k: "incdec",
          name: w,
          nameSpan: span(start, wEnd),
          op: m[1] as "++" | "--",
          asCommand,
        });
      }
      return done({ k: "pipeline", pipeline: this.pipeline(closer) });
    }
    if (w === "true" || w === "false" || w === "null" || w === "retry")
      return done({ k: "expr", expr: this.expr() });
    const c = this.ch();
    // Literals and `$…`, `(…)`, `[…]`, `{…}`, `?(…)`, `@{…}`, `!x`, `-1`, `~x`: an expression.
    if (/["'0-9$([{?@!~-]/.test(c) && !(c === "-" && !/[0-9.]/.test(this.ch(1))))
      return done({ k: "expr", expr: this.expr() });
    if (w !== undefined) this.fail(`\`${w}\` cannot start a statement`, span(start, wEnd));
    // A path (`./script.hys …`) or anything else: a command.
    return done({ k: "pipeline", pipeline: this.pipeline(closer) });
  }

  /** `import dev::app::{a, b} as x` (specs "Imports"); the checker resolves it. */
  private importStmt(): StmtBody {
    this.i += "import".length;
    this.ws(false);
    const lineEnd = this.text.indexOf("\n", this.i);
    const line = this.text.slice(this.i, lineEnd < 0 ? undefined : lineEnd);
    const m =
      /^((?:\.{0,2}\/)?[^\s:{}]+(?:::[A-Za-z_][\w-]*)*)(?:::(\*|\{[^}]*\}))?(?:[ \t]+as[ \t]+([A-Za-z_]\w*))?[ \t]*(#.*)?$/.exec(
        line,
      );
    if (m === null)
      this.fail(
        "expected an import: `dev::app::command`, `dev::app::{a, b}`, `dev::app::*`, `dev::*`, with `as name`",
        span(this.i, this.i + Math.max(line.length, 1)),
      );
    const [, head, tail, alias] = m as RegExpExecArray;
    this.i += line.replace(/[ \t]*(#.*)?$/, "").length;
    const volatile = /^(\.{0,2}\/|\/)/.test(head as string);
    const parts = (head as string).split("::");
    const items =
      tail?.startsWith("{") === true
        ? tail
            .slice(1, -1)
            .split(",")
            .map((x) => x.trim())
            .filter((x) => x !== "")
        : undefined;
    return {
      k: "import",
      path: volatile ? parts.slice(1) : parts,
      star: tail === "*",
      ...(items === undefined ? {} : { items }),
      ...(alias === undefined ? {} : { alias }),
      ...(volatile ? { volatile: parts[0] as string } : {}),
    } as StmtBody;
  }

  /** `import x::y`, `on keypress as k … end`, `bg x = …`: the keyword begins one of these forms. */
  private unsupportedAhead(w: string): boolean {
    const line = this.text.slice(this.i, this.text.indexOf("\n", this.i) >>> 0 || undefined);
    if (w === "cmd") return /^cmd[ \t]*(#.*)?$/.test(line);
    if (w === "on") return /^on[ \t]+\w+[ \t]+as[ \t]+\w+/.test(line);
    if (w === "bg") return /^bg[ \t]+\w+[ \t]*=/.test(line);
    if (w === "with") return /^with[ \t]+\w+=/.test(line);
    if (w === "wait") return /^wait[ \t]+\S/.test(line);
    if (w === "import") return /^import[ \t]+\S/.test(line);
    return /^\w+[ \t]+[A-Za-z_]\w*[ \t]*(#.*)?$/.test(line); // fg x, detach x, kill x
  }

  private unsupported(w: string, closer?: string): Stmt {
    const start = this.i;
    const lineEnd = () => {
      while (!this.eol()) this.i++;
    };
    if (w === "on" || w === "cmd") {
      // A block: up to its `end` (for `cmd`, the `end` at its own indentation: docs/hydre.md).
      const col = start - (this.text.lastIndexOf("\n", start - 1) + 1);
      let nest = 0;
      lineEnd();
      for (;;) {
        if (this.i >= this.text.length)
          this.fail(
            `this \`${w}\` is never closed`,
            span(start, start + w.length),
            "an `end` closing it",
          );
        this.i++;
        const ls = this.i;
        while (this.ch() === " " || this.ch() === "\t") this.i++;
        const word = this.peekWord();
        const indent = this.i - ls;
        if (w === "on" && /^(if|while|for|switch|catch|fn|on)$/.test(word ?? "")) nest++;
        if (word === "end" && (w === "on" ? nest-- === 0 : indent <= col)) {
          if (w === "cmd") {
            // The command description (specs "Commands typing"): its lines, read into a typing.
            const first = this.text.indexOf("\n", start) + 1;
            let spec: CommandSpec;
            try {
              spec = parseCmdBlock(this.text.slice(first, ls), first);
            } catch (e) {
              if (!(e instanceof CmdBlockError)) throw e;
              this.fail(e.message, span(e.offset, e.offset + e.length));
            }
            this.i += 3;
            const s: Stmt = { k: "cmd", spec, span: span(start, start + 3) };
            this.endStatement();
            return s;
          }
          this.i += 3;
          break;
        }
        lineEnd();
      }
    } else lineEnd();
    const s: Stmt = {
      k: "unsupported",
      what: w,
      section: UNSUPPORTED[w] as string,
      span: span(start, start + w.length),
    };
    this.endStatement(closer);
    return s;
  }

  private letStmt(start: number, closer?: string): Stmt {
    this.i += 3;
    const mutable = this.keyword("mut");
    const n = this.ident("the variable's name");
    if (KEYWORDS.has(n.name)) this.fail(`\`${n.name}\` is a keyword, not a name`, n.span);
    this.ws();
    let type: TypeNode | undefined;
    if (this.ch() === ":") {
      this.i++;
      type = this.type();
    }
    this.expect("=", "`=` and the variable's value");
    const value = this.expr();
    const s: Stmt = {
      k: "let",
      mutable,
      name: n.name,
      nameSpan: n.span,
      type,
      value,
      span: span(start, this.i),
    };
    this.endStatement(closer);
    return s;
  }

  /** An assignment statement if the line is one (`x = 1`, `l[] = 2`, `m["k"] += 1`, `_ = e`). */
  private tryAssign(start: number, closer?: string): Stmt | undefined {
    const save = this.i;
    let target: LValue;
    try {
      target = this.lvalue();
    } catch (e) {
      if (!(e instanceof HydreSyntaxError)) throw e;
      this.i = save;
      return undefined;
    }
    this.ws(false);
    const op = ASSIGN_OPS.find(
      (o) => this.at(o) && !(o === "=" && (this.at("==") || this.at("=>"))),
    );
    if (op === undefined) {
      this.i = save;
      return undefined;
    }
    const opSpan = span(this.i, this.i + op.length);
    this.i += op.length;
    const value = this.expr();
    const s: Stmt =
      target.k === "var" && target.name === "_"
        ? op === "="
          ? { k: "discard", value, span: span(start, this.i) }
          : this.fail("`_` only takes `=`", opSpan)
        : { k: "assign", target, op: op as AssignOp, value, opSpan, span: span(start, this.i) };
    this.endStatement(closer);
    return s;
  }

  private lvalue(): LValue {
    const n = this.ident("a variable");
    let lv: LValue = { k: "var", name: n.name, span: n.span };
    for (;;) {
      if (this.ch() === "[") {
        this.i++;
        this.depth++;
        this.ws();
        if (this.ch() === "]") {
          this.i++;
          this.depth--;
          lv = { k: "append", target: lv, span: span(n.span.start, this.i) };
          return lv;
        }
        const index = this.expr();
        this.expect("]");
        this.depth--;
        lv = { k: "index", target: lv, index, span: span(n.span.start, this.i) };
      } else if (this.ch() === "." && IDENT_START.test(this.ch(1))) {
        this.i++;
        const f = this.ident("a field");
        if (this.ch() === "(") this.fail("a method call is not a place to assign to", f.span);
        lv = { k: "field", target: lv, name: f.name, span: span(n.span.start, this.i) };
      } else return lv;
    }
  }

  private cond(): Cond {
    this.ws();
    const start = this.i;
    const w = this.peekWord();
    if ((w === "some" || w === "none") && /^[ \t]+[A-Za-z_]/.test(this.text.slice(this.i + 4))) {
      this.i += 4;
      const n = this.ident("a variable");
      return { k: w, name: n.name, span: span(start, n.span.end) };
    }
    return { k: "expr", expr: this.expr() };
  }

  private ifStmt(start: number): Stmt {
    this.i += 2;
    const branches: { cond: Cond; body: Block }[] = [];
    let cond = this.cond();
    let otherwise: Block | undefined;
    for (;;) {
      this.endStatement();
      const body = this.block(["elif", "else", "end"]);
      branches.push({ cond, body });
      this.skipBlank();
      if (this.keyword("elif")) {
        cond = this.cond();
        continue;
      }
      if (this.keyword("else")) {
        this.endStatement();
        otherwise = this.block(["end"]);
      }
      break;
    }
    this.end("if", span(start, start + 2));
    const s: Stmt = { k: "if", branches, otherwise, span: span(start, this.i) };
    this.endStatement();
    return s;
  }

  /** A `when`/`else`/`ok`/`err` arm's body: `=> statement`, or the lines up to the next arm. */
  private arm(ends: readonly string[]): Block {
    this.ws(false);
    if (this.at("=>")) {
      this.i += 2;
      this.ws(false);
      const start = this.i;
      const stmt = this.statement();
      return { stmts: [stmt], span: span(start, this.i) };
    }
    this.endStatement();
    return this.block(ends);
  }

  private switchStmt(start: number): Stmt {
    this.i += 6;
    const value = this.expr();
    this.endStatement();
    const whens: { value: Expr; body: Block }[] = [];
    let otherwise: Block | undefined;
    for (;;) {
      this.skipBlank();
      if (this.keyword("when")) {
        const v = this.expr();
        whens.push({ value: v, body: this.arm(["when", "else", "end"]) });
      } else if (this.keyword("else")) {
        otherwise = this.arm(["end"]);
        break;
      } else break;
    }
    this.end("switch", span(start, start + 6));
    const s: Stmt = { k: "switch", value, whens, otherwise, span: span(start, this.i) };
    this.endStatement();
    return s;
  }

  private forStmt(start: number): Stmt {
    this.i += 3;
    const names = [this.ident("the loop's variable")];
    this.ws();
    if (this.ch() === ",") {
      this.i++;
      names.push(this.ident("the loop's second variable"));
    }
    if (!this.keyword("in")) this.fail("expected `in`", this.wordSpan(), "`in`");
    this.ws();
    let iter: Iterable_;
    const itStart = this.i;
    const glob = /^\(\s*((?:\.{1,2}\/|\/|~\/|\*)[^)\n]*?)\s*\)/.exec(this.text.slice(this.i));
    if (glob !== null) {
      // `for f in (./*.txt)`: filesystem iteration (specs "Filesystem iteration").
      this.i += glob[0].length;
      iter = { k: "glob", pattern: glob[1] as string, span: span(itStart, this.i) };
      this.endStatement();
      const body = this.block(["end"]);
      this.end("for", span(start, start + 3));
      const s: Stmt = { k: "for", names, iter, body, span: span(start, this.i) };
      this.endStatement();
      return s;
    }
    const from = this.expr();
    this.ws(false);
    if (this.at("..")) {
      this.i += 2;
      const inclusive = this.ch() === "=";
      if (inclusive) this.i++;
      const to = this.expr();
      iter = { k: "range", from, to, inclusive, span: span(itStart, this.i) };
    } else iter = { k: "expr", expr: from };
    this.endStatement();
    const body = this.block(["end"]);
    this.end("for", span(start, start + 3));
    const s: Stmt = { k: "for", names, iter, body, span: span(start, this.i) };
    this.endStatement();
    return s;
  }

  private fnStmt(start: number): Stmt {
    this.i += 2;
    const n = this.ident("the function's name");
    if (KEYWORDS.has(n.name)) this.fail(`\`${n.name}\` is a keyword, not a name`, n.span);
    this.expect("(", "`(` and the function's arguments");
    this.depth++;
    const params: Param[] = [];
    this.ws();
    while (this.ch() !== ")") {
      const p = this.ident("an argument's name");
      this.ws();
      let type: TypeNode | undefined;
      let def: Expr | undefined;
      if (this.ch() === ":") {
        this.i++;
        type = this.type();
        this.ws();
      }
      if (this.ch() === "=") {
        this.i++;
        def = this.expr();
        this.ws();
      }
      if (type === undefined && def === undefined)
        this.fail(
          `the argument \`${p.name}\` needs a type (\`${p.name}: int\`) or a default value`,
          p.span,
          "`: type` or `= default`",
        );
      params.push({ name: p.name, span: p.span, type, default: def });
      if (this.ch() === ",") {
        this.i++;
        this.ws();
      } else if (this.ch() !== ")") this.fail("expected `,` or `)`", this.wordSpan(), "`,` or `)`");
    }
    this.i++;
    this.depth--;
    this.ws(false);
    let ret: TypeNode | undefined;
    let fallible = false;
    if (this.at("->")) {
      this.i += 2;
      fallible = this.keyword("fallible");
      this.ws(false);
      if (!this.eol()) ret = this.type();
      else if (!fallible)
        this.fail("expected the return type after `->`", this.wordSpan(), "a type");
    }
    const header = span(start, this.i);
    this.endStatement();
    const body = this.block(["end"]);
    this.end("fn", span(start, start + 2));
    const def: FnDef = {
      name: n.name,
      nameSpan: n.span,
      params,
      ret,
      fallible,
      body,
      span: header,
    };
    const s: Stmt = { k: "fn", def, span: span(start, this.i) };
    this.endStatement();
    return s;
  }

  private catchStmt(start: number): Stmt {
    this.i += 5;
    const expr = this.expr();
    this.endStatement();
    let ok: CatchArm | undefined;
    let err: CatchArm | undefined;
    for (;;) {
      this.skipBlank();
      const w = this.peekWord();
      if (w !== "ok" && w !== "err") break;
      const kwAt = span(this.i, this.i + w.length);
      this.i += w.length;
      if ((w === "ok" ? ok : err) !== undefined) this.fail(`a second \`${w}\` arm`, kwAt);
      const name = this.ident(`the name of the ${w === "ok" ? "value" : "error"}`);
      const body = this.arm(["ok", "err", "end"]);
      const a: CatchArm = { name: name.name, nameSpan: name.span, body };
      if (w === "ok") ok = a;
      else err = a;
    }
    this.end("catch", span(start, start + 5));
    const s: Stmt = { k: "catch", expr, ok, err, span: span(start, this.i) };
    this.endStatement();
    return s;
  }

  // ---------------------------------------------------------------------------------------------
  // Types

  type(): TypeNode {
    this.ws();
    const start = this.i;
    let t: TypeNode;
    const n = this.ident("a type");
    if (n.name === "list" && this.ch() === "[") {
      this.i++;
      const item = this.type();
      this.expect("]");
      t = { k: "list", item, span: span(start, this.i) };
    } else if (n.name === "map" && this.ch() === "[") {
      this.i++;
      const key = this.type();
      this.expect(",");
      const value = this.type();
      this.expect("]");
      t = { k: "map", key, value, span: span(start, this.i) };
    } else if (n.name === "enum" && this.ch() === "[") {
      this.i++;
      const values: (string | number)[] = [];
      do {
        this.ws();
        const e = this.primary();
        if (e.k === "string" && e.parts.every((p) => p.k === "text"))
          values.push(e.parts.map((p) => (p.k === "text" ? p.text : "")).join(""));
        else if (e.k === "int") values.push(Number(e.value));
        else if (e.k === "float") values.push(e.value);
        else this.fail("an enumeration's values are constants", e.span, "a number or a string");
        this.ws();
      } while (this.ch() === "|" && ++this.i);
      this.expect("]");
      t = { k: "enum", values, span: span(start, this.i) };
    } else if (n.name === "struct") {
      this.expect("{");
      const fields: { name: string; type: TypeNode }[] = [];
      this.ws(true);
      while (this.ch() !== "}") {
        const f = this.ident("a field's name");
        this.expect(":");
        fields.push({ name: f.name, type: this.type() });
        this.ws(true);
        if (this.ch() === ",") {
          this.i++;
          this.ws(true);
        } else if (this.ch() !== "}") this.fail("expected `,` or `}`", this.wordSpan());
      }
      this.i++;
      if (fields.length === 0) this.fail("a structure has at least one field", span(start, this.i));
      t = { k: "struct", fields, span: span(start, this.i) };
    } else if (n.name === "fn") {
      this.expect("(");
      const params: TypeNode[] = [];
      this.ws(true);
      while (this.ch() !== ")") {
        params.push(this.type());
        this.ws(true);
        if (this.ch() === ",") {
          this.i++;
          this.ws(true);
        } else if (this.ch() !== ")") this.fail("expected `,` or `)`", this.wordSpan());
      }
      this.i++;
      this.ws(false);
      let ret: TypeNode | undefined;
      let fallible = false;
      if (this.at("->")) {
        this.i += 2;
        fallible = this.keyword("fallible");
        this.ws(false);
        if (IDENT_START.test(this.ch())) ret = this.type();
      }
      t = { k: "fn", params, ret, fallible, span: span(start, this.i) };
    } else t = { k: "name", name: n.name, span: n.span };
    if (this.ch() === "?") {
      this.i++;
      if (this.ch() === "?")
        this.fail("nullable types do not nest (`T??`)", span(start, this.i + 1));
      t = { k: "nullable", inner: t, span: span(start, this.i) };
    }
    return t;
  }

  // ---------------------------------------------------------------------------------------------
  // Expressions

  expr(): Expr {
    return this.binary(0);
  }

  private peekOp(): BinaryOp | undefined {
    this.ws();
    // Not operators: `=` and `op=` (assignment), `=>`, `->`, `..`, `|` ending a command in `$(…)`.
    const op = ALL_OPS.find((o) => this.at(o));
    if (op === undefined) return undefined;
    const after = this.text[this.i + op.length];
    if (after === "=" && !["==", "!=", "<=", ">="].includes(op) && op !== "<" && op !== ">")
      return undefined;
    if ((op === "<" || op === ">") && after === "=") return undefined;
    if (op === "-" && after === ">") return undefined;
    return op;
  }

  private binary(level: number): Expr {
    if (level >= LEVELS.length) return this.unary();
    let left = this.binary(level + 1);
    const ops = LEVELS[level] as BinaryOp[];
    for (;;) {
      const save = this.i;
      if (level === 2) {
        // `x is T` / `x isnt T`, at the comparisons' level.
        this.ws();
        const w = this.peekWord();
        if (w === "is" || w === "isnt") {
          this.i += w.length;
          const type = this.type();
          left = {
            k: "is",
            negated: w === "isnt",
            expr: left,
            type,
            span: span(left.span.start, this.i),
          };
          continue;
        }
      }
      const op = this.peekOp();
      if (op === undefined || !ops.includes(op)) {
        this.i = save;
        return left;
      }
      const opSpan = span(this.i, this.i + op.length);
      this.i += op.length;
      const right = this.binary(level + 1);
      if (level === 2) {
        const next = this.peekOp();
        if (next !== undefined && ops.includes(next))
          this.fail(
            "comparisons do not chain: write `a < b && b < c`",
            span(this.i, this.i + next.length),
          );
      }
      left = { k: "binary", op, left, right, opSpan, span: span(left.span.start, right.span.end) };
    }
  }

  private unary(): Expr {
    this.ws();
    const start = this.i;
    const c = this.ch();
    if ((c === "-" || c === "!" || c === "~") && this.ch(1) !== "=") {
      this.i++;
      const expr = this.unary();
      return { k: "unary", op: c, expr, span: span(start, expr.span.end) };
    }
    return this.power();
  }

  private power(): Expr {
    const base = this.postfix();
    const save = this.i;
    if (this.peekOp() === "**") {
      this.i += 2;
      const exp = this.unary();
      return {
        k: "binary",
        op: "**",
        left: base,
        right: exp,
        opSpan: span(save, save + 2),
        span: span(base.span.start, exp.span.end),
      };
    }
    this.i = save;
    return base;
  }

  private args(): Expr[] {
    return this.exprList(")");
  }

  /** At the opening bracket: comma-separated expressions up to `close`, which it passes. */
  private exprList(close: ")" | "]"): Expr[] {
    this.i++;
    this.depth++;
    const out: Expr[] = [];
    this.ws();
    while (this.ch() !== close) {
      out.push(this.expr());
      this.ws();
      if (this.ch() === ",") {
        this.i++;
        this.ws();
      } else if (this.ch() !== close)
        this.fail(`expected \`,\` or \`${close}\``, this.wordSpan(), `\`,\` or \`${close}\``);
    }
    this.i++;
    this.depth--;
    return out;
  }

  private postfix(): Expr {
    let e = this.primary();
    for (;;) {
      const c = this.ch();
      if (c === "." && IDENT_START.test(this.ch(1))) {
        this.i++;
        const n = this.ident();
        if (this.ch() === "(") {
          const args = this.args();
          e = {
            k: "method",
            target: e,
            name: n.name,
            nameSpan: n.span,
            args,
            span: span(e.span.start, this.i),
          };
        } else
          e = {
            k: "field",
            target: e,
            name: n.name,
            nameSpan: n.span,
            span: span(e.span.start, this.i),
          };
      } else if (
        c === "(" &&
        (e.k === "index" ||
          e.k === "field" ||
          e.k === "call" ||
          e.k === "method" ||
          e.k === "apply")
      ) {
        const args = this.args();
        e = { k: "apply", target: e, args, span: span(e.span.start, this.i) };
      } else if (c === "[") {
        this.i++;
        this.depth++;
        const index = this.expr();
        this.expect("]");
        this.depth--;
        e = { k: "index", target: e, index, span: span(e.span.start, this.i) };
      } else return e;
    }
  }

  primary(): Expr {
    this.ws();
    const start = this.i;
    const c = this.ch();
    const sp = () => span(start, this.i);
    if (/[0-9]/.test(c)) return this.number();
    if (c === '"') return { k: "string", parts: this.stringParts(), span: sp() };
    if (c === "'") {
      const value = this.charLit();
      return { k: "char", value, span: sp() };
    }
    if (this.at("./") || this.at("../") || this.at("~/") || (c === "/" && this.ch(1) !== " "))
      return { k: "path", value: this.pathWord(), span: sp() };
    if (c === "$") return this.dollar();
    if (this.at("?(")) {
      this.i += 2;
      this.depth++;
      const expr = this.expr();
      this.expect(")");
      this.depth--;
      return { k: "nullable", expr, span: sp() };
    }
    if (this.at("@{")) {
      this.i += 2;
      this.ws(false);
      const command = this.command("}");
      this.ws(true);
      this.expect("}", "`}` closing the command");
      return { k: "command", command, span: sp() };
    }
    if (c === "(") {
      this.i++;
      this.depth++;
      const e = this.expr();
      this.expect(")");
      this.depth--;
      return { ...e, span: sp() };
    }
    if (c === "[") {
      const items = this.exprList("]");
      return { k: "list", items, span: sp() };
    }
    if (c === "{") return this.braces();
    const w = this.peekWord();
    if (w === undefined) {
      if (this.eol()) this.fail("expected a value", span(this.i, this.i + 1), "a value");
      this.fail(
        `expected a value, found ${JSON.stringify(this.rest())}`,
        this.wordSpan(),
        "a value",
      );
    }
    if (w === "true" || w === "false") {
      this.i += w.length;
      return { k: "bool", value: w === "true", span: sp() };
    }
    if (w === "null") {
      this.i += 4;
      return { k: "null", span: sp() };
    }
    if (w === "retry") {
      this.i += 5;
      let times: Expr | undefined;
      if (this.ch() === "(") {
        this.i++;
        this.depth++;
        times = this.expr();
        this.expect(")");
        this.depth--;
      }
      const call = this.postfix();
      if (call.k !== "call" && call.k !== "method" && call.k !== "apply")
        this.fail("`retry` takes a function call", call.span, "a call like `f(x)`");
      return { k: "retry", times, call, span: sp() };
    }
    if (KEYWORDS.has(w))
      this.fail(`\`${w}\` is a keyword, not a value`, span(start, start + w.length), "a value");
    // `dir/file.ext`: a path (an identifier directly followed by `/` and more: docs/hydre.md).
    if (
      this.text[this.i + w.length] === "/" &&
      /[^\s/]/.test(this.text[this.i + w.length + 1] ?? " ")
    )
      return { k: "path", value: this.pathWord(), span: sp() };
    this.i += w.length;
    if (this.ch() === "(") {
      const args = this.args();
      return { k: "call", name: w, nameSpan: span(start, start + w.length), args, span: sp() };
    }
    return { k: "var", name: w, span: sp() };
  }

  private number(): Expr {
    const start = this.i;
    const m =
      /^(?:0x[0-9a-fA-F_]+|0o[0-7_]+|0b[01_]+)/.exec(this.text.slice(this.i)) ??
      /^[0-9][0-9_]*(?:\.[0-9][0-9_]*)?(?:[eE][+-]?[0-9]+)?/.exec(this.text.slice(this.i));
    const text = (m?.[0] ?? "").replaceAll("_", "");
    this.i += m?.[0].length ?? 0;
    if (IDENT.test(this.ch()))
      this.fail(
        `${JSON.stringify(this.text.slice(start, this.i + 1))} is not a number`,
        span(start, this.i + 1),
      );
    const sp = span(start, this.i);
    try {
      if (/[.eE]/.test(text) && !/^0x/.test(text))
        return { k: "float", value: parseFloat64(text), span: sp };
      return { k: "int", value: parseInt64(text), span: sp };
    } catch (e) {
      return this.fail(`${text} is ${(e as Error).message}`, sp);
    }
  }

  private escape(): string {
    // at the character after `\`
    const e = this.ch();
    this.i++;
    const map: Record<string, string> = { n: "\n", t: "\t", r: "\r", "0": "\0" };
    if (e === "") this.fail("a \\ ends the script", span(this.i - 1, this.i));
    return map[e] ?? e;
  }

  private charLit(): string {
    const start = this.i;
    this.i++;
    let out = "";
    while (this.ch() !== "'") {
      if (this.eol())
        this.fail("this character is never closed", span(start, this.i), "a closing '");
      if (this.ch() === "\\") {
        this.i++;
        out += this.escape();
      } else {
        const cp = this.text.codePointAt(this.i) as number;
        out += String.fromCodePoint(cp);
        this.i += cp > 0xffff ? 2 : 1;
      }
    }
    this.i++;
    if ([...out].length !== 1)
      this.fail(
        `a char is exactly one code point, this one has ${[...out].length}`,
        span(start, this.i),
        undefined,
      );
    return out;
  }

  /** A `"…"` string's parts: text, `$name` and `${expr}` (specs "Expressions"). */
  stringParts(): StringPart[] {
    const start = this.i;
    this.i++;
    const parts: StringPart[] = [];
    let text = "";
    const flush = () => {
      if (text !== "") parts.push({ k: "text", text });
      text = "";
    };
    for (;;) {
      const c = this.ch();
      if (c === "") this.fail("this string is never closed", span(start, start + 1), 'a closing "');
      if (c === '"') break;
      if (c === "\\") {
        this.i++;
        text += this.escape();
      } else if (c === "$" && this.ch(1) === "{") {
        flush();
        this.i += 2;
        const depth = this.depth;
        this.depth = 1;
        const expr = this.expr();
        this.expect("}", "`}` closing the `${`");
        this.depth = depth;
        parts.push({ k: "expr", expr });
      } else if (c === "$" && IDENT_START.test(this.ch(1))) {
        flush();
        const s = this.i;
        this.i++;
        const n = this.ident();
        parts.push({ k: "expr", expr: { k: "var", name: n.name, span: span(s, this.i) } });
      } else {
        text += c;
        this.i++;
      }
    }
    this.i++;
    flush();
    return parts;
  }

  private pathWord(): string {
    let out = "";
    while (!this.eol() && !/[\s),\]};|"'#]/.test(this.ch())) {
      if (this.ch() === "\\") {
        this.i++;
        out += this.escape();
      } else out += this.text[this.i++];
    }
    return out;
  }

  private dollar(): Expr {
    const start = this.i;
    const pipes: Record<string, CapturePipe> = {
      "$(": "out",
      "$?(": "msg",
      "$!(": "err",
      "$*(": "all",
      "$@(": "raw",
    };
    for (const [open, pipe] of Object.entries(pipes)) {
      if (!this.at(open)) continue;
      this.i += open.length;
      const depth = this.depth;
      this.depth = 0;
      const pipeline = this.pipeline(")", true);
      this.ws(true);
      this.expect(")", "`)` closing the command");
      this.depth = depth;
      return { k: "capture", pipe, pipeline, span: span(start, this.i) };
    }
    if (this.at("${")) {
      this.i += 2;
      this.depth++;
      const e = this.expr();
      this.expect("}", "`}` closing the `${`");
      this.depth--;
      return { ...e, span: span(start, this.i) };
    }
    this.i++;
    if (!IDENT_START.test(this.ch()))
      this.fail(
        "expected a variable's name after `$`",
        span(start, this.i + 1),
        "`$name`, `$" + "{…}` or `$(…)`",
      );
    const n = this.ident();
    return { k: "var", name: n.name, span: span(start, this.i) };
  }

  /** `{ a, b -> body }` (a closure), `{ name: v }` (a structure), `{ "k": v }` (a map), `{}`. */
  private braces(): Expr {
    const start = this.i;
    const closure = /^\{\s*(?:[A-Za-z_]\w*\s*(?:,\s*[A-Za-z_]\w*\s*)*)?->/.exec(
      this.text.slice(this.i),
    );
    this.i++;
    if (closure !== null) {
      const params: { name: string; span: Span }[] = [];
      this.ws(true);
      while (!this.at("->")) {
        params.push(this.ident("a parameter"));
        this.ws(true);
        if (this.ch() === ",") this.i++;
        this.ws(true);
      }
      this.i += 2;
      const depth = this.depth;
      this.depth = 0;
      this.ws(false);
      const body = this.block([], "}");
      this.ws(true);
      this.expect("}", "`}` closing the closure");
      this.depth = depth;
      return { k: "closure", params, body, span: span(start, this.i) };
    }
    this.depth++;
    this.ws();
    const struct = /^[A-Za-z_]\w*\s*:/.test(this.text.slice(this.i));
    const fields: { name: string; nameSpan: Span; value: Expr }[] = [];
    const entries: { key: Expr; value: Expr }[] = [];
    while (this.ch() !== "}") {
      if (struct) {
        const n = this.ident("a field's name");
        this.expect(":");
        fields.push({ name: n.name, nameSpan: n.span, value: this.expr() });
      } else {
        const key = this.expr();
        this.expect(":");
        entries.push({ key, value: this.expr() });
      }
      this.ws();
      if (this.ch() === ",") {
        this.i++;
        this.ws();
      } else if (this.ch() !== "}") this.fail("expected `,` or `}`", this.wordSpan(), "`,` or `}`");
    }
    this.i++;
    this.depth--;
    return struct
      ? { k: "struct", fields, span: span(start, this.i) }
      : { k: "map", entries, span: span(start, this.i) };
  }

  // ---------------------------------------------------------------------------------------------
  // Commands

  /** `cmd args | cmd args > target`; `closer` ends it (`)` of `$(…)`, `}` of a closure). */
  pipeline(closer?: string, nested = false): Pipeline {
    this.ws(nested);
    const start = this.i;
    const commands: CommandNode[] = [this.command(closer)];
    const redirects: Redirect[] = [];
    for (;;) {
      this.ws(false);
      if (this.ch() === "|" && this.ch(1) !== "|") {
        this.i++;
        this.ws(false);
        commands.push(this.command(closer));
        continue;
      }
      const op = REDIRECTS.find((r) => this.at(r));
      if (op !== undefined) {
        const s = this.i;
        this.i += op.length;
        this.ws(false);
        const target = this.arg(closer);
        if (target === undefined)
          this.fail(`expected a file after \`${op}\``, this.wordSpan(), "a path");
        redirects.push({ op, target, after: commands.length - 1, span: span(s, this.i) });
        continue;
      }
      break;
    }
    return { commands, redirects, span: span(start, this.i) };
  }

  command(closer?: string): CommandNode {
    this.ws(false);
    const start = this.i;
    let name = "";
    while (!this.eol() && !/[\s|<>#"'()]/.test(this.ch()) && this.ch() !== closer)
      name += this.text[this.i++];
    if (name === "") this.fail("expected a command", this.wordSpan(), "a command's name");
    const nameSpan = span(start, this.i);
    const args: ArgNode[] = [];
    for (;;) {
      this.ws(false);
      const a = this.arg(closer);
      if (a === undefined) break;
      args.push(a);
    }
    return { name, nameSpan, args, span: span(start, this.i) };
  }

  /** One argument of a command, or undefined at its end. */
  private arg(closer?: string): ArgNode | undefined {
    const start = this.i;
    const c = this.ch();
    if (this.eol() || c === closer || c === "|" || c === "#") return undefined;
    if (REDIRECTS.some((r) => this.at(r))) return undefined;
    const asExpr = (expr: Expr): ArgNode => ({ k: "expr", expr, span: span(start, this.i) });
    if (
      c === '"' ||
      c === "'" ||
      c === "$" ||
      c === "(" ||
      c === "[" ||
      c === "{" ||
      this.at("?(") ||
      this.at("@{")
    ) {
      const depth = this.depth;
      this.depth = 0;
      const e = this.primary();
      this.depth = depth;
      return asExpr(e);
    }
    let text = "";
    const escaped = c === "\\" && this.ch(1) === "-";
    while (!this.eol() && !/[ \t\r|]/.test(this.ch()) && this.ch() !== closer) {
      if (this.ch() === "\\") {
        this.i++;
        text += this.escape();
      } else text += this.text[this.i++];
    }
    return { k: "word", text, escaped, span: span(start, this.i) };
  }
}
