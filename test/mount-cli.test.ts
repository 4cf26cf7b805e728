// `ncw mount` / `ncw umount` as a user meets them (docs/cli.md, docs/sysfs.md "Host mounts"): the table
// they keep in the home, --list and --json, and each refusal with its code and exit status.

import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ncw } from "./helpers/ncw.js";

const tmp = mkdtempSync(path.join(os.tmpdir(), "ncw-mount-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const HOME = path.join(tmp, "home");
const env = { NCW_HOME: HOME, NO_COLOR: "1" };
const run = (args: string[]) => ncw(args, { env, cwd: tmp });
const json = (args: string[]) => {
  const r = run(["--json", ...args]);
  return { status: r.status, doc: JSON.parse(r.stdout) as Record<string, unknown> };
};
const errorCode = (args: string[]) => {
  const { status, doc } = json(args);
  return [status, (doc.error as { code: string } | undefined)?.code];
};

describe("ncw mount", () => {
  const photos = path.join(tmp, "photos");
  mkdirSync(photos);
  writeFileSync(path.join(tmp, "file"), "x");

  it("mounts, lists and unmounts, keeping the table in the home's mounts.json", () => {
    const m = run(["mount", photos, "photos", "--read-only"]);
    expect(m.status, m.stderr).toBe(0);
    expect(m.stdout).toContain(`mounted ${photos} as /mnt/photos (read-only)`);
    const list = json(["mount", "--list"]);
    expect(list.status).toBe(0);
    const [entry] = list.doc as unknown as {
      name: string;
      path: string;
      host: string;
      readOnly: boolean;
      fsid: string;
    }[];
    expect(entry).toMatchObject({
      name: "photos",
      path: "/mnt/photos",
      host: photos,
      readOnly: true,
    });
    expect(entry!.fsid).toMatch(/^[0-9a-f]{16}$/);
    const table = JSON.parse(readFileSync(path.join(HOME, "mounts.json"), "utf8")) as {
      format: string;
      mounts: { fsid: string }[];
    };
    expect(table.format).toBe("ncw-mounts");
    expect(table.mounts.map((x) => x.fsid)).toEqual([entry!.fsid]);
    expect(run(["mount", "--list"]).stdout).toBe(`/mnt/photos\t${photos}\tread-only\n`);
    const um = json(["umount", "photos"]);
    expect(um.status).toBe(0);
    expect(um.doc).toMatchObject({ name: "photos", kernelTold: false });
    expect(run(["mount", "--list"]).stdout).toBe("no host mounts\n");
    expect(json(["mount", "--list"]).doc).toEqual([]);
  });

  it("refuses what cannot be mounted, each with its code", () => {
    expect(errorCode(["mount", path.join(tmp, "nope"), "x"])).toEqual([66, "MOUNT_NO_HOST_DIR"]);
    expect(errorCode(["mount", path.join(tmp, "file"), "x"])).toEqual([2, "MOUNT_NOT_A_FOLDER"]);
    for (const bad of ["..", "a/b", "root", " "])
      expect(errorCode(["mount", photos, bad]), bad).toEqual([2, "MOUNT_BAD_NAME"]);
    expect(errorCode(["mount", HOME, "h"])).toEqual([2, "MOUNT_HOME"]);
    expect(errorCode(["mount", photos])).toEqual([2, "MOUNT_MISSING_ARGS"]);
    expect(errorCode(["mount", "--list", photos])).toEqual([2, "MOUNT_LIST_ARGS"]);
    expect(run(["mount", photos, "p"]).status).toBe(0);
    const other = path.join(tmp, "other");
    mkdirSync(other);
    expect(errorCode(["mount", other, "p"])).toEqual([80, "MOUNT_NAME_TAKEN"]);
    expect(errorCode(["mount", photos, "again"])).toEqual([80, "MOUNT_ALREADY_MOUNTED"]);
    expect(errorCode(["umount", "nothing"])).toEqual([66, "MOUNT_UNKNOWN"]);
    const missing = run(["umount"]);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toContain("missing <name>: usage is `ncw umount <name>`");
    // The refusals changed nothing.
    expect(
      (json(["mount", "--list"]).doc as unknown as { name: string }[]).map((x) => x.name),
    ).toEqual(["p"]);
  });

  it("a table that does not parse is an error, not an empty list", () => {
    const home2 = path.join(tmp, "home2");
    mkdirSync(home2);
    writeFileSync(path.join(home2, "mounts.json"), "{");
    const r = ncw(["--json", "mount", "--list"], { env: { NCW_HOME: home2 }, cwd: tmp });
    expect(r.status).toBe(65);
    expect((JSON.parse(r.stdout) as { error: { code: string } }).error.code).toBe(
      "MOUNT_BAD_TABLE",
    );
  });
});
