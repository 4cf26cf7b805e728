// Host mounts through `ncw` (docs/sysfs.md "Host mounts", docs/cli.md): `ncw mount` shows host folders
// under /mnt/<name>; an installed WAT app run with `ncw run <AID>` reaches them through sys::fs with
// their own FSIDs (ENUM_FS), reads and writes a host file, is refused a change on a read-only mount
// (even when granted it) and anything outside the folder ('..', a host link leading out). Every
// argument is bytes written out from the method table (specs/services/system/fs.md,
// filesystem-interfaces.md, data-structures.md). A kernel takes the table when it starts, and a running
// one when `ncw mount` / `ncw umount` tell it.

import {
  closeSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as T from "../commonassembly/abi/services/fs.js";
import { alive, OK, TestHome, waitFor } from "./kernel-helpers.js";
import {
  enc,
  expectAnswer,
  expectError,
  put,
  SAME,
  serviceNap,
  str,
  systemClient,
} from "./services-apps.js";

// A kernel that outlives the steps of a test (the default idle exit is 4 s).
const home = new TestHome({ NCW_KERNEL_IDLE_MS: "120000" });
afterAll(() => home.cleanup());

const SYS_FS = 10;
const AID = "ncwdemo::mountapp";
const host = (...p: string[]) => path.join(home.dir, "host", ...p);

/** `v` as 8 little-endian bytes. */
const u64 = (v: bigint | number) =>
  Array.from({ length: 8 }, (_, i) => Number((BigInt(v) >> BigInt(8 * i)) & 0xffn));
/** A filesystem path of kind 0x02 (a split path): a delimited list of delimited strings. */
const split = (...parts: string[]) => {
  const items = parts.flatMap(str);
  return [0x02, ...u64(items.length), ...items];
};

/** The image's FSID (docs/sysfs.md): the first 8 bytes of the superblock's fsid (0x10020). */
function imageFsid(): number[] {
  const fd = openSync(path.join(home.home, "nightos.img"), "r");
  try {
    const b = Buffer.alloc(8);
    readSync(fd, b, 0, 8, 0x10000 + 0x20);
    return [...b];
  } finally {
    closeSync(fd);
  }
}

function mount(args: string[]): { fsid: string; kernelTold: boolean } {
  const r = home.ncw(["--json", "mount", ...args]);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as { fsid: string; kernelTold: boolean };
}

async function stopKernel(): Promise<void> {
  const pid = home.kernelPid();
  if (pid === undefined) return;
  expect(home.ncw(["kernel", "stop", "--force"]).code).toBe(0);
  expect(await waitFor(() => !alive(pid))).toBe(true);
}

let HOME: number[] = [];
let RW: number[] = [];
let RO: number[] = [];

beforeAll(() => {
  mkdirSync(host("photos", "docs"), { recursive: true });
  mkdirSync(host("cd"));
  mkdirSync(host("outside"));
  writeFileSync(host("photos", "docs", "a.txt"), "hello");
  writeFileSync(host("cd", "r.txt"), "read me");
  writeFileSync(host("outside", "secret.txt"), "secret");
  symlinkSync("../outside/secret.txt", host("photos", "up"));
  symlinkSync(host("outside", "secret.txt"), host("photos", "abs"));
  const r = home.ncw(["skyer", "list"]); // makes the home and its image
  expect(r.code, r.stderr).toBe(0);
  HOME = imageFsid();
  RW = u64(BigInt(`0x${mount([host("photos"), "photos"]).fsid}`));
  RO = u64(BigInt(`0x${mount([host("cd"), "cd", "--read-only"]).fsid}`));
}, 120_000);

/** The program: every call checked; the first answer that differs ends it with its check's ID. */
function program(): string {
  const NOT_FOUND = T.OPEN_FILE.errors.FILE_NOT_FOUND;
  const openRead = (
    id: number,
    fsid: number[],
    p: number[],
  ) => `${put(0x7000, [...fsid, 0x00, ...p, 0x01, 0x00])}
      (call $check (i32.const ${id}) (call $sendn (local.get $sock) (i32.const 0x4000) (i32.const 0x7000) (i32.const ${fsid.length + 3 + p.length})) (i32.const ${OK}))
      (call $answer (i32.const ${id + 1}) (local.get $sock) (i32.const 0x04) (i32.const 8))
      (i64.store (i32.const 0x8000) (i64.load (i32.const 0x7100)))`;
  const create = [...RW, 0x01, ...split(), ...str("new.txt"), 0x01, 0x01];
  return systemClient(
    `
    ;; ANID 0, target type 0, the scope's 8 bytes = the PID of sys::fs
    (call $check (i32.const 1) (call $connect (i32.const 0) (i32.const 0) (i64.const ${SYS_FS}) (i32.const 0) (i32.const 0)) (i32.const ${OK}))
    (local.set $sock (call $r64 (i32.const 8)))
    ;; ENUM_FS: the home's tree, then the mounts in the table's order (a delimited list of 3 FSIDs)
    ${expectAnswer(10, 0x0002, [], [...u64(24), ...HOME, ...RW, ...RO])}
    ;; OPEN_FILE for reading, by the mount's FSID from its root: docs/a.txt; READ_FILE of 5 bytes
    ;; into 0x9000: "hello"
    ${openRead(20, RW, split("docs", "a.txt"))}
    ${put(0x8008, [...u64(0), ...u64(5), ...u64(0x9000), ...u64(16)])}
    (call $check (i32.const 30) (call $sendn (local.get $sock) (i32.const 0x4002) (i32.const 0x8000) (i32.const 40)) (i32.const ${OK}))
    (call $answer (i32.const 31) (local.get $sock) (i32.const 0x04) (i32.const 0))
    ${put(0x9800, [...enc("hello"), 0, 0, 0])}
    (call $check64 (i32.const 35) (i64.load (i32.const 0x9000)) (i64.load (i32.const 0x9800)))
    ;; The same file by the home's FSID through /mnt/photos
    ${openRead(40, HOME, split("mnt", "photos", "docs", "a.txt"))}
    ;; OPEN_FILE variant 0x01 at the mount's root: new.txt created; WRITE_FILE of "hello" (0x9800,
    ;; truncate); CLOSE_FILE
    ${put(0x7000, create)}
    (call $check (i32.const 50) (call $sendn (local.get $sock) (i32.const 0x4000) (i32.const 0x7000) (i32.const ${create.length})) (i32.const ${OK}))
    (call $answer (i32.const 51) (local.get $sock) (i32.const 0x04) (i32.const 8))
    (i64.store (i32.const 0x8000) (i64.load (i32.const 0x7100)))
    ${put(0x8008, [...u64(0), ...u64(5), ...u64(0x9800), ...u64(8), 0x01])}
    (call $check (i32.const 60) (call $sendn (local.get $sock) (i32.const 0x4003) (i32.const 0x8000) (i32.const 41)) (i32.const ${OK}))
    (call $answer (i32.const 61) (local.get $sock) (i32.const 0x04) (i32.const 0))
    (call $check (i32.const 70) (call $sendn (local.get $sock) (i32.const 0x4001) (i32.const 0x8000) (i32.const 8)) (i32.const ${OK}))
    (call $answer (i32.const 71) (local.get $sock) (i32.const 0x04) (i32.const 0))
    ;; The read-only mount: no file created, none opened for writing, though both are granted: 0x0001
    ${expectError(80, 0x4000, [...RO, 0x01, ...split(), ...str("x"), 0x00, 0x01], 0x0001)}
    ${expectError(90, 0x4000, [...RO, 0x00, ...split("r.txt"), 0x00, 0x01], 0x0001)}
    ;; Out of the mounted folder: "..", a relative and an absolute host link leading out: no file
    ${expectError(100, 0x4000, [...RW, 0x00, ...split("..", "outside", "secret.txt"), 0x01, 0x00], NOT_FOUND)}
    ${expectError(110, 0x4000, [...RW, 0x00, ...split("up"), 0x01, 0x00], NOT_FOUND)}
    ${expectError(120, 0x4000, [...RW, 0x00, ...split("abs"), 0x01, 0x00], NOT_FOUND)}`,
    SAME,
  );
}

const GRANTS = [
  "--allow",
  "fs.filesystems.list",
  ...["read", "write", "create"].flatMap((p) => [
    "--allow",
    `fs.items.${p}=/mnt/photos`,
    "--allow",
    `fs.items.${p}=/mnt/cd`,
  ]),
];

describe("host mounts through ncw run", () => {
  it("lists them, reads and writes the host folder, refuses the read-only one and the way out", async () => {
    await stopKernel();
    const inst = home.ncw([
      "skyer",
      "install",
      serviceNap(home, "mountapp", program()),
      "--global",
    ]);
    expect(inst.code, inst.stderr).toBe(0);
    const r = home.ncw(["run", ...GRANTS, AID]);
    expect(r.code, `${r.stdout}${r.stderr}`).toBe(0);
    expect(readFileSync(host("photos", "new.txt"), "utf8")).toBe("hello");
    expect(readFileSync(host("outside", "secret.txt"), "utf8")).toBe("secret");
    // Not granted the mount: the first OPEN_FILE is refused (an error, status 0x06, where the
    // program wants 0x04: its check 20 + 1 + 2 ends it).
    const refused = home.ncw(["run", "--allow", "fs.filesystems.list", AID]);
    expect(refused.code, `${refused.stdout}${refused.stderr}`).toBe(23);
    // A sandboxed run sees no host mount: ENUM_FS answers the tree alone (8 + 8 bytes where the
    // program wants 32: check 10 + 4), and nothing of the host folder changes.
    const sandboxed = home.ncw(["run", "--sandbox", ...GRANTS, AID]);
    expect(sandboxed.code, `${sandboxed.stdout}${sandboxed.stderr}`).toBe(14);
    // `ncw mount --list` shows both.
    const list = home.ncw(["mount", "--list"]);
    expect(list.stdout).toContain(`/mnt/photos\t${host("photos")}`);
    expect(list.stdout).toContain(`/mnt/cd\t${host("cd")}\tread-only`);
  }, 180_000);

  it("a running kernel is told: its apps see a mount go and come at once", async () => {
    // Run once so that a kernel runs, then unmount the read-only one: the same kernel lists two
    // FSIDs from now on (24 bytes where the program wants 32: check 10 + 4).
    expect(home.ncw(["run", ...GRANTS, AID]).code).toBe(0);
    const pid = home.kernelPid();
    expect(pid).toBeDefined();
    const um = home.ncw(["umount", "cd"]);
    expect(um.code, um.stderr).toBe(0);
    expect(um.stdout).toContain(
      `the running kernel (host PID ${pid}) shows the change to apps now`,
    );
    const r = home.ncw(["run", ...GRANTS, AID]);
    expect(r.code, `${r.stdout}${r.stderr}`).toBe(14);
    // Mounted again: a new FSID, listed at once (32 bytes, but not the program's: check 10 + 5).
    const again = mount([host("cd"), "cd", "--read-only"]);
    expect(again.kernelTold).toBe(true);
    expect(again.fsid).not.toBe(Buffer.from(RO).reverse().toString("hex"));
    const r2 = home.ncw(["run", ...GRANTS, AID]);
    expect(r2.code, `${r2.stdout}${r2.stderr}`).toBe(15);
    expect(home.kernelPid()).toBe(pid);
    // With no kernel running, nobody is told; the next kernel reads the table when it starts.
    await stopKernel();
    expect(home.ncw(["umount", "cd"]).code).toBe(0);
    expect(mount([host("cd"), "cd", "--read-only"]).kernelTold).toBe(false);
    const r3 = home.ncw(["run", ...GRANTS, AID]);
    expect(r3.code, `${r3.stdout}${r3.stderr}`).toBe(15);
    await stopKernel();
  }, 180_000);
});
