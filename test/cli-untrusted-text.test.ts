// Black-box tests of the CLI's output of untrusted text (docs/cli.md, "Untrusted text"): text from
// packages, images and apps reaches the terminal escaped, while --json keeps it exact.

import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writePackageFile } from "../ncw/package/package.js";
import { btrfsProgsMissing, skipUnless } from "./btrfs-oracle.js";
import { NCW_JS, ncw } from "./helpers/ncw.js";
import { program, TestHome } from "./kernel-helpers.js";
import { tempDir } from "./skyer-fixtures.js";

const work = tempDir("ncw-cli-text-");
afterAll(() => rmSync(work, { recursive: true, force: true }));
const home = path.join(work, "home");
const run = (args: string[]) => ncw(["--home", home, ...args], { env: { NCW_USER: "" } });

/** What must never reach a terminal raw (line breaks between lines aside). */
const RAW_UNSAFE = /[\p{Cc}\p{Cf}\p{Cs}\u2028\u2029]/u;
function expectTerminalSafe(text: string): void {
  for (const line of text.split("\n")) {
    const m = RAW_UNSAFE.exec(line);
    if (m) throw new Error(`raw U+${m[0].codePointAt(0)?.toString(16)} in ${JSON.stringify(line)}`);
  }
}

// Manifest strings as TOML escapes (the file stays ASCII apart from the bytes added below).
const NAME = "evil\u001b]0;pwned\u0007 \u001b[2J\u001b[H app";
const DESCRIPTION_TOML = String.raw`desc \r\u001b[1Aover \u202Egnp.exe\u202C \u2066iso\u2069 \u200Bzw \u0085C1 \u009b31m end\u007f `;
const DESCRIPTION = JSON.parse(`"${DESCRIPTION_TOML}"`) as string;
const AUTHOR = "Ada\u001b[31m\u0008\u0008";
// Host file names in the package and the image: ESC sequences, BEL, bidi override, zero-width space.
const FILE_NAMES = ["f\u001b[2Jx.txt", "bell\u0007", "bidi\u202etxt.exe", "zw\u200bsp"];

let evilNap: string;
let image: string;

beforeAll(async () => {
  const dir = path.join(work, "evil");
  mkdirSync(dir, { recursive: true });
  const toml = [
    `type = "application"`,
    "[infos]",
    `name = ${JSON.stringify(NAME)}`,
    `slug = "evil"`,
    `did = "dev"`,
    `description = "${DESCRIPTION_TOML}"`,
    `version = "1.0.0"`,
    `authors = [{ name = ${JSON.stringify(AUTHOR)} }]`,
    `icon = "icon-%{}.svg"`,
    `license = "MIT"`,
    "[content.program.source]",
    `toolchain = "wat"`,
    `build = { entry = "src/main.wat" }`,
    "[dependencies.libraries]",
    "[sysfeatures]",
    "crash_saves_support = false",
    "[events]",
    "",
  ].join("\n");
  // (Not-UTF-8 manifests are rejected by `ncw pack`; not-UTF-8 names are tested on an image.)
  writeFileSync(path.join(dir, "manifest.toml"), toml);
  writeFileSync(path.join(dir, "icon-16.svg"), "<svg/>\n");
  writeFileSync(path.join(dir, "main.npp"), "program\n");
  for (const n of FILE_NAMES) writeFileSync(path.join(dir, n), n);
  evilNap = path.join(work, "evil.nap");
  await writePackageFile(dir, evilNap);

  image = path.join(work, "names.img");
  expect(run(["fs", "mkfs", image, "--size", "128M", "--label", "lab\u001b[2Jel"]).status).toBe(0);
  const host = path.join(work, "names");
  mkdirSync(path.join(host, "sub\u202e\u001b[31m"), { recursive: true });
  for (const n of [...FILE_NAMES, "cr\rX", "nl\nX"]) writeFileSync(path.join(host, n), n);
  expect(run(["fs", "put", "--image", image, "-r", host, "/n"]).status).toBe(0);
});

