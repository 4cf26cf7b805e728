// The application-proxy messages (technical/dev-mode.md "Application proxies"; docs/kernel.md
// "Application proxies"): NCW's layout, the spec gives none. A proxied process' runner writes one CALL
// message per syscall on the calls pipe; the proxy answers each with one ANSWER message on the answers
// pipe. Both pipes are message pipes; every field is little-endian, as the ABI's.

import { AbiError } from "./error.js";
import { SYSCALL_REQ_MAX, SYSCALL_RET_SIZE } from "./wasm-names.js";

/** RECV_PIPE's command code for the calls pipe's RC (the proxy reads CALL messages from it). */
export const PROXY_CALLS_COMMAND = 0xfe01;
/** RECV_PIPE's command code for the answers pipe's SC (the proxy writes ANSWER messages to it). */
export const PROXY_ANSWERS_COMMAND = 0xfe02;

/** CALL: pid u64 @0, thread u32 @8, call u32 @12, code u8 @16, reserved u8 @17, length u16 @18. */
export const PROXY_CALL_HEADER_SIZE = 20;
/** The longest argument bytes a call carries: a request's bytes after its code. */
export const PROXY_ARGS_MAX = SYSCALL_REQ_MAX - 1;
/** ANSWER: call u32 @0, action u8 @4, failed u8 @5, errcode u8 @6, reserved u8 @7, then the payload. */
export const PROXY_ANSWER_HEADER_SIZE = 8;
/** The longest ANSWER: a header and a request's argument bytes. */
export const PROXY_ANSWER_MAX = PROXY_ANSWER_HEADER_SIZE + PROXY_ARGS_MAX;

/** What the proxy does with a call (ANSWER byte 4). */
export const ProxyAction = {
  /** Let the call go to the system as the app made it (no payload). */
  PASS: 0x00,
  /** Let it go with these argument bytes instead (the payload), checked as the app's would be. */
  PASS_ARGS: 0x01,
  /** Answer it: success or the errcode, and the return value (the payload, at most 40 bytes). */
  ANSWER: 0x02,
} as const;

export interface ProxyCall {
  /** The proxied process. */
  pid: bigint;
  /** Its thread that made the call (1: the main thread). */
  thread: number;
  /** The call's number: 1 for the process' first proxied call, then one more each. */
  call: number;
  /** The syscall code (the request's first byte). */
  code: number;
  /** The request's bytes after the code, as the app wrote them (pointers, not what they point to). */
  args: Uint8Array;
}

export type ProxyAnswer =
  | { call: number; action: "pass" }
  | { call: number; action: "pass-args"; args: Uint8Array }
  | { call: number; action: "answer"; errcode: number | null; value: Uint8Array };

function bad(message: string): AbiError {
  return new AbiError("data", `proxy answer: ${message}`, { code: "ABI_PROXY_ANSWER" });
}

export function encodeProxyCall(c: ProxyCall): Uint8Array {
  if (c.args.length > PROXY_ARGS_MAX)
    throw new RangeError(`proxy call: ${c.args.length} argument bytes, at most ${PROXY_ARGS_MAX}`);
  const b = new Uint8Array(PROXY_CALL_HEADER_SIZE + c.args.length);
  const v = new DataView(b.buffer);
  v.setBigUint64(0, c.pid, true);
  v.setUint32(8, c.thread, true);
  v.setUint32(12, c.call, true);
  v.setUint8(16, c.code);
  v.setUint16(18, c.args.length, true);
  b.set(c.args, PROXY_CALL_HEADER_SIZE);
  return b;
}

