// `ncw run` latency (issue 18, "`ncw run` latency"; what each side times: bench/README.md "CLI
// latency"): warm `ncw run dist/examples/hello.nap Ada` (the kernel and its pool already up) against
// `node -e 0`, fresh processes interleaved, stdin /dev/null, wall and the CLI process' CPU (user + system, wait4),
// medians and ratios; the same run through yargs (NCW_CLI_YARGS=1), optionally another build's CLI
// (NCW_BENCH_BASELINE=<its dist/cli/ncw.js>), and `ncw --version` (Node plus ncw's entry module) beside.
// Run: npm run bench:cli   (NCW_BENCH_RUNS, 15; NCW_BENCH_PAUSE_MS, 2500)

import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import {
  benchEnv,
  kernelPidOf,
  median,
  NCW_JS,
  type ProcTime,
  processTimer,
  row,
  sleepMs,
  stopKernel,
} from "./common.js";

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), "..");
const HELLO_NAP = path.join(root, "examples", "hello.nap");
const RUNS = Number(process.env.NCW_BENCH_RUNS ?? 15);
/** Between rounds: the pool's deferred refill (1.5 s after a take, docs/cli.md) is over by then. */
const PAUSE_MS = Number(process.env.NCW_BENCH_PAUSE_MS ?? 2500);

const dir = mkdtempSync(path.join(os.tmpdir(), "ncw-clibench-"));
const home = path.join(dir, "home");
const env = benchEnv(home);
/** stdin /dev/null, as good as a terminal here (neither starts the CLI's CMDIN pump thread). */
const timer = processTimer(dir, { stdin: "null" });
/** stdin a Unix socket (what Node's child_process gives a child): the CLI pumps it from a thread. */
const socketTimer = processTimer(dir);
const CLK_TCK = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;

/** user + system CPU ticks of a process and its reaped children (proc(5) fields 14–17). */
function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return [11, 12, 13, 14].reduce((s, i) => s + Number(f[i]), 0);
}

const checked = (what: string, r: ProcTime) => {
  if (r.status !== 0) throw new Error(`${what} exited with ${r.status}`);
  return r;
};

interface Side {
  name: string;
  /** A run (its kernel CPU is counted); else a process with no kernel work. */
  run: boolean;
  go(): ProcTime;
}

const runOf =
  (cli: string, extra: NodeJS.ProcessEnv = {}, t = timer) =>
  () =>
    t(process.execPath, [cli, "run", HELLO_NAP, "Ada"], { ...env, ...extra });

/** The sides, each timed once a round: NCW's, its variants, and the anchor. */
function sides(): Side[] {
  const list: Side[] = [
    { name: "warm `ncw run hello.nap Ada`", run: true, go: runOf(NCW_JS) },
    {
      name: "  the same through yargs (NCW_CLI_YARGS=1)",
      run: true,
      go: runOf(NCW_JS, { NCW_CLI_YARGS: "1" }),
    },
    {
      name: "  the same with stdin a socket (CMDIN pump)",
      run: true,
      go: runOf(NCW_JS, {}, socketTimer),
    },
  ];
  // Another build's CLI (e.g. main's dist/cli/ncw.js), on this build's kernel: before/after figures.
  const baseline = process.env.NCW_BENCH_BASELINE;
  if (baseline !== undefined)
    list.push({ name: `  the CLI of ${baseline}`, run: true, go: runOf(baseline) });
  list.push(
    {
      name: "`ncw --version`",
      run: false,
      go: () => timer(process.execPath, [NCW_JS, "--version"], env),
    },
    { name: "node -e 0", run: false, go: () => timer(process.execPath, ["-e", "0"]) },
  );
  return list;
}

function main(): void {
  const load0 = os.loadavg();
  console.log(
    `NCW CLI latency — node ${process.version}, ${os.cpus().length} cores, load ${load0.map((l) => l.toFixed(2)).join(" ")}; ${RUNS} interleaved rounds, ${PAUSE_MS} ms apart; medians\n`,
  );
  const list = sides();
  // The first run starts the kernel and fills the AOT cache; the second is a warm run already.
  for (let i = 0; i < 2; i++) {
    checked("ncw run hello.nap", list[0]!.go());
    sleepMs(PAUSE_MS);
  }
  const kpid = kernelPidOf(home);
  const wall = list.map((): number[] => []);
  const cpu = list.map((): number[] => []);
  const kernelTicks = list.map(() => 0);
  for (let i = 0; i < RUNS; i++) {
    // The order turns each round, so no side always runs right after the same other.
    const order = list.map((_s, k) => (k + i) % list.length);
    for (const k of order) {
      const side = list[k]!;
      const k0 = cpuTicks(kpid);
      const r = checked(side.name, side.go());
      if (side.run) {
        kernelTicks[k]! += cpuTicks(kpid) - k0;
        // The pool's refill of the runner this run took is over before the next side starts.
        sleepMs(PAUSE_MS);
      }
      wall[k]!.push(r.wallMs);
      cpu[k]!.push(r.cpuMs);
    }
  }
  const node = list.length - 1;
  const anchorWall = median(wall[node]!);
  const anchorCpu = median(cpu[node]!);
  for (let k = 0; k < node; k++) {
    const side = list[k]!;
    const target = k === 0 ? { target: "<= 1.5x" } : {};
    row(`${side.name}, wall`, median(wall[k]!), "ms", "node -e 0, wall", anchorWall, target);
    row(`${side.name}, CLI CPU`, median(cpu[k]!), "ms", "node -e 0, CPU", anchorCpu, target);
  }
  console.log(
    `  (the kernel's CPU during a run, with the runner it reaped, that runner's own start in the pool included; not in the CLI's CPU: ${list
      .flatMap((s, k) =>
        s.run ? [`${((kernelTicks[k]! * 1000) / CLK_TCK / RUNS).toFixed(0)}`] : [],
      )
      .join(" / ")} ms per run on average; /proc ticks of ${(1000 / CLK_TCK).toFixed(0)} ms)`,
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
  stopKernel(home);
  rmSync(dir, { recursive: true, force: true });
}
