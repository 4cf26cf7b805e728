// Crash saves through `ncw`, with the counter example (examples/counter; docs/crash-saves.md): installed
// with Skyer, collect_every set to 1 s in the registry, run; once sys::crashsave stored a crash save
// (`ncw crashsave list --json`), the app's runner (or the whole kernel) is killed with SIGKILL. The next
// start (`ncw run`, `ncw crashsave restore`) is after a crash: RESTORE_CRASH_SAVE gives it the saved
// counter, which it exits with. Then GET_LAST/REMOVE_CRASH_SAVE from a WAT program with no app.
// Restorations that crash and `ncw crashsave rm`: test/crashsave-restore.test.ts.

import { readFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { appOf, crashSaveHome, COUNTER_DIR as DIR, exited, root } from "./crashsave-helpers.js";
import { alive, OK, waitFor } from "./kernel-helpers.js";
import { systemClient } from "./services-apps.js";

const { home, list, start, runnerOf, runUntilSaved, counterIn, install, cleanup } = crashSaveHome();
beforeAll(install, 120_000);
afterAll(cleanup);

describe("crash saves", () => {
  it("a counter killed with SIGKILL resumes from its crash save on the next run", async () => {
    const c = await runUntilSaved("ncwdemo::counter", "ncwdemo.counter");
    const runner = runnerOf("ncwdemo::counter");
    expect(runner).toBeGreaterThan(0);
    process.kill(runner!, "SIGKILL");
    expect(await exited(c)).not.toBe(0);
    // The crash left the awake indicator and the crash save, named <timestamp>_<pid>.csf.
    const after = appOf(list(), "ncwdemo.counter")!;
    expect(after.awake).toBe(true);
    expect(after.saves).toHaveLength(1);
    const save = after.saves[0]!;
    expect(save.name).toMatch(/^\d+_\d+\.csf$/);
    expect(save.name).toBe(`${save.collectedAt}_${save.pid}.csf`);
    expect(Math.abs(save.collectedAt - Date.now())).toBeLessThan(120_000);
    const saved = counterIn(DIR, save.name);
    expect(saved).toBeGreaterThan(0n);
    // The next run restores it: the app exits with the value it started from.
    const r = home.ncw(["run", "ncwdemo::counter"]);
    expect(r.code, r.stderr).toBe(Number(saved));
    // A graceful end: the awake indicator and the instance's crash saves are gone.
    const end = appOf(list(), "ncwdemo.counter")!;
    expect(end.awake).toBe(false);
    expect(end.saves).toEqual([]);
    // A run after a graceful end starts from 0.
    expect(home.ncw(["run", "ncwdemo::counter"]).code).toBe(0);
  }, 180_000);

  it("after a SIGKILL of the whole kernel, the next start restores the crash save", async () => {
    const c = await runUntilSaved("ncwdemo::counter", "ncwdemo.counter");
    const kernel = home.kernelPid();
    expect(kernel).toBeGreaterThan(0);
    process.kill(kernel!, "SIGKILL");
    await exited(c);
    expect(await waitFor(() => !alive(kernel!), 10_000)).toBe(true);
    const save = appOf(list(), "ncwdemo.counter")!.saves.at(-1)!;
    const saved = counterIn(DIR, save.name);
    // `ncw crashsave restore` runs it (as `ncw run` would after this crash).
    const r = home.ncw(["crashsave", "restore", "ncwdemo::counter"]);
    expect(r.code, r.stderr).toBe(Number(saved));
    const log = readFileSync(path.join(home.home, "logs", "kernel.log"), "utf8");
    expect(log).toMatch(/the last run did not stop cleanly \(\/etc\/sys\/awake was left\)/);
  }, 180_000);

  it("a collect_every changed while the counter runs applies to it at once", async () => {
    const kernelLog = () => {
      try {
        return readFileSync(path.join(home.home, "logs", "kernel.log"), "utf8");
      } catch {
        return "";
      }
    };
    const set = (v: string) =>
      expect(home.ncw(["registry", "set", "system.crash_saves.collect_every", v]).code).toBe(0);
    set("1h");
    const before = kernelLog().length;
    const c = start("ncwdemo::counter");
    // Connected to sys::crashsave with the hour's period: no collection would come for an hour.
    const connected = await waitFor(
      () => /ncwdemo\.counter\): a collection every 3600 s/.test(kernelLog().slice(before)),
      40_000,
      200,
    );
    expect(connected, c.output()).toBe(true);
    expect(appOf(list(), "ncwdemo.counter")?.saves ?? []).toEqual([]);
    set("1s");
    const saved = await waitFor(
      () => (appOf(list(), "ncwdemo.counter")?.saves.length ?? 0) > 0,
      40_000,
      200,
    );
    expect(saved, kernelLog().slice(before)).toBe(true);
    expect(kernelLog().slice(before)).toMatch(
      /collect_every changed: a collection every 1 s for 1 running/,
    );
    process.kill(runnerOf("ncwdemo::counter")!, "SIGKILL");
    await exited(c);
    expect(home.ncw(["crashsave", "rm", "ncwdemo::counter"]).code).toBe(0);
  }, 180_000);

  it("an app whose manifest does not declare support gets no awake indicator", () => {
    const hello = path.join(root, "dist", "examples", "hello.nap");
    expect(home.ncw(["skyer", "install", hello]).code).toBe(0);
    const r = home.ncw(["run", "ncwdemo::hello", "Ada"]);
    expect(r.code, r.stderr).toBe(0);
    expect(appOf(list(), "ncwdemo.hello")).toBeUndefined();
  }, 90_000);

  it("GET_LAST_CRASH_SAVE and REMOVE_CRASH_SAVE from a program with no app: none, 0x01", () => {
    const r = home.run(
      systemClient(`
      (call $check (i32.const 1) (call $connect (i32.const 0) (i32.const 0) (i64.const 16) (i32.const 0) (i32.const 0)) (i32.const ${OK}))
      (local.set $sock (call $r64 (i32.const 8)))
      ;; GET_LAST_CRASH_SAVE (0x0100): the answer is the option byte 0x00
      (i32.store8 (i32.const 0x7100) (i32.const 0xaa))
      (call $check (i32.const 2) (call $sendn (local.get $sock) (i32.const 0x0100) (i32.const 0x7000) (i32.const 0)) (i32.const ${OK}))
      (call $answer (i32.const 3) (local.get $sock) (i32.const 0x04) (i32.const 1))
      (call $check (i32.const 10) (i32.load8_u (i32.const 0x7100)) (i32.const 0x00))
      ;; REMOVE_CRASH_SAVE (0x0101): status 0x01, no crash save
      (call $check (i32.const 11) (call $sendn (local.get $sock) (i32.const 0x0101) (i32.const 0x7000) (i32.const 0)) (i32.const ${OK}))
      (call $answer (i32.const 12) (local.get $sock) (i32.const 0x04) (i32.const 1))
      (call $check (i32.const 16) (i32.load8_u (i32.const 0x7100)) (i32.const 0x01))`),
    );
    expect(r.code, r.stderr).toBe(0);
  }, 90_000);
});
