// The app's words after `ncw run <program>` / `ncw exec <command>` (docs/cli.md "Command arguments").

import { describe, expect, it } from "vitest";
import { separateAppWords } from "./app-args.js";
import { RUN_OPTIONS } from "./commands/run.js";
import { GLOBAL_OPTIONS } from "./fast-argv.js";

describe("separateAppWords", () => {
  // The options tables yargs is given are the truth: every option of `ncw run` / `ncw exec` that takes
  // a value as the next word is skipped with its value (a new one missing from VALUE_OPTIONS would make
  // its value the program).
  it("knows every value-taking option of the run / exec tables", () => {
    const tables = { ...GLOBAL_OPTIONS, ...RUN_OPTIONS } as Record<string, { type?: string }>;
    const valued = Object.entries(tables).filter(
      ([n, o]) => o.type === "string" && n !== "sandbox",
    );
    expect(valued.length).toBeGreaterThan(5);
    for (const [name] of valued)
      for (const command of ["run", "exec"])
        expect(separateAppWords([command, `--${name}`, "v", "p.wat", "x"]), name).toEqual([
          command,
          `--${name}`,
          "v",
          "p.wat",
          "--",
          "x",
        ]);
  });

  it("puts -- after the program or command, after ncw's options and their values", () => {
    expect(separateAppWords(["run", "app.nap", "greet", "-r", "2"])).toEqual([
      "run",
      "app.nap",
      "--",
      "greet",
      "-r",
      "2",
    ]);
    expect(
      separateAppWords(["--home", "h", "exec", "--trace-file", "t", "--trace", "greet", "--json"]),
    ).toEqual(["--home", "h", "exec", "--trace-file", "t", "--trace", "greet", "--", "--json"]);
    expect(separateAppWords(["--json", "run", "--priority", "3", "p.wat", "x"])).toEqual([
      "--json",
      "run",
      "--priority",
      "3",
      "p.wat",
      "--",
      "x",
    ]);
    // The permission flags take a value each (docs/permissions.md "Up front").
    expect(
      separateAppWords([
        "run",
        "--allow",
        "a.b",
        "--deny",
        "c.d",
        "--permissions",
        "f",
        "p.wat",
        "x",
      ]),
    ).toEqual(["run", "--allow", "a.b", "--deny", "c.d", "--permissions", "f", "p.wat", "--", "x"]);
  });
  it("ncw hydre: the words after the script are the script's arguments", () => {
    expect(separateAppWords(["hydre", "--seed", "3", "s.hys", "[1]", "-r", "2"])).toEqual([
      "hydre",
      "--seed",
      "3",
      "s.hys",
      "--",
      "[1]",
      "-r",
      "2",
    ]);
    expect(separateAppWords(["hydre", "-c", "echo 1", "a", "-x"])).toEqual([
      "hydre",
      "-c",
      "echo 1",
      "a",
      "--",
      "-x",
    ]);
  });
  it("leaves other command lines, an explicit --, a bare program and completions alone", () => {
    for (const args of [
      ["ps", "--all"],
      ["skyer", "install", "a.nap", "--global"],
      ["run", "p.wat", "--", "-x"],
      ["run", "--", "p.wat"],
      ["run", "p.wat"],
      ["run", "--trace"],
      ["--get-yargs-completions", "run", "p.wat", "x"],
    ])
      expect(separateAppWords(args)).toEqual(args);
  });
  it("gives a bare --sandbox no value, so the program after it stays the program", () => {
    expect(separateAppWords(["run", "--sandbox", "app.nap", "add", "x"])).toEqual([
      "run",
      "--sandbox=",
      "app.nap",
      "--",
      "add",
      "x",
    ]);
    expect(separateAppWords(["run", "--sandbox=keep", "app.nap", "--sandbox"])).toEqual([
      "run",
      "--sandbox=keep",
      "app.nap",
      "--",
      "--sandbox",
    ]);
  });
});
