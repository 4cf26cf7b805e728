// Shared helpers of the benchmarks (bench/README.md): medians, host C anchors built with gcc, fresh
// processes timed from outside (wall and CPU through wait4), and `ncw run --trace` with each stderr line
// stamped with the time the bench received it (the marker clock, see bench/README.md "Markers").

import { execFileSync, spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

/** dist/cli/ncw.js (this file runs from dist/bench). */
export const NCW_JS = fileURLToPath(new URL("../cli/ncw.js", import.meta.url));

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

export function sleepMs(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Compiles a C source with gcc -O2 into `dir` and returns the executable's path. */
export function buildC(dir: string, name: string, src: string, extra: string[] = []): string {
  const c = path.join(dir, `${name}.c`);
  const exe = path.join(dir, name);
  writeFileSync(c, src);
  execFileSync("gcc", ["-O2", "-o", exe, c, ...extra]);
  return exe;
}

const CPURUN_C = `#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/wait.h>
/* cpurun <out> <cmd> [args]: runs cmd (stdout and stderr to /dev/null unless out is "-"), prints
   "<wall ns> <user us> <sys us> <exit status>" of that one child (wait4's rusage). */
int main(int argc, char **argv) {
  struct timespec a, b; struct rusage ru; int st = 0;
  clock_gettime(CLOCK_MONOTONIC, &a);
  pid_t c = fork();
  if (c == 0) {
    if (argv[1][0] != '-') { freopen("/dev/null", "w", stdout); freopen("/dev/null", "w", stderr); }
    execvp(argv[2], argv + 2); _exit(127);
  }
  wait4(c, &st, 0, &ru);
  clock_gettime(CLOCK_MONOTONIC, &b);
  printf("%.0f %ld %ld %d\\n", (b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec),
         ru.ru_utime.tv_sec * 1000000L + ru.ru_utime.tv_usec, ru.ru_stime.tv_sec * 1000000L + ru.ru_stime.tv_usec,
         WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
  return 0;
}
`;

export interface ProcTime {
  wallMs: number;
  cpuMs: number;
  status: number;
}

/**
 * A runner of fresh processes measured from outside: wall time and the child's own CPU time. The
 * child's stdin is Node's pipe to cpurun (a Unix socket), or /dev/null with `stdin: "null"`.
 */
export function processTimer(
  dir: string,
  opts: { stdin?: "null" } = {},
): (cmd: string, args: string[], env?: NodeJS.ProcessEnv) => ProcTime {
  const exe = buildC(dir, "cpurun", CPURUN_C);
  return (cmd, args, env) => {
    const out = execFileSync(exe, ["quiet", cmd, ...args], {
      encoding: "utf8",
      env: env ?? process.env,
      stdio: [opts.stdin === "null" ? "ignore" : "pipe", "pipe", "pipe"],
    });
    const [wall, user, sys, status] = out.trim().split(" ").map(Number) as [
      number,
      number,
      number,
      number,
    ];
    return { wallMs: wall / 1e6, cpuMs: (user + sys) / 1000, status };
  };
}

/** Wall time of a fresh process (spawned and waited for by cpurun; output discarded). */
export function wallOf(
  timer: ReturnType<typeof processTimer>,
  cmd: string,
  args: string[],
  env?: NodeJS.ProcessEnv,
): number {
  const r = timer(cmd, args, env);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} exited with ${r.status}`);
  return r.wallMs;
}

export interface StampedLine {
  /** Wall clock (ms since the epoch) when the line arrived on the child's stderr pipe. */
  at: number;
  line: string;
}

/** Runs `ncw run --trace <program>` and returns each stderr line with its arrival time. */
export function runTraced(
  program: string,
  env: NodeJS.ProcessEnv,
  extra: string[] = [],
): Promise<{ lines: StampedLine[]; status: number | null; wallMs: number }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, [NCW_JS, "run", "--trace", ...extra, program], {
      env,
      stdio: ["ignore", "ignore", "pipe"],
    });
    const lines: StampedLine[] = [];
    let rest = "";
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (chunk: string) => {
      const at = performance.timeOrigin + performance.now();
      const parts = (rest + chunk).split("\n");
      rest = parts.pop() ?? "";
      for (const line of parts) lines.push({ at, line });
    });
    child.on("error", reject);
    child.on("close", (status) => {
      if (rest !== "") lines.push({ at: performance.timeOrigin + performance.now(), line: rest });
      resolve({ lines, status, wallMs: performance.now() - t0 });
    });
  });
}

/** Environment for `ncw run --trace`: runners stamp each trace line with the host clock (NCW_TRACE_CLOCK). */
export const TRACE_CLOCK_ENV = { NCW_TRACE_CLOCK: "1" };

/**
 * The environment of a bench's own NCW home `home`: trace lines stamped (TRACE_CLOCK_ENV), and a kernel
 * that stays up for 60 s between two runs, so the runs after the first find it started.
 */
export function benchEnv(home: string) {
  return { ...process.env, ...TRACE_CLOCK_ENV, NCW_HOME: home, NCW_KERNEL_IDLE_MS: "60000" };
}

/** A trace line's own stamp (`[pid P] @<wall>/<cpu> …`, written by the runner under NCW_TRACE_CLOCK=1). */
function stampOf(l: StampedLine): { wall: number; cpu: number } | undefined {
  const m = /^\[pid \d+\] @(\d+\.\d+)\/(\d+\.\d+) /.exec(l.line);
  return m ? { wall: Number(m[1]), cpu: Number(m[2]) } : undefined;
}

/** A trace line's wall time: the runner's stamp, else its arrival. */
export function lineTime(l: StampedLine): number {
  return stampOf(l)?.wall ?? l.at;
}

/**
 * The `[pid P] GET_PID …` trace lines (the markers), in order, keyed by "P" for a process' main thread
 * and "P/T" for its thread T. `which`: their wall times (the runner's stamp, else the arrival time), or
 * the runner's CPU time at each (NaN without a stamp).
 */
export function getPidMarkers(
  lines: readonly StampedLine[],
  which: "wall" | "cpu" = "wall",
): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const l of lines) {
    const m = /^\[pid (\d+)\] (?:@[\d./]+ )?(?:\[thread (\d+)\] )?GET_PID /.exec(l.line);
    if (!m) continue;
    const key = m[2] === undefined ? (m[1] as string) : `${m[1]}/${m[2]}`;
    const list = out.get(key) ?? [];
    list.push(which === "wall" ? lineTime(l) : (stampOf(l)?.cpu ?? Number.NaN));
    out.set(key, list);
  }
  return out;
}

export function fmt(v: number, unit: string): string {
  if (!Number.isFinite(v)) return "n/a";
  if (unit === "ns" || unit === "MB/s" || unit === "files/s") return v.toFixed(0);
  if (v >= 100) return v.toFixed(0);
  if (v >= 10) return v.toFixed(1);
  return v.toFixed(v >= 1 ? 2 : 3);
}

/** One figure beside its anchor: `ratio` is ncw/anchor (time) or anchor/ncw (throughput, higherIsBetter). */
export function row(
  what: string,
  ncw: number,
  unit: string,
  anchorName: string,
  anchor: number,
  opts: { target?: string; higherIsBetter?: boolean } = {},
): void {
  const ratio = opts.higherIsBetter ? anchor / ncw : ncw / anchor;
  const r = Number.isFinite(ratio) ? `${ratio.toFixed(2)}x` : "n/a";
  console.log(
    `${what.padEnd(44)} ${fmt(ncw, unit).padStart(9)} ${unit.padEnd(5)} ${anchorName.padEnd(34)} ${fmt(anchor, unit).padStart(9)} ${unit.padEnd(5)} ${opts.higherIsBetter ? "host/ncw" : "ncw/host"} ${r.padStart(8)}${opts.target ? `   (target ${opts.target})` : ""}`,
  );
}

/** Resident set size of a host process in KiB (Linux /proc), or NaN. */
export function rssKiB(pid: number): number {
  try {
    const s = readFileSync(`/proc/${pid}/status`, "utf8");
    const m = /VmRSS:\s+(\d+) kB/.exec(s);
    return m ? Number(m[1]) : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

/** A benchmark app's manifest.toml: `name`/`slug` under the `ncwbench` DID, then `commands` (TOML). */
export function benchManifest(
  names: { name: string; slug: string },
  description: string,
  commands: string,
): string {
  return `type = "application"
[infos]
name = "${names.name}"
slug = "${names.slug}"
did = "ncwbench"
description = "${description}"
version = "1.0.0"
authors = [{ name = "Ada" }]
icon = "icon-%{}.svg"
license = "MIT"
[content.program]
precomp = "main.npp"
[dependencies.libraries]
[sysfeatures]
crash_saves_support = false

${commands}`;
}

/** The host PID of the kernel serving the NCW home `home` (its run/kernel.pid; throws without one). */
export function kernelPidOf(home: string): number {
  return Number(readFileSync(path.join(home, "run", "kernel.pid"), "utf8").trim());
}

/** Stop the kernel of a bench's own home (SIGTERM: it stops its runners and exits), if one runs. */
export function stopKernel(home: string): void {
  try {
    process.kill(kernelPidOf(home), "SIGTERM");
  } catch {
    // no kernel: it failed to start, or it stopped already
  }
}
