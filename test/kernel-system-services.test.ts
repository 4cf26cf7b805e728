// The native system services behind CONNECT_SERVICE (docs/services.md "System services"): a client app
// run through `ncw run` connects to sys::process (ANID 0, its PID in the scope), calls its methods over
// the connection's socket — the kernel holds the service's end and answers through the service host —
// and reads the answer records, byte for byte; then END_SERVICE_CONN and the errcodes.

import { afterAll, describe, expect, it } from "vitest";
import { E, OK, TestHome, waitFor } from "./kernel-helpers.js";
import { systemClient } from "./services-apps.js";

const granted = new TestHome({ NCW_GRANT_PERMISSIONS: "programs.running.processes" });
const plain = new TestHome();
afterAll(() => {
  granted.cleanup();
  plain.cleanup();
});

const SYS_PROCESS = 20;

const body = systemClient;

const connect = (pid: number, flex = 0) =>
  `(call $connect (i32.const 0) (i32.const 0) (i64.const ${pid}) (i32.const 0) (i32.const ${flex}))`;

describe("CONNECT_SERVICE to a system service", () => {
  it("calls sys::process's methods over the connection and reads the answers byte for byte", () => {
    const r = granted.run(
      body(`
      (call $check (i32.const 1) ${connect(SYS_PROCESS)} (i32.const ${OK}))
      (local.set $conn (call $r64 (i32.const 0)))
      (local.set $sock (call $r64 (i32.const 8)))
      ;; LIST_PROCESSES (0x0001), no arguments: the answer concludes (status 0x04), no error; the list of
      ;; u64 PIDs: its byte length (u64) then PIDs 10..20 (the system services) and this process'
      (call $check (i32.const 2) (call $sendn (local.get $sock) (i32.const 1) (i32.const 0x7000) (i32.const 0)) (i32.const ${OK}))
      (call $answer (i32.const 3) (local.get $sock) (i32.const 0x04) (i32.const 104))
      (call $check64 (i32.const 10) (i64.load (i32.const 0x7100)) (i64.const 96))
      (local.set $i (i32.const 0))
      (loop $pids
        (call $check64 (i32.add (i32.const 11) (local.get $i)) (i64.load (i32.add (i32.const 0x7108) (i32.shl (local.get $i) (i32.const 3))))
          (i64.extend_i32_u (i32.add (i32.const 10) (local.get $i))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $pids (i32.lt_u (local.get $i) (i32.const 11))))
      (local.set $pid (i64.load (i32.const 0x7160)))
      (call $check (i32.const 30) (i64.gt_u (local.get $pid) (i64.const 20)) (i32.const 1))
      ;; PROCESS_INFO (0x0002) of that PID: ppid u64, name (u64 length + UTF-8), system false (0x02,
      ;; data-structures.md booleans), state 0x02 (running), then the start timestamp u64
      (i64.store (i32.const 0x7000) (local.get $pid))
      (call $check (i32.const 31) (call $sendn (local.get $sock) (i32.const 2) (i32.const 0x7000) (i32.const 8)) (i32.const ${OK}))
      (loop $wait (if (i32.eqz (i32.atomic.load (i32.const 0x3520))) (then (call $sleep (i32.const 5)) (br $wait))))
      (call $check (i32.const 32) (call $read (local.get $sock) (i32.const 0x7100)) (i32.const ${OK}))
      (call $check (i32.const 33) (call $r8 (i32.const 5)) (i32.const 0x04))
      (local.set $len (i32.wrap_i64 (i64.load (i32.const 0x7108))))
      (call $check (i32.const 34) (i32.gt_u (local.get $len) (i32.const 0)) (i32.const 1))
      (call $check (i32.const 35) (i32.load (i32.const 0x2000)) (i32.add (local.get $len) (i32.const 26)))
      (call $check (i32.const 36) (i32.load8_u (i32.add (i32.const 0x7110) (local.get $len))) (i32.const 2))
      (call $check (i32.const 37) (i32.load8_u (i32.add (i32.const 0x7111) (local.get $len))) (i32.const 2))
      ;; an unknown method: an error message (status 0x06) whose 2 bytes are the errcode 0x1FFE
      (call $check (i32.const 40) (call $sendn (local.get $sock) (i32.const 0x0099) (i32.const 0x7000) (i32.const 0)) (i32.const ${OK}))
      (call $answer (i32.const 41) (local.get $sock) (i32.const 0x06) (i32.const 2))
      (call $check (i32.const 45) (i32.load16_u (i32.const 0x7100)) (i32.const 0x1ffe))
      ;; arguments LIST_PROCESSES does not take: 0x1FFF
      (call $check (i32.const 46) (call $sendn (local.get $sock) (i32.const 1) (i32.const 0x7000) (i32.const 8)) (i32.const ${OK}))
      (call $answer (i32.const 47) (local.get $sock) (i32.const 0x06) (i32.const 2))
      (call $check (i32.const 51) (i32.load16_u (i32.const 0x7100)) (i32.const 0x1fff))
      ;; the answer concluded its exchange (exchange 1): a message in it is refused (0x40)
      (call $check (i32.const 52) (call $send8 (local.get $sock) (i64.const 1) (i32.const 1) (i32.const 0x7000)) (i32.const ${E(0x40)}))
      ;; a second connection: 0x32 without flexible mode, the same connection with it
      (call $check (i32.const 53) ${connect(SYS_PROCESS)} (i32.const ${E(0x32)}))
      (call $check (i32.const 54) ${connect(SYS_PROCESS, 1)} (i32.const ${OK}))
      (call $check64 (i32.const 55) (call $r64 (i32.const 0)) (local.get $conn))
      (call $check64 (i32.const 56) (call $r64 (i32.const 8)) (local.get $sock))
      ;; a system PID no service is hosted at (sys::ui, 18), and a PID that is none: 0x32
      (call $check (i32.const 57) ${connect(18)} (i32.const ${E(0x32)}))
      (call $check (i32.const 58) ${connect(99)} (i32.const ${E(0x32)}))
      ;; HAS_SCOPED_SERVICE with ANID 0: 0x01 for sys::process, 0x00 for sys::ui
      (call $check (i32.const 59) (call $has (i32.const 0) (i64.const ${SYS_PROCESS})) (i32.const ${OK}))
      (call $check (i32.const 60) (call $r8 (i32.const 0)) (i32.const 1))
      (call $check (i32.const 61) (call $has (i32.const 0) (i64.const 18)) (i32.const ${OK}))
      (call $check (i32.const 62) (call $r8 (i32.const 0)) (i32.const 0))
      ;; END_SERVICE_CONN: the socket closes (SEND_SOCK_MSG 0x31); ending it again: 0x40
      (call $check (i32.const 63) (call $s64 (i32.const 0x2b) (local.get $conn)) (i32.const ${OK}))
      (call $check (i32.const 64) (call $sendn (local.get $sock) (i32.const 1) (i32.const 0x7000) (i32.const 0)) (i32.const ${E(0x31)}))
      (call $check (i32.const 65) (call $s64 (i32.const 0x2b) (local.get $conn)) (i32.const ${E(0x40)}))
      ;; a new connection after the end
      (call $check (i32.const 66) ${connect(SYS_PROCESS)} (i32.const ${OK}))
      (call $check (i32.const 67) (i64.ne (call $r64 (i32.const 0)) (local.get $conn)) (i32.const 1))`),
    );
    if (process.env.DUMP) console.log(r.stderr);
    expect(r.code, r.stderr).toBe(0);
    // The trace decodes the calls the client made.
    expect(r.stderr).toMatch(/CONNECT_SERVICE .* -> ok \{connection: \d+/);
  }, 60_000);

  it("answers a method whose permission the client lacks with 0x0001", () => {
    const r = plain.run(
      body(`
      (call $check (i32.const 1) ${connect(SYS_PROCESS)} (i32.const ${OK}))
      (local.set $sock (call $r64 (i32.const 8)))
      (call $check (i32.const 2) (call $sendn (local.get $sock) (i32.const 1) (i32.const 0x7000) (i32.const 0)) (i32.const ${OK}))
      (call $answer (i32.const 3) (local.get $sock) (i32.const 0x06) (i32.const 2))
      (call $check (i32.const 7) (i32.load16_u (i32.const 0x7100)) (i32.const 0x0001))`),
    );
    if (process.env.DUMP) console.log(r.stderr);
    expect(r.code, r.stderr).toBe(0);
  }, 60_000);

  it("shows the connection in `ncw ps`, and forgets it when the client is killed", async () => {
    const ps = () => {
      const r = granted.ncw(["ps", "--json"]);
      expect(r.code, r.stderr).toBe(0);
      return (JSON.parse(r.stdout) as { processes: { pid: number; connectedTo?: number[] }[] })
        .processes;
    };
    const c = granted.spawnRun(
      body(`
      (call $check (i32.const 1) ${connect(SYS_PROCESS)} (i32.const ${OK}))
      (loop $hold (call $sleep (i32.const 50)) (br $hold))`),
    );
    try {
      expect(await waitFor(() => /CONNECT_SERVICE .* -> ok/.test(c.output()))).toBe(true);
      const pid = Number(/\[pid (\d+)\] CONNECT_SERVICE/.exec(c.output())?.[1]);
      expect(ps().find((p) => p.pid === pid)?.connectedTo).toEqual([SYS_PROCESS]);
      c.kill("SIGKILL");
      expect(await waitFor(() => !ps().some((p) => p.pid === pid), 20_000)).toBe(true);
    } finally {
      c.kill("SIGKILL");
    }
    // The service goes on serving: a new client connects and calls.
    const r = granted.run(
      body(`
      (call $check (i32.const 1) ${connect(SYS_PROCESS)} (i32.const ${OK}))
      (local.set $sock (call $r64 (i32.const 8)))
      (call $check (i32.const 2) (call $sendn (local.get $sock) (i32.const 1) (i32.const 0x7000) (i32.const 0)) (i32.const ${OK}))
      (call $answer (i32.const 3) (local.get $sock) (i32.const 0x04) (i32.const 104))`),
    );
    expect(r.code, r.stderr).toBe(0);
  }, 90_000);
});
