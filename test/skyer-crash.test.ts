// Skyer's atomicity under real `kill -9`: for every step of install, reinstall, update, uninstall
// an install with an embedded library, and a fresh library install, a real `ncw` process SIGKILLs itself at that step
// (NCW_TEST_CRASH_AT, docs/skyer.md "Atomicity"); the home must then hold exactly the old state
// (before the commit point) or the new one (after it), and the next command recovers and works.
// Speed: the two starting states are built once and copied; the crash at each step runs in its own
// copy, several at once (ncwAsync), so the file's time is set by the cores, not by the step count.

import { spawn } from "node:child_process";
import { cpSync, existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NCW_JS } from "./helpers/ncw.js";
import { makePackage, ncwAsync, snapshot, tempDir } from "./skyer-fixtures.js";

const work = tempDir("ncw-skyer-crash-");
afterAll(() => rmSync(work, { recursive: true, force: true }));

const ncw = (home: string, args: string[], env: Record<string, string> = {}) =>
  ncwAsync(["--home", home, ...args], { NCW_USER: "", NCW_TEST_CRASH_AT: "", ...env });

const pk: Record<string, string> = {};
let nau = "";
/** Starting states: "other" (dev::other installed), "notes" (and dev::notes 1.0.0). */
const bases: Record<"other" | "notes", string> = { other: "", notes: "" };
let copies = 0;

/** A fresh copy of a starting state. */
function copyOf(base: keyof typeof bases): string {
  const home = path.join(work, `home-${++copies}`);
  cpSync(bases[base], home, { recursive: true });
  return home;
}

async function ok(home: string, args: string[]): Promise<void> {
  const r = await ncw(home, args);
  expect(r.status, `${args.join(" ")}: ${r.stderr}`).toBe(0);
}

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
  pk.withLib = await makePackage(work, {
    aid: "dev::cli",
    version: "1.0.0",
    libs: { "acme::strutils": "^2.0.0" },
    embed: [{ aid: "acme::strutils", version: "2.1.0", lib: true, files: { "w.txt": "w" } }],
  });
  nau = path.join(work, "notes.nau");
  bases.other = path.join(work, "base-other");
  bases.notes = path.join(work, "base-notes");
  const made = ncwAsync(["skyer", "make-update", pk.notes1, pk.notes2, "-o", nau]);
  await ok(bases.other, ["skyer", "install", pk.other]);
  cpSync(bases.other, bases.notes, { recursive: true });
  await ok(bases.notes, ["skyer", "install", pk.notes1]);
  expect((await made).status).toBe(0);
}, 120_000);

interface Scenario {
  name: string;
  base: keyof typeof bases;
  op: () => string[];
  /** The AID the operation changes and its version once committed (null: not installed). */
  aid: string;
  after: string | null;
}

const scenarios: Scenario[] = [
  {
    name: "install",
    base: "other",
    op: () => ["skyer", "install", pk.notes1!],
    aid: "dev::notes",
    after: "1.0.0",
  },
  {
    name: "global install (with appdata)",
    base: "other",
    op: () => ["skyer", "install", pk.notes1!, "--global"],
    aid: "dev::notes",
    after: "1.0.0",
  },
  {
    name: "reinstall (update path)",
    base: "notes",
    op: () => ["skyer", "install", pk.notes2!],
    aid: "dev::notes",
    after: "1.1.0",
  },
  {
    name: ".nau update",
    base: "notes",
    op: () => ["skyer", "update", "dev::notes", nau],
    aid: "dev::notes",
    after: "1.1.0",
  },
  {
    name: "uninstall",
    base: "notes",
    op: () => ["skyer", "uninstall", "dev::notes"],
    aid: "dev::notes",
    after: null,
  },
  {
    name: "install with an embedded library (two items, one transaction)",
    base: "other",
    op: () => ["skyer", "install", pk.withLib!],
    aid: "dev::cli",
    after: "1.0.0",
  },
  {
    name: "first library version (creates /apps)",
    base: "other",
    op: () => ["skyer", "install", pk.lib!, "--global"],
    aid: "acme::maths",
    after: "1.0.0",
  },
];

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

