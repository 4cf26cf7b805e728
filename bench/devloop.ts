// The app developer's loop (issue 15 "Figures"; what each side times: bench/README.md "Dev loop"):
// - `ncw test` of a generated suite of 100 small tests (each one run of the test program, one
//   assertion), a fresh `ncw test` process timed from outside, against the same 100 checks as 100
//   fresh host processes (/bin/sh, the same parallelism) and against vitest running 100 trivial tests
//   (a fresh vitest process);
// - the snapshot per test: the runner's tree requests that make its tests' homes (a window at a time,
//   with the drops of the ended ones), per test, and how long a test waited for its home, on a
//   prepared home of 10,000 files; and the same snapshot as two requests of its own (a commit each);
// - `ncw build` of the scaffold, cold (no cache, no outputs) and incremental (nothing changed).
// Run: npm run bench:devloop  (NCW_BENCH_RUNS rounds, default 3; NCW_BENCH_FILES, default 10000)

import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { connectKernel } from "../kernel-compat/client.js";
import { RemoteFs } from "../kernel-compat/tree-client.js";
import { openHome } from "../ncw/home.js";
import { HOMES_WINDOW, runTests } from "../ncw/testing/runner.js";
import { median, NCW_JS } from "./common.js";

const RUNS = Number(process.env.NCW_BENCH_RUNS ?? 3);
const FILES = Number(process.env.NCW_BENCH_FILES ?? 10_000);
const TESTS = 100;
const JOBS = os.availableParallelism();
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");

const tmp = mkdtempSync(path.join(os.tmpdir(), "ncw-bench-devloop-"));
const home = path.join(tmp, "home");
const env = { ...process.env, NCW_HOME: home, NCW_KERNEL_IDLE_MS: "60000", NO_COLOR: "1" };

/** Wall ms of a fresh process; throws on an unexpected exit code. */
function wall(cmd: string, args: string[], cwd: string, ok = [0]): number {
  const t = performance.now();
  const r = spawnSync(cmd, args, { cwd, env, encoding: "utf8" });
  const ms = performance.now() - t;
  if (!ok.includes(r.status ?? -1))
    throw new Error(`${cmd} ${args.join(" ")} exited ${r.status}:\n${r.stdout}${r.stderr}`);
  return ms;
}
const ncw = (args: string[], cwd: string) => wall(process.execPath, [NCW_JS, ...args], cwd);

/** `n` host processes, `jobs` at a time, each one check of the same kind as a test's. */
async function hostChecks(n: number, jobs: number): Promise<number> {
  const t = performance.now();
  let next = 0;
  const slot = async () => {
    for (let i = next++; i < n; i = next++) {
      await new Promise<void>((resolve, reject) => {
        const c = spawn("/bin/sh", ["-c", `[ "$(printf 'Hello, %s!' n${i})" = "Hello, n${i}!" ]`]);
        c.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`check ${i} failed`))));
      });
    }
  };
  await Promise.all(Array.from({ length: jobs }, slot));
  return performance.now() - t;
}

function load(): string {
  return os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(" ");
}