describe("untrusted text on the terminal", () => {
  it("ncw inspect shows manifest fields and file names escaped; --json keeps them exact", () => {
    const r = spawnSync(process.execPath, [NCW_JS, "inspect", evilNap], { env: plainEnv() });
    const stdout = new TextDecoder("utf-8", { fatal: true }).decode(r.stdout); // valid UTF-8
    const stderr = r.stderr.toString();
    expect(stderr).toBe("");
    expect(r.status).toBe(0);
    expectTerminalSafe(stdout);
    expect(stdout).toContain(String.raw`evil\x1b]0;pwned\x07 \x1b[2J\x1b[H app 1.0.0`);
    expect(stdout).toContain(
      String.raw`desc \r\x1b[1Aover \u202egnp.exe\u202c \u2066iso\u2069 \u200bzw \x85C1 \x9b31m end\x7f `,
    );
    expect(stdout).toContain(String.raw`Ada\x1b[31m\x08\x08`);
    for (const f of [
      String.raw`f\x1b[2Jx.txt`,
      String.raw`bell\x07`,
      String.raw`bidi\u202etxt.exe`,
    ])
      expect(stdout).toContain(`  ${f}\n`);

    const j = run(["inspect", evilNap, "--json"]);
    expect(j.status).toBe(0);
    expectTerminalSafe(j.stdout); // DEL, C1 and bidi characters are \u-escaped in the JSON too
    const data = JSON.parse(j.stdout) as {
      manifest: { infos: { name: string; description: string; authors: { name: string }[] } };
      files: { path: string }[];
    };
    expect(data.manifest.infos.name).toBe(NAME);
    expect(data.manifest.infos.description).toBe(DESCRIPTION);
    expect(data.manifest.infos.authors[0]?.name).toBe(AUTHOR);
    expect(data.files.map((f) => f.path)).toEqual(expect.arrayContaining(FILE_NAMES));
  });

  it("ncw skyer install, list and info show the app's name escaped; --json keeps it exact", () => {
    const i = run(["skyer", "install", evilNap]);
    expect(i.status).toBe(0);
    expectTerminalSafe(i.stdout + i.stderr);
    const info = run(["skyer", "info", "dev::evil"]);
    expect(info.status).toBe(0);
    expectTerminalSafe(info.stdout);
    expect(info.stdout).toContain(String.raw`dev::evil — evil\x1b]0;pwned\x07 \x1b[2J\x1b[H app`);
    const list = run(["skyer", "list"]);
    expect(list.status).toBe(0);
    expectTerminalSafe(list.stdout);
    const j = run(["skyer", "info", "dev::evil", "--json"]);
    expect((JSON.parse(j.stdout) as { name: string }).name).toBe(NAME);
  });

  it("ncw fs ls and fs info show names and the label escaped; --json keeps them exact", () => {
    const ls = run(["fs", "ls", "--image", image, "/n"]);
    expect(ls.status).toBe(0);
    expectTerminalSafe(ls.stdout);
    expect(ls.stdout.split("\n")).toEqual(
      expect.arrayContaining([
        String.raw`f\x1b[2Jx.txt`,
        String.raw`bell\x07`,
        String.raw`bidi\u202etxt.exe`,
        String.raw`zw\u200bsp`,
        String.raw`cr\rX`,
        String.raw`nl\nX`,
        String.raw`sub\u202e\x1b[31m/`,
      ]),
    );
    const long = run(["fs", "ls", "-l", "--image", image, "/n"]);
    expectTerminalSafe(long.stdout);
    expect(long.stdout).toContain(String.raw` nl\nX`);
    const j = run(["fs", "ls", "--json", "--image", image, "/n"]);
    expectTerminalSafe(j.stdout);
    const names = (JSON.parse(j.stdout) as { name: string }[]).map((e) => e.name);
    expect(names.sort()).toEqual([...FILE_NAMES, "cr\rX", "nl\nX", "sub\u202e\u001b[31m"].sort());

    const info = run(["fs", "info", "--image", image]);
    expect(info.status).toBe(0);
    expectTerminalSafe(info.stdout);
    expect(info.stdout).toContain(String.raw`label:      lab\x1b[2Jel `);
    const ij = run(["fs", "info", "--json", "--image", image]);
    expect((JSON.parse(ij.stdout) as { label: string }).label).toBe("lab\u001b[2Jel");
  });

  it.skipIf(skipUnless(btrfsProgsMissing()))(
    "ncw fs ls of an image whose names are not UTF-8 prints valid UTF-8 (U+FFFD)",
    () => {
      const root = path.join(work, "rootdir");
      mkdirSync(root, { recursive: true });
      // Raw byte names (a Linux file name is any bytes): invalid UTF-8, and an 8-bit CSI.
      writeFileSync(
        Buffer.from([
          ...Buffer.from(root),
          0x2f,
          0x62,
          0xff,
          0xfe,
          0x9b,
          0x32,
          0x4a,
          0x1b,
          0x5b,
          0x48,
        ]),
        "",
      );
      const img = path.join(work, "progs.img");
      writeFileSync(img, "");
      execFileSync("truncate", ["-s", "128M", img]);
      execFileSync("mkfs.btrfs", ["-q", "-f", "-r", root, img], { stdio: "pipe" });
      for (const args of [
        ["fs", "ls", "--image", img, "/"],
        ["fs", "ls", "-l", "--image", img, "/"],
      ]) {
        const r = spawnSync(process.execPath, [NCW_JS, ...args], { env: plainEnv() });
        expect(r.status).toBe(0);
        const out = new TextDecoder("utf-8", { fatal: true }).decode(r.stdout);
        expectTerminalSafe(out);
        expect(out).toContain("b\ufffd\ufffd\ufffd2J\\x1b[H");
      }
    },
  );

  it("a manifest's problems are listed one per line, each escaped", () => {
    const dir = path.join(work, "badlicense");
    mkdirSync(dir, { recursive: true });
    const toml = readFileSync(path.join(work, "evil", "manifest.toml"), "utf8");
    writeFileSync(path.join(dir, "manifest.toml"), toml.replace(`"MIT"`, `"MIT\\u2066\\u001b[2J"`));
    const r = run(["pack", dir, "-o", path.join(work, "bad.nap")]);
    expect(r.status).toBe(65);
    expectTerminalSafe(r.stderr);
    expect(r.stderr).toContain(String.raw`MIT\u2066\x1b[2J`);
    expect(r.stderr.split("\n").length).toBeGreaterThan(3); // error, problem line(s), hint
  });

  it("ncw ca info and validate show the program's names and metadata escaped", () => {
    const table = `(memory (export "memory") 1 1 shared) (table (export "__indirect_function_table") 0 funcref) (func (export "_start"))`;
    const good = path.join(work, "names.wat");
    writeFileSync(good, `(module ${table} (func (export "ev\\1b[2J\\e2\\80\\aeil")))`);
    const npp = path.join(work, "names.npp");
    expect(run(["ca", "asm", good, "-o", npp, "--meta", "k=v\u001b]0;t\u0007"]).status).toBe(0);
    const info = run(["ca", "info", npp]);
    expect(info.status).toBe(0);
    expectTerminalSafe(info.stdout);
    expect(info.stdout).toContain(String.raw`k = v\x1b]0;t\x07`);
    expect(info.stdout).toContain(String.raw`ev\x1b[2J\u202eil func`);
    const j = run(["ca", "info", npp, "--json"]);
    expect(JSON.parse(j.stdout).npp.metadata.k).toBe("v\u001b]0;t\u0007");

    const bad = path.join(work, "badimport.wat");
    writeFileSync(bad, `(module (func (import "m\\1b[2J" "f\\e2\\80\\ae")) ${table})`);
    const v = run(["ca", "validate", bad]);
    expect(v.status).toBe(65);
    expectTerminalSafe(v.stdout + v.stderr);
    expect(v.stderr).toContain(String.raw`m\x1b[2J`);
  });

  it("ncw run --trace shows the program's name escaped in the trace and the exit line", () => {
    const h = new TestHome();
    try {
      const f = h.write("pe\u001b[2J\u202e.wat", program("(drop (call $s0 (i32.const 0x53)))"));
      const r = h.ncw(["run", "--trace", f]);
      expect(r.code).toBe(0);
      expectTerminalSafe(r.stderr);
      expect(r.stderr).toContain(String.raw`started (pe\x1b[2J\u202e.wat)`);
      expect(r.stderr).toContain(String.raw`ncw: pe\x1b[2J\u202e.wat exited with exit data 0`);
    } finally {
      h.cleanup();
    }
  });

  it("error messages quoting a path are escaped", () => {
    const r = run(["fs", "cat", "--image", image, "/no\u001b[2Jsuch\u202e"]);
    expect(r.status).toBe(66);
    expectTerminalSafe(r.stderr);
    expect(r.stderr).toContain(String.raw`/no\x1b[2Jsuch\u202e`);
  });
});

function plainEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, NCW_HOME: home, NCW_USER: "" };
  delete env.FORCE_COLOR;
  return env;
}
