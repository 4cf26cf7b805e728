// Black-box tests of the syscalls NCW implements: small CommonAssembly programs run through `ncw run`;
// each checks results in the program (exit data = the failing check's id) and in the decoded trace.

import { afterAll, describe, expect, it } from "vitest";
import { E, OK, program, TestHome } from "./kernel-helpers.js";

const home = new TestHome();
afterAll(() => home.cleanup());

describe("ncw run: process basics", () => {
  it("GET_PID answers a PID >= 100 and EXIT's data becomes the exit code", () => {
    const r = home.run(
      program(`(drop (call $s0 (i32.const 0x53)))
        (if (i64.lt_u (call $r64 (i32.const 0)) (i64.const 100)) (then (call $exit (i64.const 1))))
        (call $exit (i64.const 42))`),
    );
    expect(r.stderr).toMatch(/GET_PID \{\} -> ok \{pid: 1\d\d\}/);
    expect(r.stderr).toMatch(/EXIT \{exitData: 42\} -> process ends/);
    expect(r.code).toBe(42);
  });

  it("returning from _start is exit data 0; exit data above 255 gives 255", () => {
    expect(home.run(program("")).code).toBe(0);
    const r = home.run(program("(call $exit (i64.const 300))"));
    expect(r.code).toBe(255);
    expect(r.stderr).toMatch(/exit data 300 \(host exit code 255\)/);
  });
});

describe("generic errcodes 0x00–0x03", () => {
  it("returns each for the request that causes it", () => {
    const r = home.run(
      program(`
        ;; 0x01: no syscall 0xD3
        (call $check (i32.const 1) (call $s0 (i32.const 0xd3)) (i32.const ${E(0x01)}))
        ;; 0x00: req_len 0, and a request past the memory's end
        (call $check (i32.const 2) (call $sys (i32.const ${0x1000}) (i32.const 0) (i32.const ${0x2000})) (i32.const ${E(0x00)}))
        (call $check (i32.const 3) (call $sys (i32.const 0x7ffffff0) (i32.const 1) (i32.const ${0x2000})) (i32.const ${E(0x00)}))
        ;; 0x00: arguments shorter than the layout (GET_PID is fine with none; HANDLE_SIGNAL needs 9 bytes)
        (call $check (i32.const 4) (call $call (i32.const 0x01) (i32.const 3)) (i32.const ${E(0x00)}))
        ;; 0x02: trailing argument bytes
        (call $check (i32.const 5) (call $call (i32.const 0x53) (i32.const 5)) (i32.const ${E(0x02)}))
        ;; 0x02: return area at address 0; 0x03: return area past the end
        (call $b (i32.const 0) (i32.const 0x53))
        (call $check (i32.const 6) (call $sys (i32.const ${0x1000}) (i32.const 1) (i32.const 0)) (i32.const ${E(0x02)}))
        (call $check (i32.const 7) (call $sys (i32.const ${0x1000}) (i32.const 1) (i32.const 0x7fffffff)) (i32.const ${E(0x03)}))
        ;; 0x02: CREATE_PROCESS through syscall instead of syscall_fork
        (call $check (i32.const 8) (call $s64 (i32.const 0x50) (i64.const 0)) (i32.const ${E(0x02)}))
      `),
    );
    expect(r.stderr).toMatch(/SYSCALL_0xd3 \{\} -> err 0x01 NO_SUCH_SYSCALL/);
    expect(r.stderr).toMatch(/unreadable -> err 0x00 MEMORY_READ/);
    expect(r.code).toBe(0);
  });
});

