// Crash saves through `ncw`, with the counter example (examples/counter; docs/crash-saves.md): installed
// with Skyer, collect_every set to 1 s in the registry, run; once sys::crashsave stored a crash save
// (`ncw crashsave list --json`), the app's runner (or the whole kernel) is killed with SIGKILL. The next
// `ncw run` starts it after a crash: RESTORE_CRASH_SAVE gives it the saved counter, which it exits with.
// Then a restoration that crashes: a variant traps on RESTORE_CRASH_SAVE unless its datafield says the
// last restoration crashed, in which case it exits with 100 + 10 × interrupted + crashed.

import { type ChildProcess, spawn } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { alive, NCW, OK, TestHome, waitFor } from "./kernel-helpers.js";
import { systemClient } from "./services-apps.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const COUNTER_NAP = path.join(root, "dist", "examples", "counter.nap");
const DIR = "/home/user/appdata/ncwdemo.counter/crashsaves";

const home = new TestHome({ NCW_KERNEL_IDLE_MS: "2000" });
const scratch = mkdtempSync(path.join(os.tmpdir(), "ncw-crashsave-"));
afterAll(() => {
  home.cleanup();
  rmSync(scratch, { recursive: true, force: true });
});

interface Listed {
  user: string;
  apps: {
    app: string;
    awake: boolean;
    saves: { name: string; pid: number; collectedAt: number; restoring: string | null }[];
  }[];
}

function list(): Listed {
  const r = home.ncw(["crashsave", "list", "--json"]);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as Listed;
}
const appOf = (l: Listed, app: string) => l.apps.find((a) => a.app === app);

function start(aid: string): ChildProcess & { output: () => string } {
  const child = spawn(process.execPath, [NCW, "run", aid], {
    env: home.envFor(),
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout?.on("data", (d) => {
    out += d;
  });
  child.stderr?.on("data", (d) => {
    out += d;
  });
  return Object.assign(child, { output: () => out });
}

const exited = (c: ChildProcess) =>
  new Promise<number | null>((r) => {
    if (c.exitCode !== null) r(c.exitCode);
    else c.on("exit", (code) => r(code));
  });

/** The host PID of the running instance of `aid` (`ncw ps --json`). */
function runnerOf(aid: string): number | undefined {
  const r = home.ncw(["ps", "--json"]);
  if (r.code !== 0) return undefined;
  const ps = JSON.parse(r.stdout) as { processes: { name: string; hostPid?: number }[] };
  return ps.processes.find((p) => p.name === aid)?.hostPid;
}

/** Run `aid` until sys::crashsave stored a crash save of it, then return the process (still running). */
async function runUntilSaved(aid: string, app: string) {
  const c = start(aid);
  const saved = await waitFor(() => (appOf(list(), app)?.saves.length ?? 0) > 0, 40_000, 200);
  expect(saved, c.output()).toBe(true);
  return c;
}

/** The counter in a crash save: its 8 bytes, little-endian. */
function counterIn(dir: string, name: string): bigint {
  const dest = path.join(scratch, `${name}.bin`);
  const r = home.ncw(["fs", "get", `${dir}/${name}`, dest]);
  expect(r.code, r.stderr).toBe(0);
  const b = readFileSync(dest);
  expect(b.length).toBe(8);
  return b.readBigUInt64LE(0);
}

beforeAll(() => {
  let r = home.ncw(["skyer", "install", COUNTER_NAP]);
  expect(r.code, r.stderr).toBe(0);
  // system.crash_saves.collect_every = 1 s (docs/registry.md's on-disk form).
  const reg = path.join(scratch, "registry.json");
  writeFileSync(
    reg,
    JSON.stringify({
      format: "ncw-registry",
      version: 1,
      nodes: { "system.crash_saves.collect_every": { type: "uint{4}", value: 1 } },
    }),
  );
  r = home.ncw(["fs", "put", reg, "/etc/sys/registry"]);
  expect(r.code, r.stderr).toBe(0);
}, 120_000);

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
    expect(log).toMatch(/the system did not shut down gracefully/);
  }, 180_000);

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
