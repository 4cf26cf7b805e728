// sys::app's handler (services/app/service.ts) through the service host as the kernel calls it: answers
// compared with bytes written out by hand from commonassembly/abi/services/app.ts (u32 ANIDs LE, delimited
// strings: u64 LE byte length then UTF-8, booleans 0x01/0x02), the user's view, the errcodes.

import { describe, expect, it } from "vitest";
import { ServiceHost } from "../host/host.js";
import {
  type AppEntry,
  type AppManager,
  installErrcode,
  SysApp,
  uninstallErrcode,
} from "./service.js";

const APPS: Record<string, AppEntry[]> = {
  alice: [
    { aid: "a::one", anid: 0x01020304, version: "1.0", scope: "user" },
    { aid: "b::two", anid: 7, version: "2", scope: "global" },
  ],
  bob: [{ aid: "b::two", anid: 7, version: "2", scope: "global" }],
};

/** The running processes: (user, ANID). */
const RUNNING: [string, number][] = [
  ["bob", 99],
  ["alice", 0],
  ["alice", 0x01020304],
  ["bob", 99],
  ["alice", 99],
  ["bob", 5],
];

function setup(granted = false, manager?: AppManager) {
  const host = new ServiceHost({ checker: () => granted });
  const procs: Record<number, { user: string; anid: number }> = {
    100: { user: "alice", anid: 0x01020304 },
    101: { user: "bob", anid: 99 },
  };
  host.register(
    new SysApp({
      identity: (pid) => procs[pid],
      installed: async (user) => APPS[user] ?? [],
      runningAnids: (user) => RUNNING.filter(([u]) => u === user).map(([, a]) => a),
      ...(manager ? { manager } : {}),
    }),
  );
  return host;
}

const hex = (h: string) => Uint8Array.from(Buffer.from(h.replace(/ /g, ""), "hex"));
const ok = (h: string) => ({ ok: true, answer: hex(h) });

