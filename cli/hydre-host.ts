// The host a Hydre script runs on from `ncw hydre` (services/hydre/evaluator.ts HydreHost): the terminal
// (stdout, stderr, lines of stdin for the prompts), the host's environment, a seedable random source,
// and app commands started on the home's kernel as `ncw exec` starts them (cli/commands/run.ts), their
// six pipes on the terminal or, for `$?(…)` and friends, their messages captured; the file commands on
// the home's NightOS tree (services/fs/open.ts: through the kernel when one runs, else the image).

import { randomInt } from "node:crypto";
import { createInterface, type Interface } from "node:readline";
import { encodeValue, type Value } from "../commonassembly/abi/values.js";
import { connectKernel, requestUser, startRun } from "../kernel-compat/client.js";
import { NcwError } from "../ncw/errors.js";
import type { HomeLayout } from "../ncw/home.js";
import { safeText } from "../ncw/output.js";
import { testFault } from "../ncw/test-fault.js";
import type { FsLayer } from "../services/fs/layer.js";
import { openTree } from "../services/fs/open.js";
import { addUser } from "../services/fs/structure.js";
import type { AppRun, HydreHost } from "../services/hydre/evaluator.js";
import { runLineForApp } from "../services/hydre/script.js";
import type { InstalledCommand } from "../services/shell/commands.js";
import { inputIsStream, typedInput } from "../services/shell/input.js";
import { kernelCommands } from "./command-target.js";
import { commandEnd, commandIo, readWholeInput } from "./terminal/command-io.js";
import { escalatingInterrupt, reservedKeyHandler } from "./terminal/interrupt.js";

/** mulberry32: a small seedable generator, so scripted runs (tests) are repeatable with --seed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface CliHost extends HydreHost {
  /** Ends the session: the tree's changes committed, the terminal's input released. */
  close(): Promise<void>;
  /** Commits and closes the NightOS tree if it is open (`ncw shell`, after each input). */
  release(): Promise<void>;
}

