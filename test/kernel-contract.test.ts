// Black-box tests of the syscall behaviours docs/kernel.md "Decisions in the syscall table" states where
// the spec (specs/kernel/syscalls.md, processes.md, memory.md) is silent or gives only an example:
// each is a program calling the syscall through `ncw run` and checking the errcode.

import { afterAll, describe, expect, it } from "vitest";
import { E, OK, program, TestHome } from "./kernel-helpers.js";

// Long delays: a child on a loaded machine must have registered its handler before they expire.
const home = new TestHome({ NCW_TERMINATE_DELAY_MS: "8000" });
afterAll(() => home.cleanup());

/** `program` with the syscall_fork import (named $fork). */
function withFork(body: string, extra = ""): string {
  return program(body, extra).replace(
    "(memory",
    '(import "nightos" "syscall_fork" (func $fork (param i32 i32 i32) (result i32)))\n  (memory',
  );
}
/** CREATE_PROCESS with init data 0; the status must be OK. */
const FORK = `(call $q (i32.const 1) (i64.const 0)) (call $b (i32.const 0) (i32.const 0x50))
  (call $check (i32.const 90) (call $fork (i32.const 0x1000) (i32.const 9) (i32.const 0x2000)) (i32.const ${OK}))`;
const IS_CHILD = "(i32.eq (call $r8 (i32.const 8)) (i32.const 1))";
/** WAIT_CHILD_PROCESS for the child (PID in $child), then its exit data through KILL_CHILD_PROCESS. */
const CHILD_EXIT = `
  (call $check (i32.const 91) (call $s64_16 (i32.const 0x51) (local.get $child) (i32.const 0)) (i32.const ${OK}))
  (call $check (i32.const 92) (call $s64_16 (i32.const 0x52) (local.get $child) (i32.const 0)) (i32.const ${OK}))
  (call $exit (call $r64 (i32.const 0)))`;

describe("argument checks the spec leaves open", () => {
  it("gives each documented errcode", () => {
    const r = home.run(
      program(
        `(local $slot i64)
        ;; a request over 4096 bytes is 0x02, whatever its code (GET_PID, then a code that does not exist)
        (call $b (i32.const 0) (i32.const 0x53))
        (call $check (i32.const 1) (call $sys (i32.const 0x1000) (i32.const 4097) (i32.const 0x2000)) (i32.const ${E(0x02)}))
        (call $b (i32.const 0) (i32.const 0xff))
        (call $check (i32.const 2) (call $sys (i32.const 0x1000) (i32.const 5000) (i32.const 0x2000)) (i32.const ${E(0x02)}))
        ;; exactly 4096 bytes is only "longer than the arguments" (still 0x02) for GET_PID, 0x01 for no syscall
        (call $check (i32.const 3) (call $sys (i32.const 0x1000) (i32.const 4096) (i32.const 0x2000)) (i32.const ${E(0x01)}))
        ;; MEM_FREE: address 0 is an invalid argument (the spec's example of 0x02), 0 pages too; a page
        ;; that was never allocated is 0x32
        (call $check (i32.const 4) (call $s64_64 (i32.const 0x31) (i64.const 0) (i64.const 1)) (i32.const ${E(0x02)}))
        (call $check (i32.const 5) (call $s64_64 (i32.const 0x31) (i64.const 0x10000) (i64.const 0)) (i32.const ${E(0x02)}))
        (call $check (i32.const 6) (call $s64_64 (i32.const 0x31) (i64.const 0x10000) (i64.const 1)) (i32.const ${E(0x32)}))
        ;; MEM_ALLOC: the permission byte with high bits set (read-write | 0x80) is an invalid permission
        (call $check (i32.const 7) (call $s64_16 (i32.const 0x30) (i64.const 4096) (i32.const 0x83)) (i32.const ${E(0x10)}))
        ;; TLS buffers at address 0 are 0x02, even with length 0
        (call $check (i32.const 8) (call $s0 (i32.const 0x61)) (i32.const ${OK}))
        (local.set $slot (call $r64 (i32.const 0)))
        (call $check (i32.const 9) (call $s64_buf (i32.const 0x62) (local.get $slot) (i64.const 0) (i64.const 0)) (i32.const ${E(0x02)}))
        (call $check (i32.const 10) (call $s64_buf (i32.const 0x63) (local.get $slot) (i64.const 0) (i64.const 0)) (i32.const ${E(0x02)}))
        ;; PID 0: WAIT_CHILD_PROCESS "does not exist" 0x30; KILL_CHILD_PROCESS "not a child" 0x02
        (call $check (i32.const 11) (call $s64_16 (i32.const 0x51) (i64.const 0) (i32.const 0)) (i32.const ${E(0x30)}))
        (call $check (i32.const 12) (call $s64_16 (i32.const 0x52) (i64.const 0) (i32.const 0)) (i32.const ${E(0x02)}))
        ;; DEVICE_AMS (kdi, device address, length, process address): only the process-side address is
        ;; checked for alignment; an unaligned device address reaches the refusal (0x30)
        (call $q (i32.const 1) (i64.const 1)) (call $q (i32.const 9) (i64.const 1))
        (call $q (i32.const 17) (i64.const 4096)) (call $q (i32.const 25) (i64.const 0x10000))
        (call $check (i32.const 13) (call $call (i32.const 0x73) (i32.const 33)) (i32.const ${E(0x30)}))
        (call $q (i32.const 9) (i64.const 0)) (call $q (i32.const 25) (i64.const 0x10001))
        (call $check (i32.const 14) (call $call (i32.const 0x73) (i32.const 33)) (i32.const ${E(0x10)}))
        (call $exit (i64.const 42))`,
      ),
    );
    expect(r.stderr).toMatch(/MEM_FREE \{address: 0, pages: 1\} -> err 0x02/);
    expect(r.code).toBe(42);
  });
});

