// Black-box tests of `ncw run` as a user meets it: app packages, the trace file, bad input, self-suspension.

import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { OK, program, TestHome } from "./kernel-helpers.js";

const home = new TestHome();
const homes = [home];
afterAll(() => {
  for (const h of homes) h.cleanup();
});
const examples = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "examples");

describe("ncw run", () => {
  it("runs an app package's pre-compiled program under its AID", () => {
    const pkg = path.join(home.dir, "hello.nap");
    expect(home.ncw(["pack", path.join(examples, "hello"), "-o", pkg]).code).toBe(0);
    const r = home.ncw(["run", "--trace", pkg, "world"]);
    expect(r.stderr).toMatch(/\[pid \d+\] started \(ncwdemo::hello\)/);
    expect(r.code).toBe(0);
  });

  it("writes the trace to --trace-file instead of stderr", () => {
    const f = home.write("t.wat", program("(drop (call $s0 (i32.const 0x53)))"));
    const trace = path.join(home.dir, "trace.txt");
    const r = home.ncw(["run", "--trace-file", trace, f]);
    expect(r.code).toBe(0);
    expect(r.stderr).not.toMatch(/GET_PID/);
    expect(readFileSync(trace, "utf8")).toMatch(/GET_PID \{\} -> ok \{pid: \d+\}/);
  });

  it("says what is wrong with a missing or invalid program, without starting anything", () => {
    const home = new TestHome();
    homes.push(home);
    const missing = home.ncw(["run", path.join(home.dir, "nope.npp")]);
    expect(missing.code).toBe(66);
    expect(missing.stderr).toMatch(/error: .*nope\.npp/);
    const bad = home.ncw([
      "run",
      home.write("bad.wat", '(module (func (export "_start") i32.add))'),
    ]);
    expect(bad.code).toBe(65);
    expect(bad.stderr).toMatch(/error:/);
    const noAbi = home.ncw(["run", home.write("noabi.wat", '(module (func (export "_start")))')]);
    expect(noAbi.code).toBe(65);
    expect(noAbi.stderr).toMatch(/memory/);
    expect(existsSync(path.join(home.home, "run", "kernel.pid"))).toBe(false);
  });

  it("SUSPEND(0) blocks the caller until its parent unsuspends it, and returns the duration", () => {
    const wat = program(
      `(local $child i64)
      (call $q (i32.const 1) (i64.const 0)) (call $b (i32.const 0) (i32.const 0x50))
      (call $check (i32.const 50) (call $fork (i32.const 0x1000) (i32.const 9) (i32.const 0x2000)) (i32.const ${OK}))
      (if (i32.eq (call $r8 (i32.const 8)) (i32.const 1)) (then
        (call $check (i32.const 1) (call $s64 (i32.const 0x54) (i64.const 0)) (i32.const ${OK}))
        (if (i64.lt_u (call $r64 (i32.const 0)) (i64.const 150)) (then (call $exit (i64.const 2))))
        (call $exit (i64.const 0))))
      (local.set $child (call $r64 (i32.const 0)))
      ;; the child stays suspended: waiting 300 ms times out
      (call $check (i32.const 10) (call $s64_16 (i32.const 0x51) (local.get $child) (i32.const 300)) (i32.const ${OK}))
      (call $check (i32.const 11) (call $r8 (i32.const 0)) (i32.const 0))
      (call $check (i32.const 12) (call $s64 (i32.const 0x55) (local.get $child)) (i32.const ${OK}))
      (call $check (i32.const 13) (call $s64_16 (i32.const 0x51) (local.get $child) (i32.const 0)) (i32.const ${OK}))
      (call $exit (i64.const 4))`,
    ).replace(
      "(memory",
      '(import "nightos" "syscall_fork" (func $fork (param i32 i32 i32) (result i32)))\n  (memory',
    );
    const r = home.run(wat);
    expect(r.stderr).toMatch(/SUSPEND \{pid: 0\} -> ok \{duration: \d+\} \(kernel\)/);
    expect(r.stderr).not.toMatch(/EXIT \{exitData: 2\}/);
    expect(r.code).toBe(4);
  });
});
