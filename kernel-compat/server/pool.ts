// The warm runner pool (docs/kernel.md, "Runner pool"): host processes started ahead of need, each with
// its worker thread loaded, so a new NightOS process skips Node's start-up. Runners serve one process.

import { type ChildProcess, fork } from "node:child_process";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { type FromRunner, LATE_V8_FLAGS_ARG, type ToRunner } from "../protocol.js";

/**
 * The pool's base size: two warm runners, one for the next `ncw run`, one for a CREATE_PROCESS right
 * after it (see docs). Under demand it grows up to DEFAULT_POOL_MAX (below).
 */
export const DEFAULT_POOL_SIZE = 2;
/**
 * How many idle runners the pool may grow to when processes are started faster than it refills (a
 * program forking in a loop or in a burst). NCW_RUNNER_POOL_MAX changes it. Each idle runner costs
 * ~70 MB of RSS (docs/kernel.md "Runners and the warm pool"), and the pool shrinks back (HOLD_MS).
 */
export const DEFAULT_POOL_MAX = 24;
/** The grown pool halves back toward its base size after this long without a busy take (see take()). */
export const HOLD_MS = 30_000;
/**
 * Runners the pool starts at once: each start takes a core for ~0.2 s, so starting twenty together
 * on a 2-core machine would make every one of them (and the processes running) late.
 */
export const SPAWN_CONCURRENCY = 2;

/**
 * V8 flags of every runner (docs/kernel.md "Runners and the warm pool"), set by the runner itself
 * once its threads have bootstrapped Node, before it loads its own modules (runner/worker-entry.ts),
 * not on its command line.
 * - `--no-liftoff`: WebAssembly functions are compiled by the optimizing tier on their first call
 *   instead of the baseline tier first. V8 has no on-stack replacement for WebAssembly, so a long call
 *   that started in baseline code stays there: a kernel called once ran 2.8x native CPU (geomean of
 *   bench/ca's six kernels), 1.2x with the flag. The price is a slower first call of each function
 *   (calling all 60,000 functions of a 4.4 MB module once: ~0.9 s instead of ~0.3 s).
 * - `--no-lazy`: the worker's JavaScript is compiled when its modules load, in the pool, not on its
 *   first call: a runner runs its code paths once (one process each), so lazily compiled, every call
 *   on a process' start (instantiation, the first syscalls, a fork child's copy and rewind) paid a
 *   compile; CREATE_PROCESS to the child running went from ~12.5 to ~8.4 ms.
 *
 * Why late: Node checks its built-in modules' code cache against V8's flags, and any flag other than
 * the defaults made every isolate the runner starts (the main thread, its worker, its door thread)
 * compile Node's own JavaScript from source: with both flags on the command line a runner took
 * ~670–770 ms of CPU to start (docs/kernel.md "Runner start: V8 flags set late").
 */
export const DEFAULT_RUNNER_V8_FLAGS: readonly string[] = ["--no-liftoff", "--no-lazy"];

/**
 * A runner's V8 flags: `late` (set by the runner once its threads are up, DEFAULT_RUNNER_V8_FLAGS or
 * NCW_RUNNER_V8_FLAGS: "" = V8's defaults) and `startup` (NCW_RUNNER_STARTUP_V8_FLAGS, on its command
 * line: for profiling, `--cpu-prof`; none by default, see above).
 */
export function runnerV8Flags(env: NodeJS.ProcessEnv = process.env): {
  late: string[];
  startup: string[];
} {
  const words = (s: string) => s.split(" ").filter((f) => f !== "");
  const asked = env.NCW_RUNNER_V8_FLAGS;
  return {
    late: asked === undefined ? [...DEFAULT_RUNNER_V8_FLAGS] : words(asked),
    startup: words(env.NCW_RUNNER_STARTUP_V8_FLAGS ?? ""),
  };
}

/** How long after a take that left no ready runner idle the pool starts a replacement (refillDelay). */
export const REFILL_DELAY_MS = 40;
/**
 * How long after a take that left a ready runner idle: the replacement (~0.3 s of a core) then waits
 * until the user's next command has likely started, instead of competing with it (docs/cli.md "The
 * pool's refill and the next command").
 */
export const REFILL_IDLE_DELAY_MS = 1500;

/** When to refill after a take: soon only if no ready runner is left to serve the next start. */
export function refillDelay(readyLeft: number): number {
  return readyLeft > 0 ? REFILL_IDLE_DELAY_MS : REFILL_DELAY_MS;
}

