// Every malformed package and update given to `ncw skyer` gets a clear error with its code, and the
// home is untouched: each test snapshots the whole home before and after the failed command (what
// "untouched" means on the Btrfs image: test/skyer-fixtures.ts Untouched, docs/skyer.md).

import { rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeHashFile } from "../ncw/package/hashfile.js";
import { compressPackage } from "../ncw/package/zstd.js";
import { encodeNauMetadata } from "../services/skyer/nau.js";
import { ncw as run } from "./helpers/ncw.js";
import {
  expectUntouched,
  homeState,
  makePackage,
  manifestToml,
  tempDir,
  type Untouched,
} from "./skyer-fixtures.js";

const work = tempDir("ncw-skyer-bad-");
afterAll(() => rmSync(work, { recursive: true, force: true }));
const enc = (s: string) => new TextEncoder().encode(s);

// A raw ustar writer, so the tests can build archives no well-behaved writer would produce.
type RawEntry = { name: string; type?: "0" | "2" | "5"; data?: Uint8Array; link?: string };
function rawTar(entries: RawEntry[]): Uint8Array {
  const blocks: Uint8Array[] = [];
  for (const e of entries) {
    const h = new Uint8Array(512);
    const put = (off: number, s: string) => h.set(enc(s), off);
    const data = e.data ?? new Uint8Array(0);
    put(0, e.name);
    put(100, "0000644\0");
    put(108, "0000000\0");
    put(116, "0000000\0");
    put(124, `${data.length.toString(8).padStart(11, "0")}\0`);
    put(136, "00000000000\0");
    put(156, e.type ?? "0");
    if (e.link !== undefined) put(157, e.link);
    put(257, "ustar\0");
    put(263, "00");
    h.fill(0x20, 148, 156);
    let sum = 0;
    for (const b of h) sum += b;
    put(148, `${sum.toString(8).padStart(6, "0")}\0 `);
    blocks.push(h);
    if (data.length > 0) {
      const padded = new Uint8Array(Math.ceil(data.length / 512) * 512);
      padded.set(data);
      blocks.push(padded);
    }
  }
  blocks.push(new Uint8Array(1024));
  return Buffer.concat(blocks);
}

/** Set the first zstd block's type to 3 (reserved, RFC 8878 §3.1.1.2.2). */
function corruptFirstBlock(frame: Uint8Array): Uint8Array {
  const fhd = frame[4]!;
  const single = (fhd >> 5) & 1;
  const fcsSize = [single ? 1 : 0, 2, 4, 8][fhd >> 6]!;
  const dictSize = [0, 1, 2, 4][fhd & 3]!;
  const at = 5 + (single ? 0 : 1) + dictSize + fcsSize;
  frame[at]! |= 0b110;
  return frame;
}

/** A package whose files are given, with a correct hash.md5 unless `hash` overrides it. */
async function pkgOf(
  files: Record<string, string>,
  extra: RawEntry[] = [],
  hash?: string,
): Promise<Uint8Array> {
  const map = new Map(Object.entries(files).map(([k, v]) => [k, enc(v)]));
  const entries: RawEntry[] = [...map].map(([name, data]) => ({ name, data }));
  entries.push({ name: "hash.md5", data: enc(hash ?? encodeHashFile(map)) });
  return compressPackage(rawTar([...entries, ...extra]));
}

const GOOD = {
  // Names main.npp as its pre-compiled program (whose bytes here are not an NPP).
  "manifest.toml": manifestToml({ aid: "dev::notes", version: "1.0.0", npp: new Uint8Array() }),
  "main.npp": "program",
  "icon-16.svg": "<svg/>",
};

let home = "";
let installed = "";
let n = 0;

beforeAll(async () => {
  home = path.join(work, "home");
  installed = await makePackage(work, { aid: "dev::notes", version: "1.0.0" });
  const r = run(["--home", home, "skyer", "install", installed]);
  expect(r.status, r.stderr).toBe(0);
});

/** Run a failing skyer command on the shared home and check the error and the untouched home. */
async function expectRejected(
  args: string[],
  exit: number,
  code: string | RegExp,
  mention?: string,
  untouched: Untouched = "bytes",
): Promise<void> {
  const before = await homeState(home);
  const r = run(["--home", home, ...args, "--json"]);
  expect(r.status, r.stdout + r.stderr).toBe(exit);
  const err = (JSON.parse(r.stdout) as { error: { code: string; message: string } }).error;
  if (typeof code === "string") expect(err.code).toBe(code);
  else expect(err.code).toMatch(code);
  if (mention !== undefined) expect(err.message).toContain(mention);
  await expectUntouched(home, before, untouched);
}

