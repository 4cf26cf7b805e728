// Host mounts in sys::fs (docs/sysfs.md "Host mounts"): /mnt/<name> of a MountView is a host folder
// (mount-view.ts), with its own FSID, its host FEIDs, its read-only option and no way out of the
// folder. Every method through the service host, argument bytes built from the page's layouts by the
// small encoders below; on the in-memory tree and on a Btrfs image (whose one-step resolution must
// hand a path meeting a mount over to the walk).

import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { SystemPid } from "../../../commonassembly/abi/numbers.js";
import { decodeLayout } from "../../../commonassembly/abi/services/fields.js";
import * as T from "../../../commonassembly/abi/services/fs.js";
import {
  FS_STRUCTURES,
  FsCapability,
  ItemFlag,
} from "../../../commonassembly/abi/services/fs-structures.js";
import { type MethodDef, ServiceErr } from "../../../commonassembly/abi/services/method.js";
import { btrfsProgsMissing, skipUnless, tempDir } from "../../../test/btrfs-oracle.js";
import { type OutgoingNotification, ServiceHost } from "../../host/host.js";
import { BtrfsLayer } from "../btrfs/layer.js";
import type { FsLayer } from "../layer.js";
import { MemoryFs } from "../memory.js";
import { mountedFs } from "../mount-view.js";
import type { FsIdentity } from "./access.js";
import { type ClientMemory, SysFs } from "./sysfs.js";

// ---- encoders written from the spec's tables (data-structures.md, filesystem-interfaces.md) -------
const cat = (...parts: Uint8Array[]) => Uint8Array.from(parts.flatMap((p) => [...p]));
const u8 = (n: number) => Uint8Array.of(n);
const u64 = (n: bigint | number) => {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt(n), true);
  return b;
};
const str = (s: string) => {
  const b = new TextEncoder().encode(s);
  return cat(u64(b.length), b);
};
/** A split path; components are kept as given ("..", "" included). */
const split = (...parts: string[]) => {
  const items = cat(...parts.map(str));
  return cat(u8(0x02), u64(items.length), items);
};
const splitOf = (p: string) => split(...p.split("/").filter(Boolean));
const byFeid = (feid: bigint) => cat(u8(0x01), u64(feid));
const FALSE = u8(0x02);

const HOME_FSID = 0x4e43_5746_5349_4401n;
const RW_FSID = 0x1111_2222_3333_4444n;
const RO_FSID = 0x5555_6666_7777_8888n;
const HOME = u64(HOME_FSID);
const RW = u64(RW_FSID);
const RO = u64(RO_FSID);
const PID = SystemPid["sys::fs"];
const GRANTED = 100; // an app the user granted every fs.* item permission under /mnt
const OTHER = 101; // an app granted nothing
const SYSTEM = 5;
const people: Record<number, FsIdentity> = {
  [GRANTED]: { user: "alice", app: "photos" },
  [OTHER]: { user: "alice", app: "other" },
  [SYSTEM]: { user: "system", system: true },
};

/** Every client's memory: the bytes "data" at 0x1000. */
const memory: ClientMemory = {
  read: async (_pid, address, length) =>
    address === 0x1000n && length <= 4
      ? new TextEncoder().encode("data").slice(0, length)
      : undefined,
  write: async () => true,
};

const dir = tempDir("ncw-sysfs-mounts-");
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
let n = 0;

/** A host folder to mount ("rw"), a read-only one ("ro"), and a secret beside them. */
function hostFolders() {
  const root = path.join(dir, `h${n++}`);
  const rw = path.join(root, "rw");
  const ro = path.join(root, "ro");
  fs.mkdirSync(path.join(rw, "docs"), { recursive: true });
  fs.mkdirSync(path.join(root, "outside"));
  fs.mkdirSync(ro);
  fs.writeFileSync(path.join(rw, "docs", "a.txt"), "hello");
  fs.writeFileSync(path.join(ro, "r.txt"), "read me");
  fs.writeFileSync(path.join(root, "outside", "secret.txt"), "secret");
  // Links inside the mount, and links that would leave it on the host.
  fs.symlinkSync("docs/a.txt", path.join(rw, "in"));
  fs.symlinkSync("../outside/secret.txt", path.join(rw, "up"));
  fs.symlinkSync(path.join(root, "outside", "secret.txt"), path.join(rw, "abs"));
  fs.symlinkSync("..", path.join(rw, "parent"));
  fs.symlinkSync("/", path.join(rw, "slash"));
  return { root, rw, ro };
}

