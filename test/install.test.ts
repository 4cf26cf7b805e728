// NCW as an installable tool (docs/install.md): the tarball `npm pack` makes, installed with
// `npm install -g` into a temporary prefix, gives an `ncw` that runs from any folder, with only
// the runtime dependencies installed. Needs the npm registry (for the dependencies): skipped with a
// reason when it is unreachable, except in CI (CI=true) where that is a failure.
import { type SpawnSyncReturns, spawnSync } from "node:child_process";
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
} from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { NCW_JS } from "./helpers/ncw.js";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const win = process.platform === "win32";

function npm(args: string[], cwd: string, timeoutMs = 50_000): SpawnSyncReturns<string> {
  return spawnSync(win ? "npm.cmd" : "npm", args, {
    cwd,
    encoding: "utf8",
    shell: win,
    timeout: timeoutMs,
    env: { ...process.env, npm_config_update_notifier: "false" },
  });
}

function registryUnreachable(): string | undefined {
  const r = npm(["ping"], ROOT, 15_000);
  if (r.status === 0) return undefined;
  const reason = `the npm registry is unreachable (npm ping: ${(r.stderr || r.error?.message || "").trim().split("\n")[0]})`;
  if (process.env.CI) throw new Error(`required in CI: ${reason}`);
  console.warn(`skipping the tarball install test: ${reason}`);
  return reason;
}

const skip = registryUnreachable() !== undefined;
const tmp = mkdtempSync(path.join(os.tmpdir(), "ncw-install-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe.skipIf(skip)("installing NCW with npm", () => {
  it("the packed tarball, installed with npm install -g, gives an ncw that runs from another folder", () => {
    expect(existsSync(NCW_JS), "build first: npx tsc -p tsconfig.json && npm run build").toBe(true);
    // The tarball is made from the built dist/ (prepare already ran: `npm test` builds first).
    const pack = npm(["pack", "--ignore-scripts", "--json", "--pack-destination", tmp], ROOT);
    expect(pack.status, pack.stderr).toBe(0);
    const packed = JSON.parse(pack.stdout) as { filename: string; files: { path: string }[] }[];
    const files = packed[0]!.files.map((f) => f.path);
    expect(files).toContain("dist/cli/ncw.js");
    expect(files).toContain("dist/examples/hello.nap");
    // Only what a user runs: no tests, benchmarks or source maps.
    expect(files.filter((f) => /^dist\/(test|bench)\/|\.map$|\.test\.js$/.test(f))).toEqual([]);
    const tarball = path.join(tmp, packed[0]!.filename);

    const prefix = path.join(tmp, "prefix");
    const inst = npm(
      ["install", "-g", "--prefix", prefix, "--no-audit", "--no-fund", tarball],
      tmp,
      55_000,
    );
    expect(inst.status, inst.stderr).toBe(0);
    const pkgDir = win
      ? path.join(prefix, "node_modules", "ncw")
      : path.join(prefix, "lib", "node_modules", "ncw");
    // The build tools stay out of a user's install.
    const deps = readdirSync(path.join(pkgDir, "node_modules"));
    for (const dev of ["typescript", "vitest", "@biomejs", "assemblyscript", "@types"])
      expect(deps).not.toContain(dev);

    const bin = win ? path.join(prefix, "ncw.cmd") : path.join(prefix, "bin", "ncw");
    const elsewhere = path.join(tmp, "elsewhere");
    mkdirSync(elsewhere);
    const env = {
      ...process.env,
      PATH: `${path.dirname(bin)}${path.delimiter}${process.env.PATH ?? ""}`,
      NCW_HOME: path.join(tmp, "home"),
      NO_COLOR: "1",
    };
    const ncw = (args: string[]) =>
      spawnSync("ncw", args, {
        cwd: elsewhere,
        encoding: "utf8",
        env,
        shell: win,
        timeout: 30_000,
      });

    const pkg = JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")) as {
      version: string;
    };
    const v = ncw(["--version"]);
    expect(v.stderr).toBe("");
    expect(v.stdout.trim()).toBe(pkg.version);

    const run = ncw(["run", path.join(pkgDir, "dist", "examples", "hello.nap")]);
    expect(run.status, run.stderr).toBe(0);

    const list = ncw(["skyer", "list", "--json"]);
    expect(list.status, list.stderr).toBe(0);
    const rows = JSON.parse(list.stdout) as { aid: string }[];
    expect(rows.map((r) => r.aid)).toContain("sys::lib");
  }, 58_000);

  it("npm install leaves the committed package-lock.json as it is", () => {
    // The lockfile lists every platform's optional packages (biome's, @node-rs/crc32's…), so
    // resolving the tree on any machine finds nothing to add or remove.
    const dir = path.join(tmp, "lockcheck");
    mkdirSync(dir);
    for (const f of ["package.json", "package-lock.json"])
      copyFileSync(path.join(ROOT, f), path.join(dir, f));
    const r = npm(
      ["install", "--package-lock-only", "--ignore-scripts", "--no-audit", "--no-fund"],
      dir,
    );
    expect(r.status, r.stderr).toBe(0);
    expect(readFileSync(path.join(dir, "package-lock.json"), "utf8")).toBe(
      readFileSync(path.join(ROOT, "package-lock.json"), "utf8"),
    );
  }, 30_000);
});
