// Permissions end to end (docs/permissions.md): a WAT app run through `ncw run` connects to sys::perm
// (PID 13) and calls HAS_PERMISSION, REQUEST_PERMISSION, HAS_PERMISSION again; the kernel asks the user
// on the terminal of the `ncw run` that started it (a real pseudo-terminal, test/helpers/pty-drive.py),
// refuses without one, takes --allow / --deny / a policy file, and the user's settings (blocked
// permissions, {A} and the user level, the security level) restrict what an app gets. Arguments and
// answers are bytes written out by hand from commonassembly/abi/services/perm.ts.

import { spawn, spawnSync } from "node:child_process";
import { closeSync, existsSync, openSync, readSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { skipUnless } from "./btrfs-oracle.js";
import { NCW, OK, onPty, PTY_DRIVER, TestHome } from "./kernel-helpers.js";
import { serviceNap, systemClient } from "./services-apps.js";

const SYS_PERM = 13;

const homes: TestHome[] = [];
afterAll(() => {
  for (const h of homes) if (process.env.PERM_KEEP === undefined) h.cleanup();
});
function newHome(env: Record<string, string> = {}): TestHome {
  const h = new TestHome({ NCW_KERNEL_IDLE_MS: "30000", ...env });
  homes.push(h);
  return h;
}

/** A delimited string (data-structures.md): u64 LE byte length, then the UTF-8, as WAT escapes. */
function delimited(text: string): string {
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(Buffer.byteLength(text)));
  return [...len].map((b) => `\\${b.toString(16).padStart(2, "0")}`).join("") + text;
}

/**
 * The app: HAS_PERMISSION (0x0001), REQUEST_PERMISSION (0x0002), HAS_PERMISSION again, all with
 * `permission` and no scope (option byte 0x00). Exit data: 128 if the first HAS answered false (0x02),
 * + 64 if the second did, + REQUEST's duration byte (0x01 once … 0x06 automatic), or 15 for its error
 * answer 0x0001 (insufficient permission, services/README.md). Any other answer exits with a small id.
 */
function permApp(permission: string): string {
  const args = `${delimited(permission)}\\00`;
  const len = Buffer.byteLength(permission) + 9;
  const has = (id: number) => `
      (call $check (i32.const ${id}) (call $sendn (local.get $sock) (i32.const 1) (i32.const 0x7000) (i32.const ${len})) (i32.const ${OK}))
      (call $answer (i32.const ${id + 1}) (local.get $sock) (i32.const 0x04) (i32.const 1))`;
  return systemClient(
    `
      (call $check (i32.const 1) (call $connect (i32.const 0) (i32.const 0) (i64.const ${SYS_PERM}) (i32.const 0) (i32.const 0)) (i32.const ${OK}))
      (local.set $sock (call $r64 (i32.const 8)))
      ${has(2)}
      (local.set $i (i32.load8_u (i32.const 0x7100)))
      (call $check (i32.const 10) (call $sendn (local.get $sock) (i32.const 2) (i32.const 0x7000) (i32.const ${len})) (i32.const ${OK}))
      (loop $wait (if (i32.eqz (i32.atomic.load (i32.const 0x3520))) (then (call $sleep (i32.const 5)) (br $wait))))
      (call $check (i32.const 11) (call $read (local.get $sock) (i32.const 0x7100)) (i32.const ${OK}))
      (if (i32.eq (call $r8 (i32.const 5)) (i32.const 0x06))
        (then
          (call $check (i32.const 12) (i32.load (i32.const 0x2000)) (i32.const 2))
          (call $check (i32.const 13) (i32.load16_u (i32.const 0x7100)) (i32.const 0x0001))
          (local.set $len (i32.const 15)))
        (else
          (call $check (i32.const 14) (call $r8 (i32.const 5)) (i32.const 0x04))
          (call $check (i32.const 15) (i32.load (i32.const 0x2000)) (i32.const 1))
          (local.set $len (i32.load8_u (i32.const 0x7100)))))
      ${has(20)}
      (call $exit (i64.extend_i32_u (i32.add (local.get $len) (i32.add
        (select (i32.const 128) (i32.const 0) (i32.eq (local.get $i) (i32.const 2)))
        (select (i32.const 64) (i32.const 0) (i32.eq (i32.load8_u (i32.const 0x7100)) (i32.const 2)))))))`,
    `(data (i32.const 0x7000) "${args}")`,
  );
}

