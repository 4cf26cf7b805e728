// Shell values as a caller writes them (specs/shell-scripting.md "Value types"), read against the type the
// command expects and turned into the shell values of the values encoding (commonassembly/abi/values.ts,
// specs/applications.md "Values encoding"). One word of a command line is one value; the word is taken
// as it is for the scalar types (the host shell already removed its quotes), and composite values use the
// shell's literal syntax: `[a, "b c"]`, `{ "k": 1 }`. Decisions: docs/cli.md "Argument values".

import { CMDIN_IDENTIFIER } from "../../commonassembly/abi/context.js";
import type { Value } from "../../commonassembly/abi/values.js";
import type { ShellType } from "../../ncw/manifest/rules.js";

/** Why a word is not a value of the expected type (the caller names the argument). */
export class LiteralError extends Error {}

const INT = /^[+-]?(?:0x[0-9a-fA-F]+|0o[0-7]+|0b[01]+|[0-9]+)$/;
const FLOAT = /^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$/;
const I64_MIN = -(2n ** 63n);
const I64_MAX = 2n ** 63n - 1n;

/** The type as the manifest writes it, for messages (`list[int]`, `enum["a" | "b"]`). */
export function typeText(t: ShellType): string {
  switch (t.kind) {
    case "base":
      return t.name;
    case "list":
      return `list[${typeText(t.item)}]`;
    case "map":
      return `map[${typeText(t.key)}, ${typeText(t.value)}]`;
    case "enum":
      return `enum[${t.values.map((v) => (typeof v === "string" ? JSON.stringify(v) : String(v))).join(" | ")}]`;
    case "struct":
      return `struct { ${t.fields.map((f) => `${f.name}: ${typeText(f.type)}`).join(", ")} }`;
    case "nullable":
      return `${typeText(t.inner)}?`;
  }
}

export function parseInt64(text: string): bigint {
  if (!INT.test(text)) throw new LiteralError("not an integer");
  const neg = text.startsWith("-");
  const digits = text.replace(/^[+-]/, "");
  const n = neg ? -BigInt(digits) : BigInt(digits);
  if (n < I64_MIN || n > I64_MAX)
    throw new LiteralError("out of the range of a 64-bit signed integer");
  return n;
}

export function parseFloat64(text: string): number {
  if (!FLOAT.test(text)) throw new LiteralError("not a number");
  const x = Number(text);
  if (!Number.isFinite(x)) throw new LiteralError("out of the range of a 64-bit float");
  return x;
}

/** The Value of an enumeration's constant: integers are `int`, other numbers `float`, text `string`. */
export function enumConstantValue(c: string | number | bigint): Value {
  if (typeof c === "string") return { type: "string", value: c };
  if (typeof c === "bigint") return { type: "int", value: c };
  return Number.isInteger(c) ? { type: "int", value: BigInt(c) } : { type: "float", value: c };
}

/**
 * A scalar's text as a value of `t`. `quoted` says the text came from a quoted literal inside a
 * composite value (`["3"]` is a string, never an int).
 */
