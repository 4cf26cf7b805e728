// A runner's AMS mappings (docs/ipc.md "Shared memory"; specs/kernel/memory.md "Abstract memory
// segments"): the host segment of an AMS mapped with MAP_FIXED over pages of the process' WebAssembly
// memory, so a store of one process is a load of the other with no syscall. The relay maps and unmaps
// when the kernel asks (`ams-map`, `ams-unmap`, protocol.ts); the table lives in a SharedArrayBuffer so
// the process' threads can put read-only mappings back after the memory grew (V8 makes every page of a
// memory read-write when it grows it; a read-only mapping is a private one of a read-only descriptor,
// so that only ever made private copies writable, never the segment).

import { Sig } from "../../commonassembly/abi/numbers.js";
import { BackedAccess, Datafield, encodeDatafield } from "../../commonassembly/abi/signals.js";
import { hostNative } from "../../native/index.js";
import type { ToRunner } from "../protocol.js";
import { withLock } from "./lock.js";
import { AmsMark, PAGE_SIZE, type PageAllocator } from "./memory.js";
import type { SignalAnswer } from "./signals.js";

/** AMS mappings one process may hold at once (decided, docs/ipc.md). */
export const AMS_MAPPINGS = 256;
const SLOT_BYTES = 128;
const NAME_MAX = SLOT_BYTES - 24;
const HEADER = 8;
// Header: i32 lock | i32 the memory's size the read-only mappings were last put back for.
// Slot: i32 state (0 free, 1 used) | u32 address @4 | u32 length @8 | u32 offset @12 | u8 flags @16 |
// u8 name length @17 | name @24.
const Flag = { READ_ONLY: 1, PRIVATE: 2, SOURCE: 4, ALLOCATED: 8 } as const;

export interface AmsMapping {
  /** Where in the process' memory, and how many bytes (whole pages). */
  address: number;
  length: number;
  /** The segment's `name` and the byte of it mapped at `address`. */
  name: string;
  offset: number;
  readOnly: boolean;
  /** Copy-on-write (MAP_PRIVATE): the process' stores stay its own. */
  private: boolean;
  /** The range VIRT_MEM_AMS registered (the creator's own pages). */
  source: boolean;
  /** Pages the relay took from the page allocator for it (SHARE_AMS): they go back when unmapped. */
  allocated: boolean;
}

export type MapRefusal = "range" | "overlap" | "space";

export class AmsMappings {
  private readonly i32: Int32Array;
  private readonly dv: DataView;
  private readonly u8: Uint8Array;
  constructor(
    readonly sab: SharedArrayBuffer = new SharedArrayBuffer(HEADER + AMS_MAPPINGS * SLOT_BYTES),
  ) {
    this.i32 = new Int32Array(sab);
    this.dv = new DataView(sab);
    this.u8 = new Uint8Array(sab);
  }

  list(): AmsMapping[] {
    const out: AmsMapping[] = [];
    for (let i = 0; i < AMS_MAPPINGS; i++) {
      const at = HEADER + i * SLOT_BYTES;
      if (Atomics.load(this.i32, at >> 2) !== 1) continue;
      const flags = this.u8[at + 16] ?? 0;
      const len = this.u8[at + 17] ?? 0;
      out.push({
        address: this.dv.getUint32(at + 4, true),
        length: this.dv.getUint32(at + 8, true),
        offset: this.dv.getUint32(at + 12, true),
        readOnly: (flags & Flag.READ_ONLY) !== 0,
        private: (flags & Flag.PRIVATE) !== 0,
        source: (flags & Flag.SOURCE) !== 0,
        allocated: (flags & Flag.ALLOCATED) !== 0,
        name: Buffer.from(this.u8.subarray(at + 24, at + 24 + len)).toString("utf8"),
      });
    }
    return out;
  }

  /** Relay side: record a mapping; false when the table is full. */
  add(m: AmsMapping): boolean {
    const name = Buffer.from(m.name, "utf8");
    if (name.length > NAME_MAX) return false;
    for (let i = 0; i < AMS_MAPPINGS; i++) {
      const at = HEADER + i * SLOT_BYTES;
      if (Atomics.load(this.i32, at >> 2) !== 0) continue;
      this.dv.setUint32(at + 4, m.address, true);
      this.dv.setUint32(at + 8, m.length, true);
      this.dv.setUint32(at + 12, m.offset, true);
      this.u8[at + 16] =
        (m.readOnly ? Flag.READ_ONLY : 0) |
        (m.private ? Flag.PRIVATE : 0) |
        (m.source ? Flag.SOURCE : 0) |
        (m.allocated ? Flag.ALLOCATED : 0);
      this.u8[at + 17] = name.length;
      this.u8.set(name, at + 24);
      Atomics.store(this.i32, at >> 2, 1);
      return true;
    }
    return false;
  }

