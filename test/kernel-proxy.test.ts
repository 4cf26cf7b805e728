// Black-box tests of application proxies (technical/dev-mode.md "Application proxies"; docs/kernel.md
// "Application proxies") through `ncw run`, with the example proxies (examples/proxy-listen,
// examples/proxy-guard, built by scripts/build-examples.mjs) and WAT apps: the listener sees each call
// with its bytes, written out by hand; the guard answers, refuses, changes and holds calls; a proxy
// killed while it holds a call is detached and the app goes on; an app without a proxy is unaffected.

import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { E, NEW_THREAD, OK, PIPE_IO_FUNCS, program, TestHome, waitFor } from "./kernel-helpers.js";

const home = new TestHome();
afterAll(() => home.cleanup());

const nap = (name: string) =>
  fileURLToPath(new URL(`../dist/examples/${name}.nap`, import.meta.url));

/** Start an example proxy in the background; its PID, from its first line. */
async function startProxy(name: string) {
  const child = home.spawnNcw(["run", nap(name), name]);
  const ready = () => /ready: pid (\d+)/.exec(child.output());
  expect(await waitFor(() => ready() !== null), child.output()).toBe(true);
  const pid = Number(ready()?.[1]);
  return {
    pid,
    output: () => child.output(),
    stop: async () => {
      home.ncw(["kill", "--force", String(pid)]);
      await waitFor(() => child.exitCode !== null || child.signalCode !== null);
    },
  };
}

/** `ncw run --trace [--proxy PID] <app>` (ncw's options come before the program). */
function run(wat: string, proxy?: number | string) {
  const f = home.write(`p${Math.random().toString(36).slice(2)}.wat`, wat);
  return home.ncw([
    "run",
    "--trace",
    ...(proxy === undefined ? [] : ["--proxy", String(proxy)]),
    f,
  ]);
}

const started = (out: string) => Number(/\[pid (\d+)\] started/.exec(out)?.[1]);

/** GET_PID, PIPE_INFO of identifier 77 (none: 0x30), PIPE_WRITE of "abcd" to SC 77 (none: 0x30), EXIT(5). */
const LISTENED = program(
  `(call $check (i32.const 10) (call $s0 (i32.const 0x53)) (i32.const ${OK}))
  (call $check (i32.const 11) (call $s64 (i32.const 0x24) (i64.const 77)) (i32.const ${E(0x30)}))
  (i32.store (i32.const 0x3000) (i32.const 0x64636261))
  (call $check (i32.const 12) (call $write (i64.const 77) (i32.const 4) (i32.const 0x3000) (i32.const 0)) (i32.const ${E(0x30)}))
  (call $exit (i64.const 5))`,
  PIPE_IO_FUNCS,
);

/**
 * GET_PID must say 42 (else exit 20), CONNECT_SERVICE (16 zero argument bytes) must fail with 0x41
 * (else exit 21), then EXIT(3): exit data 103 once the guard added 100.
 */
const GUARDED = program(`
  (call $check (i32.const 19) (call $s0 (i32.const 0x53)) (i32.const ${OK}))
  (call $check64 (i32.const 20) (call $r64 (i32.const 0)) (i64.const 42))
  (call $check (i32.const 21) (call $call (i32.const 0x2a) (i32.const 17)) (i32.const ${E(0x41)}))
  (call $exit (i64.const 3))`);

/** 30,000 GET_PIDs, each answered 42 (else exit 40), then EXIT(0): 100 once the guard added 100. */
const MANY = program(`(local $i i32)
  (block $done (loop $l (br_if $done (i32.ge_u (local.get $i) (i32.const 30000)))
    (call $check (i32.const 39) (call $s0 (i32.const 0x53)) (i32.const ${OK}))
    (call $check64 (i32.const 40) (call $r64 (i32.const 0)) (i64.const 42))
    (local.set $i (i32.add (local.get $i) (i32.const 1))) (br $l)))
  (call $exit (i64.const 0))`);

/**
 * A thread (CREATE_THREAD through syscall_fork, which is not proxied) makes GET_PID with its own areas
 * and reports the PID at 0x3008; the main thread then makes its own. Exit data: 1 when the thread's
 * was 42, plus 2 when the main thread's was (103 once the guard added 100 to 3).
 */
