// Black-box tests of signal delivery (specs/kernel/signals.md) through `ncw run`: into busy loops at the
// AOT safepoints, Ctrl-C → TERMINATE, SIGTERM → WILL_TERMINATE with the terminate delay, HANDLER_FAULT
// and double faults, MEM_FAULT from an out-of-bounds access, WILL_SUSPEND and `ncw ps` / `ncw kill`.

import { afterAll, describe, expect, it } from "vitest";
import { E, OK, program, TestHome, waitFor } from "./kernel-helpers.js";

const home = new TestHome({ NCW_TERMINATE_DELAY_MS: "400", NCW_SUSPEND_DELAY_MS: "200" });
afterAll(() => home.cleanup());

const exitWith = (name: string, v: string) =>
  `(func ${name} (param $sig i32) (param $df i32) (result i64) (call $exit ${v}) (i64.const 0))`;
const ignore = (name: string) =>
  `(func ${name} (param $sig i32) (param $df i32) (result i64) (i64.const 5))`;
const handle = (sig: number, idx: number) =>
  `(call $check (i32.const 90) (call $s8_64 (i32.const 0x01) (i32.const ${sig}) (i64.const ${idx})) (i32.const ${OK}))`;
const READY = `(call $check (i32.const 91) (call $s0 (i32.const 0x04)) (i32.const ${OK}))`;
const SPIN = "(loop $spin (br $spin))";

async function runUntilReady(
  wat: string,
  signal: NodeJS.Signals | undefined,
  extra: Record<string, string> = {},
) {
  const child = home.spawnRun(wat, [], extra);
  const exited = new Promise<number | null>((r) => child.on("exit", (c) => r(c)));
  expect(await waitFor(() => /READY \{\} -> ok/.test(child.output()), 20_000)).toBe(true);
  if (signal) child.kill(signal);
  return { code: await exited, out: child.output(), child };
}

describe("signal delivery into running code", () => {
  it("Ctrl-C sends TERMINATE, delivered into a busy loop at a safepoint", async () => {
    const r = await runUntilReady(
      program(
        `${handle(0x4e, 1)} ${READY} ${SPIN}`,
        `(elem (i32.const 1) $t) ${exitWith("$t", "(i64.const 7)")}`,
      ),
      "SIGINT",
    );
    expect(r.out).toMatch(/sent TERMINATE to process \d+/);
    expect(r.out).toMatch(/signal TERMINATE -> handler 1/);
    expect(r.code).toBe(7);
  });

  it("SIGTERM sends WILL_TERMINATE; with no handler the default action kills", async () => {
    const r = await runUntilReady(program(`${READY} ${SPIN}`), "SIGTERM");
    expect(r.out).toMatch(/SIGTERM received: sent WILL_TERMINATE/);
    expect(r.out).toMatch(/was killed: WILL_TERMINATE \(no handler\)/);
    expect(r.code).toBe(137);
  });

  it("a process that ignores WILL_TERMINATE is killed after the terminate delay", async () => {
    const t0 = Date.now();
    const r = await runUntilReady(
      program(`${handle(0x4f, 1)} ${READY} ${SPIN}`, `(elem (i32.const 1) $w) ${ignore("$w")}`),
      "SIGTERM",
    );
    expect(r.out).toMatch(/signal WILL_TERMINATE handled, answer 5/);
    expect(r.out).toMatch(/was killed: did not exit within the terminate delay \(400 ms\)/);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(400);
    expect(r.code).toBe(137);
  });

  it("TERMINATE with no handler is ignored; a second Ctrl-C sends WILL_TERMINATE", async () => {
    const child = home.spawnRun(program(`${READY} ${SPIN}`));
    const exited = new Promise<number | null>((r) => child.on("exit", (c) => r(c)));
    expect(await waitFor(() => /READY \{\} -> ok/.test(child.output()), 20_000)).toBe(true);
    child.kill("SIGINT");
    expect(await waitFor(() => /TERMINATE: no handler, ignored/.test(child.output()))).toBe(true);
    child.kill("SIGINT");
    expect(await exited).toBe(137);
    expect(child.output()).toMatch(/WILL_TERMINATE \(no handler\)/);
  });
});

