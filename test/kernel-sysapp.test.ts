// sys::app (PID 19; docs/services.md "sys::app", NCW's methods: commonassembly/abi/services/app.ts) from
// real apps: a client run from a file and one installed with Skyer and run by its AID connect with
// CONNECT_SERVICE (ANID 0, the PID in the scope), call LIST_APPS, APP_INFO, FIND_APP, CURRENT_APP and
// RUNNING_APPS, and compare the answers with bytes written out by hand from the table.

import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OK, TestHome } from "./kernel-helpers.js";
import {
  enc,
  expectAnswer,
  expectError,
  le,
  put,
  SAME,
  serviceNap,
  str,
  systemClient,
} from "./services-apps.js";

const home = new TestHome({ NCW_GRANT_PERMISSIONS: "programs.running.apps" });
const plain = new TestHome();
afterAll(() => {
  home.cleanup();
  plain.cleanup();
});

const SYS_APP = 19;
const connect = `(call $connect (i32.const 0) (i32.const 0) (i64.const ${SYS_APP}) (i32.const 0) (i32.const 0))`;
let helloAnid = 0;
let clientAnid = 0;

/**
 * The installed client: CURRENT_APP is its own ANID, installed; FIND_APP of its AID the same; RUNNING_APPS
 * lists it alone; it exits with 42 so that the test knows it ran to the end.
 */
const INSTALLED_CLIENT = systemClient(
  `
      (call $check (i32.const 1) ${connect} (i32.const ${OK}))
      (local.set $sock (call $r64 (i32.const 8)))
      (call $check (i32.const 2) (call $sendn (local.get $sock) (i32.const 4) (i32.const 0x7000) (i32.const 0)) (i32.const ${OK}))
      (call $answer (i32.const 3) (local.get $sock) (i32.const 0x04) (i32.const 5))
      (local.set $len (i32.load (i32.const 0x7100)))
      (call $check (i32.const 8) (i32.eqz (local.get $len)) (i32.const 0))
      ;; installed: 0x01
      (call $check (i32.const 9) (i32.load8_u (i32.const 0x7104)) (i32.const 0x01))
      ${put(0x7000, str("ncwdemo::appclient"))}
      (call $check (i32.const 10) (call $sendn (local.get $sock) (i32.const 3) (i32.const 0x7000) (i32.const 26)) (i32.const ${OK}))
      (call $answer (i32.const 11) (local.get $sock) (i32.const 0x04) (i32.const 4))
      (call $check (i32.const 16) (i32.load (i32.const 0x7100)) (local.get $len))
      ;; RUNNING_APPS: this app alone (a list of one u32: its byte length 4, then the ANID)
      (call $check (i32.const 20) (call $sendn (local.get $sock) (i32.const 5) (i32.const 0x7000) (i32.const 0)) (i32.const ${OK}))
      (call $answer (i32.const 21) (local.get $sock) (i32.const 0x04) (i32.const 12))
      (call $check64 (i32.const 26) (i64.load (i32.const 0x7100)) (i64.const 4))
      (call $check (i32.const 27) (i32.load (i32.const 0x7108)) (local.get $len))
      (call $exit (i64.const 42))`,
  SAME,
);

beforeAll(() => {
  const install = (nap: string) => home.install(nap, ["--global"]);
  clientAnid = install(serviceNap(home, "appclient", INSTALLED_CLIENT));
  const hello = home.ncw([
    "pack",
    path.resolve(import.meta.dirname, "../examples/hello"),
    "-o",
    path.join(home.dir, "hello.nap"),
  ]);
  expect(hello.code, hello.stderr).toBe(0);
  helloAnid = install(path.join(home.dir, "hello.nap"));
}, 120_000);

