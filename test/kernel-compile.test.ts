// Black-box tests of compiling off the kernel's event loop (docs/commonassembly-aot.md, "Compiling off
// the kernel's thread"): while one client's program compiles, others are served, and a compile whose
// client went away is cancelled.

import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { alive, childrenOf, NCW, TestHome, waitFor } from "./kernel-helpers.js";

/**
 * A valid program that takes seconds to AOT-compile: `n` functions that can reach syscall_fork, so
 * Binaryen's Asyncify transforms them all.
 */
function slowProgram(n: number): string {
  const fs: string[] = [];
  for (let i = 0; i < n; i++)
    fs.push(`(func $f${i} (param $x i32) (result i32) (local $i i32) (local $s i32)
      (loop $l (local.set $s (i32.add (local.get $s) (i32.mul (local.get $i) (local.get $x))))
        (if (i32.eq (local.get $s) (i32.const 12345))
          (then (drop (call $fork (i32.const 0) (i32.const 0) (i32.const 0)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $l (i32.lt_u (local.get $i) (local.get $x))))
      (i32.add (local.get $s) (call $f${(i + 1) % n} (i32.const 0))))`);
  return `(module
    (import "nightos" "syscall_fork" (func $fork (param i32 i32 i32) (result i32)))
    (memory (export "memory") 2 64 shared)
    (table (export "__indirect_function_table") 16 funcref)
    ${fs.join("\n")}
    (func (export "_start")))`;
}

/** The artifacts in the home's cache, but the tiny first program's (startKernel). */
function artifacts(h: TestHome): string[] {
  const dir = path.join(h.home, "cache", "aot");
  const all = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith(".ncwa")) : [];
  return all.filter((f) => !tinyArtifacts.has(f));
}
const tinyArtifacts = new Set<string>();

/** CPU seconds (user + system) the process has used so far (Linux /proc). */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** The kernel's compile workers (child processes running compile-worker.js). */
function compileWorkers(kernel: number): number[] {
  return childrenOf(kernel).filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("compile-worker.js");
    } catch {
      return false;
    }
  });
}

/** CPU seconds the kernel and its live compile workers have used (wherever the compile runs). */
function compileCpu(kernel: number): number {
  let total = cpuSeconds(kernel);
  for (const pid of compileWorkers(kernel)) {
    try {
      total += cpuSeconds(pid);
    } catch {
      // just exited
    }
  }
  return total;
}

const TINY = `(module (memory (export "memory") 2 64 shared)
  (table (export "__indirect_function_table") 16 funcref) (func (export "_start")))`;

/** Starts the kernel with a tiny program and lets it settle; returns its PID. */
async function startKernel(h: TestHome): Promise<number> {
  const first = h.run(TINY);
  expect(first.code, first.stderr).toBe(0);
  for (const f of artifacts(h)) tinyArtifacts.add(f);
  await new Promise((r) => setTimeout(r, 1000)); // its background loading done
  return h.kernelPid()!;
}

/** Starts `ncw run` on the slow program; resolves once the kernel has spent `cpu` s compiling it. */
async function startCompile(h: TestHome, cpu: number) {
  const kernel = await startKernel(h);
  const idle = compileCpu(kernel);
  const run = h.spawnRun(slowProgram(150));
  expect(await waitFor(() => compileCpu(kernel) - idle >= cpu, 30_000, 50)).toBe(true);
  expect(artifacts(h)).toEqual([]); // still compiling
  return { run, kernel };
}

/** A line of /proc/<pid>/status as a number ("Threads", "VmRSS" in kB). */
function status(pid: number, key: string): number {
  const m = new RegExp(`^${key}:\\s+(\\d+)`, "m").exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return Number(m?.[1]);
}

let home: TestHome | undefined;
afterEach(() => {
  home?.cleanup();
  home = undefined;
});

describe.skipIf(process.platform !== "linux")("compiling in the kernel", () => {
  it("answers `ncw ps` while a big program compiles", async () => {
    home = new TestHome({ NCW_KERNEL_IDLE_MS: "20000" });
    const h = home;
    const { run } = await startCompile(h, 1);
    const t0 = Date.now();
    const ps = spawnSync(process.execPath, [NCW, "ps"], { env: h.envFor(), encoding: "utf8" });
    const ms = Date.now() - t0;
    expect(ps.status, ps.stderr).toBe(0);
    // The compile is still going on: ps was not queued behind it.
    expect(artifacts(h), `ps took ${ms} ms`).toEqual([]);
    expect(ms).toBeLessThan(5000);
    const code = await new Promise<number | null>((r) => run.on("exit", r));
    expect(code, run.output()).toBe(0);
    expect(artifacts(h)).toHaveLength(1);
  }, 90_000);

  it("returns the memory a compile used once it is done", async () => {
    home = new TestHome({ NCW_KERNEL_IDLE_MS: "20000" });
    const h = home;
    // A first small program starts the kernel (and loads what every run needs).
    const kernel = await startKernel(h);
    const idle = status(kernel, "VmRSS");
    const r = h.run(slowProgram(150));
    expect(r.code, r.stderr).toBe(0);
    await new Promise((r) => setTimeout(r, 1000));
    const after = status(kernel, "VmRSS");
    // Binaryen's heap alone is tens of MB for this program (hundreds for large ones).
    expect(after - idle, `idle ${idle} kB, after ${after} kB`).toBeLessThan(40_000);
  }, 90_000);

  it("cancels the compile when the `ncw run` client is killed", async () => {
    home = new TestHome({ NCW_KERNEL_IDLE_MS: "20000" });
    const h = home;
    const { run, kernel } = await startCompile(h, 1);
    run.kill("SIGKILL");
    await new Promise((r) => run.on("exit", r));
    await new Promise((r) => setTimeout(r, 500)); // the kernel sees the client go
    // The kernel goes idle: no compile burns CPU for a client that is gone.
    const before = compileCpu(kernel);
    await new Promise((r) => setTimeout(r, 2000));
    const used = compileCpu(kernel) - before;
    expect(used).toBeLessThan(0.3);
    expect(compileWorkers(kernel)).toEqual([]);
    expect(alive(kernel)).toBe(true);
    expect(artifacts(h)).toEqual([]);
    // And it still serves: ps answers.
    const ps = h.ncw(["ps"]);
    expect(ps.code, ps.stderr).toBe(0);
  }, 90_000);
});
