// A command run's pipes on the host terminal (docs/cli.md "Commands"; specs/shell.md "Interactivity"):
// stdin piped into CMDIN, keystrokes into CMDUSR in raw mode (the reserved keys send their signals),
// CMDMSG to stdout and CMDERR to stderr rendered for where they go, CMDRAW's bytes to stdout (with
// --json, stdout is the outcome's document only: CMDMSG and CMDRAW go to stderr too). The terminal's mode is restored on every way out (the end, an error, the kernel going away, the exit).

import { fstatSync, readFileSync, readSync } from "node:fs";
import { encodeUserInput } from "../../commonassembly/abi/user-input.js";
import { MAX_RETURN_SIZE } from "../../commonassembly/abi/values.js";
import type { AskHandler, KernelConnection } from "../../kernel-compat/client.js";
import type {
  CommandInput,
  CommandInputPump,
  CommandPipesClient,
  CommandReturn,
  CommandSinks,
} from "../../kernel-compat/command-client.js";
import type { CommandPipeMapping } from "../../kernel-compat/ipc/command-pipes.js";
import type { HostFileId, Outcome } from "../../kernel-compat/protocol.js";
import { isHostError } from "../../native/errors.js";
import { NcwError } from "../../ncw/errors.js";
import { safeText, stdoutClosed } from "../../ncw/output.js";
import {
  KEYBOARD_PROTOCOL_OFF,
  KEYBOARD_PROTOCOL_ON,
  parseKeys,
  type ReservedKey,
} from "./keys.js";
import { type RenderMode, renderMessage, renderMode } from "./render.js";

export interface CommandIoOptions {
  /** Colours on (the CLI's --color / NO_COLOR decision for stdout). */
  color: boolean;
  /** A reserved key was pressed (Ctrl-C, Ctrl-Shift-C, Ctrl-., Ctrl-Shift-.). */
  reserved(key: ReservedKey): void;
  /** stdout carries one JSON document (`--json`): the app's messages and raw bytes go to stderr. */
  json?: boolean;
  /** The CMDIN source: the host's stdin, unless it is a terminal (then keystrokes go to CMDUSR). */
  stdin?: NodeJS.ReadStream & { fd: 0 };
  /** CMDIN gets nothing, even from a piped stdin (Hydre: CMDIN comes from the script's `|` only). */
  noInput?: boolean;
  /**
   * The terminal's keys are not this command's (a Hydre pipeline's commands before its last): CMDUSR
   * closes at once, as without a terminal.
   */
  noKeys?: boolean;
  /** CMDMSG / CMDERR messages go here, as text, instead of the terminal (Hydre's `$?(…)`, `$!(…)`). */
  capture?: (pipe: "cmdmsg" | "cmderr", text: string) => void;
  /**
   * A typed input read already (docs/cli.md "Typed input"): its encoded value, or null for no value
   * (CMDIN closes at once). Undefined: CMDIN is a stream, the pump moves stdin's bytes as they come.
   */
  typedInput?: Uint8Array | null;
  /**
   * A typed input that comes later (Hydre's `a | b`, both running: a's value once whole, encoded as
   * b's input type; null: no value). It wins over `typedInput`.
   */
  laterInput?: Promise<Uint8Array | null>;
  /**
   * A stream's bytes in bounded pieces (Hydre's `< file` into a `stream` input; CommandInput
   * "chunks"): the next piece once the one before is written, null at the end.
   */
  chunkInput?: () => Promise<Uint8Array | null>;
  /** CMDRAW is the next command's CMDIN (Hydre's `a | b` into a stream): never read or shown here. */
  cmdrawToNext?: boolean;
  /**
   * CMDRAW's bytes go here instead of stdout (Hydre's `@> file`), each piece once the one before is
   * taken; a rejection closes CMDRAW's reader side (the app's next writes to it fail, 0x31).
   */
  rawSink?: (bytes: Uint8Array) => Promise<void>;
  /** `--trace`: a line on which way CMDIN's bytes go (the runner reads stdin, or the CLI's pump). */
  trace?: (line: string) => void;
}

