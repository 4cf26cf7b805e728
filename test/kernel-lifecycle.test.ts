// Black-box tests of the kernel server's life (DIRECTION.md §2): one kernel per home shared by every
// ncw command, idle exit, and no orphan host process when anything is killed with SIGKILL.

import { fork } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { alive, childrenOf, NCW, program, TestHome, waitFor } from "./kernel-helpers.js";

const onLinux = process.platform === "linux";
const SPIN = program(`(drop (call $s0 (i32.const 0x04))) (loop $spin (br $spin))`);
const homes: TestHome[] = [];
function newHome(env: Record<string, string> = {}): TestHome {
  const h = new TestHome(env);
  homes.push(h);
  return h;
}
afterAll(() => {
  for (const h of homes) h.cleanup();
});

async function startSpin(h: TestHome) {
  const child = h.spawnRun(SPIN);
  const exited = new Promise<number | null>((r) => child.on("exit", (c) => r(c)));
  expect(await waitFor(() => /READY \{\} -> ok/.test(child.output()), 20_000)).toBe(true);
  const ps = JSON.parse(h.ncw(["ps", "--json"]).stdout) as {
    kernel: { hostPid: number };
    processes: { pid: number; hostPid: number; state: string }[];
  };
  const proc = ps.processes[0];
  if (proc === undefined) throw new Error("ps shows no process");
  return { child, exited, kernelPid: ps.kernel.hostPid, runnerPid: proc.hostPid, pid: proc.pid };
}

