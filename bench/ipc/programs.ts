// The NightOS programs of the pipe benchmarks (bench/README.md "IPC"), in the WebAssembly text format:
// a parent and its CREATE_PROCESS child joined by pipes (OPEN_PIPE, notification mode 0x01: no signal,
// the child finds its identifiers at 1 and 2). GET_PID calls are the markers the bench times between.

import { PATTERN_FUNCS, program } from "../../test/kernel-helpers.js";

const FORK_IMPORT =
  '(import "nightos" "syscall_fork" (func $fork (param i32 i32 i32) (result i32)))\n  (memory';

/** Syscall wrappers over the request area of `program` (0x1000) and its return area (0x2000). */
const PIPE_FUNCS = `
  (func $open (param $pid i64) (param $type i32) (param $mult i32) (param $tmode i32) (result i32)
    (call $q (i32.const 1) (local.get $pid)) (call $h (i32.const 9) (i32.const 0)) (call $b (i32.const 11) (local.get $type))
    (call $b (i32.const 12) (local.get $mult)) (call $b (i32.const 13) (local.get $tmode)) (call $b (i32.const 14) (i32.const 1))
    (call $q (i32.const 15) (i64.const 0)) (call $call (i32.const 0x20) (i32.const 23)))
  (func $write (param $sc i64) (param $count i32) (param $buf i32) (result i32)
    (call $q (i32.const 1) (local.get $sc)) (i32.store (i32.const 0x1009) (local.get $count))
    (call $q (i32.const 13) (i64.extend_i32_u (local.get $buf))) (call $b (i32.const 21) (i32.const 0))
    (call $call (i32.const 0x22) (i32.const 22)))
  (func $read (param $rc i64) (param $buf i32) (param $len i32) (result i32)
    (call $q (i32.const 1) (local.get $rc)) (call $b (i32.const 9) (i32.const 0))
    (call $q (i32.const 10) (i64.extend_i32_u (local.get $buf))) (call $q (i32.const 18) (i64.extend_i32_u (local.get $len)))
    (call $call (i32.const 0x23) (i32.const 26)))
  (func $marker (drop (call $s0 (i32.const 0x53))))
  ${PATTERN_FUNCS}`;

/**
 * Parent and child: the child runs `child` once it names both ends the parent opened to it — its RC of
 * the parent's write pipe (identifier 1) and its SC of the parent's read pipe (2) — and then exits 0;
 * the parent runs `parent` with $down (its SC) and $up (its RC), then waits for the child and exits 0.
 * A failed check exits with its number. Both pipes are `message` pipes or raw ones of `mult` × 64 KiB.
 */
function pair(child: string, parent: string, message: boolean, mult: number): string {
  const tmode = message ? 1 : 0;
  return program(
    `(local $child i64) (local $down i64) (local $up i64) (local $i i32) (local $j i32) (local $k i32)
    (call $q (i32.const 1) (i64.const 0)) (call $b (i32.const 0) (i32.const 0x50))
    (call $check (i32.const 50) (call $fork (i32.const 0x1000) (i32.const 9) (i32.const 0x2000)) (i32.const 0))
    (local.set $child (call $r64 (i32.const 0)))
    (if (i32.eq (call $r8 (i32.const 8)) (i32.const 1)) (then
      ;; the child: wait until the second pipe is granted (PIPE_INFO(2) answers), then its work
      (loop $w (br_if $w (i32.ne (call $s64 (i32.const 0x24) (i64.const 2)) (i32.const 0))))
      (local.set $down (i64.const 1)) (local.set $up (i64.const 2))
      ${child}
      (call $exit (i64.const 0))))
    (call $check (i32.const 51) (call $open (local.get $child) (i32.const 0) (i32.const ${mult}) (i32.const ${tmode})) (i32.const 0))
    (local.set $down (call $r64 (i32.const 0)))
    (call $check (i32.const 52) (call $open (local.get $child) (i32.const 1) (i32.const ${mult}) (i32.const ${tmode})) (i32.const 0))
    (local.set $up (call $r64 (i32.const 0)))
    ${parent}
    (call $check (i32.const 53) (call $s64_16 (i32.const 0x51) (local.get $child) (i32.const 0)) (i32.const 0))
    (call $exit (i64.const 0))`,
    PIPE_FUNCS,
  )
    .replace("2 64 shared", "8 64 shared")
    .replace("(memory", FORK_IMPORT);
}

