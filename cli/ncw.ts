#!/usr/bin/env node
// The `ncw` command line: global options, the command list and yargs' usage errors.

import { readFileSync } from "node:fs";
import yargs from "yargs";
import { hideBin } from "yargs/helpers";
import type { NcwError } from "../ncw/errors.js";
import { guardStdio } from "../ncw/output.js";
import { commandModule, commands } from "./commands/index.js";
import { type GlobalArgs, makeContext, reportError } from "./context.js";
import { type ParserIntrospection, usageError, wantsJson } from "./usage.js";

/** The hidden command yargs' `.completion()` registers (it would print yargs' own bash script). */
export const YARGS_COMPLETION = "__yargs-completion";

/** Thrown from yargs' failure callback to stop parsing; reported once parsing has unwound. */
class UsageFailure extends Error {
  constructor(readonly error: NcwError) {
    super(error.message);
  }
}

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
    version: string;
  };
  return pkg.version;
}

export async function main(args: string[]): Promise<void> {
  // A closed stdout (`ncw … | head -1`) ends the command quietly with BROKEN_PIPE, not a stack trace.
  guardStdio();
  let parser = yargs(args)
    .scriptName("ncw")
    .usage(
      "$0 <command> [options]\n\nNCW runs, installs and tests NightOS applications on this computer.",
    )
    .option("home", {
      type: "string",
      describe: "NCW home folder (default: $NCW_HOME, else the platform's data folder)",
      global: true,
    })
    .option("json", { type: "boolean", describe: "Print data as JSON", global: true })
    .option("color", {
      type: "boolean",
      describe: "Colour output (--no-color to disable; NO_COLOR is respected)",
      global: true,
    })
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
    const mod = await commandModule(entry, entry.name === first);
    parser = parser.command(mod) as typeof parser;
  }
  try {
    await parser.parseAsync();
  } catch (e) {
    if (!(e instanceof UsageFailure)) throw e;
    const noColor = args.includes("--no-color") || args.includes("--color=false");
    const ctx = makeContext({ json: wantsJson(args), ...(noColor ? { color: false } : {}) });
    process.exitCode = reportError(ctx, e.error);
  }
}

await main(hideBin(process.argv));

export type { GlobalArgs };
