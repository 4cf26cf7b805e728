// The byte ring every NightOS data path runs on (docs/ipc.md, "The byte ring"): one producer and one
// consumer sharing a segment of host memory, for pipes (specs/kernel/ipc.md, "Pipes"), service-socket
// messages (staged records, "Service sockets") and later command pipes. The kernel, runners and the CLI
// map the same layout.
//
// Bytes never travel through the kernel server: a producer copies into the data area, then publishes
// its position; a consumer that finds nothing spins briefly, then sleeps on a wait word the producer
// wakes. A producer killed mid-copy never publishes, so a consumer sees only whole writes.

import { MAX_PIPE_MESSAGE_SIZE } from "../../commonassembly/abi/numbers.js";
import type { WaitResult } from "../../native/types.js";

/** "NCWR", little-endian. */
export const RING_MAGIC = 0x5257_434e;
export const RING_LAYOUT_VERSION = 1;

/** Offsets of the header fields, in bytes. Hot fields of each side sit on their own cache line. */
export const RingField = {
  magic: 0,
  version: 4,
  flags: 6,
  capacity: 8,
  /** RingState bits, set by either side or by the kernel (close, peer death). */
  state: 16,
  /** Producer-owned: the write position, modulo 2 × capacity. */
  tail: 64,
  /** Bumped by the producer after each publish and by every close: the consumer sleeps on it. */
  dataSeq: 68,
  /**
   * 0, or how many bytes the consumer sleeps (or is about to sleep) for: the producer wakes it only
   * once that many are pending.
   */
  readerSleeping: 72,
  /** Consumer-owned: the read position, modulo 2 × capacity. */
  head: 128,
  /** Bumped by the consumer after each read and by every close: the producer sleeps on it. */
  spaceSeq: 132,
  /** 0, or how many free bytes the producer sleeps for: the consumer wakes it only once they are free. */
  writerSleeping: 136,
  /** Pipe locking (ipc.md, "Pipes locking"): 0 free, 1 held, for each side. */
  writeLock: 192,
  /** How many writers wait for the write lock (PIPE_INFO bit 4, "writing request pending"). */
  writeLockWaiters: 196,
  readLock: 200,
  readLockWaiters: 204,
} as const;

export const RING_HEADER_SIZE = 256;

export const RingFlag = {
  /** Message pipe: every write is one length-prefixed record, read whole. */
  message: 1 << 0,
} as const;

export const RingState = {
  writerClosed: 1 << 0,
  readerClosed: 1 << 1,
  /** The side that closed died instead of closing (PIPE_CLOSED's "brutally terminated"). */
  brutal: 1 << 2,
} as const;

/** A message's length prefix (u32 LE), stored in the ring before its bytes. */
export const MESSAGE_HEADER_SIZE = 4;
/** ipc.md, "Message pipes": at most 64 KB, the pipes' buffer's minimal capacity (numbers.ts). */
export const MAX_MESSAGE_SIZE = MAX_PIPE_MESSAGE_SIZE;
/**
 * The largest data area: a service socket's largest message (65535 × 4 KiB, docs/ipc.md "Service
 * sockets") and its record header fit; pipes stay at 16 MiB + 4 (their multiplier is one byte). Positions
 * run modulo 2 × capacity, well inside a u32.
 */
export const MAX_RING_CAPACITY = 256 * 1024 * 1024 + 64;

/** Bytes of segment a ring with `capacity` data bytes needs. */
export function ringSegmentSize(capacity: number): number {
  return RING_HEADER_SIZE + capacity;
}

/**
 * The memory a ring lives in, with the wait/wake that works for whoever maps it: futex on a host
 * segment shared by processes (native/), Atomics.wait/notify on a SharedArrayBuffer shared by threads.
 */
export interface RingMemory {
  readonly bytes: Uint8Array;
  /**
   * A native copy of `src` into `dst` (the same length), where the host has one: V8 copies between
   * two shared buffers word by word, the host's memmove does not (bench/README.md, "Commands"). Used
   * for copies of NATIVE_COPY_MIN bytes or more; undefined copies with `Uint8Array.set`.
   */
  readonly copy?: (dst: Uint8Array, src: Uint8Array) => void;
  /** Sleep while the i32 at `offset` (from the ring's start) equals `expected`, at most `timeoutMs`. */
  wait(offset: number, expected: number, timeoutMs: number): WaitResult;
  wake(offset: number, count: number): void;
}

/** A ring in a SharedArrayBuffer (threads of one process, and unit tests). */
export function sharedArrayRingMemory(sab: SharedArrayBuffer, byteOffset = 0): RingMemory {
  if (byteOffset % 4 !== 0) throw new RangeError("a ring starts on a 4-byte boundary");
  const i32 = new Int32Array(sab, byteOffset, RING_HEADER_SIZE >> 2);
  return {
    bytes: new Uint8Array(sab, byteOffset),
    wait(offset, expected, timeoutMs) {
      const r = Atomics.wait(i32, offset >> 2, expected, timeoutMs);
      return r === "ok" ? "woken" : r === "timed-out" ? "timeout" : "not-equal";
    },
    wake(offset, count) {
      Atomics.notify(i32, offset >> 2, count);
    },
  };
}

