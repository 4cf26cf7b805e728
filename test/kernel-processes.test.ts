// Black-box tests of the process syscalls (specs/kernel/syscalls.md 0x50–0x5F) through `ncw run`:
// CREATE_PROCESS returning twice through syscall_fork, WAIT_CHILD_PROCESS with its timeout,
// KILL_CHILD_PROCESS through WILL_TERMINATE, SUSPEND / UNSUSPEND, and children dying with their parent.

import { afterAll, describe, expect, it } from "vitest";
import { E, OK, program, TestHome, waitFor } from "./kernel-helpers.js";

const home = new TestHome({ NCW_TERMINATE_DELAY_MS: "300" });
afterAll(() => home.cleanup());

/** A program that imports syscall_fork; `$forkit` does CREATE_PROCESS with init data 77 and checks the status. */
function forking(body: string, extra = ""): string {
  return program(
    `(local $child i64) (local $t i64)
    (call $q (i32.const 1) (i64.const 77)) (call $b (i32.const 0) (i32.const 0x50))
    (call $check (i32.const 50) (call $fork (i32.const 0x1000) (i32.const 9) (i32.const 0x2000)) (i32.const ${OK}))
    ${body}`,
    extra,
  ).replace(
    "(memory",
    '(import "nightos" "syscall_fork" (func $fork (param i32 i32 i32) (result i32)))\n  (memory',
  );
}
const IS_CHILD = "(i32.eq (call $r8 (i32.const 8)) (i32.const 1))";
const SPIN = "(drop (call $s0 (i32.const 0x04))) (loop $spin (br $spin))";