  /** Relay side: forget the mapping at `address`; it, or undefined. */
  remove(address: number): AmsMapping | undefined {
    for (let i = 0; i < AMS_MAPPINGS; i++) {
      const at = HEADER + i * SLOT_BYTES;
      if (Atomics.load(this.i32, at >> 2) !== 1 || this.dv.getUint32(at + 4, true) !== address)
        continue;
      const m = this.list().find((x) => x.address === address);
      Atomics.store(this.i32, at >> 2, 0);
      return m;
    }
    return undefined;
  }

  /**
   * Any thread, at a syscall: if the memory grew since the read-only mappings were last put back, map
   * them again (read-only, fresh from the segment: what the process wrote there meanwhile is dropped).
   */
  afterGrowth(memory: WebAssembly.Memory): void {
    // No read-only mapping (0): nothing to put back, and no read of `buffer` (it costs a shared
    // memory a fresh object, and this runs twice per syscall).
    const seen = Atomics.load(this.i32, 1);
    if (seen === 0 || seen === memory.buffer.byteLength) return;
    this.locked(() => this.reprotect(memory));
  }

  /** `afterGrowth`'s work, the table's lock held (the relay's own growths call it directly). */
  reprotect(memory: WebAssembly.Memory): void {
    const size = memory.buffer.byteLength;
    const seen = Atomics.load(this.i32, 1);
    if (seen === size || seen === 0) return;
    const native = hostNative();
    const base = native.memoryAddress(memory.buffer);
    for (const m of this.list())
      if (m.readOnly)
        native.mapSegmentAt(m.name, m.offset, base + BigInt(m.address), m.length, {
          access: "read",
          private: true,
        });
    Atomics.store(this.i32, 1, size);
  }

  /** The memory's size the read-only mappings are right for (0: there are none to watch). */
  noteSize(size: number): void {
    Atomics.store(this.i32, 1, this.list().some((m) => m.readOnly) ? size : 0);
  }

  locked<T>(f: () => T): T {
    return withLock(this.i32, 0, f);
  }
}

/**
 * What the kernel asks the relay to map (protocol.ts `ams-map`, whose shape it is): `at` 0 maps over
 * pages the allocator gives (SHARE_AMS's mapping in the receiver); `source` (VIRT_MEM_AMS) puts the
 * range's bytes into the segment first, and the range is the AMS' source.
 */
export type MapRequest = Omit<Extract<ToRunner, { t: "ams-map" }>, "req" | "t">;

/** How an unmapped range is left (docs/ipc.md): a private copy of what it held, or zero pages. */
export type UnmapMode = Extract<ToRunner, { t: "ams-unmap" }>["mode"];

/** The relay's half: maps and unmaps on the kernel's request, on the process' memory and allocator. */
export class AmsMapper {
  constructor(
    readonly table: AmsMappings,
    private readonly memory: WebAssembly.Memory,
    private readonly pages: PageAllocator,
  ) {}

  map(r: MapRequest): { ok: true; address: number } | { ok: false; refusal: MapRefusal } {
    return this.table.locked(() => {
      let at = r.at;
      let allocated = false;
      if (at === 0) {
        const a = this.pages.alloc(r.length, 0b011, false);
        // The allocator may have grown the memory: read-only mappings are read-write again (V8).
        this.table.reprotect(this.memory);
        if (!a.ok) return { ok: false, refusal: "space" } as const;
        at = a.address;
        allocated = true;
      }
      const size = this.memory.buffer.byteLength;
      // Page 0 holds the control block (and address 0 is the spec's invalid pointer): never mapped.
      if (at < PAGE_SIZE || at + r.length > size) return { ok: false, refusal: "range" } as const;
      if (this.table.list().some((m) => at < m.address + m.length && m.address < at + r.length))
        return { ok: false, refusal: "overlap" } as const;
      const native = hostNative();
      if (r.source) {
        // The range's bytes become the segment's, then the segment replaces the range.
        const seg = native.openSegment(r.name, r.offset + r.length);
        new Uint8Array(seg.buffer, r.offset, r.length).set(
          new Uint8Array(this.memory.buffer, at, r.length),
        );
        seg.close();
      }
      const base = native.memoryAddress(this.memory.buffer);
      native.mapSegmentAt(r.name, r.offset, base + BigInt(at), r.length, {
        access: r.readOnly ? "read" : "read-write",
        private: r.private || r.readOnly,
      });
      const m = { ...r, address: at, allocated };
      if (!this.table.add(m)) {
        this.detach(m, "keep");
        return { ok: false, refusal: "space" } as const;
      }
      this.pages.mark(
        at,
        r.length,
        (r.source ? AmsMark.SOURCE : AmsMark.MAPPED) | (r.readOnly ? AmsMark.READ_ONLY : 0),
      );
      this.table.noteSize(size);
      return { ok: true, address: at } as const;
    });
  }

  /** Unmap the mapping at `address`; false if there is none. */
  unmap(address: number, mode: UnmapMode): boolean {
    return this.table.locked(() => {
      const m = this.table.remove(address);
      if (m === undefined) return false;
      this.detach(m, mode);
      this.table.noteSize(this.memory.buffer.byteLength);
      return true;
    });
  }

