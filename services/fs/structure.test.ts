// The tree's structure (structure.ts, specs/filesystem.md "Structure") on the in-memory tree: what is
// made, that an existing tree keeps its content, the users file's form, and a damaged one left alone.

import { describe, expect, it } from "vitest";
import { MemoryFs } from "./memory.js";
import {
  AWAKE_PATH,
  addUser,
  listUsers,
  markAsleep,
  prepareTree,
  USERS_PATH,
} from "./structure.js";

const text = async (fs: MemoryFs, p: string) => new TextDecoder().decode(await fs.readFile(p));
const names = async (fs: MemoryFs, p: string) => (await fs.readdir(p)).map((e) => e.name).sort();

describe("the tree's structure", () => {
  it("is added to an existing tree without touching its content, and the awake indicator tells an unclean stop", async () => {
    const fs = new MemoryFs();
    await fs.mkdir("/home/user/documents", { recursive: true });
    await fs.writeFile("/home/user/documents/a", new TextEncoder().encode("a"));
    await fs.mkdir("/etc");
    await fs.writeFile("/etc/hosts", new TextEncoder().encode("127.0.0.1 here"));
    await fs.mkdir("/tmp/user/old", { recursive: true });
    expect(await prepareTree(fs, "user")).toEqual({ wasAwake: false });
    expect(await names(fs, "/")).toEqual(["apps", "dev", "etc", "fl", "home", "mnt", "sys", "tmp"]);
    expect(await text(fs, "/home/user/documents/a")).toBe("a");
    expect(await text(fs, "/etc/hosts")).toBe("127.0.0.1 here");
    expect(await text(fs, "/etc/env")).toBe("");
    expect(await fs.readlink("/mnt/root")).toBe("/");
    expect(await names(fs, "/tmp/user")).toEqual([]);
    expect(await names(fs, "/home/user")).toEqual([
      "appdata",
      "apps",
      "desktop",
      "documents",
      "downloads",
      "music",
      "pictures",
      "trash",
      "videos",
    ]);
    // An empty file while the system runs (crash-saves.md "Invalid shutdown indicator"). Not stopped
    // cleanly: the next start finds it and says so; a clean stop removes it.
    expect(await text(fs, AWAKE_PATH)).toBe("");
    expect(await prepareTree(fs, "user")).toEqual({ wasAwake: true });
    await markAsleep(fs);
    expect(await fs.stat(AWAKE_PATH)).toBeNull();
    expect(await prepareTree(fs, "user")).toEqual({ wasAwake: false });
    // The "0" an older NCW left after a clean stop is not a crash.
    await fs.writeFile(AWAKE_PATH, new TextEncoder().encode("0"));
    expect(await prepareTree(fs, "user")).toEqual({ wasAwake: false });
  });

  it("keeps the users in NCW's JSON form, sorted, each once", async () => {
    const fs = new MemoryFs();
    expect(await addUser(fs, "zoe", 5)).toBe(true);
    expect(await addUser(fs, "al", 7)).toBe(true);
    expect(await addUser(fs, "zoe", 9)).toBe(false);
    expect(JSON.parse(await text(fs, USERS_PATH))).toEqual({
      format: "ncw-users",
      version: 1,
      users: [
        { name: "al", createdAt: 7 },
        { name: "zoe", createdAt: 5 },
      ],
      groups: [],
    });
    expect((await fs.stat("/home/al/trash"))?.kind).toBe("dir");
    expect((await fs.stat("/tmp/zoe"))?.kind).toBe("dir");
    await expect(addUser(fs, "../x")).rejects.toMatchObject({ code: "SKYER_BAD_USER" });
  });

  it("refuses a damaged users file and leaves it as it was", async () => {
    const fs = new MemoryFs();
    await fs.mkdir("/etc/sys", { recursive: true });
    await fs.writeFile(USERS_PATH, new TextEncoder().encode("{not json"));
    await expect(listUsers(fs)).rejects.toMatchObject({ code: "FS_BAD_USERS" });
    await expect(addUser(fs, "al")).rejects.toMatchObject({ code: "FS_BAD_USERS" });
    expect(await text(fs, USERS_PATH)).toBe("{not json");
  });
});
