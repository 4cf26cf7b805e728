// `ncw hydre`: run a Hydre script (specs/shell-scripting.md), checked first as specs/shell.md
// "Pre-evaluation checking" says: a script with an unknown command, a wrong argument or a type mismatch
// anywhere does not start; every error is printed with its place, underlined (docs/hydre.md, docs/cli.md
// "ncw hydre"). `--check` only checks; `-c` takes the script on the command line.

import { readFileSync } from "node:fs";
import type { CommandModule } from "yargs";
import { isHostError } from "../../native/errors.js";
import { ExitCode, NcwError } from "../../ncw/errors.js";
import { colorEnabled, makeStyle, safeLines } from "../../ncw/output.js";
import { checkSource, runChecked, scriptArguments } from "../../services/hydre/script.js";
import { renderDiagnostic } from "../../services/hydre/source.js";
import type { InstalledCommand } from "../../services/shell/commands.js";
import { kernelCommands } from "../command-target.js";
import { type GlobalArgs, runCommand } from "../context.js";
import { cliHost } from "../hydre-host.js";
import { intArg } from "../usage.js";

interface HydreArgs extends GlobalArgs {
  script?: string;
  args?: string[];
  check?: boolean;
  c?: string;
  seed?: string;
  _: (string | number)[];
}

/** A script that ran and failed (an uncaught `fail`, a panic, its last command line failed). */
export const EXIT_SCRIPT_FAILED = 1;

export const hydreCommand: CommandModule<GlobalArgs, HydreArgs> = {
  command: "hydre [script] [args..]",
  describe: "Run a Hydre script, checked before it starts",
  builder: (y) =>
    y
      .positional("script", { type: "string", describe: "The script file (.hys)" })
      .positional("args", { type: "string", array: true, describe: "The script's arguments" })
      .option("check", {
        type: "boolean",
        describe: "Only check the script: report its errors, run nothing",
      })
      .option("c", { type: "string", describe: "The script's text, instead of a file" })
      .option("seed", {
        type: "string",
        describe: "Seed the random functions (rand, rand_int, …) for a repeatable run",
      })
      .parserConfiguration({ "parse-positional-numbers": false })
      .epilogue(
        "The whole script is checked before anything runs (unknown commands, arguments, types); each error " +
          "is shown with its file, line and column, underlined. Exit codes: 0 the script ran to its end (or " +
          "`exit`), 1 it failed (an uncaught `fail`, a failed `$(…)`, a panic, or its last command line " +
          "failed), 65 it has errors and did not " +
          "start, 66 the script file does not exist, 2 usage. ncw's options go before the script: the words " +
          "after it are the script's arguments, read against its command description (`cmd` and `main`). " +
          "docs/hydre.md describes the language NCW runs.",
      ),
  handler: (argv) =>
    runCommand(argv, async ({ home, out }) => {
      const words = [...(argv.args ?? []), ...argv._.slice(1)].map(String);
      let name: string;
      let text: string;
      if (argv.c !== undefined) {
        if (argv.script !== undefined) words.unshift(argv.script);
        name = "<command line>";
        text = argv.c;
      } else {
        if (argv.script === undefined)
          throw new NcwError(
            "usage",
            "give a script to run: `ncw hydre script.hys`, or its text with `ncw hydre -c '<code>'`",
            {
              code: "HYDRE_NO_SCRIPT",
              hint: "the interactive shell is `ncw shell`",
            },
          );
        name = argv.script;
        try {
          text = readFileSync(argv.script, "utf8");
        } catch (e) {
          throw new NcwError(
            isHostError(e, "not-found") ? "not-found" : "io",
            `cannot read the script ${argv.script}: ${(e as Error).message}`,
            {
              code: "HYDRE_SCRIPT_UNREADABLE",
            },
          );
        }
      }
      const seed =
        argv.seed === undefined
          ? undefined
          : intArg(argv.seed, "--seed", { min: 0, max: 2 ** 32 - 1 }, "HYDRE_BAD_SEED");
      const commands = (): Promise<readonly InstalledCommand[]> => kernelCommands(home());
      const checked = await checkSource(name, text, commands);
      if (out.json && argv.check === true) {
        out.data({
          ok: checked.diagnostics.length === 0,
          diagnostics: checked.diagnostics.map((d) => ({
            code: d.code,
            kind: d.kind,
            message: d.message,
            ...checked.source.position(d.span.start),
            end: checked.source.position(d.span.end),
            text: checked.source.slice(d.span),
            ...(d.expected === undefined ? {} : { expected: d.expected }),
            ...(d.hint === undefined ? {} : { hint: d.hint }),
          })),
        });
        return checked.diagnostics.length === 0 ? ExitCode.OK : ExitCode.DATA;
      }
      const style = makeStyle(colorEnabled(process.env, process.stderr.isTTY === true, argv.color));
      if (checked.diagnostics.length > 0) {
        for (const d of checked.diagnostics)
          process.stderr.write(`${safeLines(renderDiagnostic(checked.source, d, style))}\n\n`);
        const n = checked.diagnostics.length;
        process.stderr.write(
          `${style.red("error:")} ${name} has ${n} error${n === 1 ? "" : "s"}: nothing ran\n`,
        );
        return ExitCode.DATA;
      }
      if (argv.check === true) return ExitCode.OK;
      // The script's arguments, read against its command description (a usage error, 2, if they do not fit).
      const args = scriptArguments(checked, name, words);
      if (args.kind === "help") {
        process.stdout.write(`${args.text}\n`);
        return ExitCode.OK;
      }
      const host = cliHost({ home, color: out.color, ...(seed === undefined ? {} : { seed }) });
      try {
        const end = await runChecked(checked, host, args.values);
        if (end.kind === "failed") {
          process.stderr.write(
            `${style.red("error:")} the script failed: ${safeLines(end.message)}\n`,
          );
          return EXIT_SCRIPT_FAILED;
        }
        if (end.kind === "panic") {
          if (end.span !== undefined)
            process.stderr.write(
              `${safeLines(renderDiagnostic(checked.source, { kind: "type", code: "HYDRE_PANIC", message: end.message, span: end.span }, style, "panic"))}\n`,
            );
          else process.stderr.write(`${style.red("panic:")} ${safeLines(end.message)}\n`);
          return EXIT_SCRIPT_FAILED;
        }
        // Its status is its last command line's (docs/hydre.md "Failing"): reported where it failed.
        if (end.kind === "done" && end.lastFailed) return EXIT_SCRIPT_FAILED;
        return ExitCode.OK;
      } finally {
        await host.close();
      }
    }),
};
