// Hydre's native commands (specs/shell-scripting.md "Native commands", "Input of a command"), typed in
// the manifests' command typing so that one argument reader (services/shell/arguments.ts) checks native
// and app commands alike. The file commands (wt, rd, mkdir, ren, mv, rm, ls, syml) are typed and run in
// fs-commands.ts; fd is not here yet: the checker reports them as not supported
// (docs/hydre.md).

import type { CommandSpec } from "../../ncw/manifest/types.js";
import { FILE_COMMANDS } from "./fs-commands.js";

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
  // cmdin: the script's CMDIN value (specs "Reading from CMDIN"); its type is the script's `cmdin`.
  cmdin: {
    help: "Write to CMDOUT the value of the script's CMDIN",
    return: "any",
    args: [],
  },
  // cmdout <value>: the script's return value, and its end (specs "Returning with CMDOUT").
  cmdout: {
    help: "Return a value on the script's CMDOUT, and end the script",
    return: "void",
    args: [
      { name: "value", arg: { syntax: "pos", type: "any", help: "the script's return value" } },
    ],
  },
  // cmdraw <stream>: the stream written to the script's CMDRAW (specs "Writing to CMDRAW").
  cmdraw: {
    help: "Write a stream to the script's CMDRAW",
    return: "void",
    args: [
      {
        name: "stream",
        arg: { syntax: "pos", type: "stream", help: "the stream, written as it is" },
      },
    ],
  },
  ...FILE_COMMANDS,
};

/** Native commands of the spec that NCW does not run yet. */
export const FS_COMMANDS = ["fd"];
