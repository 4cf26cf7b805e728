// `ncw run`: run a NightOS program or app on the home's kernel server as a command and follow it to its
// end (docs/kernel.md, "ncw run"), its six command pipes on the host's terminal (docs/cli.md
// "Commands"). Ctrl-C sends TERMINATE (twice: WILL_TERMINATE, three times: kill); a host SIGTERM sends
// WILL_TERMINATE. The host exit code follows from the return value, else the exit data (see docs).

import { createWriteStream, existsSync, openSync, readFileSync, type WriteStream } from "node:fs";
import path from "node:path";
import type { CommandModule } from "yargs";
import { Sig } from "../../commonassembly/abi/numbers.js";
import { encodeValue } from "../../commonassembly/abi/values.js";
import { requestUser, startRun } from "../../kernel-compat/client.js";
import type { CommandReturn } from "../../kernel-compat/command-client.js";
import type { Outcome } from "../../kernel-compat/protocol.js";
import type { WasmFrame } from "../../kernel-compat/runner/faults.js";
import { NcwError } from "../../ncw/errors.js";
import { safeLines, safeText } from "../../ncw/output.js";
import {
  DEFAULT_SANDBOX,
  isOneOffName,
  oneOffSandboxName,
  SANDBOX_NAME,
} from "../../services/fs/sandbox-layout.js";
import { inputIsStream, typedInput } from "../../services/shell/input.js";
import {
  AID_PATTERN,
  type Resolved,
  type RunConnection,
  resolveRun,
  runConnection,
} from "../command-target.js";
import { type CommandContext, type GlobalArgs, runCommand } from "../context.js";
import {
  commandEnd,
  commandIo,
  RETURN_EXIT_GRACE_MS,
  readWholeInput,
} from "../terminal/command-io.js";
import { escalatingInterrupt, reservedKeyHandler } from "../terminal/interrupt.js";
import { formatValue, valueJson } from "../terminal/values.js";
import { traceRecord } from "../trace-json.js";
import { intArg } from "../usage.js";
import type { SandboxOutcome } from "./sandbox.js";

interface RunArgs extends GlobalArgs {
  program: string;
  args?: (string | number)[];
  trace?: boolean;
  "trace-file"?: string;
  "trace-format"?: string;
  priority?: string;
  proxy?: string;
  allow?: string | string[];
  deny?: string | string[];
  permissions?: string;
  sandbox?: string;
  apply?: boolean;
  _: (string | number)[];
  /** Set by `ncw exec`, which resolved the command and typed its arguments already. */
  resolved?: Resolved;
  /** Set by `ncw exec`: the connection its question went on, which the run goes on too. */
  connection?: RunConnection;
}

/** Host exit code for a killed process (128 + SIGKILL, as shells report a killed program). */

/** A backtrace as wasmtime prints one: `    0:     0x5a - poke`, `<wasm function 3>` when unnamed. */
function formatBacktrace(frames: readonly WasmFrame[]): string[] {
  return frames.map((f, i) => {
    const at = `0x${f.offset.toString(16)}`.padStart(8);
    const fn = f.name === undefined ? `<wasm function ${f.func}>` : safeText(f.name);
    return `${String(i).padStart(5)}: ${at} - ${fn}`;
  });
}

export const EXIT_KILLED = 137;
/** A command that failed (its CMDOUT carried the spec's failure value). */
export const EXIT_FAILED = 1;

/**
 * The host exit code of a run (docs/cli.md "Commands"): a returned value 0, a failure 1, a faulty or
 * killed process 137; without any CMDOUT byte, the app's exit data (0–255, larger values 255).
 */
export function hostExitCode(o: Outcome | undefined, ret?: CommandReturn): number {
  if (ret?.kind === "value") return 0;
  if (ret?.kind === "failure") return EXIT_FAILED;
  if (ret?.kind === "faulty" || o === undefined || o.kind === "killed") return EXIT_KILLED;
  return o.exitData <= 255n ? Number(o.exitData) : 255;
}

