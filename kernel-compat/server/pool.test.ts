// The warm runner pool (docs/kernel.md "Runners and the warm pool"): it grows when processes are
// started faster than it refills, starts at most SPAWN_CONCURRENCY runners at once, and shrinks back to
// its base size once the demand is gone. Real runners (the built dist/, as the black-box tests use).

import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import type { CpuSample, RunnerPool as PoolClass, Runner } from "./pool.js";

const dist = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "dist");
const {
  RunnerPool,
  SPAWN_CONCURRENCY,
  REFILL_IDLE_DELAY_MS,
  REFILL_SPARE_CORES,
  LAUNCH_MAX_MS,
  refillDelay,
  runnerV8Flags,
  spareCores,
} = (await import(path.join(dist, "kernel-compat/server/pool.js"))) as {
  runnerV8Flags: (env: NodeJS.ProcessEnv) => { late: string[]; startup: string[] };
  RunnerPool: typeof PoolClass;
  SPAWN_CONCURRENCY: number;
  REFILL_IDLE_DELAY_MS: number;
  REFILL_SPARE_CORES: number;
  LAUNCH_MAX_MS: number;
  refillDelay: (readyLeft: number) => number;
  spareCores: (a: CpuSample, b: CpuSample) => number;
};

const taken: Runner[] = [];
const pools: PoolClass[] = [];
afterAll(() => {
  for (const r of taken) r.child.kill("SIGKILL");
  for (const p of pools) p.close();
});

function newPool(
  size: number,
  opts: { max?: number; holdMs?: number; cpu?: () => CpuSample | undefined },
): PoolClass {
  const p = new RunnerPool(size, () => {}, opts);
  pools.push(p);
  return p;
}

/**
 * A host with every core idle, for the tests about when a refill is due rather than about the
 * spare-core gate (tested on its own below): on a loaded machine (CI running the suite on two cores)
 * the host's real idle time would hold the refill back past what such a test times.
 */
function idleHost(): () => CpuSample {
  let idleMs = 0;
  return () => {
    idleMs += 1000;
    return { at: performance.now(), idleMs };
  };
}

/** A take whose process runs at once (the kernel tells the pool so when the runner says it runs). */
function takeRunning(pool: PoolClass): Runner {
  const r = pool.take();
  pool.launched(r.child);
  return r;
}

/** Polls `cond` every 20 ms, also recording the most runners seen starting at once. */
async function until(pool: PoolClass, cond: () => boolean, ms: number): Promise<number> {
  let most = pool.startingCount;
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 20));
    most = Math.max(most, pool.startingCount);
  }
  return most;
}

