// Black-box tests of `ncw completion bash|zsh|fish` (docs/cli.md, "Shell completion"): the bash
// script, loaded in a real bash, completes commands, subcommands and options through ncw itself.
import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { NCW_JS, ncw } from "./helpers/ncw.js";

const tmp = mkdtempSync(path.join(os.tmpdir(), "ncw-completion-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const hasBash = process.platform !== "win32" && spawnSync("bash", ["-c", "true"]).status === 0;

describe("ncw completion", () => {
  it("prints a script for each shell, and refuses other shells naming the valid ones", () => {
    for (const [shell, marker] of [
      ["bash", "complete -o filenames -F _ncw_completions ncw"],
      ["zsh", "#compdef ncw"],
      ["fish", "complete -c ncw"],
    ] as const) {
      const r = ncw(["completion", shell]);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toContain(marker);
      expect(r.stdout).toContain("--get-yargs-completions");
    }
    const bad = ncw(["completion", "tcsh"]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('Choices: "bash", "zsh", "fish"');
  });

  it("gives zsh each command with its description", () => {
    const r = ncw(["--get-yargs-completions", "ncw", ""], { env: { SHELL: "/bin/zsh" } });
    expect(r.stdout).toContain("skyer:Install, update, list and remove apps");
    expect(r.stdout).not.toContain("__yargs-completion");
  });

  it.skipIf(!hasBash)("completes commands, subcommands and options in bash", () => {
    const bin = path.join(tmp, "bin");
    mkdirSync(bin);
    writeFileSync(
      path.join(bin, "ncw"),
      `#!/bin/sh\nexec "${process.execPath}" "${NCW_JS}" "$@"\n`,
    );
    chmodSync(path.join(bin, "ncw"), 0o755);
    const complete = (...words: string[]) => {
      const r = spawnSync(
        "bash",
        [
          "-c",
          // biome-ignore lint/suspicious/noTemplateCurlyInString: a bash script, not a template
          'source <(ncw completion bash); COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _ncw_completions; printf "%s\\n" "${COMPREPLY[@]}"',
          "bash",
          ...words,
        ],
        { cwd: tmp, encoding: "utf8", env: { ...process.env, PATH: `${bin}:${process.env.PATH}` } },
      );
      expect(r.status, r.stderr).toBe(0);
      return r.stdout.trim().split("\n");
    };
    expect(complete("ncw", "sk")).toEqual(["skyer"]);
    expect(complete("ncw", "skyer", "un")).toEqual(["uninstall"]);
    expect(complete("ncw", "run", "--tr")).toEqual(["--trace", "--trace-file", "--trace-format"]);
    expect(complete("ncw", "completion", "f")).toEqual(["fish"]);
  });
});