/**
 * Throughput: `total` bytes from the parent to the child in writes of `block` bytes (PIPE_WRITE mode
 * 0x00) through a raw pipe of `mult` × 64 KiB; the child reads `block` bytes at a time (PIPE_READ mode
 * 0x00). Markers: the parent's GET_PID right before its first write (after the child said it is
 * ready, blocked in its first read) and after its last; the child's right before its first read and
 * right after its last. The window is the parent's first → the child's last; each process' CPU time
 * is between its own two (the runners' stamps, NCW_TRACE_CLOCK). Both processes
 * fill and check a block outside the window (each block carries its index in its first 4 bytes; the
 * last is checked whole), so a figure never comes from a transfer that lost or invented bytes.
 */
export function throughputProgram(total: number, block: number, mult: number): string {
  const n = Math.floor(total / block);
  return pair(
    `;; ready: one byte up, then read every block
    (call $check (i32.const 10) (call $write (local.get $up) (i32.const 1) (i32.const 0x3000)) (i32.const 0))
    (call $marker)
    (block $d (loop $l (br_if $d (i32.ge_u (local.get $i) (i32.const ${n})))
      (call $check (i32.const 11) (call $read (local.get $down) (i32.const 0x10000) (i32.const ${block})) (i32.const 0))
      (local.set $i (i32.add (local.get $i) (i32.const 1))) (br $l)))
    (call $marker)
    (call $check (i32.const 12) (i32.load (i32.const 0x10000)) (i32.const ${n - 1}))
    (call $check (i32.const 13) (call $same (i32.const 0x10004) (i32.const ${block - 4}) (i32.const 28)) (i32.const 1))`,
    `(call $fill (i32.const 0x10000) (i32.const ${block}) (i32.const 0))
    (call $check (i32.const 20) (call $read (local.get $up) (i32.const 0x3000) (i32.const 1)) (i32.const 0))
    (call $marker)
    (block $d (loop $l (br_if $d (i32.ge_u (local.get $i) (i32.const ${n})))
      (i32.store (i32.const 0x10000) (local.get $i))
      (call $check (i32.const 21) (call $write (local.get $down) (i32.const ${block}) (i32.const 0x10000)) (i32.const 0))
      (local.set $i (i32.add (local.get $i) (i32.const 1))) (br $l)))
    (call $marker)`,
    false,
    mult,
  );
}

/**
 * Round trip: `blocks` × `per` ping-pongs of `size`-byte messages through two message pipes (the
 * parent writes down and reads the answer up; the child reads down and writes it back up, PIPE_*
 * mode 0x00). The parent calls GET_PID before and after each block of `per` round trips; the child
 * before its first read and after its last write (its CPU time); it checks the last message it
 * echoed (its first 4 bytes: the round trip's number).
 */
export function roundTripProgram(blocks: number, per: number, size: number): string {
  const n = blocks * per;
  return pair(
    `(call $marker)
    (block $d (loop $l (br_if $d (i32.ge_u (local.get $i) (i32.const ${n})))
      (call $check (i32.const 11) (call $read (local.get $down) (i32.const 0x10000) (i32.const ${size})) (i32.const 0))
      (call $check (i32.const 12) (call $write (local.get $up) (i32.const ${size}) (i32.const 0x10000)) (i32.const 0))
      (local.set $i (i32.add (local.get $i) (i32.const 1))) (br $l)))
    (call $marker)
    (call $check (i32.const 13) (i32.load (i32.const 0x10000)) (i32.const ${n - 1}))`,
    `(block $d (loop $l (br_if $d (i32.ge_u (local.get $j) (i32.const ${blocks})))
      (call $marker)
      (local.set $k (i32.const 0))
      (block $d2 (loop $l2 (br_if $d2 (i32.ge_u (local.get $k) (i32.const ${per})))
        (i32.store (i32.const 0x10000) (local.get $i))
        (call $check (i32.const 21) (call $write (local.get $down) (i32.const ${size}) (i32.const 0x10000)) (i32.const 0))
        (call $check (i32.const 22) (call $read (local.get $up) (i32.const 0x20000) (i32.const ${size})) (i32.const 0))
        (call $check (i32.const 23) (i32.load (i32.const 0x20000)) (local.get $i))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (local.set $k (i32.add (local.get $k) (i32.const 1))) (br $l2)))
      (call $marker)
      (local.set $j (i32.add (local.get $j) (i32.const 1))) (br $l)))`,
    true,
    1,
  );
}
