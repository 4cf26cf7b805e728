// sys::hw (PID 12; specs/services/system/hw.md, docs/services.md "sys::hw") and the system services NCW
// does not host (sys::net 14, sys::ui 18; docs/services.md "What NCW does with
// the other system services") from a real app through `ncw run`: every sys::hw method answers the page's
// own errcode for an NCW client, after ENUM_DEVICES' constant checks; the others refuse CONNECT_SERVICE
// with 0x32 at once and HAS_SCOPED_SERVICE says 0x00 — never a hang. Argument bytes written by hand.

import { afterAll, describe, expect, it } from "vitest";
import { E, OK, TestHome } from "./kernel-helpers.js";
import { expectError, le, SAME, systemClient } from "./services-apps.js";

// No permission granted: sys::hw's context errcodes come before its (scoped) permissions.
const home = new TestHome();
afterAll(() => home.cleanup());

const connect = (pid: number) =>
  `(call $connect (i32.const 0) (i32.const 0) (i64.const ${pid}) (i32.const 0) (i32.const 0))`;

/** A pattern without DTD: flags, connection type, bus, port, DTD length 0. */
const pattern = (flags: number, conn = 0, bus = 0, port = 0) => [flags, conn, bus, port, 0];
const ALL = 0x0d; // all connection types, all buses, all ports
const enumArgs = (start: number, end: number, p: number[]) => [
  ...le(start, 4),
  ...le(end, 4),
  ...p,
];

describe("sys::hw", () => {
  it("answers each method with the page's errcode for an NCW client", () => {
    const r = home.run(
      systemClient(
        `
      (call $check (i32.const 1) ${connect(12)} (i32.const ${OK}))
      (local.set $sock (call $r64 (i32.const 8)))
      ;; ENUM_DEVICES (0x0001): constant checks first — start after end 0x1000, connection type 0x09
      ;; 0x1001, all connection types with a bus 0x1002, with a port 0x1003, 3000 DDRDs (> 1 MiB) 0x1005
      ${expectError(10, 0x0001, enumArgs(2, 1, pattern(ALL)), 0x1000)}
      ${expectError(20, 0x0001, enumArgs(0, 0, pattern(0x00, 0x09)), 0x1001)}
      ${expectError(30, 0x0001, enumArgs(0, 0, pattern(0x09)), 0x1002)}
      ${expectError(40, 0x0001, enumArgs(0, 0, pattern(0x05)), 0x1003)}
      ${expectError(50, 0x0001, enumArgs(0, 3000, pattern(ALL)), 0x1005)}
      ;; then the context: the client is not a system service, 0x3000 (a USB pattern with a 2-byte DTD too)
      ${expectError(60, 0x0001, enumArgs(0, 0, pattern(ALL)), 0x3000)}
      ${expectError(70, 0x0001, enumArgs(0, 4, [0x0c, 0x05, 0, 0, 2, 0x03, ...new Array(31).fill(0), 0x01, 0xb2]), 0x3000)}
      ;; a pattern whose DTD length is longer than the message, and a byte after a pattern: 0x1FFF
      ${expectError(80, 0x0001, enumArgs(0, 0, [ALL, 0, 0, 0, 4]), 0x1fff)}
      ${expectError(90, 0x0001, [...enumArgs(0, 0, pattern(ALL)), 0], 0x1fff)}
      ;; SUBSCRIBE_DEVICES (0x0002): 0x3000; REGISTER_DRIVER (0x1000): not a service, 0x3000;
      ;; UNREGISTER_DRIVER (0x1001): not registered, 0x3000; NOTIFY_PROCESS (0x2000): unknown ID, 0x3000
      ${expectError(100, 0x0002, [0, ...pattern(ALL)], 0x3000)}
      ${expectError(110, 0x1000, pattern(ALL), 0x3000)}
      ${expectError(120, 0x1001, pattern(ALL), 0x3000)}
      ${expectError(130, 0x2000, [...le(1, 8), 0xaa, 0xbb], 0x3000)}
      ;; ASK_DRIVER (0xA000): 0x3000; AUTHORIZE/UNAUTHORIZE_FS_INTERFACE (0xD000/0xD001): not sys::fs,
      ;; 0x3000; AUTH_PERFORM_STORAGE (0xD002): unknown token, 0x3000; 23 bytes for 0xD000's 24: 0x1FFF
      ${expectError(140, 0xa000, [...le(7, 8), ...le(1, 4), 1, 2, 3], 0x3000)}
      ${expectError(150, 0xd000, [...le(7, 8), ...le(0, 8), ...le(512, 8)], 0x3000)}
      ${expectError(160, 0xd000, [...le(7, 8), ...le(0, 8), ...le(512, 7)], 0x1fff)}
      ${expectError(170, 0xd001, le(9, 8), 0x3000)}
      ${expectError(180, 0xd002, [...le(9, 8), ...le(1, 4)], 0x3000)}
      ;; a code the page does not list: 0x1FFE
      ${expectError(190, 0x0003, [], 0x1ffe)}`,
        SAME,
      ),
    );
    if (process.env.DUMP) console.log(r.stderr);
    expect(r.code, r.stderr).toBe(0);
    // No permission was asked for (none granted, no terminal: it would have been 0x0001).
    expect(r.stderr).not.toMatch(/devices\.enum/);
  }, 90_000);
});

describe("the system services NCW does not host", () => {
  it("refuse CONNECT_SERVICE with 0x32 at once, and HAS_SCOPED_SERVICE answers 0x00", () => {
    const pids = [14, 18];
    const r = home.run(
      systemClient(
        pids
          .map(
            (pid, i) => `
      (call $check (i32.const ${10 + i * 4}) ${connect(pid)} (i32.const ${E(0x32)}))
      (call $check (i32.const ${11 + i * 4}) (call $has (i32.const 0) (i64.const ${pid})) (i32.const ${OK}))
      (call $check (i32.const ${12 + i * 4}) (call $r8 (i32.const 0)) (i32.const 0))`,
          )
          .join(""),
      ),
    );
    if (process.env.DUMP) console.log(r.stderr);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr.match(/CONNECT_SERVICE .* -> err 0x32/g)?.length ?? 0).toBe(pids.length);
  }, 90_000);
});