export interface CommandIo {
  /**
   * Ask the kernel to have the app's runner read stdin for CMDIN itself (the run request's
   * `cmdinDirect`): stdin is a pipe or an unread file (docs/ipc.md "CMDIN read by the runner").
   */
  readonly cmdinDirect: HostFileId | undefined;
  /** RunEvents.commandPipes: map the pipes and start moving bytes (`cmdin` "runner": not CMDIN's). */
  onPipes(pid: number, pipes: CommandPipeMapping[], cmdin?: "runner" | "piped"): void;
  /** RunEvents.commandInput: the runner could not read stdin after all; the CLI's pump does. */
  onInputFallback(pid: number, why: string): void;
  /** Resolves when the return value is whole (or faulty) while the process still runs. */
  readonly returned: Promise<CommandReturn>;
  /** After the process ended (or returned): every pending output, then what CMDOUT amounted to. */
  finish(): Promise<CommandReturn | undefined>;
  /** Stop moving bytes, unmap, and give the terminal its mode back. */
  close(): Promise<void>;
  /**
   * Ask the user a question of the kernel on the terminal (docs/permissions.md "Prompts"): one key
   * picks a choice by its first letter, Enter the default, Ctrl-C "deny". Keys typed meanwhile are
   * the prompt's, not the app's. Undefined when stdin is not a terminal.
   */
  readonly ask: AskHandler | undefined;
}

/** A stream that takes a write and tells when it takes more (stdout, stderr). */
function sinkOf(stream: NodeJS.WriteStream) {
  return {
    write: (b: Uint8Array | string) => stream.write(b),
    drained: () =>
      new Promise<void>((r) => {
        if (!stream.writableNeedDrain) r();
        else {
          const done = () => {
            stream.off("drain", done);
            stream.off("close", done);
            stream.off("error", done);
            r();
          };
          stream.on("drain", done);
          stream.on("close", done);
          stream.on("error", done);
        }
      }),
  };
}

