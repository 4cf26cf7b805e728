// The NightOS tree's structure (specs/filesystem.md "Structure"; docs/sysfs.md "The tree") through ncw:
// a home written before the structure existed is upgraded in place when the kernel takes it (every
// folder and file of the page, /mnt/root a link to /, each user's home, nothing of the old content
// lost, /tmp/<user> cleaned, /etc/sys/awake created empty, removed at a clean stop); `ncw user add` / `list`
// add users with their homes; the image passes `btrfs check` and Linux sees the same tree.

import { existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync } from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  btrfsProgsMissing,
  expectCheckClean,
  loopMountMissing,
  skipUnless,
  withLoopMount,
} from "./btrfs-oracle.js";
import { alive, program, TestHome, waitFor } from "./kernel-helpers.js";

const home = new TestHome({ NCW_IMAGE_SIZE: "512M", NCW_KERNEL_IDLE_MS: "120000" });
afterAll(() => home.cleanup());
const IMAGE = () => path.join(home.home, "nightos.img");

/** The names `ncw fs ls <p>` prints ("x/" for a folder). */
function ls(p: string): string[] {
  const r = home.ncw(["fs", "ls", p]);
  expect(r.code, `ls ${p}: ${r.stderr}`).toBe(0);
  return r.stdout.split("\n").filter(Boolean);
}

const HOME = [
  "apps/",
  "appdata/",
  "desktop/",
  "documents/",
  "downloads/",
  "music/",
  "pictures/",
  "videos/",
  "trash/",
];

async function stopKernel(): Promise<void> {
  const pid = home.kernelPid();
  if (pid === undefined || !alive(pid)) return;
  process.kill(pid, "SIGTERM");
  expect(await waitFor(() => !alive(pid))).toBe(true);
}

describe.skipIf(skipUnless(btrfsProgsMissing()))("the NightOS tree's structure", () => {
  it("upgrades an older home in place, adds users with their homes, and passes btrfs check", async () => {
    // An older home: some content, written with no kernel running (no structure yet).
    const old = home.write("old.txt", "kept");
    mkdirSync(home.home, { recursive: true });
    for (const args of [
      ["fs", "mkfs", IMAGE(), "--size", "512M"],
      ["fs", "mkdir", "-p", "/home/user/documents/mine"],
      ["fs", "put", old, "/home/user/documents/mine/old.txt"],
      ["fs", "mkdir", "-p", "/tmp/user/junk"],
    ]) {
      const r = home.ncw(args);
      expect(r.code, `${args.join(" ")}: ${r.stderr}`).toBe(0);
    }
    expect(ls("/")).toEqual(["home/", "tmp/"]);

    // A user added without a kernel: listed with the default user, with a home and a /tmp folder.
    const add = home.ncw(["user", "add", "bob"]);
    expect(add.code, add.stderr).toBe(0);
    expect(add.stdout).toContain("added user bob");
    expect(home.ncw(["user", "add", "bob"]).stdout).toContain("already exists");
    const bad = home.ncw(["user", "add", "Bob!"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("invalid NightOS user name");
    const list = home.ncw(["user", "list", "--json"]);
    expect(list.code, list.stderr).toBe(0);
    expect((JSON.parse(list.stdout) as { name: string }[]).map((u) => u.name)).toEqual([
      "bob",
      "user",
    ]);
    expect(ls("/home/bob").sort()).toEqual([...HOME].sort());

    // The kernel takes the tree on its first use of it (a program runs; then a tree request).
    const run = home.run(program(""));
    expect(run.code, run.stderr).toBe(0);
    expect(home.kernelPid()).toBeDefined();
    expect(home.ncw(["user", "list"]).stdout).toContain("bob\t/home/bob");
    expect(ls("/").sort()).toEqual(
      ["apps/", "dev/", "etc/", "fl/", "home/", "mnt/", "sys/", "tmp/"].sort(),
    );
    expect(ls("/dev").sort()).toEqual(
      ["cam/", "bst/", "etc/", "mic/", "net/", "snd/", "sst/", "wrl/"].sort(),
    );
    expect(ls("/etc").sort()).toEqual(["env", "hosts", "logs/", "public/", "sys/"].sort());
    expect(ls("/etc/logs")).toEqual(["upe"]);
    expect(ls("/etc/sys")).toEqual(expect.arrayContaining(["awake", "users"]));
    expect(home.ncw(["fs", "cat", "/etc/sys/awake"]).stdout).toBe("");
    const mnt = home.ncw(["fs", "ls", "/mnt", "--json"]);
    expect(JSON.parse(mnt.stdout)).toEqual([
      expect.objectContaining({ name: "root", kind: "symlink" }),
    ]);
    expect(ls("/sys").sort()).toEqual(["apps/", "langs/", "old/"]);
    expect(ls("/home/user").sort()).toEqual([...HOME].sort());
    expect(ls("/tmp").sort()).toEqual(["bob/", "user/"]);
    // Cleaned at the start, as at a shutdown; the old content is kept.
    expect(ls("/tmp/user")).toEqual([]);
    expect(home.ncw(["fs", "cat", "/home/user/documents/mine/old.txt"]).stdout).toBe("kept");
    // The root link leads to the root.
    expect(ls("/mnt/root/home").sort()).toEqual(["bob/", "user/"]);

    // A clean stop removes the awake indicator; the image is consistent.
    await stopKernel();
    expect(ls("/etc/sys")).not.toContain("awake");
    expectCheckClean(IMAGE());

    if (!skipUnless(loopMountMissing()))
      withLoopMount(
        IMAGE(),
        (mnt) => {
          expect(readlinkSync(path.join(mnt, "mnt/root"))).toBe("/");
          expect(readdirSync(path.join(mnt, "home/bob")).sort()).toEqual(
            HOME.map((h) => h.slice(0, -1)).sort(),
          );
          expect(readFileSync(path.join(mnt, "home/user/documents/mine/old.txt"), "utf8")).toBe(
            "kept",
          );
          expect(existsSync(path.join(mnt, "etc/sys/users"))).toBe(true);
        },
        ["ro"],
      );
  }, 240_000);
});
