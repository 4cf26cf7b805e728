// `ncw exec` of a command that returns a value, end to end from the host shell (issue 12 "Figures"; what
// each side times: bench/README.md "Exec"): a fresh `ncw exec double 21` process (kernel up, the app
// installed with Skyer, AOT cache filled) against a fresh host process of a C program built here that
// parses the same argument and prints the same value, interleaved, medians. Traced runs of the same
// command split NCW's time at the CLI's clock marks, the runner's stamped lines and two GET_PID markers
// (NCW_TRACE_CLOCK=1): CLI start, kernel round trip, process start, the command, the CLI's exit.
// Run: npm run bench:exec

import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { Sys } from "../commonassembly/abi/numbers.js";
import { COMMAND_FUNCS } from "../test/command-helpers.js";
import { program } from "../test/kernel-helpers.js";
import { benchManifest, buildC, median, NCW_JS, sleepMs, stopKernel } from "./common.js";

const RUNS = Number(process.env.NCW_BENCH_RUNS ?? 9);
/** Pause between NCW runs: the kernel's pool refills the runner the last run took (bench:kernel's). */
const PAUSE_MS = 400;

/**
 * The command `double <n: int> -> int`: a marker (GET_PID) first thing in `_start`, the argument block
 * copied (EXECUTION_CONTEXT info 0x03; one int: 8-byte length, type 0x02, the value at byte 9), 2n
 * computed, a second marker, then the value written whole to CMDOUT (`len(9) 02 <i64>`).
 */
const DOUBLE_APP = program(
  `(drop (call $s0 (i32.const ${Sys.GET_PID})))
  (call $ctx)
  (call $check (i32.const 70) (call $s8_64 (i32.const 0xa0) (i32.const 0x03) (i64.const 0x5000)) (i32.const 0))
  (call $check (i32.const 71) (i32.load8_u (i32.const 0x5008)) (i32.const 0x02))
  (i64.store (i32.const 0x6000) (i64.const 9)) (i32.store8 (i32.const 0x6008) (i32.const 0x02))
  (i64.store (i32.const 0x6009) (i64.shl (i64.load (i32.const 0x5009)) (i64.const 1)))
  (drop (call $s0 (i32.const ${Sys.GET_PID})))
  (call $check (i32.const 5) (call $write (call $cmdout) (i32.const 17) (i32.const 0x6000) (i32.const 0)) (i32.const 0))`,
  COMMAND_FUNCS,
);

const MANIFEST = benchManifest(
  { name: "Bench", slug: "bench" },
  "bench:exec's command",
  `[commands.double]
help = "Twice n"
return = "int"

[commands.double.args.n]
syntax = "pos"
type = "int"
help = "The number"
`,
);

/** The anchor: the same argument parsed as an int (strtoll, base prefixes, range), the value printed. */
const DOUBLE_C = `#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
int main(int argc, char **argv) {
  if (argc != 2) { fprintf(stderr, "usage: double <n>\\n"); return 2; }
  char *end; errno = 0;
  long long n = strtoll(argv[1], &end, 0);
  if (errno != 0 || *end != 0 || end == argv[1]) { fprintf(stderr, "not an int: %s\\n", argv[1]); return 2; }
  printf("%lld\\n", n * 2);
  return 0;
}
`;

/**
 * launch <out> <err> <cmd> [args]: runs cmd with stdin /dev/null (or a pipe held open: NCW_LAUNCH_STDIN=pipe), stdout and stderr into the two files, prints
 * "<realtime ns before fork> <realtime ns after wait4> <wall ns> <user us> <sys us> <status>". The
 * realtime clock is the one Node's performance.timeOrigin + now() follows (the stamps of the marks).
 */