/** Exit data of permApp: whether HAS said yes before and after, and REQUEST's duration (15: refused). */
const outcome = (before: boolean, duration: number, after: boolean) =>
  (before ? 0 : 128) + (after ? 0 : 64) + duration;
const REFUSED = outcome(false, 15, false);

/** `ncw <args>` on a pseudo-terminal: wait for the prompt of `permission`, press `keys`. */
function onTerminal(h: TestHome, args: string[], prompts: { permission: string; key: string }[]) {
  return onPty(
    h,
    args,
    prompts.map((p) => ({
      expect: `asks for ${p.permission.replace(/\./g, "\\.")}.*\\(Enter: [a-z]+\\) \\? $`,
      key: p.key,
    })),
  );
}

/** `ncw run` without a terminal (stdin, stdout and stderr are pipes). */
function runPlain(
  h: TestHome,
  app: string,
  flags: string[] = [],
  env: Record<string, string> = {},
) {
  return h.ncw(["run", ...flags, app], env);
}

function ptyMissing(): string | undefined {
  const py = spawnSync("python3", ["-c", "import pty"]);
  return py.status === 0 ? undefined : "python3 with its pty module (apt-get install python3)";
}

// programs.running.apps: level 5 (privacy: the prompt's default is "run"), no scope, no {A}.
const APPS = "programs.running.apps";

describe.skipIf(skipUnless(ptyMissing()))("the prompt on a terminal", () => {
  const h = newHome();
  const app = h.write("apps.wat", permApp(APPS));
  // The kernel started and the app compiled first: the driver waits 15 s at most for a prompt.
  beforeAll(() => {
    expect(runPlain(h, app).code).toBe(REFUSED);
  }, 120_000);

  it("once: granted for that one check only", () => {
    const r = onTerminal(h, ["run", app], [{ permission: APPS, key: "o" }]);
    expect(r.output).toMatch(
      /\[o\]nce {2}\[r\]un {2}\[s\]ession {2}\[f\]orever {2}\[d\]eny {2}\(Enter: run\)/,
    );
    expect(r.code, r.output).toBe(outcome(false, 0x01, false));
  }, 120_000);

  it("deny: refused with 0x0001, after one question", () => {
    const r = onTerminal(h, ["run", app], [{ permission: APPS, key: "d" }]);
    expect(r.code, r.output).toBe(REFUSED);
    expect(r.output.match(/asks for programs\.running\.apps/g)).toHaveLength(1);
  }, 120_000);

  it("run (Enter, the privacy level's default): held until the process ends", () => {
    const r = onTerminal(h, ["run", app], [{ permission: APPS, key: "\r" }]);
    expect(r.code, r.output).toBe(outcome(false, 0x02, true));
    // The next run of the same app holds nothing; without a terminal it is refused, and told why.
    const next = runPlain(h, app);
    expect(next.code, next.stderr).toBe(REFUSED);
    expect(next.stderr).toContain(`permission ${APPS} refused: no terminal to ask on`);
    expect(next.stderr).toContain(`ncw run --allow ${APPS}`);
  }, 120_000);

  it("session: held by the same app until the kernel stops", () => {
    const r = onTerminal(h, ["run", app], [{ permission: APPS, key: "s" }]);
    expect(r.code, r.output).toBe(outcome(false, 0x03, true));
    const next = runPlain(h, app);
    expect(next.code, next.stderr).toBe(outcome(true, 0x03, true));
    // Another program (another hash) holds nothing.
    const other = runPlain(
      h,
      h.write(
        "apps2.wat",
        permApp(APPS).replace("(memory", "(global $other i32 (i32.const 7))\n  (memory"),
      ),
    );
    expect(other.code, other.stderr).toBe(REFUSED);
  }, 120_000);
});

