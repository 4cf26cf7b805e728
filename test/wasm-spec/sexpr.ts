// A small S-expression reader for WebAssembly script files (.wast; WebAssembly spec, "Text Format" and
// the reference interpreter's script syntax): lists, atoms and strings, with source positions.

export type SNode = SList | SAtom | SString;

export interface SList {
  kind: "list";
  items: SNode[];
  /** Offsets of "(" and just after ")" in the source. */
  start: number;
  end: number;
}

export interface SAtom {
  kind: "atom";
  text: string;
  start: number;
  end: number;
}

export interface SString {
  kind: "string";
  /** The string's bytes after escapes (strings in wat are byte strings). */
  bytes: Uint8Array;
  start: number;
  end: number;
}

export class SExprError extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message);
  }
}

const DELIMS = new Set([" ", "\t", "\n", "\r", "(", ")", '"', ";"]);

function readString(src: string, pos: number): { node: SString; next: number } {
  const bytes: number[] = [];
  const enc = new TextEncoder();
  let i = pos + 1;
  for (;;) {
    if (i >= src.length) throw new SExprError("unterminated string", pos);
    const c = src[i] as string;
    if (c === '"') break;
    if (c === "\\") {
      const d = src[i + 1] ?? "";
      const simple: Record<string, number> = { n: 10, t: 9, r: 13, '"': 34, "'": 39, "\\": 92 };
      if (d in simple) {
        bytes.push(simple[d] as number);
        i += 2;
      } else if (d === "u") {
        const close = src.indexOf("}", i);
        const cp = Number.parseInt(src.slice(i + 3, close).replaceAll("_", ""), 16);
        bytes.push(...enc.encode(String.fromCodePoint(cp)));
        i = close + 1;
      } else if (/[0-9a-fA-F]/.test(d) && /[0-9a-fA-F]/.test(src[i + 2] ?? "")) {
        bytes.push(Number.parseInt(src.slice(i + 1, i + 3), 16));
        i += 3;
      } else {
        throw new SExprError(`bad escape \\${d}`, i);
      }
    } else {
      const cp = src.codePointAt(i) as number;
      const ch = String.fromCodePoint(cp);
      bytes.push(...enc.encode(ch));
      i += ch.length;
    }
  }
  return {
    node: { kind: "string", bytes: new Uint8Array(bytes), start: pos, end: i + 1 },
    next: i + 1,
  };
}

/** Skips whitespace and comments (line `;;` and nested block `(; ;)`); returns the next offset. */
function skip(src: string, pos: number): number {
  let i = pos;
  for (;;) {
    const c = src[i];
    if (c === " " || c === "\t" || c === "\n" || c === "\r") i++;
    else if (c === ";" && src[i + 1] === ";") {
      const nl = src.indexOf("\n", i);
      i = nl < 0 ? src.length : nl + 1;
    } else if (c === "(" && src[i + 1] === ";") {
      let depth = 1;
      i += 2;
      while (depth > 0) {
        if (i >= src.length) throw new SExprError("unterminated block comment", pos);
        if (src[i] === "(" && src[i + 1] === ";") {
          depth++;
          i += 2;
        } else if (src[i] === ";" && src[i + 1] === ")") {
          depth--;
          i += 2;
        } else i++;
      }
    } else return i;
  }
}

/** Parses a whole script into its top-level S-expressions. */
export function parseSExprs(src: string): SNode[] {
  const top: SNode[] = [];
  const stack: SList[] = [];
  let i = 0;
  for (;;) {
    i = skip(src, i);
    if (i >= src.length) break;
    const c = src[i] as string;
    const push = (n: SNode): void => {
      const parent = stack[stack.length - 1];
      if (parent) parent.items.push(n);
      else top.push(n);
    };
    if (c === "(") {
      stack.push({ kind: "list", items: [], start: i, end: -1 });
      i++;
    } else if (c === ")") {
      const l = stack.pop();
      if (!l) throw new SExprError("unbalanced )", i);
      l.end = i + 1;
      i++;
      push(l);
    } else if (c === '"') {
      const { node, next } = readString(src, i);
      push(node);
      i = next;
    } else {
      let j = i;
      while (j < src.length && !DELIMS.has(src[j] as string)) j++;
      if (j === i) throw new SExprError(`unexpected character ${JSON.stringify(c)}`, i);
      push({ kind: "atom", text: src.slice(i, j), start: i, end: j });
      i = j;
    }
  }
  if (stack.length > 0) throw new SExprError("unbalanced (", stack[stack.length - 1]?.start ?? 0);
  return top;
}

export function atomText(n: SNode | undefined): string | undefined {
  return n?.kind === "atom" ? n.text : undefined;
}

export function headOf(n: SNode | undefined): string | undefined {
  return n?.kind === "list" ? atomText(n.items[0]) : undefined;
}

export function stringText(n: SNode | undefined): string | undefined {
  return n?.kind === "string"
    ? new TextDecoder("utf-8", { ignoreBOM: true }).decode(n.bytes)
    : undefined;
}

/** 1-based line number of an offset. */
export function lineOf(src: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset && i < src.length; i++) if (src.charCodeAt(i) === 10) line++;
  return line;
}
