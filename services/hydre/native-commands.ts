// Hydre's native commands (specs/shell-scripting.md "Native commands", "Input of a command"), typed in
// the manifests' command typing so that one argument reader (services/shell/arguments.ts) checks native
// and app commands alike. Those that need the NightOS filesystem (wt, rd, mkdir, ren, mv, rm, ls, fd,
// syml) are not here yet: the checker reports them as not supported (docs/hydre.md).

import type { CommandSpec } from "../../ncw/manifest/types.js";

export const NATIVE_COMMANDS: Record<string, CommandSpec> = {
  // echo [-n] { <anystr> | -b <stream> }
  echo: {
    help: "Display a value (its text, to CMDOUT)",
    return: "string",
    args: [
      {
        name: "no_newline",
        arg: { syntax: "flag", short: "n", help: "no line break after the text" },
      },
      {
        name: "stream",
        arg: {
          syntax: "dash",
          short: "b",
          type: "stream",
          optional: true,
          conflicts: ["value"],
          help: "print a stream as UTF-8",
        },
      },
      {
        name: "value",
        arg: { syntax: "pos", type: "anystr", optional: true, help: "the value to display" },
      },
    ],
  },
  // pass [<value>]: the value given, else the one read from CMDIN (specs "Input of a command":
  // `pass 2 | length`).
  pass: {
    help: "Write to CMDOUT the value it is given, else the one it reads from CMDIN",
    return: "any",
    cmdin: "any",
    args: [{ name: "value", arg: { syntax: "pos", type: "any", optional: true } }],
  },
};

/** Native commands of the spec that need the filesystem (not run by NCW yet). */
export const FS_COMMANDS = [
  "wt",
  "rd",
  "mkdir",
  "ren",
  "mv",
  "rm",
  "ls",
  "fd",
  "syml",
  "cmdin",
  "cmdout",
  "cmdraw",
];