/** A ring in a host segment mapped by several processes (the host's futex-like wait/wake). */
export function hostRingMemory(
  segment: { readonly buffer: ArrayBuffer; readonly address: bigint },
  host: {
    wait(address: bigint, expected: number, timeoutMs?: number): WaitResult;
    wake(address: bigint, count: number): number;
    copyBytes?(dst: Uint8Array, src: Uint8Array): void;
  },
): RingMemory {
  // The host addresses of the few words anyone waits on, computed once (no BigInt per call).
  const addresses = new Map<number, bigint>();
  const at = (offset: number): bigint => {
    let a = addresses.get(offset);
    if (a === undefined) {
      a = segment.address + BigInt(offset);
      addresses.set(offset, a);
    }
    return a;
  };
  return {
    bytes: new Uint8Array(segment.buffer),
    copy: host.copyBytes?.bind(host),
    wait: (offset, expected, timeoutMs) => host.wait(at(offset), expected, timeoutMs),
    wake: (offset, count) => {
      host.wake(at(offset), count);
    },
  };
}

export class RingFormatError extends Error {}

/** Write a fresh ring header into `memory` (zeroed positions, no lock held, open on both sides). */
export function initRing(memory: RingMemory, capacity: number, flags = 0): void {
  if (!Number.isInteger(capacity) || capacity < 1 || capacity > MAX_RING_CAPACITY) {
    throw new RangeError(`ring capacity must be 1..${MAX_RING_CAPACITY} bytes, got ${capacity}`);
  }
  if (memory.bytes.byteLength < ringSegmentSize(capacity)) {
    throw new RangeError(
      `a ring of ${capacity} bytes needs ${ringSegmentSize(capacity)} bytes of memory, got ${memory.bytes.byteLength}`,
    );
  }
  memory.bytes.fill(0, 0, RING_HEADER_SIZE);
  const dv = view(memory);
  dv.setUint16(RingField.version, RING_LAYOUT_VERSION, true);
  dv.setUint16(RingField.flags, flags, true);
  dv.setUint32(RingField.capacity, capacity, true);
  // The magic last: a peer that maps the segment early sees either no ring or a whole header.
  Atomics.store(words(memory), RingField.magic >> 2, RING_MAGIC | 0);
}

function view(memory: RingMemory): DataView {
  return new DataView(memory.bytes.buffer, memory.bytes.byteOffset, memory.bytes.byteLength);
}

function words(memory: RingMemory): Int32Array {
  return new Int32Array(memory.bytes.buffer, memory.bytes.byteOffset, RING_HEADER_SIZE >> 2);
}

/**
 * The least bytes a ring copies through its memory's native copy (RingMemory.copy); below, the koffi
 * call costs more than `Uint8Array.set` loses (measured crossover: bench/README.md, "Commands").
 */
export const NATIVE_COPY_MIN = 4096;
/** Copies this short or shorter are made byte by byte (no view, no call): a message's bytes, a header. */
const SMALL_COPY_MAX = 256;

/**
 * How long a side spins at most re-reading the other side's position before it sleeps. Each side
 * adapts its own spin below this (see `RingSide.spinUntil`): a spin that ended in a sleep halves it.
 */
export const DEFAULT_SPIN = 2000;
/** The least an adapted spin falls to (0 only when the caller asks for no spin at all). */
export const MIN_SPIN = 32;
/**
 * A raw ring publishes (and frees) at most this many bytes at a time: the other side starts copying
 * the first chunk while this one copies the next, instead of the two taking turns over whole writes.
 */
export const RING_CHUNK = 16 * 1024;
/** The largest chunk: what a large ring (CMDIN's 4 MiB) publishes and frees at a time. */
export const RING_CHUNK_MAX = 256 * 1024;

/**
 * A ring's chunk: a sixteenth of its capacity, between RING_CHUNK and RING_CHUNK_MAX. A 64 KiB pipe
 * keeps 16 KiB chunks (the two sides copy at once); a 4 MiB ring makes 256 KiB ones, so a stream costs
 * a sixteenth of the native copy calls and position updates, with sixteen chunks in flight still.
 */
export function ringChunk(capacity: number): number {
  return Math.min(RING_CHUNK_MAX, Math.max(RING_CHUNK, Math.floor(capacity / 16)));
}
/**
 * A sleeping side wakes at least this often to ask `interrupted()` (signals must run while a PIPE_READ
 * or PIPE_WRITE blocks, docs/kernel.md). A deliverer that calls `interrupt()` wakes it at once.
 */
export const DEFAULT_SLICE_MS = 50;

export interface WaitOptions {
  /** Give up after this long (ms); undefined waits until the condition, a close or an interrupt. */
  timeoutMs?: number;
  /** Asked between sleeps; true ends the wait with "interrupted". */
  interrupted?: () => boolean;
  spin?: number;
  sliceMs?: number;
}

