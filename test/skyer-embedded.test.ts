// Libraries embedded in an application package (specs/applications.md "Libraries embedding";
// docs/packages.md "Embedded libraries"): `ncw pack` builds them in, `ncw skyer install` installs
// them with the application in one transaction (the app's dependencies resolving to them), and
// `--library <aid>` installs one of them alone. Broken ones leave the home untouched.

import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeHashFile } from "../ncw/package/hashfile.js";
import { type TarWriteEntry, writeTar } from "../ncw/package/tar.js";
import { compressPackage } from "../ncw/package/zstd.js";
import { ncw as run } from "./helpers/ncw.js";
import {
  expectUntouched,
  homeState,
  makeAppDir,
  manifestToml,
  readTreeText,
  tempDir,
  treeHas,
} from "./skyer-fixtures.js";

const work = tempDir("ncw-skyer-embedded-");
afterAll(() => rmSync(work, { recursive: true, force: true }));

let app = "";
let n = 0;

/** An app folder (dev::cli 1.0.0, needing acme::strutils ^2) embedding libs/strutils (2.1.0). */
function appFolder(lib: { manifest?: string; files?: Record<string, string> } = {}): string {
  const dir = makeAppDir(work, {
    aid: "dev::cli",
    version: "1.0.0",
    libs: { "acme::strutils": "^2.0.0" },
  });
  const toml = readFileSync(path.join(dir, "manifest.toml"), "utf8");
  writeFileSync(
    path.join(dir, "manifest.toml"),
    `${toml}\n[embedded]\nlibraries = ["libs/strutils"]\n`,
  );
  const libDir = path.join(dir, "libs/strutils");
  mkdirSync(libDir, { recursive: true });
  const files = lib.files ?? { "icon-16.svg": "<svg/>", "main.npp": "lib", "words.txt": "a b c" };
  for (const [p, v] of Object.entries(files)) writeFileSync(path.join(libDir, p), v);
  if (lib.manifest !== "none") {
    writeFileSync(
      path.join(libDir, "manifest.toml"),
      lib.manifest ?? manifestToml({ aid: "acme::strutils", version: "2.1.0", lib: true }),
    );
  }
  return dir;
}

/** A folder archived as a package with hash.md5 but without any of `ncw pack`'s checks. */
async function archive(dir: string): Promise<Uint8Array> {
  const files = new Map<string, Uint8Array>();
  const walk = (abs: string, rel: string) => {
    for (const e of readdirSync(abs, { withFileTypes: true })) {
      const r = rel === "" ? e.name : `${rel}/${e.name}`;
      if (e.isDirectory()) walk(path.join(abs, e.name), r);
      else files.set(r, readFileSync(path.join(abs, e.name)));
    }
  };
  walk(dir, "");
  const entries: TarWriteEntry[] = [...files].map(([p, data]) => ({ path: p, type: "file", data }));
  entries.push({ path: "hash.md5", type: "file", data: Buffer.from(encodeHashFile(files)) });
  return compressPackage(writeTar(entries));
}

function pack(dir: string): string {
  const out = path.join(work, `pkg-${++n}.nap`);
  const r = run(["pack", dir, "-o", out]);
  expect(r.status, r.stderr).toBe(0);
  return out;
}

function ncw(home: string, args: string[]) {
  return run(["--home", home, ...args, "--json"], { env: { NCW_USER: "" } });
}

function json<T>(r: { status: number | null; stdout: string; stderr: string }): T {
  expect(r.status, r.stdout + r.stderr).toBe(0);
  return JSON.parse(r.stdout) as T;
}

beforeAll(() => {
  app = pack(appFolder());
});