/**
 * A refill starts runners only on cores the running processes leave free (docs/kernel.md "Refills
 * use spare cores"): at least this much idle CPU, in cores, over the last sample.
 */
export const REFILL_SPARE_CORES = 0.75;
/** How often a refill that found no spare core looks again; also the shortest sample it decides on. */
export const REFILL_RECHECK_MS = 100;

/**
 * A process taken from the pool counts as still starting (refills do not sample the host) until its
 * runner says it runs, or for at most this long (a start that never reports must not stop refills).
 */
export const LAUNCH_MAX_MS = 2000;

/** A sample older than this says nothing of now: a refill starts a new one instead. */
const STALE_SAMPLE_MS = 2000;

/** The host's idle CPU time so far, summed over its cores (ms), read at `at` (performance.now()). */
export interface CpuSample {
  at: number;
  idleMs: number;
}

/** os.cpus()' idle times; undefined where the host tells none (some containers list no CPU). */
export function hostCpuSample(): CpuSample | undefined {
  const cpus = os.cpus();
  if (cpus.length === 0) return undefined;
  let idleMs = 0;
  for (const c of cpus) idleMs += c.times.idle;
  return { at: performance.now(), idleMs };
}

/** Idle cores between two samples: idle CPU time over wall time (2 idle cores of 2 = 2). */
export function spareCores(before: CpuSample, after: CpuSample): number {
  const wall = after.at - before.at;
  return wall <= 0 ? 0 : Math.max(0, after.idleMs - before.idleMs) / wall;
}

export interface Runner {
  readonly child: ChildProcess;
  readonly ready: Promise<void>;
  /** Set once `ready` has resolved. */
  isReady: boolean;
  /** The module this idle runner has compiled ahead (prepare()). */
  prepared?: Uint8Array;
  /** Its signal door (ipc/door.ts), named in its `ready`. */
  door?: { name: string; size: number };
}

const runnerMain = path.join(
  path.dirname(fileURLToPath(import.meta.url)),
  "..",
  "runner",
  "main.js",
);

export class RunnerPool {
  private readonly idle: Runner[] = [];
  private closed = false;
  /** The module of the last process started: idle runners compile it ahead of a fork. */
  private hot: Uint8Array | undefined;
  /** How many idle runners the pool keeps now: `size` at rest, up to `max` under demand. */
  private target: number;
  /** When a take last left the pool less than half full (the demand that holds a grown pool). */
  private lastBusy = 0;
  private shrinkTimer: NodeJS.Timeout | undefined;
  private refillTimer: NodeJS.Timeout | undefined;
  /** When the scheduled refill fires (performance.now()), to bring it forward. */
  private refillDue = Infinity;

  /** Where refills read the host's idle CPU (injected by tests). */
  private readonly cpu: () => CpuSample | undefined;
  /** The sample a deferred refill decides against next (refillWhenSpare). */
  private cpuBefore: CpuSample | undefined;
  /** Runners taken whose process does not run yet (launched()), with when they were taken. */
  private readonly launching = new Map<ChildProcess, number>();

  /** The most idle runners under demand; a pool of size 0 (no pool) never grows. */
  readonly max: number;
  private readonly holdMs: number;

  constructor(
    readonly size: number,
    private readonly log: (line: string) => void,
    opts: { max?: number; holdMs?: number; cpu?: () => CpuSample | undefined } = {},
  ) {
    this.cpu = opts.cpu ?? hostCpuSample;
    this.target = size;
    this.max = size === 0 ? 0 : Math.max(size, opts.max ?? DEFAULT_POOL_MAX);
    this.holdMs = opts.holdMs ?? HOLD_MS;
  }

  /**
   * Start runners until `target` are idle, at most SPAWN_CONCURRENCY of them (or `concurrency`, the
   * spare cores a refill found) still starting.
   */
  fill(concurrency = SPAWN_CONCURRENCY): void {
    let starting = this.idle.filter((r) => !r.isReady).length;
    const most = Math.min(SPAWN_CONCURRENCY, concurrency);
    while (!this.closed && this.idle.length < this.target && starting < most) {
      const r = this.spawn();
      starting++;
      this.idle.push(r);
      r.ready.then(
        () => this.refillWhenSpare(),
        () => {},
      );
      if (this.hot) this.precompile(r, this.hot);
    }
  }