export type WaitOutcome = "ready" | "closed" | "timeout" | "interrupted";

/** What `snapshot` reads: one consistent view of a ring (PIPE_INFO's status, capacity and count). */
export interface RingSnapshot {
  /** RingState bits. */
  state: number;
  /** Bytes written and not yet read. */
  used: number;
  /** Whether each side's lock is held (PIPE_INFO bit 3), and whether others wait for it (bits 4, 5). */
  writeLocked: boolean;
  readLocked: boolean;
  writePending: boolean;
  readPending: boolean;
}

/** How many re-reads `snapshot` makes before it takes the last one (the ring never stood still). */
const SNAPSHOT_TRIES = 64;

/** Either side's view of a ring. Positions run modulo 2 × capacity, so full and empty differ. */
abstract class RingSide {
  protected readonly w: Int32Array;
  readonly capacity: number;
  readonly flags: number;
  /** How many bytes a raw write publishes, and a read frees, at a time (`ringChunk`). */
  readonly chunk: number;
  /** This side's adapted spin (re-reads before a sleep), at most the caller's `spin`. */
  private spinBudget = Number.POSITIVE_INFINITY;

  constructor(protected readonly memory: RingMemory) {
    this.w = words(memory);
    const magic = Atomics.load(this.w, RingField.magic >> 2) >>> 0;
    if (magic !== RING_MAGIC) throw new RingFormatError("not an NCW ring (bad magic)");
    const dv = view(memory);
    const version = dv.getUint16(RingField.version, true);
    if (version !== RING_LAYOUT_VERSION) {
      throw new RingFormatError(`ring layout ${version} is not ${RING_LAYOUT_VERSION}`);
    }
    this.flags = dv.getUint16(RingField.flags, true);
    this.capacity = dv.getUint32(RingField.capacity, true);
    if (this.capacity < 1 || this.capacity > MAX_RING_CAPACITY) {
      throw new RingFormatError(`ring capacity ${this.capacity} is out of range`);
    }
    if (memory.bytes.byteLength < ringSegmentSize(this.capacity)) {
      throw new RingFormatError("ring memory is smaller than its header says");
    }
    this.chunk = ringChunk(this.capacity);
  }

  get isMessage(): boolean {
    return (this.flags & RingFlag.message) !== 0;
  }

  protected load(field: number): number {
    return Atomics.load(this.w, field >> 2) >>> 0;
  }

  protected store(field: number, value: number): void {
    Atomics.store(this.w, field >> 2, value | 0);
  }

  state(): number {
    return this.load(RingField.state);
  }

  /** Bytes written and not yet read. */
  used(): number {
    const n = this.load(RingField.tail) - this.load(RingField.head);
    return n < 0 ? n + 2 * this.capacity : n;
  }

  free(): number {
    return this.capacity - this.used();
  }

  /** Mark the ring closed from this side (or for it, by the kernel when its process died). */
  close(side: "writer" | "reader", brutal = false): void {
    const bit = side === "writer" ? RingState.writerClosed : RingState.readerClosed;
    Atomics.or(this.w, RingField.state >> 2, bit | (brutal ? RingState.brutal : 0));
    this.interrupt();
  }

  /** Wake every sleeper on both sides (a close, or a signal to deliver): they re-check and return. */
  interrupt(): void {
    Atomics.add(this.w, RingField.dataSeq >> 2, 1);
    Atomics.add(this.w, RingField.spaceSeq >> 2, 1);
    this.memory.wake(RingField.dataSeq, 0x7fff_ffff);
    this.memory.wake(RingField.spaceSeq, 0x7fff_ffff);
  }

  /**
   * The ring's state, fill level and locks as they all stood at one instant (PIPE_INFO): read twice in
   * a row until both reads agree. Read once, field by field, a reader preempted between the positions
   * and the lock words could see a state that never existed (an empty ring whose writer waits for the
   * lock while another holds it over a full ring; seen in CI). The two sequence words are read too:
   * every publish and every read bumps one, so positions that came back to the same value (after
   * 2 × capacity bytes) or a lock taken and given back around a transfer still show as a change.
   */
  snapshot(): RingSnapshot {
    let last = this.collect();
    for (let tries = 0; tries < SNAPSHOT_TRIES; tries++) {
      const again = this.collect();
      const same =
        again.state === last.state &&
        again.tail === last.tail &&
        again.head === last.head &&
        again.dataSeq === last.dataSeq &&
        again.spaceSeq === last.spaceSeq &&
        again.writeLock === last.writeLock &&
        again.writeWaiters === last.writeWaiters &&
        again.readLock === last.readLock &&
        again.readWaiters === last.readWaiters;
      last = again;
      if (same) break;
    }
    const n = last.tail - last.head;
    return {
      state: last.state,
      used: n < 0 ? n + 2 * this.capacity : n,
      writeLocked: last.writeLock !== 0,
      readLocked: last.readLock !== 0,
      writePending: last.writeWaiters !== 0,
      readPending: last.readWaiters !== 0,
    };
  }

