// Black-box tests of service sockets (specs/kernel/syscalls.md 0x26–0x29, specs/kernel/ipc.md "Service
// sockets", signals.md RECV_SERV_SOCK / RECV_SOCK_MSG / SERV_SOCK_CLOSED; docs/ipc.md "Service sockets")
// through `ncw run`: two NightOS processes of one application (CREATE_PROCESS), the parent opening the
// socket (its service) to the child (its client). Exchanges, their rules and every errcode; datafields
// are checked against bytes written out by hand.

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
  pids,
  program,
  TestHome,
  waitFor,
  withOtherApp,
} from "./kernel-helpers.js";

const home = new TestHome();
afterAll(() => home.cleanup());

const HELPERS = `${DATAFIELD_FUNCS}${PATTERN_FUNCS}
  ;; OPEN_SERV_SOCK(pid u64, multiplier u16)
  (func $open (param $pid i64) (param $mult i32) (result i32)
    (call $q (i32.const 1) (local.get $pid)) (call $h (i32.const 9) (local.get $mult)) (call $call (i32.const 0x26) (i32.const 11)))
  ;; SEND_SOCK_MSG(socket u64, exchange u64, method u16, error u16, content bufptr)
  (func $send (param $s i64) (param $x i64) (param $m i32) (param $err i32) (param $buf i32) (param $len i32) (result i32)
    (call $q (i32.const 1) (local.get $s)) (call $q (i32.const 9) (local.get $x)) (call $h (i32.const 17) (local.get $m))
    (call $h (i32.const 19) (local.get $err)) (call $q (i32.const 21) (i64.extend_i32_u (local.get $buf)))
    (call $q (i32.const 29) (i64.extend_i32_u (local.get $len))) (call $call (i32.const 0x27) (i32.const 37)))
  ;; READ_SOCK_MSG(socket u64, buffer u64)
  (func $read (param $s i64) (param $buf i32) (result i32)
    (call $q (i32.const 1) (local.get $s)) (call $q (i32.const 9) (i64.extend_i32_u (local.get $buf))) (call $call (i32.const 0x28) (i32.const 17)))
  (func $close (param $s i64) (result i32) (call $s64 (i32.const 0x29) (local.get $s)))
  (func $r32 (param $off i32) (result i32) (i32.load (i32.add (i32.const 0x2000) (local.get $off))))
  ;; RECV_SERV_SOCK's datafield goes to 0x5000 (0x5100 counts them); the n-th RECV_SOCK_MSG's to
  ;; 0x6000 + 32n (0x5104 counts them); SERV_SOCK_CLOSED's to 0x5200 (0x5300 counts them)
  (func $onSock (param $sig i32) (param $df i32) (result i64)
    (call $copy32 (local.get $df) (i32.const 0x5000)) (drop (i32.atomic.rmw.add (i32.const 0x5100) (i32.const 1))) (i64.const 0))
  (func $onMsg (param $sig i32) (param $df i32) (result i64)
    (call $copy32 (local.get $df) (i32.add (i32.const 0x6000) (i32.shl (i32.load (i32.const 0x5104)) (i32.const 5))))
    (drop (i32.atomic.rmw.add (i32.const 0x5104) (i32.const 1))) (i64.const 0))
  (func $onClosed (param $sig i32) (param $df i32) (result i64)
    (call $copy32 (local.get $df) (i32.const 0x5200)) (drop (i32.atomic.rmw.add (i32.const 0x5300) (i32.const 1))) (i64.const 0))
  (elem (i32.const 1) $onSock $onMsg $onClosed)
  (func $handlers
    (call $check (i32.const 90) (call $s8_64 (i32.const 0x01) (i32.const 0x26) (i64.const 1)) (i32.const ${OK}))
    (call $check (i32.const 91) (call $s8_64 (i32.const 0x01) (i32.const 0x27) (i64.const 2)) (i32.const ${OK}))
    (call $check (i32.const 92) (call $s8_64 (i32.const 0x01) (i32.const 0x29) (i64.const 3)) (i32.const ${OK}))
    (call $check (i32.const 93) (call $s0 (i32.const 0x04)) (i32.const ${OK})))
  ;; wait until the i32 at $a is at least $n
  (func $awaitN (param $a i32) (param $n i32) (loop $w (br_if $w (i32.lt_u (i32.atomic.load (local.get $a)) (local.get $n)))))
  ;; the n-th RECV_SOCK_MSG's datafield
  (func $msg (param $n i32) (result i32) (i32.add (i32.const 0x6000) (i32.shl (local.get $n) (i32.const 5))))
  ;; the same patterns, for large buffers: the pattern repeats every 256 bytes, so the first 256 bytes are
  ;; made (checked) byte by byte, the rest copied (compared 8 bytes at a time) from them
  (func $bigFill (param $at i32) (param $n i32) (param $seed i32) (local $done i32)
    (call $fill (local.get $at) (i32.const 256) (local.get $seed))
    (local.set $done (i32.const 256))
    (block $d (loop $l (br_if $d (i32.ge_u (local.get $done) (local.get $n)))
      (memory.copy (i32.add (local.get $at) (local.get $done)) (local.get $at)
        (select (local.get $done) (i32.sub (local.get $n) (local.get $done)) (i32.le_u (local.get $done) (i32.sub (local.get $n) (local.get $done)))))
      (local.set $done (i32.shl (local.get $done) (i32.const 1))) (br $l))))
  (func $bigSame (param $at i32) (param $n i32) (param $seed i32) (result i32) (local $i i32)
    (if (i32.eqz (call $same (local.get $at) (i32.const 256) (local.get $seed))) (then (return (i32.const 0))))
    (local.set $i (i32.const 256))
    (block $d (loop $l (br_if $d (i32.ge_u (local.get $i) (local.get $n)))
      (if (i64.ne (i64.load (i32.add (local.get $at) (local.get $i))) (i64.load (i32.add (local.get $at) (i32.and (local.get $i) (i32.const 255)))))
        (then (return (i32.const 0))))
      (local.set $i (i32.add (local.get $i) (i32.const 8))) (br $l)))
    (i32.const 1))
  ;; check a SEND_SOCK_MSG's answer: exchange, counter
  (func $sent (param $id i32) (param $x i64) (param $n i32)
    (call $check64 (local.get $id) (call $r64 (i32.const 0)) (local.get $x))
    (call $check (i32.add (local.get $id) (i32.const 100)) (call $r32 (i32.const 8)) (local.get $n)))
  ;; check a READ_SOCK_MSG's answer: written, retrieved, status
  (func $got (param $id i32) (param $len i32) (param $retrieved i32) (param $status i32)
    (call $check (local.get $id) (call $r32 (i32.const 0)) (local.get $len))
    (call $check (i32.add (local.get $id) (i32.const 100)) (call $r8 (i32.const 4)) (local.get $retrieved))
    (call $check (i32.add (local.get $id) (i32.const 200)) (call $r8 (i32.const 5)) (local.get $status)))`;

