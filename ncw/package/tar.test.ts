// Tests for the strict ustar/pax reader and the deterministic writer (ncw/package/tar.ts).

import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { NcwError } from "../errors.js";
import {
  normalizeEntryPath,
  parseOctal,
  readTar,
  TAR_BLOCK_SIZE,
  type TarReadLimits,
  writeTar,
} from "./tar.js";

const enc = new TextEncoder();

/** Build one ustar header by hand, field by field, from the POSIX table. */
function rawHeader(o: {
  name: string;
  type?: string;
  size?: number;
  linkname?: string;
  prefix?: string;
  mode?: number;
  badChecksum?: boolean;
  magic?: string;
}): Uint8Array {
  const b = new Uint8Array(512);
  const put = (off: number, s: string) => b.set(enc.encode(s), off);
  put(0, o.name); // name[100]
  put(100, `${(o.mode ?? 0o644).toString(8).padStart(7, "0")}\0`); // mode[8]
  put(108, "0000000\0"); // uid[8]
  put(116, "0000000\0"); // gid[8]
  put(124, `${(o.size ?? 0).toString(8).padStart(11, "0")}\0`); // size[12]
  put(136, "00000000000\0"); // mtime[12]
  put(148, "        "); // chksum[8], spaces while summing
  put(156, o.type ?? "0"); // typeflag[1]
  put(157, o.linkname ?? ""); // linkname[100]
  put(257, o.magic ?? "ustar\0"); // magic[6]
  put(263, "00"); // version[2]
  put(345, o.prefix ?? ""); // prefix[155]
  let sum = 0;
  for (const x of b) sum += x;
  if (o.badChecksum) sum += 1;
  put(148, `${sum.toString(8).padStart(6, "0")}\0 `);
  return b;
}

function content(s: string | Uint8Array): Uint8Array {
  const d = typeof s === "string" ? enc.encode(s) : s;
  const out = new Uint8Array(Math.ceil(d.length / 512) * 512);
  out.set(d);
  return out;
}

const END = new Uint8Array(1024);
const cat = (...parts: Uint8Array[]) => new Uint8Array(Buffer.concat(parts));

function errCode(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (e instanceof NcwError) return `${e.code}: ${e.message}`;
    throw e;
  }
  return "no error";
}

