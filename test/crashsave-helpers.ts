// Helpers of the crash-save black-box tests (test/crashsave*.test.ts; docs/crash-saves.md): a home with
// the counter example installed and system.crash_saves.collect_every at 1 s, and the steps the tests
// take through `ncw` (list the crash saves, run an app until one is stored, its runner, a save's bytes).

import type { ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { expect } from "vitest";
import { TestHome, waitFor } from "./kernel-helpers.js";

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const COUNTER_NAP = path.join(root, "dist", "examples", "counter.nap");
export const COUNTER_DIR = "/home/user/appdata/ncwdemo.counter/crashsaves";

export interface Listed {
  user: string;
  apps: {
    app: string;
    awake: boolean;
    saves: { name: string; pid: number; collectedAt: number; restoring: string | null }[];
  }[];
}

export const appOf = (l: Listed, app: string) => l.apps.find((a) => a.app === app);

export const exited = (c: ChildProcess) =>
  new Promise<number | null>((r) => {
    if (c.exitCode !== null) r(c.exitCode);
    else c.on("exit", (code) => r(code));
  });

/** A home for the crash-save tests; `install()` (in beforeAll) installs the counter and sets the registry. */
export function crashSaveHome() {
  const home = new TestHome({ NCW_KERNEL_IDLE_MS: "2000" });
  const scratch = mkdtempSync(path.join(os.tmpdir(), "ncw-crashsave-"));

  function list(): Listed {
    const r = home.ncw(["crashsave", "list", "--json"]);
    expect(r.code, r.stderr).toBe(0);
    return JSON.parse(r.stdout) as Listed;
  }

  function start(aid: string): ChildProcess & { output: () => string } {
    return home.spawnNcw(["run", aid]);
  }

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

  function install(): void {
    let r = home.ncw(["skyer", "install", COUNTER_NAP]);
    expect(r.code, r.stderr).toBe(0);
    // system.crash_saves.collect_every = 1 s, the spec's minimum (tmin(s,1s); docs/registry.md).
    r = home.ncw(["registry", "set", "system.crash_saves.collect_every", "1s"]);
    expect(r.code, r.stderr).toBe(0);
  }

  function cleanup(): void {
    home.cleanup();
    rmSync(scratch, { recursive: true, force: true });
  }

  return { home, scratch, list, start, runnerOf, runUntilSaved, counterIn, install, cleanup };
}
