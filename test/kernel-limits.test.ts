// The home's resource limits (NCW's registry keys system.processes.max_processes / max_memory;
// docs/kernel.md "Limits", docs/registry.md): a fork bomb stops at the limit with the spec's 0x40
// (CREATE_PROCESS' "failed to create a new process", MEM_ALLOC's "could not find … memory"), the
// user is told why, and everything is cleaned up after.

import { readFileSync } from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { homeLayout } from "../ncw/home.js";
import { openTree } from "../services/fs/open.js";
import type { RegistryKey, RegistryValue } from "../services/registry/keys.js";
import { Registry } from "../services/registry/registry.js";
import { childrenOf, E, NEW_THREAD, OK, program, TestHome, waitFor } from "./kernel-helpers.js";

const onLinux = process.platform === "linux";
const home = new TestHome({ NCW_RUNNER_POOL: "1" });
afterAll(() => home.cleanup());

async function setKey(key: RegistryKey, value: RegistryValue) {
  const fs = await openTree(homeLayout(home.home));
  try {
    await (await Registry.open(fs)).set(key, value);
  } finally {
    await fs.close();
  }
}

interface Ps {
  kernel: { hostPid: number };
  processes: { pid: number; state: string; kind: string }[];
}
const ps = (): Ps => JSON.parse(home.ncw(["ps", "--json"]).stdout) as Ps;
const kernelLog = () => readFileSync(path.join(home.home, "logs", "kernel.log"), "utf8");

/**
 * Every process forks in a loop; a process refused with 0x40 stays (READY, then spins), so the home
 * ends with exactly the limit's number of processes. Any other status exits with 1.
 */
const FORK_BOMB = program(
  `(local $s i32)
  (loop $bomb
    (call $q (i32.const 1) (i64.const 0)) (call $b (i32.const 0) (i32.const 0x50))
    (local.set $s (call $fork (i32.const 0x1000) (i32.const 9) (i32.const 0x2000)))
    (if (i32.eq (local.get $s) (i32.const ${E(0x40)})) (then
      (drop (call $s0 (i32.const 0x04))) (loop $spin (br $spin))))
    (call $check (i32.const 1) (local.get $s) (i32.const ${OK}))
    (br $bomb))`,
).replace(
  "(memory",
  '(import "nightos" "syscall_fork" (func $fork (param i32 i32 i32) (result i32)))\n  (memory',
);

describe("system.processes.max_memory", () => {
  it("MEM_ALLOC beyond the home's NightOS memory gets 0x40, and the terminal says why", async () => {
    await setKey("system.processes.max_memory", "1MB");
    // 128 KiB of memory to start with: 64 KiB more fits in 1 MiB, 2 MiB more does not.
    const r = home.run(
      program(
        `(call $check (i32.const 1) (call $s64_16 (i32.const 0x30) (i64.const 65536) (i32.const 3)) (i32.const ${OK}))
        (call $check (i32.const 2) (call $s64_16 (i32.const 0x30) (i64.const 0x200000) (i32.const 3)) (i32.const ${E(0x40)}))
        (call $exit (i64.const 7))`,
      ),
    );
    expect(r.stderr).toMatch(
      /MEM_ALLOC refused: 2\.0 MiB more NightOS memory would exceed this NCW home's limit \(registry system\.processes\.max_memory\) of 1\.0 MiB/,
    );
    expect(r.code).toBe(7);
    expect(kernelLog()).toMatch(/MEM_ALLOC refused/);
    // 0 is no limit (the spec's "0 = disabled" convention): the same 2 MiB is given.
    await setKey("system.processes.max_memory", 0);
    const big = home.run(
      program(
        `(call $check (i32.const 2) (call $s64_16 (i32.const 0x30) (i64.const 0x200000) (i32.const 3)) (i32.const ${OK}))
        (call $exit (i64.const 8))`,
      ),
    );
    expect(big.code).toBe(8);
    await setKey("system.processes.max_memory", 2048);
  }, 60_000);
});

