// `ncw fs get -r` on hostile images (issue 19, docs/btrfs.md "Copying out of an image"): images
// crafted here with directory entries no NCW writes — names with "../", "/", NUL, over-long, only
// spaces, not UTF-8; the same name twice (a symlink out, then a folder or a file); a folder that
// contains itself — and destinations holding host links out. Sentinel files and folders beside the
// destination must come out untouched: nothing outside it is created, modified or deleted.

import { createHash } from "node:crypto";
import {
  linkSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { btrfsNameHash } from "../services/fs/btrfs/format/crc32c.js";
import {
  decodeDirItems,
  encodeDirItems,
  FT_DIR,
  FT_REG_FILE,
  FT_SYMLINK,
} from "../services/fs/btrfs/format/items.js";
import { DIR_INDEX_KEY, DIR_ITEM_KEY, INODE_ITEM_KEY } from "../services/fs/btrfs/format/key.js";
import { BtrfsFs } from "../services/fs/btrfs/fs.js";
import type { InodeId } from "../services/fs/btrfs/fsread.js";
import { tempDir } from "./btrfs-oracle.js";
import { ncw } from "./helpers/ncw.js";

const tmp = tempDir("ncw-fs-escape-");
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const img = path.join(tmp, "hostile.img");
const enc = (s: string) => new TextEncoder().encode(s);

let nextIndex = 1000n;
/**
 * Adds a directory entry `name` in `dir` pointing at `target` straight into the trees, bypassing
 * every name check (test code only): a DIR_INDEX, and the name in its DIR_ITEM (after any entry of
 * the same name already there, which lookups by name then find first).
 */
function rawEntry(f: BtrfsFs, dir: InodeId, name: Uint8Array, target: InodeId, type: number) {
  const t = f.tx();
  const entry = {
    location: { objectid: target.ino, type: INODE_ITEM_KEY, offset: 0n },
    transid: t.generation,
    type,
    name,
    data: new Uint8Array(0),
  };
  t.insertItem(
    dir.root,
    { objectid: dir.ino, type: DIR_INDEX_KEY, offset: nextIndex++ },
    encodeDirItems([entry]),
  );
  const key = { objectid: dir.ino, type: DIR_ITEM_KEY, offset: BigInt(btrfsNameHash(name)) };
  const had = t.lookup(dir.root, key);
  t.putItem(dir.root, key, encodeDirItems([...(had ? decodeDirItems(had) : []), entry]));
}

/** Where each case copies to, and the sentinels beside it (`<case>/sentinel*`, `<case>/a/`). */
const caseRoot = (c: string) => path.join(tmp, "out", c);
const destOf = (c: string) => path.join(caseRoot(c), "a", "dest");

beforeAll(async () => {
  const f = BtrfsFs.create(img, 128n << 20n, { metadata: "single" });
  const top = f.top();
  const store = f.create(top, "store", "dir");
  const file = f.create(store, "file.txt", "file");
  await f.writeFile(file, enc("from the image"));
  const emptyDir = f.create(store, "empty", "dir");
  const pwn = f.create(store, "pwn", "dir");
  await f.writeFile(f.create(pwn, "pwned.txt", "file"), enc("pwned"));
  const cases = f.create(top, "cases", "dir");
  const mk = (c: string) => {
    const d = f.create(cases, c, "dir");
    f.link(file, d, "ok.txt");
    return d;
  };
  const link = (c: string, name: string, target: string) =>
    f.create(store, `${c}-${name}`, "symlink", { target });

  // Names that climb out of the destination.
  const climb = mk("climb");
  rawEntry(f, climb, enc("..//beside.txt"), link("climb", "l", "x"), FT_SYMLINK);
  rawEntry(f, climb, enc("../made-outside"), emptyDir, FT_DIR);
  rawEntry(f, climb, enc("x/../../slash-made"), emptyDir, FT_DIR);
  rawEntry(f, climb, enc("z/../../climbed.txt"), file, FT_REG_FILE);

  // Names the spec (or Btrfs) forbids.
  const names = mk("names");
  for (const bad of [
    enc("/abs-made"),
    enc("a\0b"),
    enc("x".repeat(300)),
    enc(""),
    enc("."),
    enc(".."),
    enc("   "),
    enc("\u00a0 \u202f"),
    new Uint8Array([0x66, 0xff, 0xfe]),
  ])
    rawEntry(f, names, bad, file, FT_REG_FILE);
  rawEntry(f, names, enc("again"), names, FT_DIR); // a folder that contains itself

  // The same name twice: a symlink out of the destination, then a folder or a file. (The targets
  // also lead, inside the image, to a folder and a file, which an NCW that looked names up again
  // by path would then have copied through the host link.)
  const dups = mk("dups");
  await f.writeFile(f.create(cases, "victim.txt", "file"), enc("through the link"));
  rawEntry(f, dups, enc("evil"), link("dups", "evil", "../../store/pwn"), FT_SYMLINK);
  rawEntry(f, dups, enc("evil"), pwn, FT_DIR);
  rawEntry(f, dups, enc("evil2"), link("dups", "evil2", "../victim.txt"), FT_SYMLINK);
  rawEntry(f, dups, enc("evil2"), file, FT_REG_FILE);

  // Valid names, met by host links out of the destination; and links whose targets point out.
  const host = mk("host");
  await f.writeFile(f.create(f.create(host, "existing", "dir"), "pwned.txt", "file"), enc("pwned"));
  f.link(file, host, "existing-file");
  f.create(host, "out-rel", "symlink", { target: "../../sentinel.txt" });
  f.create(host, "out-abs", "symlink", { target: path.join(caseRoot("host"), "victim.txt") });
  f.close();

  for (const c of ["climb", "names", "dups", "host"]) {
    mkdirSync(path.join(caseRoot(c), "a"), { recursive: true });
    writeFileSync(path.join(caseRoot(c), "sentinel.txt"), "sentinel");
    writeFileSync(path.join(caseRoot(c), "victim.txt"), "victim");
    mkdirSync(path.join(caseRoot(c), "sentinel-dir"));
    writeFileSync(path.join(caseRoot(c), "sentinel-dir", "inner.txt"), "inner");
    writeFileSync(path.join(caseRoot(c), "a", "beside.txt"), "beside");
    writeFileSync(path.join(caseRoot(c), "a", "victim.txt"), "victim");
    mkdirSync(path.join(caseRoot(c), "store", "pwn"), { recursive: true });
    writeFileSync(path.join(caseRoot(c), "store", "pwn", "inner.txt"), "inner");
  }
});

/** Every host item under `root` except `skip`'s subtree: kind, and content or link target. */
function snapshot(root: string, skip: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const n of readdirSync(d)) {
      const p = path.join(d, n);
      if (p === skip) continue;
      const st = lstatSync(p);
      const rel = path.relative(root, p);
      if (st.isSymbolicLink()) out[rel] = `link ${readlinkSync(p)}`;
      else if (st.isDirectory()) {
        out[rel] = "dir";
        walk(p);
      } else
        out[rel] =
          `file ${createHash("sha256").update(readFileSync(p)).digest("hex")} ${st.mtimeMs}`;
    }
  };
  walk(root);
  return out;
}

