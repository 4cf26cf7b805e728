// Black-box tests of what `ncw fs` tells a person (docs/btrfs.md "The ncw fs command"): a file that
// is not an image, mkdir without -p, progress of large copies on a terminal only, and names in an
// image that are not valid UTF-8.
import { spawnSync } from "node:child_process";
import { rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { addDirEntry, addInodeRef } from "../services/fs/btrfs/dirents.js";
import { FT_REG_FILE } from "../services/fs/btrfs/format/items.js";
import { INODE_ITEM_KEY } from "../services/fs/btrfs/format/key.js";
import { maxItemSize } from "../services/fs/btrfs/format/node.js";
import { BtrfsFs } from "../services/fs/btrfs/fs.js";
import { btrfsCheck, btrfsProgsMissing, skipUnless, tempDir } from "./btrfs-oracle.js";
import { NCW_JS, ncw } from "./helpers/ncw.js";

const tmp = tempDir("ncw-fs-ux-");
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const img = path.join(tmp, "n.img");
const fsx = (...args: string[]) => ncw(["fs", ...args, "--image", img]);

/** `script` gives the command a terminal (stdout and stderr both on it); undefined when missing. */
function scriptMissing(): string | undefined {
  const r = spawnSync("script", ["--version"], { encoding: "utf8" });
  return r.status === 0 ? undefined : "util-linux `script` (a pseudo-terminal) is not installed";
}

describe("ncw fs explains", () => {
  it("that a short file is not a Btrfs image", () => {
    const small = path.join(tmp, "notes.txt");
    writeFileSync(small, "hello\n");
    const r = ncw(["fs", "ls", "/", "--image", small]);
    expect(r.status).toBe(65);
    expect(r.stderr).toContain("not a Btrfs image: no superblock at 64 KiB");
    expect(r.stderr).not.toMatch(/outside the .*device/);
  });

  it("that mkdir needs -p for a missing parent", () => {
    expect(fsx("mkfs", "--size", "128M").status).toBe(0);
    const r = fsx("mkdir", "/no/such");
    expect(r.status).toBe(66);
    expect(r.stderr).toContain("parent folder is missing");
    expect(r.stderr).toMatch(/hint: Pass -p/);
    expect(fsx("mkdir", "-p", "/no/such").status).toBe(0);
  });
});

describe("ncw fs put/get progress", () => {
  const big = path.join(tmp, "big.bin");
  writeFileSync(big, Buffer.alloc(24 << 20, 3));

  it("stays off stderr when it is not a terminal", () => {
    const put = fsx("put", big, "/big.bin");
    expect(put.status).toBe(0);
    expect(put.stderr).toBe("");
    const get = fsx("get", "/big.bin", path.join(tmp, "back.bin"));
    expect(get.status).toBe(0);
    expect(get.stderr).toBe("");
  });

  it.skipIf(skipUnless(scriptMissing()))("shows on a terminal", () => {
    const q = (s: string) => `'${s}'`;
    const run = (args: string[]) =>
      spawnSync(
        "script",
        [
          "-qec",
          // stdout to a file: what reaches the terminal is stderr only.
          `${[process.execPath, NCW_JS, ...args].map(q).join(" ")} > ${q(path.join(tmp, "out.txt"))}`,
          "/dev/null",
        ],
        { encoding: "utf8", timeout: 60_000 },
      );
    const put = run(["fs", "put", big, "/big2.bin", "--image", img]);
    expect(put.status).toBe(0);
    expect(put.stdout).toMatch(/put \/big2\.bin \d+% .*\/ 24\.0 MiB/);
    const get = run(["fs", "get", "/big2.bin", path.join(tmp, "back2.bin"), "--image", img]);
    expect(get.status).toBe(0);
    expect(get.stdout).toMatch(/get \/big2\.bin \d+%/);
  });
});

describe("names that are not valid UTF-8", () => {
  const raw = new Uint8Array([0x72, 0x61, 0x77, 0xff, 0x2e, 0x62, 0x69, 0x6e]); // "raw\xff.bin"
  const when = Date.UTC(2024, 4, 6, 7, 8, 9);

  it("are listed with their size, time and FEID, and their bytes in --json", async () => {
    const image = path.join(tmp, "names.img");
    const f = BtrfsFs.create(image, 128n << 20n, { metadata: "single" });
    const top = f.top();
    const id = await f.createFile(top, "tmp-name", new Uint8Array(5000).fill(9), { nowMs: when });
    // A second name made of raw bytes (no API takes one), then the first goes.
    f.run((t) => {
      const index = addDirEntry(
        t,
        top,
        raw,
        { objectid: id.ino, type: INODE_ITEM_KEY, offset: 0n },
        FT_REG_FILE,
        f.inode(top)!.mtime,
        f.inodes,
      );
      addInodeRef(t, id, top.ino, raw, index, maxItemSize(t.nodesize), true);
      const v = f.inodes.get(t, id);
      v.nlink += 1;
      f.inodes.put(t, id, v);
    });
    f.unlink(top, "tmp-name");
    f.close();

    const ls = ncw(["fs", "ls", "/", "--json", "--image", image]);
    expect(ls.status).toBe(0);
    const rows = JSON.parse(ls.stdout) as {
      name: string;
      nameHex?: string;
      size: number;
      mtimeMs: number;
      feid: string;
    }[];
    expect(rows).toHaveLength(1);
    expect(rows[0]!.name).toBe("raw\ufffd.bin");
    expect(rows[0]!.nameHex).toBe(Buffer.from(raw).toString("hex"));
    expect(rows[0]!.size).toBe(5000);
    expect(rows[0]!.mtimeMs).toBe(when);
    expect(rows[0]!.feid).not.toBe("0");
    const long = ncw(["fs", "ls", "-l", "/", "--image", image]);
    expect(long.status).toBe(0);
    expect(long.stdout).toContain("5000 2024-05-06T07:08:09.000Z");
    expect(long.stdout).not.toContain("1970");
  });

  it.skipIf(skipUnless(btrfsProgsMissing()))("leave an image btrfs check accepts", () => {
    const r = btrfsCheck(path.join(tmp, "names.img"));
    expect(r.ok, r.output).toBe(true);
  });
});
