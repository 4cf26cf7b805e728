// A process' signal door (docs/ipc.md "Service sockets", "The pending-message wake"): a small host
// segment the kernel creates for a process that holds a service-socket end, through which RECV_SOCK_MSG
// reaches the process without its runner's event loop. Producers append (signal, connection, datafield)
// entries under a spin lock and wake the one consumer, the runner's door thread (runner/door-thread.ts),
// which sleeps on the sequence word with the host's futex and queues each signal on the signal ring of
// the thread it is for, then raises the poll flag. Layout (NCW's own; no program sees it):
//   i32 sequence @0 (bumped after each entry; the consumer sleeps on it) | i32 lock @4 |
//   u32 entries written @8 | u32 entries taken @12 | i32 closed @16 | entries @64, DOOR_ENTRY bytes each:
//   u32 signal | u32 0 | u64 connection (0: the process' own ring; else its client thread's) | datafield.

import { DATAFIELD_SIZE } from "../../commonassembly/abi/signals.js";
import type { RingMemory } from "./ring.js";

const SEQ = 0;
const LOCK = 4;
const WRITTEN = 8;
const TAKEN = 12;
const CLOSED = 16;
const ENTRIES_AT = 64;
const DOOR_ENTRY = 16 + DATAFIELD_SIZE;
/** Entries the door holds before a producer waits for the consumer to take some. */
export const DOOR_SLOTS = 1024;
export const DOOR_BYTES = ENTRIES_AT + DOOR_SLOTS * DOOR_ENTRY;

export interface DoorEntry {
  signal: number;
  connection: bigint;
  datafield: Uint8Array;
}

export class Door {
  private readonly w: Int32Array;
  private readonly dv: DataView;
  constructor(private readonly memory: RingMemory) {
    if (memory.bytes.byteLength < DOOR_BYTES) throw new RangeError("a door segment is too small");
    this.w = new Int32Array(memory.bytes.buffer, memory.bytes.byteOffset, ENTRIES_AT >> 2);
    this.dv = new DataView(memory.bytes.buffer, memory.bytes.byteOffset, DOOR_BYTES);
  }

  /**
   * Producer side: append one entry and wake the consumer. False when the door stays full (its
   * consumer is not taking: a process that stopped; the caller then delivers another way) or closed.
   */
  post(signal: number, connection: bigint, datafield: Uint8Array): boolean {
    for (let tries = 0; ; tries++) {
      if (Atomics.load(this.w, CLOSED >> 2) !== 0) return false;
      if (Atomics.compareExchange(this.w, LOCK >> 2, 0, 1) !== 0) continue;
      const written = Atomics.load(this.w, WRITTEN >> 2) >>> 0;
      const taken = Atomics.load(this.w, TAKEN >> 2) >>> 0;
      if ((written - taken) >>> 0 < DOOR_SLOTS) {
        const at = ENTRIES_AT + (written % DOOR_SLOTS) * DOOR_ENTRY;
        this.dv.setUint32(at, signal, true);
        this.dv.setUint32(at + 4, 0, true);
        this.dv.setBigUint64(at + 8, connection, true);
        this.memory.bytes.set(datafield.subarray(0, DATAFIELD_SIZE), at + 16);
        Atomics.store(this.w, WRITTEN >> 2, (written + 1) | 0);
        Atomics.store(this.w, LOCK >> 2, 0);
        Atomics.add(this.w, SEQ >> 2, 1);
        this.memory.wake(SEQ, 1);
        return true;
      }
      Atomics.store(this.w, LOCK >> 2, 0);
      if (tries > 64) return false;
      this.memory.wait(TAKEN, taken | 0, 1);
    }
  }

  /** The sequence word's value: the consumer reads it before it takes, then sleeps while it is unchanged. */
  sequence(): number {
    return Atomics.load(this.w, SEQ >> 2);
  }

  /** Consumer side: sleep while nothing was posted since `seen` (at most `timeoutMs`). */
  sleep(seen: number, timeoutMs: number): void {
    this.memory.wait(SEQ, seen, timeoutMs);
  }

  /** Consumer side: wake itself (the runner has news for its door thread). */
  nudge(): void {
    Atomics.add(this.w, SEQ >> 2, 1);
    this.memory.wake(SEQ, 1);
  }

  /** Consumer side: take every entry posted, in order. */
  take(): DoorEntry[] {
    const out: DoorEntry[] = [];
    let taken = Atomics.load(this.w, TAKEN >> 2) >>> 0;
    const written = Atomics.load(this.w, WRITTEN >> 2) >>> 0;
    while (taken !== written) {
      const at = ENTRIES_AT + (taken % DOOR_SLOTS) * DOOR_ENTRY;
      out.push({
        signal: this.dv.getUint32(at, true),
        connection: this.dv.getBigUint64(at + 8, true),
        datafield: this.memory.bytes.slice(at + 16, at + 16 + DATAFIELD_SIZE),
      });
      taken = (taken + 1) >>> 0;
    }
    Atomics.store(this.w, TAKEN >> 2, taken | 0);
    if (out.length > 0) this.memory.wake(TAKEN, 1);
    return out;
  }

  /** Whoever ends it (the kernel, the process' end): producers stop posting, the consumer wakes. */
  close(): void {
    Atomics.store(this.w, CLOSED >> 2, 1);
    this.nudge();
  }

  get closed(): boolean {
    return Atomics.load(this.w, CLOSED >> 2) !== 0;
  }
}