describe.skipIf(!onLinux)("kernel server lifecycle", () => {
  it("a second ncw command talks to the running kernel", async () => {
    const h = newHome();
    const s = await startSpin(h);
    expect(s.kernelPid).toBe(h.kernelPid());
    expect(childrenOf(s.kernelPid)).toContain(s.runnerPid);
    const table = h.ncw(["ps"]).stdout;
    expect(table).toMatch(new RegExp(`${s.pid}\\s+0\\s+running\\s+${s.runnerPid}`));
    expect(h.ncw(["kill", String(s.pid), "--force"]).code).toBe(0);
    expect(await s.exited).toBe(137);
    expect(s.child.output()).toMatch(/killed with ncw kill/);
  });

  it("ps --all shows sys::process and sys::fs hosted in the kernel at their fixed PIDs, the other services reserved", async () => {
    const h = newHome();
    const s = await startSpin(h);
    const all = JSON.parse(h.ncw(["ps", "--all", "--json"]).stdout) as {
      processes: { pid: number; name: string; state: string; hostPid?: number }[];
    };
    // specs/services/system/README.md: sys::process is PID 20 (commonassembly/abi/numbers.ts SystemPid).
    const sysProcess = all.processes.find((p) => p.name === "sys::process");
    expect(sysProcess).toMatchObject({ pid: 20, state: "running", hostPid: s.kernelPid });
    // sys::fs is PID 10 and sys::perm PID 13, hosted too (docs/sysfs.md, docs/permissions.md), sys::app PID 19 (docs/services.md); sys::ui
    // (PID 18) is not written: reserved.
    const fs = all.processes.find((p) => p.name === "sys::fs");
    expect(fs).toMatchObject({ pid: 10, state: "running", hostPid: s.kernelPid });
    const perm = all.processes.find((p) => p.name === "sys::perm");
    expect(perm).toMatchObject({ pid: 13, state: "running", hostPid: s.kernelPid });
    const app = all.processes.find((p) => p.name === "sys::app");
    expect(app).toMatchObject({ pid: 19, state: "running", hostPid: s.kernelPid });
    // sys::fsh is PID 11 (docs/services.md "sys::fsh (PID 11)").
    expect(all.processes.find((p) => p.name === "sys::fsh")).toMatchObject({
      pid: 11,
      state: "running",
      hostPid: s.kernelPid,
    });
    const ui = all.processes.find((p) => p.name === "sys::ui");
    expect(ui).toMatchObject({ pid: 18, state: "reserved" });
    expect(all.processes.some((p) => p.pid === s.pid && p.state === "running")).toBe(true);
    expect(h.ncw(["kill", String(s.pid), "--force"]).code).toBe(0);
    await s.exited;
  });

  it("kill -9 of the kernel takes every runner with it and the CLI says so", async () => {
    const h = newHome();
    const s = await startSpin(h);
    const runners = childrenOf(s.kernelPid);
    expect(runners.length).toBeGreaterThanOrEqual(2); // the busy one and the warm pool
    process.kill(s.kernelPid, "SIGKILL");
    expect(await s.exited).toBe(69);
    expect(s.child.output()).toMatch(/kernel server closed the connection/);
    expect(await waitFor(() => runners.every((p) => !alive(p)), 20_000)).toBe(true);
    // The next command starts a fresh kernel over the stale socket.
    expect(h.run(program("")).code).toBe(0);
    expect(h.kernelPid()).not.toBe(s.kernelPid);
  });

  it("kill -9 of a runner: the kernel cleans up and reports the process killed", async () => {
    const h = newHome();
    const s = await startSpin(h);
    process.kill(s.runnerPid, "SIGKILL");
    expect(await s.exited).toBe(137);
    expect(s.child.output()).toMatch(/runner host process died \(SIGKILL\)/);
    const ps = JSON.parse(h.ncw(["ps", "--json"]).stdout) as { processes: unknown[] };
    expect(ps.processes).toEqual([]);
    expect(alive(s.kernelPid)).toBe(true);
  });

  it("kill -9 of the ncw run command: the kernel ends its process", async () => {
    const h = newHome();
    const s = await startSpin(h);
    s.child.kill("SIGKILL");
    expect(await waitFor(() => !alive(s.runnerPid), 20_000)).toBe(true);
    const ps = JSON.parse(h.ncw(["ps", "--json"]).stdout) as { processes: unknown[] };
    expect(ps.processes).toEqual([]);
  });

  it("the kernel exits when idle and leaves nothing behind", async () => {
    const h = newHome({ NCW_KERNEL_IDLE_MS: "300" });
    expect(h.run(program("")).code).toBe(0);
    const k = h.kernelPid();
    expect(k).toBeDefined();
    const runners = childrenOf(k as number);
    expect(await waitFor(() => !alive(k as number), 10_000)).toBe(true);
    expect(await waitFor(() => runners.every((p) => !alive(p)), 20_000)).toBe(true);
    expect(existsSync(path.join(h.home, "run", "kernel.sock"))).toBe(false);
    expect(h.ncw(["ps"]).stdout).toMatch(/no kernel is running/);
  });

  it("two commands starting at once on a fresh home share one kernel", async () => {
    const h = newHome();
    const a = h.spawnRun(program(""));
    const b = h.spawnRun(program(""));
    const codes = await Promise.all(
      [a, b].map((c) => new Promise<number | null>((r) => c.on("exit", (x) => r(x)))),
    );
    expect(codes).toEqual([0, 0]);
    const pids = [a, b].map((c) => Number(/\[pid (\d+)\] started/.exec(c.output())?.[1]));
    expect(new Set(pids).size).toBe(2);
    // Both processes came from one kernel: it numbered them 100 and 101; any second kernel that was
    // started saw the socket taken and left without serving.
    expect(pids.sort()).toEqual([100, 101]);
    const log = readFileSync(path.join(h.home, "logs", "kernel.log"), "utf8");
    expect(log.match(/kernel started on/g)?.length).toBe(1);
  });

  it("a runner whose kernel went away while it was still loading exits too", async () => {
    // The kernel's IPC channel closes during the runner's start (before it can listen for it).
    const runnerMain = path.join(path.dirname(NCW), "..", "kernel-compat", "runner", "main.js");
    const pids: number[] = [];
    for (const delay of [1, 20, 60]) {
      const c = fork(runnerMain, [], {
        serialization: "advanced",
        stdio: ["ignore", "ignore", "ignore", "ipc"],
      });
      await new Promise((r) => setTimeout(r, delay));
      c.disconnect();
      if (c.pid) pids.push(c.pid);
    }
    expect(await waitFor(() => pids.every((p) => !alive(p)), 20_000)).toBe(true);
  });
});
