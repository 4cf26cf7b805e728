// NCW_TRACE_CLOCK=1 (docs/kernel.md "`ncw run`", bench/README.md "Markers"): each trace line a runner
// writes starts with the host's wall clock and the runner's CPU time at that moment, so benchmarks can
// time between two points of a NightOS program, which has no clock syscall (an NCW addition; off by
// default).

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
