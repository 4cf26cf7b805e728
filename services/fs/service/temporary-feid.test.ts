// sys::fs's temporary FEIDs as sys::crashsave hands them out (docs/sysfs.md "Temporary FEIDs";
// filesystem.md "Temporary FEID"): the top bit set, opened by their holder through OPEN_FILE whatever
// the FSID argument (the notifications give no FSID), naming nothing once revoked or once their item is
// gone. OPEN_FILE's arguments are written out by hand: FSID u64, target variant 0x00 (an existing
// path), path kind 0x01 (a FEID) and the FEID u64, then the read and write bytes.

import { describe, expect, it } from "vitest";
import { ServiceHost } from "../../host/host.js";
import { MemoryFs } from "../memory.js";
import { SysFs } from "./sysfs.js";
import { TEMPORARY_FEID_BIT } from "./temporary.js";

const le64 = (n: bigint) => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(n);
  return b.toString("hex");
};
const openArgs = (fsid: bigint, feid: bigint, read = 1, write = 0) =>
  Uint8Array.from(
    Buffer.from(`${le64(fsid)}0001${le64(feid)}0${read}0${write}`.replace(/ /g, ""), "hex"),
  );

const HOLDER = 100;

async function setup() {
  const layer = new MemoryFs();
  const path = "/home/alice/appdata/notes/crashsaves/1_100.csf";
  await layer.mkdir("/home/alice/appdata/notes/crashsaves", { recursive: true });
  await layer.writeFile(path, Uint8Array.of(1, 2, 3));
  const sysfs = new SysFs({
    layer,
    fsid: 7n,
    identity: async () => ({ user: "alice", app: "notes" }),
    memory: { read: async () => undefined, write: async () => false },
  });
  const host = new ServiceHost({ checker: () => false });
  host.register(sysfs);
  expect(await host.connect(10, HOLDER)).toBe(true);
  expect(await host.connect(10, 101)).toBe(true);
  return {
    layer,
    path,
    sysfs,
    open: (args: Uint8Array, pid = HOLDER) => host.call(10, pid, 0x4000, args),
  };
}

describe("temporary FEIDs for sys::crashsave", () => {
  it("have the top bit set, differ, and open their item with any FSID, for their holder only", async () => {
    const t = await setup();
    const a = await t.sysfs.createTemporaryFeid(t.path, HOLDER, { read: true });
    const b = await t.sysfs.createTemporaryFeid(t.path, HOLDER, { read: true });
    expect(a & TEMPORARY_FEID_BIT).toBe(TEMPORARY_FEID_BIT);
    expect(a).not.toBe(b);
    expect((await t.open(openArgs(0n, a))).ok).toBe(true);
    // Another process: a FEID no item has, FILE_NOT_FOUND (0x3003), never INVALID_FSID.
    expect(await t.open(openArgs(0n, b), 101)).toEqual({ ok: false, errcode: 0x3003 });
    // A stable FEID with FSID 0 is still refused with INVALID_FSID (0x3000).
    expect(await t.open(openArgs(0n, 5n))).toEqual({ ok: false, errcode: 0x3000 });
  });

  it("name nothing once revoked, or once their item is gone", async () => {
    const t = await setup();
    const a = await t.sysfs.createTemporaryFeid(t.path, HOLDER, { write: true });
    expect(t.sysfs.revokeTemporaryFeid(a)).toBe(true);
    expect(await t.open(openArgs(0n, a, 0, 1))).toEqual({ ok: false, errcode: 0x3003 });
    expect(await t.open(openArgs(7n, a, 0, 1))).toEqual({ ok: false, errcode: 0x3003 });
    const b = await t.sysfs.createTemporaryFeid(t.path, HOLDER, { write: true });
    await t.layer.rm(t.path);
    expect(await t.open(openArgs(0n, b, 0, 1))).toEqual({ ok: false, errcode: 0x3003 });
  });
});
