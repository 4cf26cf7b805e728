// `ncw mount` / `ncw umount`: the home's host mounts, host folders shown to apps under /mnt/<name>
// (issue #13; docs/sysfs.md "Host mounts"). The table is `<home>/mounts.json` (services/fs/mounts.ts);
// a kernel reads it when it starts, and a running one is told to read it again at once.

import type { CommandModule } from "yargs";
import { connectKernel } from "../../kernel-compat/client.js";
import { NcwError } from "../../ncw/errors.js";
import type { HomeLayout } from "../../ncw/home.js";
import {
  addMount,
  type HostMount,
  mountTablePath,
  readMounts,
  removeMount,
} from "../../services/fs/mounts.js";
import { type GlobalArgs, runCommand } from "../context.js";

interface MountArgs extends GlobalArgs {
  "host-dir"?: string;
  name?: string;
  list?: boolean;
  "read-only"?: boolean;
}

interface UmountArgs extends GlobalArgs {
  name: string;
}

const shown = (m: HostMount) => ({
  name: m.name,
  path: `/mnt/${m.name}`,
  host: m.host,
  readOnly: m.readOnly,
  fsid: m.fsid,
  mountedAt: m.mountedAt,
});

/**
 * Tell the home's running kernel, if one runs, to read the table again (its apps see the change at
 * once): its host PID and whether it took it (the table is written either way; a kernel that could
 * not take it reads it when it next starts). Undefined when no kernel runs.
 */
async function tellKernel(
  home: HomeLayout,
): Promise<{ pid: number; told: true } | { pid: number; told: false; why: string } | undefined> {
  const conn = await connectKernel(home, { start: false });
  if (conn === undefined) return undefined;
  try {
    await conn.request({ t: "mounts" }, (m) => (m.t === "ok" ? true : undefined));
    return { pid: conn.kernelPid, told: true };
  } catch (e) {
    return { pid: conn.kernelPid, told: false, why: (e as Error).message };
  } finally {
    conn.close();
  }
}

/** What the user is told of the running kernel, if one runs. */
function kernelNote(k: Awaited<ReturnType<typeof tellKernel>>): string | undefined {
  if (k === undefined) return undefined;
  if (k.told) return `the running kernel (host PID ${k.pid}) shows the change to apps now`;
  return `the running kernel (host PID ${k.pid}) could not take the change (${k.why}): it applies when the kernel next starts (\`ncw kernel stop\`)`;
}

export const mountCommand: CommandModule<GlobalArgs, MountArgs> = {
  command: "mount [host-dir] [name]",
  describe: "Show a host folder to apps as /mnt/<name>, or list the mounts (--list)",
  builder: (y) =>
    y
      .positional("host-dir", { type: "string", describe: "The host folder to mount" })
      .positional("name", {
        type: "string",
        describe: 'Its name under /mnt: a NightOS filename (not "root")',
      })
      .option("list", { type: "boolean", describe: "List the home's mounts instead" })
      .option("read-only", {
        type: "boolean",
        describe: "Apps may read the folder but not change it",
      })
      .conflicts("list", "read-only")
      .epilogue(
        "Apps see a mount at /mnt/<name> with its own FSID, and only with the fs.* permissions the " +
          "user grants for it (`ncw run --allow fs.items.read=/mnt/<name>`, a prompt, `ncw perm grant`). " +
          "Nothing else of the host is visible to apps. The table is the home's mounts.json; a kernel " +
          "reads it when it starts, and a running one is told at once.",
      ),
  handler: (argv) =>
    runCommand(argv, async ({ out, home }) => {
      const layout = home();
      if (argv.list === true) {
        if (argv["host-dir"] !== undefined)
          throw new NcwError("usage", "--list takes no host folder or name", {
            code: "MOUNT_LIST_ARGS",
          });
        const mounts = readMounts(mountTablePath(layout.root));
        if (out.json) out.data(mounts.map(shown));
        else if (mounts.length === 0) out.info("no host mounts");
        else
          for (const m of mounts)
            out.info(`/mnt/${m.name}\t${m.host}${m.readOnly ? "\tread-only" : ""}`);
        return;
      }
      const hostDir = argv["host-dir"];
      const name = argv.name;
      if (hostDir === undefined || name === undefined)
        throw new NcwError(
          "usage",
          `missing ${hostDir === undefined ? "<host-dir>" : "<name>"}: usage is \`ncw mount <host-dir> <name> [--read-only]\` or \`ncw mount --list\``,
          { code: "MOUNT_MISSING_ARGS" },
        );
      const m = addMount(layout.root, hostDir, name, { readOnly: argv["read-only"] === true });
      const k = await tellKernel(layout);
      if (out.json) out.data({ ...shown(m), kernelTold: k?.told === true });
      else {
        out.info(`mounted ${m.host} as /mnt/${m.name}${m.readOnly ? " (read-only)" : ""}`);
        const note = kernelNote(k);
        if (note !== undefined) out.info(note);
      }
    }),
};

export const umountCommand: CommandModule<GlobalArgs, UmountArgs> = {
  command: "umount <name>",
  describe: "Remove a host mount (/mnt/<name>); the host folder is left as it is",
  builder: (y) =>
    y.positional("name", {
      type: "string",
      describe: "The mount's name (see `ncw mount --list`)",
      demandOption: true,
    }),
  handler: (argv) =>
    runCommand(argv, async ({ out, home }) => {
      const layout = home();
      const m = removeMount(layout.root, argv.name);
      const k = await tellKernel(layout);
      if (out.json) out.data({ ...shown(m), kernelTold: k?.told === true });
      else {
        out.info(`unmounted /mnt/${m.name} (${m.host})`);
        const note = kernelNote(k);
        if (note !== undefined) out.info(note);
      }
    }),
};
