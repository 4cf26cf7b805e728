// Pipe benchmarks (issue 10 "Figures"; what each side times: bench/README.md "IPC"): throughput of a
// raw pipe between two NightOS processes vs a host pipe between two host processes, and the round trip
// of 64-byte messages through two message pipes vs a host futex ping-pong, blocking and spin-then-wait.
// Every NCW figure is a fresh `ncw run` timed between GET_PID markers; every anchor a fresh C process
// pair, interleaved with NCW's runs. Run: npm run bench:ipc

import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import {
  buildC,
  getPidMarkers,
  median,
  NCW_JS,
  row,
  runTraced,
  type StampedLine,
  sleepMs,
  stopKernel,
  TRACE_CLOCK_ENV,
} from "../common.js";
import { FUTEX_RT_C, PIPE_TP_C } from "./anchors.js";
import { roundTripProgram, throughputProgram } from "./programs.js";

const num = (name: string, dflt: number) => Number(process.env[name] ?? dflt);
/** Bytes through per throughput run (1 GiB), in writes of BLOCK bytes. */
const TOTAL = num("NCW_BENCH_IPC_BYTES", 2 ** 30);
const BLOCK = 64 * 1024;
const TP_ROUNDS = num("NCW_BENCH_IPC_ROUNDS", 5);
/** Round trips: RT_BLOCKS windows of RT_PER round trips per run, RT_ROUNDS runs. */
const RT_BLOCKS = num("NCW_BENCH_RT_BLOCKS", 50);
const RT_PER = num("NCW_BENCH_RT_PER", 1000);
const RT_ROUNDS = num("NCW_BENCH_RT_ROUNDS", 3);
const MSG = 64;
/** The spin of "spin-then-wait": NCW's default (ring.ts DEFAULT_SPIN) and the host anchor's re-reads. */
const HOST_SPIN = 2000;

