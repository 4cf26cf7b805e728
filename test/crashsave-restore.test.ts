// Restorations through `ncw` (docs/crash-saves.md "Decisions"): a variant of the counter example traps
// on RESTORE_CRASH_SAVE unless its datafield says the last restoration crashed, in which case it exits
// with 100 + 10 × interrupted + crashed; and `ncw crashsave rm` / `restore` on what is left.

import { cpSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { appOf, crashSaveHome, exited, root } from "./crashsave-helpers.js";
import { alive, waitFor } from "./kernel-helpers.js";

const { home, scratch, list, runnerOf, runUntilSaved, install, cleanup } = crashSaveHome();
beforeAll(install, 120_000);
afterAll(cleanup);

describe("crash-save restorations", () => {
  it("a restoration that crashes is reported as such to the next one", async () => {
    // A variant of the counter (another AID) whose restoration traps unless the last one crashed.
    const dir = path.join(scratch, "crashy");
    cpSync(path.join(root, "examples", "counter"), dir, { recursive: true });
    const manifest = path.join(dir, "manifest.toml");
    writeFileSync(
      manifest,
      readFileSync(manifest, "utf8").replace('slug = "counter"', 'slug = "crashy"'),
    );
    const src = path.join(dir, "src", "main.wat");
    const hook = /;; @restore-hook.*\n/;
    expect(readFileSync(src, "utf8")).toMatch(hook);
    writeFileSync(
      src,
      readFileSync(src, "utf8").replace(
        hook,
        // datafield at 0x5000: FEID 0, collected 8, written 16, interrupted 24 (0x5018), crashed 25
        `(if (i32.eqz (i32.load8_u (i32.const 0x5019))) (then unreachable))
    (call $exit (i64.extend_i32_u (i32.add (i32.const 100) (i32.add
      (i32.mul (i32.load8_u (i32.const 0x5018)) (i32.const 10)) (i32.load8_u (i32.const 0x5019))))))\n`,
      ),
    );
    for (const args of [
      ["ca", "asm", src, "-o", path.join(dir, "main.npp")],
      ["pack", dir, "-o", path.join(scratch, "crashy.nap")],
      ["skyer", "install", path.join(scratch, "crashy.nap")],
    ]) {
      const r = home.ncw(args);
      expect(r.code, `${args.join(" ")}: ${r.stderr}`).toBe(0);
    }
    const c = await runUntilSaved("ncwdemo::crashy", "ncwdemo.crashy");
    process.kill(runnerOf("ncwdemo::crashy")!, "SIGKILL");
    await exited(c);
    // The first restoration (interrupted 0, crashed 0) traps before it answers.
    const first = home.ncw(["run", "ncwdemo::crashy"]);
    expect(first.code, first.stderr).not.toBe(0);
    expect(first.stderr).toMatch(/unreachable/);
    const saves = appOf(list(), "ncwdemo.crashy")!.saves;
    expect(saves).toHaveLength(1);
    expect(saves[0]!.restoring).toBe("crashed");
    const shown = home.ncw(["crashsave", "list", "ncwdemo::crashy"]);
    expect(shown.stdout).toContain(`${saves[0]!.name}`);
    expect(shown.stdout).toMatch(/its restoration crashed/);
    // A name that is not there: exit 66, nothing removed.
    const wrong = home.ncw(["crashsave", "rm", "ncwdemo::crashy", "1_1.csf"]);
    expect(wrong.code).toBe(66);
    expect(wrong.stderr).toMatch(/no crash save named 1_1\.csf/);
    // The second one is told: interrupted 0x01, crashed while restoring 0x01.
    const second = home.ncw(["run", "ncwdemo::crashy"]);
    expect(second.code, second.stderr).toBe(111);
    // Its graceful end took its crash save with it.
    expect(appOf(list(), "ncwdemo.crashy")?.saves).toEqual([]);
  }, 240_000);

  it("`ncw crashsave rm` removes a crash save: the next start after the crash has none to restore", async () => {
    const c = await runUntilSaved("ncwdemo::counter", "ncwdemo.counter");
    process.kill(runnerOf("ncwdemo::counter")!, "SIGKILL");
    await exited(c);
    const rm = home.ncw(["crashsave", "rm", "ncwdemo::counter", "--json"]);
    expect(rm.code, rm.stderr).toBe(0);
    expect((JSON.parse(rm.stdout) as { removed: string[] }).removed).toHaveLength(1);
    const again = home.ncw(["crashsave", "rm", "ncwdemo::counter"]);
    expect(again.code).toBe(66);
    expect(again.stderr).toMatch(/has no crash save/);
    // `restore` refuses without a crash save; a run starts from 0.
    const restore = home.ncw(["crashsave", "restore", "ncwdemo::counter"]);
    expect(restore.code).toBe(66);
    const r = home.ncw(["run", "ncwdemo::counter"]);
    expect(r.code, r.stderr).toBe(0);
    expect(appOf(list(), "ncwdemo.counter")?.awake).toBe(false);
    // The kernel's graceful (idle) stop removes the system's awake indicator.
    const kernel = home.kernelPid();
    expect(await waitFor(() => kernel === undefined || !alive(kernel), 30_000)).toBe(true);
    const etc = home.ncw(["fs", "ls", "/etc/sys"]);
    expect(etc.code, etc.stderr).toBe(0);
    expect(etc.stdout).not.toMatch(/awake/);
  }, 240_000);
});