const pair = (child: string, parent: string) => forkPair(child, parent, HELPERS + FLOOD);

/** Many 4 KiB messages, each its own exchange, message i filled from seed i. */
const FLOOD = `
  ;; send until a send fails (it must fail with 0x31); how many were sent
  (func $flood (param $id i64) (result i32) (local $n i32) (local $s i32)
    (loop $more
      (call $fill (i32.const 0x10000) (i32.const 4096) (local.get $n))
      (local.set $s (call $send (local.get $id) (i64.const 0) (i32.const 1) (i32.const 0) (i32.const 0x10000) (i32.const 4096)))
      (if (i32.eq (local.get $s) (i32.const ${OK})) (then
        (call $check (i32.const 10) (call $r32 (i32.const 8)) (i32.const 1))
        (local.set $n (i32.add (local.get $n) (i32.const 1))) (br $more))))
    (call $check (i32.const 11) (local.get $s) (i32.const ${E(0x31)}))
    (local.get $n))
  ;; RECV_SOCK_MSG while flooding: count it; a message on socket 2 is answered at once, with the close indicator
  (func $floodMsg (param $sig i32) (param $df i32) (result i64)
    (drop (call $onMsg (local.get $sig) (local.get $df)))
    (if (i64.eq (i64.load (local.get $df)) (i64.const 2)) (then
      (call $check (i32.const 17) (call $send (i64.const 2) (i64.load offset=8 (local.get $df)) (i32.const 1) (i32.const 0) (i32.const 0) (i32.const 0)) (i32.const ${OK}))))
    (i64.const 0))
  (elem (i32.const 4) $floodMsg)
  ;; read $count of them, in order, polling
  (func $drain (param $id i64) (param $count i32) (local $i i32)
    (loop $each
      (call $check (i32.const 42) (call $read (local.get $id) (i32.const 0x30000)) (i32.const ${OK}))
      (if (i32.eqz (call $r8 (i32.const 4))) (then (br $each)))
      (call $got (i32.const 43) (i32.const 4096) (i32.const 1) (i32.const 0x01))
      (call $check (i32.const 44) (call $same (i32.const 0x30000) (i32.const 4096) (local.get $i)) (i32.const 1))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $each (i32.lt_u (local.get $i) (local.get $count)))))`;

