// Black-box tests of `ncw fs` (run as a user would: node dist/cli/ncw.js fs …), with btrfs check
// as the oracle on what it leaves behind.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { btrfsCheck, btrfsProgsMissing, skipUnless } from "./btrfs-oracle.js";
import { ncw } from "./helpers/ncw.js";

const tmp = mkdtempSync(path.join(os.tmpdir(), "ncw-fs-cli-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const img = path.join(tmp, "n.img");
const home = path.join(tmp, "home");
const fsx = (...args: string[]) => ncw(["--home", home, "fs", ...args, "--image", img]);

describe("ncw fs", () => {
  it("makes an image, fills it, lists, reads, snapshots, removes and checks it", () => {
    expect(fsx("mkfs", "--size", "96M").status).toBe(0);
    expect(fsx("mkfs", "--size", "96M").status).toBe(80); // exists: conflict
    const host = path.join(tmp, "data.bin");
    const data = Buffer.alloc(3 * 1024 * 1024 + 5, 7);
    data.write("NightOS", 1000);
    writeFileSync(host, data);
    expect(fsx("mkdir", "-p", "/home/user/docs").status).toBe(0);
    expect(fsx("put", host, "/home/user/docs/data.bin").status).toBe(0);
    writeFileSync(path.join(tmp, "t.txt"), "text ".repeat(20000));
    expect(
      fsx("put", path.join(tmp, "t.txt"), "/home/user/t.txt", "--compress", "zstd").status,
    ).toBe(0);
    const ls = fsx("ls", "/home/user", "--json");
    expect(ls.status).toBe(0);
    const rows = JSON.parse(ls.stdout) as { name: string; kind: string; size: number }[];
    expect(rows.map((r) => [r.name, r.kind])).toEqual([
      ["docs", "dir"],
      ["t.txt", "file"],
    ]);
    expect(fsx("cat", "/home/user/t.txt").stdout).toBe("text ".repeat(20000));
    const out = path.join(tmp, "back.bin");
    expect(fsx("get", "/home/user/docs/data.bin", out).status).toBe(0);
    expect(readFileSync(out).equals(data)).toBe(true);
    const snap = fsx("snapshot", "/", "/snap", "--json");
    expect(snap.status).toBe(0);
    expect(JSON.parse(snap.stdout).id).toBe(256);
    expect(fsx("rm", "-r", "/home").status).toBe(0);
    expect(fsx("cat", "/snap/home/user/t.txt").stdout).toBe("text ".repeat(20000));
    const missing = fsx("cat", "/home/user/t.txt");
    expect(missing.status).toBe(66);
    expect(missing.stderr).toContain("error:");
    const info = JSON.parse(fsx("info", "--json").stdout) as {
      features: string[];
      subvolumes: { name: string }[];
      crc32c: string;
      dataCacheBytes: number;
    };
    expect(info.features).toContain("free_space_tree");
    expect(["native", "wasm", "js"]).toContain(info.crc32c);
    expect(info.dataCacheBytes).toBeGreaterThan(0);
    expect(info.subvolumes.map((s) => s.name)).toEqual(["snap"]);
    // a host folder, recursively
    const tree = path.join(tmp, "tree");
    mkdirSync(path.join(tree, "a/b"), { recursive: true });
    writeFileSync(path.join(tree, "a/b/c.txt"), "deep");
    writeFileSync(path.join(tree, "top.txt"), "top");
    symlinkSync("a/b/c.txt", path.join(tree, "ln"));
    expect(fsx("put", tree, "/imported").status).toBe(2);
    const put = fsx("put", "-r", tree, "/imported", "--json");
    expect(put.status).toBe(0);
    expect(JSON.parse(put.stdout)).toMatchObject({ files: 2, dirs: 2, links: 1 });
    expect(fsx("cat", "/imported/ln").stdout).toBe("deep");
    const back = path.join(tmp, "back");
    expect(fsx("get", "-r", "/imported", back).status).toBe(0);
    expect(readFileSync(path.join(back, "a/b/c.txt"), "utf8")).toBe("deep");
    expect(readFileSync(path.join(back, "ln"), "utf8")).toBe("deep");
    const check = fsx("check");
    expect(check.stdout).toContain("no problems found");
    expect(check.status).toBe(0);
  });

  it("creates, lists and deletes subvolumes, nested ones with them", () => {
    expect(fsx("subvolume", "create", "/vols").status).toBe(0);
    expect(fsx("subvolume", "create", "/vols/inner").status).toBe(0);
    writeFileSync(path.join(tmp, "in.txt"), "inside");
    expect(fsx("put", path.join(tmp, "in.txt"), "/vols/inner/in.txt").status).toBe(0);
    expect(fsx("mkdir", "/plain").status).toBe(0);
    const names = () =>
      (JSON.parse(fsx("subvolume", "list", "--json").stdout) as { name: string }[])
        .map((s) => s.name)
        .sort();
    expect(names()).toEqual(["inner", "snap", "vols"]);
    const plain = fsx("subvolume", "delete", "/plain");
    expect(plain.status).toBe(2);
    expect(plain.stderr).toContain("rm -r");
    expect(fsx("subvolume", "delete").status).toBe(2);
    expect(fsx("subvolume", "delete", "/nope").status).toBe(66);
    const del = fsx("subvolume", "delete", "/vols", "--json");
    expect(del.status).toBe(0);
    expect(JSON.parse(del.stdout).deleted).toBe("/vols");
    expect(names()).toEqual(["snap"]);
    expect(fsx("ls", "/vols").status).toBe(66);
    expect(fsx("check").status).toBe(0);
  });

  it("explains bad input without a stack trace", () => {
    const r = ncw(["fs", "ls", "/", "--image", path.join(tmp, "nope.img")]);
    expect(r.status).toBe(66);
    expect(r.stderr).toContain("ncw fs mkfs");
    const notBtrfs = path.join(tmp, "junk.img");
    writeFileSync(notBtrfs, Buffer.alloc(1 << 20, 1));
    const j = ncw(["fs", "info", "--image", notBtrfs]);
    expect(j.status).toBe(65);
    expect(j.stderr).toMatch(/superblock|Btrfs/);
    expect(j.stderr).not.toMatch(/\bat .*\.js:\d+/);
    // All zeros where the superblock goes: what an interrupted image creation of an older NCW left.
    const zeros = path.join(tmp, "zeros.img");
    writeFileSync(zeros, Buffer.alloc(1 << 20));
    const z = ncw(["fs", "ls", "/", "--image", zeros]);
    expect(z.status).toBe(65);
    expect(z.stderr).toMatch(/all zeros/);
    expect(z.stderr).toMatch(/interrupted/);
    expect(z.stderr).not.toMatch(/btrfs rescue/);
    expect(ncw(["fs", "mkfs", path.join(tmp, "x.img"), "--size", "12Q"]).status).toBe(2);
    expect(ncw(["fs", "--help"]).stdout).toContain("snapshot");
  });

  it.skipIf(skipUnless(btrfsProgsMissing()))("leaves an image btrfs check accepts", () => {
    const r = btrfsCheck(img);
    expect(r.ok, r.output).toBe(true);
  });
});
