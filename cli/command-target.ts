// What `ncw run` / `ncw exec` ask the kernel to start (docs/cli.md "Command arguments"): the program,
// and for an app that exposes commands, the command its words select and its arguments typed against
// the manifest (services/shell/arguments.ts) before anything starts, so a wrong argument costs no start.

import path from "node:path";
import type { Value } from "../commonassembly/abi/values.js";
import {
  type AskHandler,
  askInstalledCommands,
  connectKernel,
  type KernelConnection,
  type KernelQuestion,
  requestUser,
} from "../kernel-compat/client.js";
import type { Startup } from "../kernel-compat/protocol.js";
import { NcwError } from "../ncw/errors.js";
import type { HomeLayout } from "../ncw/home.js";
import type { CommandSpec } from "../ncw/manifest/types.js";
import { parseCommandLine } from "../services/shell/arguments.js";
import { findCommand, type InstalledCommand, selectCommand } from "../services/shell/commands.js";

/**
 * The installed commands the user sees (of `aid` only, if given), or a package's, asked of the home's
 * kernel, which the run needs anyway and which has the tree's and the package's readers loaded: the
 * CLI never loads them (docs/cli.md "Command arguments").
 */
export async function kernelCommands(
  home: HomeLayout,
  of: { aid?: string; package?: string } = {},
  connection?: () => Promise<KernelConnection>,
): Promise<InstalledCommand[]> {
  // The run's own connection (kept open for the run), else one for this question.
  if (connection !== undefined) return askInstalledCommands(await connection(), requestUser(), of);
  const conn = await connectKernel(home, { start: true });
  if (conn === undefined) throw new Error("unreachable: connectKernel with start");
  try {
    return await askInstalledCommands(conn, requestUser(), of);
  } finally {
    conn.close();
  }
}

/** An installed app's AID (`<did>::<slug>`), as opposed to a file path. */
export const AID_PATTERN = /^[a-z_][a-z0-9_]*::[a-z_][a-z0-9_]*$/;

export interface RunTarget {
  /** What the kernel runs: a program or package's absolute path, or an installed app's AID. */
  path: string;
  args: Value[];
  startup: Extract<Startup, { kind: "command" }>;
  /** The manifest command started; undefined for a program or an app that exposes none. */
  command?: {
    /** As the user sees it: `<aid>.<command>`. */
    name: string;
    spec: CommandSpec;
    /** The return and CMDIN types once the `$if` conditionals are applied. */
    returnType: string;
    cmdin?: string;
  };
}

export type Resolved = { kind: "run"; target: RunTarget } | { kind: "help"; text: string };

/** ncw's options, which a user may put after the program by habit (`ncw run app.nap --json`). */
const NCW_OPTIONS = [
  "--json",
  "--home",
  "--color",
  "--no-color",
  "--trace",
  "--trace-file",
  "--priority",
];

/** An unknown dash argument that is one of ncw's options: say where ncw's options go. */
function withNcwOptionHint(e: unknown): unknown {
  if (!(e instanceof NcwError) || e.code !== "ARG_UNKNOWN") return e;
  const opt = NCW_OPTIONS.find((o) => new RegExp(`has no argument ${o}$`).test(e.message));
  if (opt === undefined) return e;
  return new NcwError(e.kind, e.message, {
    code: e.code,
    hint: `${opt} is an option of ncw: ncw's options go before the program or command (\`ncw run ${opt} app.nap …\`)`,
  });
}

/** Words typed against `spec`: the run, or the command's help for `--help`. */
async function typed(
  where: string,
  fullName: string,
  command: string,
  spec: CommandSpec,
  words: readonly string[],
): Promise<Resolved> {
  let r: ReturnType<typeof parseCommandLine>;
  try {
    r = parseCommandLine(fullName, spec, words);
  } catch (e) {
    throw withNcwOptionHint(e);
  }
  if (r.kind === "help") {
    // The help's renderer only for `--help`.
    const { commandHelp } = await import("../services/shell/help.js");
    return { kind: "help", text: commandHelp(fullName, spec) };
  }
  return {
    kind: "run",
    target: {
      path: where,
      args: r.values,
      startup: { kind: "command", callerAnid: 0, command },
      command: {
        name: fullName,
        spec,
        returnType: r.returnType,
        ...(r.cmdin === undefined ? {} : { cmdin: r.cmdin }),
      },
    },
  };
}

