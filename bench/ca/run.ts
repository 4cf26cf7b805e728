// CommonAssembly benchmark (issue 3): C kernels built with clang for wasm32 and with gcc -O2 natively,
// run in one invocation; prints NCW/native and instrumented/uninstrumented ratios with geometric means,
// then AOT time for a several-MB module, cold and cached. Run: `npm run bench:ca`.

import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { aotCompile } from "../../commonassembly/aot/cache.js";
import type { InstrumentOptions, PollShape } from "../../commonassembly/aot/instrument.js";
import { TestProcess } from "../../test/ca-exec.js";
import { wat } from "../../test/wasm-spec/wat.js";

const KERNELS = ["matmul", "sha256", "nbody", "sieve", "quicksort", "crc32"] as const;
type Kernel = (typeof KERNELS)[number];

const REPS = Number(process.env.NCW_BENCH_REPS ?? 5);

/** bench/ca/kernels in the source tree (this file runs from dist/bench/ca). */
function kernelsDir(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  for (const up of ["kernels", "../../../bench/ca/kernels"]) {
    const d = path.resolve(here, up);
    try {
      readFileSync(path.join(d, "kernels.c"));
      return d;
    } catch {
      // try the next
    }
  }
  throw new Error("cannot find bench/ca/kernels");
}

function tool(cmd: string, args: string[]): void {
  try {
    execFileSync(cmd, args, { stdio: ["ignore", "ignore", "inherit"] });
  } catch (e) {
    throw new Error(
      `${cmd} failed (${(e as Error).message}); clang, lld and gcc are needed (apt install clang lld gcc)`,
    );
  }
}

function geomean(xs: number[]): number {
  return Math.exp(xs.reduce((s, x) => s + Math.log(x), 0) / xs.length);
}

interface NativeResult {
  kernel: Kernel;
  ns: number;
  checksum: string;
}

function runNative(exe: string): Map<Kernel, NativeResult> {
  const out = execFileSync(exe, [String(REPS)], { encoding: "utf8" });
  const m = new Map<Kernel, NativeResult>();
  for (const line of out.trim().split("\n")) {
    const r = JSON.parse(line) as NativeResult;
    m.set(r.kernel, r);
  }
  return m;
}

type Variant = "instrumented" | "uninstrumented" | "clang-only";

interface Runnable {
  variant: Variant;
  call: (k: Kernel) => bigint;
}

function exportsOf(inst: WebAssembly.Instance): (k: Kernel) => bigint {
  return (k) => (inst.exports[`bench_${k}`] as () => bigint)();
}

async function variant(wasm: Uint8Array, cacheDir: string, v: Variant): Promise<Runnable> {
  if (v === "clang-only") {
    const inst = new WebAssembly.Instance(new WebAssembly.Module(wasm), {});
    return { variant: v, call: exportsOf(inst) };
  }
  const level = process.env.NCW_BENCH_OPT;
  const opt: InstrumentOptions =
    level === undefined ? {} : { optimizeLevel: Number(level) as 0 | 1 | 2 | 3 };
  const shape = process.env.NCW_BENCH_POLL;
  if (shape !== undefined) opt.pollShape = shape as PollShape;
  if (process.env.NCW_BENCH_ENGINE === "binaryen") opt.engine = "binaryen";
  const instrument: InstrumentOptions = v === "instrumented" ? opt : { ...opt, polls: "none" };
  const r = await aotCompile(wasm, { cacheDir, instrument });
  // As the runtime runs it: control page reserved, __nightos_ctl set, poll flag clear.
  const p = TestProcess.create(r.module);
  return { variant: v, call: exportsOf(p.instance) };
}

/** CPU time of one call (user + system of this process): other load on the machine does not count. */
function timeOnce(fn: () => bigint): { ms: number; sum: bigint } {
  const t0 = process.cpuUsage();
  const sum = fn();
  const d = process.cpuUsage(t0);
  return { ms: (d.user + d.system) / 1000, sum };
}

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + " ".repeat(n - s.length);
}

function lpad(s: string, n: number): string {
  return s.length >= n ? s : " ".repeat(n - s.length) + s;
}

/** A large ABI-shaped module: `count` functions, each with a loop, arithmetic, memory and a call. */
function largeModuleText(count: number): string {
  const funcs: string[] = [];
  for (let i = 0; i < count; i++) {
    const callee =
      i === 0 ? "" : `(local.set $a (i32.add (local.get $a) (call $f${i - 1} (local.get $i))))`;
    funcs.push(`(func $f${i} (param $n i32) (result i32) (local $i i32) (local $a i32)
      (block $done (loop $l
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $a (i32.xor (i32.mul (local.get $a) (i32.const ${(i * 2654435761) % 1000003})) (local.get $i)))
        (i32.store offset=${(i % 1000) * 4} (i32.const 0) (i32.add (local.get $a) (i32.load offset=${(i % 997) * 4} (i32.const 0))))
        (if (i32.and (local.get $a) (i32.const ${1 << (i % 16)})) (then ${callee}))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $l)))
      (local.get $a))`);
  }
  return `(module
    (memory (export "memory") 1 256 shared)
    (table (export "__indirect_function_table") 1 funcref)
    ${funcs.join("\n")}
    (func (export "_start") (drop (call $f${count - 1} (i32.const 3)))))`;
}

