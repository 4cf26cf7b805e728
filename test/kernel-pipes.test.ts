// Black-box tests of pipes (specs/kernel/syscalls.md 0x20–0x25, specs/kernel/ipc.md "Pipes",
// signals.md RECV_PIPE / PIPE_CLOSED; docs/ipc.md "Pipes") through `ncw run`: two NightOS processes of
// one application (CREATE_PROCESS), bytes through raw and message pipes in each mode, full buffers,
// proper and brutal closes, and the errcodes. Datafields are checked against bytes written out by hand.

import { afterAll, describe, expect, it } from "vitest";
import {
  DATAFIELD_FUNCS,
  dumps,
  E,
  forkPair,
  le,
  NEW_THREAD,
  OK,
  PATTERN_FUNCS,
  PIPE_IO_FUNCS,
  pids,
  program,
  TestHome,
  waitFor,
  withOtherApp,
} from "./kernel-helpers.js";

const home = new TestHome();
afterAll(() => home.cleanup());

const HELPERS = `${DATAFIELD_FUNCS}${PIPE_IO_FUNCS}${PATTERN_FUNCS}
  (func $open (param $pid i64) (param $cmd i32) (param $type i32) (param $mult i32) (param $tmode i32) (param $nmode i32) (param $hint i64) (result i32)
    (call $q (i32.const 1) (local.get $pid)) (call $h (i32.const 9) (local.get $cmd)) (call $b (i32.const 11) (local.get $type))
    (call $b (i32.const 12) (local.get $mult)) (call $b (i32.const 13) (local.get $tmode)) (call $b (i32.const 14) (local.get $nmode))
    (call $q (i32.const 15) (local.get $hint)) (call $call (i32.const 0x20) (i32.const 23)))
  ;; RECV_PIPE's datafield goes to 0x5000 (0x5100 counts them), PIPE_CLOSED's to 0x5200 (flag 0x5300)
  (func $onRecv (param $sig i32) (param $df i32) (result i64)
    (call $copy32 (local.get $df) (i32.const 0x5000)) (drop (i32.atomic.rmw.add (i32.const 0x5100) (i32.const 1)))
    ;; with 0x5400 set, a received SC is answered at once with one byte (0x5500) from inside the handler
    (if (i32.and (i32.load (i32.const 0x5400)) (i32.eq (i32.load8_u (i32.add (local.get $df) (i32.const 22))) (i32.const 1)))
      (then (i32.store (i32.const 0x5404) (call $write (i64.load (i32.add (local.get $df) (i32.const 12))) (i32.const 1) (i32.const 0x5500) (i32.const 0)))))
    (i64.const 0))
  (func $onClosed (param $sig i32) (param $df i32) (result i64)
    (call $copy32 (local.get $df) (i32.const 0x5200)) (i32.atomic.store (i32.const 0x5300) (i32.const 1)) (i64.const 0))
  (elem (i32.const 1) $onRecv $onClosed)
  (func $handlers
    (call $check (i32.const 90) (call $s8_64 (i32.const 0x01) (i32.const 0x20) (i64.const 1)) (i32.const ${OK}))
    (call $check (i32.const 91) (call $s8_64 (i32.const 0x01) (i32.const 0x21) (i64.const 2)) (i32.const ${OK}))
    (call $check (i32.const 92) (call $s0 (i32.const 0x04)) (i32.const ${OK})))
  ;; OPEN_PIPE to $child, retried while it has no RECV_PIPE handler yet (0x33), 5 ms apart
  (func $openTo (param $child i64) (param $cmd i32) (param $type i32) (param $mult i32) (param $tmode i32) (param $hint i64) (result i64)
    (local $s i32)
    (loop $again
      (local.set $s (call $open (local.get $child) (local.get $cmd) (local.get $type) (local.get $mult) (local.get $tmode) (i32.const 0) (local.get $hint)))
      (if (i32.eq (local.get $s) (i32.const ${E(0x33)})) (then
        (drop (call $s64_16 (i32.const 0x51) (local.get $child) (i32.const 5))) (br $again))))
    (call $check (i32.const 80) (local.get $s) (i32.const ${OK}))
    (call $r64 (i32.const 0)))`;

const pair = (child: string, parent: string) => forkPair(child, parent, HELPERS);

