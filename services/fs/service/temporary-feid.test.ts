// sys::fs's temporary FEIDs (docs/sysfs.md "Identifiers"; filesystem.md "Temporary FEID"): bit 63 set,
// resolved to their item by OPEN_FILE whatever the FSID argument, naming nothing once the item is gone
// or the FEID dropped. OPEN_FILE's arguments are written out by hand: FSID u64, target variant 0x00
// (an existing path), path kind 0x01 (a FEID) and the FEID u64, then the read and write bytes.

import { describe, expect, it } from "vitest";
import { ServiceHost } from "../../host/host.js";
import { MemoryFs } from "../memory.js";
import { SysFs, TEMPORARY_FEID_BIT } from "./sysfs.js";

const le64 = (n: bigint) => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(n);
  return b.toString("hex");
};
const openArgs = (fsid: bigint, feid: bigint) =>
  Uint8Array.from(Buffer.from(`${le64(fsid)}0001${le64(feid)}0100`, "hex"));

async function setup() {
  const layer = new MemoryFs();
  const path = "/home/alice/appdata/notes/crashsaves/1_100.csf";
  await layer.mkdir("/home/alice/appdata/notes/crashsaves", { recursive: true });
  await layer.writeFile(path, Uint8Array.of(1, 2, 3));
  const sysfs = new SysFs({
    layer,
    fsid: 7n,
    identity: () => ({ user: "alice", app: "notes" }),
    memory: { read: async () => undefined, write: async () => false },
  });
  const host = new ServiceHost({ checker: () => false });
  host.register(sysfs);
  expect(await host.connect(10, 100)).toBe(true);
  return { layer, path, sysfs, open: (args: Uint8Array) => host.call(10, 100, 0x4000, args) };
}

describe("temporary FEIDs", () => {
  it("have bit 63 set, differ, and open their item with any FSID", async () => {
    const t = await setup();
    const a = t.sysfs.temporaryFeid(t.path);
    const b = t.sysfs.temporaryFeid(t.path);
    expect(a & TEMPORARY_FEID_BIT).toBe(TEMPORARY_FEID_BIT);
    expect(a).not.toBe(b);
    const r = await t.open(openArgs(0n, a));
    expect(r.ok).toBe(true);
    // A stable FEID with FSID 0 is still refused with INVALID_FSID (0x3000).
    expect(await t.open(openArgs(0n, 5n))).toEqual({ ok: false, errcode: 0x3000 });
  });

  it("name nothing once dropped, or once their item is gone", async () => {
    const t = await setup();
    const a = t.sysfs.temporaryFeid(t.path);
    t.sysfs.dropTemporaryFeid(a);
    expect(await t.open(openArgs(0n, a))).toEqual({ ok: false, errcode: 0x3000 });
    // With the right FSID, a dropped one is a FEID no item has: FILE_NOT_FOUND (0x3003).
    expect(await t.open(openArgs(7n, a))).toEqual({ ok: false, errcode: 0x3003 });
    const b = t.sysfs.temporaryFeid(t.path);
    await t.layer.rm(t.path);
    expect(await t.open(openArgs(0n, b))).toEqual({ ok: false, errcode: 0x3003 });
  });
});