/** `--sandbox` / `--sandbox=<name>` and `--apply`, checked (docs/dev-loop.md "Sandboxes"). */
export function sandboxArgs(argv: {
  sandbox?: string;
  apply?: boolean;
}): { name: string; persistent: boolean } | undefined {
  if (argv.sandbox === undefined) {
    if (argv.apply === true)
      throw new NcwError("usage", "--apply applies a sandbox's changes: it needs --sandbox", {
        code: "RUN_APPLY_NO_SANDBOX",
      });
    return undefined;
  }
  if (argv.sandbox === "") return { name: oneOffSandboxName(), persistent: false };
  if (isOneOffName(argv.sandbox) || !SANDBOX_NAME.test(argv.sandbox))
    throw new NcwError("usage", `invalid sandbox name ${JSON.stringify(argv.sandbox)}`, {
      code: "SANDBOX_BAD_NAME",
      hint: `a sandbox name is 1–64 of a-z, 0-9, _, . and -, not starting with . or - ("${DEFAULT_SANDBOX}" and "${DEFAULT_SANDBOX}.*" are the one-off sandboxes')`,
    });
  return { name: argv.sandbox, persistent: true };
}

/** The options of a run, shared with `ncw exec`. */
export const RUN_OPTIONS = {
  trace: {
    type: "boolean",
    describe: "Print every syscall and signal of the app, decoded, to stderr",
  },
  "trace-file": {
    type: "string",
    describe: "Write the trace to this file instead of stderr",
  },
  "trace-format": {
    type: "string",
    describe: "The trace's format: text (default) or json (one JSON object per line)",
  },
  priority: {
    type: "string",
    describe:
      "Priority 0–10: 10 runs at full speed (default), 1–9 get that share of the CPU, 0 starts suspended",
  },
  proxy: {
    type: "string",
    describe:
      "Developer mode: the running process with this PID is the app's application proxy; it receives the app's syscalls and may pass, change, answer or hold them",
  },
  // Repeatable, one value each (an array option would swallow the program after it).
  allow: {
    type: "string",
    describe:
      "Grant a permission to this run up front, `perm` or `perm=scope` (e.g. fs.items.read=/home/user/docs); repeatable",
  },
  deny: {
    type: "string",
    describe: "Refuse a permission to this run without asking, `perm` or `perm=scope`; repeatable",
  },
  permissions: {
    type: "string",
    describe: 'A policy file: JSON {"allow": [...], "deny": [...]} in the notation of --allow',
  },
  sandbox: {
    type: "string",
    describe:
      "Run in a sandbox: the app's writes go to a snapshot, shown when it exits, then applied or discarded; --sandbox=<name>: a persistent sandbox, kept for the next run",
  },
  apply: {
    type: "boolean",
    describe: "With --sandbox: apply the sandbox's changes when the app exits, without asking",
  },
} as const;

/** --allow, --deny and the policy file, checked (docs/permissions.md "Up front"). */
export async function runPermissions(argv: {
  allow?: string | string[];
  deny?: string | string[];
  permissions?: string;
}): Promise<{ allow: string[]; deny: string[] }> {
  const words = (v: string | string[] | undefined) =>
    v === undefined ? [] : [v].flat().map(String);
  const allow = words(argv.allow);
  const deny = words(argv.deny);
  if (argv.permissions !== undefined) {
    let policy: { allow?: unknown; deny?: unknown };
    try {
      policy = JSON.parse(readFileSync(argv.permissions, "utf8"));
    } catch (e) {
      throw new NcwError(
        "usage",
        `cannot read the policy file ${argv.permissions}: ${(e as Error).message}`,
        {
          code: "RUN_BAD_POLICY",
          hint: 'a policy file is JSON: {"allow": ["fs.items.read=/home/user/docs"], "deny": ["net.fetch"]}',
        },
      );
    }
    for (const [key, list] of [
      ["allow", allow],
      ["deny", deny],
    ] as const) {
      const v = (policy as Record<string, unknown>)[key];
      if (v === undefined) continue;
      if (!Array.isArray(v) || !v.every((x) => typeof x === "string"))
        throw new NcwError("usage", `the policy file's "${key}" must be a list of strings`, {
          code: "RUN_BAD_POLICY",
        });
      list.push(...v);
    }
    const extra = Object.keys(policy).filter((k) => k !== "allow" && k !== "deny");
    if (extra.length > 0)
      throw new NcwError("usage", `the policy file has unknown keys: ${extra.join(", ")}`, {
        code: "RUN_BAD_POLICY",
        hint: 'only "allow" and "deny" are known',
      });
  }
  if (allow.length + deny.length === 0) return { allow, deny };
  // The permission table is loaded only for a run that grants or refuses up front.
  const { parseGrant } = await import("../../services/perm/policy.js");
  for (const [flag, words] of [
    ["--allow", allow],
    ["--deny", deny],
  ] as const)
    for (const w of words) {
      const g = parseGrant(w);
      if ("error" in g)
        throw new NcwError("usage", `${flag} ${w}: ${g.error}`, {
          code: "RUN_BAD_PERMISSION",
          hint: "see `ncw perm list --all` for the permissions and their scopes",
        });
    }
  return { allow, deny };
}

