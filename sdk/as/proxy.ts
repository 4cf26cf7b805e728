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

/** A CALL is one message: at most 64 KiB (the buffers it shows are cut to fit). */
const CALL_MAX: i32 = 65536;
const CALL_BUF: usize = memory.data(CALL_MAX, 8);
/** Where each shown buffer's 8-byte header is in CALL_BUF (at most 255 buffers). */
const BUFFER_AT: usize = memory.data(255 * 4, 4);
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

/**
 * One syscall of the proxied app, as its CALL message carries it. `nextCall()` returns the same object
 * each time, refilled: the SDK allocates nothing per call (the `stub` runtime never frees, docs/sdk.md).
 */
export class Call {
  /** The proxied process. */
  pid: u64 = 0;
  /** Its thread that made the call (1: the main thread). */
  thread: u32 = 0;
  /** The call's number (1, 2, …): the answer names it. */
  call: u32 = 0;
  /** The syscall code. */
  code: u8 = 0;
  /** How many argument bytes the call has (its request's bytes after the code). */
  argsLength: i32 = 0;
  /** Where they are (valid until the next `nextCall()`). */
  args: usize = 0;

  argU8(offset: i32): u8 {
    return load<u8>(this.args + <usize>offset);
  }
  argU16(offset: i32): u16 {
    return load<u16>(this.args + <usize>offset);
  }
  argU32(offset: i32): u32 {
    return load<u32>(this.args + <usize>offset);
  }
  argU64(offset: i32): u64 {
    return load<u64>(this.args + <usize>offset);
  }
  /** The argument bytes in hexadecimal (for a listener's log; this string is allocated). */
  argsHex(): string {
    return hexOf(this.args, this.argsLength);
  }
  /** How many buffers the call reads (PIPE_WRITE's data, SEND_SOCK_MSG's message…), in the table's order. */
  bufferCount: i32 = 0;
  /** Buffer `i`'s whole length. */
  bufferLength(i: i32): u32 {
    return load<u32>(load<u32>(BUFFER_AT + <usize>(i * 4)));
  }
  /** How many of its bytes the call shows (all, unless the CALL would pass 64 KiB). */
  bufferShown(i: i32): i32 {
    return <i32>load<u32>(load<u32>(BUFFER_AT + <usize>(i * 4)) + 4);
  }
  /** Where those bytes are (valid until the next `nextCall()`). */
  bufferAddress(i: i32): usize {
    return <usize>load<u32>(BUFFER_AT + <usize>(i * 4)) + 8;
  }
  /** Up to `max` of buffer `i`'s bytes in hexadecimal (allocated). */
  bufferHex(i: i32, max: i32 = 32): string {
    return hexOf(this.bufferAddress(i), min(this.bufferShown(i), max));
  }
}

function hexOf(at: usize, n: i32): string {
  const digits = "0123456789abcdef";
  let s = "";
  for (let i = 0; i < n; i++) {
    const b = load<u8>(at + <usize>i);
    s += digits.charAt(b >> 4) + digits.charAt(b & 15);
  }
  return s;
}

const CALL = new Call();

/** The link's ends are closed and forgotten (the proxied app ended, or the proxy gives up on it). */
function unlink(): void {
  if (callsRc !== 0) closePipe(callsRc);
  if (answersSc !== 0) closePipe(answersSc);
  callsRc = 0;
  answersSc = 0;
  proxied = 0;
}

// The per-call heap (docs/sdk.md "Application proxies"): the `stub` runtime is a bump allocator that
// never frees, so a proxy that logs every call would run out of its 16 MiB. `nextCall()` gives back
// everything allocated since the previous `nextCall()`: a sentinel block is allocated at the first
// call; each later call stretches it to the heap's end (its size word, the usize before it, as the stub
// runtime keeps it) and frees it, which the stub does for the last block, then allocates it again.
let sentinel: usize = 0;

function freeSinceLastCall(): void {
  if (sentinel === 0) {
    sentinel = heap.alloc(0);
    return;
  }
  const end = heap.alloc(0);
  const size = end + <usize>load<u32>(end - sizeof<usize>()) - sentinel;
  store<u32>(sentinel - sizeof<usize>(), <u32>size);
  heap.free(sentinel);
  const again = heap.alloc(0);
  assert(again === sentinel, "proxy.ts: the heap did not rewind (not the stub runtime?)");
}

/**
 * Wait until an app is linked, then for its next call. Null when its calls pipe closed (the app
 * ended): the link's ends are closed, and the next `nextCall()` waits for the next app. With
 * `freeHeap` (the default), what was allocated since the previous `nextCall()` is given back first:
 * objects made while handling a call must not be kept past the next one (load the command context,
 * e.g. print a line, before the first `nextCall()`, as the examples do).
 */
export function nextCall(freeHeap: bool = true): Call | null {
  if (freeHeap) freeSinceLastCall();
  while (callsRc === 0 || answersSc === 0) handOver();
  if (pipeRead(callsRc, PIPE_MODE_BLOCK, <u64>CALL_BUF, <u64>CALL_MAX) !== OK) {
    unlink();
    return null;
  }
  const len = <i32>retU32(PIPE_READ_RET_RESULT);
  const n = <i32>load<u16>(CALL_BUF + 18);
  const count = <i32>load<u8>(CALL_BUF + 17);
  let at = PROXY_CALL_HEADER_SIZE + n;
  for (let i = 0; i < count && at + 8 <= len; i++) {
    store<u32>(BUFFER_AT + <usize>(i * 4), <u32>(CALL_BUF + <usize>at));
    at += 8 + <i32>load<u32>(CALL_BUF + <usize>at + 4);
  }
  // The kernel's runner writes well-formed CALLs; anything else ends the link.
  if (len < PROXY_CALL_HEADER_SIZE || at !== len) {
    unlink();
    return null;
  }
  CALL.bufferCount = count;
  CALL.pid = load<u64>(CALL_BUF);
  CALL.thread = load<u32>(CALL_BUF + 8);
  CALL.call = load<u32>(CALL_BUF + 12);
  CALL.code = load<u8>(CALL_BUF + 16);
  CALL.argsLength = n;
  CALL.args = CALL_BUF + <usize>PROXY_CALL_HEADER_SIZE;
  return CALL;
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

/** Let the call go with these `len` argument bytes at `args` instead (checked as the app's own). */
export function passWith(c: Call, args: usize, len: i32): bool {
  return send(c, ACTION_PASS_ARGS, 0, 0, args, min(len, 4095));
}

/** Answer the call as a success, with the `len` bytes at `value` as its return value (at most 40). */
export function answerOk(c: Call, value: usize, len: i32): bool {
  return send(c, ACTION_ANSWER, 0, 0, value, min(len, 40));
}

/** Answer the call as a failure with `errcode` (and `len` bytes of return value at `value`, at most 40). */
export function answerError(c: Call, errcode: u8, value: usize = 0, len: i32 = 0): bool {
  return send(c, ACTION_ANSWER, 1, errcode, value, min(len, 40));
}
