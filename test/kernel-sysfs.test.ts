// sys::fs (PID 10) reached by an app through CONNECT_SERVICE (docs/sysfs.md "How an app reaches it"): an
// installed WAT app run with `ncw run <AID>` connects to the system (ANID 0, the PID in the scope),
// calls ENUM_FS, CREATE_DIRECTORY in its data area and ITEM_EXISTS, is refused outside what it may
// touch, and writes then reads a file through its own memory (the kernel asks its runner); every argument
// is bytes written out by hand from the method table (specs/services/system/fs.md,
// filesystem-interfaces.md, data-structures.md); the answers are read byte for byte. Afterwards
// `ncw fs ls` / `ncw fs cat` show the folder and the file, and the image passes `btrfs check`.

import { closeSync, openSync, readSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { btrfsProgsMissing, expectCheckClean, skipUnless } from "./btrfs-oracle.js";
import { alive, OK, TestHome, waitFor } from "./kernel-helpers.js";
import { serviceNap, systemClient } from "./services-apps.js";

const home = new TestHome({ NCW_GRANT_PERMISSIONS: "fs.filesystems.list" });
afterAll(() => home.cleanup());

const SYS_FS = 10;
const AID = "ncwdemo::fsapp";
const IMAGE = () => path.join(home.home, "nightos.img");

/** The image's FSID (docs/sysfs.md): the first 8 bytes, little-endian, of the superblock's fsid (0x10020). */
function imageFsid(): Buffer {
  const fd = openSync(IMAGE(), "r");
  try {
    const b = Buffer.alloc(8);
    readSync(fd, b, 0, 8, 0x10000 + 0x20);
    return b;
  } finally {
    closeSync(fd);
  }
}

/** Hex (spaces allowed) as a WAT string literal. */
const wat = (hex: string) => hex.replace(/\s+/g, "").replace(/../g, (x) => `\\${x}`);
/** A delimited string (data-structures.md): its byte length (u64 LE) then its UTF-8, written out. */
const str = (lenHex: string, text: string) =>
  `${lenHex}00000000000000 ${Buffer.from(text).toString("hex")}`;

// A split path (filesystem-interfaces.md) is a filesystem path of kind 0x02: a delimited list of
// delimited strings. home (8+4) user (8+4) appdata (8+7) ncwdemo.fsapp (8+13) = 60 = 0x3c bytes.
const AREA = `${str("04", "home")} ${str("04", "user")} ${str("07", "appdata")} ${str("0d", "ncwdemo.fsapp")}`;

let fsidHex = "";
beforeAll(() => {
  // Any command makes the home and its image; the app's bytes then carry the image's FSID.
  const r = home.ncw(["skyer", "list"]);
  expect(r.code, r.stderr).toBe(0);
  fsidHex = imageFsid().toString("hex");
}, 120_000);

describe.skipIf(skipUnless(btrfsProgsMissing()))("sys::fs through CONNECT_SERVICE", () => {
  it("creates a folder and a file in the app's data area, writes and reads it, refuses what the app may not touch", async () => {
    const req = {
      // CREATE_DIRECTORY (0x3000): fsid u64, parent (filesystem path), filename (delimited string)
      mkdir: `${fsidHex} 02 3c00000000000000 ${AREA} ${str("05", "notes")}`,
      // ITEM_EXISTS (0x1000): fsid, path, type byte (0x00 any; 0x02 file)
      exists: `${fsidHex} 02 4900000000000000 ${AREA} ${str("05", "notes")} 00`,
      existsFile: `${fsidHex} 02 4900000000000000 ${AREA} ${str("05", "notes")} 02`,
      // CREATE_DIRECTORY of /home/user/x: the user's folder, not the app's area (interim policy)
      mkdirHome: `${fsidHex} 02 1800000000000000 ${str("04", "home")} ${str("04", "user")} ${str("01", "x")}`,
      // OPEN_FILE (0x4000): fsid, target variant 0x01 (parent path, filename "memo": created empty),
      // read 0x01, write 0x01
      open: `${fsidHex} 01 02 3c00000000000000 ${AREA} ${str("04", "memo")} 01 01`,
      // WRITE_FILE (0x4003): file u64 (patched with OPEN_FILE's answer), offset 0, length 5, buffer
      // pointer (address 0x9100: "hello", length 16), truncate true (0x01)
      write: `0000000000000000 0000000000000000 0500000000000000 0091000000000000 1000000000000000 01`,
      // READ_FILE (0x4002): file, offset 1, length 4, buffer pointer (0x9000, 16)
      read: `0000000000000000 0100000000000000 0400000000000000 0090000000000000 1000000000000000`,
      // READ_FILE into a buffer outside the app's 2 pages (0x100000): arguments refused, 0x1FFF
      readOut: `0000000000000000 0000000000000000 0400000000000000 0000100000000000 1000000000000000`,
      hello: Buffer.from("hello").toString("hex"),
      // ITEM_EXISTS of /etc/sys: closed to apps (the default storage rules)
      existsEtc: `${fsidHex} 02 1600000000000000 ${str("03", "etc")} ${str("03", "sys")} 00`,
    };
    const at = {
      mkdir: 0x8000,
      exists: 0x8100,
      existsFile: 0x8200,
      mkdirHome: 0x8300,
      existsEtc: 0x8400,
      open: 0x8500,
      write: 0x8600,
      read: 0x8700,
      readOut: 0x8800,
      hello: 0x9100,
    };
    const len = (k: keyof typeof req) => req[k].replace(/\s+/g, "").length / 2;
    expect(len("mkdir")).toBe(8 + 1 + 8 + 60 + 8 + 5);
    const data = Object.entries(req)
      .map(([k, v]) => `(data (i32.const ${at[k as keyof typeof at]}) "${wat(v)}")`)
      .join("\n");
    const send = (id: number, code: number, k: keyof typeof req) =>
      `(call $check (i32.const ${id}) (call $sendn (local.get $sock) (i32.const ${code}) (i32.const ${at[k]}) (i32.const ${len(k)})) (i32.const ${OK}))`;
    const fsid = BigInt(`0x${Buffer.from(fsidHex, "hex").reverse().toString("hex")}`);
    const program = systemClient(
      `
      ;; ANID 0, target type 0, the scope's 8 bytes = the PID (10, little-endian)
      (call $check (i32.const 1) (call $connect (i32.const 0) (i32.const 0) (i64.const ${SYS_FS}) (i32.const 0) (i32.const 0)) (i32.const ${OK}))
      (local.set $sock (call $r64 (i32.const 8)))
      ;; ENUM_FS (0x0002), no arguments (fs.filesystems.list granted): a delimited list of one FSID,
      ;; 08 00 00 00 00 00 00 00 then the image's FSID
      (call $check (i32.const 2) (call $sendn (local.get $sock) (i32.const 0x0002) (i32.const 0x7000) (i32.const 0)) (i32.const ${OK}))
      (call $answer (i32.const 3) (local.get $sock) (i32.const 0x04) (i32.const 16))
      (call $check64 (i32.const 7) (i64.load (i32.const 0x7100)) (i64.const 8))
      (call $check64 (i32.const 8) (i64.load (i32.const 0x7108)) (i64.const ${fsid}))
      ;; CREATE_DIRECTORY: no answer fields (status 0x04, 0 bytes)
      ${send(10, 0x3000, "mkdir")}
      (call $answer (i32.const 11) (local.get $sock) (i32.const 0x04) (i32.const 0))
      ;; ITEM_EXISTS, any type: the type byte 0x01 (folder)
      ${send(20, 0x1000, "exists")}
      (call $answer (i32.const 21) (local.get $sock) (i32.const 0x04) (i32.const 1))
      (call $check (i32.const 25) (i32.load8_u (i32.const 0x7100)) (i32.const 0x01))
      ;; ITEM_EXISTS, type file: 0x00 (not of the asked type)
      ${send(30, 0x1000, "existsFile")}
      (call $answer (i32.const 31) (local.get $sock) (i32.const 0x04) (i32.const 1))
      (call $check (i32.const 35) (i32.load8_u (i32.const 0x7100)) (i32.const 0x00))
      ;; the same folder again: 0x4003 (NCW's "already exists"), an error message (status 0x06)
      ${send(40, 0x3000, "mkdir")}
      (call $answer (i32.const 41) (local.get $sock) (i32.const 0x06) (i32.const 2))
      (call $check (i32.const 45) (i32.load16_u (i32.const 0x7100)) (i32.const 0x4003))
      ;; outside the app's area: the permission errcode 0x0001
      ${send(50, 0x3000, "mkdirHome")}
      (call $answer (i32.const 51) (local.get $sock) (i32.const 0x06) (i32.const 2))
      (call $check (i32.const 55) (i32.load16_u (i32.const 0x7100)) (i32.const 0x0001))
      ${send(60, 0x1000, "existsEtc")}
      (call $answer (i32.const 61) (local.get $sock) (i32.const 0x06) (i32.const 2))
      (call $check (i32.const 65) (i32.load16_u (i32.const 0x7100)) (i32.const 0x0001))
      ;; OPEN_FILE: the opened file's ID, u64 (the first of this kernel: 1)
      ${send(70, 0x4000, "open")}
      (call $answer (i32.const 71) (local.get $sock) (i32.const 0x04) (i32.const 8))
      (call $check64 (i32.const 75) (i64.load (i32.const 0x7100)) (i64.const 1))
      (i64.store (i32.const ${at.write}) (i64.load (i32.const 0x7100)))
      (i64.store (i32.const ${at.read}) (i64.load (i32.const 0x7100)))
      (i64.store (i32.const ${at.readOut}) (i64.load (i32.const 0x7100)))
      ;; WRITE_FILE: the kernel takes the 5 bytes from this memory; no answer fields
      ${send(80, 0x4003, "write")}
      (call $answer (i32.const 81) (local.get $sock) (i32.const 0x04) (i32.const 0))
      ;; READ_FILE: "ello" lands at 0x9000, nothing after it
      (i64.store (i32.const 0x9000) (i64.const 0))
      ${send(90, 0x4002, "read")}
      (call $answer (i32.const 91) (local.get $sock) (i32.const 0x04) (i32.const 0))
      (call $check64 (i32.const 95) (i64.load (i32.const 0x9000)) (i64.const ${0x6f6c6c65 /* "ello", little-endian, then zeroes */}))
      ${send(100, 0x4002, "readOut")}
      (call $answer (i32.const 101) (local.get $sock) (i32.const 0x06) (i32.const 2))
      (call $check (i32.const 105) (i32.load16_u (i32.const 0x7100)) (i32.const 0x1fff))`,
      data,
    );
    installProgram(program);
    const r = home.ncw(["run", "--trace", AID]);
    expect(r.code, `${r.stdout}${r.stderr}`).toBe(0);
    // sys::fs's end is the kernel's: the app's messages take the forwarded path (the kernel applies the
    // exchange rules) and the kernel sends the answers' RECV_SOCK_MSG (docs/ipc.md "A message's path").
    expect(r.stderr).toMatch(/SEND_SOCK_MSG .* -> ok .*\(kernel: exchange bookkeeping\)/);
    expect(r.stderr).toMatch(/\] kernel sends RECV_SOCK_MSG \{socket: /);
    expect(r.stderr).not.toMatch(/\] sends RECV_SOCK_MSG/);

    const ls = home.ncw(["fs", "ls", "/home/user/appdata/ncwdemo.fsapp"]);
    expect(ls.code, ls.stderr).toBe(0);
    expect(ls.stdout.split("\n")).toContain("notes/");
    expect(ls.stdout.split("\n")).toContain("memo");
    const cat = home.ncw(["fs", "cat", "/home/user/appdata/ncwdemo.fsapp/memo"]);
    expect(cat.stdout).toBe("hello");
    // The refused folder was not made.
    const user = home.ncw(["fs", "ls", "/home/user"]);
    expect(user.code, user.stderr).toBe(0);
    expect(user.stdout.split("\n")).toContain("appdata/");
    expect(user.stdout.split("\n")).not.toContain("x/");

    // The kernel lets the image go when it stops (it commits and unlocks): then btrfs check.
    const pid = home.kernelPid();
    if (pid !== undefined) {
      process.kill(pid, "SIGTERM");
      expect(await waitFor(() => !alive(pid))).toBe(true);
    }
    expectCheckClean(IMAGE());
  }, 180_000);
});

