// Skyer's atomicity under real `kill -9`: for every step of install, reinstall, update, uninstall
// an install with an embedded library, and a fresh library install, a real `ncw` process SIGKILLs itself at that step
// (NCW_TEST_CRASH_AT, docs/skyer.md "Atomicity"); the home must then hold exactly the old state
// (before the commit point) or the new one (after it), and the next command recovers and works.
// Speed: the two starting states are built once and copied; the crash at each step runs in its own
// copy, several at once (ncwAsync), so the file's time is set by the cores, not by the step count.
// Both tree backends run every case: the Btrfs image (the default; the tree is compared through the
// FsLayer, and `btrfs check --readonly` must pass on the image left by each kill and after recovery)
// and the host-directory tree.

import { spawn } from "node:child_process";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TreeBackend } from "../services/fs/open.js";
import { btrfsCheck, btrfsProgsMissing } from "./btrfs-oracle.js";
import { NCW_JS } from "./helpers/ncw.js";
import {
  backendOf,
  copyHome,
  makePackage,
  ncwAsync,
  readTreeText,
  tempDir,
  treeHas,
  treeSnapshot,
} from "./skyer-fixtures.js";

const work = tempDir("ncw-skyer-crash-");
afterAll(() => rmSync(work, { recursive: true, force: true }));

const progs = btrfsProgsMissing();
if (progs !== undefined && process.env.CI) throw new Error(`required in CI: ${progs}`);

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
  pk.withLib = await makePackage(work, {
    aid: "dev::cli",
    version: "1.0.0",
    libs: { "acme::strutils": "^2.0.0" },
    embed: [{ aid: "acme::strutils", version: "2.1.0", lib: true, files: { "w.txt": "w" } }],
  });
  nau = path.join(work, "notes.nau");
  const made = await ncwAsync(["skyer", "make-update", pk.notes1, pk.notes2, "-o", nau]);
  expect(made.status, made.stderr).toBe(0);
}, 120_000);

