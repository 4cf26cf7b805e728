// The service app and client programs of the services' black-box tests (test/kernel-services.test.ts,
// docs/services.md): a NightOS application exposing a main service and scoped ones, installed with
// Skyer, and client programs run with `ncw run`, in the WebAssembly text format.

import { cpSync, existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { E, NEW_THREAD, OK, program, REQ, RET, type TestHome } from "./kernel-helpers.js";

/** The scoped services of the test app; each behaves as its name says (the process reads its context). */
export const SCOPES = ["slow", "noready", "trap"] as const;

/** A scope name's 8 bytes as the i64 the programs store (little-endian, zero-padded). */
export function scopeI64(name: string): bigint {
  const b = Buffer.alloc(8);
  b.write(name, "latin1");
  return b.readBigUInt64LE(0);
}

/** What the service does with a request, chosen by the client's command code. */
export const Cmd = {
  ACCEPT: 1,
  REJECT: 2,
  /** Leave the request unanswered (the client's CONNECT_SERVICE fails after the delay). */
  HOLD: 3,
  /** Accept the request held by HOLD (too late: 0x41), then accept this one. */
  LATE_THEN_ACCEPT: 4,
  /** Accept; the client thread then traps. */
  TRAP: 5,
} as const;

const SLEEP = `
  ;; sleep about $ms milliseconds (a wait that no one wakes), safepoints between the slices
  (func $sleep (param $ms i32)
    (loop $l
      (if (i32.gt_s (local.get $ms) (i32.const 0))
        (then
          (drop (memory.atomic.wait32 (i32.const 0x3f00) (i32.const 0) (i64.const 10000000)))
          (local.set $ms (i32.sub (local.get $ms) (i32.const 10)))
          (br $l)))))`;

/**
 * The service: reads its execution context (exits 71 unless the startup reason is "service" 0x40, 72
 * when the service type and scope disagree), handles SERVICE_CONN_REQUEST / SERVICE_CLIENT_CLOSED /
 * SERVICE_CLIENT_QUITTED, calls READY (after 300 ms for "slow", never for "noready"), then answers each
 * request from its loop as the command says. A client thread waits until its connection closes, then
 * ends with EXIT_THREAD; its syscalls use an area of its own (0x4000 + 0x100 × (id mod 16)).
 */
export const SERVICE_WAT = serviceWat(false);

/**
 * The service app's program; `busy`: its loops poll with HAND_OVER (0x56), which sleeps until a signal
 * is raised for the process or 1 ms passes, instead of sleeping 10 ms (bench/services.ts).
 */
export function serviceWat(busy: boolean): string {
  const handOver = (area: string) =>
    `(i32.store8 ${area} (i32.const 0x56)) (drop (call $sys ${area} (i32.const 1) (i32.add ${area} (i32.const 0x80))))`;
  const nap = busy ? handOver(`(i32.const ${REQ})`) : "(call $sleep (i32.const 10))";
  const clientNap = busy ? handOver("(local.get $base)") : nap;
  return `(module
  (import "nightos" "syscall" (func $sys (param i32 i32 i32) (result i32)))
  (import "nightos" "syscall_fork" (func $fork (param i32 i32 i32) (result i32)))
  (memory (export "memory") 2 64 shared)
  (table (export "__indirect_function_table") 8 funcref)
  (elem (i32.const 1) $onreq $onclosed $onquit $onmsg)
  (func $exit (param $v i64)
    (i32.store8 (i32.const ${REQ}) (i32.const 0x5f)) (i64.store (i32.const ${REQ + 1}) (local.get $v))
    (drop (call $sys (i32.const ${REQ}) (i32.const 9) (i32.const ${RET}))) unreachable)
  (func $handle (param $sig i32) (param $idx i32)
    (i32.store8 (i32.const ${REQ}) (i32.const 0x01)) (i32.store8 (i32.const ${REQ + 1}) (local.get $sig))
    (i64.store (i32.const ${REQ + 2}) (i64.extend_i32_u (local.get $idx)))
    (if (i32.ne (call $sys (i32.const ${REQ}) (i32.const 10) (i32.const ${RET})) (i32.const 0))
      (then (call $exit (i64.const 70)))))
  (func $answer (param $code i32) (param $id i64) (result i32)
    (i32.store8 (i32.const ${REQ}) (local.get $code)) (i64.store (i32.const ${REQ + 1}) (local.get $id))
    (call $sys (i32.const ${REQ}) (i32.const 9) (i32.const ${RET})))
  ;; SERVICE_CONN_REQUEST: queue the request (ID, command) for the loop: 16 entries at 0x3800, the
  ;; count queued at 0x3100, the count taken at 0x3104
  (func $onreq (param $sig i32) (param $df i32) (result i64)
    (local $at i32)
    (local.set $at (i32.add (i32.const 0x3800) (i32.shl (i32.and (i32.load (i32.const 0x3100)) (i32.const 15)) (i32.const 4))))
    (i64.store (local.get $at) (i64.load offset=8 (local.get $df)))
    (i32.store offset=8 (local.get $at) (i32.load16_u offset=16 (local.get $df)))
    (i32.store (i32.const 0x3100) (i32.add (i32.load (i32.const 0x3100)) (i32.const 1)))
    (i64.const 0))
  ;; SERVICE_CLIENT_CLOSED / SERVICE_CLIENT_QUITTED, run by the connection's client thread (NCW: the
  ;; connection ID in the datafield): it may end. 128 marks (0x3200–0x33FF): a connection's mark must
  ;; not alias a live one's (bench/services.ts makes 60 connections while the holder's stays open)
  (func $mark (param $df i32)
    (i32.atomic.store (i32.add (i32.const 0x3200)
      (i32.shl (i32.wrap_i64 (i64.and (i64.load (local.get $df)) (i64.const 127))) (i32.const 2)))
      (i32.const 1)))
  (func $onclosed (param $sig i32) (param $df i32) (result i64) (call $mark (local.get $df)) (i64.const 0))
  (func $onquit (param $sig i32) (param $df i32) (result i64) (call $mark (local.get $df)) (i64.const 0))
  ;; RECV_SOCK_MSG: the exchange ID for the socket's client thread, at 0x3600 + 8 × (socket mod 16)
  (func $onmsg (param $sig i32) (param $df i32) (result i64)
    (i64.atomic.store (i32.add (i32.const 0x3600)
      (i32.shl (i32.wrap_i64 (i64.and (i64.load (local.get $df)) (i64.const 15))) (i32.const 3)))
      (i64.load offset=8 (local.get $df)))
    (i64.const 0))
  ${SLEEP}
  ;; a client thread: answers each method call (an 8-byte number: the number + 1, method code 1, which
  ;; concludes the exchange) until its connection is marked closed; its own syscall area at $base
  (func $client (param $id i64) (param $cmd i32) (param $sock i64)
    (local $base i32) (local $slot i32) (local $ex i64)
    (local.set $base (i32.add (i32.const 0x4000)
      (i32.shl (i32.wrap_i64 (i64.and (local.get $id) (i64.const 15))) (i32.const 8))))
    (local.set $slot (i32.add (i32.const 0x3600)
      (i32.shl (i32.wrap_i64 (i64.and (local.get $sock) (i64.const 15))) (i32.const 3))))
    (if (i32.eq (local.get $cmd) (i32.const ${Cmd.TRAP})) (then unreachable))
    ;; GET_PID (0x53): a marker for the benchmark (the thread runs)
    (i32.store8 (local.get $base) (i32.const 0x53))
    (drop (call $sys (local.get $base) (i32.const 1) (i32.add (local.get $base) (i32.const 0x80))))
    (loop $wait
      (local.set $ex (i64.atomic.rmw.xchg (local.get $slot) (i64.const 0)))
      (if (i64.ne (local.get $ex) (i64.const 0))
        (then
          ;; READ_SOCK_MSG (0x28): socket, buffer at $base + 0xc0
          (i32.store8 (local.get $base) (i32.const 0x28))
          (i64.store (i32.add (local.get $base) (i32.const 1)) (local.get $sock))
          (i64.store (i32.add (local.get $base) (i32.const 9)) (i64.extend_i32_u (i32.add (local.get $base) (i32.const 0xc0))))
          (if (i32.ne (call $sys (local.get $base) (i32.const 17) (i32.add (local.get $base) (i32.const 0x80))) (i32.const 0))
            (then unreachable))
          (i64.store (i32.add (local.get $base) (i32.const 0xc0))
            (i64.add (i64.load (i32.add (local.get $base) (i32.const 0xc0))) (i64.const 1)))
          ;; SEND_SOCK_MSG (0x27): socket, exchange, method u16 1, error 0, content (bufptr)
          (i32.store8 (local.get $base) (i32.const 0x27))
          (i64.store (i32.add (local.get $base) (i32.const 1)) (local.get $sock))
          (i64.store (i32.add (local.get $base) (i32.const 9)) (local.get $ex))
          (i32.store16 (i32.add (local.get $base) (i32.const 17)) (i32.const 1))
          (i32.store16 (i32.add (local.get $base) (i32.const 19)) (i32.const 0))
          (i64.store (i32.add (local.get $base) (i32.const 21)) (i64.extend_i32_u (i32.add (local.get $base) (i32.const 0xc0))))
          (i64.store (i32.add (local.get $base) (i32.const 29)) (i64.const 8))
          (if (i32.ne (call $sys (local.get $base) (i32.const 37) (i32.add (local.get $base) (i32.const 0x80))) (i32.const 0))
            (then unreachable))))
      (if (i32.eqz (i32.atomic.load (i32.add (i32.const 0x3200)
            (i32.shl (i32.wrap_i64 (i64.and (local.get $id) (i64.const 127))) (i32.const 2)))))
        (then ${clientNap} (br $wait))))
    ;; EXIT_THREAD (0x6F) with exit data 0
    (i32.store8 (local.get $base) (i32.const 0x6f)) (i32.store (i32.add (local.get $base) (i32.const 1)) (i32.const 0))
    (drop (call $sys (local.get $base) (i32.const 5) (i32.add (local.get $base) (i32.const 0x80))))
    unreachable)
  ;; ACCEPT_SERVICE_CONN through syscall_fork: the client thread (status 1) serves, the dispatcher goes on
  (func $accept (param $id i64) (param $cmd i32)
    (local $st i32)
    (i32.store8 (i32.const ${REQ}) (i32.const 0x2c)) (i64.store (i32.const ${REQ + 1}) (local.get $id))
    (local.set $st (call $fork (i32.const ${REQ}) (i32.const 9) (i32.const ${RET})))
    (if (i32.eq (local.get $st) (i32.const ${NEW_THREAD}))
      (then
        ;; its answer at ret + 40: notClientThread 0x00
        (if (i32.ne (i32.load8_u (i32.const ${RET + 40})) (i32.const 0)) (then unreachable))
        (call $client (local.get $id) (local.get $cmd) (i64.load (i32.const ${RET + 41})))))
    (if (i32.eq (local.get $st) (i32.const ${OK}))
      (then (if (i32.ne (i32.load8_u (i32.const ${RET})) (i32.const 1)) (then (call $exit (i64.const 74)))))))
  (func (export "_start")
    (local $cmd i32) (local $id i64)
    ;; EXECUTION_CONTEXT (0xA0), the header, at 0x3000
    (i32.store8 (i32.const ${REQ}) (i32.const 0xa0)) (i32.store8 (i32.const ${REQ + 1}) (i32.const 2))
    (i64.store (i32.const ${REQ + 2}) (i64.const 0x3000))
    (if (i32.ne (call $sys (i32.const ${REQ}) (i32.const 10) (i32.const ${RET})) (i32.const 0))
      (then (call $exit (i64.const 70))))
    (if (i32.ne (i32.load8_u (i32.const 0x3000)) (i32.const 0x40)) (then (call $exit (i64.const 71))))
    ;; service type 0x01 (main) has a zero scope, 0x02 (scoped) a non-zero one
    (if (i32.ne (i32.eq (i32.load8_u (i32.const 0x3003)) (i32.const 1)) (i64.eqz (i64.load (i32.const 0x3004))))
      (then (call $exit (i64.const 72))))
    (call $handle (i32.const 0x2a) (i32.const 1))
    (call $handle (i32.const 0x2b) (i32.const 2))
    (call $handle (i32.const 0x2c) (i32.const 3))
    (call $handle (i32.const 0x27) (i32.const 4))
    (if (i64.eq (i64.load (i32.const 0x3004)) (i64.const ${scopeI64("slow")})) (then (call $sleep (i32.const 300))))
    (if (i64.eq (i64.load (i32.const 0x3004)) (i64.const ${scopeI64("noready")}))
      (then (loop $never (call $sleep (i32.const 100)) (br $never))))
    ;; READY (0x04)
    (i32.store8 (i32.const ${REQ}) (i32.const 0x04))
    (drop (call $sys (i32.const ${REQ}) (i32.const 1) (i32.const ${RET})))
    (loop $serve
      ${nap}
      (if (i32.ne (i32.load (i32.const 0x3100)) (i32.load (i32.const 0x3104)))
        (then
          (local.set $cmd (i32.load offset=8 (i32.add (i32.const 0x3800)
            (i32.shl (i32.and (i32.load (i32.const 0x3104)) (i32.const 15)) (i32.const 4)))))
          (local.set $id (i64.load (i32.add (i32.const 0x3800)
            (i32.shl (i32.and (i32.load (i32.const 0x3104)) (i32.const 15)) (i32.const 4)))))
          (i32.store (i32.const 0x3104) (i32.add (i32.load (i32.const 0x3104)) (i32.const 1)))
          (if (i32.eq (local.get $cmd) (i32.const ${Cmd.REJECT}))
            (then (drop (call $answer (i32.const 0x2d) (local.get $id)))))
          (if (i32.eq (local.get $cmd) (i32.const ${Cmd.HOLD}))
            (then (i64.store (i32.const 0x3400) (local.get $id))))
          (if (i32.eq (local.get $cmd) (i32.const ${Cmd.LATE_THEN_ACCEPT}))
            (then (call $accept (i64.load (i32.const 0x3400)) (i32.const ${Cmd.ACCEPT}))))
          (if (i32.or (i32.or (i32.eq (local.get $cmd) (i32.const ${Cmd.ACCEPT})) (i32.eq (local.get $cmd) (i32.const ${Cmd.TRAP})))
                (i32.eq (local.get $cmd) (i32.const ${Cmd.LATE_THEN_ACCEPT})))
            (then (call $accept (local.get $id) (local.get $cmd))))))
      (br $serve))))`;
}

/** The hello example (from test/ when vitest runs the sources, from dist/test/ for the benchmark). */
const HELLO = [
  path.resolve(import.meta.dirname, "../examples/hello"),
  path.resolve(import.meta.dirname, "../../examples/hello"),
].find((d) => existsSync(d)) as string;

/**
 * The package folder of the service app: the hello example's manifest with a `services` table;
 * `integration` is the body of its `[services.integration]` table (e.g. `file_manager = true`).
 */
export function serviceNap(
  h: Pick<TestHome, "dir" | "ncw">,
  slug = "svc",
  wat = SERVICE_WAT,
  integration = "",
): string {
  const dir = path.join(h.dir, slug);
  cpSync(HELLO, dir, { recursive: true });
  const watFile = path.join(h.dir, `${slug}.wat`);
  writeFileSync(watFile, wat);
  const asm = h.ncw(["ca", "asm", watFile, "-o", path.join(dir, "main.npp")]);
  if (asm.code !== 0) throw new Error(`ncw ca asm: ${asm.stderr}`);
  const manifest = path.join(dir, "manifest.toml");
  const text = readFileSync(manifest, "utf8")
    .replace('slug = "hello"', `slug = "${slug}"`)
    .replace(/\[commands\.hello[\s\S]*?(?=\[sysfeatures\])/, "");
  writeFileSync(
    manifest,
    `${text}\n[services]\nmain = true\nscoped = [${SCOPES.map((s) => `"${s}"`).join(", ")}]\n[services.integration]\n${integration}\n[services.driver]\n`,
  );
  const nap = path.join(h.dir, `${slug}.nap`);
  const pack = h.ncw(["pack", dir, "-o", nap]);
  if (pack.code !== 0) throw new Error(`ncw pack: ${pack.stderr}`);
  rmSync(dir, { recursive: true, force: true });
  return nap;
}

/** Client helpers for program(): CONNECT_SERVICE, END_SERVICE_CONN, HAS_SCOPED_SERVICE, sleep. */
export const CLIENT_FUNCS = `
  ;; CONNECT_SERVICE (0x2A): anid u32, target type u8, scope 8 bytes, command u16, flexible mode u8
  (func $connect (param $anid i32) (param $type i32) (param $scope i64) (param $cmd i32) (param $flex i32) (result i32)
    (i32.store (i32.const ${REQ + 1}) (local.get $anid))
    (call $b (i32.const 5) (local.get $type))
    (i64.store (i32.const ${REQ + 6}) (local.get $scope))
    (call $h (i32.const 14) (local.get $cmd))
    (call $b (i32.const 16) (local.get $flex))
    (call $call (i32.const 0x2a) (i32.const 17)))
  ;; HAS_SCOPED_SERVICE (0x2E): anid u32, scope 8 bytes
  (func $has (param $anid i32) (param $scope i64) (result i32)
    (i32.store (i32.const ${REQ + 1}) (local.get $anid))
    (i64.store (i32.const ${REQ + 5}) (local.get $scope))
    (call $call (i32.const 0x2e) (i32.const 13)))
  ;; SEND_SOCK_MSG (0x27): socket, exchange, method u16, error u16, content (8 bytes at $buf)
  (func $send8 (param $s i64) (param $x i64) (param $m i32) (param $buf i32) (result i32)
    (call $q (i32.const 1) (local.get $s)) (call $q (i32.const 9) (local.get $x)) (call $h (i32.const 17) (local.get $m))
    (call $h (i32.const 19) (i32.const 0)) (call $q (i32.const 21) (i64.extend_i32_u (local.get $buf)))
    (call $q (i32.const 29) (i64.const 8)) (call $call (i32.const 0x27) (i32.const 37)))
  ;; READ_SOCK_MSG (0x28): socket, buffer
  (func $read (param $s i64) (param $buf i32) (result i32)
    (call $q (i32.const 1) (local.get $s)) (call $q (i32.const 9) (i64.extend_i32_u (local.get $buf)))
    (call $call (i32.const 0x28) (i32.const 17)))
  ;; RECV_SOCK_MSG's handler: a flag at 0x3520
  (func $onmsg (param $sig i32) (param $df i32) (result i64)
    (i32.atomic.store (i32.const 0x3520) (i32.const 1)) (i64.const 0))
  ;; SERVICE_SERVER_QUITTED's handler: the datafield's request ID at 0x3508, a flag at 0x3500
  (func $onserverquit (param $sig i32) (param $df i32) (result i64)
    (i64.store (i32.const 0x3508) (i64.load (local.get $df)))
    (i32.store (i32.const 0x3500) (i32.const 1))
    (i64.const 0))
  ${SLEEP}`;

/** A client program: `body` with the client helpers ($connect, $has, $sleep; $s64 0x2b = END). */
export function client(body: string): string {
  return program(body, `(elem (i32.const 1) $onserverquit $onmsg) ${CLIENT_FUNCS}`);
}

/** A client that connects to the main service with `cmd`, says so, and holds the connection. */
export function holder(anid: number): string {
  return client(`
    (call $check (i32.const 1) (call $connect (i32.const ${anid}) (i32.const 0) (i64.const 0) (i32.const ${Cmd.ACCEPT}) (i32.const 0)) (i32.const ${OK}))
    (loop $hold (call $sleep (i32.const 50)) (br $hold))`);
}

/**
 * A client of a system service (test/kernel-system-services.test.ts, test/kernel-sysfs.test.ts): `b` runs
 * after RECV_SOCK_MSG's handler and READY are set up; `fields` are module fields (data segments). Helpers:
 * SEND_SOCK_MSG of `len` bytes at `buf`, the RECV_SOCK_MSG wait, READ_SOCK_MSG's checks.
 */
export const systemClient = (b: string, fields = ""): string =>
  client(`
  (local $sock i64) (local $conn i64) (local $n i64) (local $pid i64) (local $i i32) (local $len i32)
  ;; RECV_SOCK_MSG (0x27) to handler 2 ($onmsg: a flag at 0x3520)
  (call $check (i32.const 100) (call $s8_64 (i32.const 0x01) (i32.const 0x27) (i64.const 2)) (i32.const ${OK}))
  ;; READY (0x04): signals wait for it
  (call $check (i32.const 101) (call $s0 (i32.const 0x04)) (i32.const ${OK}))
  ${b}`).replace(
    '(func (export "_start")',
    `${fields}
  (func $sendn (param $s i64) (param $m i32) (param $buf i32) (param $len i32) (result i32)
    (i32.atomic.store (i32.const 0x3520) (i32.const 0))
    (call $q (i32.const 1) (local.get $s)) (call $q (i32.const 9) (i64.const 0)) (call $h (i32.const 17) (local.get $m))
    (call $h (i32.const 19) (i32.const 0)) (call $q (i32.const 21) (i64.extend_i32_u (local.get $buf)))
    (call $q (i32.const 29) (i64.extend_i32_u (local.get $len))) (call $call (i32.const 0x27) (i32.const 37)))
  ;; wait for RECV_SOCK_MSG, read the message at 0x7100: exit $id+1.. unless retrieved with $status and $written bytes
  (func $answer (param $id i32) (param $s i64) (param $status i32) (param $written i32)
    (loop $wait (if (i32.eqz (i32.atomic.load (i32.const 0x3520))) (then (call $sleep (i32.const 5)) (br $wait))))
    (call $check (local.get $id) (call $read (local.get $s) (i32.const 0x7100)) (i32.const ${OK}))
    (call $check (i32.add (local.get $id) (i32.const 1)) (call $r8 (i32.const 4)) (i32.const 1))
    (call $check (i32.add (local.get $id) (i32.const 2)) (call $r8 (i32.const 5)) (local.get $status))
    (call $check (i32.add (local.get $id) (i32.const 3)) (i32.load (i32.const ${0x2000})) (local.get $written)))
  (func (export "_start")`,
  );

// Method calls to a system service from a systemClient (its $sock), answers checked byte for byte.

/** UTF-8 bytes. */
export const enc = (s: string) => [...new TextEncoder().encode(s)];
/** `v` as `n` little-endian bytes. */
export const le = (v: number, n: number) =>
  Array.from({ length: n }, (_, i) => Number((BigInt(v) >> BigInt(8 * i)) & 0xffn));
/** A delimited string (data-structures.md): its byte length on 8 bytes, then UTF-8. */
export const str = (s: string) => [...le(enc(s).length, 8), ...enc(s)];
/** Bytes stored from `addr` on. */
export const put = (addr: number, bytes: number[]) =>
  bytes.map((b, i) => `(i32.store8 (i32.const ${addr + i}) (i32.const ${b}))`).join(" ");

/** $same: exit $id unless the $n bytes at 0x7100 (the answer) are those at $want. */
export const SAME = `
  (func $same (param $id i32) (param $want i32) (param $n i32) (local $i i32)
    (block $done (loop $l
      (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
      (call $check (local.get $id) (i32.load8_u (i32.add (i32.const 0x7100) (local.get $i)))
        (i32.load8_u (i32.add (local.get $want) (local.get $i))))
      (local.set $i (i32.add (local.get $i) (i32.const 1))) (br $l))))`;

/** Call method `m` with `args` (bytes, at 0x7000), expect an answer of exactly `want` (status 0x04). */
export function expectAnswer(
  id: number,
  m: number,
  args: number[],
  want: number[],
  at = 0x9000,
): string {
  return `${put(0x7000, args)} ${put(at, want)}
      (call $check (i32.const ${id}) (call $sendn (local.get $sock) (i32.const ${m}) (i32.const 0x7000) (i32.const ${args.length})) (i32.const ${OK}))
      (call $answer (i32.const ${id + 1}) (local.get $sock) (i32.const 0x04) (i32.const ${want.length}))
      (call $same (i32.const ${id + 5}) (i32.const ${at}) (i32.const ${want.length}))`;
}
/** Call method `m` with `args`, expect an error message (status 0x06) whose 2 bytes are `errcode`. */
export function expectError(id: number, m: number, args: number[], errcode: number): string {
  return `${put(0x7000, args)}
      (call $check (i32.const ${id}) (call $sendn (local.get $sock) (i32.const ${m}) (i32.const 0x7000) (i32.const ${args.length})) (i32.const ${OK}))
      (call $answer (i32.const ${id + 1}) (local.get $sock) (i32.const 0x06) (i32.const 2))
      (call $check (i32.const ${id + 5}) (i32.load16_u (i32.const 0x7100)) (i32.const ${errcode}))`;
}

export { E, OK };
