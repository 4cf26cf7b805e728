// Benchmark: NCW's user-space Btrfs (services/fs/btrfs) against the host filesystem doing the same
// work in the same run (issue 5's figures): sequential write and read of 256 MiB, creating 10,000
// small files, and a snapshot of that 10,000-file tree (host anchor: copying the tree).
// Reads have two anchors: warm (the host file in the page cache) and cold (both the host file's and
// the image's pages dropped first with posix_fadvise(DONTNEED), Linux only). NCW caches no file data:
// every read goes to the device and verifies each sector's crc32c.
// Run: npx tsc && node dist/bench/btrfs.js [MiB] [files]

import * as fs from "node:fs";
import os from "node:os";
import path from "node:path";
import koffi from "koffi";
import { BtrfsFs, createSubvolume, snapshot } from "../services/fs/btrfs/fs.js";

const MIB = Number(process.argv[2] ?? 256);
const FILES = Number(process.argv[3] ?? 10_000);
const CHUNK = 8 << 20;

const now = () => performance.now();

/** Drops a file's pages from the page cache (flushes it first); false where that is not possible. */
const dropPages: ((file: string) => boolean) | undefined = (() => {
  if (process.platform !== "linux") return undefined;
  try {
    const libc = koffi.load("libc.so.6");
    const fadvise = libc.func("int posix_fadvise(int fd, int64_t offset, int64_t len, int advice)");
    const POSIX_FADV_DONTNEED = 4;
    return (file: string) => {
      const fd = fs.openSync(file, "r+");
      try {
        fs.fdatasyncSync(fd);
        return (fadvise(fd, 0, 0, POSIX_FADV_DONTNEED) as number) === 0;
      } finally {
        fs.closeSync(fd);
      }
    };
  } catch {
    return undefined;
  }
})();
function line(name: string, ours: number, host: number, unit: "MB/s" | "ms" | "files/s"): void {
  const better = unit === "ms" ? host / ours : ours / host;
  console.log(
    `${name.padEnd(34)} ncw ${ours.toFixed(unit === "ms" ? 1 : 0).padStart(9)} ${unit.padEnd(7)} host ${host.toFixed(unit === "ms" ? 1 : 0).padStart(9)} ${unit.padEnd(7)} ratio ${better.toFixed(2)}x`,
  );
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ncw-bench-btrfs-"));
try {
  const data = new Uint8Array(CHUNK);
  for (let i = 0; i < data.length; i++) data[i] = (i * 2654435761) >>> 24;
  const bytes = MIB * 1024 * 1024;

  // ---- sequential write (both end with their data durable: commit / fsync)
  const img = path.join(dir, "bench.img");
  const f = BtrfsFs.create(img, BigInt(Math.max(1024, MIB * 2 + 512)) << 20n);
  const file = f.create(f.top(), "big.bin", "file");
  let t0 = now();
  for (let off = 0; off < bytes; off += CHUNK) await f.write(file, BigInt(off), data);
  f.commit();
  const oursW = bytes / 1e6 / ((now() - t0) / 1000);
  const hostFile = path.join(dir, "big.bin");
  t0 = now();
  const fd = fs.openSync(hostFile, "w");
  for (let off = 0; off < bytes; off += CHUNK) fs.writeSync(fd, data, 0, CHUNK, off);
  fs.fsyncSync(fd);
  fs.closeSync(fd);
  const hostW = bytes / 1e6 / ((now() - t0) / 1000);
  line(`sequential write ${MIB} MiB`, oursW, hostW, "MB/s");

  // ---- sequential read (checksums verified on our side), warm then cold
  const readOurs = async () => {
    const r = f.reader();
    const t = now();
    for (let off = 0; off < bytes; off += CHUNK) await r.read(file, BigInt(off), CHUNK);
    return bytes / 1e6 / ((now() - t) / 1000);
  };
  const buf = new Uint8Array(CHUNK);
  const readHost = () => {
    const t = now();
    const rfd = fs.openSync(hostFile, "r");
    for (let off = 0; off < bytes; off += CHUNK) fs.readSync(rfd, buf, 0, CHUNK, off);
    fs.closeSync(rfd);
    return bytes / 1e6 / ((now() - t) / 1000);
  };
  console.log("reads: NCW keeps no cache of file data; every read verifies each sector's crc32c");
  await readOurs(); // first pass: brings the image into the page cache like the host file
  const oursR = await readOurs();
  const hostR = readHost();
  line(`sequential read ${MIB} MiB (warm)`, oursR, hostR, "MB/s");
  let cold = "";
  if (dropPages?.(img) && dropPages(hostFile)) {
    const oursCold = await readOurs();
    const hostCold = readHost();
    line(`sequential read ${MIB} MiB (cold)`, oursCold, hostCold, "MB/s");
    cold = `, read cold ${(oursCold / hostCold).toFixed(2)}x`;
  } else {
    console.log("sequential read (cold): not measured (needs Linux posix_fadvise through koffi)");
  }
  f.unlink(f.top(), "big.bin");
  f.commit();
  fs.rmSync(hostFile);

  // ---- 10,000 small files (one commit at the end vs plain host writes)
  const small = new TextEncoder().encode("a small NightOS file\n".repeat(5));
  const sub = createSubvolume(f, f.top(), "tree");
  const top = f.reader().resolve("/tree")!;
  t0 = now();
  let d = top;
  for (let i = 0; i < FILES; i++) {
    if (i % 100 === 0) d = f.create(top, `d${i / 100}`, "dir");
    await f.writeFile(f.create(d, `f${i}`, "file"), small);
  }
  f.commit();
  const oursC = FILES / ((now() - t0) / 1000);
  const hostTree = path.join(dir, "tree");
  fs.mkdirSync(hostTree);
  t0 = now();
  let hd = hostTree;
  for (let i = 0; i < FILES; i++) {
    if (i % 100 === 0) {
      hd = path.join(hostTree, `d${i / 100}`);
      fs.mkdirSync(hd);
    }
    fs.writeFileSync(path.join(hd, `f${i}`), small);
  }
  const hostC = FILES / ((now() - t0) / 1000);
  line(`create ${FILES} small files`, oursC, hostC, "files/s");

  // ---- snapshot of that tree (ours: snapshot + commit; host anchor: copy the tree)
  t0 = now();
  snapshot(f, sub, f.top(), "tree-snap");
  f.commit();
  const oursS = now() - t0;
  t0 = now();
  fs.cpSync(hostTree, path.join(dir, "tree-copy"), { recursive: true });
  const hostS = now() - t0;
  line(`snapshot of ${FILES}-file tree`, oursS, hostS, "ms");
  console.log(
    `snapshot target: under 50 ms — ${oursS < 50 ? "met" : "NOT met"} (${oursS.toFixed(1)} ms)`,
  );
  console.log(
    `sequential target: at least 0.5x the host — write ${(oursW / hostW).toFixed(2)}x, read warm ${(oursR / hostR).toFixed(2)}x${cold}`,
  );
  f.close();
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
