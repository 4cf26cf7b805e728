// Terminal output for the CLI: colours that respect NO_COLOR / FORCE_COLOR, progress on stderr
// only when it is a terminal, and JSON output for commands whose result is data.

export interface Output {
  readonly json: boolean;
  readonly color: boolean;
  /** Print a line of human output to stdout (suppressed in --json mode). */
  info(line: string): void;
  /** Print a warning to stderr. */
  warn(line: string): void;
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

/** Colour is on when stdout is a TTY, unless NO_COLOR is set (any non-empty value); FORCE_COLOR wins. */
export function colorEnabled(
  env: NodeJS.ProcessEnv = process.env,
  isTty = process.stdout.isTTY === true,
): boolean {
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== "0" && env.FORCE_COLOR !== "")
    return true;
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== "") return false;
  if (env.TERM === "dumb") return false;
  return isTty;
}

export function makeStyle(color: boolean): Style {
  const wrap = (open: number, close: number) => (s: string) =>
    color ? `\u001b[${open}m${s}\u001b[${close}m` : s;
  return {
    bold: wrap(1, 22),
    dim: wrap(2, 22),
    red: wrap(31, 39),
    green: wrap(32, 39),
    yellow: wrap(33, 39),
    cyan: wrap(36, 39),
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
  const color = opts.color ?? colorEnabled();
  const style = makeStyle(color);
  const interactive = stderr.isTTY === true && !json;
  return {
    json,
    color,
    style,
    info(line) {
      if (!json) stdout.write(`${line}\n`);
    },
    warn(line) {
      stderr.write(`${style.yellow("warning:")} ${line}\n`);
    },
    data(value) {
      stdout.write(`${JSON.stringify(value, jsonReplacer, 2)}\n`);
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
          stderr.write(`\r\u001b[2K${label}${pct}${detail ? ` ${style.dim(detail)}` : ""}`);
        },
        done(message) {
          stderr.write(`\r\u001b[2K${message ? `${message}\n` : ""}`);
        },
      };
    },
  };
}

function jsonReplacer(_key: string, value: unknown): unknown {
  if (typeof value === "bigint") return value.toString();
  if (value instanceof Uint8Array) return Buffer.from(value).toString("hex");
  if (value instanceof Map) return Object.fromEntries(value);
  return value;
}
