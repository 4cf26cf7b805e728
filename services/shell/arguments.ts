// A command line's words matched against a command's typing (specs/shell-scripting.md "Running a
// command", "Combining short arguments", "Argument values", "Commands typing"; specs/applications.md
// "Commands"): positional and dash arguments, flags, combined shorts, `-s=1` values, optional arguments
// and defaults, `requires` / `conflicts`, and the `$if` conditionals that pick the return and CMDIN types.
// The result is the execution context's argument list: one shell value per declared argument, in the
// declared order. A wrong argument is an error before anything runs (specs/shell.md "Pre-evaluation
// checking"), naming the argument, the value and the expected type. Used by `ncw run` / `ncw exec`,
// and meant for Hydre. Decisions: docs/cli.md "Command arguments".

import { CMDIN_IDENTIFIER } from "../../commonassembly/abi/context.js";
import type { Value } from "../../commonassembly/abi/values.js";
import { NcwError } from "../../ncw/errors.js";
import { parseShellType, type ShellType } from "../../ncw/manifest/rules.js";
import type { CommandArg, CommandSpec } from "../../ncw/manifest/types.js";
import { defaultValue, LiteralError, parseWord, typeText } from "./literals.js";

export interface ParsedCommand {
  kind: "run";
  /** One value per declared argument, in the declared order: flags are bools, absent ones `void`. */
  values: Value[];
  /** The arguments the caller gave, by name. */
  given: ReadonlySet<string>;
  /** The return type once the `$if` conditionals are applied (manifest text, e.g. "list[int]"). */
  returnType: string;
  /** The type the command reads from CMDIN, if any, once the conditionals are applied. */
  cmdin?: string;
}

/** `--help` (or `-h`) where the command declares no such argument of its own. */
export interface HelpRequest {
  kind: "help";
}

/**
 * A word that is already a typed value (Hydre: a variable, an expression, a quoted literal): never a
 * dash argument, and turned into the expected type by its own `resolve` (the items it adds, for a list).
 */
export interface TypedWord {
  /** Its source text, for messages. */
  text: string;
  /**
   * The values it gives an argument of type `t` (`optional`: the argument may be left out); throws
   * LiteralError when it is not one.
   */
  resolve(t: ShellType, optional: boolean): Value[];
}

export type Word = string | TypedWord;

/** An argument error, with the index of the word it is about (undefined: about the whole line). */
export class ArgumentError extends NcwError {
  word: number | undefined;
  constructor(message: string, code: string, hint: string | undefined, word: number | undefined) {
    super("usage", message, { code, ...(hint === undefined ? {} : { hint }) });
    this.word = word;
  }
}

interface Arg {
  name: string;
  arg: CommandArg;
  type?: ShellType;
}

/** The word being read when an error is thrown (parseCommandLine sets it; -1: none). */
let atWord = -1;

function argError(code: string, message: string, hint?: string): NcwError {
  return new ArgumentError(message, code, hint, atWord < 0 ? undefined : atWord);
}

/** How an argument is called in messages: `names`, `repeat (-r, --repeat)`. */
export function argLabel(a: { name: string; arg: CommandArg }): string {
  const spellings = [
    ...(a.arg.short === undefined ? [] : [`-${a.arg.short}`]),
    ...(a.arg.long === undefined ? [] : [`--${a.arg.long}`]),
  ];
  return spellings.length === 0 ? a.name : `${a.name} (${spellings.join(", ")})`;
}

/** The `-x` / `--xx` spelling of a dash argument (its long name when it has one). */
function spelling(a: Arg): string {
  return a.arg.long !== undefined ? `--${a.arg.long}` : `-${a.arg.short}`;
}

const isList = (t: ShellType | undefined) => t?.kind === "list";
const NUMBER_WORD = /^-(?:[0-9]|\.[0-9])/;

/**
 * Match `words` (what follows the command's name) against the command `name`'s typing. Throws an
 * NcwError (kind "usage", codes ARG_*) for the first wrong argument.
 */
export function parseCommandLine(
  name: string,
  spec: CommandSpec,
  words: readonly Word[],
): ParsedCommand | HelpRequest {
  try {
    return parseWords(name, spec, words);
  } finally {
    atWord = -1;
  }
}

