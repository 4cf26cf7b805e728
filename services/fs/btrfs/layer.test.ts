// The Btrfs backend of the FsLayer: the same behaviour and error codes as the memory backend
// (services/fs/backends.test.ts), plus images that btrfs check accepts after every scenario.
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, describe, expect, it, vi } from "vitest";
import type { NcwError } from "../../../ncw/errors.js";
import {
  btrfsCheck,
  btrfsProgsMissing,
  onDisk,
  skipUnless,
  tempDir,
} from "../../../test/btrfs-oracle.js";
import { MemoryFs } from "../memory.js";
import * as dirents from "./dirents.js";
import { FT_REG_FILE } from "./format/items.js";
import { INODE_ITEM_KEY } from "./format/key.js";
import { maxItemSize } from "./format/node.js";
import { BtrfsFs } from "./fs.js";
import { BtrfsLayer } from "./layer.js";

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

const dir = tempDir();
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
let n = 0;
const images: string[] = [];
function make(): BtrfsLayer {
  const img = path.join(dir, `l${n++}.img`);
  images.push(img);
  return BtrfsLayer.create(img, 64n << 20n, { metadata: "single" });
}
const progs = btrfsProgsMissing();
function expectClean(img: string | undefined): void {
  if (!img || progs) return;
  const r = btrfsCheck(img);
  expect(r.ok, r.output).toBe(true);
}

// The calls every backend shares (and their error codes) are in services/fs/backends.test.ts,
// which also runs btrfs check on each image it leaves. Here: what only the Btrfs backend does.
describe("FsLayer backend btrfs", () => {
  it("keeps the transaction as it was after operations that failed", async () => {
    const fs = make();
    await fs.mkdir("/d");
    await fs.writeFile("/d/f", enc("x"));
    expect(await codeOf(fs.mkdir("/d"))).toBe("FS_EXISTS");
    expect(await codeOf(fs.writeFile("/d", enc("x")))).toBe("FS_IS_DIR");
    expect(await codeOf(fs.rm("/d"))).toBe("FS_NOT_EMPTY");
    expect(await codeOf(fs.rename("/d/f", "/nowhere/f"))).toBe("FS_NOT_FOUND");
    // the errors above changed nothing: the file is still there after commit
    await fs.close();
    expectClean(images.at(-1));
    const again = BtrfsLayer.open(images.at(-1)!);
    expect(dec(await again.readFile("/d/f"))).toBe("x");
    await again.close();
  });

  it("matches the memory backend on a random sequence of operations", async () => {
    const b = make();
    const m = new MemoryFs();
    let seed = 12345;
    const rnd = (k: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % k;
    };
    const names = ["a", "b", "c", "d"];
    const randPath = () => {
      const depth = 1 + rnd(3);
      return `/${Array.from({ length: depth }, () => names[rnd(names.length)]).join("/")}`;
    };
    for (let step = 0; step < 400; step++) {
      const p = randPath();
      const q = randPath();
      const op = rnd(6);
      const data = enc(`${step}:`.repeat(rnd(3) === 0 ? 3000 : 3));
      const both = async (f: (x: BtrfsLayer | MemoryFs) => Promise<unknown>) => {
        const [x, y] = [await codeOf(f(b)), await codeOf(f(m))];
        expect(x, `step ${step} op ${op} ${p} ${q}`).toBe(y);
      };
      if (op === 0) await both((x) => x.writeFile(p, data));
      else if (op === 1) await both((x) => x.mkdir(p, { recursive: rnd(2) === 0 }));
      else if (op === 2) await both((x) => x.rm(p, { recursive: true }));
      else if (op === 3) await both((x) => x.rename(p, q, { replace: rnd(2) === 0 }));
      else if (op === 4) await both((x) => x.readFile(p));
      else {
        await b.sync();
      }
    }
    // Compare the whole trees.
    const walk = async (x: BtrfsLayer | MemoryFs, at: string, out: string[]) => {
      for (const e of await x.readdir(at)) {
        const p = `${at === "/" ? "" : at}/${e.name}`;
        if (e.kind === "dir") {
          out.push(`${p}/`);
          await walk(x, p, out);
        } else out.push(`${p}=${dec(await x.readFile(p))}`);
      }
      return out;
    };
    expect(await walk(b, "/", [])).toEqual(await walk(m, "/", []));
    await b.close();
    expectClean(images.at(-1));
  });

  it("snapshots and serves a subvolume as its root", async () => {
    const fs = make();
    const sub = await fs.createSubvolume("/home");
    await fs.writeFile("/home/a.txt", enc("A"));
    await fs.snapshot("/home", "/home.snap");
    await fs.writeFile("/home/a.txt", enc("B"));
    expect(dec(await fs.readFile("/home.snap/a.txt"))).toBe("A");
    await fs.setXattr("/home/a.txt", "user.perm", enc("r"));
    expect(dec((await fs.getXattr("/home/a.txt", "user.perm"))!)).toBe("r");
    expect(await codeOf(fs.snapshot("/home/a.txt", "/x"))).toBe("BTRFS_NOT_SUBVOL");
    await fs.mkdir("/home/deep/er", { recursive: true });
    await fs.writeFile("/home/deep/er/f", enc("f"));
    for (const p of ["/home/deep/er/f", "/home", "/home.snap/a.txt", "/"]) {
      expect(await fs.pathOfFeid(await fs.feid(p))).toBe(p);
    }
    expect(await fs.pathOfFeid((999n << 40n) | 5n)).toBeNull();
    await fs.close();
    expectClean(images.at(-1));
    const inner = BtrfsLayer.open(images.at(-1)!, { subvolume: sub });
    expect(await inner.readdir("/")).toEqual([
      { name: "a.txt", kind: "file" },
      { name: "deep", kind: "dir" },
    ]);
    expect(await inner.pathOfFeid(await inner.feid("/deep/er/f"))).toBe("/deep/er/f");
    expect(dec(await inner.readFile("/a.txt"))).toBe("B");
    await inner.rm("/a.txt");
    await inner.close();
    expectClean(images.at(-1));
    // rm -r removes subvolumes (nested ones first) and snapshots like folders
    const again = BtrfsLayer.open(images.at(-1)!);
    await again.createSubvolume("/home/nested");
    await again.writeFile("/home/nested/n.txt", enc("n"));
    await again.rm("/home", { recursive: true });
    await again.rm("/home.snap", { recursive: true });
    expect(await again.readdir("/")).toEqual([]);
    await again.close();
    expectClean(images.at(-1));
  });
});

