// Hydre (docs/hydre.md; issue 16 "Tests and figures"; what each side times: bench/README.md "Hydre"):
// (a) start-up of `ncw hydre -c 'echo 1'` against `bash -c 'echo 1'` (and `nu -c` when it is installed),
// (b) a loop of 1,000,000 integer additions in Hydre against the same loop in bash, (c) a pipeline of two
// app commands moving a typed string of 64 MiB (the largest return value NCW reads, docs/ipc.md) through
// `ncw hydre`, against `head -c | wc -c`; 100 MB of raw bytes as a stream between two app commands
// through `ncw hydre -c 'raw N | scount'` (a's CMDRAW is b's CMDIN, docs/hydre.md "Pipes") against
// `bash -c 'head -c N /dev/zero | wc -c'`; and, for scale, the same 100 MB through a host pipe between
// two `ncw exec` (`ncw exec raw | ncw exec wc -c`, the examples' wc) against the same host pipeline.
// Fresh processes timed from outside (bench/common.ts cpurun), interleaved rounds, medians.
// Run: npm run bench:hydre   (NCW_BENCH_RUNS: rounds, default 7 for (a), 3 for (b) and (c))

import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { MAX_RETURN_SIZE } from "../commonassembly/abi/values.js";
import { COUNT_CMDIN_APP, producerApp } from "../test/command-helpers.js";
import { benchManifest, median, NCW_JS, processTimer, sleepMs, stopKernel } from "./common.js";

const RUNS =
  process.env.NCW_BENCH_RUNS === undefined ? undefined : Number(process.env.NCW_BENCH_RUNS);
const START_RUNS = RUNS ?? 7;
const LONG_RUNS = RUNS ?? 3;
const LOOP = 1_000_000;
/** The typed string: its whole value (8-byte length, type, 8-byte string length, bytes) is 64 MiB. */
const STRING_BYTES = MAX_RETURN_SIZE - 17;
const RAW_BYTES = 100_000_000;
/** Pause after an NCW run: the kernel's pool refills the runners it took (bench:exec's). */
const PAUSE_MS = 400;

/** dist/examples (this file runs from dist/bench). */
const EXAMPLES = fileURLToPath(new URL("../examples", import.meta.url));

/** `count` (cmdin string): reads CMDIN to its end (as much as its memory takes each time), returns how many bytes came (the value's encoding). */
const COUNT_APP = COUNT_CMDIN_APP;

const manifest = (slug: string, commands: string) =>
  benchManifest({ name: slug, slug }, `bench:hydre's ${slug}`, commands);

const sizeArg = (cmd: string) => `[commands.${cmd}.args.n]
syntax = "pos"
type = "int"
help = "How many bytes"
`;

const APPS: { slug: string; wat: string; commands: string }[] = [
  {
    slug: "blob",
    wat: producerApp("cmdout", true),
    commands: `[commands.blob]\nhelp = "A string of n bytes"\nreturn = "string"\n\n${sizeArg("blob")}`,
  },
  {
    slug: "raw",
    wat: producerApp("cmdraw", false),
    commands: `[commands.raw]\nhelp = "n raw bytes on CMDRAW"\n\n${sizeArg("raw")}`,
  },
  {
    slug: "count",
    wat: COUNT_APP,
    commands:
      `[commands.count]\nhelp = "Counts its input's bytes"\ncmdin = "string"\nreturn = "int"\n` +
      `[commands.scount]\nhelp = "Counts a stream's bytes"\ncmdin = "stream"\nreturn = "int"\n`,
  },
];

/** The bash loop of (b): the same additions, in bash's arithmetic. */
const BASH_LOOP = `s=0; for ((i=0; i<${LOOP}; i++)); do s=$((s + i)); done; echo $s`;
/** The Hydre loop of (b). */
const HYDRE_LOOP = `let mut s = 0\nfor i in 0..${LOOP}\n  s += i\nend\necho $s`;
const LOOP_SUM = String((LOOP * (LOOP - 1)) / 2);