describe("handler faults", () => {
  it("an invalid handler turns the signal into HANDLER_FAULT, whose datafield names it", async () => {
    // TERMINATE's handler is table index 9 (null); HANDLER_FAULT's exits with the faulty signal ID.
    const r = await runUntilReady(
      program(
        `${handle(0x4e, 9)} ${handle(0x01, 1)} ${READY} ${SPIN}`,
        `(elem (i32.const 1) $hf) ${exitWith("$hf", "(i64.load (local.get $df))")}`,
      ),
      "SIGINT",
    );
    expect(r.out).toMatch(/handler 9 is not a valid function: HANDLER_FAULT/);
    expect(r.code).toBe(0x4e);
  });

  it("a handler with the wrong signature faults too; with no HANDLER_FAULT handler the process dies", async () => {
    const r = await runUntilReady(
      program(
        `${handle(0x4e, 1)} ${READY} ${SPIN}`,
        "(elem (i32.const 1) $bad) (func $bad (param i32) (result i32) (i32.const 0))",
      ),
      "SIGINT",
    );
    expect(r.out).toMatch(/was killed: HANDLER_FAULT \(no handler\)/);
    expect(r.code).toBe(137);
  });

  it("a double handler fault kills the process", async () => {
    const r = await runUntilReady(
      program(`${handle(0x4e, 9)} ${handle(0x01, 99)} ${READY} ${SPIN}`),
      "SIGINT",
    );
    expect(r.out).toMatch(/was killed: double handler fault/);
    expect(r.code).toBe(137);
  });
});

describe("MEM_FAULT", () => {
  it("an out-of-bounds store kills the process with MEM_FAULT (write)", () => {
    const r = home.run(program("(i32.store (i32.const 0x7ffffff0) (i32.const 1))"));
    expect(r.stderr).toMatch(/was killed: MEM_FAULT \(out-of-bounds write\)/);
    expect(r.code).toBe(137);
  });

  it("a MEM_FAULT handler runs with the access kind in the datafield", () => {
    const r = home.run(
      program(
        `${handle(0x02, 1)} ${READY} (drop (i32.load (i32.const 0x7ffffff0)))`,
        `(elem (i32.const 1) $mf) ${exitWith("$mf", "(i64.load8_u (i32.add (local.get $df) (i32.const 8)))")}`,
      ),
    );
    expect(r.stderr).toMatch(/signal MEM_FAULT -> handler 1/);
    expect(r.code).toBe(1); // 0x01: tried to read memory
  });
});

describe("suspension, ncw ps and ncw kill", () => {
  it("WILL_SUSPEND suspends after the delay; ncw kill ends the suspended process", async () => {
    const child = home.spawnRun(program(`${READY} ${SPIN}`));
    const exited = new Promise<number | null>((r) => child.on("exit", (c) => r(c)));
    expect(await waitFor(() => /READY \{\} -> ok/.test(child.output()), 20_000)).toBe(true);
    const pid = Number(/\[pid (\d+)\] started/.exec(child.output())?.[1]);
    const ps = home.ncw(["ps", "--json"]);
    const list = JSON.parse(ps.stdout).processes as {
      pid: number;
      state: string;
      hostPid: number;
    }[];
    expect(list.find((p) => p.pid === pid)?.state).toBe("running");
    expect(home.ncw(["kill", String(pid), "--signal", "WILL_SUSPEND"]).code).toBe(0);
    expect(
      await waitFor(() => {
        const l = JSON.parse(home.ncw(["ps", "--json"]).stdout).processes as {
          pid: number;
          state: string;
        }[];
        return l.find((p) => p.pid === pid)?.state === "suspended";
      }),
    ).toBe(true);
    expect(await waitFor(() => /\] suspended/.test(child.output()))).toBe(true);
    const k = home.ncw(["kill", String(pid)]);
    expect(k.stdout).toMatch(/sent WILL_TERMINATE to process/);
    expect(await exited).toBe(137);
  });

  it("ncw kill of an unknown PID says so", () => {
    const r = home.ncw(["kill", "99999", "--force"]);
    expect(r.stderr).toMatch(/no (running )?process/);
    expect(r.code).toBe(66);
  });
});

describe("process syscalls without children", () => {
  it("WAIT / KILL / SUSPEND / UNSUSPEND name no child", () => {
    const r = home.run(
      program(`
        (call $check (i32.const 1) (call $s64_16 (i32.const 0x51) (i64.const 9999) (i32.const 10)) (i32.const ${E(0x30)}))
        (call $check (i32.const 2) (call $s64_16 (i32.const 0x52) (i64.const 9999) (i32.const 10)) (i32.const ${E(0x02)}))
        (call $check (i32.const 3) (call $s64 (i32.const 0x54) (i64.const 9999)) (i32.const ${E(0x31)}))
        (call $check (i32.const 4) (call $s64 (i32.const 0x55) (i64.const 0)) (i32.const ${E(0x31)}))
        (call $check (i32.const 5) (call $s0 (i32.const 0x56)) (i32.const ${OK}))
      `),
    );
    expect(r.stderr).toMatch(
      /WAIT_CHILD_PROCESS \{pid: 9999, timeout: 10\} -> err 0x30 NO_SUCH_CHILD \(kernel\)/,
    );
    expect(r.code).toBe(0);
  });
});