const dir = mkdtempSync(path.join(os.tmpdir(), "ncw-ipcbench-"));
/** Two homes, two kernels: the ring's default spin, and NCW_RING_SPIN=0 (a waiter sleeps at once). */
const homes = {
  spin: path.join(dir, "home-spin"),
  blocking: path.join(dir, "home-blocking"),
};
const envOf = (home: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv => ({
  ...process.env,
  ...TRACE_CLOCK_ENV,
  // Only the markers are traced: the PIPE_* calls being timed write no trace line.
  NCW_TRACE_ONLY: "GET_PID",
  NCW_HOME: home,
  NCW_KERNEL_IDLE_MS: "120000",
  ...extra,
});
const env = {
  spin: envOf(homes.spin),
  blocking: envOf(homes.blocking, { NCW_RING_SPIN: "0" }),
};

function npp(name: string, wat: string): string {
  const w = path.join(dir, `${name}.wat`);
  const out = path.join(dir, `${name}.npp`);
  writeFileSync(w, wat);
  execFileSync(process.execPath, [NCW_JS, "ca", "asm", w, "-o", out], {
    env: env.spin,
    stdio: "ignore",
  });
  return out;
}

interface Markers {
  /** Wall times (ms since the epoch) of the parent's (the started process') markers, and the child's. */
  parent: number[];
  child: number[];
  /** The runner's CPU time (ms) at each of those markers. */
  parentCpu: number[];
  childCpu: number[];
}

/** One traced `ncw run`: its GET_PID markers by process. */
async function markersOf(file: string, e: NodeJS.ProcessEnv): Promise<Markers> {
  const r = await runTraced(file, e);
  const dump = (lines: StampedLine[]) => lines.map((l) => l.line).join("\n");
  if (r.status !== 0) throw new Error(`${file} exited with ${r.status}:\n${dump(r.lines)}`);
  const started = r.lines.map((l) => /^\[pid (\d+)\] started/.exec(l.line)?.[1]).find((p) => p);
  const m = getPidMarkers(r.lines);
  const cpu = getPidMarkers(r.lines, "cpu");
  const childKey = [...m.keys()].find((k) => k !== started && !k.includes("/")) ?? "";
  const parentKey = started ?? "";
  return {
    parent: m.get(parentKey) ?? [],
    child: m.get(childKey) ?? [],
    parentCpu: cpu.get(parentKey) ?? [],
    childCpu: cpu.get(childKey) ?? [],
  };
}

const span = (xs: number[]) => (xs[xs.length - 1] ?? Number.NaN) - (xs[0] ?? Number.NaN);

/**
 * Throughput: the window (ms) from the parent's marker before its first write to the child's after
 * its last read, and both runners' CPU (ms) between each one's own two markers.
 */
async function ncwThroughput(
  file: string,
  e: NodeJS.ProcessEnv,
): Promise<{ ms: number; cpuMs: number }> {
  const m = await markersOf(file, e);
  if (m.parent.length !== 2 || m.child.length !== 2)
    throw new Error(`throughput markers: ${m.parent.length} + ${m.child.length}`);
  return {
    ms: (m.child[1] as number) - (m.parent[0] as number),
    cpuMs: span(m.parentCpu) + span(m.childCpu),
  };
}

/** µs per round trip of each block (the parent's two markers around it); both runners' CPU per round trip. */
async function ncwRoundTrips(
  file: string,
  e: NodeJS.ProcessEnv,
): Promise<{ us: number[]; cpuUs: number }> {
  const m = await markersOf(file, e);
  if (m.parent.length !== 2 * RT_BLOCKS || m.child.length !== 2)
    throw new Error(`round-trip markers: ${m.parent.length} + ${m.child.length}`);
  const us: number[] = [];
  for (let i = 0; i < RT_BLOCKS; i++)
    us.push((((m.parent[2 * i + 1] as number) - (m.parent[2 * i] as number)) * 1000) / RT_PER);
  return { us, cpuUs: ((span(m.parentCpu) + span(m.childCpu)) * 1000) / (RT_BLOCKS * RT_PER) };
}

function hostThroughput(
  exe: string,
  pipeBytes: number,
): { ms: number; cpuMs: number; pipeBytes: number } {
  const r = JSON.parse(
    execFileSync(exe, [String(TOTAL), String(BLOCK), "1", String(pipeBytes)], { encoding: "utf8" }),
  ) as { ms: number[]; cpuMs: number[]; pipeBytes: number };
  return { ms: r.ms[0] as number, cpuMs: r.cpuMs[0] as number, pipeBytes: r.pipeBytes };
}

function hostRoundTrips(exe: string, spin: number): { us: number[]; cpuUs: number } {
  return JSON.parse(
    execFileSync(exe, [String(RT_BLOCKS), String(RT_PER), String(MSG), String(spin)], {
      encoding: "utf8",
    }),
  ) as { us: number[]; cpuUs: number };
}

const gbps = (ms: number) => TOTAL / ms / 1e6;

async function main(): Promise<void> {
  console.log(
    `NCW pipe benchmarks — node ${process.version}, ${os.cpus().length} cores, load ${os.loadavg()[0]?.toFixed(2)}; medians, anchors measured in this run, interleaved\n`,
  );
  const tpC = buildC(dir, "pipe_tp", PIPE_TP_C);
  const rtC = buildC(dir, "futex_rt", FUTEX_RT_C);
  const tp = {
    "64 KiB": { file: npp("tp64k", throughputProgram(TOTAL, BLOCK, 1)), hostBytes: 65536 },
    "1 MiB": { file: npp("tp1m", throughputProgram(TOTAL, BLOCK, 16)), hostBytes: 1 << 20 },
  };
  const rt = npp("rt", roundTripProgram(RT_BLOCKS, RT_PER, MSG));
  // Start both kernels and fill the AOT cache (a small run of each program), untimed.
  const warmTp = npp("tpwarm", throughputProgram(BLOCK * 16, BLOCK, 1));
  const warmRt = npp("rtwarm", roundTripProgram(2, 10, MSG));
  for (const e of [env.spin, env.blocking]) {
    await markersOf(warmTp, e);
    await markersOf(warmRt, e);
  }
  // (The timed programs' AOT compile happens in the kernel before each process starts: outside every window.)

  // 1. throughput, 64 KiB writes, TOTAL bytes; pipe buffers of 64 KiB (both defaults) and of 1 MiB
  for (const [label, t] of Object.entries(tp)) {
    const ncw: number[] = [];
    const host: number[] = [];
    const ncwCpu: number[] = [];
    const hostCpu: number[] = [];
    let hostBytes = 0;
    for (let i = 0; i < TP_ROUNDS; i++) {
      sleepMs(300);
      const n = await ncwThroughput(t.file, env.spin);
      ncw.push(n.ms);
      ncwCpu.push(n.cpuMs);
      const h = hostThroughput(tpC, t.hostBytes);
      host.push(h.ms);
      hostCpu.push(h.cpuMs);
      hostBytes = h.pipeBytes;
    }
    row(
      `pipe ${TOTAL / 2 ** 20} MiB, 64 KiB writes, ${label} buffer`,
      median(ncw),
      "ms",
      `host pipe (${hostBytes / 1024} KiB buffer)`,
      median(host),
      { target: "<= 1.0x" },
    );
    row("  CPU, writer + reader", median(ncwCpu), "ms", "host, writer + reader", median(hostCpu));
    console.log(
      `  ${gbps(median(ncw)).toFixed(2)} GB/s vs host ${gbps(median(host)).toFixed(2)} GB/s (${TP_ROUNDS} runs each; NCW runs: ${ncw.map((v) => v.toFixed(0)).join(", ")} ms; host: ${host.map((v) => v.toFixed(0)).join(", ")} ms)`,
    );
  }

  // 2. round trip of 64-byte messages: blocking (NCW_RING_SPIN=0 / host spin 0), spin-then-wait
  const cases = [
    { label: "blocking", e: env.blocking, spin: 0, target: "<= 1.5x" },
    { label: "spin-then-wait", e: env.spin, spin: HOST_SPIN, target: "< 2 µs" },
  ];
  for (const c of cases) {
    const ncw: number[] = [];
    const host: number[] = [];
    const ncwCpu: number[] = [];
    const hostCpu: number[] = [];
    for (let i = 0; i < RT_ROUNDS; i++) {
      sleepMs(300);
      const n = await ncwRoundTrips(rt, c.e);
      ncw.push(...n.us);
      ncwCpu.push(n.cpuUs);
      const h = hostRoundTrips(rtC, c.spin);
      host.push(...h.us);
      hostCpu.push(h.cpuUs);
    }
    row(
      `message round trip, 64 B, ${c.label}`,
      median(ncw),
      "µs",
      `host futex ping-pong, ${c.label}`,
      median(host),
      { target: c.target },
    );
    row("  CPU per round trip, both processes", median(ncwCpu), "µs", "host", median(hostCpu));
    console.log(
      `  (median of ${ncw.length} windows of ${RT_PER} round trips each side; NCW best window ${Math.min(...ncw).toFixed(2)} µs, host ${Math.min(...host).toFixed(2)} µs)`,
    );
  }
}

main()
  .catch((e) => {
    console.error(e);
    process.exitCode = 1;
  })
  .finally(() => {
    for (const h of Object.values(homes)) stopKernel(h);
    rmSync(dir, { recursive: true, force: true });
  });
