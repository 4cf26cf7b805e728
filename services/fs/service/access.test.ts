// The default storage rules and NCW's interim fs.* policy (access.ts), rule by rule (docs/sysfs.md
// "Permissions").

import { describe, expect, it } from "vitest";
import { appDataArea, type FsIdentity, interimPolicy, storageAllows } from "./access.js";

const alice = { user: "alice", app: "notes" };
const loose = { user: "alice" };
const system = { user: "system", system: true };
const p = (s: string) => s.split("/").filter(Boolean);

describe("storage rules (storage-permissions.md)", () => {
  it("closes /dev, /etc (but /etc/public) and /sys to every user, not to the system", () => {
    for (const s of ["/dev/cam", "/etc/env", "/etc/sys/registry", "/sys/kernel", "/etc"])
      expect(storageAllows(alice, p(s)), s).toBe(false);
    expect(storageAllows(alice, p("/etc/public/x"))).toBe(true);
    for (const s of ["/dev/cam", "/etc/sys/registry", "/sys/kernel", "/home/bob/x", "/apps/other"])
      expect(storageAllows(system, p(s)), s).toBe(true);
  });

  it("gives /apps/<x> (and a user's /home/<u>/apps/<x>) to app x, /home/<u> and /tmp/<u> to user u", () => {
    expect(storageAllows(alice, p("/apps/notes/content"))).toBe(true);
    expect(storageAllows(alice, p("/apps/other/content"))).toBe(false);
    expect(storageAllows(alice, p("/home/alice/documents"))).toBe(true);
    expect(storageAllows(alice, p("/home/bob/documents"))).toBe(false);
    expect(storageAllows(alice, p("/home/alice/apps/other/content"))).toBe(false);
    expect(storageAllows(alice, p("/home/alice/apps/notes/content"))).toBe(true);
    expect(storageAllows(alice, p("/tmp/alice/x"))).toBe(true);
    expect(storageAllows(alice, p("/tmp/bob/x"))).toBe(false);
    expect(storageAllows(alice, p("/mnt/usb/x"))).toBe(false);
    expect(storageAllows(loose, p("/apps/notes"))).toBe(false);
  });

  it("opens /mnt/<x> by its mount's options: to every user, a read-only one for reading only", () => {
    const mounts = (name: string) =>
      name === "usb" ? { readOnly: false } : name === "cd" ? { readOnly: true } : undefined;
    const allows = (who: FsIdentity, s: string, perm: Parameters<typeof storageAllows>[2]) =>
      storageAllows(who, p(s), perm, mounts);
    for (const who of [alice, loose]) {
      expect(allows(who, "/mnt/usb/x", "fs.items.write")).toBe(true);
      expect(allows(who, "/mnt/usb", "fs.dir.read")).toBe(true);
      expect(allows(who, "/mnt/cd/x", "fs.items.read")).toBe(true);
      expect(allows(who, "/mnt/cd/x", "fs.items.exists")).toBe(true);
      expect(allows(who, "/mnt/other/x", "fs.items.read")).toBe(false);
    }
    for (const who of [alice, system])
      for (const perm of [
        "fs.items.write",
        "fs.items.create",
        "fs.items.remove",
        "fs.items.move",
      ] as const)
        expect(allows(who, "/mnt/cd/x", perm), perm).toBe(false);
    expect(allows(system, "/mnt/other/x", "fs.items.write")).toBe(true);
  });
});

describe("interim fs.* policy", () => {
  it("grants every item permission in the app's data area and /etc/public, no more", () => {
    expect(appDataArea(alice)).toEqual(["home", "alice", "appdata", "notes"]);
    expect(appDataArea(loose)).toBeUndefined();
    for (const perm of [
      "fs.items.create",
      "fs.items.write",
      "fs.items.remove",
      "fs.dir.read",
    ] as const) {
      expect(interimPolicy(alice, perm, p("/home/alice/appdata/notes/x"))).toBe(true);
      expect(interimPolicy(alice, perm, p("/etc/public/x"))).toBe(true);
      expect(interimPolicy(alice, perm, p("/home/alice/appdata/notesX"))).toBe(false);
      expect(interimPolicy(alice, perm, p("/home/alice/documents/x"))).toBe(false);
      expect(interimPolicy(loose, perm, p("/home/alice/appdata/notes/x"))).toBe(false);
    }
  });

  it("grants only reading in the app's program folder, and no filesystem-wide permission", () => {
    expect(interimPolicy(alice, "fs.items.read", p("/apps/notes/content/main.npp"))).toBe(true);
    expect(interimPolicy(alice, "fs.items.write", p("/apps/notes/content/main.npp"))).toBe(false);
    expect(interimPolicy(alice, "fs.filesystems.list", null)).toBe(false);
    expect(interimPolicy(alice, "fs.dir.lock", p("/home/alice/appdata/notes"))).toBe(false);
    expect(interimPolicy(system, "fs.filesystems.format", null)).toBe(true);
  });
});