  private collect() {
    return {
      state: this.load(RingField.state),
      tail: this.load(RingField.tail),
      head: this.load(RingField.head),
      dataSeq: this.load(RingField.dataSeq),
      spaceSeq: this.load(RingField.spaceSeq),
      writeLock: this.load(RingField.writeLock),
      writeWaiters: this.load(RingField.writeLockWaiters),
      readLock: this.load(RingField.readLock),
      readWaiters: this.load(RingField.readLockWaiters),
    };
  }

  /**
   * Take this side's lock. `wait: false` answers at once (PIPE_* mode 0x01 "fail if locked");
   * otherwise waits, counted as a pending request, until the lock is free.
   */
  protected acquire(lock: number, waiters: number, opts: WaitOptions | false): WaitOutcome {
    if (Atomics.compareExchange(this.w, lock >> 2, 0, 1) === 0) return "ready";
    if (opts === false) return "timeout";
    Atomics.add(this.w, waiters >> 2, 1);
    try {
      return this.sleepUntil(
        lock,
        () => Atomics.compareExchange(this.w, lock >> 2, 0, 1) === 0,
        opts,
      );
    } finally {
      Atomics.sub(this.w, waiters >> 2, 1);
    }
  }

  /**
   * Run `body` holding this side's lock (`writer` or `reader`); when the lock cannot be had (`opts`
   * false: it is held; else the wait ended), answer `refused(reason)` instead.
   */
  protected withLock<R>(
    side: "writer" | "reader",
    opts: WaitOptions | false,
    refused: (reason: "locked" | Stop) => R,
    body: () => R,
  ): R {
    const writer = side === "writer";
    const lock = writer ? RingField.writeLock : RingField.readLock;
    const waiters = writer ? RingField.writeLockWaiters : RingField.readLockWaiters;
    const got = this.acquire(lock, waiters, opts);
    if (got !== "ready") return refused(opts === false ? "locked" : stopReason(got));
    try {
      return body();
    } finally {
      this.release(lock, waiters);
    }
  }

  /** Free the lock; wake a waiter only if one announced itself (it counts before it sleeps). */
  protected release(lock: number, waiters: number): void {
    Atomics.store(this.w, lock >> 2, 0);
    if (this.load(waiters) !== 0) this.memory.wake(lock, 1);
  }

  /**
   * Spin, then sleep on `word` until `ready()` holds (a caller's `ready` includes the closes that end
   * its wait), or the options end the wait. `sleeping` names the flag the other side reads before it
   * wakes this one, and what this side announces in it: how many bytes it waits for.
   */
  protected sleepUntil(
    word: number,
    ready: () => boolean,
    opts: WaitOptions,
    sleeping?: { flag: number; want: number },
  ): WaitOutcome {
    if (this.spinUntil(ready, opts.spin ?? DEFAULT_SPIN)) return "ready";
    const flag = sleeping?.flag;
    const slice = opts.sliceMs ?? DEFAULT_SLICE_MS;
    const deadline = opts.timeoutMs === undefined ? Infinity : performance.now() + opts.timeoutMs;
    for (;;) {
      const seq = this.load(word);
      if (sleeping !== undefined) this.store(sleeping.flag, Math.max(1, sleeping.want));
      // Re-check after announcing the sleep: the other side reads the flag after publishing.
      if (ready()) return this.awake(flag, "ready");
      if (opts.interrupted?.()) return this.awake(flag, "interrupted");
      const left = deadline - performance.now();
      if (left <= 0) return this.awake(flag, "timeout");
      this.memory.wait(word, seq | 0, Math.min(slice, left));
      if (flag !== undefined) this.store(flag, 0);
    }
  }

  /**
   * Re-read `ready()` up to this side's adapted spin. A spin that succeeds keeps the budget (grown to
   * four times what it needed); one that ends in a sleep halves it down to MIN_SPIN: on a busy host,
   * where the other side is not running, spinning only takes the core it needs.
   */
  private spinUntil(ready: () => boolean, max: number): boolean {
    if (max <= 0) return ready(); // asked not to spin: the adapted budget stays for later calls
    const budget = Math.min(this.spinBudget, max);
    for (let i = 0; i < budget; i++) {
      if (ready()) {
        this.spinBudget = Math.min(max, Math.max(this.spinBudget, 4 * i));
        return true;
      }
    }
    this.spinBudget = Math.max(MIN_SPIN, budget >> 1);
    return ready();
  }

  /**
   * Wake the other side sleeping on `word` if it announced, in `flag`, a wait that `enough(want)` now
   * satisfies; clearing the flag first, so a stream of publishes makes one wake-up call, not one each.
   */
  protected wakeIf(flag: number, word: number, enough: (want: number) => boolean): void {
    const want = this.load(flag);
    if (want === 0 || !enough(want)) return;
    if (Atomics.compareExchange(this.w, flag >> 2, want, 0) === want) this.memory.wake(word, 1);
  }

  private awake(flag: number | undefined, outcome: WaitOutcome): WaitOutcome {
    if (flag !== undefined) this.store(flag, 0);
    return outcome;
  }