/** Runs `ncw fs get -r /cases/<c>` into its destination; the tree outside must not change. */
function getCase(c: string, prepare?: (dest: string) => void) {
  const dest = destOf(c);
  if (prepare) prepare(dest);
  const before = snapshot(tmp, dest);
  const r = ncw(["fs", "get", "-r", `/cases/${c}`, dest, "--image", img, "--json"]);
  expect(snapshot(tmp, dest), `outside the destination after get -r /cases/${c}`).toEqual(before);
  expect(r.stderr).not.toMatch(/\bat .*\.js:\d+/); // no stack trace
  return { ...r, dest, entries: readdirSync(dest).sort() };
}

describe("ncw fs get -r on a hostile image", () => {
  it("refuses names that climb out of the destination", () => {
    const r = getCase("climb");
    expect(r.status).toBe(65);
    expect(r.entries).toEqual(["ok.txt"]);
    expect(r.stderr.match(/skipped .*: not a valid file name: it contains '\/'/g)).toHaveLength(4);
    expect(readFileSync(path.join(caseRoot("climb"), "a", "beside.txt"), "utf8")).toBe("beside");
  });

  it("refuses names the spec forbids, and a folder that contains itself", () => {
    const r = getCase("names");
    expect(r.status).toBe(65);
    expect(r.entries).toEqual(["ok.txt"]);
    const skipped = (JSON.parse(r.stdout) as { skipped: { reason: string }[] }).skipped.map(
      (s) => s.reason,
    );
    expect(skipped).toEqual([
      "not a valid file name: it contains '/'",
      "not a valid file name: it contains a NUL character",
      "not a valid file name: longer than Btrfs' 255 bytes",
      "not a valid file name: it is empty",
      'not a valid file name: it is "."',
      'not a valid file name: it is ".."',
      "not a valid file name: it is made only of spaces",
      "not a valid file name: it is made only of spaces",
      "not a valid file name: it is not valid UTF-8",
      "a folder met a second time (the image names it twice or loops)",
    ]);
  });

  it("uses a name once: a symlink out is never followed by an entry of the same name", () => {
    const r = getCase("dups");
    expect(r.status).toBe(65);
    expect(r.entries).toEqual(["evil", "evil2", "ok.txt"]);
    expect(lstatSync(path.join(r.dest, "evil")).isSymbolicLink()).toBe(true);
    expect(r.stderr.match(/a second entry with the same name/g)).toHaveLength(2);
    expect(readlinkSync(path.join(r.dest, "evil"))).toBe("../../store/pwn");
    expect(readdirSync(path.join(caseRoot("dups"), "store", "pwn"))).toEqual(["inner.txt"]);
    expect(readFileSync(path.join(caseRoot("dups"), "a", "victim.txt"), "utf8")).toBe("victim");
  });

  it("never writes through host symlinks or hard links already in the destination", () => {
    const r = getCase("host", (dest) => {
      mkdirSync(dest, { recursive: true });
      symlinkSync(path.join(caseRoot("host"), "sentinel-dir"), path.join(dest, "existing"));
      linkSync(path.join(caseRoot("host"), "victim.txt"), path.join(dest, "ok.txt"));
      symlinkSync(path.join(caseRoot("host"), "sentinel.txt"), path.join(dest, "existing-file"));
    });
    expect(r.status, r.stderr).toBe(0);
    expect(r.entries).toEqual(["existing", "existing-file", "ok.txt", "out-abs", "out-rel"]);
    expect(lstatSync(path.join(r.dest, "existing")).isDirectory()).toBe(true);
    expect(readFileSync(path.join(r.dest, "ok.txt"), "utf8")).toBe("from the image");
    expect(lstatSync(path.join(r.dest, "existing-file")).isSymbolicLink()).toBe(false);
    // Links pointing out are made as they are, and nothing is written through them.
    expect(readlinkSync(path.join(r.dest, "out-rel"))).toBe("../../sentinel.txt");
    expect(readFileSync(path.join(caseRoot("host"), "victim.txt"), "utf8")).toBe("victim");
    expect(readFileSync(path.join(caseRoot("host"), "sentinel.txt"), "utf8")).toBe("sentinel");
  });
});