interface Scenario {
  name: string;
  base: "other" | "notes";
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

/** The version of `aid` in Skyer's database, read from the tree (null: not installed). */
async function dbVersion(home: string, aid: string): Promise<string | null> {
  const text = await readTreeText(home, "/etc/sys/skyer/installed.json");
  const db = JSON.parse(text ?? "{}") as {
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

function crashSuite(backend: TreeBackend): void {
  const env = { NCW_TREE_BACKEND: backend === "btrfs" ? "" : backend };
  const ncw = (home: string, args: string[], extra: Record<string, string> = {}) =>
    ncwAsync(["--home", home, ...args], {
      NCW_USER: "",
      NCW_TEST_CRASH_AT: "",
      ...env,
      ...extra,
    });
  const ok = async (home: string, args: string[]): Promise<void> => {
    const r = await ncw(home, args);
    expect(r.status, `${args.join(" ")}: ${r.stderr}`).toBe(0);
  };
  /** Starting states: "other" (dev::other installed), "notes" (and dev::notes 1.0.0). */
  const bases: Record<"other" | "notes", string> = { other: "", notes: "" };
  let copies = 0;
  /** A fresh copy of a starting state. */
  const copyOf = (base: keyof typeof bases): string => {
    const home = path.join(work, `${backend}-home-${++copies}`);
    copyHome(bases[base], home);
    return home;
  };
  /** `btrfs check --readonly` on the home's image (btrfs backend, where btrfs-progs runs). */
  const checkImage = (home: string, when: string): void => {
    if (backend !== "btrfs" || progs !== undefined) return;
    const r = btrfsCheck(path.join(home, "nightos.img"));
    expect(r.ok, `btrfs check ${when}: ${r.output}`).toBe(true);
  };

  beforeAll(async () => {
    bases.other = path.join(work, `${backend}-base-other`);
    bases.notes = path.join(work, `${backend}-base-notes`);
    await ok(bases.other, ["skyer", "install", pk.other!]);
    expect(backendOf(bases.other)).toBe(backend);
    copyHome(bases.other, bases.notes);
    await ok(bases.notes, ["skyer", "install", pk.notes1!]);
  }, 120_000);

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
    // The image holds its last commit, which must be a clean filesystem.
    checkImage(home, `after kill -9 at ${step}`);
    const list = await ncw(home, ["skyer", "list"]);
    expect(list.status, `${step}: ${list.stderr}`).toBe(0);
    checkImage(home, `after recovery from ${step}`);
    const tree = await treeSnapshot(home);
    if (beforeCommit) {
      // Byte for byte the old tree, database included.
      expect(tree, `crash at ${step} must leave the old state`).toEqual(trees.old);
      if (step !== "staging" && step !== "staged") expect(list.stderr).toContain("rolled back");
      if (step === "journal") {
        // The operation can simply be run again.
        const again = await ncw(home, s.op());
        expect(again.status, `${step}: ${again.stderr}`).toBe(0);
        expect(await dbVersion(home, s.aid)).toBe(s.after);
      }
    } else {
      // The new tree (the database differs only in timestamps and ANIDs).
      expect(withoutDb(tree), `crash at ${step} must leave the new state`).toEqual(
        withoutDb(trees.new),
      );
      expect(await dbVersion(home, s.aid)).toBe(s.after);
    }
    expect(await treeHas(home, "/etc/sys/skyer/journal.json")).toBe(false);
    expect(await treeHas(home, "/etc/sys/skyer/staging")).toBe(false);
    rmSync(home, { recursive: true, force: true });
  }

  describe(`Skyer survives kill -9 at every step (${backend})`, () => {
    for (const s of scenarios) {
      it.concurrent(s.name, async () => {
        // A clean run, tracing the steps it goes through.
        const clean = copyOf(s.base);
        const trace = `${clean}.trace`;
        const done = await ncw(clean, s.op(), { NCW_TEST_TRACE_STEPS: trace });
        expect(done.status, done.stderr).toBe(0);
        expect(await dbVersion(clean, s.aid)).toBe(s.after);
        const steps = readFileSync(trace, "utf8").trim().split("\n");
        expect(steps).toContain("journal");
        expect(steps).toContain("committed");
        const committedAt = steps.indexOf("committed");
        const trees = {
          old: await treeSnapshot(bases[s.base]),
          new: await treeSnapshot(clean),
        };
        await Promise.all(steps.map((step, i) => crashAt(s, step, i < committedAt, trees)));
      }, 300_000);
    }

    it.concurrent("recovers when killed again during the rollback itself", async () => {
      const s = scenarios[2]!; // reinstall: four renames to undo
      const home = copyOf(s.base);
      const oldTree = await treeSnapshot(home);
      // Killed once every rename is durable (on the image, a kill at move:n loses the renames
      // since the journal's commit, leaving nothing to undo).
      expect((await ncw(home, s.op(), { NCW_TEST_CRASH_AT: "moved" })).signal).toBe("SIGKILL");
      expect((await ncw(home, ["skyer", "list"], { NCW_TEST_CRASH_AT: "rollback:1" })).signal).toBe(
        "SIGKILL",
      );
      checkImage(home, "after a kill during the rollback");
      const list = await ncw(home, ["skyer", "list"]);
      expect(list.status, list.stderr).toBe(0);
      expect(list.stderr).toContain("rolled back");
      checkImage(home, "after the second recovery");
      expect(await treeSnapshot(home)).toEqual(oldTree);
      expect(await dbVersion(home, "dev::notes")).toBe("1.0.0");
    }, 300_000);
  });

  describe(`two ncw commands at once (${backend})`, () => {
    it("the second writer gets TEMP_FAIL while the first holds the home; readers see the committed state", async () => {
      const home = copyOf("other");
      const trace = path.join(work, `${backend}-concurrent-trace`);
      const firstEnv = {
        ...process.env,
        ...env,
        NCW_USER: "",
        NCW_TEST_CRASH_AT: "",
        NCW_TEST_PAUSE_AT: "move:1",
        NCW_TEST_PAUSE_MS: "30000",
        NCW_TEST_TRACE_STEPS: trace,
      };
      const first = spawn(
        process.execPath,
        [NCW_JS, "--home", home, "skyer", "install", pk.notes1!],
        { env: firstEnv },
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
      expect(await dbVersion(home, "dev::notes")).toBe("1.0.0");
      await ok(home, ["skyer", "install", pk.lib!, "--global"]);
    });
  });
}

crashSuite("btrfs");
crashSuite("hostdir");
