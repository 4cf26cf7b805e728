// Skyer's atomicity under real `kill -9`: for every step of install, reinstall, update, uninstall
// and a fresh library install, a real `ncw` process SIGKILLs itself at that step
// (NCW_TEST_CRASH_AT, docs/skyer.md "Atomicity"); the home must then hold exactly the old state
// (before the commit point) or the new one (after it), and the next command recovers and works.

import { spawn } from "node:child_process";
import { cpSync, existsSync, readFileSync, rmSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NCW_JS, ncw as run } from "./helpers/ncw.js";
import { makePackage, snapshot, tempDir } from "./skyer-fixtures.js";

const work = tempDir("ncw-skyer-crash-");
afterAll(() => rmSync(work, { recursive: true, force: true }));

function ncw(home: string, args: string[], env: Record<string, string> = {}) {
  return run(["--home", home, ...args], { env: { NCW_USER: "", NCW_TEST_CRASH_AT: "", ...env } });
}

const pk: Record<string, string> = {};
let nau = "";

beforeAll(async () => {
  const ev = { postinstall: true, preupdate: true, postupdate: true, preuninstall: true };
  pk.other = await makePackage(work, { aid: "dev::other", version: "1.0.0" });
  pk.notes1 = await makePackage(work, {
    aid: "dev::notes",
    version: "1.0.0",
    events: ev,
    files: { "a/one.txt": "1", "a/two.txt": "2", "old.txt": "old" },
  });
  pk.notes2 = await makePackage(work, {
    aid: "dev::notes",
    version: "1.1.0",
    events: ev,
    files: { "a/one.txt": "one", "b/three.txt": "3" },
  });
  pk.lib = await makePackage(work, { aid: "acme::maths", version: "1.0.0", lib: true });
  nau = path.join(work, "notes.nau");
  const r = run(["skyer", "make-update", pk.notes1, pk.notes2, "-o", nau]);
  expect(r.status, r.stderr).toBe(0);
});

interface Scenario {
  name: string;
  /** Commands that build the state before the operation. */
  base: string[][];
  op: string[];
  /** What `info --json` of `aid` says once the operation committed (null: not installed). */
  aid: string;
  after: string | null;
}

const scenarios = (): Scenario[] => [
  {
    name: "install",
    base: [["skyer", "install", pk.other!]],
    op: ["skyer", "install", pk.notes1!],
    aid: "dev::notes",
    after: "1.0.0",
  },
  {
    name: "global install (with appdata)",
    base: [["skyer", "install", pk.other!]],
    op: ["skyer", "install", pk.notes1!, "--global"],
    aid: "dev::notes",
    after: "1.0.0",
  },
  {
    name: "reinstall (update path)",
    base: [
      ["skyer", "install", pk.other!],
      ["skyer", "install", pk.notes1!],
    ],
    op: ["skyer", "install", pk.notes2!],
    aid: "dev::notes",
    after: "1.1.0",
  },
  {
    name: ".nau update",
    base: [
      ["skyer", "install", pk.other!],
      ["skyer", "install", pk.notes1!],
    ],
    op: ["skyer", "update", "dev::notes", nau],
    aid: "dev::notes",
    after: "1.1.0",
  },
  {
    name: "uninstall",
    base: [
      ["skyer", "install", pk.other!],
      ["skyer", "install", pk.notes1!],
    ],
    op: ["skyer", "uninstall", "dev::notes"],
    aid: "dev::notes",
    after: null,
  },
  {
    name: "first library version (creates /apps)",
    base: [["skyer", "install", pk.other!]],
    op: ["skyer", "install", pk.lib!, "--global"],
    aid: "acme::maths",
    after: "1.0.0",
  },
];

function versionOf(home: string, aid: string): string | null {
  const r = ncw(home, ["skyer", "info", aid, "--json"]);
  if (r.status === 66) return null;
  expect(r.status, r.stderr).toBe(0);
  return (JSON.parse(r.stdout) as { versions: { version: string }[] }).versions[0]!.version;
}

/** The version of `aid` in Skyer's database, read directly (null: not installed). */
function dbVersion(home: string, aid: string): string | null {
  const db = JSON.parse(
    readFileSync(path.join(home, "tree/etc/sys/skyer/installed.json"), "utf8"),
  ) as {
    items: { aid: string; versions: { version: string }[] }[];
  };
  return db.items.find((it) => it.aid === aid)?.versions[0]?.version ?? null;
}

/** The tree without Skyer's database, whose timestamps and ANIDs differ between runs. */
function withoutDb(s: Record<string, string>): Record<string, string> {
  const out = { ...s };
  delete out["etc/sys/skyer/installed.json"];
  return out;
}

