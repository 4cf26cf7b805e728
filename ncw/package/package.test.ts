// Tests for reading and packing whole packages (ncw/package/package.ts): round trips, determinism,
// md5sum/tar interoperability, and every hostile or broken case with its exact error code.

import { execFileSync } from "node:child_process";
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import os from "node:os";
import path from "node:path";
import { compress } from "@mongodb-js/zstd";
import { describe, expect, it } from "vitest";
import { NcwError } from "../errors.js";
import { encodeHashFile } from "./hashfile.js";
import { DEFAULT_LIMITS } from "./limits.js";
import {
  packDirectory,
  packDirectoryDetailed,
  readPackageBytes,
  readPackageFile,
  writePackageFile,
} from "./package.js";
import { type TarWriteEntry, writeTar } from "./tar.js";
import { compressPackage, decompressBounded } from "./zstd.js";

const HELLO = path.resolve(import.meta.dirname, "../../examples/hello");
const enc = new TextEncoder();

function tmp(): string {
  return mkdtempSync(path.join(os.tmpdir(), "ncw-pkg-"));
}

function helloCopy(): string {
  const d = path.join(tmp(), "hello");
  cpSync(HELLO, d, { recursive: true });
  return d;
}

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    if (e instanceof NcwError) return e.code;
    throw e;
  }
  return "no error";
}

/** The files of the hello example as a map, for building hostile variants by hand. */
function helloFiles(): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  const walk = (abs: string, rel: string) => {
    for (const n of readdirSync(abs, { withFileTypes: true })) {
      const r = rel ? `${rel}/${n.name}` : n.name;
      if (n.isDirectory()) walk(path.join(abs, n.name), r);
      else out.set(r, readFileSync(path.join(abs, n.name)));
    }
  };
  walk(HELLO, "");
  return out;
}

/** Build package bytes from files (adding hash.md5 unless told otherwise) and extra raw entries. */
async function build(
  files: Map<string, Uint8Array>,
  o: { hash?: string | null; extra?: TarWriteEntry[] } = {},
): Promise<Uint8Array> {
  const entries: TarWriteEntry[] = [...files].map(([p, data]) => ({ path: p, type: "file", data }));
  if (o.hash !== null) {
    entries.push({
      path: "hash.md5",
      type: "file",
      data: enc.encode(o.hash ?? encodeHashFile(files)),
    });
  }
  entries.push(...(o.extra ?? []));
  return compressPackage(writeTar(entries));
}

