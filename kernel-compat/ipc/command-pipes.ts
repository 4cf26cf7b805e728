// The six command pipes (specs/shell.md "Command pipes"; docs/ipc.md "Command pipes"), as both the
// kernel, which creates them, and the CLI, which maps its ends, know them: their order in the
// execution context, their type, and which end the app holds (the CLI holds the other).

/** The pipes in the context's order, their type (shell.md's table) and which end the app holds. */
export const COMMAND_PIPES = [
  // Raw pipes that carry bulk bytes get more than 64 KiB (decided, docs/ipc.md): CMDIN 4 MiB, CMDRAW 1 MiB.
  { name: "cmdin", message: false, multiplier: 64, app: "rc" },
  { name: "cmdusr", message: true, multiplier: 1, app: "rc" },
  { name: "cmdmsg", message: true, multiplier: 1, app: "sc" },
  { name: "cmderr", message: true, multiplier: 1, app: "sc" },
  { name: "cmdraw", message: false, multiplier: 16, app: "sc" },
  { name: "cmdout", message: false, multiplier: 1, app: "sc" },
] as const;

export type CommandPipeName = (typeof COMMAND_PIPES)[number]["name"];

/** The pipes the CLI writes (it holds their SC); it reads the four others. */
export type CommandInputName = "cmdin" | "cmdusr";

/** What the CLI needs to map one of its ends (protocol.ts `command-pipes`). */
export interface CommandPipeMapping {
  name: CommandPipeName;
  /** The host segment's name (native/ `openSegment`) and size. */
  segment: string;
  size: number;
}
