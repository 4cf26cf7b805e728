// `ncw commands`: the commands the installed apps expose (specs/applications.md "Commands"), with their
// signatures; `--json` gives each command's typing as the manifest declares it.

import type { CommandModule } from "yargs";
import { requestUser } from "../../kernel-compat/client.js";
import { safeText } from "../../ncw/output.js";
import { installedCommands } from "../../services/shell/commands.js";
import { commandSignature } from "../../services/shell/help.js";
import { withSkyerQuery } from "../../services/skyer/query.js";
import { type GlobalArgs, runCommand } from "../context.js";

export const commandsCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: "commands",
  describe: "List the commands of the installed apps, with their signatures",
  builder: (y) =>
    y.epilogue(
      "Each is called with `ncw exec <name> [args…]`: the full name <aid>.<command>, or the short " +
        "name when only one app exposes it. For the NightOS user $NCW_USER (else the default user).",
    ),
  handler: (argv) =>
    runCommand(argv, async ({ home, out }) => {
      const all = await withSkyerQuery(home(), (q) => installedCommands(q, requestUser()));
      const shortCount = new Map<string, number>();
      for (const c of all) shortCount.set(c.command, (shortCount.get(c.command) ?? 0) + 1);
      if (out.json) {
        out.data({
          commands: all.map((c) => ({
            name: c.name,
            aid: c.aid,
            command: c.command,
            short: shortCount.get(c.command) === 1,
            signature: commandSignature(c.name, c.spec),
            help: c.spec.help,
            return: c.spec.return,
            cmdin: c.spec.cmdin ?? null,
            args: c.spec.args.map(({ name, arg }) => ({ name, ...arg })),
          })),
        });
        return;
      }
      if (all.length === 0) {
        out.info("no installed app exposes commands");
        return;
      }
      for (const c of all) {
        // Manifest text (names, types, help) is the app's: made safe on the terminal.
        out.info(safeText(commandSignature(c.name, c.spec)));
        out.info(`    ${safeText(c.spec.help)}`);
      }
    }),
};