const LAUNCH_C = `#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/wait.h>
static double ns(struct timespec t) { return t.tv_sec * 1e9 + t.tv_nsec; }
int main(int argc, char **argv) {
  struct timespec r0, r1, m0, m1; struct rusage ru; int st = 0;
  int out = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0644), err = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC, 0644);
  clock_gettime(CLOCK_REALTIME, &r0); clock_gettime(CLOCK_MONOTONIC, &m0);
  /* NCW_LAUNCH_STDIN=pipe: stdin is a pipe held open (no data) until the child is reaped, as a script's. */
  const char *mode = getenv("NCW_LAUNCH_STDIN"); int p[2] = {-1, -1};
  if (mode && strcmp(mode, "pipe") == 0 && pipe(p) != 0) return 1;
  pid_t c = fork();
  if (c == 0) { int in = p[0] >= 0 ? p[0] : open("/dev/null", O_RDONLY); dup2(in, 0); if (p[1] >= 0) close(p[1]); dup2(out, 1); dup2(err, 2); execvp(argv[3], argv + 3); _exit(127); }
  if (p[0] >= 0) close(p[0]);
  wait4(c, &st, 0, &ru);
  if (p[1] >= 0) close(p[1]);
  clock_gettime(CLOCK_MONOTONIC, &m1); clock_gettime(CLOCK_REALTIME, &r1);
  printf("%.0f %.0f %.0f %ld %ld %d\\n", ns(r0), ns(r1), ns(m1) - ns(m0),
         ru.ru_utime.tv_sec * 1000000L + ru.ru_utime.tv_usec, ru.ru_stime.tv_sec * 1000000L + ru.ru_stime.tv_usec,
         WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
  return 0;
}
`;

interface Launched {
  /** Realtime clock, ms since the epoch: right before fork, right after wait4 returned. */
  forkAt: number;
  reapedAt: number;
  wallMs: number;
  cpuMs: number;
  stdout: string;
  stderr: string;
}

/** The points of a traced run, ms since the epoch (NaN where a stamp is missing). */
interface Points {
  fork: number;
  nodeBooted: number;
  requestSent: number;
  runnerStart: number;
  start: number;
  beforeWrite: number;
  value: number;
  pipesReceived: number;
  reading: number;
  exitEvent: number;
  reaped: number;
}

const STAMP = String.raw`@(\d+\.\d+)\/\d+\.\d+`;

function stampOf(text: string, re: RegExp): number {
  const m = re.exec(text);
  return m ? Number(m[1]) : Number.NaN;
}

/** Reads the points of a traced run out of its stderr (docs: bench/README.md "Exec"). */
function pointsOf(l: Launched): Points {
  const err = l.stderr;
  const ready = new RegExp(
    String.raw`^\[pid \d+\] ${STAMP} runner: .*ready to run (\d+\.\d+) ms after start`,
    "m",
  ).exec(err);
  const markers = [
    ...err.matchAll(new RegExp(String.raw`^\[pid \d+\] ${STAMP} GET_PID`, "gm")),
  ].map((m) => Number(m[1]));
  return {
    fork: l.forkAt,
    nodeBooted: stampOf(err, /^\[ncw\] @[\d./]+ mark run-request-sent node-bootstrap=@(\d+\.\d+)/m),
    requestSent: stampOf(err, new RegExp(String.raw`^\[ncw\] ${STAMP} mark run-request-sent`, "m")),
    // The runner's line says how long after its start the module was ready: its start is the stamp minus that.
    runnerStart: ready ? Number(ready[1]) - Number(ready[2]) : Number.NaN,
    start: markers[0] ?? Number.NaN,
    beforeWrite: markers[1] ?? Number.NaN,
    value: stampOf(err, new RegExp(String.raw`^\[ncw\] ${STAMP} mark cmdout-value`, "m")),
    pipesReceived: stampOf(err, new RegExp(String.raw`^\[ncw\] ${STAMP} mark command-pipes$`, "m")),
    reading: stampOf(err, new RegExp(String.raw`^\[ncw\] ${STAMP} mark command-pipes-read`, "m")),
    exitEvent: stampOf(err, new RegExp(String.raw`^\[ncw\] ${STAMP} mark exit`, "m")),
    reaped: l.reapedAt,
  };
}