describe("Skyer survives kill -9 at every step", () => {
  const names = [
    "install",
    "global install",
    "reinstall",
    ".nau update",
    "uninstall",
    "first library version",
  ];
  for (const [sc, name] of names.entries()) {
    it(name, () => {
      const s = scenarios()[sc]!;
      const base = path.join(work, `base-${sc}`);
      for (const cmd of s.base) {
        const r = ncw(base, cmd);
        expect(r.status, r.stderr).toBe(0);
      }
      // A clean run, tracing the steps it goes through.
      const clean = path.join(work, `clean-${sc}`);
      cpSync(base, clean, { recursive: true });
      const trace = path.join(work, `trace-${sc}`);
      const ok = ncw(clean, s.op, { NCW_TEST_TRACE_STEPS: trace });
      expect(ok.status, ok.stderr).toBe(0);
      const steps = readFileSync(trace, "utf8").trim().split("\n");
      expect(steps).toContain("journal");
      expect(steps).toContain("committed");
      const committedAt = steps.indexOf("committed");
      const newTree = snapshot(path.join(clean, "tree"));
      const oldTree = snapshot(path.join(base, "tree"));

      for (const [i, step] of steps.entries()) {
        const home = path.join(work, `crash-${sc}-${i}`);
        cpSync(base, home, { recursive: true });
        const crashed = ncw(home, s.op, { NCW_TEST_CRASH_AT: step });
        expect(crashed.signal, `${step}: ${crashed.stderr}`).toBe("SIGKILL");
        // The dead process's lock is still there; the next command takes it over and recovers.
        expect(existsSync(path.join(home, "run", "tree.lock"))).toBe(true);
        const list = ncw(home, ["skyer", "list"]);
        expect(list.status, `${step}: ${list.stderr}`).toBe(0);
        const tree = snapshot(path.join(home, "tree"));
        if (i < committedAt) {
          // Byte for byte the old tree, database included.
          expect(tree, `crash at ${step} must leave the old state`).toEqual(oldTree);
          if (step !== "staging" && step !== "staged") expect(list.stderr).toContain("rolled back");
          if (step === "journal") {
            // The operation can simply be run again.
            const again = ncw(home, s.op);
            expect(again.status, `${step}: ${again.stderr}`).toBe(0);
            expect(versionOf(home, s.aid)).toBe(s.after);
          }
        } else {
          // The new tree (the database differs only in timestamps and ANIDs).
          expect(withoutDb(tree), `crash at ${step} must leave the new state`).toEqual(
            withoutDb(newTree),
          );
          expect(dbVersion(home, s.aid)).toBe(s.after);
        }
        expect(existsSync(path.join(home, "tree/etc/sys/skyer/journal.json"))).toBe(false);
        expect(existsSync(path.join(home, "tree/etc/sys/skyer/staging"))).toBe(false);
        rmSync(home, { recursive: true, force: true });
      }
    });
  }

  it("recovers when killed again during the rollback itself", () => {
    const s = scenarios()[2]!; // reinstall: four renames to undo
    const home = path.join(work, "double-crash");
    for (const cmd of s.base) expect(ncw(home, cmd).status).toBe(0);
    const oldTree = snapshot(path.join(home, "tree"));
    expect(ncw(home, s.op, { NCW_TEST_CRASH_AT: "move:3" }).signal).toBe("SIGKILL");
    expect(ncw(home, ["skyer", "list"], { NCW_TEST_CRASH_AT: "rollback:1" }).signal).toBe(
      "SIGKILL",
    );
    const list = ncw(home, ["skyer", "list"]);
    expect(list.status, list.stderr).toBe(0);
    expect(list.stderr).toContain("rolled back");
    expect(snapshot(path.join(home, "tree"))).toEqual(oldTree);
    expect(versionOf(home, "dev::notes")).toBe("1.0.0");
  });
});

describe("two ncw commands at once", () => {
  it("the second writer gets TEMP_FAIL while the first holds the home; readers see the committed state", async () => {
    const home = path.join(work, "concurrent");
    expect(ncw(home, ["skyer", "install", pk.other!]).status).toBe(0);
    const trace = path.join(work, "concurrent-trace");
    const env = {
      ...process.env,
      NCW_USER: "",
      NCW_TEST_CRASH_AT: "",
      NCW_TEST_PAUSE_AT: "move:1",
      NCW_TEST_PAUSE_MS: "8000",
      NCW_TEST_TRACE_STEPS: trace,
    };
    const first = spawn(
      process.execPath,
      [NCW_JS, "--home", home, "skyer", "install", pk.notes1!],
      { env },
    );
    const exited = new Promise<number | null>((resolve) =>
      first.on("exit", (code) => resolve(code)),
    );
    // Wait until the first command is paused in the middle of its commit.
    for (
      let i = 0;
      i < 600 && !(existsSync(trace) && readFileSync(trace, "utf8").includes("paused"));
      i++
    ) {
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(readFileSync(trace, "utf8")).toContain("paused");
    const second = ncw(home, ["skyer", "install", pk.lib!, "--global", "--json"]);
    expect(second.status).toBe(75);
    expect((JSON.parse(second.stdout) as { error: { code: string } }).error.code).toBe(
      "SKYER_LOCKED",
    );
    const list = ncw(home, ["skyer", "list", "--json"]);
    expect(list.status, list.stderr).toBe(0);
    expect((JSON.parse(list.stdout) as { aid: string }[]).map((i) => i.aid)).toEqual([
      "sys::lib",
      "dev::other",
    ]);
    expect(await exited).toBe(0);
    expect(versionOf(home, "dev::notes")).toBe("1.0.0");
    expect(ncw(home, ["skyer", "install", pk.lib!, "--global"]).status).toBe(0);
  });
});
