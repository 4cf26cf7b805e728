// A Hydre script from text to its end (specs/shell.md "Pre-evaluation checking", "Commands evaluation"):
// parse, check everything (asking for the installed apps' commands only when the script names a command
// that is not native), and run only a script without a single error.

import type { Value } from "../../commonassembly/abi/values.js";
import { NcwError } from "../../ncw/errors.js";
import { parseCommandLine } from "../shell/arguments.js";
import type { InstalledCommand } from "../shell/commands.js";
import { commandHelp } from "../shell/help.js";
import type { Script } from "./ast.js";
import { type CheckResult, CheckSession, checkScript } from "./checker.js";
import {
  type HydreHost,
  type RunEnd,
  RunSession,
  runForValue,
  runInSession,
  runScript,
} from "./evaluator.js";
import { parseScript } from "./parser.js";
import { type Diagnostic, HydreSyntaxError, Source } from "./source.js";

export interface Checked {
  source: Source;
  diagnostics: Diagnostic[];
  script?: Script;
  check?: CheckResult;
  /** A syntax error where the text ended too early (an unclosed block…): more lines may complete it. */
  incomplete?: boolean;
}

/**
 * Parse and check `text`. `commands` gives the installed apps' commands; it is called only when the
 * script names a command that is not native.
 */
export async function checkSource(
  name: string,
  text: string,
  commands: () => Promise<readonly InstalledCommand[]>,
  session?: CheckSession,
): Promise<Checked> {
  const source = new Source(name, text);
  let script: Script;
  try {
    script = parseScript(text);
  } catch (e) {
    if (e instanceof HydreSyntaxError)
      return { source, diagnostics: [e.diagnostic], ...(e.incomplete ? { incomplete: true } : {}) };
    throw e;
  }
  let check = checkScript(script, { text }, session);
  if (check.unknownCommands)
    check = checkScript(script, { text, commands: await commands() }, session);
  return { source, diagnostics: sortByPosition(check.diagnostics), script, check };
}

function sortByPosition(ds: Diagnostic[]): Diagnostic[] {
  return [...ds].sort((a, b) => a.span.start - b.span.start);
}

/**
 * A script's arguments read against its command description (specs "Commands typing"), as `ncw exec`
 * reads an app command's: the values for `main`, or `help` for `--help`. Throws a usage error
 * (ArgumentError, HYDRE_SCRIPT_ARGS) for words that do not fit or a script without a description.
 */
export function scriptArguments(
  c: Checked,
  name: string,
  words: readonly string[],
): { kind: "run"; values: Value[] } | { kind: "help"; text: string } {
  const spec = c.check?.command?.spec;
  if (spec === undefined) {
    if (words.length === 0) return { kind: "run", values: [] };
    throw new NcwError(
      "usage",
      `${name} takes no arguments: it has no command description (\`cmd\` and \`main\`)`,
      {
        code: "HYDRE_SCRIPT_ARGS",
        hint: 'specs/shell-scripting.md "Commands typing"; docs/hydre.md',
      },
    );
  }
  const r = parseCommandLine(name, spec, [...words]);
  if (r.kind === "help") return { kind: "help", text: commandHelp(name, spec) };
  return { kind: "run", values: r.values };
}

/** Run a checked script that has no diagnostics; `args`: its arguments' values (scriptArguments). */
export function runChecked(
  c: Checked,
  host: HydreHost,
  args: readonly Value[] = [],
): Promise<RunEnd> {
  if (c.diagnostics.length > 0 || c.script === undefined || c.check === undefined)
    throw new Error("internal: running a script that did not pass its check");
  return runScript(c.script, c.check, host, args);
}

/**
 * A command line run for an app (sys::hydre RUN_COMMAND): parsed and checked as a script is, then run,
 * its last command's or expression's value kept. A line with a syntax error is `bad-line`, one with a
 * check error `check-failed` (its diagnostics are not shown: they are the app's to handle).
 */
export async function runLineForApp(
  text: string,
  commands: () => Promise<readonly InstalledCommand[]>,
  host: HydreHost,
): Promise<{ kind: "bad-line" | "check-failed" } | { kind: "ran"; ok: boolean; value: Value }> {
  const checked = await checkSource("<sys::hydre>", text, commands);
  if (checked.script === undefined) return { kind: "bad-line" };
  if (checked.diagnostics.length > 0 || checked.check === undefined)
    return { kind: "check-failed" };
  const r = await runForValue(checked.script, checked.check, host);
  return { kind: "ran", ...r };
}

/**
 * An interactive session (`ncw shell`): every input is checked then run in one persistent top-level
 * scope, so the variables, functions and types an input declares are there for the next. An input
 * with errors declares nothing; one that fails halfway keeps what it declared before it stopped.
 */
export class ShellSession {
  private readonly checks = new CheckSession();
  private readonly values = new RunSession();

  check(
    name: string,
    text: string,
    commands: () => Promise<readonly InstalledCommand[]>,
  ): Promise<Checked> {
    return checkSource(name, text, commands, this.checks);
  }

  /** Run a checked input (without diagnostics) and keep what it declared. */
  async run(c: Checked, host: HydreHost): Promise<RunEnd> {
    if (c.diagnostics.length > 0 || c.script === undefined || c.check === undefined)
      throw new Error("internal: running an input that did not pass its check");
    const check = c.check;
    try {
      return await runInSession(c.script, check, host, this.values);
    } finally {
      this.checks.commit(check, (b) => this.values.bound(b));
    }
  }

  /** The variables and functions in scope, for completion. */
  names(): string[] {
    return this.checks.names();
  }
}
