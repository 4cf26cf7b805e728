// `ncw run <AID>` (docs/kernel.md "ncw run"): an installed application is found through Skyer's
// database in the home's NightOS tree, started as a command with its own ANID in the execution
// context, and its program's AOT artifact made at install time is reused.

import { cpSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { OK, program, TestHome } from "./kernel-helpers.js";

const home = new TestHome();
afterAll(() => home.cleanup());
const HELLO = path.resolve(import.meta.dirname, "../examples/hello");

/**
 * Reads the context header (EXECUTION_CONTEXT 0x02) at 0x3000: exits 77 unless the startup reason is
 * "command" (0x80), 78 unless it got one argument; else with the ANID's low byte.
 */
const WAT = program(`
  (call $check (i32.const 76) (call $s8_64 (i32.const 0xa0) (i32.const 2) (i64.const 0x3000)) (i32.const ${OK}))
  (call $check (i32.const 77) (i32.load8_u (i32.const 0x3000)) (i32.const 0x80))
  (call $check (i32.const 78) (i32.load8_u (i32.const 0x3014)) (i32.const 1))
  (call $exit (i64.extend_i32_u (i32.load8_u (i32.const 0x300c))))`);

describe("ncw run <AID>", () => {
  it("runs the installed app with its ANID, as a command, reusing the install's AOT artifact", () => {
    const dir = path.join(home.dir, "hello");
    cpSync(HELLO, dir, { recursive: true });
    writeFileSync(path.join(home.dir, "aid.wat"), WAT);
    const asm = home.ncw([
      "ca",
      "asm",
      path.join(home.dir, "aid.wat"),
      "-o",
      path.join(dir, "main.npp"),
    ]);
    expect(asm.code, asm.stderr).toBe(0);
    const pack = home.ncw(["pack", dir, "-o", path.join(home.dir, "hello.nap")]);
    expect(pack.code, pack.stderr).toBe(0);
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
    rmSync(dir, { recursive: true, force: true });
    expect(readFileSync(path.join(home.dir, "hello.nap")).length).toBeGreaterThan(0);
  });
});
