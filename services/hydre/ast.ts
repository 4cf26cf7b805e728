// The syntax tree of a Hydre script (specs/shell-scripting.md), every node with its source span. The
// checker (checker.ts) annotates nodes in place (`ty`, `binding`, `call`), and the evaluator runs them.

import type { CommandSpec } from "../../ncw/manifest/types.js";
import type { Span } from "./source.js";
import type { HType } from "./types.js";

// ------------------------------------------------------------------------------------------------
// Types as written (`list[int]`, `fn (string) -> int`, `User?`)

export type TypeNode =
  | { k: "name"; name: string; span: Span }
  | { k: "list"; item: TypeNode; span: Span }
  | { k: "map"; key: TypeNode; value: TypeNode; span: Span }
  | { k: "struct"; fields: { name: string; type: TypeNode }[]; span: Span }
  | { k: "enum"; values: (string | number)[]; span: Span }
  | {
      k: "fn";
      params: TypeNode[];
      ret: TypeNode | undefined;
      fallible: boolean;
      span: Span;
    }
  | { k: "nullable"; inner: TypeNode; span: Span };

// ------------------------------------------------------------------------------------------------
// Expressions

export type StringPart = { k: "text"; text: string } | { k: "expr"; expr: Expr };

/** What the checker found a name or call to be. */
export type Resolved = { binding: number } | { native: string };

interface ExprBase {
  span: Span;
  /** Set by the checker. */
  ty?: HType;
}

export type Expr = ExprBase &
  (
    | { k: "bool"; value: boolean }
    | { k: "int"; value: bigint }
    | { k: "float"; value: number }
    | { k: "char"; value: string }
    | { k: "string"; parts: StringPart[] }
    | { k: "path"; value: string }
    | { k: "null" }
    | { k: "var"; name: string; binding?: number }
    | { k: "list"; items: Expr[] }
    | { k: "map"; entries: { key: Expr; value: Expr }[] }
    | { k: "struct"; fields: { name: string; nameSpan: Span; value: Expr }[] }
    | { k: "command"; command: CommandNode }
    | { k: "closure"; params: { name: string; span: Span; binding?: number }[]; body: Block }
    /** `?(expr)`: the value as a nullable. */
    | { k: "nullable"; expr: Expr }
    | { k: "unary"; op: "-" | "!" | "~"; expr: Expr }
    | { k: "binary"; op: BinaryOp; left: Expr; right: Expr; opSpan: Span }
    /** `x is T`, `x isnt T` (specs "Data validation"). */
    | { k: "is"; negated: boolean; expr: Expr; type: TypeNode; target?: HType }
    | { k: "index"; target: Expr; index: Expr }
    | { k: "field"; target: Expr; name: string; nameSpan: Span }
    /** `name(args)`: a function, a native function, or a variable of a function or command type. */
    | {
        k: "call";
        name: string;
        nameSpan: Span;
        args: Expr[];
        binding?: number;
        native?: string;
        /** Set by the checker: the parameters' types, and whether the call may fail. */
        params?: HType[];
        fallible?: boolean;
      }
    | {
        k: "method";
        target: Expr;
        name: string;
        nameSpan: Span;
        args: Expr[];
        method?: string;
        fallible?: boolean;
      }
    /** `$(…)`, `$?(…)`, `$!(…)`, `$*(…)`, `$@(…)` (specs "Reading a command's output"). */
    /** `fs[0](x)`: a call of a value that is not a name (a function or command value). */
    | { k: "apply"; target: Expr; args: Expr[]; params?: HType[]; fallible?: boolean }
    | { k: "capture"; pipe: CapturePipe; pipeline: Pipeline }
    /** `retry f()`, `retry(n) f()` (specs "Retries"). */
    | { k: "retry"; times: Expr | undefined; call: Expr; fallible?: boolean }
  );

export type CapturePipe = "out" | "msg" | "err" | "all" | "raw";

export type BinaryOp =
  | "+"
  | "-"
  | "*"
  | "**"
  | "/"
  | "//"
  | "%"
  | "&"
  | "|"
  | "^"
  | "<<"
  | ">>"
  | "&&"
  | "||"
  | "=="
  | "!="
  | "<"
  | ">"
  | "<="
  | ">=";

// ------------------------------------------------------------------------------------------------
// Commands

/** One argument word of a command: a bare word (typed by the command), or a typed value. */
export type ArgNode =
  | {
      k: "word";
      /** The word with its escapes removed. */
      text: string;
      /** It began with an escaped dash (`\-x`): never a dash argument. */
      escaped: boolean;
      span: Span;
    }
  | { k: "expr"; expr: Expr; span: Span };

