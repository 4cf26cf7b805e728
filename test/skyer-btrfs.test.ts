// Skyer on the Btrfs image backend (services/fs/open.ts, docs/skyer.md "Tree backends"): the same
// commands, unchanged, install into a genuine Btrfs image in the home, which `ncw fs` reads and
// btrfs-progs checks clean after every operation (mandatory in CI, skipped elsewhere without it).

import { existsSync, readdirSync, rmSync } from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { homeLayout } from "../ncw/home.js";
import { defaultImagePath } from "../services/fs/btrfs/image.js";
import { imagePath, treeBackendOf } from "../services/fs/open.js";
import { btrfsCheck, btrfsProgsMissing } from "./btrfs-oracle.js";
import { ncw as run } from "./helpers/ncw.js";
import { makePackage, tempDir, VALID_NPP } from "./skyer-fixtures.js";

const work = tempDir("ncw-skyer-btrfs-");
afterAll(() => rmSync(work, { recursive: true, force: true }));

const progs = btrfsProgsMissing();
if (progs !== undefined && process.env.CI) throw new Error(`required in CI: ${progs}`);

describe("tree backends", () => {
  it("the image is where `ncw fs` looks; a home's backend follows what it holds", () => {
    const h = homeLayout(path.join(work, "h0"));
    expect(imagePath(h)).toBe(defaultImagePath(h));
    expect(treeBackendOf(h, {})).toBe("hostdir");
    expect(treeBackendOf(h, { NCW_TREE_BACKEND: "btrfs" })).toBe("btrfs");
    expect(() => treeBackendOf(h, { NCW_TREE_BACKEND: "zfs" })).toThrow(/not a tree backend/);
  });
});

describe("Skyer on the Btrfs image", () => {
  it("installs, updates and uninstalls inside the image, which checks clean after each step", async () => {
    const home = path.join(work, "home");
    const env = { NCW_USER: "", NCW_TREE_BACKEND: "" };
    const ncw = (args: string[], extra: Record<string, string> = {}) => {
      const r = run(["--home", home, ...args], { env: { ...env, ...extra } });
      expect(r.status, `ncw ${args.join(" ")}: ${r.stderr}`).toBe(0);
      return r;
    };
    const clean = () => {
      if (progs !== undefined) return;
      const r = btrfsCheck(path.join(home, "nightos.img"));
      expect(r.ok, r.output).toBe(true);
    };
    const v1 = await makePackage(work, {
      aid: "dev::notes",
      version: "1.0.0",
      npp: VALID_NPP,
      files: { "a/one.txt": "1", "old.txt": "old" },
    });
    const v2 = await makePackage(work, {
      aid: "dev::notes",
      version: "1.1.0",
      npp: VALID_NPP,
      files: { "a/one.txt": "one", "b/two.txt": "2" },
    });
    const lib = await makePackage(work, { aid: "acme::maths", version: "2.0.0", lib: true });

    // The first command on a fresh home asks for the image; later ones find it by themselves.
    ncw(["skyer", "install", v1], { NCW_TREE_BACKEND: "btrfs" });
    expect(existsSync(path.join(home, "nightos.img"))).toBe(true);
    expect(readdirSync(path.join(home, "tree"))).toEqual([]);
    clean();
    ncw(["skyer", "install", lib, "--global"]);
    clean();
    const ls = ncw(["fs", "ls", "/home/user/apps/dev.notes/content", "--json"]);
    expect(ls.stdout).toContain("old.txt");
    expect(ncw(["fs", "cat", "/home/user/apps/dev.notes/content/a/one.txt"]).stdout).toBe("1");

    const nau = path.join(work, "notes.nau");
    ncw(["skyer", "make-update", v1, v2, "-o", nau]);
    ncw(["skyer", "update", "dev::notes", nau]);
    clean();
    expect(ncw(["fs", "cat", "/home/user/apps/dev.notes/content/a/one.txt"]).stdout).toBe("one");
    const info = JSON.parse(ncw(["skyer", "info", "dev::notes", "--json"]).stdout) as {
      versions: { version: string }[];
    };
    expect(info.versions[0]?.version).toBe("1.1.0");

    ncw(["skyer", "uninstall", "dev::notes"]);
    ncw(["skyer", "uninstall", "acme::maths", "--global"]);
    clean();
    const list = JSON.parse(ncw(["skyer", "list", "--json"]).stdout) as { aid: string }[];
    expect(list.map((i) => i.aid)).toEqual(["sys::lib"]);
    const apps = ncw(["fs", "ls", "/home/user/apps", "--json"]).stdout;
    expect(apps).not.toContain("dev.notes");
  });
});
