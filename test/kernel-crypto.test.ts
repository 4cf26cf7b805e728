// sys::crypto (specs/services/system/crypto.md, docs/services.md "sys::crypto") from a real app: a
// client run through `ncw run` connects to PID 15 (ANID 0, the PID in the scope) and calls
// RANDOM_BUFFER (0x1000) with a buffer pointer (address u64, length u64): the answer concludes with no
// bytes, the buffer is filled, the bytes around it are untouched, two fills differ; then the errcodes
// of a buffer that is not the client's memory, one past NCW's 1 MiB bound and arguments of a bad size.

import { afterAll, describe, expect, it } from "vitest";
import { OK, TestHome } from "./kernel-helpers.js";
import { systemClient } from "./services-apps.js";

const home = new TestHome();
afterAll(() => home.cleanup());

const SYS_CRYPTO = 15;

/** RANDOM_BUFFER's arguments at 0x7000: the buffer pointer. */
const pointer = (address: string, length: string) =>
  `(i64.store (i32.const 0x7000) ${address}) (i64.store (i32.const 0x7008) ${length})`;

describe("sys::crypto", () => {
  it("fills an app's buffer with random bytes through RANDOM_BUFFER, and refuses bad buffers", () => {
    const r = home.run(
      systemClient(`
      (call $check (i32.const 1) (call $connect (i32.const 0) (i32.const 0) (i64.const ${SYS_CRYPTO}) (i32.const 0) (i32.const 0)) (i32.const ${OK}))
      (local.set $sock (call $r64 (i32.const 8)))
      ;; sentinels 0xAA just before and after the 64 bytes at 0x8000, zeros inside
      (i32.store8 (i32.const 0x7fff) (i32.const 0xaa))
      (i32.store8 (i32.const 0x8040) (i32.const 0xaa))
      ${pointer("(i64.const 0x8000)", "(i64.const 64)")}
      (call $check (i32.const 2) (call $sendn (local.get $sock) (i32.const 0x1000) (i32.const 0x7000) (i32.const 16)) (i32.const ${OK}))
      ;; the answer: status 0x04 (answer, concluded), no bytes
      (call $answer (i32.const 3) (local.get $sock) (i32.const 0x04) (i32.const 0))
      (call $check (i32.const 10) (i32.load8_u (i32.const 0x7fff)) (i32.const 0xaa))
      (call $check (i32.const 11) (i32.load8_u (i32.const 0x8040)) (i32.const 0xaa))
      ;; not all 64 bytes are zero (chance 2^-512): count the zero u64 words, at most 1 of 8
      (local.set $i (i32.const 0)) (local.set $len (i32.const 0))
      (loop $z
        (if (i64.eqz (i64.load (i32.add (i32.const 0x8000) (local.get $i))))
          (then (local.set $len (i32.add (local.get $len) (i32.const 1)))))
        (local.set $i (i32.add (local.get $i) (i32.const 8)))
        (br_if $z (i32.lt_u (local.get $i) (i32.const 64))))
      (call $check (i32.const 12) (i32.le_u (local.get $len) (i32.const 1)) (i32.const 1))
      ;; a second fill of 64 bytes at 0x8100 differs from the first
      ${pointer("(i64.const 0x8100)", "(i64.const 64)")}
      (call $check (i32.const 13) (call $sendn (local.get $sock) (i32.const 0x1000) (i32.const 0x7000) (i32.const 16)) (i32.const ${OK}))
      (call $answer (i32.const 14) (local.get $sock) (i32.const 0x04) (i32.const 0))
      (call $check (i32.const 20) (i64.eq (i64.load (i32.const 0x8000)) (i64.load (i32.const 0x8100))) (i32.const 0))
      ;; an empty buffer: answered, nothing written
      ${pointer("(i64.const 0x8200)", "(i64.const 0)")}
      (call $check (i32.const 21) (call $sendn (local.get $sock) (i32.const 0x1000) (i32.const 0x7000) (i32.const 16)) (i32.const ${OK}))
      (call $answer (i32.const 22) (local.get $sock) (i32.const 0x04) (i32.const 0))
      (call $check64 (i32.const 26) (i64.load (i32.const 0x8200)) (i64.const 0))
      ;; a buffer past the client's memory (2 pages = 0x20000 bytes): 0x1FFF
      ${pointer("(i64.const 0x1fff0)", "(i64.const 32)")}
      (call $check (i32.const 27) (call $sendn (local.get $sock) (i32.const 0x1000) (i32.const 0x7000) (i32.const 16)) (i32.const ${OK}))
      (call $answer (i32.const 28) (local.get $sock) (i32.const 0x06) (i32.const 2))
      (call $check (i32.const 32) (i32.load16_u (i32.const 0x7100)) (i32.const 0x1fff))
      (call $check64 (i32.const 33) (i64.load (i32.const 0x1fff0)) (i64.const 0))
      ;; more than 1 MiB: 0x1FFF
      ${pointer("(i64.const 0x8000)", "(i64.const 0x100001)")}
      (call $check (i32.const 34) (call $sendn (local.get $sock) (i32.const 0x1000) (i32.const 0x7000) (i32.const 16)) (i32.const ${OK}))
      (call $answer (i32.const 35) (local.get $sock) (i32.const 0x06) (i32.const 2))
      (call $check (i32.const 39) (i32.load16_u (i32.const 0x7100)) (i32.const 0x1fff))
      ;; 15 bytes of arguments (a buffer pointer is 16): 0x1FFF
      (call $check (i32.const 40) (call $sendn (local.get $sock) (i32.const 0x1000) (i32.const 0x7000) (i32.const 15)) (i32.const ${OK}))
      (call $answer (i32.const 41) (local.get $sock) (i32.const 0x06) (i32.const 2))
      (call $check (i32.const 45) (i32.load16_u (i32.const 0x7100)) (i32.const 0x1fff))
      ;; a method sys::crypto does not have: 0x1FFE
      (call $check (i32.const 46) (call $sendn (local.get $sock) (i32.const 0x1001) (i32.const 0x7000) (i32.const 16)) (i32.const ${OK}))
      (call $answer (i32.const 47) (local.get $sock) (i32.const 0x06) (i32.const 2))
      (call $check (i32.const 51) (i32.load16_u (i32.const 0x7100)) (i32.const 0x1ffe))`),
    );
    if (process.env.DUMP) console.log(r.stderr);
    expect(r.code, r.stderr).toBe(0);
  }, 90_000);
});
