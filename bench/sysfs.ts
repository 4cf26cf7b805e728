// sys::fs benchmark, IN-PROCESS (bench/README.md "sys::fs"): the service's own cost, without an app's
// runner round trips — the calls enter through the service host as the kernel hands them over, on a
// fresh Btrfs image; the anchor is Node's fs doing the same work on the host filesystem in the same
// process. A relative figure (what the service and the image cost against the host's filesystem), not
// what an app gets through `ncw run` (each call also crosses the app's socket and, for READ_FILE /
// WRITE_FILE, its runner). Run: npm run bench:sysfs

import * as fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { decodeLayout, encodeLayout } from "../commonassembly/abi/services/fields.js";
import * as T from "../commonassembly/abi/services/fs.js";
import { FS_STRUCTURES } from "../commonassembly/abi/services/fs-structures.js";
import type { MethodDef } from "../commonassembly/abi/services/method.js";
import { BtrfsLayer } from "../services/fs/btrfs/layer.js";
import { FIXED_FSID } from "../services/fs/service/store.js";
import { type ClientMemory, SysFs } from "../services/fs/service/sysfs.js";
import { ServiceHost } from "../services/host/host.js";
import { median, row } from "./common.js";

const FILES = Number(process.env.NCW_BENCH_FILES ?? 1000);
const RUNS = Number(process.env.NCW_BENCH_RUNS ?? 3);
const SIZE = 100;
const APP = 100;
const PID = 10;
const AREA = ["home", "user", "appdata", "bench"];

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ncw-fsbench-"));

/** The client's memory: one buffer, its bytes at address 0x1000. */
const buffer = new Uint8Array(0x10000).fill(0x61);
const memory: ClientMemory = {
  read: async (_pid, address, length) =>
    buffer.slice(Number(address) - 0x1000, Number(address) - 0x1000 + length),
  write: async (_pid, address, bytes) => {
    buffer.set(bytes, Number(address) - 0x1000);
    return true;
  },
};

async function service(commitWindowMs: number, run: number) {
  const layer = BtrfsLayer.create(path.join(dir, `w${commitWindowMs}-${run}.img`), 1n << 30n, {
    metadata: "single",
  });
  const host = new ServiceHost({ checker: () => false, deliver: () => {} });
  const sysfs = new SysFs({
    layer,
    fsid: FIXED_FSID,
    identity: () => ({ user: "user", app: "bench" }),
    memory,
    commitWindowMs,
  });
  host.register(sysfs);
  await host.connect(PID, APP);
  const call = async (m: MethodDef, values: Record<string, unknown>) => {
    const r = await host.call(
      PID,
      APP,
      m.code,
      encodeLayout(m.args, values as never, m.name, FS_STRUCTURES),
    );
    if (!r.ok) throw new Error(`${m.name}: 0x${r.errcode.toString(16)}`);
    return decodeLayout(m.answer, r.answer, m.name, FS_STRUCTURES);
  };
  return { layer, sysfs, call };
}

/** OPEN_FILE (create) + WRITE_FILE (100 bytes) + CLOSE_FILE per file, then everything committed. */
async function ncwCreates(window: number, run: number): Promise<{ ms: number; list: number }> {
  const s = await service(window, run);
  const t0 = performance.now();
  for (let i = 0; i < FILES; i++) {
    const { file } = await s.call(T.OPEN_FILE, {
      fsid: FIXED_FSID,
      target: { variant: 1, fields: { parent: { split: AREA }, filename: `f${i}` } },
      read: 0x02,
      write: 0x01,
    });
    await s.call(T.WRITE_FILE, {
      file,
      offset: 0n,
      length: BigInt(SIZE),
      buffer: { address: 0x1000n, length: BigInt(SIZE) },
      truncate: false,
    });
    await s.call(T.CLOSE_FILE, { file });
  }
  await s.sysfs.commitNow();
  const ms = performance.now() - t0;
  const l0 = performance.now();
  const { items } = await s.call(T.READ_DIRECTORY, {
    fsid: FIXED_FSID,
    path: { split: AREA },
    hidden: false,
  });
  const list = performance.now() - l0;
  if ((items as unknown[]).length !== FILES) throw new Error("READ_DIRECTORY: wrong count");
  await s.layer.close();
  return { ms, list };
}

/** The host: open + write + close per file (fsync per file too, for the commit-per-change anchor). */
function hostCreates(run: number, fsyncEach: boolean): { ms: number; list: number } {
  const d = path.join(dir, `host-${fsyncEach ? "s" : "n"}-${run}`);
  fs.mkdirSync(d);
  const data = buffer.subarray(0, SIZE);
  const t0 = performance.now();
  for (let i = 0; i < FILES; i++) {
    const fd = fs.openSync(path.join(d, `f${i}`), "w");
    fs.writeSync(fd, data);
    if (fsyncEach) fs.fsyncSync(fd);
    fs.closeSync(fd);
  }
  if (!fsyncEach) {
    const dfd = fs.openSync(d, "r");
    fs.fsyncSync(dfd);
    fs.closeSync(dfd);
  }
  const ms = performance.now() - t0;
  const l0 = performance.now();
  const names = fs.readdirSync(d);
  for (const n of names) fs.lstatSync(path.join(d, n));
  const list = performance.now() - l0;
  return { ms, list };
}

async function main(): Promise<void> {
  console.log(
    `bench:sysfs (in-process) — ${FILES} small files of ${SIZE} B, medians of ${RUNS} runs, load ${os.loadavg()[0]?.toFixed(2)}`,
  );
  const grouped: { ms: number; list: number }[] = [];
  const each: { ms: number; list: number }[] = [];
  const hostN: { ms: number; list: number }[] = [];
  const hostS: { ms: number; list: number }[] = [];
  for (let r = 0; r < RUNS; r++) {
    // Interleaved, so a change of the machine's load touches every side.
    grouped.push(await ncwCreates(20, r));
    hostN.push(hostCreates(r, false));
    each.push(await ncwCreates(0, r));
    hostS.push(hostCreates(r, true));
  }
  const m = (xs: { ms: number; list: number }[], k: "ms" | "list") => median(xs.map((x) => x[k]));
  const per = (xs: { ms: number; list: number }[]) => (m(xs, "ms") * 1000) / FILES;
  row(
    "create+write+close, group commits (20 ms)",
    per(grouped),
    "µs/file",
    "host, one fsync at the end",
    per(hostN),
    { target: "3x" },
  );
  row(
    "create+write+close, a commit per change",
    per(each),
    "µs/file",
    "host, fsync per file",
    per(hostS),
  );
  row(
    `READ_DIRECTORY of ${FILES} entries (with metadata)`,
    m(grouped, "list"),
    "ms",
    "host readdir + lstat each",
    m(hostN, "list"),
    { target: "3x" },
  );
}

main()
  .catch((e) => {
    console.error(e);
    process.exitCode = 1;
  })
  .finally(() => fs.rmSync(dir, { recursive: true, force: true }));
