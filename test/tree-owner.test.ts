// One writer of the NightOS tree (issue 9 §3, docs/skyer.md "Writers and readers", docs/btrfs.md
// "The kernel as the image's writer"): with no kernel the CLI's writers open the image themselves;
// while a kernel runs it is the image's only writer and `ncw fs put`, `ncw skyer install`, … ask it.
// Readers see the old or the new content, never a mix; kill -9 of the CLI or of the kernel loses
// nothing committed and leaves an image `ncw fs check` and `btrfs check` accept.

import { type ChildProcess, spawn } from "node:child_process";
import { createHash } from "node:crypto";
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
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { checkImage } from "../services/fs/btrfs/check.js";
import { FileDevice } from "../services/fs/btrfs/device.js";
import { BtrfsLayer } from "../services/fs/btrfs/layer.js";
import { btrfsCheck, btrfsProgsMissing } from "./btrfs-oracle.js";
import { superblockGeneration } from "./helpers/btrfs-image.js";
import { alive, NCW, TestHome, waitFor } from "./kernel-helpers.js";
import { makePackage, ncwAsync } from "./skyer-fixtures.js";

const progs = btrfsProgsMissing();
if (progs !== undefined && process.env.CI) throw new Error(`required in CI: ${progs}`);
if (progs !== undefined) console.warn(`btrfs check part skipped: ${progs}`);

/** An app that waits forever without using the CPU. */
const IDLE_APP = `(module
  (import "nightos" "syscall" (func $sys (param i32 i32 i32) (result i32)))
  (memory (export "memory") 2 64 shared)
  (table (export "__indirect_function_table") 16 funcref)
  (func (export "_start") (drop (memory.atomic.wait32 (i32.const 0) (i32.const 0) (i64.const -1)))))`;

const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function pattern(bytes: number, seed: number): Buffer {
  const b = Buffer.alloc(bytes);
  for (let i = 0; i < bytes; i += 4096) b.writeUInt32LE((i / 4096 + seed * 7919) >>> 0, i);
  return b;
}

const generation = superblockGeneration;

/** What the image's last commit holds at `p`: the content's hash, or null when absent. */
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
    expect(checkImage(dev).errors, `ncw fs check ${when}`).toEqual([]);
  } finally {
    dev.close();
  }
  if (progs === undefined) {
    const r = btrfsCheck(img);
    expect(r.ok, `btrfs check ${when}:\n${r.output}`).toBe(true);
  }
}

let homes: TestHome[] = [];
/** The first home's AOT cache, copied into the next homes so the app is compiled once per file. */
let warmCache: string | undefined;
afterAll(() => {
  if (warmCache !== undefined) rmSync(path.dirname(warmCache), { recursive: true, force: true });
});
afterEach(() => {
  for (const h of homes) h.cleanup();
  homes = [];
});

/** A home with an image (512 MiB) and /x in it, made with no kernel running. */
function newHome(): {
  h: TestHome;
  img: string;
  fs: (...a: string[]) => ReturnType<TestHome["ncw"]>;
} {
  const h = new TestHome({ NCW_IMAGE_SIZE: "512M", NCW_KERNEL_IDLE_MS: "3000" });
  homes.push(h);
  const fs = (...a: string[]) => h.ncw(["fs", ...a]);
  expect(fs("mkfs", "--size", "512M").code).toBe(0);
  expect(fs("mkdir", "/x").code).toBe(0);
  if (warmCache !== undefined) cpSync(warmCache, path.join(h.home, "cache"), { recursive: true });
  return { h, img: path.join(h.home, "nightos.img"), fs };
}

/** Start an app that runs until killed; resolves once the kernel lists it. */
async function startApp(h: TestHome): Promise<ChildProcess> {
  const app = h.spawnRun(IDLE_APP);
  const up = await waitFor(() => /\b100\b.*running/.test(h.ncw(["ps"]).stdout), 30_000, 200);
  expect(up, `the app did not start: ${app.output()}`).toBe(true);
  if (warmCache === undefined) {
    warmCache = path.join(mkdtempSync(path.join(os.tmpdir(), "ncw-tree-cache-")), "cache");
    cpSync(path.join(h.home, "cache"), warmCache, { recursive: true });
  }
  return app;
}

function hostFile(h: TestHome, name: string, data: Uint8Array): string {
  const f = path.join(h.dir, name);
  writeFileSync(f, data);
  return f;
}

const kernelLog = (h: TestHome) => {
  const f = path.join(h.home, "logs", "kernel.log");
  return existsSync(f) ? readFileSync(f, "utf8") : "";
};

