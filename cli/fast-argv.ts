// `ncw run <program> [args…]` and `ncw exec <command> [args…]` parsed without yargs (docs/cli.md
// "Start-up"): loading yargs and declaring every command to it is ~100 ms of CPU on a command that
// itself takes ~100 ms. The fast parser reads the same option tables yargs is given (GLOBAL_OPTIONS
// here, RUN_OPTIONS in cli/commands/run.ts) and the command's own usage string (`run <program>
// [args..]`); it accepts only the plain forms and gives up on anything else — help, version, an
// unknown, repeated or short option, a missing value, `--` before the program — which then goes
// through yargs as before, so every usage error and help text is yargs'. What it accepts, it gives
// the command's handler as the argv yargs would (test/cli-fast-argv.test.ts compares the two).

/** An option as declared to yargs (GLOBAL_OPTIONS, RUN_OPTIONS). */
export interface OptionSpec {
  readonly type: "boolean" | "string";
  readonly describe: string;
  readonly global?: boolean;
}

/** Options every command accepts (cli/parser.ts declares them to yargs). */
export const GLOBAL_OPTIONS = {
  home: {
    type: "string",
    describe: "NCW home folder (default: $NCW_HOME, else the platform's data folder)",
    global: true,
  },
  json: { type: "boolean", describe: "Print data as JSON", global: true },
  color: {
    type: "boolean",
    describe: "Colour output (--no-color to disable; NO_COLOR is respected)",
    global: true,
  },
} as const satisfies Record<string, OptionSpec>;

/** What yargs hands a command's handler: the positionals and options by name, `_` and `$0`. */
export type FastArgv = { _: string[]; $0: string } & Record<string, unknown>;

/**
 * The command word of `args`: the first word that is neither a global option nor a global option's
 * value (`ncw --home dir run …`), or undefined.
 */
export function commandWord(args: readonly string[]): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    if (!a.startsWith("-")) return a;
    const name = a.slice(2);
    if (
      Object.hasOwn(GLOBAL_OPTIONS, name) &&
      GLOBAL_OPTIONS[name as keyof typeof GLOBAL_OPTIONS].type === "string"
    )
      i++;
  }
  return undefined;
}

/** `--trace-file` → `traceFile`: yargs gives the handler each dashed option under both names. */
const camel = (s: string) => s.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());

/**
 * The argv yargs would give the handler of `usage` (`run <program> [args..]`: the command word, one
 * required positional, one variadic) for `args` (the words after `ncw`, app words separated by
 * cli/app-args.ts), or undefined when the words are not in the plain form this parser accepts.
 * Accepted: the global options before the command word, they and `options` after it, before the
 * positional, as `--name value` or
 * `--name=value` (string, a value not starting with `-`; given twice, both in a list, as yargs does),
 * `--name` or `--no-name` (boolean, once); then the positional, then `--` and the app's words.
 */
export function fastArgv(
  args: readonly string[],
  usage: string,
  options: Readonly<Record<string, OptionSpec>>,
): FastArgv | undefined {
  const m = /^(\S+) <([a-z]+)> \[([a-z]+)\.\.\]$/.exec(usage);
  if (m === null) return undefined;
  const [, command, positional, rest] = m as unknown as [string, string, string, string];
  const table: Record<string, OptionSpec> = { ...GLOBAL_OPTIONS, ...options };
  const values = new Map<string, string | string[] | boolean>();
  let sawCommand = false;
  let i = 0;
  for (; i < args.length; i++) {
    const a = args[i] as string;
    if (!a.startsWith("-")) {
      if (sawCommand) break; // the positional
      if (a !== command) return undefined;
      sawCommand = true;
      continue;
    }
    // Short options, `--`, `--help`, `--version` and anything not in the tables: yargs' to judge.
    if (!a.startsWith("--") || a === "--") return undefined;
    const eq = a.indexOf("=");
    const name = a.slice(2, eq === -1 ? undefined : eq);
    const negated = eq === -1 && name.startsWith("no-") ? name.slice(3) : undefined;
    const known = sawCommand ? table : GLOBAL_OPTIONS;
    const spec = Object.hasOwn(known, negated ?? name)
      ? (known as Record<string, OptionSpec>)[negated ?? name]
      : undefined;
    if (spec === undefined) return undefined;
    if (spec.type === "boolean") {
      // `--trace=true`, a repeat, or a next word yargs would read as the flag's value: yargs'.
      if (eq !== -1 || values.has(name) || values.has(negated ?? name)) return undefined;
      if (/^(true|false)$/.test(args[i + 1] ?? "")) return undefined;
      values.set(negated ?? name, negated === undefined);
      continue;
    }
    if (negated !== undefined) return undefined;
    let value: string;
    if (eq !== -1) value = a.slice(eq + 1);
    else {
      const next = args[i + 1];
      if (next === undefined || next.startsWith("-")) return undefined;
      value = next;
      i++;
    }
    const before = values.get(name);
    values.set(name, before === undefined ? value : [before as string | string[], value].flat());
  }
  if (!sawCommand || i >= args.length) return undefined;
  const target = args[i] as string;
  // The app's words: after the `--` cli/app-args.ts put after the positional (or the user did).
  const after = args.slice(i + 1);
  if (after.length > 0 && after[0] !== "--") return undefined;
  const argv: FastArgv = { _: [command, ...after.slice(1)], $0: "ncw", [positional]: target };
  argv[rest] = [];
  for (const [name, value] of values) {
    argv[name] = value;
    if (camel(name) !== name) argv[camel(name)] = value;
  }
  return argv;
}