function scalar(text: string, t: ShellType, quoted: boolean): Value {
  if (t.kind === "enum") {
    const hit = t.values.find((c) =>
      typeof c === "string" ? c === text : !quoted && FLOAT.test(text) && Number(text) === c,
    );
    if (hit === undefined) throw new LiteralError("not one of the enumeration's values");
    return enumConstantValue(hit);
  }
  if (t.kind !== "base") throw new LiteralError(`a ${typeText(t)} is written with brackets`);
  const bare = (what: string) => {
    if (quoted) throw new LiteralError(`${what} is written without quotes`);
  };
  switch (t.name) {
    case "bool":
      bare("a bool");
      if (text === "true") return { type: "bool", value: true };
      if (text === "false") return { type: "bool", value: false };
      throw new LiteralError("not true or false");
    case "int":
      bare("an int");
      return { type: "int", value: parseInt64(text) };
    case "float":
      bare("a float");
      return { type: "float", value: parseFloat64(text) };
    case "char": {
      // One code point, as is or in the shell's 'c' quotes.
      const inner = /^'(.+)'$/su.exec(text)?.[1];
      const cps = [...(inner !== undefined && [...inner].length === 1 ? inner : text)];
      if (cps.length !== 1)
        throw new LiteralError(
          `a char is exactly one character (code point), got ${[...text].length}`,
        );
      return { type: "char", value: cps[0] as string };
    }
    case "string":
    case "anystr":
      return { type: "string", value: text };
    case "path":
      // specs/shell-scripting.md "Value types": a path contains at least one `/`.
      if (!text.includes("/"))
        throw new LiteralError("a path contains at least one / (write ./name for a relative one)");
      return { type: "path", value: text };
    case "command": {
      // The shell writes a command value `@{ cmd args }`; the braces are optional here.
      const inner = /^@\{(.*)\}$/s.exec(text)?.[1]?.trim() ?? text;
      if (inner.trim() === "") throw new LiteralError("a command is not empty");
      return { type: "command", value: inner };
    }
    case "any":
      return quoted ? { type: "string", value: text } : inferred(text);
    case "stream":
      // `-`: ncw's stdin, which CMDIN carries as it comes (decided, docs/cli.md "Typed input").
      if (text === "-") return { type: "stream", rc: CMDIN_IDENTIFIER };
      throw new LiteralError(
        "a stream is written - (ncw's stdin, as it comes: pipe the data into the command)",
      );
    default:
      throw new LiteralError(`no value can be written for the type ${t.name}`);
  }
}

/** An `any` value's type from its spelling, as the shell's literals tell them apart. */
function inferred(text: string): Value {
  if (text === "true" || text === "false") return { type: "bool", value: text === "true" };
  if (INT.test(text)) {
    try {
      return { type: "int", value: parseInt64(text) };
    } catch {
      // too large for an int: a float below, else a string
    }
  }
  if (FLOAT.test(text) && Number.isFinite(Number(text)))
    return { type: "float", value: Number(text) };
  if (/^'.'$/su.test(text)) return { type: "char", value: [...text][1] as string };
  if (text.includes("/")) return { type: "path", value: text };
  return { type: "string", value: text };
}

/** The shell's literal syntax inside brackets and braces: a small recursive-descent reader. */
class Reader {
  i = 0;
  constructor(readonly text: string) {}
  ws(): void {
    while (/\s/.test(this.text[this.i] ?? "")) this.i++;
  }
  peek(): string | undefined {
    this.ws();
    return this.text[this.i];
  }
  expect(c: string): void {
    if (this.peek() !== c) throw new LiteralError(`expected "${c}" at column ${this.i + 1}`);
    this.i++;
  }
  /** A quoted string ("…" with \-escapes, or '…' for a char) or a bare run up to a delimiter. */
  token(): { text: string; quoted: boolean } {
    const c = this.peek();
    if (c === '"' || c === "'") {
      let out = "";
      this.i++;
      for (;;) {
        const ch = this.text[this.i++];
        if (ch === undefined) throw new LiteralError(`unterminated ${c}quote${c}`);
        if (ch === c) break;
        if (ch === "\\") {
          const e = this.text[this.i++];
          const map: Record<string, string> = { n: "\n", t: "\t", r: "\r", "0": "\0" };
          if (e === undefined) throw new LiteralError("a \\ ends the text");
          out += map[e] ?? e;
        } else out += ch;
      }
      return { text: c === "'" ? `'${out}'` : out, quoted: c === '"' };
    }
    const start = this.i;
    while (this.i < this.text.length && !",]}:[{".includes(this.text[this.i] as string)) this.i++;
    const text = this.text.slice(start, this.i).trim();
    if (text === "") throw new LiteralError(`expected a value at column ${start + 1}`);
    return { text, quoted: false };
  }
  /** `open items close`, items separated by commas (a trailing comma allowed). */
  items(open: string, close: string, item: () => void): void {
    this.expect(open);
    if (this.peek() === close) {
      this.i++;
      return;
    }
    for (;;) {
      item();
      const c = this.peek();
      this.i++;
      if (c === close) return;
      if (c !== ",") throw new LiteralError(`expected "," or "${close}" at column ${this.i}`);
      if (this.peek() === close) {
        this.i++;
        return;
      }
    }
  }
  value(t: ShellType): Value {
    switch (t.kind) {
      case "list": {
        const items: Value[] = [];
        this.items("[", "]", () => items.push(this.value(t.item)));
        return { type: "list", items };
      }
      case "map": {
        // NCW's encoding of a map (the spec's table has no map code): a list of [key, value] pairs.
        const pairs: Value[] = [];
        const seen = new Set<string>();
        this.items("{", "}", () => {
          const k = this.value(t.key);
          const id = JSON.stringify(k, (_, v) => (typeof v === "bigint" ? `${v}n` : v));
          if (seen.has(id)) throw new LiteralError("a key appears twice in the map");
          seen.add(id);
          this.expect(":");
          pairs.push({ type: "list", items: [k, this.value(t.value)] });
        });
        return { type: "list", items: pairs };
      }
      case "struct": {
        // NCW's encoding of a structure: the list of its field values, in the declared order.
        const got = new Map<string, Value>();
        this.items("{", "}", () => {
          const name = this.token().text;
          const f = t.fields.find((x) => x.name === name);
          if (f === undefined) throw new LiteralError(`the structure has no field ${name}`);
          if (got.has(name)) throw new LiteralError(`the field ${name} is given twice`);
          this.expect(":");
          got.set(name, this.value(f.type));
        });
        const items = t.fields.map((f) => {
          const v = got.get(f.name);
          if (v === undefined) throw new LiteralError(`the field ${f.name} is missing`);
          return v;
        });
        return { type: "list", items };
      }
      case "base":
        if (t.name === "any") {
          const c = this.peek();
          if (c === "[") return this.value({ kind: "list", item: t });
          if (c === "{")
            return this.value({ kind: "map", key: { kind: "base", name: "string" }, value: t });
        }
        break;
      default:
        break;
    }
    const tok = this.token();
    return scalar(tok.text, t, tok.quoted);
  }
}

