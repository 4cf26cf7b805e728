// Black-box tests of HAND_OVER (syscalls.md 0x56; docs/kernel.md "HAND_OVER") through `ncw run`: a
// thread that hands over sleeps (about 1 ms each, without using the CPU) until a signal is raised for its
// process, and a signal sent meanwhile is delivered as the call returns.

import { afterAll, describe, expect, it } from "vitest";
import { OK, program, TestHome, waitFor } from "./kernel-helpers.js";

const home = new TestHome({ NCW_TRACE_CLOCK: "1" });
afterAll(() => home.cleanup());

const HAND_OVER = "(drop (call $s0 (i32.const 0x56)))";

describe("HAND_OVER", () => {
  it("sleeps about a millisecond per call, using little CPU, and shows in the trace", () => {
    const r = home.run(
      program(`(local $i i32)
        (drop (call $s0 (i32.const 0x53)))
        (block $d (loop $l (br_if $d (i32.ge_u (local.get $i) (i32.const 100)))
          ${HAND_OVER}
          (local.set $i (i32.add (local.get $i) (i32.const 1))) (br $l)))
        (drop (call $s0 (i32.const 0x53)))`),
    );
    expect(r.code).toBe(0);
    expect(r.stderr.match(/HAND_OVER \{\} -> ok/g)).toHaveLength(100);
    const stamps = [
      ...r.stderr.matchAll(/^\[pid \d+\] @(\d+\.\d{3})\/(\d+\.\d{3}) GET_PID \{\} -> ok/gm),
    ].map((m) => ({ wall: Number(m[1]), cpu: Number(m[2]) }));
    expect(stamps).toHaveLength(2);
    const [a, b] = stamps as [{ wall: number; cpu: number }, { wall: number; cpu: number }];
    // 100 sleeps of at least 1 ms (nothing raises the flag), well under a second in all.
    expect(b.wall - a.wall).toBeGreaterThanOrEqual(80);
    expect(b.wall - a.wall).toBeLessThan(5000);
    // Asleep, not spinning: the runner's CPU over the window is well below the window.
    expect(b.cpu - a.cpu).toBeLessThan(0.8 * (b.wall - a.wall));
  });

  it("a signal sent while the program hands over is delivered as the call returns", async () => {
    const child = home.spawnRun(
      program(
        `(call $check (i32.const 90) (call $s8_64 (i32.const 0x01) (i32.const 0x4e) (i64.const 1)) (i32.const ${OK}))
        (call $check (i32.const 91) (call $s0 (i32.const 0x04)) (i32.const ${OK}))
        (loop $wait (if (i32.eqz (i32.atomic.load (i32.const 0x3000))) (then ${HAND_OVER} (br $wait))))
        (call $exit (i64.const 7))`,
        `(elem (i32.const 1) $t)
        (func $t (param $sig i32) (param $df i32) (result i64)
          (i32.atomic.store (i32.const 0x3000) (i32.const 1)) (i64.const 0))`,
      ),
    );
    const exited = new Promise<number | null>((r) => child.on("exit", (c) => r(c)));
    expect(await waitFor(() => /READY \{\} -> ok/.test(child.output()), 20_000)).toBe(true);
    child.kill("SIGINT");
    expect(await exited).toBe(7);
    expect(child.output()).toMatch(/signal TERMINATE -> handler 1/);
  });
});