describe("raw pipes", () => {
  it("100 000 bytes through a 64 KB write pipe in blocking mode; RECV_PIPE and a proper PIPE_CLOSED; a buffer past the memory's end is 0x03 on both ends", () => {
    const r = home.run(
      pair(
        `;; child: the RC arrives with RECV_PIPE
        (call $await (i32.const 0x5100)) (call $dump (i32.const 0x5000))
        (local.set $id (i64.load (i32.const 0x500c)))
;; 8 KiB (a native copy's size, ring.ts NATIVE_COPY_MIN) running past the memory's end: 0x03, nothing read
        (call $check (i32.const 8) (call $read (local.get $id) (i32.const 0) (i32.sub (i32.mul (memory.size) (i32.const 0x10000)) (i32.const 100)) (i32.const 8192)) (i32.const ${E(0x03)}))
        (call $check (i32.const 10) (call $read (local.get $id) (i32.const 0) (i32.const 0x10000) (i32.const 100000)) (i32.const ${OK}))
        (call $check (i32.const 11) (call $same (i32.const 0x10000) (i32.const 100000) (i32.const 0)) (i32.const 1))
        ;; the writer closed: nothing is left, the pipe is unavailable
        (call $check (i32.const 12) (call $read (local.get $id) (i32.const 0) (i32.const 0x10000) (i32.const 1)) (i32.const ${E(0x31)}))
        (call $check (i32.const 13) (call $write (local.get $id) (i32.const 1) (i32.const 0x10000) (i32.const 0)) (i32.const ${E(0x30)}))
        (call $await (i32.const 0x5300)) (call $dump (i32.const 0x5200))
        ;; PIPE_INFO still knows the identifier: closed, raw, an RC
        (call $check (i32.const 14) (call $s64 (i32.const 0x24) (local.get $id)) (i32.const ${OK}))
        (call $check (i32.const 15) (call $r8 (i32.const 0)) (i32.const 0))
        (call $check (i32.const 16) (call $s64 (i32.const 0x25) (local.get $id)) (i32.const ${OK}))
        (call $check (i32.const 17) (call $s64 (i32.const 0x24) (local.get $id)) (i32.const ${E(0x30)}))`,
        `(call $fill (i32.const 0x10000) (i32.const 100000) (i32.const 0))
        (local.set $id (call $openTo (local.get $child) (i32.const 0x1234) (i32.const 0) (i32.const 0) (i32.const 0) (i64.const 100000)))
        ;; the same on the writing end: 0x03, nothing written (the reader then gets exactly the 100 000 bytes)
        (call $check (i32.const 18) (call $write (local.get $id) (i32.const 8192) (i32.sub (i32.mul (memory.size) (i32.const 0x10000)) (i32.const 100)) (i32.const 0)) (i32.const ${E(0x03)}))
        (call $check (i32.const 20) (call $write (local.get $id) (i32.const 100000) (i32.const 0x10000) (i32.const 0)) (i32.const ${OK}))
        (call $check (i32.const 21) (call $s64 (i32.const 0x24) (local.get $id)) (i32.const ${OK}))
        ;; open, raw, an SC: 0x80 | 0x02 (bit 0 is the strongest); capacity 64 KiB; the creator is this process
        (call $check (i32.const 22) (i32.and (call $r8 (i32.const 0)) (i32.const 0xc2)) (i32.const 0x82))
        (call $check64 (i32.const 23) (call $r64 (i32.const 1)) (i64.const 65536))
        (call $check (i32.const 24) (call $s64 (i32.const 0x25) (local.get $id)) (i32.const ${OK}))
        (call $check (i32.const 25) (call $s64 (i32.const 0x25) (local.get $id)) (i32.const ${E(0x30)}))`,
      ),
    );
    const { parent, child } = pids(r.stderr);
    expect(r.stderr).toMatch(new RegExp(`\\[pid ${child}\\] EXIT \\{exitData: 42\\}`));
    expect(r.code).toBe(5);
    const [recv, closed] = dumps(r.stderr, child);
    // RECV_PIPE: creator PID (8), creator's ANID (4), RC identifier (8), command (2), identifier type
    // (1: 0x00 = RC), mode (1: 0x00 raw), size hint (8). The child's first identifier is 1.
    expect(recv).toMatch(
      new RegExp(`^${le(parent, 8)}[0-9a-f]{8}${le(1, 8)}3412` + `00` + `00` + `${le(100000, 8)}$`),
    );
    expect(recv?.slice(16, 24)).not.toBe("00000000");
    // PIPE_CLOSED: closing type 0x00 (CLOSE_PIPE), identity 0x00 (this process held the RC), RC id 1.
    expect(closed).toBe(`00` + `00` + le(1, 8) + "00".repeat(22));
  });

  it("full buffer in each mode, zero-byte writes, no notification; what is left is read after the close", () => {
    const r = home.run(
      pair(
        `;; child: no RECV_PIPE (notification skipped); its first identifier is 1. Wait until the pipe closed.
        (local.set $id (i64.const 1))
        (loop $w
          (local.set $v (call $s64 (i32.const 0x24) (local.get $id)))
          (br_if $w (i32.eq (local.get $v) (i32.const ${E(0x30)})))
          (br_if $w (i32.ne (i32.and (call $r8 (i32.const 0)) (i32.const 0x80)) (i32.const 0))))
        ;; mode 0x02, length 0: everything pending (64 KiB), the value is how many
        (call $check (i32.const 10) (call $read (local.get $id) (i32.const 2) (i32.const 0x10000) (i32.const 0)) (i32.const ${OK}))
        (call $check (i32.const 11) (call $r32) (i32.const 65536))
        (call $check (i32.const 12) (call $same (i32.const 0x10000) (i32.const 65536) (i32.const 0)) (i32.const 1))
        (call $check (i32.const 13) (call $read (local.get $id) (i32.const 1) (i32.const 0x10000) (i32.const 1)) (i32.const ${E(0x31)}))
        (call $check (i32.const 14) (i32.atomic.load (i32.const 0x5100)) (i32.const 0))`,
        `(call $fill (i32.const 0x10000) (i32.const 70000) (i32.const 0))
        ;; notification mode 0x01: no handler needed, no signal
        (call $check (i32.const 19) (call $open (local.get $child) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 1) (i64.const 0)) (i32.const ${OK}))
        (local.set $id (call $r64 (i32.const 0)))
        ;; mode 0x01: 70 000 bytes never fit: 0x40, and the value says why (0x01: no room)
        (call $check (i32.const 20) (call $write (local.get $id) (i32.const 70000) (i32.const 0x10000) (i32.const 1)) (i32.const ${E(0x40)}))
        (call $check (i32.const 21) (call $r32) (i32.const 1))
        ;; mode 0x02: as much as possible
        (call $check (i32.const 22) (call $write (local.get $id) (i32.const 70000) (i32.const 0x10000) (i32.const 2)) (i32.const ${OK}))
        (call $check (i32.const 23) (call $r32) (i32.const 65536))
        (call $check (i32.const 24) (call $write (local.get $id) (i32.const 1) (i32.const 0x10000) (i32.const 2)) (i32.const ${OK}))
        (call $check (i32.const 25) (call $r32) (i32.const 0))
        (call $check (i32.const 26) (call $write (local.get $id) (i32.const 1) (i32.const 0x10000) (i32.const 1)) (i32.const ${E(0x40)}))
        ;; zero bytes: at once, even full, in mode 0x00 (remaining capacity 0)
        (call $check (i32.const 27) (call $write (local.get $id) (i32.const 0) (i32.const 0) (i32.const 0)) (i32.const ${OK}))
        (call $check (i32.const 28) (call $r32) (i32.const 0))
        (call $check (i32.const 29) (call $write (local.get $id) (i32.const 1) (i32.const 0x10000) (i32.const 3)) (i32.const ${E(0x10)}))
        ;; PIPE_INFO: open | full | SC = 0x80 | 0x20 | 0x02, capacity 64 KiB, nothing remaining
        (call $check (i32.const 30) (call $s64 (i32.const 0x24) (local.get $id)) (i32.const ${OK}))
        (call $check (i32.const 31) (call $r8 (i32.const 0)) (i32.const 0xa2))
        (call $check64 (i32.const 32) (call $r64 (i32.const 9)) (i64.const 0))
        (call $check (i32.const 33) (call $s64 (i32.const 0x25) (local.get $id)) (i32.const ${OK}))`,
      ),
    );
    const { child } = pids(r.stderr);
    expect(r.stderr).toMatch(new RegExp(`\\[pid ${child}\\] EXIT \\{exitData: 42\\}`));
    expect(r.stderr).not.toMatch(/kernel sends RECV_PIPE/);
    expect(r.code).toBe(5);
  });
});

