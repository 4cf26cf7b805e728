// The app commands the conformance cases are checked against (test/hydre/conformance.test.ts): typed as
// installed apps' manifests type them (specs/shell-scripting.md "Commands typing"), named as the spec's
// examples name them. Check-only: a case that runs an app command is a black-box test (test/hydre-cli.test.ts).

import type { CommandSpec } from "../../ncw/manifest/types.js";
import type { InstalledCommand } from "../../services/shell/commands.js";

const app = (aid: string, command: string, spec: Partial<CommandSpec>): InstalledCommand => ({
  name: `${aid}.${command}`,
  aid,
  command,
  spec: { help: command, return: "void", args: [], ...spec },
});

export const FIXTURE_COMMANDS: InstalledCommand[] = [
  // specs "Running a command": `cmdname pos1 pos2 -a --arg1`, `-abc`, `-s=1 --long=2`.
  app("devs::tools", "cmdname", {
    args: [
      { name: "pos1", arg: { syntax: "pos", type: "string", optional: true } },
      { name: "pos2", arg: { syntax: "pos", type: "string", optional: true } },
      { name: "a", arg: { syntax: "flag", short: "a" } },
      { name: "b", arg: { syntax: "flag", short: "b" } },
      { name: "c", arg: { syntax: "flag", short: "c" } },
      { name: "arg1", arg: { syntax: "flag", long: "arg1" } },
      { name: "s", arg: { syntax: "dash", short: "s", type: "int", optional: true } },
      { name: "long", arg: { syntax: "dash", long: "long", type: "int", optional: true } },
    ],
  }),
  // specs "Value types": `command pos1 pos2 --flag --val 2`.
  app("devs::tools", "command", {
    args: [
      { name: "pos1", arg: { syntax: "pos", type: "string", optional: true } },
      { name: "pos2", arg: { syntax: "pos", type: "string", optional: true } },
      { name: "flag", arg: { syntax: "flag", long: "flag" } },
      { name: "flags", arg: { syntax: "flag", long: "flags" } },
      { name: "val", arg: { syntax: "dash", long: "val", type: "int", optional: true } },
    ],
  }),
  // specs "Expressions": `tellage $age`.
  app("devs::people", "tellage", {
    args: [{ name: "age", arg: { syntax: "pos", type: "int" } }],
  }),
  // specs "Input of a command": `read ./somefile.txt | length`.
  app("devs::text", "read", {
    return: "string",
    args: [{ name: "file", arg: { syntax: "pos", type: "path" } }],
  }),
  app("devs::text", "length", { return: "int", cmdin: "string" }),
  // A command reading a stream (docs/hydre.md "Pipes": any command's output goes into it).
  app("devs::text", "count", { return: "int", cmdin: "stream" }),
  // A stream as an argument (docs/hydre.md "Streams held by the script": not yet).
  app("devs::text", "feed", { args: [{ name: "data", arg: { syntax: "pos", type: "stream" } }] }),
  // An enumeration, a list and a conditional return type (specs "Enumerations", "Conditionals").
  app("devs::math", "stat", {
    return: "int",
    args: [
      { name: "numbers", arg: { syntax: "pos", type: "list[int]" } },
      {
        name: "op",
        arg: { syntax: "dash", short: "o", type: 'enum["sum" | "min"]', default: "sum" },
      },
      {
        name: "verbose",
        arg: { syntax: "flag", short: "v", if: [{ cond: "present()", return: "string" }] },
      },
    ],
  }),
  // Two apps exposing one name (an ambiguous short name).
  // specs "Non-clashing namespace": AppA by DevA exposes cmd_a and cmd_z, AppB by DevB cmd_b and cmd_z.
  app("deva::appa", "cmd_a", {}),
  app("deva::appa", "cmd_z", {}),
  app("devb::appb", "cmd_b", {}),
  app("devb::appb", "cmd_z", {}),
];
