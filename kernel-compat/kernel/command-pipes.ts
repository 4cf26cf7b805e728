// The six command pipes of a command run (specs/shell.md "Command pipes"; docs/ipc.md "Command
// pipes"): pipes of the pipe table whose app ends the process names by the identifiers of its
// execution context, and whose other ends the CLI maps itself (it is the caller: it writes CMDIN and
// CMDUSR, reads the rest). The spec has sys::hydre create them: their creator is its fixed PID.

import { CMDIN_IDENTIFIER } from "../../commonassembly/abi/context.js";
import { SystemPid } from "../../commonassembly/abi/numbers.js";
import {
  COMMAND_PIPES,
  type CommandPipeMapping,
  type CommandPipeName,
} from "../ipc/command-pipes.js";
import type { HostInputRef } from "../protocol.js";
import type { KPipe, PipeEnd, PipeTable } from "./pipes.js";

export { COMMAND_PIPES, type CommandPipeMapping, type CommandPipeName };

/** The command pipes of one process. */
export interface CommandPipeSet {
  readonly pid: number;
  readonly pipes: Readonly<Record<CommandPipeName, KPipe>>;
  /** The app's ends, with its identifiers (what goes in its execution context). */
  readonly app: Readonly<Record<CommandPipeName, { id: bigint; end: PipeEnd }>>;
  /** Whether the CLI's pins are still held (until it mapped its ends, or its session went). */
  pinned: boolean;
  /**
   * The host path of the CLI's stdin (/proc/<cli>/fd/0) when the app's runner reads CMDIN's bytes
   * from it itself (docs/ipc.md "CMDIN read by the runner"); undefined: the CLI writes CMDIN.
   */
  hostInput?: HostInputRef;
  /** CMDIN is another command's CMDRAW (`createCommandPipes`' `cmdin`): the CLI does not write it. */
  cmdinPiped?: true;
}

/**
 * Create the six pipes for process `pid` (not started yet): the app's identifiers are entered in its
 * table, and every pipe is pinned for the CLI. `cmdin`: an open raw pipe to use as CMDIN instead of a
 * new one (another command's CMDRAW, a Hydre pipeline's `a | b`: docs/ipc.md "Command pipes between
 * two commands"); `pid` then names its RC end. Throws when the host gives no shared memory (nothing
 * is left behind then).
 */
export function createCommandPipes(table: PipeTable, pid: number, cmdin?: KPipe): CommandPipeSet {
  // It may be closed already (its writer ended): what it holds is still read, then PIPE_READ says 0x31.
  if (cmdin?.message === true)
    throw new Error(`pipe ${cmdin.id} cannot be a CMDIN: a message pipe`);
  const made: KPipe[] = [];
  try {
    for (const d of COMMAND_PIPES)
      made.push(
        d.name === "cmdin" && cmdin !== undefined
          ? cmdin
          : table.create(
              { pid: SystemPid["sys::hydre"], anid: 0 },
              { message: d.message, multiplier: d.multiplier, sizeHint: 0n },
            ),
      );
  } catch (e) {
    for (const p of made) if (p !== cmdin) table.releaseIfUnnamed(p);
    throw e;
  }
  const pipes = {} as Record<CommandPipeName, KPipe>;
  const app = {} as Record<CommandPipeName, { id: bigint; end: PipeEnd }>;
  COMMAND_PIPES.forEach((d, i) => {
    const pipe = made[i] as KPipe;
    pipes[d.name] = pipe;
    table.pin(pipe);
    const end = d.app === "sc" ? pipe.sc : pipe.rc;
    app[d.name] = { id: table.ids.add(pid, end), end };
  });
  // The CLI names CMDIN by this identifier in a `stream` argument before the pipes exist.
  if (app.cmdin.id !== CMDIN_IDENTIFIER)
    throw new Error(
      `process ${pid}'s CMDIN got identifier ${app.cmdin.id}, not ${CMDIN_IDENTIFIER}`,
    );
  return { pid, pipes, app, pinned: true, ...(cmdin === undefined ? {} : { cmdinPiped: true }) };
}

/** The segments the CLI maps, in the context's order. */
export function commandPipeMappings(set: CommandPipeSet): CommandPipeMapping[] {
  return COMMAND_PIPES.map((d) => {
    const seg = set.pipes[d.name].segment;
    return { name: d.name, segment: seg.name, size: seg.size };
  });
}

/** The CLI mapped its ends (or went away): its pins go, and a pipe nobody names any more with them. */
export function unpinCommandPipes(table: PipeTable, set: CommandPipeSet): void {
  if (!set.pinned) return;
  set.pinned = false;
  for (const d of COMMAND_PIPES) table.unpin(set.pipes[d.name]);
}