describe.skipIf(skipUnless(ptyMissing()))("forever, ncw perm, and the uninstall", () => {
  const h = newHome();
  const app = h.write("apps.wat", permApp(APPS));
  beforeAll(() => {
    expect(runPlain(h, app).code).toBe(REFUSED);
  }, 120_000);

  it("forever: stored for the user under the volatile app's hash; ncw perm revoke takes it back", () => {
    const r = onTerminal(h, ["run", app], [{ permission: APPS, key: "f" }]);
    expect(r.code, r.output).toBe(outcome(false, 0x04, true));
    const list = h.ncw(["perm", "list", "--json"]);
    expect(list.code, list.stderr).toBe(0);
    const doc = JSON.parse(list.stdout) as {
      user: string;
      apps: { app: string; grants: { permission: string; scope: null }[] }[];
    };
    expect(doc.user).toBe("user");
    expect(doc.apps).toHaveLength(1);
    const key = doc.apps[0]!.app;
    expect(key).toMatch(/^hash:[0-9a-f]{64}$/);
    expect(doc.apps[0]!.grants.map((g) => [g.permission, g.scope])).toEqual([[APPS, null]]);
    expect(runPlain(h, app).code).toBe(outcome(true, 0x04, true));
    // Specific to the user (permissions.md): another NightOS user running the same app holds nothing.
    expect(runPlain(h, app, [], { NCW_USER: "alice" }).code).toBe(REFUSED);
    const rv = h.ncw(["perm", "revoke", key, APPS]);
    expect(rv.code, rv.stderr).toBe(0);
    expect(rv.stdout).toContain("revoked 1 grant(s)");
    expect(runPlain(h, app).code).toBe(REFUSED);
  }, 120_000);

  it("a grant of an installed app is forgotten when it is uninstalled", () => {
    const aid = "ncwdemo::permapp";
    const nap = serviceNap(h, "permapp", permApp(APPS));
    expect(h.ncw(["skyer", "install", nap]).code).toBe(0);
    const g = h.ncw(["perm", "grant", aid, APPS]);
    expect(g.code, g.stderr).toBe(0);
    expect(runPlain(h, aid).code).toBe(outcome(true, 0x04, true));
    expect(h.ncw(["skyer", "uninstall", aid]).code).toBe(0);
    const list = JSON.parse(h.ncw(["perm", "list", aid, "--json"]).stdout) as {
      apps: { grants: unknown[] }[];
    };
    expect(list.apps[0]!.grants).toEqual([]);
    expect(h.ncw(["skyer", "install", nap]).code).toBe(0);
    expect(runPlain(h, aid).code).toBe(REFUSED);
    // Granting to an app that is not installed says so.
    const missing = h.ncw(["perm", "grant", "ncwdemo::nothere", APPS]);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain("ncwdemo::nothere is not installed");
  }, 180_000);
});

/** A home whose stored settings no test changes (only run flags differ): shared, one kernel start. */
const plain = newHome();