// The kernel's layer remembers the folders sys::fs resolved (docs/sysfs.md "Performance"); `ncw fs`
// changes the same tree through the kernel (its TreeOwner) between two runs of an app, and the second
// run must see the folder made in place of the one it resolved before.
describe.skipIf(skipUnless(btrfsProgsMissing()))("sys::fs beside ncw fs in the same kernel", () => {
  it("creates its file in the folder ncw fs made in place of the one it used before, and none once it is removed", async () => {
    const area = "/home/user/appdata/ncwdemo.fsapp";
    const mk = home.ncw(["fs", "mkdir", "-p", `${area}/shared`]);
    expect(mk.code, mk.stderr).toBe(0);
    // OPEN_FILE (0x4000) variant 0x01: parent AREA/shared (60 + 8 + 6 = 74 = 0x4a bytes), filename
    // "f", read 0x00, write 0x01; then CLOSE_FILE (0x4001) of the answered ID.
    const open = `${fsidHex} 01 02 4a00000000000000 ${AREA} ${str("06", "shared")} ${str("01", "f")} 00 01`;
    const program = systemClient(
      `
      (call $check (i32.const 1) (call $connect (i32.const 0) (i32.const 0) (i64.const ${SYS_FS}) (i32.const 0) (i32.const 0)) (i32.const ${OK}))
      (local.set $sock (call $r64 (i32.const 8)))
      (call $check (i32.const 10) (call $sendn (local.get $sock) (i32.const 0x4000) (i32.const 0x8000) (i32.const ${open.replace(/\s+/g, "").length / 2})) (i32.const ${OK}))
      (call $answer (i32.const 11) (local.get $sock) (i32.const 0x04) (i32.const 8))
      (i64.store (i32.const 0x8800) (i64.load (i32.const 0x7100)))
      (call $check (i32.const 20) (call $sendn (local.get $sock) (i32.const 0x4001) (i32.const 0x8800) (i32.const 8)) (i32.const ${OK}))
      (call $answer (i32.const 21) (local.get $sock) (i32.const 0x04) (i32.const 0))`,
      `(data (i32.const 0x8000) "${wat(open)}")`,
    );
    installProgram(program);
    const first = home.ncw(["run", AID]);
    expect(first.code, `${first.stdout}${first.stderr}`).toBe(0);
    expect(home.ncw(["fs", "ls", `${area}/shared`]).stdout.split("\n")).toContain("f");
    // The folder removed and made again by the CLI, through the running kernel.
    const pid = home.kernelPid();
    expect(pid).toBeDefined();
    expect(home.ncw(["fs", "rm", "-r", `${area}/shared`]).code).toBe(0);
    expect(home.ncw(["fs", "mkdir", `${area}/shared`]).code).toBe(0);
    expect(home.ncw(["fs", "ls", `${area}/shared`]).stdout.trim()).toBe("");
    const second = home.ncw(["run", AID]);
    expect(second.code, `${second.stdout}${second.stderr}`).toBe(0);
    expect(home.kernelPid()).toBe(pid);
    expect(home.ncw(["fs", "ls", `${area}/shared`]).stdout.split("\n")).toContain("f");
    // Removed and not made again: OPEN_FILE's folder is gone (an error answer, status 0x06, where the
    // program wants 0x04: it exits with its check's ID, 13), and nothing is created in what was it.
    expect(home.ncw(["fs", "rm", "-r", `${area}/shared`]).code).toBe(0);
    const third = home.ncw(["run", AID]);
    expect(third.code, `${third.stdout}${third.stderr}`).toBe(13);
    expect(home.ncw(["fs", "ls", area]).stdout.split("\n")).not.toContain("shared/");
    process.kill(pid!, "SIGTERM");
    expect(await waitFor(() => !alive(pid!))).toBe(true);
    expectCheckClean(IMAGE());
  }, 180_000);
});

/** Install the app (ncwdemo::fsapp, folder ncwdemo.fsapp) with `program` as its code. */
function installProgram(program: string): void {
  const r = home.ncw(["skyer", "install", serviceNap(home, "fsapp", program), "--global"]);
  expect(r.code, r.stderr).toBe(0);
}
