// The application-proxy messages (technical/dev-mode.md "Application proxies"; docs/kernel.md
// "Application proxies"): NCW's layout, the spec gives none. A proxied process' runner writes one CALL
// message per syscall on the calls pipe; the proxy answers each with one ANSWER message on the answers
// pipe. Both pipes are message pipes; every field is little-endian, as the ABI's.

import { AbiError } from "./error.js";
import { MAX_PIPE_MESSAGE_SIZE } from "./numbers.js";
import { SYSCALL_REQ_MAX, SYSCALL_RET_SIZE } from "./wasm-names.js";

/** RECV_PIPE's command code for the calls pipe's RC (the proxy reads CALL messages from it). */
export const PROXY_CALLS_COMMAND = 0xfe01;
/** RECV_PIPE's command code for the answers pipe's SC (the proxy writes ANSWER messages to it). */
export const PROXY_ANSWERS_COMMAND = 0xfe02;

/** CALL: pid u64 @0, thread u32 @8, call u32 @12, code u8 @16, buffers u8 @17, length u16 @18. */
export const PROXY_CALL_HEADER_SIZE = 20;
/** Before each buffer's bytes, after the arguments: its whole length u32, the bytes shown u32. */
export const PROXY_BUFFER_HEADER_SIZE = 8;
/** The longest CALL: one message of the calls pipe (buffers past it are cut). */
export const PROXY_CALL_MAX = MAX_PIPE_MESSAGE_SIZE;
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
  /** The request's bytes after the code, as the app wrote them (pointers stay pointers). */
  args: Uint8Array;
  /**
   * The buffers the call reads, in the table's order (PIPE_WRITE's data, SEND_SOCK_MSG's message…):
   * each one's whole length, and its first bytes (all of them unless the CALL would pass
   * PROXY_CALL_MAX).
   */
  buffers: { length: number; bytes: Uint8Array }[];
}

/** Cut `buffers` so that a CALL with `argsLength` argument bytes fits in PROXY_CALL_MAX. */
export function fitBuffers(
  argsLength: number,
  buffers: readonly Uint8Array[],
): { length: number; bytes: Uint8Array }[] {
  const kept = buffers.slice(0, 255);
  let room =
    PROXY_CALL_MAX - PROXY_CALL_HEADER_SIZE - argsLength - kept.length * PROXY_BUFFER_HEADER_SIZE;
  return kept.map((b) => {
    const shown = Math.max(0, Math.min(b.length, room));
    room -= shown;
    return { length: b.length, bytes: b.subarray(0, shown) };
  });
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
  if (c.buffers.length > 255)
    throw new RangeError(`proxy call: ${c.buffers.length} buffers, at most 255`);
  const size =
    PROXY_CALL_HEADER_SIZE +
    c.args.length +
    c.buffers.reduce((n, b) => n + PROXY_BUFFER_HEADER_SIZE + b.bytes.length, 0);
  if (size > PROXY_CALL_MAX)
    throw new RangeError(
      `proxy call: ${size} bytes, at most ${PROXY_CALL_MAX} (fitBuffers cuts them)`,
    );
  const b = new Uint8Array(size);
  const v = new DataView(b.buffer);
  v.setBigUint64(0, c.pid, true);
  v.setUint32(8, c.thread, true);
  v.setUint32(12, c.call, true);
  v.setUint8(16, c.code);
  v.setUint8(17, c.buffers.length);
  v.setUint16(18, c.args.length, true);
  b.set(c.args, PROXY_CALL_HEADER_SIZE);
  let at = PROXY_CALL_HEADER_SIZE + c.args.length;
  for (const buf of c.buffers) {
    if (buf.bytes.length > buf.length)
      throw new RangeError(
        `proxy call: ${buf.bytes.length} bytes shown of a ${buf.length}-byte buffer`,
      );
    v.setUint32(at, buf.length, true);
    v.setUint32(at + 4, buf.bytes.length, true);
    b.set(buf.bytes, at + PROXY_BUFFER_HEADER_SIZE);
    at += PROXY_BUFFER_HEADER_SIZE + buf.bytes.length;
  }
  return b;
}

export function decodeProxyCall(b: Uint8Array): ProxyCall {
  const fail = (m: string) => new AbiError("data", `proxy call: ${m}`, { code: "ABI_PROXY_CALL" });
  if (b.length < PROXY_CALL_HEADER_SIZE)
    throw fail(`${b.length} bytes, shorter than its ${PROXY_CALL_HEADER_SIZE}-byte header`);
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const n = v.getUint16(18, true);
  const count = b[17] as number;
  let at = PROXY_CALL_HEADER_SIZE + n;
  if (b.length < at)
    throw fail(
      `header says ${n} argument bytes, the message has ${b.length - PROXY_CALL_HEADER_SIZE}`,
    );
  const buffers: { length: number; bytes: Uint8Array }[] = [];
  for (let i = 0; i < count; i++) {
    if (b.length < at + PROXY_BUFFER_HEADER_SIZE) throw fail(`buffer ${i} is cut short`);
    const length = v.getUint32(at, true);
    const shown = v.getUint32(at + 4, true);
    if (shown > length) throw fail(`buffer ${i} shows ${shown} bytes of ${length}`);
    if (b.length < at + PROXY_BUFFER_HEADER_SIZE + shown) throw fail(`buffer ${i} is cut short`);
    at += PROXY_BUFFER_HEADER_SIZE;
    buffers.push({ length, bytes: b.slice(at, at + shown) });
    at += shown;
  }
  if (at !== b.length) throw fail(`${b.length - at} bytes after the last buffer`);
  return {
    pid: v.getBigUint64(0, true),
    thread: v.getUint32(8, true),
    call: v.getUint32(12, true),
    code: v.getUint8(16),
    args: b.slice(PROXY_CALL_HEADER_SIZE, PROXY_CALL_HEADER_SIZE + n),
    buffers,
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