  /**
   * `wasm` as the module the idle runners compiled ahead when it has the same bytes, else `wasm`. The
   * kernel reads a program's module anew for each run (`ncw test` starts the same one for each test):
   * compared by identity only, each run made every idle runner compile the same module again.
   */
  canonical(wasm: Uint8Array): Uint8Array {
    const hot = this.hot;
    if (hot === undefined || hot === wasm || hot.length !== wasm.length) return wasm;
    return Buffer.from(hot.buffer, hot.byteOffset, hot.byteLength).equals(wasm) ? hot : wasm;
  }

  /**
   * Have idle runners compile `wasm` ahead: a CREATE_PROCESS child of a process running it then
   * skips V8's compile (Node cannot share a compiled module between processes). Give it through
   * canonical(): a runner that compiled these bytes already is recognised by identity.
   */
  prepare(wasm: Uint8Array): void {
    this.hot = wasm;
    for (const r of this.idle) this.precompile(r, wasm);
  }

  private precompile(r: Runner, wasm: Uint8Array): void {
    if (r.prepared === wasm) return;
    r.prepared = wasm;
    // A thread worker started ahead (for a module that can create threads) is another V8 isolate:
    // only the first `size` idle runners start one, not every runner of a grown pool.
    const threads = this.idle.indexOf(r) < Math.max(1, this.size);
    r.ready.then(
      () => {
        if (r.prepared === wasm && r.child.connected)
          r.child.send({ t: "precompile", wasm, threads } satisfies ToRunner);
      },
      () => {},
    );
  }

  /**
   * A warm runner if one is idle (preferably one that compiled `wasm`), else a fresh one; the pool
   * refills behind it. The pool grows with demand: a take that finds no ready runner doubles its target (up to
   * `max`), and one that leaves it less than half full holds a grown target for HOLD_MS more.
   */
  take(wasm?: Uint8Array): Runner {
    // A ready runner that compiled `wasm`, else any ready one, else the one started first.
    let i = wasm === undefined ? -1 : this.idle.findIndex((x) => x.isReady && x.prepared === wasm);
    if (i < 0) i = this.idle.findIndex((x) => x.isReady);
    const ready = i >= 0;
    if (i < 0) i = wasm === undefined ? -1 : this.idle.findIndex((x) => x.prepared === wasm);
    const found = i >= 0 ? this.idle.splice(i, 1)[0] : this.idle.shift();
    if (!ready && this.target < this.max) {
      this.target = Math.min(this.max, Math.max(1, this.target) * 2);
      this.log(`no ready runner in the pool: growing it to ${this.target}`);
    }
    if (this.idle.length < this.target / 2) this.lastBusy = Date.now();
    if (this.target > this.size) this.scheduleShrink();
    const r = found ?? this.spawn();
    r.child.removeAllListeners("exit");
    this.launching.set(r.child, performance.now());
    // Refill later: starting Node takes a core for ~0.3 s, which would slow the process just
    // started (and the user's next command) on a 2-core machine; soon when no ready runner is left.
    this.scheduleRefill(refillDelay(this.idle.filter((x) => x.isReady).length));
    return r;
  }

  /**
   * The process on runner `child` (taken) runs, or ended: refills may sample the host again. Until
   * then a sample would see the cores its start leaves idle (it instantiates, copies its image, waits
   * for the kernel), not what the process takes once it runs: a refill started then ran beside two
   * processes busy exchanging data, on a 2-core host, for the whole start of a runner.
   */
  launched(child: ChildProcess): void {
    this.launching.delete(child);
  }

  /** Whether a taken runner's process is still starting (LAUNCH_MAX_MS at most). */
  private stillLaunching(now: number): boolean {
    for (const [child, at] of this.launching)
      if (now - at > LAUNCH_MAX_MS || child.exitCode !== null || child.signalCode !== null)
        this.launching.delete(child);
    return this.launching.size > 0;
  }

  /** Refill in `delayMs`, or sooner if a refill is already due sooner. */
  private scheduleRefill(delayMs: number): void {
    const due = performance.now() + delayMs;
    if (this.refillTimer !== undefined) {
      if (this.refillDue <= due) return;
      clearTimeout(this.refillTimer);
    }
    this.refillDue = due;
    this.refillTimer = setTimeout(() => {
      this.refillTimer = undefined;
      this.refillDue = Infinity;
      this.refillWhenSpare();
    }, delayMs);
  }

