// `ncw home`: show where the NCW home is and where its NightOS tree lives (docs/skyer.md, "Tree backends").

import type { CommandModule } from "yargs";
import { imagePath, treeBackendOf } from "../../services/fs/open.js";
import { type GlobalArgs, runCommand } from "../context.js";

export const homeCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: "home",
  describe: "Show the NCW home in use (created on first use) and where its NightOS tree lives",
  builder: (y) =>
    y.epilogue(
      "The home is chosen by --home, else NCW_HOME, else the platform's data folder " +
        "(XDG_DATA_HOME/ncw on Linux, ~/Library/Application Support/ncw on macOS, %LOCALAPPDATA%\\ncw on Windows). " +
        "Its NightOS tree is the Btrfs image nightos.img (host folders under tree/ for homes made that way, " +
        "or with NCW_TREE_BACKEND=hostdir).",
    ),
  handler: (argv) =>
    runCommand(argv, async ({ out, home }) => {
      const h = home();
      const backend = treeBackendOf(h);
      const tree = backend === "btrfs" ? imagePath(h) : h.tree;
      if (out.json) out.data({ ...h, backend, tree });
      else {
        out.info(`home:  ${h.root}`);
        out.info(`tree:  ${tree} (${backend === "btrfs" ? "Btrfs image" : "host folders"})`);
        out.info(`cache: ${h.cache}`);
      }
    }),
};
