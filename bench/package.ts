// Benchmark: packing and reading NightOS packages (ncw/package) against the host-native anchor (GNU tar +
// zstd CLI + md5sum doing the same work; the read anchor unpacks into tmpfs, in memory, as the reader
// does), each a median of 3 in the same run (bench/README.md "Packages").
// Run: npm run bench:package (or node dist/bench/package.js [MiB])

import { execFileSync, spawnSync } from "node:child_process";
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { packDirectory, readPackageBytes } from "../ncw/package/package.js";
import { median } from "./common.js";

const HELLO = fileURLToPath(new URL("../../examples/hello", import.meta.url));
const totalMiB = Number(process.argv[2] ?? 64);
const FILES = 2000;

function hasCli(name: string): boolean {
  return spawnSync(name, ["--version"], { stdio: "ignore" }).status === 0;
}

/** A package folder: the hello example plus FILES files of compressible, text-like content. */
function makeTree(root: string): number {
  cpSync(HELLO, root, { recursive: true });
  const per = Math.floor((totalMiB * 1024 * 1024) / FILES);
  const words = [
    "night",
    "os",
    "app",
    "kernel",
    "pipe",
    "signal",
    "btrfs",
    "package",
    "zstd",
    "tar",
  ];
  let seed = 12345;
  const rnd = () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed;
  };
  let total = 0;
  for (let i = 0; i < FILES; i++) {
    const dir = path.join(root, "assets", `d${i % 40}`);
    mkdirSync(dir, { recursive: true });
    const parts: string[] = [];
    let len = 0;
    while (len < per) {
      const w = `${words[rnd() % words.length]}${rnd() % 1000} `;
      parts.push(w);
      len += w.length;
    }
    const data = parts.join("");
    writeFileSync(path.join(dir, `f${i}.txt`), data);
    total += data.length;
  }
  return total;
}

function time<T>(f: () => T): [T, number] {
  const t = process.hrtime.bigint();
  const r = f();
  return [r, Number(process.hrtime.bigint() - t) / 1e6];
}

async function timeAsync<T>(f: () => Promise<T>): Promise<[T, number]> {
  const t = process.hrtime.bigint();
  const r = await f();
  return [r, Number(process.hrtime.bigint() - t) / 1e6];
}

function report(what: string, ours: number, anchor: number | undefined, anchorName: string): void {
  const ratio = anchor === undefined ? "n/a" : `${(ours / anchor).toFixed(2)}x`;
  const a = anchor === undefined ? "n/a (missing tool)" : `${anchor.toFixed(0)} ms`;
  console.log(
    `${what.padEnd(34)} ncw ${ours.toFixed(0).padStart(6)} ms | ${anchorName} ${a} | ratio ${ratio}`,
  );
}

async function main(): Promise<void> {
  const tmp = mkdtempSync(path.join(os.tmpdir(), "ncw-bench-pkg-"));
  try {
    const src = path.join(tmp, "src");
    const size = makeTree(src);
    console.log(
      `package folder: ${FILES + 7} files, ${(size / 1024 / 1024).toFixed(1)} MiB (text-like content); medians of 3; load ${os.loadavg()[0]?.toFixed(2)}`,
    );
    const native = hasCli("zstd") && hasCli("tar") && hasCli("md5sum");

    const RUNS = 3;
    const packs: number[] = [];
    let bytes: Uint8Array = new Uint8Array();
    for (let i = 0; i < RUNS; i++) {
      const [b, ms] = await timeAsync(() => packDirectory(src));
      bytes = b;
      packs.push(ms);
    }
    const pkgFile = path.join(tmp, "bench.nap");
    writeFileSync(pkgFile, bytes);
    const packAnchors: number[] = [];
    if (native) {
      for (let i = 0; i < RUNS; i++) {
        rmSync(path.join(src, "hash.md5"), { force: true });
        packAnchors.push(
          time(() =>
            execFileSync("sh", [
              "-c",
              `cd "${src}" && find . -type f ! -name hash.md5 -printf '%P\\0' | sort -z | xargs -0 md5sum > hash.md5 && ` +
                `tar --sort=name -cf - . | zstd -9 -q -f -o "${path.join(tmp, "anchor.tar.zst")}"`,
            ]),
          )[1],
        );
      }
    }
    report(
      "pack (md5 + tar + zstd -9)",
      median(packs),
      native ? median(packAnchors) : undefined,
      "md5sum+tar+zstd -9",
    );
    console.log(`  package size: ${(bytes.length / 1024 / 1024).toFixed(2)} MiB`);

    const reads: number[] = [];
    for (let i = 0; i < RUNS; i++)
      reads.push((await timeAsync(() => readPackageBytes(readFileSync(pkgFile))))[1]);
    const readAnchors: number[] = [];
    // In memory on both sides: the reader keeps every file in memory; the anchor unpacks into tmpfs.
    const shm = existsSync("/dev/shm") ? "/dev/shm" : tmp;
    if (native) {
      for (let i = 0; i < RUNS; i++) {
        const x = mkdtempSync(path.join(shm, "ncw-bench-pkg-"));
        try {
          readAnchors.push(
            time(() =>
              execFileSync("sh", [
                "-c",
                `zstd -dc "${pkgFile}" | tar -xf - -C "${x}" && cd "${x}" && md5sum -c --quiet hash.md5`,
              ]),
            )[1],
          );
        } finally {
          rmSync(x, { recursive: true, force: true });
        }
      }
    }
    report(
      "read + verify (unzstd, tar, md5)",
      median(reads),
      native ? median(readAnchors) : undefined,
      `zstd -d|tar -x into ${shm === "/dev/shm" ? "tmpfs" : "the temp folder"} + md5sum -c`,
    );
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

await main();