  /** Copy `src` into the data area from position `pos`, wrapping at the capacity. */
  protected copyIn(pos: number, src: Uint8Array): void {
    const at = pos % this.capacity;
    const first = Math.min(src.length, this.capacity - at);
    const data = this.memory.bytes;
    const native = this.memory.copy;
    if (native !== undefined && src.length >= NATIVE_COPY_MIN) {
      const start = RING_HEADER_SIZE + at;
      nativeCopy(native, data.subarray(start, start + first), src.subarray(0, first));
      if (first < src.length) {
        const rest = src.length - first;
        nativeCopy(
          native,
          data.subarray(RING_HEADER_SIZE, RING_HEADER_SIZE + rest),
          src.subarray(first),
        );
      }
      return;
    }
    if (src.length <= SMALL_COPY_MAX) {
      // A short record (a message, a header): byte by byte, no view made. Measured on a 64-byte
      // message: a `subarray` + `set` pair cost most of its write, and even one `set` without a view
      // costs more than the loop.
      let to = RING_HEADER_SIZE + at;
      for (let i = 0; i < src.length; i++) {
        if (i === first) to = RING_HEADER_SIZE;
        data[to++] = src[i] as number;
      }
      return;
    }
    if (first === src.length) data.set(src, RING_HEADER_SIZE + at);
    else {
      data.set(src.subarray(0, first), RING_HEADER_SIZE + at);
      data.set(src.subarray(first), RING_HEADER_SIZE);
    }
  }

  /** Copy the data area from position `pos` into all of `dst`, wrapping at the capacity. */
  protected copyOut(pos: number, dst: Uint8Array): void {
    const at = pos % this.capacity;
    const first = Math.min(dst.length, this.capacity - at);
    const data = this.memory.bytes;
    const native = this.memory.copy;
    if (native !== undefined && dst.length >= NATIVE_COPY_MIN) {
      const start = RING_HEADER_SIZE + at;
      nativeCopy(native, dst.subarray(0, first), data.subarray(start, start + first));
      if (first < dst.length) {
        const rest = dst.length - first;
        nativeCopy(
          native,
          dst.subarray(first),
          data.subarray(RING_HEADER_SIZE, RING_HEADER_SIZE + rest),
        );
      }
      return;
    }
    if (dst.length <= SMALL_COPY_MAX) {
      let from = RING_HEADER_SIZE + at;
      for (let i = 0; i < dst.length; i++) {
        if (i === first) from = RING_HEADER_SIZE;
        dst[i] = data[from++] as number;
      }
      return;
    }
    dst.set(data.subarray(RING_HEADER_SIZE + at, RING_HEADER_SIZE + at + first));
    if (first < dst.length) {
      dst.set(data.subarray(RING_HEADER_SIZE, RING_HEADER_SIZE + dst.length - first), first);
    }
  }

  /** The u32 (little-endian) at position `pos` of the data area, wrapping at the capacity. */
  protected readU32(pos: number): number {
    const data = this.memory.bytes;
    let v = 0;
    for (let i = 0; i < 4; i++)
      v |= (data[RING_HEADER_SIZE + ((pos + i) % this.capacity)] as number) << (8 * i);
    return v >>> 0;
  }

  /** Write `v` as a u32 (little-endian) at position `pos` of the data area, wrapping at the capacity. */
  protected writeU32(pos: number, v: number): void {
    const data = this.memory.bytes;
    for (let i = 0; i < 4; i++)
      data[RING_HEADER_SIZE + ((pos + i) % this.capacity)] = (v >>> (8 * i)) & 0xff;
  }

  protected advance(pos: number, n: number): number {
    return (pos + n) % (2 * this.capacity);
  }
}

export type WriteResult =
  | { ok: true; written: number }
  | {
      ok: false;
      reason: "locked" | "full" | "closed" | "too-large" | "timeout" | "interrupted";
      /** Bytes already published before the write stopped (raw rings write progressively). */
      written: number;
    };

export type ReadResult =
  | { ok: true; read: number }
  | {
      ok: false;
      reason: "locked" | "empty" | "closed" | "too-small" | "timeout" | "interrupted";
      /** Bytes already taken (raw), or the pending message's length ("too-small"). */
      read: number;
    };

/**
 * Hand two views of the same length to a native copy. Both are bounded by construction (the ring's
 * span was checked against its memory when the side was made; an app's buffer was checked by the
 * syscall before the ring is asked); a `subarray` past a view's end comes out shorter, never longer, so
 * the lengths compared here are what the native copy may touch: it never reaches past either view.
 */
function nativeCopy(
  copy: (dst: Uint8Array, src: Uint8Array) => void,
  dst: Uint8Array,
  src: Uint8Array,
): void {
  if (dst.length !== src.length) {
    throw new RangeError(`ring copy of ${src.length} bytes into a span of ${dst.length}`);
  }
  copy(dst, src);
}

export type Stop = "closed" | "timeout" | "interrupted";
function stopReason(r: WaitOutcome): Stop {
  return r === "ready" ? "timeout" : r;
}

