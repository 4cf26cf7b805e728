// sys::app installs, uninstalls and launches through Skyer (docs/services.md "sys::app", NCW's methods
// INSTALL_APP 0x0006, UNINSTALL_APP 0x0007, LAUNCH_APP 0x0008: commonassembly/abi/services/app.ts), from
// real apps run with `ncw run`: a package put in the NightOS tree with `ncw fs put` is installed by an app
// for its user, `ncw skyer list` sees it and its postinstall event ran (the event's program exits with
// the startup reason it was given); the app uninstalls it (preuninstall ran, its grants are dropped); an
// app launches an installed one, whose PID `ncw ps` shows under it; refusals without a terminal and for a
// bad package, each with the documented errcode and nothing installed. Answers are compared with bytes
// written out by hand from the table.

import { spawnSync } from "node:child_process";
import { cpSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OK, onPty, program, TestHome, waitFor } from "./kernel-helpers.js";
import {
  client,
  expectAnswer,
  expectError,
  le,
  put,
  SAME,
  str,
  systemClient,
} from "./services-apps.js";

const GRANTS = "fs.items.read,ncw.apps.install,ncw.apps.uninstall";
const home = new TestHome({ NCW_GRANT_PERMISSIONS: GRANTS, NCW_KERNEL_IDLE_MS: "20000" });
/** A home whose user gave no consent up front: nobody to ask (no terminal), so a refusal. */
const plain = new TestHome({ NCW_GRANT_PERMISSIONS: "fs.items.read" });
afterAll(() => {
  home.cleanup();
  plain.cleanup();
});

const HELLO = path.resolve(import.meta.dirname, "../examples/hello");
const SYS_APP = 19;
const connect = `(call $connect (i32.const 0) (i32.const 0) (i64.const ${SYS_APP}) (i32.const 0) (i32.const 0))`;

/** sys::fs' Filesystem path, split (filesystem-interfaces.md): 0x02, the list's byte length, the strings. */
const fsPath = (p: string): number[] => {
  const items = p
    .split("/")
    .filter((c) => c !== "")
    .flatMap((c) => str(c));
  return [0x02, ...le(items.length, 8), ...items];
};

/** Exits with the startup reason byte (EXECUTION_CONTEXT 0xA0, information 0x01), as in skyer-events. */
const REASON_WAT = program(`
  (drop (call $s8_64 (i32.const 0xa0) (i32.const 1) (i64.const 0x3000)))
  (call $exit (i64.extend_i32_u (i32.load8_u (i32.const 0x3000))))
`);

/** The hello example as `slug`, its program `wat`, every event on when `events`; packed in h.dir. */
function pack(h: TestHome, slug: string, wat: string, events: boolean, raw?: Uint8Array): string {
  const dir = path.join(h.dir, `pkg-${slug}`);
  cpSync(HELLO, dir, { recursive: true });
  if (raw !== undefined) writeFileSync(path.join(dir, "main.npp"), raw);
  else {
    const asm = h.ncw(["ca", "asm", h.write(`${slug}.wat`, wat), "-o", path.join(dir, "main.npp")]);
    expect(asm.code, asm.stderr).toBe(0);
  }
  const m = path.join(dir, "manifest.toml");
  let text = readFileSync(m, "utf8").replace('slug = "hello"', `slug = "${slug}"`);
  if (events)
    text = text.replace(
      "postinstall = false",
      "postinstall = true\npreupdate = true\npostupdate = true\npreuninstall = true",
    );
  writeFileSync(m, text);
  const out = path.join(h.dir, `${slug}.nap`);
  const r = h.ncw(["pack", dir, "-o", out]);
  expect(r.code, r.stderr).toBe(0);
  return out;
}

/** `ncw fs put` of a host file at a NightOS path (its folder made first). */
function putInTree(h: TestHome, file: string, at: string): void {
  listed(h); // creates the home's image on first use
  const dir = h.ncw(["fs", "mkdir", "-p", at.slice(0, at.lastIndexOf("/"))]);
  expect(dir.code, dir.stderr).toBe(0);
  const r = h.ncw(["fs", "put", file, at]);
  expect(r.code, r.stderr).toBe(0);
}

interface Row {
  aid: string;
  anid: number | null;
  scope: string;
  user: string | null;
}
function listed(h: TestHome): Row[] {
  const r = h.ncw(["skyer", "list", "--json"]);
  expect(r.code, r.stderr).toBe(0);
  return (JSON.parse(r.stdout) as Row[]).filter((x) => x.scope !== "builtin");
}

