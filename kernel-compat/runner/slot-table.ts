// The shape pipes.ts and sockets.ts share: a per-process table of fixed-size slots in a
// SharedArrayBuffer, each naming one end by the process' own identifier, written by the relay only
// and read by the process' threads; and, per thread, the segments mapped for those ends, opened on
// first use and closed once the relay has revoked the end. What a slot holds past its handle (segment
// names, sizes, ...) and what a mapped end is are each table's own.
//
// Every slot starts with: i32 state (0 free, 1 used) @0 | u64 handle @8. The relay writes a slot's
// fields before it stores state 1 and a reader loads the state first (Atomics), so a used slot is
// always whole.

import type { SharedSegment } from "../../native/types.js";

export class SlotTable {
  protected readonly i32: Int32Array;
  protected readonly dv: DataView;
  protected readonly u8: Uint8Array;
  constructor(
    readonly sab: SharedArrayBuffer,
    private readonly slots: number,
    protected readonly slotBytes: number,
  ) {
    this.i32 = new Int32Array(sab);
    this.dv = new DataView(sab);
    this.u8 = new Uint8Array(sab);
  }

  /**
   * Relay side: record `handle` in a free slot, `write` filling the rest of it (from byte offset `at`);
   * false when the table is full.
   */
  protected claim(handle: bigint, write: (at: number) => void): boolean {
    for (let i = 0; i < this.slots; i++) {
      const at = i * this.slotBytes;
      if (Atomics.load(this.i32, at >> 2) !== 0) continue;
      this.dv.setBigUint64(at + 8, handle, true);
      write(at);
      Atomics.store(this.i32, at >> 2, 1);
      return true;
    }
    return false;
  }

  /** Relay side: forget an end; false if it was not there. */
  remove(handle: bigint): boolean {
    const i = this.find(handle);
    if (i < 0) return false;
    Atomics.store(this.i32, (i * this.slotBytes) >> 2, 0);
    return true;
  }

  /** The slot naming `handle`, or -1. */
  find(handle: bigint): number {
    for (let i = 0; i < this.slots; i++) if (this.holds(i, handle)) return i;
    return -1;
  }

  holds(slot: number, handle: bigint): boolean {
    const at = slot * this.slotBytes;
    return Atomics.load(this.i32, at >> 2) === 1 && this.dv.getBigUint64(at + 8, true) === handle;
  }
}

/** An end mapped in this thread: the segments it opened (closed when the end goes) and the end itself. */
export interface Mapped<T> {
  segments: SharedSegment[];
  end: T;
}

/** A thread's mapped ends of one table, looked up by identifier; stale ones (revoked) are unmapped on the way. */
export class MappedEnds<T> {
  private readonly mapped = new Map<bigint, Mapped<T> & { slot: number }>();
  /** `open` maps the end in `slot`, or gives undefined when its segments are gone already. */
  constructor(
    private readonly slots: SlotTable,
    private readonly open: (slot: number) => Mapped<T> | undefined,
  ) {}

  /** The end `handle` names for this process, or undefined (never granted, or revoked). */
  get(handle: bigint): T | undefined {
    const m = this.mapped.get(handle);
    if (m !== undefined) {
      if (this.slots.holds(m.slot, handle)) return m.end;
      for (const s of m.segments) s.close();
      this.mapped.delete(handle);
      return undefined;
    }
    const slot = this.slots.find(handle);
    if (slot < 0) return undefined;
    const opened = this.open(slot);
    if (opened === undefined) return undefined;
    this.mapped.set(handle, { slot, ...opened });
    return opened.end;
  }
}