describe("message pipes", () => {
  it("whole messages with their lengths; over 64 KB and mode 0x02 refused; the writer dies: brutal PIPE_CLOSED, its messages still readable", () => {
    const r = home.run(
      pair(
        `;; child: gets the SC of the parent's read pipe, writes two messages, exits without closing
        (call $fill (i32.const 0x10000) (i32.const 8) (i32.const 0))
        (call $await (i32.const 0x5100)) (call $dump (i32.const 0x5000))
        (local.set $id (i64.load (i32.const 0x500c)))
        (call $check (i32.const 10) (call $write (local.get $id) (i32.const 5) (i32.const 0x10000) (i32.const 0)) (i32.const ${OK}))
        (call $check (i32.const 11) (call $write (local.get $id) (i32.const 3) (i32.const 0x10005) (i32.const 1)) (i32.const ${OK}))
        (call $check (i32.const 12) (call $write (local.get $id) (i32.const 65537) (i32.const 0x10000) (i32.const 0)) (i32.const ${E(0x32)}))
        (call $check (i32.const 13) (call $write (local.get $id) (i32.const 3) (i32.const 0x10000) (i32.const 2)) (i32.const ${E(0x33)}))
        (call $check (i32.const 14) (call $s64 (i32.const 0x24) (local.get $id)) (i32.const ${OK}))
        ;; open | message | SC
        (call $check (i32.const 15) (call $r8 (i32.const 0)) (i32.const 0xc2))`,
        `
        (local.set $id (call $openTo (local.get $child) (i32.const 7) (i32.const 1) (i32.const 1) (i32.const 1) (i64.const 0)))
        (call $check (i32.const 20) (call $read (local.get $id) (i32.const 2) (i32.const 0x20000) (i32.const 100)) (i32.const ${E(0x33)}))
        ;; one message per read, its length as the value, even into a larger buffer
        (call $check (i32.const 21) (call $read (local.get $id) (i32.const 0) (i32.const 0x20000) (i32.const 100)) (i32.const ${OK}))
        (call $check (i32.const 22) (call $r32) (i32.const 5))
        (call $check (i32.const 23) (call $read (local.get $id) (i32.const 0) (i32.const 0x20005) (i32.const 100)) (i32.const ${OK}))
        (call $check (i32.const 24) (call $r32) (i32.const 3))
        (call $check (i32.const 25) (call $same (i32.const 0x20000) (i32.const 8) (i32.const 0)) (i32.const 1))
        ;; the writer exited without CLOSE_PIPE: a blocked read wakes with 0x31
        (call $check (i32.const 26) (call $read (local.get $id) (i32.const 0) (i32.const 0x20000) (i32.const 100)) (i32.const ${E(0x31)}))
        (call $await (i32.const 0x5300)) (call $dump (i32.const 0x5200))
        ;; closing a pipe whose peer terminated: 0x31
        (call $check (i32.const 27) (call $s64 (i32.const 0x25) (local.get $id)) (i32.const ${E(0x31)}))`,
      ),
    );
    const { parent, child } = pids(r.stderr);
    expect(r.code).toBe(5);
    const [recv] = dumps(r.stderr, child);
    // identifier type 0x01 (an SC), mode 0x01 (message), command 7, no size hint
    expect(recv).toMatch(
      new RegExp(`^${le(parent, 8)}[0-9a-f]{8}${le(1, 8)}0700` + `01` + `01` + `${le(0, 8)}$`),
    );
    const [closed] = dumps(r.stderr, parent);
    // closing type 0x01 (brutally terminated), identity 0x00 (the parent held the RC), the parent's RC id
    expect(closed).toBe(`01` + `00` + le(7, 8) + "00".repeat(22));
  });
});

describe("a peer killed mid-transfer", () => {
  it("a writer blocked on a full pipe still takes its signals; killed, what it wrote stays readable and the reader gets a brutal PIPE_CLOSED", () => {
    const r = home.run(
      pair(
        `;; child: 100 000 bytes into a 64 KiB read pipe of the parent's: blocks once it is full
        (call $fill (i32.const 0x10000) (i32.const 100000) (i32.const 0))
        (call $await (i32.const 0x5100))
        (local.set $id (i64.load (i32.const 0x500c)))
        (drop (call $write (local.get $id) (i32.const 100000) (i32.const 0x10000) (i32.const 0)))
        (call $exit (i64.const 66))`,
        `(local.set $id (call $openTo (local.get $child) (i32.const 0) (i32.const 1) (i32.const 0) (i32.const 0) (i64.const 0)))
        ;; wait until the pipe is full (PIPE_INFO bit 2, 0x20), then kill the writer (WILL_TERMINATE, no handler)
        (loop $w
          (call $check (i32.const 20) (call $s64 (i32.const 0x24) (local.get $id)) (i32.const ${OK}))
          (br_if $w (i32.eqz (i32.and (call $r8 (i32.const 0)) (i32.const 0x20)))))
        (call $check (i32.const 21) (call $s64_16 (i32.const 0x52) (local.get $child) (i32.const 0)) (i32.const ${OK}))
        ;; the 64 KiB it had written are still there, then the pipe is unavailable
        (call $check (i32.const 22) (call $read (local.get $id) (i32.const 2) (i32.const 0x20000) (i32.const 0)) (i32.const ${OK}))
        (call $check (i32.const 23) (call $r32) (i32.const 65536))
        (call $check (i32.const 24) (call $same (i32.const 0x20000) (i32.const 65536) (i32.const 0)) (i32.const 1))
        (call $check (i32.const 25) (call $read (local.get $id) (i32.const 0) (i32.const 0x20000) (i32.const 1)) (i32.const ${E(0x31)}))
        (call $await (i32.const 0x5300)) (call $dump (i32.const 0x5200))`,
      ),
    );
    const { parent, child } = pids(r.stderr);
    expect(r.stderr).toMatch(new RegExp(`\\[pid ${child}\\] signal WILL_TERMINATE: no handler`));
    expect(r.stderr).not.toMatch(/exitData: 66/);
    expect(r.code).toBe(5);
    const [closed] = dumps(r.stderr, parent);
    expect(closed).toBe(`01` + `00` + le(7, 8) + "00".repeat(22));
  });
});

