// A Hydre script from text to its end (specs/shell.md "Pre-evaluation checking", "Commands evaluation"):
// parse, check everything (asking for the installed apps' commands only when the script names a command
// that is not native), and run only a script without a single error.

import type { InstalledCommand } from "../shell/commands.js";
import type { Script } from "./ast.js";
import { type CheckResult, checkScript } from "./checker.js";
import { type HydreHost, type RunEnd, runScript } from "./evaluator.js";
import { parseScript } from "./parser.js";
import { type Diagnostic, HydreSyntaxError, Source } from "./source.js";

export interface Checked {
  source: Source;
  diagnostics: Diagnostic[];
  script?: Script;
  check?: CheckResult;
}

/**
 * Parse and check `text`. `commands` gives the installed apps' commands; it is called only when the
 * script names a command that is not native.
 */
export async function checkSource(
  name: string,
  text: string,
  commands: () => Promise<readonly InstalledCommand[]>,
): Promise<Checked> {
  const source = new Source(name, text);
  let script: Script;
  try {
    script = parseScript(text);
  } catch (e) {
    if (e instanceof HydreSyntaxError) return { source, diagnostics: [e.diagnostic] };
    throw e;
  }
  let check = checkScript(script, { text });
  if (check.unknownCommands) check = checkScript(script, { text, commands: await commands() });
  return { source, diagnostics: sortByPosition(check.diagnostics), script, check };
}

function sortByPosition(ds: Diagnostic[]): Diagnostic[] {
  return [...ds].sort((a, b) => a.span.start - b.span.start);
}

/** Run a checked script that has no diagnostics. */
export function runChecked(c: Checked, host: HydreHost): Promise<RunEnd> {
  if (c.diagnostics.length > 0 || c.script === undefined || c.check === undefined)
    throw new Error("internal: running a script that did not pass its check");
  return runScript(c.script, c.check, host);
}
