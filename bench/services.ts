// Services benchmark (issue 11 "Figures"; bench/README.md "Services"): connection set-up — a client's
// CONNECT_SERVICE to an already running service until the client thread ACCEPT_SERVICE_CONN creates
// runs (trace markers: GET_PID before the call in the client, GET_PID first thing in the client
// thread) — vs pthread_create in C until its thread runs. The service is the black-box tests' app
// (test/services-apps.ts) with loops that poll without sleeping, installed with Skyer.
// Run: npm run bench:services

import { execFileSync, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { Cmd, client, holder, serviceNap, serviceWat } from "../test/services-apps.js";
import { benchEnv, buildC, getPidMarkers, median, NCW_JS, row, runTraced } from "./common.js";
import { THREAD_C } from "./kernel/anchors.js";

/** Connections per run, runs: the figure is the median of every connection of every run. */
const CONNECTIONS = Number(process.env.NCW_BENCH_CONNECTIONS ?? 20);
const RUNS = Number(process.env.NCW_BENCH_RUNS ?? 3);

const dir = mkdtempSync(path.join(os.tmpdir(), "ncw-sbench-"));
const env = benchEnv(path.join(dir, "home"));
const home = {
  dir,
  ncw(args: string[]) {
    const r = spawnSync(process.execPath, [NCW_JS, ...args], { env, encoding: "utf8" });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  },
  /** `ncw run --trace` in the background; its output so far. */
  spawnRun(wat: string) {
    const file = path.join(dir, `held${Date.now()}.wat`);
    writeFileSync(file, wat);
    const child = spawn(process.execPath, [NCW_JS, "run", "--trace", file], {
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
    try {
      process.kill(
        Number(readFileSync(path.join(env.NCW_HOME, "run", "kernel.pid"), "utf8")),
        "SIGTERM",
      );
    } catch {
      // no kernel
    }
    rmSync(dir, { recursive: true, force: true });
  },
};

function install(): number {
  const nap = serviceNap(home, "svcbench", serviceWat(true));
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
  if (process.env.NCW_BENCH_DEBUG) console.log(keeper());
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
  const anid = install();
  // The service runs already: a holder keeps it (its first connection starts it).
  const keep = home.spawnRun(holder(anid));
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
  } finally {
    keep.kill("SIGKILL");
    home.cleanup();
  }
}

main().catch((e: Error) => {
  console.error(e.message);
  home.cleanup();
  process.exit(1);
});