describe("threads", () => {
  it("a thread writes through the SC, the main thread reads the RC (a pipe with itself, no notification)", () => {
    const r = home.run(
      program(
        `(local $v i32)
        (drop (call $s0 (i32.const 0x53)))
        ;; a write pipe with itself: its SC is identifier 7, the RC it receives is 8 (1–6: its command pipes)
        (call $check (i32.const 1) (call $open (call $r64 (i32.const 0)) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 1) (i64.const 0)) (i32.const ${OK}))
        (call $check64 (i32.const 2) (call $r64 (i32.const 0)) (i64.const 7))
        (call $q (i32.const 1) (i64.const 0)) (call $b (i32.const 0) (i32.const 0x60))
        (local.set $v (call $fork (i32.const 0x1000) (i32.const 9) (i32.const 0x2000)))
        (if (i32.eq (local.get $v) (i32.const ${NEW_THREAD})) (then
          ;; the thread: PIPE_WRITE(7, 4 bytes at 0x4000, mode 0x00) with its own areas at 0x1800 / 0x2800
          (i32.store8 (i32.const 0x1800) (i32.const 0x22)) (i64.store (i32.const 0x1801) (i64.const 7))
          (i32.store (i32.const 0x1809) (i32.const 4)) (i64.store (i32.const 0x180d) (i64.const 0x4000))
          (i32.store8 (i32.const 0x1815) (i32.const 0))
          (i32.atomic.store (i32.const 0x3000) (i32.add (i32.const 1) (call $sys (i32.const 0x1800) (i32.const 22) (i32.const 0x2800))))
          (loop $spin (br $spin))))
        (call $check (i32.const 3) (call $read (i64.const 8) (i32.const 0) (i32.const 0x6000) (i32.const 4)) (i32.const ${OK}))
        (call $check (i32.const 4) (i32.load (i32.const 0x6000)) (i32.load (i32.const 0x4000)))
        (call $await (i32.const 0x3000))
        (call $check (i32.const 5) (i32.atomic.load (i32.const 0x3000)) (i32.const 1))
        (call $exit (i64.const 7))`,
        `(data (i32.const 0x4000) "ping") ${HELPERS}`,
      ).replace(
        "(memory",
        '(import "nightos" "syscall_fork" (func $fork (param i32 i32 i32) (result i32)))\n  (memory',
      ),
    );
    expect(r.stderr).toMatch(/PIPE_WRITE \{sc: 7, count: 4, buffer: 16384, mode: 0\} -> ok/);
    expect(r.code).toBe(7);
  });
});

describe("locking", () => {
  it("a writer blocked on a full pipe holds its lock: PIPE_INFO says locked, mode 0x01 fails with cause 0x00", () => {
    const r = home.run(
      program(
        `(local $v i32)
        (drop (call $s0 (i32.const 0x53)))
        (call $check (i32.const 1) (call $open (call $r64 (i32.const 0)) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 1) (i64.const 0)) (i32.const ${OK}))
        (call $q (i32.const 1) (i64.const 0)) (call $b (i32.const 0) (i32.const 0x60))
        (local.set $v (call $fork (i32.const 0x1000) (i32.const 9) (i32.const 0x2000)))
        (if (i32.eq (local.get $v) (i32.const ${NEW_THREAD})) (then
          ;; the thread: PIPE_WRITE(7, 100 000 bytes, mode 0x00) into the 64 KiB pipe: it waits, locked
          (i32.store8 (i32.const 0x1800) (i32.const 0x22)) (i64.store (i32.const 0x1801) (i64.const 7))
          (i32.store (i32.const 0x1809) (i32.const 100000)) (i64.store (i32.const 0x180d) (i64.const 0x10000))
          (i32.store8 (i32.const 0x1815) (i32.const 0))
          (drop (call $sys (i32.const 0x1800) (i32.const 22) (i32.const 0x2800)))
          (loop $spin (br $spin))))
        ;; full (0x20) and locked (0x10)
        (loop $w
          (call $check (i32.const 2) (call $s64 (i32.const 0x24) (i64.const 7)) (i32.const ${OK}))
          (br_if $w (i32.ne (i32.and (call $r8 (i32.const 0)) (i32.const 0x30)) (i32.const 0x30))))
        (call $check (i32.const 3) (call $write (i64.const 7) (i32.const 1) (i32.const 0x10000) (i32.const 1)) (i32.const ${E(0x40)}))
        (call $check (i32.const 4) (call $r32) (i32.const 0))
        ;; the RC side is not locked: it reads
        (call $check (i32.const 5) (call $read (i64.const 8) (i32.const 1) (i32.const 0x30000) (i32.const 16)) (i32.const ${OK}))
        (call $exit (i64.const 7))`,
        HELPERS,
      )
        .replace("2 64 shared", "8 64 shared")
        .replace(
          "(memory",
          '(import "nightos" "syscall_fork" (func $fork (param i32 i32 i32) (result i32)))\n  (memory',
        ),
    );
    expect(r.stderr).toMatch(
      /PIPE_WRITE \{sc: 7, count: 1, buffer: 0x10000, mode: 1\} -> err 0x40 NOT_ENOUGH_SPACE \{result: 0\}/,
    );
    expect(r.code).toBe(7);
  });
});

