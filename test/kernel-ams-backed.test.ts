// Black-box tests of signal-backed AMS (specs/kernel/syscalls.md 0x41 BACKED_AMS, signals.md 0x33
// READ_BACKED_AMS and 0x34 WRITE_BACKED_AMS; docs/ipc.md "Signal-backed AMS") through `ncw run`: a
// backer and a receiver of one application. The backer's handlers serve words of a "file" in its own
// memory; what they receive is checked byte for byte against datafields written out by hand; their
// answers are what the receiver loads; the receiver's stores come back to the file, except with
// copy-on-write; a page-fault answer is the spec's errcode or MEM_FAULT; a backer that dies while it
// answers ends the sharing and nothing hangs. No host segment outlives the processes.

import { readdirSync, readlinkSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { dumps, E, forkPair, le, OK, pids, TestHome } from "./kernel-helpers.js";

const home = new TestHome();
afterAll(() => home.cleanup());

/** The kernel's AMS segments (memfd "ncw:ams<n>:0") still open. */
function amsSegments(): number {
  const pid = home.kernelPid();
  if (pid === undefined) return 0;
  try {
    return readdirSync(`/proc/${pid}/fd`).filter((fd) => {
      try {
        return /memfd:ncw:ams\d+/.test(readlinkSync(`/proc/${pid}/fd/${fd}`));
      } catch {
        return false; // closed meanwhile
      }
    }).length;
  } catch {
    return 0; // the kernel exited: nothing of it is left
  }
}

/** The trace without the thousands of READ/WRITE_BACKED_AMS delivery lines (for readable failures). */
const summary = (stderr: string) =>
  stderr
    .split("\n")
    .filter((l) => !/signal (READ|WRITE)_BACKED_AMS (->|handled)/.test(l))
    .join("\n");

/**
 * The backer's "files": AMS number n (its ID minus the first one's, kept at 0x5600) is served from
 * 0x10000 + n * 0x4000. Counters: reads 0x5400, writes 0x5404, reads of AMS 1 0x5408. Datafields kept:
 * reads of AMS 0 at 0, 4 and 0x1ffc → 0x6000 / 0x6020 / 0x6040, the first write → 0x6100. The receiver
 * keeps RECV_SHARED_AMS' datafields at 0x5000 + 32 n (count 0x5100), UNSHARED_AMS' at 0x5200 (flag
 * 0x5300), MEM_FAULT's at 0x5720 (flag 0x5700).
 */
const HELPERS = `
  (func $share (param $pid i64) (param $ams i64) (param $mode i32) (result i32)
    (call $q (i32.const 1) (local.get $pid)) (call $q (i32.const 9) (local.get $ams)) (call $h (i32.const 17) (i32.const 0x4321))
    (call $b (i32.const 19) (i32.const 0)) (call $b (i32.const 20) (local.get $mode)) (call $call (i32.const 0x42) (i32.const 21)))
  (func $backed (param $len i32) (param $cow i32) (result i32)
    (call $q (i32.const 1) (i64.extend_i32_u (local.get $len))) (call $b (i32.const 9) (local.get $cow))
    (call $call (i32.const 0x41) (i32.const 10)))
  (func $info (param $ams i64) (result i32) (call $s64 (i32.const 0x43) (local.get $ams)))
  (func $map (param $ams i64) (param $from i32) (param $at i32) (param $len i32) (result i32)
    (call $q (i32.const 1) (local.get $ams)) (call $q (i32.const 9) (i64.extend_i32_u (local.get $from)))
    (call $q (i32.const 17) (i64.extend_i32_u (local.get $at))) (call $q (i32.const 25) (i64.extend_i32_u (local.get $len)))
    (call $call (i32.const 0x45) (i32.const 33)))
  (func $unmap (param $ams i64) (param $at i32) (result i32)
    (call $s64_64 (i32.const 0x46) (local.get $ams) (i64.extend_i32_u (local.get $at))))
  (func $alloc (param $n i32) (result i32)
    (call $q (i32.const 1) (i64.extend_i32_u (local.get $n))) (call $b (i32.const 9) (i32.const 3)) (call $b (i32.const 10) (i32.const 0))
    (call $check (i32.const 95) (call $call (i32.const 0x30) (i32.const 11)) (i32.const ${OK}))
    (i32.wrap_i64 (call $r64 (i32.const 0))))
  (func $dump (param $at i32)
    (call $q (i32.const 1) (i64.load (local.get $at))) (call $q (i32.const 9) (i64.load offset=8 (local.get $at)))
    (call $q (i32.const 17) (i64.load offset=16 (local.get $at))) (call $q (i32.const 25) (i64.load offset=24 (local.get $at)))
    (drop (call $call (i32.const 0xd0) (i32.const 33))))
  (func $copy32 (param $from i32) (param $to i32)
    (i64.store (local.get $to) (i64.load (local.get $from)))
    (i64.store offset=8 (local.get $to) (i64.load offset=8 (local.get $from)))
    (i64.store offset=16 (local.get $to) (i64.load offset=16 (local.get $from)))
    (i64.store offset=24 (local.get $to) (i64.load offset=24 (local.get $from))))
  (func $bump (param $at i32) (i32.store (local.get $at) (i32.add (i32.load (local.get $at)) (i32.const 1))))
  ;; a file: word at relative address a of AMS n is (tag << 24) | a
  (func $fill (param $n i32) (param $len i32) (param $tag i32) (local $a i32)
    (loop $l
      (i32.store (i32.add (i32.add (i32.const 0x10000) (i32.mul (local.get $n) (i32.const 0x4000))) (local.get $a))
        (i32.or (i32.shl (local.get $tag) (i32.const 24)) (local.get $a)))
      (local.set $a (i32.add (local.get $a) (i32.const 4))) (br_if $l (i32.lt_u (local.get $a) (local.get $len)))))
  (func $fileOf (param $df i32) (result i32)
    (i32.add (i32.const 0x10000) (i32.mul (i32.wrap_i64 (i64.sub (i64.load (local.get $df)) (i64.load (i32.const 0x5600)))) (i32.const 0x4000))))
  (func $onShared (param $sig i32) (param $df i32) (result i64)
    (call $copy32 (local.get $df) (i32.add (i32.const 0x5000) (i32.shl (i32.load (i32.const 0x5100)) (i32.const 5))))
    (drop (i32.atomic.rmw.add (i32.const 0x5100) (i32.const 1))) (i64.const 0))
  (func $onUnshared (param $sig i32) (param $df i32) (result i64)
    (call $copy32 (local.get $df) (i32.const 0x5200)) (i32.atomic.store (i32.const 0x5300) (i32.const 1)) (i64.const 0))
  (func $onFault (param $sig i32) (param $df i32) (result i64)
    (call $copy32 (local.get $df) (i32.const 0x5720)) (i32.atomic.store (i32.const 0x5700) (i32.const 1)) (i64.const 0))
  (func $onRead (param $sig i32) (param $df i32) (result i64) (local $a i32) (local $n i32)
    (local.set $a (i32.wrap_i64 (i64.load offset=8 (local.get $df))))
    (local.set $n (i32.wrap_i64 (i64.sub (i64.load (local.get $df)) (i64.load (i32.const 0x5600)))))
    (call $bump (i32.const 0x5400))
    (if (i32.eqz (local.get $n)) (then
      (if (i32.eq (local.get $a) (i32.const 0)) (then (call $copy32 (local.get $df) (i32.const 0x6000))))
      (if (i32.eq (local.get $a) (i32.const 4)) (then (call $copy32 (local.get $df) (i32.const 0x6020))))
      (if (i32.eq (local.get $a) (i32.const 0x1ffc)) (then (call $copy32 (local.get $df) (i32.const 0x6040))))))
    ;; AMS 1: its first 2048 reads (the SHARE_AMS) are served; later ones fault: out-of-range (0x01) on its
    ;; first page, hardware fault (0x02) on its second
    (if (i32.eq (local.get $n) (i32.const 1)) (then
      (if (i32.ge_u (i32.load (i32.const 0x5408)) (i32.const 2048)) (then
        (return (select (i64.const 0x0100000000) (i64.const 0x0200000000) (i32.lt_u (local.get $a) (i32.const 0x1000))))))
      (call $bump (i32.const 0x5408))))
    ;; with 0x5410 set, the backer dies in its 1025th read
    (if (i32.and (i32.ne (i32.load (i32.const 0x5410)) (i32.const 0)) (i32.gt_u (i32.load (i32.const 0x5400)) (i32.const 1024)))
      (then (call $exit (i64.const 77))))
    (i64.extend_i32_u (i32.load (i32.add (call $fileOf (local.get $df)) (local.get $a)))))
  (func $onWrite (param $sig i32) (param $df i32) (result i64) (local $a i32)
    (local.set $a (i32.wrap_i64 (i64.load offset=8 (local.get $df))))
    (call $bump (i32.const 0x5404))
    (if (i32.eq (i32.load (i32.const 0x5404)) (i32.const 1)) (then (call $copy32 (local.get $df) (i32.const 0x6100))))
    ;; the word at 0x1ff0 cannot be written: hardware fault
    (if (i32.eq (local.get $a) (i32.const 0x1ff0)) (then (return (i64.const 2))))
    (i32.store (i32.add (call $fileOf (local.get $df)) (local.get $a)) (i32.load offset=16 (local.get $df)))
    (i64.const 0))
  (elem (i32.const 1) $onShared $onUnshared $onFault $onRead $onWrite)
  (func $await (param $a i32) (param $n i32) (loop $w (br_if $w (i32.lt_u (i32.atomic.load (local.get $a)) (local.get $n)))))
  (func $handlers
    (call $check (i32.const 90) (call $s8_64 (i32.const 0x01) (i32.const 0x35) (i64.const 1)) (i32.const ${OK}))
    (call $check (i32.const 91) (call $s8_64 (i32.const 0x01) (i32.const 0x37) (i64.const 2)) (i32.const ${OK}))
    (call $check (i32.const 92) (call $s8_64 (i32.const 0x01) (i32.const 0x02) (i64.const 3)) (i32.const ${OK}))
    (call $check (i32.const 93) (call $s0 (i32.const 0x04)) (i32.const ${OK})))
  (func $backer
    (call $check (i32.const 96) (call $s8_64 (i32.const 0x01) (i32.const 0x33) (i64.const 4)) (i32.const ${OK}))
    (call $check (i32.const 97) (call $s8_64 (i32.const 0x01) (i32.const 0x34) (i64.const 5)) (i32.const ${OK})))`;

/** forkPair with more memory and more locals. */
const pair = (child: string, parent: string) =>
  forkPair(child, parent, HELPERS)
    .replace("8 64 shared", "16 64 shared")
    .replace(
      "(local $child i64)",
      "(local $child i64) (local $a i64) (local $b i64) (local $c i64) (local $base i32) (local $w i32) (local $i i32) (local $me i64)",
    );

const WORD_LOOP = (base: string, tag: number, len: number, id: number) => `
  (local.set $i (i32.const 0))
  (loop $l
    (call $check (i32.const ${id}) (i32.load (i32.add ${base} (local.get $i))) (i32.or (i32.const ${tag << 24}) (local.get $i)))
    (local.set $i (i32.add (local.get $i) (i32.const 4))) (br_if $l (i32.lt_u (local.get $i) (i32.const ${len}))))`;

describe.skipIf(process.platform !== "linux")("signal-backed AMS", () => {
  it("the receiver sees the backer's answers, its stores come back as WRITE_BACKED_AMS, a refused one is MEM_FAULT; copy-on-write keeps the backer's bytes; page faults are errcodes; datafields byte for byte", () => {
    const r = home.run(
      pair(
        `;; the receiver: three RECV_SHARED_AMS (A, B, C), their IDs from the datafields
        (call $await (i32.const 0x5100) (i32.const 3))
        (local.set $a (i64.load (i32.const 0x500a))) (local.set $b (i64.load (i32.const 0x502a))) (local.set $c (i64.load (i32.const 0x504a)))
        ;; A: every word is the backer's answer
        (call $check (i32.const 10) (call $info (local.get $a)) (i32.const ${OK})) (call $dump (i32.const 0x2000))
        (local.set $base (i32.wrap_i64 (call $r64 (i32.const 17))))
        ${WORD_LOOP("(local.get $base)", 0xb0, 0x2000, 11)}
        ;; three stores, then UNMAP_AMS sends them back; the one at 0x1ff0 is refused: MEM_FAULT here
        (i32.store offset=0x10 (local.get $base) (i32.const 0xdeadbeef))
        (i32.store offset=0x1000 (local.get $base) (i32.const 0x12345678))
        (i32.store offset=0x1ff0 (local.get $base) (i32.const 0x0badf00d))
        (call $check (i32.const 12) (call $unmap (local.get $a) (i32.const 0)) (i32.const ${OK}))
        (call $await (i32.const 0x5700) (i32.const 1)) (call $dump (i32.const 0x5720))
        ;; mapped again: filled again, with what the backer took and without what it refused
        (local.set $w (call $alloc (i32.const 0x2000)))
        (call $check (i32.const 13) (call $map (local.get $a) (i32.const 0) (local.get $w) (i32.const 0x2000)) (i32.const ${OK}))
        (call $check (i32.const 14) (i32.load offset=0x10 (local.get $w)) (i32.const 0xdeadbeef))
        (call $check (i32.const 15) (i32.load offset=0x1000 (local.get $w)) (i32.const 0x12345678))
        (call $check (i32.const 16) (i32.load offset=0x1ff0 (local.get $w)) (i32.const 0xb0001ff0))
        (call $check (i32.const 17) (i32.load offset=4 (local.get $w)) (i32.const 0xb0000004))
        ;; B: the backer now answers page faults: 0x31 for "out-of-range", 0x02 for "hardware fault";
        ;; past the AMS is 0x31 before anything is asked; SHARE_AMS' mapping is still there
        (local.set $w (call $alloc (i32.const 0x1000)))
        (call $check (i32.const 18) (call $map (local.get $b) (i32.const 0) (local.get $w) (i32.const 0x1000)) (i32.const ${E(0x31)}))
        (call $check (i32.const 19) (call $map (local.get $b) (i32.const 0x1000) (local.get $w) (i32.const 0x1000)) (i32.const ${E(0x02)}))
        (call $check (i32.const 20) (call $map (local.get $b) (i32.const 0x1000) (local.get $w) (i32.const 0x2000)) (i32.const ${E(0x31)}))
        (call $check (i32.const 21) (call $info (local.get $b)) (i32.const ${OK}))
        (local.set $base (i32.wrap_i64 (call $r64 (i32.const 17))))
        ${WORD_LOOP("(local.get $base)", 0xc0, 0x2000, 22)}
        ;; a store left in B's mapping goes back at this process' end
        (i32.store offset=0x20 (local.get $base) (i32.const 0x5555))
        ;; C (copy-on-write): the store stays here, nothing goes back
        (call $check (i32.const 23) (call $info (local.get $c)) (i32.const ${OK}))
        (local.set $base (i32.wrap_i64 (call $r64 (i32.const 17))))
        (call $check (i32.const 24) (i32.load (local.get $base)) (i32.const 0xd0000000))
        (i32.store (local.get $base) (i32.const 0x77))
        (call $check (i32.const 25) (i32.load (local.get $base)) (i32.const 0x77))
        (call $check (i32.const 26) (i32.load offset=4 (local.get $base)) (i32.const 0xd0000004))
        (call $check (i32.const 27) (call $unmap (local.get $c) (i32.const 0)) (i32.const ${OK}))`,
        `;; the backer: three files, three AMS (A 8 KiB, B 8 KiB, C 4 KiB copy-on-write)
        (call $fill (i32.const 0) (i32.const 0x2000) (i32.const 0xb0))
        (call $fill (i32.const 1) (i32.const 0x2000) (i32.const 0xc0))
        (call $fill (i32.const 2) (i32.const 0x1000) (i32.const 0xd0))
        (call $check (i32.const 60) (call $backed (i32.const 0x2000) (i32.const 0)) (i32.const ${OK}))
        (local.set $a (call $r64 (i32.const 0))) (i64.store (i32.const 0x5600) (local.get $a))
        (call $check (i32.const 61) (call $backed (i32.const 0x2000) (i32.const 0)) (i32.const ${OK}))
        (local.set $b (call $r64 (i32.const 0)))
        (call $check (i32.const 62) (call $backed (i32.const 0x1000) (i32.const 1)) (i32.const ${OK}))
        (local.set $c (call $r64 (i32.const 0)))
        ;; no 32-bit memory could map more than 4 GiB: 0x02
        (call $q (i32.const 1) (i64.const 0x100001000)) (call $b (i32.const 9) (i32.const 0))
        (call $check (i32.const 59) (call $call (i32.const 0x41) (i32.const 10)) (i32.const ${E(0x02)}))
        (call $check64 (i32.const 63) (i64.sub (local.get $c) (local.get $a)) (i64.const 2))
        ;; no READ_BACKED_AMS handler yet: nobody can answer, SHARE_AMS is 0x02 at once
        (call $check (i32.const 64) (call $share (local.get $child) (local.get $a) (i32.const 0x06)) (i32.const ${E(0x02)}))
        (call $check (i32.const 65) (i32.load (i32.const 0x5400)) (i32.const 0))
        (call $backer)
        (call $check (i32.const 66) (call $share (local.get $child) (local.get $a) (i32.const 0x06)) (i32.const ${OK}))
        (call $check (i32.const 67) (i32.load (i32.const 0x5400)) (i32.const 2048))
        (call $check (i32.const 68) (call $share (local.get $child) (local.get $b) (i32.const 0x06)) (i32.const ${OK}))
        (call $check (i32.const 69) (call $share (local.get $child) (local.get $c) (i32.const 0x06)) (i32.const ${OK}))
        (call $check (i32.const 70) (i32.load (i32.const 0x5408)) (i32.const 2048))
        ;; the backer itself does not map what it backs; exclusive needs VIRT_MEM_AMS' pages
        (call $check (i32.const 71) (call $map (local.get $a) (i32.const 0) (call $alloc (i32.const 0x1000)) (i32.const 0x1000)) (i32.const ${E(0x02)}))
        (call $check (i32.const 72) (call $share (local.get $child) (local.get $a) (i32.const 0x09)) (i32.const ${E(0x12)}))
        (call $dump (i32.const 0x6000)) (call $dump (i32.const 0x6020)) (call $dump (i32.const 0x6040))
        ;; once the receiver ended: its stores are in the files, except the refused one and C's
        (drop (call $s64_16 (i32.const 0x51) (local.get $child) (i32.const 0)))
        (call $dump (i32.const 0x6100))
        (call $check (i32.const 73) (i32.load (i32.const 0x10010)) (i32.const 0xdeadbeef))
        (call $check (i32.const 74) (i32.load (i32.const 0x11000)) (i32.const 0x12345678))
        (call $check (i32.const 75) (i32.load (i32.const 0x11ff0)) (i32.const 0xb0001ff0))
        (call $check (i32.const 76) (i32.load (i32.const 0x18000)) (i32.const 0xd0000000))
        (call $check (i32.const 78) (i32.load (i32.const 0x14020)) (i32.const 0x5555))
        (call $check (i32.const 77) (i32.load (i32.const 0x5404)) (i32.const 4))`,
      ),
    );
    expect(summary(r.stderr)).toContain("exited with exit data 5");
    const { parent, child } = pids(r.stderr);
    expect(r.stderr).toContain(`[pid ${child}] EXIT {exitData: 42} -> process ends`);
    expect(r.stderr).toContain("SHARE_AMS refused: the backer did not serve every word (fault)");
    const a = /\[pid \d+\] BACKED_AMS \{length: 8192, copyOnWrite: 0\} -> ok \{ams: (\d+)\}/.exec(
      r.stderr,
    );
    if (a === null) throw new Error(r.stderr);
    const ams = BigInt(a[1] as string);
    const p = dumps(r.stderr, parent);
    // READ_BACKED_AMS: AMS ID (8), relative address (8), access mode (1): 0x00 read
    expect(p[0]).toBe(`${le(ams, 8)}${le(0, 8)}00`.padEnd(64, "0"));
    expect(p[1]).toBe(`${le(ams, 8)}${le(4, 8)}00`.padEnd(64, "0"));
    expect(p[2]).toBe(`${le(ams, 8)}${le(0x1ffc, 8)}00`.padEnd(64, "0"));
    // WRITE_BACKED_AMS: AMS ID (8), relative address (8), data to write (4): the first, in address order
    expect(p[3]).toBe(`${le(ams, 8)}${le(0x10, 8)}efbeadde`.padEnd(64, "0"));
    const c = dumps(r.stderr, child);
    const base = Number(
      BigInt(`0x${(c[0] as string).slice(34, 50).match(/../g)?.reverse().join("")}`),
    );
    // MEM_FAULT: the refused word's address in the receiver (8), access 0x02 write
    expect(c[1]).toBe(`${le(base + 0x1ff0, 8)}02`.padEnd(64, "0"));
    expect(amsSegments()).toBe(0);
  });

  it("a backer that dies while answering ends the sharing: MAP_AMS is 0x30, UNSHARED_AMS 0x01, nothing hangs; exec-only reads are access 0x01", () => {
    const r = home.run(
      pair(
        `;; the backer is the child; it dies in its 1025th READ_BACKED_AMS
        (call $fill (i32.const 0) (i32.const 0x1000) (i32.const 0xe0))
        (call $check (i32.const 30) (call $backed (i32.const 0x1000) (i32.const 0)) (i32.const ${OK}))
        (local.set $a (call $r64 (i32.const 0))) (i64.store (i32.const 0x5600) (local.get $a))
        (call $backer) (i32.store (i32.const 0x5410) (i32.const 1))
        (call $check (i32.const 31) (call $share (local.get $me) (local.get $a) (i32.const 0x01)) (i32.const ${OK}))
        (call $dump (i32.const 0x6000))
        (loop $forever (br $forever))`,
        `(call $await (i32.const 0x5100) (i32.const 1))
        (local.set $a (i64.load (i32.const 0x500a)))
        (call $check (i32.const 40) (call $info (local.get $a)) (i32.const ${OK}))
        (local.set $base (i32.wrap_i64 (call $r64 (i32.const 17))))
        ${WORD_LOOP("(local.get $base)", 0xe0, 0x1000, 41)}
        (local.set $w (call $alloc (i32.const 0x1000)))
        (call $check (i32.const 42) (call $map (local.get $a) (i32.const 0) (local.get $w) (i32.const 0x1000)) (i32.const ${E(0x30)}))
        (call $await (i32.const 0x5300) (i32.const 1)) (call $dump (i32.const 0x5200))
        (call $check (i32.const 43) (call $info (local.get $a)) (i32.const ${E(0x30)}))
        (drop (call $s64_16 (i32.const 0x51) (local.get $child) (i32.const 0)))`,
      ).replace(
        "(call $handlers)",
        "(call $check (i32.const 94) (call $s0 (i32.const 0x53)) (i32.const 0)) (local.set $me (call $r64 (i32.const 0))) (call $handlers)",
      ),
    );
    expect(summary(r.stderr)).toContain("exited with exit data 5");
    const { parent, child } = pids(r.stderr);
    expect(r.stderr).toContain(`[pid ${child}] EXIT {exitData: 77} -> process ends`);
    const a = /BACKED_AMS \{length: 4096, copyOnWrite: 0\} -> ok \{ams: (\d+)\}/.exec(r.stderr);
    if (a === null) throw new Error(r.stderr);
    // READ_BACKED_AMS for an exec-only receiver: access mode 0x01
    expect(dumps(r.stderr, child)[0]).toBe(
      `${le(BigInt(a[1] as string), 8)}${le(0, 8)}01`.padEnd(64, "0"),
    );
    // UNSHARED_AMS: 0x01, the backer ended without UNSHARE_AMS
    expect(dumps(r.stderr, parent)[0]).toBe("01".padEnd(64, "0"));
    expect(amsSegments()).toBe(0);
  });
});
