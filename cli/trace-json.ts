// `ncw run --trace-format json` (docs/kernel.md "Tracing as JSON lines"): each trace line as one JSON
// object. The kernel and the runners write their lines as text (the syscall's decoded arguments and
// result, a signal, a process' start); this reads what every line has — who wrote it, the host clock
// stamp, the thread — and, for a syscall line, its name, arguments, outcome and errcode, and keeps the
// line's text whole in `text`, so nothing the text trace says is lost.

/** One trace line, as `--trace-format json` writes it. */
export interface TraceRecord {
  /** "process": a NightOS process' line ([pid N]); "ncw": the CLI's or the kernel's own ([ncw]). */
  source: "process" | "ncw";
  pid: number | null;
  /** The thread that wrote it (a thread other than the main one: `[thread N]`), else null. */
  thread: number | null;
  /** NCW_TRACE_CLOCK's stamp: host wall clock (ms since the epoch) and the process' CPU (ms). */
  wallMs: number | null;
  cpuMs: number | null;
  kind: "syscall" | "event";
  /** A syscall line: its name, decoded arguments (as the text trace shows them) and outcome. */
  syscall?: string;
  args?: string;
  outcome?: "ok" | "err" | "process-ends";
  /** The errcode of a failed call, and its names in the syscall's table (`|` between several). */
  errcode?: number;
  errname?: string;
  /** The decoded return value (ok), or the value a failing call still returns; absent when none. */
  value?: string;
  /** Who answered: the runner, or the kernel (`(kernel)`, `(kernel: <what>)` for a kernel half). */
  answeredBy?: "runner" | "kernel";
  kernelPart?: string;
  /** The line's text after its `[pid N]` / `[ncw]` prefix, its stamp and thread tag. */
  text: string;
}

const STAMP = /^@(\d+(?:\.\d+)?)\/(\d+(?:\.\d+)?) /;
const THREAD = /^\[thread (\d+)\] /;
const SYSCALL = /^([A-Z][A-Z0-9_]*|SYSCALL_0x[0-9a-f]{2}) (\{.*?\}|<[0-9a-f]*>) -> (.*)$/s;
const KERNEL = / \((kernel)(?:: ([^)]*))?\)$/;
const ERR = /^err 0x([0-9a-f]+) (\S+)(?: (.*))?$/s;

/** The record of one line, as the CLI receives it: `pid` 0 for the CLI's and the kernel's own lines. */
export function traceRecord(pid: number, line: string): TraceRecord {
  let rest = line;
  let wallMs: number | null = null;
  let cpuMs: number | null = null;
  let thread: number | null = null;
  const stamp = STAMP.exec(rest);
  if (stamp !== null) {
    wallMs = Number(stamp[1]);
    cpuMs = Number(stamp[2]);
    rest = rest.slice(stamp[0].length);
  }
  const t = THREAD.exec(rest);
  if (t !== null) {
    thread = Number(t[1]);
    rest = rest.slice(t[0].length);
  }
  const base: TraceRecord = {
    source: pid === 0 ? "ncw" : "process",
    pid: pid === 0 ? null : pid,
    thread,
    wallMs,
    cpuMs,
    kind: "event",
    text: rest,
  };
  const s = SYSCALL.exec(rest);
  if (s === null) return base;
  const [, syscall, args, resultAll] = s as unknown as [string, string, string, string];
  let result = resultAll;
  let answeredBy: "runner" | "kernel" = "runner";
  let kernelPart: string | undefined;
  const k = KERNEL.exec(result);
  if (k !== null) {
    answeredBy = "kernel";
    kernelPart = k[2];
    result = result.slice(0, k.index);
  }
  const rec: TraceRecord = { ...base, kind: "syscall", syscall, args, answeredBy };
  if (kernelPart !== undefined) rec.kernelPart = kernelPart;
  if (result === "process ends") return { ...rec, outcome: "process-ends" };
  if (result === "ok" || result.startsWith("ok ")) {
    const value = result.slice(3);
    return value === "" ? { ...rec, outcome: "ok" } : { ...rec, outcome: "ok", value };
  }
  const e = ERR.exec(result);
  if (e === null) return base; // not a syscall line after all: an event that reads like one
  const [, hex, errname, value] = e as unknown as [string, string, string, string | undefined];
  return {
    ...rec,
    outcome: "err",
    errcode: Number.parseInt(hex, 16),
    errname,
    ...(value === undefined ? {} : { value }),
  };
}