describe("exchanges", () => {
  it("methods, a notification, answers and conclusions; the turn rule, unknown and concluded exchanges; datafields", () => {
    // Each side waits for two messages before it answers, so a second message of its peer's in the
    // same exchange is always tried before the answer comes (deterministic 0x41).
    const r = home.run(
      pair(
        `;; child, the client: the socket arrives with RECV_SERV_SOCK
        (call $awaitN (i32.const 0x5100) (i32.const 1)) (call $dump (i32.const 0x5000))
        (local.set $id (i64.load (i32.const 0x500c)))
        ;; a method (code 0x0102) with 100 bytes of arguments creates exchange 1, message 1
        (call $fill (i32.const 0x10000) (i32.const 100) (i32.const 3))
        (call $check (i32.const 10) (call $send (local.get $id) (i64.const 0) (i32.const 0x0102) (i32.const 0) (i32.const 0x10000) (i32.const 100)) (i32.const ${OK}))
        (call $sent (i32.const 11) (i64.const 1) (i32.const 1))
        ;; a second message before the service answered: refused (NCW's 0x41)
        (call $check (i32.const 12) (call $send (local.get $id) (i64.const 1) (i32.const 0) (i32.const 0) (i32.const 0x10000) (i32.const 1)) (i32.const ${E(0x41)}))
        ;; a second method (code 0xa000: two bytes), exchange 2
        (call $check (i32.const 13) (call $send (local.get $id) (i64.const 0) (i32.const 0xa000) (i32.const 0) (i32.const 0x10000) (i32.const 4)) (i32.const ${OK}))
        (call $sent (i32.const 14) (i64.const 2) (i32.const 1))
        ;; the answer to exchange 1 (message 2, 3 bytes) and a notification (exchange 3, no data)
        (call $awaitN (i32.const 0x5104) (i32.const 2)) (call $dump (call $msg (i32.const 0))) (call $dump (call $msg (i32.const 1)))
        (call $check (i32.const 15) (call $read (local.get $id) (i32.const 0x20000)) (i32.const ${OK}))
        (call $got (i32.const 16) (i32.const 3) (i32.const 1) (i32.const 0x00))
        (call $check (i32.const 17) (call $same (i32.const 0x20000) (i32.const 3) (i32.const 9)) (i32.const 1))
        (call $check (i32.const 18) (call $read (local.get $id) (i32.const 0x20000)) (i32.const ${OK}))
        (call $got (i32.const 19) (i32.const 0) (i32.const 1) (i32.const 0x01))
        ;; nothing else is pending
        (call $check (i32.const 20) (call $read (local.get $id) (i32.const 0x20000)) (i32.const ${OK}))
        (call $got (i32.const 21) (i32.const 0) (i32.const 0) (i32.const 0))
        ;; an empty answer in exchange 1 (message 3), one byte in exchange 3 (message 2)
        (call $check (i32.const 22) (call $send (local.get $id) (i64.const 1) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0)) (i32.const ${OK}))
        (call $sent (i32.const 23) (i64.const 1) (i32.const 3))
        (call $check (i32.const 24) (call $send (local.get $id) (i64.const 3) (i32.const 0) (i32.const 0) (i32.const 0x10000) (i32.const 1)) (i32.const ${OK}))
        (call $sent (i32.const 25) (i64.const 3) (i32.const 2))
        ;; the service concludes exchange 1 with a close indicator (message 4), exchange 2 with an error
        (call $awaitN (i32.const 0x5104) (i32.const 4)) (call $dump (call $msg (i32.const 2))) (call $dump (call $msg (i32.const 3)))
        (call $check (i32.const 26) (call $read (local.get $id) (i32.const 0x20000)) (i32.const ${OK}))
        (call $got (i32.const 27) (i32.const 5) (i32.const 1) (i32.const 0x04))
        (call $check (i32.const 28) (call $read (local.get $id) (i32.const 0x20000)) (i32.const ${OK}))
        (call $got (i32.const 29) (i32.const 2) (i32.const 1) (i32.const 0x06))
        ;; concluded exchanges refuse further messages; an exchange never created is unknown
        (call $check (i32.const 30) (call $send (local.get $id) (i64.const 1) (i32.const 0) (i32.const 0) (i32.const 0x10000) (i32.const 1)) (i32.const ${E(0x40)}))
        (call $check (i32.const 31) (call $send (local.get $id) (i64.const 2) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0)) (i32.const ${E(0x40)}))
        (call $check (i32.const 32) (call $send (local.get $id) (i64.const 9) (i32.const 0) (i32.const 0) (i32.const 0x10000) (i32.const 1)) (i32.const ${E(0x32)}))
        ;; done: a last method (exchange 4) tells the service, which closes the socket
        (call $check (i32.const 33) (call $send (local.get $id) (i64.const 0) (i32.const 9) (i32.const 0) (i32.const 0) (i32.const 0)) (i32.const ${OK}))
        (call $sent (i32.const 34) (i64.const 4) (i32.const 1))
        (call $awaitN (i32.const 0x5300) (i32.const 1)) (call $dump (i32.const 0x5200))
        ;; closed by the service: sending and reading say so, closing too (0x40), then the identifier is gone
        (call $check (i32.const 35) (call $send (local.get $id) (i64.const 0) (i32.const 1) (i32.const 0) (i32.const 0) (i32.const 0)) (i32.const ${E(0x31)}))
        (call $check (i32.const 36) (call $read (local.get $id) (i32.const 0x20000)) (i32.const ${E(0x31)}))
        (call $check (i32.const 37) (call $close (local.get $id)) (i32.const ${E(0x40)}))
        (call $check (i32.const 38) (call $close (local.get $id)) (i32.const ${E(0x30)}))
        (call $check (i32.const 39) (call $read (local.get $id) (i32.const 0x20000)) (i32.const ${E(0x30)}))`,
        `;; parent, the service
        (call $check (i32.const 40) (call $open (local.get $child) (i32.const 0)) (i32.const ${OK}))
        (local.set $id (call $r64 (i32.const 0)))
        (call $check64 (i32.const 41) (local.get $id) (i64.const 1))
        (call $awaitN (i32.const 0x5104) (i32.const 2)) (call $dump (call $msg (i32.const 0))) (call $dump (call $msg (i32.const 1)))
        (call $check (i32.const 42) (call $read (local.get $id) (i32.const 0x30000)) (i32.const ${OK}))
        (call $got (i32.const 43) (i32.const 100) (i32.const 1) (i32.const 0x01))
        (call $check (i32.const 44) (call $same (i32.const 0x30000) (i32.const 100) (i32.const 3)) (i32.const 1))
        (call $check (i32.const 45) (call $read (local.get $id) (i32.const 0x30000)) (i32.const ${OK}))
        (call $got (i32.const 46) (i32.const 4) (i32.const 1) (i32.const 0x01))
        (call $fill (i32.const 0x10000) (i32.const 5) (i32.const 9))
        (call $check (i32.const 47) (call $send (local.get $id) (i64.const 1) (i32.const 0) (i32.const 0) (i32.const 0x10000) (i32.const 3)) (i32.const ${OK}))
        (call $sent (i32.const 48) (i64.const 1) (i32.const 2))
        (call $check (i32.const 49) (call $send (local.get $id) (i64.const 1) (i32.const 0) (i32.const 0) (i32.const 0x10000) (i32.const 3)) (i32.const ${E(0x41)}))
        ;; a notification (code 0x0007) with no data: exchange 3
        (call $check (i32.const 50) (call $send (local.get $id) (i64.const 0) (i32.const 7) (i32.const 0) (i32.const 0) (i32.const 0)) (i32.const ${OK}))
        (call $sent (i32.const 51) (i64.const 3) (i32.const 1))
        (call $awaitN (i32.const 0x5104) (i32.const 4)) (call $dump (call $msg (i32.const 2))) (call $dump (call $msg (i32.const 3)))
        (call $check (i32.const 52) (call $read (local.get $id) (i32.const 0x30000)) (i32.const ${OK}))
        (call $got (i32.const 53) (i32.const 0) (i32.const 1) (i32.const 0x00))
        (call $check (i32.const 54) (call $read (local.get $id) (i32.const 0x30000)) (i32.const ${OK}))
        (call $got (i32.const 55) (i32.const 1) (i32.const 1) (i32.const 0x00))
        ;; conclude exchange 1 with a close indicator (an answer's method field), exchange 2 with an error
        (call $check (i32.const 56) (call $send (local.get $id) (i64.const 1) (i32.const 1) (i32.const 0) (i32.const 0x10000) (i32.const 5)) (i32.const ${OK}))
        (call $sent (i32.const 57) (i64.const 1) (i32.const 4))
        (call $check (i32.const 58) (call $send (local.get $id) (i64.const 1) (i32.const 0) (i32.const 0) (i32.const 0x10000) (i32.const 1)) (i32.const ${E(0x40)}))
        (call $check (i32.const 59) (call $send (local.get $id) (i64.const 2) (i32.const 0) (i32.const 0x3001) (i32.const 0x10000) (i32.const 2)) (i32.const ${OK}))
        (call $sent (i32.const 60) (i64.const 2) (i32.const 2))
        ;; the client's last method, then close
        (call $awaitN (i32.const 0x5104) (i32.const 5)) (call $dump (call $msg (i32.const 4)))
        (call $check (i32.const 61) (call $close (local.get $id)) (i32.const ${OK}))
        (call $check (i32.const 62) (call $close (local.get $id)) (i32.const ${E(0x30)}))
        (call $check (i32.const 63) (call $read (local.get $id) (i32.const 0x30000)) (i32.const ${E(0x30)}))`,
      ),
    );
    const { parent, child } = pids(r.stderr);
    expect(r.stderr).toMatch(new RegExp(`\\[pid ${child}\\] EXIT \\{exitData: 42\\}`));
    expect(r.code).toBe(5);
    const c = dumps(r.stderr, child);
    const p = dumps(r.stderr, parent);
    const rest = (used: number) => "00".repeat(32 - used);
    // RECV_SERV_SOCK: creator PID (8), creator's ANID (4), socket identifier (8; the child's first is 1),
    // buffer size multiplied by 4 KB (2: a multiplier of 0 is 1).
    expect(c[0]).toMatch(
      new RegExp(`^${le(parent, 8)}[0-9a-f]{8}${le(1, 8)}${le(1, 2)}${rest(22)}$`),
    );
    expect(c[0]?.slice(16, 24)).not.toBe("00000000");
    // RECV_SOCK_MSG: socket (8), exchange (8), method (2, decided), size (4), status (1: bit 0 new
    // exchange 0x01, bit 1 error 0x02, bit 2 concludes 0x04).
    const msg = (sock: number, x: number, m: number, size: number, status: number) =>
      le(sock, 8) + le(x, 8) + le(m, 2) + le(size, 4) + le(status, 1) + rest(23);
    expect(p.slice(0, 5)).toEqual([
      msg(1, 1, 0x0102, 100, 0x01),
      msg(1, 2, 0xa000, 4, 0x01),
      msg(1, 1, 0x0102, 0, 0x00),
      msg(1, 3, 0x0007, 1, 0x00),
      msg(1, 4, 0x0009, 0, 0x01),
    ]);
    expect(c.slice(1, 5)).toEqual([
      msg(1, 1, 0x0102, 3, 0x00),
      msg(1, 3, 0x0007, 0, 0x01),
      msg(1, 1, 0x0102, 5, 0x04),
      msg(1, 2, 0xa000, 2, 0x06),
    ]);
    // SERV_SOCK_CLOSED: closing type 0x00 (CLOSE_SERV_SOCK), identity 0x00 (this process is the client),
    // the child's socket identifier.
    expect(c[5]).toBe(`00` + `00` + le(1, 8) + rest(10));
    // The trace decodes the calls and the signals.
    expect(r.stderr).toMatch(
      new RegExp(
        `\\[pid ${child}\\] SEND_SOCK_MSG \\{socket: 1, exchange: 1, method: 0, errorCode: 0, content: \\{addr: 0x10000, len: 1\\}\\} -> err 0x41 NOT_YOUR_TURN`,
      ),
    );
    expect(r.stderr).toMatch(
      /READ_SOCK_MSG \{socket: 1, buffer: 0x30000\} -> ok \{written: 100, retrieved: 1, status: 1\}/,
    );
    // The sender's runner applies the exchange rules and sends the peer's RECV_SOCK_MSG itself (docs/ipc.md
    // "The runner-to-runner path"): the line is the sender's, the datafield the receiver's.
    expect(r.stderr).toMatch(
      new RegExp(
        `\\[pid ${child}\\] sends RECV_SOCK_MSG \\{socket: 1, exchange: 1, method: 258, size: 100, status: 1\\} to pid ${parent}`,
      ),
    );
    expect(r.stderr).not.toMatch(/kernel sends RECV_SOCK_MSG|kernel: exchange bookkeeping/);
  });
});

