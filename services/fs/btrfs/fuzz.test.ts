// Damaged images never crash the reader or the checker: every failure is an NcwError that names
// the problem. Tree blocks get random bytes changed and their checksum fixed (so only the logic
// can catch the damage), then the image is walked, listed, read and checked.
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { isNcwError } from "../../../ncw/errors.js";
import { longTimeout, scaled, tempDir } from "../../../test/btrfs-oracle.js";
import { checkImage } from "./check.js";
import { MemoryDevice } from "./device.js";
import { blockChecksum } from "./format/node.js";
import { BtrfsFs } from "./fs.js";
import { FsReader } from "./fsread.js";
import { Volume } from "./volume.js";

const dir = tempDir();
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

async function walkAll(dev: MemoryDevice): Promise<void> {
  const vol = new Volume(dev);
  const r = new FsReader(vol, vol, vol.sectorsize);
  const visit = async (id: { root: bigint; ino: bigint }, depth: number) => {
    if (depth > 8) return;
    for (const e of r.readdir(id)) {
      const ino = r.inode(e.target);
      if (!ino) continue;
      if ((ino.mode & 0o170000) === 0o040000) await visit(e.target, depth + 1);
      else await r.read(e.target, 0n, 1 << 20, ino);
      r.listXattrs(e.target);
    }
  };
  await visit({ root: 5n, ino: 256n }, 0);
  checkImage(dev);
}

describe("damaged images", () => {
  it("give NcwErrors, never crashes, for random corruptions (150; 3,000 in the long mode)", {
    timeout: longTimeout(900_000),
  }, async () => {
    const img = path.join(dir, "f.img");
    const f = BtrfsFs.create(img, 64n << 20n, { metadata: "single", nodesize: 4096 });
    const top = f.top();
    for (let i = 0; i < 60; i++) {
      const d = f.create(top, `d${i % 6}-${i}`, "file");
      await f.writeFile(d, new Uint8Array((i % 7) * 3000 + 5).fill(i));
    }
    f.create(top, "ln", "symlink", { target: "d0-0" });
    f.setXattr(f.reader().resolve("/d0-0")!, "user.x", new Uint8Array(10));
    f.close();
    const pristine = new Uint8Array(fs.readFileSync(img));
    const vol0 = new Volume(MemoryDevice.fromBytes(pristine));
    const blocks: bigint[] = [];
    for (const id of [1n, 2n, 3n, 4n, 5n, 7n, 10n])
      for (const n of vol0.blocks(id)) blocks.push(vol0.chunks.physical(n.header.bytenr, 4096)[0]!);
    let seed = Number(process.env.NCW_BTRFS_FUZZ_SEED ?? 99);
    const rnd = (k: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % k;
    };
    let ncwErrors = 0;
    const dev = MemoryDevice.fromBytes(pristine);
    // More rounds: NCW_BTRFS_FUZZ=3000
    const rounds = Number(process.env.NCW_BTRFS_FUZZ ?? scaled(150, 3000));
    for (let round = 0; round < rounds; round++) {
      const phys = Number(blocks[rnd(blocks.length)]!);
      const bytes = pristine.slice(phys, phys + 4096);
      for (let k = 0; k < 1 + rnd(4); k++) {
        const at = 32 + rnd(4096 - 32);
        bytes[at] = rnd(3) === 0 ? 0xff : rnd(256);
      }
      new DataView(bytes.buffer, 0, 4).setUint32(0, blockChecksum(bytes), true);
      dev.write(BigInt(phys), bytes);
      const t0 = performance.now();
      if (process.env.FUZZ_DEBUG) console.log("round", round, phys);
      try {
        await walkAll(dev);
      } catch (e) {
        if (!isNcwError(e))
          throw new Error(`round ${round}: not an NcwError: ${(e as Error).stack}`);
        ncwErrors++;
      }
      dev.write(BigInt(phys), pristine.subarray(phys, phys + 4096));
      const ms = performance.now() - t0;
      if (ms > 2000) throw new Error(`round ${round} took ${ms.toFixed(0)} ms (block at ${phys})`);
    }
    expect(ncwErrors).toBeGreaterThan(10);
  });
});
