// A service socket's exchange table (docs/ipc.md "Service sockets", "The exchange table"): the
// exchanges of specs/kernel/ipc.md "Exchanges and messages" — identifiers from 1, the method code, whose
// turn it is, the message counter, what is concluded — in memory both processes' runners and the kernel
// map (a tail of the socket's ring to the service), behind a lock (shared-lock.ts). The one
// implementation of the rules: the sender's runner applies them when it sends (syscalls/sockets.ts), the
// kernel for the ends it holds itself (a native service's) and for `ncw ps`; no program reaches it
// (only SEND_SOCK_MSG does).
//
// Layout (NCW's own): lock @0 (8 bytes) | i32 closed @8 | u32 open exchanges @12 | u64 last identifier
// @16 | u32 magic @24 | slots @64, EXCHANGE_SLOTS of 16 bytes, open addressing on the identifier (linear
// probing, deletion by backward shift: no tombstones): u64 identifier (0: empty) | u32 counter |
// u16 method | u8 whose turn (0 the service, 1 the client) | u8 0.

import type { RingMemory } from "./ring.js";
import { SharedLock } from "./shared-lock.js";
import { SOCK_RECORD_SIZE, SockStatus, writeSockRecord } from "./socket-record.js";

/** Exchanges open at once on one socket (decided, docs/ipc.md): past it a new one is refused. */
export const MAX_OPEN_EXCHANGES = 4096;
/** Twice the open exchanges: the probe sequences stay short. */
export const EXCHANGE_SLOTS = 8192;
const SLOT_BYTES = 16;
const SLOTS_AT = 64;
export const EXCHANGE_TABLE_BYTES = SLOTS_AT + EXCHANGE_SLOTS * SLOT_BYTES;
/** "NCWX", little-endian. */
const MAGIC = 0x5857_434e;
const CLOSED = 8;
const OPEN = 12;
const LAST = 16;
const MAGIC_AT = 24;
const SLOT_MASK = BigInt(EXCHANGE_SLOTS - 1);

export type SocketSide = "service" | "client";
const other = (side: SocketSide): SocketSide => (side === "service" ? "client" : "service");

/** What a sender asks (SEND_SOCK_MSG's arguments, but for the bytes, which its runner staged). */
export interface SockMessage {
  /** 0 creates an exchange. */
  readonly exchange: bigint;
  /** A new exchange's method / notification code; in an answer, non-zero concludes the exchange. */
  readonly method: number;
  /** Non-zero: an error message, which concludes the exchange. */
  readonly errorCode: number;
  readonly length: number;
  /**
   * The kernel's own creating messages only (a system service's notification, docs/services.md): the
   * exchange is created concluded, as the service's answers conclude theirs. SEND_SOCK_MSG never sets it.
   */
  readonly concludesAtOnce?: boolean;
}

export type SendRefusal =
  | "closed"
  | "too-large"
  | "unknown-exchange"
  | "concluded"
  | "not-your-turn"
  | "too-many-exchanges"
  /** The runner did not stage the record (the ring has not the room): nothing was published. */
  | "not-staged";

export type ExchangeOutcome =
  | {
      ok: true;
      exchange: bigint;
      counter: number;
      /** SockStatus bits. */
      status: number;
      /** The exchange's method code (what RECV_SOCK_MSG carries). */
      method: number;
    }
  | { ok: false; reason: SendRefusal };

export class ExchangeTable {
  private readonly w: Int32Array;
  private readonly dv: DataView;
  private readonly bytes: Uint8Array;
  private readonly lock: SharedLock;
  /** The header being published (one send at a time per table view: the lock orders them). */
  private readonly header = new Uint8Array(SOCK_RECORD_SIZE);
  private readonly headerView = new DataView(this.header.buffer);

  /** Write a fresh table into `memory` (zero-filled: a new segment is). */
  static init(memory: RingMemory): ExchangeTable {
    if (memory.bytes.byteLength < EXCHANGE_TABLE_BYTES)
      throw new RangeError("an exchange table needs EXCHANGE_TABLE_BYTES");
    memory.bytes.fill(0, 0, SLOTS_AT);
    Atomics.store(
      new Int32Array(memory.bytes.buffer, memory.bytes.byteOffset, SLOTS_AT >> 2),
      MAGIC_AT >> 2,
      MAGIC | 0,
    );
    return new ExchangeTable(memory);
  }

  constructor(memory: RingMemory, gone?: (pid: number) => boolean) {
    if (memory.bytes.byteLength < EXCHANGE_TABLE_BYTES)
      throw new RangeError("an exchange table's memory is too small");
    this.w = new Int32Array(memory.bytes.buffer, memory.bytes.byteOffset, SLOTS_AT >> 2);
    if (Atomics.load(this.w, MAGIC_AT >> 2) >>> 0 !== MAGIC)
      throw new RangeError("not an NCW exchange table (bad magic)");
    this.dv = new DataView(memory.bytes.buffer, memory.bytes.byteOffset, EXCHANGE_TABLE_BYTES);
    this.bytes = memory.bytes.subarray(0, EXCHANGE_TABLE_BYTES);
    this.lock = new SharedLock(memory, 0, gone);
  }

  /** How many exchanges are open (`ncw ps`, tests); read without the lock. */
  openCount(): number {
    return Atomics.load(this.w, OPEN >> 2) >>> 0;
  }

  get closed(): boolean {
    return Atomics.load(this.w, CLOSED >> 2) !== 0;
  }

  /** The socket closed (CLOSE_SERV_SOCK, a side's end): every later send is refused; takers wake. */
  close(): void {
    Atomics.store(this.w, CLOSED >> 2, 1);
    this.lock.wakeAll();
  }