async function install(bytes: Uint8Array, exit: number, code: string | RegExp, mention?: string) {
  const file = path.join(work, `bad-${++n}.nap`);
  writeFileSync(file, bytes);
  await expectRejected(["skyer", "install", file], exit, code, mention);
}

describe("malformed packages leave the home untouched", () => {
  it("a path traversal entry", async () => {
    await install(
      await pkgOf(GOOD, [{ name: "../evil.txt", data: enc("x") }]),
      65,
      "PKG_PATH_TRAVERSAL",
      "../evil.txt",
    );
  });
  it("an absolute path entry", async () => {
    await install(
      await pkgOf(GOOD, [{ name: "/tmp/evil.txt", data: enc("x") }]),
      65,
      "PKG_PATH_ABSOLUTE",
      "/tmp/evil.txt",
    );
  });
  it("a symlink pointing outside the package", async () => {
    await install(
      await pkgOf(GOOD, [{ name: "escape", type: "2", link: "../../../etc/passwd" }]),
      65,
      "PKG_LINK_OUTSIDE",
      "escape",
    );
  });
  it("duplicate entries", async () => {
    await install(
      await pkgOf(GOOD, [{ name: "main.npp", data: enc("again") }]),
      65,
      "PKG_DUPLICATE_ENTRY",
      "main.npp",
    );
  });
  it("a truncated zstd stream", async () => {
    const good = await pkgOf(GOOD);
    await install(good.subarray(0, good.length - 7), 65, "PKG_ZSTD_TRUNCATED");
  });
  it("a truncated tar inside a valid zstd stream", async () => {
    const tar = rawTar(Object.entries(GOOD).map(([name, v]) => ({ name, data: enc(v) })));
    await install(await compressPackage(tar.subarray(0, 700)), 65, "PKG_TAR_TRUNCATED");
  });
  it("a corrupt tar header (bad checksum)", async () => {
    const tar = rawTar(Object.entries(GOOD).map(([name, v]) => ({ name, data: enc(v) })));
    tar[0] = tar[0]! ^ 0x20; // the first header's name changes, its checksum no longer matches
    await install(await compressPackage(tar), 65, "PKG_TAR_BAD_CHECKSUM");
  });
  it("corrupt zstd data: a reserved block type", async () => {
    const bad = Uint8Array.from(await pkgOf(GOOD));
    await install(corruptFirstBlock(bad), 65, "PKG_ZSTD_CORRUPT");
  });
  it("corrupt zstd data: a frame that declares more than its blocks hold", async () => {
    const fcs = Buffer.alloc(8);
    fcs.writeBigUInt64LE(1n << 31n);
    const block = 1 | (0 << 1) | (5 << 3); // last, raw, 5 bytes
    const frame = Buffer.concat([
      Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0xe0]),
      fcs,
      Buffer.from([block & 0xff, (block >> 8) & 0xff, block >> 16, 1, 2, 3, 4, 5]),
    ]);
    await install(frame, 65, "PKG_ZSTD_CORRUPT");
  });
  it("a file that is not a package", async () => {
    await install(enc("hello, I am not zstd"), 65, "PKG_NOT_ZSTD");
  });
  it("a hash mismatch", async () => {
    const hash = encodeHashFile(new Map(Object.entries(GOOD).map(([k, v]) => [k, enc(v)]))).replace(
      /^[0-9a-f]{32}( {2}main\.npp)$/m,
      `${"0".repeat(32)}$1`,
    );
    await install(await pkgOf(GOOD, [], hash), 65, "PKG_HASH_MISMATCH", "main.npp");
  });
  it("a missing manifest", async () => {
    const { "manifest.toml": _m, ...rest } = GOOD;
    await install(await pkgOf(rest), 65, "PKG_MANIFEST_MISSING");
  });
  it("a manifest that breaks a rule", async () => {
    const bad = {
      ...GOOD,
      "manifest.toml": GOOD["manifest.toml"].replace('slug = "notes"', 'slug = "9Notes"'),
    };
    await install(await pkgOf(bad), 65, "MANIFEST_INVALID", "infos.slug");
  });
  it("a program the manifest names but the package lacks", async () => {
    const { "main.npp": _p, ...rest } = GOOD;
    await install(await pkgOf(rest), 65, "PKG_MISSING_FILE", "main.npp");
  });
  it("a pre-compiled program that fails the AOT step", async () => {
    await install(await pkgOf(GOOD), 65, "NPP_BAD_MAGIC", "main.npp");
  });
  it("a decompression bomb: the ratio limit", async () => {
    const bomb = await compressPackage(
      rawTar([{ name: "zeros", data: new Uint8Array(40 * 1024 * 1024) }]),
    );
    await install(bomb, 65, "PKG_RATIO_EXCEEDED", "ratio over 1000");
  });
  it("a decompression bomb: the size limit, refused before expanding", async () => {
    // 1.3 MB of zstd blocks (10 raw, 8192 RLE) that would expand to 1 GiB + 1.25 MiB, a ratio of
    // only 800: the 1 GiB total-size limit refuses it from the block headers alone.
    const B = 128 * 1024;
    const header = (last: number, type: number, size: number) => {
      const h = last | (type << 1) | (size << 3);
      return Buffer.from([h & 0xff, (h >> 8) & 0xff, h >> 16]);
    };
    const fcs = Buffer.alloc(8);
    fcs.writeBigUInt64LE(BigInt((10 + 8192) * B));
    const parts = [Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0xe0]), fcs];
    for (let i = 0; i < 10; i++) parts.push(header(0, 0, B), Buffer.alloc(B, i + 1));
    for (let i = 0; i < 8192; i++) parts.push(header(i === 8191 ? 1 : 0, 1, B), Buffer.from([0]));
    await install(Buffer.concat(parts), 65, "PKG_TOO_LARGE", "1073741824");
  });
  it("a missing package file", async () => {
    await expectRejected(
      ["skyer", "install", path.join(work, "nope.nap")],
      66,
      "SKYER_PACKAGE_UNREADABLE",
    );
    await expectRejected(
      ["skyer", "update", "dev::notes", path.join(work, "nope.nau")],
      66,
      "SKYER_PACKAGE_UNREADABLE",
    );
    await expectRejected(
      ["skyer", "make-update", installed, path.join(work, "nope.nap")],
      66,
      "SKYER_PACKAGE_UNREADABLE",
      "nope.nap",
    );
  });
});

