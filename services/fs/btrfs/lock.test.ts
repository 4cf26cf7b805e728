import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { tempDir } from "../../../test/btrfs-oracle.js";
import { BtrfsFs } from "./fs.js";

const dir = tempDir();
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe("one writer per image", () => {
  it("refuses a second writer, allows readers, frees the lock on close, takes over stale locks", () => {
    const img = path.join(dir, "l.img");
    const a = BtrfsFs.create(img, 64n << 20n, { metadata: "single" });
    expect(fs.existsSync(`${img}.lock`)).toBe(true);
    expect(() => BtrfsFs.open(img)).toThrow(/already open for writing/);
    const ro = BtrfsFs.open(img, { readOnly: true });
    ro.close();
    a.close();
    expect(fs.existsSync(`${img}.lock`)).toBe(false);
    // A lock held by another live process.
    fs.writeFileSync(`${img}.lock`, `${process.ppid}\n`);
    let code = "";
    try {
      BtrfsFs.open(img);
    } catch (e) {
      code = (e as { code: string }).code;
    }
    expect(code).toBe("BTRFS_IMAGE_LOCKED");
    // A lock left by a process that has exited is taken over.
    const dead = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], {
      encoding: "utf8",
    });
    fs.writeFileSync(`${img}.lock`, `${dead.stdout}\n`);
    const b = BtrfsFs.open(img);
    expect(fs.readFileSync(`${img}.lock`, "utf8").trim()).toBe(String(process.pid));
    b.close();
  });
});