  /** The lock's holder (a host process id, 0: free); for tests. */
  holder(): number {
    return this.lock.holder();
  }

  /**
   * A message from `side` (ipc.md "Exchanges and messages", "Concluding exchanges"): under the lock,
   * check the exchange rules, then `publish` the record's header over the message the sender staged
   * on the ring to the peer. Refused (or not published), nothing changes.
   */
  send(
    side: SocketSide,
    m: SockMessage,
    maxMessage: number,
    publish: (header: Uint8Array, total: number) => boolean,
  ): ExchangeOutcome {
    if (this.closed) return { ok: false, reason: "closed" };
    if (m.length > maxMessage) return { ok: false, reason: "too-large" };
    if (!this.lock.acquire(() => this.closed)) return { ok: false, reason: "closed" };
    try {
      if (this.closed) return { ok: false, reason: "closed" };
      return this.locked(side, m, publish);
    } finally {
      this.lock.release();
    }
  }

  private locked(
    side: SocketSide,
    m: SockMessage,
    publish: (header: Uint8Array, total: number) => boolean,
  ): ExchangeOutcome {
    const creating = m.exchange === 0n;
    const last = this.dv.getBigUint64(LAST, true);
    let id: bigint;
    let method: number;
    let counter: number;
    let slot = -1;
    let status = 0;
    if (creating) {
      if (this.openCount() >= MAX_OPEN_EXCHANGES)
        return { ok: false, reason: "too-many-exchanges" };
      id = last + 1n;
      method = m.method;
      counter = 0;
      status |= SockStatus.NEW_EXCHANGE;
    } else {
      // Identifiers run from 1 per socket: one never given is unknown; one given and not open concluded.
      if (m.exchange > last) return { ok: false, reason: "unknown-exchange" };
      slot = this.find(m.exchange);
      if (slot < 0) return { ok: false, reason: "concluded" };
      const at = SLOTS_AT + slot * SLOT_BYTES;
      // "This also prevents a process to send two messages before the other one answers."
      const next: SocketSide = this.dv.getUint8(at + 14) === 0 ? "service" : "client";
      if (next !== side) return { ok: false, reason: "not-your-turn" };
      id = m.exchange;
      method = this.dv.getUint16(at + 12, true);
      counter = this.dv.getUint32(at + 8, true);
    }
    // Decided (docs/ipc.md): the method field of an answer is the close indicator; an error concludes.
    const concludes =
      m.errorCode !== 0 ||
      (!creating && m.method !== 0) ||
      (creating && m.concludesAtOnce === true);
    if (m.errorCode !== 0) status |= SockStatus.ERROR;
    if (concludes) status |= SockStatus.CONCLUDES;
    counter += 1;
    writeSockRecord(this.headerView, {
      length: m.length,
      status,
      method,
      exchange: id,
      counter,
      errorCode: m.errorCode,
    });
    if (!publish(this.header, SOCK_RECORD_SIZE + m.length))
      return { ok: false, reason: "not-staged" };
    if (creating) {
      this.dv.setBigUint64(LAST, id, true);
      if (!concludes) {
        this.insert(id, method, counter, other(side));
        Atomics.add(this.w, OPEN >> 2, 1);
      }
    } else if (concludes) {
      this.remove(slot);
      Atomics.sub(this.w, OPEN >> 2, 1);
    } else {
      const at = SLOTS_AT + slot * SLOT_BYTES;
      this.dv.setUint32(at + 8, counter, true);
      this.dv.setUint8(at + 14, other(side) === "service" ? 0 : 1);
    }
    return { ok: true, exchange: id, counter, status, method };
  }

  private home(id: bigint): number {
    return Number(id & SLOT_MASK);
  }

  private idAt(slot: number): bigint {
    return this.dv.getBigUint64(SLOTS_AT + slot * SLOT_BYTES, true);
  }

  private find(id: bigint): number {
    for (let i = this.home(id), n = 0; n < EXCHANGE_SLOTS; i = (i + 1) % EXCHANGE_SLOTS, n++) {
      const here = this.idAt(i);
      if (here === id) return i;
      if (here === 0n) return -1;
    }
    return -1;
  }

  private insert(id: bigint, method: number, counter: number, next: SocketSide): void {
    let i = this.home(id);
    while (this.idAt(i) !== 0n) i = (i + 1) % EXCHANGE_SLOTS;
    const at = SLOTS_AT + i * SLOT_BYTES;
    this.dv.setUint32(at + 8, counter, true);
    this.dv.setUint16(at + 12, method, true);
    this.dv.setUint8(at + 14, next === "service" ? 0 : 1);
    this.dv.setUint8(at + 15, 0);
    this.dv.setBigUint64(at, id, true);
  }

  /** Empty `slot`, moving back the entries after it whose probe passed through it. */
  private remove(slot: number): void {
    const bytes = this.bytes;
    let hole = slot;
    let j = slot;
    for (;;) {
      j = (j + 1) % EXCHANGE_SLOTS;
      const id = this.idAt(j);
      if (id === 0n) break;
      const k = this.home(id);
      // Entry j stays if its home lies cyclically in (hole, j].
      const stays = hole <= j ? hole < k && k <= j : hole < k || k <= j;
      if (stays) continue;
      const from = SLOTS_AT + j * SLOT_BYTES;
      bytes.copyWithin(SLOTS_AT + hole * SLOT_BYTES, from, from + SLOT_BYTES);
      hole = j;
    }
    bytes.fill(0, SLOTS_AT + hole * SLOT_BYTES, SLOTS_AT + (hole + 1) * SLOT_BYTES);
  }
}
