// Black-box test of NCW_TRACE_CLOCK=1 (docs/kernel.md "`ncw run`"): runners stamp each trace line with
// the host's wall clock and their CPU time when it was written (the benchmarks' markers,
// bench/README.md), and the CLI marks its own steps with the same stamp; without it, no stamp and no
// mark. And NCW_TRACE_ONLY: only the named syscalls' lines.

import { afterAll, describe, expect, it } from "vitest";
import { program, TestHome } from "./kernel-helpers.js";

const stamped = new TestHome({ NCW_TRACE_CLOCK: "1" });
const plain = new TestHome();
const only = new TestHome({ NCW_TRACE_ONLY: "GET_PID, no_such_call" });
afterAll(() => {
  stamped.cleanup();
  plain.cleanup();
  only.cleanup();
});

/** GET_PID, a busy loop of 30 million iterations, GET_PID. */
const twoMarkers = program(`(local $i i32)
  (drop (call $s0 (i32.const 0x53)))
  (block $d (loop $l (br_if $d (i32.ge_u (local.get $i) (i32.const 30000000)))
    (local.set $i (i32.add (local.get $i) (i32.const 1))) (br $l)))
  (drop (call $s0 (i32.const 0x53)))`);

describe("NCW_TRACE_CLOCK", () => {
  it("stamps a runner's trace lines with the host clock and the runner's CPU time, in order", () => {
    const before = Date.now();
    const r = stamped.run(twoMarkers);
    const after = Date.now();
    expect(r.code).toBe(0);
    const stamps = [
      ...r.stderr.matchAll(/^\[pid \d+\] @(\d+\.\d{3})\/(\d+\.\d{3}) GET_PID \{\} -> ok/gm),
    ].map((m) => ({ wall: Number(m[1]), cpu: Number(m[2]) }));
    expect(stamps).toHaveLength(2);
    const [a, b] = stamps as [{ wall: number; cpu: number }, { wall: number; cpu: number }];
    // Wall: ms since the epoch, within the run.
    expect(a.wall).toBeGreaterThanOrEqual(before - 1);
    expect(b.wall).toBeLessThanOrEqual(after + 1);
    // The loop between the markers takes real time and CPU: both stamps grow, and the CPU the loop
    // used cannot exceed the wall time it took by more than the runner's other threads could add.
    expect(b.wall).toBeGreaterThan(a.wall);
    expect(b.cpu).toBeGreaterThan(a.cpu);
    expect(a.cpu).toBeGreaterThan(0);
    // The CLI's own marks (kernel-compat/clock-marks.ts), the same stamp: its run request before the
    // program's first line, after Node's bootstrap; its 'exit' event after the program's last line.
    const mark = (what: string) => {
      const m = new RegExp(`^\\[ncw\\] @(\\d+\\.\\d{3})/\\d+\\.\\d{3} mark ${what}`, "m").exec(
        r.stderr,
      );
      return m ? Number(m[1]) : Number.NaN;
    };
    const sent = mark("run-request-sent");
    const booted = Number(/ node-bootstrap=@(\d+\.\d{3})$/m.exec(r.stderr)?.[1]);
    expect(booted).toBeGreaterThanOrEqual(before - 1);
    expect(sent).toBeGreaterThan(booted);
    expect(a.wall).toBeGreaterThan(sent);
    expect(mark("exit")).toBeGreaterThan(b.wall);
    expect(mark("exit")).toBeLessThanOrEqual(after + 1);
  });

  it("leaves trace lines unstamped by default", () => {
    const r = plain.run(twoMarkers);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/^\[pid \d+\] GET_PID \{\} -> ok/m);
    expect(r.stderr).not.toMatch(/@\d+\.\d{3} /);
    expect(r.stderr).not.toMatch(/ mark /);
  });
});

describe("NCW_TRACE_ONLY", () => {
  it("traces only the named syscalls; the kernel's own lines stay", () => {
    const r = only.run(
      program(`(drop (call $s0 (i32.const 0x53)))
        (drop (call $s8_64 (i32.const 0x01) (i32.const 0x4e) (i64.const 1)))
        (drop (call $s0 (i32.const 0x04)))
        (drop (call $s0 (i32.const 0x53)))
        (call $exit (i64.const 9))`),
    );
    expect(r.code).toBe(9);
    expect(r.stderr.match(/^\[pid \d+\] GET_PID \{\} -> ok/gm)).toHaveLength(2);
    // HANDLE_SIGNAL, READY and EXIT are runner syscalls too: not written
    expect(r.stderr).not.toMatch(/HANDLE_SIGNAL|READY|EXIT \{/);
    expect(r.stderr).toMatch(/\[pid \d+\] started/);
  });
});
