// Property tests of the engine: random operation sequences applied to an image and to an in-memory
// model, compared after every commit (and after aborts), then judged by `btrfs check`.

import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import {
  btrfsProgsMissing,
  expectCheckClean,
  longTimeout,
  loopMountMissing,
  mkfsBtrfs,
  scaled,
  skipUnless,
  tempDir,
  withLoopMount,
} from "../../../test/btrfs-oracle.js";
import { FileDevice } from "./device.js";
import { openEngine } from "./engine.js";
import { compareKeys, FS_TREE_OBJECTID, type Key, U64_MAX } from "./format/key.js";
import { createSnapshot, createSubvolume, deleteSubvolume } from "./subvol.js";
import { addFile, listDir, readTestFile, removeFile } from "./tree/testing.js";

const skip = skipUnless(btrfsProgsMissing());

/** A small deterministic PRNG (mulberry32). */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const keyStr = (k: Key): string => `${k.objectid}:${k.type}:${k.offset}`;

describe.skipIf(skip)("engine property tests", () => {
  it("random inserts, updates, deletes and range deletes on a tree match a Map model", {
    timeout: longTimeout(900_000),
  }, () => {
    const img = path.join(tempDir(), "p.img");
    mkfsBtrfs(img, 128 << 20, ["-n", "4096"]);
    const e = openEngine(FileDevice.open(img));
    const TREE = 100n; // not a subvolume: btrfs check verifies its structure and refs only
    let t = e.begin();
    t.createTree(TREE);
    t.commit();
    const rnd = prng(20261121);
    let model = new Map<string, { key: Key; data: Uint8Array }>();
    const randKey = (): Key => ({
      objectid: BigInt(Math.floor(rnd() * 400)),
      type: 1 + Math.floor(rnd() * 3) * 50,
      offset: BigInt(Math.floor(rnd() * 2000)),
    });
    const randData = (): Uint8Array => {
      const big = rnd() < 0.03;
      const len = big ? 3000 + Math.floor(rnd() * 970) : Math.floor(rnd() * 300);
      const b = new Uint8Array(len);
      for (let i = 0; i < len; i++) b[i] = Math.floor(rnd() * 256);
      return b;
    };
    const compare = (
      m: Map<string, { key: Key; data: Uint8Array }>,
      items: { key: Key; data: Uint8Array }[],
    ): void => {
      const want = [...m.values()].sort((a, b) => compareKeys(a.key, b.key));
      expect(items.length).toBe(want.length);
      for (let i = 0; i < want.length; i++) {
        expect(keyStr(items[i]!.key)).toBe(keyStr(want[i]!.key));
        expect(Buffer.compare(Buffer.from(items[i]!.data), Buffer.from(want[i]!.data))).toBe(0);
      }
    };
    const all = (r: { items: (r: bigint, f: Key, to: Key) => { key: Key; data: Uint8Array }[] }) =>
      r.items(
        TREE,
        { objectid: 0n, type: 0, offset: 0n },
        { objectid: U64_MAX, type: 255, offset: U64_MAX },
      );
    let maxLevel = 0;
    for (let round = 0; round < scaled(40, 200); round++) {
      t = e.begin();
      const work = new Map(model);
      const ops = 100 + Math.floor(rnd() * (round < 25 ? 600 : 200));
      for (let i = 0; i < ops; i++) {
        const r = rnd();
        const k = randKey();
        const ks = keyStr(k);
        if (r < (round < 25 ? 0.6 : 0.3)) {
          const d = randData();
          if (work.has(ks)) {
            expect(() => t.insertItem(TREE, k, d)).toThrow();
          } else {
            t.insertItem(TREE, k, d);
            work.set(ks, { key: k, data: d });
          }
        } else if (r < 0.7) {
          const d = randData();
          if (work.has(ks)) {
            t.updateItem(TREE, k, d);
            work.set(ks, { key: k, data: d });
          } else {
            expect(() => t.updateItem(TREE, k, d)).toThrow();
          }
        } else if (r < 0.95) {
          const existing = [...work.values()];
          const victim =
            existing.length && rnd() < 0.8 ? existing[Math.floor(rnd() * existing.length)]!.key : k;
          const had = work.delete(keyStr(victim));
          expect(t.deleteItem(TREE, victim)).toBe(had);
        } else {
          const a = randKey();
          const b = { ...a, objectid: a.objectid + BigInt(Math.floor(rnd() * 3)) };
          let n = 0;
          for (const [s, v] of [...work]) {
            if (compareKeys(v.key, a) >= 0 && compareKeys(v.key, b) <= 0) {
              work.delete(s);
              n++;
            }
          }
          expect(t.deleteRange(TREE, a, b)).toBe(n);
        }
      }
      compare(work, all(t));
      if (rnd() < 0.15) {
        t.abort();
      } else {
        t.commit();
        model = work;
      }
      compare(model, all(e.committed));
      maxLevel = Math.max(maxLevel, e.rootLevel(TREE));
    }
    expect(maxLevel).toBeGreaterThanOrEqual(2);
    // Then shrink to nothing: merges all the way down to an empty root leaf.
    t = e.begin();
    for (const v of model.values()) t.deleteItem(TREE, v.key);
    t.commit();
    expect(all(e.committed)).toEqual([]);
    expect(e.rootLevel(TREE)).toBe(0);
    e.close();
    expectCheckClean(img);
  });

  it("random file writes, snapshots and deletions across subvolumes match a model", {
    timeout: longTimeout(900_000),
  }, () => {
    const img = path.join(tempDir(), "q.img");
    mkfsBtrfs(img, 256 << 20, ["-n", "4096"]);
    const e = openEngine(FileDevice.open(img));
    const rnd = prng(7);
    const model = new Map<bigint, Map<string, Uint8Array>>();
    const names = new Map<bigint, string>();
    let t = e.begin();
    const base = createSubvolume(t, FS_TREE_OBJECTID, 256n, "base");
    t.commit();
    model.set(base, new Map());
    names.set(base, "base");
    let nextIno = 300n;
    const inoOf = new Map<string, bigint>();
    const content = (): Uint8Array => {
      const len = rnd() < 0.3 ? 0 : Math.floor(rnd() * 12000);
      const b = new Uint8Array(len);
      const seed = Math.floor(rnd() * 256);
      for (let i = 0; i < len; i++) b[i] = (seed + i * 3) & 0xff;
      return b;
    };
    let snapNo = 0;
    for (let round = 0; round < scaled(25, 120); round++) {
      t = e.begin();
      const work = new Map([...model].map(([k, v]) => [k, new Map(v)]));
      const workNames = new Map(names);
      const ops = 20 + Math.floor(rnd() * 80);
      for (let i = 0; i < ops; i++) {
        const vols = [...work.keys()];
        const vol = vols[Math.floor(rnd() * vols.length)]!;
        const files = work.get(vol)!;
        const r = rnd();
        if (r < 0.55) {
          const name = `n${Math.floor(rnd() * 400)}`;
          if (files.has(name)) continue;
          const key = `${name}`;
          let ino = inoOf.get(key);
          if (ino === undefined) {
            ino = nextIno++;
            inoOf.set(key, ino);
          }
          const c = content();
          addFile(t, vol, 256n, name, ino, c.length ? c : undefined);
          files.set(name, c);
        } else if (r < 0.9) {
          const list = [...files.keys()];
          if (!list.length) continue;
          const name = list[Math.floor(rnd() * list.length)]!;
          removeFile(t, vol, 256n, name, inoOf.get(name)!);
          files.delete(name);
        } else if (r < 0.96) {
          const name = `snap${snapNo++}`;
          const id = createSnapshot(t, vol, FS_TREE_OBJECTID, 256n, name);
          work.set(id, new Map(files));
          workNames.set(id, name);
        } else if (vol !== base) {
          deleteSubvolume(t, FS_TREE_OBJECTID, 256n, workNames.get(vol)!);
          work.delete(vol);
          workNames.delete(vol);
        }
      }
      const abort = rnd() < 0.1;
      if (abort) t.abort();
      else {
        t.commit();
        model.clear();
        for (const [k, v] of work) model.set(k, v);
        names.clear();
        for (const [k, v] of workNames) names.set(k, v);
      }
      for (const [vol, files] of model) {
        expect(listDir(e.committed, vol, 256n).sort()).toEqual([...files.keys()].sort());
        for (const [n, c] of files) {
          const got = readTestFile(e, e.committed, vol, 256n, n)!;
          expect(Buffer.compare(Buffer.from(got), Buffer.from(c))).toBe(0);
        }
      }
      if (round % 8 === 7) expectCheckClean(img);
    }
    e.close();
    expectCheckClean(img);
    // The kernel sees the same files in every subvolume.
    if (!skipUnless(loopMountMissing())) {
      withLoopMount(
        img,
        (mnt) => {
          for (const [vol, files] of model) {
            const dir = path.join(mnt, names.get(vol)!);
            expect(fs.readdirSync(dir).sort()).toEqual([...files.keys()].sort());
            for (const [n, c] of files) {
              expect(Buffer.compare(fs.readFileSync(path.join(dir, n)), Buffer.from(c))).toBe(0);
            }
          }
        },
        ["ro"],
      );
    }
  });
});