function main(): void {
  const dir = mkdtempSync(path.join(os.tmpdir(), "ncw-bench-hydre-"));
  const home = path.join(dir, "home");
  const env = { ...process.env, NCW_HOME: home, NO_COLOR: "1", NCW_KERNEL_IDLE_MS: "600000" };
  const timer = processTimer(dir);
  const ncwArgs = (args: string[]) => [NCW_JS, ...args];
  /** A fresh process, output checked; its wall time (ms). */
  const timed = (cmd: string, args: string[], want: string): number => {
    const t = performance.now();
    const r = spawnSync(cmd, args, { env, encoding: "utf8", maxBuffer: 1 << 20 });
    const ms = performance.now() - t;
    if (r.status !== 0 || r.stdout.trim() !== want)
      throw new Error(
        `${cmd} ${args.join(" ").slice(0, 80)}: exit ${r.status}, printed ${r.stdout.slice(0, 80)} (not ${want}): ${r.stderr}`,
      );
    return ms;
  };
  const sh = (args: string[]) =>
    execFileSync(process.execPath, ncwArgs(args), { env, encoding: "utf8" });
  const nu = spawnSync("nu", ["-c", "echo 1"], { encoding: "utf8" }).status === 0;
  const f = (v: number) => (v >= 100 ? v.toFixed(0) : v.toFixed(v >= 10 ? 1 : 2));
  try {
    for (const app of APPS) {
      const d = path.join(dir, app.slug);
      mkdirSync(d);
      writeFileSync(path.join(d, "manifest.toml"), manifest(app.slug, app.commands));
      writeFileSync(path.join(d, "icon-16.svg"), "<svg/>\n");
      writeFileSync(path.join(dir, `${app.slug}.wat`), app.wat);
      sh(["ca", "asm", path.join(dir, `${app.slug}.wat`), "-o", path.join(d, "main.npp")]);
      sh(["pack", d, "-o", path.join(dir, `${app.slug}.nap`)]);
      sh(["skyer", "install", "--sideloading", "unsecure", path.join(dir, `${app.slug}.nap`)]);
    }
    // The examples' wc (built by `npm run build` into dist/examples).
    const wc = path.join(EXAMPLES, "wc.nap");
    if (!existsSync(wc)) throw new Error(`${wc} is missing: run \`npm run build\` first`);
    sh(["skyer", "install", wc]);

    console.log(
      `bench:hydre — fresh processes, interleaved, medians; load average ${os
        .loadavg()
        .map((x) => x.toFixed(2))
        .join(" ")} (${os.cpus().length} CPUs)`,
    );

    // (a) Start-up: nothing but `echo 1` (no kernel is needed for it, none is asked).
    const start = {
      hydre: [] as number[],
      bash: [] as number[],
      nu: [] as number[],
      node: [] as number[],
      hydreCpu: [] as number[],
    };
    for (let i = 0; i < 2; i++) timer(process.execPath, ncwArgs(["hydre", "-c", "echo 1"]), env);
    for (let i = 0; i < START_RUNS; i++) {
      const h = timer(process.execPath, ncwArgs(["hydre", "-c", "echo 1"]), env);
      if (h.status !== 0) throw new Error(`ncw hydre -c 'echo 1' exited ${h.status}`);
      start.hydre.push(h.wallMs);
      start.hydreCpu.push(h.cpuMs);
      const b = timer("bash", ["-c", "echo 1"], env);
      start.bash.push(b.wallMs);
      if (nu) start.nu.push(timer("nu", ["-c", "echo 1"], env).wallMs);
      start.node.push(timer(process.execPath, ["-e", "0"], env).wallMs);
    }
    const hs = median(start.hydre);
    const bs = median(start.bash);
    console.log(`(a) start-up, ${START_RUNS} runs each`);
    console.log(
      `  ncw hydre -c 'echo 1'   wall ${f(hs).padStart(8)} ms   (CPU of the process ${f(median(start.hydreCpu))} ms)`,
    );
    console.log(
      `  bash -c 'echo 1'        wall ${f(bs).padStart(8)} ms   ratio ${(hs / bs).toFixed(1)}x`,
    );
    if (nu) {
      const ns = median(start.nu);
      console.log(
        `  nu -c 'echo 1'          wall ${f(ns).padStart(8)} ms   ratio ${(hs / ns).toFixed(1)}x`,
      );
    } else console.log("  nu -c 'echo 1'          (nu is not installed: no figure)");
    console.log(`  floor: node -e 0        wall ${f(median(start.node)).padStart(8)} ms`);

    // (b) The loop, in fresh processes; the start-up of (a) taken off each side for the loop's own time.
    const loop = { hydre: [] as number[], bash: [] as number[] };
    for (let i = 0; i < LONG_RUNS; i++) {
      loop.hydre.push(timed(process.execPath, ncwArgs(["hydre", "-c", HYDRE_LOOP]), LOOP_SUM));
      loop.bash.push(timed("bash", ["-c", BASH_LOOP], LOOP_SUM));
    }
    const hl = median(loop.hydre);
    const bl = median(loop.bash);
    console.log(`(b) ${LOOP.toLocaleString("en")} additions in a for loop, ${LONG_RUNS} runs each`);
    console.log(
      `  ncw hydre -c '…'        wall ${f(hl).padStart(8)} ms   loop alone ${f(hl - hs).padStart(7)} ms   ${f(((hl - hs) * 1e6) / LOOP)} ns/iteration`,
    );
    console.log(
      `  bash -c '…'             wall ${f(bl).padStart(8)} ms   loop alone ${f(bl - bs).padStart(7)} ms   ${f(((bl - bs) * 1e6) / LOOP)} ns/iteration`,
    );
    console.log(
      `  ratio                   wall ${(hl / bl).toFixed(2)}x   loop alone ${((hl - hs) / (bl - bs)).toFixed(2)}x`,
    );

    // (c) Two app commands. Warm-up: the kernel is up, the AOT results cached, the pool full.
    const typed = `blob ${STRING_BYTES} | count`;
    const typedWant = String(STRING_BYTES + 17);
    const hydreSmall = "blob 0 | count";
    timed(process.execPath, ncwArgs(["hydre", "-c", hydreSmall]), "17");
    sleepMs(PAUSE_MS);
    const ncwJs = `"${process.execPath}" "${NCW_JS}"`;
    const rawPipe = (n: number) => `${ncwJs} exec raw ${n} | ${ncwJs} exec wc -c`;
    const hostPipe = (n: number) => `head -c ${n} /dev/zero | wc -c`;
    timed("sh", ["-c", rawPipe(0)], "0");
    sleepMs(PAUSE_MS);
    const pipe = {
      hydre0: [] as number[],
      hydreN: [] as number[],
      host64: [] as number[],
      raw0: [] as number[],
      rawN: [] as number[],
      host100: [] as number[],
      stream0: [] as number[],
      streamN: [] as number[],
      bash100: [] as number[],
    };
    const stream = (n: number) => `raw ${n} | scount`;
    timed(process.execPath, ncwArgs(["hydre", "-c", stream(0)]), "0");
    sleepMs(PAUSE_MS);
    for (let i = 0; i < LONG_RUNS; i++) {
      pipe.hydre0.push(timed(process.execPath, ncwArgs(["hydre", "-c", hydreSmall]), "17"));
      sleepMs(PAUSE_MS);
      pipe.hydreN.push(timed(process.execPath, ncwArgs(["hydre", "-c", typed]), typedWant));
      sleepMs(PAUSE_MS);
      pipe.host64.push(timed("sh", ["-c", hostPipe(STRING_BYTES + 17)], typedWant));
      pipe.raw0.push(timed("sh", ["-c", rawPipe(0)], "0"));
      sleepMs(PAUSE_MS);
      pipe.rawN.push(timed("sh", ["-c", rawPipe(RAW_BYTES)], String(RAW_BYTES)));
      sleepMs(PAUSE_MS);
      pipe.host100.push(timed("sh", ["-c", hostPipe(RAW_BYTES)], String(RAW_BYTES)));
      pipe.stream0.push(timed(process.execPath, ncwArgs(["hydre", "-c", stream(0)]), "0"));
      sleepMs(PAUSE_MS);
      pipe.streamN.push(
        timed(process.execPath, ncwArgs(["hydre", "-c", stream(RAW_BYTES)]), String(RAW_BYTES)),
      );
      sleepMs(PAUSE_MS);
      pipe.bash100.push(timed("bash", ["-c", hostPipe(RAW_BYTES)], String(RAW_BYTES)));
    }
    const m = Object.fromEntries(Object.entries(pipe).map(([k, v]) => [k, median(v)])) as Record<
      keyof typeof pipe,
      number
    >;
    const mbs = (bytes: number, ms: number) => `${(bytes / 1e6 / (ms / 1000)).toFixed(0)} MB/s`;
    const mib = (STRING_BYTES + 17) / 1024 / 1024;
    console.log(`(c) two app commands in a pipeline, ${LONG_RUNS} runs each`);
    console.log(
      `  ncw hydre -c 'blob N | count', a typed string of ${mib} MiB (the largest NCW reads): wall ${f(m.hydreN)} ms; with N = 0: ${f(m.hydre0)} ms; the data ${f(m.hydreN - m.hydre0)} ms = ${mbs(STRING_BYTES + 17, m.hydreN - m.hydre0)}`,
    );
    console.log(
      `  head -c ${STRING_BYTES + 17} /dev/zero | wc -c: wall ${f(m.host64)} ms = ${mbs(STRING_BYTES + 17, m.host64)}   ratio (whole) ${(m.hydreN / m.host64).toFixed(1)}x, (the data) ${((m.hydreN - m.hydre0) / m.host64).toFixed(1)}x`,
    );
    console.log(
      `  sh: ncw exec raw ${RAW_BYTES} | ncw exec wc -c (CMDRAW → host pipe → CMDIN; not Hydre): wall ${f(m.rawN)} ms; with 0 bytes: ${f(m.raw0)} ms; the data ${f(m.rawN - m.raw0)} ms = ${mbs(RAW_BYTES, m.rawN - m.raw0)}`,
    );
    console.log(
      `  head -c ${RAW_BYTES} /dev/zero | wc -c: wall ${f(m.host100)} ms = ${mbs(RAW_BYTES, m.host100)}   ratio (whole) ${(m.rawN / m.host100).toFixed(1)}x, (the data) ${((m.rawN - m.raw0) / m.host100).toFixed(1)}x`,
    );
    console.log(
      `  ncw hydre -c 'raw ${RAW_BYTES} | scount' (a stream: raw's CMDRAW is scount's CMDIN): wall ${f(m.streamN)} ms; with 0 bytes: ${f(m.stream0)} ms; the data ${f(m.streamN - m.stream0)} ms = ${mbs(RAW_BYTES, m.streamN - m.stream0)}`,
    );
    console.log(
      `  bash -c 'head -c ${RAW_BYTES} /dev/zero | wc -c': wall ${f(m.bash100)} ms = ${mbs(RAW_BYTES, m.bash100)}   ratio (whole) ${(m.streamN / m.bash100).toFixed(1)}x, (the data) ${((m.streamN - m.stream0) / m.bash100).toFixed(1)}x`,
    );
    console.log(
      `load average at the end ${os
        .loadavg()
        .map((x) => x.toFixed(2))
        .join(" ")}`,
    );
  } finally {
    stopKernel(home);
    if (process.env.NCW_BENCH_KEEP !== "1") rmSync(dir, { recursive: true, force: true });
    else console.log(`kept ${dir}`);
  }
}

main();
