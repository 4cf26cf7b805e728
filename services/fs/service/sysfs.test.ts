// sys::fs (sysfs.ts) through the service host, as a client reaches it: argument bytes built from the
// page's layouts by the small encoders below (independent of the codecs under test), every method on
// the in-memory tree and on a real Btrfs image (which `btrfs check` must accept afterwards).
// docs/sysfs.md.

import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { SystemPid } from "../../../commonassembly/abi/numbers.js";
import { decodeLayout } from "../../../commonassembly/abi/services/fields.js";
import * as T from "../../../commonassembly/abi/services/fs.js";
import { FS_STRUCTURES } from "../../../commonassembly/abi/services/fs-structures.js";
import {
  type MethodDef,
  ServiceCallErr,
  ServiceErr,
} from "../../../commonassembly/abi/services/method.js";
import {
  btrfsCheck,
  btrfsProgsMissing,
  dumpSuper,
  skipUnless,
  tempDir,
} from "../../../test/btrfs-oracle.js";
import { type OutgoingNotification, type PermissionChecker, ServiceHost } from "../../host/host.js";
import { BtrfsLayer } from "../btrfs/layer.js";
import type { FsLayer } from "../layer.js";
import { MemoryFs } from "../memory.js";
import type { FsIdentity } from "./access.js";
import { symlinkChain } from "./paths.js";
import { FIXED_FSID, fsidOfTree } from "./store.js";
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
const split = (p: string) => {
  const items = cat(...p.split("/").filter(Boolean).map(str));
  return cat(u8(0x02), u64(items.length), items);
};
const byFeid = (feid: bigint) => cat(u8(0x01), u64(feid));
const TRUE = u8(0x01);
const FALSE = u8(0x02);

const FSID = 0x4e43_5746_5349_4401n;
const FS = u64(FSID);
const PID = SystemPid["sys::fs"];
const ALICE_NOTES = 100;
const ALICE_OTHER = 101;
const BOB_NOTES = 102;
const SYSTEM = 5;
const AREA = "/home/alice/appdata/notes";

const people: Record<number, FsIdentity> = {
  [ALICE_NOTES]: { user: "alice", app: "notes" },
  [ALICE_OTHER]: { user: "alice", app: "other" },
  [BOB_NOTES]: { user: "bob", app: "notes" },
  [SYSTEM]: { user: "system", system: true },
};

/** Each client's memory: one 64 KiB buffer at address 0x1000. */
class FakeMemory implements ClientMemory {
  readonly mem = new Map<number, Uint8Array>();
  private of(pid: number) {
    const m = this.mem.get(pid) ?? new Uint8Array(0x10000);
    this.mem.set(pid, m);
    return m;
  }
  async read(pid: number, address: bigint, length: number) {
    const at = Number(address) - 0x1000;
    const m = this.of(pid);
    return at < 0 || at + length > m.length ? undefined : m.slice(at, at + length);
  }
  async write(pid: number, address: bigint, bytes: Uint8Array) {
    const at = Number(address) - 0x1000;
    const m = this.of(pid);
    if (at < 0 || at + bytes.length > m.length) return false;
    m.set(bytes, at);
    return true;
  }
  put(pid: number, at: number, bytes: Uint8Array) {
    this.of(pid).set(bytes, at - 0x1000);
  }
  get(pid: number, at: number, n: number) {
    return this.of(pid).slice(at - 0x1000, at - 0x1000 + n);
  }
}

const dir = tempDir("ncw-sysfs-");
const images: string[] = [];
const layers: FsLayer[] = [];
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

async function setup(
  backend: "memory" | "btrfs",
  commitWindowMs = 0,
  checker: PermissionChecker = () => false,
) {
  let layer: FsLayer;
  if (backend === "memory") layer = new MemoryFs();
  else {
    const img = path.join(dir, `s${images.length}.img`);
    images.push(img);
    layer = BtrfsLayer.create(img, 128n << 20n, { metadata: "single" });
    layers.push(layer);
  }
  for (const d of ["/etc/sys", "/etc/public", "/home/alice/documents", "/home/bob", "/apps/notes"])
    await layer.mkdir(d, { recursive: true });
  await layer.writeFile("/etc/sys/registry", new TextEncoder().encode("secret"));
  await layer.writeFile("/home/alice/documents/diary", new TextEncoder().encode("dear"));
  const memory = new FakeMemory();
  const notes: OutgoingNotification[] = [];
  // The kernel's host: no structures of its own (sys::fs brings them), a checker granting nothing.
  const host = new ServiceHost({ checker, deliver: (n) => notes.push(n) });
  const sysfs = new SysFs({
    layer,
    fsid: FSID,
    identity: (p) => people[p],
    memory,
    commitWindowMs,
  });
  host.register(sysfs);
  for (const p of [ALICE_NOTES, ALICE_OTHER, BOB_NOTES, SYSTEM])
    expect(await host.connect(PID, p)).toBe(true);
  const call = async (pid: number, m: { code: number }, ...args: Uint8Array[]) =>
    host.call(PID, pid, m.code, cat(...args));
  /** The errcode of a call (0 when it succeeded). */
  const err = async (pid: number, m: { code: number }, ...args: Uint8Array[]) => {
    const r = await call(pid, m, ...args);
    return r.ok ? 0 : r.errcode;
  };
  const answer = async (pid: number, m: MethodDef, ...args: Uint8Array[]) => {
    const r = await call(pid, m, ...args);
    if (!r.ok) throw new Error(`${m.name} failed with 0x${r.errcode.toString(16)}`);
    return decodeLayout(m.answer, r.answer, m.name, FS_STRUCTURES);
  };
  const mkdir = (pid: number, parent: string, name: string) =>
    err(pid, T.CREATE_DIRECTORY, FS, split(parent), str(name));
  const open = async (pid: number, p: string, read: boolean, write: boolean) => {
    const r = await call(
      pid,
      T.OPEN_FILE,
      FS,
      u8(0),
      split(p),
      u8(read ? 1 : 0),
      u8(write ? 1 : 0),
    );
    return r.ok
      ? (decodeLayout(T.OPEN_FILE.answer, r.answer, "", FS_STRUCTURES).file as bigint)
      : r.errcode;
  };
  const create = async (pid: number, parent: string, name: string) => {
    const r = await call(pid, T.OPEN_FILE, FS, u8(1), split(parent), str(name), u8(1), u8(1));
    if (!r.ok) return r.errcode;
    return decodeLayout(T.OPEN_FILE.answer, r.answer, "", FS_STRUCTURES).file as bigint;
  };
  const write = (pid: number, file: bigint, offset: number, data: Uint8Array, truncate = false) => {
    memory.put(pid, 0x2000, data);
    return err(
      pid,
      T.WRITE_FILE,
      u64(file),
      u64(offset),
      u64(data.length),
      u64(0x2000),
      u64(data.length),
      truncate ? TRUE : FALSE,
    );
  };
  const read = async (pid: number, file: bigint, offset: number, n: number) => {
    const e = await err(pid, T.READ_FILE, u64(file), u64(offset), u64(n), u64(0x3000), u64(n));
    return e === 0 ? new TextDecoder().decode(memory.get(pid, 0x3000, n)) : e;
  };
  return { layer, host, sysfs, memory, notes, call, err, answer, mkdir, open, create, write, read };
}

const enc = (s: string) => new TextEncoder().encode(s);