function spawnNcw(h: TestHome, args: string[]): ChildProcess & { exited: Promise<number | null> } {
  const c = spawn(process.execPath, [NCW, ...args], { env: h.envFor(), stdio: "ignore" });
  const exited = new Promise<number | null>((r) => c.once("exit", (code) => r(code)));
  return Object.assign(c, { exited });
}

describe("the tree's writer", () => {
  it("with no kernel running, ncw fs put opens the image itself and starts no kernel", () => {
    const { h, fs, img } = newHome();
    const f = h.write("a.txt", "direct\n");
    expect(fs("put", f, "/x/a.txt").code).toBe(0);
    expect(fs("cat", "/x/a.txt").stdout).toBe("direct\n");
    expect(h.kernelPid()).toBeUndefined();
    expect(existsSync(`${img}.lock`)).toBe(false);
  });

  it("while a kernel runs, writers ask it: it holds the image, --image writers get BTRFS_IMAGE_LOCKED", async () => {
    const { h, fs, img } = newHome();
    const app = await startApp(h);
    const f = h.write("a.txt", "through the kernel\n");
    const put = fs("put", f, "/x/a.txt");
    expect(put.code, put.stderr).toBe(0);
    expect(kernelLog(h)).toMatch(/the kernel owns the NightOS tree for writing/);
    expect(readFileSync(`${img}.lock`, "utf8").trim()).toBe(String(h.kernelPid()));
    expect(fs("cat", "/x/a.txt").stdout).toBe("through the kernel\n");
    // A folder (-r), copied by the kernel from the host path.
    mkdirSync(path.join(h.dir, "tree", "sub"), { recursive: true });
    writeFileSync(path.join(h.dir, "tree", "sub", "t.txt"), "in a folder\n");
    const r = fs("put", "-r", path.join(h.dir, "tree"), "/x/tree");
    expect(r.code, r.stderr).toBe(0);
    expect(fs("cat", "/x/tree/sub/t.txt").stdout).toBe("in a folder\n");
    expect(fs("mkdir", "-p", "/x/d/e").code).toBe(0);
    expect(fs("rm", "-r", "/x/d").code).toBe(0);
    const missing = fs("rm", "/x/nothing");
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toMatch(/no such file or folder/);
    // The kernel holds the image: a direct writer is refused, nothing is written twice at once.
    const direct = fs("put", "--image", img, f, "/x/b.txt");
    expect(direct.code).toBe(75);
    expect(direct.stderr).toMatch(/being changed by process/);
    app.kill("SIGKILL");
  });

  it("runs ncw fs put and ncw skyer install at once beside a running app", async () => {
    const { h, fs, img } = newHome();
    const app = await startApp(h);
    const files = [0, 1, 2].map((i) => {
      const data = pattern(3 << 20, i + 10);
      return { host: hostFile(h, `f${i}.bin`, data), sha: sha(data), at: `/x/f${i}` };
    });
    const pkg = await makePackage(h.dir, { aid: "test::together", version: "1.0.0" });
    const env = h.envFor() as Record<string, string>;
    const results = await Promise.all([
      ...files.map((f) => ncwAsync(["fs", "put", f.host, f.at], env)),
      ncwAsync(["skyer", "install", pkg, "--json"], env),
    ]);
    for (const r of results) expect(r.status, r.stderr).toBe(0);
    for (const f of files) expect(await contentAt(img, f.at)).toBe(f.sha);
    const list = h.ncw(["skyer", "list", "--json"]);
    expect(list.stdout).toContain("test::together");
    expect(h.ncw(["ps"]).stdout).toMatch(/\b100\b.*running/);
    expect(fs("check").code).toBe(0);
    app.kill("SIGKILL");
  });

  it("readers see the old file or the whole new one while the kernel writes it", async () => {
    const { h, fs, img } = newHome();
    const oldData = pattern(4 << 20, 1);
    const newData = pattern(40 << 20, 2);
    const oldFile = hostFile(h, "old.bin", oldData);
    const newFile = hostFile(h, "new.bin", newData);
    expect(fs("put", oldFile, "/x/f").code).toBe(0);
    const app = await startApp(h);
    const put = spawnNcw(h, ["fs", "put", newFile, "/x/f"]);
    let done = false;
    void put.exited.then(() => {
      done = true;
    });
    const seen = new Set<string | null>();
    while (!done) {
      seen.add(await contentAt(img, "/x/f"));
      await sleep(5);
    }
    expect(await put.exited).toBe(0);
    seen.add(await contentAt(img, "/x/f"));
    for (const s of seen) expect([sha(oldData), sha(newData)]).toContain(s);
    expect(seen.has(sha(newData))).toBe(true);
    app.kill("SIGKILL");
  });

  it("kill -9 of the CLI mid-put: the kernel finishes the put it started, whole", async () => {
    const { h, fs, img } = newHome();
    const oldData = pattern(4 << 20, 3);
    const newData = pattern(40 << 20, 4);
    expect(fs("put", hostFile(h, "old.bin", oldData), "/x/f").code).toBe(0);
    const app = await startApp(h);
    const g0 = generation(img);
    const put = spawnNcw(h, ["fs", "put", hostFile(h, "new.bin", newData), "/x/f"]);
    // Killed once the kernel has committed part of the new content.
    expect(await waitFor(() => generation(img) > g0, 30_000, 1)).toBe(true);
    put.kill("SIGKILL");
    await put.exited;
    expect([sha(oldData), sha(newData)]).toContain(await contentAt(img, "/x/f"));
    // The kernel runs its requests one after another: one answered after the put's is after it.
    expect(fs("mkdir", "/x/after").code).toBe(0);
    expect(await contentAt(img, "/x/f")).toBe(sha(newData));
    app.kill("SIGKILL");
  });

  it("kill -9 of the kernel mid-put: the old file stays, committed data is kept, the image checks clean", async () => {
    const { h, fs, img } = newHome();
    const oldData = pattern(4 << 20, 5);
    const newData = pattern(40 << 20, 6);
    expect(fs("put", hostFile(h, "old.bin", oldData), "/x/f").code).toBe(0);
    const app = await startApp(h);
    // Committed through the kernel before the kill: must survive it.
    const kept = h.write("kept.txt", "acknowledged\n");
    expect(fs("put", kept, "/x/kept.txt").code).toBe(0);
    const kpid = h.kernelPid();
    expect(kpid).toBeGreaterThan(0);
    const g0 = generation(img);
    const put = spawnNcw(h, ["fs", "put", hostFile(h, "new.bin", newData), "/x/f"]);
    expect(await waitFor(() => generation(img) > g0, 30_000, 1)).toBe(true);
    process.kill(kpid!, "SIGKILL");
    expect(await put.exited).not.toBe(0);
    // The app's `ncw run` started the kernel: it sees it gone, reaps it and exits.
    await new Promise((r) => (app.exitCode !== null ? r(null) : app.once("exit", r)));
    expect(await waitFor(() => !alive(kpid!), 10_000)).toBe(true);
    // Its PID file stays behind: removed, so that cleanup signals no process that reused the PID.
    rmSync(path.join(h.home, "run", "kernel.pid"), { force: true });
    expect(await contentAt(img, "/x/f")).toBe(sha(oldData));
    expect(fs("cat", "/x/kept.txt").stdout).toBe("acknowledged\n");
    expectClean(img, "after the kernel was killed");
    // No kernel now: the next writer opens the image itself (the dead kernel's lock is taken over).
    expect(fs("put", h.write("new2.txt", "next\n"), "/x/next.txt").code).toBe(0);
    expect(fs("cat", "/x/next.txt").stdout).toBe("next\n");
    expectClean(img, "after the next put");
  });

  it("kill -9 of ncw skyer install mid-way through the kernel: the next command recovers, the image checks clean", async () => {
    const { h, fs, img } = newHome();
    const app = await startApp(h);
    const files: Record<string, string> = {};
    for (let i = 0; i < 120; i++) files[`data/f${i}.txt`] = `file ${i}\n`.repeat(50);
    const pkg = await makePackage(h.dir, { aid: "test::killed", version: "1.0.0", files });
    const g0 = generation(img);
    const install = spawnNcw(h, ["skyer", "install", pkg]);
    // Several of its changes are committed (each tree request is), the install is not finished.
    expect(await waitFor(() => generation(img) > g0 + 5n, 30_000, 1)).toBe(true);
    install.kill("SIGKILL");
    await install.exited;
    const list = h.ncw(["skyer", "list", "--json"]);
    expect(list.code, list.stderr).toBe(0);
    const again = h.ncw(["skyer", "install", pkg, "--json"]);
    expect(again.code, again.stderr).toBe(0);
    expect(h.ncw(["skyer", "list", "--json"]).stdout).toContain("test::killed");
    expect(fs("check").code).toBe(0);
    app.kill("SIGKILL");
  });
});
