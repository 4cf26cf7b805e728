// Kernel benchmarks (issue 18 "Performance truth"; what each side times: bench/README.md "Kernel"):
// warm `ncw run hello` wall and CPU vs `node -e 0`; GET_PID per call vs getpid(2) from C; CREATE_PROCESS
// and CREATE_THREAD from the caller's call to the child/thread running (trace markers) vs fork(2) and
// pthread_create in C; the kernel's resident memory at rest; signal into a busy loop vs SIGUSR1.
// Run: npm run bench:kernel

import { execFileSync, fork } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { commandContext, encodeExecutionContext } from "../../commonassembly/abi/context.js";
import { decodeArtifact } from "../../commonassembly/aot/artifact.js";
import { aotCompile } from "../../commonassembly/aot/cache.js";
import { watToWasm } from "../../commonassembly/text.js";
import type { FromRunner, ToRunner } from "../../kernel-compat/protocol.js";
import { program } from "../../test/kernel-helpers.js";
import {
  benchEnv,
  buildC,
  getPidMarkers,
  kernelPidOf,
  median,
  NCW_JS,
  processTimer,
  row,
  rssKiB,
  runTraced,
  sleepMs,
  stopKernel,
} from "../common.js";
import { FORK_C, GETPID_C, SIGNAL_C, THREAD_C } from "./anchors.js";

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const RUNNER = path.join(root, "kernel-compat", "runner", "main.js");
const HELLO_NPP = path.join(root, "..", "examples", "hello", "main.npp");
const dir = mkdtempSync(path.join(os.tmpdir(), "ncw-kbench-"));
const home = path.join(dir, "home");
const env = benchEnv(home);
const timer = processTimer(dir);
/** Spec code of the TERMINATE signal (specs/kernel/signals.md). */
const SIG_TERMINATE = 0x4e;

const FORK_IMPORT =
  '(import "nightos" "syscall_fork" (func $fork (param i32 i32 i32) (result i32)))\n  (memory';

function anchor<T>(name: string, src: string, extra: string[] = []): T {
  return JSON.parse(execFileSync(buildC(dir, name, src, extra), { encoding: "utf8" })) as T;
}

/** Writes a .wat and assembles it into a .npp with `ncw ca asm` (runs then skip the text assembler). */
function npp(name: string, wat: string): string {
  const w = path.join(dir, `${name}.wat`);
  const out = path.join(dir, `${name}.npp`);
  writeFileSync(w, wat);
  execFileSync(process.execPath, [NCW_JS, "ca", "asm", w, "-o", out], { env, stdio: "ignore" });
  return out;
}

const ncwRun = (file: string) => timer(process.execPath, [NCW_JS, "run", file], env);

/**
 * A program that forks `n` times. Before each CREATE_PROCESS it calls GET_PID twice (the second is the
 * parent's marker; the gap between the two is what one marker costs);
 * each child's first act is GET_PID (the child's marker), then EXIT. `wait`: the parent waits for
 * each child before the next fork ("in a row"); otherwise it forks `n` times back to back and waits
 * afterwards ("burst"). `bigPages`: the parent's memory, written before the first fork.
 */