describe("SEND_PIPE", () => {
  it("shares the caller's SC: the target gets its own identifier for it with RECV_PIPE, and writes through it", () => {
    const r = home.run(
      pair(
        `;; child: RC 1 from OPEN_PIPE, then the shared SC as identifier 2
        (loop $w (br_if $w (i32.lt_u (i32.atomic.load (i32.const 0x5100)) (i32.const 2))))
        (call $dump (i32.const 0x5000))
        (call $fill (i32.const 0x10000) (i32.const 4) (i32.const 0))
        (call $check (i32.const 10) (call $write (i64.const 2) (i32.const 4) (i32.const 0x10000) (i32.const 0)) (i32.const ${OK}))
        (call $check (i32.const 11) (call $read (i64.const 1) (i32.const 0) (i32.const 0x20000) (i32.const 4)) (i32.const ${OK}))
        (call $check (i32.const 12) (call $same (i32.const 0x20000) (i32.const 4) (i32.const 0)) (i32.const 1))`,
        `(local.set $id (call $openTo (local.get $child) (i32.const 9) (i32.const 0) (i32.const 0) (i32.const 0) (i64.const 0)))
        (call $q (i32.const 1) (local.get $id)) (call $q (i32.const 9) (local.get $child)) (call $b (i32.const 17) (i32.const 0))
        (call $check (i32.const 20) (call $call (i32.const 0x21) (i32.const 18)) (i32.const ${OK}))
        (call $q (i32.const 1) (i64.const 99))
        (call $check (i32.const 21) (call $call (i32.const 0x21) (i32.const 18)) (i32.const ${E(0x02)}))`,
      ),
    );
    const { parent, child } = pids(r.stderr);
    expect(r.stderr).toMatch(new RegExp(`\\[pid ${child}\\] EXIT \\{exitData: 42\\}`));
    expect(r.code).toBe(5);
    const [recv] = dumps(r.stderr, child);
    // the SC (type 0x01), raw, command 0 for a shared end, the creator is still the parent
    expect(recv).toMatch(
      new RegExp(`^${le(parent, 8)}[0-9a-f]{8}${le(2, 8)}0000` + `01` + `00` + `${le(0, 8)}$`),
    );
  });
});

describe("same application and same user", () => {
  it("a process of another application (another `ncw run`) is refused with 0x31", async () => {
    await withOtherApp(home, (pid) => {
      const r = home.run(
        program(
          `(call $check (i32.const 1) (call $open (i64.const ${pid}) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 1) (i64.const 0)) (i32.const ${E(0x31)}))
          (call $exit (i64.const 3))`,
          HELPERS,
        ),
      );
      expect(r.stderr).toMatch(/OPEN_PIPE .* -> err 0x31 OTHER_APPLICATION/);
      expect(r.code).toBe(3);
    });
  });
});

describe("signals while a call waits", () => {
  it("a PIPE_READ blocked on an empty pipe runs a RECV_PIPE handler meanwhile, which writes through another pipe", () => {
    const r = home.run(
      pair(
        `(i32.store (i32.const 0x5400) (i32.const 1)) (i32.store8 (i32.const 0x5500) (i32.const 0x77))
        (call $await (i32.const 0x5100))
        (call $check (i32.const 10) (call $read (i64.const 1) (i32.const 0) (i32.const 0x20000) (i32.const 4)) (i32.const ${OK}))
        (call $check (i32.const 11) (call $same (i32.const 0x20000) (i32.const 4) (i32.const 0)) (i32.const 1))
        (call $check (i32.const 12) (i32.load (i32.const 0x5100)) (i32.const 2))
        (call $check (i32.const 13) (i32.load (i32.const 0x5404)) (i32.const ${OK}))`,
        `(call $fill (i32.const 0x10000) (i32.const 4) (i32.const 0))
        (local.set $id (call $openTo (local.get $child) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i64.const 0)))
        ;; let the child block in its read, then give it the SC of a read pipe of ours
        (drop (call $s64_16 (i32.const 0x51) (local.get $child) (i32.const 300)))
        (drop (call $openTo (local.get $child) (i32.const 0) (i32.const 1) (i32.const 0) (i32.const 0) (i64.const 0)))
        (call $check (i32.const 20) (call $read (i64.const 8) (i32.const 0) (i32.const 0x20000) (i32.const 1)) (i32.const ${OK}))
        (call $check (i32.const 21) (i32.load8_u (i32.const 0x20000)) (i32.const 0x77))
        ;; only now does the child's first read get its bytes
        (call $check (i32.const 22) (call $write (local.get $id) (i32.const 4) (i32.const 0x10000) (i32.const 0)) (i32.const ${OK}))`,
      ),
    );
    const { child } = pids(r.stderr);
    expect(r.stderr).toMatch(new RegExp(`\\[pid ${child}\\] EXIT \\{exitData: 42\\}`));
    expect(r.code).toBe(5);
    const lines = r.stderr.split("\n");
    const handlerWrite = lines.findIndex((l) => l.startsWith(`[pid ${child}] PIPE_WRITE`));
    const blockedRead = lines.findIndex((l) => l.startsWith(`[pid ${child}] PIPE_READ`));
    expect(handlerWrite).toBeGreaterThan(0);
    expect(blockedRead).toBeGreaterThan(handlerWrite);
  });
});