describe.skipIf(skipUnless(progs))("btrfs-progs available", () => {
  it("is used above to check every image", () => {
    expect(progs).toBeUndefined();
  });
});

describe("a read-only layer beside the image's writer", () => {
  const version = (file: number, v: number) => {
    const out = new Uint8Array(64 * 1024);
    let x = file * 7919 + v * 104729 + 1;
    for (let i = 0; i < out.length; i++) {
      x = (x * 1103515245 + 12345) & 0x7fffffff;
      out[i] = x >>> 16;
    }
    return out;
  };
  const FILES = 48;

  it("moves to the writer's newer commit when the blocks of its own were reused", async () => {
    const img = path.join(dir, "rw.img");
    images.push(img);
    const w = BtrfsLayer.create(img, 64n << 20n);
    await w.mkdir("/d");
    for (let f = 0; f < FILES; f++) {
      await w.writeFile(`/d/f${f}`, version(f, 0));
    }
    await w.sync();
    const r = BtrfsLayer.open(img, { readOnly: true }); // sees version 0 of everything
    const raw = BtrfsFs.open(img, { readOnly: true }); // the same commit, read only at the end
    // The writer rewrites every file in each commit: the blocks and extents version 0 used are
    // freed, then reused once the data chunk's allocator wraps around.
    let next = 0;
    let moves = 0;
    let seen = 0;
    for (let commit = 1; commit <= 12; commit++) {
      for (let f = 0; f < FILES; f++) {
        await w.writeFile(`/d/f${f}`, version(f, commit));
      }
      await w.sync();
      // Each round the reader reads one file it has not read yet (nothing of it is cached).
      const f = next++;
      const got = await r.readFile(`/d/f${f}`);
      // The reader sees one whole commit: version 0, or the one it moved to (all files move together).
      if (r.viewMoves > moves) {
        moves = r.viewMoves;
        seen = commit;
      }
      const want = version(f, seen);
      expect(Buffer.from(got).equals(Buffer.from(want)), `f${f} after commit ${commit}`).toBe(true);
    }
    expect(r.viewMoves, "the reader had to move at least once").toBeGreaterThan(0);
    // A reader that stays on the old commit cannot read everything any more: without the move,
    // `r` would have failed the same way (an error, never wrong bytes).
    let failed = 0;
    for (let f = next; f < FILES; f++) {
      try {
        const got = await raw.reader().readAll(raw.reader().resolve(`/d/f${f}`)!);
        expect(Buffer.from(got).equals(Buffer.from(version(f, 0)))).toBe(true);
      } catch (e) {
        expect((e as NcwError).kind).toBe("data");
        failed++;
      }
    }
    expect(failed, "the old commit's blocks were overwritten").toBeGreaterThan(0);
    raw.close();
    await r.close();
    await w.close();
  });

  it("reports real damage when there is no newer commit to move to", async () => {
    const img = path.join(dir, "damaged.img");
    const w = BtrfsLayer.create(img, 64n << 20n);
    await w.writeFile("/a", version(1, 1));
    const ext = onDisk(w.fs.reader().extents(w.fs.reader().resolve("/a")!)[0]!.item);
    const phys = Number(w.fs.engine.chunkMap.map(ext.diskBytenr, 4096)[0]!.physical);
    await w.close();
    const fd = fs.openSync(img, "r+");
    fs.writeSync(fd, new Uint8Array([0xde, 0xad]), 0, 2, phys + 100);
    fs.closeSync(fd);
    const r = BtrfsLayer.open(img, { readOnly: true });
    expect(await codeOf(r.readFile("/a"))).toBe("BTRFS_DATA_CSUM");
    expect(r.viewMoves).toBe(0);
    await r.close();
  });
});

