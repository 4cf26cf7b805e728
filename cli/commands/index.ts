// Every top-level `ncw` command, in the order `ncw --help` lists them, loaded lazily: only the
// command being run is imported (importing them all cost ~0.3–1 s on every start). A command module
// lives in its own file under cli/commands/ and stays thin: parse, call ncw/, print.

import type { CommandModule } from "yargs";
import type { GlobalArgs } from "../context.js";

// biome-ignore lint/suspicious/noExplicitAny: yargs command modules are heterogeneous by design
export type AnyCommand = CommandModule<GlobalArgs, any>;

export interface CommandEntry {
  /** The command's name as typed (the first word of its yargs `command` string). */
  name: string;
  /** The command with its positionals, as `ncw --help` shows it. */
  usage: string;
  /** One line for `ncw --help`. */
  describe: string;
  load(): Promise<AnyCommand>;
}

export const commands: CommandEntry[] = [
  {
    name: "run",
    usage: "run <program> [args..]",
    describe: "Run a NightOS app (.nap, .nva, installed AID) or program (.npp)",
    load: async () => (await import("./run.js")).runCommand_,
  },
  {
    name: "exec",
    usage: "exec <command> [args..]",
    describe: "Run a command of an installed app, with typed arguments",
    load: async () => (await import("./exec.js")).execCommand,
  },
  {
    name: "hydre",
    usage: "hydre [script] [args..]",
    describe: "Run a Hydre script, checked before it starts",
    load: async () => (await import("./hydre.js")).hydreCommand,
  },
  {
    name: "shell",
    usage: "shell",
    describe: "An interactive Hydre session: each input checked, then run",
    load: async () => (await import("./shell.js")).shellCommand,
  },
  {
    name: "commands",
    usage: "commands",
    describe: "List the commands of the installed apps, with their signatures",
    load: async () => (await import("./commands.js")).commandsCommand,
  },
  {
    name: "help",
    usage: "help <command>",
    describe: "Show the help of an installed app's command",
    load: async () => (await import("./help.js")).helpCommand,
  },
  {
    name: "ps",
    usage: "ps",
    describe: "List the running NightOS processes",
    load: async () => (await import("./ps.js")).psCommand,
  },
  {
    name: "kill",
    usage: "kill <pid>",
    describe: "Terminate a NightOS process",
    load: async () => (await import("./kill.js")).killCommand,
  },
  {
    name: "kernel",
    usage: "kernel <command>",
    describe: "Show or stop the home's kernel server",
    load: async () => (await import("./kernel.js")).kernelCommand,
  },
  {
    name: "skyer",
    usage: "skyer <command>",
    describe: "Install, update, list and remove apps and libraries (Skyer, the app manager)",
    load: async () => (await import("./skyer.js")).skyerCommand,
  },
  {
    name: "perm",
    usage: "perm <command>",
    describe: "List, grant and revoke the permissions of apps",
    load: async () => (await import("./perm.js")).permCommand,
  },
  {
    name: "init",
    usage: "init <dir>",
    describe: "Create a NightOS app project (AssemblyScript or C) that builds and tests at once",
    load: async () => (await import("./init.js")).initCommand,
  },
  {
    name: "build",
    usage: "build [dir]",
    describe: "Build an app project: compile it, pack its .nap (incremental)",
    load: async () => (await import("./build.js")).buildCommand,
  },
  {
    name: "test",
    usage: "test [target]",
    describe: "Run an app project's tests, each in a fresh NightOS home, in parallel",
    load: async () => (await import("./test.js")).testCommand,
  },
  {
    name: "crashsave",
    usage: "crashsave <command>",
    describe: "List, restore and remove the crash saves of the user's apps",
    load: async () => (await import("./crashsave.js")).crashsaveCommand,
  },
  {
    name: "sandbox",
    usage: "sandbox <command>",
    describe: "List, diff, apply, remove, export and import the persistent sandboxes of `ncw run`",
    load: async () => (await import("./sandbox.js")).sandboxCommand,
  },
  {
    name: "pack",
    usage: "pack <dir>",
    describe: "Build an application package (.nap / .nva) from a folder",
    load: async () => (await import("./pack.js")).packCommand,
  },
  {
    name: "inspect",
    usage: "inspect <pkg>",
    describe: "Show a package's manifest, files and integrity",
    load: async () => (await import("./inspect.js")).inspectCommand,
  },
  {
    name: "ca",
    usage: "ca <command>",
    describe: "CommonAssembly toolchain: assemble, disassemble, validate, inspect, AOT-compile",
    load: async () => (await import("./ca.js")).caCommand,
  },
  {
    name: "fs",
    usage: "fs <command>",
    describe: "Work with NightOS Btrfs filesystem images",
    load: async () => (await import("./fs.js")).fsCommand,
  },
  {
    name: "registry",
    usage: "registry <command>",
    describe: "Read and change the home's NightOS registry; export it to HFRR and import it back",
    load: async () => (await import("./registry.js")).registryCommand,
  },
  {
    name: "mount",
    usage: "mount [host-dir] [name]",
    describe: "Show a host folder to apps as /mnt/<name>, or list the mounts (--list)",
    load: async () => (await import("./mount.js")).mountCommand,
  },
  {
    name: "umount",
    usage: "umount <name>",
    describe: "Remove a host mount (/mnt/<name>); the host folder is left as it is",
    load: async () => (await import("./mount.js")).umountCommand,
  },
  {
    name: "user",
    usage: "user <command>",
    describe: "Manage the home's NightOS users",
    load: async () => (await import("./user.js")).userCommand,
  },
  {
    name: "completion",
    usage: "completion <shell>",
    describe: "Print a shell completion script (bash, zsh or fish)",
    load: async () => (await import("./completion.js")).completionCommand,
  },
  {
    name: "home",
    usage: "home",
    describe: "Show the NCW home in use (created on first use) and where its NightOS tree lives",
    load: async () => (await import("./home.js")).homeCommand,
  },
];

/** The yargs module for a command: the real one when it is the one being run, else a help-only entry. */
export async function commandModule(entry: CommandEntry, selected: boolean): Promise<AnyCommand> {
  if (selected) {
    return entry.load();
  }
  return { command: entry.usage, describe: entry.describe, handler: () => {} };
}
