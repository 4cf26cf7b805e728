// The parser's tree and spans (services/hydre/parser.ts) and the diagnostics' rendering (source.ts).

import { describe, expect, it } from "vitest";
import type { Expr, Stmt } from "./ast.js";
import { parseScript } from "./parser.js";
import { HydreSyntaxError, renderDiagnostic, Source } from "./source.js";

const one = (text: string): Stmt => parseScript(text).body.stmts[0] as Stmt;
const exprOf = (text: string): Expr => {
  const s = one(`_ = ${text}`);
  if (s.k !== "discard") throw new Error(`not a discard: ${s.k}`);
  return s.value;
};
/** An expression as a fully parenthesized string, to see the precedence. */
function shape(e: Expr): string {
  switch (e.k) {
    case "binary":
      return `(${shape(e.left)} ${e.op} ${shape(e.right)})`;
    case "unary":
      return `(${e.op}${shape(e.expr)})`;
    case "int":
      return String(e.value);
    case "var":
      return e.name;
    case "is":
      return `(${shape(e.expr)} ${e.negated ? "isnt" : "is"} T)`;
    default:
      return e.k;
  }
}

describe("the Hydre parser", () => {
  it("gives the operators their precedence (docs/hydre.md)", () => {
    expect(shape(exprOf("1 + 2 * 3 ** 2 ** 2"))).toBe("(1 + (2 * (3 ** (2 ** 2))))");
    expect(shape(exprOf("-2 ** 2"))).toBe("(-(2 ** 2))");
    expect(shape(exprOf("a || b && c == d | e ^ f & g << 1 + 2"))).toBe(
      "(a || (b && (c == (d | (e ^ (f & (g << (1 + 2))))))))",
    );
    expect(shape(exprOf("10 - 4 - 3"))).toBe("((10 - 4) - 3)");
    expect(shape(exprOf("x is int && !y"))).toBe("((x is T) && (!y))");
  });

  it("tells commands from expressions and assignments by their first words", () => {
    expect(one("echo (1 + 2)").k).toBe("pipeline");
    expect(one("hello()").k).toBe("expr");
    expect(one("hello (1)").k).toBe("pipeline");
    expect(one("names[] = 1").k).toBe("assign");
    expect(one("a += 1").k).toBe("assign");
    expect(one("a ++").k).toBe("incdec");
    expect(one("names.len()").k).toBe("expr");
    expect(one("ncwdemo::stat.stat [1] -o min").k).toBe("pipeline");
  });

  it("keeps each command argument's kind and span", () => {
    const s = one('cmd pos -ab --x=1 "q s" $v (1 + 2) this\\ is -- \\-n');
    if (s.k !== "pipeline") throw new Error("not a command");
    const c = s.pipeline.commands[0];
    const args = c?.args.map((a) =>
      a.k === "word" ? `${a.text}${a.escaped ? "!" : ""}` : a.expr.k,
    );
    expect(args).toEqual([
      "pos",
      "-ab",
      "--x=1",
      "string",
      "var",
      "binary",
      "this is",
      "--",
      "-n!",
    ]);
    expect(c?.args.map((a) => [a.span.start, a.span.end])[3]).toEqual([18, 23]);
  });

  it("reads a path written as the spec writes it, and division with spaces", () => {
    expect(exprOf("dir/file.ext").k).toBe("path");
    expect(exprOf("./a").k).toBe("path");
    expect(exprOf("a / b").k).toBe("binary");
  });

  it("stops at the first syntax error, with its span", () => {
    try {
      parseScript('if true\n  echo "x"\n');
      throw new Error("parsed");
    } catch (e) {
      if (!(e instanceof HydreSyntaxError)) throw e;
      expect(e.diagnostic.message).toBe("this `if` is never closed");
      expect(e.diagnostic.span).toEqual({ start: 0, end: 2 });
    }
  });
});

describe("diagnostics", () => {
  it("are rendered as rustc renders them, the gutter as wide as the line number", () => {
    const text = `${"\n".repeat(9)}\tlet x: int = "s"`;
    const src = new Source("s.hys", text);
    const start = text.indexOf('"s"');
    const out = renderDiagnostic(src, {
      kind: "type",
      code: "HYDRE_TYPE_MISMATCH",
      message: "no",
      span: { start, end: start + 3 },
      expected: "expected int",
      hint: "a hint",
    });
    expect(out).toBe(
      [
        "error[HYDRE_TYPE_MISMATCH]: no",
        "  --> s.hys:10:15",
        "   |",
        '10 | \tlet x: int = "s"',
        "   | \t             ^^^ expected int",
        "   = hint: a hint",
      ].join("\n"),
    );
  });

  it("count columns in code points", () => {
    const src = new Source("x", "é😀z");
    expect(src.position(3)).toEqual({ line: 1, column: 3 });
  });
});