describe("deleting subvolumes", () => {
  it("drops a snapshot whole instead of emptying it file by file", async () => {
    const img = path.join(dir, "drop.img");
    images.push(img);
    const l = BtrfsLayer.create(img, 128n << 20n);
    await l.mkdir("/t");
    for (let i = 0; i < 2000; i++) await l.writeFile(`/t/f${i}`, enc(`file ${i}`));
    await l.sync();
    await l.snapshot("/", "/snap");
    await l.createSubvolume("/snap/inner");
    await l.writeFile("/snap/inner/x", enc("x"));
    await l.sync();
    const gen = l.fs.engine.generation;
    const unlink = vi.spyOn(l.fs, "unlink");
    const t0 = performance.now();
    await l.rm("/snap", { recursive: true });
    await l.sync();
    const ms = performance.now() - t0;
    expect(unlink).not.toHaveBeenCalled();
    unlink.mockRestore();
    expect(l.fs.engine.generation).toBe(gen + 1n);
    expect(await l.stat("/snap")).toBeNull();
    expect(dec(await l.readFile("/t/f1999"))).toBe("file 1999");
    expect(await codeOf(l.rm("/t", {}))).toBe("FS_NOT_EMPTY");
    // Emptying it file by file took ~180 ms here, dropping it whole ~8 ms (a loose bound only).
    expect(ms).toBeLessThan(5000);
    await l.close();
  });

  it("makes and drops many snapshots in one commit, each its own copy, and leaves a clean image", async () => {
    const img = path.join(dir, "window.img");
    images.push(img);
    const l = BtrfsLayer.create(img, 128n << 20n);
    await l.mkdir("/home");
    await l.createSubvolume("/home/tpl");
    for (let i = 0; i < 500; i++) await l.writeFile(`/home/tpl/f${i}`, enc(`file ${i}`));
    await l.sync();
    const gen = l.fs.engine.generation;
    const first = ["/home/a0", "/home/a1", "/home/a2"];
    await l.subvolumes([], "/home/tpl", first);
    await l.sync();
    expect(l.fs.engine.generation).toBe(gen + 1n);
    // Each is isolated: a write in one is seen neither by the others nor by the template.
    await l.writeFile("/home/a0/f1", enc("changed"));
    await l.writeFile("/home/a1/new", enc("new"));
    expect(dec(await l.readFile("/home/a0/f1"))).toBe("changed");
    expect(dec(await l.readFile("/home/a1/f1"))).toBe("file 1");
    expect(dec(await l.readFile("/home/a2/f1"))).toBe("file 1");
    expect(await l.stat("/home/a2/new")).toBeNull();
    expect(dec(await l.readFile("/home/tpl/f1"))).toBe("file 1");
    await l.sync();
    // Drops and makes in one request: one commit.
    await l.subvolumes(first, "/home/tpl", ["/home/b0", "/home/b1"]);
    await l.sync();
    expect(l.fs.engine.generation).toBe(gen + 3n);
    for (const d of first) expect(await l.stat(d)).toBeNull();
    expect(dec(await l.readFile("/home/b0/f499"))).toBe("file 499");
    expect(await l.stat("/home/b1/new")).toBeNull();
    // All or none: a destination that exists fails the request after the drop and the first snapshot,
    // and neither stays.
    expect(await codeOf(l.subvolumes(["/home/b0"], "/home/tpl", ["/home/c0", "/home/b1"]))).toBe(
      "FS_EXISTS",
    );
    await l.sync();
    expect(await l.stat("/home/b0")).not.toBeNull();
    expect(await l.stat("/home/c0")).toBeNull();
    await l.subvolumes(["/home/b0", "/home/b1", "/home/tpl"], "/home/tpl", []);
    await l.sync();
    expect(await l.readdir("/home")).toEqual([]);
    await l.close();
    expectClean(img);
  });

  it("refuses what is not a subvolume, and the top of the tree", async () => {
    const l = make();
    await l.mkdir("/plain");
    expect(await codeOf(l.deleteSubvolume("/plain"))).toBe("BTRFS_NOT_SUBVOL");
    expect(await codeOf(l.deleteSubvolume("/"))).toBe("BTRFS_TOP_SUBVOL");
    expect(await codeOf(l.deleteSubvolume("/none"))).toBe("FS_NOT_FOUND");
    await l.close();
  });
});

