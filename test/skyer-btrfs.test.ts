// Skyer on the Btrfs image backend (services/fs/open.ts, docs/skyer.md "Tree backends"): a new home's
// tree is a genuine Btrfs image, which `ncw fs` reads and btrfs-progs checks clean after every
// operation (mandatory in CI, skipped elsewhere without it); host-directory homes keep their backend.

import { existsSync, mkdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { homeLayout } from "../ncw/home.js";
import { defaultImagePath } from "../services/fs/btrfs/image.js";
import {
  IMAGE_SIZE,
  imagePath,
  imageSizeOf,
  openTree,
  treeBackendOf,
} from "../services/fs/open.js";
import { btrfsCheck, btrfsProgsMissing } from "./btrfs-oracle.js";
import { ncw as run } from "./helpers/ncw.js";
import { makePackage, ncwAsync, tempDir, VALID_NPP } from "./skyer-fixtures.js";

const work = tempDir("ncw-skyer-btrfs-");
afterAll(() => rmSync(work, { recursive: true, force: true }));

const progs = btrfsProgsMissing();
if (progs !== undefined && process.env.CI) throw new Error(`required in CI: ${progs}`);

describe("tree backends", () => {
  it("the image is where `ncw fs` looks; a home's backend follows what it holds", () => {
    const h = homeLayout(path.join(work, "h0"));
    expect(imagePath(h)).toBe(defaultImagePath(h));
    // A new home (or one whose tree/ is empty) gets the image.
    expect(treeBackendOf(h, {})).toBe("btrfs");
    mkdirSync(h.tree, { recursive: true });
    expect(treeBackendOf(h, {})).toBe("btrfs");
    expect(treeBackendOf(h, { NCW_TREE_BACKEND: "hostdir" })).toBe("hostdir");
    expect(() => treeBackendOf(h, { NCW_TREE_BACKEND: "zfs" })).toThrow(/not a tree backend/);
    // A host-directory tree that holds anything is never switched, even with an image beside it.
    mkdirSync(path.join(h.tree, "etc"));
    writeFileSync(imagePath(h), "");
    expect(treeBackendOf(h, {})).toBe("hostdir");
    expect(treeBackendOf(h, { NCW_TREE_BACKEND: "btrfs" })).toBe("btrfs");
  });

  it("a new image is 8 GiB and sparse unless NCW_IMAGE_SIZE says otherwise", () => {
    expect(imageSizeOf({})).toBe(IMAGE_SIZE);
    expect(IMAGE_SIZE).toBe(8n << 30n);
    expect(imageSizeOf({ NCW_IMAGE_SIZE: "512M" })).toBe(512n << 20n);
    expect(() => imageSizeOf({ NCW_IMAGE_SIZE: "1M" })).toThrow(/not a usable image size/);
    expect(() => imageSizeOf({ NCW_IMAGE_SIZE: "big" })).toThrow(/not a usable image size/);
    const home = path.join(work, "h-size");
    const r = run(["--home", home, "skyer", "list"], { env: { NCW_TREE_BACKEND: "" } });
    expect(r.status, r.stderr).toBe(0);
    const st = statSync(path.join(home, "nightos.img"));
    expect(BigInt(st.size)).toBe(IMAGE_SIZE);
    // Sparse: what the new filesystem wrote, a few MiB at most, not 8 GiB.
    if (process.platform !== "win32") expect(st.blocks * 512).toBeLessThan(64 << 20);
  });

  it("a writer waits while another process holds the image for a moment; readers do not wait", async () => {
    const home = path.join(work, "h-wait");
    const env = { NCW_USER: "", NCW_TREE_BACKEND: "" };
    const pkg = await makePackage(work, { aid: "dev::waiter", version: "1.0.0" });
    const first = await ncwAsync(["--home", home, "skyer", "list"], env);
    expect(first.status, first.stderr).toBe(0);
    // This process holds the image's write lock (as `ncw run <AID>` does while it reads).
    const held = await openTree(homeLayout(home), { access: "write" });
    const list = await ncwAsync(["--home", home, "skyer", "list", "--json"], env);
    expect(list.status, list.stderr).toBe(0);
    const install = ncwAsync(["--home", home, "skyer", "install", pkg], env);
    await new Promise((r) => setTimeout(r, 1000));
    await held.close();
    const r = await install;
    expect(r.status, r.stderr).toBe(0);
    const after = await ncwAsync(["--home", home, "skyer", "list", "--json"], env);
    expect(after.stdout).toContain("dev::waiter");
  });

  it("a home created with NCW_TREE_BACKEND=hostdir keeps its host-directory tree", async () => {
    const home = path.join(work, "h-host");
    const pkg = await makePackage(work, { aid: "dev::hosted", version: "1.0.0" });
    const first = run(["--home", home, "skyer", "install", pkg], {
      env: { NCW_USER: "", NCW_TREE_BACKEND: "hostdir" },
    });
    expect(first.status, first.stderr).toBe(0);
    expect(existsSync(path.join(home, "nightos.img"))).toBe(false);
    expect(existsSync(path.join(home, "tree/home/user/apps/dev.hosted/content"))).toBe(true);
    const list = run(["--home", home, "skyer", "list", "--json"], {
      env: { NCW_USER: "", NCW_TREE_BACKEND: "" },
    });
    expect(list.stdout).toContain("dev::hosted");
    expect(existsSync(path.join(home, "nightos.img"))).toBe(false);
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

    // The first command on a fresh home creates the image; later ones find it by themselves.
    ncw(["skyer", "install", v1]);
    expect(existsSync(path.join(home, "nightos.img"))).toBe(true);
    // The tree lives in the image: no host folder tree/ is made.
    expect(existsSync(path.join(home, "tree"))).toBe(false);
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
