// The host a Hydre script runs on from `ncw hydre` (services/hydre/evaluator.ts HydreHost): the terminal
// (stdout, stderr, lines of stdin for the prompts), the host's environment, a seedable random source,
// and app commands started on the home's kernel as `ncw exec` starts them (cli/commands/run.ts), their
// six pipes on the terminal or, for `$?(…)` and friends, their messages captured, a pipeline's commands
// all at once with each one's output into the next's CMDIN (docs/hydre.md "Pipes"); the file commands on
// the home's NightOS tree (services/fs/open.ts: through the kernel when one runs, else the image).

import { randomInt } from "node:crypto";
import { createInterface, type Interface } from "node:readline";
import { encodeValue, type Value } from "../commonassembly/abi/values.js";
import {
  connectKernel,
  type KernelConnection,
  type RunHandle,
  requestUser,
  startRun,
} from "../kernel-compat/client.js";
import { NcwError } from "../ncw/errors.js";
import type { HomeLayout } from "../ncw/home.js";
import { safeText } from "../ncw/output.js";
import { testFault } from "../ncw/test-fault.js";
import type { FsLayer } from "../services/fs/layer.js";
import { openTree } from "../services/fs/open.js";
import { addUser } from "../services/fs/structure.js";
import type { AppRun, AppStage, HydreHost } from "../services/hydre/evaluator.js";
import { runLineForApp } from "../services/hydre/script.js";
import { inputIsStream, typedInput } from "../services/shell/input.js";
import { kernelCommands } from "./command-target.js";
import { commandEnd, commandIo, readWholeInput } from "./terminal/command-io.js";
import {
  escalatingInterrupt,
  type Interruptible,
  reservedKeyHandler,
} from "./terminal/interrupt.js";

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
    // The script's CMDRAW is ncw's stdout, as an app command's is; each piece once it is taken.
    writeRaw: (bytes) =>
      new Promise<void>((resolve, reject) =>
        process.stdout.write(bytes, (e) => (e ? reject(e) : resolve())),
      ),
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
    async runApps(stages: readonly AppStage[]): Promise<AppRun[]> {
      // One connection for the pipeline's commands (docs/kernel.md "Runs on one connection"): the
      // kernel hands a CMDRAW on to the next run of the same connection only. A new one per call: a
      // command whose value came whole may still be running (shell.md "Command pipes") when the next
      // line's starts.
      await closeTree();
      const c = await connectKernel(opts.home(), { start: true });
      if (c === undefined) throw new Error("unreachable: connectKernel with start");
      const started: StageRun[] = [];
      /** An internal error of a file's piece (`<`, `@>`): thrown once the commands ended. */
      let internal: unknown;
      // Everything after the connection is under its `finally`: an error thrown while a run is set
      // up (an argument that cannot be encoded, an internal error) closes the connection and the
      // terminal's input, else they would keep ncw alive after the error is reported.
      let onInt: (() => void) | undefined;
      let offLines: (() => void) | undefined;
      try {
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
        // Ctrl-C (or SIGINT) asks the commands to terminate, a second forces them, a third kills
        // them (shell.md "User inputs"; as `ncw exec` does), every command of the pipeline at once.
        // Each step names every PID it acts on: the commands still running (all of them once
        // none runs any more, as the signal goes to all).
        const all: Interruptible = {
          pid: () => started.at(-1)?.run.pid(),
          pids: () => {
            const known = (ss: StageRun[]) =>
              ss.map((s) => s.run.pid()).filter((p): p is number => p !== undefined);
            const running = known(started.filter((s) => s.running()));
            return running.length > 0 ? running : known(started);
          },
          signal: (sig) => {
            for (const s of started) s.run.signal(sig);
          },
          kill: () => {
            for (const s of started) s.kill();
          },
        };
        onInt = escalatingInterrupt(all);
        process.on("SIGINT", onInt);
        const interrupt = () => onInt?.();
        for (const [i, stage] of stages.entries()) {
          const prev = started[i - 1];
          // Its input: a value known now, the previous command's value once whole (converted to
          // this one's input type), or the previous command's CMDRAW itself (docs/hydre.md "Pipes").
          // (A stream: named by the previous run's id; the kernel waits for its pipes.)
          const fromRun = stage.input.kind === "previous-raw" ? prev?.run.id : undefined;
          const input = stage.input;
          const later =
            input.kind === "previous-value"
              ? (prev as StageRun).ret.then((r) => {
                  if (r.kind === "value") {
                    const v = input.convert(r.value);
                    return v === null ? null : encodeValue(v);
                  }
                  if (r.kind === "none") return null;
                  // Failed or faulty: no value comes; this command is killed (below).
                  throw new Error("the command before failed");
                })
              : undefined;
          later?.catch(() => {});
          // A stream's pieces (`< file`): a read that fails kills this command and those after it,
          // so none takes the cut stream for a whole one (docs/hydre.md "Files").
          let pieces = 0;
          const chunks =
            input.kind === "chunks"
              ? async () => {
                  try {
                    // A read that fails after the first piece (test/hydre-streams.test.ts).
                    if (pieces++ > 0) testFault("hydre-input-piece");
                    return await input.next();
                  } catch (e) {
                    for (const t of started.slice(i)) t.kill();
                    if (!(e instanceof NcwError)) internal ??= e;
                    throw e;
                  }
                }
              : undefined;
          // CMDRAW into a file (`@> file`): a write that fails closes CMDRAW (command-io.ts).
          const rawTo = stage.rawTo;
          const rawSink =
            rawTo === undefined
              ? undefined
              : async (bytes: Uint8Array) => {
                  try {
                    testFault("hydre-output-piece");
                    await rawTo(bytes);
                  } catch (e) {
                    if (!(e instanceof NcwError)) internal ??= e;
                    throw e;
                  }
                };
          const s = startStage(c, stage, {
            color: opts.color,
            session,
            interrupt,
            ...(rawSink === undefined ? {} : { rawSink }),
            // Keys go to the pipeline's last command only (the one whose output the user sees).
            // (A `$@(…)` command runs while the script goes on: never the keyboard's.)
            keys: i === stages.length - 1 && stage.background !== true,
            cmdrawToNext: stages[i + 1]?.input.kind === "previous-raw",
            ...(input.kind === "value"
              ? { typedInput: input.value === null ? null : encodeValue(input.value) }
              : input.kind === "bytes"
                ? { typedInput: input.bytes }
                : {}),
            ...(later === undefined ? {} : { laterInput: later }),
            ...(chunks === undefined ? {} : { chunkInput: chunks }),
            ...(fromRun === undefined ? {} : { cmdinFrom: fromRun }),
          });
          started.push(s);
          // A command that fails or is faulty: the ones after it never get a value or the rest of
          // the bytes they wait for: killed, so none acts on a missing input (docs/hydre.md "Pipes").
          // One that did not fail, whose CMDRAW is the next one's CMDIN: the kernel, which held that
          // stream open past it, lets it end now, so no reader takes a failed command's stream for
          // whole (docs/ipc.md "Command pipes between two commands").
          const handsOn = stages[i + 1]?.input.kind === "previous-raw";
          void s.ret.then((r) => {
            if (r.kind !== "failure" && r.kind !== "faulty") {
              const pid = s.run.pid();
              if (handsOn && pid !== undefined) c.send({ t: "command-raw-done", pid });
              return;
            }
            for (const t of started.slice(started.indexOf(s) + 1)) t.kill();
          });
          // A run refused (a limit, the kernel gone): the pipeline stops, the others are killed,
          // so none waits for a neighbour that is not there.
          void s.end.catch(() => {
            for (const t of started) t.kill();
          });
        }
        const ends = await Promise.allSettled(started.map((s) => s.end));
        // A bug while a file was read into CMDIN or written from CMDRAW: reported as one.
        if (internal !== undefined) throw internal;
        const failed = ends.find((e): e is PromiseRejectedResult => e.status === "rejected");
        if (failed !== undefined) throw failed.reason;
        return ends.map((e) => (e as PromiseFulfilledResult<AppRun>).value);
      } finally {
        if (onInt !== undefined) process.off("SIGINT", onInt);
        offLines?.();
        try {
          await Promise.allSettled(started.map((s) => s.closed()));
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

/** One command of a pipeline, started (runApps). */
interface StageRun {
  run: RunHandle;
  /** What its CMDOUT amounted to, as soon as that is known (the value whole, or its end). */
  ret: Promise<AppRun["ret"]>;
  /** Its end: the run's outcome, its messages when captured; rejects when the run was refused. */
  end: Promise<AppRun>;
  /** Its pipes unmapped and the terminal's input given back (after `end`). */
  closed(): Promise<void>;
  /** Kill its process, now or as soon as its PID is known (its request may still be in the kernel). */
  kill(): void;
  /** Whether it has not ended yet (`end` has not settled). */
  running(): boolean;
}

/**
 * Start one command of a pipeline on `c` as `ncw exec` starts one (cli/commands/run.ts), its six
 * pipes on the terminal (or its messages captured), its CMDIN as `o` says.
 */
function startStage(
  c: KernelConnection,
  stage: AppStage,
  o: {
    color: boolean;
    session: number;
    interrupt: () => void;
    keys: boolean;
    cmdrawToNext: boolean;
    /** CMDIN's bytes, known before it starts (an encoded value, or a stream's text); null: none. */
    typedInput?: Uint8Array | null;
    laterInput?: Promise<Uint8Array | null>;
    chunkInput?: () => Promise<Uint8Array | null>;
    rawSink?: (bytes: Uint8Array) => Promise<void>;
    cmdinFrom?: number;
  },
): StageRun {
  const msg: string[] = [];
  const err: string[] = [];
  /** `kill` was called: a PID that comes later is killed at once. */
  let doomed = false;
  const io = commandIo(c, {
    color: o.color,
    noInput: true,
    ...(o.keys ? {} : { noKeys: true }),
    ...(o.cmdrawToNext ? { cmdrawToNext: true } : {}),
    // A value piped in by the script (`a | b`) is CMDIN's one value (docs/hydre.md "Pipes").
    ...(o.typedInput === undefined ? {} : { typedInput: o.typedInput }),
    ...(o.laterInput === undefined ? {} : { laterInput: o.laterInput }),
    ...(o.chunkInput === undefined ? {} : { chunkInput: o.chunkInput }),
    ...(o.rawSink === undefined ? {} : { rawSink: o.rawSink }),
    ...(stage.capture
      ? { capture: (pipe, text) => (pipe === "cmderr" ? err : msg).push(text) }
      : {}),
    // Ctrl-C is the first step of the SIGINT path, as for `ncw exec` (cli/commands/run.ts).
    reserved: (key) => reservedKeyHandler(run, o.interrupt)(key),
  });
  const run = startRun(
    c,
    {
      path: stage.cmd.aid,
      args: stage.args,
      startup: {
        kind: "command",
        callerAnid: 0,
        command: stage.cmd.command,
        // Raw output is read when it goes to the next command or a file (`@>`), or to a stdout
        // that is no terminal.
        rawOutputRead: o.cmdrawToNext || o.rawSink !== undefined || process.stdout.isTTY !== true,
      },
      trace: false,
      priority: 10,
      // The script's Hydre session (sys::hydre SESSION_INFO).
      hydre: o.session,
      ...(o.cmdrawToNext ? { cmdraw: "next" as const } : {}),
      ...(o.cmdinFrom === undefined ? {} : { cmdinFrom: o.cmdinFrom }),
    },
    {
      commandPipes: (p, pipes, cmdin) => {
        io.onPipes(p, pipes, cmdin);
        // Killed before its PID was known: now.
        if (doomed) run.kill();
      },
      commandInput: (p, why) => io.onInputFallback(p, why),
      started: () => {},
      // Not traced, the kernel still says what the user must know (a permission refused for want
      // of a terminal, a limit): on stderr, as `ncw exec` writes them.
      trace: (p, line) =>
        process.stderr.write(`${safeText(p === 0 ? `[ncw] ${line}` : `[pid ${p}] ${line}`)}\n`),
    },
  );
  let gotRet!: (r: AppRun["ret"]) => void;
  const ret = new Promise<AppRun["ret"]>((r) => {
    gotRet = r;
  });
  void io.returned.then(gotRet, () => {});
  const end = commandEnd(run.done, io).then(
    ({ ret: r }) => {
      const got = r ?? { kind: "none" as const };
      gotRet(got);
      return { ret: got, msg, err };
    },
    (e: unknown) => {
      gotRet({ kind: "faulty", why: (e as Error).message });
      throw e;
    },
  );
  let over = false;
  end.then(
    () => {
      over = true;
    },
    () => {
      over = true;
    },
  );
  return {
    run,
    ret,
    end,
    running: () => !over,
    closed: () => io.close(),
    kill: () => {
      doomed = true;
      run.kill();
    },
  };
}
