// Helpers for the kernel's black-box tests (test/kernel-*.test.ts): CommonAssembly test programs in
// the WebAssembly text format with small syscall wrappers, and running them through `ncw run`.

import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { expect } from "vitest";

export const NCW = path.join(
  path.dirname(fileURLToPath(import.meta.url)),
  "..",
  "dist",
  "cli",
  "ncw.js",
);

/** The pseudo-terminal driver (python3's pty module): JSON steps on stdin, JSON output on stdout. */
export const PTY_DRIVER = path.join(
  path.dirname(fileURLToPath(import.meta.url)),
  "helpers",
  "pty-drive.py",
);

/**
 * `ncw <args>` on `h` on a real pseudo-terminal: at each step, waits until the terminal's output
 * matches `expect` (a regular expression) and types `key`; then the whole output and the exit code
 * (the shell's `exit=`). Fails the test when a step's text never came.
 */
export function onPty(
  h: TestHome,
  args: string[],
  steps: { expect: string; key: string }[],
  extra: Record<string, string> = {},
): { output: string; code: number } {
  const cmd = [process.execPath, NCW, ...args].map((a) => `"${a}"`).join(" ");
  const driver = spawnSync("python3", [PTY_DRIVER, "sh", "-c", `${cmd}; echo "exit=$?"`], {
    env: h.envFor(extra),
    input: JSON.stringify(
      steps.map((s) => ({ expect: s.expect, send: Buffer.from(s.key).toString("hex") })),
    ),
    timeout: 120_000,
  });
  const res = JSON.parse(driver.stdout.toString()) as { output: string; failed: string | null };
  expect(res.failed, res.output).toBeNull();
  return { output: res.output, code: Number(/exit=(\d+)/.exec(res.output)?.[1]) };
}

/** Request buffer at 0x1000, return area at 0x2000, scratch from 0x3000. */
export const REQ = 0x1000;
export const RET = 0x2000;

/**
 * A test program: `body` is the body of `_start`; `funcs` more functions (signal handlers go in the
 * table with `(elem (i32.const N) $f)` in `extra`). Exits with exit data 0 when `_start` returns.
 */
export function program(body: string, extra = ""): string {
  return `(module
  (import "nightos" "syscall" (func $sys (param i32 i32 i32) (result i32)))
  (memory (export "memory") 2 64 shared)
  (table (export "__indirect_function_table") 16 funcref)
  (func $b (param $off i32) (param $v i32) (i32.store8 (i32.add (i32.const ${REQ}) (local.get $off)) (local.get $v)))
  (func $h (param $off i32) (param $v i32) (i32.store16 (i32.add (i32.const ${REQ}) (local.get $off)) (local.get $v)))
  (func $q (param $off i32) (param $v i64) (i64.store (i32.add (i32.const ${REQ}) (local.get $off)) (local.get $v)))
  (func $call (param $code i32) (param $len i32) (result i32)
    (call $b (i32.const 0) (local.get $code))
    (call $sys (i32.const ${REQ}) (local.get $len) (i32.const ${RET})))
  (func $r64 (param $off i32) (result i64) (i64.load (i32.add (i32.const ${RET}) (local.get $off))))
  (func $r8 (param $off i32) (result i32) (i32.load8_u (i32.add (i32.const ${RET}) (local.get $off))))
  (func $exit (param $v i64)
    (call $q (i32.const 1) (local.get $v))
    (drop (call $call (i32.const 0x5f) (i32.const 9)))
    unreachable)
  ;; exit with $id if $got != $want
  (func $check (param $id i32) (param $got i32) (param $want i32)
    (if (i32.ne (local.get $got) (local.get $want)) (then (call $exit (i64.extend_i32_u (local.get $id))))))
  (func $check64 (param $id i32) (param $got i64) (param $want i64)
    (if (i64.ne (local.get $got) (local.get $want)) (then (call $exit (i64.extend_i32_u (local.get $id))))))
  ;; syscall shapes: no args, one u8, one u64, u8+u64, u64+u16, u64+u64, u64+bufptr
  (func $s0 (param $c i32) (result i32) (call $call (local.get $c) (i32.const 1)))
  (func $s8 (param $c i32) (param $a i32) (result i32)
    (call $b (i32.const 1) (local.get $a)) (call $call (local.get $c) (i32.const 2)))
  (func $s64 (param $c i32) (param $a i64) (result i32)
    (call $q (i32.const 1) (local.get $a)) (call $call (local.get $c) (i32.const 9)))
  (func $s8_64 (param $c i32) (param $a i32) (param $x i64) (result i32)
    (call $b (i32.const 1) (local.get $a)) (call $q (i32.const 2) (local.get $x)) (call $call (local.get $c) (i32.const 10)))
  (func $s64_16 (param $c i32) (param $a i64) (param $x i32) (result i32)
    (call $q (i32.const 1) (local.get $a)) (call $h (i32.const 9) (local.get $x)) (call $call (local.get $c) (i32.const 11)))
  (func $s64_64 (param $c i32) (param $a i64) (param $x i64) (result i32)
    (call $q (i32.const 1) (local.get $a)) (call $q (i32.const 9) (local.get $x)) (call $call (local.get $c) (i32.const 17)))
  (func $s64_buf (param $c i32) (param $a i64) (param $addr i64) (param $len i64) (result i32)
    (call $q (i32.const 1) (local.get $a)) (call $q (i32.const 9) (local.get $addr)) (call $q (i32.const 17) (local.get $len))
    (call $call (local.get $c) (i32.const 25)))
  ${extra}
  (func (export "_start") ${body}))`;
}

