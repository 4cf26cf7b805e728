// The warm runner pool (docs/kernel.md, "Runner pool"): host processes started ahead of need, each with
// its worker thread loaded, so a new NightOS process skips Node's start-up. Runners serve one process.

import { type ChildProcess, fork } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { FromRunner } from "../protocol.js";

/** Two warm runners: one for the next `ncw run`, one for a CREATE_PROCESS right after it (see docs). */
export const DEFAULT_POOL_SIZE = 2;

export interface Runner {
  readonly child: ChildProcess;
  readonly ready: Promise<void>;
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

  constructor(
    readonly size: number,
    private readonly log: (line: string) => void,
  ) {}

  fill(): void {
    while (!this.closed && this.idle.length < this.size) this.idle.push(this.spawn());
  }

  /** A warm runner if one is idle (else a fresh one); the pool refills behind it. */
  take(): Runner {
    const r = this.idle.shift() ?? this.spawn();
    r.child.removeAllListeners("exit");
    setImmediate(() => this.fill());
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
      execArgv: [],
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
