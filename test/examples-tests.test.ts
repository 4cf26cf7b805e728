// The examples' own tests (issue 15: "Each has its own tests run by ncw test"; docs/dev-loop.md "Declaring
// tests"): every example with a tests/ folder is copied as it is (a project of its own: its sources
// import the SDK from .ncw/sdk/, which `ncw build` makes) and `ncw test` runs it, as an app writer would.
// Each must pass every test it declares; one made to fail must fail the run.

import { spawnSync } from "node:child_process";
import {
  cpSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { clangOk } from "./helpers/clang.js";
import { NCW } from "./kernel-helpers.js";

const EXAMPLES = path.resolve(import.meta.dirname, "../examples");
const root = mkdtempSync(path.join(os.tmpdir(), "ncw-examples-"));
const env = { ...process.env, NCW_HOME: path.join(root, "home"), NO_COLOR: "1" };
afterAll(() => {
  spawnSync(process.execPath, [NCW, "ps"], { env });
  rmSync(root, { recursive: true, force: true });
});

/** The examples with tests, and whether their toolchain is C. */
const withTests = readdirSync(EXAMPLES)
  .filter((x) => existsSync(path.join(EXAMPLES, x, "tests")))
  .sort()
  .map((name) => ({
    name,
    c: /toolchain = "c"/.test(readFileSync(path.join(EXAMPLES, name, "manifest.toml"), "utf8")),
  }));

/** A copy of example `name` without what a build left in it. */
function copy(name: string, as: string): string {
  const dir = path.join(root, as);
  cpSync(path.join(EXAMPLES, name), dir, { recursive: true });
  for (const made of [".ncw", "build"])
    rmSync(path.join(dir, made), { recursive: true, force: true });
  return dir;
}

function ncwTest(dir: string) {
  return spawnSync(process.execPath, [NCW, "test", dir, "--jobs", "2"], {
    env,
    encoding: "utf8",
    timeout: 300_000,
  });
}

describe("the examples' tests, through ncw test", () => {
  it("has examples with tests in both languages", () => {
    expect(withTests.some((e) => e.c)).toBe(true);
    expect(withTests.some((e) => !e.c)).toBe(true);
  });

  for (const { name, c } of withTests) {
    it.skipIf(c && !clangOk)(
      `examples/${name}: every test passes`,
      () => {
        const r = ncwTest(copy(name, name));
        expect(r.status, `${r.stdout}${r.stderr}`).toBe(0);
        const m = /(\d+) passed of (\d+)/.exec(r.stdout);
        expect(m, r.stdout).not.toBeNull();
        expect(Number(m![1])).toBeGreaterThan(0);
        expect(m![1]).toBe(m![2]);
      },
      300_000,
    );
  }

  it("a broken example fails its run, naming the assertion", () => {
    const dir = copy("stat", "stat-broken");
    const test = path.join(dir, "tests", "stat.test.ts");
    writeFileSync(
      test,
      readFileSync(test, "utf8").replace(
        'expectEqual(combine("sum", xs), 8);',
        'expectEqual(combine("sum", xs), 9);',
      ),
    );
    const r = ncwTest(dir);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/FAIL\s+stat\/sumsAndMultiplies/);
    expect(`${r.stdout}${r.stderr}`).toMatch(/expected: 9\s+actual:\s+8/);
  }, 300_000);
});