/** An app that calls INSTALL_APP on `at` and expects `errcode`, or on success exits with the ANID. */
function installer(at: string, errcode?: number): string {
  const args = fsPath(at);
  const call =
    errcode !== undefined
      ? `${expectError(10, 6, args, errcode)} (call $exit (i64.const 42))`
      : `${put(0x7000, args)}
      (call $check (i32.const 10) (call $sendn (local.get $sock) (i32.const 6) (i32.const 0x7000) (i32.const ${args.length})) (i32.const ${OK}))
      ;; the answer: ANID (u32), action (u8): 0x01 installed
      (call $answer (i32.const 11) (local.get $sock) (i32.const 0x04) (i32.const 5))
      (call $check (i32.const 16) (i32.load8_u (i32.const 0x7104)) (i32.const 0x01))
      (call $exit (i64.extend_i32_u (i32.load (i32.const 0x7100))))`;
  return systemClient(
    `
      (call $check (i32.const 1) ${connect} (i32.const ${OK}))
      (local.set $sock (call $r64 (i32.const 8)))
      ${call}`,
    SAME,
  );
}

/** The exit data of the run's own process (the trace's EXIT line, decimal or hex). */
const exitData = (stderr: string): number | undefined => {
  const m = /EXIT \{exitData: (0x[0-9a-f]+|\d+)\} -> process ends/.exec(stderr);
  return m === null ? undefined : Number(m[1]);
};

let hello = "";
beforeAll(() => {
  hello = pack(home, "hello", REASON_WAT, true);
  putInTree(home, hello, "/home/user/hello.nap");
}, 120_000);

describe("sys::app INSTALL_APP and UNINSTALL_APP", () => {
  let anid = 0;

  it("installs a package it finds in the tree for its user, postinstall run, `ncw skyer list` sees it", () => {
    const r = home.run(installer("/home/user/hello.nap"));
    if (process.env.DUMP) console.log(r.stderr);
    anid = exitData(r.stderr) ?? 0;
    expect(anid).not.toBe(0);
    // The postinstall event really ran: its program exited with its startup reason (postinstall 0x1 in
    // the high nibble: 16), told on the installing app's terminal as `ncw skyer install` prints it.
    expect(r.stderr).toContain(
      "event postinstall: started ncwdemo::hello with reason 0x1 (postinstall): exited with exit data 16",
    );
    // One truth: the CLI's list shows the install, for the user, with the answered ANID.
    expect(listed(home)).toEqual([
      expect.objectContaining({ aid: "ncwdemo::hello", anid, scope: "user", user: "user" }),
    ]);
    const info = home.ncw(["skyer", "info", "ncwdemo::hello", "--json"]);
    expect(info.code, info.stderr).toBe(0);
  }, 120_000);

  it("sees an install made with `ncw skyer install` (FIND_APP) and reinstalls over it: action 0x03", () => {
    const r = home.run(
      systemClient(
        `
      (call $check (i32.const 1) ${connect} (i32.const ${OK}))
      (local.set $sock (call $r64 (i32.const 8)))
      ${expectAnswer(10, 3, str("ncwdemo::hello"), le(anid, 4))}
      ;; the same package again: the same ANID, reinstalled (0x03)
      ${expectAnswer(20, 6, fsPath("/home/user/hello.nap"), [...le(anid, 4), 0x03])}`,
        SAME,
      ),
    );
    if (process.env.DUMP) console.log(r.stderr);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain("event preupdate: started ncwdemo::hello with reason 0x2");
    expect(r.stderr).toContain("event postupdate: started ncwdemo::hello with reason 0x3");
  }, 120_000);

  it("uninstalls it by ANID: preuninstall run, its grants dropped, `ncw skyer list` empty", () => {
    const grant = home.ncw(["perm", "grant", "ncwdemo::hello", "programs.running.apps"]);
    expect(grant.code, grant.stderr).toBe(0);
    const r = home.run(
      systemClient(
        `
      (call $check (i32.const 1) ${connect} (i32.const ${OK}))
      (local.set $sock (call $r64 (i32.const 8)))
      ;; UNINSTALL_APP (0x0007): an empty answer
      ${expectAnswer(10, 7, le(anid, 4), [])}
      ;; again: no such app, 0x3000
      ${expectError(20, 7, le(anid, 4), 0x3000)}`,
        SAME,
      ),
    );
    if (process.env.DUMP) console.log(r.stderr);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(
      "event preuninstall: started ncwdemo::hello with reason 0x4 (preuninstall): exited with exit data 64",
    );
    expect(listed(home)).toEqual([]);
    const perms = home.ncw(["perm", "list", "--json"]);
    expect(perms.code, perms.stderr).toBe(0);
    expect(perms.stdout).not.toContain("ncwdemo::hello");
  }, 120_000);

  it("answers 0x3000 for no file, 0x3001 for a bad package and one whose program fails the AOT step, nothing installed", () => {
    putInTree(home, home.write("junk.nap", "not a package at all"), "/home/user/junk.nap");
    const badProgram = pack(home, "badprog", "", false, new TextEncoder().encode("not an NPP"));
    putInTree(home, badProgram, "/home/user/badprog.nap");
    for (const [at, errcode] of [
      ["/home/user/nothing.nap", 0x3000],
      ["/home/user", 0x3000],
      ["/home/user/junk.nap", 0x3001],
      ["/home/user/badprog.nap", 0x3001],
    ] as const) {
      const r = home.run(installer(at, errcode));
      if (process.env.DUMP) console.log(r.stderr);
      expect(exitData(r.stderr), `${at}: ${r.stderr}`).toBe(42);
    }
    expect(listed(home)).toEqual([]);
    const apps = home.ncw(["fs", "ls", "/home/user/apps", "--json"]);
    expect(apps.code, apps.stderr).toBe(0);
    expect(apps.stdout).not.toMatch(/badprog|hello/);
  }, 180_000);

  it("refuses without a terminal and without consent up front: 0x0001, nothing installed", () => {
    const pkg = pack(plain, "hello", REASON_WAT, true);
    putInTree(plain, pkg, "/home/user/hello.nap");
    const r = plain.run(installer("/home/user/hello.nap", 0x0001));
    if (process.env.DUMP) console.log(r.stderr);
    expect(exitData(r.stderr), r.stderr).toBe(42);
    expect(r.stderr).toContain("permission ncw.apps.install refused: no terminal to ask on");
    expect(listed(plain)).toEqual([]);
  }, 120_000);
});

