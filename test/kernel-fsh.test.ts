// sys::fsh (PID 11; specs/services/system/fsh.md, docs/services.md "sys::fsh (PID 11)") from real apps
// through `ncw run`: an app whose manifest exposes a file opener service registers "txt" (and is refused
// the second time, and for a system extension); a file manager lists the openers of "TXT", caches a
// thumbnail for the tree's root and checks it, then reads the cached bitmap back through sys::fs with
// the temporary FEID it was given; an app that is not a file manager is refused the cache. Arguments and
// answers are the page's bytes, written out by hand.

import { closeSync, openSync, readSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { btrfsProgsMissing, skipUnless } from "./btrfs-oracle.js";
import { OK, TestHome } from "./kernel-helpers.js";
import { serviceNap, systemClient } from "./services-apps.js";

const home = new TestHome({ NCW_GRANT_PERMISSIONS: "fs.filesystems.metadata" });
afterAll(() => home.cleanup());

const SYS_FS = 10;
const SYS_FSH = 11;

/** Hex (spaces allowed) as a WAT string literal. */
const wat = (hex: string) => hex.replace(/\s+/g, "").replace(/../g, (x) => `\\${x}`);
const u64 = (v: bigint | number) => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(v));
  return b.toString("hex");
};
/** A delimited string: its byte length (u64 LE), then UTF-8. */
const dstr = (s: string) => u64(Buffer.byteLength(s)) + Buffer.from(s).toString("hex");
/** A delimited list of delimited strings. */
const dlist = (...items: string[]) => {
  const body = items.map(dstr).join("");
  return u64(body.length / 2) + body;
};
/** A 2x1 bitmap, red and green (data-structures.md "Bitmap images"): 8 + 2 × 3 = 14 bytes. */
const BITMAP = "0200 0100 01 01 01 00 ff0000 00ff00";

let fsidHex = "";
beforeAll(() => {
  const r = home.ncw(["skyer", "list"]);
  expect(r.code, r.stderr).toBe(0);
  // The image's FSID (docs/sysfs.md "Identifiers"): the superblock's fsid, its first 8 bytes.
  const fd = openSync(path.join(home.home, "nightos.img"), "r");
  const b = Buffer.alloc(8);
  readSync(fd, b, 0, 8, 0x10000 + 0x20);
  closeSync(fd);
  fsidHex = b.toString("hex");
}, 120_000);

/**
 * A program of `requests` (name → hex, placed from 0x8000 on, 0x100 apart) and a body using them; the
 * socket to sys::fsh is in the client's `$sock`, the one to sys::fs in `$conn`.
 */
function withRequests(requests: Record<string, string>, body: (send: Sender) => string): string {
  const at: Record<string, number> = {};
  let next = 0x8000;
  for (const k of Object.keys(requests)) {
    at[k] = next;
    next += 0x100;
  }
  const len = (k: string) => requests[k]!.replace(/\s+/g, "").length / 2;
  const data = Object.entries(requests)
    .map(([k, v]) => `(data (i32.const ${at[k]}) "${wat(v)}")`)
    .join("\n");
  const send: Sender = {
    at: (k) => at[k]!,
    call: (id, sock, code, k) =>
      `(call $check (i32.const ${id}) (call $sendn (local.get ${sock}) (i32.const ${code}) (i32.const ${at[k]}) (i32.const ${len(k)})) (i32.const ${OK}))`,
  };
  return systemClient(body(send), data);
}
interface Sender {
  at(k: string): number;
  call(id: number, sock: "$sock" | "$conn", code: number, k: string): string;
}

const connect = (id: number, local: "$sock" | "$conn", pid: number) => `
  (call $check (i32.const ${id}) (call $connect (i32.const 0) (i32.const 0) (i64.const ${pid}) (i32.const 0) (i32.const 0)) (i32.const ${OK}))
  (local.set ${local} (call $r64 (i32.const 8)))`;

function install(slug: string, program: string, integration: string): number {
  return home.install(serviceNap(home, slug, program, integration), ["--global"]);
}

