// Application services through `ncw` (specs/services.md, syscalls.md 0x2A–0x2E, signals.md 0x2A–0x2D;
// docs/services.md): a service app installed with Skyer, started on demand by its clients' CONNECT_SERVICE
// with the service startup reason, READY gating, accept / reject / the answer delay, the client thread
// ACCEPT_SERVICE_CONN makes, the closing rules, one instance per user, `ncw ps`.

import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { homeLayout } from "../ncw/home.js";
import { openTree } from "../services/fs/open.js";
import { Registry } from "../services/registry/registry.js";
import { E, OK, TestHome, waitFor } from "./kernel-helpers.js";
import { Cmd, client, holder, scopeI64, serviceNap } from "./services-apps.js";

const home = new TestHome({ NCW_KERNEL_IDLE_MS: "60000" });
afterAll(() => home.cleanup());

let anid = 0;
let helloAnid = 0;
/** An ANID no installed app has (Skyer's are random, non-zero and distinct: not those two). */
const NOBODY = () => [1, 2, 3].find((n) => n !== anid && n !== helloAnid);

async function setAnswerDelay(ms: number): Promise<void> {
  const fs = await openTree(homeLayout(home.home));
  try {
    await (await Registry.open(fs)).set("system.processes.service_answer_delay", ms);
  } finally {
    await fs.close();
  }
}

interface PsEntry {
  pid: number;
  anid: number;
  name: string;
  service?: string;
  clients?: number[];
  connectedTo?: number[];
}
function ps(): PsEntry[] {
  const r = home.ncw(["ps", "--json"]);
  expect(r.code, r.stderr).toBe(0);
  return (JSON.parse(r.stdout) as { processes: PsEntry[] }).processes;
}

const main = (cmd: number, flex = 0) =>
  `(call $connect (i32.const ${anid}) (i32.const 0) (i64.const 0) (i32.const ${cmd}) (i32.const ${flex}))`;
const scoped = (scope: string, cmd: number) =>
  `(call $connect (i32.const ${anid}) (i32.const 1) (i64.const ${scopeI64(scope)}) (i32.const ${cmd}) (i32.const 0))`;

beforeAll(() => {
  anid = home.install(serviceNap(home), ["--global"]);
  const hello = home.ncw([
    "pack",
    path.resolve(import.meta.dirname, "../examples/hello"),
    "-o",
    path.join(home.dir, "hello.nap"),
  ]);
  expect(hello.code, hello.stderr).toBe(0);
  helloAnid = home.install(path.join(home.dir, "hello.nap"), ["--global"]);
}, 120_000);