describe("errcodes and sizes", () => {
  it("OPEN_SERV_SOCK's unknown PID and multiplier; messages up to multiplier × 4 KiB; bad buffers; unknown identifiers", () => {
    const r = home.run(
      pair(
        `(call $awaitN (i32.const 0x5100) (i32.const 1)) (call $dump (i32.const 0x5000))
        (local.set $id (i64.load (i32.const 0x500c)))
        ;; multiplier 3: 12 288 bytes at most
        (call $fill (i32.const 0x10000) (i32.const 12288) (i32.const 1))
        (call $check (i32.const 10) (call $send (local.get $id) (i64.const 0) (i32.const 1) (i32.const 0) (i32.const 0x10000) (i32.const 12289)) (i32.const ${E(0x02)}))
        ;; content at address 0, or past the memory's end (8 pages = 0x80000)
        (call $check (i32.const 13) (call $send (local.get $id) (i64.const 0) (i32.const 1) (i32.const 0) (i32.const 0) (i32.const 5)) (i32.const ${E(0x02)}))
        (call $check (i32.const 14) (call $send (local.get $id) (i64.const 0) (i32.const 1) (i32.const 0) (i32.const 0x7ff00) (i32.const 0x1000)) (i32.const ${E(0x03)}))
        ;; identifiers this process was never given
        (call $check (i32.const 15) (call $send (i64.const 5) (i64.const 0) (i32.const 1) (i32.const 0) (i32.const 0x10000) (i32.const 1)) (i32.const ${E(0x30)}))
        (call $check (i32.const 16) (call $read (i64.const 5) (i32.const 0x10000)) (i32.const ${E(0x30)}))
        (call $check (i32.const 17) (call $close (i64.const 5)) (i32.const ${E(0x30)}))
        (call $check (i32.const 18) (call $send (i64.const 0) (i64.const 0) (i32.const 1) (i32.const 0) (i32.const 0x10000) (i32.const 1)) (i32.const ${E(0x30)}))
        ;; the one good message last: once it is read the parent closes the socket (then sends answer 0x31)
        (call $check (i32.const 11) (call $send (local.get $id) (i64.const 0) (i32.const 1) (i32.const 0) (i32.const 0x10000) (i32.const 12288)) (i32.const ${OK}))
        (call $sent (i32.const 12) (i64.const 1) (i32.const 1))
        (call $awaitN (i32.const 0x5300) (i32.const 1))`,
        `(call $check (i32.const 40) (call $open (i64.const 99999) (i32.const 1)) (i32.const ${E(0x30)}))
        (call $check (i32.const 41) (call $open (local.get $child) (i32.const 3)) (i32.const ${OK}))
        (local.set $id (call $r64 (i32.const 0)))
        (call $awaitN (i32.const 0x5104) (i32.const 1))
        ;; READ_SOCK_MSG's buffer has no length: the message must fit before the memory's end, else it stays
        (call $check (i32.const 42) (call $read (local.get $id) (i32.const 0)) (i32.const ${E(0x02)}))
        (call $check (i32.const 43) (call $read (local.get $id) (i32.const 0x7f000)) (i32.const ${E(0x03)}))
        (call $check (i32.const 44) (call $read (local.get $id) (i32.const 0x30000)) (i32.const ${OK}))
        (call $got (i32.const 45) (i32.const 12288) (i32.const 1) (i32.const 0x01))
        (call $check (i32.const 46) (call $same (i32.const 0x30000) (i32.const 12288) (i32.const 1)) (i32.const 1))
        ;; only the one message was published
        (call $check (i32.const 47) (call $read (local.get $id) (i32.const 0x30000)) (i32.const ${OK}))
        (call $got (i32.const 48) (i32.const 0) (i32.const 0) (i32.const 0))
        (call $check (i32.const 49) (i32.load (i32.const 0x5104)) (i32.const 1))
        (call $check (i32.const 50) (call $close (local.get $id)) (i32.const ${OK}))`,
      ),
    );
    const { parent, child } = pids(r.stderr);
    expect(r.stderr).toMatch(new RegExp(`\\[pid ${child}\\] EXIT \\{exitData: 42\\}`));
    expect(r.code).toBe(5);
    // RECV_SERV_SOCK's last field: the multiplier, 3
    expect(dumps(r.stderr, child)[0]).toMatch(
      new RegExp(`^${le(parent, 8)}[0-9a-f]{8}${le(1, 8)}${le(3, 2)}${"00".repeat(10)}$`),
    );
    expect(r.stderr).toMatch(
      /OPEN_SERV_SOCK \{pid: 0x1869f, sizeMultiplier: 1\} -> err 0x30 NO_SUCH_PID/,
    );
  });

  it("a process of another application (another `ncw run`) is refused with 0x31", async () => {
    await withOtherApp(home, (pid) => {
      const r = home.run(
        program(
          `(call $check (i32.const 1) (call $open (i64.const ${pid}) (i32.const 0)) (i32.const ${E(0x31)}))
          (call $exit (i64.const 3))`,
          HELPERS,
        ),
      );
      expect(r.stderr).toMatch(/OPEN_SERV_SOCK .* -> err 0x31 NOT_ALLOWED/);
      expect(r.code).toBe(3);
    });
  });
});

