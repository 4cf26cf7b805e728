// sys::hydre (PID 17; NCW's methods, docs/services.md "sys::hydre (PID 17)") from a real app: through
// `ncw run` without a terminal (no session, no size: SESSION_INFO's zeroes, 0x2000 for the size and the
// watch, RUN_COMMAND's documented 0x6000), on a real pseudo-terminal (the size, then a resize told by
// WINDOW_RESIZED), and as an installed app's command run by `ncw hydre` (a Hydre session's ID). The
// argument and answer bytes are written by hand from the doc's tables.

import { spawnSync } from "node:child_process";
import { afterAll, describe, expect, it } from "vitest";
import { CommandPipeOffset } from "../commonassembly/abi/context.js";
import { commandNap } from "./command-helpers.js";
import { NCW, OK, PTY_DRIVER, TestHome } from "./kernel-helpers.js";
import { expectAnswer, expectError, le, put, SAME, str, systemClient } from "./services-apps.js";

const home = new TestHome();
afterAll(() => home.cleanup());

const connect = `(call $check (i32.const 1) (call $connect (i32.const 0) (i32.const 0) (i64.const 17) (i32.const 0) (i32.const 0)) (i32.const ${OK}))
      (local.set $sock (call $r64 (i32.const 8)))`;

const TRUE = 0x01;
const FALSE = 0x02;

describe("sys::hydre through ncw run, without a terminal", () => {
  it("answers SESSION_INFO with no session and no terminal, and each method its errcode", () => {
    const r = home.run(
      systemClient(
        `${connect}
      ;; HAS_SCOPED_SERVICE (0x2E), ANID 0, PID 17: hosted, 0x01
      (call $check (i32.const 2) (call $has (i32.const 0) (i64.const 17)) (i32.const ${OK}))
      (call $check (i32.const 3) (call $r8 (i32.const 0)) (i32.const 1))
      ;; SESSION_INFO (0x0001): hydre false, session 0, terminal false, 0 columns, 0 rows
      ${expectAnswer(10, 0x0001, [], [FALSE, ...le(0, 8), FALSE, ...le(0, 2), ...le(0, 2)])}
      ;; WINDOW_SIZE (0x0002): no terminal, 0x2000
      ${expectError(20, 0x0002, [], 0x2000)}
      ;; WATCH_RESIZE (0x0003): true without a terminal 0x2000; false is fine (nothing to stop); 0x03 is
      ;; no boolean, 0x1FFF; a byte too many, 0x1FFF
      ${expectError(30, 0x0003, [TRUE], 0x2000)}
      ${expectAnswer(40, 0x0003, [FALSE], [])}
      ${expectError(50, 0x0003, [0x03], 0x1fff)}
      ${expectError(60, 0x0003, [FALSE, 0], 0x1fff)}
      ;; RUN_COMMAND (0x1000): not implemented, 0x6000 (no permission asked)
      ${expectError(70, 0x1000, str("echo 1"), 0x6000)}
      ;; a code the table does not list: 0x1FFE
      ${expectError(80, 0x0004, [], 0x1ffe)}`,
        SAME,
      ),
    );
    if (process.env.DUMP) console.log(r.stderr);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/hydre\.commands\.run/);
  }, 90_000);
});

describe("sys::hydre on a pseudo-terminal", () => {
  it("gives the terminal's size, and WINDOW_RESIZED when it changes", () => {
    const wat = systemClient(
      `${connect}
      ;; SESSION_INFO: no Hydre session (ncw run), a terminal of 100 columns and 30 rows
      ${expectAnswer(10, 0x0001, [], [FALSE, ...le(0, 8), TRUE, ...le(100, 2), ...le(30, 2)])}
      ${expectAnswer(20, 0x0002, [], [...le(100, 2), ...le(30, 2)])}
      ${expectAnswer(30, 0x0003, [TRUE], [])}
      ;; watching: the flag cleared, then a marker (GET_PID, in the trace) tells the test to resize
      (i32.atomic.store (i32.const 0x3520) (i32.const 0))
      (drop (call $s0 (i32.const 0x53)))
      ;; WINDOW_RESIZED (0x0001), a new exchange concluded at once (0x05): 120 columns, 40 rows
      ${put(0x9000, [...le(120, 2), ...le(40, 2)])}
      (call $answer (i32.const 40) (local.get $sock) (i32.const 0x05) (i32.const 4))
      (call $same (i32.const 45) (i32.const 0x9000) (i32.const 4))`,
      SAME,
    );
    const f = home.write("resize.wat", wat);
    const cmd = [process.execPath, NCW, "run", "--trace", f].map((a) => `"${a}"`).join(" ");
    const driver = spawnSync("python3", [PTY_DRIVER, "sh", "-c", `${cmd}; echo "exit=$?"`], {
      env: home.envFor({ PTY_SIZE: "30x100" }),
      input: JSON.stringify([{ expect: "GET_PID", winsize: [40, 120] }]),
      timeout: 120_000,
    });
    const res = JSON.parse(driver.stdout.toString()) as { output: string; failed: string | null };
    expect(res.failed, res.output).toBeNull();
    expect(res.output, res.output).toMatch(/exit=0/);
  }, 120_000);
});

