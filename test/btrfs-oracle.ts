// The real-Btrfs oracle for NCW's Btrfs tests: btrfs-progs (mkfs.btrfs, btrfs check, dump-tree)
// and, where the machine allows, the Linux kernel through loop mounts. In CI a missing tool fails.

import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import koffi from "koffi";
import type { FileExtentItem } from "../services/fs/btrfs/format/items.js";

function which(cmd: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${cmd}`], { stdio: "ignore" }).status === 0;
}

/** Why the btrfs-progs oracle cannot run here, or undefined when it can. */
export function btrfsProgsMissing(): string | undefined {
  if (process.platform !== "linux") return "btrfs-progs runs on Linux only";
  for (const t of ["mkfs.btrfs", "btrfs"])
    if (!which(t)) return `${t} is not installed (apt install btrfs-progs)`;
  return undefined;
}

let loopReason: string | undefined | null = null;
/** Why kernel loop mounts of Btrfs cannot be used here, or undefined when they can. */
export function loopMountMissing(): string | undefined {
  if (loopReason !== null) return loopReason;
  loopReason = probeLoop();
  return loopReason;
}
function probeLoop(): string | undefined {
  const progs = btrfsProgsMissing();
  if (progs) return progs;
  if (process.getuid?.() !== 0) return "loop mounts need root";
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ncw-loop-probe-"));
  const img = path.join(dir, "probe.img");
  const mnt = path.join(dir, "mnt");
  try {
    fs.mkdirSync(mnt);
    fs.writeFileSync(img, "");
    fs.truncateSync(img, 128 << 20);
    execFileSync("mkfs.btrfs", ["-q", img], { stdio: "pipe" });
    const r = spawnSync("mount", ["-o", "loop", img, mnt], { encoding: "utf8" });
    if (r.status !== 0) return `mount -o loop fails here: ${(r.stderr || r.stdout).trim()}`;
    spawnSync("umount", [mnt]);
    return undefined;
  } catch (e) {
    return `loop mount probe failed: ${(e as Error).message}`;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * For `describe.skipIf`/`it.skipIf`: returns true (skip) with the reason logged, except in CI where a
 * missing prerequisite throws so the suite fails.
 */
export function skipUnless(reason: string | undefined): boolean {
  if (reason === undefined) return false;
  if (process.env.CI) throw new Error(`required in CI but unavailable: ${reason}`);
  console.warn(`skipping: ${reason}`);
  return true;
}

/** The temporary folders made by tempDir in this test process, removed when it exits. */
const made: string[] = [];
process.on("exit", () => {
  for (const d of made) {
    try {
      fs.rmSync(d, { recursive: true, force: true });
    } catch {
      // still mounted, or already gone: the host's temporary folder keeps it
    }
  }
});

/** A new temporary folder, removed with everything in it when the test process exits. */
export function tempDir(prefix = "ncw-btrfs-"): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  made.push(d);
  return d;
}

/** Runs mkfs.btrfs (btrfs-progs defaults unless `args` says otherwise) on a new sparse file. */
export function mkfsBtrfs(img: string, sizeBytes: number, args: string[] = []): void {
  fs.writeFileSync(img, "");
  fs.truncateSync(img, sizeBytes);
  execFileSync("mkfs.btrfs", ["-q", "-f", ...args, img], { stdio: "pipe" });
}

export interface CheckResult {
  ok: boolean;
  output: string;
}
/** `btrfs check --readonly --check-data-csum`. */
export function btrfsCheck(img: string): CheckResult {
  const r = spawnSync("btrfs", ["check", "--readonly", "--check-data-csum", img], {
    encoding: "utf8",
  });
  return { ok: r.status === 0, output: `${r.stdout}${r.stderr}` };
}

/**
 * Throws with btrfs check's output unless it passes and reports no error or warning
 * (`btrfs check --readonly --check-data-csum`, the oracle).
 */
export function expectCheckClean(img: string): void {
  const r = btrfsCheck(img);
  if (!r.ok || /error|warning|wrong|mismatch/i.test(r.output.replace("no error found", ""))) {
    throw new Error(`btrfs check failed on ${img}:\n${r.output}`);
  }
}

/** A new 256 MiB image made by mkfs.btrfs (its defaults unless `args` says otherwise) in a temp dir. */
export function freshMkfsImage(args: string[] = [], name = "t.img"): string {
  const img = path.join(tempDir(), name);
  mkfsBtrfs(img, 256 << 20, args);
  return img;
}

/** Byte-for-byte equality of two buffers. */
/** A file extent that has its data on disk (not inline): tests that look at extents' addresses. */
export function onDisk(item: FileExtentItem): Extract<FileExtentItem, { diskBytenr: bigint }> {
  if (!("diskBytenr" in item)) throw new Error("expected an extent on disk, got an inline one");
  return item;
}

export function sameContent(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(
    Buffer.from(b.buffer, b.byteOffset, b.byteLength),
  );
}

export function dumpTree(img: string, args: string[] = []): string {
  return execFileSync("btrfs", ["inspect-internal", "dump-tree", ...args, img], {
    encoding: "utf8",
    maxBuffer: 256 << 20,
  });
}

export function dumpSuper(img: string): string {
  return execFileSync("btrfs", ["inspect-internal", "dump-super", "-f", img], { encoding: "utf8" });
}

/** Mounts `img` with the kernel (loop), runs `fn` on the mount point, then unmounts. */
export function withLoopMount<T>(img: string, fn: (mnt: string) => T, opts: string[] = []): T {
  const mnt = fs.mkdtempSync(path.join(os.tmpdir(), "ncw-mnt-"));
  execFileSync("mount", ["-o", ["loop", ...opts].join(","), img, mnt], { stdio: "pipe" });
  try {
    return fn(mnt);
  } finally {
    execFileSync("umount", [mnt], { stdio: "pipe" });
    fs.rmdirSync(mnt);
  }
}

/** setxattr(2) through koffi (no attr/python tools needed on the test machine). Linux only. */
export function setXattr(file: string, name: string, value: Uint8Array): void {
  const libc = koffi.load("libc.so.6");
  const setxattr = libc.func(
    "int setxattr(const char *path, const char *name, const void *value, size_t size, int flags)",
  );
  const rc = setxattr(file, name, Buffer.from(value), value.length, 0) as number;
  if (rc !== 0) throw new Error(`setxattr(${file}, ${name}) failed`);
}

/**
 * NCW_BTRFS_LONG=1 runs the randomized btrfs tests (crash, property, fuzz) with many more rounds and
 * seeds than the default CI run: `NCW_BTRFS_LONG=1 npx vitest run services/fs/btrfs`.
 */
export const LONG_TESTS = process.env.NCW_BTRFS_LONG === "1";
/** `normal` in default runs, `long` with NCW_BTRFS_LONG=1. */
export const scaled = (normal: number, long: number): number => (LONG_TESTS ? long : normal);
/** A test timeout for the long mode (ms), undefined (the config's) otherwise. */
export const longTimeout = (ms: number): number | undefined => (LONG_TESTS ? ms : undefined);
