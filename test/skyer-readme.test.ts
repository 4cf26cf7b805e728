// Issue 2's "done when", as a user on a fresh clone does it with the README's commands: pack a
// folder into a .nap, inspect, install, list, info, build an update, update, uninstall — on a
// fresh home, with the example app (whose main.npp goes through the AOT step at install).

import { cpSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ncw as run } from "./helpers/ncw.js";
import { tempDir } from "./skyer-fixtures.js";

const work = tempDir("ncw-readme-");
afterAll(() => rmSync(work, { recursive: true, force: true }));
const HELLO = path.resolve(import.meta.dirname, "../examples/hello");

describe("the README's package walk-through", () => {
  it("pack, inspect, install, list, info, update and uninstall on a fresh home", () => {
    const home = path.join(work, "home");
    const env = { NCW_HOME: home, NCW_USER: "" };
    const ncw = (args: string[]) => {
      const r = run(args, { env, cwd: work });
      expect(r.status, `ncw ${args.join(" ")}: ${r.stderr}`).toBe(0);
      return r;
    };
    const app = path.join(work, "my-app");
    cpSync(HELLO, app, { recursive: true });

    ncw(["pack", "my-app/", "-o", "my-app.nap"]);
    expect(ncw(["inspect", "my-app.nap"]).stdout).toContain("ncwdemo::hello");
    const installed = ncw(["skyer", "install", "my-app.nap"]);
    expect(installed.stdout).toMatch(/installed .*ncwdemo::hello.* 0\.1\.0/);
    expect(installed.stdout).toMatch(/AOT: main\.npp compiled in \d+ ms/);
    expect(ncw(["skyer", "list"]).stdout).toMatch(/ncwdemo::hello\s+0\.1\.0\s+app\s+user user/);
    expect(ncw(["skyer", "info", "ncwdemo::hello"]).stdout).toContain("version 0.1.0");

    // A new version of the folder, packed, turned into an update and applied.
    const manifest = path.join(app, "manifest.toml");
    writeFileSync(
      manifest,
      readFileSync(manifest, "utf8").replace('version = "0.1.0"', 'version = "0.2.0"'),
    );
    ncw(["pack", "my-app/", "-o", "my-app-0.2.0.nap"]);
    ncw(["skyer", "make-update", "my-app.nap", "my-app-0.2.0.nap", "-o", "u.nau"]);
    expect(ncw(["skyer", "update", "ncwdemo::hello", "u.nau"]).stdout).toMatch(
      /updated .*0\.2\.0 \(was 0\.1\.0\)/,
    );
    expect(ncw(["skyer", "list"]).stdout).toMatch(/ncwdemo::hello\s+0\.2\.0/);

    ncw(["skyer", "uninstall", "ncwdemo::hello"]);
    const list = ncw(["skyer", "list", "--json"]);
    expect((JSON.parse(list.stdout) as { aid: string }[]).map((i) => i.aid)).toEqual(["sys::lib"]);
  });
});
