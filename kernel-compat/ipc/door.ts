// A process' signal door (docs/ipc.md "Service sockets", "The runner-to-runner path"): a small host
// segment each runner creates when it starts, through which another process' runner hands it a
// RECV_SOCK_MSG without any event loop: producers (the senders' runners, any thread) append entries under
// the door's lock (shared-lock.ts) and wake the one consumer, the runner's door thread
// (runner/door-thread.ts), which sleeps on the sequence word with the host's futex and queues each
// signal on the signal ring of the thread it is for, then raises the poll flag. No program reaches it.
// Layout (NCW's own): i32 sequence @0 (bumped after each entry; the consumer sleeps on it) | lock @8
// (8 bytes) | u32 entries written @16 | u32 entries taken @20 | i32 closed @24 | entries @64, DOOR_ENTRY
// bytes each: u32 signal | u32 0 | u64 connection (0: the process' own ring; else that connection's
// client thread's) | the datafield.

import { DATAFIELD_SIZE } from "../../commonassembly/abi/signals.js";
import type { RingMemory } from "./ring.js";
import { SharedLock } from "./shared-lock.js";

const SEQ = 0;
const LOCK = 8;
const WRITTEN = 16;
const TAKEN = 20;
const CLOSED = 24;
const ENTRIES_AT = 64;
const DOOR_ENTRY = 16 + DATAFIELD_SIZE;
/** Entries the door holds before a producer waits for the consumer to take some. */
export const DOOR_SLOTS = 1024;
export const DOOR_BYTES = ENTRIES_AT + DOOR_SLOTS * DOOR_ENTRY;
/** How long a producer waits at most for a full door's consumer before it gives up (ms). */
const FULL_WAIT_MS = 50;

export interface DoorEntry {
  signal: number;
  connection: bigint;
  datafield: Uint8Array;
}

export class Door {
  private readonly w: Int32Array;
  private readonly dv: DataView;
  private readonly lock: SharedLock;
  constructor(private readonly memory: RingMemory) {
    if (memory.bytes.byteLength < DOOR_BYTES) throw new RangeError("a door segment is too small");
    this.w = new Int32Array(memory.bytes.buffer, memory.bytes.byteOffset, ENTRIES_AT >> 2);
    this.dv = new DataView(memory.bytes.buffer, memory.bytes.byteOffset, DOOR_BYTES);
    this.lock = new SharedLock(memory, LOCK);
  }

  /**
   * Producer side: append one entry and wake the consumer. False when the door is closed (its process
   * ended) or stays full (its consumer is not taking).
   */
  post(signal: number, connection: bigint, datafield: Uint8Array): boolean {
    const deadline = performance.now() + FULL_WAIT_MS;
    for (;;) {
      if (this.closed) return false;
      if (!this.lock.acquire(() => this.closed)) return false;
      const written = Atomics.load(this.w, WRITTEN >> 2) >>> 0;
      const taken = Atomics.load(this.w, TAKEN >> 2) >>> 0;
      if ((written - taken) >>> 0 < DOOR_SLOTS) {
        const at = ENTRIES_AT + (written % DOOR_SLOTS) * DOOR_ENTRY;
        this.dv.setUint32(at, signal, true);
        this.dv.setUint32(at + 4, 0, true);
        this.dv.setBigUint64(at + 8, connection, true);
        this.memory.bytes.set(datafield.subarray(0, DATAFIELD_SIZE), at + 16);
        Atomics.store(this.w, WRITTEN >> 2, (written + 1) | 0);
        this.lock.release();
        Atomics.add(this.w, SEQ >> 2, 1);
        this.memory.wake(SEQ, 1);
        return true;
      }
      this.lock.release();
      this.memory.wake(SEQ, 1);
      if (performance.now() > deadline) return false;
      this.memory.wait(TAKEN, taken | 0, 1);
    }
  }

  /** The sequence word: the consumer reads it before it takes, then sleeps while it is unchanged. */
  sequence(): number {
    return Atomics.load(this.w, SEQ >> 2);
  }

  /** Consumer side: sleep while nothing was posted since `seen` (at most `timeoutMs`). */
  sleep(seen: number, timeoutMs: number): void {
    this.memory.wait(SEQ, seen, timeoutMs);
  }

  /** Wake the consumer (its runner has news for it). */
  nudge(): void {
    Atomics.add(this.w, SEQ >> 2, 1);
    this.memory.wake(SEQ, 1);
  }

  /** Consumer side (one consumer): take every entry posted, in order. */
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
    if (out.length > 0) this.memory.wake(TAKEN, 0x7fff_ffff);
    return out;
  }

  /** Its process ends: producers stop posting, the consumer wakes. */
  close(): void {
    Atomics.store(this.w, CLOSED >> 2, 1);
    this.lock.wakeAll();
    this.nudge();
  }

  get closed(): boolean {
    return Atomics.load(this.w, CLOSED >> 2) !== 0;
  }
}