describe("CREATE_PROCESS", () => {
  it("returns twice: identity 0 and the child's PID in the parent, identity 1 and the init data in the child", () => {
    const r = home.run(
      forking(`
        (if ${IS_CHILD} (then
          (call $check64 (i32.const 51) (call $r64 (i32.const 9)) (i64.const 77))
          ;; the child's identifier is its own PID
          (local.set $child (call $r64 (i32.const 0)))
          (drop (call $s0 (i32.const 0x53)))
          (call $check64 (i32.const 52) (call $r64 (i32.const 0)) (local.get $child))
          ;; it holds a copy of the parent's memory: what the parent wrote before the call is there
          (call $check (i32.const 53) (i32.load (i32.const 0x3000)) (i32.const 0x5eed))
          (i32.store (i32.const 0x3000) (i32.const 1))
          (call $exit (i64.const 77))))
        (local.set $child (call $r64 (i32.const 0)))
        (call $check64 (i32.const 54) (call $r64 (i32.const 9)) (i64.const 0))
        (call $check (i32.const 55) (call $s64_16 (i32.const 0x51) (local.get $child) (i32.const 0)) (i32.const ${OK}))
        (call $check (i32.const 56) (call $r8 (i32.const 0)) (i32.const 1))
        ;; the child's write did not reach the parent's memory
        (call $check (i32.const 57) (i32.load (i32.const 0x3000)) (i32.const 0x5eed))
        (call $exit (i64.const 5))`).replace(
        "(local $child i64) (local $t i64)",
        "(local $child i64) (local $t i64) (i32.store (i32.const 0x3000) (i32.const 0x5eed))",
      ),
    );
    expect(r.stderr).toMatch(
      /CREATE_PROCESS \{initData: 77\} -> ok \{id: (\d+), identity: 0, initData: 0\} \(kernel\)/,
    );
    expect(r.stderr).toMatch(/EXIT \{exitData: 77\} -> process ends/);
    expect(r.code).toBe(5);
  });

  it("a parent memory of 1 MiB or more reaches the child whole (through a host segment on Linux)", () => {
    // 40 pages (2.5 MiB): past FORK_SEGMENT_MIN_BYTES (docs/kernel.md "CREATE_PROCESS (fork)").
    const last = 40 * 65536 - 4;
    const r = home.run(
      forking(`
        (if ${IS_CHILD} (then
          (call $check (i32.const 51) (i32.load (i32.const 0x3000)) (i32.const 0x5eed))
          (call $check (i32.const 52) (i32.load (i32.const 0x12345c)) (i32.const 0x0ddba11))
          (call $check (i32.const 53) (i32.load (i32.const ${last})) (i32.const 0x7a11))
          (call $exit (i64.const 77))))
        (call $check (i32.const 54) (call $s64_16 (i32.const 0x51) (call $r64 (i32.const 0)) (i32.const 0)) (i32.const ${OK}))
        (call $check (i32.const 55) (call $r8 (i32.const 0)) (i32.const 1))
        (call $exit (i64.const 5))`)
        .replace(
          "(local $child i64) (local $t i64)",
          `(local $child i64) (local $t i64) (i32.store (i32.const 0x3000) (i32.const 0x5eed))
          (i32.store (i32.const 0x12345c) (i32.const 0x0ddba11)) (i32.store (i32.const ${last}) (i32.const 0x7a11))`,
        )
        .replace(
          '(memory (export "memory") 2 64 shared)',
          '(memory (export "memory") 40 64 shared)',
        ),
    );
    expect(r.stderr).toMatch(/EXIT \{exitData: 77\} -> process ends/);
    if (process.platform === "linux")
      expect(r.stderr).toMatch(/memory image \(2\.5 MiB\) goes through a host segment/);
    expect(r.code).toBe(5);
  });

  it("WAIT_CHILD_PROCESS times out on a running child; KILL_CHILD_PROCESS ends it through WILL_TERMINATE", () => {
    const r = home.run(
      forking(`
        (if ${IS_CHILD} (then ${SPIN}))
        (local.set $child (call $r64 (i32.const 0)))
        (call $check (i32.const 60) (call $s64_16 (i32.const 0x51) (local.get $child) (i32.const 50)) (i32.const ${OK}))
        (call $check (i32.const 61) (call $r8 (i32.const 0)) (i32.const 0))
        ;; KILL_CHILD_PROCESS: the child has no WILL_TERMINATE handler, so it dies; exit data 0
        (call $check (i32.const 62) (call $s64_16 (i32.const 0x52) (local.get $child) (i32.const 100)) (i32.const ${OK}))
        (call $check64 (i32.const 63) (call $r64 (i32.const 0)) (i64.const 0))
        ;; waiting on a dead child returns at once
        (call $check (i32.const 64) (call $s64_16 (i32.const 0x51) (local.get $child) (i32.const 0)) (i32.const ${OK}))
        (call $check (i32.const 65) (call $r8 (i32.const 0)) (i32.const 1))
        (call $exit (i64.const 6))`),
    );
    expect(r.stderr).toMatch(
      /WAIT_CHILD_PROCESS \{pid: \d+, timeout: 50\} -> ok \{terminated: 0\}/,
    );
    expect(r.stderr).toMatch(/kernel sends WILL_TERMINATE/);
    expect(r.code).toBe(6);
  });

  it("KILL_CHILD_PROCESS returns the exit data of a child that exits on WILL_TERMINATE", () => {
    const r = home.run(
      forking(
        `
        (if ${IS_CHILD} (then
          (drop (call $s8_64 (i32.const 0x01) (i32.const 0x4f) (i64.const 1)))
          ${SPIN}))
        (local.set $child (call $r64 (i32.const 0)))
        (call $check (i32.const 70) (call $s64_16 (i32.const 0x52) (local.get $child) (i32.const 20000)) (i32.const ${OK}))
        (call $exit (call $r64 (i32.const 0)))`,
        "(elem (i32.const 1) $w) (func $w (param i32 i32) (result i64) (call $exit (i64.const 33)) (i64.const 0))",
      ),
    );
    expect(r.stderr).toMatch(/KILL_CHILD_PROCESS .* -> ok \{exitData: 33\}/);
    expect(r.code).toBe(33);
  });

  it("SUSPEND and UNSUSPEND a child; the child gets UNSUSPENDED with the duration", () => {
    const r = home.run(
      forking(`
        (if ${IS_CHILD} (then ${SPIN}))
        (local.set $child (call $r64 (i32.const 0)))
        (call $check (i32.const 80) (call $s64 (i32.const 0x54) (local.get $child)) (i32.const ${OK}))
        (call $check (i32.const 81) (call $s64_16 (i32.const 0x51) (local.get $child) (i32.const 100)) (i32.const ${OK}))
        (call $check (i32.const 82) (call $s64 (i32.const 0x55) (local.get $child)) (i32.const ${OK}))
        (if (i64.lt_u (call $r64 (i32.const 0)) (i64.const 90)) (then (call $exit (i64.const 83))))
        ;; UNSUSPEND of a running child is allowed and reports 0
        (call $check (i32.const 84) (call $s64 (i32.const 0x55) (local.get $child)) (i32.const ${OK}))
        (call $check64 (i32.const 85) (call $r64 (i32.const 0)) (i64.const 0))
        (call $exit (i64.const 8))`),
    );
    // The exit code first, with the trace as the message: a failure then says which check failed.
    expect(r.code, r.stderr).toBe(8);
    expect(r.stderr).toMatch(/kernel sends UNSUSPENDED \(suspended \d+ ms\)/);
  });

  it("a parent's exit kills its children", async () => {
    const r = home.run(forking(`(if ${IS_CHILD} (then ${SPIN})) (call $exit (i64.const 9))`));
    expect(r.code).toBe(9);
    expect(
      await waitFor(
        () => (JSON.parse(home.ncw(["ps", "--json"]).stdout).processes as unknown[]).length === 0,
      ),
    ).toBe(true);
  });

  it("CREATE_PROCESS and CREATE_THREAD through syscall are refused; other codes through syscall_fork too", () => {
    const r = home.run(
      program(
        `(call $check (i32.const 1) (call $s64 (i32.const 0x50) (i64.const 0)) (i32.const ${E(0x02)}))
         (call $check (i32.const 2) (call $s64 (i32.const 0x60) (i64.const 0)) (i32.const ${E(0x02)}))
         (call $b (i32.const 0) (i32.const 0x53))
         (call $check (i32.const 3) (call $fork (i32.const 0x1000) (i32.const 1) (i32.const 0x2000)) (i32.const ${E(0x02)}))`,
      ).replace(
        "(memory",
        '(import "nightos" "syscall_fork" (func $fork (param i32 i32 i32) (result i32)))\n  (memory',
      ),
    );
    expect(r.code).toBe(0);
  });

  it("a signal runs its handler while the process is blocked in WAIT_CHILD_PROCESS", async () => {
    const child = home.spawnRun(
      forking(
        `
        (if ${IS_CHILD} (then ${SPIN}))
        (local.set $child (call $r64 (i32.const 0)))
        (drop (call $s8_64 (i32.const 0x01) (i32.const 0x4e) (i64.const 1)))
        (drop (call $s0 (i32.const 0x04)))
        (drop (call $s64_16 (i32.const 0x51) (local.get $child) (i32.const 0)))
        (call $exit (i64.const 1))`,
        "(elem (i32.const 1) $t) (func $t (param i32 i32) (result i64) (call $exit (i64.const 12)) (i64.const 0))",
      ),
    );
    const exited = new Promise<number | null>((r) => child.on("exit", (c) => r(c)));
    expect(await waitFor(() => /READY \{\} -> ok/.test(child.output()), 20_000)).toBe(true);
    await new Promise((r) => setTimeout(r, 300));
    child.kill("SIGINT");
    expect(await exited).toBe(12);
    expect(child.output()).toMatch(/signal TERMINATE -> handler 1/);
  });
});