function forker(n: number, wait: boolean, bigPages = 0): string {
  const afterFork = wait
    ? "(drop (call $s64_16 (i32.const 0x51) (call $r64 (i32.const 0)) (i32.const 0)))"
    : "(i64.store (i32.add (i32.const 0x4000) (i32.shl (local.get $i) (i32.const 3))) (call $r64 (i32.const 0)))";
  const waitAll = wait
    ? ""
    : `(local.set $i (i32.const 0))
      (block $d2 (loop $l2 (br_if $d2 (i32.ge_u (local.get $i) (i32.const ${n})))
        (drop (call $s64_16 (i32.const 0x51) (i64.load (i32.add (i32.const 0x4000) (i32.shl (local.get $i) (i32.const 3)))) (i32.const 0)))
        (local.set $i (i32.add (local.get $i) (i32.const 1))) (br $l2)))`;
  const fill =
    bigPages > 0
      ? `(memory.fill (i32.const 0x10000) (i32.const 1) (i32.const ${(bigPages - 1) * 65536}))`
      : "";
  let text = program(`(local $i i32) ${fill}
    (block $done (loop $l (br_if $done (i32.ge_u (local.get $i) (i32.const ${n})))
      (drop (call $s0 (i32.const 0x53))) (drop (call $s0 (i32.const 0x53)))
      (call $q (i32.const 1) (i64.const 1)) (call $b (i32.const 0) (i32.const 0x50))
      (drop (call $fork (i32.const 0x1000) (i32.const 9) (i32.const 0x2000)))
      (if (i32.eq (i32.load8_u (i32.const 0x2008)) (i32.const 1)) (then (drop (call $s0 (i32.const 0x53))) (call $exit (i64.const 0))))
      ${afterFork}
      (local.set $i (i32.add (local.get $i) (i32.const 1))) (br $l)))
    ${waitAll}`).replace("(memory", FORK_IMPORT);
  if (bigPages > 0)
    text = text.replace(
      '(memory (export "memory") 2 64 shared)',
      `(memory (export "memory") ${bigPages + 1} ${bigPages + 16} shared)`,
    );
  return text;
}

/** Gaps between two back-to-back markers of one process (ms): what one marker costs. */
const markerGaps: number[] = [];

/** call → child running windows of one traced run of a forker, in fork order (ms). */
async function forkWindows(file: string): Promise<{ windows: number[]; span: number }> {
  const r = await runTraced(file, env);
  if (r.status !== 0)
    throw new Error(
      `fork program exited with ${r.status}:\n${r.lines.map((l) => l.line).join("\n")}`,
    );
  const markers = getPidMarkers(r.lines);
  const parent = /^\[pid (\d+)\] started/.exec(
    r.lines.find((l) => /\] started/.test(l.line))?.line ?? "",
  )?.[1];
  const calls = markers.get(parent ?? "") ?? [];
  const children = r.lines
    .map(
      (l) =>
        new RegExp(`^\\[pid ${parent}\\] (?:@[\\d./]+ )?CREATE_PROCESS .*-> ok \\{id: (\\d+)`).exec(
          l.line,
        )?.[1],
    )
    .filter((c): c is string => c !== undefined);
  const windows: number[] = [];
  let last = 0;
  children.forEach((c, i) => {
    const running = markers.get(c)?.[0];
    const call = calls[2 * i + 1];
    markerGaps.push((call ?? Number.NaN) - (calls[2 * i] ?? Number.NaN));
    if (running === undefined || call === undefined) throw new Error(`no marker for child ${c}`);
    windows.push(running - call);
    last = Math.max(last, running);
  });
  return { windows, span: last - (calls[1] ?? Number.NaN) };
}

/** A program whose main thread calls GET_PID then CREATE_THREAD; the thread's first act is GET_PID, then EXIT. */
function threader(): string {
  return program(`(drop (call $s0 (i32.const 0x53)))
    (call $q (i32.const 1) (i64.const 0)) (call $b (i32.const 0) (i32.const 0x60))
    ;; ABI 1.1: the new thread's status is 1 (docs/commonassembly.md §5)
    (if (i32.eq (call $fork (i32.const 0x1000) (i32.const 9) (i32.const 0x2000)) (i32.const 1)) (then
      (i32.store8 (i32.const 0x1800) (i32.const 0x53))
      (drop (call $sys (i32.const 0x1800) (i32.const 1) (i32.const 0x2800)))
      (i32.store8 (i32.const 0x1800) (i32.const 0x5f)) (i64.store (i32.const 0x1801) (i64.const 0))
      (drop (call $sys (i32.const 0x1800) (i32.const 9) (i32.const 0x2800)))
      unreachable))
    (loop $spin (br $spin))`).replace("(memory", FORK_IMPORT);
}

async function threadWindow(file: string): Promise<number> {
  const r = await runTraced(file, env);
  const m = getPidMarkers(r.lines);
  const key = [...m.keys()].find((k) => k.includes("/"));
  const main = key === undefined ? undefined : m.get(key.split("/")[0] as string)?.[0];
  const running = key === undefined ? undefined : m.get(key)?.[0];
  if (main === undefined || running === undefined)
    throw new Error(`thread markers missing:\n${r.lines.map((l) => l.line).join("\n")}`);
  return running - main;
}