describe.skipIf(skipUnless(btrfsProgsMissing()))("sys::fsh through CONNECT_SERVICE", () => {
  it("registers an opener, lists it, caches a thumbnail and reads it back with its TFEID", () => {
    const opener = withRequests(
      {
        txt: dlist("txt"),
        nap: dlist("csv", "nap"),
        check: `${fsidHex} ${u64(256)}`,
      },
      (s) => `
      ${connect(1, "$sock", SYS_FSH)}
      ;; REGISTER_OPENER ["txt"]: no answer fields
      ${s.call(10, "$sock", 0x0001, "txt")}
      (call $answer (i32.const 11) (local.get $sock) (i32.const 0x04) (i32.const 0))
      ;; again: 0x3001, "already handles"
      ${s.call(20, "$sock", 0x0001, "txt")}
      (call $answer (i32.const 21) (local.get $sock) (i32.const 0x06) (i32.const 2))
      (call $check (i32.const 25) (i32.load16_u (i32.const 0x7100)) (i32.const 0x3001))
      ;; a system extension: 0x1001
      ${s.call(30, "$sock", 0x0001, "nap")}
      (call $answer (i32.const 31) (local.get $sock) (i32.const 0x06) (i32.const 2))
      (call $check (i32.const 35) (i32.load16_u (i32.const 0x7100)) (i32.const 0x1001))
      ;; not a file manager: the cache is refused, 0x3000
      ${s.call(40, "$sock", 0x1000, "check")}
      (call $answer (i32.const 41) (local.get $sock) (i32.const 0x06) (i32.const 2))
      (call $check (i32.const 45) (i32.load16_u (i32.const 0x7100)) (i32.const 0x3000))`,
    );
    const openerAnid = install("opener", opener, "fs_items_opener = true");
    const r1 = home.ncw(["run", "--trace", "ncwdemo::opener"]);
    expect(r1.code, r1.stderr).toBe(0);

    const manager = withRequests(
      {
        // FS_METADATA (0x0003): fsid; the answer's second field is the root's FEID
        meta: fsidHex,
        list: dstr("TXT"),
        // CACHE_ITEM_THUMBNAIL: fsid, FEID (patched with the root's), bitmap
        cache: `${fsidHex} ${u64(0)} ${BITMAP}`,
        // CHECK_ITEM_THUMBNAIL_CACHE: fsid, FEID (patched)
        check: `${fsidHex} ${u64(0)}`,
        // OPEN_FILE: fsid, variant 0x00 (an existing item), path kind 0x01 (FEID, patched), read, no write
        open: `${fsidHex} 00 01 ${u64(0)} 01 00`,
        // READ_FILE: file (patched), offset 0, length 14, buffer pointer (0x9000, 16)
        read: `${u64(0)} ${u64(0)} ${u64(14)} ${u64(0x9000)} ${u64(16)}`,
        want: BITMAP,
      },
      (s) => `
      ${connect(1, "$conn", SYS_FS)}
      ${s.call(2, "$conn", 0x0003, "meta")}
      (loop $w (if (i32.eqz (i32.atomic.load (i32.const 0x3520))) (then (call $sleep (i32.const 5)) (br $w))))
      (call $check (i32.const 3) (call $read (local.get $conn) (i32.const 0x7100)) (i32.const ${OK}))
      (i64.store (i32.const ${s.at("cache") + 8}) (i64.load (i32.const 0x7108)))
      (i64.store (i32.const ${s.at("check") + 8}) (i64.load (i32.const 0x7108)))
      ${connect(4, "$sock", SYS_FSH)}
      ;; LIST_OPENERS "TXT": a delimited list of one 8-byte ANID
      ${s.call(10, "$sock", 0x0003, "list")}
      (call $answer (i32.const 11) (local.get $sock) (i32.const 0x04) (i32.const 16))
      (call $check64 (i32.const 15) (i64.load (i32.const 0x7100)) (i64.const 8))
      (call $check64 (i32.const 16) (i64.load (i32.const 0x7108)) (i64.const ${openerAnid}))
      ;; nothing cached yet: presence 0x00 alone
      ${s.call(20, "$sock", 0x1000, "check")}
      (call $answer (i32.const 21) (local.get $sock) (i32.const 0x04) (i32.const 1))
      (call $check (i32.const 25) (i32.load8_u (i32.const 0x7100)) (i32.const 0x00))
      ;; CACHE_ITEM_THUMBNAIL: a temporary FEID (its top bit set)
      ${s.call(30, "$sock", 0x1001, "cache")}
      (call $answer (i32.const 31) (local.get $sock) (i32.const 0x04) (i32.const 8))
      (call $check (i32.const 35) (i64.lt_s (i64.load (i32.const 0x7100)) (i64.const 0)) (i32.const 1))
      ;; CHECK_ITEM_THUMBNAIL_CACHE: 0x01, the caching timestamp (after 2026), a new TFEID
      ${s.call(40, "$sock", 0x1000, "check")}
      (call $answer (i32.const 41) (local.get $sock) (i32.const 0x04) (i32.const 17))
      (call $check (i32.const 45) (i32.load8_u (i32.const 0x7100)) (i32.const 0x01))
      (call $check (i32.const 46) (i64.gt_u (i64.load (i32.const 0x7101)) (i64.const 1767225600000)) (i32.const 1))
      (call $check (i32.const 47) (i64.lt_s (i64.load (i32.const 0x7109)) (i64.const 0)) (i32.const 1))
      (i64.store (i32.const ${s.at("open") + 10}) (i64.load (i32.const 0x7109)))
      ;; the cached image, read with sys::fs through that TFEID: the bitmap as given
      ${s.call(50, "$conn", 0x4000, "open")}
      (call $answer (i32.const 51) (local.get $conn) (i32.const 0x04) (i32.const 8))
      (i64.store (i32.const ${s.at("read")}) (i64.load (i32.const 0x7100)))
      ${s.call(60, "$conn", 0x4002, "read")}
      (call $answer (i32.const 61) (local.get $conn) (i32.const 0x04) (i32.const 0))
      (call $check64 (i32.const 65) (i64.load (i32.const 0x9000)) (i64.load (i32.const ${s.at("want")})))
      (call $check (i32.const 66) (i32.load (i32.const 0x9008)) (i32.load (i32.const ${s.at("want") + 8})))
      (call $check (i32.const 67) (i32.load16_u (i32.const 0x900c)) (i32.load16_u (i32.const ${s.at("want") + 12})))
      (call $check (i32.const 68) (i32.load16_u (i32.const 0x900e)) (i32.const 0))`,
    );
    install("files", manager, "file_manager = true");
    const r2 = home.ncw(["run", "--trace", "ncwdemo::files"]);
    if (process.env.DUMP) console.log(r2.stderr);
    expect(r2.code, r2.stderr).toBe(0);
  }, 180_000);
});