describe.each(["memory", "btrfs"] as const)("sys::fs on the %s tree", (backend) => {
  if (backend === "btrfs") skipUnless(btrfsProgsMissing());

  it("gives each app its data area on connection, and nothing of the user's other folders", async () => {
    const t = await setup(backend);
    expect((await t.layer.stat(AREA))?.kind).toBe("dir");
    expect((await t.layer.stat("/home/bob/appdata/notes"))?.kind).toBe("dir");
    // Not the user's documents, another app's area, another user's home, /etc/sys, the root.
    expect(await t.mkdir(ALICE_NOTES, "/home/alice/documents", "x")).toBe(ServiceErr.PERMISSION);
    expect(await t.mkdir(ALICE_OTHER, AREA, "x")).toBe(ServiceErr.PERMISSION);
    expect(await t.mkdir(BOB_NOTES, AREA, "x")).toBe(ServiceErr.PERMISSION);
    expect(await t.mkdir(ALICE_NOTES, "/etc/sys", "x")).toBe(ServiceErr.PERMISSION);
    expect(await t.mkdir(ALICE_NOTES, "/", "x")).toBe(ServiceErr.PERMISSION);
    expect(await t.open(ALICE_NOTES, "/etc/sys/registry", true, false)).toBe(ServiceErr.PERMISSION);
    // /etc/public is everyone's; the system everything.
    expect(await t.mkdir(ALICE_NOTES, "/etc/public", "shared")).toBe(0);
    expect(await t.mkdir(SYSTEM, "/etc/sys", "x")).toBe(0);
    expect(await t.open(SYSTEM, "/etc/sys/registry", true, false)).toBeTypeOf("bigint");
  });

  it("tells an app nothing of what exists where it has no permission: paths, links and FEIDs", async () => {
    const t = await setup(backend);
    // A link the system made into the app's area, to the user's documents (out of the app's reach).
    expect(
      await t.err(
        SYSTEM,
        T.CREATE_SYMLINK,
        FS,
        split(AREA),
        str("docs"),
        FS,
        split("/home/alice/documents"),
      ),
    ).toBe(0);
    const docs = "/home/alice/documents";
    // An existing item, a missing one, one whose folder is missing; directly and through the link.
    const places = [
      `${docs}/diary`,
      `${docs}/nothing`,
      `${docs}/no/such`,
      `${AREA}/docs/diary`,
      `${AREA}/docs/nothing`,
      `${AREA}/docs/no/such`,
      "/home/bob/x/y",
      "/etc/sys/registry",
      "/etc/sys/none/x",
    ];
    const none = u8(0);
    for (const p of places) {
      const parent = p.slice(0, p.lastIndexOf("/"));
      const name = p.slice(p.lastIndexOf("/") + 1);
      const calls: [string, MethodDef, Uint8Array[]][] = [
        ["ITEM_EXISTS", T.ITEM_EXISTS, [FS, split(p), u8(0)]],
        ["ITEM_METADATA", T.ITEM_METADATA, [FS, split(p)]],
        ["RENAME_ITEM", T.RENAME_ITEM, [FS, split(p), str("z")]],
        ["MOVE_ITEM", T.MOVE_ITEM, [FS, split(p), split(AREA), none]],
        ["MOVE_ITEM (to)", T.MOVE_ITEM, [FS, split(AREA), split(p), none]],
        ["DELETE_ITEM", T.DELETE_ITEM, [FS, split(p), u8(0x02)]],
        ["DELETE_ITEM (trash)", T.DELETE_ITEM, [FS, split(p), u8(0x01)]],
        ["CREATE_DIRECTORY", T.CREATE_DIRECTORY, [FS, split(parent), str(name)]],
        ["READ_DIRECTORY", T.READ_DIRECTORY, [FS, split(p), FALSE]],
        ["OPEN_FILE", T.OPEN_FILE, [FS, u8(0), split(p), u8(1), u8(0)]],
        ["OPEN_FILE (create)", T.OPEN_FILE, [FS, u8(1), split(parent), str(name), u8(1), u8(1)]],
        ["CREATE_SYMLINK", T.CREATE_SYMLINK, [FS, split(parent), str(name), FS, split(AREA)]],
        ["CREATE_SYMLINK (to)", T.CREATE_SYMLINK, [FS, split(AREA), str("l"), FS, split(p)]],
        ["UPDATE_SYMLINK", T.UPDATE_SYMLINK, [FS, split(p), FS, split(AREA)]],
        ["READ_SYMLINK", T.READ_SYMLINK, [FS, split(p)]],
        ["WATCH_ITEM", T.WATCH_ITEM, [FS, split(p), u64(1)]],
      ];
      for (const [what, m, args] of calls)
        expect(await t.err(ALICE_NOTES, m, ...args), `${what} ${p}`).toBe(ServiceErr.PERMISSION);
    }
    // Nothing was created or moved on the way.
    expect(await t.layer.readdir(docs)).toEqual([expect.objectContaining({ name: "diary" })]);
    expect((await t.layer.readdir(AREA)).map((e) => e.name)).toEqual(["docs"]);
    // The diary's FEID is answered as a FEID no item has.
    const diary = (await t.answer(SYSTEM, T.ITEM_METADATA, FS, split(`${docs}/diary`)))
      .metadata as {
      feid: bigint;
    };
    for (const feid of [diary.feid, 0xdead_beefn]) {
      expect(await t.err(ALICE_NOTES, T.FEID_TO_SPLIT, FS, u64(feid))).toBe(
        T.FEID_TO_SPLIT.errors.FEID_NOT_FOUND,
      );
      expect(await t.err(ALICE_NOTES, T.ITEM_METADATA, FS, byFeid(feid))).toBe(
        T.ITEM_METADATA.errors.NOT_FOUND,
      );
      expect(await t.err(ALICE_NOTES, T.OPEN_FILE, FS, u8(0), byFeid(feid), u8(1), u8(0))).toBe(
        T.OPEN_FILE.errors.FILE_NOT_FOUND,
      );
      expect((await t.answer(ALICE_NOTES, T.ITEM_EXISTS, FS, byFeid(feid), u8(0))).type).toBe(0);
    }
    // In its own area the app still hears "not found", and sees what is there.
    expect(await t.err(ALICE_NOTES, T.ITEM_METADATA, FS, split(`${AREA}/nothing`))).toBe(
      T.ITEM_METADATA.errors.NOT_FOUND,
    );
    expect(await t.mkdir(ALICE_NOTES, `${AREA}/no`, "such")).toBe(
      T.CREATE_DIRECTORY.errors.PARENT_NOT_FOUND,
    );
  });

  it("prompts before telling what exists: one question per call, on the path the item has or would have", async () => {
    // The kernel's gate, as the host's checker: it answers a while later (as a prompt does), granting
    // only what `granted` holds.
    const asked: string[] = [];
    const granted = new Set<string>();
    const gate: PermissionChecker = async (pid, permission, scope) => {
      asked.push(`${pid} ${permission} ${scope}`);
      await new Promise((r) => setTimeout(r, 5));
      return granted.has(`${permission} ${scope}`);
    };
    const t = await setup(backend, 0, gate);
    const docs = "/home/alice/documents";
    expect(
      await t.err(SYSTEM, T.CREATE_SYMLINK, FS, split(AREA), str("docs"), FS, split(docs)),
    ).toBe(0);
    asked.length = 0;
    // Refused: the same answer whether the item, only its folder, or nothing exists; one question
    // each, on the resolved path the item has or would have (through the link too).
    for (const [p, scope] of [
      [`${docs}/diary`, `${docs}/diary`],
      [`${docs}/nothing`, `${docs}/nothing`],
      [`${docs}/no/such`, `${docs}/no/such`],
      [`${AREA}/docs/no/such`, `${docs}/no/such`],
    ] as const) {
      expect(await t.err(ALICE_NOTES, T.ITEM_METADATA, FS, split(p)), p).toBe(
        ServiceErr.PERMISSION,
      );
      expect(asked.splice(0), p).toEqual([`${ALICE_NOTES} fs.items.metadata ${scope}`]);
    }
    // A FEID the user refuses is a FEID no item has; the question names its item's path.
    const diary = (await t.answer(SYSTEM, T.ITEM_METADATA, FS, split(`${docs}/diary`)))
      .metadata as { feid: bigint };
    asked.length = 0;
    expect(await t.err(ALICE_NOTES, T.ITEM_METADATA, FS, byFeid(diary.feid))).toBe(
      T.ITEM_METADATA.errors.NOT_FOUND,
    );
    expect(asked.splice(0)).toEqual([`${ALICE_NOTES} fs.items.metadata ${docs}/diary`]);
    // Where the storage rules refuse, nobody is asked.
    expect(await t.err(ALICE_NOTES, T.ITEM_METADATA, FS, split("/etc/sys/none/x"))).toBe(
      ServiceErr.PERMISSION,
    );
    expect(asked).toEqual([]);
    // Granted: now "not found" may be said, and what exists is seen.
    for (const x of ["nothing", "diary"]) granted.add(`fs.items.metadata ${docs}/${x}`);
    expect(await t.err(ALICE_NOTES, T.ITEM_METADATA, FS, split(`${docs}/nothing`))).toBe(
      T.ITEM_METADATA.errors.NOT_FOUND,
    );
    expect(await t.err(ALICE_NOTES, T.ITEM_METADATA, FS, split(`${docs}/diary`))).toBe(0);
    expect(asked.splice(0)).toHaveLength(2);
    // OPEN_FILE creating a file checks its folder's would-be file, then the file: each right asked
    // once in the call, create after them; a refusal of the first asks nothing more.
    expect(await t.create(ALICE_NOTES, docs, "new")).toBe(ServiceErr.PERMISSION);
    expect(asked.splice(0)).toEqual([`${ALICE_NOTES} fs.items.read ${docs}/new`]);
    for (const x of ["read", "write", "create"]) granted.add(`fs.items.${x} ${docs}/new`);
    expect(typeof (await t.create(ALICE_NOTES, docs, "new"))).toBe("bigint");
    expect(asked.splice(0)).toEqual(
      ["read", "write", "create"].map((x) => `${ALICE_NOTES} fs.items.${x} ${docs}/new`),
    );
    expect((await t.layer.stat(`${docs}/new`))?.kind).toBe("file");
  });

  it("temporary FEIDs: the holder reaches the one item with the rights given, until it dies", async () => {
    const t = await setup(backend);
    const docs = "/home/alice/documents";
    const id = await t.sysfs.createTemporaryFeid(`${docs}/diary`, ALICE_NOTES, { read: true });
    expect(id >> 63n).toBe(1n);
    // Read through it: open, read, metadata (with the temporary FEID, not the item's own).
    const r = await t.call(ALICE_NOTES, T.OPEN_FILE, FS, u8(0), byFeid(id), u8(1), u8(0));
    expect(r.ok).toBe(true);
    const f = decodeLayout(
      T.OPEN_FILE.answer,
      r.ok ? r.answer : new Uint8Array(),
      "",
      FS_STRUCTURES,
    ).file as bigint;
    expect(await t.read(ALICE_NOTES, f, 0, 4)).toBe("dear");
    expect(await t.err(ALICE_NOTES, T.CLOSE_FILE, u64(f))).toBe(0);
    const md = (await t.answer(ALICE_NOTES, T.ITEM_METADATA, FS, byFeid(id))).metadata as {
      feid: bigint;
      name: string;
    };
    expect(md).toMatchObject({ feid: id, name: "diary" });
    expect((await t.answer(ALICE_NOTES, T.ITEM_EXISTS, FS, byFeid(id), u8(0))).type).toBe(0x02);
    // Not its path, not writing, not moving or removing it, nothing under it, nothing beside it.
    expect(await t.err(ALICE_NOTES, T.FEID_TO_SPLIT, FS, u64(id))).toBe(
      T.FEID_TO_SPLIT.errors.FEID_NOT_FOUND,
    );
    expect(await t.err(ALICE_NOTES, T.OPEN_FILE, FS, u8(0), byFeid(id), u8(0), u8(1))).toBe(
      ServiceErr.PERMISSION,
    );
    expect(await t.err(ALICE_NOTES, T.RENAME_ITEM, FS, byFeid(id), str("x"))).toBe(
      ServiceErr.PERMISSION,
    );
    expect(await t.err(ALICE_NOTES, T.DELETE_ITEM, FS, byFeid(id), u8(0x02))).toBe(
      ServiceErr.PERMISSION,
    );
    expect(await t.err(ALICE_NOTES, T.ITEM_METADATA, FS, split(`${docs}/diary`))).toBe(
      ServiceErr.PERMISSION,
    );
    // Another process may not use it: it names nothing there.
    expect(await t.err(ALICE_OTHER, T.ITEM_METADATA, FS, byFeid(id))).toBe(
      T.ITEM_METADATA.errors.NOT_FOUND,
    );
    // It follows its item through a rename.
    expect(await t.err(SYSTEM, T.RENAME_ITEM, FS, split(`${docs}/diary`), str("journal"))).toBe(0);
    expect(
      ((await t.answer(ALICE_NOTES, T.ITEM_METADATA, FS, byFeid(id))).metadata as { name: string })
        .name,
    ).toBe("journal");
    // A folder given for writing: its listing, but no new item in it.
    const dirId = await t.sysfs.createTemporaryFeid(docs, ALICE_NOTES, { read: true, write: true });
    const items = (await t.answer(ALICE_NOTES, T.READ_DIRECTORY, FS, byFeid(dirId), FALSE))
      .items as { name: string }[];
    expect(items.map((i) => i.name)).toEqual(["journal"]);
    expect(await t.err(ALICE_NOTES, T.CREATE_DIRECTORY, FS, byFeid(dirId), str("n"))).toBe(
      ServiceErr.PERMISSION,
    );
    // It dies with its item...
    const w = await t.sysfs.createTemporaryFeid(`${docs}/journal`, ALICE_NOTES, { write: true });
    expect(await t.err(SYSTEM, T.DELETE_ITEM, FS, split(`${docs}/journal`), u8(0x02))).toBe(0);
    expect(await t.err(ALICE_NOTES, T.OPEN_FILE, FS, u8(0), byFeid(w), u8(0), u8(1))).toBe(
      T.OPEN_FILE.errors.FILE_NOT_FOUND,
    );
    expect(t.sysfs.revokeTemporaryFeid(w)).toBe(false);
    expect(t.sysfs.revokeTemporaryFeid(id)).toBe(false);
    // ... when revoked, and with its holder.
    expect(t.sysfs.revokeTemporaryFeid(dirId)).toBe(true);
    const last = await t.sysfs.createTemporaryFeid(docs, ALICE_NOTES, { read: true });
    t.host.processExited({ pid: ALICE_NOTES, ppid: 1, name: "notes" });
    expect(t.sysfs.revokeTemporaryFeid(last)).toBe(false);
    await expect(t.sysfs.createTemporaryFeid("/nothing", ALICE_NOTES, {})).rejects.toMatchObject({
      code: "FS_NOT_FOUND",
    });
  });

  it("CREATE_DIRECTORY: created, and each of its errcodes", async () => {
    const t = await setup(backend);
    const E = T.CREATE_DIRECTORY.errors;
    expect(await t.mkdir(ALICE_NOTES, AREA, "d")).toBe(0);
    expect((await t.layer.stat(`${AREA}/d`))?.kind).toBe("dir");
    expect(await t.mkdir(ALICE_NOTES, AREA, "d")).toBe(E.ALREADY_EXISTS);
    for (const bad of ["", "   ", "\u00a0 ", ".", "..", "a\0b", "a\\b"])
      expect(await t.mkdir(ALICE_NOTES, AREA, bad), JSON.stringify(bad)).toBe(E.INVALID_FILENAME);
    expect(await t.mkdir(ALICE_NOTES, `${AREA}/missing`, "d")).toBe(E.PARENT_NOT_FOUND);
    expect(await t.mkdir(ALICE_NOTES, `${AREA}/a\\b`, "d")).toBe(E.PARENT_NOT_FOUND);
    expect(await t.err(ALICE_NOTES, T.CREATE_DIRECTORY, u64(1), split(AREA), str("e"))).toBe(
      E.INVALID_FSID,
    );
    // A name of 65,535 characters is a valid filename, but the path passes 65,534 characters.
    expect(await t.mkdir(ALICE_NOTES, AREA, "n".repeat(65535))).toBe(E.MAX_PATH_LENGTH);
    // ".." and "." in a split path follow the page's rules.
    expect(await t.mkdir(ALICE_NOTES, `${AREA}/d/./../d`, "e")).toBe(0);
    expect((await t.layer.stat(`${AREA}/d/e`))?.kind).toBe("dir");
    // Bytes that do not decode: the host's BAD_ARGUMENTS.
    expect(await t.err(ALICE_NOTES, T.CREATE_DIRECTORY, FS, u8(0x05))).toBe(
      ServiceCallErr.BAD_ARGUMENTS,
    );
  });

  it("OPEN_FILE, WRITE_FILE, READ_FILE, CLOSE_FILE: contents, offsets, truncation and errcodes", async () => {
    const t = await setup(backend);
    const f = (await t.create(ALICE_NOTES, AREA, "note")) as bigint;
    expect(typeof f).toBe("bigint");
    expect(await t.write(ALICE_NOTES, f, 0, enc("hello world"))).toBe(0);
    expect(await t.read(ALICE_NOTES, f, 6, 5)).toBe("world");
    expect(await t.write(ALICE_NOTES, f, 6, enc("there"))).toBe(0);
    expect(await t.read(ALICE_NOTES, f, 0, 11)).toBe("hello there");
    expect(await t.write(ALICE_NOTES, f, 5, enc("!"), true)).toBe(0);
    expect(await t.read(ALICE_NOTES, f, 0, 6)).toBe("hello!");
    const R = T.READ_FILE.errors;
    const W = T.WRITE_FILE.errors;
    expect(await t.read(ALICE_NOTES, f, 7, 0)).toBe(R.OFFSET_OUT_OF_RANGE);
    expect(await t.read(ALICE_NOTES, f, 2, 5)).toBe(R.END_OUT_OF_RANGE);
    expect(await t.write(ALICE_NOTES, f, 7, enc("x"))).toBe(W.OFFSET_OUT_OF_RANGE);
    // Another client cannot use this client's opened file ID.
    expect(await t.read(ALICE_OTHER, f, 0, 1)).toBe(R.INVALID_FILE);
    // A length past the buffer pointer's, or a buffer outside the client's memory.
    expect(await t.err(ALICE_NOTES, T.READ_FILE, u64(f), u64(0), u64(4), u64(0x3000), u64(2))).toBe(
      ServiceCallErr.BAD_ARGUMENTS,
    );
    expect(await t.err(ALICE_NOTES, T.READ_FILE, u64(f), u64(0), u64(4), u64(0x10), u64(4))).toBe(
      ServiceCallErr.BAD_ARGUMENTS,
    );
    expect(await t.err(ALICE_NOTES, T.CLOSE_FILE, u64(f))).toBe(0);
    expect(await t.err(ALICE_NOTES, T.CLOSE_FILE, u64(f))).toBe(T.CLOSE_FILE.errors.INVALID_FILE);
    expect(await t.read(ALICE_NOTES, f, 0, 1)).toBe(R.INVALID_FILE);
    expect(new TextDecoder().decode(await t.layer.readFile(`${AREA}/note`))).toBe("hello!");

    const ro = (await t.open(ALICE_NOTES, `${AREA}/note`, true, false)) as bigint;
    expect(await t.write(ALICE_NOTES, ro, 0, enc("x"))).toBe(W.NOT_OPEN_FOR_WRITE);
    const wo = (await t.create(ALICE_NOTES, AREA, "other")) as bigint;
    await t.err(ALICE_NOTES, T.CLOSE_FILE, u64(wo));
    const wonly = (await t.open(ALICE_NOTES, `${AREA}/other`, false, true)) as bigint;
    expect(await t.read(ALICE_NOTES, wonly, 0, 0)).toBe(R.NOT_OPEN_FOR_READ);

    const O = T.OPEN_FILE.errors;
    expect(await t.open(ALICE_NOTES, `${AREA}/none`, true, false)).toBe(O.FILE_NOT_FOUND);
    expect(await t.open(ALICE_NOTES, AREA, true, false)).toBe(O.FILE_NOT_FOUND);
    expect(await t.create(ALICE_NOTES, `${AREA}/none`, "f")).toBe(O.DIRECTORY_NOT_FOUND);
    expect(await t.create(ALICE_NOTES, `${AREA}/note`, "f")).toBe(O.INVALID_PARENT);
    expect(await t.open(ALICE_NOTES, `${AREA}/note`, false, false)).toBe(
      ServiceCallErr.BAD_ARGUMENTS,
    );
    expect(
      await t.err(ALICE_NOTES, T.OPEN_FILE, u64(9), u8(0), split(`${AREA}/note`), u8(1), u8(0)),
    ).toBe(O.INVALID_FSID);
  });

  it("OPEN_FILE's locks: readers share, a writer excludes everyone; a client's end releases them", async () => {
    const t = await setup(backend);
    const p = `${AREA}/f`;
    const w = (await t.create(ALICE_NOTES, AREA, "f")) as bigint;
    const ALREADY = T.OPEN_FILE.errors.ALREADY_OPEN;
    expect(await t.open(ALICE_NOTES, p, true, false)).toBe(ALREADY);
    expect(await t.open(ALICE_NOTES, p, false, true)).toBe(ALREADY);
    // Removal of an open file is refused.
    expect(await t.err(ALICE_NOTES, T.DELETE_ITEM, FS, split(p), u8(0x02))).toBe(
      T.DELETE_ITEM.errors.UNSPECIFIED,
    );
    t.host.disconnect(PID, ALICE_NOTES);
    await t.host.connect(PID, ALICE_NOTES);
    expect(await t.read(ALICE_NOTES, w, 0, 0)).toBe(T.READ_FILE.errors.INVALID_FILE);
    const r1 = await t.open(ALICE_NOTES, p, true, false);
    const r2 = await t.open(ALICE_NOTES, p, true, false);
    expect([typeof r1, typeof r2]).toEqual(["bigint", "bigint"]);
    expect(await t.open(ALICE_NOTES, p, true, true)).toBe(ALREADY);
  });

  it("ITEM_EXISTS, ITEM_METADATA, FEID_TO_SPLIT and FEID paths", async () => {
    const t = await setup(backend);
    await t.mkdir(ALICE_NOTES, AREA, "d");
    const f = (await t.create(ALICE_NOTES, `${AREA}/d`, ".hidden")) as bigint;
    await t.write(ALICE_NOTES, f, 0, enc("12345"));
    const exists = async (p: string, type: number) =>
      (await t.answer(ALICE_NOTES, T.ITEM_EXISTS, FS, split(p), u8(type))).type;
    expect(await exists(`${AREA}/d`, 0)).toBe(0x01);
    expect(await exists(`${AREA}/d/.hidden`, 0)).toBe(0x02);
    expect(await exists(`${AREA}/d/.hidden`, 0x01)).toBe(0x00);
    expect(await exists(`${AREA}/nothing`, 0)).toBe(0x00);
    expect(await exists(`${AREA}/no/thing`, 0)).toBe(0x00);
    expect(
      await t.err(ALICE_NOTES, T.ITEM_EXISTS, FS, split("/home/alice/documents/diary"), u8(0)),
    ).toBe(ServiceErr.PERMISSION);
    const md = (await t.answer(ALICE_NOTES, T.ITEM_METADATA, FS, split(`${AREA}/d/.hidden`)))
      .metadata as Record<string, unknown>;
    expect(md).toMatchObject({ type: 0x02, flags: 0x01, size: 5n, owner: null, name: ".hidden" });
    expect(typeof md.modifiedAt).toBe("bigint");
    const feid = md.feid as bigint;
    expect((await t.answer(ALICE_NOTES, T.FEID_TO_SPLIT, FS, u64(feid))).path).toEqual([
      "home",
      "alice",
      "appdata",
      "notes",
      "d",
      ".hidden",
    ]);
    // The same item by its FEID, and after a rename (FEIDs are stable).
    expect(
      (
        (await t.answer(ALICE_NOTES, T.ITEM_METADATA, FS, byFeid(feid))).metadata as {
          name: string;
        }
      ).name,
    ).toBe(".hidden");
    expect(await t.err(ALICE_NOTES, T.RENAME_ITEM, FS, byFeid(feid), str("seen"))).toBe(0);
    expect(
      (
        (await t.answer(ALICE_NOTES, T.ITEM_METADATA, FS, byFeid(feid))).metadata as {
          name: string;
        }
      ).name,
    ).toBe("seen");
    expect(await t.err(ALICE_NOTES, T.FEID_TO_SPLIT, FS, u64(0xdead_beefn))).toBe(
      T.FEID_TO_SPLIT.errors.FEID_NOT_FOUND,
    );
    expect(await t.err(ALICE_NOTES, T.ITEM_METADATA, FS, split(`${AREA}/zz`))).toBe(
      T.ITEM_METADATA.errors.NOT_FOUND,
    );
    expect(await t.err(ALICE_NOTES, T.ITEM_METADATA, u64(3), split(AREA))).toBe(
      T.ITEM_METADATA.errors.INVALID_FSID,
    );
  });

  it("READ_DIRECTORY: item metadata of each entry, hidden ones only when asked", async () => {
    const t = await setup(backend);
    await t.mkdir(ALICE_NOTES, AREA, "sub");
    await t.create(ALICE_NOTES, AREA, ".dot");
    await t.create(ALICE_NOTES, AREA, "b");
    const list = async (hidden: boolean) =>
      (
        (await t.answer(ALICE_NOTES, T.READ_DIRECTORY, FS, split(AREA), hidden ? TRUE : FALSE))
          .items as { name: string; type: number; flags: number }[]
      ).map((i) => [i.name, i.type, i.flags]);
    expect(await list(false)).toEqual([
      ["b", 0x02, 0],
      ["sub", 0x01, 0],
    ]);
    expect(await list(true)).toEqual([
      [".dot", 0x02, 0x01],
      ["b", 0x02, 0],
      ["sub", 0x01, 0],
    ]);
    const E = T.READ_DIRECTORY.errors;
    expect(await t.err(ALICE_NOTES, T.READ_DIRECTORY, FS, split(`${AREA}/b`), FALSE)).toBe(
      E.NOT_FOUND,
    );
    expect(await t.err(ALICE_NOTES, T.READ_DIRECTORY, FS, split(`${AREA}/x`), FALSE)).toBe(
      E.NOT_FOUND,
    );
    expect(await t.err(ALICE_NOTES, T.READ_DIRECTORY, FS, split("/home/alice"), FALSE)).toBe(
      ServiceErr.PERMISSION,
    );
    // A boolean byte that is neither 0x01 nor 0x02 does not decode.
    expect(await t.err(ALICE_NOTES, T.READ_DIRECTORY, FS, split(AREA), u8(0))).toBe(
      ServiceCallErr.BAD_ARGUMENTS,
    );
  });

  it("RENAME_ITEM and MOVE_ITEM, with open files following the move", async () => {
    const t = await setup(backend);
    await t.mkdir(ALICE_NOTES, AREA, "a");
    await t.mkdir(ALICE_NOTES, AREA, "b");
    const f = (await t.create(ALICE_NOTES, `${AREA}/a`, "f")) as bigint;
    await t.write(ALICE_NOTES, f, 0, enc("data"));
    const R = T.RENAME_ITEM.errors;
    expect(await t.err(ALICE_NOTES, T.RENAME_ITEM, FS, split(`${AREA}/a/f`), str("g"))).toBe(0);
    expect(await t.read(ALICE_NOTES, f, 0, 4)).toBe("data");
    expect(await t.err(ALICE_NOTES, T.RENAME_ITEM, FS, split(`${AREA}/a/g`), str("a/b"))).toBe(
      R.INVALID_FILENAME,
    );
    expect(await t.err(ALICE_NOTES, T.RENAME_ITEM, FS, split(`${AREA}/a/x`), str("y"))).toBe(
      R.NOT_FOUND,
    );
    expect(
      await t.err(ALICE_NOTES, T.RENAME_ITEM, FS, split(`${AREA}/a/g`), str("n".repeat(65535))),
    ).toBe(R.INVALID_FILENAME);
    expect(await t.err(ALICE_NOTES, T.RENAME_ITEM, u64(2), split(`${AREA}/a/g`), str("y"))).toBe(
      R.INVALID_FSID,
    );
    expect(await t.err(ALICE_NOTES, T.RENAME_ITEM, FS, split(`${AREA}/a`), str("b"))).toBe(
      R.ALREADY_EXISTS,
    );
    const M = T.MOVE_ITEM.errors;
    const none = u8(0x00);
    expect(
      await t.err(ALICE_NOTES, T.MOVE_ITEM, FS, split(`${AREA}/a/g`), split(`${AREA}/b`), none),
    ).toBe(0);
    expect(await t.read(ALICE_NOTES, f, 0, 4)).toBe("data");
    expect((await t.layer.stat(`${AREA}/b/g`))?.kind).toBe("file");
    expect(
      await t.err(
        ALICE_NOTES,
        T.MOVE_ITEM,
        FS,
        split(`${AREA}/b/g`),
        split(`${AREA}/a`),
        u8(1),
        str("h"),
      ),
    ).toBe(0);
    expect((await t.layer.stat(`${AREA}/a/h`))?.kind).toBe("file");
    expect(
      await t.err(ALICE_NOTES, T.MOVE_ITEM, FS, split(`${AREA}/a`), split(`${AREA}/a`), none),
    ).toBe(M.CANNOT_MOVE);
    expect(
      await t.err(ALICE_NOTES, T.MOVE_ITEM, FS, split(`${AREA}/b`), split(`${AREA}/zz`), none),
    ).toBe(M.TARGET_NOT_FOUND);
    expect(
      await t.err(ALICE_NOTES, T.MOVE_ITEM, FS, split(`${AREA}/zz`), split(`${AREA}/a`), none),
    ).toBe(M.NOT_FOUND);
    expect(
      await t.err(ALICE_NOTES, T.MOVE_ITEM, FS, split(`${AREA}/b`), split(AREA), u8(1), str("")),
    ).toBe(M.INVALID_FILENAME);
    // Out of the app's area: refused.
    expect(
      await t.err(
        ALICE_NOTES,
        T.MOVE_ITEM,
        FS,
        split(`${AREA}/b`),
        split("/home/alice/documents"),
        none,
      ),
    ).toBe(ServiceErr.PERMISSION);
  });

  it("DELETE_ITEM: permanently, to the user's trash, and its errcodes", async () => {
    const t = await setup(backend);
    const E = T.DELETE_ITEM.errors;
    await t.mkdir(ALICE_NOTES, AREA, "d");
    const f = (await t.create(ALICE_NOTES, `${AREA}/d`, "f")) as bigint;
    await t.err(ALICE_NOTES, T.CLOSE_FILE, u64(f));
    expect(await t.err(ALICE_NOTES, T.DELETE_ITEM, FS, split(`${AREA}/d`), u8(0x02))).toBe(
      E.DIRECTORY_NOT_EMPTY,
    );
    expect(await t.err(ALICE_NOTES, T.DELETE_ITEM, FS, split(`${AREA}/d/f`), u8(0x02))).toBe(0);
    expect(await t.layer.stat(`${AREA}/d/f`)).toBeNull();
    expect(await t.err(ALICE_NOTES, T.DELETE_ITEM, FS, split(`${AREA}/d/f`), u8(0x02))).toBe(
      E.NOT_FOUND,
    );
    expect(await t.err(ALICE_NOTES, T.DELETE_ITEM, FS, split(`${AREA}/d`), u8(0x03))).toBe(
      ServiceCallErr.BAD_ARGUMENTS,
    );
    // To the trash, twice the same name: "d" then "d (2)".
    expect(await t.err(ALICE_NOTES, T.DELETE_ITEM, FS, split(`${AREA}/d`), u8(0x01))).toBe(0);
    await t.mkdir(ALICE_NOTES, AREA, "d");
    expect(await t.err(ALICE_NOTES, T.DELETE_ITEM, FS, split(`${AREA}/d`), u8(0x01))).toBe(0);
    expect((await t.layer.readdir("/home/alice/trash")).map((e) => e.name)).toEqual(["d", "d (2)"]);
    expect(
      await t.err(ALICE_NOTES, T.DELETE_ITEM, FS, split("/home/alice/documents/diary"), u8(0x02)),
    ).toBe(ServiceErr.PERMISSION);
  });

  it("symlinks: CREATE, READ, UPDATE, cycles, and no way around the rules through a link", async () => {
    const t = await setup(backend);
    const E = T.CREATE_SYMLINK.errors;
    const f = (await t.create(ALICE_NOTES, AREA, "target")) as bigint;
    await t.write(ALICE_NOTES, f, 0, enc("through"));
    await t.err(ALICE_NOTES, T.CLOSE_FILE, u64(f));
    const mk = (name: string, target: Uint8Array, fsid = FS) =>
      t.err(ALICE_NOTES, T.CREATE_SYMLINK, FS, split(AREA), str(name), fsid, target);
    expect(await mk("link", split(`${AREA}/target`))).toBe(0);
    const rd = await t.answer(ALICE_NOTES, T.READ_SYMLINK, FS, split(`${AREA}/link`));
    expect(rd).toEqual({
      targetFsid: FSID,
      target: { split: ["home", "alice", "appdata", "notes", "target"] },
    });
    // Opening through the link opens the target.
    const via = (await t.open(ALICE_NOTES, `${AREA}/link`, true, false)) as bigint;
    expect(await t.read(ALICE_NOTES, via, 0, 7)).toBe("through");
    expect(await mk("link", split(`${AREA}/target`))).toBe(E.ALREADY_EXISTS);
    expect(await mk("x", split(`${AREA}/nothing`))).toBe(E.TARGET_NOT_FOUND);
    expect(await mk("x", split(`${AREA}/target`), u64(1))).toBe(E.CROSS_FILESYSTEM);
    expect(await mk("", split(`${AREA}/target`))).toBe(E.INVALID_FILENAME);
    expect(await mk("x", split("/home/alice/documents/diary"))).toBe(ServiceErr.PERMISSION);
    // A link put there by someone else, to a closed item, does not open it.
    await t.layer.symlink("/etc/sys/registry", `${AREA}/sneaky`);
    expect(await t.open(ALICE_NOTES, `${AREA}/sneaky`, true, false)).toBe(ServiceErr.PERMISSION);

    // A → target, B → A, then A → B: a cycle.
    expect(await mk("A", split(`${AREA}/target`))).toBe(0);
    expect(await mk("B", split(`${AREA}/A`))).toBe(0);
    expect(await mk("C", split(`${AREA}/A`))).toBe(0);
    expect(
      await t.err(ALICE_NOTES, T.UPDATE_SYMLINK, FS, split(`${AREA}/A`), FS, split(`${AREA}/B`)),
    ).toBe(0);
    expect(await t.err(ALICE_NOTES, T.READ_SYMLINK, FS, split(`${AREA}/A`))).toBe(
      T.READ_SYMLINK.errors.CYCLIC,
    );
    expect(await t.err(ALICE_NOTES, T.READ_SYMLINK, FS, split(`${AREA}/C`))).toBe(
      T.READ_SYMLINK.errors.CYCLIC,
    );
    // The chain from C is reduced to its minimum: A, B.
    const chain = await symlinkChain(t.layer, ["home", "alice", "appdata", "notes", "C"]);
    expect(chain.cycle).toEqual([`${AREA}/A`, `${AREA}/B`]);
    expect(await t.open(ALICE_NOTES, `${AREA}/C`, true, false)).toBe(
      T.OPEN_FILE.errors.FILE_NOT_FOUND,
    );
    const U = T.UPDATE_SYMLINK.errors;
    expect(
      await t.err(ALICE_NOTES, T.UPDATE_SYMLINK, FS, split(`${AREA}/target`), FS, split(AREA)),
    ).toBe(U.NOT_FOUND);
    expect(await t.err(ALICE_NOTES, T.READ_SYMLINK, FS, split(`${AREA}/target`))).toBe(
      T.READ_SYMLINK.errors.NOT_FOUND,
    );
  });

  it("WATCH_ITEM / UNWATCH: ITEM_CHANGED for writes, locks, moves and deletion", async () => {
    const t = await setup(backend);
    const f = (await t.create(ALICE_NOTES, AREA, "w")) as bigint;
    expect(await t.err(ALICE_NOTES, T.WATCH_ITEM, FS, split(`${AREA}/w`), u64(77))).toBe(0);
    await t.write(ALICE_NOTES, f, 0, enc("x"));
    await t.err(ALICE_NOTES, T.CLOSE_FILE, u64(f));
    await t.err(ALICE_NOTES, T.RENAME_ITEM, FS, split(`${AREA}/w`), str("v"));
    await t.err(ALICE_NOTES, T.DELETE_ITEM, FS, split(`${AREA}/v`), u8(0x02));
    const events = t.notes.filter((n) => n.clientPid === ALICE_NOTES);
    expect(events.map((n) => [n.servicePid, n.code])).toEqual(
      Array(events.length).fill([PID, 0xa000]),
    );
    // Datafield: FSID (8), FEID (8), event (1).
    expect(events.map((n) => n.data.length)).toEqual(Array(events.length).fill(17));
    expect(
      events.map((n) => Buffer.from(n.data.subarray(0, 8)).equals(Buffer.from(FS))),
    ).not.toContain(false);
    expect(events.map((n) => n.data[16])).toEqual([0x01, 0x05, 0x02, 0x03]);
    expect(await t.err(ALICE_NOTES, T.UNWATCH, u64(77))).toBe(0);
    expect(await t.err(ALICE_NOTES, T.UNWATCH, u64(77))).toBe(T.UNWATCH.errors.WATCH_NOT_FOUND);
    expect(await t.err(ALICE_NOTES, T.WATCH_ITEM, FS, split(`${AREA}/gone`), u64(1))).toBe(
      T.WATCH_ITEM.errors.NOT_FOUND,
    );
    expect(await t.err(ALICE_NOTES, T.WATCH_ITEM, u64(1), split(AREA), u64(1))).toBe(
      T.WATCH_ITEM.errors.INVALID_FSID,
    );
  });

  it("filesystem methods: the one home tree, for the system; apps hold no fs.filesystems.*", async () => {
    const t = await setup(backend);
    expect(await t.err(ALICE_NOTES, T.IS_FS_MOUNTED, FS)).toBe(ServiceErr.PERMISSION);
    expect(await t.err(ALICE_NOTES, T.ENUM_FS)).toBe(ServiceErr.PERMISSION);
    expect((await t.answer(SYSTEM, T.IS_FS_MOUNTED, FS)).mounted).toBe(1);
    expect((await t.answer(SYSTEM, T.IS_FS_MOUNTED, u64(1))).mounted).toBe(0);
    expect((await t.answer(SYSTEM, T.ENUM_FS)).filesystems).toEqual([FSID]);
    const md = await t.answer(SYSTEM, T.FS_METADATA, FS);
    expect(md.volumeFile).toBeNull();
    expect((md.metadata as { name: string }).name).toBe("NightOS");
    if (backend === "btrfs")
      expect((md.metadata as { totalSize: bigint }).totalSize).toBe(128n << 20n);
    expect(await t.err(SYSTEM, T.FS_METADATA, u64(1))).toBe(T.FS_METADATA.errors.NOT_MOUNTED);
    expect(await t.err(SYSTEM, T.FS_MOUNT, FS, u8(0))).toBe(T.FS_MOUNT.errors.ALREADY_MOUNTED);
    expect(await t.err(SYSTEM, T.FS_MOUNT, u64(1), u8(0))).toBe(T.FS_MOUNT.errors.UNKNOWN_FSID);
    expect(await t.err(SYSTEM, T.FS_UNMOUNT, FS)).toBe(ServiceErr.PERMISSION);
    expect(await t.err(SYSTEM, T.FORMAT, FS, u8(1), u64(1000))).toBe(
      T.FORMAT.errors.INVALID_SECTOR_SIZE,
    );
    expect(await t.err(SYSTEM, T.FORMAT, u64(1), u8(0))).toBe(T.FORMAT.errors.INVALID_FSID);
    expect(await t.err(SYSTEM, T.FS_WATCH)).toBe(0);
    expect(await t.err(ALICE_NOTES, T.FS_UNWATCH)).toBe(0);
  });

  it("many clients at once: different files in parallel, one file under its lock, nothing lost", async () => {
    const t = await setup(backend);
    const clients = [ALICE_NOTES, ALICE_OTHER, BOB_NOTES];
    const areas: Record<number, string> = {
      [ALICE_NOTES]: AREA,
      [ALICE_OTHER]: "/home/alice/appdata/other",
      [BOB_NOTES]: "/home/bob/appdata/notes",
    };
    // Each client writes 20 files of its own, all the calls in flight together.
    await Promise.all(
      clients.map(async (pid) => {
        for (let i = 0; i < 20; i++) {
          const f = (await t.create(pid, areas[pid]!, `f${i}`)) as bigint;
          expect(await t.write(pid, f, 0, enc(`${pid}:${i}`))).toBe(0);
          expect(await t.err(pid, T.CLOSE_FILE, u64(f))).toBe(0);
        }
      }),
    );
    for (const pid of clients)
      for (let i = 0; i < 20; i++)
        expect(new TextDecoder().decode(await t.layer.readFile(`${areas[pid]}/f${i}`))).toBe(
          `${pid}:${i}`,
        );
    // Two clients racing to open the same file for writing: exactly one wins.
    await t.mkdir(SYSTEM, "/etc/public", "race");
    const opens = await Promise.all(
      [ALICE_NOTES, BOB_NOTES].map((pid) => t.create(pid, "/etc/public/race", "f")),
    );
    expect(opens.filter((o) => typeof o === "bigint")).toHaveLength(1);
    expect(opens).toContain(T.OPEN_FILE.errors.ALREADY_OPEN);
  });

  it("an unknown process is refused", async () => {
    const t = await setup(backend);
    expect(await t.host.connect(PID, 999)).toBe(false);
  });
});