describe("up front, without a terminal", () => {
  const h = plain;
  const app = h.write("apps.wat", permApp(APPS));

  it("refuses without a terminal: never a silent grant", () => {
    expect(runPlain(h, app).code).toBe(REFUSED);
  }, 60_000);

  it("--allow grants for the run, --deny wins over it, a policy file does as the flags", () => {
    expect(runPlain(h, app, ["--allow", APPS]).code).toBe(outcome(true, 0x05, true));
    expect(runPlain(h, app, ["--allow", APPS, "--deny", APPS]).code).toBe(REFUSED);
    const policy = h.write("policy.json", JSON.stringify({ allow: [APPS] }));
    expect(runPlain(h, app, ["--permissions", policy]).code).toBe(outcome(true, 0x05, true));
    // NCW_GRANT_PERMISSIONS grants up front to every process of the kernel it starts; --deny beats it.
    const env = newHome({ NCW_GRANT_PERMISSIONS: APPS });
    const envApp = env.write("apps.wat", permApp(APPS));
    expect(runPlain(env, envApp).code).toBe(outcome(true, 0x05, true));
    expect(runPlain(env, envApp, ["--deny", APPS]).code).toBe(REFUSED);
  }, 120_000);

  it("a permission that does not exist, or a scope for one without: a usage error", () => {
    const r = runPlain(h, app, ["--allow", "programs.running.everything"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      '--allow programs.running.everything: unknown permission "programs.running.everything"',
    );
    const s = runPlain(h, app, ["--deny", `${APPS}=/home`]);
    expect(s.code).toBe(2);
    expect(s.stderr).toContain(`${APPS} has no scope`);
  }, 60_000);
});

describe("the three scopes restrict each other", () => {
  it("user: a permission the user blocked reaches no app, whatever it was granted", () => {
    const h = newHome();
    const app = h.write("apps.wat", permApp(APPS));
    expect(h.ncw(["perm", "policy", "--block", APPS]).code).toBe(0);
    expect(runPlain(h, app, ["--allow", APPS]).code).toBe(REFUSED);
    expect(h.ncw(["perm", "policy", "--unblock", APPS]).code).toBe(0);
    expect(runPlain(h, app, ["--allow", APPS]).code).toBe(outcome(true, 0x05, true));
  }, 120_000);

  it("user: an {A} permission needs an administrator user, even granted up front", () => {
    const h = newHome();
    const app = h.write("procs.wat", permApp("programs.running.processes"));
    // The default user owns the home: its main administrator (level 4).
    expect(runPlain(h, app, ["--allow", "programs.running.processes"]).code).toBe(
      outcome(true, 0x05, true),
    );
    // Another NightOS user is a standard user (2) until set otherwise.
    const alice = { NCW_USER: "alice" };
    expect(runPlain(h, app, ["--allow", "programs.running.processes"], alice).code).toBe(REFUSED);
    expect(h.ncw(["perm", "policy", "--user", "alice", "--level", "3"]).code).toBe(0);
    expect(runPlain(h, app, ["--allow", "programs.running.processes"], alice).code).toBe(
      outcome(true, 0x05, true),
    );
  }, 120_000);

  it("mode: the security level decides which levels are granted without asking", () => {
    const h = newHome();
    // flow.list is level 3 (sensitive): asked under "standard", automatic under "unsecure".
    const flows = h.write("flows.wat", permApp("flow.list"));
    expect(runPlain(h, flows).code).toBe(REFUSED);
    expect(h.ncw(["perm", "policy", "--security", "unsecure"]).code).toBe(0);
    expect(runPlain(h, flows).code).toBe(outcome(true, 0x06, true));
    // --deny (the run's mode) beats the security level.
    expect(runPlain(h, flows, ["--deny", "flow.list"]).code).toBe(REFUSED);
    // system.clock.date.read is level 1 (safe): automatic, but under "complete" it is asked too.
    const clock = h.write("clock.wat", permApp("system.clock.date.read"));
    expect(runPlain(h, clock).code).toBe(outcome(true, 0x06, true));
    expect(h.ncw(["perm", "policy", "--security", "complete"]).code).toBe(0);
    expect(runPlain(h, clock).code).toBe(REFUSED);
    const shown = JSON.parse(h.ncw(["perm", "policy", "--json"]).stdout);
    expect(shown).toEqual({ user: "user", level: 4, security: "complete", blocked: [] });
  }, 120_000);
});

describe("sys::perm's other methods from a real app", () => {
  it("LIST_GRANTS shows what the run was given, DROP_PERMISSION gives it up, errors by the table", () => {
    const h = plain;
    const send = (id: number, code: number, at: number, len: number) =>
      `(call $check (i32.const ${id}) (call $sendn (local.get $sock) (i32.const ${code}) (i32.const ${at}) (i32.const ${len})) (i32.const ${OK}))`;
    const app = h.write(
      "grants.wat",
      systemClient(
        `
      (call $check (i32.const 1) (call $connect (i32.const 0) (i32.const 0) (i64.const ${SYS_PERM}) (i32.const 0) (i32.const 0)) (i32.const ${OK}))
      (local.set $sock (call $r64 (i32.const 8)))
      ;; LIST_GRANTS (0x0004) of pid 0 (itself): a list of 19 bytes holding one Grant:
      ;; "flow.list" (u64 9 + 9 bytes; its first 8, "flow.lis", read as one u64 LE), scope none (0x00), duration 0x05 (given up front)
      ${send(2, 4, 0x7000, 8)}
      (call $answer (i32.const 3) (local.get $sock) (i32.const 0x04) (i32.const 27))
      (call $check64 (i32.const 7) (i64.load (i32.const 0x7100)) (i64.const 19))
      (call $check64 (i32.const 8) (i64.load (i32.const 0x7108)) (i64.const 9))
      (call $check64 (i32.const 9) (i64.load (i32.const 0x7110)) (i64.const 0x73696c2e776f6c66))
      (call $check (i32.const 10) (i32.load8_u (i32.const 0x7119)) (i32.const 0x00))
      (call $check (i32.const 11) (i32.load8_u (i32.const 0x711a)) (i32.const 0x05))
      ;; DROP_PERMISSION (0x0003) of flow.list: an empty answer; then HAS_PERMISSION says false (0x02)
      ${send(12, 3, 0x7010, 18)}
      (call $answer (i32.const 13) (local.get $sock) (i32.const 0x04) (i32.const 0))
      ${send(17, 1, 0x7010, 18)}
      (call $answer (i32.const 18) (local.get $sock) (i32.const 0x04) (i32.const 1))
      (call $check (i32.const 22) (i32.load8_u (i32.const 0x7100)) (i32.const 0x02))
      ;; LIST_GRANTS again: an empty list (u64 0)
      ${send(23, 4, 0x7000, 8)}
      (call $answer (i32.const 24) (local.get $sock) (i32.const 0x04) (i32.const 8))
      (call $check64 (i32.const 28) (i64.load (i32.const 0x7100)) (i64.const 0))
      ;; LIST_GRANTS of another PID needs programs.running.processes: refused without a terminal, 0x0001
      ${send(29, 4, 0x7040, 8)}
      (call $answer (i32.const 30) (local.get $sock) (i32.const 0x06) (i32.const 2))
      (call $check (i32.const 34) (i32.load16_u (i32.const 0x7100)) (i32.const 0x0001))
      ;; HAS_PERMISSION of a name that is no permission: 0x1000; a scope for flow.list: 0x1001
      ${send(35, 1, 0x7050, 15)}
      (call $answer (i32.const 36) (local.get $sock) (i32.const 0x06) (i32.const 2))
      (call $check (i32.const 40) (i32.load16_u (i32.const 0x7100)) (i32.const 0x1000))
      ${send(41, 1, 0x7060, 28)}
      (call $answer (i32.const 42) (local.get $sock) (i32.const 0x06) (i32.const 2))
      (call $check (i32.const 46) (i32.load16_u (i32.const 0x7100)) (i32.const 0x1001))`,
        `(data (i32.const 0x7000) "\\00\\00\\00\\00\\00\\00\\00\\00")
  (data (i32.const 0x7010) "${delimited("flow.list")}\\00")
  (data (i32.const 0x7040) "\\9f\\86\\01\\00\\00\\00\\00\\00")
  (data (i32.const 0x7050) "${delimited("nope.x")}\\00")
  (data (i32.const 0x7060) "${delimited("flow.list")}\\01${delimited("/x")}")`,
      ),
    );
    const r = runPlain(h, app, ["--allow", "flow.list"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(
      "permission programs.running.processes refused: no terminal to ask on",
    );
  }, 120_000);
});

/** An app that calls sys::fs ITEM_EXISTS on /home twice: its exit data is each answer's status byte. */
function existsApp(h: TestHome): string {
  expect(h.ncw(["skyer", "list"]).code).toBe(0);
  // The image's FSID: the first 8 bytes of the superblock's fsid (docs/sysfs.md "Identifiers").
  const fd = openSync(path.join(h.home, "nightos.img"), "r");
  const fsid = Buffer.alloc(8);
  readSync(fd, fsid, 0, 8, 0x10000 + 0x20);
  closeSync(fd);
  // ITEM_EXISTS (0x1000): fsid, a split path (0x02, a list of 12 bytes: "home"), type 0x00 (any).
  const args = `${[...fsid].map((b) => `\\${b.toString(16).padStart(2, "0")}`).join("")}\\02\\0c\\00\\00\\00\\00\\00\\00\\00${delimited("home")}\\00`;
  const app = h.write(
    "exists.wat",
    systemClient(
      `
      (call $check (i32.const 1) (call $connect (i32.const 0) (i32.const 0) (i64.const 10) (i32.const 0) (i32.const 0)) (i32.const ${OK}))
      (local.set $sock (call $r64 (i32.const 8)))
      ;; twice; exit data: the first answer's status byte × 16 + the second's (0x04 answer, 0x06 error)
      (call $check (i32.const 2) (call $sendn (local.get $sock) (i32.const 0x1000) (i32.const 0x7000) (i32.const 30)) (i32.const ${OK}))
      (loop $w1 (if (i32.eqz (i32.atomic.load (i32.const 0x3520))) (then (call $sleep (i32.const 5)) (br $w1))))
      (call $check (i32.const 3) (call $read (local.get $sock) (i32.const 0x7100)) (i32.const ${OK}))
      (local.set $i (call $r8 (i32.const 5)))
      (call $check (i32.const 4) (call $sendn (local.get $sock) (i32.const 0x1000) (i32.const 0x7000) (i32.const 30)) (i32.const ${OK}))
      (loop $w2 (if (i32.eqz (i32.atomic.load (i32.const 0x3520))) (then (call $sleep (i32.const 5)) (br $w2))))
      (call $check (i32.const 5) (call $read (local.get $sock) (i32.const 0x7100)) (i32.const ${OK}))
      (call $exit (i64.extend_i32_u (i32.add (i32.shl (local.get $i) (i32.const 4)) (call $r8 (i32.const 5)))))`,
      `(data (i32.const 0x7000) "${args}")`,
    ),
  );
  return app;
}

describe.skipIf(skipUnless(ptyMissing()))("a sys::fs call outside the app's own folders", () => {
  it("asks with the item's path as scope; a forever answer is kept with that scope", () => {
    const h = newHome();
    const app = existsApp(h);
    expect(runPlain(h, app).code).toBe(0x66);
    const r = onTerminal(h, ["run", app], [{ permission: "fs.items.exists", key: "f" }]);
    expect(r.output).toContain("asks for fs.items.exists (level 3) on /home");
    expect(r.output).toContain("(Enter: forever)");
    expect(r.code, r.output).toBe(0x44);
    expect(r.output.match(/asks for/g)).toHaveLength(1);
    const list = JSON.parse(h.ncw(["perm", "list", "--json"]).stdout) as {
      apps: { grants: { permission: string; scope: string }[] }[];
    };
    expect(list.apps[0]!.grants.map((g) => [g.permission, g.scope])).toEqual([
      ["fs.items.exists", "/home"],
    ]);
    expect(runPlain(h, app).code).toBe(0x44);
  }, 180_000);

  it("does not hold the tree's queue while the question waits: a CLI's tree write goes through", async () => {
    const h = newHome({ NCW_KERNEL_IDLE_MS: "20000" });
    const app = existsApp(h);
    const asked = path.join(h.dir, "asked");
    const go = path.join(h.dir, "go");
    const steps = [
      { expect: "asks for fs\\.items\\.exists.*\\(Enter: [a-z]+\\) \\? $", touch: asked },
      { wait_file: go, send: Buffer.from("o").toString("hex") },
      {
        expect: "asks for fs\\.items\\.exists.*\\? .*asks for fs\\.items\\.exists.*\\? $",
        send: Buffer.from("d").toString("hex"),
      },
    ];
    const cmd = [process.execPath, NCW, "run", app].map((a) => `"${a}"`).join(" ");
    const driver = spawn("python3", [PTY_DRIVER, "sh", "-c", `${cmd}; echo "exit=$?"`], {
      env: h.envFor(),
    });
    let stdout = "";
    driver.stdout.on("data", (d) => {
      stdout += d;
    });
    const ended = new Promise<void>((resolve) => driver.on("close", () => resolve()));
    driver.stdin.end(JSON.stringify(steps));
    const end = Date.now() + 60_000;
    while (!existsSync(asked) && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
    expect(existsSync(asked), stdout).toBe(true);
    // The question is on the terminal, inside the sys::fs call: a write of the tree (a request of
    // the kernel's queue) completes all the same, before the user answers.
    const mkdir = h.ncw(["fs", "mkdir", "-p", "/home/user/during-the-question"], {});
    writeFileSync(go, "");
    await ended;
    const res = JSON.parse(stdout) as { output: string; failed: string | null };
    expect(mkdir.code, mkdir.stderr).toBe(0);
    expect(res.failed, res.output).toBeNull();
    // "once" answered the first call (0x04), the second asked again and was denied (0x06)
    expect(/exit=(\d+)/.exec(res.output)?.[1], res.output).toBe(String(0x46));
    expect(h.ncw(["fs", "ls", "/home/user"]).stdout).toContain("during-the-question");
  }, 180_000);
});

describe("ncw perm", () => {
  it("has help, lists every permission with its level, scope and {A}, and names bad input", () => {
    const h = plain;
    const help = h.ncw(["perm", "--help"]);
    expect(help.code).toBe(0);
    for (const sub of ["list", "grant", "revoke", "policy"])
      expect(help.stdout).toContain(`ncw perm ${sub}`);
    const all = JSON.parse(h.ncw(["perm", "list", "--all", "--json"]).stdout) as {
      permissions: {
        permission: string;
        level: number | null;
        scope: string | null;
        admin: boolean;
        system: boolean;
        ncw: boolean;
      }[];
    };
    const by = new Map(all.permissions.map((p) => [p.permission, p]));
    expect(by.get("programs.running.processes")).toEqual({
      permission: "programs.running.processes",
      level: 5,
      scope: null,
      admin: true,
      system: false,
      ncw: false,
    });
    // NCW's own consents (docs/services.md "sys::app"), marked as such
    expect(by.get("ncw.apps.install")).toMatchObject({ level: 5, scope: null, ncw: true });
    expect(by.get("ncw.apps.uninstall")).toMatchObject({ level: 5, scope: null, ncw: true });
    expect(by.get("fs.items.read")).toMatchObject({ level: 3, scope: "paths", admin: false });
    expect(by.get("net.expose")).toMatchObject({ level: 3, scope: "ports" });
    expect(by.get("sysapp.process.kill")).toMatchObject({ level: null, system: true });
    expect(by.get("users.all.photo")).toMatchObject({ level: 4, admin: true });
    const bad = h.ncw(["perm", "grant", "hash:00", "flow.list"]);
    expect(bad.code).not.toBe(0);
    const unknown = h.ncw(["perm", "policy", "--security", "lax"]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown security level "lax"');
    expect(unknown.stderr).toContain("standard");
  }, 60_000);
});
