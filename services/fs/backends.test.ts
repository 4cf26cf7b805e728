// One conformance suite for every FsLayer backend (memory, hostdir, btrfs): same calls, same
// results, same error codes. Every Btrfs image a test leaves is closed (committed) and must then
// pass btrfs check (mandatory in CI). Btrfs-only behaviour: services/fs/btrfs/layer.test.ts.

import { existsSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { homeLayout } from "../../ncw/home.js";
import { btrfsCheck, btrfsProgsMissing, skipUnless } from "../../test/btrfs-oracle.js";
import { SUPER_MAGIC } from "./btrfs/format/superblock.js";
import { BtrfsLayer } from "./btrfs/layer.js";
import { HostDirFs } from "./hostdir.js";
import type { FsLayer } from "./layer.js";
import { MemoryFs } from "./memory.js";
import { imagePath, openTree, SUPERBLOCK_MAGIC, treeGeneration } from "./open.js";

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    return (e as { code: string }).code;
  }
  return "no error";
}

const tmpDirs: string[] = [];
/** Btrfs images made by the test that runs now, checked after it. */
const btrfsImages: { layer: BtrfsLayer; image: string }[] = [];
const checkImages = !skipUnless(btrfsProgsMissing());
afterEach(async () => {
  for (const { layer, image } of btrfsImages.splice(0)) {
    await layer.close().catch(() => undefined); // already closed by the test: nothing to commit
    if (checkImages) {
      const r = btrfsCheck(image);
      expect(r.ok, r.output).toBe(true);
    }
  }
  for (const d of tmpDirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const backends: [string, () => Promise<FsLayer>][] = [
  ["memory", async () => new MemoryFs()],
  [
    "hostdir",
    async () => {
      const d = mkdtempSync(path.join(os.tmpdir(), "ncw-fs-"));
      tmpDirs.push(d);
      return HostDirFs.open(path.join(d, "tree"));
    },
  ],
  [
    "btrfs",
    async () => {
      const d = mkdtempSync(path.join(os.tmpdir(), "ncw-fs-"));
      tmpDirs.push(d);
      const image = path.join(d, "nightos.img");
      const layer = BtrfsLayer.create(image, 64n << 20n, { metadata: "single" });
      btrfsImages.push({ layer, image });
      return layer;
    },
  ],
];

describe.each(backends)("FsLayer backend %s", (_name, make) => {
  it("creates folders and files, reads them back, lists sorted", async () => {
    const fs = await make();
    await fs.mkdir("/apps/x/content", { recursive: true });
    await fs.writeFile("/apps/x/content/b.txt", enc("bee"));
    await fs.writeFile("/apps/x/content/a.txt", enc("a"));
    await fs.mkdir("/apps/x/content/sub");
    expect(dec(await fs.readFile("/apps/x/content/b.txt"))).toBe("bee");
    expect(await fs.readdir("/apps/x/content")).toEqual([
      { name: "a.txt", kind: "file" },
      { name: "b.txt", kind: "file" },
      { name: "sub", kind: "dir" },
    ]);
    const st = await fs.stat("/apps/x/content/b.txt");
    expect(st?.kind).toBe("file");
    expect(st?.size).toBe(3);
    expect(typeof st?.feid).toBe("bigint");
    expect((await fs.stat("/apps"))?.kind).toBe("dir");
    expect(await fs.stat("/nope/deeper")).toBeNull();
    await fs.writeFile("/apps/x/content/b.txt", enc("replaced"));
    expect(dec(await fs.readFile("/apps/x/content/b.txt"))).toBe("replaced");
    await fs.close();
  });

  it("reads a file in ranges: fewer bytes at its end, none from its end on, through a symlink", async () => {
    const fs = await make();
    const data = new Uint8Array(300_000).map((_, i) => i % 251);
    await fs.writeFile("/big", data);
    await fs.symlink("/big", "/link");
    expect(await fs.readRange("/big", 0, 10)).toEqual(data.subarray(0, 10));
    expect(await fs.readRange("/big", 131_000, 70_000)).toEqual(data.subarray(131_000, 201_000));
    expect(await fs.readRange("/link", 299_990, 100)).toEqual(data.subarray(299_990));
    expect((await fs.readRange("/big", 300_000, 10)).length).toBe(0);
    expect((await fs.readRange("/big", 400_000, 10)).length).toBe(0);
    expect(await codeOf(fs.readRange("/missing", 0, 1))).toBe("FS_NOT_FOUND");
    await fs.mkdir("/d");
    expect(await codeOf(fs.readRange("/d", 0, 1))).toBe("FS_IS_DIR");
    await fs.close();
  });

  it("appends to an existing file, never creating one", async () => {
    const fs = await make();
    await fs.writeFile("/f", enc("one"));
    await fs.appendFile("/f", enc(" two"));
    await fs.appendFile("/f", new Uint8Array(200_000).fill(0x61));
    const all = await fs.readFile("/f");
    expect(all.length).toBe(200_007);
    expect(dec(all.subarray(0, 8))).toBe("one twoa");
    expect(await codeOf(fs.appendFile("/missing", enc("x")))).toBe("FS_NOT_FOUND");
    await fs.mkdir("/d");
    expect(await codeOf(fs.appendFile("/d", enc("x")))).toBe("FS_IS_DIR");
    await fs.close();
  });

  it("raises the layer's error codes", async () => {
    const fs = await make();
    await fs.mkdir("/d");
    await fs.writeFile("/d/f", enc("x"));
    expect(await codeOf(fs.readFile("/d/missing"))).toBe("FS_NOT_FOUND");
    expect(await codeOf(fs.writeFile("/missing/f", enc("x")))).toBe("FS_NOT_FOUND");
    expect(await codeOf(fs.mkdir("/d"))).toBe("FS_EXISTS");
    expect(await codeOf(fs.mkdir("/d/f/sub", { recursive: true }))).toBe("FS_NOT_DIR");
    expect(await codeOf(fs.readFile("/d"))).toBe("FS_IS_DIR");
    expect(await codeOf(fs.writeFile("/d", enc("x")))).toBe("FS_IS_DIR");
    expect(await codeOf(fs.rm("/d"))).toBe("FS_NOT_EMPTY");
    expect(await codeOf(fs.rm("/d/missing"))).toBe("FS_NOT_FOUND");
    expect(await codeOf(fs.readdir("/d/f"))).toBe("FS_NOT_DIR");
    expect(await codeOf(fs.readlink("/d/f"))).toBe("FS_NOT_SYMLINK");
    await fs.rm("/d/missing", { force: true });
    await fs.rm("/nowhere/at/all", { force: true });
    await expect(fs.stat("relative")).rejects.toThrow(/absolute/);
    await expect(fs.stat("/a/../b")).rejects.toThrow(/invalid NightOS path/);
  });

  it("renames atomically with the documented replace rules", async () => {
    const fs = await make();
    await fs.mkdir("/a/b", { recursive: true });
    await fs.writeFile("/a/f1", enc("one"));
    await fs.writeFile("/a/f2", enc("two"));
    expect(await codeOf(fs.rename("/a/f1", "/a/f2"))).toBe("FS_EXISTS");
    await fs.rename("/a/f1", "/a/f2", { replace: true });
    expect(dec(await fs.readFile("/a/f2"))).toBe("one");
    expect(await fs.stat("/a/f1")).toBeNull();
    // A folder is never replaced, even an empty one, and never moved inside itself.
    await fs.mkdir("/e");
    expect(await codeOf(fs.rename("/a/b", "/e", { replace: true }))).toBe("FS_EXISTS");
    expect(await codeOf(fs.rename("/a", "/a/b/c"))).toBe("FS_INTO_SELF");
    await fs.rename("/a", "/moved");
    expect(dec(await fs.readFile("/moved/f2"))).toBe("one");
    expect(await codeOf(fs.rename("/missing", "/x"))).toBe("FS_NOT_FOUND");
  });

  it("removes trees recursively", async () => {
    const fs = await make();
    await fs.mkdir("/t/u/v", { recursive: true });
    await fs.writeFile("/t/u/v/f", enc("x"));
    await fs.rm("/t", { recursive: true });
    expect(await fs.stat("/t")).toBeNull();
    await fs.mkdir("/empty");
    await fs.rm("/empty");
    expect(await fs.stat("/empty")).toBeNull();
  });

  it("resolves symlinks inside the tree only", async () => {
    const fs = await make();
    await fs.mkdir("/data/inner", { recursive: true });
    await fs.writeFile("/data/inner/f", enc("hello"));
    await fs.symlink("/data/inner", "/abs");
    await fs.symlink("inner/f", "/data/rel");
    await fs.symlink("../../../../data/inner/f", "/data/inner/up");
    expect((await fs.stat("/abs"))?.kind).toBe("symlink");
    expect(await fs.readlink("/abs")).toBe("/data/inner");
    expect(dec(await fs.readFile("/abs/f"))).toBe("hello");
    expect(dec(await fs.readFile("/data/rel"))).toBe("hello");
    // ".." clamps at the NightOS root: it cannot climb out of the tree.
    expect(dec(await fs.readFile("/data/inner/up"))).toBe("hello");
    await fs.writeFile("/abs/g", enc("via link"));
    expect(dec(await fs.readFile("/data/inner/g"))).toBe("via link");
    // Removing a link leaves its target alone.
    await fs.rm("/abs");
    expect((await fs.stat("/data/inner/f"))?.kind).toBe("file");
    await fs.symlink("/cyc2", "/cyc1");
    await fs.symlink("/cyc1", "/cyc2");
    expect(await codeOf(fs.readFile("/cyc1"))).toBe("FS_SYMLINK_LOOP");
  });

  it("refuses to work once closed", async () => {
    const fs = await make();
    await fs.close();
    expect(await codeOf(fs.stat("/x"))).toBe("FS_CLOSED");
  });
});

describe("hostdir backend", () => {
  it("never follows a host symlink to a file outside the tree", async () => {
    const d = mkdtempSync(path.join(os.tmpdir(), "ncw-fs-"));
    tmpDirs.push(d);
    const fs = await HostDirFs.open(path.join(d, "tree"));
    // A link planted on the host with an absolute host path is read as a NightOS path.
    symlinkSync("/etc/passwd", path.join(d, "tree", "evil"));
    expect(await codeOf(fs.readFile("/evil"))).toBe("FS_NOT_FOUND");
    await fs.sync();
    await fs.close();
  });
});

describe("openTree on a home's image", () => {
  const env = process.env.NCW_TREE_BACKEND;
  const size = process.env.NCW_IMAGE_SIZE;
  afterEach(() => {
    process.env.NCW_TREE_BACKEND = env;
    process.env.NCW_IMAGE_SIZE = size;
    if (env === undefined) delete process.env.NCW_TREE_BACKEND;
    if (size === undefined) delete process.env.NCW_IMAGE_SIZE;
  });

  it("reads without creating, writes on first use, and reads the last commit while a writer holds it", async () => {
    delete process.env.NCW_TREE_BACKEND;
    process.env.NCW_IMAGE_SIZE = "256M";
    const d = mkdtempSync(path.join(os.tmpdir(), "ncw-fs-"));
    tmpDirs.push(d);
    const home = homeLayout(path.join(d, "home"));
    // A reader on a new home sees an empty tree and creates nothing.
    const empty = await openTree(home, { access: "read" });
    expect(await empty.readdir("/")).toEqual([]);
    await empty.close();
    expect(existsSync(imagePath(home))).toBe(false);
    // The first writer creates the image (the default backend).
    const w = await openTree(home);
    expect(w.backend).toBe("btrfs");
    await w.writeFile("/committed", enc("1"));
    await w.sync();
    await w.writeFile("/pending", enc("2"));
    // Another writer is refused; `auto` and `read` get the last commit, read-only.
    expect(await codeOf(openTree(home, { access: "write" }))).toBe("BTRFS_IMAGE_LOCKED");
    for (const access of ["auto", "read"] as const) {
      const r = await openTree(home, { access });
      expect(dec(await r.readFile("/committed"))).toBe("1");
      expect(await r.stat("/pending")).toBeNull();
      expect(await codeOf(r.writeFile("/x", enc("x")))).toBe("BTRFS_READ_ONLY");
      await r.close();
    }
    await w.close();
    // Free again: `auto` writes.
    const again = await openTree(home);
    expect(dec(await again.readFile("/pending"))).toBe("2");
    await again.writeFile("/x", enc("x"));
    await again.close();
  });

  it("treeGeneration follows the image's commits (and is undefined without an image)", async () => {
    delete process.env.NCW_TREE_BACKEND;
    process.env.NCW_IMAGE_SIZE = "256M";
    expect(SUPERBLOCK_MAGIC).toBe(SUPER_MAGIC);
    const d = mkdtempSync(path.join(os.tmpdir(), "ncw-fs-"));
    tmpDirs.push(d);
    const home = homeLayout(path.join(d, "home"));
    expect(treeGeneration(home)).toBeUndefined();
    const w = await openTree(home);
    await w.writeFile("/a", enc("1"));
    await w.sync();
    const g1 = treeGeneration(home);
    expect(typeof g1).toBe("bigint");
    // Not committed yet: the same generation; committed: a later one.
    await w.writeFile("/b", enc("2"));
    expect(treeGeneration(home)).toBe(g1);
    await w.sync();
    const g2 = treeGeneration(home) as bigint;
    expect(g2 > (g1 as bigint)).toBe(true);
    await w.close();
  });
});