describe("messages sent at once", () => {
  it("a sender blocks while the ring is full, runs its signals meanwhile, goes on as the peer reads; a close ends its wait with 0x31", () => {
    const r = home.run(
      pair(
        `;; two sockets, 1 and 2: floods the first; a notification on the second is answered by the handler
        (call $check (i32.const 16) (call $s8_64 (i32.const 0x01) (i32.const 0x27) (i64.const 4)) (i32.const ${OK}))
        (call $awaitN (i32.const 0x5100) (i32.const 2))
        (local.set $v (call $flood (i64.const 1)))
        ;; the 20 the service read and the 15 more the ring took, at most
        (call $check (i32.const 12) (i32.lt_u (local.get $v) (i32.const 20)) (i32.const 0))
        (call $check (i32.const 13) (i32.gt_u (local.get $v) (i32.const 35)) (i32.const 0))
        ;; the one notification, on the second socket
        (call $check (i32.const 14) (i32.load (i32.const 0x5104)) (i32.const 1))`,
        `(call $check (i32.const 40) (call $open (local.get $child) (i32.const 0)) (i32.const ${OK}))
        (local.set $id (call $r64 (i32.const 0)))
        (call $check (i32.const 39) (call $open (local.get $child) (i32.const 0)) (i32.const ${OK}))
        ;; a 64 KiB ring holds 15 records of 4 KiB: the child's 16th send waits
        (call $awaitN (i32.const 0x5104) (i32.const 15))
        ;; a notification on the second socket: the blocked child's handler runs while its send waits,
        ;; and its answer comes during this 300 ms wait (one message more), before anything is read
        (call $check (i32.const 46) (call $send (i64.const 2) (i64.const 0) (i32.const 7) (i32.const 0) (i32.const 0) (i32.const 0)) (i32.const ${OK}))
        (drop (call $s64_16 (i32.const 0x51) (local.get $child) (i32.const 300)))
        (call $check (i32.const 41) (i32.load (i32.const 0x5104)) (i32.const 16))
        (call $drain (local.get $id) (i32.const 20))
        (call $check (i32.const 45) (call $close (local.get $id)) (i32.const ${OK}))`,
      ),
    );
    const { child } = pids(r.stderr);
    expect(r.stderr).toMatch(new RegExp(`\\[pid ${child}\\] EXIT \\{exitData: 42\\}`));
    expect(r.code).toBe(5);
    expect(r.stderr).toMatch(/SEND_SOCK_MSG .* -> err 0x31 SOCKET_CLOSED/);
  });
});

