#!/usr/bin/env node
// The `ncw` command line: global options, the command list and yargs' usage errors.

import { readFileSync } from "node:fs";
import yargs from "yargs";
import { hideBin } from "yargs/helpers";
import { ExitCode } from "../ncw/errors.js";
import { colorEnabled, guardStdio, makeStyle } from "../ncw/output.js";
import { commandModule, commands } from "./commands/index.js";
import type { GlobalArgs } from "./context.js";
import { useKernelTree } from "./kernel-tree.js";

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
    version: string;
  };
  return pkg.version;
}

export async function main(args: string[]): Promise<void> {
  useKernelTree();
  // A closed stdout (`ncw … | head -1`) ends the command quietly with BROKEN_PIPE, not a stack trace.
  guardStdio();
  const style = makeStyle(colorEnabled(process.env, process.stderr.isTTY === true));
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
    .demandCommand(1, "Say which command to run: see `ncw --help`.")
    .recommendCommands()
    .wrap(Math.min(100, process.stdout.columns ?? 100))
    .epilogue("Exit codes and every command are documented in docs/cli.md.")
    .fail((msg, err) => {
      if (err) throw err;
      process.stderr.write(`${style.red("error:")} ${msg}\n`);
      process.stderr.write(`${style.dim("hint:")} run with --help to see the usage\n`);
      process.exit(ExitCode.USAGE);
    });
  // Only the command being run is loaded; the others are listed for --help and for suggestions.
  const names = new Set(commands.map((c) => c.name));
  const first = args.find((a) => names.has(a));
  for (const entry of commands) {
    const mod = await commandModule(entry, entry.name === first);
    parser = parser.command(mod) as typeof parser;
  }
  await parser.parseAsync();
}

await main(hideBin(process.argv));

export type { GlobalArgs };