/**
 * Parent and child of one application: `child` runs in the CREATE_PROCESS child, `parent` in the caller
 * (both after `$handlers`, which `helpers` defines). The child exits with 42, the parent with 5 once the
 * child ended. 8 pages of memory.
 */
export function forkPair(child: string, parent: string, helpers: string): string {
  return program(
    `(local $child i64) (local $id i64) (local $v i32)
    (call $handlers)
    (call $q (i32.const 1) (i64.const 0)) (call $b (i32.const 0) (i32.const 0x50))
    (call $check (i32.const 50) (call $fork (i32.const 0x1000) (i32.const 9) (i32.const 0x2000)) (i32.const ${OK}))
    (local.set $child (call $r64 (i32.const 0)))
    (if (i32.eq (call $r8 (i32.const 8)) (i32.const 1)) (then (call $handlers) ${child} (call $exit (i64.const 42))))
    ${parent}
    (drop (call $s64_16 (i32.const 0x51) (local.get $child) (i32.const 0)))
    (call $exit (i64.const 5))`,
    helpers,
  )
    .replace("2 64 shared", "8 64 shared")
    .replace(
      "(memory",
      '(import "nightos" "syscall_fork" (func $fork (param i32 i32 i32) (result i32)))\n  (memory',
    );
}

/**
 * Datafield helpers for the signal tests: `$dump at` refuses SYS_CREATE_PROCESS with the 32 bytes at
 * `at` as its raw arguments, so the trace shows them (read back with `dumps`); `$copy32 from to` copies
 * a 32-byte datafield out of a handler; `$await a` spins until the i32 at `a` is set.
 */
export const DATAFIELD_FUNCS = `
  (func $dump (param $at i32)
    (call $q (i32.const 1) (i64.load (local.get $at))) (call $q (i32.const 9) (i64.load offset=8 (local.get $at)))
    (call $q (i32.const 17) (i64.load offset=16 (local.get $at))) (call $q (i32.const 25) (i64.load offset=24 (local.get $at)))
    (drop (call $call (i32.const 0xd0) (i32.const 33))))
  (func $copy32 (param $from i32) (param $to i32)
    (i64.store (local.get $to) (i64.load (local.get $from)))
    (i64.store offset=8 (local.get $to) (i64.load offset=8 (local.get $from)))
    (i64.store offset=16 (local.get $to) (i64.load offset=16 (local.get $from)))
    (i64.store offset=24 (local.get $to) (i64.load offset=24 (local.get $from))))
  (func $await (param $a i32) (loop $w (br_if $w (i32.eqz (i32.atomic.load (local.get $a))))))`;

