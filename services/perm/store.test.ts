// The grant store (services/perm/store.ts): defaults, round trip, forgetting an app, damaged files.

import { describe, expect, it } from "vitest";
import { MemoryFs } from "../fs/memory.js";
import {
  addGrant,
  forgetApp,
  readUser,
  removeGrants,
  updateUser,
  userFile,
  writeUser,
} from "./store.js";

describe("the per-user grant store", () => {
  it("starts from the defaults: the home's user is its main administrator, others standard", async () => {
    const fs = new MemoryFs();
    expect((await readUser(fs, "user")).level).toBe(4);
    expect(await readUser(fs, "alice")).toMatchObject({
      level: 2,
      security: "standard",
      blocked: [],
      apps: {},
    });
  });

  it("keeps grants per user and per app, and an uninstall forgets one app's", async () => {
    const fs = new MemoryFs();
    await updateUser(fs, "user", (u) => {
      addGrant(u, "a::one", "flow.list");
      addGrant(u, "a::one", "flow.list");
      addGrant(u, "a::one", "fs.items.read", "/home/user/docs");
      addGrant(u, "a::two", "flow.list");
    });
    await updateUser(fs, "alice", (u) => addGrant(u, "a::one", "flow.read"));
    const u = await readUser(fs, "user");
    expect(u.apps["a::one"]?.map((g) => [g.permission, g.scope])).toEqual([
      ["flow.list", undefined],
      ["fs.items.read", "/home/user/docs"],
    ]);
    // A user's install: that user's grants only.
    expect(await forgetApp(fs, "a::one", "user")).toBe(2);
    expect((await readUser(fs, "user")).apps).toEqual({
      "a::two": [expect.objectContaining({ permission: "flow.list" })],
    });
    expect((await readUser(fs, "alice")).apps["a::one"]).toHaveLength(1);
    // A global one: every user's.
    expect(await forgetApp(fs, "a::one")).toBe(1);
    expect((await readUser(fs, "alice")).apps).toEqual({});
  });

  it("removes one scope, one permission or everything", () => {
    const u = {
      format: "ncw-perm",
      version: 1,
      level: 4,
      security: "standard",
      blocked: [],
      apps: {},
    } as Parameters<typeof addGrant>[0];
    addGrant(u, "x", "fs.items.read", "/a");
    addGrant(u, "x", "fs.items.read", "/b");
    addGrant(u, "x", "flow.list");
    expect(removeGrants(u, "x", "fs.items.read", "/a")).toBe(1);
    expect(removeGrants(u, "x", "fs.items.read")).toBe(1);
    expect(removeGrants(u, "x")).toBe(1);
    expect(u.apps).toEqual({});
  });

  it("refuses a damaged file with a hint, never reads it as a grant", async () => {
    const fs = new MemoryFs();
    await writeUser(fs, "user", await readUser(fs, "user"));
    await fs.writeFile(
      userFile("user"),
      new TextEncoder().encode('{"format":"ncw-perm","version":1,"level":9}'),
    );
    await expect(readUser(fs, "user")).rejects.toMatchObject({ code: "PERM_STORE_DAMAGED" });
    await fs.writeFile(userFile("user"), new TextEncoder().encode("{not json"));
    await expect(readUser(fs, "user")).rejects.toMatchObject({ code: "PERM_STORE_DAMAGED" });
  });
});
