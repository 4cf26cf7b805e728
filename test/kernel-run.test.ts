// Black-box tests of `ncw run` as a user meets it: app packages, the trace file, bad input, self-suspension.

import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { OK, program, TestHome, waitFor } from "./kernel-helpers.js";

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
    // hello (the SDK) reads its whole execution context, then greets on CMDMSG and returns void.
    expect(r.stderr).toMatch(/EXECUTION_CONTEXT \{info: 0, buffer: \d+\} -> ok/);
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

  it("says what is wrong with a missing or invalid program", () => {
    const home = new TestHome();
    homes.push(home);
    const missing = home.ncw(["run", path.join(home.dir, "nope.npp")]);
    expect(missing.code).toBe(66);
    expect(missing.stderr).toMatch(/error: cannot run .*nope\.npp: no such file/);
    // A missing file is caught before any kernel starts.
    expect(existsSync(path.join(home.home, "run", "kernel.pid"))).toBe(false);
    // Invalid programs are refused by the kernel's AOT step, with the validator's message.
    const bad = home.ncw([
      "run",
      home.write("bad.wat", '(module (func (export "_start") i32.add))'),
    ]);
    expect(bad.code).toBe(65);
    expect(bad.stderr).toMatch(/error:/);
    const noAbi = home.ncw(["run", home.write("noabi.wat", '(module (func (export "_start")))')]);
    expect(noAbi.code).toBe(65);
    expect(noAbi.stderr).toMatch(/memory/);
    const aid = home.ncw(["run", "ncwdemo::hello"]);
    expect(aid.code).toBe(66);
    expect(aid.stderr).toMatch(/no application ncwdemo::hello is installed/);
  });

  it("SUSPEND(0) blocks the caller until its parent unsuspends it, and returns the duration", () => {
    const wat = program(
      `(local $child i64)
      (call $q (i32.const 1) (i64.const 0)) (call $b (i32.const 0) (i32.const 0x50))
      (call $check (i32.const 50) (call $fork (i32.const 0x1000) (i32.const 9) (i32.const 0x2000)) (i32.const ${OK}))
      (if (i32.eq (call $r8 (i32.const 8)) (i32.const 1)) (then
        (call $check (i32.const 1) (call $s64 (i32.const 0x54) (i64.const 0)) (i32.const ${OK}))
        (if (i64.eqz (call $r64 (i32.const 0))) (then (call $exit (i64.const 2))))
        (call $exit (i64.const 0))))
      (local.set $child (call $r64 (i32.const 0)))
      ;; wait until the child has suspended itself: UNSUSPEND reports a non-zero duration then
      (block $resumed (loop $again
        (call $check (i32.const 10) (call $s64_16 (i32.const 0x51) (local.get $child) (i32.const 100)) (i32.const ${OK}))
        (call $check (i32.const 11) (call $r8 (i32.const 0)) (i32.const 0))
        (call $check (i32.const 12) (call $s64 (i32.const 0x55) (local.get $child)) (i32.const ${OK}))
        (br_if $resumed (i64.ne (call $r64 (i32.const 0)) (i64.const 0)))
        (br $again)))
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

  it("--priority 1–9 holds a busy process back at its safepoints; 0 starts it suspended", async () => {
    const busy = program(
      `(local $i i32) (block $d (loop $l (br_if $d (i32.ge_u (local.get $i) (i32.const 300000000)))
        (local.set $i (i32.add (local.get $i) (i32.const 1))) (br $l)))`,
    );
    const f = home.write("busy.wat", busy);
    const full = home.ncw(["run", "--trace", f]);
    expect(full.code).toBe(0);
    expect(full.stderr).not.toMatch(/held back/);
    const slow = home.ncw(["run", "--trace", "--priority", "1", f]);
    expect(slow.code).toBe(0);
    const held = Number(/priority: held back (\d+) ms/.exec(slow.stderr)?.[1]);
    expect(held).toBeGreaterThanOrEqual(50);
    expect(home.ncw(["run", "--priority", "11", f]).code).toBe(2);

    const paused = spawnRunWith(["--priority", "0"], f);
    const exited = new Promise<number | null>((r) => paused.on("exit", (c) => r(c)));
    expect(await waitFor(() => /\[pid \d+\] started/.test(paused.output()), 20_000)).toBe(true);
    const pid = Number(/\[pid (\d+)\] started/.exec(paused.output())?.[1]);
    expect(
      await waitFor(() => {
        const l = JSON.parse(home.ncw(["ps", "--json"]).stdout).processes as {
          pid: number;
          state: string;
          priority: number;
        }[];
        const p = l.find((x) => x.pid === pid);
        return p?.state === "suspended" && p.priority === 0;
      }),
    ).toBe(true);
    // ncw kill --priority 10 resumes it; it then runs to its end.
    const k = home.ncw(["kill", String(pid), "--priority", "10"]);
    expect(k.stdout).toMatch(/set the priority of process \d+ to 10/);
    expect(await exited).toBe(0);
    expect(paused.output()).toMatch(/kernel sends UNSUSPENDED/);
  });
});

describe("runToEnd (for Skyer's install events)", () => {
  it("starts a program with an event's startup reason and returns its outcome", async () => {
    const f = home.write(
      "event.wat",
      program(`(drop (call $s8_64 (i32.const 0xa0) (i32.const 1) (i64.const 0x3000)))
        (call $exit (i64.extend_i32_u (i32.load8_u (i32.const 0x3000))))`),
    );
    const dist = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "dist");
    const client = (await import(
      path.join(dist, "kernel-compat", "client.js")
    )) as typeof import("../kernel-compat/client.js");
    const ctx = (await import(
      path.join(dist, "commonassembly", "abi", "context.js")
    )) as typeof import("../commonassembly/abi/context.js");
    const { openHome } = (await import(
      path.join(dist, "ncw", "home.js")
    )) as typeof import("../ncw/home.js");
    const prev = process.env.NCW_KERNEL_IDLE_MS;
    process.env.NCW_KERNEL_IDLE_MS = "4000";
    try {
      const outcome = await client.runToEnd(openHome(home.home), {
        path: f,
        startup: { kind: "event", code: ctx.StartupCode.POST_INSTALL },
        anid: 9,
      });
      expect(outcome).toEqual({ kind: "exit", exitData: 0x10n });
    } finally {
      if (prev === undefined) delete process.env.NCW_KERNEL_IDLE_MS;
      else process.env.NCW_KERNEL_IDLE_MS = prev;
    }
  });
});

function spawnRunWith(flags: string[], file: string) {
  return home.spawnNcw(["run", "--trace", ...flags, file]);
}