async function setup(backend: "memory" | "btrfs") {
  const host = hostFolders();
  let layer: FsLayer;
  if (backend === "memory") layer = new MemoryFs();
  else
    layer = BtrfsLayer.create(path.join(host.root, "t.img"), 128n << 20n, { metadata: "single" });
  for (const d of ["/mnt", "/etc/public", "/home/alice/documents"])
    await layer.mkdir(d, { recursive: true });
  await layer.symlink("/", "/mnt/root");
  await layer.writeFile("/home/alice/documents/diary", new TextEncoder().encode("dear"));
  // A link of the home's tree into a mount: resolution crosses into the host folder.
  await layer.symlink("/mnt/photos/docs", "/etc/public/to-photos");
  const mounts = mountedFs(
    [
      { name: "photos", host: host.rw, readOnly: false, fsid: RW_FSID.toString(16), mountedAt: "" },
      { name: "cd", host: host.ro, readOnly: true, fsid: RO_FSID.toString(16), mountedAt: "" },
    ],
    1_700_000_000_000,
  );
  const checker = (pid: number, _permission: string, scope?: string) =>
    pid === GRANTED && scope !== undefined && scope.startsWith("/mnt/");
  const notes: OutgoingNotification[] = [];
  const sh = new ServiceHost({ checker, deliver: (x) => notes.push(x) });
  const sysfs = new SysFs({
    layer,
    fsid: HOME_FSID,
    identity: (p) => people[p],
    memory,
    mounts,
  });
  sh.register(sysfs);
  for (const p of [GRANTED, OTHER, SYSTEM]) expect(await sh.connect(PID, p)).toBe(true);
  const call = (pid: number, m: { code: number }, ...args: Uint8Array[]) =>
    sh.call(PID, pid, m.code, cat(...args));
  const err = async (pid: number, m: { code: number }, ...args: Uint8Array[]) => {
    const r = await call(pid, m, ...args);
    return r.ok ? 0 : r.errcode;
  };
  const answer = async (pid: number, m: MethodDef, ...args: Uint8Array[]) => {
    const r = await call(pid, m, ...args);
    if (!r.ok) throw new Error(`${m.name} failed with 0x${r.errcode.toString(16)}`);
    return decodeLayout(m.answer, r.answer, m.name, FS_STRUCTURES);
  };
  const meta = async (pid: number, fsid: Uint8Array, p: Uint8Array) =>
    (await answer(pid, T.ITEM_METADATA, fsid, p)).metadata as {
      feid: bigint;
      flags: number;
      name: string;
      size: bigint;
    };
  const ino = (p: string) => BigInt(fs.lstatSync(p).ino);
  /** The ITEM_CHANGED events `pid` got so far: [FSID, FEID, event] (datafield: 8 + 8 + 1 bytes). */
  const changes = (pid: number) =>
    notes
      .filter((x) => x.clientPid === pid && x.code === 0xa000)
      .map((x) => {
        const v = new DataView(x.data.buffer, x.data.byteOffset, x.data.byteLength);
        return [v.getBigUint64(0, true), v.getBigUint64(8, true), x.data[16]!] as const;
      });
  return { host, layer, sysfs, sh, notes, call, err, answer, meta, ino, changes };
}