async function main(): Promise<void> {
  const tmp = mkdtempSync(path.join(os.tmpdir(), "ncw-bench-ca-"));
  try {
    const kd = kernelsDir();
    const exe = path.join(tmp, "native");
    const wasmFile = path.join(tmp, "kernels.wasm");
    tool("gcc", ["-O2", "-o", exe, path.join(kd, "native-main.c"), path.join(kd, "kernels.c")]);
    tool("clang", [
      "--target=wasm32",
      "-O2",
      "-nostdlib",
      "-matomics",
      "-mbulk-memory",
      "-Wl,--no-entry",
      "-Wl,--shared-memory",
      "-Wl,--max-memory=67108864",
      "-Wl,--export-table",
      "-Wl,-z,stack-size=1048576",
      "-o",
      wasmFile,
      path.join(kd, "wasm-entry.c"),
      path.join(kd, "kernels.c"),
    ]);
    const wasm = new Uint8Array(readFileSync(wasmFile));
    const cacheDir = path.join(tmp, "cache");

    console.log(
      `CommonAssembly benchmark — node ${process.version}, V8 ${process.versions.v8}, ${os.cpus()[0]?.model ?? "?"}`,
    );
    console.log(
      `best of ${REPS} interleaved runs after 2 warm-up runs, process CPU time; native = gcc -O2, wasm = clang --target=wasm32 -O2`,
    );
    console.log("");
    const native = runNative(exe);
    const variants = [
      await variant(wasm, cacheDir, "instrumented"),
      await variant(wasm, cacheDir, "uninstrumented"),
      await variant(wasm, cacheDir, "clang-only"),
    ];
    const ncwRatios: number[] = [];
    const instrRatios: number[] = [];
    console.log(
      `${pad("kernel", 10)}${lpad("native ms", 11)}${lpad("NCW ms", 10)}${lpad("NCW/native", 12)}${lpad("uninstr ms", 12)}${lpad("instr/uninstr", 15)}${lpad("clang-only ms", 15)}`,
    );
    for (const k of KERNELS) {
      const nat = native.get(k);
      if (nat === undefined) throw new Error(`native run lacks ${k}`);
      const best = new Map<Variant, number>();
      for (const v of variants) {
        for (let w = 0; w < 2; w++) v.call(k);
      }
      for (let r = 0; r < REPS; r++) {
        for (const v of variants) {
          const { ms, sum } = timeOnce(() => v.call(k));
          if (BigInt.asUintN(64, sum).toString() !== nat.checksum) {
            throw new Error(
              `${k} (${v.variant}): checksum ${BigInt.asUintN(64, sum)} != native ${nat.checksum}`,
            );
          }
          best.set(v.variant, Math.min(best.get(v.variant) ?? Number.POSITIVE_INFINITY, ms));
        }
      }
      const nativeMs = nat.ns / 1e6;
      const ncw = best.get("instrumented") as number;
      const un = best.get("uninstrumented") as number;
      const raw = best.get("clang-only") as number;
      ncwRatios.push(ncw / nativeMs);
      instrRatios.push(ncw / un);
      console.log(
        `${pad(k, 10)}${lpad(nativeMs.toFixed(1), 11)}${lpad(ncw.toFixed(1), 10)}${lpad(`${(ncw / nativeMs).toFixed(2)}x`, 12)}${lpad(un.toFixed(1), 12)}${lpad(`${(ncw / un).toFixed(3)}x`, 15)}${lpad(raw.toFixed(1), 15)}`,
      );
    }
    const g1 = geomean(ncwRatios);
    const g2 = geomean(instrRatios);
    console.log(
      `${pad("geomean", 10)}${lpad("", 21)}${lpad(`${g1.toFixed(2)}x`, 12)}${lpad("", 12)}${lpad(`${g2.toFixed(3)}x`, 15)}`,
    );
    console.log(
      `targets: NCW/native <= 1.5x: ${g1 <= 1.5 ? "met" : "NOT met"}; instrumentation <= 5%: ${g2 <= 1.05 ? "met" : "NOT met"} (${((g2 - 1) * 100).toFixed(1)}%)`,
    );

    // AOT time for a large module, cold (empty cache) and cached (NCW_BENCH_AOT_FUNCS=0 skips it).
    console.log("");
    const count = Number(process.env.NCW_BENCH_AOT_FUNCS ?? 60000);
    if (count <= 0) return;
    const big = await wat(largeModuleText(count));
    const bigFile = path.join(tmp, "big.wasm");
    writeFileSync(bigFile, big);
    const bigCache = path.join(tmp, "big-cache");
    const t0 = performance.now();
    const cold = await aotCompile(bigFile, { cacheDir: bigCache });
    const coldMs = performance.now() - t0;
    const t1 = performance.now();
    const warm = await aotCompile(bigFile, { cacheDir: bigCache });
    const warmMs = performance.now() - t1;
    if (!warm.cached) throw new Error("second AOT of the large module did not hit the cache");
    const mb = (n: number): string => (n / 1048576).toFixed(1);
    console.log(
      `AOT of a ${mb(big.length)} MB module (${count} functions, ${cold.report.loopPolls} loop polls): cold ${coldMs.toFixed(0)} ms, cached ${warmMs.toFixed(0)} ms (cached/cold ${(warmMs / coldMs).toFixed(3)})`,
    );
    console.log(
      `  cold steps: ${cold.steps.map((s) => `${s.step} ${s.ms.toFixed(0)}`).join(", ")} (ms)`,
    );
    console.log(
      `  cached steps: ${warm.steps.map((s) => `${s.step} ${s.ms.toFixed(0)}`).join(", ")} (ms)`,
    );
    const v8t0 = performance.now();
    new WebAssembly.Module(big);
    const v8Ms = performance.now() - v8t0;
    console.log(
      `  anchor: V8 alone compiles the uninstrumented module in ${v8Ms.toFixed(0)} ms (cached/anchor ${(warmMs / v8Ms).toFixed(2)}, cold/anchor ${(coldMs / v8Ms).toFixed(0)})`,
    );
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

await main();
