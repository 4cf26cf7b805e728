// Split-path rules, the path limit and resolution through symlinks (paths.ts), on the in-memory tree.

import { describe, expect, it } from "vitest";
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
