// Which command a command line names (concepts/applications.md "Commands"): an app's commands are
// called by their full name, the AID then the command (`ncwdemo::hello.hello`, also written with the
// spec's leading colon), or by their short name when only one installed app exposes it; an app package
// run directly (`ncw run app.nap`) runs the command its first word names, else its default command.
// Decisions: docs/cli.md "Commands of installed apps".

import { NcwError } from "../../ncw/errors.js";
import type { CommandSpec, Manifest } from "../../ncw/manifest/types.js";
import type { SkyerQuery } from "../skyer/query.js";

/** A command of an installed application. */
export interface InstalledCommand {
  /** The full name: `<aid>.<command>`. */
  name: string;
  aid: string;
  command: string;
  spec: CommandSpec;
}

export const fullCommandName = (aid: string, command: string) => `${aid}.${command}`;

/** `did::slug.command` (or `:did::slug.command`) → its parts; a short name has no AID. */
export function splitCommandName(text: string): { aid?: string; command: string } {
  const m = /^:?([a-z_][a-z0-9_]*::[a-z_][a-z0-9_]*)\.(.+)$/.exec(text);
  return m === null ? { command: text } : { aid: m[1] as string, command: m[2] as string };
}

/** Every command of the applications `user` sees (of the app `aid` only, if given), by full name. */
export async function installedCommands(
  q: SkyerQuery,
  user: string,
  aid?: string,
): Promise<InstalledCommand[]> {
  const out: InstalledCommand[] = [];
  for (const app of await q.installedApps(user)) {
    if (aid !== undefined && app.aid !== aid) continue;
    for (const [command, spec] of Object.entries(await q.commands(app)))
      out.push({ name: fullCommandName(app.aid, command), aid: app.aid, command, spec });
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** The commands an app package's manifest exposes (none for a library), by full name. */
export function packageCommands(m: Manifest): InstalledCommand[] {
  if (m.type !== "application") return [];
  const aid = `${m.infos.did}::${m.infos.slug}`;
  return Object.entries(m.commands ?? {})
    .map(([command, spec]) => ({ name: fullCommandName(aid, command), aid, command, spec }))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/**
 * The installed command `text` names, full or short. No match is EXEC_NO_COMMAND (exit 66); a short
 * name that several apps expose is EXEC_AMBIGUOUS (exit 2), listing their full names.
 */
export function findCommand(all: readonly InstalledCommand[], text: string): InstalledCommand {
  const { aid, command } = splitCommandName(text);
  const hits = all.filter((c) => c.command === command && (aid === undefined || c.aid === aid));
  if (hits.length === 1) return hits[0] as InstalledCommand;
  if (hits.length > 1) {
    throw new NcwError(
      "usage",
      `${hits.length} installed apps expose a command ${command}: ${hits.map((c) => c.name).join(", ")}`,
      {
        code: "EXEC_AMBIGUOUS",
        hint: `call it by its full name, e.g. \`ncw exec ${hits[0]?.name}\``,
      },
    );
  }
  const app = aid === undefined ? [] : all.filter((c) => c.aid === aid);
  throw new NcwError(
    "not-found",
    aid === undefined
      ? `no installed app exposes a command ${command}`
      : app.length > 0
        ? `${aid} exposes no command ${command} (its commands: ${app.map((c) => c.command).join(", ")})`
        : `no installed app ${aid} exposes commands`,
    {
      code: "EXEC_NO_COMMAND",
      hint: "`ncw commands` lists the commands of the installed apps",
    },
  );
}

/**
 * The command of an app that a run starts (`ncw run app.nap [command] [args…]`): the one the first word
 * names; else the default command, the one named like the app's slug, else the only one. Undefined
 * when the app exposes no command (it then gets its words as strings, as a program does).
 */
export function selectCommand(
  app: { aid: string; slug: string; commands: Readonly<Record<string, CommandSpec>> },
  words: readonly string[],
): { name: string; spec: CommandSpec; words: string[] } | undefined {
  const names = Object.keys(app.commands);
  if (names.length === 0) return undefined;
  const first = words[0];
  if (first !== undefined && Object.hasOwn(app.commands, first))
    return { name: first, spec: app.commands[first] as CommandSpec, words: words.slice(1) };
  const name = Object.hasOwn(app.commands, app.slug)
    ? app.slug
    : names.length === 1
      ? (names[0] as string)
      : undefined;
  if (name === undefined) {
    throw new NcwError("usage", `say which command of ${app.aid} to run: ${names.join(", ")}`, {
      code: "RUN_WHICH_COMMAND",
      hint: `${app.aid} has no command named like the app (${app.slug}); put the command's name after the app`,
    });
  }
  return { name, spec: app.commands[name] as CommandSpec, words: [...words] };
}