describe.each(["memory", "btrfs"] as const)("host mounts on the %s tree", (backend) => {
  if (backend === "btrfs") skipUnless(btrfsProgsMissing());

  it("lists each mount as a filesystem of its own (ENUM_FS, IS_FS_MOUNTED, FS_METADATA)", async () => {
    const t = await setup(backend);
    const fsList = (await t.answer(SYSTEM, T.ENUM_FS)).filesystems as bigint[];
    expect(fsList).toEqual([HOME_FSID, RW_FSID, RO_FSID]);
    for (const f of [HOME, RW, RO])
      expect((await t.answer(SYSTEM, T.IS_FS_MOUNTED, f)).mounted).toBe(1);
    expect((await t.answer(SYSTEM, T.IS_FS_MOUNTED, u64(42))).mounted).toBe(0);
    expect(await t.err(SYSTEM, T.FS_METADATA, u64(42))).toBe(T.FS_METADATA.errors.NOT_MOUNTED);
    const rw = await t.answer(SYSTEM, T.FS_METADATA, RW);
    const ro = await t.answer(SYSTEM, T.FS_METADATA, RO);
    const caps = (x: typeof rw) => (x.metadata as { capabilities: number }).capabilities;
    expect(caps(rw) & FsCapability.WRITABLE).toBe(FsCapability.WRITABLE);
    expect(caps(ro) & FsCapability.WRITABLE).toBe(0);
    expect(caps(ro) & FsCapability.READ_ONLY_FLAG).toBe(FsCapability.READ_ONLY_FLAG);
    expect(rw.mountedAt).toBe(1_700_000_000_000n);
    // The mount path: the FEID /mnt/<name> has, which is the host folder's inode.
    expect(rw.mountPath).toBe(t.ino(t.host.rw));
    expect((await t.meta(SYSTEM, HOME, splitOf("/mnt/photos"))).feid).toBe(t.ino(t.host.rw));
    expect((rw.metadata as { name: string }).name).toBe("photos");
    // The mount's root by its FSID is that filesystem's root: no name; through /mnt it is "photos".
    expect((await t.meta(SYSTEM, RW, split())).name).toBe("");
    expect((await t.meta(SYSTEM, HOME, splitOf("/mnt/photos"))).name).toBe("photos");
    // The home's tree is still mounted at its root, and the apps cannot unmount a mount.
    expect(await t.err(SYSTEM, T.FS_UNMOUNT, RW)).toBe(ServiceErr.PERMISSION);
    expect(await t.err(SYSTEM, T.FS_MOUNT, RW, u8(0x00))).toBe(T.FS_MOUNT.errors.ALREADY_MOUNTED);
  });

  it("names a mount's item by the mount's FSID to the system services (SysFs.itemFor, sys::fsh)", async () => {
    const t = await setup(backend);
    const caller = { pid: SYSTEM, has: () => true };
    const file = (await t.meta(SYSTEM, RW, splitOf("docs/a.txt"))).feid;
    expect(await t.sysfs.itemFor(caller, RW_FSID, file)).toMatchObject({ ok: true, feid: file });
    const diary = (await t.meta(SYSTEM, HOME, splitOf("home/alice/documents/diary"))).feid;
    expect(await t.sysfs.itemFor(caller, HOME_FSID, diary)).toMatchObject({
      ok: true,
      feid: diary,
    });
    expect(await t.sysfs.itemFor(caller, 42n, file)).toEqual({ ok: false, why: "unknown-fsid" });
    expect(await t.sysfs.itemFor(caller, RW_FSID, 0x7777n)).toEqual({
      ok: false,
      why: "unknown-feid",
    });
  });

  it("reads a host file by the mount's FSID from its root, or by the home's through /mnt", async () => {
    const t = await setup(backend);
    const viaMount = await t.meta(GRANTED, RW, split("docs", "a.txt"));
    const viaHome = await t.meta(GRANTED, HOME, splitOf("/mnt/photos/docs/a.txt"));
    expect(viaMount.feid).toBe(t.ino(path.join(t.host.rw, "docs", "a.txt")));
    expect(viaHome.feid).toBe(viaMount.feid);
    expect(viaMount.size).toBe(5n);
    // /mnt lists the mounts beside the root link.
    const items = (await t.answer(SYSTEM, T.READ_DIRECTORY, HOME, splitOf("/mnt"), FALSE))
      .items as { name: string }[];
    expect(items.map((i) => i.name)).toEqual(["cd", "photos", "root"]);
    const docs = (await t.answer(GRANTED, T.READ_DIRECTORY, RW, split("docs"), FALSE)).items as {
      name: string;
    }[];
    expect(docs.map((i) => i.name)).toEqual(["a.txt"]);
    // A link of the tree into the mount is followed into the host folder.
    const through = (
      await t.answer(SYSTEM, T.READ_DIRECTORY, HOME, splitOf("/etc/public/to-photos"), FALSE)
    ).items as { name: string }[];
    expect(through.map((i) => i.name)).toEqual(["a.txt"]);
    // The FEID names the item with the mount's FSID only, and follows it through a host rename.
    const f = viaMount.feid;
    expect((await t.answer(GRANTED, T.FEID_TO_SPLIT, RW, u64(f))).path).toEqual(["docs", "a.txt"]);
    fs.renameSync(path.join(t.host.rw, "docs", "a.txt"), path.join(t.host.rw, "docs", "b.txt"));
    expect((await t.answer(GRANTED, T.FEID_TO_SPLIT, RW, u64(f))).path).toEqual(["docs", "b.txt"]);
    expect((await t.meta(GRANTED, RW, byFeid(f))).name).toBe("b.txt");
    expect(await t.err(SYSTEM, T.FEID_TO_SPLIT, HOME, u64(f))).toBe(
      T.FEID_TO_SPLIT.errors.FEID_NOT_FOUND,
    );
  });

  it("writes go to the host folder; nothing moves between filesystems", async () => {
    const t = await setup(backend);
    const h = (...p: string[]) => path.join(t.host.rw, ...p);
    expect(await t.err(GRANTED, T.CREATE_DIRECTORY, RW, split(), str("new"))).toBe(0);
    expect(fs.statSync(h("new")).isDirectory()).toBe(true);
    const opened = await t.answer(
      GRANTED,
      T.OPEN_FILE,
      RW,
      u8(1),
      split("new"),
      str("f.txt"),
      u8(0x01),
      u8(0x01),
    );
    const file = u64(opened.file as bigint);
    expect(
      await t.err(GRANTED, T.WRITE_FILE, file, u64(0), u64(4), u64(0x1000), u64(4), FALSE),
    ).toBe(0);
    expect(await t.err(GRANTED, T.CLOSE_FILE, file)).toBe(0);
    expect(fs.readFileSync(h("new", "f.txt"), "utf8")).toBe("data");
    // WRITE_FILE at an offset of an existing host file: in place, then truncated after the bytes.
    const a = await t.answer(
      GRANTED,
      T.OPEN_FILE,
      RW,
      u8(0),
      split("docs", "a.txt"),
      FALSE,
      u8(0x01),
    );
    const af = u64(a.file as bigint);
    expect(await t.err(GRANTED, T.WRITE_FILE, af, u64(3), u64(4), u64(0x1000), u64(4), FALSE)).toBe(
      0,
    );
    expect(fs.readFileSync(h("docs", "a.txt"), "utf8")).toBe("heldata");
    expect(
      await t.err(GRANTED, T.WRITE_FILE, af, u64(1), u64(2), u64(0x1000), u64(4), u8(0x01)),
    ).toBe(0);
    expect(fs.readFileSync(h("docs", "a.txt"), "utf8")).toBe("hda");
    expect(await t.err(GRANTED, T.CLOSE_FILE, af)).toBe(0);
    // A link in the mount to its own item is a relative host link; to the home's tree, refused.
    expect(
      await t.err(
        GRANTED,
        T.CREATE_SYMLINK,
        RW,
        split("new"),
        str("l"),
        RW,
        split("docs", "a.txt"),
      ),
    ).toBe(0);
    expect(fs.readlinkSync(h("new", "l"))).toBe("../docs/a.txt");
    expect(
      await t.err(SYSTEM, T.CREATE_SYMLINK, RW, split(), str("l2"), HOME, splitOf("/etc/public")),
    ).toBe(T.CREATE_SYMLINK.errors.CROSS_FILESYSTEM);
    // Not moved out of the mount, not to the trash (in the user's home), but deleted.
    expect(
      await t.err(
        SYSTEM,
        T.MOVE_ITEM,
        HOME,
        splitOf("/mnt/photos/docs/a.txt"),
        splitOf("/etc/public"),
        u8(0x00),
      ),
    ).toBe(T.MOVE_ITEM.errors.CANNOT_MOVE);
    expect(await t.err(GRANTED, T.DELETE_ITEM, RW, split("docs", "a.txt"), u8(0x01))).toBe(
      T.DELETE_ITEM.errors.UNSPECIFIED,
    );
    expect(fs.existsSync(h("docs", "a.txt"))).toBe(true);
    expect(await t.err(GRANTED, T.DELETE_ITEM, RW, split("docs", "a.txt"), u8(0x02))).toBe(0);
    expect(fs.existsSync(h("docs", "a.txt"))).toBe(false);
    // The mount itself is not an app's to remove or rename.
    expect(await t.err(SYSTEM, T.DELETE_ITEM, HOME, splitOf("/mnt/photos"), u8(0x02))).toBe(
      ServiceErr.PERMISSION,
    );
    expect(await t.err(SYSTEM, T.RENAME_ITEM, RW, split(), str("x"))).toBe(ServiceErr.PERMISSION);
    expect(fs.existsSync(t.host.rw)).toBe(true);
  });

  it("a read-only mount refuses every change with the storage rules' 0x0001, the system's too", async () => {
    const t = await setup(backend);
    expect(await t.err(GRANTED, T.CREATE_DIRECTORY, RO, split(), str("x"))).toBe(
      ServiceErr.PERMISSION,
    );
    expect(await t.err(SYSTEM, T.CREATE_DIRECTORY, RO, split(), str("x"))).toBe(
      ServiceErr.PERMISSION,
    );
    expect(await t.err(SYSTEM, T.DELETE_ITEM, RO, split("r.txt"), u8(0x02))).toBe(
      ServiceErr.PERMISSION,
    );
    expect(await t.err(SYSTEM, T.OPEN_FILE, RO, u8(0), split("r.txt"), u8(0x01), u8(0x01))).toBe(
      ServiceErr.PERMISSION,
    );
    expect(await t.err(SYSTEM, T.RENAME_ITEM, RO, split("r.txt"), str("s.txt"))).toBe(
      ServiceErr.PERMISSION,
    );
    // Reading is allowed, and its items carry the read-only flag.
    expect(await t.err(GRANTED, T.OPEN_FILE, RO, u8(0), split("r.txt"), u8(0x01), u8(0x00))).toBe(
      0,
    );
    const r = await t.meta(GRANTED, RO, split("r.txt"));
    expect(r.flags & ItemFlag.READ_ONLY).toBe(ItemFlag.READ_ONLY);
    expect((await t.meta(GRANTED, RW, split("docs"))).flags & ItemFlag.READ_ONLY).toBe(0);
    expect(fs.readdirSync(t.host.ro)).toEqual(["r.txt"]);
  });

  it("reaches nothing of the host outside the mounted folder: '..' and links stay inside", async () => {
    const t = await setup(backend);
    const NF = T.ITEM_METADATA.errors.NOT_FOUND;
    // ".." never climbs above the mount's root.
    expect(await t.err(GRANTED, T.ITEM_METADATA, RW, split("..", "outside", "secret.txt"))).toBe(
      NF,
    );
    expect(await t.err(GRANTED, T.ITEM_METADATA, RW, split("..", "..", "..", "outside"))).toBe(NF);
    // A relative link inside the mount works.
    expect(await t.err(GRANTED, T.OPEN_FILE, RW, u8(0), split("in"), u8(0x01), u8(0x00))).toBe(0);
    // Links leading out of the folder on the host lead nowhere here: their targets are read from the
    // mount's root ("../outside/…" is /mnt/photos/outside/…, an absolute host path is under the mount).
    for (const link of ["up", "abs"]) {
      expect(
        await t.err(SYSTEM, T.OPEN_FILE, RW, u8(0), split(link), u8(0x01), u8(0x00)),
        link,
      ).toBe(T.OPEN_FILE.errors.FILE_NOT_FOUND);
      const target = await t.answer(SYSTEM, T.READ_SYMLINK, RW, split(link));
      expect(target.targetFsid, link).toBe(RW_FSID);
    }
    expect((await t.answer(SYSTEM, T.READ_SYMLINK, RW, split("up"))).target).toEqual({
      split: ["outside", "secret.txt"],
    });
    // A link to ".." or "/" is the mount's root, not the host's parent or root.
    for (const link of ["parent", "slash"]) {
      const items = (await t.answer(SYSTEM, T.READ_DIRECTORY, RW, split(link), FALSE)).items as {
        name: string;
      }[];
      expect(
        items.map((i) => i.name),
        link,
      ).toContain("docs");
      expect(
        await t.err(SYSTEM, T.ITEM_METADATA, RW, split(link, "outside", "secret.txt")),
        link,
      ).toBe(NF);
    }
  });

  it("opens /mnt/<name> only to the apps granted it; /mnt/<other> that is no mount stays closed", async () => {
    const t = await setup(backend);
    expect(await t.err(OTHER, T.ITEM_METADATA, RW, split("docs", "a.txt"))).toBe(
      ServiceErr.PERMISSION,
    );
    expect(await t.err(OTHER, T.ITEM_METADATA, RW, split("docs", "nothing"))).toBe(
      ServiceErr.PERMISSION,
    );
    expect(await t.err(GRANTED, T.ITEM_METADATA, HOME, splitOf("/mnt/nomount"))).toBe(
      ServiceErr.PERMISSION,
    );
    // The granted app has nothing more of the home's tree than before.
    expect(
      await t.err(GRANTED, T.ITEM_METADATA, HOME, splitOf("/home/alice/documents/diary")),
    ).toBe(ServiceErr.PERMISSION);
  });

  it("tells the watchers of a mount's items of the changes made on the host folder (chokidar)", async () => {
    const t = await setup(backend);
    const h = (...p: string[]) => path.join(t.host.rw, ...p);
    const docs = (await t.meta(GRANTED, RW, split("docs"))).feid;
    const a = (await t.meta(GRANTED, RW, split("docs", "a.txt"))).feid;
    expect(await t.err(GRANTED, T.WATCH_ITEM, RW, split("docs"), u64(1))).toBe(0);
    expect(await t.err(GRANTED, T.WATCH_ITEM, RW, split("docs", "a.txt"), u64(2))).toBe(0);
    const seen = async (want: readonly [bigint, bigint, number]) => {
      for (let i = 0; i < 100; i++) {
        if (t.changes(GRANTED).some((c) => c.join() === want.join())) return true;
        await new Promise((r) => setTimeout(r, 50));
      }
      return false;
    };
    fs.appendFileSync(h("docs", "a.txt"), " world");
    expect(await seen([RW_FSID, a, 0x01])).toBe(true);
    fs.writeFileSync(h("docs", "b.txt"), "new");
    expect(await seen([RW_FSID, docs, 0x01])).toBe(true);
    fs.rmSync(h("docs", "a.txt"));
    expect(await seen([RW_FSID, a, 0x03])).toBe(true);
    // A change made through sys::fs is told once, by sys::fs; after UNWATCH nothing is told.
    const before = t.changes(GRANTED).length;
    expect(await t.err(GRANTED, T.CREATE_DIRECTORY, RW, split("docs"), str("sub"))).toBe(0);
    await new Promise((r) => setTimeout(r, 500));
    expect(t.changes(GRANTED).slice(before)).toEqual([[RW_FSID, docs, 0x01]]);
    expect(await t.err(GRANTED, T.UNWATCH, u64(1))).toBe(0);
    expect(await t.err(GRANTED, T.UNWATCH, u64(2))).toBe(0);
    const after = t.changes(GRANTED).length;
    fs.writeFileSync(h("docs", "c.txt"), "new");
    await new Promise((r) => setTimeout(r, 500));
    expect(t.changes(GRANTED).length).toBe(after);
  });

  it("takes a new table between two calls: FS_CHANGED, a gone mount's files closed, a kept one intact", async () => {
    const t = await setup(backend);
    expect(await t.err(SYSTEM, T.FS_WATCH)).toBe(0);
    const cd = await t.answer(SYSTEM, T.OPEN_FILE, RO, u8(0), split("r.txt"), u8(0x01), FALSE);
    const photo = await t.answer(SYSTEM, T.OPEN_FILE, RW, u8(0), split("in"), u8(0x01), FALSE);
    const extra = path.join(t.host.root, "outside");
    const NEW_FSID = 0x0abc_0def_0123_4567n;
    const r = await t.sysfs.setMounts([
      {
        name: "photos",
        host: t.host.rw,
        readOnly: false,
        fsid: RW_FSID.toString(16),
        mountedAt: "",
      },
      { name: "more", host: extra, readOnly: false, fsid: NEW_FSID.toString(16), mountedAt: "" },
    ]);
    expect(r).toEqual({ added: 1, removed: 1 });
    expect((await t.answer(SYSTEM, T.ENUM_FS)).filesystems).toEqual([HOME_FSID, RW_FSID, NEW_FSID]);
    // FS_CHANGED to the subscriber (datafield: mount status boolean, FSID): cd unmounted, more mounted.
    const fsChanged = t.notes
      .filter((x) => x.clientPid === SYSTEM && x.code !== 0xa000)
      .map((x) => [
        x.data[0],
        new DataView(x.data.buffer, x.data.byteOffset).getBigUint64(1, true),
      ]);
    expect(fsChanged).toEqual([
      [0x02, RO_FSID],
      [0x01, NEW_FSID],
    ]);
    // The gone mount's file is closed; the kept one's is still open; the new mount serves its folder.
    expect(await t.err(SYSTEM, T.CLOSE_FILE, u64(cd.file as bigint))).toBe(
      T.CLOSE_FILE.errors.INVALID_FILE,
    );
    expect(await t.err(SYSTEM, T.CLOSE_FILE, u64(photo.file as bigint))).toBe(0);
    expect(await t.err(SYSTEM, T.ITEM_METADATA, RO, split("r.txt"))).toBe(
      T.ITEM_METADATA.errors.INVALID_FSID,
    );
    expect((await t.meta(SYSTEM, u64(NEW_FSID), split("secret.txt"))).size).toBe(6n);
    expect((await t.answer(SYSTEM, T.FS_METADATA, RW)).mountedAt).toBe(1_700_000_000_000n);
  });

  it("takes a table before its first call without opening the tree for it", async () => {
    const host = hostFolders();
    let opened = 0;
    const sysfs = new SysFs({
      layer: async () => {
        opened++;
        return new MemoryFs();
      },
      fsid: HOME_FSID,
      identity: (p) => people[p],
      memory,
    });
    const table = [
      { name: "photos", host: host.rw, readOnly: false, fsid: RW_FSID.toString(16), mountedAt: "" },
    ];
    expect(await sysfs.setMounts(table)).toEqual({ added: 1, removed: 0 });
    expect(opened).toBe(0);
    const sh = new ServiceHost({ checker: () => false, deliver: () => {} });
    sh.register(sysfs);
    expect(await sh.connect(PID, SYSTEM)).toBe(true);
    const r = await sh.call(PID, SYSTEM, T.ENUM_FS.code, new Uint8Array(0));
    expect(r.ok && decodeLayout(T.ENUM_FS.answer, r.answer, "", FS_STRUCTURES).filesystems).toEqual(
      [HOME_FSID, RW_FSID],
    );
    expect(opened).toBe(1);
  });
});
