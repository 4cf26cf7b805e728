// ABI 1.1, per-thread answers (docs/commonassembly.md §5, docs/kernel.md "Threads"): the new thread of
// CREATE_THREAD gets status 1 (SYSCALL_STATUS_NEW_THREAD) and its answer at ret + 40, the creator status
// 0 and its answer at ret, so neither has to read at once. An ABI 1.0 program keeps the one shared area.

import { writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { encodeNpp } from "../commonassembly/npp.js";
import { watToWasm } from "../commonassembly/text.js";
import { E, NEW_THREAD, OK, program, TestHome } from "./kernel-helpers.js";

const home = new TestHome();
afterAll(() => home.cleanup());

const FORK_IMPORT =
  '(import "nightos" "syscall_fork" (func $fork (param i32 i32 i32) (result i32)))\n  (memory';
const SPIN = "(loop $spin (br $spin))";
const EXTRA = `(func $wait_nonzero (param $a i32) (result i32)
      (loop $w (br_if $w (i32.eqz (i32.atomic.load (local.get $a)))))
      (i32.atomic.load (local.get $a)))
    ;; set bit $bit of $acc if $got = $want
    (func $bit (param $acc i32) (param $bit i32) (param $got i64) (param $want i64) (result i32)
      (if (result i32) (i64.eq (local.get $got) (local.get $want))
        (then (i32.or (local.get $acc) (local.get $bit))) (else (local.get $acc))))`;

/**
 * CREATE_THREAD (init data 42) with the return area at `ret` (80 bytes filled with 0xee first). The
 * thread and its creator each wait for the other before reading their own answer, so whichever was
 * written last has been written when the first reader reads: a shared area would give one of them the
 * other's answer. The thread reports bits at 0x3004 (0x100 | id 2 | identity 1 | init data 42 | rest of
 * its half zero); the creator checks its own answer and exits 9. A second thread taking the creator's
 * path (status 0 in both) exits 51.
 */
function bothLate(abi11: boolean): string {
  const half = abi11 ? 0x2028 : 0x2000;
  return program(
    `(local $v i32) (local $w i32)
    (memory.fill (i32.const 0x2000) (i32.const 0xee) (i32.const 80))
    (call $q (i32.const 1) (i64.const 42)) (call $b (i32.const 0) (i32.const 0x60))
    (local.set $v (call $fork (i32.const 0x1000) (i32.const 9) (i32.const 0x2000)))
    (if (i32.eq (local.get $v) (i32.const ${NEW_THREAD})) (then
      ;; the new thread: only once the creator has resumed (its answer written) does it read its own
      (drop (call $wait_nonzero (i32.const 0x3008)))
      (local.set $w (i32.const 0x100))
      (local.set $w (call $bit (local.get $w) (i32.const 1) (i64.load (i32.const ${half})) (i64.const 2)))
      (local.set $w (call $bit (local.get $w) (i32.const 2) (i64.load8_u (i32.const ${half + 8})) (i64.const 1)))
      (local.set $w (call $bit (local.get $w) (i32.const 4) (i64.load (i32.const ${half + 9})) (i64.const 42)))
      (local.set $w (call $bit (local.get $w) (i32.const 8) (i64.load (i32.const ${half + 32})) (i64.const 0)))
      (i32.atomic.store (i32.const 0x3004) (local.get $w))
      ${SPIN}))
    (call $check (i32.const 50) (local.get $v) (i32.const ${OK}))
    (if (i32.ne (i32.atomic.rmw.add (i32.const 0x300c) (i32.const 1)) (i32.const 0)) (then (call $exit (i64.const 51))))
    ;; the creator: let the thread go, wait until it has read its answer, and only then read its own
    (i32.atomic.store (i32.const 0x3008) (i32.const 1))
    (call $check (i32.const 60) (call $wait_nonzero (i32.const 0x3004)) (i32.const 0x10f))
    (call $check64 (i32.const 61) (i64.load (i32.const 0x2000)) (i64.const 2))
    (call $check (i32.const 62) (i32.load8_u (i32.const 0x2008)) (i32.const 0))
    (call $check64 (i32.const 63) (i64.load (i32.const 0x2009)) (i64.const 0))
    (call $exit (i64.const 9))`,
    EXTRA,
  ).replace("(memory", FORK_IMPORT);
}

/** The ABI 1.0 way: both threads get status 0 and read the one area at `ret` at once. */
const READ_AT_ONCE = program(
  `(local $v i32) (local $t i64) (local $id i32) (local $d i64) (local $w i32)
    (memory.fill (i32.const 0x2000) (i32.const 0xee) (i32.const 80))
    (call $q (i32.const 1) (i64.const 42)) (call $b (i32.const 0) (i32.const 0x60))
    (local.set $v (call $fork (i32.const 0x1000) (i32.const 9) (i32.const 0x2000)))
    (local.set $t (i64.load (i32.const 0x2000)))
    (local.set $id (i32.load8_u (i32.const 0x2008)))
    (local.set $d (i64.load (i32.const 0x2009)))
    (if (i32.eq (local.get $id) (i32.const 1)) (then
      ;; the thread: status 0, its answer at ret, the bytes after the 40-byte area untouched
      (local.set $w (i32.const 0x100))
      (local.set $w (call $bit (local.get $w) (i32.const 1) (i64.extend_i32_u (local.get $v)) (i64.const ${OK})))
      (local.set $w (call $bit (local.get $w) (i32.const 2) (local.get $t) (i64.const 2)))
      (local.set $w (call $bit (local.get $w) (i32.const 4) (local.get $d) (i64.const 42)))
      (local.set $w (call $bit (local.get $w) (i32.const 8) (i64.load (i32.const 0x2028)) (i64.const -0x1111111111111112)))
      (i32.atomic.store (i32.const 0x3004) (local.get $w))
      ${SPIN}))
    (call $check (i32.const 50) (local.get $v) (i32.const ${OK}))
    (call $check64 (i32.const 61) (local.get $t) (i64.const 2))
    (call $check64 (i32.const 63) (local.get $d) (i64.const 0))
    (call $check (i32.const 60) (call $wait_nonzero (i32.const 0x3004)) (i32.const 0x10f))
    (call $exit (i64.const 9))`,
  EXTRA,
).replace("(memory", FORK_IMPORT);

/** CREATE_THREAD with the return area's last 40 bytes past the end of the 2-page memory: exits 3 if it works. */
const AREA_AT_END = program(
  `(call $q (i32.const 1) (i64.const 0)) (call $b (i32.const 0) (i32.const 0x60))
    (call $check (i32.const 3) (call $fork (i32.const 0x1000) (i32.const 9) (i32.const ${0x20000 - 40})) (i32.const ${E(0x03)}))`,
).replace("(memory", FORK_IMPORT);

/** `wat` packaged as an NPP that declares ABI 1.0. */
async function abi10(name: string, wat: string): Promise<string> {
  const f = path.join(home.dir, name);
  writeFileSync(f, await encodeNpp(await watToWasm(wat), { abiVersion: 0x0100 }));
  return f;
}

describe("CREATE_THREAD's answer per thread (ABI 1.1)", () => {
  it("neither thread reads at once, and each still gets its own id, identity and init data", () => {
    const r = home.run(bothLate(true));
    expect(r.code, r.stderr).toBe(9);
    expect(r.stderr).toMatch(
      /CREATE_THREAD \{initData: 42\} -> ok \{id: 2, identity: 0, initData: 0\}/,
    );
  });

  it("the 80-byte return area must lie in memory: 0x03, and no thread starts", () => {
    const r = home.run(AREA_AT_END);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(
      /CREATE_THREAD: the 80-byte return area at 131032 lies outside linear memory -> err 0x03/,
    );
    expect(r.stderr).not.toMatch(/thread 2 started/);
  });
});

describe("an ABI 1.0 program keeps the shared return area", () => {
  it("both threads get status 0 and their answer at ret; nothing is written after its 40 bytes", async () => {
    const r = home.ncw(["run", "--trace", await abi10("once.npp", READ_AT_ONCE)]);
    expect(r.code, r.stderr).toBe(9);
  });

  it("so an ABI 1.0 creator that reads late finds the thread's answer (the race 1.1 removes)", async () => {
    // Status 0 in both: the thread takes the creator's path too, and the second one there exits 51.
    const r = home.ncw(["run", "--trace", await abi10("late.npp", bothLate(false))]);
    expect(r.code, r.stderr).toBe(51);
  });

  it("and a 40-byte area at the end of memory is enough for it", async () => {
    const r = home.ncw(["run", "--trace", await abi10("end.npp", AREA_AT_END)]);
    expect(r.code, r.stderr).toBe(3);
  });
});
