// sys::process's methods (PID 20; docs/services.md "sys::process", NCW's methods: commonassembly/abi/
// services/process.ts) from a real app through `ncw run`: a client forks a child that sleeps, then asks for
// its children and the child's attributes, sets the child's priority, suspends and unsuspends it, is
// refused for itself, a system service, an unknown PID and another application's process, and ends the
// child with a forced termination — answers compared with bytes written out by hand.

import { afterAll, describe, expect, it } from "vitest";
import { OK, TestHome, withOtherApp } from "./kernel-helpers.js";
import { systemClient } from "./services-apps.js";

const home = new TestHome({
  NCW_GRANT_PERMISSIONS: "programs.running.processes",
  NCW_SUSPEND_DELAY_MS: "100",
});
afterAll(() => home.cleanup());

const SYS_PROCESS = 20;

/**
 * $call_m sock method len: send the method with `len` bytes of arguments at 0x7000 and wait for the
 * answer at 0x7100; returns the status byte (0x04 answer, 0x06 error: its errcode at 0x7100).
 * $state sock pid: PROCESS_INFO's state byte of `pid`, or 0xff when it is answered with an error.
 */
const FUNCS = `
  (func $call_m (param $s i64) (param $m i32) (param $len i32) (result i32)
    (call $check (i32.const 200) (call $sendn (local.get $s) (local.get $m) (i32.const 0x7000) (local.get $len)) (i32.const ${OK}))
    (loop $wait (if (i32.eqz (i32.atomic.load (i32.const 0x3520))) (then (call $sleep (i32.const 5)) (br $wait))))
    (call $check (i32.const 201) (call $read (local.get $s) (i32.const 0x7100)) (i32.const ${OK}))
    (call $r8 (i32.const 5)))
  (func $state (param $s i64) (param $pid i64) (result i32)
    (i64.store (i32.const 0x7000) (local.get $pid))
    (if (i32.ne (call $call_m (local.get $s) (i32.const 2) (i32.const 8)) (i32.const 0x04)) (then (return (i32.const 0xff))))
    ;; ppid (8), name (8 + its length), system (1), then the state
    (i32.load8_u (i32.add (i32.const 0x7111) (i32.wrap_i64 (i64.load (i32.const 0x7108))))))
  (func $act (param $s i64) (param $m i32) (param $pid i64) (param $v i32) (result i32)
    (i64.store (i32.const 0x7000) (local.get $pid)) (i32.store8 (i32.const 0x7008) (local.get $v))
    (call $call_m (local.get $s) (local.get $m) (i32.const 9)))`;

/** The client with a forked child (which sleeps until it is ended) in $child. */
function forking(body: string): string {
  return systemClient(
    `
      (call $q (i32.const 1) (i64.const 0)) (call $b (i32.const 0) (i32.const 0x50))
      (call $check (i32.const 1) (call $fork (i32.const 0x1000) (i32.const 9) (i32.const 0x2000)) (i32.const ${OK}))
      (local.set $child (call $r64 (i32.const 0)))
      (if (i32.eq (call $r8 (i32.const 8)) (i32.const 1)) (then (loop $z (call $sleep (i32.const 20)) (br $z))))
      (call $check (i32.const 2) (call $connect (i32.const 0) (i32.const 0) (i64.const ${SYS_PROCESS}) (i32.const 0) (i32.const 0)) (i32.const ${OK}))
      (local.set $sock (call $r64 (i32.const 8)))
      ${body}`,
    FUNCS,
  )
    .replace(
      "(local $sock i64)",
      "(local $child i64) (local $me i64) (local $tries i32) (local $sock i64)",
    )
    .replace("2 64 shared", "8 64 shared")
    .replace(
      "(memory",
      '(import "nightos" "syscall_fork" (func $fork (param i32 i32 i32) (result i32)))\n  (memory',
    );
}