export function commandIo(conn: KernelConnection, opts: CommandIoOptions): CommandIo {
  const stdin = opts.stdin ?? (process.stdin as NodeJS.ReadStream & { fd: 0 });
  const interactive = stdin.isTTY === true && opts.noKeys !== true;
  const outStream = opts.json === true ? process.stderr : process.stdout;
  const msgMode: RenderMode = renderMode(outStream.isTTY === true, opts.color);
  const errMode: RenderMode = renderMode(process.stderr.isTTY === true, opts.color);
  const stdout = sinkOf(outStream);
  const stderr = sinkOf(process.stderr);
  let client: CommandPipesClient | undefined;
  let opening: Promise<void> | undefined;
  let failed: Error | undefined;
  let resolveReturned!: (r: CommandReturn) => void;
  let rejectReturned!: (e: Error) => void;
  const returned = new Promise<CommandReturn>((res, rej) => {
    resolveReturned = res;
    rejectReturned = rej;
  });
  returned.catch(() => {});
  const streamed = !interactive && opts.typedInput === undefined && opts.noInput !== true;
  // A pipe or an unread file: the app's runner may read it itself (one copy, no pump thread).
  const directId = streamed ? directInput(stdin.fd) : undefined;
  const direct = directId !== undefined;
  // Started now, while the run request goes out and the kernel makes the pipes (bench/README.md
  // "Exec"): the pipes' module and koffi loaded, CMDIN's pump thread starting (unless the runner
  // is asked to read stdin: then a pump starts only if it cannot).
  const preload = import("../../kernel-compat/command-client.js").then(async (m) => {
    const pump = streamed && !direct ? m.CommandInputPump.start(stdin.fd) : undefined;
    // (No pump at all for /dev/null or an empty file: CMDIN closes at once, nothing to say.)
    if (pump !== undefined)
      opts.trace?.(`CMDIN: the CLI's pump moves stdin into the ring (${directRefusal(stdin.fd)})`);
    await m.loadCommandNative();
    return { m, pump };
  });
  /** A pump started late: the kernel or the runner did not take stdin after all. */
  let latePump: CommandInputPump | undefined;
  const startLatePump = async (why: string): Promise<CommandInputPump | undefined> => {
    const { m } = await preload;
    latePump ??= m.CommandInputPump.start(stdin.fd);
    opts.trace?.(`CMDIN: the CLI's pump moves stdin into the ring (${why})`);
    return latePump;
  };
  preload.catch(() => {}); // reported by onPipes, which awaits it
  let raw = false;
  const terminal = process.stdout.isTTY
    ? process.stdout
    : process.stderr.isTTY
      ? process.stderr
      : undefined;

  /** stdout's reader went away (`ncw … | head`): the app's writes to it fail from now on, as a pipe's. */
  const stdoutGone = (): boolean => {
    if (outStream !== process.stdout || !stdoutClosed()) return false;
    if (opts.cmdrawToNext !== true) client?.closeOutput("cmdraw");
    client?.closeOutput("cmdmsg");
    return true;
  };
  const sinks: CommandSinks = {
    message: (pipe, bytes) => {
      if (opts.capture !== undefined) opts.capture(pipe, renderMessage(bytes, "plain"));
      else if (pipe === "cmderr") stderr.write(renderMessage(bytes, errMode, true));
      else if (!stdoutGone()) stdout.write(renderMessage(bytes, msgMode));
    },
    raw: (bytes) => stdoutGone() || stdout.write(bytes),
    rawDrained: stdout.drained,
  };
  const rawSink = opts.rawSink;
  if (rawSink !== undefined) {
    /** The piece being taken; after a refusal, none is taken any more. */
    let taking: Promise<void> = Promise.resolve();
    let refused = false;
    sinks.raw = (bytes) => {
      if (refused) return true;
      taking = rawSink(bytes).catch(() => {
        refused = true;
        client?.closeOutput("cmdraw");
      });
      return false;
    };
    sinks.rawDrained = () => taking;
  }

  /** The prompt on screen, if any: it takes every key until it is answered. */
  let prompting: ((e: ReturnType<typeof parseKeys>[number]) => void) | undefined;
  let prompts: Promise<unknown> = Promise.resolve();
  const onKeys = (chunk: Buffer) => {
    for (const e of parseKeys(chunk)) {
      if (prompting !== undefined) prompting(e);
      else if ("reserved" in e) opts.reserved(e.reserved);
      else client?.sendUserInput(encodeUserInput(e.key));
    }
  };

  const restore = () => {
    if (!raw) return;
    raw = false;
    stdin.off("data", onKeys);
    try {
      stdin.setRawMode(false);
    } catch {
      // the terminal went away: nothing to restore
    }
    stdin.pause();
    terminal?.write(KEYBOARD_PROTOCOL_OFF);
  };
  // The last way out: an exit this code did not see coming still leaves the terminal as it found it.
  const onExit = () => restore();

  const enterRaw = () => {
    if (!interactive || raw) return;
    raw = true;
    process.on("exit", onExit);
    stdin.setRawMode(true);
    terminal?.write(KEYBOARD_PROTOCOL_ON);
    stdin.on("data", onKeys);
    stdin.resume();
  };

  const ask: AskHandler = (q) => {
    const next = prompts.then(
      () =>
        new Promise<string>((resolve) => {
          const wasRaw = raw;
          enterRaw();
          const fallback = q.default ?? q.choices[0] ?? "deny";
          const keys = q.choices.map((c) => `[${c[0]}]${c.slice(1)}`).join("  ");
          process.stderr.write(
            `\r\nncw: ${safeText(q.text)}\r\n  ${keys}  (Enter: ${fallback}) ? `,
          );
          prompting = (e) => {
            let choice: string | undefined;
            if ("reserved" in e) choice = e.reserved === "terminate" ? "deny" : undefined;
            else if (e.key.char === "\r" || e.key.char === "\n" || e.key.keycode === 0x28)
              choice = fallback;
            else choice = q.choices.find((c) => c[0] === e.key.char.toLowerCase());
            if (choice === undefined) return;
            prompting = undefined;
            process.stderr.write(`${choice}\r\n`);
            if (!wasRaw && client === undefined) restore();
            resolve(choice);
          };
        }),
    );
    prompts = next.catch(() => undefined);
    return next;
  };

  return {
    ask: interactive && process.stderr.isTTY === true ? ask : undefined,
    cmdinDirect: directId,
    onPipes(pid, pipes, cmdin) {
      opening = (async () => {
        let pump: CommandInputPump | undefined;
        try {
          const loaded = await preload;
          pump = loaded.pump;
          // Asked for, but the kernel did not name stdin to the runner (no peer PID, another host).
          if (direct && cmdin !== "runner")
            pump = await startLatePump("the kernel did not hand stdin to the runner");
          client = await loaded.m.CommandPipesClient.open(
            conn,
            pid,
            pipes,
            sinks,
            inputOf(cmdin, direct, pump, opts),
            opts.cmdrawToNext === true ? { cmdraw: "next" } : {},
          );
        } catch (e) {
          pump?.cancel();
          failed = e as Error;
          rejectReturned(failed);
          return;
        }
        // No terminal: nobody types, CMDUSR ends at once (decided, docs/ipc.md).
        if (interactive) enterRaw();
        else client.closeInput("cmdusr");
        void client.returned.then(resolveReturned);
      })();
    },
    onInputFallback(_pid, why) {
      void (async () => {
        await opening;
        if (client === undefined) return;
        const pump = await startLatePump(`the runner could not: ${why}`);
        if (pump !== undefined) client.feedInput(pump);
        else client.closeInput("cmdin");
      })();
    },
    returned,
    async finish() {
      await opening;
      if (failed) throw failed;
      return client?.finish();
    },
    async close() {
      restore();
      process.off("exit", onExit);
      await opening;
      await client?.close();
      // The pump's thread is gone before the CLI may exit (CommandInputPump.end); a run that never
      // got its pipes cancels it, and it ends without reading stdin.
      await (await preload.catch(() => undefined))?.pump?.end();
      await latePump?.end();
    },
  };
}

