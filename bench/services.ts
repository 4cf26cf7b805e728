// Services benchmark (issue 11 "Figures"; bench/README.md "Services"):
// - connection set-up: a client's CONNECT_SERVICE to an already running service until the client
//   thread ACCEPT_SERVICE_CONN creates runs (trace markers: GET_PID before the call in the client,
//   GET_PID first thing in the client thread), vs pthread_create in C until its thread runs;
// - the method round trip on an established connection, untraced on both sides: the wall time of a
//   fresh `ncw run` of a client making CALLS + 1 calls minus that of the same client making 1 call,
//   per call, vs a host futex ping-pong and a Unix-socket request/answer between two processes.
// The service is the black-box tests' app (test/services-apps.ts) whose loops wait with HAND_OVER,
// installed with Skyer.
// Run: npm run bench:services

import { execFileSync, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { Cmd, client, holder, serviceNap, serviceWat } from "../test/services-apps.js";
import {
  benchEnv,
  buildC,
  getPidMarkers,
  median,
  NCW_JS,
  processTimer,
  row,
  runTraced,
  sleepMs,
  stopKernel,
  wallOf,
} from "./common.js";
import { FUTEX_RT_C, UNIX_RT_C } from "./ipc/anchors.js";
import { THREAD_C } from "./kernel/anchors.js";

/** Connections per run, runs: the figure is the median of every connection of every run. */
const CONNECTIONS = Number(process.env.NCW_BENCH_CONNECTIONS ?? 20);
const RUNS = Number(process.env.NCW_BENCH_RUNS ?? 3);
/** Method calls of the long round-trip client (the short one makes 1); PAIRS pairs of runs. */
const CALLS = Number(process.env.NCW_BENCH_CALLS ?? 5000);
const PAIRS = Number(process.env.NCW_BENCH_PAIRS ?? 5);
/** The pause before each timed run: the kernel's runner pool refills after a run (docs/kernel.md). */
const SETTLE_MS = 2000;
/** The method call's arguments (bytes); the client thread's answer is 8 bytes. */
const ARGS = 64;

const dir = mkdtempSync(path.join(os.tmpdir(), "ncw-sbench-"));
// Only the markers' and the holder's lines: the services' HAND_OVER loops would write a line per ms.
const env = { ...benchEnv(path.join(dir, "home")), NCW_TRACE_ONLY: "GET_PID,CONNECT_SERVICE" };
const home = {
  dir,
  ncw(args: string[]) {
    const r = spawnSync(process.execPath, [NCW_JS, ...args], { env, encoding: "utf8" });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  },
  /** `ncw run` (`--trace` when `traced`) in the background; its output so far. */
  spawnRun(wat: string, traced = true) {
    const file = path.join(dir, `held${Date.now()}.wat`);
    writeFileSync(file, wat);
    const child = spawn(process.execPath, [NCW_JS, "run", ...(traced ? ["--trace"] : []), file], {
      env,
      stdio: ["ignore", "ignore", "pipe"],
    });
    let out = "";
    child.stderr.on("data", (d) => {
      out += d;
    });
    return Object.assign(child, { output: () => out });
  },
  /** Stop the home's kernel (it started for the bench) and remove the folder. */
  cleanup() {
    stopKernel(env.NCW_HOME);
    rmSync(dir, { recursive: true, force: true });
  },
};

function install(slug: string): number {
  const nap = serviceNap(home, slug, serviceWat(true));
  const r = home.ncw(["skyer", "install", nap, "--json", "--global"]);
  if (r.code !== 0) throw new Error(`install: ${r.stderr}`);
  return (JSON.parse(r.stdout) as { anid: number }).anid;
}

/**
 * A client that, CONNECTIONS times: GET_PID (the marker), CONNECT_SERVICE to the main service,
 * END_SERVICE_CONN, then waits a little for the client thread to end.
 */
function connector(anid: number): string {
  return client(`
    (local $i i32)
    (loop $again
      (drop (call $s0 (i32.const 0x53)))
      (if (i32.ne (call $connect (i32.const ${anid}) (i32.const 0) (i64.const 0) (i32.const ${Cmd.ACCEPT}) (i32.const 0)) (i32.const 0))
        (then (call $exit (i64.const 1))))
      (drop (call $s64 (i32.const 0x2b) (call $r64 (i32.const 0))))
      (call $sleep (i32.const 20))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $again (i32.lt_u (local.get $i) (i32.const ${CONNECTIONS}))))`);
}

/**
 * A client that connects once, then `calls` times: SEND_SOCK_MSG of a method call (method 1, ARGS
 * bytes, a new exchange), HAND_OVER until RECV_SOCK_MSG's handler flags the answer, READ_SOCK_MSG; it
 * checks each answer (the first 8 bytes + 1, the client thread's method) and ends the connection.
 */
function caller(anid: number, calls: number): string {
  return client(`
    (local $i i32) (local $sock i64) (local $conn i64)
    ;; RECV_SOCK_MSG (0x27) to handler 2 ($onmsg: a flag at 0x3520), then READY (0x04)
    (call $check (i32.const 100) (call $s8_64 (i32.const 0x01) (i32.const 0x27) (i64.const 2)) (i32.const 0))
    (call $check (i32.const 101) (call $s0 (i32.const 0x04)) (i32.const 0))
    (call $check (i32.const 102) (call $connect (i32.const ${anid}) (i32.const 0) (i64.const 0) (i32.const ${Cmd.ACCEPT}) (i32.const 0)) (i32.const 0))
    (local.set $conn (call $r64 (i32.const 0)))
    (local.set $sock (call $r64 (i32.const 8)))
    (loop $again
      (i32.atomic.store (i32.const 0x3520) (i32.const 0))
      (i64.store (i32.const 0x7000) (i64.extend_i32_u (local.get $i)))
      ;; SEND_SOCK_MSG (0x27): socket, exchange 0 (a new one), method 1, error 0, ${ARGS} bytes at 0x7000
      (call $q (i32.const 1) (local.get $sock)) (call $q (i32.const 9) (i64.const 0)) (call $h (i32.const 17) (i32.const 1))
      (call $h (i32.const 19) (i32.const 0)) (call $q (i32.const 21) (i64.const 0x7000)) (call $q (i32.const 29) (i64.const ${ARGS}))
      (call $check (i32.const 103) (call $call (i32.const 0x27) (i32.const 37)) (i32.const 0))
      ;; HAND_OVER (0x56) until the answer's signal ran
      (loop $wait (if (i32.eqz (i32.atomic.load (i32.const 0x3520))) (then (drop (call $s0 (i32.const 0x56))) (br $wait))))
      (call $check (i32.const 104) (call $read (local.get $sock) (i32.const 0x7100)) (i32.const 0))
      (call $check64 (i32.const 105) (i64.load (i32.const 0x7100)) (i64.extend_i32_u (i32.add (local.get $i) (i32.const 1))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $again (i32.lt_u (local.get $i) (i32.const ${calls}))))
    (drop (call $s64 (i32.const 0x2b) (local.get $conn)))`);
}

/** The service processes of app `anid` (`ncw ps --json`). */
function servicePids(anid: number): number[] {
  const r = home.ncw(["ps", "--json"]);
  if (r.code !== 0) throw new Error(`ps: ${r.stderr}`);
  const { processes } = JSON.parse(r.stdout) as {
    processes: { pid: number; anid: number; service?: string; clients?: number[] }[];
  };
  return processes.filter((p) => p.anid === anid && p.service !== undefined).map((p) => p.pid);
}

/** An untraced holder of app `anid`'s main service, once the service serves it. */
async function heldService(anid: number) {
  const keep = home.spawnRun(holder(anid), false);
  const start = Date.now();
  while (servicePids(anid).length === 0) {
    if (keep.exitCode !== null) throw new Error(`the holder ended:\n${keep.output()}`);
    if (Date.now() - start > 60_000)
      throw new Error(`the holder did not connect:\n${keep.output()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return keep;
}

/**
 * The set-up windows of one run: each client marker to the next client thread's first marker. The
 * service reports to the terminal of the client that started it (`keeper`): its threads' markers are
 * there, stamped by the service's runner with the same host clock.
 */
async function setupWindows(file: string, keeper: () => string): Promise<number[]> {
  const r = await runTraced(file, env);
  if (r.status !== 0)
    throw new Error(`the client failed:\n${r.lines.map((l) => l.line).join("\n")}`);
  const calls = [...getPidMarkers(r.lines).values()][0] ?? [];
  const first = calls[0] ?? Number.POSITIVE_INFINITY;
  // Each client thread's first GET_PID after the run's first call, in time order (one per connection);
  // the keeper's terminal gets the lines a little later than they were written.
  const threadMarkers = () =>
    [
      ...getPidMarkers(
        keeper()
          .split("\n")
          .map((line) => ({ at: Number.NaN, line })),
      ).entries(),
    ]
      .filter(([k]) => k.includes("/"))
      .map(([, v]) => v[0] as number)
      .filter((t) => t >= first)
      .sort((a, b) => a - b);
  let threads = threadMarkers();
  for (let waited = 0; threads.length < calls.length && waited < 10_000; waited += 100) {
    await new Promise((r) => setTimeout(r, 100));
    threads = threadMarkers();
  }
  if (process.env.NCW_BENCH_DEBUG)
    console.log(`${r.lines.map((l) => l.line).join("\n")}\n${keeper()}`);
  if (calls.length !== CONNECTIONS || threads.length < CONNECTIONS)
    throw new Error(
      `expected ${CONNECTIONS} markers each, got ${calls.length} and ${threads.length}`,
    );
  return calls.map((t, i) => (threads[i] as number) - t);
}

async function main(): Promise<void> {
  console.log(
    `load average ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(" ")}`,
  );
  const anid = install("svcbench");
  // The service runs already: a holder keeps it (its first connection starts it).
  const keep = home.spawnRun(holder(anid));
  let quiet: ReturnType<typeof home.spawnRun> | undefined;
  try {
    const start = Date.now();
    while (!/CONNECT_SERVICE .* -> ok/.test(keep.output())) {
      if (Date.now() - start > 60_000)
        throw new Error(`the holder did not connect:\n${keep.output()}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const file = path.join(home.dir, "connector.wat");
    writeFileSync(file, connector(anid));
    const windows: number[] = [];
    for (let run = 0; run < RUNS; run++) windows.push(...(await setupWindows(file, keep.output)));
    const anchor = (
      JSON.parse(
        execFileSync(buildC(home.dir, "thread", THREAD_C, ["-pthread"]), { encoding: "utf8" }),
      ) as {
        ms: number;
      }
    ).ms;
    console.log(`${windows.length} connections (${RUNS} runs of ${CONNECTIONS})`);
    row(
      "CONNECT_SERVICE -> client thread running",
      median(windows),
      "ms",
      "pthread_create -> thread running",
      anchor,
      { target: "under 2 ms" },
    );
    // The method round trip, untraced: the traced service above (its trace goes to the holder's
    // terminal) ends, and a second install of the app serves an untraced holder.
    keep.kill("SIGKILL");
    for (const pid of servicePids(anid)) home.ncw(["kill", "--force", String(pid)]);
    const anid2 = install("svcbench2");
    quiet = await heldService(anid2);
    const longFile = path.join(home.dir, "caller-long.wat");
    const shortFile = path.join(home.dir, "caller-short.wat");
    writeFileSync(longFile, caller(anid2, CALLS + 1));
    writeFileSync(shortFile, caller(anid2, 1));
    const timer = processTimer(home.dir);
    const run = (file: string) => {
      sleepMs(SETTLE_MS);
      return wallOf(timer, process.execPath, [NCW_JS, "run", file], env);
    };
    run(shortFile); // the first run compiles the program (the compile cache), as a user's first would
    run(longFile);
    const futex = buildC(home.dir, "futex_rt", FUTEX_RT_C);
    const unix = buildC(home.dir, "unix_rt", UNIX_RT_C);
    const perCallUs: number[] = [];
    const futexUs: number[] = [];
    const unixUs: number[] = [];
    for (let pair = 0; pair < PAIRS; pair++) {
      const short = run(shortFile);
      const long = run(longFile);
      perCallUs.push(((long - short) * 1000) / CALLS);
      // Blocking futex (spin 0): 20 blocks of 100 round trips of ARGS bytes each way.
      futexUs.push(
        ...(
          JSON.parse(
            execFileSync(futex, ["20", "100", String(ARGS), "0"], { encoding: "utf8" }),
          ) as { us: number[] }
        ).us,
      );
      unixUs.push(
        (
          JSON.parse(execFileSync(unix, ["2000", String(ARGS), "8"], { encoding: "utf8" })) as {
            medianUs: number;
          }
        ).medianUs,
      );
    }
    console.log(
      `${PAIRS} pairs of runs (${CALLS + 1} calls against 1), ${ARGS}-byte arguments: ${perCallUs
        .map((u) => u.toFixed(0))
        .join(", ")} µs per call`,
    );
    const ncwUs = median(perCallUs);
    row("method call -> answer read", ncwUs, "µs", "futex ping-pong (blocking)", median(futexUs), {
      target: "within 2x",
    });
    row("method call -> answer read", ncwUs, "µs", "Unix socket request/answer", median(unixUs), {
      target: "faster (under 1x)",
    });
  } finally {
    keep.kill("SIGKILL");
    quiet?.kill("SIGKILL");
    home.cleanup();
  }
}

main().catch((e: Error) => {
  console.error(e.message);
  home.cleanup();
  process.exit(1);
});