describe("sys::fs against hostile bytes", () => {
  it("answers every method's random and mangled arguments with an errcode, never a kernel error", async () => {
    const t = await setup("memory");
    let seed = 13;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed;
    };
    // Valid-looking prefixes (an FSID, a path) followed by noise reach deeper than noise alone.
    const prefixes = [new Uint8Array(0), FS, cat(FS, split(AREA)), cat(FS, u8(0), split(AREA))];
    const lines: number[] = [];
    for (const m of T.SYS_FS.methods)
      for (let i = 0; i < 60; i++) {
        const noise = Uint8Array.from({ length: rand() % 24 }, () => rand() & 0xff);
        const args = cat(prefixes[i % prefixes.length]!, noise);
        const r = await t.call(ALICE_NOTES, m, args);
        if (!r.ok && r.errcode === ServiceErr.KERNEL) lines.push(m.code);
      }
    expect(lines).toEqual([]);
  });
});

describe("sys::fs as the kernel wires it", () => {
  it("opens a lazily given tree once, takes its FSID from it, and runs every call through the given serializer", async () => {
    const layer = new MemoryFs();
    let opens = 0;
    let serialized = 0;
    const host = new ServiceHost({ checker: () => false });
    host.register(
      new SysFs({
        layer: async () => {
          opens++;
          return layer;
        },
        identity: async (p) => people[p],
        memory: new FakeMemory(),
        serialize: (fn) => {
          serialized++;
          return fn();
        },
      }),
    );
    expect(opens).toBe(0);
    expect(await host.connect(PID, ALICE_NOTES)).toBe(true);
    const r = await host.call(
      PID,
      ALICE_NOTES,
      T.CREATE_DIRECTORY.code,
      cat(u64(FIXED_FSID), split(AREA), str("d")),
    );
    expect(r).toEqual({ ok: true, answer: new Uint8Array(0) });
    expect((await layer.stat(`${AREA}/d`))?.kind).toBe("dir");
    expect([opens, serialized]).toEqual([1, 2]);
  });
});

