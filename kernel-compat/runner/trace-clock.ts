// NCW_TRACE_CLOCK=1 (docs/kernel.md "Tracing", bench/README.md "Markers"): each trace line a runner
// writes starts with the host's wall clock at that moment, so benchmarks can time between two points of
// a NightOS program, which has no clock syscall (an NCW addition; off by default).

const ON = process.env.NCW_TRACE_CLOCK === "1";

/** `@<ms since the Unix epoch, to the µs> <line>` when NCW_TRACE_CLOCK=1, else the line unchanged. */
export function stamped(line: string): string {
  return ON ? `@${(performance.timeOrigin + performance.now()).toFixed(3)} ${line}` : line;
}