describe("names that are not valid UTF-8", () => {
  it("are listed with their bytes and their stat, and statEntry finds them by their bytes", async () => {
    const l = make();
    await l.writeFile("/ok.txt", enc("fine"));
    const raw = new Uint8Array([0x61, 0xc3, 0x28, 0x62]); // "a", a broken 2-byte sequence, "b"
    await l.exclusive(async (f) => {
      const id = f.create(f.top(), "placeholder", "file");
      await f.writeFile(id, enc("twelve bytes"));
      f.run((t) => {
        // (no API takes a name as bytes: the rename below is done on the entry items directly)
        const { addDirEntry, addInodeRef } = dirents;
        const index = addDirEntry(
          t,
          f.top(),
          raw,
          { objectid: id.ino, type: INODE_ITEM_KEY, offset: 0n },
          FT_REG_FILE,
          f.inode(f.top())!.mtime,
          f.inodes,
        );
        addInodeRef(t, id, 256n, raw, index, maxItemSize(t.nodesize), true);
        const v = f.inodes.get(t, id);
        v.nlink += 1;
        f.inodes.put(t, id, v);
      });
      f.unlink(f.top(), "placeholder");
    });
    const listed = await l.list("/");
    const odd = listed.find((e) => e.raw !== undefined);
    expect(odd?.name).toBe("a\ufffd(b");
    expect(odd?.raw).toEqual(raw);
    expect(odd?.stat?.size).toBe(12);
    expect(listed.find((e) => e.name === "ok.txt")?.raw).toBeUndefined();
    // The text names nothing; the bytes do.
    expect(await l.stat("/a\ufffd(b")).toBeNull();
    expect((await l.statEntry("/", raw))?.size).toBe(12);
    expect((await l.readdir("/")).map((e) => e.name).sort()).toEqual(["a\ufffd(b", "ok.txt"]);
    await l.close();
  });
});