describe("a peer killed with kill -9", () => {
  it("the service gets SERV_SOCK_CLOSED with closing type 0x01; what the client sent is still readable", async () => {
    const run = home.spawnRun(
      pair(
        `(call $awaitN (i32.const 0x5100) (i32.const 1))
        (local.set $id (i64.load (i32.const 0x500c)))
        (call $fill (i32.const 0x10000) (i32.const 10) (i32.const 4))
        (call $check (i32.const 10) (call $send (local.get $id) (i64.const 0) (i32.const 0x0042) (i32.const 0) (i32.const 0x10000) (i32.const 10)) (i32.const ${OK}))
        (loop $spin (br $spin))`,
        `(call $check (i32.const 40) (call $open (local.get $child) (i32.const 0)) (i32.const ${OK}))
        (local.set $id (call $r64 (i32.const 0)))
        (call $awaitN (i32.const 0x5300) (i32.const 1)) (call $dump (i32.const 0x5200))
        (call $check (i32.const 41) (call $read (local.get $id) (i32.const 0x30000)) (i32.const ${OK}))
        (call $got (i32.const 42) (i32.const 10) (i32.const 1) (i32.const 0x01))
        (call $check (i32.const 43) (call $same (i32.const 0x30000) (i32.const 10) (i32.const 4)) (i32.const 1))
        (call $check (i32.const 44) (call $read (local.get $id) (i32.const 0x30000)) (i32.const ${E(0x31)}))
        (call $check (i32.const 45) (call $send (local.get $id) (i64.const 0) (i32.const 1) (i32.const 0) (i32.const 0) (i32.const 0)) (i32.const ${E(0x31)}))
        (call $check (i32.const 46) (call $close (local.get $id)) (i32.const ${E(0x40)}))`,
      ),
    );
    const exited = new Promise<number | null>((resolve) => run.on("close", resolve));
    try {
      const sent = /\[pid (\d+)\] SEND_SOCK_MSG \{[^\n]*len: 10\}\} -> ok/;
      expect(await waitFor(() => sent.test(run.output()), 30_000)).toBe(true);
      const childPid = Number(sent.exec(run.output())?.[1]);
      const ps = JSON.parse(home.ncw(["ps", "--json"]).stdout) as {
        processes: { pid: number; hostPid?: number }[];
      };
      const hostPid = ps.processes.find((p) => p.pid === childPid)?.hostPid;
      expect(hostPid).toBeGreaterThan(0);
      process.kill(hostPid as number, "SIGKILL");
      expect(await exited).toBe(5);
    } finally {
      run.kill("SIGKILL");
    }
    const out = run.output();
    const { parent } = pids(out);
    // closing type 0x01 (the other process brutally terminated), identity 0x01 (the service), socket 1
    expect(dumps(out, parent)).toEqual([`01` + `01` + le(1, 8) + "00".repeat(22)]);
  });
});