  /**
   * Fill the pool if the host has a spare core, else look again in REFILL_RECHECK_MS. A runner's start
   * takes a core for ~0.3 s or more: started beside processes that keep every core busy (two processes
   * exchanging data, a compute-bound program on each core), it made them late by as much, at any time
   * in their first second. Deferring costs nothing they need: a take that finds no ready runner starts
   * one for itself at once. A first look only takes a sample, and decides REFILL_RECHECK_MS later.
   */
  private refillWhenSpare(): void {
    if (this.closed || this.idle.length >= this.target) return;
    if (this.refillTimer !== undefined) return; // a refill is scheduled: it decides then
    if (this.stillLaunching(performance.now())) {
      // No sample across a start: the first look after it measures from there (see launched()).
      this.cpuBefore = undefined;
      this.scheduleRefill(REFILL_RECHECK_MS);
      return;
    }
    const now = this.cpu();
    const before = this.cpuBefore;
    if (now === undefined) {
      this.fill(); // the host tells no idle time: refill as before
      return;
    }
    const span = before === undefined ? Infinity : now.at - before.at;
    if (before !== undefined && span >= REFILL_RECHECK_MS / 2 && span <= STALE_SAMPLE_MS) {
      const spare = spareCores(before, now);
      if (spare >= REFILL_SPARE_CORES) {
        this.cpuBefore = undefined;
        // One start per spare core (0.75–1.75 spare: one).
        this.fill(Math.max(1, Math.floor(spare + 1 - REFILL_SPARE_CORES)));
        return;
      }
    }
    // Busy, or no sample / one too old to tell about now: the next look measures from here. Too short
    // a sample runs on.
    if (span >= REFILL_RECHECK_MS / 2) this.cpuBefore = now;
    this.scheduleRefill(REFILL_RECHECK_MS);
  }

  get idleCount(): number {
    return this.idle.length;
  }

  /** The number of idle runners the pool keeps now. */
  get targetSize(): number {
    return this.target;
  }

  /** Idle runners still starting (not ready yet). */
  get startingCount(): number {
    return this.idle.filter((r) => !r.isReady).length;
  }

  /** Halve a grown target (and stop the surplus idle runners) once demand has been low for HOLD_MS. */
  private scheduleShrink(): void {
    if (this.shrinkTimer !== undefined) return;
    this.shrinkTimer = setTimeout(() => {
      this.shrinkTimer = undefined;
      if (this.closed) return;
      if (Date.now() - this.lastBusy >= this.holdMs) {
        this.target = Math.max(this.size, Math.floor(this.target / 2));
        for (const r of this.idle.splice(this.target)) r.child.kill("SIGKILL");
        this.log(`runner pool shrinking to ${this.target}`);
      }
      if (this.target > this.size) this.scheduleShrink();
    }, this.holdMs);
    this.shrinkTimer.unref();
  }

  close(): void {
    this.closed = true;
    if (this.shrinkTimer) clearTimeout(this.shrinkTimer);
    if (this.refillTimer) clearTimeout(this.refillTimer);
    for (const r of this.idle.splice(0)) r.child.kill("SIGKILL");
  }

  private spawn(): Runner {
    const flags = runnerV8Flags();
    const child = fork(runnerMain, [`${LATE_V8_FLAGS_ARG}${flags.late.join(" ")}`], {
      serialization: "advanced",
      stdio: ["ignore", "ignore", "inherit", "ipc"],
      execArgv: flags.startup,
    });
    const ready = new Promise<void>((resolve, reject) => {
      const onMsg = (m: FromRunner) => {
        if (m.t === "ready") {
          child.off("message", onMsg);
          if (m.door !== undefined) runner.door = m.door;
          resolve();
        }
      };
      child.on("message", onMsg);
      child.once("exit", (code, sig) =>
        reject(new Error(`runner exited before it was ready (${code ?? sig})`)),
      );
    });
    ready.catch(() => {});
    // A runner that could not be started, or whose channel broke under a message (it was killed): an
    // 'error' event nobody listens to would take the kernel down. Its 'exit' does the cleaning up.
    child.on("error", (e) => this.log(`runner ${child.pid ?? "(not started)"}: ${e.message}`));
    const runner: Runner = { child, ready, isReady: false };
    ready.then(
      () => {
        runner.isReady = true;
      },
      () => {},
    );
    child.on("exit", () => {
      const i = this.idle.findIndex((r) => r.child === child);
      if (i >= 0) {
        this.idle.splice(i, 1);
        this.log(`idle runner ${child.pid} exited; replacing it`);
        this.scheduleRefill(REFILL_RECHECK_MS);
      }
    });
    return runner;
  }
}