function parseWords(
  name: string,
  spec: CommandSpec,
  words: readonly Word[],
): ParsedCommand | HelpRequest {
  atWord = -1;
  const args: Arg[] = spec.args.map((a) => ({
    ...a,
    ...(a.arg.type === undefined ? {} : { type: parseShellType(a.arg.type) }),
  }));
  const byShort = new Map(args.filter((a) => a.arg.short).map((a) => [a.arg.short as string, a]));
  const byLong = new Map(args.filter((a) => a.arg.long).map((a) => [a.arg.long as string, a]));
  const got = new Map<string, Value[]>();
  const given = new Set<string>();
  const positional: { word: Word; at: number }[] = [];
  const where = `\`${name}\``;

  /** A word as the argument's value; for a list, the items it adds (a whole `[…]` list, or one item). */
  const value = (a: Arg, word: Word): Value[] => {
    const t = a.type as ShellType;
    try {
      if (typeof word !== "string")
        return word.resolve(t, a.arg.optional === true || a.arg.default !== undefined);
      if (t.kind !== "list") return [parseWord(word, t)];
      if (!/^\s*\[/.test(word)) return [parseWord(word, t.item)];
      try {
        return (parseWord(word, t) as { items: Value[] }).items;
      } catch (whole) {
        // `[1, 2]` for a list[list[int]] is one item; else the whole list's error is the one to show.
        if (t.item.kind !== "list") throw whole;
        try {
          return [parseWord(word, t.item)];
        } catch {
          throw whole;
        }
      }
    } catch (e) {
      if (!(e instanceof LiteralError)) throw e;
      throw argError(
        "ARG_BAD_VALUE",
        `argument ${argLabel(a)} of ${where} expects ${typeText(t)}, got ${typeof word === "string" ? JSON.stringify(word) : word.text}: ${e.message}`,
        `\`ncw help ${name}\` shows the command's arguments`,
      );
    }
  };
  /** A dash argument seen: a flag (no value) or one that takes `val`. */
  const take = (a: Arg, val: Word | undefined, typed: string): void => {
    if (a.arg.syntax === "flag") {
      if (val !== undefined)
        throw argError("ARG_FLAG_VALUE", `${typed} of ${where} is a flag: it takes no value`);
      if (given.has(a.name)) throw argError("ARG_DUPLICATE", `${typed} is given twice to ${where}`);
      given.add(a.name);
      return;
    }
    if (val === undefined)
      throw argError(
        "ARG_MISSING_VALUE",
        `${typed} of ${where} needs a value (${typeText(a.type as ShellType)})`,
        `write ${typed}=<value> or ${typed} <value>`,
      );
    // A list argument may be repeated: each occurrence adds its items.
    if (given.has(a.name) && !isList(a.type))
      throw argError("ARG_DUPLICATE", `${argLabel(a)} is given twice to ${where}`);
    given.add(a.name);
    got.set(a.name, [...(got.get(a.name) ?? []), ...value(a, val)]);
  };
  const unknown = (typed: string): NcwError => {
    // Every way to write each one: `-r/--repeat` when it has both names.
    const known = args
      .filter((a) => a.arg.syntax !== "pos")
      .map((a) =>
        a.arg.short !== undefined && a.arg.long !== undefined
          ? `-${a.arg.short}/--${a.arg.long}`
          : spelling(a),
      )
      .join(", ");
    return argError(
      "ARG_UNKNOWN",
      `${where} has no argument ${typed}`,
      known === "" ? `${where} takes no dash arguments` : `its dash arguments: ${known}`,
    );
  };

  let afterFlag: string | undefined; // the flag the previous word was, if it was one
  let dashes = true;
  for (let i = 0; i < words.length; i++) {
    atWord = i;
    const word = words[i] as Word;
    const next = () => {
      i++;
      atWord = i < words.length ? i : i - 1;
      return words[i];
    };
    if (typeof word !== "string") {
      // A typed value is never read as a flag's value, so it may follow a flag (`echo -n "x"`,
      // the spec's own example; docs/hydre.md "Value types").
      positional.push({ word, at: i });
      afterFlag = undefined;
      continue;
    }
    const w = word;
    if (dashes && w === "--") {
      dashes = false;
      afterFlag = undefined;
      continue;
    }
    if (dashes && (w === "--help" || w === "-h") && !byLong.has("help") && !byShort.has("h"))
      return { kind: "help" };
    if (dashes && w.startsWith("--")) {
      const eq = w.indexOf("=");
      const long = eq < 0 ? w.slice(2) : w.slice(2, eq);
      const a = byLong.get(long);
      if (a === undefined) throw unknown(`--${long}`);
      take(
        a,
        eq < 0 ? (a.arg.syntax === "flag" ? undefined : next()) : w.slice(eq + 1),
        `--${long}`,
      );
      afterFlag = a.arg.syntax === "flag" ? `--${long}` : undefined;
      continue;
    }
    // `-` alone and negative numbers (unless the digit is a declared short) are values.
    const isShorts =
      dashes &&
      w.startsWith("-") &&
      w.length > 1 &&
      !(NUMBER_WORD.test(w) && !byShort.has(w[1] as string));
    if (isShorts) {
      // `-abc` is `-a -b -c`; the last may take a value: `-ab=1`, `-ab 1` (specs "Combining short arguments").
      const eq = w.indexOf("=");
      const letters = [...(eq < 0 ? w.slice(1) : w.slice(1, eq))];
      letters.forEach((l, j) => {
        const a = byShort.get(l);
        if (a === undefined) throw unknown(`-${l}`);
        const last = j === letters.length - 1;
        if (!last && a.arg.syntax !== "flag")
          throw argError(
            "ARG_MISSING_VALUE",
            `-${l} of ${where} needs a value, so it can only be the last of ${w}`,
          );
        const val = !last
          ? undefined
          : eq >= 0
            ? w.slice(eq + 1)
            : a.arg.syntax === "flag"
              ? undefined
              : next();
        take(a, val, `-${l}`);
        afterFlag = a.arg.syntax === "flag" ? `-${l}` : undefined;
      });
      if (letters.length === 0) throw unknown(w);
      continue;
    }
    // specs/shell-scripting.md "Value types": no positional argument right after a flag.
    if (afterFlag !== undefined)
      throw argError(
        "ARG_AFTER_FLAG",
        `${JSON.stringify(w)} cannot come right after the flag ${afterFlag} of ${where}`,
        `write positional arguments before ${afterFlag} (or after --)`,
      );
    positional.push({ word: w, at: i });
  }

  atWord = -1;
  assignPositionals(args, positional, where, (a, word) => {
    given.add(a.name);
    got.set(a.name, [...(got.get(a.name) ?? []), ...value(a, word)]);
  });

  // Absent arguments, requires / conflicts.
  atWord = -1;
  for (const a of args) {
    const here = given.has(a.name);
    if (!here && a.arg.syntax !== "flag" && a.arg.optional !== true && a.arg.default === undefined)
      throw argError(
        "ARG_MISSING",
        `${where} needs the argument ${argLabel(a)} (${typeText(a.type as ShellType)})`,
        `\`ncw help ${name}\` shows the command's arguments`,
      );
    if (!here) continue;
    for (const other of a.arg.requires ?? [])
      if (!given.has(other))
        throw argError("ARG_REQUIRES", `${argLabel(a)} of ${where} requires the argument ${other}`);
    for (const other of a.arg.conflicts ?? [])
      if (given.has(other))
        throw argError(
          "ARG_CONFLICTS",
          `${argLabel(a)} of ${where} cannot be used together with ${other}`,
        );
  }

  const values = args.map((a): Value => {
    if (a.arg.syntax === "flag") return { type: "bool", value: given.has(a.name) };
    const vs = got.get(a.name);
    const t = a.type as ShellType;
    if (vs === undefined) return a.arg.default === undefined ? { type: "void" } : byDefault(a, t);
    return t.kind === "list" ? { type: "list", items: vs } : (vs[0] as Value);
  });
  const types = conditionalTypes(args, values, given, spec);
  // ncw's stdin is one stream: one `-` argument at most, and only when CMDIN is not a typed value.
  const stdin = args.filter((_, i) => stdinUses(values[i] as Value) > 0);
  if (values.reduce((n, v) => n + stdinUses(v), 0) > 1)
    throw argError(
      "ARG_STDIN_TWICE",
      `${stdin.map(argLabel).join(" and ")} of ${where} take ncw's stdin (-) more than once: it is one stream`,
    );
  const first = stdin[0];
  if (first !== undefined && types.cmdin !== undefined && types.cmdin.trim() !== "stream")
    throw argError(
      "ARG_STDIN_TYPED",
      `${argLabel(first)} of ${where} takes ncw's stdin (-), which is its typed input (${types.cmdin})`,
    );
  return { kind: "run", values, given, ...types };
}

/** How many times a value is (or holds) the stream `-`, ncw's stdin through CMDIN. */
function stdinUses(v: Value): number {
  if (v.type === "stream") return v.rc === CMDIN_IDENTIFIER ? 1 : 0;
  return v.type === "list" ? v.items.reduce((n, i) => n + stdinUses(i), 0) : 0;
}

/** An absent argument's manifest `default` (the validator checked its shape, not a map's keys). */
function byDefault(a: Arg, t: ShellType): Value {
  try {
    return defaultValue(a.arg.default, t);
  } catch (e) {
    if (!(e instanceof LiteralError)) throw e;
    throw new NcwError(
      "data",
      `the manifest's default of ${argLabel(a)} is not a ${typeText(t)}: ${e.message}`,
      {
        code: "ARG_BAD_DEFAULT",
      },
    );
  }
}

/**
 * Positional words to positional arguments, in order. A scalar takes one word; a list takes as many as
 * it can; each leaves enough words for the required positional arguments after it.
 */
function assignPositionals(
  args: readonly Arg[],
  words: readonly { word: Word; at: number }[],
  where: string,
  set: (a: Arg, word: Word) => void,
): void {
  const pos = args.filter((a) => a.arg.syntax === "pos");
  const required = (a: Arg) => a.arg.optional !== true && a.arg.default === undefined;
  let i = 0;
  pos.forEach((a, j) => {
    const later = pos.slice(j + 1).filter(required).length;
    const free = words.length - i - later;
    const n = isList(a.type) ? Math.max(free, 0) : Math.min(Math.max(free, 0), 1);
    for (let k = 0; k < n; k++) {
      const w = words[i + k] as { word: Word; at: number };
      atWord = w.at;
      set(a, w.word);
    }
    i += n;
  });
  if (i < words.length) {
    const { word: extra, at } = words[i] as { word: Word; at: number };
    atWord = at;
    const text = typeof extra === "string" ? JSON.stringify(extra) : extra.text;
    throw argError(
      "ARG_UNEXPECTED",
      `unexpected argument ${text} for ${where}, which takes ${pos.length === 0 ? "no" : `at most ${pos.length}`} positional argument${pos.length === 1 ? "" : "s"}`,
      typeof extra === "string" && extra.startsWith("-")
        ? "a word after -- is never a dash argument"
        : undefined,
    );
  }
}

/** A conditional's test (`present()`, `absent(x)`, `x == 2`, `else`) on the parsed arguments. */
function condHolds(
  cond: string,
  self: string,
  byName: ReadonlyMap<string, Value>,
  given: ReadonlySet<string>,
): boolean {
  const c = cond.trim();
  const pa = /^(present|absent)\(\s*([^)]*?)\s*\)$/.exec(c);
  if (pa !== null) {
    const here = given.has(pa[2] === "" || pa[2] === undefined ? self : pa[2]);
    return pa[1] === "present" ? here : !here;
  }
  const rel = /^([a-z_][a-z0-9_-]*)\s*(==|!=|<=|>=|<|>)\s*(-?[0-9.]+|"[^"]*"|'[^']*')$/.exec(c);
  if (rel === null) return false;
  const v = byName.get(rel[1] as string);
  const lit = rel[3] as string;
  const want: number | string = /^["']/.test(lit) ? lit.slice(1, -1) : Number(lit);
  let have: number | string;
  if (v === undefined || v.type === "void") return false;
  if (v.type === "int") have = Number(v.value);
  else if (v.type === "float") have = v.value;
  else if (v.type === "string" || v.type === "char" || v.type === "path") have = v.value;
  else if (v.type === "bool") have = v.value ? 1 : 0;
  else return false;
  if (typeof have !== typeof want) return false;
  switch (rel[2]) {
    case "==":
      return have === want;
    case "!=":
      return have !== want;
    case "<":
      return have < want;
    case ">":
      return have > want;
    case "<=":
      return have <= want;
    default:
      return have >= want;
  }
}

/**
 * The return and CMDIN types after the `$if` conditionals: each argument's list is an if / elif / else
 * chain (the first that holds applies); the arguments are taken in the declared order, a later one's
 * choice replacing an earlier one's (NCW decision, docs/cli.md).
 */
function conditionalTypes(
  args: readonly Arg[],
  values: readonly Value[],
  given: ReadonlySet<string>,
  spec: CommandSpec,
): { returnType: string; cmdin?: string } {
  const byName = new Map(args.map((a, i) => [a.name, values[i] as Value]));
  let returnType = spec.return;
  let cmdin = spec.cmdin;
  for (const a of args) {
    const hit = (a.arg.if ?? []).find((c) =>
      c.cond.trim() === "else" ? true : condHolds(c.cond, a.name, byName, given),
    );
    if (hit?.return !== undefined) returnType = hit.return;
    if (hit?.cmdin !== undefined) cmdin = hit.cmdin;
  }
  return { returnType, ...(cmdin === undefined ? {} : { cmdin }) };
}
