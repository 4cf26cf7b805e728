// sys::hydre (PID 17; NCW's methods, docs/services.md "sys::hydre (PID 17)") from a real app: through
// `ncw run` without a terminal (no session, no size: SESSION_INFO's zeroes, 0x2000 for the size, the
// watch and RUN_COMMAND), on a real pseudo-terminal (the size, then a resize told by
// WINDOW_RESIZED), and as an installed app's command run by `ncw hydre` (a Hydre session's ID, command
// lines run in it with RUN_COMMAND, with and without the user's consent). The
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
      ;; RUN_COMMAND (0x1000): an empty line 0x1000; no Hydre session (ncw run), 0x2000 (no consent asked)
      ${expectError(65, 0x1000, str(""), 0x1000)}
      ${expectError(70, 0x1000, str("echo 1"), 0x2000)}
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
/** Module fields: $same, and $retint (an int value written whole to CMDOUT). */
const RETINT = `${SAME}
  ;; EXECUTION_CONTEXT (0xA0) info 0x02 to 0x4000; PIPE_WRITE (0x22) of an int value to CMDOUT, blocking
  (func $retint (param $v i64)
    (call $check (i32.const 90) (call $s8_64 (i32.const 0xa0) (i32.const 0x02) (i64.const 0x4000)) (i32.const 0))
    (i64.store (i32.const 0x6000) (i64.const 9)) (i32.store8 (i32.const 0x6008) (i32.const 0x02))
    (i64.store (i32.const 0x6009) (local.get $v))
    (call $q (i32.const 1) (i64.load (i32.const ${0x4000 + CommandPipeOffset.cmdout})))
    (i32.store (i32.const 0x1009) (i32.const 17))
    (call $q (i32.const 13) (i64.const 0x6000)) (call $b (i32.const 21) (i32.const 0))
    (call $check (i32.const 91) (call $call (i32.const 0x22) (i32.const 22)) (i32.const 0)))`;

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
  RETINT,
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

/** A delimited list of bytes (RUN_COMMAND's value): its byte length on 8 bytes, then the bytes. */
const bytesList = (b: number[]) => [...le(b.length, 8), ...b];
/** A value encoded as on CMDOUT (specs/applications.md "Values encoding"): length, type, representation. */
const value = (type: number, repr: number[]) => [...le(1 + repr.length, 8), type, ...repr];

/** Calls RUN_COMMAND with each line and checks each answer; then returns 1 on CMDOUT. */
const runner = (calls: string) =>
  systemClient(`${connect}\n${calls}\n      (call $retint (i64.const 1))`, RETINT);
const RUN_ARGS = '[commands.hyrun]\nhelp = "Runs lines in its session"\nreturn = "int"\n';

describe("sys::hydre RUN_COMMAND", () => {
  it("runs a line in the caller's Hydre session, with the user's consent, and answers its value", () => {
    const granted = new TestHome();
    try {
      const env = { NCW_GRANT_PERMISSIONS: "ncw.hydre.commands.run" };
      const wat = runner(`
      ;; "echo hi": status 0, the string "hi" (type 0x05)
      ${expectAnswer(10, 0x1000, str("echo hi"), [0, ...bytesList(value(0x05, [...le(2, 8), 0x68, 0x69]))])}
      ;; an expression last: its value, the int 5 (type 0x02)
      ${expectAnswer(20, 0x1000, str("let a = 2\n(a + 3)"), [0, ...bytesList(value(0x02, le(5, 8)))])}
      ;; a failing command line: status 1, a void value
      ${expectAnswer(30, 0x1000, str("rd ./nope.txt"), [1, ...bytesList(value(0x00, []))])}
      ;; an unknown command: the check fails, 0x3000; a syntax error and an empty line: 0x1000
      ${expectError(40, 0x1000, str("frobnicate"), 0x3000)}
      ${expectError(50, 0x1000, str("echo ("), 0x1000)}
      ${expectError(60, 0x1000, str("  "), 0x1000)}`);
      const nap = commandNap(granted, "hyrun", wat, RUN_ARGS);
      expect(granted.ncw(["skyer", "install", nap], env).code).toBe(0);
      const r = granted.ncw(["hydre", "-c", "hyrun"], env);
      expect(r.stdout, r.stderr).toBe("1\n");
      expect(r.stderr).toContain(
        "rd: no such file or folder in the NightOS tree: /home/user/nope.txt",
      );
      expect(r.code).toBe(0);
      // Outside a Hydre session (`ncw exec`): 0x2000, and no value.
      const outside = runner(`${expectError(10, 0x1000, str("echo hi"), 0x2000)}`);
      const nap2 = commandNap(granted, "hyout", outside, RUN_ARGS.replaceAll("hyrun", "hyout"));
      expect(granted.ncw(["skyer", "install", nap2], env).code).toBe(0);
      expect(granted.ncw(["exec", "hyout"], env).stdout).toBe("1\n");
    } finally {
      granted.cleanup();
    }
  }, 180_000);

  it("refuses without the consent (no terminal to ask on): 0x0001, nothing runs", () => {
    const wat = runner(`${expectError(10, 0x1000, str("wt ./ran.txt yes"), 0x0001)}`);
    const nap = commandNap(home, "hyno", wat, RUN_ARGS.replaceAll("hyrun", "hyno"));
    expect(home.ncw(["skyer", "install", nap]).code).toBe(0);
    const r = home.ncw(["hydre", "-c", "hyno\nrd ./ran.txt"]);
    expect(r.stdout).toBe("1\n");
    expect(r.stderr).toContain("ncw.hydre.commands.run");
    expect(r.stderr).toContain("rd: no such file");
  }, 120_000);
});