describe("sys::app", () => {
  it("lists, describes and finds the installed apps, byte for byte", () => {
    const r = home.run(
      systemClient(
        `
      (call $check (i32.const 1) ${connect} (i32.const ${OK}))
      (local.set $sock (call $r64 (i32.const 8)))
      ;; LIST_APPS (0x0001): a list of u32 ANIDs, by AID (ncwdemo::appclient, ncwdemo::hello)
      ${expectAnswer(10, 1, [], [...le(8, 8), ...le(clientAnid, 4), ...le(helloAnid, 4)])}
      ;; APP_INFO (0x0002): AID, version (delimited strings), global (0x01 true)
      ${expectAnswer(20, 2, le(helloAnid, 4), [...str("ncwdemo::hello"), ...str("0.1.0"), 0x01])}
      ;; an ANID no app has: 0x3000
      ${expectError(30, 2, le(helloAnid ^ clientAnid ^ 1 || 7, 4), 0x3000)}
      ;; FIND_APP (0x0003): the AID's ANID; an AID nobody installed: 0x3000
      ${expectAnswer(40, 3, str("ncwdemo::hello"), le(helloAnid, 4))}
      ${expectError(50, 3, str("ncwdemo::nope"), 0x3000)}
      ;; a string whose length says more bytes than there are: 0x1FFF
      ${expectError(60, 3, [...le(20, 8), ...enc("ncw")], 0x1fff)}
      ;; CURRENT_APP (0x0004): a program run from a file has a random ANID of its own, not installed (0x02)
      (call $check (i32.const 70) (call $sendn (local.get $sock) (i32.const 4) (i32.const 0x7000) (i32.const 0)) (i32.const ${OK}))
      (call $answer (i32.const 71) (local.get $sock) (i32.const 0x04) (i32.const 5))
      (local.set $len (i32.load (i32.const 0x7100)))
      (call $check (i32.const 75) (i32.eqz (local.get $len)) (i32.const 0))
      (call $check (i32.const 76) (i32.load8_u (i32.const 0x7104)) (i32.const 0x02))
      ;; RUNNING_APPS (0x0005): that ANID alone (a list of one u32)
      (call $check (i32.const 80) (call $sendn (local.get $sock) (i32.const 5) (i32.const 0x7000) (i32.const 0)) (i32.const ${OK}))
      (call $answer (i32.const 81) (local.get $sock) (i32.const 0x04) (i32.const 12))
      (call $check64 (i32.const 85) (i64.load (i32.const 0x7100)) (i64.const 4))
      (call $check (i32.const 86) (i32.load (i32.const 0x7108)) (local.get $len))
      ;; a method sys::app does not have: 0x1FFE
      ${expectError(90, 0x1000, [], 0x1ffe)}`,
        SAME,
      ),
    );
    if (process.env.DUMP) console.log(r.stderr);
    expect(r.code, r.stderr).toBe(0);
  }, 90_000);

  it("tells an installed app its own ANID and lists it as running", () => {
    const r = home.ncw(["run", "--trace", "ncwdemo::appclient"]);
    if (process.env.DUMP) console.log(r.stderr);
    expect(r.stderr).toMatch(/EXIT \{exitData: 42\}/);
  }, 90_000);

  it("answers RUNNING_APPS without programs.running.apps with 0x0001", () => {
    const r = plain.run(
      systemClient(
        `
      (call $check (i32.const 1) ${connect} (i32.const ${OK}))
      (local.set $sock (call $r64 (i32.const 8)))
      ${expectError(10, 5, [], 0x0001)}
      ;; LIST_APPS needs no permission (an empty home: an empty list)
      ${expectAnswer(20, 1, [], le(0, 8))}
      ;; HAS_SCOPED_SERVICE (0x2E) with ANID 0 and PID 19: hosted
      (call $check (i32.const 30) (call $has (i32.const 0) (i64.const ${SYS_APP})) (i32.const ${OK}))
      (call $check (i32.const 31) (call $r8 (i32.const 0)) (i32.const 1))`,
        SAME,
      ),
    );
    if (process.env.DUMP) console.log(r.stderr);
    expect(r.code, r.stderr).toBe(0);
  }, 90_000);
});
