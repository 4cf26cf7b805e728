// A lock word in memory several host processes map (docs/ipc.md "Service sockets", "The exchange
// table"): a service socket's exchange table and a process' signal door are written under one. The word
// holds the holder's host process id, so a lock whose holder is gone (killed with kill -9 inside the few
// microseconds it holds it) is not held forever: a taker that waited checks the holder and breaks the
// lock of a process that no longer runs (or is a zombie). A taker also gives up when `giveUp()` holds
// (the socket was closed: the kernel closes a dead process' sockets). Layout: i32 holder @0 (0: free) |
// i32 waiters @4 (takers asleep on the word, so `release` wakes only when someone sleeps).

import { readFileSync } from "node:fs";
import { hostProcessAlive } from "../../native/errors.js";
import type { RingMemory } from "./ring.js";

/** Tries before a taker sleeps: the holder keeps the lock for a few microseconds. */
const SPIN = 256;
/** A taker checks whether the holder still runs once it slept this many times (1 ms each). */
const STALE_AFTER = 2;

/**
 * Whether host process `pid` is gone: no such process, or a zombie (dead, not yet reaped by its parent:
 * the kernel server reaps its runners on its event loop, which may be the one waiting here).
 */
export function hostProcessGone(pid: number): boolean {
  if (pid === process.pid) return false;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "latin1");
    const state = stat.charAt(stat.lastIndexOf(")") + 2);
    return state === "Z" || state === "X" || state === "x";
  } catch {
    // No /proc entry (the process is gone), or no /proc at all (another host): ask the host.
    return !hostProcessAlive(pid);
  }
}

export const SHARED_LOCK_BYTES = 8;

export class SharedLock {
  private readonly w: Int32Array;
  /**
   * `memory`'s wait/wake reach the lock at byte `at` of `memory.bytes` (a 4-byte boundary).
   * `gone` tells whether a holder's host process is gone (tests replace it).
   */
  constructor(
    private readonly memory: RingMemory,
    private readonly at: number,
    private readonly gone: (pid: number) => boolean = hostProcessGone,
  ) {
    this.w = new Int32Array(memory.bytes.buffer, memory.bytes.byteOffset + at, 2);
  }

  /** The holder's host process id, 0 when free. */
  holder(): number {
    return Atomics.load(this.w, 0);
  }

  /** Take the lock for this host process (`me`); false, not taken, once `giveUp()` holds. */
  acquire(giveUp: () => boolean, me: number = process.pid): boolean {
    for (let i = 0; i < SPIN; i++) if (Atomics.compareExchange(this.w, 0, 0, me) === 0) return true;
    let slept = 0;
    for (;;) {
      const holder = Atomics.load(this.w, 0);
      if (holder === 0) {
        if (Atomics.compareExchange(this.w, 0, 0, me) === 0) return true;
        continue;
      }
      if (giveUp()) return false;
      // A holder killed inside: its lock is broken (what it half wrote belongs to a socket the kernel
      // closes with its process, docs/ipc.md).
      if (slept >= STALE_AFTER && holder !== me && this.gone(holder)) {
        if (Atomics.compareExchange(this.w, 0, holder, me) === holder) return true;
        continue;
      }
      Atomics.add(this.w, 1, 1);
      this.memory.wait(this.at, holder, 1);
      Atomics.sub(this.w, 1, 1);
      slept++;
    }
  }

  release(): void {
    Atomics.store(this.w, 0, 0);
    if (Atomics.load(this.w, 1) !== 0) this.memory.wake(this.at, 1);
  }

  /** Wake every sleeping taker (they re-check `giveUp`). */
  wakeAll(): void {
    this.memory.wake(this.at, 0x7fff_ffff);
  }
}

/** `memory` seen from byte `at` on (a table inside a larger segment): offsets are from `at`. */
export function memoryFrom(memory: RingMemory, at: number): RingMemory {
  if (at % 8 !== 0) throw new RangeError("a shared table starts on an 8-byte boundary");
  return {
    bytes: memory.bytes.subarray(at),
    ...(memory.copy === undefined ? {} : { copy: memory.copy }),
    wait: (offset, expected, timeoutMs) => memory.wait(at + offset, expected, timeoutMs),
    wake: (offset, count) => memory.wake(at + offset, count),
  };
}