export function cliHost(opts: {
  home: () => HomeLayout;
  color: boolean;
  seed?: number;
  /** Where the prompts read their lines (`ncw shell`: its line editor); default: stdin's lines. */
  readLine?: (prompt: string) => Promise<string | undefined>;
  showValue?: HydreHost["showValue"];
}): CliHost {
  let lines: AsyncIterator<string> | undefined;
  let rl: Interface | undefined;
  const random = opts.seed === undefined ? Math.random : seededRandom(opts.seed);
  let input: Promise<Value | undefined> | undefined;
  const user = requestUser();
  const home = `/home/${user}`;
  // The tree is opened when a file command first needs it, and closed (committed) before an app
  // command runs: the kernel that runs it must be able to take the image (its one writer).
  let tree: Promise<FsLayer> | undefined;
  // This Hydre session's ID, told to the kernel with each command it runs (sys::hydre SESSION_INFO):
  // one per `ncw hydre` / `ncw shell` process, random (the kernel trusts it for nothing).
  const session = randomInt(1, 2 ** 48);
  const closeTree = async () => {
    const t = tree;
    tree = undefined;
    if (t === undefined) return;
    const l = await t;
    try {
      await l.sync();
    } finally {
      await l.close();
    }
  };
  const self: CliHost = {
    files: {
      cwd: home,
      home,
      tree() {
        tree ??= (async () => {
          const t = await openTree(opts.home(), { access: "write" });
          // The user's home, as sys::fs completes it for a user first met (services/fs/service/sysfs.ts).
          await addUser(t, user);
          return t;
        })();
        return tree;
      },
    },
    write: (t) => {
      process.stdout.write(t);
    },
    writeErr: (t) => {
      process.stderr.write(t);
    },
    async readLine(prompt) {
      if (opts.readLine !== undefined) return opts.readLine(prompt);
      process.stdout.write(prompt);
      if (rl === undefined) {
        rl = createInterface({ input: process.stdin, terminal: false });
        lines = rl[Symbol.asyncIterator]();
      }
      const r = await (lines as AsyncIterator<string>).next();
      // A prompt answered from a pipe shows the answer's line break, as a terminal would.
      if (process.stdin.isTTY !== true) process.stdout.write("\n");
      return r.done === true ? undefined : r.value;
    },
    env: (name) => process.env[name],
    async scriptInput(cmdin) {
      // The script's CMDIN is ncw's stdin, one typed value made of all of it, as `ncw exec` reads an
      // app command's typed input (docs/cli.md "Typed input"); a terminal gives no value.
      if (inputIsStream(cmdin))
        throw new NcwError(
          "usage",
          "a script's stream input (`cmdin stream`) is not supported yet",
          {
            code: "HYDRE_UNSUPPORTED",
          },
        );
      if (process.stdin.isTTY === true) return undefined;
      // Read once: every `cmdin` of the script gives the same value.
      input ??= readWholeInput().then((bytes) => typedInput("the script", cmdin, bytes));
      return input;
    },
    random,
    async runApp(
      cmd: InstalledCommand,
      args: Value[],
      capture: boolean,
      input?: Value | null,
    ): Promise<AppRun> {
      // One connection per run: a run's end is told by the messages of its connection, and a command
      // whose value came whole may still be running (shell.md "Command pipes") when the next starts.
      await closeTree();
      const c = await connectKernel(opts.home(), { start: true });
      if (c === undefined) throw new Error("unreachable: connectKernel with start");
      const msg: string[] = [];
      const err: string[] = [];
      // Everything after the connection is under its `finally`: an error thrown while the run is
      // set up (an argument that cannot be encoded, an internal error) closes the connection and
      // the terminal's input, else they would keep ncw alive after the error is reported.
      let io: ReturnType<typeof commandIo> | undefined;
      let onInt: (() => void) | undefined;
      let offLines: (() => void) | undefined;
      try {
        io = commandIo(c, {
          color: opts.color,
          noInput: true,
          // A value piped in by the script (`a | b`) is CMDIN's one value (docs/hydre.md "Pipes").
          ...(input === undefined
            ? {}
            : { typedInput: input === null ? null : encodeValue(input) }),
          ...(capture
            ? { capture: (pipe, text) => (pipe === "cmderr" ? err : msg).push(text) }
            : {}),
          // Ctrl-C is the first step of the SIGINT path (onInt), as for `ncw exec` (cli/commands/run.ts).
          reserved: (key) => reservedKeyHandler(run, () => onInt?.())(key),
        });
        testFault("hydre-run-app");
        // A command line the app asks its session to run (sys::hydre RUN_COMMAND): run as a script's
        // line, here, while the app waits for the answer.
        offLines = c.onMessage((m) => {
          if (m.t !== "hydre-run") return;
          void runLineForApp(m.line, () => kernelCommands(opts.home()), self)
            .then((r) =>
              r.kind === "ran"
                ? {
                    t: "hydre-ran" as const,
                    id: m.id,
                    outcome: "ran" as const,
                    status: r.ok ? 0 : 1,
                    value: encodeValue(r.value),
                  }
                : { t: "hydre-ran" as const, id: m.id, outcome: r.kind },
            )
            .catch((e: unknown) => {
              process.stderr.write(`error: sys::hydre RUN_COMMAND: ${(e as Error).message}\n`);
              return { t: "hydre-ran" as const, id: m.id, outcome: "ran" as const, status: 1 };
            })
            .then((answer) => c.send(answer));
        });
        const started = io;
        const run = startRun(
          c,
          {
            path: cmd.aid,
            args,
            startup: {
              kind: "command",
              callerAnid: 0,
              command: cmd.command,
              rawOutputRead: process.stdout.isTTY !== true,
            },
            trace: false,
            priority: 10,
            // The script's Hydre session (sys::hydre SESSION_INFO).
            hydre: session,
          },
          {
            commandPipes: (pid, pipes, cmdin) => started.onPipes(pid, pipes, cmdin),
            commandInput: (pid, why) => started.onInputFallback(pid, why),
            started: () => {},
            // Not traced, the kernel still says what the user must know (a permission refused for want
            // of a terminal, a limit): on stderr, as `ncw exec` writes them.
            trace: (pid, line) =>
              process.stderr.write(
                `${safeText(pid === 0 ? `[ncw] ${line}` : `[pid ${pid}] ${line}`)}\n`,
              ),
          },
        );
        // Ctrl-C (or SIGINT) asks the command to terminate, a second forces it, a third kills it
        // (shell.md "User inputs"; as `ncw exec` does).
        onInt = escalatingInterrupt(run);
        process.on("SIGINT", onInt);
        const { ret } = await commandEnd(run.done, io);
        return { ret: ret ?? { kind: "none" }, msg, err };
      } finally {
        if (onInt !== undefined) process.off("SIGINT", onInt);
        offLines?.();
        try {
          await io?.close();
        } finally {
          c.close();
        }
      }
    },
    ...(opts.showValue === undefined ? {} : { showValue: opts.showValue }),
    release: closeTree,
    async close() {
      rl?.close();
      await closeTree();
    },
  };
  return self;
}