/** The kernel server's CPU ticks (self + reaped children). */
function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // fields 14–17 of proc(5): utime stime cutime cstime (f[0] is field 3)
  return [11, 12, 13, 14].reduce((s, i) => s + Number(f[i]), 0);
}
function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const t of readdirSync(`/proc/${pid}/task`)) {
    const c = readFileSync(`/proc/${pid}/task/${t}/children`, "utf8").trim();
    if (c !== "") out.push(...c.split(" ").map(Number));
  }
  return out;
}
/**
 * Waits until the kernel's runners are all idle (none used CPU over 1 s: every runner the pool started
 * is up) or `maxMs` passed; returns how long it waited (ms).
 */
function poolSettled(kpid: number, maxMs: number): number {
  const t0 = performance.now();
  const ticks = () => {
    let n = 0;
    for (const c of childrenOf(kpid)) {
      try {
        n += cpuTicks(c);
      } catch {
        // exited meanwhile
      }
    }
    return `${childrenOf(kpid).length}:${n}`;
  };
  let last = ticks();
  while (performance.now() - t0 < maxMs) {
    sleepMs(1000);
    const now = ticks();
    if (now === last) break;
    last = now;
  }
  return performance.now() - t0;
}
const CLK_TCK = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;

async function instrumented(wat: string): Promise<Uint8Array> {
  const wasm = await watToWasm(wat);
  const r = await aotCompile(wasm, { cacheDir: path.join(dir, "cache") });
  return decodeArtifact(new Uint8Array(readFileSync(r.artifactPath))).module;
}

/** A runner driven directly (the bench plays the kernel): used for the signal round trip only. */
async function withRunner(
  wasm: Uint8Array,
  onRunning: (send: (m: ToRunner) => void) => void,
): Promise<{ exitAt: number; sentAt: number }> {
  const child = fork(RUNNER, [], {
    serialization: "advanced",
    stdio: ["ignore", "ignore", "inherit", "ipc"],
  });
  await new Promise<void>((r) => child.on("message", (m: FromRunner) => m.t === "ready" && r()));
  const ctx = encodeExecutionContext(commandContext({ anid: 1, callerAnid: 0, args: [] }));
  let sentAt = 0;
  const send = (m: ToRunner) => {
    sentAt = performance.now();
    child.send(m);
  };
  const exitAt = await new Promise<number>((resolve) => {
    child.on("message", (m: FromRunner) => {
      if (m.t === "running") onRunning(send);
      if (m.t === "exit") resolve(performance.now());
    });
    child.send({
      t: "start",
      pid: 100,
      ppid: 0,
      wasm,
      context: ctx,
      trace: false,
      delays: { suspend: 500, terminate: 2000 },
      maxThreads: 0,
      priority: 10,
    } satisfies ToRunner);
  });
  child.kill("SIGKILL");
  return { exitAt, sentAt };
}

