// Terminal output for the CLI: colours that respect NO_COLOR / FORCE_COLOR, progress on stderr
// only when it is a terminal, JSON output for commands whose result is data, text from outside NCW
// made safe for the terminal, and a closed stdout (EPIPE) ending a command quietly (docs/cli.md).

import util from "node:util";
import { isHostError } from "../native/errors.js";
import { ExitCode } from "./errors.js";

export interface Output {
  readonly json: boolean;
  readonly color: boolean;
  /**
   * Print a line of human output to stdout (suppressed in --json mode). Text in it that came from a
   * package, an image, an app or the kernel must have gone through `safeText` first.
   */
  info(line: string): void;
  /** Print a warning to stderr (made safe with `safeText`: warnings quote packages and apps). */
  warn(line: string): void;
  /**
   * Write raw content (a file's bytes, a listing as text) to stdout as is, resolving once the
   * system took it: a slow reader slows the command down instead of losing data. Rejects with
   * StdoutClosed when stdout was closed (the reader went away).
   */
  write(chunk: string | Uint8Array): Promise<void>;
  /** Print a value as JSON to stdout. */
  data(value: unknown): void;
  /** A progress reporter for long work; a no-op unless stderr is a terminal. */
  progress(label: string, total?: number): Progress;
  style: Style;
}

export interface Progress {
  update(done: number, detail?: string): void;
  done(message?: string): void;
}

export interface Style {
  bold(s: string): string;
  dim(s: string): string;
  red(s: string): string;
  green(s: string): string;
  yellow(s: string): string;
  cyan(s: string): string;
}

/**
 * Colour is on when stdout is a TTY, unless NO_COLOR is set (any non-empty value) or TERM=dumb;
 * FORCE_COLOR (non-empty, not 0) forces it on; `--color` / `--no-color` (`flag`) win over all of them.
 */
export function colorEnabled(
  env: NodeJS.ProcessEnv = process.env,
  isTty = process.stdout.isTTY === true,
  flag?: boolean,
): boolean {
  if (flag !== undefined) return flag;
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== "0" && env.FORCE_COLOR !== "")
    return true;
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== "") return false;
  if (env.TERM === "dumb") return false;
  return isTty;
}

type StyleFormat = Parameters<typeof util.styleText>[0];

/**
 * The styles, through Node's `util.styleText` (Node >= 20.12; on an older Node 20 text stays plain).
 * NCW has already decided whether to colour (`colorEnabled`), so styleText must not check the stream
 * or the environment again: that would undo `--color` on a pipe.
 */
export function makeStyle(color: boolean): Style {
  const styleText = typeof util.styleText === "function" && color ? util.styleText : undefined;
  const wrap = (format: StyleFormat) => (s: string) =>
    styleText === undefined ? s : styleText(format, s, { validateStream: false });
  return {
    bold: wrap("bold"),
    dim: wrap("dim"),
    red: wrap("red"),
    green: wrap("green"),
    yellow: wrap("yellow"),
    cyan: wrap("cyan"),
  };
}

export interface OutputOptions {
  json?: boolean;
  color?: boolean;
  stdout?: NodeJS.WritableStream;
  stderr?: NodeJS.WritableStream & { isTTY?: boolean };
}

export function makeOutput(opts: OutputOptions = {}): Output {
  const stdout = opts.stdout ?? process.stdout;
  const stderr = opts.stderr ?? process.stderr;
  const json = opts.json ?? false;
  const color = colorEnabled(process.env, process.stdout.isTTY === true, opts.color);
  const style = makeStyle(color);
  const interactive = stderr.isTTY === true && !json;
  return {
    json,
    color,
    style,
    info(line) {
      if (!json && !isClosed(stdout)) stdout.write(`${line}\n`);
    },
    warn(line) {
      stderr.write(`${style.yellow("warning:")} ${safeText(line)}\n`);
    },
    data(value) {
      if (!isClosed(stdout)) stdout.write(`${safeJson(value)}\n`);
    },
    write(chunk) {
      return writeStream(stdout, chunk);
    },
    progress(label, total) {
      if (!interactive) return { update() {}, done() {} };
      let last = 0;
      return {
        update(done, detail) {
          const now = Date.now();
          if (now - last < 80) return;
          last = now;
          const pct = total ? ` ${Math.floor((done / total) * 100)}%` : "";
          const d = detail ? ` ${style.dim(safeText(detail))}` : "";
          stderr.write(`\r\u001b[2K${safeText(label)}${pct}${d}`);
        },
        done(message) {
          stderr.write(`\r\u001b[2K${message ? `${safeText(message)}\n` : ""}`);
        },
      };
    },
  };
}

/**
 * Marks a bigint beyond 2^53 in JSON.stringify's output, where its digits then replace the string
 * (a random tag, so that no string from outside can look like one).
 */
const BIG_TAG = Math.random().toString(36).slice(2);
const BIG = `\u0000bigint-${BIG_TAG}:`;
const BIG_IN_JSON = new RegExp(`"\\\\u0000bigint-${BIG_TAG}:(-?\\d+)"`, "g");

