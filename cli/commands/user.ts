// `ncw user`: the NightOS users of the home (specs/filesystem.md "Structure": /etc/sys/users and each
// user's /home/<user>); docs/sysfs.md "The tree". The host user who runs ncw acts as NightOS user
// "user" (or $NCW_USER).

import type { CommandModule } from "yargs";
import { openTree } from "../../services/fs/open.js";
import { addUser, HOME_FOLDERS, listUsers } from "../../services/fs/structure.js";
import { DEFAULT_USER } from "../../services/skyer/layout.js";
import { type GlobalArgs, runCommand } from "../context.js";

interface UserArgs extends GlobalArgs {
  name?: string;
}

/** Open the home's tree for writing (through its kernel when one runs); the default user is listed. */
async function withTree<R>(
  home: Parameters<typeof openTree>[0],
  fn: (fs: Awaited<ReturnType<typeof openTree>>) => Promise<R>,
): Promise<R> {
  const fs = await openTree(home, { access: "write" });
  try {
    await addUser(fs, DEFAULT_USER);
    const r = await fn(fs);
    await fs.sync();
    return r;
  } finally {
    await fs.close();
  }
}

const addCommand: CommandModule<GlobalArgs, UserArgs> = {
  command: "add <name>",
  describe: "Add a NightOS user, with a home (/home/<name>) and a temporary folder (/tmp/<name>)",
  builder: (y) =>
    y.positional("name", {
      type: "string",
      describe: 'The user\'s name: 1-32 lowercase letters, digits, "_" or "-"',
      demandOption: true,
    }),
  handler: (argv) =>
    runCommand(argv, async ({ out, home }) => {
      const name = argv.name ?? "";
      const added = await withTree(home(), (fs) => addUser(fs, name));
      if (out.json) out.data({ name, added, home: `/home/${name}` });
      else
        out.info(
          added
            ? `added user ${name}: /home/${name} (${HOME_FOLDERS.join(", ")}) and /tmp/${name}`
            : `user ${name} already exists (its home is complete)`,
        );
    }),
};

const listCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: "list",
  describe: "List the NightOS users of the home",
  handler: (argv) =>
    runCommand(argv, async ({ out, home }) => {
      const users = await withTree(home(), (fs) => listUsers(fs));
      if (out.json) out.data(users);
      else for (const u of users) out.info(`${u.name}\t/home/${u.name}`);
    }),
};

export const userCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: "user <command>",
  describe: "Manage the home's NightOS users",
  builder: (y) =>
    y
      .command(addCommand)
      .command(listCommand)
      .demandCommand(1, "name a command: add or list")
      .epilogue(
        `The host user running ncw acts as the NightOS user "${DEFAULT_USER}", or $NCW_USER. ` +
          "Users are listed in /etc/sys/users; a user first met by a running app is added.",
      ),
  handler: () => {},
};
