// The sys::fs method table against specs/services/system/fs.md, written out by hand from the page.

import { describe, expect, it } from "vitest";
import { isPermission, PERMISSIONS } from "../permissions.js";
import {
  DELETE_ITEM,
  FS_METADATA,
  ITEM_EXISTS,
  MOVE_ITEM,
  OPEN_FILE,
  READ_DIRECTORY,
  READ_FILE,
  SYS_FS,
  WRITE_FILE,
} from "./fs.js";
import { ERROR_RANGES } from "./method.js";

describe("sys::fs method table", () => {
  it("has the page's methods and codes, WRITE_FILE moved off READ_FILE's 0x4002", () => {
    // The page's table of contents, in order (it gives WRITE_FILE 0x4002 too: DECISION 0x4003).
    const page = [
      [0x0001, "IS_FS_MOUNTED"],
      [0x0002, "ENUM_FS"],
      [0x0003, "FS_METADATA"],
      [0x0004, "FS_MOUNT"],
      [0x0005, "FS_UNMOUNT"],
      [0x0006, "FS_WATCH"],
      [0x0007, "FS_UNWATCH"],
      [0x1000, "ITEM_EXISTS"],
      [0x1001, "FEID_TO_SPLIT"],
      [0x1002, "ITEM_METADATA"],
      [0x2000, "RENAME_ITEM"],
      [0x2001, "MOVE_ITEM"],
      [0x2002, "DELETE_ITEM"],
      [0x3000, "CREATE_DIRECTORY"],
      [0x3001, "READ_DIRECTORY"],
      [0x4000, "OPEN_FILE"],
      [0x4001, "CLOSE_FILE"],
      [0x4002, "READ_FILE"],
      [0x4003, "WRITE_FILE"],
      [0x5000, "CREATE_SYMLINK"],
      [0x5001, "UPDATE_SYMLINK"],
      [0x5002, "READ_SYMLINK"],
      [0xa000, "WATCH_ITEM"],
      [0xa001, "UNWATCH"],
      [0xf000, "FORMAT"],
    ];
    expect(SYS_FS.methods.map((d) => [d.code, d.name])).toEqual(page);
    expect(READ_FILE.code).not.toBe(WRITE_FILE.code);
    expect(SYS_FS.notifications.map((n) => [n.code, n.name])).toEqual([
      [0x0006, "FS_CHANGED"],
      [0xa000, "ITEM_CHANGED"],
    ]);
  });

  it("keeps every errcode in a conventional range, once per method, in the page's increasing order", () => {
    for (const d of SYS_FS.methods) {
      const codes = Object.values(d.errors);
      expect(new Set(codes).size, d.name).toBe(codes.length);
      expect(
        [...codes].sort((a, b) => a - b),
        d.name,
      ).toEqual(codes);
      for (const c of codes)
        expect(
          ERROR_RANGES.some((r) => c >= r.from && c <= r.to),
          `${d.name} 0x${c.toString(16)}`,
        ).toBe(true);
    }
    // MOVE_ITEM's list, from the page.
    expect(Object.values(MOVE_ITEM.errors)).toEqual([
      0x1000, 0x3000, 0x3001, 0x3002, 0x3003, 0x4000, 0x4001, 0x4002, 0x4003, 0x4fff,
    ]);
    expect(FS_METADATA.errors).toEqual({ NOT_MOUNTED: 0x3000 });
  });

  it("names only permissions of permissions.md, fs.* ones, as the page requires them", () => {
    for (const d of SYS_FS.methods) {
      const named = [...d.permissions.always, ...d.permissions.when.map((w) => w.permission)];
      for (const p of named) {
        expect(isPermission(p), `${d.name}: ${p}`).toBe(true);
        expect(p.startsWith("fs."), `${d.name}: ${p}`).toBe(true);
      }
    }
    expect(READ_DIRECTORY.permissions).toEqual({
      always: ["fs.dir.read"],
      when: [{ permission: "fs.dir.read.hidden", condition: "to also list hidden items" }],
    });
    expect(OPEN_FILE.permissions.when.map((w) => w.permission)).toEqual([
      "fs.items.create",
      "fs.items.read",
      "fs.items.write",
    ]);
    expect(DELETE_ITEM.permissions.when.map((w) => w.permission)).toEqual([
      "fs.items.remove.trash",
      "fs.items.remove",
    ]);
    // DECISION: the page's fs.path.exists is not a permission; fs.items.exists is.
    expect(isPermission("fs.path.exists")).toBe(false);
    expect(ITEM_EXISTS.permissions.when[0]?.permission).toBe("fs.items.exists");
    expect(PERMISSIONS["fs.items.exists"].level).toBe(3);
    // READ_FILE and WRITE_FILE: "None (implicitly given by the initial OPEN_FILE call)".
    expect(READ_FILE.permissions).toEqual({ always: [], when: [] });
  });

  it("lays the FSID out in 8 bytes everywhere (DECISION: the page also says 40)", () => {
    for (const d of SYS_FS.methods)
      for (const [name, type] of [...d.args, ...d.answer])
        if (name === "fsid" || name === "targetFsid")
          expect(type, d.name).toMatchObject({ size: 8 });
  });
});
