// ABI 1.1 (docs/commonassembly.md §5, §10): ACCEPT_SERVICE_CONN returns twice, so it goes through
// `nightos.syscall_fork`; through `syscall` it fails with 0x02. Through `syscall_fork` it reaches the
// kernel, which knows no request 1 (0x30; docs/services.md).

import { afterAll, describe, expect, it } from "vitest";
import { E, TestHome } from "./kernel-helpers.js";

const home = new TestHome();
afterAll(() => home.cleanup());

const PROGRAM = `(module
  (import "nightos" "syscall" (func $sys (param i32 i32 i32) (result i32)))
  (import "nightos" "syscall_fork" (func $fork (param i32 i32 i32) (result i32)))
  (memory (export "memory") 2 64 shared)
  (table (export "__indirect_function_table") 1 funcref)
  (func $exit (param $v i64)
    (i32.store8 (i32.const 0x1000) (i32.const 0x5f))
    (i64.store (i32.const 0x1001) (local.get $v))
    (drop (call $sys (i32.const 0x1000) (i32.const 9) (i32.const 0x2000)))
    unreachable)
  ;; ACCEPT_SERVICE_CONN (0x2C) with request ID 1
  (func $accept_req
    (i32.store8 (i32.const 0x1000) (i32.const 0x2c))
    (i64.store (i32.const 0x1001) (i64.const 1)))
  (func (export "_start")
    (call $accept_req)
    (if (i32.ne (call $sys (i32.const 0x1000) (i32.const 9) (i32.const 0x2000)) (i32.const ${E(0x02)}))
      (then (call $exit (i64.const 1))))
    (call $accept_req)
    (if (i32.ne (call $fork (i32.const 0x1000) (i32.const 9) (i32.const 0x2000)) (i32.const ${E(0x30)}))
      (then (call $exit (i64.const 2))))))`;

describe("ABI 1.1: ACCEPT_SERVICE_CONN through syscall_fork", () => {
  it("is refused through syscall (0x02) and reaches the table through syscall_fork (0x30: no such request)", () => {
    const r = home.run(PROGRAM);
    expect(r.stderr).toMatch(/ACCEPT_SERVICE_CONN .* -> err 0x02/);
    expect(r.stderr).toMatch(/ACCEPT_SERVICE_CONN {request: 1} -> err 0x30 NO_SUCH_REQUEST/);
    expect(r.code).toBe(0);
  });
});