describe("signal syscalls 0x01–0x04", () => {
  it("HANDLE / UNHANDLE / IS_SIGNAL_HANDLED / READY with their errors", () => {
    const r = home.run(
      program(
        `
        (call $check (i32.const 1) (call $s8_64 (i32.const 0x01) (i32.const 0x03) (i64.const 1)) (i32.const ${E(0x10)}))
        (call $check (i32.const 2) (call $s8 (i32.const 0x02) (i32.const 0x4e)) (i32.const ${E(0x30)}))
        (call $check (i32.const 3) (call $s8 (i32.const 0x02) (i32.const 0x99)) (i32.const ${E(0x10)}))
        (call $check (i32.const 4) (call $s8 (i32.const 0x03) (i32.const 0x4e)) (i32.const ${OK}))
        (call $check (i32.const 5) (call $r8 (i32.const 0)) (i32.const 0))
        (call $check (i32.const 6) (call $s8_64 (i32.const 0x01) (i32.const 0x4e) (i64.const 1)) (i32.const ${OK}))
        (call $check (i32.const 7) (call $s8 (i32.const 0x03) (i32.const 0x4e)) (i32.const ${OK}))
        (call $check (i32.const 8) (call $r8 (i32.const 0)) (i32.const 1))
        (call $check (i32.const 9) (call $s8 (i32.const 0x03) (i32.const 0x00)) (i32.const ${E(0x10)}))
        (call $check (i32.const 10) (call $s8 (i32.const 0x02) (i32.const 0x4e)) (i32.const ${OK}))
        (call $check (i32.const 11) (call $s8 (i32.const 0x03) (i32.const 0x4e)) (i32.const ${OK}))
        (call $check (i32.const 12) (call $r8 (i32.const 0)) (i32.const 0))
        (call $check (i32.const 13) (call $s0 (i32.const 0x04)) (i32.const ${OK}))
        (call $check (i32.const 14) (call $s0 (i32.const 0x04)) (i32.const ${E(0x30)}))
      `,
      ),
    );
    expect(r.stderr).toMatch(/UNHANDLE_SIGNAL \{signal: 78\} -> err 0x30 NOT_HANDLED/);
    expect(r.stderr).toMatch(/READY \{\} -> err 0x30 ALREADY_READY/);
    expect(r.code).toBe(0);
  });
});

describe("memory syscalls 0x30–0x31", () => {
  it("allocates 4 KiB pages inside the wasm memory and frees them, with every errcode", () => {
    const r = home.run(
      program(
        `(local $a i64)
        ;; MEM_ALLOC args: size u64, permissions u8, zeroed u8 (11 bytes with the code)
        (call $q (i32.const 1) (i64.const 5000)) (call $b (i32.const 9) (i32.const 0)) (call $b (i32.const 10) (i32.const 1))
        (call $check (i32.const 1) (call $call (i32.const 0x30) (i32.const 11)) (i32.const ${E(0x10)}))
        (call $b (i32.const 9) (i32.const 4))
        (call $check (i32.const 2) (call $call (i32.const 0x30) (i32.const 11)) (i32.const ${E(0x10)}))
        (call $b (i32.const 9) (i32.const 3))
        (call $check (i32.const 3) (call $call (i32.const 0x30) (i32.const 11)) (i32.const ${OK}))
        (local.set $a (call $r64 (i32.const 0)))
        (call $check64 (i32.const 4) (i64.rem_u (local.get $a) (i64.const 4096)) (i64.const 0))
        ;; the two pages are usable memory
        (i32.store (i32.wrap_i64 (i64.add (local.get $a) (i64.const 8000))) (i32.const 7))
        ;; MEM_FREE errors: unaligned, start out of range, size out of range, not allocated
        (call $check (i32.const 5) (call $s64_64 (i32.const 0x31) (i64.add (local.get $a) (i64.const 1)) (i64.const 1)) (i32.const ${E(0x10)}))
        (call $check (i32.const 6) (call $s64_64 (i32.const 0x31) (i64.const 0x40000000) (i64.const 1)) (i32.const ${E(0x30)}))
        (call $check (i32.const 7) (call $s64_64 (i32.const 0x31) (local.get $a) (i64.const 100000)) (i32.const ${E(0x31)}))
        ;; (a page of the module's own memory is not allocated; address 0 is 0x02: kernel-contract.test.ts)
        (call $check (i32.const 8) (call $s64_64 (i32.const 0x31) (i64.const 0x1000) (i64.const 1)) (i32.const ${E(0x32)}))
        (call $check (i32.const 9) (call $s64_64 (i32.const 0x31) (local.get $a) (i64.const 3)) (i32.const ${E(0x32)}))
        (call $check (i32.const 10) (call $s64_64 (i32.const 0x31) (local.get $a) (i64.const 2)) (i32.const ${OK}))
        (call $check (i32.const 11) (call $s64_64 (i32.const 0x31) (local.get $a) (i64.const 1)) (i32.const ${E(0x32)}))
        ;; freed pages are reused
        (call $check (i32.const 12) (call $call (i32.const 0x30) (i32.const 11)) (i32.const ${OK}))
        (call $check64 (i32.const 13) (call $r64 (i32.const 0)) (local.get $a))
        ;; 0x40: larger than the memory can ever grow
        (call $q (i32.const 1) (i64.const 0x100000000))
        (call $check (i32.const 14) (call $call (i32.const 0x30) (i32.const 11)) (i32.const ${E(0x40)}))
      `,
      ),
    );
    expect(r.stderr).toMatch(
      /MEM_ALLOC \{size: 5000, permissions: 4, zeroed: 1\} -> err 0x10 INVALID_PERMISSION/,
    );
    expect(r.stderr).toMatch(/MEM_FREE .* -> err 0x31 SIZE_OUT_OF_RANGE/);
    expect(r.code).toBe(0);
  });
});