/**
 * How much a side that waits in the middle of a raw transfer asks for before it is woken: what it
 * still needs, but at most a quarter of the ring, so a long stream wakes a sleeper a few times per
 * ring, not once per byte.
 */
function lowWater(capacity: number, needed: number): number {
  return Math.max(1, Math.min(needed, Math.ceil(capacity / 4)));
}

/** The producer side. In a message ring every write is one record; `writeSome` is raw-only. */
export class RingWriter extends RingSide {
  private closedForWriting(): boolean {
    return (this.state() & (RingState.writerClosed | RingState.readerClosed)) !== 0;
  }

  /**
   * Write all of `src`. With `opts` it waits for the lock and for room; a raw ring is filled
   * progressively (so `src` may exceed the capacity), a message ring takes one whole record. With
   * `false` (mode 0x01) it answers at once: "locked", or "full" when all of `src` does not fit now.
   */
  writeAll(src: Uint8Array, opts: WaitOptions | false = {}): WriteResult {
    if (src.length === 0) return { ok: true, written: 0 };
    const need = this.isMessage ? src.length + MESSAGE_HEADER_SIZE : src.length;
    if (this.isMessage && (src.length > MAX_MESSAGE_SIZE || need > this.capacity)) {
      return { ok: false, reason: "too-large", written: 0 };
    }
    if (this.closedForWriting()) return { ok: false, reason: "closed", written: 0 };
    // The lock taken and released here rather than through withLock: no closure per write (this is
    // every PIPE_WRITE's path).
    const got = this.acquire(RingField.writeLock, RingField.writeLockWaiters, opts);
    if (got !== "ready")
      return { ok: false, reason: opts === false ? "locked" : stopReason(got), written: 0 };
    try {
      if (opts === false) {
        if (this.free() < need) return { ok: false, reason: "full", written: 0 };
        this.put(src);
        return { ok: true, written: src.length };
      }
      let done = 0;
      while (done < src.length) {
        const want = this.isMessage ? need : lowWater(this.capacity, src.length - done);
        if (this.free() < want && !this.closedForWriting()) {
          const r = this.sleepUntil(
            RingField.spaceSeq,
            () => this.free() >= want || this.closedForWriting(),
            opts,
            { flag: RingField.writerSleeping, want },
          );
          if (r !== "ready") return { ok: false, reason: stopReason(r), written: done };
        }
        if (this.closedForWriting()) return { ok: false, reason: "closed", written: done };
        const n = this.isMessage ? src.length : Math.min(this.free(), src.length - done);
        this.put(n === src.length ? src : src.subarray(done, done + n));
        done += n;
      }
      return { ok: true, written: done };
    } finally {
      this.release(RingField.writeLock, RingField.writeLockWaiters);
    }
  }

  /** Write as much of `src` as fits now (mode 0x02, raw rings only); never waits for room. */
  writeSome(src: Uint8Array, opts: WaitOptions | false = {}): WriteResult {
    if (this.isMessage) throw new RangeError("writeSome on a message ring");
    if (src.length === 0) return { ok: true, written: 0 };
    if (this.closedForWriting()) return { ok: false, reason: "closed", written: 0 };
    return this.withLock<WriteResult>(
      "writer",
      opts,
      (reason) => ({ ok: false, reason, written: 0 }),
      () => {
        const n = Math.min(src.length, this.free());
        if (n > 0) this.put(src.subarray(0, n));
        return { ok: true, written: n };
      },
    );
  }

  /**
   * Let `produce` write straight into the ring (raw rings): it gets the contiguous free bytes at the
   * tail and returns how many it placed, which are then published at once. A producer that reads a host
   * file this way (the CLI's CMDIN pump) saves a copy. `produce` returning 0 publishes nothing
   * (`written: 0`). A ring with any room is filled at once; a full one is waited on, as `writeAll`
   * waits in the middle of a transfer, until a quarter of it is free: a reader that frees the ring a
   * chunk at a time then wakes the producer once per quarter, not once per chunk.
   */
  fill(produce: (span: Uint8Array) => number, opts: WaitOptions = {}): WriteResult {
    if (this.isMessage) throw new RangeError("fill on a message ring");
    if (this.closedForWriting()) return { ok: false, reason: "closed", written: 0 };
    return this.withLock<WriteResult>(
      "writer",
      opts,
      (reason) => ({ ok: false, reason, written: 0 }),
      () => {
        if (this.free() === 0) {
          const want = lowWater(this.capacity, this.capacity);
          const r = this.sleepUntil(
            RingField.spaceSeq,
            () => this.free() >= want || this.closedForWriting(),
            opts,
            { flag: RingField.writerSleeping, want },
          );
          if (r !== "ready") return { ok: false, reason: stopReason(r), written: 0 };
        }
        if (this.closedForWriting()) return { ok: false, reason: "closed", written: 0 };
        const tail = this.load(RingField.tail);
        const at = tail % this.capacity;
        const len = Math.min(this.free(), this.capacity - at);
        const span = this.memory.bytes.subarray(RING_HEADER_SIZE + at, RING_HEADER_SIZE + at + len);
        const n = produce(span);
        if (!Number.isInteger(n) || n < 0 || n > len)
          throw new RangeError(`fill: the producer placed ${n} bytes in a span of ${len}`);
        if (n > 0) this.publish(this.advance(tail, n));
        return { ok: true, written: n };
      },
    );
  }

