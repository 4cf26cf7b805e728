// `ncw kernel status` / `ncw kernel stop` (docs/kernel.md "The kernel server", docs/cli.md), black-box
// through ncw: nothing to stop is not an error; a kernel with app processes is not stopped without
// --force; with it, the processes and every runner go, and the home's kernel files are removed.

import { existsSync } from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { alive, childrenOf, program, TestHome, waitFor } from "./kernel-helpers.js";

const home = new TestHome();
afterAll(() => home.cleanup());

/** A program that sleeps in 10 ms slices forever (a wait nobody wakes). */
const SLEEPER = program(`
  (loop $l (drop (memory.atomic.wait32 (i32.const 0x3f00) (i32.const 0) (i64.const 10000000))) (br $l))`);

describe("ncw kernel", () => {
  it("status and stop without a kernel: nothing to do, exit 0, no kernel started", () => {
    const s = home.ncw(["kernel", "status", "--json"]);
    expect(s.code).toBe(0);
    expect(JSON.parse(s.stdout)).toEqual({ running: false, hostPid: null, processes: 0 });
    const t = home.ncw(["kernel", "stop"]);
    expect(t.code).toBe(0);
    expect(t.stdout).toContain("no kernel is running for this home");
    expect(home.kernelPid()).toBeUndefined();
  });

  it("refuses to stop a kernel with app processes (75), stops it with --force: processes and runners gone", async () => {
    const run = home.spawnRun(SLEEPER);
    expect(await waitFor(() => /running/.test(run.output()), 60_000)).toBe(true);
    const kpid = home.kernelPid();
    expect(kpid).toBeGreaterThan(0);
    const status = JSON.parse(home.ncw(["kernel", "status", "--json"]).stdout);
    expect(status).toEqual({ running: true, hostPid: kpid, processes: 1 });

    const refused = home.ncw(["kernel", "stop"]);
    expect(refused.code).toBe(75);
    expect(refused.stderr).toMatch(/1 app process running \(PID \d+\)/);
    expect(refused.stderr).toContain("--force");
    expect(alive(kpid as number)).toBe(true);

    const runners = childrenOf(kpid as number);
    expect(runners.length).toBeGreaterThan(0);
    const stopped = home.ncw(["kernel", "stop", "--force", "--json"]);
    expect(stopped.code).toBe(0);
    const doc = JSON.parse(stopped.stdout);
    expect(doc).toMatchObject({ stopped: true, running: false, hostPid: kpid });
    expect(doc.killed).toHaveLength(1);
    // `stop` returns once the kernel's host process is gone; its runners follow it.
    expect(alive(kpid as number)).toBe(false);
    expect(await waitFor(() => runners.every((r) => !alive(r)), 10_000)).toBe(true);
    expect(existsSync(path.join(home.home, "run", "kernel.pid"))).toBe(false);
    // The app's `ncw run` ends too, with a non-zero code (its process was killed or its kernel left).
    const code = await new Promise<number | null>((r) => {
      if (run.exitCode !== null) r(run.exitCode);
      else run.on("exit", (c) => r(c));
    });
    expect(code).not.toBe(0);
    expect(home.ncw(["kernel", "status"]).stdout).toContain("no kernel is running");
  }, 120_000);
});
