// Signal datafield codecs (specs/kernel/signals.md): each signal's fields packed little-endian at the
// start of the 32-byte datafield, the rest zero. Answers (READ/WRITE_BACKED_AMS) come back as the i64.

import { type Codec, empty, struct, u8, u16, u32, u64, viewOf } from "./codec.js";
import { AbiError } from "./error.js";
import { Sig } from "./numbers.js";
import { SIGNAL_DATAFIELD_SIZE } from "./wasm-names.js";

export const DATAFIELD_SIZE = SIGNAL_DATAFIELD_SIZE;

/** MEM_FAULT access error codes. */
export const MemAccess = { READ: 0x01, WRITE: 0x02, EXECUTE: 0x03 } as const;

/**
 * AMS access permissions as RECV_SHARED_AMS and AMS_SHARING_INFO carry them: "strongest bit for read,
 * next for write, next for exec" (signals.md 0x35, syscalls.md 0x43).
 */
export const AmsPermission = { READ: 0x80, WRITE: 0x40, EXEC: 0x20 } as const;

export const Datafield = {
  [Sig.HANDLER_FAULT]: struct([["faultySignal", u64]]),
  [Sig.MEM_FAULT]: struct([
    ["address", u64],
    ["access", u8],
  ]),
  [Sig.RECV_PIPE]: struct([
    ["creator", u64],
    ["anid", u32],
    ["pipe", u64],
    ["command", u16],
    ["identifierType", u8],
    ["mode", u8],
    ["sizeHint", u64],
  ]),
  [Sig.PIPE_CLOSED]: struct([
    ["closing", u8],
    ["identity", u8],
    ["pipe", u64],
  ]),
  [Sig.RECV_SERV_SOCK]: struct([
    ["creator", u64],
    ["anid", u32],
    ["socket", u64],
    ["sizeMultiplier", u16],
  ]),
  /** Decided (docs/ipc.md): the method is 2 bytes, as SEND_SOCK_MSG's (signals.md says 1). */
  [Sig.RECV_SOCK_MSG]: struct([
    ["socket", u64],
    ["exchange", u64],
    ["method", u16],
    ["size", u32],
    ["status", u8],
  ]),
  /**
   * signals.md copies PIPE_CLOSED's text; decided (docs/ipc.md): closing type 0x00 CLOSE_SERV_SOCK /
   * 0x01 the peer ended, identity 0x00 this process is the socket's client / 0x01 its service, then the
   * receiver's socket identifier.
   */
  [Sig.SERV_SOCK_CLOSED]: struct([
    ["closing", u8],
    ["identity", u8],
    ["socket", u64],
  ]),
  [Sig.SERVICE_CONN_REQUEST]: struct([
    ["callee", u64],
    ["request", u64],
    ["command", u16],
    ["answerDelay", u16],
  ]),
  // NCW extension (docs/services.md): the spec gives these two no datafield; NCW names the connection,
  // so one handler can serve every client thread.
  [Sig.SERVICE_CLIENT_CLOSED]: struct([["connection", u64]]),
  [Sig.SERVICE_CLIENT_QUITTED]: struct([["connection", u64]]),
  [Sig.SERVICE_SERVER_QUITTED]: struct([["request", u64]]),
  [Sig.READ_BACKED_AMS]: struct([
    ["ams", u64],
    ["address", u64],
    ["access", u8],
  ]),
  [Sig.WRITE_BACKED_AMS]: struct([
    ["ams", u64],
    ["address", u64],
    ["data", u32],
  ]),
  [Sig.RECV_SHARED_AMS]: struct([
    ["sender", u64],
    ["command", u16],
    ["ams", u64],
    ["mode", u8],
    ["permissions", u8],
  ]),
  [Sig.UNSHARED_AMS]: struct([["unsharing", u8]]),
  [Sig.SUSPEND]: empty,
  [Sig.WILL_SUSPEND]: struct([["delay", u16]]),
  [Sig.UNSUSPENDED]: struct([["duration", u64]]),
  [Sig.TERMINATE]: empty,
  [Sig.WILL_TERMINATE]: struct([["delay", u16]]),
} as const satisfies Record<number, Codec<unknown>>;

/** READ_BACKED_AMS' access mode (signals.md 0x33). */
export const BackedAccess = { READ: 0x00, EXECUTE: 0x01 } as const;

/** The page-fault byte of READ_BACKED_AMS' and WRITE_BACKED_AMS' answers (signals.md 0x33, 0x34). */
export const BackedFault = { NONE: 0x00, OUT_OF_RANGE: 0x01, HARDWARE: 0x02 } as const;

/** Signals whose handler's i64 result is an answer the kernel reads back (docs/commonassembly.md §6). */
export const ANSWERED_SIGNALS: ReadonlySet<number> = new Set([
  Sig.READ_BACKED_AMS,
  Sig.WRITE_BACKED_AMS,
]);

/**
 * READ_BACKED_AMS' answer, packed from the i64's low byte: the data (4 bytes), then the page fault
 * (1 byte). The upper 3 bytes are not part of the answer and are ignored.
 */
export function decodeReadBackedAnswer(answer: bigint): { data: number; fault: number } {
  const a = BigInt.asUintN(64, answer);
  return { data: Number(a & 0xffff_ffffn), fault: Number((a >> 32n) & 0xffn) };
}

/** WRITE_BACKED_AMS' answer: the page fault (1 byte), the i64's low byte. */
export function decodeWriteBackedAnswer(answer: bigint): { fault: number } {
  return { fault: Number(BigInt.asUintN(64, answer) & 0xffn) };
}

/** What happens when a signal arrives with no handler registered (signals.md, per signal). */
export type DefaultAction = "kill" | "ignore";

/** Signals whose text says "If no handler is registered for this signal, it will kill the process". */
const KILL_BY_DEFAULT = new Set<number>([
  Sig.HANDLER_FAULT,
  Sig.SERVICE_CONN_REQUEST,
  Sig.WILL_TERMINATE,
]);

/**
 * MEM_FAULT has no stated default; NCW kills (the faulting code cannot resume anyway, see
 * docs/kernel.md). Every other signal without a stated default is ignored.
 */
export function defaultAction(signal: number): DefaultAction {
  return KILL_BY_DEFAULT.has(signal) || signal === Sig.MEM_FAULT ? "kill" : "ignore";
}

export function encodeDatafield<C extends Codec<unknown>>(
  codec: C,
  value: C extends Codec<infer T> ? T : never,
): Uint8Array {
  const out = new Uint8Array(DATAFIELD_SIZE);
  if (codec.size > DATAFIELD_SIZE) throw new Error("datafield layout larger than 32 bytes");
  codec.encode(viewOf(out), 0, value);
  return out;
}

export function decodeDatafield<T>(codec: Codec<T>, b: Uint8Array): T {
  if (b.length !== DATAFIELD_SIZE) {
    throw new AbiError(
      "data",
      `signal datafield: expected ${DATAFIELD_SIZE} bytes, got ${b.length}`,
      {
        code: "ABI_BAD_DATAFIELD",
      },
    );
  }
  return codec.decode(viewOf(b), 0);
}