describe("SysApp", () => {
  it("lists and describes what the caller's user sees", async () => {
    const host = setup();
    expect(await host.connect(19, 100)).toBe(true);
    expect(await host.connect(19, 101)).toBe(true);
    expect(await host.call(19, 100, 0x0001, hex(""))).toEqual(
      ok("0800000000000000 04030201 07000000"),
    );
    expect(await host.call(19, 101, 0x0001, hex(""))).toEqual(ok("0400000000000000 07000000"));
    // APP_INFO of "a::one": "a::one" (6), "1.0" (3), not global (0x02)
    expect(await host.call(19, 100, 0x0002, hex("04030201"))).toEqual(
      ok("0600000000000000 613a3a6f6e65 0300000000000000 312e30 02"),
    );
    // bob does not see alice's install
    expect(await host.call(19, 101, 0x0002, hex("04030201"))).toEqual({
      ok: false,
      errcode: 0x3000,
    });
    // FIND_APP "b::two"
    expect(await host.call(19, 101, 0x0003, hex("0600000000000000 623a3a74776f"))).toEqual(
      ok("07000000"),
    );
    expect(await host.call(19, 101, 0x0003, hex("0600000000000000 623a3a74776e"))).toEqual({
      ok: false,
      errcode: 0x3000,
    });
  });

  it("CURRENT_APP is the caller's ANID and whether it is installed for its user", async () => {
    const host = setup();
    await host.connect(19, 100);
    await host.connect(19, 101);
    expect(await host.call(19, 100, 0x0004, hex(""))).toEqual(ok("04030201 01"));
    expect(await host.call(19, 101, 0x0004, hex(""))).toEqual(ok("63000000 02"));
  });

  it("RUNNING_APPS needs programs.running.apps, and lists the user's ANIDs once each, sorted, without 0", async () => {
    const refused = setup(false);
    await refused.connect(19, 100);
    expect(await refused.call(19, 100, 0x0005, hex(""))).toEqual({ ok: false, errcode: 0x0001 });
    const granted = setup(true);
    await granted.connect(19, 100);
    expect(await granted.call(19, 100, 0x0005, hex(""))).toEqual(
      ok("0800000000000000 63000000 04030201"),
    );
  });

  it("INSTALL_APP asks consent first, then reads the file, then maps Skyer's error; nothing else is asked", async () => {
    const calls: string[] = [];
    let consent = false;
    let fail: string | undefined;
    const manager: AppManager = {
      consent: async (pid, permission, detail) => {
        calls.push(`consent ${pid} ${permission} ${detail}`);
        return consent;
      },
      readPackage: async (_c, p) => {
        calls.push(`read ${JSON.stringify(p)}`);
        return "split" in p && p.split[2] === "x.nap"
          ? { ok: true, bytes: new Uint8Array([1]), path: "/home/alice/x.nap" }
          : { ok: false, why: "not-found" };
      },
      install: async (user, name) => {
        calls.push(`install ${user} ${name}`);
        if (fail !== undefined) throw Object.assign(new Error("no"), { code: fail });
        return { anid: 0x0a0b0c0d, action: "updated", aid: "a::one", version: "2", events: [] };
      },
      uninstall: async () => ({ events: [] }),
      launch: async () => ({ ok: true, pid: 0x1234 }),
      tell: (pid, line) => calls.push(`tell ${pid} ${line}`),
    };
    const host = setup(false, manager);
    await host.connect(19, 100);
    // Filesystem path 0x02 (split): /home/alice/x.nap, three delimited strings (4 + 5 + 5 bytes + 24)
    const path = hex(
      "02 2600000000000000 0400000000000000 686f6d65 0500000000000000 616c696365 0500000000000000 782e6e6170",
    );
    expect(await host.call(19, 100, 0x0006, path)).toEqual({ ok: false, errcode: 0x0001 });
    expect(calls).toEqual([
      "consent 100 ncw.apps.install to install the package /home/alice/x.nap for alice",
    ]);
    consent = true;
    calls.length = 0;
    // ANID 0x0a0b0c0d LE, action 0x02 updated
    expect(await host.call(19, 100, 0x0006, path)).toEqual(ok("0d0c0b0a 02"));
    expect(calls.slice(1)).toEqual([
      'read {"split":["home","alice","x.nap"]}',
      "install alice x.nap",
    ]);
    fail = "PKG_BAD_MAGIC";
    expect(await host.call(19, 100, 0x0006, path)).toEqual({ ok: false, errcode: 0x3001 });
    // no such file: Skyer is not asked
    calls.length = 0;
    const other = hex("02 1000000000000000 0800000000000000 6e6f7468696e6721");
    expect(await host.call(19, 100, 0x0006, other)).toEqual({ ok: false, errcode: 0x3000 });
    expect(calls.some((c) => c.startsWith("install"))).toBe(false);
    // LAUNCH_APP of a::one with no argument: PID 0x1234 as u64; an ANID alice does not see: 0x3000
    expect(await host.call(19, 100, 0x0008, hex("04030201 0000000000000000"))).toEqual(
      ok("3412000000000000"),
    );
    expect(await host.call(19, 100, 0x0008, hex("05030201 0000000000000000"))).toEqual({
      ok: false,
      errcode: 0x3000,
    });
  });

  it("UNINSTALL_APP refuses a global install; Skyer's codes map to the documented errcodes", async () => {
    const manager: AppManager = {
      consent: async () => true,
      readPackage: async () => ({ ok: false, why: "not-found" }),
      install: async () => {
        throw new Error("unused");
      },
      uninstall: async () => ({ events: [] }),
      launch: async () => ({ ok: false, why: "not-runnable", message: "RUN_NO_PRECOMP" }),
      tell: () => {},
    };
    const host = setup(false, manager);
    await host.connect(19, 100);
    expect(await host.call(19, 100, 0x0007, hex("07000000"))).toEqual({
      ok: false,
      errcode: 0x3001,
    });
    expect(await host.call(19, 100, 0x0007, hex("04030201"))).toEqual(ok(""));
    expect(await host.call(19, 100, 0x0008, hex("07000000 0000000000000000"))).toEqual({
      ok: false,
      errcode: 0x3001,
    });
    expect(
      [
        "SKYER_AID_CONFLICT",
        "SKYER_DOWNGRADE",
        "SKYER_MISSING_LIBRARIES",
        "SKYER_SIDELOADING_OFFLINE",
        "SKYER_LOCKED",
        "MANIFEST_BAD_AID",
        "NPP_BAD_MAGIC",
        "SKYER_VOLATILE",
        "SKYER_DB_CORRUPT",
      ].map(installErrcode),
    ).toEqual([0x3002, 0x3002, 0x3003, 0x4000, 0x4001, 0x3001, 0x3001, 0x3001, 0x6000]);
    expect(
      ["SKYER_NOT_INSTALLED", "SKYER_LIBRARY_IN_USE", "SKYER_LOCKED", "FS_IO"].map(
        uninstallErrcode,
      ),
    ).toEqual([0x3000, 0x3002, 0x4001, 0x6000]);
  });
});