describe("sys::process", () => {
  it("lists a process' children, reads and sets its attributes, suspends, unsuspends and ends it", () => {
    const r = home.run(
      forking(`
      ;; PROCESS_INFO of the child: its ppid is this process
      (i64.store (i32.const 0x7000) (local.get $child))
      (call $check (i32.const 10) (call $call_m (local.get $sock) (i32.const 2) (i32.const 8)) (i32.const 0x04))
      (local.set $me (i64.load (i32.const 0x7100)))
      ;; CHILDREN (0x0003) of this process: a list of one u64 (byte length 8, then the child's PID)
      (i64.store (i32.const 0x7000) (local.get $me))
      (call $check (i32.const 11) (call $call_m (local.get $sock) (i32.const 3) (i32.const 8)) (i32.const 0x04))
      (call $check (i32.const 12) (i32.load (i32.const 0x2000)) (i32.const 16))
      (call $check64 (i32.const 13) (i64.load (i32.const 0x7100)) (i64.const 8))
      (call $check64 (i32.const 14) (i64.load (i32.const 0x7108)) (local.get $child))
      ;; the child has none: an empty list (8 bytes of zero length); sys::process (20) none either
      (i64.store (i32.const 0x7000) (local.get $child))
      (call $check (i32.const 15) (call $call_m (local.get $sock) (i32.const 3) (i32.const 8)) (i32.const 0x04))
      (call $check (i32.const 16) (i32.load (i32.const 0x2000)) (i32.const 8))
      (call $check64 (i32.const 17) (i64.load (i32.const 0x7100)) (i64.const 0))
      ;; an unknown PID: 0x3000
      (i64.store (i32.const 0x7000) (i64.const 999999))
      (call $check (i32.const 18) (call $call_m (local.get $sock) (i32.const 3) (i32.const 8)) (i32.const 0x06))
      (call $check (i32.const 19) (i32.load16_u (i32.const 0x7100)) (i32.const 0x3000))
      ;; PROCESS_ATTRIBUTES (0x0004) of sys::process itself: priority 10, user 0, ANID 0 (17 bytes)
      (i64.store (i32.const 0x7000) (i64.const ${SYS_PROCESS}))
      (call $check (i32.const 20) (call $call_m (local.get $sock) (i32.const 4) (i32.const 8)) (i32.const 0x04))
      (call $check (i32.const 21) (i32.load (i32.const 0x2000)) (i32.const 17))
      (call $check (i32.const 22) (i32.load8_u (i32.const 0x7100)) (i32.const 10))
      (call $check64 (i32.const 23) (i64.load (i32.const 0x7101)) (i64.const 0))
      (call $check64 (i32.const 24) (i64.load (i32.const 0x7109)) (i64.const 0))
      ;; the child's ANID is this process' (a fork runs the same application), and not 0
      (i64.store (i32.const 0x7000) (local.get $me))
      (call $check (i32.const 25) (call $call_m (local.get $sock) (i32.const 4) (i32.const 8)) (i32.const 0x04))
      (i64.store (i32.const 0x7f00) (i64.load (i32.const 0x7109)))
      (call $check (i32.const 26) (i64.eqz (i64.load (i32.const 0x7f00))) (i32.const 0))
      (i64.store (i32.const 0x7000) (local.get $child))
      (call $check (i32.const 27) (call $call_m (local.get $sock) (i32.const 4) (i32.const 8)) (i32.const 0x04))
      (call $check64 (i32.const 28) (i64.load (i32.const 0x7109)) (i64.load (i32.const 0x7f00)))
      ;; SET_PRIORITY (0x1001) 3: answered with nothing; PROCESS_ATTRIBUTES then says 3
      (call $check (i32.const 30) (call $act (local.get $sock) (i32.const 0x1001) (local.get $child) (i32.const 3)) (i32.const 0x04))
      (call $check (i32.const 31) (i32.load (i32.const 0x2000)) (i32.const 0))
      (i64.store (i32.const 0x7000) (local.get $child))
      (call $check (i32.const 32) (call $call_m (local.get $sock) (i32.const 4) (i32.const 8)) (i32.const 0x04))
      (call $check (i32.const 33) (i32.load8_u (i32.const 0x7100)) (i32.const 3))
      ;; priorities 0 and 11: 0x1000
      (call $check (i32.const 34) (call $act (local.get $sock) (i32.const 0x1001) (local.get $child) (i32.const 0)) (i32.const 0x06))
      (call $check (i32.const 35) (i32.load16_u (i32.const 0x7100)) (i32.const 0x1000))
      (call $check (i32.const 36) (call $act (local.get $sock) (i32.const 0x1001) (local.get $child) (i32.const 11)) (i32.const 0x06))
      (call $check (i32.const 37) (i32.load16_u (i32.const 0x7100)) (i32.const 0x1000))
      ;; MANAGE_PROCESS (0x1000): action 0x06 is none: 0x1000; unsuspending a running process: 0x3001
      (call $check (i32.const 40) (call $act (local.get $sock) (i32.const 0x1000) (local.get $child) (i32.const 6)) (i32.const 0x06))
      (call $check (i32.const 41) (i32.load16_u (i32.const 0x7100)) (i32.const 0x1000))
      (call $check (i32.const 42) (call $act (local.get $sock) (i32.const 0x1000) (local.get $child) (i32.const 3)) (i32.const 0x06))
      (call $check (i32.const 43) (i32.load16_u (i32.const 0x7100)) (i32.const 0x3001))
      ;; itself, a system service: 0x3002; an unknown PID: 0x3000
      (call $check (i32.const 44) (call $act (local.get $sock) (i32.const 0x1000) (local.get $me) (i32.const 4)) (i32.const 0x06))
      (call $check (i32.const 45) (i32.load16_u (i32.const 0x7100)) (i32.const 0x3002))
      (call $check (i32.const 46) (call $act (local.get $sock) (i32.const 0x1000) (i64.const 15) (i32.const 5)) (i32.const 0x06))
      (call $check (i32.const 47) (i32.load16_u (i32.const 0x7100)) (i32.const 0x3002))
      (call $check (i32.const 48) (call $act (local.get $sock) (i32.const 0x1000) (i64.const 999999) (i32.const 5)) (i32.const 0x06))
      (call $check (i32.const 49) (i32.load16_u (i32.const 0x7100)) (i32.const 0x3000))
      ;; forced suspension (0x02): WILL_SUSPEND, suspended after the suspend delay (100 ms here): state 3
      (call $check (i32.const 50) (call $act (local.get $sock) (i32.const 0x1000) (local.get $child) (i32.const 2)) (i32.const 0x04))
      (local.set $tries (i32.const 0))
      (loop $w (if (i32.ne (call $state (local.get $sock) (local.get $child)) (i32.const 3)) (then
        (call $sleep (i32.const 20)) (local.set $tries (i32.add (local.get $tries) (i32.const 1)))
        (call $check (i32.const 51) (i32.lt_u (local.get $tries) (i32.const 500)) (i32.const 1)) (br $w))))
      ;; suspending it again: 0x3001; unsuspending (0x03): running again (state 2)
      (call $check (i32.const 52) (call $act (local.get $sock) (i32.const 0x1000) (local.get $child) (i32.const 1)) (i32.const 0x06))
      (call $check (i32.const 53) (i32.load16_u (i32.const 0x7100)) (i32.const 0x3001))
      (call $check (i32.const 54) (call $act (local.get $sock) (i32.const 0x1000) (local.get $child) (i32.const 3)) (i32.const 0x04))
      (call $check (i32.const 55) (call $state (local.get $sock) (local.get $child)) (i32.const 2))
      ;; forced termination (0x05): WILL_TERMINATE, whose default action ends it: PROCESS_INFO then 0x3000
      (call $check (i32.const 60) (call $act (local.get $sock) (i32.const 0x1000) (local.get $child) (i32.const 5)) (i32.const 0x04))
      (local.set $tries (i32.const 0))
      (loop $w (if (i32.ne (call $state (local.get $sock) (local.get $child)) (i32.const 0xff)) (then
        (call $sleep (i32.const 20)) (local.set $tries (i32.add (local.get $tries) (i32.const 1)))
        (call $check (i32.const 61) (i32.lt_u (local.get $tries) (i32.const 500)) (i32.const 1)) (br $w))))
      (call $check (i32.const 62) (i32.load16_u (i32.const 0x7100)) (i32.const 0x3000))
      ;; its children: none now
      (i64.store (i32.const 0x7000) (local.get $me))
      (call $check (i32.const 63) (call $call_m (local.get $sock) (i32.const 3) (i32.const 8)) (i32.const 0x04))
      (call $check64 (i32.const 64) (i64.load (i32.const 0x7100)) (i64.const 0))`),
    );
    if (process.env.DUMP) console.log(r.stderr);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/kernel sends WILL_SUSPEND/);
    expect(r.stderr).toMatch(/kernel sends WILL_TERMINATE/);
  }, 90_000);

  it("refuses to manage another application's process (0x3002), which goes on running", async () => {
    await withOtherApp(home, (other) => {
      const r = home.run(
        forking(`
      (call $check (i32.const 10) (call $act (local.get $sock) (i32.const 0x1000) (i64.const ${other}) (i32.const 5)) (i32.const 0x06))
      (call $check (i32.const 11) (i32.load16_u (i32.const 0x7100)) (i32.const 0x3002))
      (call $check (i32.const 12) (call $act (local.get $sock) (i32.const 0x1001) (i64.const ${other}) (i32.const 2)) (i32.const 0x06))
      (call $check (i32.const 13) (i32.load16_u (i32.const 0x7100)) (i32.const 0x3002))
      (call $check (i32.const 14) (call $state (local.get $sock) (i64.const ${other})) (i32.const 2))
      (call $check (i32.const 15) (call $act (local.get $sock) (i32.const 0x1000) (local.get $child) (i32.const 5)) (i32.const 0x04))`),
      );
      if (process.env.DUMP) console.log(r.stderr);
      expect(r.code, r.stderr).toBe(0);
    });
  }, 90_000);
});
