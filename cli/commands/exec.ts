// `ncw exec <command> [args…]`: run a command of an installed app (concepts/applications.md "Commands"),
// by its full name (`<aid>.<command>`) or by its short name when only one installed app exposes it,
// with its arguments typed against the manifest before the app starts (docs/cli.md "Command arguments").
// The run itself is `ncw run`'s (cli/commands/run.ts).

import type { CommandModule } from "yargs";
import {
  type Resolved,
  type RunConnection,
  resolveExec,
  runConnection,
} from "../command-target.js";
import { type GlobalArgs, runCommand } from "../context.js";
import { RUN_OPTIONS, runCommand_ } from "./run.js";

interface ExecArgs extends GlobalArgs {
  command: string;
  args?: string[];
  trace?: boolean;
  "trace-file"?: string;
  "trace-format"?: string;
  priority?: string;
  _: (string | number)[];
}

export const execCommand: CommandModule<GlobalArgs, ExecArgs> = {
  command: "exec <command> [args..]",
  describe: "Run a command of an installed app, with typed arguments",
  builder: (y) =>
    y
      .positional("command", {
        type: "string",
        describe: "The command: its full name <aid>.<command>, or its short name",
        demandOption: true,
      })
      .positional("args", {
        type: "string",
        array: true,
        describe: "The command's arguments, typed as its manifest says",
      })
      .options(RUN_OPTIONS)
      .parserConfiguration({ "parse-positional-numbers": false })
      .epilogue(
        "ncw's options go before the command: every word after it is the command's. A short name " +
          "works when only one installed app exposes the command. `ncw exec <command> --help` shows " +
          "its help, `ncw commands` lists them all. The exit code is the app's, as for `ncw run`.",
      ),
  handler: async (argv) => {
    let resolved: Resolved | undefined;
    // The question (the installed commands) goes on the connection the run then uses.
    let connection: RunConnection | undefined;
    await runCommand(argv, async ({ home }) => {
      const words = [...(argv.args ?? []), ...argv._.slice(1)].map(String);
      connection = runConnection(home());
      try {
        resolved = await resolveExec(home(), argv.command, words, connection.connect);
      } catch (e) {
        await connection.close();
        throw e;
      }
    });
    if (resolved === undefined || connection === undefined) return; // reported
    const program = resolved.kind === "run" ? resolved.target.path : argv.command;
    await runCommand_.handler({ ...argv, program, args: [], _: [], resolved, connection });
  },
};
