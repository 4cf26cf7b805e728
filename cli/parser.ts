// The `ncw` command line through yargs: global options, the command list and yargs' usage errors.
// Every command line goes through here except the plain `ncw run` / `ncw exec` ones cli/fast-argv.ts
// parses without loading yargs (docs/cli.md "Start-up"), and `ncw --version`.

import { createRequire } from "node:module";
import type { Argv } from "yargs";
import type { NcwError } from "../ncw/errors.js";
import { type AnyCommand, commandModule, commands } from "./commands/index.js";
import { makeContext, reportError } from "./context.js";
import { GLOBAL_OPTIONS } from "./fast-argv.js";
import { type ParserIntrospection, usageError, wantsJson } from "./usage.js";
import { version } from "./version.js";

/** The hidden command yargs' `.completion()` registers (it would print yargs' own bash script). */
export const YARGS_COMPLETION = "__yargs-completion";

/** Thrown from yargs' failure callback to stop parsing; reported once parsing has unwound. */
class UsageFailure extends Error {
  constructor(readonly error: NcwError) {
    super(error.message);
  }
}

/**
 * yargs through its CommonJS build: 6 files (yargs' and its dependencies' rolled-up bundles), where
 * its ES module build is 33 modules, each resolved, read and linked by Node's ES module loader —
 * 10–15 ms less of every command's start (bench/README.md, "CLI start-up"). Same factory, same API.
 */
function loadYargs(): typeof import("yargs").default {
  return createRequire(import.meta.url)("yargs/yargs") as typeof import("yargs").default;
}

/**
 * The yargs parser of `args` (the words after `ncw`, app words already separated), with every command
 * listed and only the one being run loaded. `loaded` replaces a command's module (tests compare the
 * fast path's argv with what yargs gives a handler).
 */
export async function buildParser(
  args: string[],
  loaded: (name: string, mod: AnyCommand) => AnyCommand = (_n, m) => m,
): Promise<Argv> {
  const yargs = loadYargs();
  let parser = yargs(args)
    .scriptName("ncw")
    .usage(
      "$0 <command> [options]\n\nNCW runs, installs and tests NightOS applications on this computer.",
    )
    .options(GLOBAL_OPTIONS)
    .version(version())
    .alias("version", "V")
    .help()
    .alias("help", "h")
    .strict()
    // yargs' completion machinery (`--get-yargs-completions`), used by `ncw completion`'s scripts;
    // the script command yargs would add is hidden and replaced by `ncw completion <shell>`.
    .completion(YARGS_COMPLETION, false)
    .demandCommand(1)
    .wrap(Math.min(100, process.stdout.columns ?? 100))
    .epilogue("Exit codes and every command are documented in docs/cli.md.")
    .fail((msg, err) => {
      if (err) throw err;
      throw new UsageFailure(usageError(msg, args, parser as unknown as ParserIntrospection));
    });
  // Only the command being run is loaded; the others are listed for --help and for suggestions.
  const names = new Set(commands.map((c) => c.name));
  const first = args.find((a) => names.has(a));
  for (const entry of commands) {
    const selected = entry.name === first;
    const mod = await commandModule(entry, selected);
    parser = parser.command(selected ? loaded(entry.name, mod) : mod) as typeof parser;
  }
  // yargs renders the command's whole help text after starting its handler, in case the handler
  // asks for it (ncw's never do); `--help` renders its own. Skipping it saves ~10–80 ms a command.
  (parser as unknown as ParserIntrospection)
    .getInternalMethods()
    .getUsageInstance().cacheHelpMessage = () => {};
  return parser as unknown as Argv;
}

/** Parses `args` with yargs and runs the command; a usage error is reported, its exit code set. */
export async function parseAndRun(args: string[]): Promise<void> {
  const parser = await buildParser(args);
  try {
    await parser.parseAsync();
  } catch (e) {
    if (!(e instanceof UsageFailure)) throw e;
    const noColor = args.includes("--no-color") || args.includes("--color=false");
    const color = noColor ? false : args.includes("--color") ? true : undefined;
    const ctx = makeContext({ json: wantsJson(args), ...(color === undefined ? {} : { color }) });
    process.exitCode = reportError(ctx, e.error);
  }
}

/** Whether `e` is the usage failure parseAndRun reports (tests telling a usage error from a run). */
export function isUsageFailure(e: unknown): e is UsageFailure {
  return e instanceof UsageFailure;
}