const ptyMissing = spawnSync("python3", ["-c", "import pty"]).status !== 0;

/** `ncw run <app>` on a real pseudo-terminal, each question answered with its key. */
function onTerminal(h: TestHome, app: string, answers: { asks: string; key: string }[]) {
  // No --trace: the question must be the last thing on the terminal while it waits.
  return onPty(
    h,
    ["run", app],
    answers.map((a) => ({ expect: `${a.asks}.*\\(Enter: [a-z]+\\) \\? $`, key: a.key })),
  ).output;
}

/** The exit data `ncw run` reports for its app (without --trace). */
const reported = (out: string): number | undefined => {
  // A large one is said in a line; a small one is the host exit code (the shell's "exit=").
  const m = /ncw: [^ ]+\.wat exited with exit data (\d+)/.exec(out) ?? /exit=(\d+)/.exec(out);
  return m === null ? undefined : Number(m[1]);
};

describe.skipIf(ptyMissing)("sys::app's consent on a terminal", () => {
  it("asks on the terminal of the run, naming the package; once installs, deny refuses the uninstall", () => {
    const pkg = pack(plain, "hello", REASON_WAT, true);
    putInTree(plain, pkg, "/home/user/hello.nap");
    const out = onTerminal(plain, plain.write("inst.wat", installer("/home/user/hello.nap")), [
      {
        asks: "asks for ncw\\.apps\\.install \\(level 5\\): to install the package /home/user/hello\\.nap for user",
        key: "o",
      },
    ]);
    const anid = reported(out) ?? 0;
    expect(
      listed(plain).map((r) => r.anid),
      out,
    ).toEqual([anid]);
    const uninstaller = systemClient(
      `
      (call $check (i32.const 1) ${connect} (i32.const ${OK}))
      (local.set $sock (call $r64 (i32.const 8)))
      ${expectError(10, 7, le(anid, 4), 0x0001)}
      (call $exit (i64.const 42))`,
      SAME,
    );
    const denied = onTerminal(plain, plain.write("uninst.wat", uninstaller), [
      {
        asks: "asks for ncw\\.apps\\.uninstall \\(level 5\\): to uninstall ncwdemo::hello for user",
        key: "d",
      },
    ]);
    expect(reported(denied), denied).toBe(42);
    expect(listed(plain).map((r) => r.anid)).toEqual([anid]);
  }, 180_000);
});

