// Random writes, overwrites, truncations and punches on a few files, each compared with an
// in-memory model after every operation and after every commit; snapshots taken along the way must
// keep their content; btrfs check and NCW's check must find the image clean at the end. Odd seeds
// run with a 1 MiB data cache (constant eviction), even seeds with the default one.
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  btrfsCheck,
  btrfsProgsMissing,
  sameContent,
  scaled,
  tempDir,
} from "../../../test/btrfs-oracle.js";
import { checkImage } from "./check.js";
import { FileDevice } from "./device.js";
import { BtrfsFs, createSubvolume, snapshot } from "./fs.js";
import type { InodeId } from "./fsread.js";

const dir = tempDir();
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe("BtrfsFs data operations against a model", () => {
  // More seeds: NCW_BTRFS_SEEDS=20 npx vitest run services/fs/btrfs/fs.property.test.ts
  const seeds = Number(process.env.NCW_BTRFS_SEEDS ?? scaled(3, 20));
  for (let seed = 1; seed <= seeds; seed++) {
    it(`seed ${seed}: 150 random operations on 4 files stay equal to the model`, async () => {
      let s = seed * 7919;
      const rnd = (k: number) => {
        s = (s * 1103515245 + 12345) & 0x7fffffff;
        return s % k;
      };
      const img = path.join(dir, `p${seed}.img`);
      const cacheWas = process.env.NCW_BTRFS_CACHE_MIB;
      if (seed % 2 === 1) process.env.NCW_BTRFS_CACHE_MIB = "1";
      const f = BtrfsFs.create(img, 256n << 20n);
      if (cacheWas === undefined) delete process.env.NCW_BTRFS_CACHE_MIB;
      else process.env.NCW_BTRFS_CACHE_MIB = cacheWas;
      expect(f.engine.dataCache.capacity === 1 << 20).toBe(seed % 2 === 1);
      const sub = createSubvolume(f, f.top(), "vol");
      const top = f.reader().resolve("/vol")!;
      const files: { id: InodeId; model: Uint8Array }[] = [];
      for (let i = 0; i < 4; i++)
        files.push({ id: f.create(top, `f${i}`, "file"), model: new Uint8Array(0) });
      const snaps: { name: string; models: Uint8Array[] }[] = [];
      const verify = async (when: string) => {
        for (const [i, x] of files.entries()) {
          const got = await f.reader().readAll(x.id);
          expect(got.length, `${when} f${i} size`).toBe(x.model.length);
          expect(sameContent(got, x.model), `${when} f${i} content`).toBe(true);
        }
      };
      for (let step = 0; step < 150; step++) {
        const x = files[rnd(files.length)]!;
        const op = rnd(10);
        f.compression = rnd(4) === 0 ? "zstd" : "none";
        const maxOff = x.model.length + 20_000;
        if (op < 5) {
          const off = rnd(maxOff);
          const len = rnd(3) === 0 ? 1 + rnd(300) : 1 + rnd(200_000);
          const data = new Uint8Array(len).map(() => (rnd(4) === 0 ? 0x41 : rnd(256)));
          await f.write(x.id, BigInt(off), data);
          const m = new Uint8Array(Math.max(x.model.length, off + len));
          m.set(x.model);
          m.set(data, off);
          x.model = m;
        } else if (op < 7) {
          const size = rnd(maxOff);
          await f.truncate(x.id, BigInt(size));
          const m = new Uint8Array(size);
          m.set(x.model.subarray(0, Math.min(size, x.model.length)));
          x.model = m;
        } else if (op < 8) {
          const off = rnd(Math.max(1, x.model.length));
          const len = 1 + rnd(100_000);
          await f.punch(x.id, BigInt(off), BigInt(len));
          x.model.fill(0, off, Math.min(x.model.length, off + len));
        } else if (op < 9) {
          f.commit();
        } else if (snaps.length < 3) {
          f.commit();
          const name = `snap${snaps.length}`;
          snapshot(f, sub, f.top(), name);
          snaps.push({ name, models: files.map((y) => y.model.slice()) });
        }
        await verify(`step ${step} op ${op}`);
      }
      f.close();
      const g = BtrfsFs.open(img, { readOnly: true });
      for (const [i, x] of files.entries())
        expect(
          sameContent(await g.reader().readAll(g.reader().resolve(`/vol/f${i}`)!), x.model),
        ).toBe(true);
      for (const sn of snaps) {
        for (let i = 0; i < files.length; i++) {
          const got = await g.reader().readAll(g.reader().resolve(`/${sn.name}/f${i}`)!);
          expect(sameContent(got, sn.models[i]!), `${sn.name}/f${i}`).toBe(true);
        }
      }
      g.close();
      const dev = FileDevice.open(img, { readOnly: true });
      const mine = checkImage(dev);
      dev.close();
      expect(mine.errors).toEqual([]);
      if (!btrfsProgsMissing()) {
        const r = btrfsCheck(img);
        expect(r.ok, r.output).toBe(true);
      }
    });
  }
});
