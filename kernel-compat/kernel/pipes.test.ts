// Unit tests of the pipe object (kernel/pipes.ts) and the runner's pipe table (runner/pipes.ts) on the
// real host layer: buffer sizes, the segment's life, closing with and without the brutal bit.

import { describe, expect, it } from "vitest";
import { hostNative } from "../../native/index.js";
import { hostRingMemory, RingReader, RingState, RingWriter } from "../ipc/ring.js";
import { PipeRings, PipeSlots } from "../runner/pipes.js";
import { PIPE_UNIT, PipeTable } from "./pipes.js";
import { SegmentTable } from "./segments.js";

describe.skipIf(process.platform !== "linux")("PipeTable (linux)", () => {
  const native = hostNative();

  it("makes 64 KiB × the multiplier (0 counts as 1), 4 bytes more for a message ring", () => {
    const segs = new SegmentTable(native);
    const t = new PipeTable(segs, native);
    const raw = t.create({ pid: 100, anid: 5 }, { message: false, multiplier: 0, sizeHint: 0n });
    const msg = t.create({ pid: 100, anid: 5 }, { message: true, multiplier: 255, sizeHint: 0n });
    expect(raw.buffer).toBe(PIPE_UNIT);
    expect(msg.buffer).toBe(255 * PIPE_UNIT);
    const ring = new RingReader(
      hostRingMemory(native.openSegment(msg.segment.name, msg.segment.size), native),
    );
    expect(ring.capacity).toBe(255 * PIPE_UNIT + 4);
    expect(ring.isMessage).toBe(true);
    // owned by the kernel (0), not by the creator
    expect(segs.ownedBy(100)).toEqual([]);
  });

  it("closes both sides, brutal or not, and releases the segment once nobody names the pipe", () => {
    const segs = new SegmentTable(native);
    const t = new PipeTable(segs, native);
    const pipe = t.create({ pid: 100, anid: 5 }, { message: false, multiplier: 1, sizeHint: 0n });
    const a = t.ids.add(100, pipe.sc);
    const b = t.ids.add(101, pipe.rc);
    expect([a, b]).toEqual([1n, 1n]);
    const w = new RingWriter(
      hostRingMemory(native.openSegment(pipe.segment.name, pipe.segment.size), native),
    );
    expect(w.writeAll(new Uint8Array([1, 2, 3]))).toEqual({ ok: true, written: 3 });
    t.close(pipe, true);
    expect(pipe.state).toBe("brutal");
    expect(w.state()).toBe(RingState.writerClosed | RingState.readerClosed | RingState.brutal);
    expect(t.holders(pipe).map((h) => [h.pid, h.id, h.end.kind])).toEqual([
      [100, 1n, "sc"],
      [101, 1n, "rc"],
    ]);
    t.drop(100, a);
    expect(segs.get(pipe.segment.id)).toBeDefined();
    t.drop(101, b);
    expect(segs.get(pipe.segment.id)).toBeUndefined();
  });

  it("the runner's table: a thread finds a granted end, loses a revoked one", () => {
    const segs = new SegmentTable(native);
    const t = new PipeTable(segs, native);
    const pipe = t.create({ pid: 100, anid: 5 }, { message: false, multiplier: 1, sizeHint: 0n });
    const slots = new PipeSlots();
    const rings = new PipeRings(new PipeSlots(slots.sab));
    expect(rings.get(7n)).toBeUndefined();
    const seg = pipe.segment;
    expect(slots.add({ handle: 7n, name: seg.name, size: seg.size, end: "rc", creator: 100 })).toBe(
      true,
    );
    const e = rings.get(7n);
    expect(e?.end).toBe("rc");
    expect(e?.creator).toBe(100);
    expect(slots.remove(7n)).toBe(true);
    expect(rings.get(7n)).toBeUndefined();
  });
});
