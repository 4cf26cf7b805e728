// `ncw completion bash|zsh|fish`: prints a shell completion script (docs/cli.md, "Shell completion").
// Each script asks `ncw --get-yargs-completions <words>` (yargs' completion machinery, enabled in
// cli/ncw.ts) for the commands, subcommands and options that fit the words typed so far.

import { existsSync } from "node:fs";
import type { Argv, CommandModule } from "yargs";
import { requestUser } from "../../kernel-compat/client.js";
import { homeLayout, resolveHomePath } from "../../ncw/home.js";
import { type GlobalArgs, runCommand } from "../context.js";

export const SHELLS = ["bash", "zsh", "fish"] as const;
type Shell = (typeof SHELLS)[number];

interface CompletionArgs extends GlobalArgs {
  shell: Shell;
}

/** The yargs flag that asks for completions (yargs' `completionKey`). */
const ASK = "--get-yargs-completions";

function script(shell: Shell): string {
  switch (shell) {
    case "bash":
      return `# ncw completion for bash. Load it with: source <(ncw completion bash)
# or install it: ncw completion bash > ~/.local/share/bash-completion/completions/ncw
_ncw_completions() {
  local IFS=$'\\n'
  local words
  words=$(SHELL=bash ncw ${ASK} "\${COMP_WORDS[@]:0:COMP_CWORD+1}" 2>/dev/null)
  COMPREPLY=($(compgen -W "$words" -- "\${COMP_WORDS[COMP_CWORD]}"))
  # Nothing from ncw (a file argument): complete file names.
  if [ \${#COMPREPLY[@]} -eq 0 ]; then
    COMPREPLY=($(compgen -f -- "\${COMP_WORDS[COMP_CWORD]}"))
  fi
}
complete -o filenames -F _ncw_completions ncw
`;
    case "zsh":
      return `#compdef ncw
# ncw completion for zsh. Load it with: source <(ncw completion zsh)
# or install it as _ncw in a folder of your $fpath.
_ncw() {
  local -a items
  items=("\${(@f)$(SHELL=zsh ncw ${ASK} "\${words[@]:0:$CURRENT}" 2>/dev/null)}")
  if [[ \${#items[@]} -gt 0 && -n "\${items[1]}" ]]; then
    _describe 'ncw' items
  else
    _files
  fi
}
if [[ "\${funcstack[1]}" == "_ncw" ]]; then _ncw "$@"; else compdef _ncw ncw; fi
`;
    case "fish":
      return `# ncw completion for fish. Load it with: ncw completion fish | source
# or install it: ncw completion fish > ~/.config/fish/completions/ncw.fish
function __ncw_completions
    set -l words (commandline -opc) (commandline -ct)
    env SHELL=fish ncw ${ASK} $words 2>/dev/null
end
complete -c ncw -a '(__ncw_completions)'
`;
  }
}

export const completionCommand: CommandModule<GlobalArgs, CompletionArgs> = {
  command: "completion <shell>",
  describe: "Print a shell completion script (bash, zsh or fish)",
  builder: (y) =>
    y
      .positional("shell", { choices: SHELLS, describe: "The shell", demandOption: true })
      .example("source <(ncw completion bash)", "complete ncw's commands in this bash")
      .example("ncw completion fish | source", "... in this fish") as Argv<CompletionArgs>,
  handler: (argv) =>
    runCommand(argv, async ({ out }) => {
      await out.write(script(argv.shell));
    }),
};

/**
 * The command names `ncw exec` / `ncw help` complete: each installed command's full name, and its short
 * name when only one app exposes it. Read from the home's tree (read-only); a home that does not exist
 * yet is not created and completes nothing.
 */
export async function commandNames(
  homeFlag: string | undefined,
  current: string,
): Promise<string[]> {
  const root = resolveHomePath(homeFlag);
  if (!existsSync(root)) return [];
  const { withSkyerQuery } = await import("../../services/skyer/query.js");
  const { installedCommands } = await import("../../services/shell/commands.js");
  const all = await withSkyerQuery(homeLayout(root), (q) => installedCommands(q, requestUser()));
  const count = new Map<string, number>();
  for (const c of all) count.set(c.command, (count.get(c.command) ?? 0) + 1);
  const names = [
    ...all.filter((c) => count.get(c.command) === 1).map((c) => c.command),
    ...all.map((c) => c.name),
  ];
  return [...new Set(names)].filter((n) => n.startsWith(current)).sort();
}
