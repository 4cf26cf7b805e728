// proxy.ts — writing an application proxy in AssemblyScript (docs/kernel.md "Application proxies",
// docs/sdk.md "Application proxies"), on nightos.ts. A proxy is started first (`ncw run proxy.nap …`);
// `ncw run app --proxy <its PID>` then links the app to it: the kernel gives the proxy two pipe ends
// with RECV_PIPE (command codes PROXY_CALLS_COMMAND, PROXY_ANSWERS_COMMAND). `nextCall()` waits for the
// app's next syscall (a CALL message); the proxy answers each with exactly one of `pass`, `passWith`,
// `answerOk`, `answerError`, or holds it by never answering (the app's call then waits).
// One proxied app at a time: when it ends, `nextCall()` returns null and the proxy may wait for the next.
// Call it from one thread (the areas are static), and call `listen()` before anything else.

import {
  closePipe,
  ERROR_FLAG,
  handlerIndex,
  handleSignal,
  handOver,
  OK,
  PIPE_MODE_BLOCK,
  PIPE_READ_RET_RESULT,
  pipeRead,
  pipeWrite,
  READY_ERR_ALREADY_READY,
  ready,
  retU32,
  SIG_RECV_PIPE,
} from "./nightos";

/** RECV_PIPE's command code for the calls pipe (the proxy reads CALL messages from its RC). */
export const PROXY_CALLS_COMMAND: u16 = 0xfe01;
/** RECV_PIPE's command code for the answers pipe (the proxy writes ANSWER messages to its SC). */
export const PROXY_ANSWERS_COMMAND: u16 = 0xfe02;
export const PROXY_CALL_HEADER_SIZE: i32 = 20;
export const PROXY_ANSWER_HEADER_SIZE: i32 = 8;
export const ACTION_PASS: u8 = 0x00;
export const ACTION_PASS_ARGS: u8 = 0x01;
export const ACTION_ANSWER: u8 = 0x02;

const CALL_MAX: i32 = PROXY_CALL_HEADER_SIZE + 4095;
const CALL_BUF: usize = memory.data(CALL_MAX, 8);
const ANSWER_BUF: usize = memory.data(PROXY_ANSWER_HEADER_SIZE + 4095, 8);

// Set by the RECV_PIPE handler, read by nextCall (0: not given yet).
let callsRc: u64 = 0;
let answersSc: u64 = 0;
let proxied: u64 = 0;

function onRecvPipe(_signal: i32, datafield: usize): i64 {
  // RECV_PIPE's datafield: creator u64 @0, anid u32 @8, pipe u64 @12, command u16 @20.
  const command = load<u16>(datafield + 20);
  const id = load<u64>(datafield + 12);
  if (command === PROXY_CALLS_COMMAND) {
    callsRc = id;
    proxied = load<u64>(datafield);
  } else if (command === PROXY_ANSWERS_COMMAND) answersSc = id;
  return 0;
}

/**
 * Handle RECV_PIPE (a proxy must, or `ncw run --proxy` refuses it), then say READY: signals are
 * delivered from then on. Set up any other handler before. The first failing status, else OK.
 */
export function listen(): i32 {
  const s = handleSignal(SIG_RECV_PIPE, handlerIndex(onRecvPipe));
  if (s !== OK) return s;
  const r = ready();
  return r === OK || r === (ERROR_FLAG | READY_ERR_ALREADY_READY) ? OK : r;
}

/** The PID of the process the proxy is linked to now (0: none yet). */
export function proxiedPid(): u64 {
  return proxied;
}

/** One syscall of the proxied app, as its CALL message carries it. */
export class Call {
  constructor(
    /** The proxied process. */
    public pid: u64,
    /** Its thread that made the call (1: the main thread). */
    public thread: u32,
    /** The call's number (1, 2, …): the answer names it. */
    public call: u32,
    /** The syscall code. */
    public code: u8,
    /** The request's bytes after the code, as the app wrote them. */
    public args: Uint8Array,
  ) {}