describe("errcodes", () => {
  it("modes, pipe type, PIDs and identifiers; mode 0x01 failing with cause 0x01; writing after the RC closed", () => {
    const r = home.run(
      program(
        `(call $check (i32.const 1) (call $open (i64.const 99999) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 1) (i64.const 0)) (i32.const ${E(0x30)}))
        (call $check (i32.const 2) (call $open (i64.const 99999) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 2) (i32.const 1) (i64.const 0)) (i32.const ${E(0x10)}))
        (call $check (i32.const 3) (call $open (i64.const 99999) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 2) (i64.const 0)) (i32.const ${E(0x11)}))
        (call $check (i32.const 4) (call $open (i64.const 99999) (i32.const 0) (i32.const 2) (i32.const 0) (i32.const 0) (i32.const 0) (i64.const 0)) (i32.const ${E(0x02)}))
        (call $check (i32.const 5) (call $write (i64.const 77) (i32.const 1) (i32.const 0x3000) (i32.const 0)) (i32.const ${E(0x30)}))
        (call $check (i32.const 6) (call $read (i64.const 77) (i32.const 0) (i32.const 0x3000) (i32.const 1)) (i32.const ${E(0x30)}))
        (call $check (i32.const 7) (call $s64 (i32.const 0x24) (i64.const 77)) (i32.const ${E(0x30)}))
        (call $check (i32.const 8) (call $s64 (i32.const 0x25) (i64.const 77)) (i32.const ${E(0x30)}))
        ;; a pipe with itself, without a RECV_PIPE handler: 0x33
        (drop (call $s0 (i32.const 0x53)))
        (call $check (i32.const 9) (call $open (call $r64 (i32.const 0)) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i64.const 0)) (i32.const ${E(0x33)}))
        ;; without notification: SC 7, RC 8 in this process (1–6: its command pipes)
        (drop (call $s0 (i32.const 0x53)))
        (call $check (i32.const 10) (call $open (call $r64 (i32.const 0)) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 1) (i64.const 0)) (i32.const ${OK}))
        (call $check (i32.const 11) (call $read (i64.const 8) (i32.const 1) (i32.const 0x3000) (i32.const 4)) (i32.const ${E(0x32)}))
        (call $check (i32.const 12) (call $r32) (i32.const 1))
        (call $check (i32.const 13) (call $read (i64.const 8) (i32.const 3) (i32.const 0x3000) (i32.const 4)) (i32.const ${E(0x10)}))
        (call $check (i32.const 14) (call $read (i64.const 7) (i32.const 0) (i32.const 0x3000) (i32.const 4)) (i32.const ${E(0x30)}))
        (call $check (i32.const 15) (call $write (i64.const 8) (i32.const 4) (i32.const 0x3000) (i32.const 0)) (i32.const ${E(0x30)}))
        (call $check (i32.const 16) (call $write (i64.const 7) (i32.const 4) (i32.const 0x3000) (i32.const 0)) (i32.const ${OK}))
        (call $check (i32.const 17) (call $r32) (i32.const 65532))
        (call $check (i32.const 18) (call $read (i64.const 8) (i32.const 1) (i32.const 0x3000) (i32.const 8)) (i32.const ${E(0x32)}))
        (call $check (i32.const 19) (call $r32) (i32.const 1))
        (call $check (i32.const 20) (call $read (i64.const 8) (i32.const 1) (i32.const 0x3000) (i32.const 3)) (i32.const ${OK}))
        (call $check (i32.const 21) (call $r32) (i32.const 1))
        (call $check (i32.const 22) (call $s64 (i32.const 0x24) (i64.const 8)) (i32.const ${OK}))
        (call $check (i32.const 23) (call $r8 (i32.const 0)) (i32.const 0x80))
        (call $check (i32.const 24) (call $s64 (i32.const 0x25) (i64.const 8)) (i32.const ${OK}))
        (call $check (i32.const 25) (call $write (i64.const 7) (i32.const 4) (i32.const 0x3000) (i32.const 0)) (i32.const ${E(0x31)}))
        (call $exit (i64.const 3))`,
        HELPERS,
      ),
    );
    expect(r.stderr).toMatch(/OPEN_PIPE .* -> err 0x30 NO_SUCH_PID/);
    expect(r.code).toBe(3);
  });
});

/** The raw PIPE_WRITE request of a thread (its own areas at 0x1800 / 0x2800): status + 1 at 0x3000. */
const threadWrite = (id: string, count: number, buf: number) => `
  (i32.store8 (i32.const 0x1800) (i32.const 0x22)) (i64.store (i32.const 0x1801) ${id})
  (i32.store (i32.const 0x1809) (i32.const ${count})) (i64.store (i32.const 0x180d) (i64.const ${buf}))
  (i32.store8 (i32.const 0x1815) (i32.const 0))
  (i32.atomic.store (i32.const 0x3000) (i32.add (i32.const 1) (call $sys (i32.const 0x1800) (i32.const 22) (i32.const 0x2800))))`;
/** The raw PIPE_READ request (mode 0x00) of a thread, the same way. */
const threadRead = (id: string, buf: number, len: number) => `
  (i32.store8 (i32.const 0x1800) (i32.const 0x23)) (i64.store (i32.const 0x1801) ${id}) (i32.store8 (i32.const 0x1809) (i32.const 0))
  (i64.store (i32.const 0x180a) (i64.const ${buf})) (i64.store (i32.const 0x1812) (i64.const ${len}))
  (i32.atomic.store (i32.const 0x3000) (i32.add (i32.const 1) (call $sys (i32.const 0x1800) (i32.const 26) (i32.const 0x2800))))`;
/** CREATE_THREAD: the new thread runs `body`, then spins until the process ends. */
const thread = (body: string) => `
  (call $q (i32.const 1) (i64.const 0)) (call $b (i32.const 0) (i32.const 0x60))
  (if (i32.eq (call $fork (i32.const 0x1000) (i32.const 9) (i32.const 0x2000)) (i32.const ${NEW_THREAD})) (then
    ${body}
    (loop $spin (br $spin))))`;
/** Loop on PIPE_INFO($id) until (status & mask) == want; a failing PIPE_INFO exits with `fail`. */
const infoUntil = (id: string, mask: number, want: number, fail: number) => `
  (loop $until
    (call $check (i32.const ${fail}) (call $s64 (i32.const 0x24) ${id}) (i32.const ${OK}))
    (br_if $until (i32.ne (i32.and (call $r8 (i32.const 0)) (i32.const ${mask})) (i32.const ${want}))))`;
/** Wait until identifier 1 of this process exists (an end given with notification mode 0x01). */
const awaitFirstId = `(loop $w (br_if $w (i32.ne (call $s64 (i32.const 0x24) (i64.const 1)) (i32.const ${OK}))))`;

