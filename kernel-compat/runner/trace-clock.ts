// Benchmark knobs of a runner's trace (docs/kernel.md "`ncw run`", bench/README.md "Markers"), both NCW
// additions, off by default:
// - NCW_TRACE_CLOCK=1: each trace line a runner writes starts with the host's wall clock and the
//   runner's CPU time at that moment, so benchmarks can time between two points of a NightOS program,
//   which has no clock syscall.
// - NCW_TRACE_ONLY=NAME,NAME…: a traced runner writes syscall lines only for these syscalls (e.g.
//   GET_PID, the markers), so the calls a benchmark times (a PIPE_WRITE loop) are not slowed by their
//   own trace lines. Signal, thread and process lines are unchanged.

import { SYSCALLS } from "../../commonassembly/abi/syscalls.js";

const ON = process.env.NCW_TRACE_CLOCK === "1";

/**
 * `@<wall>/<cpu> <line>` when NCW_TRACE_CLOCK=1, else the line unchanged: wall in ms since the Unix
 * epoch, cpu the runner process' CPU time (user + system, all its threads) in ms, both to the µs.
 */
export function stamped(line: string): string {
  if (!ON) return line;
  const c = process.cpuUsage();
  return `@${(performance.timeOrigin + performance.now()).toFixed(3)}/${((c.user + c.system) / 1000).toFixed(3)} ${line}`;
}

/** The syscall codes NCW_TRACE_ONLY names (unknown names are ignored), or undefined: trace them all. */
function onlyCodes(spec: string | undefined): ReadonlySet<number> | undefined {
  if (spec === undefined || spec.trim() === "") return undefined;
  const names = new Set(spec.split(",").map((s) => s.trim().toUpperCase()));
  return new Set(SYSCALLS.filter((d) => names.has(d.name)).map((d) => d.code));
}

const ONLY = onlyCodes(process.env.NCW_TRACE_ONLY);

/** Whether a traced runner writes the line of syscall `code` (NCW_TRACE_ONLY). */
export function tracesSyscall(code: number): boolean {
  return ONLY === undefined || ONLY.has(code);
}