/** Kill a real `ncw` running `s` at `step` in a fresh copy, then check recovery. */
async function crashAt(
  s: Scenario,
  step: string,
  beforeCommit: boolean,
  trees: { old: Record<string, string>; new: Record<string, string> },
): Promise<void> {
  const home = copyOf(s.base);
  const crashed = await ncw(home, s.op(), { NCW_TEST_CRASH_AT: step });
  expect(crashed.signal, `${step}: ${crashed.stderr}`).toBe("SIGKILL");
  // The dead process's lock is still there; the next command takes it over and recovers.
  expect(existsSync(path.join(home, "run", "tree.lock"))).toBe(true);
  const list = await ncw(home, ["skyer", "list"]);
  expect(list.status, `${step}: ${list.stderr}`).toBe(0);
  const tree = snapshot(path.join(home, "tree"));
  if (beforeCommit) {
    // Byte for byte the old tree, database included.
    expect(tree, `crash at ${step} must leave the old state`).toEqual(trees.old);
    if (step !== "staging" && step !== "staged") expect(list.stderr).toContain("rolled back");
    if (step === "journal") {
      // The operation can simply be run again.
      const again = await ncw(home, s.op());
      expect(again.status, `${step}: ${again.stderr}`).toBe(0);
      expect(dbVersion(home, s.aid)).toBe(s.after);
    }
  } else {
    // The new tree (the database differs only in timestamps and ANIDs).
    expect(withoutDb(tree), `crash at ${step} must leave the new state`).toEqual(
      withoutDb(trees.new),
    );
    expect(dbVersion(home, s.aid)).toBe(s.after);
  }
  expect(existsSync(path.join(home, "tree/etc/sys/skyer/journal.json"))).toBe(false);
  expect(existsSync(path.join(home, "tree/etc/sys/skyer/staging"))).toBe(false);
  rmSync(home, { recursive: true, force: true });
}

describe("Skyer survives kill -9 at every step", () => {
  for (const s of scenarios) {
    it.concurrent(s.name, async () => {
      // A clean run, tracing the steps it goes through.
      const clean = copyOf(s.base);
      const trace = `${clean}.trace`;
      const done = await ncw(clean, s.op(), { NCW_TEST_TRACE_STEPS: trace });
      expect(done.status, done.stderr).toBe(0);
      expect(dbVersion(clean, s.aid)).toBe(s.after);
      const steps = readFileSync(trace, "utf8").trim().split("\n");
      expect(steps).toContain("journal");
      expect(steps).toContain("committed");
      const committedAt = steps.indexOf("committed");
      const trees = {
        old: snapshot(path.join(bases[s.base], "tree")),
        new: snapshot(path.join(clean, "tree")),
      };
      await Promise.all(steps.map((step, i) => crashAt(s, step, i < committedAt, trees)));
    }, 300_000);
  }

  it.concurrent("recovers when killed again during the rollback itself", async () => {
    const s = scenarios[2]!; // reinstall: four renames to undo
    const home = copyOf(s.base);
    const oldTree = snapshot(path.join(home, "tree"));
    expect((await ncw(home, s.op(), { NCW_TEST_CRASH_AT: "move:3" })).signal).toBe("SIGKILL");
    expect((await ncw(home, ["skyer", "list"], { NCW_TEST_CRASH_AT: "rollback:1" })).signal).toBe(
      "SIGKILL",
    );
    const list = await ncw(home, ["skyer", "list"]);
    expect(list.status, list.stderr).toBe(0);
    expect(list.stderr).toContain("rolled back");
    expect(snapshot(path.join(home, "tree"))).toEqual(oldTree);
    expect(dbVersion(home, "dev::notes")).toBe("1.0.0");
  }, 300_000);
});

describe("two ncw commands at once", () => {
  it("the second writer gets TEMP_FAIL while the first holds the home; readers see the committed state", async () => {
    const home = copyOf("other");
    const trace = path.join(work, "concurrent-trace");
    const env = {
      ...process.env,
      NCW_USER: "",
      NCW_TEST_CRASH_AT: "",
      NCW_TEST_PAUSE_AT: "move:1",
      NCW_TEST_PAUSE_MS: "30000",
      NCW_TEST_TRACE_STEPS: trace,
    };
    const first = spawn(
      process.execPath,
      [NCW_JS, "--home", home, "skyer", "install", pk.notes1!],
      { env },
    );
    let firstErr = "";
    first.stderr.setEncoding("utf8").on("data", (d: string) => {
      firstErr += d;
    });
    let firstDone = false;
    const exited = new Promise<number | null>((resolve) =>
      first.on("exit", (code) => {
        firstDone = true;
        resolve(code);
      }),
    );
    // Wait until the first command is paused in the middle of its commit (or has failed).
    for (
      let i = 0;
      i < 600 &&
      !firstDone &&
      !(existsSync(trace) && readFileSync(trace, "utf8").includes("paused"));
      i++
    ) {
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(existsSync(trace) ? readFileSync(trace, "utf8") : "", firstErr).toContain("paused");
    try {
      const second = await ncw(home, ["skyer", "install", pk.lib!, "--global", "--json"]);
      expect(second.status).toBe(75);
      expect((JSON.parse(second.stdout) as { error: { code: string } }).error.code).toBe(
        "SKYER_LOCKED",
      );
      const list = await ncw(home, ["skyer", "list", "--json"]);
      expect(list.status, list.stderr).toBe(0);
      expect((JSON.parse(list.stdout) as { aid: string }[]).map((i) => i.aid)).toEqual([
        "sys::lib",
        "dev::other",
      ]);
    } finally {
      // Let the first command finish its commit.
      writeFileSync(`${trace}.resume`, "");
    }
    expect(await exited).toBe(0);
    expect(dbVersion(home, "dev::notes")).toBe("1.0.0");
    await ok(home, ["skyer", "install", pk.lib!, "--global"]);
  });
});
