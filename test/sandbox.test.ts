// `ncw run --sandbox` end to end (docs/dev-loop.md "Sandboxes"; spec features/sandboxes.md): the notes
// example (AssemblyScript, sys::fs) writes its notes in a sandbox, which `ncw fs` (the real tree) never
// shows until they are applied; the changes are listed with their sizes when the app exits; without a
// terminal they are discarded unless --apply; a persistent sandbox (--sandbox=<name>) keeps them for
// the next run; `ncw sandbox` lists, diffs, exports, imports, applies (refusing what the real tree
// changed meanwhile) and removes them; on a real pseudo-terminal the question is answered with a key;
// the image passes `btrfs check` after. The view, diff and apply on the layer: services/fs/sandbox.test.ts.

import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { btrfsProgsMissing, expectCheckClean, skipUnless } from "./btrfs-oracle.js";
import { alive, onPty, TestHome, waitFor } from "./kernel-helpers.js";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const NAP = path.join(ROOT, "dist", "examples", "notes.nap");
const AREA = "/home/user/appdata/ncwdemo.notes";
const FOLDER = `${AREA}/notes`;

const home = new TestHome({ NCW_KERNEL_IDLE_MS: "60000" });
afterAll(() => {
  if (process.env.SANDBOX_KEEP === undefined) home.cleanup();
  else console.log(`kept ${home.home}`);
});

/** `ncw run [flags] ncwdemo::notes <args>` without a terminal. */
const notes = (flags: string[], args: string[]) =>
  home.ncw(["run", ...flags, "--allow", "fs.filesystems.list", "ncwdemo::notes", ...args]);
const realNotes = () => home.ncw(["fs", "ls", FOLDER]).stdout.split("\n").filter(Boolean);

function ptyMissing(): string | undefined {
  const py = spawnSync("python3", ["-c", "import pty"]);
  return py.status === 0 ? undefined : "python3 with its pty module (apt-get install python3)";
}