/** The largest message: a multiplier of 65535, × 4 KiB. */
const LARGEST = 0xffff * 4096;

describe("the largest message", () => {
  it(`${LARGEST} bytes (65535 × 4 KiB) there and back; one byte more is refused`, async () => {
    // Both processes grow their memory after CREATE_PROCESS (the fork copies only 8 pages): 4200 pages.
    const grow = `(call $check (i32.const 99) (i32.eq (memory.grow (i32.const 4200)) (i32.const -1)) (i32.const 0))`;
    const wat = pair(
      `${grow}
        (call $awaitN (i32.const 0x5100) (i32.const 1)) (call $dump (i32.const 0x5000))
        (local.set $id (i64.load (i32.const 0x500c)))
        (call $bigFill (i32.const 0x100000) (i32.const ${LARGEST}) (i32.const 5))
        (call $check (i32.const 10) (call $send (local.get $id) (i64.const 0) (i32.const 1) (i32.const 0) (i32.const 0x100000) (i32.const ${LARGEST + 1})) (i32.const ${E(0x02)}))
        (call $check (i32.const 11) (call $send (local.get $id) (i64.const 0) (i32.const 1) (i32.const 0) (i32.const 0x100000) (i32.const ${LARGEST})) (i32.const ${OK}))
        (call $sent (i32.const 12) (i64.const 1) (i32.const 1))
        ;; the echo comes back into a cleared buffer
        (memory.fill (i32.const 0x100000) (i32.const 0) (i32.const ${LARGEST}))
        (call $awaitN (i32.const 0x5104) (i32.const 1)) (call $dump (call $msg (i32.const 0)))
        (call $check (i32.const 13) (call $read (local.get $id) (i32.const 0x100000)) (i32.const ${OK}))
        (call $got (i32.const 14) (i32.const ${LARGEST}) (i32.const 1) (i32.const 0x04))
        (call $check (i32.const 15) (call $bigSame (i32.const 0x100000) (i32.const ${LARGEST}) (i32.const 5)) (i32.const 1))`,
      `${grow}
        (call $check (i32.const 40) (call $open (local.get $child) (i32.const 0xffff)) (i32.const ${OK}))
        (local.set $id (call $r64 (i32.const 0)))
        (call $awaitN (i32.const 0x5104) (i32.const 1))
        (call $check (i32.const 41) (call $read (local.get $id) (i32.const 0x100000)) (i32.const ${OK}))
        (call $got (i32.const 42) (i32.const ${LARGEST}) (i32.const 1) (i32.const 0x01))
        (call $check (i32.const 43) (call $bigSame (i32.const 0x100000) (i32.const ${LARGEST}) (i32.const 5)) (i32.const 1))
        ;; the answer echoes it and concludes the exchange
        (call $check (i32.const 44) (call $send (local.get $id) (i64.const 1) (i32.const 1) (i32.const 0) (i32.const 0x100000) (i32.const ${LARGEST})) (i32.const ${OK}))
        (call $sent (i32.const 45) (i64.const 1) (i32.const 2))`,
    ).replace("8 64 shared", "8 4300 shared");
    const r = home.run(wat);
    const { parent, child } = pids(r.stderr);
    expect(r.stderr).toMatch(new RegExp(`\\[pid ${child}\\] EXIT \\{exitData: 42\\}`));
    expect(r.code).toBe(5);
    const [recv, answer] = dumps(r.stderr, child);
    expect(recv).toMatch(
      new RegExp(`^${le(parent, 8)}[0-9a-f]{8}${le(1, 8)}ffff${"00".repeat(10)}$`),
    );
    expect(answer).toBe(le(1, 8) + le(1, 8) + le(1, 2) + le(LARGEST, 4) + "04" + "00".repeat(9));
  });
});

