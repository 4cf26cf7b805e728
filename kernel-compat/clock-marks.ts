// Clock marks of the CLI (NCW_TRACE_CLOCK=1, a benchmark knob; bench/README.md "Markers", "Commands"):
// at a few points of a command's run the CLI writes `[ncw] @<wall>/<cpu> mark <what>` on stderr (wall:
// the host's clock in ms since the Unix epoch, cpu: the CLI process' user + system CPU time in ms, both
// to the µs), the same stamp the runners put on their trace lines, so a benchmark can split a run timed
// from outside at the CLI's own steps. Off (the default), a mark is one boolean test.

/** Whether marks are written (test it before building a mark's text). */
export const clockMarksOn = process.env.NCW_TRACE_CLOCK === "1";

/** Writes the mark `what` on stderr when NCW_TRACE_CLOCK=1. */
export function clockMark(what: string): void {
  if (!clockMarksOn) return;
  const c = process.cpuUsage();
  process.stderr.write(
    `[ncw] @${(performance.timeOrigin + performance.now()).toFixed(3)}/${((c.user + c.system) / 1000).toFixed(3)} mark ${what}\n`,
  );
}

// The last mark: the process' 'exit' event (what follows it is Node's own teardown).
if (clockMarksOn) process.on("exit", () => clockMark("exit"));
