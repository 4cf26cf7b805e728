// Unit tests of the kernel's shared-memory segments (kernel/segments.ts) on the real host layer.

import { describe, expect, it } from "vitest";
import { hostNative } from "../../native/index.js";
import { SegmentTable } from "./segments.js";

describe.skipIf(process.platform !== "linux")("SegmentTable (linux)", () => {
  const native = hostNative();

  it("creates segments another mapping shares, numbered from 1", () => {
    const t = new SegmentTable(native);
    const a = t.create(100, 10, "test");
    const b = t.create(101, 8192, "test");
    expect([a.id, b.id]).toEqual([1, 2]);
    expect(a.size).toBe(4096);
    expect(a.bytes.every((x) => x === 0)).toBe(true);
    const other = native.openSegment(a.name, a.size);
    a.bytes.set([1, 2, 3], 0);
    expect([...new Uint8Array(other.buffer, 0, 3)]).toEqual([1, 2, 3]);
    new Uint8Array(other.buffer)[4095] = 9;
    expect(a.bytes[4095]).toBe(9);
    other.close();
    t.releaseOwner(100);
    t.releaseOwner(101);
  });

  it("releases what an exited owner had, and only that", () => {
    const t = new SegmentTable(native);
    const a = t.create(100, 4096, "test");
    const a2 = t.create(100, 4096, "test");
    const b = t.create(101, 4096, "test");
    expect(t.ownedBy(100).map((s) => s.id)).toEqual([a.id, a2.id]);
    expect(t.releaseOwner(100)).toBe(2);
    expect(t.get(a.id)).toBeUndefined();
    expect(t.ownedBy(100)).toEqual([]);
    // Gone from the host too: its name no longer maps.
    expect(() => native.openSegment(a.name, 4096)).toThrow(/cannot open shared segment/);
    expect(t.get(b.id)?.owner).toBe(101);
    expect(t.release(b.id)).toBe(true);
    expect(t.release(b.id)).toBe(false);
    // A new segment never gets a released identifier.
    expect(t.create(102, 4096, "test").id).toBe(4);
    t.releaseOwner(102);
  });
});