describe.skipIf(skipUnless(btrfsProgsMissing()))("ncw run --sandbox", () => {
  it("installs notes and writes one note in the real tree", () => {
    expect(existsSync(NAP), "run the build step (scripts/build-examples.mjs)").toBe(true);
    home.install(NAP);
    const r = notes([], ["add", "real", "the real note"]);
    expect(r.code, r.stderr).toBe(0);
    expect(realNotes()).toEqual(["real"]);
  }, 180_000);

  it("shows a one-off sandbox's changes with sizes and, without a terminal, discards them", () => {
    const r = notes(["--sandbox"], ["add", "groceries", "milk, eggs"]);
    expect(r.code, r.stderr).toBe(0);
    // The app's value on stdout, as without a sandbox; the report on stderr.
    expect(r.stdout).toBe("10\n");
    expect(r.stderr).toContain("ncw: the sandbox: 1 added, 0 changed, 0 removed");
    expect(r.stderr).toContain(`  + ${FOLDER}/groceries  (10 B)`);
    expect(r.stderr).toContain("ncw: discarded the sandbox's changes");
    expect(realNotes()).toEqual(["real"]);
    // Dropped: nothing is left in the app's sandboxes folder.
    expect(home.ncw(["fs", "ls", `${AREA}/sandboxes`]).stdout).toBe("");
  }, 120_000);

  it("keeps the app's exit code and its failure", () => {
    const r = notes(["--sandbox"], ["show", "nothere"]);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toContain("ncw: the sandbox: no changes");
  }, 120_000);

  it("applies them with --apply, and --json reports what was done", () => {
    const r = home.ncw([
      "run",
      "--json",
      "--sandbox",
      "--apply",
      "--allow",
      "fs.filesystems.list",
      "ncwdemo::notes",
      "add",
      "real",
      "rewritten",
    ]);
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.returned).toEqual({ type: "int", value: 9 });
    expect(doc.sandbox.name).toMatch(/^default\.[0-9a-f]{8}$/);
    expect(doc.sandbox).toMatchObject({
      persistent: false,
      action: "applied",
      changes: [{ path: `${FOLDER}/real`, change: "changed", kind: "file", size: 9, oldSize: 13 }],
      refused: [],
    });
    expect(home.ncw(["fs", "cat", `${FOLDER}/real`]).stdout).toBe("rewritten");
  }, 120_000);

  it("lists a removed note with its size, and the real tree keeps it", () => {
    const r = notes(["--sandbox"], ["rm", "real"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain("ncw: the sandbox: 0 added, 0 changed, 1 removed");
    expect(r.stderr).toContain(`  - ${FOLDER}/real  (9 B)`);
    expect(realNotes()).toEqual(["real"]);
  }, 120_000);

  it("keeps a persistent sandbox for the next run, invisible to the real tree", () => {
    const first = notes(["--sandbox=exp"], ["add", "a", "aaa"]);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).toContain("ncw: kept sandbox exp for the next run");
    const changed = notes(["--sandbox=exp"], ["add", "real", "mine!"]);
    expect(changed.stderr).toContain(`  ~ ${FOLDER}/real  (9 B → 5 B)`);
    // The next run in it sees its own earlier writes; the real tree and an unsandboxed run do not.
    const inside = notes(["--sandbox=exp"], ["list"]);
    expect(inside.stdout).toBe("a (3 bytes)\nreal (5 bytes)\n");
    expect(notes([], ["list"]).stdout).toBe("real (9 bytes)\n");
    expect(realNotes()).toEqual(["real"]);
    const list = home.ncw(["sandbox", "list"]);
    expect(list.stdout).toBe("ncwdemo.notes  exp  1 added, 1 changed, 0 removed\n");
    const diff = JSON.parse(
      home.ncw(["sandbox", "diff", "ncwdemo::notes", "exp", "--json"]).stdout,
    );
    expect(diff.changes).toEqual([
      { path: `${FOLDER}/a`, change: "added", kind: "file", size: 3, oldSize: 0 },
      { path: `${FOLDER}/real`, change: "changed", kind: "file", size: 5, oldSize: 9 },
    ]);
  }, 180_000);

  it("exports it, imports it back, and applies it, refusing what the real tree changed meanwhile", () => {
    const file = path.join(home.home, "exp.tar");
    const ex = home.ncw(["sandbox", "export", "ncwdemo::notes", "exp", "-o", file]);
    expect(ex.code, ex.stderr).toBe(0);
    // A tar any tar lists: the manifest, then the changed files.
    const tar = spawnSync("tar", ["tf", file]);
    if (tar.status === 0)
      expect(tar.stdout.toString().split("\n").filter(Boolean)).toEqual([
        "manifest.json",
        `files${FOLDER}/a`,
        `files${FOLDER}/real`,
      ]);
    expect(home.ncw(["sandbox", "rm", "ncwdemo::notes", "exp"]).code).toBe(0);
    expect(home.ncw(["sandbox", "list"]).stdout).toBe("no sandboxes for user user\n");
    const im = home.ncw(["sandbox", "import", file]);
    expect(im.code, im.stderr).toBe(0);
    expect(home.ncw(["sandbox", "diff", "ncwdemo.notes", "exp"]).stdout).toBe(
      `1 added, 1 changed, 0 removed\n  + ${FOLDER}/a  (3 B)\n  ~ ${FOLDER}/real  (9 B → 5 B)\n`,
    );
    // The real tree changes `real` after the sandbox was made: that change is refused, `a` applied.
    expect(notes([], ["add", "real", "theirs"]).code).toBe(0);
    const ap = home.ncw(["sandbox", "apply", "ncwdemo::notes", "exp"]);
    expect(ap.code).toBe(1);
    expect(ap.stdout).toContain("applied 1 change(s) to the real tree");
    expect(ap.stdout).toContain(
      `refused ${FOLDER}/real: the real tree changed it too since the sandbox was made`,
    );
    expect(realNotes()).toEqual(["a", "real"]);
    expect(home.ncw(["fs", "cat", `${FOLDER}/real`]).stdout).toBe("theirs");
    // Kept, with what was refused still to apply.
    expect(home.ncw(["sandbox", "diff", "ncwdemo::notes", "exp"]).stdout).toBe(
      `0 added, 1 changed, 0 removed\n  ~ ${FOLDER}/real  (6 B → 5 B)\n`,
    );
    expect(home.ncw(["sandbox", "rm", "ncwdemo::notes", "exp"]).code).toBe(0);
  }, 180_000);

  it("while a sandboxed app runs: its writes stay in its sandbox, shared only with runs in it", async () => {
    // `watch 1` waits for one change of its notes folder, as the app sees it: the sandbox's.
    const watcher = home.spawnNcw([
      "run",
      "--sandbox=live",
      "--allow",
      "fs.filesystems.list",
      "ncwdemo::notes",
      "watch",
      "1",
    ]);
    const ended = new Promise<number | null>((resolve) => watcher.on("close", resolve));
    expect(
      await waitFor(() => watcher.output().includes("watching"), 60_000),
      watcher.output(),
    ).toBe(true);
    // A change of the real folder is not one of the sandbox's: the watcher does not hear it.
    expect(notes([], ["add", "outside", "o"]).code).toBe(0);
    // Another run in the same sandbox writes a note there: the watcher hears it and ends.
    const add = notes(["--sandbox=live"], ["add", "w", "while"]);
    expect(add.code, add.stderr).toBe(0);
    expect(realNotes()).not.toContain("w");
    expect(await ended).toBe(0);
    expect(watcher.output()).toContain("watching\nnotes changed\n1\n");
    expect(watcher.output()).toContain(`+ ${FOLDER}/w  (5 B)`);
    expect(watcher.output()).not.toContain("outside");
    expect(realNotes()).toContain("outside");
    expect(realNotes()).not.toContain("w");
    expect(home.ncw(["sandbox", "rm", "ncwdemo::notes", "live"]).code).toBe(0);
  }, 120_000);

  it.skipIf(skipUnless(ptyMissing()))(
    "asks on a terminal: a key applies the changes",
    () => {
      const res = onPty(
        home,
        [
          "run",
          "--sandbox",
          "--allow",
          "fs.filesystems.list",
          "ncwdemo::notes",
          "add",
          "typed",
          "on a terminal",
        ],
        [{ expect: "\\(Enter: discard\\) \\? $", key: "a" }],
        { NO_COLOR: "1" },
      );
      expect(res.output).toContain(`+ ${FOLDER}/typed  (13 B)`);
      expect(res.output).toMatch(/apply these changes to the real tree or discard them\?/);
      expect(res.output).toMatch(/\[a\]pply {2}\[d\]iscard {2}\(Enter: discard\) \? apply/);
      expect(res.output).toContain("exit=0");
      expect(home.ncw(["fs", "cat", `${FOLDER}/typed`]).stdout).toBe("on a terminal");
    },
    120_000,
  );

  it("keys a program run from a file by its program's hash", () => {
    // Not installed: no data area, so the notes folder needs its permissions up front.
    const allow = ["exists", "create", "write", "read"].flatMap((p) => [
      "--allow",
      `fs.items.${p}=${AREA}`,
    ]);
    const r = home.ncw([
      "run",
      "--sandbox=vol",
      "--allow",
      "fs.filesystems.list",
      ...allow,
      NAP,
      "add",
      "loose",
      "from a file",
    ]);
    expect(r.code, r.stderr).toBe(0);
    const m = /ncw sandbox diff\|apply\|rm (\.volatile\.[0-9a-f]{16}) vol/.exec(r.stderr);
    expect(m, r.stderr).not.toBeNull();
    expect(home.ncw(["sandbox", "list"]).stdout).toContain(`${m![1]}  vol  1 added`);
    expect(realNotes()).not.toContain("loose");
    const ap = home.ncw(["sandbox", "apply", m![1]!, "vol", "--drop"]);
    expect(ap.code, ap.stderr).toBe(0);
    expect(realNotes()).toContain("loose");
    expect(home.ncw(["sandbox", "list"]).stdout).toBe("no sandboxes for user user\n");
  }, 120_000);

  it("leaves an image btrfs check accepts", async () => {
    const pid = home.kernelPid();
    if (pid !== undefined) {
      process.kill(pid, "SIGTERM");
      expect(await waitFor(() => !alive(pid))).toBe(true);
    }
    expectCheckClean(path.join(home.home, "nightos.img"));
  }, 60_000);
});