  /**
   * A record whose header another party writes (service sockets: the kernel, docs/ipc.md "Service
   * sockets"). Holding the write lock, wait until `headerSize + body.length` bytes are free, copy `body`
   * after a `headerSize`-byte gap at the tail without publishing, then run `commit` with the lock still
   * held; only `publishStaged` (by whoever commits) makes the record visible. A refused commit leaves
   * the bytes past the tail, where no reader looks. `refused` answers when the lock or the room cannot
   * be had (`opts` false: at once; else the ring closed or the wait ended).
   */
  stage<R>(
    headerSize: number,
    body: Uint8Array,
    opts: WaitOptions | false,
    refused: (reason: "locked" | "full" | Stop) => R,
    commit: () => R,
  ): R {
    const need = headerSize + body.length;
    if (need > this.capacity) throw new RangeError(`a ${need}-byte record never fits this ring`);
    if (this.closedForWriting()) return refused("closed");
    return this.withLock<R>("writer", opts, refused, () => {
      if (opts === false) {
        if (this.free() < need) return refused("full");
      } else {
        const r = this.sleepUntil(
          RingField.spaceSeq,
          () => this.free() >= need || this.closedForWriting(),
          opts,
          { flag: RingField.writerSleeping, want: need },
        );
        if (r !== "ready") return refused(stopReason(r));
      }
      if (this.closedForWriting()) return refused("closed");
      this.copyIn(this.advance(this.load(RingField.tail), headerSize), body);
      return commit();
    });
  }

  /**
   * Publish the record staged at the tail: write `header` there and move the tail past `total` bytes
   * (header and body). False, and nothing published, when `total` bytes are not free (no staged record
   * of that size can be there).
   */
  publishStaged(header: Uint8Array, total: number): boolean {
    if (total < header.length || total > this.free()) return false;
    const tail = this.load(RingField.tail);
    this.copyIn(tail, header);
    this.publish(this.advance(tail, total));
    return true;
  }

  /**
   * Copy, then publish: until the tail moves, the consumer cannot see any of these bytes. A message
   * is one record (its header and bytes published together); raw bytes are published a chunk
   * (`ringChunk`) at a time, each chunk once it is copied.
   */
  private put(src: Uint8Array): void {
    let tail = this.load(RingField.tail);
    if (this.isMessage) {
      this.writeU32(tail, src.length);
      tail = this.advance(tail, MESSAGE_HEADER_SIZE);
      this.copyIn(tail, src);
      this.publish(this.advance(tail, src.length));
      return;
    }
    for (let at = 0; at < src.length; at += this.chunk) {
      const chunk = src.subarray(at, at + this.chunk);
      this.copyIn(tail, chunk);
      tail = this.advance(tail, chunk.length);
      this.publish(tail);
    }
  }

  private publish(tail: number): void {
    this.store(RingField.tail, tail);
    Atomics.add(this.w, RingField.dataSeq >> 2, 1);
    this.wakeIf(RingField.readerSleeping, RingField.dataSeq, (want) => this.used() >= want);
  }
}

/** The consumer side. */
export class RingReader extends RingSide {
  private writerGone(): boolean {
    return (this.state() & RingState.writerClosed) !== 0;
  }

  /** The length of the next message, or undefined when none is pending (message rings). */
  peekMessageLength(): number | undefined {
    if (!this.isMessage) throw new RangeError("peekMessageLength on a raw ring");
    if (this.used() < MESSAGE_HEADER_SIZE) return undefined;
    return this.readU32(this.load(RingField.head));
  }

  /**
   * Fill `dst` (raw: progressively, waiting for more), or read one whole message into it (message:
   * `read` is its length; a message longer than `dst` stays pending, "too-small"). With `false`
   * (mode 0x01) it answers at once: "locked", or "empty" when `dst` cannot be filled now. After the
   * writer closed, what is left can still be read; then "closed".
   */
  readExact(dst: Uint8Array, opts: WaitOptions | false = {}): ReadResult {
    // The lock taken and released here rather than through withLock: no closure per read (every
    // PIPE_READ's path).
    const got = this.acquire(RingField.readLock, RingField.readLockWaiters, opts);
    if (got !== "ready")
      return { ok: false, reason: opts === false ? "locked" : stopReason(got), read: 0 };
    try {
      if (this.isMessage) return this.readMessage(dst, opts);
      if (opts === false) {
        if (this.used() < dst.length) {
          return { ok: false, reason: this.writerGone() ? "closed" : "empty", read: 0 };
        }
        this.take(dst);
        return { ok: true, read: dst.length };
      }
      let done = 0;
      while (done < dst.length) {
        const want = lowWater(this.capacity, dst.length - done);
        if (this.used() < want && !this.writerGone()) {
          const r = this.sleepUntil(
            RingField.dataSeq,
            () => this.used() >= want || this.writerGone(),
            opts,
            { flag: RingField.readerSleeping, want },
          );
          if (r !== "ready") return { ok: false, reason: stopReason(r), read: done };
        }
        // After the writer closed, what is left is taken, then "closed".
        const n = Math.min(this.used(), dst.length - done);
        if (n === 0) return { ok: false, reason: "closed", read: done };
        this.take(n === dst.length ? dst : dst.subarray(done, done + n));
        done += n;
      }
      return { ok: true, read: done };
    } finally {
      this.release(RingField.readLock, RingField.readLockWaiters);
    }
  }

