// Black-box tests of threads (specs/kernel/syscalls.md 0x60–0x6F, technical/processes.md; docs/kernel.md
// "Threads") through `ncw run`: CREATE_THREAD returning twice with the memory shared, thread
// identifiers, per-thread TLS values under process-wide slot ids, EXIT_THREAD and the hierarchy rule.

import { afterAll, describe, expect, it } from "vitest";
import { E, OK, program, TestHome, waitFor } from "./kernel-helpers.js";

const home = new TestHome();
afterAll(() => home.cleanup());

/**
 * A program that creates a thread with init data 42 at the start of `_start`; `child` runs in the
 * thread, `parent` in the main thread. Extra helpers use their own request/return areas per thread
 * (0x1800/0x2800 for the child) so the two threads' syscalls do not share buffers.
 */
function threaded(child: string, parent: string, extra = ""): string {
  return program(
    `(local $tid i64) (local $v i32)
    (i32.store (i32.const 0x3000) (i32.const 0x5eed))
    (call $q (i32.const 1) (i64.const 42)) (call $b (i32.const 0) (i32.const 0x60))
    (call $check (i32.const 50) (call $fork (i32.const 0x1000) (i32.const 9) (i32.const 0x2000)) (i32.const ${OK}))
    (local.set $tid (call $r64 (i32.const 0)))
    (if (i32.eq (call $r8 (i32.const 8)) (i32.const 1)) (then ${child}))
    ${parent}`,
    `(data (i32.const 0x4000) "\\2a")
    ;; syscall with the child's own areas: request at 0x1800, return at 0x2800
    (func $csys (param $code i32) (param $len i32) (result i32)
      (i32.store8 (i32.const 0x1800) (local.get $code))
      (call $sys (i32.const 0x1800) (local.get $len) (i32.const 0x2800)))
    (func $cq (param $off i32) (param $v i64) (i64.store (i32.add (i32.const 0x1800) (local.get $off)) (local.get $v)))
    (func $wait_nonzero (param $a i32) (result i32)
      (loop $w (br_if $w (i32.eqz (i32.atomic.load (local.get $a)))))
      (i32.atomic.load (local.get $a)))
    ${extra}`,
  ).replace(
    "(memory",
    '(import "nightos" "syscall_fork" (func $fork (param i32 i32 i32) (result i32)))\n  (memory',
  );
}
const SPIN = "(loop $spin (br $spin))";