/**
 * PIPE_WRITE and PIPE_READ (specs/kernel/syscalls.md 0x22, 0x23): `$write sc count buf mode` and
 * `$read rc mode buf len` (status); `$r32` is the 4-byte value of the last call.
 */
export const PIPE_IO_FUNCS = `
  (func $write (param $sc i64) (param $count i32) (param $buf i32) (param $mode i32) (result i32)
    (call $q (i32.const 1) (local.get $sc)) (i32.store (i32.const 0x1009) (local.get $count))
    (call $q (i32.const 13) (i64.extend_i32_u (local.get $buf))) (call $b (i32.const 21) (local.get $mode))
    (call $call (i32.const 0x22) (i32.const 22)))
  (func $read (param $rc i64) (param $mode i32) (param $buf i32) (param $len i32) (result i32)
    (call $q (i32.const 1) (local.get $rc)) (call $b (i32.const 9) (local.get $mode))
    (call $q (i32.const 10) (i64.extend_i32_u (local.get $buf))) (call $q (i32.const 18) (i64.extend_i32_u (local.get $len)))
    (call $call (i32.const 0x23) (i32.const 26)))
  (func $r32 (result i32) (i32.load (i32.const 0x2000)))`;

/**
 * A byte pattern to carry and check: `$fill at n seed` sets bytes at..at+n to (i * 7 + seed) & 0xff,
 * `$same at n seed` is 1 when they hold it, else 0.
 */
export const PATTERN_FUNCS = `
  (func $fill (param $at i32) (param $n i32) (param $seed i32) (local $i i32)
    (block $d (loop $l (br_if $d (i32.ge_u (local.get $i) (local.get $n)))
      (i32.store8 (i32.add (local.get $at) (local.get $i)) (i32.add (i32.mul (local.get $i) (i32.const 7)) (local.get $seed)))
      (local.set $i (i32.add (local.get $i) (i32.const 1))) (br $l))))
  (func $same (param $at i32) (param $n i32) (param $seed i32) (result i32) (local $i i32)
    (block $d (loop $l (br_if $d (i32.ge_u (local.get $i) (local.get $n)))
      (if (i32.ne (i32.load8_u (i32.add (local.get $at) (local.get $i)))
                  (i32.and (i32.add (i32.mul (local.get $i) (i32.const 7)) (local.get $seed)) (i32.const 0xff)))
        (then (return (i32.const 0))))
      (local.set $i (i32.add (local.get $i) (i32.const 1))) (br $l)))
    (i32.const 1))`;

/**
 * Runs `body` with the pid of a process of another application (another `ncw run`, READY and
 * spinning), which is killed afterwards. Kept free of vitest: the benchmarks import this file too.
 */
export async function withOtherApp(home: TestHome, body: (pid: number) => void): Promise<void> {
  const other = home.spawnRun(
    program(`(drop (call $s0 (i32.const 0x04))) (loop $spin (br $spin))`),
  );
  try {
    if (!(await waitFor(() => /\[pid (\d+)\] READY/.test(other.output()), 20_000)))
      throw new Error(`the other application never got READY:\n${other.output()}`);
    body(Number(/\[pid (\d+)\] READY/.exec(other.output())?.[1]));
  } finally {
    other.kill("SIGKILL");
  }
}

/** `v` as `bytes` little-endian bytes, in hex. */
export const le = (v: bigint | number, bytes: number) =>
  Buffer.from(
    Array.from({ length: bytes }, (_, i) => Number((BigInt(v) >> BigInt(8 * i)) & 0xffn)),
  ).toString("hex");

/** The 32-byte blocks process `pid` dumped (a `$dump` refuses SYS_CREATE_PROCESS with them as raw arguments). */
export function dumps(out: string, pid: number): string[] {
  return [
    ...out.matchAll(new RegExp(`\\[pid ${pid}\\] SYS_CREATE_PROCESS <([0-9a-f]{64})>`, "g")),
  ].map((m) => m[1] as string);
}