export interface CommandNode {
  name: string;
  nameSpan: Span;
  args: ArgNode[];
  span: Span;
  /** Set by the checker: the native command or the installed app command it runs. */
  target?: { kind: "native"; name: string } | { kind: "app"; name: string };
}

export interface Redirect {
  op: ">" | ">>" | "@>" | "?>" | "!>" | "*>" | "<";
  target: ArgNode;
  /** The index of the pipeline's command it is written after (`a < f | b`: 0). */
  after: number;
  span: Span;
}

export interface Pipeline {
  commands: CommandNode[];
  redirects: Redirect[];
  span: Span;
}

// ------------------------------------------------------------------------------------------------
// Statements

export interface Block {
  stmts: Stmt[];
  span: Span;
}

export interface Param {
  name: string;
  span: Span;
  type: TypeNode | undefined;
  default: Expr | undefined;
  /** Set by the checker. */
  binding?: number;
  ty?: HType;
}

export interface CatchArm {
  name: string;
  nameSpan: Span;
  body: Block;
  binding?: number;
}

export type AssignOp = "=" | `${BinaryOp}=`;

export type LValue =
  | { k: "var"; name: string; span: Span; binding?: number }
  | { k: "index"; target: LValue; index: Expr; span: Span }
  /** `names[] = x`: append. */
  | { k: "append"; target: LValue; span: Span }
  | { k: "field"; target: LValue; name: string; span: Span };

export type Stmt = { span: Span } & (
  | {
      k: "let";
      mutable: boolean;
      name: string;
      nameSpan: Span;
      type: TypeNode | undefined;
      value: Expr;
      binding?: number;
      /** Set by the checker: the declared type. */
      declared?: HType;
    }
  /** `_ = expr`: evaluate and drop. */
  | { k: "discard"; value: Expr }
  | { k: "assign"; target: LValue; op: AssignOp; value: Expr; opSpan: Span; targetTy?: HType }
  /**
   * `name ++` / `name --`: an increment when `name` is a variable in scope, else the command `name`
   * with the argument `++` / `--` (the checker decides; docs/hydre.md "Assignment operators").
   */
  | {
      k: "incdec";
      name: string;
      nameSpan: Span;
      op: "++" | "--";
      binding?: number;
      asCommand?: Pipeline;
    }
  | { k: "delete"; target: LValue }
  | { k: "expr"; expr: Expr }
  | { k: "pipeline"; pipeline: Pipeline }
  | {
      k: "if";
      branches: { cond: Cond; body: Block }[];
      otherwise: Block | undefined;
    }
  | {
      k: "switch";
      value: Expr;
      whens: { value: Expr; body: Block }[];
      otherwise: Block | undefined;
    }
  | {
      k: "for";
      names: { name: string; span: Span; binding?: number }[];
      iter: Iterable_;
      body: Block;
    }
  | { k: "while"; cond: Cond; body: Block }
  | { k: "break" }
  | { k: "fn"; def: FnDef }
  | { k: "return"; value: Expr | undefined }
  | { k: "fail"; message: Expr }
  | { k: "exit" }
  | { k: "type"; name: string; nameSpan: Span; type: TypeNode }
  | { k: "catch"; expr: Expr; ok: CatchArm | undefined; err: CatchArm | undefined }
  /** A construct the parser reads but NCW does not run yet (docs/hydre.md lists them). */
  | { k: "unsupported"; what: string; section: string }
  /**
   * `import dev::app::cmd`, `import dev::app::{a, b}`, `import dev::app::*`, `import dev::app as x`,
   * `import dev::*`, `import ./app.nva…` (volatile: `volatile` holds the package's path).
   */
  | {
      k: "import";
      path: string[];
      items?: string[];
      star: boolean;
      alias?: string;
      volatile?: string;
    }
  /** `cmd … end`: the script's command description (specs "Commands typing"). */
  | { k: "cmd"; spec: CommandSpec }
);

/** A condition: an expression, or `some x` / `none x` (specs "Handle the null value"). */
export type Cond =
  | { k: "expr"; expr: Expr }
  | { k: "some" | "none"; name: string; span: Span; binding?: number };

export type Iterable_ =
  | { k: "range"; from: Expr; to: Expr; inclusive: boolean; span: Span }
  | { k: "expr"; expr: Expr }
  /** `for f in (./*.txt)`: the items of the NightOS tree the glob pattern matches. */
  | { k: "glob"; pattern: string; span: Span };

export interface FnDef {
  name: string;
  nameSpan: Span;
  params: Param[];
  ret: TypeNode | undefined;
  fallible: boolean;
  body: Block;
  span: Span;
  binding?: number;
}

export interface Script {
  body: Block;
}
