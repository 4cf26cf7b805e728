// Command pipes (docs/ipc.md "Command pipes"): CMDIN throughput of a piped input into a NightOS `wc -c`
// (`head -c N /dev/zero | ncw run wc.wat`) beside the host's `head -c N /dev/zero | wc -c`, both timed
// from outside around fresh processes, in interleaved rounds; medians (bench/README.md).
// NCW's fixed cost (CLI start, kernel round trip, process start) is measured with an empty input and
// printed apart; the throughput figure is the data phase: N / (time(N) − time(0)), on both sides.

import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { COUNT_CMDIN_APP } from "../test/command-helpers.js";
import { median, NCW_JS, stopKernel } from "./common.js";

const GIB = 1024 * 1024 * 1024;
const SIZE = Number(process.env.NCW_BENCH_CMDIN_BYTES ?? GIB);
const RUNS = Number(process.env.NCW_BENCH_RUNS ?? 3);

/** `wc -c` on CMDIN: reads up to the end of its memory each time (40 pages), returns the count. */
const WC = COUNT_CMDIN_APP.replace(
  '(memory (export "memory") 2 64 shared)',
  '(memory (export "memory") 80 128 shared)',
);

function timeShell(cmd: string, env: NodeJS.ProcessEnv): { ms: number; out: string } {
  const t = performance.now();
  const r = spawnSync("sh", ["-c", cmd], { env, encoding: "utf8", maxBuffer: 1 << 20 });
  const ms = performance.now() - t;
  if (r.status !== 0) throw new Error(`${cmd} failed (${r.status}): ${r.stderr}`);
  return { ms, out: r.stdout.trim() };
}

function main(): void {
  const dir = mkdtempSync(path.join(os.tmpdir(), "ncw-bench-commands-"));
  const env = { ...process.env, NCW_HOME: path.join(dir, "home"), NO_COLOR: "1" };
  try {
    const wc = path.join(dir, "wc.wat");
    writeFileSync(wc, WC);
    const ncw = (n: number) =>
      `head -c ${n} /dev/zero | "${process.execPath}" "${NCW_JS}" run "${wc}"`;
    const host = (n: number) => `head -c ${n} /dev/zero | wc -c`;
    // Warm up: the kernel starts and the program's AOT result is cached.
    timeShell(ncw(0), env);
    // Interleaved rounds (NCW empty, NCW N, host empty, host N): on a shared machine the load moves
    // within seconds, and two blocks measured one after the other compared two different machines.
    const runOnce = (cmd: string, expect: number) => {
      const r = timeShell(cmd, env);
      if (Number(r.out) !== expect) throw new Error(`${cmd} printed ${r.out}, not ${expect}`);
      return r.ms;
    };
    const xs = {
      ncw0: [] as number[],
      ncwN: [] as number[],
      host0: [] as number[],
      hostN: [] as number[],
    };
    const ratios: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const a = runOnce(ncw(0), 0);
      const b = runOnce(ncw(SIZE), SIZE);
      const c = runOnce(host(0), 0);
      const d = runOnce(host(SIZE), SIZE);
      xs.ncw0.push(a);
      xs.ncwN.push(b);
      xs.host0.push(c);
      xs.hostN.push(d);
      ratios.push((d - c) / (b - a));
    }
    const ncw0 = median(xs.ncw0);
    const ncwN = median(xs.ncwN);
    const host0 = median(xs.host0);
    const hostN = median(xs.hostN);
    const rate = (ms: number) => SIZE / (ms / 1000) / 1e6;
    const ncwRate = rate(ncwN - ncw0);
    const hostRate = rate(hostN - host0);
    const mib = (SIZE / 1048576).toFixed(0);
    console.log(
      `bench:commands — CMDIN, ${mib} MiB piped, medians of ${RUNS} runs, load ${os.loadavg()[0]?.toFixed(2)}`,
    );
    console.log(
      `  ncw run wc.wat   ${ncwN.toFixed(0)} ms end to end; fixed cost (empty input) ${ncw0.toFixed(0)} ms`,
    );
    console.log(
      `  host wc -c       ${hostN.toFixed(0)} ms end to end; empty input ${host0.toFixed(0)} ms`,
    );
    console.log(
      `  data phase       ncw ${ncwRate.toFixed(0)} MB/s, host ${hostRate.toFixed(0)} MB/s: ratio ${(ncwRate / hostRate).toFixed(2)}x (target ≥ 0.8x)`,
    );
    console.log(
      `  per round        data-phase ratios ${ratios.map((r) => r.toFixed(2)).join(", ")} (median ${median(ratios).toFixed(2)}x)`,
    );
    console.log(
      `  end to end       ratio ${(hostN / ncwN).toFixed(2)}x (includes NCW's fixed cost)`,
    );
  } finally {
    stopKernel(env.NCW_HOME);
    rmSync(dir, { recursive: true, force: true });
  }
}

main();
