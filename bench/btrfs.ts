// Benchmark: NCW's user-space Btrfs (services/fs/btrfs) against the host filesystem doing the same
// work in the same run (issue 5's figures): sequential write and read of 256 MiB, creating 10,000
// small files, and a snapshot of that 10,000-file tree (host anchor: copying the tree).
// Run: npx tsc && node dist/bench/btrfs.js [MiB] [files]

import * as fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { BtrfsFs, createSubvolume, snapshot } from "../services/fs/btrfs/fs.js";

const MIB = Number(process.argv[2] ?? 256);
const FILES = Number(process.argv[3] ?? 10_000);
const CHUNK = 8 << 20;

const now = () => performance.now();
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

  // ---- sequential read (checksums verified on our side)
  const r = f.reader();
  t0 = now();
  for (let off = 0; off < bytes; off += CHUNK) await r.read(file, BigInt(off), CHUNK);
  const oursR = bytes / 1e6 / ((now() - t0) / 1000);
  const buf = new Uint8Array(CHUNK);
  t0 = now();
  const rfd = fs.openSync(hostFile, "r");
  for (let off = 0; off < bytes; off += CHUNK) fs.readSync(rfd, buf, 0, CHUNK, off);
  fs.closeSync(rfd);
  const hostR = bytes / 1e6 / ((now() - t0) / 1000);
  line(`sequential read ${MIB} MiB`, oursR, hostR, "MB/s");
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
    `sequential target: at least 0.5x the host — write ${(oursW / hostW).toFixed(2)}x, read ${(oursR / hostR).toFixed(2)}x`,
  );
  f.close();
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