/**
 * Where a command's CMDIN comes from, first match wins: another command's CMDRAW (the kernel piped
 * it), the runner reading stdin itself, the CLI's pump of stdin, a file's pieces, a value that comes
 * later, a typed value, else nothing.
 */
function inputOf(
  cmdin: "runner" | "piped" | undefined,
  direct: boolean,
  pump: CommandInputPump | undefined,
  opts: CommandIoOptions,
): CommandInput {
  if (cmdin === "piped") return { kind: "piped" };
  if (direct && cmdin === "runner") return { kind: "runner" };
  if (pump !== undefined) return { kind: "pump", pump };
  if (opts.chunkInput !== undefined) return { kind: "chunks", next: opts.chunkInput };
  if (opts.laterInput !== undefined) return { kind: "later", bytes: opts.laterInput };
  if (opts.typedInput) return { kind: "bytes", bytes: opts.typedInput };
  return { kind: "none" };
}

/**
 * How long `ncw run --json`, once a command's value is whole, waits for its process' end before it
 * counts as running on (`outcome` "returned", docs/cli.md).
 */
export const RETURN_EXIT_GRACE_MS = 250;

/** `p`'s value if it settles within `ms`, else undefined. */
function settledWithin<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(undefined), ms);
    p.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      () => {
        clearTimeout(timer);
        resolve(undefined);
      },
    );
  });
}

/**
 * Wait for a command's end (shell.md "Command pipes"): its process ends, or, earlier, its return value
 * comes whole (then `outcome` is undefined: the process runs on, away from the session); a faulty one
 * is killed by the kernel, whose end then follows. Every pending output is written and the pipes
 * closed before it resolves.
 */