describe("packages", () => {
  it("packs and reads the hello example", async () => {
    const bytes = await packDirectory(HELLO);
    const pkg = await readPackageBytes(bytes, { name: "hello.nap" });
    expect(pkg.kind).toBe("nap");
    expect(pkg.manifest.infos.slug).toBe("hello");
    expect(pkg.rawManifest).toBe(readFileSync(path.join(HELLO, "manifest.toml"), "utf8"));
    expect([...pkg.files.keys()].sort()).toEqual([
      "assets/icons/16.png",
      "assets/icons/32.png",
      "assets/icons/64.png",
      "main.npp",
      "src/greet.ts",
      "src/main.ts",
    ]);
    expect(pkg.dirs).toEqual(["assets", "assets/icons", "src"]);
    expect(
      Buffer.from(pkg.files.get("main.npp") ?? []).equals(
        readFileSync(path.join(HELLO, "main.npp")),
      ),
    ).toBe(true);
    expect((await readPackageBytes(bytes, { name: "hello.nva" })).kind).toBe("nva");
  });

  it("is deterministic: same folder, other mtimes and order, same bytes", async () => {
    const a = await packDirectory(HELLO);
    const copy = helloCopy();
    utimesSync(path.join(copy, "main.npp"), new Date(2001, 1, 1), new Date(2001, 1, 1));
    writeFileSync(path.join(copy, "hash.md5"), "stale, regenerated\n");
    mkdirSync(path.join(copy, ".git"));
    writeFileSync(path.join(copy, ".git", "HEAD"), "ref: x\n");
    const b = await packDirectory(copy);
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
  });

  it("keeps symlinks and the executable bit", async () => {
    const copy = helloCopy();
    symlinkSync("icons/16.png", path.join(copy, "assets", "small.png"));
    execFileSync("chmod", ["+x", path.join(copy, "src", "main.ts")]);
    const pkg = await readPackageBytes(await packDirectory(copy));
    expect(pkg.symlinks.get("assets/small.png")).toBe("icons/16.png");
  });

  it("extracts with tar and passes `md5sum -c hash.md5`", async () => {
    const dir = tmp();
    const file = path.join(dir, "hello.nap");
    await writePackageFile(HELLO, file);
    const out = path.join(dir, "x");
    mkdirSync(out);
    // Decompress with NCW's reader path, extract with the host's tar (no zstd CLI needed).
    writeFileSync(
      path.join(dir, "hello.tar"),
      await decompressBounded(readFileSync(file), DEFAULT_LIMITS),
    );
    execFileSync("tar", ["-xf", path.join(dir, "hello.tar"), "-C", out]);
    const res = execFileSync("md5sum", ["-c", "hash.md5"], { cwd: out, encoding: "utf8" });
    expect(res).toContain("main.npp: OK");
    expect(res).toContain("manifest.toml: OK");
  });

  it("reads packages made by GNU tar + a zstd stream without a declared frame size", async () => {
    const dir = tmp();
    const src = helloCopy();
    writeFileSync(path.join(src, "hash.md5"), encodeHashFile(helloFiles()));
    const tarFile = path.join(dir, "gnu.tar");
    execFileSync("tar", ["-cf", tarFile, "-C", src, "."]);
    const pkg = await readPackageBytes(await compress(readFileSync(tarFile)));
    expect(pkg.files.has("main.npp")).toBe(true);
  });

  it("rejects a missing manifest or hash.md5", async () => {
    const noManifest = helloFiles();
    noManifest.delete("manifest.toml");
    expect(await code(readPackageBytes(await build(noManifest)))).toBe("PKG_MANIFEST_MISSING");
    expect(await code(readPackageBytes(await build(helloFiles(), { hash: null })))).toBe(
      "PKG_HASH_MISSING",
    );
    const dirManifest = helloFiles();
    dirManifest.delete("manifest.toml");
    const bytes = await build(dirManifest, { extra: [{ path: "manifest.toml", type: "dir" }] });
    expect(await code(readPackageBytes(bytes))).toBe("PKG_MANIFEST_MISSING");
  });

  it("rejects hash mismatches, unlisted and extra files", async () => {
    const files = helloFiles();
    const hash = encodeHashFile(files);
    const tampered = new Map(files);
    tampered.set("main.npp", enc.encode("evil"));
    expect(await code(readPackageBytes(await build(tampered, { hash })))).toBe("PKG_HASH_MISMATCH");
    const more = new Map(files);
    more.set("payload.bin", enc.encode("x"));
    expect(await code(readPackageBytes(await build(more, { hash })))).toBe("PKG_HASH_UNLISTED");
    const fewer = new Map(files);
    fewer.delete("src/main.ts");
    expect(await code(readPackageBytes(await build(fewer, { hash })))).toBe("PKG_HASH_EXTRA");
  });

  it("rejects content corruption inside the compressed stream", async () => {
    const bytes = Buffer.from(await packDirectory(HELLO));
    const codes = new Set<string>();
    for (const at of [60, 200, 400, bytes.length - 20]) {
      const bad = Buffer.from(bytes);
      bad[at] = (bad[at] ?? 0) ^ 0xff;
      codes.add(await code(readPackageBytes(bad)));
    }
    expect([...codes].every((c) => c.startsWith("PKG_") || c.startsWith("MANIFEST_"))).toBe(true);
  });

  it("rejects truncated and non-zstd packages", async () => {
    const bytes = await packDirectory(HELLO);
    expect(await code(readPackageBytes(bytes.subarray(0, bytes.length - 3)))).toBe(
      "PKG_ZSTD_TRUNCATED",
    );
    expect(await code(readPackageBytes(writeTar([{ path: "a", type: "file" }])))).toBe(
      "PKG_NOT_ZSTD",
    );
  });

  it("rejects decompression bombs before expanding them", async () => {
    const files = helloFiles();
    files.set("zeros.bin", new Uint8Array(64 * 1024 * 1024));
    const bomb = await build(files);
    expect(bomb.length).toBeLessThan(64 * 1024);
    expect(await code(readPackageBytes(bomb))).toBe("PKG_RATIO_EXCEEDED");
    expect(await code(readPackageBytes(bomb, { limits: { maxTotalSize: 32 * 1024 * 1024 } }))).toBe(
      "PKG_TOO_LARGE",
    );
    expect(
      await code(
        readPackageBytes(bomb, { limits: { maxRatio: 1_000_000, maxFileSize: 1024 * 1024 } }),
      ),
    ).toBe("PKG_FILE_TOO_LARGE");
    expect(await code(readPackageBytes(bomb, { limits: { maxEntries: 3 } }))).toBe(
      "PKG_RATIO_EXCEEDED",
    );
    expect(
      await code(readPackageBytes(await build(helloFiles()), { limits: { maxEntries: 3 } })),
    ).toBe("PKG_TOO_MANY_ENTRIES");
  });

  it("rejects a volatile library and manifests naming absent files", async () => {
    const files = helloFiles();
    const noNpp = new Map(files);
    noNpp.delete("main.npp");
    expect(await code(readPackageBytes(await build(noNpp)))).toBe("PKG_MISSING_FILE");
    const noIcons = new Map([...files].filter(([p]) => !p.endsWith(".png")));
    expect(await code(readPackageBytes(await build(noIcons)))).toBe("PKG_ICON_MISSING");
    const wrongIcon = new Map(files);
    wrongIcon.set("assets/icons/16.png", files.get("assets/icons/32.png") ?? new Uint8Array(0));
    expect(await code(readPackageBytes(await build(wrongIcon)))).toBe("PKG_ICON_INVALID");
    const lib = new Map(files);
    lib.set(
      "manifest.toml",
      enc.encode(
        new TextDecoder()
          .decode(files.get("manifest.toml"))
          .replace('type = "application"', 'type = "library"')
          .replace(/\[events\][^[]*/, "")
          .replace(/\[commands[\s\S]*$/, ""),
      ),
    );
    expect((await readPackageBytes(await build(lib))).manifest.type).toBe("library");
    expect(await code(readPackageBytes(await build(lib), { name: "x.nva" }))).toBe(
      "PKG_KIND_MISMATCH",
    );
    const badManifest = new Map(files);
    badManifest.set("manifest.toml", enc.encode('type = "application"\n'));
    expect(await code(readPackageBytes(await build(badManifest)))).toBe("MANIFEST_INVALID");
  });

  it("reads embedded libraries and rejects broken ones with the folder named", async () => {
    const dec = new TextDecoder();
    const appManifest = `${dec.decode(helloFiles().get("manifest.toml"))}\n[embedded]\nlibraries = ["libs/str"]\n`;
    const libManifest = (did: string, slug: string, type = "library") =>
      [
        `type = "${type}"`,
        "[infos]",
        `name = "Str"\nslug = "${slug}"\ndid = "${did}"\ndescription = "strings"`,
        `version = "2.0.0"\nauthors = [{ name = "Ada" }]\nicon = "i-%{}.svg"\nlicense = "MIT"`,
        '[content.program]\nprecomp = "lib.npp"',
        "[dependencies.libraries]",
        ...(type === "application" ? ["[sysfeatures]\ncrash_saves_support = false"] : []),
        "",
      ].join("\n");
    const withLib = (lib: Record<string, string>) => {
      const files = helloFiles();
      files.set("manifest.toml", enc.encode(appManifest));
      for (const [p, v] of Object.entries(lib)) files.set(`libs/str/${p}`, enc.encode(v));
      return build(files);
    };
    const good = {
      "manifest.toml": libManifest("acme", "str"),
      "lib.npp": "x",
      "i-16.svg": "<svg/>",
    };
    const pkg = await readPackageBytes(await withLib(good));
    expect(pkg.embedded).toHaveLength(1);
    const e = pkg.embedded[0]!;
    expect(e.folder).toBe("libs/str");
    expect(`${e.manifest.infos.did}::${e.manifest.infos.slug}`).toBe("acme::str");
    expect([...e.files.keys()].sort()).toEqual(["i-16.svg", "lib.npp"]);
    expect(e.rawManifest).toBe(good["manifest.toml"]);
    // The whole package (library folder included) is covered by the root hash.md5.
    expect(pkg.files.has("libs/str/lib.npp")).toBe(true);

    const { "manifest.toml": _m, ...noManifest } = good;
    expect(await code(readPackageBytes(await withLib(noManifest)))).toBe(
      "PKG_EMBEDDED_MANIFEST_MISSING",
    );
    expect(
      await code(
        readPackageBytes(
          await withLib({ ...good, "manifest.toml": libManifest("acme", "str", "application") }),
        ),
      ),
    ).toBe("PKG_EMBEDDED_NOT_LIBRARY");
    expect(
      await code(
        readPackageBytes(
          await withLib({ ...good, "manifest.toml": libManifest("ncwdemo", "hello") }),
        ),
      ),
    ).toBe("PKG_EMBEDDED_DUPLICATE");
    const { "lib.npp": _p, ...noProgram } = good;
    const err = await readPackageBytes(await withLib(noProgram)).catch((x: NcwError) => x);
    expect(err).toBeInstanceOf(NcwError);
    expect((err as NcwError).code).toBe("PKG_MISSING_FILE");
    expect((err as NcwError).message).toMatch(
      /^libs\/str\/manifest\.toml: content\.program\.precomp/,
    );
    expect(
      await code(readPackageBytes(await withLib({ ...good, "manifest.toml": "type = 1" }))),
    ).toBe("MANIFEST_INVALID");
  });

  it("accepts a manifest with a UTF-8 BOM and keeps rawManifest byte-exact", async () => {
    const files = helloFiles();
    const text = `\uFEFF${new TextDecoder().decode(files.get("manifest.toml"))}`;
    files.set("manifest.toml", enc.encode(text));
    const pkg = await readPackageBytes(await build(files));
    expect(pkg.rawManifest).toBe(text);
    expect(pkg.manifest.infos.slug).toBe("hello");
  });

  it("names the package file in errors", async () => {
    const dir = tmp();
    const f = path.join(dir, "broken.nap");
    writeFileSync(f, "not a package");
    await expect(readPackageFile(f)).rejects.toThrow(/broken\.nap: not a zstd-compressed package/);
    expect(await code(readPackageFile(path.join(dir, "absent.nap")))).toBe("PKG_NOT_FOUND");
    expect(await code(readPackageFile(dir))).toBe("PKG_IS_DIRECTORY");
  });
});

describe("packing", () => {
  it("refuses folders without a valid manifest, with outside links or special files", async () => {
    const empty = tmp();
    expect(await code(packDirectory(empty))).toBe("PKG_MANIFEST_MISSING");
    expect(await code(packDirectory(path.join(empty, "nope")))).toBe("PKG_NOT_FOUND");
    const bad = helloCopy();
    writeFileSync(
      path.join(bad, "manifest.toml"),
      'type = "application"\n[infos]\nslug = "Echo"\n',
    );
    expect(await code(packDirectory(bad))).toBe("MANIFEST_INVALID");
    const link = helloCopy();
    symlinkSync("/etc/passwd", path.join(link, "passwd"));
    expect(await code(packDirectory(link))).toBe("PKG_LINK_OUTSIDE");
    const dangling = helloCopy();
    symlinkSync("nothing-here", path.join(dangling, "dangling"));
    expect(await code(packDirectory(dangling))).toBe("PKG_LINK_DANGLING");
    const fifo = helloCopy();
    execFileSync("mkfifo", [path.join(fifo, "pipe")]);
    expect(await code(packDirectory(fifo))).toBe("PKG_SPECIAL_FILE");
    const noNpp = helloCopy();
    rmSync(path.join(noNpp, "main.npp"));
    expect(await code(packDirectory(noNpp))).toBe("PKG_MISSING_FILE");
    expect(await code(packDirectory(helloCopy(), { limits: { maxEntries: 2 } }))).toBe(
      "PKG_TOO_MANY_ENTRIES",
    );
    expect(await code(packDirectory(HELLO.replace("hello", "hello/manifest.toml")))).toBe(
      "PKG_NOT_DIRECTORY",
    );
  });

  it("writes atomically and leaves an existing file untouched on failure", async () => {
    const dir = tmp();
    const out = path.join(dir, "app.nap");
    writeFileSync(out, "previous");
    const bad = helloCopy();
    rmSync(path.join(bad, "main.npp"));
    expect(await code(writePackageFile(bad, out))).toBe("PKG_MISSING_FILE");
    expect(readFileSync(out, "utf8")).toBe("previous");
    expect(readdirSync(dir)).toEqual(["app.nap"]);
    expect(await code(writePackageFile(HELLO, path.join(dir, "missing-dir", "x.nap")))).toBe(
      "PKG_WRITE_FAILED",
    );
    expect(existsSync(path.join(dir, "missing-dir"))).toBe(false);
    const r = await writePackageFile(HELLO, out);
    expect(readdirSync(dir)).toEqual(["app.nap"]);
    expect(r.fileCount).toBe(8);
    expect((await readPackageFile(out)).manifest.infos.name).toBe("Hello");
  });

  it("leaves the output file out when it lies inside the packed folder", async () => {
    const src = helloCopy();
    const out = path.join(src, "self.nap");
    await writePackageFile(src, out);
    const again = await writePackageFile(src, out);
    const pkg = await readPackageBytes(again.bytes);
    expect(pkg.files.has("self.nap")).toBe(false);
  });

  it("reports progress and sizes", async () => {
    const seen: string[] = [];
    const r = await packDirectoryDetailed(HELLO, { onProgress: (_d, _t, f) => seen.push(f) });
    expect(seen).toContain("main.npp");
    expect(r.contentSize).toBeGreaterThan(0);
  });
});