describe("PIPE_INFO's pending-request bits, seen from the other process", () => {
  it("write pending (0x08) while a writer waits for the write lock, clear once it has written", () => {
    const r = home.run(
      pair(
        `;; child: the RC is identifier 1. Wait until a writer waits for the lock:
        ${awaitFirstId}
        ${infoUntil("(i64.const 1)", 0x08, 0x08, 10)}
        ;; open | full | locked | write pending (0x80 | 0x20 | 0x10 | 0x08); not read pending, an RC
        (call $check (i32.const 11) (call $r8 (i32.const 0)) (i32.const 0xb8))
        ;; the lock holder's 100 000 bytes, then the waiter's 10, in that order
        (call $check (i32.const 12) (call $read (i64.const 1) (i32.const 0) (i32.const 0x20000) (i32.const 100010)) (i32.const ${OK}))
        (call $check (i32.const 13) (call $same (i32.const 0x20000) (i32.const 100000) (i32.const 0)) (i32.const 1))
        (call $check (i32.const 14) (call $same (i32.const 0x386a0) (i32.const 10) (i32.const 0)) (i32.const 1))
        ;; nobody waits for the lock any more: 0x08 is clear at once; the lock is free once the write returned
        (call $check (i32.const 15) (call $s64 (i32.const 0x24) (i64.const 1)) (i32.const ${OK}))
        (call $check (i32.const 16) (i32.and (call $r8 (i32.const 0)) (i32.const 0x0c)) (i32.const 0))
        ${infoUntil("(i64.const 1)", 0x1c, 0, 17)}
        (call $check (i32.const 18) (call $r8 (i32.const 0)) (i32.const 0x80))`,
        `(call $fill (i32.const 0x10000) (i32.const 100000) (i32.const 0))
        (call $check (i32.const 19) (call $open (local.get $child) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 1) (i64.const 0)) (i32.const ${OK}))
        (local.set $id (call $r64 (i32.const 0)))
        ;; a thread writes 100 000 bytes into the 64 KiB pipe: it fills it and waits for room, holding the lock
        ${thread(threadWrite("(local.get $id)", 100000, 0x10000))}
        ${infoUntil("(local.get $id)", 0x30, 0x30, 20)}
        ;; this thread's write now waits for the lock: a pending request, until the child has read
        (call $check (i32.const 21) (call $write (local.get $id) (i32.const 10) (i32.const 0x10000) (i32.const 0)) (i32.const ${OK}))
        (call $await (i32.const 0x3000))
        (call $check (i32.const 22) (i32.atomic.load (i32.const 0x3000)) (i32.const 1))`,
      ),
    );
    const { child } = pids(r.stderr);
    expect(r.stderr).toMatch(new RegExp(`\\[pid ${child}\\] EXIT \\{exitData: 42\\}`));
    expect(r.code).toBe(5);
  });

  it("read pending (0x04) while a reader waits for the read lock, clear once it has read", () => {
    const r = home.run(
      pair(
        `;; child: the RC is identifier 1; a thread reads 10 bytes of the empty pipe, holding the read lock
        ${awaitFirstId}
        ${thread(threadRead("(i64.const 1)", 0x20000, 10))}
        ${infoUntil("(i64.const 1)", 0x10, 0x10, 10)}
        ;; this thread's read waits for the lock (the parent sees 0x04), then takes the next 10 bytes
        (call $check (i32.const 11) (call $read (i64.const 1) (i32.const 0) (i32.const 0x2000a) (i32.const 10)) (i32.const ${OK}))
        (call $await (i32.const 0x3000))
        (call $check (i32.const 12) (i32.atomic.load (i32.const 0x3000)) (i32.const 1))
        (call $check (i32.const 13) (call $same (i32.const 0x20000) (i32.const 20) (i32.const 0)) (i32.const 1))`,
        `(call $fill (i32.const 0x10000) (i32.const 20) (i32.const 0))
        (call $check (i32.const 19) (call $open (local.get $child) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 1) (i64.const 0)) (i32.const ${OK}))
        (local.set $id (call $r64 (i32.const 0)))
        ${infoUntil("(local.get $id)", 0x04, 0x04, 20)}
        ;; open | locked | read pending | SC (0x80 | 0x10 | 0x04 | 0x02); not write pending
        (call $check (i32.const 21) (call $r8 (i32.const 0)) (i32.const 0x96))
        (call $check (i32.const 22) (call $write (local.get $id) (i32.const 20) (i32.const 0x10000) (i32.const 0)) (i32.const ${OK}))
        ;; both reads took their 10 bytes: no lock held, nobody waiting, the whole buffer free again
        ${infoUntil("(local.get $id)", 0x1c, 0, 23)}
        (call $check64 (i32.const 24) (call $r64 (i32.const 9)) (i64.const 65536))`,
      ),
    );
    const { child } = pids(r.stderr);
    expect(r.stderr).toMatch(new RegExp(`\\[pid ${child}\\] EXIT \\{exitData: 42\\}`));
    expect(r.code).toBe(5);
  });
});

describe("closing on the reading side, across processes", () => {
  it("a writer waiting for room when the reader closes gets 0x31 with what it wrote, and a proper PIPE_CLOSED", () => {
    const r = home.run(
      pair(
        `;; child: the RC is identifier 1; once the pipe is full, CLOSE_PIPE
        ${awaitFirstId}
        ${infoUntil("(i64.const 1)", 0x20, 0x20, 10)}
        (call $check (i32.const 11) (call $s64 (i32.const 0x25) (i64.const 1)) (i32.const ${OK}))`,
        `(call $fill (i32.const 0x10000) (i32.const 100000) (i32.const 0))
        (call $check (i32.const 19) (call $open (local.get $child) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 1) (i64.const 0)) (i32.const ${OK}))
        (local.set $id (call $r64 (i32.const 0)))
        ;; 100 000 bytes into 64 KiB: the first 65 536 go in, then the reader closes
        (call $check (i32.const 20) (call $write (local.get $id) (i32.const 100000) (i32.const 0x10000) (i32.const 0)) (i32.const ${E(0x31)}))
        (call $check (i32.const 21) (call $r32) (i32.const 65536))
        (call $await (i32.const 0x5300)) (call $dump (i32.const 0x5200))
        (call $check (i32.const 22) (call $write (local.get $id) (i32.const 1) (i32.const 0x10000) (i32.const 1)) (i32.const ${E(0x31)}))
        ;; PIPE_INFO: no longer open, still an SC
        (call $check (i32.const 23) (call $s64 (i32.const 0x24) (local.get $id)) (i32.const ${OK}))
        (call $check (i32.const 24) (i32.and (call $r8 (i32.const 0)) (i32.const 0x82)) (i32.const 0x02))
        ;; the peer closed properly: CLOSE_PIPE succeeds
        (call $check (i32.const 25) (call $s64 (i32.const 0x25) (local.get $id)) (i32.const ${OK}))`,
      ),
    );
    const { parent, child } = pids(r.stderr);
    expect(r.stderr).toMatch(new RegExp(`\\[pid ${child}\\] EXIT \\{exitData: 42\\}`));
    expect(r.code).toBe(5);
    // PIPE_CLOSED: closing type 0x00 (CLOSE_PIPE), identity 0x01 (the parent held the SC), its id 1
    expect(dumps(r.stderr, parent)[0]).toBe(`00` + `01` + le(7, 8) + "00".repeat(22));
  });
});

