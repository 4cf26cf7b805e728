// `kill -9` sweeps of `ncw fs put` and of image creation (issue 19, docs/btrfs.md "Replacing a
// file" and "Creating images"): a real `ncw` process is SIGKILLed after each commit it makes (put)
// or as soon as it creates a file (mkfs); the image must then hold the old file or the whole new
// one (a new file: whole or absent), never a half-made image, and pass `ncw fs check` and
// `btrfs check`. The next writer removes what a killed put left unnamed (its ORPHAN items).

import { type ChildProcess, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, type FSWatcher, mkdirSync, rmSync, watch, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { checkImage } from "../services/fs/btrfs/check.js";
import { FileDevice } from "../services/fs/btrfs/device.js";
import { ORPHAN_ITEM_KEY, ORPHAN_OBJECTID } from "../services/fs/btrfs/format/key.js";
import { BtrfsFs } from "../services/fs/btrfs/fs.js";
import { BtrfsLayer } from "../services/fs/btrfs/layer.js";
import { btrfsCheck, btrfsProgsMissing, tempDir } from "./btrfs-oracle.js";
import { superblockGeneration } from "./helpers/btrfs-image.js";
import { NCW_JS, ncw } from "./helpers/ncw.js";

const tmp = tempDir("ncw-fs-kill-");
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const progs = btrfsProgsMissing();
if (progs !== undefined && process.env.CI) throw new Error(`required in CI: ${progs}`);
if (progs !== undefined) console.warn(`btrfs check part skipped: ${progs}`);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function start(args: string[], env: NodeJS.ProcessEnv = {}): ChildProcess {
  return spawn(process.execPath, [NCW_JS, ...args], {
    stdio: "ignore",
    env: { ...process.env, ...env },
  });
}

/** Polls `when` every millisecond while `child` runs; SIGKILLs it once true. Whether it was killed. */
async function killWhen(child: ChildProcess, when: () => boolean): Promise<boolean> {
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  let killed = false;
  while (child.exitCode === null && child.signalCode === null) {
    if (when()) {
      killed = child.kill("SIGKILL");
      break;
    }
    await sleep(1);
  }
  await exited;
  return killed;
}

const generation = superblockGeneration;

const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

function pattern(bytes: number, seed: number): Buffer {
  const b = Buffer.alloc(bytes);
  for (let i = 0; i < bytes; i += 4096) b.writeUInt32LE((i / 4096 + seed * 7919) >>> 0, i);
  return b;
}

/** What the image holds at `p` (its last commit): the content's hash, or null when absent. */
async function contentAt(img: string, p: string): Promise<string | null> {
  const l = BtrfsLayer.open(img, { readOnly: true });
  try {
    return (await l.stat(p)) ? sha(await l.readFile(p)) : null;
  } finally {
    await l.close();
  }
}

function expectClean(img: string, when: string): void {
  const dev = FileDevice.open(img, { readOnly: true });
  try {
    const r = checkImage(dev);
    expect(r.errors, `ncw fs check ${when}`).toEqual([]);
  } finally {
    dev.close();
  }
  if (progs === undefined) {
    const r = btrfsCheck(img);
    expect(r.ok, `btrfs check ${when}:\n${r.output}`).toBe(true);
  }
}

function orphanCount(img: string): number {
  const f = BtrfsFs.open(img, { readOnly: true });
  try {
    const k = (offset: bigint) => ({ objectid: ORPHAN_OBJECTID, type: ORPHAN_ITEM_KEY, offset });
    return [...f.trees.items(5n, k(0n), k((1n << 64n) - 1n))].length;
  } finally {
    f.close();
  }
}

describe("kill -9 during ncw fs put", () => {
  it("leaves the old file or the whole new one, and a new file whole or absent", async () => {
    const img = path.join(tmp, "put.img");
    const fsx = (...a: string[]) => ncw(["fs", ...a, "--image", img]);
    expect(fsx("mkfs", "--size", "256M").status).toBe(0);
    const oldData = pattern(4 << 20, 1);
    // Four 8 MiB writes, each after a commit: a put commits every NCW_FS_PUT_COMMIT_MIB (256 MiB by
    // default, docs/btrfs.md "Replacing a file"), set to 8 here so a kill lands between commits of it.
    const newData = pattern(32 << 20, 2);
    const oldFile = path.join(tmp, "old.bin");
    const newFile = path.join(tmp, "new.bin");
    writeFileSync(oldFile, oldData);
    writeFileSync(newFile, newData);
    const OLD = sha(oldData);
    const NEW = sha(newData);
    expect(fsx("put", oldFile, "/f").status).toBe(0);
    /**
     * Runs `ncw fs put newFile dest`, SIGKILLed once it has made `commits` commits. Orphans of an
     * earlier round are removed first (a write open does that), so the put's commits are, in
     * order: its new file, then each 8 MiB written before the next write (the last with the swap).
     */
    const killedPut = async (dest: string, commits: number) => {
      BtrfsFs.open(img).close();
      const g0 = generation(img);
      const killed = await killWhen(
        start(["fs", "put", newFile, dest, "--image", img], { NCW_FS_PUT_COMMIT_MIB: "8" }),
        () => generation(img) >= g0 + BigInt(commits),
      );
      return { killed, now: await contentAt(img, dest), midway: generation(img) < g0 + 5n };
    };
    let keptOld = 0;
    for (const commits of [1, 2, 4]) {
      const r = await killedPut("/f", commits);
      const when = `after a kill ${commits} commit(s) into the put`;
      expect([OLD, NEW], when).toContain(r.now);
      expectClean(img, when);
      if (r.killed && r.midway && r.now === OLD) keptOld++;
      if (r.now === NEW) expect(fsx("put", oldFile, "/f").status).toBe(0);
    }
    // The kills landed after commits of the put that did not finish it.
    expect(keptOld).toBeGreaterThanOrEqual(1);

    // A new file: no name until whole; what the killed put wrote is an orphan the next writer removes.
    const r = await killedPut("/g", 3);
    expect([null, NEW]).toContain(r.now);
    expectClean(img, "after a kill 3 commits into the put of a new file");
    if (r.now === null) {
      expect(orphanCount(img)).toBe(1);
      const used = (): bigint =>
        BigInt((JSON.parse(fsx("info", "--json").stdout) as { bytesUsed: string }).bytesUsed);
      const before = used();
      expect(fsx("mkdir", "/after").status).toBe(0);
      expect(orphanCount(img)).toBe(0);
      expect(used()).toBeLessThan(before - (8n << 20n)); // its committed 16 MiB are free again
      expectClean(img, "after the orphan was removed");
    }
    expect(await contentAt(img, "/f")).toBe(OLD);
  }, 120_000);
});

/**
 * Starts `args`, and SIGKILLs it `delayMs` after a file named `name` or `name.partial` appears in
 * `dir` (inotify through fs.watch, so the kill lands while mkfs writes).
 */
async function killOnCreate(
  args: string[],
  dir: string,
  name: string,
  delayMs: number,
  env?: NodeJS.ProcessEnv,
): Promise<void> {
  let seen = false;
  const w: FSWatcher = watch(dir, (_ev, f) => {
    if (f === name || f === `${name}.partial`) seen = true;
  });
  try {
    const child = spawn(process.execPath, [NCW_JS, ...args], {
      stdio: "ignore",
      env: env ?? process.env,
    });
    let at = 0;
    await killWhen(child, () => {
      if (seen && at === 0) at = Date.now();
      return seen && Date.now() - at >= delayMs;
    });
  } finally {
    w.close();
  }
}

describe("kill -9 while an image is made", () => {
  it("ncw fs mkfs leaves no image or a whole one, and the old one under --force", async () => {
    const dir = path.join(tmp, "mkfs");
    mkdirSync(dir, { recursive: true });
    for (const delay of [0, 2]) {
      const name = `d${delay}.img`;
      const img = path.join(dir, name);
      await killOnCreate(["fs", "mkfs", img, "--size", "256M"], dir, name, delay);
      if (existsSync(img)) expectClean(img, `after mkfs was killed ${delay} ms in`);
      // The next mkfs works (a .partial left behind is overwritten).
      expect(ncw(["fs", "mkfs", img, "--size", "256M", "--force"]).status).toBe(0);
      expectClean(img, "after mkfs ran again");
      expect(existsSync(`${img}.partial`)).toBe(false);
    }
    // --force over an image holding a file: killed, the old image is still there, whole.
    const img = path.join(dir, "old.img");
    writeFileSync(path.join(dir, "x.txt"), "kept");
    expect(ncw(["fs", "mkfs", img, "--size", "128M"]).status).toBe(0);
    expect(ncw(["fs", "put", path.join(dir, "x.txt"), "/x.txt", "--image", img]).status).toBe(0);
    await killOnCreate(["fs", "mkfs", img, "--size", "256M", "--force"], dir, "old.img", 0);
    expectClean(img, "after mkfs --force was killed");
    expect(ncw(["fs", "cat", "/x.txt", "--image", img]).stdout).toBe("kept");
  }, 60_000);

  it("a home whose image was being made when killed works on the next command", async () => {
    const env = { ...process.env, NCW_IMAGE_SIZE: "256M" };
    for (const delay of [0]) {
      const home = path.join(tmp, `home${delay}`);
      mkdirSync(home, { recursive: true });
      await killOnCreate(["--home", home, "skyer", "list"], home, "nightos.img", delay, env);
      const img = path.join(home, "nightos.img");
      if (existsSync(img)) expectClean(img, `after the home's image was killed ${delay} ms in`);
      const again = ncw(["--home", home, "skyer", "list"], { env: { NCW_IMAGE_SIZE: "256M" } });
      expect(again.status, again.stderr).toBe(0);
      expect(existsSync(img)).toBe(true);
      expectClean(img, "after the next command");
    }
  }, 60_000);
});