  argU8(offset: i32): u8 {
    return this.args[offset];
  }
  argU16(offset: i32): u16 {
    return load<u16>(this.args.dataStart + <usize>offset);
  }
  argU32(offset: i32): u32 {
    return load<u32>(this.args.dataStart + <usize>offset);
  }
  argU64(offset: i32): u64 {
    return load<u64>(this.args.dataStart + <usize>offset);
  }
  /** The argument bytes in hexadecimal (for a listener's log). */
  argsHex(): string {
    const digits = "0123456789abcdef";
    let s = "";
    for (let i = 0; i < this.args.length; i++) {
      const b = this.args[i];
      s += digits.charAt(b >> 4) + digits.charAt(b & 15);
    }
    return s;
  }
}

/** The link's ends are closed and forgotten (the proxied app ended, or the proxy gives up on it). */
function unlink(): void {
  if (callsRc !== 0) closePipe(callsRc);
  if (answersSc !== 0) closePipe(answersSc);
  callsRc = 0;
  answersSc = 0;
  proxied = 0;
}

/**
 * Wait until an app is linked, then for its next call. Null when its calls pipe closed (the app
 * ended): the link's ends are closed, and the next `nextCall()` waits for the next app.
 */
export function nextCall(): Call | null {
  while (callsRc === 0 || answersSc === 0) handOver();
  if (pipeRead(callsRc, PIPE_MODE_BLOCK, <u64>CALL_BUF, <u64>CALL_MAX) !== OK) {
    unlink();
    return null;
  }
  const len = <i32>retU32(PIPE_READ_RET_RESULT);
  const n = <i32>load<u16>(CALL_BUF + 18);
  if (len < PROXY_CALL_HEADER_SIZE || len !== PROXY_CALL_HEADER_SIZE + n) {
    unlink();
    return null;
  }
  const args = new Uint8Array(n);
  memory.copy(args.dataStart, CALL_BUF + <usize>PROXY_CALL_HEADER_SIZE, <usize>n);
  return new Call(
    load<u64>(CALL_BUF),
    load<u32>(CALL_BUF + 8),
    load<u32>(CALL_BUF + 12),
    load<u8>(CALL_BUF + 16),
    args,
  );
}

function send(c: Call, action: u8, failed: u8, errcode: u8, payload: usize, len: i32): bool {
  store<u32>(ANSWER_BUF, c.call);
  store<u8>(ANSWER_BUF + 4, action);
  store<u8>(ANSWER_BUF + 5, failed);
  store<u8>(ANSWER_BUF + 6, errcode);
  store<u8>(ANSWER_BUF + 7, 0);
  if (len > 0) memory.copy(ANSWER_BUF + <usize>PROXY_ANSWER_HEADER_SIZE, payload, <usize>len);
  const total = PROXY_ANSWER_HEADER_SIZE + len;
  return pipeWrite(answersSc, <u32>total, <u64>ANSWER_BUF, PIPE_MODE_BLOCK) === OK;
}

/** Let the call go to the system as the app made it. */
export function pass(c: Call): bool {
  return send(c, ACTION_PASS, 0, 0, 0, 0);
}

/** Let the call go with these argument bytes instead (checked as the app's own would be). */
export function passWith(c: Call, args: Uint8Array): bool {
  return send(c, ACTION_PASS_ARGS, 0, 0, args.dataStart, args.length);
}

/** Answer the call as a success, with this return value (at most 40 bytes; the rest is zero). */
export function answerOk(c: Call, value: Uint8Array): bool {
  return send(c, ACTION_ANSWER, 0, 0, value.dataStart, min(value.length, 40));
}

/** Answer the call as a failure with `errcode` (and an optional return value, at most 40 bytes). */
export function answerError(c: Call, errcode: u8, value: Uint8Array | null = null): bool {
  if (value === null) return send(c, ACTION_ANSWER, 1, errcode, 0, 0);
  return send(c, ACTION_ANSWER, 1, errcode, value.dataStart, min(value.length, 40));
}
