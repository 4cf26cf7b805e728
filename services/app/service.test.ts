// sys::app's handler (services/app/service.ts) through the service host as the kernel calls it: answers
// compared with bytes written out by hand from commonassembly/abi/services/app.ts (u32 ANIDs LE, delimited
// strings: u64 LE byte length then UTF-8, booleans 0x01/0x02), the user's view, the errcodes.

import { describe, expect, it } from "vitest";
import { ServiceHost } from "../host/host.js";
import { type AppEntry, SysApp } from "./service.js";

const APPS: Record<string, AppEntry[]> = {
  alice: [
    { aid: "a::one", anid: 0x01020304, version: "1.0", scope: "user" },
    { aid: "b::two", anid: 7, version: "2", scope: "global" },
  ],
  bob: [{ aid: "b::two", anid: 7, version: "2", scope: "global" }],
};

function setup(granted = false) {
  const host = new ServiceHost({ checker: () => granted });
  const procs: Record<number, { user: string; anid: number }> = {
    100: { user: "alice", anid: 0x01020304 },
    101: { user: "bob", anid: 99 },
  };
  host.register(
    new SysApp({
      identity: (pid) => procs[pid],
      installed: async (user) => APPS[user] ?? [],
      runningAnids: () => [99, 0, 0x01020304, 99],
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

  it("RUNNING_APPS needs programs.running.apps, and lists each ANID once, sorted, without 0", async () => {
    const refused = setup(false);
    await refused.connect(19, 100);
    expect(await refused.call(19, 100, 0x0005, hex(""))).toEqual({ ok: false, errcode: 0x0001 });
    const granted = setup(true);
    await granted.connect(19, 100);
    expect(await granted.call(19, 100, 0x0005, hex(""))).toEqual(
      ok("0800000000000000 63000000 04030201"),
    );
  });
});
