// The warm runner pool (docs/kernel.md, "Runner pool"): host processes started ahead of need, each with
// its worker thread loaded, so a new NightOS process skips Node's start-up. Runners serve one process.

import { type ChildProcess, fork } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { FromRunner } from "../protocol.js";

/** Two warm runners: one for the next `ncw run`, one for a CREATE_PROCESS right after it (see docs). */
export const DEFAULT_POOL_SIZE = 2;
/**
 * V8 flags of every runner (docs/kernel.md "Runners and the warm pool"). `--no-liftoff`: WebAssembly
 * functions are compiled by the optimizing tier on their first call instead of the baseline tier
 * first. V8 has no on-stack replacement for WebAssembly, so a long call that started in baseline code
 * stays there: a kernel called once ran 2.8x native CPU (geomean of bench/ca's six kernels), 1.2x
 * with the flag. The price is a slower first call of each function (calling all 60,000 functions of
 * a 4.4 MB module once: ~0.9 s instead of ~0.3 s). NCW_RUNNER_V8_FLAGS replaces the list ("" = V8's
 * defaults).
 */
export const DEFAULT_RUNNER_V8_FLAGS: readonly string[] = ["--no-liftoff"];

export function runnerV8Flags(env: NodeJS.ProcessEnv = process.env): string[] {
  const asked = env.NCW_RUNNER_V8_FLAGS;
  if (asked === undefined) return [...DEFAULT_RUNNER_V8_FLAGS];
  return asked.split(" ").filter((f) => f !== "");
}

/** How long after a runner is taken the pool starts its replacement (see take()). */
export const REFILL_DELAY_MS = 40;

export interface Runner {
  readonly child: ChildProcess;
  readonly ready: Promise<void>;
  /** The module this idle runner has compiled ahead (prepare()). */
  prepared?: Uint8Array;
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

  constructor(
    readonly size: number,
    private readonly log: (line: string) => void,
  ) {}

  fill(): void {
    while (!this.closed && this.idle.length < this.size) {
      const r = this.spawn();
      this.idle.push(r);
      if (this.hot) this.precompile(r, this.hot);
    }
  }

  /**
   * Have idle runners compile `wasm` ahead: a CREATE_PROCESS child of a process running it then
   * skips V8's compile (Node cannot share a compiled module between processes).
   */
  prepare(wasm: Uint8Array): void {
    this.hot = wasm;
    for (const r of this.idle) this.precompile(r, wasm);
  }

  private precompile(r: Runner, wasm: Uint8Array): void {
    if (r.prepared === wasm) return;
    r.prepared = wasm;
    r.ready.then(
      () => {
        if (r.prepared === wasm && r.child.connected) r.child.send({ t: "precompile", wasm });
      },
      () => {},
    );
  }

  /** A warm runner if one is idle (preferably one that compiled `wasm`), else a fresh one; the pool refills behind it. */
  take(wasm?: Uint8Array): Runner {
    const i = wasm === undefined ? -1 : this.idle.findIndex((x) => x.prepared === wasm);
    const r = (i >= 0 ? this.idle.splice(i, 1)[0] : this.idle.shift()) ?? this.spawn();
    r.child.removeAllListeners("exit");
    // Refill a little later: starting Node takes a core for ~0.1 s, which would slow the process
    // just started (and a fork burst) on a 2-core machine.
    setTimeout(() => this.fill(), REFILL_DELAY_MS);
    return r;
  }

  get idleCount(): number {
    return this.idle.length;
  }

  close(): void {
    this.closed = true;
    for (const r of this.idle.splice(0)) r.child.kill("SIGKILL");
  }

  private spawn(): Runner {
    const child = fork(runnerMain, [], {
      serialization: "advanced",
      stdio: ["ignore", "ignore", "inherit", "ipc"],
      execArgv: runnerV8Flags(),
    });
    const ready = new Promise<void>((resolve, reject) => {
      const onMsg = (m: FromRunner) => {
        if (m.t === "ready") {
          child.off("message", onMsg);
          resolve();
        }
      };
      child.on("message", onMsg);
      child.once("exit", (code, sig) =>
        reject(new Error(`runner exited before it was ready (${code ?? sig})`)),
      );
    });
    ready.catch(() => {});
    child.on("exit", () => {
      const i = this.idle.findIndex((r) => r.child === child);
      if (i >= 0) {
        this.idle.splice(i, 1);
        this.log(`idle runner ${child.pid} exited; replacing it`);
        setTimeout(() => this.fill(), 100);
      }
    });
    return { child, ready };
  }
}
