// `ncw run <AID>` (docs/kernel.md "ncw run"): an installed application is found through Skyer's
// database in the home's NightOS tree, started as a command with its own ANID in the execution
// context, and its program's AOT artifact made at install time is reused. The NightOS user whose
// install an AID names is the caller's, whoever started the kernel (docs/security.md).

import { cpSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { OK, program, TestHome } from "./kernel-helpers.js";

const home = new TestHome();
const users = new TestHome({ NCW_KERNEL_IDLE_MS: "30000" });
afterAll(() => {
  home.cleanup();
  users.cleanup();
});
const HELLO = path.resolve(import.meta.dirname, "../examples/hello");

/**
 * Reads the context header (EXECUTION_CONTEXT 0x02) at 0x3000: exits 77 unless the startup reason is
 * "command" (0x80; the raw-output bit 0x04 is ignored: it is set because the test reads stdout), 78
 * unless it got one argument; else with the ANID's low byte.
 */
const WAT = program(`
  (call $check (i32.const 76) (call $s8_64 (i32.const 0xa0) (i32.const 2) (i64.const 0x3000)) (i32.const ${OK}))
  (call $check (i32.const 77) (i32.and (i32.load8_u (i32.const 0x3000)) (i32.const 0xfb)) (i32.const 0x80))
  (call $check (i32.const 78) (i32.load8_u (i32.const 0x3014)) (i32.const 1))
  (call $exit (i64.extend_i32_u (i32.load8_u (i32.const 0x300c))))`);

/** The hello example with WAT as its program, packed into `<h.dir>/hello.nap`; returns that path. */
function helloNap(h: TestHome): string {
  const dir = path.join(h.dir, "hello");
  cpSync(HELLO, dir, { recursive: true });
  writeFileSync(path.join(h.dir, "aid.wat"), WAT);
  const asm = h.ncw(["ca", "asm", path.join(h.dir, "aid.wat"), "-o", path.join(dir, "main.npp")]);
  expect(asm.code, asm.stderr).toBe(0);
  const nap = path.join(h.dir, "hello.nap");
  const pack = h.ncw(["pack", dir, "-o", nap]);
  expect(pack.code, pack.stderr).toBe(0);
  rmSync(dir, { recursive: true, force: true });
  return nap;
}

describe("ncw run <AID>", () => {
  it("runs the installed app with its ANID, as a command, reusing the install's AOT artifact", () => {
    helloNap(home);
    const inst = home.ncw(["skyer", "install", path.join(home.dir, "hello.nap"), "--json"]);
    expect(inst.code, inst.stderr).toBe(0);
    const anid = (JSON.parse(inst.stdout) as { anid: number }).anid;
    expect(anid).toBeGreaterThan(0);

    const r = home.ncw(["run", "--trace", "ncwdemo::hello", "--", "arg"]);
    expect(r.stderr).toMatch(/ncwdemo::hello: AOT cached/);
    expect(r.code, r.stderr).toBe(anid & 0xff);

    const missing = home.ncw(["run", "ncwdemo::nothere"]);
    expect(missing.code).toBe(66);
    expect(missing.stderr).toMatch(/no application ncwdemo::nothere is installed/);
    // The built-in system library is a library even though Skyer's database never lists it.
    const lib = home.ncw(["run", "sys::lib"]);
    expect(lib.code).toBe(66);
    expect(lib.stderr).toMatch(/sys::lib is an installed library, not an application/);
    expect(readFileSync(path.join(home.dir, "hello.nap")).length).toBeGreaterThan(0);
  });

  it("runs the caller's install, not that of the user who started the kernel", () => {
    const nap = helloNap(users);
    // Bob starts the kernel; the app is then installed for Alice only.
    const empty = users.write("empty.wat", program(""));
    expect(users.ncw(["run", empty], { NCW_USER: "bob" }).code).toBe(0);
    const kernel = users.kernelPid();
    const inst = users.ncw(["skyer", "install", nap, "--json"], { NCW_USER: "alice" });
    expect(inst.code, inst.stderr).toBe(0);
    const anid = (JSON.parse(inst.stdout) as { anid: number }).anid;

    const alice = users.ncw(["run", "ncwdemo::hello", "--", "arg"], { NCW_USER: "alice" });
    expect(alice.code, alice.stderr).toBe(anid & 0xff);
    const bob = users.ncw(["run", "ncwdemo::hello", "--", "arg"], { NCW_USER: "bob" });
    expect(bob.code).toBe(66);
    expect(bob.stderr).toMatch(
      /no application ncwdemo::hello is installed \(for user bob or globally\)/,
    );
    const bad = users.ncw(["run", "ncwdemo::hello"], { NCW_USER: "Not A User" });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/invalid NightOS user name/);
    expect(users.kernelPid()).toBe(kernel); // one kernel served all three
  });
});