// The layer remembers the folders it resolved (knownDirs) across commits and file writes; each case
// below changes a folder some other way and then works under its old path, where a stale entry would
// send the change into the wrong folder (or into an inode that no longer exists).
describe("the folders a layer remembers", () => {
  const names = async (l: BtrfsLayer, p: string) => (await l.readdir(p)).map((e) => e.name).sort();

  it("follow a folder moved or removed after a commit and a write, and a new one in its place", async () => {
    const l = make();
    await l.mkdir("/a/b/c", { recursive: true });
    await l.writeFile("/a/b/c/f", enc("1"));
    await l.sync();
    // A write of a file's bytes (as sys::fs's store does) keeps the folders known.
    const id = (await l.inodeAt("/a/b/c/f"))!;
    await l.exclusive((f) => f.write(id, 1n, enc("2")), true);
    await l.rename("/a/b", "/a/moved");
    // Before anything makes /a/b again (a mkdir remembers what it makes): it is not there any more.
    expect(await codeOf(l.writeFile("/a/b/c/g", enc("x")))).toBe("FS_NOT_FOUND");
    expect(await names(l, "/a/moved/c")).toEqual(["f"]);
    await l.mkdir("/a/b/c", { recursive: true });
    await l.writeFile("/a/b/c/g", enc("3"));
    expect(await names(l, "/a/b/c")).toEqual(["g"]);
    expect(dec(await l.readFile("/a/moved/c/f"))).toBe("12");
    await l.sync();
    await l.rm("/a/b", { recursive: true });
    expect(await codeOf(l.writeFile("/a/b/c/g2", enc("x")))).toBe("FS_NOT_FOUND");
    await l.mkdir("/a/b");
    await l.writeFile("/a/b/h", enc("4"));
    expect(await names(l, "/a/b")).toEqual(["h"]);
    // Removing or moving a file keeps them (no folder changed), and the next calls still land right.
    await l.rename("/a/b/h", "/a/b/i");
    await l.rm("/a/b/i");
    await l.writeFile("/a/b/j", enc("5"));
    expect(await names(l, "/a/b")).toEqual(["j"]);
    await l.close();
    expectClean(images[images.length - 1]);
  });

  it("are forgotten when the open transaction is aborted, even by a direct BtrfsFs.abort", async () => {
    const l = make();
    await l.mkdir("/kept");
    await l.sync();
    await l.mkdir("/kept/new");
    await l.writeFile("/kept/new/f", enc("x"));
    // Not through a layer operation: the abort forgets /kept/new and its inode.
    l.fs.abort();
    expect(await codeOf(l.writeFile("/kept/new/g", enc("y")))).toBe("FS_NOT_FOUND");
    await l.mkdir("/kept/new");
    await l.writeFile("/kept/new/g", enc("y"));
    expect(await names(l, "/kept/new")).toEqual(["g"]);
    await l.close();
    expectClean(images[images.length - 1]);
  });

  it("are remembered by their own path, so a link pointed elsewhere leads to its new target", async () => {
    const l = make();
    await l.mkdir("/p/q", { recursive: true });
    await l.mkdir("/r/q", { recursive: true });
    await l.symlink("/p", "/link");
    await l.writeFile("/link/q/f", enc("1"));
    await l.mkdir("/link/q/sub");
    // The link replaced by one to /r (as UPDATE_SYMLINK does: a new link renamed over it).
    await l.symlink("/r", "/link2");
    await l.rename("/link2", "/link", { replace: true });
    await l.writeFile("/link/q/g", enc("2"));
    expect(await names(l, "/p/q")).toEqual(["f", "sub"]);
    expect(await names(l, "/r/q")).toEqual(["g"]);
    expect(await codeOf(l.writeFile("/link/q/sub/h", enc("3")))).toBe("FS_NOT_FOUND");
    await l.close();
    expectClean(images[images.length - 1]);
  });
});