export function decodeProxyCall(b: Uint8Array): ProxyCall {
  const fail = (m: string) => new AbiError("data", `proxy call: ${m}`, { code: "ABI_PROXY_CALL" });
  if (b.length < PROXY_CALL_HEADER_SIZE)
    throw fail(`${b.length} bytes, shorter than its ${PROXY_CALL_HEADER_SIZE}-byte header`);
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const n = v.getUint16(18, true);
  if (b[17] !== 0) throw fail(`reserved byte 17 is ${b[17]}, not 0`);
  if (b.length !== PROXY_CALL_HEADER_SIZE + n)
    throw fail(
      `header says ${n} argument bytes, the message has ${b.length - PROXY_CALL_HEADER_SIZE}`,
    );
  return {
    pid: v.getBigUint64(0, true),
    thread: v.getUint32(8, true),
    call: v.getUint32(12, true),
    code: v.getUint8(16),
    args: b.slice(PROXY_CALL_HEADER_SIZE),
  };
}

export function encodeProxyAnswer(a: ProxyAnswer): Uint8Array {
  const payload =
    a.action === "pass" ? new Uint8Array(0) : a.action === "pass-args" ? a.args : a.value;
  if (a.action === "answer" && payload.length > SYSCALL_RET_SIZE)
    throw new RangeError(`proxy answer: a return value of ${payload.length} bytes, at most 40`);
  if (payload.length > PROXY_ARGS_MAX)
    throw new RangeError(
      `proxy answer: ${payload.length} argument bytes, at most ${PROXY_ARGS_MAX}`,
    );
  const b = new Uint8Array(PROXY_ANSWER_HEADER_SIZE + payload.length);
  const v = new DataView(b.buffer);
  v.setUint32(0, a.call, true);
  v.setUint8(
    4,
    a.action === "pass"
      ? ProxyAction.PASS
      : a.action === "pass-args"
        ? ProxyAction.PASS_ARGS
        : ProxyAction.ANSWER,
  );
  if (a.action === "answer" && a.errcode !== null) {
    if (!Number.isInteger(a.errcode) || a.errcode < 0 || a.errcode > 0xff)
      throw new RangeError(`proxy answer: errcode ${a.errcode} is not a byte`);
    v.setUint8(5, 1);
    v.setUint8(6, a.errcode);
  }
  b.set(payload, PROXY_ANSWER_HEADER_SIZE);
  return b;
}

/** Decode an ANSWER; a malformed one is an AbiError (ABI_PROXY_ANSWER) naming what is wrong. */
export function decodeProxyAnswer(b: Uint8Array): ProxyAnswer {
  if (b.length < PROXY_ANSWER_HEADER_SIZE)
    throw bad(`${b.length} bytes, shorter than its ${PROXY_ANSWER_HEADER_SIZE}-byte header`);
  if (b.length > PROXY_ANSWER_MAX) throw bad(`${b.length} bytes, at most ${PROXY_ANSWER_MAX}`);
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const call = v.getUint32(0, true);
  const action = b[4];
  const failed = b[5];
  const errcode = b[6] as number;
  if (b[7] !== 0) throw bad(`reserved byte 7 is ${b[7]}, not 0`);
  const payload = b.slice(PROXY_ANSWER_HEADER_SIZE);
  if (action === ProxyAction.ANSWER) {
    if (failed !== 0 && failed !== 1) throw bad(`byte 5 (failed) is ${failed}, not 0 or 1`);
    if (failed === 0 && errcode !== 0) throw bad(`an errcode (${errcode}) on a success`);
    if (payload.length > SYSCALL_RET_SIZE)
      throw bad(`a return value of ${payload.length} bytes, at most ${SYSCALL_RET_SIZE}`);
    return { call, action: "answer", errcode: failed === 1 ? errcode : null, value: payload };
  }
  if (action !== ProxyAction.PASS && action !== ProxyAction.PASS_ARGS)
    throw bad(`unknown action 0x${(action as number).toString(16)}`);
  if (failed !== 0 || errcode !== 0) throw bad("bytes 5 and 6 are not 0 on a pass");
  if (action === ProxyAction.PASS) {
    if (payload.length !== 0) throw bad(`a pass carries ${payload.length} trailing bytes`);
    return { call, action: "pass" };
  }
  return { call, action: "pass-args", args: payload };
}
