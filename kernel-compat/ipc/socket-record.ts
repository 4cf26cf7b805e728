// The record a service-socket message is on its ring (docs/ipc.md "Service sockets", "The record"): a
// 24-byte header the kernel writes — the exchange as specs/kernel/ipc.md "Exchanges and messages"
// describes it — then the message's bytes, which the sender's runner copied. NCW's own layout, not the
// spec's: no NightOS program sees it (READ_SOCK_MSG and RECV_SOCK_MSG carry its fields).

import { type Infer, struct, u8, u16, u32, u64, viewOf } from "../../commonassembly/abi/codec.js";

/** Status bits (READ_SOCK_MSG's and RECV_SOCK_MSG's "Status"; decided: bit 0 is the least significant). */
export const SockStatus = {
  /** "this message did create a new exchange" */
  NEW_EXCHANGE: 0x01,
  /** "this message is an error message" (a non-zero error code) */
  ERROR: 0x02,
  /** Decided (docs/ipc.md): "closed the socket" read as "concluded its exchange" (close indicator or error). */
  CONCLUDES: 0x04,
} as const;

export const SockRecord = struct([
  /** The message's length in bytes (the body after the header). */
  ["length", u32],
  ["status", u8],
  ["reserved", u8],
  ["method", u16],
  ["exchange", u64],
  /** The message's number in its exchange, from 1. */
  ["counter", u32],
  ["errorCode", u16],
  ["reserved2", u16],
]);
export type SockRecordHeader = Omit<Infer<typeof SockRecord>, "reserved" | "reserved2">;

export const SOCK_RECORD_SIZE = SockRecord.size;

export function encodeSockRecord(h: SockRecordHeader): Uint8Array {
  const out = new Uint8Array(SOCK_RECORD_SIZE);
  SockRecord.encode(viewOf(out), 0, { ...h, reserved: 0, reserved2: 0 });
  return out;
}

/**
 * Write the header into `into` (SOCK_RECORD_SIZE bytes) field by field: what `encodeSockRecord` gives,
 * without the codec's allocations (the send path writes one per message; a test checks they agree).
 */
export function writeSockRecord(into: DataView, h: SockRecordHeader): void {
  into.setUint32(0, h.length, true);
  into.setUint8(4, h.status);
  into.setUint8(5, 0);
  into.setUint16(6, h.method, true);
  into.setBigUint64(8, h.exchange, true);
  into.setUint32(16, h.counter, true);
  into.setUint16(20, h.errorCode, true);
  into.setUint16(22, 0, true);
}

/** The header in `b` (at least SOCK_RECORD_SIZE bytes); reserved bytes that are not zero: undefined. */
export function decodeSockRecord(b: Uint8Array): SockRecordHeader | undefined {
  if (b.length < SOCK_RECORD_SIZE) return undefined;
  const { reserved, reserved2, ...h } = SockRecord.decode(viewOf(b), 0);
  if (reserved !== 0 || reserved2 !== 0) return undefined;
  return h;
}
