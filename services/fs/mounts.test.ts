// The home's mount table (mounts.ts; docs/sysfs.md "Host mounts"): what `ncw mount` accepts and
// refuses, and what a kernel reads back.

import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { tempDir } from "../../test/btrfs-oracle.js";
import {
  addMount,
  fsidOfMount,
  mountNameProblem,
  mountTablePath,
  readMounts,
  removeMount,
} from "./mounts.js";

const dir = tempDir("ncw-mounts-");
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
let n = 0;
function place() {
  const root = path.join(dir, `p${n++}`);
  const home = path.join(root, "home");
  const host = path.join(root, "photos");
  fs.mkdirSync(home, { recursive: true });
  fs.mkdirSync(host);
  fs.writeFileSync(path.join(root, "file"), "x");
  return { root, home, host };
}
const codeOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (e) {
    return (e as { code?: string }).code;
  }
  return "no error";
};

describe("the mount table", () => {
  it("keeps each mount with its host folder's real path, its option and an FSID of its own", () => {
    const p = place();
    fs.symlinkSync(p.host, path.join(p.root, "via-link"));
    const a = addMount(p.home, path.join(p.root, "via-link"), "photos", { readOnly: true });
    fs.mkdirSync(path.join(p.root, "music"));
    const b = addMount(p.home, path.join(p.root, "music", "..", "music"), "all");
    expect(a.host).toBe(fs.realpathSync(p.host));
    expect(a.readOnly).toBe(true);
    expect(b.readOnly).toBe(false);
    expect(a.fsid).toMatch(/^[0-9a-f]{16}$/);
    expect(a.fsid).not.toBe(b.fsid);
    expect(fsidOfMount(a)).toBe(BigInt(`0x${a.fsid}`));
    expect(readMounts(mountTablePath(p.home))).toEqual([a, b]);
    expect(removeMount(p.home, "photos")).toEqual(a);
    expect(readMounts(mountTablePath(p.home))).toEqual([b]);
  });

  it("refuses a missing host folder, a file, a bad or taken name, the home, a folder twice", () => {
    const p = place();
    expect(codeOf(() => addMount(p.home, path.join(p.root, "nope"), "x"))).toBe(
      "MOUNT_NO_HOST_DIR",
    );
    expect(codeOf(() => addMount(p.home, path.join(p.root, "file"), "x"))).toBe(
      "MOUNT_NOT_A_FOLDER",
    );
    for (const bad of ["", ".", "..", "a/b", "a\\b", "a\0b", "   ", "\u00a0", "root"])
      expect(
        codeOf(() => addMount(p.home, p.host, bad)),
        JSON.stringify(bad),
      ).toBe("MOUNT_BAD_NAME");
    // The spec's filenames allow the rest: spaces inside, dots, any script.
    for (const good of ["my photos", ".hidden", "фото", "a.b"])
      expect(mountNameProblem(good), good).toBeUndefined();
    expect(codeOf(() => addMount(p.home, p.home, "h"))).toBe("MOUNT_HOME");
    expect(codeOf(() => addMount(p.home, p.root, "h"))).toBe("MOUNT_HOME");
    addMount(p.home, p.host, "photos");
    expect(codeOf(() => addMount(p.home, p.host, "again"))).toBe("MOUNT_ALREADY_MOUNTED");
    fs.mkdirSync(path.join(p.root, "other"));
    expect(codeOf(() => addMount(p.home, path.join(p.root, "other"), "photos"))).toBe(
      "MOUNT_NAME_TAKEN",
    );
    expect(codeOf(() => removeMount(p.home, "nothing"))).toBe("MOUNT_UNKNOWN");
    expect(readMounts(mountTablePath(p.home)).map((m) => m.name)).toEqual(["photos"]);
  });

  it("reads no table as no mounts, and a table that does not parse as an error", () => {
    const p = place();
    expect(readMounts(mountTablePath(p.home))).toEqual([]);
    fs.writeFileSync(mountTablePath(p.home), "{");
    expect(codeOf(() => readMounts(mountTablePath(p.home)))).toBe("MOUNT_BAD_TABLE");
    fs.writeFileSync(
      mountTablePath(p.home),
      JSON.stringify({ format: "ncw-mounts", version: 1, mounts: [{ name: "../x" }] }),
    );
    expect(codeOf(() => readMounts(mountTablePath(p.home)))).toBe("MOUNT_BAD_TABLE");
  });
});
