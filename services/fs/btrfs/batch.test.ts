// The batching policy (batch.ts): the transaction's change counter decides whether a failed
// operation aborts the batch, and an operation that fails before changing anything keeps it.
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { tempDir } from "../../../test/btrfs-oracle.js";
import { BtrfsFs } from "./fs.js";

const dir = tempDir("ncw-batch-");
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const enc = (s: string) => new TextEncoder().encode(s);

describe("Transaction.changes", () => {
  it("counts writes, not reads nor writes refused before any change", () => {
    const f = BtrfsFs.create(path.join(dir, "count.img"), 64n << 20n, { metadata: "single" });
    const t = f.tx();
    const key = { objectid: 1000n, type: 1, offset: 0n };
    const c0 = t.changes;
    t.lookup(5n, key);
    t.items(5n, key, key);
    expect(t.changes).toBe(c0);
    t.insertItem(5n, key, enc("x"));
    const c1 = t.changes;
    expect(c1).toBeGreaterThan(c0);
    expect(() => t.insertItem(5n, key, enc("y"))).toThrow(/exists/);
    expect(t.changes).toBe(c1);
    t.deleteItem(5n, key);
    expect(t.changes).toBeGreaterThan(c1);
    f.abort();
    f.close();
  });
});

describe("BtrfsFs batches", () => {
  it("keeps earlier changes when an operation fails before changing anything", () => {
    const img = path.join(dir, "keep.img");
    const f = BtrfsFs.create(img, 64n << 20n, { metadata: "single" });
    f.create(f.top(), "a", "dir");
    expect(() => f.create(f.top(), "a", "file")).toThrow(/exists/);
    expect(() => f.unlink(f.top(), "missing")).toThrow(/does not exist/);
    f.close();
    const g = BtrfsFs.open(img, { readOnly: true });
    expect(g.lookup(g.top(), "a")).toBeDefined();
    g.close();
  });

  it("aborts the batch when an operation fails after a change", () => {
    const img = path.join(dir, "abort.img");
    const f = BtrfsFs.create(img, 64n << 20n, { metadata: "single" });
    f.create(f.top(), "kept", "dir");
    f.commit();
    f.create(f.top(), "pending", "dir");
    // A change, then a failure, inside one operation: nothing of the batch may stay.
    expect(() =>
      f.run((t) => {
        t.insertItem(5n, { objectid: 5000n, type: 1, offset: 0n }, enc("half"));
        throw new Error("boom");
      }),
    ).toThrow("boom");
    expect(f.lookup(f.top(), "pending")).toBeUndefined();
    expect(f.lookup(f.top(), "kept")).toBeDefined();
    f.close();
  });
});