  private readMessage(dst: Uint8Array, opts: WaitOptions | false): ReadResult {
    if (this.used() === 0) {
      if (this.writerGone()) return { ok: false, reason: "closed", read: 0 };
      if (opts === false) return { ok: false, reason: "empty", read: 0 };
      const r = this.sleepUntil(
        RingField.dataSeq,
        () => this.used() > 0 || this.writerGone(),
        opts,
        { flag: RingField.readerSleeping, want: 1 },
      );
      if (r !== "ready") return { ok: false, reason: stopReason(r), read: 0 };
      if (this.used() === 0) return { ok: false, reason: "closed", read: 0 };
    }
    // A writer publishes a record's header and bytes together, so a pending header means a whole record.
    const len = this.peekMessageLength() ?? 0;
    if (len > dst.length) return { ok: false, reason: "too-small", read: len };
    const at = this.advance(this.load(RingField.head), MESSAGE_HEADER_SIZE);
    this.copyOut(at, len === dst.length ? dst : dst.subarray(0, len));
    this.consume(this.advance(at, len));
    return { ok: true, read: len };
  }

  /**
   * Under the read lock (waited for with `opts`; `false`: refused at once when it is held), run `body`
   * with `take(dst)`, which copies out and frees up to `dst.length` pending bytes and says how many
   * (raw rings). For a reader that also gets the pipe's bytes from elsewhere while it holds the lock
   * (runner/host-input.ts: CMDIN read from the host's stdin by the app's runner).
   */
  withReadLock<R>(
    opts: WaitOptions | false,
    refused: (reason: "locked" | Stop) => R,
    body: (take: (dst: Uint8Array) => number) => R,
  ): R {
    if (this.isMessage) throw new RangeError("withReadLock on a message ring");
    return this.withLock<R>("reader", opts, refused, () =>
      body((dst) => {
        const n = Math.min(dst.length, this.used());
        if (n > 0) this.take(dst.subarray(0, n));
        return n;
      }),
    );
  }

  /** Read what is pending now, up to `dst.length` (mode 0x02, raw rings); never waits for data. */
  readSome(dst: Uint8Array, opts: WaitOptions | false = {}): ReadResult {
    if (this.isMessage) throw new RangeError("readSome on a message ring");
    return this.withLock<ReadResult>(
      "reader",
      opts,
      (reason) => ({ ok: false, reason, read: 0 }),
      () => {
        const n = Math.min(dst.length, this.used());
        if (n === 0 && this.writerGone()) return { ok: false, reason: "closed", read: 0 };
        if (n > 0) this.take(dst.subarray(0, n));
        return { ok: true, read: n };
      },
    );
  }

  /**
   * Under the read lock (waited for), hand `fn` the pending record's first `headerSize` bytes, or
   * undefined when none is pending, and a `take(dst, bodyLength)` that copies the record's body into
   * `dst` and consumes the record. A record `fn` does not take stays pending.
   */
  withRecord<R>(
    headerSize: number,
    fn: (
      header: Uint8Array | undefined,
      take: (dst: Uint8Array, bodyLength: number) => void,
      pending: number,
    ) => R,
    refused: (reason: "locked" | Stop) => R,
  ): R {
    return this.withLock<R>("reader", {}, refused, () => {
      const used = this.used();
      if (used < headerSize) return fn(undefined, () => {}, used);
      const head = this.load(RingField.head);
      const header = new Uint8Array(headerSize);
      this.copyOut(head, header);
      return fn(
        header,
        (dst, bodyLength) => {
          const at = this.advance(head, headerSize);
          this.copyOut(at, dst.subarray(0, bodyLength));
          this.consume(this.advance(at, bodyLength));
        },
        used,
      );
    });
  }

  /** Copy out, then free: a chunk at a time, so a producer waiting for room starts early. */
  private take(dst: Uint8Array): void {
    let head = this.load(RingField.head);
    for (let at = 0; at < dst.length; at += this.chunk) {
      const chunk = dst.subarray(at, at + this.chunk);
      this.copyOut(head, chunk);
      head = this.advance(head, chunk.length);
      this.consume(head);
    }
  }

  private consume(head: number): void {
    this.store(RingField.head, head);
    Atomics.add(this.w, RingField.spaceSeq >> 2, 1);
    this.wakeIf(RingField.writerSleeping, RingField.spaceSeq, (want) => this.free() >= want);
  }
}
