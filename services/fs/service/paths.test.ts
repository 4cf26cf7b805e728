// Split-path rules, the path limit and resolution through symlinks (paths.ts), on the in-memory tree.

import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { tempDir } from "../../../test/btrfs-oracle.js";
import { BtrfsLayer } from "../btrfs/layer.js";
import type { FsLayer } from "../layer.js";
import { MemoryFs } from "../memory.js";
import {
  MAX_PATH_CHARS,
  normalizeSplit,
  ResolveError,
  resolve,
  symlinkChain,
  tooLong,
} from "./paths.js";
import { FIXED_FSID, feidOf, fsidOfTree } from "./store.js";

describe("split paths (filesystem-interfaces.md)", () => {
  it("ignores empty and '.' components; '..' drops the one before, never above the root", () => {
    expect(normalizeSplit(["a", "", ".", "b", "..", "c"])).toEqual(["a", "c"]);
    expect(normalizeSplit(["..", "..", "a"])).toEqual(["a"]);
    expect(normalizeSplit([])).toEqual([]);
  });

  it("limits a path to 65,534 characters, '/' separators and code points counted", () => {
    expect(tooLong(["a".repeat(MAX_PATH_CHARS - 1)])).toBe(false);
    expect(tooLong(["a".repeat(MAX_PATH_CHARS)])).toBe(true);
    expect(tooLong(["😀".repeat(MAX_PATH_CHARS - 1)])).toBe(false);
    expect(tooLong(["a".repeat(40000), "b".repeat(25532)])).toBe(false);
    expect(tooLong(["a".repeat(40000), "b".repeat(25533)])).toBe(true);
  });
});

describe("resolution", () => {
  it("follows links on the way, the last one only when asked, and reports cycles", async () => {
    const fs = new MemoryFs();
    await fs.mkdir("/d/e", { recursive: true });
    await fs.writeFile("/d/e/f", new Uint8Array(1));
    await fs.symlink("e", "/d/l");
    await fs.symlink("/d/l/f", "/fl");
    const r = await resolve(fs, ["d", "l", "f"], true);
    expect(r.path).toBe("/d/e/f");
    expect((await resolve(fs, ["fl"], false)).stat?.kind).toBe("symlink");
    expect((await resolve(fs, ["fl"], true)).path).toBe("/d/e/f");
    expect((await resolve(fs, ["d", "missing"], true)).stat).toBeNull();
    await expect(resolve(fs, ["d", "x", "y"], true)).rejects.toBeInstanceOf(ResolveError);
    await fs.symlink("/b", "/a");
    await fs.symlink("/a", "/b");
    await expect(resolve(fs, ["a"], true)).rejects.toMatchObject({ why: "cyclic" });
    // C → A → B → A: the cycle is A, B.
    await fs.symlink("/a", "/c");
    expect((await symlinkChain(fs, ["c"])).cycle).toEqual(["/a", "/b"]);
    const chain = await symlinkChain(fs, ["fl"]);
    expect(chain.cycle).toBeNull();
    expect(chain.end?.path).toBe("/d/e/f");
  });

  it("FEIDs from the layer; a fixed FSID for a tree without a UUID", async () => {
    const fs = new MemoryFs();
    await fs.writeFile("/x", new Uint8Array(0));
    const st = (await fs.stat("/x"))!;
    expect(feidOf(st, "/x")).toBe(st.feid);
    expect(feidOf({ ...st, feid: undefined }, "/x")).not.toBe(
      feidOf({ ...st, feid: undefined }, "/y"),
    );
    expect(fsidOfTree(fs)).toBe(FIXED_FSID);
  });
});

describe("resolution in one step on the Btrfs layer (BtrfsLayer.resolveParts)", () => {
  const dir = tempDir();
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** The outcome of resolve as a comparable value. */
  async function outcome(layer: FsLayer, parts: string[], follow: boolean): Promise<unknown> {
    try {
      const r = await resolve(layer, parts, follow);
      return { parts: r.parts, path: r.path, kind: r.stat?.kind ?? null, feid: r.stat?.feid };
    } catch (e) {
      if (!(e instanceof ResolveError)) return { threw: (e as Error).name };
      return { why: e.why, path: e.path, reached: e.reached };
    }
  }

  it("answers as the stat of each component does, links, loops and refusals included", async () => {
    const l = BtrfsLayer.create(path.join(dir, "resolve.img"), 64n << 20n, { metadata: "single" });
    await l.mkdir("/a/b/c", { recursive: true });
    await l.writeFile("/a/b/c/f", new Uint8Array([1]));
    await l.writeFile("/a/file", new Uint8Array([2]));
    await l.symlink("/a/b", "/abs"); // absolute
    await l.symlink("b/c", "/a/rel"); // relative to its folder
    await l.symlink("../..", "/a/b/up"); // up to the root
    await l.symlink("/loop2", "/loop1");
    await l.symlink("/loop1", "/loop2");
    await l.symlink("/nowhere/x", "/dangling");
    await l.symlink("/a/file", "/tofile");
    // The same layer with only stat and readlink: resolve's component-by-component walk.
    const generic = {
      backend: "generic",
      stat: (p: string) => l.stat(p),
      readlink: (p: string) => l.readlink(p),
    } as unknown as FsLayer;
    const cases = [
      [],
      ["a"],
      ["a", "b", "c", "f"],
      ["a", "b", "c", "missing"],
      ["a", "missing", "c"],
      ["a", "file", "x"],
      ["abs", "c", "f"],
      ["abs"],
      ["a", "rel", "f"],
      ["a", "b", "up", "a", "b", "up"],
      ["a", "b", "up"],
      ["loop1"],
      ["loop1", "x"],
      ["dangling"],
      ["dangling", "y"],
      ["tofile"],
      ["tofile", "z"],
      ["a", "b\\c"],
    ];
    for (const parts of cases)
      for (const follow of [false, true]) {
        const want = await outcome(generic, parts, follow);
        // Twice: the second time the folders of the path are known from the first.
        expect(await outcome(l, parts, follow), `${parts.join("/")} ${follow}`).toEqual(want);
        expect(await outcome(l, parts, follow), `${parts.join("/")} ${follow}`).toEqual(want);
      }
    await l.close();
  });
});