describe("tar reader", () => {
  it("reads a hand-written archive: dir, file, symlink, hardlink", () => {
    const bytes = cat(
      rawHeader({ name: "assets/", type: "5", mode: 0o755 }),
      rawHeader({ name: "assets/a.txt", size: 5 }),
      content("hello"),
      rawHeader({ name: "link", type: "2", linkname: "assets/a.txt", mode: 0o777 }),
      rawHeader({ name: "hard", type: "1", linkname: "assets/a.txt" }),
      END,
    );
    const entries = readTar(bytes);
    expect(entries.map((e) => [e.path, e.type, e.linkTarget])).toEqual([
      ["assets", "dir", undefined],
      ["assets/a.txt", "file", undefined],
      ["link", "symlink", "assets/a.txt"],
      ["hard", "hardlink", "assets/a.txt"],
    ]);
    expect(Buffer.from(entries[1]?.data ?? []).toString()).toBe("hello");
    expect(entries[0]?.mode).toBe(0o755);
  });

  it("joins the ustar prefix, strips ./ and skips the root entry", () => {
    const bytes = cat(
      rawHeader({ name: "./", type: "5" }),
      rawHeader({ name: "file.txt", prefix: "./deep/dir", size: 1 }),
      content("x"),
      END,
    );
    expect(readTar(bytes).map((e) => e.path)).toEqual(["deep/dir/file.txt"]);
  });

  it("honours pax path/size records and GNU long names", () => {
    const long = `${"d".repeat(120)}/${"f".repeat(120)}`;
    const rec = ` path=${long}\n`;
    const len = rec.length + String(rec.length + 3).length;
    const pax = enc.encode(`${len}${rec}`);
    const gnu = enc.encode(`${"g".repeat(150)}\0`);
    const bytes = cat(
      rawHeader({ name: "PaxHeaders/x", type: "x", size: pax.length }),
      content(pax),
      rawHeader({ name: "short", size: 2 }),
      content("hi"),
      rawHeader({ name: "././@LongLink", type: "L", size: gnu.length }),
      content(gnu),
      rawHeader({ name: "ggg", size: 0 }),
      END,
    );
    expect(readTar(bytes).map((e) => e.path)).toEqual([long, "g".repeat(150)]);
  });

  it.each([
    ["../evil", "PKG_PATH_TRAVERSAL"],
    ["a/../../evil", "PKG_PATH_TRAVERSAL"],
    ["/etc/passwd", "PKG_PATH_ABSOLUTE"],
    ["C:/Windows/x", "PKG_PATH_ABSOLUTE"],
    ["a\\..\\b", "PKG_PATH_INVALID"],
  ])("rejects the unsafe path %j with %s", (name, code) => {
    const bytes = cat(rawHeader({ name, size: 1 }), content("x"), END);
    const got = errCode(() => readTar(bytes));
    expect(got.startsWith(`${code}:`)).toBe(true);
    expect(got).toContain(JSON.stringify(name));
  });

  it.each([
    ["/etc/passwd", "PKG_LINK_OUTSIDE"],
    ["../../outside", "PKG_LINK_OUTSIDE"],
    ["../sub/../../x", "PKG_LINK_OUTSIDE"],
    ["missing.txt", "PKG_LINK_DANGLING"],
  ])("rejects a symlink to %j with %s", (target, code) => {
    const bytes = cat(
      rawHeader({ name: "sub/", type: "5" }),
      rawHeader({ name: "sub/l", type: "2", linkname: target }),
      END,
    );
    expect(errCode(() => readTar(bytes))).toMatch(new RegExp(`^${code}: .*"sub/l"`));
  });

  it("accepts symlinks to dirs, to the root and along chains; rejects loops", () => {
    const ok = cat(
      rawHeader({ name: "d/", type: "5" }),
      rawHeader({ name: "d/f", size: 0 }),
      rawHeader({ name: "a", type: "2", linkname: "d" }),
      rawHeader({ name: "b", type: "2", linkname: "a" }),
      rawHeader({ name: "d/up", type: "2", linkname: ".." }),
      END,
    );
    expect(readTar(ok)).toHaveLength(5);
    const loop = cat(
      rawHeader({ name: "x", type: "2", linkname: "y" }),
      rawHeader({ name: "y", type: "2", linkname: "x" }),
      END,
    );
    expect(errCode(() => readTar(loop))).toMatch(/^PKG_LINK_LOOP: /);
  });

  it("rejects entries written through a symlink and files used as dirs", () => {
    const through = cat(
      rawHeader({ name: "d/", type: "5" }),
      rawHeader({ name: "l", type: "2", linkname: "d" }),
      rawHeader({ name: "l/x", size: 0 }),
      END,
    );
    expect(errCode(() => readTar(through))).toMatch(/^PKG_LINK_OUTSIDE: .*"l\/x"/);
    const conflict = cat(
      rawHeader({ name: "f", size: 0 }),
      rawHeader({ name: "f/x", size: 0 }),
      END,
    );
    expect(errCode(() => readTar(conflict))).toMatch(/^PKG_PATH_CONFLICT: /);
  });

  it("rejects hard links to absent, later or outside entries", () => {
    const absent = cat(rawHeader({ name: "h", type: "1", linkname: "nothing" }), END);
    expect(errCode(() => readTar(absent))).toMatch(/^PKG_LINK_DANGLING: .*"h"/);
    const outside = cat(rawHeader({ name: "h", type: "1", linkname: "../../etc/passwd" }), END);
    expect(errCode(() => readTar(outside))).toMatch(/^PKG_PATH_TRAVERSAL: /);
    const abs = cat(rawHeader({ name: "h", type: "1", linkname: "/etc/passwd" }), END);
    expect(errCode(() => readTar(abs))).toMatch(/^PKG_PATH_ABSOLUTE: /);
  });

  it("rejects duplicates (also ./a vs a)", () => {
    const bytes = cat(rawHeader({ name: "a", size: 0 }), rawHeader({ name: "./a", size: 0 }), END);
    expect(errCode(() => readTar(bytes))).toMatch(/^PKG_DUPLICATE_ENTRY: .*"\.\/a"/);
  });

  it.each([
    ["3", "device"],
    ["4", "device"],
    ["6", "FIFO"],
  ])("rejects special entries of type %s", (type, what) => {
    const bytes = cat(rawHeader({ name: "dev", type }), END);
    expect(errCode(() => readTar(bytes))).toMatch(
      new RegExp(`^PKG_TAR_SPECIAL_FILE: .*"dev".*${what}`),
    );
  });

  it("rejects unknown entry types", () => {
    const bytes = cat(rawHeader({ name: "s", type: "S" }), END);
    expect(errCode(() => readTar(bytes))).toMatch(/^PKG_TAR_UNSUPPORTED_TYPE: /);
  });

  it("rejects bad checksums", () => {
    const bytes = cat(rawHeader({ name: "a", size: 0, badChecksum: true }), END);
    expect(errCode(() => readTar(bytes))).toMatch(/^PKG_TAR_BAD_CHECKSUM: .*"a"/);
  });

  it("rejects truncated headers, data and missing end markers", () => {
    const full = cat(rawHeader({ name: "a", size: 600 }), content(new Uint8Array(600)), END);
    expect(errCode(() => readTar(full.subarray(0, 700)))).toMatch(/^PKG_TAR_TRUNCATED: .*"a"/);
    expect(errCode(() => readTar(full.subarray(0, 300)))).toMatch(/^PKG_TAR_TRUNCATED: /);
    expect(errCode(() => readTar(full.subarray(0, 1536)))).toMatch(
      /^PKG_TAR_TRUNCATED: .*end-of-archive/,
    );
    expect(errCode(() => readTar(full.subarray(0, 2048)))).toMatch(/^PKG_TAR_TRUNCATED: /);
    expect(errCode(() => readTar(new Uint8Array(0)))).toMatch(/^PKG_TAR_TRUNCATED: /);
  });

  it("rejects an extended header with no entry after it", () => {
    const gnu = enc.encode("long-name\0");
    const bytes = cat(
      rawHeader({ name: "././@LongLink", type: "L", size: gnu.length }),
      content(gnu),
      END,
    );
    expect(errCode(() => readTar(bytes))).toMatch(
      /^PKG_TAR_TRUNCATED: .*not followed by its entry/,
    );
  });

  it("accepts zero padding after the end marker but rejects trailing garbage", () => {
    const base = cat(rawHeader({ name: "a", size: 0 }), END);
    expect(readTar(cat(base, new Uint8Array(8192)))).toHaveLength(1);
    const bad = cat(base, new Uint8Array(100), enc.encode("x"));
    expect(errCode(() => readTar(bad))).toMatch(/^PKG_TAR_TRAILING_DATA: /);
  });

  it("enforces the entry, file-size and total-size limits", () => {
    const limits: TarReadLimits = {
      maxEntries: 2,
      maxFileSize: 10,
      maxTotalSize: 15,
      maxPathBytes: 2048,
    };
    const many = cat(...["a", "b", "c"].map((name) => rawHeader({ name })), END);
    expect(errCode(() => readTar(many, limits))).toMatch(/^PKG_TOO_MANY_ENTRIES: .*"c"/);
    // Folders a path implies count: one file three folders deep is four entries.
    const deep = cat(rawHeader({ name: "a/b/c/f" }), END);
    expect(errCode(() => readTar(deep, limits))).toMatch(/^PKG_TOO_MANY_ENTRIES: .*"a\/b\/c\/f"/);
    expect(readTar(cat(rawHeader({ name: "a/f" }), END), limits)).toHaveLength(1);
    const big = cat(rawHeader({ name: "big", size: 11 }), content(new Uint8Array(11)), END);
    expect(errCode(() => readTar(big, limits))).toMatch(/^PKG_FILE_TOO_LARGE: .*"big"/);
    const total = cat(
      rawHeader({ name: "x", size: 8 }),
      content(new Uint8Array(8)),
      rawHeader({ name: "y", size: 8 }),
      content(new Uint8Array(8)),
      END,
    );
    expect(errCode(() => readTar(total, limits))).toMatch(/^PKG_TOO_LARGE: .*"y"/);
  });

  it("parses octal fields strictly", () => {
    expect(parseOctal(enc.encode("0000644\0"), "mode", "x")).toBe(0o644);
    expect(parseOctal(enc.encode("   644 \0"), "mode", "x")).toBe(0o644);
    expect(() => parseOctal(enc.encode("00006x4\0"), "mode", "x")).toThrow(/not an octal/);
    expect(() => parseOctal(new Uint8Array([0x80, 0, 0, 1]), "size", "x")).toThrow(/base-256/);
  });

  it("normalises paths", () => {
    expect(normalizeEntryPath("./a//b/./c/")).toBe("a/b/c");
    expect(normalizeEntryPath(".")).toBe("");
  });
});

