// An app killed with kill -9 in the middle of its writes through sys::fs (issue #13 "an app killed with
// kill -9 mid-write leaves the image consistent with every write acknowledged before the kill present";
// docs/sysfs.md "Commits: what is durable when"): an installed WAT app writes 8-byte records (its
// counter) one after the other, calling GET_PID after each acknowledged WRITE_FILE; the test kills it
// (`ncw kill --force`) once it has seen a number of those markers, then finds every acknowledged record
// in the file, and the image passes `btrfs check` once the kernel stops. Then two apps write their own
// files at once (150 records each) and both files hold every record; two processes of one app share one
// file, taking turns through OPEN_FILE's write lock, and no round of either is lost.

import { spawn } from "node:child_process";
import { closeSync, openSync, readFileSync, readSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { btrfsProgsMissing, expectCheckClean, skipUnless } from "./btrfs-oracle.js";
import { alive, NCW, OK, TestHome, waitFor } from "./kernel-helpers.js";
import { serviceNap, systemClient } from "./services-apps.js";

const home = new TestHome({ NCW_KERNEL_IDLE_MS: "120000" });
afterAll(() => home.cleanup());
const IMAGE = () => path.join(home.home, "nightos.img");

/** The image's FSID (docs/sysfs.md): the first 8 bytes of the superblock's fsid (0x10020). */
function imageFsid(): string {
  const fd = openSync(IMAGE(), "r");
  try {
    const b = Buffer.alloc(8);
    readSync(fd, b, 0, 8, 0x10000 + 0x20);
    return b.toString("hex");
  } finally {
    closeSync(fd);
  }
}

const wat = (hex: string) => hex.replace(/\s+/g, "").replace(/../g, (x) => `\\${x}`);
const str = (lenHex: string, text: string) =>
  `${lenHex}00000000000000 ${Buffer.from(text).toString("hex")}`;
/** A split path (filesystem-interfaces.md): kind 0x02, its byte length, then each delimited string. */
const split = (parts: string[]) => {
  const items = parts
    .map(
      (p) =>
        `${Buffer.from(p).length.toString(16).padStart(2, "0")}00000000000000 ${Buffer.from(p).toString("hex")}`,
    )
    .join(" ");
  const n = items.replace(/\s+/g, "").length / 2;
  return `02 ${n.toString(16).padStart(2, "0")}00000000000000 ${items}`;
};
const hexLen = (h: string) => h.replace(/\s+/g, "").length / 2;

/**
 * App ncwdemo::<slug>: opens "log" in its data area, then writes record n (the counter n, u64) at
 * offset 8n, calling GET_PID once each write is acknowledged; `records` of them, or for ever.
 */
function writer(slug: string, records: number | "forever"): string {
  // OPEN_FILE: fsid, variant 0x01 (parent = the app's area, filename "log"), read 0x01, write 0x01
  const open = `${fsidHex} 01 ${split(["home", "user", "appdata", `ncwdemo.${slug}`])} ${str("03", "log")} 01 01`;
  // WRITE_FILE: file (patched), offset (patched each time), length 8, buffer (0x9100, 8), truncate 0x02
  const write =
    "0000000000000000 0000000000000000 0800000000000000 0091000000000000 0800000000000000 02";
  const again =
    records === "forever"
      ? "(br $more)"
      : `(br_if $more (i64.lt_u (local.get $n) (i64.const ${records})))`;
  return systemClient(
    `
      (call $check (i32.const 1) (call $connect (i32.const 0) (i32.const 0) (i64.const 10) (i32.const 0) (i32.const 0)) (i32.const ${OK}))
      (local.set $sock (call $r64 (i32.const 8)))
      (call $check (i32.const 2) (call $sendn (local.get $sock) (i32.const 0x4000) (i32.const 0x8000) (i32.const ${hexLen(open)})) (i32.const ${OK}))
      (call $answer (i32.const 3) (local.get $sock) (i32.const 0x04) (i32.const 8))
      (i64.store (i32.const 0x8600) (i64.load (i32.const 0x7100)))
      (local.set $n (i64.const 0))
      (loop $more
        (i64.store (i32.const 0x9100) (local.get $n))
        (i64.store (i32.const 0x8608) (i64.mul (local.get $n) (i64.const 8)))
        (call $check (i32.const 10) (call $sendn (local.get $sock) (i32.const 0x4003) (i32.const 0x8600) (i32.const ${hexLen(write)})) (i32.const ${OK}))
        (call $answer (i32.const 11) (local.get $sock) (i32.const 0x04) (i32.const 0))
        (drop (call $s0 (i32.const 0x53)))
        (local.set $n (i64.add (local.get $n) (i64.const 1)))
        ${again})`,
    `(data (i32.const 0x8000) "${wat(open)}")\n(data (i32.const 0x8600) "${wat(write)}")`,
  );
}

/**
 * App ncwdemo::<slug>, run twice at once: `rounds` times, it opens "log" in its data area for writing
 * (again after a while while the other process has it open: 0x4000, docs/sysfs.md "Locks"), reads the
 * counter at offset 0 (none yet: 0x3003, an empty file), writes counter + 1 there and the record
 * counter + 1 at offset 8 × (counter + 1), and closes it. With the lock, the two processes' rounds never
 * interleave: the file ends with the counter 2 × rounds and the records 1, 2, … in order.
 */
function sharer(slug: string, rounds: number): string {
  const open = `${fsidHex} 01 ${split(["home", "user", "appdata", `ncwdemo.${slug}`])} ${str("03", "log")} 01 01`;
  // READ_FILE: file (patched), offset 0, length 8, buffer (0x9000, 8)
  const read =
    "0000000000000000 0000000000000000 0800000000000000 0090000000000000 0800000000000000";
  // WRITE_FILE: file (patched), offset (patched), length 8, buffer (0x9100, 8), truncate 0x02 (no)
  const write =
    "0000000000000000 0000000000000000 0800000000000000 0091000000000000 0800000000000000 02";
  const close = "0000000000000000";
  // Send the request at `at`, wait for its answer, read it at 0x7100; its status byte in $i.
  const ask = (id: number, code: number, at: number, hex: string) => `
      (call $check (i32.const ${id}) (call $sendn (local.get $sock) (i32.const ${code}) (i32.const ${at}) (i32.const ${hexLen(hex)})) (i32.const ${OK}))
      (loop $wait (if (i32.eqz (i32.atomic.load (i32.const 0x3520))) (then (call $sleep (i32.const 1)) (br $wait))))
      (call $check (i32.const ${id + 1}) (call $read (local.get $sock) (i32.const 0x7100)) (i32.const ${OK}))
      (local.set $i (call $r8 (i32.const 5)))`;
  const okAnswer = (id: number) =>
    `(call $check (i32.const ${id}) (local.get $i) (i32.const 0x04))`;
  return systemClient(
    `
      (call $check (i32.const 1) (call $connect (i32.const 0) (i32.const 0) (i64.const 10) (i32.const 0) (i32.const 0)) (i32.const ${OK}))
      (local.set $sock (call $r64 (i32.const 8)))
      (local.set $n (i64.const 0))
      (loop $more
        (block $opened (loop $open
          ${ask(10, 0x4000, 0x8000, open)}
          (br_if $opened (i32.eq (local.get $i) (i32.const 0x04)))
          ;; the other process has it open: wait, then again
          (call $check (i32.const 12) (i32.load16_u (i32.const 0x7100)) (i32.const 0x4000))
          (call $sleep (i32.const 1))
          (br $open)))
        (i64.store (i32.const 0x8600) (i64.load (i32.const 0x7100)))
        (i64.store (i32.const 0x8700) (i64.load (i32.const 0x7100)))
        (i64.store (i32.const 0x8800) (i64.load (i32.const 0x7100)))
        (i64.store (i32.const 0x9000) (i64.const 0))
        ${ask(20, 0x4002, 0x8600, read)}
        (if (i32.ne (local.get $i) (i32.const 0x04))
          (then (call $check (i32.const 22) (i32.load16_u (i32.const 0x7100)) (i32.const 0x3003))))
        (i64.store (i32.const 0x9100) (i64.add (i64.load (i32.const 0x9000)) (i64.const 1)))
        ;; the counter first (the file never has a hole), then the record
        (i64.store (i32.const 0x8708) (i64.const 0))
        ${ask(30, 0x4003, 0x8700, write)} ${okAnswer(32)}
        (i64.store (i32.const 0x8708) (i64.mul (i64.load (i32.const 0x9100)) (i64.const 8)))
        ${ask(40, 0x4003, 0x8700, write)} ${okAnswer(42)}
        ${ask(50, 0x4001, 0x8800, close)} ${okAnswer(52)}
        (local.set $n (i64.add (local.get $n) (i64.const 1)))
        (br_if $more (i64.lt_u (local.get $n) (i64.const ${rounds}))))`,
    `(data (i32.const 0x8000) "${wat(open)}")
(data (i32.const 0x8600) "${wat(read)}")
(data (i32.const 0x8700) "${wat(write)}")
(data (i32.const 0x8800) "${wat(close)}")`,
  );
}

/** The records of an app's log, as committed on the image (empty when it cannot be read yet). */
let copies = 0;
function records(slug: string): Buffer {
  const copy = path.join(home.dir, `log${copies++}.bin`);
  const r = home.ncw(["fs", "get", `/home/user/appdata/ncwdemo.${slug}/log`, copy]);
  return r.code === 0 ? readFileSync(copy) : Buffer.alloc(0);
}

function expectRecords(got: Buffer, n: number): void {
  expect(got.length).toBeGreaterThanOrEqual(n * 8);
  for (let i = 0; i < n; i++) expect(got.readBigUInt64LE(i * 8), `record ${i}`).toBe(BigInt(i));
}

async function stopKernel(): Promise<void> {
  const k = home.kernelPid();
  if (k !== undefined && alive(k)) {
    process.kill(k, "SIGTERM");
    expect(await waitFor(() => !alive(k))).toBe(true);
  }
}

let fsidHex = "";
beforeAll(() => {
  const r = home.ncw(["skyer", "list"]);
  expect(r.code, r.stderr).toBe(0);
  fsidHex = imageFsid();
}, 120_000);

describe.skipIf(skipUnless(btrfsProgsMissing()))("sys::fs and an app killed mid-write", () => {
  it("keeps every write acknowledged before the kill, and the image consistent", async () => {
    const program = writer("fsapp", "forever");
    const inst = home.ncw(["skyer", "install", serviceNap(home, "fsapp", program), "--global"]);
    expect(inst.code, inst.stderr).toBe(0);

    const run = spawn(process.execPath, [NCW, "run", "--trace", "ncwdemo::fsapp"], {
      env: home.envFor(),
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    for (const s of [run.stdout, run.stderr]) s.on("data", (d) => (out += d));
    const markers = () => (out.match(/GET_PID/g) ?? []).length;
    expect(await waitFor(() => markers() >= 30, 120_000), out).toBe(true);
    const pid = Number(/\[pid (\d+)\]/.exec(out)?.[1]);
    const kill = home.ncw(["kill", "--force", String(pid)]);
    expect(kill.code, kill.stderr).toBe(0);
    await new Promise<void>((r) => run.once("exit", () => r()));
    // Acknowledged before the kill: at least the records whose marker the test saw.
    const acked = markers();
    expect(await waitFor(() => records("fsapp").length >= acked * 8, 30_000)).toBe(true);
    expectRecords(records("fsapp"), acked);
    await stopKernel();
    expectCheckClean(IMAGE());
  }, 240_000);

  it("two apps writing their files at once both keep every record", async () => {
    const N = 150;
    for (const slug of ["fsone", "fstwo"]) {
      const inst = home.ncw([
        "skyer",
        "install",
        serviceNap(home, slug, writer(slug, N)),
        "--global",
      ]);
      expect(inst.code, inst.stderr).toBe(0);
    }
    const runs = ["fsone", "fstwo"].map((slug) =>
      spawn(process.execPath, [NCW, "run", `ncwdemo::${slug}`], {
        env: home.envFor(),
        stdio: "ignore",
      }),
    );
    const codes = await Promise.all(
      runs.map((r) => new Promise<number | null>((done) => r.once("exit", (c) => done(c)))),
    );
    expect(codes).toEqual([0, 0]);
    // Answered, then committed within the window.
    for (const slug of ["fsone", "fstwo"]) {
      expect(await waitFor(() => records(slug).length >= N * 8, 30_000)).toBe(true);
      expectRecords(records(slug), N);
    }
    await stopKernel();
    expectCheckClean(IMAGE());
  }, 240_000);

  it("two processes writing the same file take turns through OPEN_FILE's lock: no round lost", async () => {
    const ROUNDS = 40;
    const inst = home.ncw([
      "skyer",
      "install",
      serviceNap(home, "fsshare", sharer("fsshare", ROUNDS)),
      "--global",
    ]);
    expect(inst.code, inst.stderr).toBe(0);
    const runs = [0, 1].map(() => {
      const r = spawn(process.execPath, [NCW, "run", "ncwdemo::fsshare"], {
        env: home.envFor(),
        stdio: ["ignore", "ignore", "pipe"],
      });
      let err = "";
      r.stderr?.on("data", (d) => (err += d));
      return { r, err: () => err };
    });
    const codes = await Promise.all(
      runs.map(({ r }) => new Promise<number | null>((done) => r.once("exit", (c) => done(c)))),
    );
    expect(codes, runs.map((x) => x.err()).join("\n")).toEqual([0, 0]);
    const want = 2 * ROUNDS;
    expect(await waitFor(() => records("fsshare").length >= (want + 1) * 8, 30_000)).toBe(true);
    const got = records("fsshare");
    expect(got.length).toBe((want + 1) * 8);
    expect(got.readBigUInt64LE(0)).toBe(BigInt(want));
    for (let i = 1; i <= want; i++)
      expect(got.readBigUInt64LE(i * 8), `record ${i}`).toBe(BigInt(i));
    await stopKernel();
    expectCheckClean(IMAGE());
  }, 240_000);
});
