// Helpers for the command-pipe black-box tests (test/command-pipes.test.ts, bench/commands.ts): WAT
// apps that find their six command pipes in their execution context (specs/applications.md
// "Execution Context"; docs/ipc.md "Command pipes") and use them with PIPE_WRITE / PIPE_READ.

import { CommandPipeOffset } from "../commonassembly/abi/context.js";
import { E, OK, PIPE_IO_FUNCS, program } from "./kernel-helpers.js";

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