describe("tar writer", () => {
  const sample = () => [
    { path: "z.txt", type: "file" as const, data: enc.encode("zzz") },
    { path: "assets", type: "dir" as const },
    {
      path: "assets/icon.png",
      type: "file" as const,
      data: new Uint8Array(1000).fill(7),
      mode: 0o755,
    },
    { path: "manifest.toml", type: "file" as const, data: enc.encode("x = 1\n") },
    { path: "link", type: "symlink" as const, linkTarget: "z.txt" },
    {
      path: `${"p".repeat(90)}/${"q".repeat(90)}/${"r".repeat(90)}.txt`,
      type: "file" as const,
      data: enc.encode("long"),
    },
  ];

  it("writes a hand-checkable ustar header", () => {
    const t = writeTar([{ path: "a.txt", type: "file", data: enc.encode("hello") }]);
    expect(t.length).toBe(512 + 512 + 1024);
    const h = Buffer.from(t.subarray(0, 512));
    expect(h.subarray(0, 6).toString("latin1")).toBe("a.txt\0");
    expect(h.subarray(100, 108).toString("latin1")).toBe("0000644\0");
    expect(h.subarray(108, 116).toString("latin1")).toBe("0000000\0");
    expect(h.subarray(124, 136).toString("latin1")).toBe("00000000005\0");
    expect(h.subarray(136, 148).toString("latin1")).toBe("00000000000\0");
    expect(h.subarray(156, 157).toString("latin1")).toBe("0");
    expect(h.subarray(257, 265).toString("latin1")).toBe("ustar\x0000");
    let sum = 0;
    for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : (h[i] ?? 0);
    expect(h.subarray(148, 156).toString("latin1")).toBe(`${sum.toString(8).padStart(6, "0")}\0 `);
    expect(Buffer.from(t.subarray(512, 517)).toString()).toBe("hello");
    expect(t.subarray(1024).every((x) => x === 0)).toBe(true);
  });

  it("round-trips and is deterministic regardless of input order", () => {
    const a = writeTar(sample(), { first: ["manifest.toml"] });
    const b = writeTar(sample().reverse(), { first: ["manifest.toml"] });
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
    const back = readTar(a);
    expect(back.map((e) => e.path)).toEqual([
      "manifest.toml",
      "assets",
      "assets/icon.png",
      "link",
      `${"p".repeat(90)}/${"q".repeat(90)}/${"r".repeat(90)}.txt`,
      "z.txt",
    ]);
    expect(back.find((e) => e.path === "assets/icon.png")?.mode).toBe(0o755);
    expect(back.every((e) => e.mtime === 0)).toBe(true);
    expect(TAR_BLOCK_SIZE).toBe(512);
  });

  it("is read by GNU tar, and reads what GNU tar writes", () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "ncw-tar-"));
    const ours = path.join(dir, "ours.tar");
    writeFileSync(ours, writeTar(sample()));
    const listing = execFileSync("tar", ["-tvf", ours], { encoding: "utf8" });
    expect(listing).toContain("assets/icon.png");
    expect(listing).toContain("link -> z.txt");
    expect(listing).toContain(`${"r".repeat(90)}.txt`);
    const out = path.join(dir, "x");
    mkdirSync(out);
    execFileSync("tar", ["-xf", ours, "-C", out]);
    expect(readFileSync(path.join(out, "z.txt"), "utf8")).toBe("zzz");

    const src = path.join(dir, "src");
    mkdirSync(path.join(src, "sub"), { recursive: true });
    writeFileSync(path.join(src, "sub", "f.txt"), "data");
    writeFileSync(path.join(src, `${"n".repeat(150)}.txt`), "long");
    symlinkSync("sub/f.txt", path.join(src, "ln"));
    for (const format of ["gnu", "pax", "ustar", "posix"]) {
      const t = path.join(dir, `${format}.tar`);
      const files = format === "ustar" ? ["./sub", "./ln"] : ["."];
      execFileSync("tar", [`--format=${format}`, "-cf", t, "-C", src, ...files]);
      const entries = readTar(readFileSync(t));
      expect(entries.find((e) => e.path === "sub/f.txt")?.type).toBe("file");
      expect(entries.find((e) => e.path === "ln")?.linkTarget).toBe("sub/f.txt");
      if (format !== "ustar")
        expect(entries.some((e) => e.path === `${"n".repeat(150)}.txt`)).toBe(true);
    }
  });

  it("refuses unnormalised or duplicate paths", () => {
    expect(() => writeTar([{ path: "./a", type: "file" }])).toThrow(/not normalised/);
    expect(() =>
      writeTar([
        { path: "a", type: "file" },
        { path: "a", type: "dir" },
      ]),
    ).toThrow(/twice/);
  });
});