describe("sys::fs on Btrfs, as if killed", () => {
  it("every answered change is on the image without a close: a copy taken then is checked and read", async () => {
    if (skipUnless(btrfsProgsMissing())) return;
    const t = await setup("btrfs");
    const f = (await t.create(ALICE_NOTES, AREA, "kept")) as bigint;
    expect(await t.write(ALICE_NOTES, f, 0, enc("acknowledged"))).toBe(0);
    expect(await t.mkdir(ALICE_NOTES, AREA, "dir")).toBe(0);
    // The layer stays open (the kernel was killed): copy the image file as it is on the disk.
    const copy = path.join(dir, "killed.img");
    fs.copyFileSync(images.at(-1)!, copy);
    const r = btrfsCheck(copy);
    expect(r.ok, r.output).toBe(true);
    const back = BtrfsLayer.open(copy, { readOnly: true });
    expect(new TextDecoder().decode(await back.readFile(`${AREA}/kept`))).toBe("acknowledged");
    expect((await back.stat(`${AREA}/dir`))?.kind).toBe("dir");
    await back.close();
  });
});

describe("sys::fs's group commits on Btrfs", () => {
  /** A copy of the image as it is on the disk now (as if the kernel were killed), opened read-only. */
  const onDisk = async () => {
    const copy = path.join(dir, `group-${Math.random().toString(36).slice(2)}.img`);
    fs.copyFileSync(images.at(-1)!, copy);
    const r = btrfsCheck(copy);
    expect(r.ok, r.output).toBe(true);
    return BtrfsLayer.open(copy, { readOnly: true });
  };

  it("answers a burst of changes with no commit; one commit then writes them all", async () => {
    if (skipUnless(btrfsProgsMissing())) return;
    // A window no test outlasts: only the sync points commit.
    const t = await setup("btrfs", 600_000);
    const btrfs = t.layer as BtrfsLayer;
    const f = (await t.create(ALICE_NOTES, AREA, "burst")) as bigint;
    const before = btrfs.fs.commits;
    for (let i = 0; i < 20; i++) {
      expect(
        await t.write(ALICE_NOTES, f, i * 10, enc(`line ${String(i).padStart(4, "0")}\n`)),
      ).toBe(0);
      expect(await t.mkdir(ALICE_NOTES, AREA, `d${i}`)).toBe(0);
    }
    // Forty answered changes, no commit yet; every app already sees them.
    expect(btrfs.fs.commits).toBe(before);
    expect(await t.read(ALICE_NOTES, f, 190, 9)).toBe("line 0019");
    expect(await t.err(ALICE_NOTES, T.CLOSE_FILE, u64(f))).toBe(0);
    expect(btrfs.fs.commits).toBe(before);
    // The window's end (here at once): one commit for the forty.
    await t.sysfs.commitNow();
    expect(btrfs.fs.commits).toBe(before + 1);
    const back = await onDisk();
    expect(new TextDecoder().decode(await back.readFile(`${AREA}/burst`)).slice(190)).toBe(
      "line 0019\n",
    );
    expect((await back.stat(`${AREA}/d19`))?.kind).toBe("dir");
    await back.close();
    // A change of 1 MiB or more is committed before its answer.
    const g = (await t.create(ALICE_NOTES, AREA, "big")) as bigint;
    const mib = 1 << 20;
    const big = new Uint8Array(mib).fill(7);
    t.memory.mem.set(ALICE_NOTES, new Uint8Array(0x10000 + mib + 0x2000));
    t.memory.put(ALICE_NOTES, 0x2000, big);
    const commits = btrfs.fs.commits;
    expect(
      await t.err(
        ALICE_NOTES,
        T.WRITE_FILE,
        u64(g),
        u64(0),
        u64(mib),
        u64(0x2000),
        u64(mib),
        FALSE,
      ),
    ).toBe(0);
    // (The engine also commits what was pending before a large write: docs/btrfs.md.)
    expect(btrfs.fs.commits).toBeGreaterThan(commits);
    const again = await onDisk();
    expect((await again.stat(`${AREA}/big`))?.size).toBe(mib);
    await again.close();
  });

  it("commits within the window without a sync point", async () => {
    if (skipUnless(btrfsProgsMissing())) return;
    const t = await setup("btrfs", 30);
    const btrfs = t.layer as BtrfsLayer;
    const before = btrfs.fs.commits;
    expect(await t.mkdir(ALICE_NOTES, AREA, "soon")).toBe(0);
    const start = Date.now();
    while (btrfs.fs.commits === before && Date.now() - start < 10_000)
      await new Promise((r) => setTimeout(r, 5));
    expect(btrfs.fs.commits).toBe(before + 1);
    const back = await onDisk();
    expect((await back.stat(`${AREA}/soon`))?.kind).toBe("dir");
    await back.close();
  });

  it("re-applies the answered changes a later failure's abort forgot, and commits them", async () => {
    if (skipUnless(btrfsProgsMissing())) return;
    const t = await setup("btrfs", 600_000);
    const btrfs = t.layer as BtrfsLayer;
    const f = (await t.create(ALICE_NOTES, AREA, "kept")) as bigint;
    expect(await t.write(ALICE_NOTES, f, 0, enc("acknowledged"))).toBe(0);
    expect(await t.mkdir(ALICE_NOTES, AREA, "answered")).toBe(0);
    // The next mkdir changes the tree, then fails and aborts the open transaction (as running out
    // of space half-way does): every uncommitted change is forgotten by the engine.
    const mkdir = btrfs.mkdir.bind(btrfs);
    btrfs.mkdir = async () => {
      btrfs.mkdir = mkdir;
      await btrfs.writeFile(`${AREA}/half-done`, enc("x"));
      btrfs.fs.abort();
      throw Object.assign(new Error("no space"), { code: "BTRFS_NO_SPACE" });
    };
    const aborts = btrfs.fs.aborts;
    expect(await t.mkdir(ALICE_NOTES, AREA, "fails")).toBe(T.CREATE_DIRECTORY.errors.UNSPECIFIED);
    expect(btrfs.fs.aborts).toBeGreaterThan(aborts);
    // The answered ones are back and committed; the failed one and its half change are not there.
    const back = await onDisk();
    expect(new TextDecoder().decode(await back.readFile(`${AREA}/kept`))).toBe("acknowledged");
    expect((await back.stat(`${AREA}/answered`))?.kind).toBe("dir");
    expect(await back.stat(`${AREA}/fails`)).toBeNull();
    expect(await back.stat(`${AREA}/half-done`)).toBeNull();
    await back.close();
    expect(await t.read(ALICE_NOTES, f, 0, 12)).toBe("acknowledged");
  });
});

describe("the FSID of a Btrfs tree", () => {
  it("is the first 8 bytes of the image's filesystem UUID, as btrfs-progs reads it", async () => {
    if (skipUnless(btrfsProgsMissing())) return;
    const img = path.join(dir, "fsid.img");
    const layer = BtrfsLayer.create(img, 128n << 20n, { metadata: "single" });
    const fsid = fsidOfTree(layer);
    await layer.close();
    const uuid = /^fsid\s+([0-9a-f-]{36})$/m.exec(dumpSuper(img))![1]!.replaceAll("-", "");
    const first8 = Buffer.from(uuid.slice(0, 16), "hex");
    expect(fsid).toBe(first8.readBigUInt64LE(0));
    expect(fsid).not.toBe(FIXED_FSID);
  });
});

describe("the Btrfs images sys::fs wrote", () => {
  it("pass btrfs check", async () => {
    for (const l of layers) await l.close();
    if (skipUnless(btrfsProgsMissing())) return;
    expect(images.length).toBeGreaterThan(0);
    for (const img of images) {
      const r = btrfsCheck(img);
      expect(r.ok, r.output).toBe(true);
    }
  });
});