async function main(): Promise<void> {
  console.log(
    `NCW kernel benchmarks — node ${process.version}, ${os.cpus().length} cores, load ${os.loadavg()[0]?.toFixed(2)}; every figure a median, anchors measured in this run\n`,
  );
  const hello = existsSync(HELLO_NPP) ? HELLO_NPP : npp("hello", program(""));

  // 1. warm `ncw run hello` (fresh CLI process; kernel and pool already up) vs `node -e 0`
  ncwRun(hello); // starts the kernel, fills the AOT cache
  sleepMs(1500);
  const kpid = kernelPidOf(home);
  const RUNS = 9;
  const walls: number[] = [];
  const cpus: number[] = [];
  const nodeWalls: number[] = [];
  const nodeCpus: number[] = [];
  const k0 = cpuTicks(kpid);
  for (let i = 0; i < RUNS; i++) {
    sleepMs(400); // the pool refills between runs (a user starting programs)
    const r = ncwRun(hello);
    if (r.status !== 0) throw new Error(`ncw run hello exited with ${r.status}`);
    walls.push(r.wallMs);
    cpus.push(r.cpuMs);
    const n = timer(process.execPath, ["-e", "0"]);
    nodeWalls.push(n.wallMs);
    nodeCpus.push(n.cpuMs);
  }
  sleepMs(1500);
  const kernelCpuPerRun = ((cpuTicks(kpid) - k0) * 1000) / CLK_TCK / RUNS;
  row("warm `ncw run hello`, wall", median(walls), "ms", "node -e 0, wall", median(nodeWalls));
  row(
    "warm `ncw run hello`, CLI process CPU",
    median(cpus),
    "ms",
    "node -e 0, CPU",
    median(nodeCpus),
  );
  row(
    "  + kernel and runners' CPU per run",
    median(cpus) + kernelCpuPerRun,
    "ms",
    "node -e 0, CPU",
    median(nodeCpus),
  );
  console.log(
    `  (kernel + its reaped runners: ${kernelCpuPerRun.toFixed(1)} ms CPU per run, averaged over ${RUNS} runs incl. the pool's refills; /proc ticks of ${(1000 / CLK_TCK).toFixed(0)} ms)`,
  );

  // 2. the kernel's resident memory at rest (after those runs, idle)
  sleepMs(1000);
  const runners = childrenOf(kpid);
  const runnersKiB = runners.reduce((s, p) => s + rssKiB(p), 0);
  console.log(
    `kernel resident memory at rest: ${(rssKiB(kpid) / 1024).toFixed(1)} MiB (kernel server, pid ${kpid}); idle pool: ${runners.length} runners, ${(runnersKiB / 1024).toFixed(1)} MiB together`,
  );

  // 3. GET_PID per call through `ncw run` (a real runner): a loop of N calls vs the same program with 0
  const N = 2_000_000;
  const loopProgram = (n: number) =>
    program(`(local $i i32) (call $b (i32.const 0) (i32.const 0x53))
      (block $done (loop $l (br_if $done (i32.ge_u (local.get $i) (i32.const ${n})))
        (drop (call $sys (i32.const 0x1000) (i32.const 1) (i32.const 0x2000)))
        (local.set $i (i32.add (local.get $i) (i32.const 1))) (br $l)))`);
  const p0 = npp("getpid0", loopProgram(0));
  const pN = npp("getpidN", loopProgram(N));
  ncwRun(p0);
  ncwRun(pN);
  const base: number[] = [];
  const full: number[] = [];
  for (let i = 0; i < 4; i++) {
    sleepMs(300);
    base.push(ncwRun(p0).wallMs);
    sleepMs(300);
    full.push(ncwRun(pN).wallMs);
  }
  const nsPerCall = ((median(full) - median(base)) * 1e6) / N;
  const cGetpid = anchor<{ ns: number }>("getpid", GETPID_C).ns;
  row("GET_PID per call (in a runner)", nsPerCall, "ns", "getpid(2) from C", cGetpid, {
    target: "<= 3x",
  });

  // 4. CREATE_PROCESS: the parent's call to the child running (markers), vs fork(2) in C
  const f1 = npp("fork1", forker(1, true));
  const f20 = npp("fork20", forker(20, true));
  const fBurst = npp("forkburst", forker(20, false));
  const fBig = npp("fork64m", forker(1, true, 1024));
  for (const f of [f1, fBig]) ncwRun(f); // AOT cache, modules compiled ahead by the pool
  // Single forks on the pool at its base size (as a user starting programs finds it).
  const single: number[] = [];
  const big: number[] = [];
  for (let i = 0; i < 7; i++) {
    sleepMs(500);
    single.push(...(await forkWindows(f1)).windows);
    if (i < 3) {
      sleepMs(500);
      big.push(...(await forkWindows(fBig)).windows);
    }
  }
  // The first burst after a quiet period: the pool is at its base size (it grows from here on).
  sleepMs(1500);
  const cold = await forkWindows(fBurst);
  ncwRun(f20);
  // The pool grew (docs/kernel.md "Runners and the warm pool"): before each figure on a grown pool,
  // let it finish starting its runners, as a program forking again and again finds it (the first
  // burst above is the case where it has not).
  const settledIn = [poolSettled(kpid, 120_000)];
  const inRow = [...(await forkWindows(f20)).windows];
  const bursts: number[] = [];
  const spans: number[] = [];
  for (let i = 0; i < 1; i++) {
    settledIn.push(poolSettled(kpid, 120_000));
    const b = await forkWindows(fBurst);
    bursts.push(...b.windows);
    spans.push(b.span);
  }
  const cf = anchor<{
    single: number;
    row: number;
    burstMedian: number;
    burstSpan: number;
    big: number;
  }>("fork", FORK_C);
  row(
    "CREATE_PROCESS call -> child running",
    median(single),
    "ms",
    "fork(2) call -> child running",
    cf.single,
    {
      target: "< 5 ms",
    },
  );
  row(
    "  20 in a row (each waited for), median",
    median(inRow),
    "ms",
    "fork(2), 20 in a row",
    cf.row,
  );
  row(
    "  burst of 20, pool at rest, median window",
    median(cold.windows),
    "ms",
    "fork(2), burst of 20",
    cf.burstMedian,
  );
  row(
    "  burst of 20, pool at rest, first -> last",
    cold.span,
    "ms",
    "fork(2), burst of 20",
    cf.burstSpan,
  );
  row("  burst of 20, median window", median(bursts), "ms", "fork(2), burst of 20", cf.burstMedian);
  row(
    "  burst of 20, first call -> last running",
    median(spans),
    "ms",
    "fork(2), burst of 20",
    cf.burstSpan,
  );
  row("  64 MiB parent", median(big), "ms", "fork(2), 64 MiB parent", cf.big);
  console.log(
    `  (the grown pool: ${childrenOf(kpid).length} runners after the runs; waits for its runners to be up before the 20 in a row and the burst: ${settledIn.map((t) => `${(t / 1000).toFixed(1)} s`).join(", ")})`,
  );
  console.log(
    `  (worst of the 20 in a row: ${Math.max(...inRow).toFixed(1)} ms; two back-to-back markers are ${median(markerGaps).toFixed(3)} ms apart (median, max ${Math.max(...markerGaps).toFixed(2)}): the markers' own cost; bench/README.md "Markers")`,
  );

  // 5. CREATE_THREAD: the caller's call to the thread running, vs pthread_create in C
  const th = npp("thread", threader());
  ncwRun(th);
  sleepMs(500);
  const threads: number[] = [];
  for (let i = 0; i < 5; i++) {
    sleepMs(500);
    threads.push(await threadWindow(th));
  }
  const ct = anchor<{ ms: number }>("thread", THREAD_C, ["-pthread"]).ms;
  row(
    "CREATE_THREAD call -> thread running",
    median(threads),
    "ms",
    "pthread_create -> thread running",
    ct,
  );

  // 6. signal into a busy loop (the bench plays the kernel: runner IPC, safepoint, handler, EXIT)
  const sigWasm = await instrumented(
    program(
      `(drop (call $s8_64 (i32.const 0x01) (i32.const 0x4e) (i64.const 1))) (drop (call $s0 (i32.const 0x04))) (loop $spin (br $spin))`,
      "(elem (i32.const 1) $t) (func $t (param i32 i32) (result i64) (call $exit (i64.const 0)) (i64.const 0))",
    ),
  );
  const lat: number[] = [];
  for (let i = 0; i < 5; i++) {
    const r = await withRunner(sigWasm, (send) =>
      setTimeout(
        () => send({ t: "signal", signal: SIG_TERMINATE, datafield: new Uint8Array(32) }),
        100,
      ),
    );
    lat.push(r.exitAt - r.sentAt);
  }
  const cSig = anchor<{ ms: number }>("signal", SIGNAL_C).ms;
  row(
    "signal into a busy loop (round trip)",
    median(lat),
    "ms",
    "SIGUSR1 into a busy C loop",
    cSig,
  );
}

main()
  .catch((e) => {
    console.error(e);
    process.exitCode = 1;
  })
  .finally(() => {
    stopKernel(home);
    rmSync(dir, { recursive: true, force: true });
  });
