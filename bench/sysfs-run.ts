// sys::fs benchmark THROUGH `ncw run` (bench/README.md "sys::fs through ncw run"): the figures
// as an app gets them. An AssemblyScript app on the SDK (bench/apps/fsbench, sdk/as/fs.ts) is built
// with `ncw build --release`, installed in the bench's own home, and each workload is one fresh
// `ncw run` timed from outside (wall, cpurun); the app's `nop` command (start-up, connection, ENUM_FS)
// is timed in the same runs and subtracted. The anchor is a host C program doing the same work with
// POSIX calls on the host filesystem, a fresh process timed the same way, interleaved run by run.
// Run: npm run bench:sysfs-run  (NCW_BENCH_FILES 1000, NCW_BENCH_MIB 64, NCW_BENCH_RUNS 3)

import { cpSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { benchEnv, buildC, median, processTimer, row, stopKernel } from "./common.js";

const FILES = Number(process.env.NCW_BENCH_FILES ?? 1000);
const MIB = Number(process.env.NCW_BENCH_MIB ?? 64);
const RUNS = Number(process.env.NCW_BENCH_RUNS ?? 3);
/** READ_DIRECTORY alone is short beside a run's start-up: each run lists this many times. */
const REPEAT = Number(process.env.NCW_BENCH_LIST_REPEAT ?? 20);

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const NCW_JS = path.join(ROOT, "dist", "cli", "ncw.js");
const dir = mkdtempSync(path.join(os.tmpdir(), "ncw-fsrun-"));
const home = path.join(dir, "home");
const env = benchEnv(home);
const timer = processTimer(dir);

/** The anchor: the same workloads with POSIX calls. */
const HOST_C = `#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#define MIB (1 << 20)
static void die(const char *what) { perror(what); exit(1); }
int main(int argc, char **argv) {
  const char *cmd = argv[1];
  if (!strcmp(cmd, "create")) {            /* create <dir> <n>: mkdir, then n files of 100 bytes */
    int n = atoi(argv[3]); char name[4096], data[100]; memset(data, 'a', sizeof data);
    if (mkdir(argv[2], 0755)) die("mkdir");
    for (int i = 0; i < n; i++) {
      snprintf(name, sizeof name, "%s/f%d", argv[2], i);
      int fd = open(name, O_CREAT | O_TRUNC | O_WRONLY, 0644);
      if (fd < 0 || write(fd, data, sizeof data) != sizeof data || close(fd)) die("create");
    }
  } else if (!strcmp(cmd, "list")) {       /* list <dir> <repeat> [stat]: readdir, lstat of each with "stat" */
    long n = 0; char name[4096]; struct stat st;
    for (int r = atoi(argv[3]); r > 0; r--) {
      DIR *d = opendir(argv[2]); struct dirent *e;
      if (!d) die("opendir");
      while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        n++;
        if (argc > 4) { snprintf(name, sizeof name, "%s/%s", argv[2], e->d_name); if (lstat(name, &st)) die("lstat"); }
      }
      closedir(d);
    }
    printf("%ld\\n", n);
  } else if (!strcmp(cmd, "bigwrite")) {   /* bigwrite <file> <mib>: 1 MiB writes */
    int mib = atoi(argv[3]); char *b = malloc(MIB); for (int i = 0; i < MIB; i++) b[i] = (char)(i * 7);
    int fd = open(argv[2], O_CREAT | O_TRUNC | O_WRONLY, 0644);
    if (fd < 0) die("open");
    for (int i = 0; i < mib; i++) if (write(fd, b, MIB) != MIB) die("write");
    if (close(fd)) die("close");
  } else if (!strcmp(cmd, "bigread")) {    /* bigread <file>: 1 MiB reads */
    char *b = malloc(MIB); long sum = 0; ssize_t r;
    int fd = open(argv[2], O_RDONLY);
    if (fd < 0) die("open");
    while ((r = read(fd, b, MIB)) > 0) sum += b[7];
    close(fd);
    printf("%ld\\n", sum);
  } else if (strcmp(cmd, "nop")) return 2;
  return 0;
}
`;

function ncw(args: string[]): void {
  const r = timer(process.execPath, [NCW_JS, ...args], env);
  if (r.status !== 0) throw new Error(`ncw ${args.join(" ")} exited with ${r.status}`);
}

/** Wall ms of one fresh `ncw run` of the app's `args`. */
function app(args: string[]): number {
  const r = timer(
    process.execPath,
    [NCW_JS, "run", "--allow", "fs.filesystems.list", "ncwbench::fsbench", ...args],
    env,
  );
  if (r.status !== 0) throw new Error(`ncw run fsbench ${args.join(" ")} exited with ${r.status}`);
  return r.wallMs;
}

function main(): void {
  // Build and install the app in the bench's home (the build copies the SDK into the project).
  const project = path.join(dir, "fsbench");
  cpSync(path.join(ROOT, "bench", "apps", "fsbench"), project, { recursive: true });
  ncw(["build", "--release", project]);
  ncw(["skyer", "install", path.join(project, "build", "fsbench-0.1.0.nap")]);
  const host = buildC(dir, "fshost", HOST_C);
  const hostDir = path.join(dir, "host");
  mkdirSync(hostDir);
  const native = (args: string[]) => {
    const r = timer(host, args);
    if (r.status !== 0) throw new Error(`fshost ${args.join(" ")} exited with ${r.status}`);
    return r.wallMs;
  };
  // Warm-up: starts the kernel and AOT-compiles the program (a user's second run is in that state).
  app(["nop"]);

  const t = {
    nop: [] as number[],
    create: [] as number[],
    list: [] as number[],
    stat: [] as number[],
    write: [] as number[],
    read: [] as number[],
  };
  const h = { ...structuredClone(t) };
  const load = os.loadavg()[0]!;
  for (let run = 0; run < RUNS; run++) {
    // Two baselines a run: the start-up is the noisiest part of a run on a loaded machine.
    t.nop.push(app(["nop"]), app(["nop"]));
    h.nop.push(native(["nop"]), native(["nop"]));
    t.create.push(app(["create", `d${run}`, String(FILES)]));
    h.create.push(native(["create", path.join(hostDir, `d${run}`), String(FILES)]));
    t.list.push(app(["list", `d${run}`, "--repeat", String(REPEAT)]));
    h.list.push(native(["list", path.join(hostDir, `d${run}`), String(REPEAT)]));
    t.stat.push(app(["list", `d${run}`, "--stat"]));
    h.stat.push(native(["list", path.join(hostDir, `d${run}`), "1", "stat"]));
    t.write.push(app(["bigwrite", `big${run}`, String(MIB)]));
    h.write.push(native(["bigwrite", path.join(hostDir, `big${run}`), String(MIB)]));
    t.read.push(app(["bigread", `big${run}`]));
    h.read.push(native(["bigread", path.join(hostDir, `big${run}`)]));
  }
  const base = median(t.nop);
  const hostBase = median(h.nop);
  const net = (xs: number[]) => Math.max(median(xs) - base, 0.001);
  const hostNet = (xs: number[]) => Math.max(median(xs) - hostBase, 0.001);
  console.log(
    `sys::fs through ncw run: ${FILES} files of 100 bytes, ${MIB} MiB file, median of ${RUNS}, load average ${load.toFixed(1)} (${os.cpus().length} CPUs)`,
  );
  console.log(
    `baseline (subtracted): ncw run of the app's nop ${base.toFixed(0)} ms; host C nop ${hostBase.toFixed(2)} ms`,
  );
  row(
    `create+write+close ${FILES} files, per file`,
    (net(t.create) * 1000) / FILES,
    "us",
    "host open+write+close",
    (hostNet(h.create) * 1000) / FILES,
    { target: "≤3x" },
  );
  row(
    `READ_DIRECTORY of ${FILES} entries (of ${REPEAT})`,
    net(t.list) / REPEAT,
    "ms",
    "host readdir",
    hostNet(h.list) / REPEAT,
    {
      target: "≤3x",
    },
  );
  row(
    `READ_DIRECTORY + ITEM_METADATA of each`,
    net(t.stat),
    "ms",
    "host readdir + lstat each",
    hostNet(h.stat),
    { target: "≤3x" },
  );
  row(
    `write ${MIB} MiB (1 MiB WRITE_FILE)`,
    (MIB / net(t.write)) * 1000,
    "MB/s",
    "host write(2) 1 MiB",
    (MIB / hostNet(h.write)) * 1000,
    { higherIsBetter: true, target: "≤2x" },
  );
  row(
    `read ${MIB} MiB (1 MiB READ_FILE)`,
    (MIB / net(t.read)) * 1000,
    "MB/s",
    "host read(2) 1 MiB",
    (MIB / hostNet(h.read)) * 1000,
    { higherIsBetter: true, target: "≤2x" },
  );
  console.log(
    `raw medians (ms, start-up included): ncw create ${median(t.create).toFixed(0)}, list ${median(t.list).toFixed(0)}, stat ${median(t.stat).toFixed(0)}, write ${median(t.write).toFixed(0)}, read ${median(t.read).toFixed(0)}`,
  );
}

try {
  main();
} finally {
  // Stop the bench's kernel (it would otherwise idle for a minute: NCW_KERNEL_IDLE_MS), then remove
  // everything.
  stopKernel(home);
  rmSync(dir, { recursive: true, force: true });
}
