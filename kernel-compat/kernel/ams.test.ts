// Unit tests of the AMS table (kernel/ams.ts) on the real host layer: who names an AMS, how each may map
// it, and that releasing one closes its host segment (the count the black-box tests check from outside).

import { readdirSync, readlinkSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { AmsPermission } from "../../commonassembly/abi/signals.js";
import { hostNative } from "../../native/index.js";
import { AmsTable } from "./ams.js";
import { SegmentTable } from "./segments.js";

/** This process' open AMS memfds (what test/kernel-ams.test.ts counts in the kernel). */
function amsFds(): number {
  return readdirSync("/proc/self/fd").filter((fd) => {
    try {
      return /memfd:ncw:ams\d+/.test(readlinkSync(`/proc/self/fd/${fd}`));
    } catch {
      return false;
    }
  }).length;
}

describe.skipIf(process.platform !== "linux")("AmsTable (linux)", () => {
  it("names an AMS to its owner and receivers only, with the sharing's access", () => {
    const t = new AmsTable(new SegmentTable(hostNative()));
    const a = t.create(100, "virtual", 8192);
    expect(a.id).toBe(1n);
    expect(t.named(100, 1n)).toBe(a);
    expect(t.named(101, 1n)).toBeUndefined();
    expect(t.named(100, 2n)).toBeUndefined();
    a.sharings.push({
      receiver: 101,
      exclusive: false,
      permissions: AmsPermission.READ,
      copyOnWrite: false,
      command: 0,
    });
    expect(t.named(101, 1n)).toBe(a);
    expect(t.accessOf(a, 100)).toMatchObject({ readOnly: false, private: false });
    expect(t.accessOf(a, 101)).toMatchObject({ readOnly: true, private: false });
    expect(t.accessOf(a, 102)).toBeUndefined();
    expect(t.namedBy(101)).toEqual([a]);
    t.release(a);
  });

  it("keeps each process' mappings and forgets one or all", () => {
    const t = new AmsTable(new SegmentTable(hostNative()));
    const a = t.create(100, "virtual", 4096);
    const m = (address: number) => ({ address, length: 4096, from: 0, auto: false, source: false });
    t.addMapping(a, 100, m(0x10000));
    t.addMapping(a, 100, m(0x20000));
    expect(t.removeMappings(a, 100, 0x30000)).toEqual([]);
    expect(t.removeMappings(a, 100, 0x10000)).toEqual([m(0x10000)]);
    expect(t.removeMappings(a, 100)).toEqual([m(0x20000)]);
    expect(a.mappings.has(100)).toBe(false);
    t.release(a);
  });

  it("releasing an AMS closes its host segment", () => {
    const before = amsFds();
    const t = new AmsTable(new SegmentTable(hostNative()));
    const a = t.create(100, "virtual", 4096);
    expect(amsFds()).toBe(before + 1);
    t.release(a);
    expect(amsFds()).toBe(before);
    expect(t.size).toBe(0);
  });
});