describe("threads", () => {
  it("a socket with itself: a thread sends a method on one end, the main thread answers on the other", () => {
    const r = home.run(
      program(
        `(local $v i32)
        (drop (call $s0 (i32.const 0x53)))
        ;; a socket with itself: the service end is identifier 1, the client end 2
        (call $check (i32.const 1) (call $open (call $r64 (i32.const 0)) (i32.const 0)) (i32.const ${OK}))
        (call $check64 (i32.const 2) (call $r64 (i32.const 0)) (i64.const 1))
        (call $q (i32.const 1) (i64.const 0)) (call $b (i32.const 0) (i32.const 0x60))
        (local.set $v (call $fork (i32.const 0x1000) (i32.const 9) (i32.const 0x2000)))
        (if (i32.eq (local.get $v) (i32.const ${NEW_THREAD})) (then
          ;; the thread, with its own areas: SEND_SOCK_MSG(2, new exchange, method 5, "ping")
          (i32.store8 (i32.const 0x1800) (i32.const 0x27)) (i64.store (i32.const 0x1801) (i64.const 2))
          (i64.store (i32.const 0x1809) (i64.const 0)) (i32.store16 (i32.const 0x1811) (i32.const 5))
          (i32.store16 (i32.const 0x1813) (i32.const 0)) (i64.store (i32.const 0x1815) (i64.const 0x4000))
          (i64.store (i32.const 0x181d) (i64.const 4))
          (i32.atomic.store (i32.const 0x3000) (i32.add (i32.const 1) (call $sys (i32.const 0x1800) (i32.const 37) (i32.const 0x2800))))
          ;; then READ_SOCK_MSG(2, 0x7000) until the answer is there
          (i32.store8 (i32.const 0x1900) (i32.const 0x28)) (i64.store (i32.const 0x1901) (i64.const 2))
          (i64.store (i32.const 0x1909) (i64.const 0x7000))
          (loop $poll
            (drop (call $sys (i32.const 0x1900) (i32.const 17) (i32.const 0x2900)))
            (br_if $poll (i32.eqz (i32.load8_u (i32.const 0x2904)))))
          (i32.store (i32.const 0x3004) (i32.load8_u (i32.const 0x2905))) (i32.store (i32.const 0x3008) (i32.load (i32.const 0x2900)))
          (i32.atomic.store (i32.const 0x300c) (i32.const 1))
          (loop $spin (br $spin))))
        ;; the main thread: the method arrives on the service end
        (loop $poll
          (call $check (i32.const 3) (call $read (i64.const 1) (i32.const 0x6000)) (i32.const ${OK}))
          (br_if $poll (i32.eqz (call $r8 (i32.const 4)))))
        (call $got (i32.const 4) (i32.const 4) (i32.const 1) (i32.const 0x01))
        (call $check (i32.const 5) (i32.load (i32.const 0x6000)) (i32.load (i32.const 0x4000)))
        (call $check (i32.const 6) (call $send (i64.const 1) (i64.const 1) (i32.const 1) (i32.const 0) (i32.const 0x4004) (i32.const 4)) (i32.const ${OK}))
        (call $sent (i32.const 7) (i64.const 1) (i32.const 2))
        (loop $w (br_if $w (i32.eqz (i32.atomic.load (i32.const 0x300c)))))
        (call $check (i32.const 8) (i32.load (i32.const 0x3000)) (i32.const 1))
        (call $check (i32.const 9) (i32.load (i32.const 0x3004)) (i32.const 0x04))
        (call $check (i32.const 10) (i32.load (i32.const 0x3008)) (i32.const 4))
        (call $check (i32.const 11) (i32.load (i32.const 0x7000)) (i32.load (i32.const 0x4004)))
        (call $exit (i64.const 7))`,
        `(data (i32.const 0x4000) "pingpong") ${HELPERS}`,
      ).replace(
        "(memory",
        '(import "nightos" "syscall_fork" (func $fork (param i32 i32 i32) (result i32)))\n  (memory',
      ),
    );
    expect(r.stderr).toMatch(
      /SEND_SOCK_MSG \{socket: 2, exchange: 0, method: 5, errorCode: 0, content: \{addr: 16384, len: 4\}\} -> ok \{exchange: 1, counter: 1\}/,
    );
    expect(r.code).toBe(7);
  });
});

describe("a service that exits without closing", () => {
  it("its client gets SERV_SOCK_CLOSED with closing type 0x01 and identity 0x00, and still reads its last message", () => {
    const r = home.run(
      pair(
        `;; the child opens the socket to its parent (the child is the service), notifies, exits
        (call $check (i32.const 10) (call $open (i64.load (i32.const 0x7f00)) (i32.const 0)) (i32.const ${OK}))
        (local.set $id (call $r64 (i32.const 0)))
        (call $check (i32.const 11) (call $send (local.get $id) (i64.const 0) (i32.const 0x0003) (i32.const 0) (i32.const 0x10000) (i32.const 8)) (i32.const ${OK}))`,
        `(call $awaitN (i32.const 0x5300) (i32.const 1)) (call $dump (i32.const 0x5000)) (call $dump (i32.const 0x5200))
        (local.set $id (i64.load (i32.const 0x500c)))
        (call $check (i32.const 40) (call $read (local.get $id) (i32.const 0x30000)) (i32.const ${OK}))
        (call $got (i32.const 41) (i32.const 8) (i32.const 1) (i32.const 0x01))
        (call $check (i32.const 42) (call $read (local.get $id) (i32.const 0x30000)) (i32.const ${E(0x31)}))
        (call $check (i32.const 43) (call $close (local.get $id)) (i32.const ${E(0x40)}))`,
      ).replace(
        // the parent's PID, where the fork child finds it
        "(call $q (i32.const 1) (i64.const 0)) (call $b (i32.const 0) (i32.const 0x50))",
        "(drop (call $s0 (i32.const 0x53))) (i64.store (i32.const 0x7f00) (call $r64 (i32.const 0))) (call $q (i32.const 1) (i64.const 0)) (call $b (i32.const 0) (i32.const 0x50))",
      ),
    );
    const { parent, child } = pids(r.stderr);
    expect(r.stderr).toMatch(new RegExp(`\\[pid ${child}\\] EXIT \\{exitData: 42\\}`));
    expect(r.code).toBe(5);
    const [recv, closed] = dumps(r.stderr, parent);
    expect(recv).toMatch(
      new RegExp(`^${le(child, 8)}[0-9a-f]{8}${le(1, 8)}${le(1, 2)}${"00".repeat(10)}$`),
    );
    // closing type 0x01 (the service ended without CLOSE_SERV_SOCK), identity 0x00 (the client), socket 1
    expect(closed).toBe(`01` + `00` + le(1, 8) + "00".repeat(22));
  });
});