/**
 * An installed command (`hyq`, returns int) that checks SESSION_INFO under `ncw hydre`: a Hydre session
 * (true, a non-zero ID), no terminal; then returns the session's ID on CMDOUT. A failed check exits early with nothing
 * on CMDOUT (Hydre shows nothing).
 */
const HYQ = systemClient(
  `${connect}
      ${put(0x7000, [])}
      (call $check (i32.const 10) (call $sendn (local.get $sock) (i32.const 0x0001) (i32.const 0x7000) (i32.const 0)) (i32.const ${OK}))
      (call $answer (i32.const 11) (local.get $sock) (i32.const 0x04) (i32.const 14))
      (call $check (i32.const 20) (i32.load8_u (i32.const 0x7100)) (i32.const ${TRUE}))
      (call $check (i32.const 21) (i64.eqz (i64.load (i32.const 0x7101))) (i32.const 0))
      (call $check (i32.const 22) (i32.load8_u (i32.const 0x7109)) (i32.const ${FALSE}))
      ;; all as expected: the answer is the session's ID, an int
      (call $retint (i64.load (i32.const 0x7101)))`,
  `${SAME}
  ;; EXECUTION_CONTEXT (0xA0) info 0x02 to 0x4000; PIPE_WRITE (0x22) of an int value to CMDOUT, blocking
  (func $retint (param $v i64)
    (call $check (i32.const 90) (call $s8_64 (i32.const 0xa0) (i32.const 0x02) (i64.const 0x4000)) (i32.const 0))
    (i64.store (i32.const 0x6000) (i64.const 9)) (i32.store8 (i32.const 0x6008) (i32.const 0x02))
    (i64.store (i32.const 0x6009) (local.get $v))
    (call $q (i32.const 1) (i64.load (i32.const ${0x4000 + CommandPipeOffset.cmdout})))
    (i32.store (i32.const 0x1009) (i32.const 17))
    (call $q (i32.const 13) (i64.const 0x6000)) (call $b (i32.const 21) (i32.const 0))
    (call $check (i32.const 91) (call $call (i32.const 0x22) (i32.const 22)) (i32.const 0)))`,
);

describe("sys::hydre under ncw hydre", () => {
  it("tells an app command that it runs in a Hydre session, with the session's ID", () => {
    const nap = commandNap(
      home,
      "hyq",
      HYQ,
      `[commands.hyq]\nhelp = "Asks sys::hydre"\nreturn = "int"\n`,
    );
    const inst = home.ncw(["skyer", "install", nap]);
    expect(inst.code, inst.stderr).toBe(0);
    const r = home.ncw(["hydre", "-c", "hyq\nhyq"]);
    expect(r.stderr).toBe("");
    // One ID for the script's commands, another for another script.
    const [a, b] = r.stdout.split("\n");
    expect(r.stdout).toMatch(/^[1-9][0-9]*\n[1-9][0-9]*\n$/);
    expect(a).toBe(b);
    expect(r.code).toBe(0);
    const other = home.ncw(["hydre", "-c", "hyq"]);
    expect(other.stdout).toMatch(/^[1-9][0-9]*\n$/);
    expect(other.stdout).not.toBe(`${a}\n`);
    // Outside Hydre (`ncw exec`), the same command finds no session: its check 20 fails, no value.
    const plain = home.ncw(["exec", "hyq"]);
    expect(plain.stdout).toBe("");
  }, 120_000);
});