describe("CREATE_THREAD", () => {
  it("returns twice; the thread shares the memory (not a copy), gets its id and the init data", () => {
    const r = home.run(
      threaded(
        `;; child: bit 0 init data, bit 1 parent's write seen, bit 2 data segment, bit 3 id 2, bit 4 identity
        (local.set $v (i32.const 0x100))
        (if (i64.eq (call $r64 (i32.const 9)) (i64.const 42)) (then (local.set $v (i32.or (local.get $v) (i32.const 1)))))
        (if (i32.eq (i32.load (i32.const 0x3000)) (i32.const 0x5eed)) (then (local.set $v (i32.or (local.get $v) (i32.const 2)))))
        (if (i32.eq (i32.load8_u (i32.const 0x4000)) (i32.const 0x2a)) (then (local.set $v (i32.or (local.get $v) (i32.const 4)))))
        (if (i64.eq (local.get $tid) (i64.const 2)) (then (local.set $v (i32.or (local.get $v) (i32.const 8)))))
        (i32.atomic.store (i32.const 0x3004) (local.get $v))
        ${SPIN}`,
        `;; parent: its own id for the thread is 2, init data 0; then wait for the thread's report
        (call $check64 (i32.const 60) (local.get $tid) (i64.const 2))
        (call $check64 (i32.const 61) (call $r64 (i32.const 9)) (i64.const 0))
        (call $exit (i64.extend_i32_u (i32.and (call $wait_nonzero (i32.const 0x3004)) (i32.const 0xff))))`,
      ),
    );
    expect(r.stderr).toMatch(
      /CREATE_THREAD \{initData: 42\} -> ok \{id: 2, identity: 0, initData: 0\}: thread 2 started/,
    );
    // The main thread's exit ends the process while the thread still spins.
    expect(r.code).toBe(15);
  });

  it("a thread's children die with it (EXIT_THREAD); the main thread goes on", () => {
    const r = home.run(
      threaded(
        `;; thread 2 creates thread 3 with its own request/return areas
        (i32.store8 (i32.const 0x1800) (i32.const 0x60)) (call $cq (i32.const 1) (i64.const 0))
        (drop (call $fork (i32.const 0x1800) (i32.const 9) (i32.const 0x2800)))
        (if (i32.eq (i32.load8_u (i32.const 0x2808)) (i32.const 1)) (then
          ;; thread 3: counts forever
          (loop $count (drop (i32.atomic.rmw.add (i32.const 0x3010) (i32.const 1))) (br $count))))
        ;; thread 2: once thread 3 counts, report and EXIT_THREAD
        (drop (call $wait_nonzero (i32.const 0x3010)))
        (i32.atomic.store (i32.const 0x3004) (i32.const 1))
        (i32.store (i32.const 0x1801) (i32.const 0))
        (drop (call $csys (i32.const 0x6f) (i32.const 5)))
        (i32.atomic.store (i32.const 0x3004) (i32.const 99))
        ${SPIN}`,
        `;; main: the counter must stop moving (thread 3 died with thread 2): 3 rounds in a row without a
        ;; change (a live but descheduled thread could miss one round on a loaded machine); at most 200
        ;; rounds. $v counts rounds, the word at 0x3024 the stable rounds in a row.
        (drop (call $wait_nonzero (i32.const 0x3004)))
        (local.set $v (i32.const 0))
        (block $stopped
          (loop $again
            (local.set $tid (i64.extend_i32_u (i32.atomic.load (i32.const 0x3010))))
            ;; a busy wait of 30 M iterations (tens of ms): a live thread 3 counts meanwhile
            (i32.store (i32.const 0x3020) (i32.const 0))
            (loop $busy
              (i32.store (i32.const 0x3020) (i32.add (i32.load (i32.const 0x3020)) (i32.const 1)))
              (br_if $busy (i32.lt_u (i32.load (i32.const 0x3020)) (i32.const 30000000))))
            (if (i64.eq (local.get $tid) (i64.extend_i32_u (i32.atomic.load (i32.const 0x3010))))
              (then (i32.store (i32.const 0x3024) (i32.add (i32.load (i32.const 0x3024)) (i32.const 1))))
              (else (i32.store (i32.const 0x3024) (i32.const 0))))
            (br_if $stopped (i32.ge_u (i32.load (i32.const 0x3024)) (i32.const 3)))
            (local.set $v (i32.add (local.get $v) (i32.const 1)))
            (br_if $again (i32.lt_u (local.get $v) (i32.const 200)))
            (call $exit (i64.const 71))))
        (call $check (i32.const 72) (i32.atomic.load (i32.const 0x3004)) (i32.const 1))
        (call $exit (i64.const 3))`,
      ),
    );
    expect(r.code).toBe(3);
  });

  it("EXIT_THREAD ends the thread and its children; TLS ids are shared and values per thread", () => {
    const r = home.run(
      threaded(
        `;; child: the slot the parent made exists here, with an empty value of its own
        (call $cq (i32.const 1) (i64.load (i32.const 0x3100)))
        (call $cq (i32.const 9) (i64.const 0x3200)) (call $cq (i32.const 17) (i64.const 0))
        (if (i32.ne (call $csys (i32.const 0x62) (i32.const 25)) (i32.const ${OK})) (then (i32.atomic.store (i32.const 0x3004) (i32.const 0x1f1)) ${SPIN}))
        (if (i64.ne (i64.load (i32.const 0x2800)) (i64.const 0)) (then (i32.atomic.store (i32.const 0x3004) (i32.const 0x1f2)) ${SPIN}))
        ;; its own write does not change the parent's value
        (i32.store (i32.const 0x3200) (i32.const 0x99))
        (call $cq (i32.const 9) (i64.const 0x3200)) (call $cq (i32.const 17) (i64.const 4))
        (drop (call $csys (i32.const 0x63) (i32.const 25)))
        (i32.atomic.store (i32.const 0x3004) (i32.const 0x107))
        ;; EXIT_THREAD with exit data 9
        (i32.store (i32.const 0x1801) (i32.const 9))
        (drop (call $csys (i32.const 0x6f) (i32.const 5)))
        (i32.atomic.store (i32.const 0x3004) (i32.const 0x1f3))
        ${SPIN}`,
        `;; parent made a slot before the thread existed? no: after; ids are process-wide anyway
        (call $exit (i64.extend_i32_u (i32.and (call $wait_nonzero (i32.const 0x3008)) (i32.const 0xff))))`,
      )
        .replace(
          "(local $tid i64) (local $v i32)",
          `(local $tid i64) (local $v i32)
        ;; a TLS slot with the value 0x55 (4 bytes) in the main thread, its id at 0x3100
        (call $check (i32.const 40) (call $s0 (i32.const 0x61)) (i32.const ${OK}))
        (i64.store (i32.const 0x3100) (call $r64 (i32.const 0)))
        (i32.store (i32.const 0x3200) (i32.const 0x55))
        (call $check (i32.const 41) (call $s64_buf (i32.const 0x63) (i64.load (i32.const 0x3100)) (i64.const 0x3200) (i64.const 4)) (i32.const ${OK}))`,
        )
        .replace(
          "(call $exit (i64.extend_i32_u (i32.and (call $wait_nonzero (i32.const 0x3008)) (i32.const 0xff))))",
          `(local.set $v (call $wait_nonzero (i32.const 0x3004)))
        (call $check (i32.const 42) (local.get $v) (i32.const 0x107))
        ;; the parent's value is still 0x55
        (i32.store (i32.const 0x3300) (i32.const 0))
        (call $check (i32.const 43) (call $s64_buf (i32.const 0x62) (i64.load (i32.const 0x3100)) (i64.const 0x3300) (i64.const 4)) (i32.const ${OK}))
        (call $check (i32.const 44) (i32.load (i32.const 0x3300)) (i32.const 0x55))
        (call $exit (i64.const 7))`,
        ),
    );
    expect(r.code).toBe(7);
  });

  it("a handler a thread registers (and its READY) serve the process: the signal runs on the main thread", async () => {
    const child = home.spawnRun(
      threaded(
        `;; thread: HANDLE_SIGNAL(TERMINATE -> handler 1), then READY, then spin
        (i32.store8 (i32.const 0x1801) (i32.const 0x4e)) (call $cq (i32.const 2) (i64.const 1))
        (if (i32.ne (call $csys (i32.const 0x01) (i32.const 10)) (i32.const ${OK})) (then (unreachable)))
        (if (i32.ne (call $csys (i32.const 0x04) (i32.const 1)) (i32.const ${OK})) (then (unreachable)))
        ${SPIN}`,
        SPIN,
        "(elem (i32.const 1) $t) (func $t (param i32 i32) (result i64) (call $exit (i64.const 7)) (i64.const 0))",
      ),
    );
    const exited = new Promise<number | null>((r) => child.on("exit", (c) => r(c)));
    expect(await waitFor(() => /\[thread 2\] READY \{\} -> ok/.test(child.output()))).toBe(true);
    child.kill("SIGINT");
    expect(await exited, child.output()).toBe(7);
    expect(child.output()).toMatch(/\[pid \d+\] signal TERMINATE -> handler 1/);
  });

  it("CREATE_PROCESS from a thread other than the main one is refused with 0x02", () => {
    const r = home.run(
      threaded(
        `(i32.store8 (i32.const 0x1800) (i32.const 0x50)) (call $cq (i32.const 1) (i64.const 0))
        (i32.atomic.store (i32.const 0x3004)
          (i32.or (i32.const 0x10000) (call $fork (i32.const 0x1800) (i32.const 9) (i32.const 0x2800))))
        ${SPIN}`,
        `(call $check (i32.const 90) (call $wait_nonzero (i32.const 0x3004)) (i32.const ${0x10000 | E(0x02)}))
        (call $exit (i64.const 4))`,
      ),
    );
    expect(r.code, r.stderr).toBe(4);
  });
});
