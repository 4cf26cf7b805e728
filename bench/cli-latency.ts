// `ncw run` latency (issue 18, "`ncw run` latency"; what each side times: bench/README.md "CLI
// latency"): warm `ncw run dist/examples/hello.nap Ada` (the kernel and its pool already up) against
// `node -e 0`, fresh processes interleaved, wall and the CLI process' CPU (user + system, wait4),
// medians and ratios. `ncw --version` (ncw's own floor: Node plus ncw's entry module) is printed beside.
// Run: npm run bench:cli   (NCW_BENCH_RUNS, 15; NCW_BENCH_PAUSE_MS, 2500)

import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { benchEnv, median, NCW_JS, type ProcTime, processTimer, row, sleepMs } from "./common.js";

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), "..");
const HELLO_NAP = path.join(root, "examples", "hello.nap");
const RUNS = Number(process.env.NCW_BENCH_RUNS ?? 15);
/** Between rounds: the pool's deferred refill (1.5 s after a take, docs/cli.md) is over by then. */
const PAUSE_MS = Number(process.env.NCW_BENCH_PAUSE_MS ?? 2500);

const dir = mkdtempSync(path.join(os.tmpdir(), "ncw-clibench-"));
const home = path.join(dir, "home");
const env = benchEnv(home);
const timer = processTimer(dir);
const CLK_TCK = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;

/** user + system CPU ticks of a process and its reaped children (proc(5) fields 14–17). */
function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return [11, 12, 13, 14].reduce((s, i) => s + Number(f[i]), 0);
}

const ncw = (...args: string[]) => timer(process.execPath, [NCW_JS, ...args], env);
const checked = (what: string, r: ProcTime) => {
  if (r.status !== 0) throw new Error(`${what} exited with ${r.status}`);
  return r;
};

function main(): void {
  const load0 = os.loadavg();
  console.log(
    `NCW CLI latency — node ${process.version}, ${os.cpus().length} cores, load ${load0.map((l) => l.toFixed(2)).join(" ")}; ${RUNS} interleaved rounds, ${PAUSE_MS} ms apart; medians\n`,
  );
  // The first run starts the kernel and fills the AOT cache; the second is a warm run already.
  checked("ncw run hello.nap", ncw("run", HELLO_NAP, "Ada"));
  sleepMs(PAUSE_MS);
  checked("ncw run hello.nap", ncw("run", HELLO_NAP, "Ada"));
  sleepMs(PAUSE_MS);
  const kpid = Number(readFileSync(path.join(home, "run", "kernel.pid"), "utf8").trim());
  const sides = ["run", "node", "version"] as const;
  const wall: Record<(typeof sides)[number], number[]> = { run: [], node: [], version: [] };
  const cpu: Record<(typeof sides)[number], number[]> = { run: [], node: [], version: [] };
  let kernelTicks = 0;
  for (let i = 0; i < RUNS; i++) {
    // The order turns each round, so neither side always runs right after the other.
    const order = [...sides.slice(i % 3), ...sides.slice(0, i % 3)];
    for (const side of order) {
      const k0 = side === "run" ? cpuTicks(kpid) : 0;
      const r =
        side === "run"
          ? checked("ncw run hello.nap Ada", ncw("run", HELLO_NAP, "Ada"))
          : side === "version"
            ? checked("ncw --version", ncw("--version"))
            : checked("node -e 0", timer(process.execPath, ["-e", "0"]));
      if (side === "run") kernelTicks += cpuTicks(kpid) - k0;
      wall[side].push(r.wallMs);
      cpu[side].push(r.cpuMs);
    }
    sleepMs(PAUSE_MS);
  }
  const target = { target: "<= 1.5x" };
  row(
    "warm `ncw run hello.nap Ada`, wall",
    median(wall.run),
    "ms",
    "node -e 0, wall",
    median(wall.node),
    target,
  );
  row(
    "warm `ncw run hello.nap Ada`, CLI CPU",
    median(cpu.run),
    "ms",
    "node -e 0, CPU",
    median(cpu.node),
    target,
  );
  row("`ncw --version`, wall", median(wall.version), "ms", "node -e 0, wall", median(wall.node));
  row("`ncw --version`, CPU", median(cpu.version), "ms", "node -e 0, CPU", median(cpu.node));
  console.log(
    `  (the kernel's CPU during each run, with the runner it reaped — that runner's own start in the pool included; not in the CLI's CPU: ${((kernelTicks * 1000) / CLK_TCK / RUNS).toFixed(1)} ms CPU per run on average, /proc ticks of ${(1000 / CLK_TCK).toFixed(0)} ms)`,
  );
  console.log(
    `load at the end: ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(" ")}`,
  );
}

try {
  main();
} finally {
  try {
    // The bench's own kernel (SIGTERM: it stops its runners and exits).
    process.kill(
      Number(readFileSync(path.join(home, "run", "kernel.pid"), "utf8").trim()),
      "SIGTERM",
    );
  } catch {
    // no kernel: it failed to start, or it stopped already
  }
  rmSync(dir, { recursive: true, force: true });
}