describe("TLS syscalls 0x61–0x64", () => {
  it("creates, writes, reads, deletes slots, with unknown-slot errors", () => {
    const r = home.run(
      program(
        `(local $s i64)
        (i64.store (i32.const 0x3000) (i64.const 0x0807060504030201))
        (call $check (i32.const 1) (call $s0 (i32.const 0x61)) (i32.const ${OK}))
        (local.set $s (call $r64 (i32.const 0)))
        (call $check (i32.const 2) (call $s64_buf (i32.const 0x63) (local.get $s) (i64.const 0x3000) (i64.const 8)) (i32.const ${OK}))
        ;; read all (length 0) to 0x3100
        (call $check (i32.const 3) (call $s64_buf (i32.const 0x62) (local.get $s) (i64.const 0x3100) (i64.const 0)) (i32.const ${OK}))
        (call $check64 (i32.const 4) (call $r64 (i32.const 0)) (i64.const 8))
        (call $check64 (i32.const 5) (i64.load (i32.const 0x3100)) (i64.const 0x0807060504030201))
        ;; partial read of 3 bytes
        (call $check (i32.const 6) (call $s64_buf (i32.const 0x62) (local.get $s) (i64.const 0x3200) (i64.const 3)) (i32.const ${OK}))
        (call $check64 (i32.const 7) (call $r64 (i32.const 0)) (i64.const 3))
        ;; bad buffers: address 0 (0x02), past the end (0x03)
        (call $check (i32.const 8) (call $s64_buf (i32.const 0x63) (local.get $s) (i64.const 0) (i64.const 8)) (i32.const ${E(0x02)}))
        (call $check (i32.const 9) (call $s64_buf (i32.const 0x63) (local.get $s) (i64.const 0x7ffffff0) (i64.const 64)) (i32.const ${E(0x03)}))
        (call $check (i32.const 10) (call $s64 (i32.const 0x64) (local.get $s)) (i32.const ${OK}))
        (call $check (i32.const 11) (call $s64 (i32.const 0x64) (local.get $s)) (i32.const ${E(0x30)}))
        (call $check (i32.const 12) (call $s64_buf (i32.const 0x62) (local.get $s) (i64.const 0x3100) (i64.const 0)) (i32.const ${E(0x30)}))
        (call $check (i32.const 13) (call $s64_buf (i32.const 0x63) (i64.const 999) (i64.const 0x3000) (i64.const 8)) (i32.const ${E(0x30)}))
      `,
      ),
    );
    expect(r.stderr).toMatch(/DELETE_TLS_SLOT \{slot: 1\} -> err 0x30 NO_SUCH_SLOT/);
    expect(r.code).toBe(0);
  });
});