const THREADED = program(
  `(local $v i32) (local $id i32) (local $r i32)
  (call $q (i32.const 1) (i64.const 0)) (call $b (i32.const 0) (i32.const 0x60))
  (local.set $v (call $fork (i32.const 0x1000) (i32.const 9) (i32.const 0x2000)))
  (if (i32.eq (local.get $v) (i32.const ${NEW_THREAD})) (then
    (call $check (i32.const 70) (call $csys (i32.const 0x53) (i32.const 1)) (i32.const ${OK}))
    (i64.store (i32.const 0x3008) (i64.load (i32.const 0x2800)))
    (i32.atomic.store (i32.const 0x3004) (i32.const 1))
    (loop $spin (br $spin))))
  (call $check (i32.const 71) (local.get $v) (i32.const ${OK}))
  (loop $w (br_if $w (i32.eqz (i32.atomic.load (i32.const 0x3004)))))
  (if (i64.eq (i64.load (i32.const 0x3008)) (i64.const 42)) (then (local.set $r (i32.const 1))))
  (call $check (i32.const 72) (call $s0 (i32.const 0x53)) (i32.const ${OK}))
  (if (i64.eq (call $r64 (i32.const 0)) (i64.const 42)) (then (local.set $r (i32.or (local.get $r) (i32.const 2)))))
  (call $exit (i64.extend_i32_u (local.get $r)))`,
  `(func $csys (param $code i32) (param $len i32) (result i32)
    (i32.store8 (i32.const 0x1800) (local.get $code))
    (call $sys (i32.const 0x1800) (local.get $len) (i32.const 0x2800)))`,
).replace(
  "(memory",
  '(import "nightos" "syscall_fork" (func $fork (param i32 i32 i32) (result i32)))\n  (memory',
);

/** HAND_OVER (the guard holds it), then EXIT(9). */
const HELD = program(`
  (call $check (i32.const 30) (call $s0 (i32.const 0x56)) (i32.const ${OK}))
  (call $exit (i64.const 9))`);

describe("a listener", () => {
  it("sees every call with its PID, thread, code and argument bytes, and the app runs as without it", async () => {
    const proxy = await startProxy("proxy-listen");
    try {
      const r = run(LISTENED, String(proxy.pid));
      expect(r.code, r.stderr).toBe(5);
      const pid = started(r.stderr);
      expect(r.stderr).toContain(`[pid ${pid}] PIPE_INFO {id: 77} -> err 0x30 NO_SUCH_PIPE`);
      expect(r.stderr).toMatch(
        new RegExp(
          `\\[pid ${pid}\\] application proxy: process ${proxy.pid} \\(ncwdemo::proxy_listen\\), its ends \\d+ \\(calls\\) and \\d+ \\(answers\\)`,
        ),
      );
      expect(await waitFor(() => proxy.output().includes("proxied app ended"))).toBe(true);
      const calls = proxy
        .output()
        .split("\n")
        .filter((l) => l.startsWith("call "));
      expect(calls).toEqual([
        `call 1 pid ${pid} thread 1 syscall 0x53 args <>`,
        `call 2 pid ${pid} thread 1 syscall 0x24 args <4d00000000000000>`,
        `call 3 pid ${pid} thread 1 syscall 0x22 args <4d00000000000000 04000000 0030000000000000 00> buffer 4 bytes <61626364>`.replace(
          /(<[0-9a-f ]+>)/g,
          (m) => m.replaceAll(" ", ""),
        ),
        `call 4 pid ${pid} thread 1 syscall 0x5f args <0500000000000000>`,
      ]);
      // Without --proxy: the same app, and the listener hears nothing of it.
      const plain = run(LISTENED);
      expect(plain.code, plain.stderr).toBe(5);
      await new Promise((r) => setTimeout(r, 300));
      expect(
        proxy
          .output()
          .split("\n")
          .filter((l) => l.startsWith("call ")),
      ).toHaveLength(4);
    } finally {
      await proxy.stop();
    }
  });
});

