// Which command a command line names (concepts/applications.md "Commands"; docs/cli.md "Commands of
// installed apps"): full names, short names, ambiguity, and an app's default command.

import { describe, expect, it } from "vitest";
import { NcwError } from "../../ncw/errors.js";
import type { CommandSpec } from "../../ncw/manifest/types.js";
import { findCommand, type InstalledCommand, selectCommand, splitCommandName } from "./commands.js";
import { commandHelp, commandSignature } from "./help.js";

const spec = (help: string): CommandSpec => ({ help, return: "void", args: [] });
const cmd = (aid: string, command: string): InstalledCommand => ({
  name: `${aid}.${command}`,
  aid,
  command,
  spec: spec(command),
});
const ALL = [cmd("a::one", "greet"), cmd("a::one", "pick"), cmd("b::two", "greet")];

function code(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (e instanceof NcwError) return `${e.code}: ${e.message}`;
    throw e;
  }
  return "accepted";
}

describe("command names", () => {
  it("splits full names, with or without the spec's leading colon", () => {
    expect(splitCommandName("a::one.greet")).toEqual({ aid: "a::one", command: "greet" });
    expect(splitCommandName(":a::one.greet")).toEqual({ aid: "a::one", command: "greet" });
    expect(splitCommandName("greet")).toEqual({ command: "greet" });
  });
  it("finds a command by full name, or by a short name only one app exposes", () => {
    expect(findCommand(ALL, "pick").name).toBe("a::one.pick");
    expect(findCommand(ALL, "b::two.greet").name).toBe("b::two.greet");
    expect(code(() => findCommand(ALL, "greet"))).toBe(
      "EXEC_AMBIGUOUS: 2 installed apps expose a command greet: a::one.greet, b::two.greet",
    );
    expect(code(() => findCommand(ALL, "nope"))).toMatch(
      /^EXEC_NO_COMMAND: no installed app exposes a command nope/,
    );
    expect(code(() => findCommand(ALL, "b::two.pick"))).toBe(
      "EXEC_NO_COMMAND: b::two exposes no command pick (its commands: greet)",
    );
    expect(code(() => findCommand(ALL, "c::three.x"))).toBe(
      "EXEC_NO_COMMAND: no installed app c::three exposes commands",
    );
  });
});

describe("the command a run starts", () => {
  const commands = { hello: spec("h"), other: spec("o") };
  it("the first word's command, else the one named like the slug, else the only one", () => {
    expect(
      selectCommand({ aid: "d::hello", slug: "hello", commands }, ["other", "x"]),
    ).toMatchObject({
      name: "other",
      words: ["x"],
    });
    expect(selectCommand({ aid: "d::hello", slug: "hello", commands }, ["x"])).toMatchObject({
      name: "hello",
      words: ["x"],
    });
    expect(
      selectCommand({ aid: "d::x", slug: "x", commands: { only: spec("") } }, []),
    ).toMatchObject({ name: "only", words: [] });
    expect(selectCommand({ aid: "d::x", slug: "x", commands: {} }, ["a"])).toBeUndefined();
    expect(code(() => selectCommand({ aid: "d::x", slug: "x", commands }, ["y"]))).toBe(
      "RUN_WHICH_COMMAND: say which command of d::x to run: hello, other",
    );
  });
});

describe("signatures and help", () => {
  const s: CommandSpec = {
    help: "Greets",
    return: "string",
    cmdin: "list[string]",
    author: "Ada",
    args: [
      { name: "names", arg: { syntax: "pos", type: "list[string]", help: "Who" } },
      { name: "dest", arg: { syntax: "pos", type: "path", optional: true } },
      { name: "n", arg: { syntax: "dash", type: "int", short: "n", default: 2 } },
      { name: "mode", arg: { syntax: "dash", type: "string", long: "mode", requires: ["v"] } },
      {
        name: "v",
        arg: {
          syntax: "flag",
          short: "v",
          long: "verbose",
          if: [{ cond: "present()", return: "int" }],
        },
      },
    ],
  };
  it("a usage line: <required>, [optional], ... for lists, -> the return type", () => {
    expect(commandSignature("a::b.greet", s)).toBe(
      "a::b.greet <names: list[string]>... [dest: path] [-n <int>] --mode <string> [-v, --verbose] -> string",
    );
  });
  it("a help page with every argument's type and notes", () => {
    expect(commandHelp("a::b.greet", s).split("\n")).toEqual([
      "Usage: a::b.greet <names: list[string]>... [dest: path] [-n <int>] --mode <string> [-v, --verbose] -> string",
      "",
      "Greets",
      "",
      "Arguments:",
      "  names              list[string]   Who",
      "  dest               path           optional",
      "  n (-n)             int (dash)     default: 2",
      "  mode (--mode)      string (dash)  requires v",
      "  v (-v, --verbose)  flag           returns int when v is present",
      "",
      "Returns: string",
      "Reads from its input: list[string]",
      "Author: Ada",
    ]);
  });
});