describe("fork-like calls inside a signal handler", () => {
  it("CREATE_THREAD and CREATE_PROCESS through syscall_fork both return 0x02 (docs/commonassembly.md §5)", () => {
    // The MEM_FAULT handler runs after an out-of-bounds load; it tries both fork-like calls.
    const r = home.run(
      withFork(
        `(call $check (i32.const 1) (call $s8_64 (i32.const 0x01) (i32.const 0x02) (i64.const 1)) (i32.const ${OK}))
        (call $check (i32.const 2) (call $s0 (i32.const 0x04)) (i32.const ${OK}))
        (drop (i32.load (i32.const -8)))
        (call $exit (i64.const 3))`,
        `(elem (i32.const 1) $onfault)
        (func $onfault (param i32 i32) (result i64)
          (call $q (i32.const 1) (i64.const 0))
          (call $b (i32.const 0) (i32.const 0x60))
          (call $check (i32.const 31) (call $fork (i32.const 0x1000) (i32.const 9) (i32.const 0x2000)) (i32.const ${E(0x02)}))
          (call $b (i32.const 0) (i32.const 0x50))
          (call $check (i32.const 32) (call $fork (i32.const 0x1000) (i32.const 9) (i32.const 0x2000)) (i32.const ${E(0x02)}))
          (call $exit (i64.const 33)) (i64.const 0))`,
      ),
    );
    expect(r.stderr).toMatch(/CREATE_THREAD: syscall_fork is not possible inside a signal handler/);
    expect(r.code).toBe(33);
  });
});

