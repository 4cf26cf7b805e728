// Usage errors that name what is wrong (docs/cli.md, "Usage errors"): yargs' failure messages
// rewritten from the command line and the options and subcommands of the command being parsed.

import { NcwError } from "../ncw/errors.js";

/** What yargs exposes (untyped in @types/yargs) about the command it was parsing when it failed. */
export interface ParserIntrospection {
  getOptions(): {
    key: Record<string, unknown>;
    alias: Record<string, string[]>;
    boolean: string[];
  };
  getInternalMethods(): {
    getContext(): { commands: string[]; fullCommands: string[] };
    getCommandInstance(): { getCommands(): string[] };
    getUsageInstance(): { cacheHelpMessage(): void };
  };
}

/** The command-line words before `--` (after it everything is an app's argument). */
function beforeDashes(args: string[]): string[] {
  const end = args.indexOf("--");
  return end === -1 ? args : args.slice(0, end);
}

/** Whether `--json` was given: usage errors are then printed as JSON too. */
export function wantsJson(args: string[]): boolean {
  return beforeDashes(args).some((a) => a === "--json" || a === "--json=true");
}

const camel = (s: string) => s.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());
const kebab = (s: string) => s.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

/** Edit distance with transpositions (optimal string alignment): "isnpect" is 1 from "inspect". */
export function editDistance(a: string, b: string): number {
  const d: number[][] = [];
  for (let i = 0; i <= a.length; i++) d.push([i, ...Array<number>(b.length).fill(0)]);
  for (let j = 0; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}

/**
 * The names close to `word`: at most one edit for words of up to 5 characters, two beyond,
 * or a case-only difference (`-v` for `-V`). "foo" suggests nothing ("fs" is two edits away).
 */
export function closeNames(word: string, names: string[]): string[] {
  // A short option (`-v`) is one edit from every other one: only its other case is close.
  const max = /^-.$/.test(word) ? 0 : word.length <= 5 ? 1 : 2;
  return names.filter(
    (n) => n.toLowerCase() === word.toLowerCase() || editDistance(word, n) <= max,
  );
}

const orList = (xs: string[]) =>
  xs.length <= 1 ? (xs[0] ?? "") : `${xs.slice(0, -1).join(", ")} or ${xs[xs.length - 1]}`;

interface Known {
  /** Every spelling (`trace-file`, `traceFile`, `o`) → how to show it (`--trace-file`, `-o (--output)`). */
  shown: Map<string, string>;
  /** The spellings of options that take no value. */
  flags: Set<string>;
}

function knownOptions(p: ParserIntrospection): Known {
  const opts = p.getOptions();
  const shown = new Map<string, string>();
  const flags = new Set<string>();
  const flag = (n: string) => (n.length === 1 ? `-${n}` : `--${n}`);
  for (const key of Object.keys(opts.key)) {
    const main = flag(kebab(key));
    const isFlag = opts.boolean.includes(key);
    for (const n of [key, camel(key), kebab(key), ...(opts.alias[key] ?? [])]) {
      shown.set(n, n.length === 1 ? `${flag(n)} (${main})` : main);
      if (isFlag) flags.add(n);
    }
  }
  return { shown, flags };
}

/** The command line's positional words, and the options on it that the command does not have. */
function scan(args: string[], known: Known): { words: string[]; unknown: string[] } {
  const words: string[] = [];
  const bad: string[] = [];
  const list = beforeDashes(args);
  for (let i = 0; i < list.length; i++) {
    const a = list[i]!;
    let name: string | undefined;
    if (a.startsWith("--") && a.length > 2) {
      name = a.slice(2).split("=")[0]!;
      const plain = name.startsWith("no-") ? name.slice(3) : name;
      if (!known.shown.has(name) && !known.shown.has(plain)) bad.push(`--${name}`);
    } else if (/^-[^-\d]/.test(a)) {
      // A cluster of short flags (`-xyz`); `-1` is a number, not an option.
      for (const c of a.slice(1).split("=")[0]!) if (!known.shown.has(c)) bad.push(`-${c}`);
      name = a.slice(-1);
    } else {
      words.push(a);
      continue;
    }
    // An option that takes a value takes the next word, unless given as `--name=value`.
    if (!a.includes("=") && known.shown.has(name) && !known.flags.has(name)) i++;
  }
  return { words, unknown: [...new Set(bad)] };
}

function usage(message: string, code: string, hint: string): NcwError {
  return new NcwError("usage", message, { code, hint });
}

/**
 * The usage error to report for yargs' failure `msg` on `args`: unknown options first (yargs
 * would complain about a missing argument that the unknown option swallowed as its value), then
 * a missing or unknown (sub)command with the list of valid ones, then yargs' own message.
 */
export function usageError(msg: string, args: string[], p: ParserIntrospection): NcwError {
  const internals = p.getInternalMethods();
  const context = internals.getContext();
  const path = ["ncw", ...context.commands].join(" ");
  const helpHint = `\`${path} --help\` shows the usage`;
  const known = knownOptions(p);
  const { words, unknown } = scan(args, known);
  if (unknown.length > 0) {
    const first = unknown[0]!;
    // Positionals are options too for yargs: they are not listed as options.
    const full = context.fullCommands[context.fullCommands.length - 1] ?? "";
    const positionals = new Set(
      [...full.matchAll(/[<[]([^\]>.]+)/g)].map((m) => `--${kebab(m[1]!)}`),
    );
    const spellings = [...new Set(known.shown.values())]
      .filter((s) => s.startsWith("--") && !positionals.has(s))
      .sort();
    const flagOf = (k: string) => (k.length === 1 ? `-${k}` : `--${k}`);
    const close = closeNames(first, [...known.shown.keys()].map(flagOf));
    const suggestion = [...new Set(close.map((c) => known.shown.get(c.replace(/^--?/, ""))!))];
    return usage(
      `unknown option${unknown.length > 1 ? "s" : ""} ${unknown.join(", ")} for \`${path}\``,
      "CLI_UNKNOWN_OPTION",
      suggestion.length > 0
        ? `did you mean ${orList(suggestion)}? ${helpHint}`
        : `its options are ${spellings.join(", ")}; ${helpHint}`,
    );
  }
  // Hidden commands (yargs' completion-script command) start with "__" and are never suggested.
  const subcommands = internals
    .getCommandInstance()
    .getCommands()
    .filter((c) => !c.startsWith("__"));
  const isGroup = subcommands.length > 0;
  const what = context.commands.length === 0 ? "command" : `${context.commands.join(" ")} command`;
  // A command word that is not one: yargs says "Unknown argument: x" (or "Did you mean …").
  const typed = words[context.commands.length];
  if (isGroup && typed !== undefined && !subcommands.includes(typed)) {
    const close = closeNames(typed, subcommands);
    return usage(
      `unknown ${what} ${typed}`,
      "CLI_UNKNOWN_COMMAND",
      close.length > 0
        ? `did you mean ${orList(close)}? ${helpHint}`
        : `the ${what}s are ${subcommands.join(", ")}; ${helpHint}`,
    );
  }
  if (isGroup && typed === undefined) {
    return usage(
      `say which ${what} to run: ${subcommands.join(", ")}`,
      "CLI_MISSING_COMMAND",
      helpHint,
    );
  }
  const full = context.fullCommands[context.fullCommands.length - 1] ?? "";
  const missing = /^Not enough non-option arguments: got (\d+)/.exec(msg);
  if (missing) {
    const required = full.split(" ").filter((w) => w.startsWith("<"));
    const absent = required.slice(Number(missing[1]));
    return usage(
      `missing ${absent.join(" ")}: usage is \`ncw ${[...context.commands.slice(0, -1), full].join(" ")}\``,
      "CLI_MISSING_ARGUMENT",
      helpHint,
    );
  }
  const extra = /^Unknown arguments?: (.*)$/.exec(msg);
  if (extra) {
    return usage(
      `unexpected argument${extra[1]!.includes(",") ? "s" : ""} ${extra[1]} for \`${path}\``,
      "CLI_UNEXPECTED_ARGUMENT",
      `put \`--\` before arguments that start with a dash; ${helpHint}`,
    );
  }
  return usage(msg.charAt(0).toLowerCase() + msg.slice(1), "CLI_USAGE", helpHint);
}

/**
 * An integer argument typed on the command line (declared as a string to yargs, which would turn
 * "abc" into NaN): the value, or a usage error saying what a valid value is.
 */
export function intArg(
  raw: string | number,
  what: string,
  range: { min: number; max: number },
  code: string,
  hint?: string,
): number {
  const text = String(raw).trim();
  const n = /^[+-]?\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < range.min || n > range.max) {
    const valid =
      range.max === Number.MAX_SAFE_INTEGER
        ? `an integer from ${range.min} up`
        : `an integer from ${range.min} to ${range.max}`;
    throw new NcwError("usage", `${what} must be ${valid}, got ${JSON.stringify(String(raw))}`, {
      code,
      ...(hint === undefined ? {} : { hint }),
    });
  }
  return n;
}
