// `ncw help <command>`: the help of an installed app's command, from its manifest (its usage line,
// help text, arguments, return and input types); the same page as `ncw exec <command> --help`.

import type { CommandModule } from "yargs";
import { requestUser } from "../../kernel-compat/client.js";
import { NcwError } from "../../ncw/errors.js";
import { safeLines } from "../../ncw/output.js";
import { findCommand, installedCommands } from "../../services/shell/commands.js";
import { commandHelp } from "../../services/shell/help.js";
import { withSkyerQuery } from "../../services/skyer/query.js";
import { type GlobalArgs, runCommand } from "../context.js";

interface HelpArgs extends GlobalArgs {
  command: string;
}

export const helpCommand: CommandModule<GlobalArgs, HelpArgs> = {
  command: "help <command>",
  describe: "Show the help of an installed app's command",
  builder: (y) =>
    y
      .positional("command", {
        type: "string",
        describe: "The command: its full name <aid>.<command>, or its short name",
        demandOption: true,
      })
      .epilogue("ncw's own commands have `--help` (`ncw run --help`)."),
  handler: (argv) =>
    runCommand(argv, async ({ home, out }) => {
      const all = await withSkyerQuery(home(), (q) => installedCommands(q, requestUser()));
      let c: ReturnType<typeof findCommand>;
      try {
        c = findCommand(all, argv.command);
      } catch (e) {
        // `ncw help run`: the user may mean ncw's own command.
        const { commands } = await import("./index.js");
        if (e instanceof NcwError && commands.some((x) => x.name === argv.command))
          throw new NcwError(e.kind, e.message, {
            code: e.code,
            hint: `\`ncw ${argv.command} --help\` shows ncw's own ${argv.command} command`,
          });
        throw e;
      }
      const text = commandHelp(c.name, c.spec);
      if (out.json) out.data({ name: c.name, help: text });
      else out.info(safeLines(text));
    }),
};