export const runCommand_: CommandModule<GlobalArgs, RunArgs> = {
  command: "run <program> [args..]",
  describe: "Run a NightOS program (.npp, .wasm, .wat) or app package (.nap, .nva)",
  builder: (y) =>
    y
      .positional("program", {
        type: "string",
        describe: "The program or package to run",
        demandOption: true,
      })
      .positional("args", {
        type: "string",
        array: true,
        describe:
          "The command to run (for an app that exposes several) and its arguments, typed as its manifest says",
      })
      .options(RUN_OPTIONS)
      // The app's words are its own: "0x10" stays "0x10" (docs/cli.md "Command arguments").
      .parserConfiguration({ "parse-positional-numbers": false })
      .epilogue(
        "ncw's options go before the program: every word after it is the app's (`ncw run app.nap greet Ada -r 2`); " +
          "an app that exposes commands runs the one its first word names, else its default command " +
          "(docs/cli.md). `ncw run app.nap --help` shows the command's help. Ctrl-C sends TERMINATE to the app, a second " +
          "Ctrl-C WILL_TERMINATE, a third kills it; SIGTERM sends WILL_TERMINATE. The exit code is the app's " +
          "exit data (0–255; larger values give 255); 137 means the kernel killed it.",
      ),
  handler: (argv) =>
    runCommand(argv, async (ctx) => {
      // One kernel connection for the run and for the questions before it (exec's, resolveRun's).
      const kernel = argv.connection ?? runConnection(ctx.home());
      try {
        return await runBody(argv, ctx, kernel);
      } finally {
        await kernel.close();
      }
    }),
};

