// The app developer's loop through `ncw` as a user runs it (docs/dev-loop.md): `ncw init` → `ncw build`
// → `ncw test` passes at once; a failing test exits 1 with expected vs actual; the build is incremental
// and passes the compiler's file:line errors through; a hanging test is stopped at --timeout; --filter,
// --bail; the TAP and JUnit reports' shape; the C scaffold when clang is here.

import { spawn } from "node:child_process";
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { clangOk } from "./helpers/clang.js";
import { NCW_JS, ncw } from "./helpers/ncw.js";
import { waitFor } from "./kernel-helpers.js";

const root = mkdtempSync(path.join(os.tmpdir(), "ncw-devloop-"));
const env = { NCW_HOME: path.join(root, "home"), NO_COLOR: "1" };
const run = (args: string[], cwd?: string) =>
  ncw(args, { env, timeoutMs: 180_000, ...(cwd === undefined ? {} : { cwd }) });

afterAll(() => {
  ncw(["--home", env.NCW_HOME, "ps"], { env }); // nothing to wait for: the kernel exits when idle
  rmSync(root, { recursive: true, force: true });
});

describe("ncw init / build / test (AssemblyScript)", () => {
  const dir = path.join(root, "greeter");

  beforeAll(() => {
    const r = run(["init", dir]);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
  }, 180_000);

  it("scaffolds a project with a manifest, source, a test, a README and a .gitignore", () => {
    for (const f of [
      "manifest.toml",
      "src/main.ts",
      "src/greet.ts",
      "tests/greet.test.ts",
      "README.md",
      ".gitignore",
      ".ncw/sdk/as/test.ts",
      ".ncw/sdk/as/fs.ts",
    ])
      expect(existsSync(path.join(dir, f)), f).toBe(true);
    expect(readFileSync(path.join(dir, "manifest.toml"), "utf8")).toContain('slug = "greeter"');
    expect(readFileSync(path.join(dir, ".gitignore"), "utf8")).toContain("/build/");
  });

  it("refuses a folder that is not empty, and says what is not scaffolded yet", () => {
    const again = run(["init", dir]);
    expect(again.status).not.toBe(0);
    expect(again.stderr).toContain("not empty");
    const svc = run(["init", path.join(root, "svc"), "--service"]);
    expect(svc.status).not.toBe(0);
    expect(svc.stderr).toContain("--service is not there yet");
    expect(existsSync(path.join(root, "svc"))).toBe(false);
  });

  it("builds, runs, and passes its test at once", () => {
    const b = run(["build", "--json"], dir);
    expect(b.status, b.stderr).toBe(0);
    const built = JSON.parse(b.stdout) as { outputs: { what: string; built: boolean }[] };
    expect(built.outputs.map((o) => [o.what, o.built])).toEqual([
      ["program", true],
      ["package", true],
    ]);
    const nap = path.join(dir, "build", "greeter-0.1.0.nap");
    expect(existsSync(nap)).toBe(true);
    const r = run(["run", nap, "Ada"]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe("Hello, Ada!\n");
    const t = run(["test"], dir);
    expect(t.status, t.stdout + t.stderr).toBe(0);
    expect(t.stdout).toMatch(/^ok {3}greet\/greetsByName \(\d+ ms\)$/m);
    expect(t.stdout).toMatch(/^1 passed of 1 in [\d.]+ s$/m);
  });

  it("rebuilds nothing when nothing changed, and only what a change touches", () => {
    const same = run(["build", "--json"], dir);
    expect(same.status, same.stderr).toBe(0);
    const outs = (s: string) =>
      (JSON.parse(s) as { outputs: { what: string; built: boolean }[] }).outputs.map((o) => [
        o.what,
        o.built,
      ]);
    expect(outs(same.stdout)).toEqual([
      ["program", false],
      ["package", false],
    ]);
    // A comment changes the source, so the program is compiled again; it compiles to the same bytes,
    // so the package (made from the program, the manifest and the assets) is not made again.
    appendFileSync(path.join(dir, "src", "greet.ts"), "\n// a change\n");
    const changed = run(["build", "--json"], dir);
    expect(outs(changed.stdout)).toEqual([
      ["program", true],
      ["package", false],
    ]);
    // The release mode is another build.
    const release = run(["build", "--json", "--release"], dir);
    expect(outs(release.stdout)).toEqual([
      ["program", true],
      ["package", true],
    ]);
  });

  it("passes the compiler's errors through with file and line, and builds nothing", () => {
    const file = path.join(dir, "src", "greet.ts");
    const good = readFileSync(file, "utf8");
    // asc compiles only what is used: the error goes where the app's entry reaches it.
    const bad = good.replace('return "Hello, " + who + "!";', "return undefinedName;");
    expect(bad).not.toBe(good);
    writeFileSync(file, bad);
    try {
      const r = run(["build"], dir);
      expect(r.status).not.toBe(0);
      expect(r.stderr).toContain("the build failed");
      expect(r.stderr).toContain("undefinedName");
      // asc names the place as src/greet.ts(<line>,<column>); the line is the one written above.
      const line = bad.split("\n").findIndex((l) => l.includes("undefinedName")) + 1;
      expect(r.stderr).toMatch(new RegExp(`src/greet\\.ts\\(${line},\\d+\\)`));
      // The program of the last good build is still there.
      expect(existsSync(path.join(dir, "main.npp"))).toBe(true);
    } finally {
      writeFileSync(file, good);
    }
  });

  it("fails with expected vs actual when a test fails, and exits 1", () => {
    appendFileSync(
      path.join(dir, "tests", "greet.test.ts"),
      '\nexport function shouts(): void {\n  expectEqual(greeting("Bob"), "HELLO, BOB!", "the greeting shouts");\n}\n',
    );
    const t = run(["test", "-j", "2"], dir);
    expect(t.status).toBe(1);
    expect(t.stdout).toMatch(/^ok {3}greet\/greetsByName/m);
    expect(t.stdout).toMatch(/^FAIL greet\/shouts/m);
    expect(t.stdout).toContain("greet/shouts (tests/greet.test.ts:");
    expect(t.stdout).toContain("assertion failed: the greeting shouts");
    expect(t.stdout).toContain('expected: "HELLO, BOB!"');
    expect(t.stdout).toContain('actual:   "Hello, Bob!"');
    // The end of the trace up to the command's failure value: its syscalls, decoded.
    expect(t.stdout).toMatch(/trace \(last \d+ lines\):\n(.*\n)*.*EXECUTION_CONTEXT \{info: 0/);
    expect(t.stdout).toMatch(/^1 passed, 1 failed of 2 in/m);
  });

  it("writes TAP 14 and JUnit XML", () => {
    const tap = run(["test", "--reporter", "tap", "-j", "1"], dir);
    expect(tap.status).toBe(1);
    const lines = tap.stdout.split("\n");
    expect(lines.slice(0, 4)).toEqual([
      "TAP version 14",
      "1..2",
      "ok 1 - greet/greetsByName",
      "not ok 2 - greet/shouts",
    ]);
    expect(tap.stdout).toContain('  expected: "\\"HELLO, BOB!\\""');
    expect(tap.stdout).toContain('  actual: "\\"Hello, Bob!\\""');
    expect(tap.stdout).toMatch(/\n {2}\.\.\.\n$/);

    const xmlFile = path.join(root, "junit.xml");
    const junit = run(["test", "--reporter", "junit", "-o", xmlFile], dir);
    expect(junit.status).toBe(1);
    const xml = readFileSync(xmlFile, "utf8");
    expect(
      xml.startsWith(
        '<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="greeter" tests="2" failures="1" errors="0" skipped="0"',
      ),
    ).toBe(true);
    expect(xml).toMatch(
      /<testcase classname="greeter.greet" name="greet\/greetsByName" file="tests\/greet.test.ts" line="\d+" time="[\d.]+"\/>/,
    );
    expect(xml).toContain(
      '<failure message="the greeting shouts: expected &quot;HELLO, BOB!&quot;, actual &quot;Hello, Bob!&quot;" type="fail">',
    );
    expect(xml.trimEnd().endsWith("</testsuite>\n</testsuites>")).toBe(true);
  });

  it("runs only the tests --filter names, stops at the first failure with --bail", () => {
    const only = run(["test", "--filter", "ByName"], dir);
    expect(only.status, only.stdout).toBe(0);
    expect(only.stdout).toMatch(/^1 passed of 1/m);
    // A built test program runs without its sources: its tests are listed in its metadata.
    const built = run(["test", path.join(dir, "build", "test.npp"), "--filter", "ByName"], root);
    expect(built.status, built.stdout + built.stderr).toBe(0);
    expect(built.stdout).toMatch(/^ok {3}greet\/greetsByName/m);
    const none = run(["test", "--filter", "nothing-like-this"], dir);
    expect(none.status).not.toBe(0);
    expect(none.stderr).toContain("no test matches --filter nothing-like-this");
    expect(none.stderr).toContain("greet/greetsByName, greet/shouts");
    const bail = run(
      ["test", "--bail", "-j", "1", "--filter", "/shouts|ByName/", "--reporter", "tap"],
      dir,
    );
    expect(bail.status).toBe(1);
    expect(bail.stdout).toContain("ok 1 - greet/greetsByName\nnot ok 2 - greet/shouts");
  });

  it("puppet files script a test's permission answers, its CMDIN and its CMDUSR; without one, checks are refused", () => {
    const src = path.join(dir, "tests", "puppet.test.ts");
    const script = path.join(dir, "tests", "puppet.puppet.json");
    writeFileSync(
      src,
      [
        'import { readAllInput, readKey } from "../.ncw/sdk/as/command";',
        'import { fsError, fsFsid } from "../.ncw/sdk/as/fs";',
        'import { expectEqual, expectTrue } from "../.ncw/sdk/as/test";',
        "// ENUM_FS needs fs.filesystems.list (level 3): a test has no terminal to be asked on.",
        "export function listsFilesystems(): void {",
        '  expectTrue(fsFsid(), "ENUM_FS answered");',
        "}",
        "export function refusedWithoutAnswer(): void {",
        '  expectEqual(fsFsid(), false, "ENUM_FS refused");',
        '  expectEqual(fsError(), 0x0001, "the permission errcode");',
        "}",
        "export function readsCmdin(): void {",
        '  expectEqual(String.UTF8.decode(readAllInput().slice().buffer), "Ada\\n", "CMDIN");',
        "}",
        "// Each user input as modifiers:keycode:character (specs/shell.md's 6 bytes), until CMDUSR closes.",
        "export function readsKeys(): void {",
        '  let got = "";',
        "  for (let k = readKey(); k !== null; k = readKey())",
        '    got += k.modifiers.toString() + ":" + k.keycode.toString() + ":" + k.char.toString() + " ";',
        '  expectEqual(got, "0:28:121 0:40:0 0:82:0 64:22:115 0:0:201 ", "CMDUSR");',
        "}",
        "",
      ].join("\n"),
    );
    writeFileSync(
      script,
      JSON.stringify({
        deny: ["fs.filesystems.list"],
        tests: {
          listsFilesystems: { allow: ["fs.filesystems.list"], deny: [] },
          readsCmdin: { cmdin: "Ada\n" },
          // y (key 0x1C), Enter (0x28), Up (0x52), Ctrl-S (0x40, 0x16, "s"), É (no US key: 0x00).
          readsKeys: { cmdusr: ["y\n", { key: "UP" }, { key: "s", ctrl: true }, "É"] },
        },
      }),
    );
    try {
      const t = run(["test", "--filter", "puppet/", "-j", "2"], dir);
      expect(t.status, t.stdout + t.stderr).toBe(0);
      expect(t.stdout).toMatch(/^4 passed of 4/m);
      // The same tests without their puppet: the permission is refused, CMDIN is empty.
      rmSync(script);
      const bare = run(["test", "--filter", "puppet/", "-j", "2"], dir);
      expect(bare.status).toBe(1);
      expect(bare.stdout).toMatch(/^FAIL puppet\/listsFilesystems/m);
      expect(bare.stdout).toMatch(/^FAIL puppet\/readsCmdin/m);
      expect(bare.stdout).toMatch(/^FAIL puppet\/readsKeys/m);
      expect(bare.stdout).toMatch(/^ok {3}puppet\/refusedWithoutAnswer/m);
      // A puppet naming no test of its file is an error before anything runs.
      writeFileSync(script, JSON.stringify({ tests: { noSuchTest: { cmdin: "x" } } }));
      const wrong = run(["test", "--filter", "puppet/"], dir);
      expect(wrong.status).not.toBe(0);
      expect(wrong.stderr).toContain("tests/puppet.puppet.json");
      expect(wrong.stderr).toContain("noSuchTest");
      // A reserved key is a signal, not input: refused too.
      writeFileSync(script, JSON.stringify({ cmdusr: [{ key: "c", ctrl: true }] }));
      const reserved = run(["test", "--filter", "puppet/"], dir);
      expect(reserved.status).toBe(65);
      expect(reserved.stderr).toContain("reserved keys");
    } finally {
      rmSync(src, { force: true });
      rmSync(script, { force: true });
    }
  });

  it("stops a hanging test at --timeout and reports it; the others still run", () => {
    appendFileSync(
      path.join(dir, "tests", "greet.test.ts"),
      "\nexport function hangs(): void {\n  let i: i64 = 0;\n  while (i >= 0) i = (i + 1) & 0xff;\n}\n",
    );
    const t = run(["test", "--timeout", "1000", "--filter", "/hangs|ByName/"], dir);
    expect(t.status).toBe(1);
    expect(t.stdout).toMatch(/^TIME greet\/hangs/m);
    expect(t.stdout).toContain("still running after 1000 ms: killed");
    expect(t.stdout).toMatch(/^ok {3}greet\/greetsByName/m);
    // Nothing of it is left running.
    const ps = run(["ps", "--json"]);
    expect(ps.stdout).not.toContain("test.npp");
    // Nor any test's home: each snapshot, and the prepared home, were dropped.
    const homes = run(["fs", "ls", "/home"]);
    expect(homes.status, homes.stderr).toBe(0);
    expect(homes.stdout).not.toContain("ncwtest_");
  });
});

describe("ncw test, more tests than one window of homes", () => {
  it("gives each test its home, and leaves none behind, also those made for tests --bail did not run", () => {
    const many = path.join(root, "many");
    expect(run(["init", many]).status).toBe(0);
    // 20 tests (the homes are made 16 at a time) after one that fails; a file in the prepared home.
    const body = Array.from(
      { length: 20 },
      (_, i) =>
        `export function t${i}(): void {\n  expectEqual(greeting("n${i}"), "Hello, n${i}!");\n}\n`,
    ).join("\n");
    writeFileSync(
      path.join(many, "tests", "greet.test.ts"),
      `import { expectEqual } from "../.ncw/sdk/as/test";\nimport { greeting } from "../src/greet";\n\nexport function fails(): void {\n  expectEqual(1, 2, "one");\n}\n\n${body}`,
    );
    mkdirSync(path.join(many, "tests", "home"), { recursive: true });
    writeFileSync(path.join(many, "tests", "home", "seed.txt"), "seed\n");
    const all = run(["test", "-j", "2"], many);
    expect(all.status, all.stdout + all.stderr).toBe(1);
    expect(all.stdout).toMatch(/^20 passed, 1 failed of 21 in/m);
    const bail = run(["test", "--bail", "-j", "1"], many);
    expect(bail.status).toBe(1);
    expect(bail.stdout).toMatch(/^0 passed, 1 failed, 20 skipped of 21 in/m);
    const homes = run(["fs", "ls", "/home"]);
    expect(homes.status, homes.stderr).toBe(0);
    expect(homes.stdout).not.toContain("ncwtest_");
  }, 300_000);
});

describe("ncw test --watch", () => {
  it("reruns on a change with --watch: a test made to fail fails, fixed it passes; SIGTERM ends it", async () => {
    const dir = path.join(root, "watched");
    expect(run(["init", dir]).status).toBe(0);
    const child = spawn(process.execPath, [NCW_JS, "test", "--watch"], {
      cwd: dir,
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.on("data", (d) => {
      out += d;
    });
    child.stderr.on("data", (d) => {
      out += d;
    });
    const ended = new Promise<number | null>((resolve) => child.on("exit", (c) => resolve(c)));
    try {
      const runs = (re: RegExp) => out.split("\n").filter((l) => re.test(l)).length;
      expect(await waitFor(() => runs(/^1 passed of 1 in/) === 1, 120_000), out).toBe(true);
      const test = path.join(dir, "tests", "greet.test.ts");
      const good = readFileSync(test, "utf8");
      writeFileSync(test, good.replace(/"Hello, Ada!"/, '"Goodbye, Ada!"'));
      expect(good).toContain('"Hello, Ada!"');
      expect(await waitFor(() => runs(/^0 passed, 1 failed of 1 in/) === 1, 120_000), out).toBe(
        true,
      );
      expect(out).toContain('expected: "Goodbye, Ada!"');
      writeFileSync(test, good);
      expect(await waitFor(() => runs(/^1 passed of 1 in/) === 2, 120_000), out).toBe(true);
      // What a build writes (.ncw/, build/) starts no run of its own.
      await new Promise((r) => setTimeout(r, 1500));
      expect(runs(/^\d+ passed.* of \d+ in/)).toBe(3);
      child.kill("SIGTERM");
      expect(await ended).toBe(0);
    } finally {
      child.kill("SIGKILL");
    }
  }, 400_000);
});

describe.skipIf(!clangOk)("ncw init --lang c (skipped without clang and wasm-ld)", () => {
  it("builds and passes its test at once, and fails with file:line", () => {
    const dir = path.join(root, "cgreeter");
    expect(run(["init", dir, "--lang", "c"]).status).toBe(0);
    const b = run(["build"], dir);
    expect(b.status, b.stderr).toBe(0);
    const r = run(["run", path.join(dir, "build", "cgreeter-0.1.0.nap"), "Ada"]);
    expect(r.stdout).toBe("Hello, Ada!\n");
    const t = run(["test"], dir);
    expect(t.status, t.stdout + t.stderr).toBe(0);
    expect(t.stdout).toMatch(/^ok {3}greet\/greets_by_name/m);
    appendFileSync(
      path.join(dir, "tests", "greet_test.c"),
      '\nvoid test_counts(void) {\n  char out[64];\n  NIGHTOS_EXPECT_EQ(greeting("Bob", 3, out, sizeof out), 99);\n}\n',
    );
    const f = run(["test"], dir);
    expect(f.status).toBe(1);
    expect(f.stdout).toMatch(
      /assertion failed: .*tests\/greet_test\.c:\d+: greeting\("Bob", 3, out, sizeof out\) == 99/,
    );
    expect(f.stdout).toContain("expected: 99");
    expect(f.stdout).toContain("actual:   11");
  });
});

describe.skipIf(clangOk)("ncw build of a C project without clang", () => {
  it("says what to install", () => {
    const dir = path.join(root, "cnoclang");
    expect(run(["init", dir, "--lang", "c"]).status).toBe(0);
    const b = run(["build"], dir);
    expect(b.status).not.toBe(0);
    expect(b.stderr).toContain("clang");
    expect(b.stderr).toContain("apt install clang lld");
  });
});