  private detach(m: AmsMapping, mode: UnmapMode): void {
    const native = hostNative();
    const base = native.memoryAddress(this.memory.buffer);
    const keep =
      mode === "keep" && !m.allocated
        ? new Uint8Array(this.memory.buffer, m.address, m.length).slice()
        : undefined;
    native.mapZeroAt(base + BigInt(m.address), m.length);
    if (keep !== undefined) new Uint8Array(this.memory.buffer).set(keep, m.address);
    this.pages.unmark(
      m.address,
      m.length,
      AmsMark.SOURCE | AmsMark.MAPPED | AmsMark.READ_ONLY,
      m.allocated || mode === "zero",
    );
  }
}

/** An `ams-backed` request (protocol.ts) as the relay gets it. */
export interface BackedRequest {
  ams: bigint;
  signal: number;
  addresses: number[];
  access?: number;
  data?: number[];
}

/**
 * The backer's half of a signal-backed AMS (docs/ipc.md "Signal-backed AMS"): the relay turns the
 * kernel's `ams-backed` into one READ/WRITE_BACKED_AMS per word, pushed into the signal ring as it has
 * room, and answers the kernel once every handler answered (the worker posts each answer back). A
 * process without the handler, or not READY, cannot answer: every word is null at once, nothing waits.
 */
export class BackedAsker {
  private readonly waiting = new Map<string, ((a: bigint | null) => void)[]>();
  /** Signals not yet in the ring, from `head` on (an index: shift() is linear on large arrays). */
  private backlog: { signal: number; datafield: Uint8Array }[] = [];
  private head = 0;
  private retry: NodeJS.Timeout | undefined;

  constructor(
    /** Push one signal into the ring; false when it is full. */
    private readonly push: (signal: number, datafield: Uint8Array) => boolean,
    /** Make the worker take the ring now (poke its safepoint, interrupt a blocking syscall). */
    private readonly wake: () => void,
    /** The process' handler set and readiness (SharedSht). */
    private readonly canAnswer: (signal: number) => boolean,
  ) {}

  ask(r: BackedRequest): Promise<(bigint | null)[]> {
    if (!this.canAnswer(r.signal)) return Promise.resolve(r.addresses.map(() => null));
    const codec =
      r.signal === Sig.READ_BACKED_AMS
        ? (address: number) =>
            encodeDatafield(Datafield[Sig.READ_BACKED_AMS], {
              ams: r.ams,
              address: BigInt(address),
              access: r.access ?? BackedAccess.READ,
            })
        : (address: number, i: number) =>
            encodeDatafield(Datafield[Sig.WRITE_BACKED_AMS], {
              ams: r.ams,
              address: BigInt(address),
              data: r.data?.[i] ?? 0,
            });
    const answers = r.addresses.map((address, i) => {
      const datafield = codec(address, i);
      return new Promise<bigint | null>((resolve) => {
        const key = keyOf(r.signal, datafield);
        const list = this.waiting.get(key) ?? [];
        list.push(resolve);
        this.waiting.set(key, list);
        this.backlog.push({ signal: r.signal, datafield });
      });
    });
    this.flush();
    return Promise.all(answers);
  }

  /**
   * The worker consumed READ/WRITE_BACKED_AMS (FromWorker `signal-answers`): resolve each, then refill
   * the ring once (one wake-up of the worker per round, not per word).
   */
  answered(batch: readonly SignalAnswer[]): void {
    for (const { signal, datafield, answer } of batch) {
      const key = keyOf(signal, datafield);
      const list = this.waiting.get(key);
      const resolve = list?.shift();
      if (list !== undefined && list.length === 0) this.waiting.delete(key);
      resolve?.(answer ?? null);
    }
    this.flush();
  }

  private flush(): void {
    let pushed = false;
    while (this.head < this.backlog.length) {
      const s = this.backlog[this.head];
      if (s === undefined || !this.push(s.signal, s.datafield)) break;
      this.head++;
      pushed = true;
    }
    if (this.head === this.backlog.length) {
      this.backlog = [];
      this.head = 0;
    }
    if (pushed) this.wake();
    // The ring is full (of these or other signals): try again once the worker took some.
    if (this.head < this.backlog.length && this.retry === undefined)
      this.retry = setTimeout(() => {
        this.retry = undefined;
        this.flush();
      }, 1);
  }
}

/**
 * Which request a signal belongs to: its code, AMS ID and address (both datafields start with them,
 * signals.md 0x33 / 0x34). Signals are delivered in the order they were pushed, so answers to the same
 * key (two write-backs of one word) resolve first-in first-out.
 */
function keyOf(signal: number, datafield: Uint8Array): string {
  const dv = new DataView(datafield.buffer, datafield.byteOffset, datafield.byteLength);
  return `${signal}:${dv.getBigUint64(0, true)}:${dv.getBigUint64(8, true)}`;
}