describe("runner pool", () => {
  it("knows a module read anew by its bytes (the runners compiled it ahead once, not once per run)", () => {
    const pool = newPool(0, {});
    const first = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 7]);
    expect(pool.canonical(first)).toBe(first);
    pool.prepare(first);
    const again = new Uint8Array(first); // the same bytes, read again for the next run
    expect(pool.canonical(again)).toBe(first);
    const other = new Uint8Array(first);
    other[8] = 8;
    expect(pool.canonical(other)).toBe(other);
    expect(pool.canonical(first.subarray(0, 8))).not.toBe(first);
  });

  it("grows when no ready runner is left, two starting at a time, then shrinks back to its size", async () => {
    const pool = newPool(1, { max: 4, holdMs: 3000 });
    pool.fill();
    await until(pool, () => pool.idleCount === 1 && pool.startingCount === 0, 60_000);
    expect(pool.targetSize).toBe(1);
    // Two processes back to back: the second finds no ready runner (one was taken, its replacement has
    // not started yet) and the target doubles; a third, still none ready: it doubles again.
    taken.push(pool.take(), pool.take());
    expect(pool.targetSize).toBe(2);
    taken.push(pool.take());
    expect(pool.targetSize).toBe(4);
    // The pool fills toward 4, never more than SPAWN_CONCURRENCY starting at once; with no busy take
    // for holdMs the target halves (4 → 2 → 1) and the surplus runners are stopped.
    const most = await until(
      pool,
      () => pool.targetSize === 1 && pool.idleCount === 1 && pool.startingCount === 0,
      90_000,
    );
    expect(most).toBeLessThanOrEqual(SPAWN_CONCURRENCY);
    for (const r of taken) await r.ready;
  }, 150_000);

  it("defers the refill while a ready runner is left, and refills soon once a take drains the pool", async () => {
    expect(refillDelay(1)).toBe(REFILL_IDLE_DELAY_MS);
    expect(refillDelay(0)).toBeLessThan(REFILL_IDLE_DELAY_MS);
    const pool = newPool(2, { max: 2, cpu: idleHost() });
    pool.fill();
    await until(pool, () => pool.idleCount === 2 && pool.startingCount === 0, 60_000);
    const first = performance.now();
    taken.push(takeRunning(pool));
    // One ready runner is left for the next command: no replacement competes with it yet.
    await new Promise((r) => setTimeout(r, 400));
    expect(pool.startingCount).toBe(0);
    expect(pool.idleCount).toBe(1);
    // The next take leaves none ready: the deferred refill is brought forward.
    taken.push(takeRunning(pool));
    await until(pool, () => pool.startingCount > 0, 60_000);
    expect(performance.now() - first).toBeLessThan(REFILL_IDLE_DELAY_MS);
    for (const r of taken) await r.ready;
  }, 120_000);

  it("counts spare cores as idle CPU time over wall time", () => {
    expect(spareCores({ at: 0, idleMs: 0 }, { at: 100, idleMs: 200 })).toBe(2);
    expect(spareCores({ at: 0, idleMs: 50 }, { at: 100, idleMs: 60 })).toBeCloseTo(0.1);
    expect(spareCores({ at: 5, idleMs: 0 }, { at: 5, idleMs: 9 })).toBe(0);
  });

  it("refills only on a spare core: none while the host is busy, at once when a core frees", async () => {
    // A host whose cores are all busy (its idle time does not grow) until `idle` is set.
    let idle = false;
    let idleMs = 0;
    const cpu = (): CpuSample => {
      const at = performance.now();
      if (idle) idleMs += 1000; // far more than REFILL_SPARE_CORES over any look
      return { at, idleMs };
    };
    expect(REFILL_SPARE_CORES).toBeLessThan(1);
    const pool = newPool(1, { max: 1, cpu });
    pool.fill(); // a kernel's first fill is not deferred: its first run waits for it
    await until(pool, () => pool.idleCount === 1 && pool.startingCount === 0, 60_000);
    taken.push(takeRunning(pool)); // drains the pool: a refill is due soon, but no core is spare
    await new Promise((r) => setTimeout(r, 700));
    expect(pool.idleCount).toBe(0);
    idle = true;
    await until(pool, () => pool.idleCount === 1, 5_000);
    for (const r of taken) await r.ready;
  }, 90_000);

  // docs/kernel.md "Refills use spare cores": a sample taken while a process starts sees the cores its
  // start leaves idle, not what it takes once it runs.
  it("takes no sample while a taken runner's process starts, and refills once it runs", async () => {
    let looks = 0;
    const idle = idleHost();
    const cpu = () => {
      looks++;
      return idle();
    };
    const pool = newPool(1, { max: 1, cpu });
    pool.fill();
    await until(pool, () => pool.idleCount === 1 && pool.startingCount === 0, 60_000);
    const r = pool.take(); // drains the pool: a refill is due in REFILL_DELAY_MS
    taken.push(r);
    looks = 0;
    await new Promise((res) => setTimeout(res, 600));
    expect(LAUNCH_MAX_MS).toBeGreaterThan(600);
    expect(looks).toBe(0);
    expect(pool.idleCount).toBe(0);
    pool.launched(r.child);
    await until(pool, () => pool.idleCount === 1, 5_000);
    // A first look to start a sample, a second to decide on it: none spanned the start.
    expect(looks).toBeGreaterThanOrEqual(2);
    await r.ready;
  }, 90_000);

  it("a pool of size 0 never grows: each process gets a runner started for it", async () => {
    const pool = newPool(0, { max: 8 });
    const r = pool.take();
    taken.push(r);
    await r.ready;
    expect(pool.targetSize).toBe(0);
    await new Promise((res) => setTimeout(res, 200));
    expect(pool.idleCount).toBe(0);
  }, 60_000);

  // docs/kernel.md "Runner start: V8 flags set late": no V8 flag on a runner's command line (each
  // would make its isolates compile Node's built-ins from source), the kernel's flags as an argument.
  it("starts runners with V8's defaults and hands them their flags to set late", async () => {
    expect(runnerV8Flags({})).toEqual({ late: ["--no-liftoff", "--no-lazy"], startup: [] });
    expect(runnerV8Flags({ NCW_RUNNER_V8_FLAGS: "" }).late).toEqual([]);
    expect(
      runnerV8Flags({
        NCW_RUNNER_V8_FLAGS: " --no-liftoff ",
        NCW_RUNNER_STARTUP_V8_FLAGS: "--cpu-prof",
      }),
    ).toEqual({ late: ["--no-liftoff"], startup: ["--cpu-prof"] });
    if (process.platform !== "linux") return; // the command line is read from /proc
    const pool = newPool(0, {});
    const r = pool.take();
    taken.push(r);
    await r.ready;
    const argv = readFileSync(`/proc/${r.child.pid}/cmdline`, "utf8").split("\0").filter(Boolean);
    expect(argv[0]).toBe(process.execPath);
    expect(argv[1]).toMatch(/runner[/\\]main\.js$/);
    expect(argv.slice(2)).toEqual(["--ncw-late-v8-flags=--no-liftoff --no-lazy"]);
  }, 60_000);
});