/** A whole word of a command line as a value of `t`. */
export function parseWord(word: string, t: ShellType): Value {
  const composite =
    t.kind === "list" ||
    t.kind === "map" ||
    t.kind === "struct" ||
    (t.kind === "base" && t.name === "any" && /^\s*[[{]/.test(word));
  if (!composite) return scalar(word, t, false);
  const r = new Reader(word);
  const v = r.value(t);
  r.ws();
  if (r.i !== word.length)
    throw new LiteralError(`unexpected "${word.slice(r.i)}" after the value`);
  return v;
}

/** A manifest's `default` (a TOML value, already checked to fit the type) as a value of `t`. */
export function defaultValue(v: unknown, t: ShellType): Value {
  switch (t.kind) {
    case "nullable":
      return defaultValue(v, t.inner);
    case "enum":
      return enumConstantValue(v as string | number | bigint);
    case "list":
      return { type: "list", items: (v as unknown[]).map((x) => defaultValue(x, t.item)) };
    case "map":
      return {
        type: "list",
        items: Object.entries(v as Record<string, unknown>).map(([k, x]) => ({
          type: "list",
          items: [parseWord(k, t.key), defaultValue(x, t.value)],
        })),
      };
    case "struct":
      return {
        type: "list",
        items: t.fields.map((f) => defaultValue((v as Record<string, unknown>)[f.name], f.type)),
      };
    case "base":
      switch (t.name) {
        case "bool":
          return { type: "bool", value: v as boolean };
        case "int":
          return { type: "int", value: BigInt(v as number | bigint) };
        case "float":
          return { type: "float", value: Number(v) };
        case "char":
        case "string":
        case "path":
        case "command":
          return { type: t.name, value: v as string };
        case "anystr":
          return { type: "string", value: String(v) };
        default:
          return tomlAny(v);
      }
  }
}

/** An `any` default: its type from the TOML value's. */
function tomlAny(v: unknown): Value {
  if (typeof v === "boolean") return { type: "bool", value: v };
  if (typeof v === "bigint") return { type: "int", value: v };
  if (typeof v === "number")
    return Number.isInteger(v) ? { type: "int", value: BigInt(v) } : { type: "float", value: v };
  if (Array.isArray(v)) return { type: "list", items: v.map(tomlAny) };
  if (typeof v === "object" && v !== null)
    return {
      type: "list",
      items: Object.entries(v).map(([k, x]) => ({
        type: "list",
        items: [{ type: "string", value: k }, tomlAny(x)],
      })),
    };
  return { type: "string", value: String(v) };
}