describe("a peer killed with kill -9 mid-transfer", () => {
  it.skipIf(process.platform !== "linux")(
    "the writer's runner SIGKILLed on a full pipe: its 64 KiB stay readable, nothing more, and a brutal PIPE_CLOSED",
    async () => {
      const run = home.spawnRun(
        pair(
          `;; child: the SC of the parent's read pipe is identifier 1; 100 000 bytes block once 64 KiB are in
          ${awaitFirstId}
          (call $fill (i32.const 0x10000) (i32.const 100000) (i32.const 0))
          (drop (call $write (i64.const 1) (i32.const 100000) (i32.const 0x10000) (i32.const 0)))
          (call $exit (i64.const 66))`,
          `(call $check (i32.const 19) (call $open (local.get $child) (i32.const 0) (i32.const 1) (i32.const 0) (i32.const 0) (i32.const 1) (i64.const 0)) (i32.const ${OK}))
          (local.set $id (call $r64 (i32.const 0)))
          ${infoUntil("(local.get $id)", 0x20, 0x20, 20)}
          ;; tell the test the pipe is full (it kills the child's host process), then wait for the close
          (drop (call $s0 (i32.const 0x53)))
          ${infoUntil("(local.get $id)", 0x80, 0, 21)}
          (call $check (i32.const 22) (call $read (local.get $id) (i32.const 2) (i32.const 0x20000) (i32.const 0)) (i32.const ${OK}))
          (call $check (i32.const 23) (call $r32) (i32.const 65536))
          (call $check (i32.const 24) (call $same (i32.const 0x20000) (i32.const 65536) (i32.const 0)) (i32.const 1))
          (call $check (i32.const 25) (call $read (local.get $id) (i32.const 0) (i32.const 0x20000) (i32.const 1)) (i32.const ${E(0x31)}))
          (call $await (i32.const 0x5300)) (call $dump (i32.const 0x5200))
          (call $check (i32.const 26) (call $s64 (i32.const 0x25) (local.get $id)) (i32.const ${E(0x31)}))`,
        ),
      );
      const exited = new Promise<number | null>((res) => run.on("exit", (c) => res(c)));
      expect(await waitFor(() => /\] GET_PID /.test(run.output()), 30_000)).toBe(true);
      const { parent, child } = pids(run.output());
      const ps = JSON.parse(home.ncw(["ps", "--json"]).stdout) as {
        processes: { pid: number; hostPid?: number }[];
      };
      const hostPid = ps.processes.find((p) => p.pid === child)?.hostPid;
      expect(hostPid).toBeGreaterThan(0);
      process.kill(hostPid as number, "SIGKILL");
      expect(await exited).toBe(5);
      const out = run.output();
      expect(out).not.toMatch(/exitData: 66/);
      // closing type 0x01 (brutally terminated), identity 0x00 (the parent held the RC), its id 1
      expect(dumps(out, parent)[0]).toBe(`01` + `00` + le(7, 8) + "00".repeat(22));
    },
  );
});

describe("the 64 KB message limit does not depend on the buffer", () => {
  it("a 1 MiB message pipe still refuses 65 537 bytes (0x32) and carries 65 536 whole", () => {
    const r = home.run(
      program(
        `(drop (call $s0 (i32.const 0x53)))
        ;; a message write pipe with itself, multiplier 16 (1 MiB), no notification: SC 7, RC 8 (1–6 are the command pipes)
        (call $check (i32.const 1) (call $open (call $r64 (i32.const 0)) (i32.const 0) (i32.const 0) (i32.const 16) (i32.const 1) (i32.const 1) (i64.const 0)) (i32.const ${OK}))
        (call $check (i32.const 2) (call $s64 (i32.const 0x24) (i64.const 7)) (i32.const ${OK}))
        (call $check64 (i32.const 3) (call $r64 (i32.const 1)) (i64.const 1048576))
        (call $fill (i32.const 0x10000) (i32.const 65537) (i32.const 0))
        (call $check (i32.const 4) (call $write (i64.const 7) (i32.const 65537) (i32.const 0x10000) (i32.const 0)) (i32.const ${E(0x32)}))
        (call $check (i32.const 5) (call $write (i64.const 7) (i32.const 65537) (i32.const 0x10000) (i32.const 1)) (i32.const ${E(0x32)}))
        (call $check (i32.const 6) (call $write (i64.const 7) (i32.const 65536) (i32.const 0x10000) (i32.const 0)) (i32.const ${OK}))
        (call $check (i32.const 7) (call $read (i64.const 8) (i32.const 0) (i32.const 0x30000) (i32.const 70000)) (i32.const ${OK}))
        (call $check (i32.const 8) (call $r32) (i32.const 65536))
        (call $check (i32.const 9) (call $same (i32.const 0x30000) (i32.const 65536) (i32.const 0)) (i32.const 1))
        (call $exit (i64.const 3))`,
        HELPERS,
      ).replace("2 64 shared", "8 64 shared"),
    );
    expect(r.stderr).toMatch(/PIPE_WRITE \{sc: 7, count: 65537, .* -> err 0x32 MESSAGE_TOO_LARGE/);
    expect(r.code).toBe(3);
  });
});
