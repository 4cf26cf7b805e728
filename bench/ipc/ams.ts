// AMS benchmark (issue 10, "Figures"; bench/README.md "AMS"): the time from a store in one NightOS
// process to the other process seeing it, through an AMS mapped in both WebAssembly memories (docs/ipc.md
// "Shared memory"), vs the same on a plain host shared mapping (MAP_SHARED | MAP_ANONYMOUS) between a
// host process and its fork. Both sides ping-pong a counter: A stores i, B spins until it loads i and
// stores i back on another cache line, A spins until it loads it; one way = a round trip / 2.
// Run: npm run bench:ams

import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { program } from "../../test/kernel-helpers.js";
import { benchEnv, buildC, getPidMarkers, median, row, runTraced } from "../common.js";

const ROUNDS = Number(process.env.NCW_BENCH_ROUNDS ?? 5);
const TRIPS = Number(process.env.NCW_BENCH_AMS_TRIPS ?? 500_000);
const dir = mkdtempSync(path.join(os.tmpdir(), "ncw-amsbench-"));
const env = benchEnv(path.join(dir, "home"));

const ANCHOR_C = `#define _GNU_SOURCE
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
/* ams-anchor <trips>: one-way store-to-load latency (ns) on a MAP_SHARED mapping between two processes. */
int main(int argc, char **argv) {
  long n = atol(argv[1]);
  _Atomic int *w = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  _Atomic int *ping = w, *pong = w + 16;
  pid_t c = fork();
  if (c == 0) {
    for (int i = 1; i <= n; i++) {
      while (atomic_load_explicit(ping, memory_order_acquire) != i) {}
      atomic_store_explicit(pong, i, memory_order_release);
    }
    _exit(0);
  }
  struct timespec a, b;
  clock_gettime(CLOCK_MONOTONIC, &a);
  for (int i = 1; i <= n; i++) {
    atomic_store_explicit(ping, i, memory_order_release);
    while (atomic_load_explicit(pong, memory_order_acquire) != i) {}
  }
  clock_gettime(CLOCK_MONOTONIC, &b);
  waitpid(c, 0, 0);
  printf("%.3f\\n", ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / (2.0 * n));
  return 0;
}
`;

/** Parent: VIRT_MEM_AMS at 0x20000, fork, share it (read-write) with the child, ping-pong between markers. */
function amsProgram(trips: number): string {
  const S = 0x20000;
  return program(
    `(local $child i64) (local $ams i64) (local $base i32) (local $i i32) (local $s i32)
    (drop (call $s64_64 (i32.const 0x40) (i64.const ${S}) (i64.const 0x10000)))
    (local.set $ams (call $r64 (i32.const 0)))
    (call $q (i32.const 1) (i64.const 0)) (call $b (i32.const 0) (i32.const 0x50))
    (call $check (i32.const 50) (call $fork (i32.const 0x1000) (i32.const 9) (i32.const 0x2000)) (i32.const 0))
    (local.set $child (call $r64 (i32.const 0)))
    (if (i32.eq (call $r8 (i32.const 8)) (i32.const 1)) (then
      ;; the child: wait until the AMS is shared with it, find where, answer each ping
      (loop $w
        (local.set $s (call $s64 (i32.const 0x43) (local.get $ams)))
        (if (i32.ne (local.get $s) (i32.const 0)) (then (drop (call $s64_16 (i32.const 0x51) (i64.const 0) (i32.const 1))) (br $w))))
      (local.set $base (i32.wrap_i64 (call $r64 (i32.const 17))))
      (i32.atomic.store offset=128 (local.get $base) (i32.const 1))
      (local.set $i (i32.const 1))
      (loop $l
        (loop $spin (br_if $spin (i32.ne (i32.atomic.load (local.get $base)) (local.get $i))))
        (i32.atomic.store offset=64 (local.get $base) (local.get $i))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $l (i32.le_u (local.get $i) (i32.const ${trips}))))
      (call $exit (i64.const 0))))
    ;; share until the child is there (SHARE_AMS needs a live target), notification skipped
    (call $q (i32.const 1) (local.get $child)) (call $q (i32.const 9) (local.get $ams)) (call $h (i32.const 17) (i32.const 0))
    (call $b (i32.const 19) (i32.const 1)) (call $b (i32.const 20) (i32.const 6))
    (call $check (i32.const 51) (call $call (i32.const 0x42) (i32.const 21)) (i32.const 0))
    (loop $ready (br_if $ready (i32.eqz (i32.atomic.load (i32.const ${S + 128})))))
    (drop (call $s0 (i32.const 0x53)))
    (local.set $i (i32.const 1))
    (loop $l
      (i32.atomic.store (i32.const ${S}) (local.get $i))
      (loop $spin (br_if $spin (i32.ne (i32.atomic.load (i32.const ${S + 64})) (local.get $i))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.le_u (local.get $i) (i32.const ${trips}))))
    (drop (call $s0 (i32.const 0x53)))
    (drop (call $s64_16 (i32.const 0x51) (local.get $child) (i32.const 0)))
    (call $exit (i64.const 0))`,
  )
    .replace("2 64 shared", "8 64 shared")
    .replace(
      "(memory",
      '(import "nightos" "syscall_fork" (func $fork (param i32 i32 i32) (result i32)))\n  (memory',
    );
}

async function main(): Promise<void> {
  console.log(
    `AMS store -> load, one way (${TRIPS} round trips, median of ${ROUNDS} runs each side)`,
  );
  console.log(
    `load average: ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(" ")}`,
  );
  const anchor = buildC(dir, "ams-anchor", ANCHOR_C);
  const host: number[] = [];
  for (let i = 0; i < ROUNDS; i++)
    host.push(Number(execFileSync(anchor, [String(TRIPS)], { encoding: "utf8" }).trim()));
  const wat = path.join(dir, "ams.wat");
  writeFileSync(wat, amsProgram(TRIPS));
  const ncw: number[] = [];
  for (let i = 0; i < ROUNDS + 1; i++) {
    const r = await runTraced(wat, env);
    if (r.status !== 0)
      throw new Error(`ncw run failed (${r.status}):\n${r.lines.map((l) => l.line).join("\n")}`);
    // The first run fills the AOT cache: not counted.
    if (i === 0) continue;
    const marks = [...getPidMarkers(r.lines).values()].find((m) => m.length === 2);
    if (marks === undefined) throw new Error("no pair of GET_PID markers in the trace");
    ncw.push((((marks[1] ?? 0) - (marks[0] ?? 0)) * 1e6) / (2 * TRIPS));
  }
  row(
    "AMS store -> load (NightOS -> NightOS)",
    median(ncw),
    "ns",
    "MAP_SHARED store -> load (C, fork)",
    median(host),
    { target: "<= 1.2x" },
  );
  console.log(
    `  runs: ncw ${ncw.map((v) => v.toFixed(0)).join(" ")} ns; host ${host.map((v) => v.toFixed(0)).join(" ")} ns`,
  );
  rmSync(dir, { recursive: true, force: true });
}

await main();
