#!/usr/bin/env node
// The `ncw` command line: global options, the command list and yargs' usage errors.

import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import type { NcwError } from "../ncw/errors.js";
import { guardStdio } from "../ncw/output.js";
import { separateAppWords } from "./app-args.js";
import { commandModule, commands } from "./commands/index.js";
import { type GlobalArgs, makeContext, reportError } from "./context.js";
import { useKernelTree } from "./kernel-tree.js";
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

/**
 * yargs through its CommonJS build: 6 files (yargs' and its dependencies' rolled-up bundles), where
 * its ES module build is 33 modules, each resolved, read and linked by Node's ES module loader —
 * 10–15 ms less of every command's start (bench/README.md, "CLI start-up"). Same factory, same API.
 */
function loadYargs(): typeof import("yargs").default {
  return createRequire(import.meta.url)("yargs/yargs") as typeof import("yargs").default;
}

export async function main(given: string[]): Promise<void> {
  // The words after `ncw run <program>` / `ncw exec <command>` are the app's, never ncw's options.
  const args = separateAppWords(given);
  useKernelTree();
  // A closed stdout (`ncw … | head -1`) ends the command quietly with BROKEN_PIPE, not a stack trace.
  guardStdio();
  // `ncw --version` needs nothing else: yargs (about 40 modules) is not even loaded.
  if (args.length === 1 && (args[0] === "--version" || args[0] === "-V")) {
    process.stdout.write(`${version()}\n`);
    return;
  }
  // `ncw exec <TAB>`, `ncw help <TAB>`: the installed apps' command names, not yargs' (docs/cli.md).
  const typed = args[0] === "--get-yargs-completions" ? args.slice(1) : [];
  if (["exec", "help"].includes(typed[1] ?? "") && typed.length === 3) {
    const { commandNames } = await import("./commands/completion.js");
    const current = typed[2] as string;
    if (!current.startsWith("-")) {
      const names = await commandNames(undefined, current).catch(() => []);
      process.stdout.write(names.map((n) => `${n}\n`).join(""));
      return;
    }
  }
  const yargs = loadYargs();
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
  // yargs renders the command's whole help text after starting its handler, in case the handler
  // asks for it (ncw's never do); `--help` renders its own. Skipping it saves ~10–80 ms a command.
  (parser as unknown as ParserIntrospection)
    .getInternalMethods()
    .getUsageInstance().cacheHelpMessage = () => {};
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

// What yargs/helpers' hideBin does, without loading it: the words after `node ncw.js`.
await main(process.argv.slice(2));

export type { GlobalArgs };
