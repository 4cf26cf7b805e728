// Helpers for the command-pipe black-box tests (test/command-pipes.test.ts, bench/commands.ts): WAT
// apps that find their six command pipes in their execution context (specs/applications.md
// "Execution Context"; docs/ipc.md "Command pipes") and use them with PIPE_WRITE / PIPE_READ.

import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { expect } from "vitest";
import { CommandPipeOffset } from "../commonassembly/abi/context.js";
import { E, OK, PIPE_IO_FUNCS, program, type TestHome } from "./kernel-helpers.js";

/** Where the app copies its context header (EXECUTION_CONTEXT info 0x02). */
export const CTX = 0x4000;

/** Bytes as a WAT data string. */
export function watBytes(b: Uint8Array | number[]): string {
  return [...b].map((x) => `\\${x.toString(16).padStart(2, "0")}`).join("");
}

/**
 * The command-pipe functions: `$ctx` (load the header), `$cmdin` … `$cmdout` (the identifiers),
 * `$write sc count buf mode` and `$read rc mode buf len` (status), `$close id` (status),
 * `$r32` (the 4-byte value of the last call).
 */
export const COMMAND_FUNCS = `
  (func $ctx (call $check (i32.const 70) (call $s8_64 (i32.const 0xa0) (i32.const 0x02) (i64.const ${CTX})) (i32.const 0)))
  (func $cmdin (result i64) (i64.load (i32.const ${CTX + CommandPipeOffset.cmdin})))
  (func $cmdusr (result i64) (i64.load (i32.const ${CTX + CommandPipeOffset.cmdusr})))
  (func $cmdmsg (result i64) (i64.load (i32.const ${CTX + CommandPipeOffset.cmdmsg})))
  (func $cmderr (result i64) (i64.load (i32.const ${CTX + CommandPipeOffset.cmderr})))
  (func $cmdraw (result i64) (i64.load (i32.const ${CTX + CommandPipeOffset.cmdraw})))
  (func $cmdout (result i64) (i64.load (i32.const ${CTX + CommandPipeOffset.cmdout})))
  ${PIPE_IO_FUNCS}
  (func $close (param $id i64) (result i32) (call $s64 (i32.const 0x25) (local.get $id)))`;

/**
 * A command app: `body` runs after `$ctx` (its locals, declared first, in `locals`); `extra` adds
 * functions, data and table entries.
 */
export function commandApp(body: string, extra = "", locals = ""): string {
  return program(`${locals} (call $ctx) ${body}`, `${COMMAND_FUNCS}\n${extra}`);
}

/** Reads CMDIN once (what is there once a first byte came, at most 64 KiB) and returns the count. */
export const HEAD_APP = commandApp(
  `(call $check (i32.const 3) (call $read (call $cmdin) (i32.const 0) (i32.const 0x10000) (i32.const 0)) (i32.const ${OK}))
  (i64.store (i32.const 0x6000) (i64.const 9)) (i32.store8 (i32.const 0x6008) (i32.const 0x02))
  (i64.store (i32.const 0x6009) (i64.extend_i32_u (call $r32)))
  (call $check (i32.const 5) (call $write (call $cmdout) (i32.const 17) (i32.const 0x6000) (i32.const 0)) (i32.const ${OK}))`,
);

/** CMDIN to CMDRAW until CMDIN closes (a NightOS `cat`); exit data 0. */
export const CAT_APP = commandApp(
  `(block $done (loop $more
    (local.set $s (call $read (call $cmdin) (i32.const 0) (i32.const 0x10000) (i32.const 0)))
    (br_if $done (i32.eq (local.get $s) (i32.const ${E(0x31)})))
    (call $check (i32.const 3) (local.get $s) (i32.const ${OK}))
    (call $check (i32.const 4) (call $write (call $cmdraw) (call $r32) (i32.const 0x10000) (i32.const 0)) (i32.const ${OK}))
    (br $more)))`,
  "",
  "(local $s i32)",
);

/**
 * Packs `<slug>` (did ncwtest) running `wat`, with `commands` (TOML) in its manifest, into
 * `<home>/<slug>.nap` with `ncw ca asm` and `ncw pack`, and returns the package's path.
 */