describe("CREATE_PROCESS children", () => {
  it("know their parent's TLS slots and the calling thread's values (a 1:1 copy, processes.md)", () => {
    const r = home.run(
      withFork(
        `(local $child i64) (local $slot i64)
        (drop (call $s0 (i32.const 0x61))) (local.set $slot (call $r64 (i32.const 0)))
        (i32.store (i32.const 0x3000) (i32.const 0x64636261))
        (call $check (i32.const 1) (call $s64_buf (i32.const 0x63) (local.get $slot) (i64.const 0x3000) (i64.const 4)) (i32.const ${OK}))
        ${FORK}
        (if ${IS_CHILD} (then
          (i32.store (i32.const 0x3100) (i32.const 0))
          (call $check (i32.const 21) (call $s64_buf (i32.const 0x62) (local.get $slot) (i64.const 0x3100) (i64.const 0)) (i32.const ${OK}))
          (call $check64 (i32.const 22) (call $r64 (i32.const 0)) (i64.const 4))
          (call $check (i32.const 23) (i32.load (i32.const 0x3100)) (i32.const 0x64636261))
          ;; the slot is the child's own from now on: deleting it does not touch the parent's
          (call $check (i32.const 24) (call $s64 (i32.const 0x64) (local.get $slot)) (i32.const ${OK}))
          (call $exit (i64.const 77))))
        (local.set $child (call $r64 (i32.const 0)))
        (call $check (i32.const 2) (call $s64_16 (i32.const 0x51) (local.get $child) (i32.const 0)) (i32.const ${OK}))
        (call $check (i32.const 3) (call $s64_buf (i32.const 0x62) (local.get $slot) (i64.const 0x3200) (i64.const 0)) (i32.const ${OK}))
        (call $check (i32.const 4) (call $s64_16 (i32.const 0x52) (local.get $child) (i32.const 0)) (i32.const ${OK}))
        (call $exit (call $r64 (i32.const 0)))`,
      ),
    );
    expect(r.code).toBe(77);
  });

  it("may not WAIT on, SUSPEND or KILL their parent (WAIT 0x30, SUSPEND 0x31, KILL 0x02)", () => {
    const r = home.run(
      withFork(
        `(local $child i64) (local $parent i64)
        (drop (call $s0 (i32.const 0x53))) (local.set $parent (call $r64 (i32.const 0)))
        ${FORK}
        (if ${IS_CHILD} (then
          (call $check (i32.const 21) (call $s64_16 (i32.const 0x51) (local.get $parent) (i32.const 10)) (i32.const ${E(0x30)}))
          (call $check (i32.const 22) (call $s64 (i32.const 0x54) (local.get $parent)) (i32.const ${E(0x31)}))
          (call $check (i32.const 23) (call $s64_16 (i32.const 0x52) (local.get $parent) (i32.const 0)) (i32.const ${E(0x02)}))
          (call $exit (i64.const 66))))
        (local.set $child (call $r64 (i32.const 0)))
        ${CHILD_EXIT}`,
      ),
    );
    expect(r.code).toBe(66);
  });
});

describe("KILL_CHILD_PROCESS' timeout", () => {
  it("is the delay the child's WILL_TERMINATE datafield carries (0: the registry's terminate_delay)", () => {
    // The child exits with the delay its WILL_TERMINATE datafield carries; the parent kills it twice
    // over (two children): with a timeout of 9999 ms, then with 0 (NCW_TERMINATE_DELAY_MS = 8000 here).
    const r = home.run(
      withFork(
        `(local $child i64)
        ${FORK}
        (if ${IS_CHILD} (then
          (drop (call $s8_64 (i32.const 0x01) (i32.const 0x4f) (i64.const 1)))
          (drop (call $s0 (i32.const 0x04))) (loop $spin (br $spin))))
        (local.set $child (call $r64 (i32.const 0)))
        (call $check (i32.const 1) (call $s64_16 (i32.const 0x52) (local.get $child) (i32.const 9999)) (i32.const ${OK}))
        (call $check64 (i32.const 2) (call $r64 (i32.const 0)) (i64.const 9999))
        ${FORK}
        (if ${IS_CHILD} (then
          (drop (call $s8_64 (i32.const 0x01) (i32.const 0x4f) (i64.const 1)))
          (drop (call $s0 (i32.const 0x04))) (loop $spin2 (br $spin2))))
        (local.set $child (call $r64 (i32.const 0)))
        (call $check (i32.const 3) (call $s64_16 (i32.const 0x52) (local.get $child) (i32.const 0)) (i32.const ${OK}))
        (call $check64 (i32.const 4) (call $r64 (i32.const 0)) (i64.const 8000))
        (call $exit (i64.const 9))`,
        `(elem (i32.const 1) $w)
        (func $w (param $sig i32) (param $df i32) (result i64)
          (call $exit (i64.extend_i32_u (i32.load16_u (local.get $df)))) (i64.const 0))`,
      ),
    );
    expect(r.code).toBe(9);
  });
});