describe("a proxy that changes calls", () => {
  it("answers GET_PID itself, refuses CONNECT_SERVICE with its errcode, changes EXIT's argument", async () => {
    const proxy = await startProxy("proxy-guard");
    try {
      const r = run(GUARDED, String(proxy.pid));
      expect(r.code, r.stderr).toBe(103);
      const p = proxy.pid;
      expect(r.stderr).toContain(`GET_PID {} -> ok {pid: 42} (answered by proxy ${p})`);
      expect(r.stderr).toMatch(
        new RegExp(
          `CONNECT_SERVICE \\{anid: 0, [^\\n]*\\} -> err 0x41 REJECTED \\(answered by proxy ${p}\\)`,
        ),
      );
      expect(r.stderr).toContain(
        `EXIT {exitData: 3}: proxy ${p} changed the arguments to {exitData: 103}`,
      );
      expect(await waitFor(() => proxy.output().includes("GET_PID answered with PID 42"))).toBe(
        true,
      );
      // The same app without a proxy gets its own PID: the check fails (exit 20).
      const plain = run(GUARDED);
      expect(plain.code, plain.stderr).toBe(20);
      expect(plain.stderr).not.toContain("answered by proxy");
    } finally {
      await proxy.stop();
    }
  });

  it("answers 30,000 calls in a row and lives on (the SDK gives its heap back at each call)", async () => {
    const proxy = await startProxy("proxy-guard");
    try {
      const f = home.write("many.wat", MANY);
      const r = home.ncw(["run", "--proxy", String(proxy.pid), f]);
      expect(r.code, r.stderr).toBe(100);
      expect(r.stderr).not.toContain("detached");
      expect(home.ncw(["ps"]).stdout).toContain("proxy_guard");
    } finally {
      await proxy.stop();
    }
  });

  it("a thread's calls go to the proxy too, numbered with the main thread's", async () => {
    const proxy = await startProxy("proxy-guard");
    try {
      const r = run(THREADED, proxy.pid);
      expect(r.code, r.stderr).toBe(103);
      expect(r.stderr).toMatch(/\[thread 2\] GET_PID \{\} -> ok \{pid: 42\} \(answered by proxy/);
      const pid = started(r.stderr);
      expect(
        await waitFor(() => proxy.output().includes(`call 2 of pid ${pid}: GET_PID answered`)),
      ).toBe(true);
      expect(proxy.output()).toContain(`call 1 of pid ${pid}: GET_PID answered`);
      // Without the proxy, neither PID is 42.
      expect(run(THREADED).code).toBe(0);
    } finally {
      await proxy.stop();
    }
  });

  it("holds a call: the app waits, can be killed, and goes on when the proxy is killed", async () => {
    const proxy = await startProxy("proxy-guard");
    try {
      // Killed while held: the app's call never came back, its process still ends.
      const f = home.write("held.wat", HELD);
      const first = home.spawnNcw(["run", "--trace", "--proxy", String(proxy.pid), f]);
      expect(await waitFor(() => proxy.output().includes("HAND_OVER held"))).toBe(true);
      const pid1 = started(first.output());
      await new Promise((r) => setTimeout(r, 300));
      expect(first.exitCode).toBeNull();
      expect(home.ncw(["kill", "--force", String(pid1)]).code).toBe(0);
      expect(await waitFor(() => first.exitCode !== null)).toBe(true);
      expect(first.exitCode).toBe(137);
      // Held, then the proxy is killed: the link closes, the app's call goes to the system, EXIT too.
      const second = home.spawnNcw(["run", "--trace", "--proxy", String(proxy.pid), f]);
      expect(
        await waitFor(() => proxy.output().split("HAND_OVER held").length === 3),
        proxy.output(),
      ).toBe(true);
      expect(second.exitCode).toBeNull();
      await proxy.stop();
      expect(await waitFor(() => second.exitCode !== null)).toBe(true);
      expect(second.exitCode, second.output()).toBe(9);
      expect(second.output()).toContain(`application proxy ${proxy.pid} detached`);
      expect(second.output()).toContain("EXIT {exitData: 9} -> process ends");
    } finally {
      await proxy.stop();
    }
  });
});

/**
 * A proxy written by hand that answers its first call with 3 bytes (no ANSWER), then lives on: takes
 * its ends from RECV_PIPE (0xFE01 calls at 0x5000, 0xFE02 answers at 0x5008), says READY.
 */
const GARBAGE = program(
  `(call $check (i32.const 90) (call $s8_64 (i32.const 0x01) (i32.const 0x20) (i64.const 1)) (i32.const ${OK}))
  (call $check (i32.const 91) (call $s0 (i32.const 0x04)) (i32.const ${OK}))
  (block $got (loop $w
    (br_if $got (i32.and (i64.ne (i64.load (i32.const 0x5000)) (i64.const 0)) (i64.ne (i64.load (i32.const 0x5008)) (i64.const 0))))
    (drop (call $s0 (i32.const 0x56))) (br $w)))
  (call $check (i32.const 92) (call $read (i64.load (i32.const 0x5000)) (i32.const 0) (i32.const 0x6000) (i32.const 4200)) (i32.const ${OK}))
  (call $check (i32.const 93) (call $write (i64.load (i32.const 0x5008)) (i32.const 3) (i32.const 0x7000) (i32.const 0)) (i32.const ${OK}))
  (loop $z (drop (call $s0 (i32.const 0x56))) (br $z))`,
  `${PIPE_IO_FUNCS}
  (func $onRecv (param $sig i32) (param $df i32) (result i64)
    (if (i32.eq (i32.load16_u offset=20 (local.get $df)) (i32.const 0xfe01))
      (then (i64.store (i32.const 0x5000) (i64.load offset=12 (local.get $df)))))
    (if (i32.eq (i32.load16_u offset=20 (local.get $df)) (i32.const 0xfe02))
      (then (i64.store (i32.const 0x5008) (i64.load offset=12 (local.get $df)))))
    (i64.const 0))
  (elem (i32.const 1) $onRecv)`,
);

describe("robustness", () => {
  it("a proxy answering garbage is detached: the app goes on, the proxy and the kernel too", async () => {
    const proxy = home.spawnNcw(["run", "--trace", home.write("garbage.wat", GARBAGE)]);
    try {
      expect(
        await waitFor(() => /HANDLE_SIGNAL .* -> ok/.test(proxy.output())),
        proxy.output(),
      ).toBe(true);
      const pid = started(proxy.output());
      await waitFor(() => proxy.output().includes("READY"));
      const r = run(LISTENED, pid);
      expect(r.code, r.stderr).toBe(5);
      expect(r.stderr).toContain(
        `application proxy ${pid} detached: it answered call 1 with garbage: proxy answer: 3 bytes, shorter than its 8-byte header`,
      );
      // The call and the later ones ran: GET_PID got the app's own PID, PIPE_INFO its 0x30.
      expect(r.stderr).toMatch(/GET_PID \{\} -> ok \{pid: \d+\}\n/);
      expect(r.stderr).toContain("PIPE_INFO {id: 77} -> err 0x30");
      expect(proxy.exitCode).toBeNull();
      expect(home.ncw(["ps"]).stdout).toContain("garbage");
      // The kernel goes on running apps.
      expect(run(LISTENED).code).toBe(5);
    } finally {
      home.ncw(["kill", "--force", String(started(proxy.output()))]);
      await waitFor(() => proxy.exitCode !== null);
    }
  });
});

describe("refusals", () => {
  it("no such process, a process that is no proxy, developer mode off, a malformed PID", async () => {
    const none = run(LISTENED, "99999");
    expect(none.code).toBe(66);
    expect(none.stderr).toContain("no running process with PID 99999 to be the application proxy");
    // A process without a RECV_PIPE handler cannot take the pipes.
    const idle = home.spawnNcw([
      "run",
      home.write("idle.wat", program(`(loop $l (drop (call $s0 (i32.const 0x56))) (br $l))`)),
    ]);
    try {
      await waitFor(() => home.ncw(["ps"]).stdout.includes("idle"));
      const ps = home.ncw(["ps", "--json"]).stdout;
      const idleEntry = (
        JSON.parse(ps) as { processes: { pid: number; name: string }[] }
      ).processes.find((p) => p.name.includes("idle"));
      expect(idleEntry, ps).toBeDefined();
      const noHandler = run(LISTENED, String(idleEntry?.pid));
      expect(noHandler.code).toBe(2);
      expect(noHandler.stderr).toContain("has no RECV_PIPE handler");
      expect(home.ncw(["kill", "--force", String(idleEntry?.pid)]).code).toBe(0);
    } finally {
      idle.kill("SIGKILL");
    }
    expect(home.ncw(["registry", "set", "system.debugging.dev_mode", "false"]).code).toBe(0);
    try {
      const off = run(LISTENED, "100");
      expect(off.code).toBe(77);
      expect(off.stderr).toContain("developer mode is off");
    } finally {
      expect(home.ncw(["registry", "set", "system.debugging.dev_mode", "true"]).code).toBe(0);
    }
    // A NightOS user below administrator (any user but the default one starts standard, level 2).
    const f = home.write("listened.wat", LISTENED);
    const alice = home.ncw(["run", "--proxy", "100", f], { NCW_USER: "alice" });
    expect(alice.code, alice.stderr).toBe(77);
    expect(alice.stderr).toContain("application proxies are for administrators");
    expect(alice.stderr).toContain("ncw perm policy --user alice --level 3");
    const bad = home.ncw(["run", "--proxy", "abc", nap("proxy-listen")]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--proxy must be an integer from 1 up, got "abc"');
  });
});
