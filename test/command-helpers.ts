// Helpers for the command-pipe black-box tests (test/command-pipes.test.ts, bench/commands.ts): WAT
// apps that find their six command pipes in their execution context (specs/applications.md
// "Execution Context"; docs/ipc.md "Command pipes") and use them with PIPE_WRITE / PIPE_READ.

import { CommandPipeOffset } from "../commonassembly/abi/context.js";
import { program } from "./kernel-helpers.js";

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
  (func $write (param $sc i64) (param $count i32) (param $buf i32) (param $mode i32) (result i32)
    (call $q (i32.const 1) (local.get $sc)) (i32.store (i32.const 0x1009) (local.get $count))
    (call $q (i32.const 13) (i64.extend_i32_u (local.get $buf))) (call $b (i32.const 21) (local.get $mode))
    (call $call (i32.const 0x22) (i32.const 22)))
  (func $read (param $rc i64) (param $mode i32) (param $buf i32) (param $len i32) (result i32)
    (call $q (i32.const 1) (local.get $rc)) (call $b (i32.const 9) (local.get $mode))
    (call $q (i32.const 10) (i64.extend_i32_u (local.get $buf))) (call $q (i32.const 18) (i64.extend_i32_u (local.get $len)))
    (call $call (i32.const 0x23) (i32.const 26)))
  (func $close (param $id i64) (result i32) (call $s64 (i32.const 0x25) (local.get $id)))
  (func $r32 (result i32) (i32.load (i32.const 0x2000)))`;

/**
 * A command app: `body` runs after `$ctx` (its locals, declared first, in `locals`); `extra` adds
 * functions, data and table entries.
 */
export function commandApp(body: string, extra = "", locals = ""): string {
  return program(`${locals} (call $ctx) ${body}`, `${COMMAND_FUNCS}\n${extra}`);
}