describe("embedded libraries", () => {
  it("are installed with the application, which resolves its dependency to them", async () => {
    const home = path.join(work, "home-1");
    const rep = json<{
      action: string;
      resolved: Record<string, string>;
      embedded: { aid: string; version: string; action: string; dir: string }[];
    }>(ncw(home, ["skyer", "install", app]));
    expect(rep.action).toBe("installed");
    expect(rep.resolved).toEqual({ "acme::strutils": "2.1.0" });
    expect(rep.embedded).toEqual([
      {
        aid: "acme::strutils",
        version: "2.1.0",
        action: "installed",
        dir: "/home/user/apps/acme.strutils/2.1.0",
      },
    ]);
    const list = json<{ aid: string; kind: string; versions: string[] }[]>(
      ncw(home, ["skyer", "list"]),
    );
    expect(list.map((i) => `${i.aid} ${i.kind} ${i.versions.join(",")}`)).toEqual([
      "sys::lib lib 1.0.0",
      "acme::strutils lib 2.1.0",
      "dev::cli app 1.0.0",
    ]);
    const tree = "/home/user/apps";
    // The library's content/ is its folder, with its manifest and its own hash.md5.
    const lib = `${tree}/acme.strutils/2.1.0`;
    expect(await readTreeText(home, `${lib}/content/words.txt`)).toBe("a b c");
    expect(await readTreeText(home, `${lib}/content/manifest.toml`)).toContain('slug = "strutils"');
    expect(await readTreeText(home, `${lib}/content/hash.md5`)).toContain("  words.txt");
    // It came from the application's package, kept under that name.
    expect(await treeHas(home, `${lib}/packages/dev.cli-1.0.0.nap`)).toBe(true);
    // The application's content/ no longer holds the library folder.
    expect(await treeHas(home, `${tree}/dev.cli/content/main.npp`)).toBe(true);
    expect(await treeHas(home, `${tree}/dev.cli/content/libs`)).toBe(false);
    // The library is an item of its own: in use by the app, free once the app is gone.
    const inUse = ncw(home, ["skyer", "uninstall", "acme::strutils"]);
    expect(inUse.status).toBe(80);
    expect(JSON.parse(inUse.stdout).error.code).toBe("SKYER_LIBRARY_IN_USE");
    json(ncw(home, ["skyer", "uninstall", "dev::cli"]));
    json(ncw(home, ["skyer", "uninstall", "acme::strutils"]));
  });

  it("`ncw inspect` lists them", () => {
    const r = run(["inspect", app, "--json"]);
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).embedded).toEqual([
      { folder: "libs/strutils", aid: "acme::strutils", version: "2.1.0" },
    ]);
    const text = run(["inspect", app]);
    expect(text.stdout).toMatch(/embeds\s+acme::strutils 2\.1\.0 \(library, in libs\/strutils\/\)/);
  });

  it("reinstalling the application reinstalls its embedded library version", () => {
    const home = path.join(work, "home-2");
    json(ncw(home, ["skyer", "install", app, "--global"]));
    const again = json<{ action: string; embedded: { action: string }[] }>(
      ncw(home, ["skyer", "install", app, "--global"]),
    );
    expect(again.action).toBe("reinstalled");
    expect(again.embedded.map((e) => e.action)).toEqual(["reinstalled"]);
  });

  it("--library installs only that library; an AID it does not embed is refused", async () => {
    const home = path.join(work, "home-3");
    const rep = json<{ aid: string; kind: string; dir: string }>(
      ncw(home, ["skyer", "install", app, "--library", "acme::strutils"]),
    );
    expect(rep).toMatchObject({
      aid: "acme::strutils",
      kind: "lib",
      dir: "/home/user/apps/acme.strutils/2.1.0",
    });
    const list = json<{ aid: string }[]>(ncw(home, ["skyer", "list"]));
    expect(list.map((i) => i.aid)).toEqual(["sys::lib", "acme::strutils"]);
    const before = await homeState(home);
    const r = ncw(home, ["skyer", "install", app, "--library", "acme::nope"]);
    expect(r.status).toBe(66);
    const err = JSON.parse(r.stdout).error as { code: string; hint: string };
    expect(err.code).toBe("SKYER_NOT_EMBEDDED");
    expect(err.hint).toContain("acme::strutils");
    await expectUntouched(home, before);
  });

  it("a package whose embedded library is broken is refused by pack and install; the home is untouched", async () => {
    const home = path.join(work, "home-4");
    json(ncw(home, ["skyer", "list"]));
    for (const [lib, code] of [
      [{ manifest: "none" }, "PKG_EMBEDDED_MANIFEST_MISSING"],
      [
        { manifest: manifestToml({ aid: "acme::strutils", version: "2.1.0" }) },
        "PKG_EMBEDDED_NOT_LIBRARY",
      ],
      [
        { manifest: manifestToml({ aid: "dev::cli", version: "2.1.0", lib: true }) },
        "PKG_EMBEDDED_DUPLICATE",
      ],
      [{ files: { "main.npp": "lib" } }, "PKG_ICON_MISSING"],
    ] as const) {
      const dir = appFolder(lib);
      const out = path.join(work, `bad-${++n}.nap`);
      const packed = run(["pack", dir, "-o", out, "--json"]);
      expect(packed.status, packed.stdout).toBe(65);
      expect(JSON.parse(packed.stdout).error.code).toBe(code);
      expect(existsSync(out)).toBe(false);
      // The same folder archived by hand (no pack checks) is refused by install.
      const raw = path.join(work, `raw-${n}.nap`);
      writeFileSync(raw, await archive(dir));
      const before = await homeState(home);
      const r = ncw(home, ["skyer", "install", raw]);
      expect(r.status, r.stdout).toBe(65);
      expect(JSON.parse(r.stdout).error.code).toBe(code);
      await expectUntouched(home, before);
    }
  });
});
