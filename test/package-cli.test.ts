// Black-box tests of `ncw pack` and `ncw inspect`, run the way a user would (dist/cli/ncw.js).

import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { compressPackage } from "../ncw/package/zstd.js";
import { ncw } from "./helpers/ncw.js";

const HELLO = path.resolve(import.meta.dirname, "../examples/hello");
const HELLO_NPP_SIZE = statSync(path.join(HELLO, "main.npp")).size;
const tmp = mkdtempSync(path.join(os.tmpdir(), "ncw-pack-cli-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const home = path.join(tmp, "home");
const env = { NCW_HOME: home };
const run = (args: string[], cwd = tmp) => ncw(args, { env, cwd });

describe("ncw pack / ncw inspect", () => {
  it("packs the hello example to <slug>-<version>.nap and inspects it", () => {
    const p = run(["pack", HELLO]);
    expect(p.stderr).toBe("");
    expect(p.status).toBe(0);
    expect(p.stdout).toMatch(
      /packed ncwdemo::hello 0\.1\.0 \(application\) → hello-0\.1\.0\.nap: 8 files/,
    );
    // The manifest, hash.md5, three icons, main.npp and two sources; the example's .napignore leaves
    // out its tests and the SDK copy a build makes in .ncw/.
    expect(p.stdout).not.toMatch(/tests\/|\.ncw\//);
    const file = path.join(tmp, "hello-0.1.0.nap");
    expect(existsSync(file)).toBe(true);

    const i = run(["inspect", file]);
    expect(i.status).toBe(0);
    expect(i.stdout).toMatch(/aid\s+ncwdemo::hello/);
    // Sizes show as bytes under 1 KiB, else KiB with one decimal.
    const shown =
      HELLO_NPP_SIZE < 1024 ? `${HELLO_NPP_SIZE} B` : `${(HELLO_NPP_SIZE / 1024).toFixed(1)} KiB`;
    expect(i.stdout).toMatch(new RegExp(`${shown.replace(".", "\\.")}\\s+main\\.npp`));
    expect(i.stdout).toMatch(/manifest\.toml/);
    expect(i.stdout).toMatch(/integrity ok/);
    expect(run(["inspect", file, "--manifest"]).stdout).toBe(
      readFileSync(path.join(HELLO, "manifest.toml"), "utf8"),
    );
    // Neither command needs the home.
    expect(existsSync(home)).toBe(false);
  });

  it("gives JSON summaries", () => {
    const out = path.join(tmp, "j.nva");
    const p = run(["pack", HELLO, "-o", out, "--volatile", "--json"]);
    expect(p.status).toBe(0);
    const s = JSON.parse(p.stdout) as Record<string, unknown>;
    expect(s).toMatchObject({
      output: out,
      aid: "ncwdemo::hello",
      kind: "nva",
      type: "application",
      files: 8,
    });
    const i = run(["inspect", out, "--json"]);
    const d = JSON.parse(i.stdout) as {
      kind: string;
      aid: string;
      files: { path: string; size: number; md5: string }[];
      integrity: { ok: boolean };
      manifest: { infos: { slug: string } };
    };
    expect(d.kind).toBe("nva");
    expect(d.manifest.infos.slug).toBe("hello");
    expect(d.files.find((f) => f.path === "main.npp")?.size).toBe(HELLO_NPP_SIZE);
    expect(d.integrity.ok).toBe(true);
  });

  it("is deterministic across runs", () => {
    run(["pack", HELLO, "-o", "a.nap"]);
    run(["pack", HELLO, "-o", "b.nap"]);
    expect(
      readFileSync(path.join(tmp, "a.nap")).equals(readFileSync(path.join(tmp, "b.nap"))),
    ).toBe(true);
  });

  it("leaves out what .napignore matches (gitignore syntax), lists what it packed, and says when the manifest names an ignored file", () => {
    const src = path.join(tmp, "ignoring");
    cpSync(HELLO, src, { recursive: true });
    const put = (rel: string) => {
      mkdirSync(path.dirname(path.join(src, rel)), { recursive: true });
      writeFileSync(path.join(src, rel), rel);
    };
    for (const f of ["debug.log", "keep.log", "build/out.bin", "docs/build/page.txt", "src/x.tmp"])
      put(f);
    writeFileSync(
      path.join(src, ".napignore"),
      "# scratch\n*.log\n!keep.log\n/build/\nsrc/*.tmp\n",
    );
    const p = run(["pack", src, "-o", path.join(tmp, "ignoring.nap"), "--json"]);
    expect(p.status, p.stderr).toBe(0);
    const paths = (JSON.parse(p.stdout) as { entries: { path: string }[] }).entries.map(
      (e) => e.path,
    );
    expect(paths).toContain("keep.log");
    expect(paths).toContain("docs/build/page.txt"); // "/build/" is anchored to the folder's root
    for (const gone of ["debug.log", "build", "build/out.bin", "src/x.tmp", ".napignore"])
      expect(paths).not.toContain(gone);
    // The package holds exactly what was listed (inspect lists the content, not its two own files).
    const listed = JSON.parse(
      run(["inspect", path.join(tmp, "ignoring.nap"), "--json"]).stdout,
    ) as {
      files: { path: string }[];
    };
    expect(listed.files.map((f) => f.path).sort()).toEqual(
      (JSON.parse(p.stdout) as { entries: { path: string; type: string }[] }).entries
        .filter((e) => e.type === "file" && e.path !== "manifest.toml" && e.path !== "hash.md5")
        .map((e) => e.path)
        .sort(),
    );
    // In text, each packed entry is a line.
    const text = run(["pack", src, "-o", path.join(tmp, "ignoring2.nap")]);
    expect(text.stdout).toMatch(/\n\s+\d+ B {2}keep\.log\n/);
    // A file the manifest needs, left out by .napignore, is named with the reason.
    writeFileSync(path.join(src, ".napignore"), "*.npp\n");
    const bad = run(["pack", src, "-o", path.join(tmp, "ignoring3.nap")]);
    expect(bad.status).toBe(65);
    expect(bad.stderr).toContain(
      'content.program.precomp names "main.npp", which .napignore leaves out of the package',
    );
  });

  it("refuses an invalid manifest with the field, value and rule, writing nothing", () => {
    const src = path.join(tmp, "bad");
    cpSync(HELLO, src, { recursive: true });
    const m = readFileSync(path.join(src, "manifest.toml"), "utf8").replace(
      'slug = "hello"',
      'slug = "ls"',
    );
    writeFileSync(path.join(src, "manifest.toml"), m);
    const before = readdirSync(tmp).sort();
    const p = run(["pack", src, "-o", "bad.nap"]);
    expect(p.status).toBe(65);
    expect(p.stderr).toContain(
      'infos.slug = "ls": slug must not be the name of a native shell command',
    );
    expect(p.stderr).not.toMatch(/at .*\.js:\d+/);
    expect(readdirSync(tmp).sort()).toEqual(before);
    const j = run(["pack", src, "-o", "bad.nap", "--json"]);
    expect(JSON.parse(j.stdout)).toMatchObject({
      error: { code: "MANIFEST_INVALID", kind: "data" },
    });
  });

  it("accepts any license of the SPDX lists and explains a deprecated or miscased one", () => {
    const src = path.join(tmp, "licensed");
    cpSync(HELLO, src, { recursive: true });
    const manifest = readFileSync(path.join(src, "manifest.toml"), "utf8");
    const pack = (license: string) => {
      writeFileSync(
        path.join(src, "manifest.toml"),
        manifest.replace('license = "Apache-2.0"', `license = "${license}"`),
      );
      return run(["pack", src, "-o", path.join(tmp, "licensed.nap")]);
    };
    for (const ok of [
      "curl",
      "Beerware",
      "BSD-3-Clause-LBNL",
      "GPL-3.0-or-later WITH Bison-exception-1.24",
    ]) {
      const p = pack(ok);
      expect(p.status, `${ok}: ${p.stderr}`).toBe(0);
    }
    const bad: [string, string][] = [
      ["GPL-2.0", 'names "GPL-2.0", which the SPDX License List deprecates'],
      ["mit", 'names "mit"; the SPDX identifier is spelled "MIT"'],
      ["Nope-1.0", 'names "Nope-1.0", which is not an SPDX license identifier'],
    ];
    for (const [license, why] of bad) {
      const p = pack(license);
      expect(p.status, license).toBe(65);
      expect(p.stderr, license).toContain(why);
    }
  });

  it("exit codes: missing folder 66, not a package 65, missing package 66, usage 2", () => {
    expect(run(["pack", path.join(tmp, "nope")]).status).toBe(66);
    expect(run(["pack", HELLO.replace("hello", "")]).status).toBe(65); // a folder without manifest.toml
    expect(run(["pack", path.join(tmp, "nope"), "-o", "x.nap"]).status).toBe(66);
    writeFileSync(path.join(tmp, "junk.nap"), "junk");
    const j = run(["inspect", "junk.nap", "--json"]);
    expect(j.status).toBe(65);
    expect(JSON.parse(j.stdout)).toMatchObject({ error: { code: "PKG_NOT_ZSTD" } });
    const h = run(["inspect", "junk.nap"]);
    expect(h.stderr).toMatch(/^error: junk\.nap: not a zstd-compressed package/);
    expect(h.stderr).toMatch(/hint: /);
    expect(run(["inspect", "absent.nap"]).status).toBe(66);
    expect(run(["inspect"]).status).toBe(2);
    expect(run(["pack", HELLO, "--level", "99"]).status).toBe(2);
  });

  it("reports a tampered package and leaves it alone", () => {
    run(["pack", HELLO, "-o", "t.nap"]);
    const file = path.join(tmp, "t.nap");
    const bytes = readFileSync(file);
    bytes[bytes.length - 10] = (bytes[bytes.length - 10] ?? 0) ^ 0x01;
    writeFileSync(file, bytes);
    const i = run(["inspect", file, "--json"]);
    expect(i.status).toBe(65);
    const e = JSON.parse(i.stdout) as { error: { code: string; message: string } };
    expect(e.error.code).toMatch(/^PKG_/);
    expect(readFileSync(file).equals(bytes)).toBe(true);
  });

  it("reports a path-traversal entry by name and writes nothing", async () => {
    // One ustar header for "../evil" (the writer refuses such paths, so it is built by hand).
    const h = new Uint8Array(512);
    const put = (off: number, v: string) => h.set(new TextEncoder().encode(v), off);
    put(0, "../evil");
    put(100, "0000644\0");
    put(124, "00000000004\0");
    put(148, "        ");
    put(156, "0");
    put(257, "ustar\0");
    put(263, "00");
    put(
      148,
      `${h
        .reduce((a, b) => a + b, 0)
        .toString(8)
        .padStart(6, "0")}\0 `,
    );
    const body = new Uint8Array(512);
    body.set(new TextEncoder().encode("evil"));
    const tar = new Uint8Array([...h, ...body, ...new Uint8Array(1024)]);
    const file = path.join(tmp, "evil.nap");
    writeFileSync(file, await compressPackage(tar));
    const before = readdirSync(tmp).sort();
    const i = run(["inspect", file, "--json"]);
    expect(i.status).toBe(65);
    expect(JSON.parse(i.stdout)).toMatchObject({
      error: { code: "PKG_PATH_TRAVERSAL", message: expect.stringContaining('"../evil"') },
    });
    expect(existsSync(path.join(path.dirname(tmp), "evil"))).toBe(false);
    expect(readdirSync(tmp).sort()).toEqual(before);
  });

  it("has help texts", () => {
    expect(run(["pack", "--help"]).stdout).toMatch(/Build a NightOS package/);
    expect(run(["inspect", "--help"]).stdout).toMatch(/integrity/);
    expect(run(["--help"]).stdout).toMatch(/pack <dir>/);
  });
});
