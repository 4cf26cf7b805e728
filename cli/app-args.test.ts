// The app's words after `ncw run <program>` / `ncw exec <command>` (docs/cli.md "Command arguments").

import { describe, expect, it } from "vitest";
import { separateAppWords } from "./app-args.js";

describe("separateAppWords", () => {
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