describe.skipIf(!onLinux)("system.processes.max_processes", () => {
  it("a fork bomb stops at the limit with 0x40; ncw run is refused meanwhile; all is cleaned up", async () => {
    await setKey("system.processes.max_processes", 4);
    const bomb = home.spawnRun(FORK_BOMB);
    const exited = new Promise<number | null>((r) => bomb.on("exit", (c) => r(c)));
    const refusals = () => bomb.output().match(/CREATE_PROCESS \{initData: 0\} -> err 0x40/g) ?? [];
    // Each of the 4 processes is refused once, then stays.
    expect(await waitFor(() => refusals().length >= 4, 60_000), bomb.output()).toBe(true);
    expect(bomb.output()).toMatch(
      /CREATE_PROCESS refused: 4 NightOS processes are running in this NCW home, the limit \(registry system\.processes\.max_processes\) is 4/,
    );
    const live = ps();
    expect(live.processes.filter((p) => p.state !== "exited")).toHaveLength(4);

    // A new `ncw run` is refused too, with the reason and EX_TEMPFAIL.
    const again = home.run(program("(call $exit (i64.const 0))"));
    expect(again.stderr).toMatch(/cannot start .*: 4 NightOS processes are running/);
    expect(again.stderr).toMatch(/system\.processes\.max_processes/);
    expect(again.stderr).toMatch(/ncw registry set system\.processes\.max_processes/);
    expect(again.code).toBe(75);
    expect(kernelLog()).toMatch(/refused: 4 NightOS processes are running/);

    // Ending the bomb's session ends all of it: no process left, only the warm pool's runner.
    bomb.kill("SIGKILL");
    await exited;
    expect(await waitFor(() => ps().processes.length === 0, 20_000)).toBe(true);
    expect(await waitFor(() => childrenOf(live.kernel.hostPid).length <= 1, 20_000)).toBe(true);
    await setKey("system.processes.max_processes", 32);
    // The machine is fine: a program runs again.
    expect(home.run(program("(call $exit (i64.const 5))")).code).toBe(5);
  }, 120_000);
});

/**
 * The main thread creates threads (each spins) until CREATE_THREAD answers 0x40, then exits with how
 * many it made; any other status exits with 100 + the attempt. At most `tries` attempts.
 */
function threadBomb(tries: number): string {
  return program(
    `(local $s i32) (local $n i32) (local $i i32)
    (loop $bomb
      (call $q (i32.const 1) (i64.const 0)) (call $b (i32.const 0) (i32.const 0x60))
      (local.set $s (call $fork (i32.const 0x1000) (i32.const 9) (i32.const 0x2000)))
      ;; The new thread (ABI 1.1: its own status) spins.
      (if (i32.eq (local.get $s) (i32.const ${NEW_THREAD})) (then (loop $spin (br $spin))))
      (if (i32.eq (local.get $s) (i32.const ${E(0x40)})) (then (call $exit (i64.extend_i32_u (local.get $n)))))
      (if (i32.ne (local.get $s) (i32.const ${OK}))
        (then (call $exit (i64.extend_i32_u (i32.add (i32.const 100) (local.get $i))))))
      (local.set $n (i32.add (local.get $n) (i32.const 1)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $bomb (i32.lt_u (local.get $i) (i32.const ${tries}))))
    (call $exit (i64.extend_i32_u (local.get $n)))`,
  ).replace(
    "(memory",
    '(import "nightos" "syscall_fork" (func $fork (param i32 i32 i32) (result i32)))\n  (memory',
  );
}

describe.skipIf(!onLinux)("system.processes.max_threads", () => {
  it("a thread bomb stops at the process' limit with 0x40 and the terminal says why; 0 is no limit", async () => {
    await setKey("system.processes.max_threads", 4);
    // The main thread counts: 3 more threads, then 0x40.
    const r = home.run(threadBomb(20));
    expect(r.stderr).toMatch(
      /CREATE_THREAD refused: this process has 4 threads, the limit \(registry system\.processes\.max_threads\)/,
    );
    expect(r.code).toBe(3);
    await setKey("system.processes.max_threads", 0);
    expect(home.run(threadBomb(8)).code).toBe(8);
    await setKey("system.processes.max_threads", 64);
  }, 120_000);
});