describe("sys::app LAUNCH_APP", () => {
  it("starts an installed app as its child in its session; `ncw ps` shows the PID it answers", async () => {
    // The launched app checks its execution context (EXECUTION_CONTEXT 0xA0, info 0x00: all of it, at
    // 0x3000): a command start (reason 0x8 in the high nibble), a caller ANID (offset 16, not 0), two
    // arguments (20) of 37 bytes (21), each a string value (applications.md "Values encoding": its u64
    // length, type 0x05, the string's u64 length, UTF-8): "a", "bc". Then it sleeps, while the test reads
    // `ncw ps`; a check that fails ends it at once with that check's number.
    const want = [
      ...le(10, 8),
      0x05,
      ...le(1, 8),
      0x61,
      ...le(11, 8),
      0x05,
      ...le(2, 8),
      0x62,
      0x63,
    ];
    const sleeper = pack(
      home,
      "sleeper",
      client(`
      (drop (call $s8_64 (i32.const 0xa0) (i32.const 0) (i64.const 0x3000)))
      (call $check (i32.const 90) (i32.shr_u (i32.load8_u (i32.const 0x3000)) (i32.const 4)) (i32.const 8))
      (call $check (i32.const 91) (i32.eqz (i32.load (i32.const ${0x3000 + 16}))) (i32.const 0))
      (call $check (i32.const 92) (i32.load8_u (i32.const ${0x3000 + 20})) (i32.const 2))
      (call $check (i32.const 93) (i32.load16_u (i32.const ${0x3000 + 21})) (i32.const ${want.length}))
      ${want.map((b, i) => `(call $check (i32.const 94) (i32.load8_u (i32.const ${0x3000 + 267 + i})) (i32.const ${b}))`).join("\n      ")}
      (call $sleep (i32.const 30000)) (call $exit (i64.const 7))`),
      false,
    );
    const sleeperAnid = home.install(sleeper);
    const args = [...str("a"), ...str("bc")];
    const launch = [...le(sleeperAnid, 4), ...le(args.length, 8), ...args];
    const launcher = systemClient(
      `
      (call $check (i32.const 1) ${connect} (i32.const ${OK}))
      (local.set $sock (call $r64 (i32.const 8)))
      ;; LAUNCH_APP (0x0008): ANID, then a list of two strings
      ${put(0x7000, launch)}
      (call $check (i32.const 10) (call $sendn (local.get $sock) (i32.const 8) (i32.const 0x7000) (i32.const ${launch.length})) (i32.const ${OK}))
      (call $answer (i32.const 11) (local.get $sock) (i32.const 0x04) (i32.const 8))
      (i64.store (i32.const 0x7800) (i64.load (i32.const 0x7100)))
      ;; an ANID nobody installed: 0x3000
      ${expectError(20, 8, [...le(sleeperAnid ^ 0x5a5a, 4), ...le(0, 8)], 0x3000)}
      (call $sleep (i32.const 4000))
      (call $exit (i64.load (i32.const 0x7800)))`,
      SAME,
    );
    const run = home.spawnRun(launcher);
    const exited = new Promise<number | null>((resolve) => run.on("exit", resolve));
    type Ps = { processes: { pid: number; ppid: number; name: string }[] };
    let seen: { pid: number; ppid: number; name: string } | undefined;
    let parent: { pid: number; name: string } | undefined;
    await waitFor(
      () => {
        const ps = home.ncw(["ps", "--json"]);
        if (ps.code !== 0) return false;
        const list = (JSON.parse(ps.stdout) as Ps).processes;
        seen = list.find((p) => p.name === "ncwdemo::sleeper");
        parent = list.find((p) => p.pid === seen?.ppid);
        return seen !== undefined;
      },
      60_000,
      200,
    );
    const code = await exited;
    const out = run.output();
    if (process.env.DUMP) console.log(out);
    expect(seen, out).toBeDefined();
    expect(parent?.name ?? "", out).toMatch(/\.wat$/);
    // The launcher exits with the PID LAUNCH_APP answered: the one `ncw ps` showed.
    expect(exitData(out), out).toBe(seen?.pid);
    // It checked its context and slept: it never exited by itself (it was killed with its parent).
    expect(out).not.toContain(`[pid ${seen?.pid}] EXIT`);
    expect(code, out).not.toBeNull();
    // Its parent ended: the launched app ended with it (specs/kernel/syscalls.md EXIT).
    const ps = home.ncw(["ps", "--json"]);
    expect((JSON.parse(ps.stdout) as Ps).processes.map((p) => p.name)).not.toContain(
      "ncwdemo::sleeper",
    );
  }, 120_000);
});