export function commandNap(home: TestHome, slug: string, wat: string, commands: string): string {
  const dir = path.join(home.dir, slug);
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    path.join(dir, "manifest.toml"),
    [
      'type = "application"',
      "[infos]",
      `name = "${slug}"`,
      `slug = "${slug}"`,
      'did = "ncwtest"',
      'description = "test app"',
      'version = "1.0.0"',
      'authors = [{ name = "Ada" }]',
      'icon = "icon-%{}.svg"',
      'license = "MIT"',
      "[content.program]",
      'precomp = "main.npp"',
      "[dependencies.libraries]",
      "[sysfeatures]",
      "crash_saves_support = false",
      commands,
    ].join("\n"),
  );
  writeFileSync(path.join(dir, "icon-16.svg"), "<svg/>\n");
  const asm = home.ncw([
    "ca",
    "asm",
    home.write(`${slug}.wat`, wat),
    "-o",
    path.join(dir, "main.npp"),
  ]);
  expect(asm.code, asm.stderr).toBe(0);
  const nap = path.join(home.dir, `${slug}.nap`);
  const pack = home.ncw(["pack", dir, "-o", nap]);
  expect(pack.code, pack.stderr).toBe(0);
  return nap;
}

/**
 * `wc -c` on CMDIN (the benchmarks' counting command): reads CMDIN to its end, 64 KiB at a time, and
 * returns how many bytes came as an int on CMDOUT.
 */
export const COUNT_CMDIN_APP = program(
  `(local $s i32) (local $n i64)
  (call $ctx)
  (block $done (loop $more
    (local.set $s (call $read (call $cmdin) (i32.const 0) (i32.const 0x10000) (i32.const 0)))
    (br_if $done (i32.eq (local.get $s) (i32.const 0x131)))
    (call $check (i32.const 3) (local.get $s) (i32.const 0))
    (local.set $n (i64.add (local.get $n) (i64.extend_i32_u (call $r32))))
    (br $more)))
  (i64.store (i32.const 0x6000) (i64.const 9)) (i32.store8 (i32.const 0x6008) (i32.const 0x02))
  (i64.store (i32.const 0x6009) (local.get $n))
  (call $check (i32.const 5) (call $write (call $cmdout) (i32.const 17) (i32.const 0x6000) (i32.const 0)) (i32.const 0))`,
  COMMAND_FUNCS,
);

/**
 * `<cmd> <n: int>`: n bytes of `a` from a 64 KiB buffer, in 64 KiB writes, to `pipe`. As a typed
 * string (`header`): first the value's header on CMDOUT, `len(1 + 8 + n) 05 <n>`, then the bytes.
 */
export function producerApp(pipe: "cmdout" | "cmdraw", header: boolean): string {
  const head = header
    ? `(i64.store (i32.const 0x6000) (i64.add (local.get $n) (i64.const 9)))
  (i32.store8 (i32.const 0x6008) (i32.const 0x05)) (i64.store (i32.const 0x6009) (local.get $n))
  (call $check (i32.const 5) (call $write (call $cmdout) (i32.const 17) (i32.const 0x6000) (i32.const 0)) (i32.const 0))`
    : "";
  return program(
    `(local $n i64) (local $k i32)
  (call $ctx)
  (call $check (i32.const 70) (call $s8_64 (i32.const 0xa0) (i32.const 0x03) (i64.const 0x5000)) (i32.const 0))
  (call $check (i32.const 71) (i32.load8_u (i32.const 0x5008)) (i32.const 0x02))
  (local.set $n (i64.load (i32.const 0x5009)))
  (memory.fill (i32.const 0x10000) (i32.const 0x61) (i32.const 0x10000))
  ${head}
  (block $done (loop $more
    (br_if $done (i64.eqz (local.get $n)))
    (local.set $k (if (result i32) (i64.gt_u (local.get $n) (i64.const 0x10000))
      (then (i32.const 0x10000)) (else (i32.wrap_i64 (local.get $n)))))
    (call $check (i32.const 6) (call $write (call $${pipe}) (local.get $k) (i32.const 0x10000) (i32.const 0)) (i32.const 0))
    (local.set $n (i64.sub (local.get $n) (i64.extend_i32_u (local.get $k))))
    (br $more)))`,
    COMMAND_FUNCS,
  );
}