describe("the manifest's services", () => {
  it("HAS_SCOPED_SERVICE and CONNECT_SERVICE's checks answer the spec's codes", () => {
    const r = home.run(
      client(`
      ;; HAS_SCOPED_SERVICE: a declared scope 0x01, another 0x00, zeroes the main service 0x01
      (call $check (i32.const 1) (call $has (i32.const ${anid}) (i64.const ${scopeI64("slow")})) (i32.const ${OK}))
      (call $check (i32.const 2) (call $r8 (i32.const 0)) (i32.const 1))
      (call $check (i32.const 3) (call $has (i32.const ${anid}) (i64.const ${scopeI64("nope")})) (i32.const ${OK}))
      (call $check (i32.const 4) (call $r8 (i32.const 0)) (i32.const 0))
      (call $check (i32.const 5) (call $has (i32.const ${anid}) (i64.const 0)) (i32.const ${OK}))
      (call $check (i32.const 6) (call $r8 (i32.const 0)) (i32.const 1))
      ;; an app exposing no service: 0x31; an ANID nobody has: 0x30 (ANID 0 is the system's,
      ;; test/kernel-system-services.test.ts)
      (call $check (i32.const 7) (call $has (i32.const ${helloAnid}) (i64.const 0)) (i32.const ${E(0x31)}))
      (call $check (i32.const 8) (call $has (i32.const ${NOBODY()}) (i64.const 0)) (i32.const ${E(0x30)}))
      ;; CONNECT_SERVICE: flexible mode 2 0x10, target type 4 0x11, integration / driver 0x30,
      ;; unknown ANID 0x31, a scope not declared 0x32, an app with no service 0x32
      (call $check (i32.const 10) ${main(Cmd.ACCEPT, 2)} (i32.const ${E(0x10)}))
      (call $check (i32.const 11) (call $connect (i32.const ${anid}) (i32.const 4) (i64.const 0) (i32.const 1) (i32.const 0)) (i32.const ${E(0x11)}))
      (call $check (i32.const 12) (call $connect (i32.const ${anid}) (i32.const 2) (i64.const 0) (i32.const 1) (i32.const 0)) (i32.const ${E(0x30)}))
      (call $check (i32.const 13) (call $connect (i32.const ${anid}) (i32.const 3) (i64.const 0) (i32.const 1) (i32.const 0)) (i32.const ${E(0x30)}))
      (call $check (i32.const 14) (call $connect (i32.const ${NOBODY()}) (i32.const 0) (i64.const 0) (i32.const 1) (i32.const 0)) (i32.const ${E(0x31)}))
      (call $check (i32.const 15) ${scoped("nope", Cmd.ACCEPT)} (i32.const ${E(0x32)}))
      (call $check (i32.const 16) (call $connect (i32.const ${helloAnid}) (i32.const 0) (i64.const 0) (i32.const 1) (i32.const 0)) (i32.const ${E(0x32)}))`),
    );
    expect(r.code, r.stderr).toBe(0);
    // None of these started a service process.
    expect(r.stderr).not.toMatch(/started \(ncwdemo::svc/);
  });
});

describe("connecting", () => {
  it("waits for READY, gets a client thread, refuses a second connection unless flexible, ends it", () => {
    const r = home.run(
      client(`
      (local $conn i64)
      ;; the "slow" service calls READY 300 ms after it starts: the client waits
      (call $check (i32.const 1) ${scoped("slow", Cmd.ACCEPT)} (i32.const ${OK}))
      (local.set $conn (call $r64 (i32.const 0)))
      (call $check (i32.const 2) ${scoped("slow", Cmd.ACCEPT)} (i32.const ${E(0x32)}))
      ;; flexible mode: the same connection
      (call $check (i32.const 3) (call $connect (i32.const ${anid}) (i32.const 1) (i64.const ${scopeI64("slow")}) (i32.const 1) (i32.const 1)) (i32.const ${OK}))
      (call $check64 (i32.const 4) (call $r64 (i32.const 0)) (local.get $conn))
      ;; END_SERVICE_CONN: ok, then already closed 0x40, an unknown ID 0x30
      (call $check (i32.const 5) (call $s64 (i32.const 0x2b) (local.get $conn)) (i32.const ${OK}))
      (call $check (i32.const 6) (call $s64 (i32.const 0x2b) (local.get $conn)) (i32.const ${E(0x40)}))
      (call $check (i32.const 7) (call $s64 (i32.const 0x2b) (i64.const 999999)) (i32.const ${E(0x30)}))
      ;; rejection: 0x41
      (call $check (i32.const 8) ${scoped("slow", Cmd.REJECT)} (i32.const ${E(0x41)}))
      ;; let the service's client thread end (the trace shows it) before this client leaves: its
      ;; lines reach this session only while it lasts (300 ms was too short at load 14)
      (call $sleep (i32.const 1500))`),
    );
    expect(r.code, r.stderr).toBe(0);
    const out = r.stderr;
    if (process.env.DUMP) console.log(out);
    const svc = /\[pid (\d+)\] started \(ncwdemo::svc \(scoped:slow\)\)/.exec(out);
    expect(svc, out).not.toBeNull();
    const sp = svc?.[1];
    const at = (re: RegExp) => out.search(re);
    // READY before the request reaches the service.
    const ready = at(new RegExp(`\\[pid ${sp}\\] .*READY \\{\\} -> ok`));
    // Both lines come from the service's main thread, in order (the kernel's own lines may overtake).
    const request = at(new RegExp(`\\[pid ${sp}\\] signal SERVICE_CONN_REQUEST -> handler`));
    expect(ready).toBeGreaterThan(0);
    expect(request).toBeGreaterThan(ready);
    // The datafield: the client's PID, the request ID, its command code, the delay (2000 ms by default).
    const clientPid = /\[pid (\d+)\] started \(p\w+\.wat\)/.exec(out)?.[1];
    expect(out).toMatch(
      new RegExp(
        `\\[pid ${sp}\\] kernel sends SERVICE_CONN_REQUEST \\{callee: ${clientPid}, request: \\d+, command: 1, answerDelay: 2000\\}`,
      ),
    );
    expect(out).toMatch(
      new RegExp(
        `\\[pid ${sp}\\] .*ACCEPT_SERVICE_CONN \\{request: \\d+\\} -> ok \\{notClientThread: 1, socket: \\d+\\}`,
      ),
    );
    expect(out).toMatch(new RegExp(`\\[pid ${sp}\\] .*started: client thread of connection \\d+`));
    // END_SERVICE_CONN: the service gets SERVICE_CLIENT_QUITTED, its client thread ends.
    expect(out).toMatch(new RegExp(`\\[pid ${sp}\\] .*kernel sends SERVICE_CLIENT_QUITTED`));
    // to the client thread, which handles it itself
    expect(out).toMatch(
      new RegExp(`\\[pid ${sp}\\] \\[thread \\d+\\] signal SERVICE_CLIENT_QUITTED -> handler 3`),
    );
    expect(out).toMatch(new RegExp(`\\[pid ${sp}\\] .*\\[thread \\d+\\] exited with 0`));
    expect(out).toMatch(
      new RegExp(`\\[pid ${sp}\\] .*REJECT_SERVICE_CONN \\{request: \\d+\\} -> ok`),
    );
  }, 60_000);
});

describe("the answer delay (system.processes.service_answer_delay)", () => {
  it("fails a connection the service never gets READY for, or answers too late", async () => {
    await setAnswerDelay(400);
    try {
      const t0 = Date.now();
      const r = home.run(
        client(`
        (local $conn i64)
        ;; "noready" never calls READY: rejected once the delay elapsed
        (call $check (i32.const 1) ${scoped("noready", Cmd.ACCEPT)} (i32.const ${E(0x41)}))
        ;; the service leaves this request unanswered: rejected after the delay
        (call $check (i32.const 2) ${main(Cmd.HOLD)} (i32.const ${E(0x41)}))
        ;; now it accepts the old request (too late: 0x41), then this one
        (call $check (i32.const 3) ${main(Cmd.LATE_THEN_ACCEPT)} (i32.const ${OK}))
        (local.set $conn (call $r64 (i32.const 0)))
        (call $check (i32.const 4) (call $s64 (i32.const 0x2b) (local.get $conn)) (i32.const ${OK}))`),
      );
      const out = r.stderr;
      if (process.env.DUMP) console.log(out);
      expect(r.code, out).toBe(0);
      expect(Date.now() - t0).toBeGreaterThan(800);
      const noready = /\[pid (\d+)\] started \(ncwdemo::svc \(scoped:noready\)\)/.exec(out)?.[1];
      const svc = /\[pid (\d+)\] started \(ncwdemo::svc \(main\)\)/.exec(out)?.[1];
      expect(noready, out).toBeDefined();
      expect(svc, out).toBeDefined();
      expect(out).toMatch(
        new RegExp(`\\[pid ${svc}\\] kernel sends SERVICE_CONN_REQUEST \\{.*answerDelay: 400\\}`),
      );
      // The request never reached the service that did not call READY.
      expect(out).not.toMatch(new RegExp(`\\[pid ${noready}\\] kernel sends SERVICE_CONN_REQUEST`));
      expect(out).toMatch(
        new RegExp(
          `\\[pid ${svc}\\] ACCEPT_SERVICE_CONN \\{request: \\d+\\} -> err 0x41 ANSWER_TOO_LATE`,
        ),
      );
      expect(out).toMatch(
        new RegExp(
          `\\[pid ${svc}\\] ACCEPT_SERVICE_CONN \\{request: \\d+\\} -> ok \\{notClientThread: 1`,
        ),
      );
    } finally {
      await setAnswerDelay(2000);
    }
  }, 60_000);
});

describe("closing a connection", () => {
  it("a client killed with kill -9: its client thread gets SERVICE_CLIENT_CLOSED, the service serves the others", async () => {
    // The starter must start the main service (its terminal then shows the service's lines): wait
    // until an earlier test's instance, left without clients, has been terminated.
    expect(await waitFor(() => !ps().some((p) => p.service === "main"), 20_000)).toBe(true);
    const connected = (c: { output: () => string }) =>
      /CONNECT_SERVICE .* -> ok \{connection: \d+/.test(c.output());
    const starter = home.spawnRun(holder(anid));
    let spawned: ReturnType<typeof home.spawnRun> | undefined;
    try {
      // The victim starts only once the starter is connected: started together, the victim could
      // connect first and start the service in its own terminal.
      expect(await waitFor(() => connected(starter)), starter.output()).toBe(true);
      expect(starter.output()).toMatch(/started \(ncwdemo::svc \(main\)\)/);
      const victim = home.spawnRun(holder(anid));
      spawned = victim;
      expect(await waitFor(() => connected(victim)), victim.output()).toBe(true);
      const pidOf = (c: { output: () => string }) =>
        Number(/\[pid (\d+)\] started \(p\w+\.wat\)/.exec(c.output())?.[1]);
      const [sp, vp] = [pidOf(starter), pidOf(victim)];
      let list = ps();
      const svc = list.find((p) => p.service === "main" && p.clients?.includes(sp));
      expect(svc?.clients?.sort(), JSON.stringify(list)).toEqual([sp, vp].sort());
      expect(list.find((p) => p.pid === vp)?.connectedTo).toEqual([svc?.pid]);
      const text = home.ncw(["ps"]).stdout;
      const shown = /main <- (\d+),(\d+)/.exec(text);
      expect(shown?.slice(1).map(Number).sort(), text).toEqual([sp, vp].sort());
      expect(text).toMatch(new RegExp(`-> ${svc?.pid}`));

      const hostPid = (list.find((p) => p.pid === vp) as { hostPid?: number }).hostPid;
      expect(hostPid).toBeGreaterThan(0);
      process.kill(hostPid as number, "SIGKILL");
      // Delivered in the victim's client thread (its handler marks the connection closed).
      const closed = new RegExp(
        `\\[pid ${svc?.pid}\\] \\[thread \\d+\\] signal SERVICE_CLIENT_CLOSED -> handler`,
      );
      expect(await waitFor(() => closed.test(starter.output())), starter.output()).toBe(true);
      // The victim's client thread ends; the service goes on serving.
      expect(
        await waitFor(() =>
          new RegExp(`\\[pid ${svc?.pid}\\] \\[thread \\d+\\] exited with 0`).test(
            starter.output(),
          ),
        ),
      ).toBe(true);
      const next = home.run(
        client(`
        (call $check (i32.const 1) ${main(Cmd.ACCEPT)} (i32.const ${OK}))
        (call $check (i32.const 2) (call $s64 (i32.const 0x2b) (call $r64 (i32.const 0))) (i32.const ${OK}))`),
      );
      expect(next.code, next.stderr).toBe(0);
      expect(next.stderr).not.toMatch(/started \(ncwdemo::svc \(main\)\)/);
      list = ps();
      expect(list.find((p) => p.pid === svc?.pid)?.clients).toEqual([sp]);

      // Its last client gone, the service is asked to terminate after the answer delay.
      starter.kill("SIGTERM");
      expect(await waitFor(() => !ps().some((p) => p.pid === svc?.pid), 20_000)).toBe(true);
    } finally {
      starter.kill("SIGKILL");
      spawned?.kill("SIGKILL");
    }
  }, 90_000);

  it("a client thread that traps: the client gets SERVICE_SERVER_QUITTED with the connection's ID", () => {
    const r = home.run(
      client(`
      (local $conn i64)
      (call $check (i32.const 1) (call $s8_64 (i32.const 0x01) (i32.const 0x2d) (i64.const 1)) (i32.const ${OK}))
      (call $check (i32.const 2) (call $s0 (i32.const 0x04)) (i32.const ${OK}))
      (call $check (i32.const 3) ${scoped("trap", Cmd.TRAP)} (i32.const ${OK}))
      (local.set $conn (call $r64 (i32.const 0)))
      (loop $wait (if (i32.eqz (i32.load (i32.const 0x3500))) (then (call $sleep (i32.const 10)) (br $wait))))
      (call $check64 (i32.const 4) (i64.load (i32.const 0x3508)) (local.get $conn))
      ;; the service thread is gone: END_SERVICE_CONN answers 0x41
      (call $check (i32.const 5) (call $s64 (i32.const 0x2b) (local.get $conn)) (i32.const ${E(0x41)}))`),
    );
    if (process.env.DUMP) console.log(r.stderr);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/kernel sends SERVICE_SERVER_QUITTED/);
    expect(r.stderr).toMatch(/service process ended: killed: trap in thread/);
  }, 60_000);
});

describe("one instance per user", () => {
  it("starts one service process per NightOS user; a second client of the same user shares it", async () => {
    const alice = home.spawnRun(holder(anid), [], { NCW_USER: "alice" });
    const bob = home.spawnRun(holder(anid), [], { NCW_USER: "bob" });
    try {
      const connected = (c: { output: () => string }) =>
        /CONNECT_SERVICE .* -> ok \{connection: \d+/.test(c.output());
      expect(await waitFor(() => connected(alice) && connected(bob)), alice.output()).toBe(true);
      const pidOf = (c: { output: () => string }) =>
        Number(/\[pid (\d+)\] started \(p\w+\.wat\)/.exec(c.output())?.[1]);
      const list = ps();
      const of = (pid: number) =>
        list.filter((p) => p.service === "main" && p.clients?.includes(pid));
      const [a, b] = [of(pidOf(alice)), of(pidOf(bob))];
      expect(a.length, JSON.stringify(list)).toBe(1);
      expect(b.length).toBe(1);
      expect(a[0]?.pid).not.toBe(b[0]?.pid);
      expect(a[0]?.anid).toBe(anid);
      expect(b[0]?.anid).toBe(anid);
      const again = home.run(
        client(`
        (call $check (i32.const 1) ${main(Cmd.ACCEPT)} (i32.const ${OK}))
        (call $check (i32.const 2) (call $s64 (i32.const 0x2b) (call $r64 (i32.const 0))) (i32.const ${OK}))`),
        [],
        { NCW_USER: "alice" },
      );
      expect(again.code, again.stderr).toBe(0);
      expect(again.stderr).not.toMatch(/started \(ncwdemo::svc/);
    } finally {
      alice.kill("SIGKILL");
      bob.kill("SIGKILL");
    }
  }, 90_000);
});

describe("a connection's service socket", () => {
  it("carries a method call from the client to its client thread and the answer back", () => {
    const r = home.run(
      client(`
      (local $sock i64) (local $conn i64)
      (call $check (i32.const 1) (call $s8_64 (i32.const 0x01) (i32.const 0x27) (i64.const 2)) (i32.const ${OK}))
      (call $check (i32.const 2) (call $s0 (i32.const 0x04)) (i32.const ${OK}))
      (call $check (i32.const 3) ${main(Cmd.ACCEPT)} (i32.const ${OK}))
      (local.set $conn (call $r64 (i32.const 0)))
      (local.set $sock (call $r64 (i32.const 8)))
      ;; method 7 with the number 0x0102030405060708; the client thread answers it + 1
      (i64.store (i32.const 0x7000) (i64.const 0x0102030405060708))
      (call $check (i32.const 4) (call $send8 (local.get $sock) (i64.const 0) (i32.const 7) (i32.const 0x7000)) (i32.const ${OK}))
      (loop $wait (if (i32.eqz (i32.atomic.load (i32.const 0x3520))) (then (call $sleep (i32.const 5)) (br $wait))))
      (call $check (i32.const 5) (call $read (local.get $sock) (i32.const 0x7100)) (i32.const ${OK}))
      (call $check (i32.const 6) (call $r8 (i32.const 4)) (i32.const 1))
      (call $check64 (i32.const 7) (i64.load (i32.const 0x7100)) (i64.const 0x0102030405060709))
      (call $check (i32.const 8) (call $s64 (i32.const 0x2b) (local.get $conn)) (i32.const ${OK}))
      ;; the socket closed with the connection: SEND_SOCK_MSG answers 0x31
      (call $check (i32.const 9) (call $send8 (local.get $sock) (i64.const 0) (i32.const 7) (i32.const 0x7000)) (i32.const ${E(0x31)}))`),
    );
    if (process.env.DUMP) console.log(r.stderr);
    expect(r.code, r.stderr).toBe(0);
    // The call's RECV_SOCK_MSG ran on the service's client thread, not its main thread (docs/services.md).
    expect(r.stderr).toMatch(
      /\[pid \d+\] sends RECV_SOCK_MSG \{[^}]*status: 1\} to the client thread of connection \d+ of pid \d+/,
    );
    expect(r.stderr).toMatch(/\[pid \d+\] \[thread \d+\] signal RECV_SOCK_MSG -> handler \d+/);
  }, 60_000);
});