export async function commandEnd(
  done: Promise<Outcome>,
  io: CommandIo,
  endGraceMs = 0,
): Promise<{ outcome: Outcome | undefined; ret: CommandReturn | undefined }> {
  try {
    const first = await Promise.race([done.then((o) => ({ o })), io.returned.then((r) => ({ r }))]);
    let outcome: Outcome | undefined = "o" in first ? first.o : undefined;
    if ("r" in first && first.r.kind === "faulty") outcome = await done;
    // Where the outcome is reported (`endGraceMs`): a value followed at once by the process' end (the
    // common case: return, then exit) is an end, not a process running on. The two travel apart, and
    // either came first (docs/cli.md "RETURN_EXIT_GRACE_MS"). Elsewhere the value alone ends it.
    else if ("r" in first && endGraceMs > 0) outcome = await settledWithin(done, endGraceMs);
    const ret = await io.finish();
    return { outcome, ret };
  } finally {
    // Also when the run failed: the CMDIN pump's thread must be gone before the CLI exits.
    await io.close();
  }
}

/**
 * Whether the app's runner may read `fd` for CMDIN itself (docs/ipc.md "CMDIN read by the runner"):
 * on Linux, a pipe, or a regular file with bytes whose offset is still 0 (the runner opens it anew
 * through /proc, at its start: a file a script read part of keeps the pump, which reads from where
 * the script left it). NCW_CMDIN_DIRECT=0 keeps the pump. Its identity (device, inode), or undefined.
 */
export function directInput(
  fd: number,
  env: NodeJS.ProcessEnv = process.env,
): HostFileId | undefined {
  if (directRefusal(fd, env) !== undefined) return undefined;
  try {
    const st = fstatSync(fd, { bigint: true });
    return { dev: st.dev, ino: st.ino };
  } catch {
    return undefined;
  }
}

/** Why `fd` is not read by the runner (a trace line's words), or undefined when it is. */
export function directRefusal(
  fd: number,
  env: NodeJS.ProcessEnv = process.env,
): string | undefined {
  if (env.NCW_CMDIN_DIRECT === "0") return "NCW_CMDIN_DIRECT=0";
  if (process.platform !== "linux") return `no /proc/<pid>/fd on ${process.platform}`;
  try {
    const st = fstatSync(fd);
    if (st.isFIFO()) return undefined;
    if (!st.isFile()) return st.isSocket() ? "stdin is a socket" : "stdin is no pipe or file";
    if (st.size === 0) return "stdin is an empty file";
    const pos = /^pos:\s*(\d+)/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, "utf8"))?.[1];
    return pos === "0"
      ? undefined
      : `stdin is a file read from already (offset ${pos ?? "unknown"})`;
  } catch (e) {
    return `stdin cannot be looked at: ${(e as Error).message}`;
  }
}

/** Most bytes a typed input may have (it is one value, held whole: the return value's limit). */
export const MAX_TYPED_INPUT = MAX_RETURN_SIZE;

/**
 * The whole of the host's stdin, for a typed input (docs/cli.md "Typed input"); throws NcwError
 * CMDIN_TOO_LARGE past MAX_TYPED_INPUT bytes.
 */
export async function readWholeInput(fd = 0): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  let size = 0;
  for (;;) {
    const chunk = Buffer.allocUnsafe(1024 * 1024);
    let n: number;
    try {
      n = readSync(fd, chunk, 0, chunk.length, null);
    } catch (e) {
      // A non-blocking stdin with nothing yet (a parent's setting): look again shortly.
      if (isHostError(e, "would-block")) {
        await new Promise((r) => setTimeout(r, 2));
        continue;
      }
      if ((e as NodeJS.ErrnoException).code === "EOF") break; // Windows: the pipe's end
      throw new NcwError("io", `cannot read the input (stdin): ${(e as Error).message}`, {
        code: "CMDIN_READ",
      });
    }
    if (n === 0) break;
    size += n;
    if (size > MAX_TYPED_INPUT)
      throw new NcwError("usage", `the input is larger than ${MAX_TYPED_INPUT} bytes`, {
        code: "CMDIN_TOO_LARGE",
        hint: "a typed input is one value, held whole; a command that reads a large input declares it a stream",
      });
    chunks.push(chunk.subarray(0, n));
  }
  return Buffer.concat(chunks, size);
}
