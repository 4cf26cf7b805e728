// The example apps, built on the SDKs (docs/sdk.md), run the way a user runs them: `ncw run` on the
// packages of dist/examples/ (built by `npm run build`), through the command pipes. hello greets its
// argument (AssemblyScript), stat takes a list, an enum and a flag and returns an int or fails
// (AssemblyScript), wc counts what is piped in and writes the counts on CMDRAW (C), notes keeps its notes
// as files on the NightOS filesystem through sys::fs (AssemblyScript, sdk/as/fs.ts).

import { spawnSync } from "node:child_process";
import { existsSync, rmSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { btrfsProgsMissing, expectCheckClean, skipUnless } from "./btrfs-oracle.js";
import { alive, NCW, TestHome, waitFor } from "./kernel-helpers.js";

const EXAMPLES = path.join(fileURLToPath(new URL("..", import.meta.url)), "dist", "examples");
const nap = (name: string) => {
  const f = path.join(EXAMPLES, `${name}.nap`);
  if (!existsSync(f)) throw new Error(`${f} is missing: run \`npm run build\` first`);
  return f;
};

const home = new TestHome();
afterAll(() => rmSync(home.dir, { recursive: true, force: true }));

/** `ncw <args>` with `input` on its stdin (a pipe, not a terminal). */
function ncw(args: string[], input = "") {
  const r = spawnSync(process.execPath, [NCW, ...args], {
    env: home.envFor(),
    encoding: "utf8",
    input,
    timeout: 60_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("the examples", () => {
  it("hello says hello to its argument, and to the world without one", () => {
    const r = ncw(["run", nap("hello"), "Ada"]);
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("Hello, Ada!\n");
    expect(r.code).toBe(0);
    expect(ncw(["run", nap("hello")]).stdout).toBe("Hello, world!\n");
  });

  it("hello's name is shown in its colour and bold on a colour output", () => {
    const r = spawnSync(process.execPath, [NCW, "run", "--color", nap("hello"), "Ada"], {
      env: home.envFor({ NO_COLOR: "" }),
      encoding: "utf8",
    });
    // 0x4fa3ff = 79;163;255, bold = 1 (shell.md "Text output" rendered as ANSI by the CLI).
    expect(r.stdout).toBe("Hello, \x1b[1;38;2;79;163;255mAda\x1b[0m!\n");
  });

  it("stat takes a list, an enum and a flag and returns an int", () => {
    const r = ncw(["run", nap("stat"), "stat", "3", "1", "4", "--op", "max", "-v"]);
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("max(3, 1, 4) = 4\n4\n");
    expect(r.code).toBe(0);
    // The enum's default is "sum" and the flag is off: only the value, as JSON with --json.
    const j = ncw(["run", "--json", nap("stat"), "stat", "2", "5", "-o", "product"]);
    expect(JSON.parse(j.stdout)).toMatchObject({
      returned: { type: "int", value: 10 },
      failed: false,
      exitCode: 0,
    });
    expect(ncw(["run", nap("stat"), "stat", "2", "5"]).stdout).toBe("7\n");
  });

  it("stat fails (not faulty) when min has no integers, with its message on stderr", () => {
    const r = ncw(["run", nap("stat"), "stat", "[]", "--op", "min"]);
    expect(r.stderr).toContain("stat: min of no integers");
    expect(r.stdout).toBe("");
    expect(r.code).toBe(1);
    const j = ncw(["run", "--json", nap("stat"), "stat", "[]", "--op", "min"]);
    expect(JSON.parse(j.stdout)).toMatchObject({ failed: true, faulty: null });
  });

  it("a wrong enum value is refused before stat starts", () => {
    const r = ncw(["run", nap("stat"), "stat", "1", "--op", "avg"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('got "avg"');
  });

  it("wc counts the lines, words and bytes piped into it, as POSIX wc does", () => {
    const text = "one two\nthree\n  four\tfive six  \n";
    const r = ncw(["run", nap("wc"), "wc"], text);
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("3 6 32\n");
    expect(r.code).toBe(0);
    expect(ncw(["run", nap("wc"), "wc", "-l"], text).stdout).toBe("3\n");
    expect(ncw(["run", nap("wc"), "wc", "-wc"], text).stdout).toBe("6 32\n");
    expect(ncw(["run", nap("wc"), "wc"], "").stdout).toBe("0 0 0\n");
  });

  it("wc counts a large input that takes many reads", () => {
    const line = "lorem ipsum dolor sit amet\n";
    const text = line.repeat(40_000); // about 1 MiB, many times CMDIN's ring
    const r = ncw(["run", nap("wc"), "wc"], text);
    expect(r.stdout).toBe(`40000 200000 ${text.length}\n`);
  });

  it("stat installed, called by its command's name with ncw exec", () => {
    const inst = ncw(["skyer", "install", nap("stat")]);
    expect(inst.code, inst.stderr).toBe(0);
    const r = ncw(["exec", "stat", "10", "-2", "--op=min"]);
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("-2\n");
    expect(r.code).toBe(0);
  });

  it("hello piped into wc through the host shell", () => {
    const sh = spawnSync(
      "sh",
      [
        "-c",
        `"${process.execPath}" "${NCW}" run "${nap("hello")}" Ada | "${process.execPath}" "${NCW}" run "${nap("wc")}" wc`,
      ],
      { env: home.envFor(), encoding: "utf8", timeout: 60_000 },
    );
    expect(sh.stdout).toBe("1 2 12\n");
    expect(sh.status).toBe(0);
  });
});

describe.skipIf(skipUnless(btrfsProgsMissing()))("notes, on sys::fs", () => {
  // ENUM_FS (the FSID) needs fs.filesystems.list, which is asked (no terminal here: refused) unless given.
  const notes = (args: string[]) =>
    ncw(["run", "--allow", "fs.filesystems.list", "ncwdemo::notes", ...args]);
  const FOLDER = "/home/user/appdata/ncwdemo.notes/notes";

  it("writes notes that `ncw fs` sees, lists and reads them back, and leaves a clean image", async () => {
    const inst = ncw(["skyer", "install", nap("notes")]);
    expect(inst.code, inst.stderr).toBe(0);

    const add = notes(["add", "groceries", "milk, eggs"]);
    expect(add.stderr).toBe("");
    expect(add.stdout).toBe("10\n"); // the note's size, returned as an int
    expect(add.code).toBe(0);
    const text = "ünïcode ✓ and a second line\nhere";
    expect(notes(["add", "todo", text]).stdout).toBe(`${Buffer.byteLength(text)}\n`);
    // The same name again replaces the note (WRITE_FILE truncates): shorter than before.
    expect(notes(["add", "groceries", "milk"]).stdout).toBe("4\n");

    const list = notes(["list"]);
    expect(list.stderr).toBe("");
    expect(list.stdout).toBe(`groceries (4 bytes)\ntodo (${Buffer.byteLength(text)} bytes)\n`);
    const show = notes(["show", "todo"]);
    expect(show.stdout).toBe(`${text}\n`);
    expect(show.code).toBe(0);

    // A note that is not there: ITEM_METADATA's NOT_FOUND (0x3002), and the command fails.
    const missing = notes(["show", "nothere"]);
    expect(missing.stderr).toContain("errcode 0x3002");
    expect(missing.code).toBe(1);
    // Another user's home is closed to the app (the storage rules): PERMISSION (0x0001).
    const other = notes(["list", "--user", "bob"]);
    expect(other.stderr).toContain("errcode 0x1)");
    expect(other.code).toBe(1);
    // Without the permission, no FSID: ENUM_FS refused, nothing read.
    const refused = ncw(["run", "ncwdemo::notes", "list"]);
    expect(refused.stderr).toContain("fs.filesystems.list");
    expect(refused.code).toBe(1);

    // Another app's change reaches a watcher: `watch 1` (WATCH_ITEM of the folder, then nextChange)
    // prints "watching", sees the folder's entries change (ITEM_CHANGED 0x01) when a note is added, and ends.
    const watcher = home.spawnNcw([
      "run",
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
    expect(watcher.output()).not.toContain("notes changed");
    expect(notes(["add", "later", "z"]).code).toBe(0);
    expect(await ended).toBe(0);
    expect(watcher.output()).toBe("watching\nnotes changed\n1\n");

    // The kernel commits and lets the image go when it stops: btrfs check, then the CLI reads it.
    const pid = home.kernelPid();
    if (pid !== undefined) {
      process.kill(pid, "SIGTERM");
      expect(await waitFor(() => !alive(pid))).toBe(true);
    }
    expectCheckClean(path.join(home.home, "nightos.img"));
    const ls = ncw(["fs", "ls", FOLDER]);
    expect(ls.code, ls.stderr).toBe(0);
    expect(ls.stdout).toBe("groceries\nlater\ntodo\n");
    expect(ncw(["fs", "cat", `${FOLDER}/groceries`]).stdout).toBe("milk");
    expect(ncw(["fs", "cat", `${FOLDER}/todo`]).stdout).toBe(text);
  }, 180_000);

  it("fsdemo (C, nightos_fs.h) writes, reads back and lists a file that `ncw fs cat` shows", () => {
    const inst = ncw(["skyer", "install", nap("fsdemo")]);
    expect(inst.code, inst.stderr).toBe(0);
    const r = ncw(["run", "--allow", "fs.filesystems.list", "ncwdemo::fsdemo"]);
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("hi from C\nhello.txt\n1\n");
    expect(r.code).toBe(0);
    const cat = ncw(["fs", "cat", "/home/user/appdata/ncwdemo.fsdemo/hello.txt"]);
    expect(cat.stdout).toBe("hi from C");
    // Without the permission, the C SDK reports ENUM_FS' refusal and the app fails.
    const refused = ncw(["run", "ncwdemo::fsdemo"]);
    expect(refused.stderr).toContain("OPEN_FILE failed");
    expect(refused.code).toBe(1);
  }, 120_000);
});
