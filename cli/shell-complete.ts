// TAB completion of `ncw shell` (docs/hydre.md "ncw shell"): the word before the cursor completed as
// - a command name where a command starts (the line's start, after `|`, `;`, `(` or `$(`…): the native
//   commands, the installed apps' commands (their full names, and the short names only one app
//   exposes, as the checker finds them), the functions defined in the session and Hydre's keywords;
// - `$name`: the variables and functions in the session's scope;
// - `-x` / `--name`: the dash arguments and flags of the command the segment starts with, from its
//   typing (the native commands' and the manifests');
// - a path (starting with `.`, `/`, `~`, or holding a `/`): the items of the NightOS tree, from the
//   user's home as the file commands read paths (directories end with `/`).

import type { CommandSpec } from "../ncw/manifest/types.js";
import { resolvePath } from "../services/hydre/fs-commands.js";
import { NATIVE_COMMANDS } from "../services/hydre/native-commands.js";
import type { InstalledCommand } from "../services/shell/commands.js";
import type { CliHost } from "./hydre-host.js";

const KEYWORDS = [
  "let",
  "mut",
  "if",
  "elif",
  "else",
  "end",
  "for",
  "while",
  "switch",
  "fn",
  "return",
  "break",
  "fail",
  "catch",
  "retry",
  "exit",
  "import",
  "type",
  "struct",
];

export interface CompleterDeps {
  commands: () => Promise<readonly InstalledCommand[]>;
  names: () => string[];
  host: () => CliHost;
}

type Callback = (err: Error | null, result: [string[], string]) => void;

export function shellCompleter(deps: CompleterDeps): (line: string, cb: Callback) => void {
  return (line, cb) => {
    complete(line, deps).then(
      (r) => cb(null, r),
      () => cb(null, [[], ""]),
    );
  };
}

/** The candidates for the last word of `line` (the text before the cursor), and that word. */
export async function complete(line: string, deps: CompleterDeps): Promise<[string[], string]> {
  const word = /[^\s|;(){}[\],]*$/.exec(line)?.[0] ?? "";
  const before = line.slice(0, line.length - word.length);
  const segment = before.split(/\||;|\$\?\(|\$!\(|\$\*\(|\$\(|\(|\{/).at(-1) ?? "";
  const pick = (all: Iterable<string>) =>
    [...new Set(all)].filter((c) => c.startsWith(word)).sort();
  if (word.startsWith("$")) {
    const names = deps.names().map((n) => `$${n}`);
    return [pick(names), word];
  }
  if (segment.trim() === "" && !/^[./~]/.test(word)) {
    const installed = await installedOrNone(deps);
    const names = [
      ...Object.keys(NATIVE_COMMANDS),
      ...installed.map((c) => c.name),
      ...installed
        .filter((c) => installed.filter((d) => d.command === c.command).length === 1)
        .map((c) => c.command),
      ...deps.names(),
      ...KEYWORDS,
    ];
    return [pick(names), word];
  }
  if (word.startsWith("-")) {
    const name = segment.trim().split(/\s+/)[0] ?? "";
    const spec = await specOf(name, deps);
    if (spec === undefined) return [[], word];
    const flags: string[] = [];
    for (const { arg } of spec.args) {
      if (arg.syntax === "pos") continue;
      if (arg.long !== undefined) flags.push(`--${arg.long}`);
      if (arg.short !== undefined) flags.push(`-${arg.short}`);
    }
    return [pick(flags), word];
  }
  if (/^[./~]/.test(word) || word.includes("/")) return [await paths(word, deps.host()), word];
  return [pick(deps.names()), word];
}

async function installedOrNone(deps: CompleterDeps): Promise<readonly InstalledCommand[]> {
  try {
    return await deps.commands();
  } catch {
    // No kernel could start: the native commands are still completed.
    return [];
  }
}

async function specOf(name: string, deps: CompleterDeps): Promise<CommandSpec | undefined> {
  const native = NATIVE_COMMANDS[name];
  if (native !== undefined) return native;
  const installed = await installedOrNone(deps);
  const hits = installed.filter((c) => c.name === name || c.command === name);
  return hits.length === 1 ? hits[0]?.spec : undefined;
}

/** The items of the tree whose path starts with `word`, written as the user began it. */
async function paths(word: string, host: CliHost): Promise<string[]> {
  const cut = word.lastIndexOf("/");
  const dirText = cut < 0 ? "" : word.slice(0, cut + 1);
  const prefix = word.slice(cut + 1);
  if (dirText === "" && word.startsWith("~")) return word === "~" ? ["~/"] : [];
  let dir: string;
  try {
    dir = resolvePath(dirText === "" ? "." : dirText, host.files);
  } catch {
    return [];
  }
  try {
    const tree = await host.files.tree();
    const entries = await tree.readdir(dir);
    return entries
      .filter(
        (e) => e.name.startsWith(prefix) && (prefix.startsWith(".") || !e.name.startsWith(".")),
      )
      .map((e) => `${dirText}${e.name}${e.kind === "dir" ? "/" : ""}`)
      .sort();
  } catch {
    return [];
  } finally {
    await host.release();
  }
}