function main(): void {
  const dir = mkdtempSync(path.join(os.tmpdir(), "ncw-bench-exec-"));
  const home = path.join(dir, "home");
  const base = { ...process.env, NCW_HOME: home, NO_COLOR: "1", NCW_KERNEL_IDLE_MS: "120000" };
  // The kernel (started by the first command) and its runners stamp trace lines; only GET_PID's
  // syscall lines are written. The plain runs' CLI has no NCW_TRACE_CLOCK: it writes no mark.
  const kernelEnv = { ...base, NCW_TRACE_CLOCK: "1", NCW_TRACE_ONLY: "GET_PID" };
  const plainEnv = { ...base };
  const launch = buildC(dir, "launch", LAUNCH_C);
  const anchor = buildC(dir, "double", DOUBLE_C);
  const outFile = path.join(dir, "out.txt");
  const errFile = path.join(dir, "err.txt");
  const run = (cmd: string, args: string[], env: NodeJS.ProcessEnv): Launched => {
    const line = execFileSync(launch, [outFile, errFile, cmd, ...args], { encoding: "utf8", env });
    const [r0, r1, wall, user, sys, status] = line.trim().split(" ").map(Number) as number[];
    const l: Launched = {
      forkAt: (r0 as number) / 1e6,
      reapedAt: (r1 as number) / 1e6,
      wallMs: (wall as number) / 1e6,
      cpuMs: ((user as number) + (sys as number)) / 1000,
      stdout: readFileSync(outFile, "utf8"),
      stderr: readFileSync(errFile, "utf8"),
    };
    if (status !== 0)
      throw new Error(`${cmd} ${args.join(" ")} exited with ${status}: ${l.stderr}`);
    return l;
  };
  const ncw = (args: string[], env: NodeJS.ProcessEnv) => {
    const r = run(process.execPath, [NCW_JS, ...args], env);
    if (r.stdout.trim() !== "42") throw new Error(`ncw ${args.join(" ")} printed ${r.stdout}`);
    return r;
  };
  const sh = (args: string[]) =>
    execFileSync(process.execPath, [NCW_JS, ...args], { env: kernelEnv, encoding: "utf8" });
  try {
    // The app, packed and installed with Skyer (untimed).
    const app = path.join(dir, "app");
    mkdirSync(app);
    writeFileSync(path.join(app, "manifest.toml"), MANIFEST);
    writeFileSync(path.join(app, "icon-16.svg"), "<svg/>\n");
    writeFileSync(path.join(dir, "double.wat"), DOUBLE_APP);
    sh(["ca", "asm", path.join(dir, "double.wat"), "-o", path.join(app, "main.npp")]);
    sh(["pack", app, "-o", path.join(dir, "bench.nap")]);
    sh(["skyer", "install", "--sideloading", "unsecure", path.join(dir, "bench.nap")]);
    // Warm-up: the kernel starts, the AOT cache fills, the pool is up.
    for (let i = 0; i < 2; i++) {
      ncw(["exec", "double", "21"], kernelEnv);
      sleepMs(PAUSE_MS);
    }
    const c = run(anchor, ["21"], plainEnv);
    if (c.stdout.trim() !== "42") throw new Error(`the anchor printed ${c.stdout}`);

    const plain: Launched[] = [];
    const traced: Points[] = [];
    const tracedWall: number[] = [];
    const host: Launched[] = [];
    const nodeFloor: Launched[] = [];
    const piped: Launched[] = [];
    for (let i = 0; i < RUNS; i++) {
      plain.push(ncw(["exec", "double", "21"], plainEnv));
      const h = run(anchor, ["21"], plainEnv);
      if (h.stdout.trim() !== "42") throw new Error(`the anchor printed ${h.stdout}`);
      host.push(h);
      sleepMs(PAUSE_MS);
      const t = ncw(["exec", "--trace", "double", "21"], kernelEnv);
      traced.push(pointsOf(t));
      tracedWall.push(t.wallMs);
      nodeFloor.push(run(process.execPath, ["-e", "0"], plainEnv));
      sleepMs(PAUSE_MS);
      // stdin a pipe with no data, as under a script: the CMDIN pump thread runs beside the command.
      piped.push(ncw(["exec", "double", "21"], { ...plainEnv, NCW_LAUNCH_STDIN: "pipe" }));
      sleepMs(PAUSE_MS);
    }
    const med = (xs: Launched[], k: "wallMs" | "cpuMs") => median(xs.map((x) => x[k]));
    const ncwWall = med(plain, "wallMs");
    const hostWall = med(host, "wallMs");
    const f = (v: number) =>
      Number.isFinite(v) ? (v >= 100 ? v.toFixed(0) : v.toFixed(v >= 10 ? 1 : 2)) : "n/a";
    console.log(
      `bench:exec — \`ncw exec double 21\` vs a C program, fresh processes, medians of ${RUNS}, load average ${os
        .loadavg()
        .map((x) => x.toFixed(2))
        .join(" ")} (${os.cpus().length} CPUs)`,
    );
    console.log(
      `  ncw exec double 21      wall ${f(ncwWall).padStart(7)} ms   CPU (the CLI) ${f(med(plain, "cpuMs")).padStart(7)} ms`,
    );
    console.log(
      `  C double 21 (gcc -O2)   wall ${f(hostWall).padStart(7)} ms   CPU           ${f(med(host, "cpuMs")).padStart(7)} ms`,
    );
    console.log(`  ratio (wall)            ${(ncwWall / hostWall).toFixed(1)}x`);
    console.log(
      `  … stdin an open pipe    wall ${f(med(piped, "wallMs")).padStart(7)} ms   CPU (the CLI) ${f(med(piped, "cpuMs")).padStart(7)} ms`,
    );
    console.log(
      `  floor: node -e 0        wall ${f(med(nodeFloor, "wallMs")).padStart(7)} ms   CPU           ${f(med(nodeFloor, "cpuMs")).padStart(7)} ms`,
    );
    const seg = (label: string, from: keyof Points, to: keyof Points, indent = "  ") => {
      const xs = traced.map((p) => p[to] - p[from]).filter(Number.isFinite);
      console.log(`${indent}${label.padEnd(58 - indent.length)} ${f(median(xs)).padStart(7)} ms`);
    };
    console.log(
      `Breakdown (traced runs: \`ncw exec --trace\`, NCW_TRACE_CLOCK=1, NCW_TRACE_ONLY=GET_PID; whole run ${f(median(tracedWall))} ms; medians per step):`,
    );
    seg("CLI start: fork → run request sent", "fork", "requestSent");
    seg("Node's start: fork → bootstrap done", "fork", "nodeBooted", "    ");
    seg("ncw's modules, arguments, connect: → request sent", "nodeBooted", "requestSent", "    ");
    seg("kernel round trip: request sent → runner has the start", "requestSent", "runnerStart");
    seg("process start: runner has the start → _start (marker)", "runnerStart", "start");
    seg("the command: _start → the CLI has the value whole", "start", "value");
    seg("context, argument, 2n: _start → before the CMDOUT write", "start", "beforeWrite", "    ");
    seg("CMDOUT write → the CLI has the value whole", "beforeWrite", "value", "    ");
    seg("CLI exit: the value → the process reaped", "value", "reaped");
    seg("the value → 'exit' event (printing, the kernel told)", "value", "exitEvent", "    ");
    seg("'exit' event → reaped (Node's teardown)", "exitEvent", "reaped", "    ");
    seg("total (fork → reaped)", "fork", "reaped");
    console.log("The CLI meanwhile (in parallel with the kernel and the app, not added above):");
    seg("request sent → the kernel's command-pipes message", "requestSent", "pipesReceived");
    seg("→ reading outputs (rings mapped; koffi was preloaded)", "pipesReceived", "reading");
    seg("reading → the value whole", "reading", "value");
  } finally {
    stopKernel(home);
    if (process.env.NCW_BENCH_KEEP !== "1") rmSync(dir, { recursive: true, force: true });
    else console.log(`kept ${dir}`);
  }
}

main();