describe("EXECUTION_CONTEXT 0xA0", () => {
  it("returns the startup reason, the 267-byte command header, the arguments and all of it", () => {
    const r = home.run(
      program(
        `
        ;; 0x01 startup reason: command (0x8 in bits 0-3), raw output read (bit 5: stdout is a pipe) = 0x84
        (call $check (i32.const 1) (call $s8_64 (i32.const 0xa0) (i32.const 1) (i64.const 0x3000)) (i32.const ${OK}))
        (call $check64 (i32.const 2) (call $r64 (i32.const 0)) (i64.const 1))
        (call $check (i32.const 3) (i32.load8_u (i32.const 0x3000)) (i32.const 0x84))
        ;; 0x02 header: 267 bytes; argument count at byte 20 = 2; arguments size at 21..22
        (call $check (i32.const 4) (call $s8_64 (i32.const 0xa0) (i32.const 2) (i64.const 0x3000)) (i32.const ${OK}))
        (call $check64 (i32.const 5) (call $r64 (i32.const 0)) (i64.const 267))
        (call $check (i32.const 6) (i32.load8_u (i32.const 0x3014)) (i32.const 2))
        (call $check (i32.const 7) (i32.load16_u (i32.const 0x3015)) (i32.const ${9 + 8 + 3 + (9 + 8 + 2)}))
        ;; 0x03 arguments: first value = length 11, type 0x05 (string), 8-byte length 3, "abc"
        (call $check (i32.const 8) (call $s8_64 (i32.const 0xa0) (i32.const 3) (i64.const 0x3400)) (i32.const ${OK}))
        (call $check64 (i32.const 9) (call $r64 (i32.const 0)) (i64.const ${9 + 8 + 3 + (9 + 8 + 2)}))
        (call $check64 (i32.const 10) (i64.load (i32.const 0x3400)) (i64.const 12))
        (call $check (i32.const 11) (i32.load8_u (i32.const 0x3408)) (i32.const 0x05))
        (call $check (i32.const 12) (i32.load8_u (i32.const 0x3411)) (i32.const 0x61))
        ;; 0x00 everything
        (call $check (i32.const 13) (call $s8_64 (i32.const 0xa0) (i32.const 0) (i64.const 0x3800)) (i32.const ${OK}))
        (call $check64 (i32.const 14) (call $r64 (i32.const 0)) (i64.const ${267 + 39}))
        ;; errors: bad information code, buffer at 0, buffer past the end
        (call $check (i32.const 15) (call $s8_64 (i32.const 0xa0) (i32.const 4) (i64.const 0x3000)) (i32.const ${E(0x10)}))
        (call $check (i32.const 16) (call $s8_64 (i32.const 0xa0) (i32.const 0) (i64.const 0)) (i32.const ${E(0x02)}))
        (call $check (i32.const 17) (call $s8_64 (i32.const 0xa0) (i32.const 0) (i64.const 0x7fffff00)) (i32.const ${E(0x03)}))
      `,
      ),
      ["abc", "xy"],
    );
    expect(r.stderr).toMatch(
      /EXECUTION_CONTEXT \{info: 4, buffer: 12288\} -> err 0x10 INVALID_INFO/,
    );
    expect(r.code).toBe(0);
  });
});

describe("refused and not-yet-implemented syscalls", () => {
  it("answers hardware and system-reserved calls with the spec's refusal, after its constant checks", () => {
    const r = home.run(
      program(
        `
        ;; READ_IO_PORT: kdi u64, port u16, bufptr → 0x30 (no drivable device)
        (call $check (i32.const 1) (call $call (i32.const 0x70) (i32.const 27)) (i32.const ${E(0x30)}))
        ;; DEVICE_AMS: unaligned device address is 0x10 before anything else
        (call $q (i32.const 1) (i64.const 1)) (call $q (i32.const 9) (i64.const 0)) (call $q (i32.const 17) (i64.const 1)) (call $q (i32.const 25) (i64.const 0))
        (call $check (i32.const 2) (call $call (i32.const 0x73) (i32.const 33)) (i32.const ${E(0x11)}))
        (call $q (i32.const 17) (i64.const 0))
        (call $check (i32.const 3) (call $call (i32.const 0x73) (i32.const 33)) (i32.const ${E(0x12)}))
        (call $q (i32.const 17) (i64.const 4096))
        (call $check (i32.const 4) (call $call (i32.const 0x73) (i32.const 33)) (i32.const ${E(0x30)}))
        ;; SYS_MANAGE_PROCESS: bad action 0x10, good action 0x30 (not sys::process)
        (call $check (i32.const 5) (call $s0 (i32.const 0xd1)) (i32.const ${E(0x00)}))
        (call $q (i32.const 1) (i64.const 100)) (call $b (i32.const 9) (i32.const 9))
        (call $check (i32.const 6) (call $call (i32.const 0xd1) (i32.const 10)) (i32.const ${E(0x10)}))
        (call $b (i32.const 9) (i32.const 1))
        (call $check (i32.const 7) (call $call (i32.const 0xd1) (i32.const 10)) (i32.const ${E(0x30)}))
        (call $check (i32.const 8) (call $s0 (i32.const 0xd5)) (i32.const ${E(0x30)}))
        ;; SYS_CREATE_PROCESS takes variable arguments: refused whatever they are
        (call $check (i32.const 9) (call $call (i32.const 0xd0) (i32.const 7)) (i32.const ${E(0x30)}))
      `,
      ),
    );
    expect(r.stderr).toMatch(
      /SYS_MANAGE_PROCESS \{pid: 100, action: 9\} -> err 0x10 INVALID_ACTION/,
    );
    expect(r.code).toBe(0);
  });
});
