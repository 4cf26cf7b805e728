// Black-box tests of threads (specs/kernel/syscalls.md 0x60–0x6F, technical/processes.md; docs/kernel.md
// "Threads") through `ncw run`: CREATE_THREAD returning twice with the memory shared, thread
// identifiers, per-thread TLS values under process-wide slot ids, EXIT_THREAD and the hierarchy rule.

import { spawn } from "node:child_process";
import { afterAll, describe, expect, it } from "vitest";
import { E, NCW, NEW_THREAD, OK, program, TestHome, waitFor } from "./kernel-helpers.js";

const home = new TestHome();
afterAll(() => home.cleanup());

/**
 * A program that creates a thread with init data 42 at the start of `_start`; `child` runs in the
 * thread, `parent` in the main thread. Extra helpers use their own request/return areas per thread
 * (0x1800/0x2800 for the child) so the two threads' syscalls do not share buffers.
 */
function threaded(child: string, parent: string, extra = ""): string {
  return program(
    `${LOCALS}
    (i32.store (i32.const 0x3000) (i32.const 0x5eed))
    (call $q (i32.const 1) (i64.const 42)) (call $b (i32.const 0) (i32.const 0x60))
    ;; ABI 1.1: the 80-byte return area at 0x2000 has the creator's answer (status 0) in its first half
    ;; and the new thread's (status 1) in its second, at 0x2028.
    (local.set $v (call $fork (i32.const 0x1000) (i32.const 9) (i32.const 0x2000)))
    (local.set $id (select (i32.const 0x2028) (i32.const 0x2000) (i32.eq (local.get $v) (i32.const ${NEW_THREAD}))))
    (local.set $tid (i64.load (local.get $id)))
    (local.set $initData (i64.load offset=9 (local.get $id)))
    (local.set $id (i32.load8_u offset=8 (local.get $id)))
    (if (i32.eq (local.get $v) (i32.const ${NEW_THREAD})) (then (local.set $v (i32.const ${OK}))))
    (call $check (i32.const 50) (local.get $v) (i32.const ${OK}))
    (if (i32.eq (local.get $id) (i32.const 1)) (then ${child}))
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
const LOCALS = "(local $tid i64) (local $v i32) (local $id i32) (local $initData i64)";
const SPIN = "(loop $spin (br $spin))";

describe("CREATE_THREAD", () => {
  it("returns twice; the thread shares the memory (not a copy), gets its id and the init data", () => {
    const r = home.run(
      threaded(
        `;; child: bit 0 init data, bit 1 parent's write seen, bit 2 data segment, bit 3 id 2, bit 4 identity
        (local.set $v (i32.const 0x100))
        (if (i64.eq (local.get $initData) (i64.const 42)) (then (local.set $v (i32.or (local.get $v) (i32.const 1)))))
        (if (i32.eq (i32.load (i32.const 0x3000)) (i32.const 0x5eed)) (then (local.set $v (i32.or (local.get $v) (i32.const 2)))))
        (if (i32.eq (i32.load8_u (i32.const 0x4000)) (i32.const 0x2a)) (then (local.set $v (i32.or (local.get $v) (i32.const 4)))))
        (if (i64.eq (local.get $tid) (i64.const 2)) (then (local.set $v (i32.or (local.get $v) (i32.const 8)))))
        (i32.atomic.store (i32.const 0x3004) (local.get $v))
        ${SPIN}`,
        `;; parent: its own id for the thread is 2, init data 0; then wait for the thread's report
        (call $check64 (i32.const 60) (local.get $tid) (i64.const 2))
        (call $check64 (i32.const 61) (local.get $initData) (i64.const 0))
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
        (if (i32.eq (call $fork (i32.const 0x1800) (i32.const 9) (i32.const 0x2800)) (i32.const ${NEW_THREAD})) (then
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
          LOCALS,
          `${LOCALS}
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

  it("CREATE_PROCESS from a thread: the child's only (main) thread continues the calling thread", () => {
    const r = home.run(
      threaded(
        `;; thread 2: CREATE_PROCESS with init data 77 (its own areas), the answer read at once
        (i32.store8 (i32.const 0x1800) (i32.const 0x50)) (call $cq (i32.const 1) (i64.const 77))
        (local.set $v (call $fork (i32.const 0x1800) (i32.const 9) (i32.const 0x2800)))
        (local.set $tid (i64.load (i32.const 0x2800)))
        (local.set $id (i32.load8_u (i32.const 0x2808)))
        (local.set $initData (i64.load (i32.const 0x2809)))
        (if (i32.ne (local.get $v) (i32.const ${OK})) (then
          (i32.atomic.store (i32.const 0x3004) (i32.or (i32.const 0x10000) (local.get $v))) ${SPIN}))
        (if (i32.eq (local.get $id) (i32.const 1)) (then
          ;; the new process: init data, a copy of the memory, its own PID as the identifier
          (call $check64 (i32.const 61) (local.get $initData) (i64.const 77))
          (call $check (i32.const 62) (i32.load (i32.const 0x3000)) (i32.const 0x5eed))
          (call $check (i32.const 63) (call $csys (i32.const 0x53) (i32.const 1)) (i32.const ${OK}))
          (call $check64 (i32.const 64) (i64.load (i32.const 0x2800)) (local.get $tid))
          (i32.store (i32.const 0x3000) (i32.const 1))
          ;; it is the process' main thread: EXIT_THREAD ends the process
          (i32.store (i32.const 0x1801) (i32.const 33))
          (drop (call $csys (i32.const 0x6f) (i32.const 5)))
          (call $exit (i64.const 65))))
        ;; thread 2 in the parent: init data 0, then WAIT_CHILD_PROCESS (no timeout): terminated
        (if (i64.ne (local.get $initData) (i64.const 0)) (then (i32.atomic.store (i32.const 0x3004) (i32.const 0x1f2)) ${SPIN}))
        (call $cq (i32.const 1) (local.get $tid)) (i32.store16 (i32.const 0x1809) (i32.const 0))
        (if (i32.ne (call $csys (i32.const 0x51) (i32.const 11)) (i32.const ${OK})) (then (i32.atomic.store (i32.const 0x3004) (i32.const 0x1f3)) ${SPIN}))
        (if (i32.ne (i32.load8_u (i32.const 0x2800)) (i32.const 1)) (then (i32.atomic.store (i32.const 0x3004) (i32.const 0x1f4)) ${SPIN}))
        (i32.atomic.store (i32.const 0x3004) (i32.const 1))
        ${SPIN}`,
        `(call $check (i32.const 90) (call $wait_nonzero (i32.const 0x3004)) (i32.const 1))
        ;; the child's write did not reach this process' memory
        (call $check (i32.const 91) (i32.load (i32.const 0x3000)) (i32.const 0x5eed))
        (call $exit (i64.const 4))`,
      ),
    );
    expect(r.code, r.stderr).toBe(4);
    const parent = /\[pid (\d+)\] started/.exec(r.stderr)?.[1];
    const child = /\[pid (\d+)\] EXIT_THREAD \{exitData: 33\} -> process ends/.exec(r.stderr)?.[1];
    expect(child, r.stderr).toBeDefined();
    expect(child).not.toBe(parent);
  });

  it("MEM_FREE frees pages another thread of the process allocated (allocation is per process)", () => {
    const r = home.run(
      threaded(
        `;; thread: MEM_ALLOC one page (read+write), its address to 0x3008, then report
        (call $cq (i32.const 1) (i64.const 4096))
        (i32.store8 (i32.const 0x1809) (i32.const 3)) (i32.store8 (i32.const 0x180a) (i32.const 0))
        (if (i32.ne (call $csys (i32.const 0x30) (i32.const 11)) (i32.const ${OK})) (then (i32.atomic.store (i32.const 0x3004) (i32.const 0x1f1)) ${SPIN}))
        (i32.store (i32.const 0x3008) (i32.wrap_i64 (i64.load (i32.const 0x2800))))
        (i32.atomic.store (i32.const 0x3004) (i32.const 1))
        ${SPIN}`,
        `(call $check (i32.const 80) (call $wait_nonzero (i32.const 0x3004)) (i32.const 1))
        ;; the main thread frees the thread's page: ok, then a second time: not allocated
        (call $check (i32.const 81) (call $s64_64 (i32.const 0x31) (i64.extend_i32_u (i32.load (i32.const 0x3008))) (i64.const 1)) (i32.const ${OK}))
        (call $check (i32.const 82) (call $s64_64 (i32.const 0x31) (i64.extend_i32_u (i32.load (i32.const 0x3008))) (i64.const 1)) (i32.const ${E(0x32)}))
        (call $exit (i64.const 5))`,
      ),
    );
    expect(r.code, r.stderr).toBe(5);
  });

  it("the pages holding the thread's copy of its creator's stack are freed once the thread has rewound", () => {
    const r = home.run(
      threaded(
        `(i32.atomic.store (i32.const 0x3004) (i32.const 1))
        ${SPIN}`,
        `(call $check (i32.const 83) (call $wait_nonzero (i32.const 0x3004)) (i32.const 1))
        ;; the lowest free page is the one the stack copy used: MEM_ALLOC hands it out again
        (call $q (i32.const 1) (i64.const 4096)) (call $b (i32.const 9) (i32.const 3)) (call $b (i32.const 10) (i32.const 0))
        (call $check (i32.const 84) (call $call (i32.const 0x30) (i32.const 11)) (i32.const ${OK}))
        (call $check64 (i32.const 85) (call $r64 (i32.const 0)) (i64.extend_i32_u (i32.load (i32.const 0x3100))))
        (call $exit (i64.const 6))`,
      ).replace(
        LOCALS,
        `${LOCALS}
        ;; MEM_ALLOC then MEM_FREE one page: its address (0x3100) is the lowest free page
        (call $q (i32.const 1) (i64.const 4096)) (call $b (i32.const 9) (i32.const 3)) (call $b (i32.const 10) (i32.const 0))
        (call $check (i32.const 86) (call $call (i32.const 0x30) (i32.const 11)) (i32.const ${OK}))
        (i32.store (i32.const 0x3100) (i32.wrap_i64 (call $r64 (i32.const 0))))
        (call $check (i32.const 87) (call $s64_64 (i32.const 0x31) (i64.extend_i32_u (i32.load (i32.const 0x3100))) (i64.const 1)) (i32.const ${OK}))`,
      ),
    );
    expect(r.stderr).toMatch(/MEM_ALLOC .* -> ok/);
    expect(r.code, r.stderr).toBe(6);
  });

  it("priorities 1–9 hold back every thread at its safepoints, not only the main one", async () => {
    const f = home.write(
      "busy-thread.wat",
      threaded(
        `;; thread: a busy loop of 100 M rounds (safepoints at its header), then EXIT_THREAD
        (local.set $v (i32.const 0))
        (block $d (loop $l (br_if $d (i32.ge_u (local.get $v) (i32.const 100000000)))
          (local.set $v (i32.add (local.get $v) (i32.const 1))) (br $l)))
        (i32.store (i32.const 0x1801) (i32.const 0))
        (drop (call $csys (i32.const 0x6f) (i32.const 5)))
        ${SPIN}`,
        `;; main: TERMINATE ends the process with 7 (the test's Ctrl-C), then spin
        (call $check (i32.const 91) (call $s8_64 (i32.const 0x01) (i32.const 0x4e) (i64.const 1)) (i32.const ${OK}))
        (call $check (i32.const 92) (call $s0 (i32.const 0x04)) (i32.const ${OK}))
        ${SPIN}`,
        "(elem (i32.const 1) $t) (func $t (param i32 i32) (result i64) (call $exit (i64.const 7)) (i64.const 0))",
      ),
    );
    const c = spawn(process.execPath, [NCW, "run", "--trace", "--priority", "1", f], {
      env: home.envFor(),
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    c.stdout?.on("data", (d) => {
      out += d;
    });
    c.stderr?.on("data", (d) => {
      out += d;
    });
    const exited = new Promise<number | null>((r) => c.on("exit", (code) => r(code)));
    try {
      expect(await waitFor(() => /\[thread 2\] exited with 0/.test(out), 90_000), out).toBe(true);
      const held = Number(/\[thread 2\] priority: held back (\d+) ms/.exec(out)?.[1]);
      expect(held, out).toBeGreaterThanOrEqual(50);
    } finally {
      c.kill("SIGINT");
    }
    expect(await exited, out).toBe(7);
  }, 120_000);

  it("a thread created after another ended (its worker reused) starts fresh: identity, id, init data, empty TLS value", () => {
    // Thread k (init data 40 + k) checks its answer and that the TLS slot the main thread made has no
    // value of its own, writes one, and ends; the main thread waits for it to end, lets its worker go
    // idle (300 ms), then creates the next. Each thread's result at 0x3004 + 4k: 0x100 | bits.
    const child = `
        (local.set $v (i32.const 0x100))
        (local.set $k (i32.wrap_i64 (i64.sub (i64.load offset=9 (i32.const 0x2028)) (i64.const 40))))
        (if (i32.eq (i32.load8_u offset=8 (i32.const 0x2028)) (i32.const 1)) (then (local.set $v (i32.or (local.get $v) (i32.const 1)))))
        (if (i64.eq (i64.load (i32.const 0x2028)) (i64.extend_i32_u (i32.add (local.get $k) (i32.const 2)))) (then (local.set $v (i32.or (local.get $v) (i32.const 2)))))
        ;; READ_TLS_SLOT (0x62) with a 0-byte buffer: nothing written, this thread never wrote the slot
        (call $cq (i32.const 1) (i64.load (i32.const 0x3100)))
        (call $cq (i32.const 9) (i64.const 0x3200)) (call $cq (i32.const 17) (i64.const 0))
        (if (i32.eq (call $csys (i32.const 0x62) (i32.const 25)) (i32.const ${OK}))
          (then (if (i64.eqz (i64.load (i32.const 0x2800))) (then (local.set $v (i32.or (local.get $v) (i32.const 4)))))))
        ;; WRITE_TLS_SLOT (0x63): a value of its own, which the next thread must not see
        (i32.store (i32.const 0x3200) (i32.const 0x99))
        (call $cq (i32.const 9) (i64.const 0x3200)) (call $cq (i32.const 17) (i64.const 4))
        (drop (call $csys (i32.const 0x63) (i32.const 25)))
        (i32.atomic.store (i32.add (i32.const 0x3004) (i32.shl (local.get $k) (i32.const 2))) (local.get $v))
        ;; EXIT_THREAD with exit data 0
        (i32.store (i32.const 0x1801) (i32.const 0))
        (drop (call $csys (i32.const 0x6f) (i32.const 5)))
        unreachable`;
    const r = home.run(
      program(
        `(local $v i32) (local $k i32)
        ;; a TLS slot, its id at 0x3100
        (call $check (i32.const 40) (call $s0 (i32.const 0x61)) (i32.const ${OK}))
        (i64.store (i32.const 0x3100) (call $r64 (i32.const 0)))
        (if (call $spawn (i64.const 40)) (then ${child}))
        (drop (call $wait_nonzero (i32.const 0x3004)))
        (drop (memory.atomic.wait32 (i32.const 0x3f00) (i32.const 0) (i64.const 300000000)))
        (if (call $spawn (i64.const 41)) (then ${child}))
        (drop (call $wait_nonzero (i32.const 0x3008)))
        (call $check (i32.const 41) (i32.load (i32.const 0x3004)) (i32.const 0x107))
        (call $check (i32.const 42) (i32.load (i32.const 0x3008)) (i32.const 0x107))
        (call $exit (i64.const 7))`,
        `;; CREATE_THREAD with init data $init: 1 in the new thread (its answer at 0x2028), 0 in the creator
        (func $spawn (param $init i64) (result i32)
          (local $v i32)
          (call $q (i32.const 1) (local.get $init)) (call $b (i32.const 0) (i32.const 0x60))
          (local.set $v (call $fork (i32.const 0x1000) (i32.const 9) (i32.const 0x2000)))
          (if (i32.eq (local.get $v) (i32.const ${NEW_THREAD})) (then (return (i32.const 1))))
          (call $check (i32.const 50) (local.get $v) (i32.const ${OK}))
          (i32.const 0))
        (func $csys (param $code i32) (param $len i32) (result i32)
          (i32.store8 (i32.const 0x1800) (local.get $code))
          (call $sys (i32.const 0x1800) (local.get $len) (i32.const 0x2800)))
        (func $cq (param $off i32) (param $v i64) (i64.store (i32.add (i32.const 0x1800) (local.get $off)) (local.get $v)))
        (func $wait_nonzero (param $a i32) (result i32)
          (loop $w (br_if $w (i32.eqz (i32.atomic.load (local.get $a)))))
          (i32.atomic.load (local.get $a)))`,
      ).replace(
        "(memory",
        '(import "nightos" "syscall_fork" (func $fork (param i32 i32 i32) (result i32)))\n  (memory',
      ),
    );
    expect(r.code, r.stderr).toBe(7);
  });
});
