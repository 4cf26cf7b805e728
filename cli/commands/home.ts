// `ncw home`: show where the NCW home is and what it holds.

import type { CommandModule } from "yargs";
import { type GlobalArgs, runCommand } from "../context.js";

export const homeCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: "home",
  describe: "Show the NCW home in use (created on first use)",
  builder: (y) =>
    y.epilogue(
      "The home is chosen by --home, else NCW_HOME, else the platform's data folder " +
        "(XDG_DATA_HOME/ncw on Linux, ~/Library/Application Support/ncw on macOS, %LOCALAPPDATA%\\ncw on Windows).",
    ),
  handler: (argv) =>
    runCommand(argv, async ({ out, home }) => {
      const h = home();
      if (out.json) out.data(h);
      else {
        out.info(`home:  ${h.root}`);
        out.info(`tree:  ${h.tree}`);
        out.info(`cache: ${h.cache}`);
      }
    }),
};