function jsonReplacer(_key: string, value: unknown): unknown {
  // Numbers are numbers (docs/cli.md, "--json"): a bigint (sizes, addresses, IDs) is a JSON number,
  // written with all its digits even beyond 2^53 (a plain JSON.parse then rounds it).
  if (typeof value === "bigint") {
    return Number.isSafeInteger(Number(value)) ? Number(value) : `${BIG}${value}`;
  }
  if (value instanceof Uint8Array) return Buffer.from(value).toString("hex");
  if (value instanceof Map) return Object.fromEntries(value);
  return value;
}

/**
 * Characters that must not reach a terminal raw: C0 controls, DEL and C1 controls (Cc: ESC starts
 * escape sequences, CR and BS overwrite, BEL rings), format characters (Cf: bidi overrides and
 * isolates, zero-width characters, BOM, tags), line and paragraph separators, and lone surrogates
 * (Cs: what undecodable bytes can become).
 */
const UNSAFE = /[\p{Cc}\p{Cf}\p{Cs}\u2028\u2029]/gu;

/** Shows one unsafe character visibly: \n \r \t, \xNN up to U+00FF, \uNNNN or \u{NNNNN} above. */
function escapeChar(c: string): string {
  if (c === "\n") return "\\n";
  if (c === "\r") return "\\r";
  if (c === "\t") return "\\t";
  const cp = c.codePointAt(0) ?? 0;
  if (cp >= 0xd800 && cp <= 0xdfff) return "\ufffd";
  if (cp <= 0xff) return `\\x${cp.toString(16).padStart(2, "0")}`;
  if (cp <= 0xffff) return `\\u${cp.toString(16).padStart(4, "0")}`;
  return `\\u{${cp.toString(16)}}`;
}

/**
 * Untrusted text made safe to print on a terminal: every control and invisible format character
 * is shown as an escape (ESC as `\x1b`, U+202E as `\u202e`), undecodable UTF-8 (bytes, or lone
 * surrogates in a string) as U+FFFD. Printable text, including non-ASCII letters, is unchanged.
 * Every printer of data that came from a package, an image, an app, a trace or the kernel socket
 * uses it; raw content (`ncw fs cat`, `--json`) does not (docs/cli.md, "Untrusted text").
 */
export function safeText(text: string | Uint8Array): string {
  const s = typeof text === "string" ? text : new TextDecoder("utf-8").decode(text);
  return s.replace(UNSAFE, escapeChar);
}

/** Multi-line untrusted text (an error message listing problems): each line made safe, the breaks kept. */
export function safeLines(text: string): string {
  return text.split("\n").map(safeText).join("\n");
}

/** What JSON.stringify leaves raw but a terminal acts on: DEL, C1 controls, format characters. */
const JSON_UNSAFE = /[\u007f-\u009f\p{Cf}\u2028\u2029]/gu;

/**
 * A value as JSON (2-space indented) that is also safe on a terminal: JSON.stringify escapes C0
 * controls and lone surrogates; DEL, C1 controls and format characters are escaped here as \uNNNN
 * (UTF-16 units), so parsing gives back exactly the original strings.
 */
export function safeJson(value: unknown): string {
  const json = JSON.stringify(value, jsonReplacer, 2).replace(BIG_IN_JSON, "$1");
  return json.replace(JSON_UNSAFE, (c) => {
    let r = "";
    for (let i = 0; i < c.length; i++) r += `\\u${c.charCodeAt(i).toString(16).padStart(4, "0")}`;
    return r;
  });
}

/** Thrown by Output.write once stdout is closed (EPIPE): the command ends quietly with BROKEN_PIPE. */
export class StdoutClosed extends Error {
  constructor() {
    super("stdout was closed");
    this.name = "StdoutClosed";
  }
}

const closedStreams = new WeakSet<NodeJS.WritableStream>();

function isClosed(stream: NodeJS.WritableStream): boolean {
  return closedStreams.has(stream) || (stream as { destroyed?: boolean }).destroyed === true;
}

/** Whether process.stdout was closed under the command (its reader went away). */
export function stdoutClosed(): boolean {
  return isClosed(process.stdout);
}

function writeStream(stream: NodeJS.WritableStream, chunk: string | Uint8Array): Promise<void> {
  if (isClosed(stream)) return Promise.reject(new StdoutClosed());
  return new Promise((resolve, reject) => {
    stream.write(chunk, (err) => {
      if (err === undefined || err === null) resolve();
      else if (isClosed(stream) || isPipeError(err)) {
        closedStreams.add(stream);
        reject(new StdoutClosed());
      } else reject(err);
    });
  });
}

function isPipeError(e: unknown): boolean {
  return isHostError(e, "broken-pipe");
}

/**
 * Installs the handlers that make a closed stdout end the command quietly: EPIPE on stdout marks
 * it closed (further output is dropped, Output.write rejects with StdoutClosed) and sets the exit
 * status to BROKEN_PIPE (unless it is already a failure); an error on stderr is ignored (there is
 * nowhere left to report it). Without them Node throws the EPIPE as an unhandled error.
 */
export function guardStdio(): void {
  process.stdout.on("error", (e: unknown) => {
    if (!isPipeError(e)) throw e;
    closedStreams.add(process.stdout);
    if (process.exitCode === undefined || process.exitCode === ExitCode.OK)
      process.exitCode = ExitCode.BROKEN_PIPE;
  });
  process.stderr.on("error", () => {});
}