export function pids(out: string): { parent: number; child: number } {
  const m = /\[pid (\d+)\] CREATE_PROCESS \{initData: 0\} -> ok \{id: (\d+), identity: 0/.exec(out);
  if (m === null) throw new Error(`no CREATE_PROCESS in:\n${out}`);
  return { parent: Number(m[1]), child: Number(m[2]) };
}

export const OK = 0;
/** ABI 1.1: the status the new thread of CREATE_THREAD gets (its answer at ret + 40). */
export const NEW_THREAD = 1;
/** The status value of an errcode (0x100 | code), for `$check`. */
export const E = (code: number) => 0x100 | code;

export interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

export class TestHome {
  readonly dir = mkdtempSync(path.join(os.tmpdir(), "ncw-kernel-test-"));
  readonly home = path.join(this.dir, "home");
  constructor(readonly env: Record<string, string> = {}) {}

  envFor(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
    return {
      ...process.env,
      NCW_HOME: this.home,
      NCW_KERNEL_IDLE_MS: "4000",
      NO_COLOR: "1",
      ...this.env,
      ...extra,
    };
  }

  write(name: string, text: string | Uint8Array): string {
    const f = path.join(this.dir, name);
    writeFileSync(f, text);
    return f;
  }

  ncw(args: string[], extra: Record<string, string> = {}): Result {
    const r = spawnSync(process.execPath, [NCW, ...args], {
      env: this.envFor(extra),
      encoding: "utf8",
      timeout: 60_000,
      // A signal-backed AMS traces every word it serves: far more than the default 1 MiB.
      maxBuffer: 256 * 1024 * 1024,
    });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  }

  /** `ncw skyer install <nap> --json [extra…]`: the installed app's ANID (throws on a failed install). */
  install(nap: string, extra: string[] = []): number {
    const r = this.ncw(["skyer", "install", nap, "--json", ...extra]);
    if (r.code !== 0) throw new Error(`ncw skyer install ${nap} exited ${r.code}: ${r.stderr}`);
    return (JSON.parse(r.stdout) as { anid: number }).anid;
  }

  /** `ncw run --trace <program>`: the exit code and the trace. */
  run(wat: string, args: string[] = [], extra: Record<string, string> = {}): Result {
    const f = this.write(`p${Math.random().toString(36).slice(2)}.wat`, wat);
    return this.ncw(["run", "--trace", f, ...args], extra);
  }

  spawnRun(
    wat: string,
    args: string[] = [],
    extra: Record<string, string> = {},
  ): ChildProcess & { output: () => string } {
    const f = this.write(`p${Math.random().toString(36).slice(2)}.wat`, wat);
    return this.spawnNcw(["run", "--trace", f, ...args], extra);
  }

  /** `ncw <args>` in the background on this home; its stdout and stderr so far, together. */
  spawnNcw(
    args: string[],
    extra: Record<string, string> = {},
  ): ChildProcess & { output: () => string } {
    const child = spawn(process.execPath, [NCW, ...args], {
      env: this.envFor(extra),
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout?.on("data", (d) => {
      out += d;
    });
    child.stderr?.on("data", (d) => {
      out += d;
    });
    return Object.assign(child, { output: () => out });
  }

  kernelPid(): number | undefined {
    try {
      return Number(readFileSync(path.join(this.home, "run", "kernel.pid"), "utf8").trim());
    } catch {
      return undefined;
    }
  }

  /** Stop the kernel (if any) and remove the folder. */
  cleanup(): void {
    const pid = this.kernelPid();
    if (pid) {
      try {
        process.kill(pid, "SIGTERM");
      } catch {
        // already gone
      }
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export async function waitFor(cond: () => boolean, ms = 30_000, step = 25): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, step));
  }
  return cond();
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Host PIDs whose parent is `ppid` (Linux /proc). */
export function childrenOf(ppid: number): number[] {
  const r = spawnSync("ps", ["-o", "pid=", "--ppid", String(ppid)], { encoding: "utf8" });
  return r.stdout
    .split("\n")
    .map((s) => Number(s.trim()))
    .filter((n) => n > 0);
}