async function runBody(
  argv: RunArgs,
  { home, out }: CommandContext,
  kernel: RunConnection,
): Promise<number> {
  const priority =
    argv.priority === undefined
      ? 10
      : intArg(argv.priority, "--priority", { min: 0, max: 10 }, "RUN_BAD_PRIORITY");
  const proxy =
    argv.proxy === undefined
      ? undefined
      : intArg(
          argv.proxy,
          "--proxy",
          { min: 1, max: Number.MAX_SAFE_INTEGER },
          "RUN_PROXY_BAD_PID",
        );
  const h = home();
  const appArgs = [...(argv.args ?? []), ...argv._.slice(1)].map(String);
  const target = path.resolve(argv.program);
  let name = path.basename(argv.program);
  let rawName = name;
  if (argv.resolved === undefined && !AID_PATTERN.test(argv.program) && !existsSync(target)) {
    throw new NcwError("not-found", `cannot run ${argv.program}: no such file`, {
      code: "RUN_NOT_FOUND",
      hint: "give a .npp, .wasm or .wat program, a .nap/.nva package, or an installed app's AID",
    });
  }
  // The command and its typed arguments, checked before anything starts (docs/cli.md).
  const resolved = argv.resolved ?? (await resolveRun(h, argv.program, appArgs, kernel.connect));
  if (resolved.kind === "help") {
    if (out.json) out.data({ help: resolved.text });
    else out.info(safeLines(resolved.text));
    return 0;
  }
  const request = resolved.target;
  // A typed input (the manifest's cmdin) is read whole and checked before anything starts, as an
  // argument is (docs/cli.md "Typed input"); a stream input is pumped as it comes.
  let typedIn: Uint8Array | null | undefined;
  const cmd = request.command;
  if (cmd?.cmdin !== undefined && !inputIsStream(cmd.cmdin)) {
    const v =
      process.stdin.isTTY === true
        ? undefined
        : typedInput(cmd.name, cmd.cmdin, await readWholeInput());
    typedIn = v === undefined ? null : encodeValue(v);
  }
  const traceFormat = argv["trace-format"] ?? "text";
  if (traceFormat !== "text" && traceFormat !== "json")
    throw new NcwError("usage", `unknown trace format ${JSON.stringify(traceFormat)}`, {
      code: "RUN_TRACE_FORMAT",
      hint: "--trace-format takes text or json",
    });
  const traceOn =
    argv.trace === true || argv["trace-file"] !== undefined || argv["trace-format"] !== undefined;
  let traceOut: WriteStream | undefined;
  let traceLost: string | undefined;
  const traceFile = argv["trace-file"];
  if (traceFile !== undefined) {
    let fd: number;
    try {
      fd = openSync(traceFile, "w");
    } catch (e) {
      throw new NcwError("cant-create", `cannot write the trace file: ${(e as Error).message}`, {
        code: "RUN_TRACE_FILE",
      });
    }
    traceOut = createWriteStream(traceFile, { fd });
    traceOut.on("error", (e) => {
      // The program goes on (tracing never changes what it does); the user is told once.
      if (traceLost === undefined)
        process.stderr.write(`ncw: the trace file failed, its rest is lost: ${e.message}\n`);
      traceLost = e.message;
    });
  }
  const permissions = await runPermissions(argv);
  const sandbox = sandboxArgs(argv);
  let sandboxDir: string | undefined;
  // Opened already when a package's commands were asked of the kernel (resolveRun).
  const conn = await kernel.connect();
  // A trace writer that falls behind stops the CLI reading from the kernel, which holds the
  // traced process back (docs/kernel.md, "Tracing and back-pressure"): no line is dropped.
  /** One trace line of process `pid` (0: the CLI's or the kernel's own), in the asked format. */
  const writeTrace = (pid: number, body: string) => {
    if (traceLost !== undefined) return;
    // Trace lines quote the app (its strings, names, paths): made safe on the terminal; a trace
    // file gets them as they are. JSON escapes every control character itself.
    const line =
      traceFormat === "json"
        ? JSON.stringify(traceRecord(pid, body))
        : `${pid === 0 ? "[ncw]" : `[pid ${pid}]`} ${body}`;
    const ok = traceOut ? traceOut.write(`${line}\n`) : process.stderr.write(`${safeText(line)}\n`);
    if (!ok) conn.holdUntilDrained(traceOut ?? process.stderr);
  };
  // The reserved keys on the terminal (Ctrl-C is the SIGINT path's first step, see onInt).
  const io = commandIo(conn, {
    color: out.color,
    json: out.json,
    ...(typedIn === undefined ? {} : { typedInput: typedIn }),
    ...(traceOn ? { trace: (line: string) => writeTrace(0, line) } : {}),
    reserved: (key) => reservedKeyHandler(run, onInt)(key),
  });
  // The kernel's permission questions are asked on this terminal (docs/permissions.md
  // "Prompts"): the prompt is commandIo's, which owns the keyboard once the run starts.
  if (io.ask !== undefined) kernel.ask(io.ask);
  const run = startRun(
    conn,
    {
      path: request.path,
      // Typed arguments and the startup: the kernel builds the execution context (with the ANID).
      args: request.args,
      // Bit 5 of the startup reason: CMDRAW is read when stdout goes to a file or a pipe.
      startup: { ...request.startup, rawOutputRead: process.stdout.isTTY !== true },
      trace: traceOn,
      priority,
      ...(proxy === undefined ? {} : { proxy }),
      allow: permissions.allow,
      deny: permissions.deny,
      ...(sandbox === undefined ? {} : { sandbox: sandbox.name }),
      ...(io.cmdinDirect ? { cmdinDirect: io.cmdinDirect } : {}),
    },
    {
      sandbox: (dir) => {
        sandboxDir = dir;
      },
      commandPipes: (pid, pipes, cmdin) => io.onPipes(pid, pipes, cmdin),
      commandInput: (pid, why) => io.onInputFallback(pid, why),
      started: (pid, started) => {
        // Later processes on this terminal are its children or services it started: not its name.
        if (pid === run.pid()) {
          rawName = started;
          name = safeText(started);
        }
        if (traceOn) writeTrace(pid, `started (${started})`);
      },
      trace: (pid, line) => writeTrace(pid, line),
    },
  );
  const onInt = escalatingInterrupt(run);
  const onTerm = () => {
    run.signal(Sig.WILL_TERMINATE);
    process.stderr.write(`ncw: SIGTERM received: sent WILL_TERMINATE to process ${run.pid()}\n`);
  };
  process.on("SIGINT", onInt);
  process.on("SIGTERM", onTerm);
  try {
    // The outcome is reported under --json: there, a value and the end right after it are one end.
    const { outcome, ret } = await commandEnd(run.done, io, out.json ? RETURN_EXIT_GRACE_MS : 0);
    if (ret?.kind === "faulty")
      process.stderr.write(
        `ncw: process ${run.pid() ?? "?"} (${name}) is faulty: ${safeText(ret.why)}; it was killed (specs/shell.md "Command pipes")\n`,
      );
    else if (ret?.kind === "failure" && !out.json) process.stderr.write(`ncw: ${name} failed\n`);
    else if (ret?.kind === "value" && !out.json) {
      const text = formatValue(ret.value);
      if (text !== "") await out.write(`${process.stdout.isTTY ? safeText(text) : text}\n`);
    }
    // The sandbox's changes, shown, then applied, discarded or kept (the exit code stays the app's).
    let sandboxed: SandboxOutcome | undefined;
    if (sandbox !== undefined && sandboxDir !== undefined) {
      const { RemoteFs } = await import("../../kernel-compat/tree-client.js");
      const { finishSandbox } = await import("./sandbox.js");
      sandboxed = await finishSandbox({
        fs: new RemoteFs(conn),
        name: sandbox.name,
        dir: sandboxDir,
        user: requestUser(),
        persistent: sandbox.persistent,
        apply: argv.apply === true,
        ask: io.ask,
        out,
      });
    }
    if (out.json) {
      // The outcome as one document (docs/cli.md, "ncw run --json"); the exit code is the same.
      const killed = outcome?.kind === "killed" ? outcome : undefined;
      out.data({
        program: argv.program,
        name: rawName,
        pid: run.pid() ?? null,
        // "returned": the value came whole while the process ran on (the command is over).
        outcome: outcome === undefined ? "returned" : killed ? "killed" : "exited",
        exitData: outcome?.kind === "exit" ? outcome.exitData : null,
        reason: killed ? killed.reason : null,
        signal: killed ? (killed.signal ?? null) : null,
        backtrace: killed ? (killed.backtrace ?? null) : null,
        returned: ret?.kind === "value" ? valueJson(ret.value) : null,
        failed: ret?.kind === "failure",
        faulty: ret?.kind === "faulty" ? ret.why : null,
        exitCode: hostExitCode(outcome, ret),
        ...(sandboxed === undefined ? {} : { sandbox: sandboxed }),
      });
    } else if (outcome === undefined) {
      // The command is over; its process, if it still runs, ends by itself.
    } else if (outcome.kind === "killed") {
      if (ret?.kind !== "faulty")
        process.stderr.write(
          `ncw: process ${run.pid() ?? "?"} (${name}) was killed: ${safeText(outcome.reason)}\n`,
        );
      // A trap's wasm frames, as wasmtime prints them (docs/kernel.md, "Backtraces").
      const frames = outcome.backtrace ?? [];
      if (frames.length > 0)
        process.stderr.write(
          `wasm backtrace (offsets in the AOT artifact):\n${formatBacktrace(frames).join("\n")}\n`,
        );
    } else if (ret !== undefined && ret.kind !== "none") {
      // The return value says how the command went; the exit data is not the status then.
    } else if (outcome.exitData > 255n) {
      process.stderr.write(
        `ncw: ${name} exited with exit data ${outcome.exitData} (host exit code 255)\n`,
      );
    } else if (onInt.count > 0 || traceOn) {
      process.stderr.write(`ncw: ${name} exited with exit data ${outcome.exitData}\n`);
    }
    return hostExitCode(outcome, ret);
  } finally {
    await io.close();
    process.off("SIGINT", onInt);
    process.off("SIGTERM", onTerm);
    conn.close();
    await new Promise<void>((r) => (traceOut ? traceOut.end(r) : r()));
  }
}
