// A Hydre script's text and the diagnostics about it (specs/shell.md "Pre-evaluation checking": an error
// is reported before anything runs, with where it is and what was expected). A diagnostic points at a
// span of the source; it is rendered as rustc and tsc do: `file:line:col`, the line, the span underlined.

/** Half-open range of UTF-16 offsets into the source text. */
export interface Span {
  start: number;
  end: number;
}

export const span = (start: number, end: number): Span => ({ start, end });
export const join = (a: Span, b: Span): Span => ({ start: a.start, end: b.end });

export class Source {
  private readonly lineStarts: number[] = [0];
  constructor(
    /** As the user named it (a path, or `<command line>` for `-c`). */
    readonly name: string,
    readonly text: string,
  ) {
    for (let i = 0; i < text.length; i++) if (text[i] === "\n") this.lineStarts.push(i + 1);
  }

  /** 1-based line and column (in code points) of an offset. */
  position(offset: number): { line: number; column: number } {
    let lo = 0;
    let hi = this.lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((this.lineStarts[mid] as number) <= offset) lo = mid;
      else hi = mid - 1;
    }
    const start = this.lineStarts[lo] as number;
    return { line: lo + 1, column: [...this.text.slice(start, offset)].length + 1 };
  }

  lineText(line: number): string {
    const start = this.lineStarts[line - 1] ?? this.text.length;
    const next = this.lineStarts[line];
    return this.text.slice(start, next === undefined ? undefined : next - 1).replace(/\r$/, "");
  }

  slice(s: Span): string {
    return this.text.slice(s.start, s.end);
  }
}

export type DiagnosticKind = "syntax" | "unknown-command" | "argument" | "type" | "scope";

/** One problem found in a script, before it runs (or, for `panic`, while it runs). */
export interface Diagnostic {
  kind: DiagnosticKind;
  /** Stable code, e.g. HYDRE_TYPE_MISMATCH (docs/hydre.md lists them). */
  code: string;
  message: string;
  span: Span;
  /** What was expected there (shown under the underline). */
  expected?: string;
  hint?: string;
}

/** A diagnostic thrown out of the parser (the parser stops at its first error). */
export class HydreSyntaxError extends Error {
  constructor(
    readonly diagnostic: Diagnostic,
    /** The text ended before the construct did: more lines could complete it. */
    readonly incomplete = false,
  ) {
    super(diagnostic.message);
  }
}

export interface RenderStyle {
  red(s: string): string;
  bold(s: string): string;
  dim(s: string): string;
}

const PLAIN: RenderStyle = { red: (s) => s, bold: (s) => s, dim: (s) => s };

/**
 * A diagnostic as rustc prints one:
 *
 *     error[HYDRE_TYPE_MISMATCH]: cannot assign a bool to `a`, an int
 *      --> script.hys:3:1
 *       |
 *     3 | a &&= 1
 *       | ^^^^^^^ expected int, found bool
 */
export function renderDiagnostic(
  src: Source,
  d: Diagnostic,
  style: RenderStyle = PLAIN,
  label = "error",
): string {
  const from = src.position(d.span.start);
  const to = src.position(Math.max(d.span.start, d.span.end));
  const gutter = String(from.line).length;
  const pad = " ".repeat(gutter);
  const line = src.lineText(from.line);
  // The underline stops at the end of the first line of the span (and is at least one caret).
  const width =
    to.line === from.line
      ? Math.max(1, to.column - from.column)
      : Math.max(1, [...line].length - from.column + 1);
  const tabsBefore = [...line].slice(0, from.column - 1).map((c) => (c === "\t" ? "\t" : " "));
  const under = `${tabsBefore.join("")}${"^".repeat(width)}`;
  const out = [
    `${style.red(style.bold(`${label}[${d.code}]`))}${style.bold(`: ${d.message}`)}`,
    `${pad}${style.dim("-->")} ${src.name}:${from.line}:${from.column}`,
    `${pad} ${style.dim("|")}`,
    `${style.dim(`${from.line} |`)} ${line}`,
    `${pad} ${style.dim("|")} ${style.red(under)}${d.expected === undefined ? "" : ` ${style.red(d.expected)}`}`,
  ];
  if (d.hint !== undefined) out.push(`${pad} ${style.dim("=")} hint: ${d.hint}`);
  return out.join("\n");
}
