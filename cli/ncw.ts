#!/usr/bin/env node
// The `ncw` command line: `ncw --version`, the plain `ncw run` / `ncw exec` command lines without
// yargs (cli/fast-argv.ts), everything else through yargs (cli/parser.ts).

import { guardStdio } from "../ncw/output.js";
import { separateAppWords } from "./app-args.js";
import type { GlobalArgs } from "./context.js";
import { commandWord, fastArgv } from "./fast-argv.js";
import { useKernelTree } from "./kernel-tree.js";

/** `ncw run …` / `ncw exec …` in their plain form, run without yargs; false if not in that form. */
async function fastCommand(args: string[]): Promise<boolean> {
  const word = commandWord(args);
  if (word === "run") {
    const { runCommand_, RUN_OPTIONS } = await import("./commands/run.js");
    const argv = fastArgv(args, runCommand_.command as string, RUN_OPTIONS);
    if (argv === undefined) return false;
    await runCommand_.handler(argv as never);
    return true;
  }
  if (word === "exec") {
    const [{ execCommand }, { RUN_OPTIONS }] = await Promise.all([
      import("./commands/exec.js"),
      import("./commands/run.js"),
    ]);
    const argv = fastArgv(args, execCommand.command as string, RUN_OPTIONS);
    if (argv === undefined) return false;
    await execCommand.handler(argv as never);
    return true;
  }
  return false;
}

export async function main(given: string[]): Promise<void> {
  // The words after `ncw run <program>` / `ncw exec <command>` are the app's, never ncw's options.
  const args = separateAppWords(given);
  useKernelTree();
  // A closed stdout (`ncw … | head -1`) ends the command quietly with BROKEN_PIPE, not a stack trace.
  guardStdio();
  // `ncw --version` needs nothing else: yargs (about 40 modules) is not even loaded.
  if (args.length === 1 && (args[0] === "--version" || args[0] === "-V")) {
    const { version } = await import("./version.js");
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
  // NCW_CLI_YARGS=1: every command line through yargs (tests and benchmarks compare the two paths).
  if (process.env.NCW_CLI_YARGS !== "1" && (await fastCommand(args))) return;
  const { parseAndRun } = await import("./parser.js");
  await parseAndRun(args);
}

// What yargs/helpers' hideBin does, without loading it: the words after `node ncw.js`.
await main(process.argv.slice(2));

export type { GlobalArgs };