/** An untyped start: a program's words, as strings (what a program without a manifest gets). */
function untyped(where: string, words: readonly string[]): Resolved {
  return {
    kind: "run",
    target: {
      path: where,
      args: words.map((value) => ({ type: "string", value })),
      startup: { kind: "command", callerAnid: 0 },
    },
  };
}

/** The commands of an app to run: a package file's manifest, or an installed app's (if installed). */
async function appCommands(
  home: HomeLayout,
  program: string,
  connection?: () => Promise<KernelConnection>,
): Promise<{ aid: string; slug: string; commands: Record<string, CommandSpec> } | undefined> {
  const ext = path.extname(program).toLowerCase();
  const isPackage = ext === ".nap" || ext === ".nva";
  if (!AID_PATTERN.test(program) && !isPackage) return undefined;
  // An AID not installed, or an app exposing no command: an untyped run (the kernel reports the
  // missing app). A bad package is reported here, as the run would.
  const commands = await kernelCommands(
    home,
    isPackage ? { package: program } : { aid: program },
    connection,
  );
  const first = commands[0];
  if (first === undefined) return undefined;
  return {
    aid: first.aid,
    slug: first.aid.split("::")[1] as string,
    commands: Object.fromEntries(commands.map((c) => [c.command, c.spec])),
  };
}

/**
 * A run's one kernel connection, opened on first use: by resolving a package's or an installed app's
 * commands (the question goes on the connection the run then uses), else by the run itself.
 * `close` ends it, opened or not.
 */
export interface RunConnection {
  connect(): Promise<KernelConnection>;
  /** Where the kernel's permission questions go once the run's terminal has a prompt. */
  ask(handler: AskHandler): void;
  close(): Promise<void>;
}

export function runConnection(home: HomeLayout): RunConnection {
  let asker: AskHandler | undefined;
  let opened: Promise<KernelConnection> | undefined;
  // The kernel's permission questions are asked on this terminal (docs/permissions.md "Prompts").
  const onTerminal = process.stdin.isTTY === true && process.stderr.isTTY === true;
  return {
    connect: () =>
      (opened ??= connectKernel(home, {
        start: true,
        ...(onTerminal
          ? { ask: (q: KernelQuestion) => asker?.(q) ?? Promise.resolve("deny" as const) }
          : {}),
      }).then((c) => {
        if (c === undefined) throw new Error("unreachable: connectKernel with start");
        return c;
      })),
    ask: (handler) => {
      asker = handler;
    },
    close: async () => (await opened?.catch(() => undefined))?.close(),
  };
}

/** `ncw run <program> [command] [args…]`. */
export async function resolveRun(
  home: HomeLayout,
  program: string,
  words: readonly string[],
  connection?: () => Promise<KernelConnection>,
): Promise<Resolved> {
  const where = AID_PATTERN.test(program) ? program : path.resolve(program);
  const app = await appCommands(home, where, connection);
  const chosen = app === undefined ? undefined : selectCommand(app, words);
  if (app === undefined || chosen === undefined) return untyped(where, words);
  return typed(where, `${app.aid}.${chosen.name}`, chosen.name, chosen.spec, chosen.words);
}

/** `ncw exec <command> [args…]`: an installed app's command, by full or short name. */
export async function resolveExec(
  home: HomeLayout,
  name: string,
  words: readonly string[],
  connection?: () => Promise<KernelConnection>,
): Promise<Resolved> {
  const all = await kernelCommands(home, {}, connection);
  const c = findCommand(all, name);
  return typed(c.aid, c.name, c.command, c.spec, words);
}