function nauOf(entries: RawEntry[]): Uint8Array {
  return gzipSync(rawTar(entries));
}
const META = encodeNauMetadata({ aid: "dev::notes", from: "1.0.0", to: "1.1.0", remove: [] });

async function update(
  bytes: Uint8Array,
  exit: number,
  code: string | RegExp,
  mention?: string,
  untouched: Untouched = "bytes",
) {
  const file = path.join(work, `bad-${++n}.nau`);
  writeFileSync(file, bytes);
  await expectRejected(["skyer", "update", "dev::notes", file], exit, code, mention, untouched);
}

describe("malformed updates leave the home untouched", () => {
  it("not gzip", async () => {
    await update(enc("plain text"), 65, "NAU_NOT_GZIP");
  });
  it("truncated gzip", async () => {
    const good = nauOf([{ name: "metadata", data: enc(META) }]);
    await update(good.subarray(0, good.length - 10), 65, "NAU_CORRUPT");
  });
  it("a gzip bomb", async () => {
    await update(gzipSync(new Uint8Array(100 * 1024 * 1024)), 65, "NAU_BOMB");
  });
  it("no metadata", async () => {
    await update(nauOf([{ name: "files/main.npp", data: enc("x") }]), 65, "NAU_NO_METADATA");
  });
  it("metadata that is not TOML or lacks a key", async () => {
    await update(nauOf([{ name: "metadata", data: enc("aid = ") }]), 65, "NAU_BAD_METADATA");
    await update(
      nauOf([{ name: "metadata", data: enc('aid = "dev::notes"\nto_version = "2.0.0"') }]),
      65,
      "NAU_BAD_METADATA",
      "from_version",
    );
  });
  it("a path traversal in files/", async () => {
    await update(
      nauOf([
        { name: "metadata", data: enc(META) },
        { name: "files/../../evil", data: enc("x") },
      ]),
      65,
      "PKG_PATH_TRAVERSAL",
    );
  });
  it("an entry outside files/", async () => {
    await update(
      nauOf([
        { name: "metadata", data: enc(META) },
        { name: "other.txt", data: enc("x") },
      ]),
      65,
      "NAU_UNEXPECTED_ENTRY",
      "other.txt",
    );
  });
  it("an update for another version", async () => {
    const meta = encodeNauMetadata({ aid: "dev::notes", from: "0.9.0", to: "1.0.0", remove: [] });
    await update(nauOf([{ name: "metadata", data: enc(meta) }]), 80, "NAU_WRONG_VERSION", "0.9.0");
  });
  it("an update without the new manifest", async () => {
    await update(
      nauOf([
        { name: "metadata", data: enc(META) },
        { name: "files/main.npp", data: enc("new program") },
      ]),
      65,
      "NAU_MANIFEST_MISMATCH",
      undefined,
      "content", // found in the staged content/
    );
  });
  it("an update whose files do not match hash.md5", async () => {
    await update(
      nauOf([
        { name: "metadata", data: enc(META) },
        {
          name: "files/manifest.toml",
          data: enc(manifestToml({ aid: "dev::notes", version: "1.1.0" })),
        },
      ]),
      65,
      "NAU_HASH_MISMATCH",
      undefined,
      "content", // found in the staged content/
    );
  });
});