try {
  console.log(`bench:devloop — ${JOBS} cores, load ${load()}, ${RUNS} rounds (medians)`);
  const dir = path.join(tmp, "suite");
  ncw(["init", dir], tmp);
  const tests = Array.from(
    { length: TESTS },
    (_, i) =>
      `export function t${String(i).padStart(3, "0")}(): void {\n  expectEqual(greeting("n${i}"), "Hello, n${i}!");\n}\n`,
  );
  writeFileSync(
    path.join(dir, "tests", "greet.test.ts"),
    `import { expectEqual } from "../.ncw/sdk/as/test";\nimport { greeting } from "../src/greet";\n\n${tests.join("\n")}`,
  );

  // ncw build: cold (no cache, no outputs), then incremental (nothing changed).
  const cold: number[] = [];
  const warm: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    for (const f of ["build", ".ncw/build.json", "main.npp"])
      rmSync(path.join(dir, f), { recursive: true, force: true });
    cold.push(ncw(["build", "--tests"], dir));
    warm.push(ncw(["build", "--tests"], dir));
  }
  console.log(
    `ncw build --tests, cold (program, package, 100-test program): ${median(cold).toFixed(0)} ms`,
  );
  console.log(
    `ncw build --tests, incremental (nothing changed):            ${median(warm).toFixed(0)} ms`,
  );

  // ncw test: one warm-up run pays the test program's AOT compile and starts the kernel.
  ncw(["test", "--reporter", "tap", "-o", path.join(tmp, "tap.txt")], dir);
  const ncwTest: number[] = [];
  for (let r = 0; r < RUNS; r++)
    ncwTest.push(ncw(["test", "--reporter", "tap", "-o", path.join(tmp, "tap.txt")], dir));
  const host: number[] = [];
  for (let r = 0; r < RUNS; r++) host.push(await hostChecks(TESTS, JOBS));
  // vitest: 100 trivial tests in a file of their own, a fresh vitest process.
  const vdir = path.join(tmp, "vitest");
  mkdirSync(vdir);
  const greet = 'const greeting = (w: string) => "Hello, " + w + "!";\n';
  writeFileSync(
    path.join(vdir, "many.test.ts"),
    `import { expect, it } from "vitest";\n${greet}${Array.from({ length: TESTS }, (_, i) => `it("t${i}", () => expect(greeting("n${i}")).toBe("Hello, n${i}!"));`).join("\n")}\n`,
  );
  writeFileSync(path.join(vdir, "vitest.config.ts"), "export default {};\n");
  const vitestBin = path.join(root, "node_modules", "vitest", "vitest.mjs");
  const vit: number[] = [];
  for (let r = 0; r < RUNS; r++)
    vit.push(wall(process.execPath, [vitestBin, "run", "--root", vdir], vdir));
  const n = median(ncwTest);
  console.log(
    `ncw test, ${TESTS} tests, -j ${JOBS} (fresh process, build up to date): ${n.toFixed(0)} ms total, ${(n / TESTS).toFixed(1)} ms per test`,
  );
  console.log(
    `${TESTS} host processes (/bin/sh, ${JOBS} at a time), same checks:      ${median(host).toFixed(0)} ms (×${(n / median(host)).toFixed(1)})`,
  );
  console.log(
    `vitest, ${TESTS} trivial tests (fresh process):                        ${median(vit).toFixed(0)} ms (×${(n / median(vit)).toFixed(1)})`,
  );

  // The snapshot per test on a prepared home of FILES files (in-process: the runner's own timings of
  // its create and drop requests to the kernel, commits included).
  const prepared = path.join(dir, "tests", "home");
  for (let d = 0; d < FILES / 100; d++) {
    mkdirSync(path.join(prepared, `d${d}`), { recursive: true });
    for (let f = 0; f < 100; f++)
      writeFileSync(path.join(prepared, `d${d}`, `f${f}.txt`), `file ${d}/${f}\n`);
  }
  const { buildProject } = await import("../ncw/project/build.js");
  const { loadProject } = await import("../ncw/project/project.js");
  const built = await buildProject(await loadProject(dir), { debug: true, tests: true });
  const t = performance.now();
  const { results, snapshots } = await runTests(
    openHome(home),
    built.test?.path ?? "",
    built.test?.tests.slice(0, 30) ?? [],
    {
      jobs: 1,
      timeoutMs: 60_000,
      bail: false,
      traceLines: 0,
      prepared,
    },
  );
  const total = performance.now() - t;
  if (results.some((r) => r.status !== "pass"))
    throw new Error("a test failed on the prepared home");
  const made = snapshots.requests.reduce((n, r) => n + r.made, 0);
  const spent = snapshots.requests.reduce((n, r) => n + r.ms, 0);
  console.log(
    `snapshot per test, home of ${FILES} files (in-process, ${made} tests, homes made ${HOMES_WINDOW} per request): ${snapshots.requests.length} requests, ${median(snapshots.requests.map((r) => r.ms)).toFixed(1)} ms median each = ${(spent / made).toFixed(1)} ms per test (create + drop); a test waited ${median(snapshots.waits).toFixed(1)} ms median for its home (the whole run with the home's preparation: ${(total / 1000).toFixed(1)} s)`,
  );
  // The same snapshot as one request each (a create, then a drop: a commit each), for comparison.
  const main = await connectKernel(openHome(home), { start: true });
  if (main === undefined) throw new Error("unreachable: connectKernel with start");
  const fs = new RemoteFs(main);
  await fs.createSubvolume("/home/bench_template");
  await fs.request({
    op: "putHost",
    hostPath: prepared,
    path: "/home/bench_template",
    recursive: true,
    compression: "none",
  });
  const one: number[] = [];
  for (let i = 0; i < 10; i++) {
    const t1 = performance.now();
    await fs.snapshot("/home/bench_template", "/home/bench_snap");
    await fs.deleteSubvolume("/home/bench_snap");
    one.push(performance.now() - t1);
  }
  await fs.deleteSubvolume("/home/bench_template");
  main.close();
  console.log(
    `  the same as two requests of its own (snapshot, then delete; a commit each): ${median(one).toFixed(1)} ms median of 10`,
  );
  console.log(`load at the end: ${load()}`);
} finally {
  spawnSync(process.execPath, [NCW_JS, "--home", home, "ps"], { env });
  rmSync(tmp, { recursive: true, force: true });
}
process.exit(0);
