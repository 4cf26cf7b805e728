// Benchmark: NCW's user-space Btrfs (services/fs/btrfs) against the host filesystem doing the same
// work in the same run (issue 5's figures): sequential write and read of 256 MiB, creating 10,000
// small files, and a snapshot of that 10,000-file tree (host anchor: copying the tree).
// Reads, both sides into one reused 8 MiB buffer (read(2) style), three ways:
// - warm: the host file in the host's page cache; NCW's data in its data cache (datacache.ts), which
//   the write filled, as the kernel's page cache holds what was just written;
// - verified: NCW's data cache emptied, so every sector comes from the image (in the host's page
//   cache) and its crc32c is verified; same host anchor;
// - cold: NCW's cache emptied and the image's and host file's pages dropped with
//   posix_fadvise(DONTNEED) (Linux only).
// Run: npx tsc && node dist/bench/btrfs.js [MiB] [files]

import * as fs from "node:fs";
import os from "node:os";
import path from "node:path";
import koffi from "koffi";
import { crc32cBackend } from "../services/fs/btrfs/format/crc32c.js";
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
function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function line(name: string, ours: number, host: number, unit: "MB/s" | "ms" | "files/s"): void {
  const better = unit === "ms" ? host / ours : ours / host;
  console.log(
    `${name.padEnd(40)} ncw ${ours.toFixed(unit === "ms" ? 1 : 0).padStart(9)} ${unit.padEnd(7)} host ${host.toFixed(unit === "ms" ? 1 : 0).padStart(9)} ${unit.padEnd(7)} ratio ${better.toFixed(2)}x`,
  );
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ncw-bench-btrfs-"));
try {
  const data = new Uint8Array(CHUNK);
  for (let i = 0; i < data.length; i++) data[i] = (i * 2654435761) >>> 24;
  const bytes = MIB * 1024 * 1024;

  // ---- sequential write (both end with their data durable: commit / fsync). The disk's flush
  // time swings both sides by 2-5x from run to run, so each side runs WRITE_RUNS times,
  // alternating, and the medians are compared. The last NCW file stays for the reads.
  const img = path.join(dir, "bench.img");
  const f = BtrfsFs.create(img, BigInt(Math.max(1024, MIB * 3 + 512)) << 20n);
  const hostFile = path.join(dir, "big.bin");
  const WRITE_RUNS = 3;
  const oursWs: number[] = [];
  const hostWs: number[] = [];
  let file = f.create(f.top(), "big.bin", "file");
  for (let run = 0; run < WRITE_RUNS; run++) {
    if (run > 0) {
      f.unlink(f.top(), "big.bin");
      f.commit();
      file = f.create(f.top(), "big.bin", "file");
      fs.rmSync(hostFile);
    }
    let t = now();
    for (let off = 0; off < bytes; off += CHUNK) await f.write(file, BigInt(off), data);
    f.commit();
    oursWs.push(bytes / 1e6 / ((now() - t) / 1000));
    t = now();
    const fd = fs.openSync(hostFile, "w");
    for (let off = 0; off < bytes; off += CHUNK) fs.writeSync(fd, data, 0, CHUNK, off);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    hostWs.push(bytes / 1e6 / ((now() - t) / 1000));
  }
  const oursW = median(oursWs);
  const hostW = median(hostWs);
  line(`sequential write ${MIB} MiB (median of ${WRITE_RUNS})`, oursW, hostW, "MB/s");

  // ---- sequential read: warm (data cache), verified (from the image), cold (nothing cached)
  const buf = new Uint8Array(CHUNK);
  const readOurs = async () => {
    const r = f.reader();
    const t = now();
    for (let off = 0; off < bytes; off += CHUNK) await r.readInto(file, BigInt(off), buf);
    return bytes / 1e6 / ((now() - t) / 1000);
  };
  const readHost = () => {
    const t = now();
    const rfd = fs.openSync(hostFile, "r");
    for (let off = 0; off < bytes; off += CHUNK) fs.readSync(rfd, buf, 0, CHUNK, off);
    fs.closeSync(rfd);
    return bytes / 1e6 / ((now() - t) / 1000);
  };
  const cache = f.engine.dataCache;
  console.log(
    `reads: data cache ${(cache.capacity / 2 ** 20).toFixed(0)} MiB (NCW_BTRFS_CACHE_MIB), crc32c ${crc32cBackend()} (NCW_CRC32C)`,
  );
  const hostR = readHost();
  const oursR = await readOurs();
  line(`sequential read ${MIB} MiB (warm)`, oursR, hostR, "MB/s");
  const { hits, misses } = cache.stats();
  console.log(`  data cache: ${hits} reads answered, ${misses} went to the image`);
  cache.clear();
  const oursV = await readOurs();
  const hostV = readHost();
  cache.clear();
  line(`sequential read ${MIB} MiB (verified)`, oursV, hostV, "MB/s");
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
  let t0 = now();
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
    `sequential target: at least 0.5x the host — write ${(oursW / hostW).toFixed(2)}x, read warm ${(oursR / hostR).toFixed(2)}x, verified ${(oursV / hostV).toFixed(2)}x${cold}`,
  );
  f.close();
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
