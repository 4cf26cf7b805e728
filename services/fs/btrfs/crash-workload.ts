// A deterministic stream of commits for the engine's crash tests: step k adds, removes, snapshots
// and deletes snapshots in a known way, so the state after any number of commits can be computed.
// Run as a program (`node dist/services/fs/btrfs/crash-workload.js <image> <gen0>`) it applies steps
// until killed; crash.test.ts kills it with SIGKILL and checks the image holds the last commit.

import { type BlockDevice, FileDevice } from "./device.js";
import { openEngine } from "./engine.js";
import { FS_TREE_OBJECTID } from "./format/key.js";
import { createSnapshot, deleteSubvolume } from "./subvol.js";
import type { Transaction } from "./transaction.js";
import { addFile, removeFile } from "./tree/testing.js";

/** The subvolume the workload writes into (created before the first step). */
export const DATA_SUBVOL = 256n;
const DIR = 256n;
const FILES_PER_STEP = 30;

export function fileName(k: number, j: number): string {
  return `k${k}_${j}`;
}

function inodeOf(k: number, j: number): bigint {
  return 1000n + BigInt(k) * 100n + BigInt(j);
}

export function fileContent(k: number, j: number): Uint8Array {
  const len = (k * 7349 + j * 3163) % 20000;
  const b = new Uint8Array(len);
  for (let i = 0; i < len; i++) b[i] = (k * 13 + j * 7 + i) & 0xff;
  return b;
}

/** Files present in the data subvolume after `k` steps. */
export function filesAfter(k: number): Set<string> {
  const s = new Set<string>();
  for (let i = 1; i <= k; i++) {
    for (let j = 0; j < FILES_PER_STEP; j++) s.add(fileName(i, j));
    if (i - 2 >= 1) for (let j = 1; j < FILES_PER_STEP; j += 2) s.delete(fileName(i - 2, j));
  }
  return s;
}

/** Snapshot steps present after `k` steps (snapshot i is taken at the start of step i). */
export function snapshotsAfter(k: number): number[] {
  const out: number[] = [];
  for (let i = 5; i <= k; i += 5) if (i + 10 > k) out.push(i);
  return out;
}

/** Apply step k (k >= 1) in one transaction. */
export function applyStep(t: Transaction, k: number): void {
  if (k % 5 === 0) {
    createSnapshot(t, DATA_SUBVOL, FS_TREE_OBJECTID, DIR, `snap${k}`);
    if (k - 10 >= 5) deleteSubvolume(t, FS_TREE_OBJECTID, DIR, `snap${k - 10}`);
  }
  for (let j = 0; j < FILES_PER_STEP; j++) {
    const c = fileContent(k, j);
    addFile(t, DATA_SUBVOL, DIR, fileName(k, j), inodeOf(k, j), c.length > 0 ? c : undefined);
  }
  if (k - 2 >= 1) {
    for (let j = 1; j < FILES_PER_STEP; j += 2) {
      removeFile(t, DATA_SUBVOL, DIR, fileName(k - 2, j), inodeOf(k - 2, j));
    }
  }
}

/**
 * A device whose writes take a little time, so that a kill lands inside a commit's write-out
 * (node writes, flushes, superblock copies) as often as between commits.
 */
function slowWrites(dev: BlockDevice): BlockDevice {
  const pause = new Int32Array(new SharedArrayBuffer(4));
  return {
    size: dev.size,
    read: (off, len) => dev.read(off, len),
    write: (off, data) => {
      Atomics.wait(pause, 0, 0, 0.2);
      dev.write(off, data);
    },
    sync: () => dev.sync(),
    close: () => dev.close(),
  };
}

function main(): void {
  const [img, gen0s, maxs] = process.argv.slice(2);
  if (!img || !gen0s) {
    process.stderr.write("usage: crash-workload <image> <gen0> [max-steps]\n");
    process.exit(2);
  }
  const e = openEngine(slowWrites(FileDevice.open(img)));
  const gen0 = BigInt(gen0s);
  const max = maxs ? Number(maxs) : 1_000_000;
  for (let k = Number(e.generation - gen0) + 1; k <= max; k++) {
    const t = e.begin();
    applyStep(t, k);
    t.commit();
    process.stdout.write(`${k}\n`);
  }
  e.close();
}

if (process.argv[1]?.endsWith("crash-workload.js")) main();
