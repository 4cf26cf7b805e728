// The words that belong to the app (docs/cli.md "Command arguments"): in `ncw run <program> …` and
// `ncw exec <command> …`, ncw's options come before the program or command; every word after it is
// the app's, given to it as typed (`ncw exec greet Ada -r 2 --loud`). A `--` right after the program is
// still accepted (and is ncw's, not the app's). `ncw hydre <script> …` likewise: the words after the script
// are its arguments (docs/hydre.md "Commands typing").

/** The commands whose words after the target are the app's. */
const APP_COMMANDS = new Set(["run", "exec", "hydre"]);
/** ncw's options of those commands that take a value as the next word (`--home dir`). */
const VALUE_OPTIONS = new Set([
  "--home",
  "--trace-file",
  "--trace-format",
  "--priority",
  "--proxy",
  "--allow",
  "--deny",
  "--permissions",
  "--seed",
  "-c",
]);

/**
 * ncw's options that take a value only as `--opt=value`: alone they take none (`ncw run --sandbox app.nap`
 * is a one-off sandbox, `--sandbox=name` a persistent one). Alone they are passed on as `--opt=` (yargs
 * would take the next word as the value).
 */
const OPTIONAL_VALUE_OPTIONS = new Set(["--sandbox"]);

/**
 * `args` with a `--` inserted after the program / command of `ncw run` / `ncw exec`, so that yargs
 * leaves the app's words alone. Other command lines (and completion requests) are returned as they are.
 */
export function separateAppWords(given: readonly string[]): string[] {
  if (given.includes("--get-yargs-completions")) return [...given];
  const args = [...given];
  let i = 0;
  let command: string | undefined;
  for (; i < args.length; i++) {
    const a = args[i] as string;
    if (a === "--") return [...args];
    if (a.startsWith("-")) {
      if (VALUE_OPTIONS.has(a)) i++;
      if (OPTIONAL_VALUE_OPTIONS.has(a)) args[i] = `${a}=`;
      continue;
    }
    if (command === undefined) {
      if (!APP_COMMANDS.has(a)) return [...args];
      command = a;
      continue;
    }
    // The program or command: the words after it are the app's.
    if (args[i + 1] === "--" || i + 1 >= args.length) return [...args];
    return [...args.slice(0, i + 1), "--", ...args.slice(i + 1)];
  }
  return [...args];
}
