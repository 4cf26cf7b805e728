// Black-box tests of abstract memory segments (specs/kernel/syscalls.md 0x40–0x46, memory.md, ipc.md
// "Shared Memory", signals.md RECV_SHARED_AMS / UNSHARED_AMS; docs/ipc.md "Shared memory") through
// `ncw run`: a parent and its CREATE_PROCESS child of one application share memory that is mapped in both
// WebAssembly memories, so stores and atomics cross with no syscall. Datafields are checked against
// bytes written out by hand; no host segment outlives the processes.

import { readdirSync, readlinkSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { DATAFIELD_FUNCS, E, OK, program, TestHome } from "./kernel-helpers.js";

const home = new TestHome();
afterAll(() => home.cleanup());

/** The shared region's address in the parent (VIRT_MEM_AMS) and its length. */
const S = 0x20000;
const LEN = 0x10000;

const HELPERS = `${DATAFIELD_FUNCS}
  (func $virt (param $at i32) (param $len i32) (result i32)
    (call $s64_64 (i32.const 0x40) (i64.extend_i32_u (local.get $at)) (i64.extend_i32_u (local.get $len))))
  (func $share (param $pid i64) (param $ams i64) (param $cmd i32) (param $notify i32) (param $mode i32) (result i32)
    (call $q (i32.const 1) (local.get $pid)) (call $q (i32.const 9) (local.get $ams)) (call $h (i32.const 17) (local.get $cmd))
    (call $b (i32.const 19) (local.get $notify)) (call $b (i32.const 20) (local.get $mode)) (call $call (i32.const 0x42) (i32.const 21)))
  (func $info (param $ams i64) (result i32) (call $s64 (i32.const 0x43) (local.get $ams)))
  (func $unshare (param $ams i64) (param $pid i64) (result i32) (call $s64_64 (i32.const 0x44) (local.get $ams) (local.get $pid)))
  (func $map (param $ams i64) (param $from i32) (param $at i32) (param $len i32) (result i32)
    (call $q (i32.const 1) (local.get $ams)) (call $q (i32.const 9) (i64.extend_i32_u (local.get $from)))
    (call $q (i32.const 17) (i64.extend_i32_u (local.get $at))) (call $q (i32.const 25) (i64.extend_i32_u (local.get $len)))
    (call $call (i32.const 0x45) (i32.const 33)))
  (func $unmap (param $ams i64) (param $at i32) (result i32)
    (call $s64_64 (i32.const 0x46) (local.get $ams) (i64.extend_i32_u (local.get $at))))
  (func $alloc (param $n i32) (result i32)
    (call $q (i32.const 1) (i64.extend_i32_u (local.get $n))) (call $b (i32.const 9) (i32.const 3)) (call $b (i32.const 10) (i32.const 0))
    (call $check (i32.const 95) (call $call (i32.const 0x30) (i32.const 11)) (i32.const ${OK}))
    (i32.wrap_i64 (call $r64 (i32.const 0))))
  (func $free (param $at i32) (param $pages i32) (result i32)
    (call $s64_64 (i32.const 0x31) (i64.extend_i32_u (local.get $at)) (i64.extend_i32_u (local.get $pages))))
  ;; RECV_SHARED_AMS' datafield goes to 0x5000 (flag 0x5100), UNSHARED_AMS' to 0x5200 (flag 0x5300)
  (func $onShared (param $sig i32) (param $df i32) (result i64)
    (call $copy32 (local.get $df) (i32.const 0x5000)) (i32.atomic.store (i32.const 0x5100) (i32.const 1)) (i64.const 0))
  (func $onUnshared (param $sig i32) (param $df i32) (result i64)
    (call $copy32 (local.get $df) (i32.const 0x5200)) (i32.atomic.store (i32.const 0x5300) (i32.const 1)) (i64.const 0))
  (func $onPipe (param $sig i32) (param $df i32) (result i64) (i64.const 0))
  (elem (i32.const 1) $onShared $onUnshared $onPipe)
  (func $handlers
    (call $check (i32.const 90) (call $s8_64 (i32.const 0x01) (i32.const 0x35) (i64.const 1)) (i32.const ${OK}))
    (call $check (i32.const 91) (call $s8_64 (i32.const 0x01) (i32.const 0x37) (i64.const 2)) (i32.const ${OK}))
    (call $check (i32.const 92) (call $s8_64 (i32.const 0x01) (i32.const 0x20) (i64.const 3)) (i32.const ${OK}))
    (call $check (i32.const 93) (call $s0 (i32.const 0x04)) (i32.const ${OK})))
  ;; Wait until $child has its handlers: OPEN_PIPE (notified) answers 0x33 until its RECV_PIPE handler is known.
  (func $synced (param $child i64) (local $s i32)
    (loop $again
      (call $q (i32.const 1) (local.get $child)) (call $h (i32.const 9) (i32.const 0)) (call $b (i32.const 11) (i32.const 0))
      (call $b (i32.const 12) (i32.const 0)) (call $b (i32.const 13) (i32.const 0)) (call $b (i32.const 14) (i32.const 0))
      (call $q (i32.const 15) (i64.const 0))
      (local.set $s (call $call (i32.const 0x20) (i32.const 23)))
      (if (i32.eq (local.get $s) (i32.const ${E(0x33)})) (then
        (drop (call $s64_16 (i32.const 0x51) (local.get $child) (i32.const 5))) (br $again))))
    (call $check (i32.const 94) (local.get $s) (i32.const ${OK})))`;

/**
 * Parent and child of one application. `pre` runs in the parent before the fork (an AMS made there is
 * in the child's copy of the memory, as a number); `child` runs in the child after its handlers;
 * `parent` in the parent once the child has them. The parent then waits for the child.
 */
function pair(pre: string, child: string, parent: string, childFirst = ""): string {
  return program(
    `(local $child i64) (local $ams i64) (local $ams2 i64) (local $base i32) (local $i i32) (local $v i32)
    ${pre}
    (call $q (i32.const 1) (i64.const 0)) (call $b (i32.const 0) (i32.const 0x50))
    (call $check (i32.const 50) (call $fork (i32.const 0x1000) (i32.const 9) (i32.const 0x2000)) (i32.const ${OK}))
    (local.set $child (call $r64 (i32.const 0)))
    (if (i32.eq (call $r8 (i32.const 8)) (i32.const 1)) (then ${childFirst} (call $handlers) ${child} (call $exit (i64.const 42))))
    (call $synced (local.get $child))
    ${parent}
    (drop (call $s64_16 (i32.const 0x51) (local.get $child) (i32.const 0)))
    (call $exit (i64.const 5))`,
    HELPERS,
  )
    .replace("2 64 shared", "8 64 shared")
    .replace(
      "(memory",
      '(import "nightos" "syscall_fork" (func $fork (param i32 i32 i32) (result i32)))\n  (memory',
    );
}

const le = (v: bigint | number, bytes: number) =>
  Buffer.from(
    Array.from({ length: bytes }, (_, i) => Number((BigInt(v) >> BigInt(8 * i)) & 0xffn)),
  ).toString("hex");

function dumps(out: string, pid: number): string[] {
  return [
    ...out.matchAll(new RegExp(`\\[pid ${pid}\\] SYS_CREATE_PROCESS <([0-9a-f]{64})>`, "g")),
  ].map((m) => m[1] as string);
}

function pids(out: string): { parent: number; child: number } {
  const m = /\[pid (\d+)\] CREATE_PROCESS \{initData: 0\} -> ok \{id: (\d+), identity: 0/.exec(out);
  if (m === null) throw new Error(`no CREATE_PROCESS in:\n${out}`);
  return { parent: Number(m[1]), child: Number(m[2]) };
}

/** The AMS ID the parent's VIRT_MEM_AMS returned (the n-th). */
function amsIds(out: string, pid: number): bigint[] {
  return [
    ...out.matchAll(new RegExp(`\\[pid ${pid}\\] VIRT_MEM_AMS .* -> ok \\{ams: (\\d+)\\}`, "g")),
  ].map((m) => BigInt(m[1] as string));
}

/** The kernel's AMS segments (memfd "ncw:ams<n>:0") still open. */
function amsSegments(): number {
  const pid = home.kernelPid();
  if (pid === undefined) return 0;
  let n = 0;
  try {
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      try {
        if (/memfd:ncw:ams\d+/.test(readlinkSync(`/proc/${pid}/fd/${fd}`))) n++;
      } catch {
        // closed meanwhile
      }
    }
  } catch {
    return 0; // the kernel exited: nothing of it is left
  }
  return n;
}

/** Retry SHARE_AMS while the child has not yet taken the pages (it cannot fail for that): plain call. */
const SHARE = (mode: number, notify = 0, cmd = 0x4321) =>
  `(call $share (local.get $child) (local.get $ams) (i32.const ${cmd}) (i32.const ${notify}) (i32.const ${mode}))`;

describe.skipIf(process.platform !== "linux")("mutual sharing", () => {
  it("a store in one process is a load in the other, atomics add up across processes; RECV_SHARED_AMS and AMS_SHARING_INFO byte for byte; UNSHARE_AMS and UNSHARED_AMS", () => {
    const r = home.run(
      pair(
        `(local.set $ams (call $r64 (i32.const 0)))
        (call $check (i32.const 60) (call $virt (i32.const ${S}) (i32.const ${LEN})) (i32.const ${OK}))
        (local.set $ams (call $r64 (i32.const 0)))
        (i32.store (i32.const ${S}) (i32.const 0xcafe))`,
        `;; the child: RECV_SHARED_AMS, then where the AMS is mapped here
        (call $await (i32.const 0x5100)) (call $dump (i32.const 0x5000))
        (call $check (i32.const 10) (call $info (local.get $ams)) (i32.const ${OK})) (call $dump (i32.const 0x2000))
        (local.set $base (i32.wrap_i64 (call $r64 (i32.const 17))))
        ;; what the parent stored before sharing is here
        (call $check (i32.const 11) (i32.load (local.get $base)) (i32.const 0xcafe))
        ;; 100 000 atomic increments racing the parent's, then "done" at +8
        (loop $l (drop (i32.atomic.rmw.add offset=4 (local.get $base) (i32.const 1)))
          (local.set $i (i32.add (local.get $i) (i32.const 1))) (br_if $l (i32.lt_u (local.get $i) (i32.const 100000))))
        (i32.atomic.store offset=8 (local.get $base) (i32.const 1))
        ;; the parent's store at +12 arrives with no syscall
        (loop $w (br_if $w (i32.ne (i32.atomic.load offset=12 (local.get $base)) (i32.const 0xbeef))))
        (i32.atomic.store offset=16 (local.get $base) (i32.const 1))
        ;; UNSHARE_AMS from the parent: UNSHARED_AMS (proper), the mapping is gone, the AMS too
        (call $await (i32.const 0x5300)) (call $dump (i32.const 0x5200))
        (call $check (i32.const 12) (i32.load (local.get $base)) (i32.const 0))
        (call $check (i32.const 13) (call $info (local.get $ams)) (i32.const ${E(0x30)}))
        (call $check (i32.const 14) (call $unmap (local.get $ams) (i32.const 0)) (i32.const ${E(0x10)}))`,
        `(call $check (i32.const 20) ${SHARE(0x06)} (i32.const ${OK}))
        ;; the sharer's view: itself, the child, mutual, its own range, the command, read | write
        (call $check (i32.const 21) (call $info (local.get $ams)) (i32.const ${OK})) (call $dump (i32.const 0x2000))
        (call $check (i32.const 22) ${SHARE(0x06)} (i32.const ${E(0x02)}))
        (loop $l (drop (i32.atomic.rmw.add (i32.const ${S + 4}) (i32.const 1)))
          (local.set $i (i32.add (local.get $i) (i32.const 1))) (br_if $l (i32.lt_u (local.get $i) (i32.const 100000))))
        (loop $w (br_if $w (i32.eqz (i32.atomic.load (i32.const ${S + 8})))))
        (call $check (i32.const 23) (i32.atomic.load (i32.const ${S + 4})) (i32.const 200000))
        (i32.atomic.store (i32.const ${S + 12}) (i32.const 0xbeef))
        (loop $w (br_if $w (i32.eqz (i32.atomic.load (i32.const ${S + 16})))))
        ;; the registered pages cannot be freed while they are an AMS (0x33)
        (call $check (i32.const 24) (call $free (i32.const ${S}) (i32.const 1)) (i32.const ${E(0x33)}))
        (call $check (i32.const 25) (call $unshare (local.get $ams) (local.get $child)) (i32.const ${OK}))
        (call $check (i32.const 26) (call $unshare (local.get $ams) (local.get $child)) (i32.const ${E(0x32)}))
        (call $check (i32.const 27) (call $info (local.get $ams)) (i32.const ${E(0x30)}))
        ;; the parent still has its pages, with what both wrote
        (call $check (i32.const 28) (i32.load (i32.const ${S})) (i32.const 0xcafe))`,
      ),
    );
    expect(r.stderr).toContain("exited with exit data 5");
    const { parent, child } = pids(r.stderr);
    expect(r.stderr).toContain(`[pid ${child}] EXIT {exitData: 42} -> process ends`);
    const [ams] = amsIds(r.stderr, parent);
    if (ams === undefined) throw new Error(r.stderr);
    const c = dumps(r.stderr, child);
    // RECV_SHARED_AMS: sender PID (8), command (2), AMS ID (8), mode 0x00, permissions read | write
    expect(c[0]).toBe(`${le(parent, 8)}2143${le(ams, 8)}00c0`.padEnd(64, "0"));
    // AMS_SHARING_INFO: sharer, receiver, mode, buffer pointer (address, length), command, permissions
    const info = (addr: number) =>
      `${le(parent, 8)}${le(child, 8)}00${le(addr, 8)}${le(LEN, 8)}`.slice(0, 64);
    expect(c[1]?.slice(0, 34)).toBe(info(0).slice(0, 34));
    expect(c[1]?.slice(50, 64)).toBe(le(LEN, 7));
    // UNSHARED_AMS: unshared properly (0x00)
    expect(c[2]).toBe("0".repeat(64));
    expect(dumps(r.stderr, parent)[0]).toBe(info(S));
    expect(amsSegments()).toBe(0);
  });
});

describe.skipIf(process.platform !== "linux")("permissions", () => {
  it("a store into a read-only share faults the receiver (MEM_FAULT), also after its memory grew; the sharer's bytes stay; a return area there is 0x04", () => {
    const r = home.run(
      pair(
        `(call $check (i32.const 60) (call $virt (i32.const ${S}) (i32.const ${LEN})) (i32.const ${OK}))
        (local.set $ams (call $r64 (i32.const 0)))
        (i32.store (i32.const ${S}) (i32.const 77))`,
        `(call $await (i32.const 0x5100)) (call $dump (i32.const 0x5000))
        (call $check (i32.const 10) (call $info (local.get $ams)) (i32.const ${OK}))
        (local.set $base (i32.wrap_i64 (call $r64 (i32.const 17))))
        (call $check (i32.const 11) (i32.load (local.get $base)) (i32.const 77))
        ;; a syscall answering into the read-only range: the memory permission error
        (call $check (i32.const 12) (call $sys (i32.const 0x1000) (i32.const 1) (local.get $base)) (i32.const ${E(0x04)}))
        ;; MAP_AMS again, read-only too; then a store: the process is killed by MEM_FAULT
        (call $check (i32.const 13) (call $map (local.get $ams) (i32.const 0) (i32.const 0x60000) (i32.const ${LEN})) (i32.const ${OK}))
        (call $check (i32.const 14) (i32.load (i32.const 0x60000)) (i32.const 77))
        (call $check (i32.const 15) (call $free (i32.const 0x60000) (i32.const 1)) (i32.const ${E(0x32)}))
        ;; growing the memory makes every page writable again (V8): a store lands in a private copy,
        ;; the next syscall puts the read-only mapping back (docs/ipc.md)
        (call $check (i32.const 16) (i32.ge_s (memory.grow (i32.const 1)) (i32.const 0)) (i32.const 1))
        (i32.store (local.get $base) (i32.const 2))
        (drop (call $s0 (i32.const 0x53)))
        (call $check (i32.const 17) (i32.load (local.get $base)) (i32.const 77))
        (i32.store (local.get $base) (i32.const 1))`,
        `(call $check (i32.const 20) ${SHARE(0x04)} (i32.const ${OK}))
        (drop (call $s64_16 (i32.const 0x51) (local.get $child) (i32.const 0)))
        (call $check (i32.const 21) (i32.load (i32.const ${S})) (i32.const 77))
        ;; the receiver died: the AMS is still the parent's, shared with nobody
        (call $check (i32.const 22) (call $info (local.get $ams)) (i32.const ${E(0x30)}))
        (call $check (i32.const 23) (call $unmap (local.get $ams) (i32.const ${S})) (i32.const ${OK}))
        (call $check (i32.const 24) (call $unmap (local.get $ams) (i32.const ${S})) (i32.const ${E(0x30)}))
        (call $check (i32.const 25) (i32.load (i32.const ${S})) (i32.const 77))`,
      ),
    );
    expect(r.stderr).toContain("exited with exit data 5");
    const { parent, child } = pids(r.stderr);
    expect(r.stderr).toMatch(new RegExp(`\\[pid ${child}\\] MEM_FAULT: out-of-bounds write`));
    const [ams] = amsIds(r.stderr, parent);
    // read-only: permissions 0x80
    expect(dumps(r.stderr, child)[0]).toBe(
      `${le(parent, 8)}2143${le(ams ?? 0n, 8)}0080`.padEnd(64, "0"),
    );
    expect(amsSegments()).toBe(0);
  });

  it("copy-on-write: the receiver's stores stay its own", () => {
    const r = home.run(
      pair(
        `(call $check (i32.const 60) (call $virt (i32.const ${S}) (i32.const ${LEN})) (i32.const ${OK}))
        (local.set $ams (call $r64 (i32.const 0)))
        (i32.store (i32.const ${S}) (i32.const 5))`,
        `(call $await (i32.const 0x5100))
        (call $check (i32.const 10) (call $info (local.get $ams)) (i32.const ${OK}))
        (local.set $base (i32.wrap_i64 (call $r64 (i32.const 17))))
        (call $check (i32.const 11) (i32.load (local.get $base)) (i32.const 5))
        (i32.store (local.get $base) (i32.const 6))
        (call $check (i32.const 12) (i32.load (local.get $base)) (i32.const 6))
        (i32.atomic.store (i32.const 0x5400) (i32.const 1))`,
        `(call $check (i32.const 20) ${SHARE(0x0e)} (i32.const ${OK}))
        (drop (call $s64_16 (i32.const 0x51) (local.get $child) (i32.const 0)))
        (call $check (i32.const 21) (i32.load (i32.const ${S})) (i32.const 5))`,
      ),
    );
    expect(r.stderr).toContain("exited with exit data 5");
    const { child } = pids(r.stderr);
    expect(r.stderr).toContain(`[pid ${child}] EXIT {exitData: 42} -> process ends`);
  });
});

describe.skipIf(process.platform !== "linux")("exclusive sharing", () => {
  it("mode 0x09 gives the pages away: the sharer's range is zeros and free, the receiver owns the AMS (0x21 on UNSHARE_AMS)", () => {
    const r = home.run(
      pair(
        `(local.set $v (call $alloc (i32.const ${LEN})))
        (call $check (i32.const 60) (call $virt (local.get $v) (i32.const ${LEN})) (i32.const ${OK}))
        (local.set $ams (call $r64 (i32.const 0)))
        (i32.store (local.get $v) (i32.const 0x1234))`,
        `(call $await (i32.const 0x5100)) (call $dump (i32.const 0x5000))
        (call $check (i32.const 10) (call $info (local.get $ams)) (i32.const ${OK})) (call $dump (i32.const 0x2000))
        (local.set $base (i32.wrap_i64 (call $r64 (i32.const 17))))
        (call $check (i32.const 11) (i32.load (local.get $base)) (i32.const 0x1234))
        (i32.store (local.get $base) (i32.const 0x5678))
        (call $check (i32.const 12) (call $unshare (local.get $ams) (i64.const 0)) (i32.const ${E(0x21)}))`,
        `(call $check (i32.const 20) ${SHARE(0x09)} (i32.const ${OK}))
        (call $check (i32.const 21) (i32.load (local.get $v)) (i32.const 0))
        (call $check (i32.const 22) (call $info (local.get $ams)) (i32.const ${E(0x30)}))
        (call $check (i32.const 23) ${SHARE(0x06)} (i32.const ${E(0x02)}))
        ;; the pages went back to the allocator: freeing them again says they are not allocated
        (call $check (i32.const 24) (call $free (local.get $v) (i32.const 1)) (i32.const ${E(0x32)}))`,
      ),
    );
    expect(r.stderr).toContain("exited with exit data 5");
    const { parent, child } = pids(r.stderr);
    expect(r.stderr).toContain(`[pid ${child}] EXIT {exitData: 42} -> process ends`);
    const [ams] = amsIds(r.stderr, parent);
    const c = dumps(r.stderr, child);
    // exclusive: mode 0x01, permissions 0b11100000
    expect(c[0]).toBe(`${le(parent, 8)}2143${le(ams ?? 0n, 8)}01e0`.padEnd(64, "0"));
    // AMS_SHARING_INFO: the sharer, this receiver, exclusive (0x01)
    expect(c[1]?.slice(0, 34)).toBe(`${le(parent, 8)}${le(child, 8)}01`);
    expect(amsSegments()).toBe(0);
  });

  it("mode 0x08 leaves the sharer a private copy", () => {
    const r = home.run(
      pair(
        `(call $check (i32.const 60) (call $virt (i32.const ${S}) (i32.const ${LEN})) (i32.const ${OK}))
        (local.set $ams (call $r64 (i32.const 0)))
        (i32.store (i32.const ${S}) (i32.const 0x1234))`,
        `(call $await (i32.const 0x5100))
        (call $check (i32.const 10) (call $info (local.get $ams)) (i32.const ${OK}))
        (local.set $base (i32.wrap_i64 (call $r64 (i32.const 17))))
        (i32.store (local.get $base) (i32.const 0x5678))`,
        `(call $check (i32.const 20) ${SHARE(0x08)} (i32.const ${OK}))
        (drop (call $s64_16 (i32.const 0x51) (local.get $child) (i32.const 0)))
        (call $check (i32.const 21) (i32.load (i32.const ${S})) (i32.const 0x1234))`,
      ),
    );
    expect(r.stderr).toContain("exited with exit data 5");
  });
});

describe.skipIf(process.platform !== "linux")("lifetimes", () => {
  it("a CREATE_PROCESS child inherits no AMS, only a private copy of its bytes", () => {
    const r = home.run(
      program(
        `(local $child i64) (local $ams i64) (local $base i32)
        (call $handlers)
        (call $check (i32.const 60) (call $virt (i32.const ${S}) (i32.const ${LEN})) (i32.const ${OK}))
        (local.set $ams (call $r64 (i32.const 0)))
        (i32.store (i32.const ${S}) (i32.const 9))
        (call $q (i32.const 1) (i64.const 0)) (call $b (i32.const 0) (i32.const 0x50))
        (call $check (i32.const 50) (call $fork (i32.const 0x1000) (i32.const 9) (i32.const 0x2000)) (i32.const ${OK}))
        (local.set $child (call $r64 (i32.const 0)))
        (if (i32.eq (call $r8 (i32.const 8)) (i32.const 1)) (then
          ;; inherited: the bytes, not the AMS
          (call $check (i32.const 10) (i32.load (i32.const ${S})) (i32.const 9))
          (call $check (i32.const 11) (call $info (local.get $ams)) (i32.const ${E(0x30)}))
          (call $check (i32.const 12) (call $unmap (local.get $ams) (i32.const 0)) (i32.const ${E(0x10)}))
          (i32.store (i32.const ${S}) (i32.const 10))
          (call $exit (i64.const 42))))
        (call $check (i32.const 20) (i32.load (i32.const ${S})) (i32.const 9))
        (drop (call $s64_16 (i32.const 0x51) (local.get $child) (i32.const 0)))
        (call $check (i32.const 21) (i32.load (i32.const ${S})) (i32.const 9))
        (call $exit (i64.const 5))`,
        HELPERS,
      )
        .replace("2 64 shared", "8 64 shared")
        .replace(
          "(memory",
          '(import "nightos" "syscall_fork" (func $fork (param i32 i32 i32) (result i32)))\n  (memory',
        ),
    );
    expect(r.stderr).toContain("exited with exit data 5");
    const { child } = pids(r.stderr);
    expect(r.stderr).toContain(`[pid ${child}] EXIT {exitData: 42} -> process ends`);
    expect(amsSegments()).toBe(0);
  });

  it("a receiver is told by UNSHARED_AMS (brutal) when the sharer ends without UNSHARE_AMS", () => {
    const r = home.run(
      pair(
        `(call $handlers)
        (call $check (i32.const 70) (call $s0 (i32.const 0x53)) (i32.const ${OK}))
        (i64.store (i32.const 0x5708) (call $r64 (i32.const 0)))`,
        `;; the child shares with its parent (whose PID it has in its copy of the memory), then ends
        (call $check (i32.const 10) (call $virt (i32.const ${S}) (i32.const ${LEN})) (i32.const ${OK}))
        (local.set $ams (call $r64 (i32.const 0)))
        (i32.store (i32.const ${S}) (i32.const 31))
        (call $check (i32.const 11) (call $share (i64.load (i32.const 0x5708)) (local.get $ams) (i32.const 7) (i32.const 0) (i32.const 0x06)) (i32.const ${OK}))
        (loop $w (br_if $w (i32.eqz (i32.atomic.load (i32.const ${S + 4})))))`,
        `(call $await (i32.const 0x5100)) (call $dump (i32.const 0x5000))
        (local.set $ams (i64.load (i32.const 0x500a)))
        (call $check (i32.const 20) (call $info (local.get $ams)) (i32.const ${OK}))
        (local.set $base (i32.wrap_i64 (call $r64 (i32.const 17))))
        (call $check (i32.const 21) (i32.load (local.get $base)) (i32.const 31))
        (i32.atomic.store offset=4 (local.get $base) (i32.const 1))
        (call $await (i32.const 0x5300)) (call $dump (i32.const 0x5200))
        (call $check (i32.const 22) (call $info (local.get $ams)) (i32.const ${E(0x30)}))
        (call $check (i32.const 23) (i32.load (local.get $base)) (i32.const 0))`,
      ),
    );
    expect(r.stderr).toContain("exited with exit data 5");
    const { parent, child } = pids(r.stderr);
    const p = dumps(r.stderr, parent);
    expect(p[0]?.slice(0, 20)).toBe(`${le(child, 8)}0700`);
    // UNSHARED_AMS: the other process brutally terminated (0x01)
    expect(p[1]).toBe("01".padEnd(64, "0"));
    expect(amsSegments()).toBe(0);
  });
});

describe.skipIf(process.platform !== "linux")("errcodes", () => {
  it("VIRT_MEM_AMS, BACKED_AMS, SHARE_AMS, AMS_SHARING_INFO, UNSHARE_AMS, MAP_AMS, UNMAP_AMS", () => {
    const r = home.run(
      pair(
        `(call $check (i32.const 60) (call $virt (i32.const ${S}) (i32.const ${LEN})) (i32.const ${OK}))
        (local.set $ams (call $r64 (i32.const 0)))
        ;; VIRT_MEM_AMS: 0x10 start unaligned, 0x11 length unaligned, 0x30 out of range, 0x02 address 0,
        ;; already an AMS there
        (call $check (i32.const 61) (call $virt (i32.const 0x30001) (i32.const 0x1000)) (i32.const ${E(0x10)}))
        (call $check (i32.const 62) (call $virt (i32.const 0x30000) (i32.const 0x1001)) (i32.const ${E(0x11)}))
        (call $check (i32.const 63) (call $virt (i32.const 0x7f0000) (i32.const 0x1000)) (i32.const ${E(0x30)}))
        (call $check (i32.const 64) (call $s64_64 (i32.const 0x40) (i64.const 0xfffff000) (i64.const 0x2000)) (i32.const ${E(0x30)}))
        (call $check (i32.const 65) (call $virt (i32.const 0) (i32.const 0x1000)) (i32.const ${E(0x02)}))
        (call $check (i32.const 66) (call $virt (i32.const ${S}) (i32.const 0x1000)) (i32.const ${E(0x02)}))
        ;; BACKED_AMS: 0x10 COW mode, 0x11 length, 0x02 length 0 (the rest: kernel-ams-backed.test.ts)
        (call $q (i32.const 1) (i64.const 0x1000)) (call $b (i32.const 9) (i32.const 2))
        (call $check (i32.const 67) (call $call (i32.const 0x41) (i32.const 10)) (i32.const ${E(0x10)}))
        (call $q (i32.const 1) (i64.const 0x1001)) (call $b (i32.const 9) (i32.const 0))
        (call $check (i32.const 68) (call $call (i32.const 0x41) (i32.const 10)) (i32.const ${E(0x11)}))
        (call $q (i32.const 1) (i64.const 0)) (call $b (i32.const 9) (i32.const 1))
        (call $check (i32.const 69) (call $call (i32.const 0x41) (i32.const 10)) (i32.const ${E(0x02)}))
        ;; MAP_AMS: 0x30 unknown, 0x31 past the AMS, 0x32 past the memory, 0x02 unaligned or overlapping
        (call $check (i32.const 70) (call $map (i64.const 999999) (i32.const 0) (i32.const 0x60000) (i32.const 0x1000)) (i32.const ${E(0x30)}))
        (call $check (i32.const 71) (call $map (local.get $ams) (i32.const 0x8000) (i32.const 0x60000) (i32.const 0x9000)) (i32.const ${E(0x31)}))
        (call $check (i32.const 72) (call $map (local.get $ams) (i32.const 0) (i32.const 0x7ff000) (i32.const 0x2000)) (i32.const ${E(0x32)}))
        (call $check (i32.const 73) (call $map (local.get $ams) (i32.const 0) (i32.const 0x60010) (i32.const 0x1000)) (i32.const ${E(0x02)}))
        (call $check (i32.const 74) (call $map (local.get $ams) (i32.const 0) (i32.const ${S + 0x1000}) (i32.const 0x1000)) (i32.const ${E(0x02)}))
        ;; a second mapping of the same AMS in the same process: one memory
        (local.set $v (call $alloc (i32.const 0x2000)))
        (call $check (i32.const 75) (call $map (local.get $ams) (i32.const 0x1000) (local.get $v) (i32.const 0x2000)) (i32.const ${OK}))
        (i32.store (i32.const ${S + 0x1000}) (i32.const 99))
        (call $check (i32.const 76) (i32.load (local.get $v)) (i32.const 99))
        (call $check (i32.const 77) (call $free (local.get $v) (i32.const 2)) (i32.const ${E(0x32)}))
        ;; UNMAP_AMS: 0x10 unknown, 0x30 not mapped there; then the pages are the process' own again
        (call $check (i32.const 78) (call $unmap (i64.const 999999) (i32.const 0)) (i32.const ${E(0x10)}))
        (call $check (i32.const 79) (call $unmap (local.get $ams) (i32.const 0x60000)) (i32.const ${E(0x30)}))
        (call $check (i32.const 80) (call $unmap (local.get $ams) (local.get $v)) (i32.const ${OK}))
        (call $check (i32.const 81) (i32.load (local.get $v)) (i32.const 99))
        (i32.store (i32.const ${S + 0x1000}) (i32.const 100))
        (call $check (i32.const 82) (i32.load (local.get $v)) (i32.const 99))
        (call $check (i32.const 83) (call $free (local.get $v) (i32.const 2)) (i32.const ${OK}))
        ;; AMS_SHARING_INFO / UNSHARE_AMS: 0x30 unknown (or not shared), 0x32 not shared with
        (call $check (i32.const 84) (call $info (i64.const 999999)) (i32.const ${E(0x30)}))
        (call $check (i32.const 85) (call $info (local.get $ams)) (i32.const ${E(0x30)}))
        (call $check (i32.const 86) (call $unshare (i64.const 999999) (i64.const 0)) (i32.const ${E(0x30)}))
        (call $check (i32.const 87) (call $unshare (local.get $ams) (i64.const 0)) (i32.const ${E(0x32)}))`,
        `;; the child lives until its sharing ends
        (call $await (i32.const 0x5300))`,
        `;; SHARE_AMS: 0x10 notification, 0x11 mode, 0x20 no permissions, 0x02 unknown AMS or target,
        ;; 0x12 exclusive on an AMS already shared, 0x40 no room in the receiver
        (call $check (i32.const 20) ${SHARE(0x06, 2)} (i32.const ${E(0x10)}))
        (call $check (i32.const 21) ${SHARE(0x10)} (i32.const ${E(0x11)}))
        (call $check (i32.const 22) ${SHARE(0x00)} (i32.const ${E(0x20)}))
        (call $check (i32.const 23) (call $share (local.get $child) (i64.const 999999) (i32.const 0) (i32.const 0) (i32.const 6)) (i32.const ${E(0x02)}))
        (call $check (i32.const 24) (call $share (i64.const 999999) (local.get $ams) (i32.const 0) (i32.const 0) (i32.const 6)) (i32.const ${E(0x02)}))
        ;; a 3.75 MiB AMS cannot fit in the child's memory (64 pages at most)
        (drop (memory.grow (i32.const 56)))
        (call $check (i32.const 29) (call $virt (i32.const 0x40000) (i32.const 0x3c0000)) (i32.const ${OK}))
        (local.set $ams2 (call $r64 (i32.const 0)))
        (call $check (i32.const 30) (call $share (local.get $child) (local.get $ams2) (i32.const 0) (i32.const 1) (i32.const 6)) (i32.const ${E(0x40)}))
        (call $check (i32.const 25) ${SHARE(0x04, 1)} (i32.const ${OK}))
        (call $check (i32.const 26) ${SHARE(0x09)} (i32.const ${E(0x12)}))
        (call $check (i32.const 27) (call $unshare (local.get $ams) (i64.const 999999)) (i32.const ${E(0x32)}))
        (call $check (i32.const 28) (call $unshare (local.get $ams) (i64.const 0)) (i32.const ${OK}))
`,
      ),
    );
    expect(r.stderr).toContain("exited with exit data 5");
    const { child } = pids(r.stderr);
    expect(r.stderr).toContain(`[pid ${child}] EXIT {exitData: 42} -> process ends`);
    expect(amsSegments()).toBe(0);
  });
});
