import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  btrfsProgsMissing,
  dumpSuper,
  mkfsBtrfs,
  skipUnless,
  tempDir,
} from "../../../../test/btrfs-oracle.js";
import { formatUuid } from "./bytes.js";
import { crc32c } from "./crc32c.js";
import { BLOCK_GROUP_DUP, BLOCK_GROUP_SYSTEM } from "./items.js";
import { CHUNK_ITEM_KEY, FIRST_CHUNK_TREE_OBJECTID } from "./key.js";
import {
  decodeSuperblock,
  encodeSuperblock,
  FEATURE_COMPAT_RO_FREE_SPACE_TREE,
  FEATURE_INCOMPAT_NO_HOLES,
  FEATURE_INCOMPAT_SKINNY_METADATA,
  SUPER_INFO_SIZE,
  SUPER_OFFSETS,
  type Superblock,
} from "./superblock.js";

function sample(): Superblock {
  const devUuid = new Uint8Array(16).fill(0x22);
  return {
    csum: new Uint8Array(32),
    fsid: new Uint8Array(16).fill(0x11),
    bytenr: 65536n,
    flags: 1n,
    magic: 0n,
    generation: 9n,
    root: 0x1d00000n,
    chunkRoot: 0x1500000n,
    logRoot: 0n,
    logRootTransid: 0n,
    totalBytes: 128n << 20n,
    bytesUsed: 147456n,
    rootDirObjectid: 6n,
    numDevices: 1n,
    sectorsize: 4096,
    nodesize: 16384,
    leafsize: 16384,
    stripesize: 4096,
    chunkRootGeneration: 9n,
    compatFlags: 0n,
    compatRoFlags: 3n,
    incompatFlags: 0x341n,
    csumType: 0,
    rootLevel: 1,
    chunkRootLevel: 0,
    logRootLevel: 0,
    devItem: {
      devid: 1n,
      totalBytes: 128n << 20n,
      bytesUsed: 1n << 20n,
      ioAlign: 4096,
      ioWidth: 4096,
      sectorSize: 4096,
      type: 0n,
      generation: 0n,
      startOffset: 0n,
      devGroup: 0,
      seekSpeed: 0,
      bandwidth: 0,
      uuid: devUuid,
      fsid: new Uint8Array(16).fill(0x11),
    },
    label: "nightos",
    cacheGeneration: 0n,
    uuidTreeGeneration: 0n,
    metadataUuid: new Uint8Array(16).fill(0x11),
    nrGlobalRoots: 0n,
    sysChunks: [
      {
        key: { objectid: FIRST_CHUNK_TREE_OBJECTID, type: CHUNK_ITEM_KEY, offset: 0x1500000n },
        chunk: {
          length: 8n << 20n,
          owner: 2n,
          stripeLen: 65536n,
          type: BLOCK_GROUP_SYSTEM | BLOCK_GROUP_DUP,
          ioAlign: 65536,
          ioWidth: 65536,
          sectorSize: 4096,
          subStripes: 1,
          stripes: [
            { devid: 1n, offset: 0x1500000n, devUuid },
            { devid: 1n, offset: 0x1d00000n, devUuid },
          ],
        },
      },
    ],
    backups: [],
  };
}

describe("btrfs superblock", () => {
  it("puts each field at the offset of struct btrfs_super_block (hand-written)", () => {
    const b = encodeSuperblock(sample());
    expect(b.length).toBe(SUPER_INFO_SIZE);
    const dv = new DataView(b.buffer);
    expect(new TextDecoder().decode(b.subarray(0x40, 0x48))).toBe("_BHRfS_M");
    expect(Array.from(b.subarray(0x20, 0x30))).toEqual(new Array(16).fill(0x11));
    expect(dv.getBigUint64(0x30, true)).toBe(65536n);
    expect(dv.getBigUint64(SUPER_OFFSETS.generation, true)).toBe(9n);
    expect(dv.getBigUint64(SUPER_OFFSETS.root, true)).toBe(0x1d00000n);
    expect(dv.getBigUint64(SUPER_OFFSETS.chunkRoot, true)).toBe(0x1500000n);
    expect(dv.getBigUint64(SUPER_OFFSETS.totalBytes, true)).toBe(128n << 20n);
    expect(dv.getUint32(SUPER_OFFSETS.sectorsize, true)).toBe(4096);
    expect(dv.getUint32(SUPER_OFFSETS.nodesize, true)).toBe(16384);
    // 17-byte key + 48-byte chunk header + 2 * 32-byte stripes
    expect(dv.getUint32(SUPER_OFFSETS.sysChunkArraySize, true)).toBe(129);
    expect(dv.getBigUint64(SUPER_OFFSETS.incompatFlags, true)).toBe(0x341n);
    expect(b[0xc6]).toBe(1); // root_level
    expect(dv.getBigUint64(SUPER_OFFSETS.devItem, true)).toBe(1n); // dev_item.devid
    expect(new TextDecoder().decode(b.subarray(SUPER_OFFSETS.label, SUPER_OFFSETS.label + 7))).toBe(
      "nightos",
    );
    // sys_chunk_array: key (256 CHUNK_ITEM 0x1500000), then length 8 MiB, owner 2
    const a = SUPER_OFFSETS.sysChunkArray;
    expect(Array.from(b.subarray(a, a + 17))).toEqual([
      0x00, 0x01, 0, 0, 0, 0, 0, 0, 228, 0, 0, 0x50, 0x01, 0, 0, 0, 0,
    ]);
    expect(dv.getBigUint64(a + 17, true)).toBe(8n << 20n);
    expect(dv.getBigUint64(a + 25, true)).toBe(2n);
    expect(dv.getUint16(a + 17 + 44, true)).toBe(2); // num_stripes
    expect(dv.getUint32(0, true)).toBe(crc32c(b, 32));
    const back = decodeSuperblock(b);
    expect(back.sysChunks).toEqual(sample().sysChunks);
    expect(back.label).toBe("nightos");
    expect(back.devItem).toEqual(sample().devItem);
  });

  it("rejects a wrong magic or checksum", () => {
    const b = encodeSuperblock(sample());
    const bad = b.slice();
    bad[0x100] = (bad[0x100] ?? 0) ^ 0xff;
    expect(() => decodeSuperblock(bad)).toThrow(/checksum mismatch/);
    const nomagic = b.slice();
    nomagic[0x40] = 0;
    expect(() => decodeSuperblock(nomagic)).toThrow(/magic/);
    expect(() => decodeSuperblock(b.subarray(0, 100))).toThrow(/4096/);
  });

  describe.skipIf(skipUnless(btrfsProgsMissing()))("against mkfs.btrfs", () => {
    const dir = tempDir();
    afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("decodes a mkfs.btrfs superblock as dump-super reads it, and re-encodes it byte for byte", () => {
      const img = path.join(dir, "a.img");
      mkfsBtrfs(img, 128 << 20, ["-L", "ncwtest"]);
      const fd = fs.openSync(img, "r");
      const raw = new Uint8Array(SUPER_INFO_SIZE);
      fs.readSync(fd, raw, 0, SUPER_INFO_SIZE, 65536);
      fs.closeSync(fd);
      const sb = decodeSuperblock(raw);
      const text = dumpSuper(img);
      const field = (name: string) => new RegExp(`^${name}\\s+(\\S+)`, "m").exec(text)?.[1];
      expect(formatUuid(sb.fsid)).toBe(field("fsid"));
      expect(sb.generation.toString()).toBe(field("generation"));
      expect(sb.root.toString()).toBe(field("root"));
      expect(sb.chunkRoot.toString()).toBe(field("chunk_root"));
      expect(sb.bytesUsed.toString()).toBe(field("bytes_used"));
      expect(sb.totalBytes).toBe(BigInt(128 << 20));
      expect(sb.label).toBe("ncwtest");
      expect(sb.incompatFlags & FEATURE_INCOMPAT_SKINNY_METADATA).toBeTruthy();
      expect(sb.incompatFlags & FEATURE_INCOMPAT_NO_HOLES).toBeTruthy();
      expect(sb.compatRoFlags & FEATURE_COMPAT_RO_FREE_SPACE_TREE).toBeTruthy();
      expect(sb.sysChunks.length).toBe(1);
      expect(sb.sysChunks[0]!.chunk.type).toBe(BLOCK_GROUP_SYSTEM | BLOCK_GROUP_DUP);
      expect(formatUuid(sb.devItem.uuid)).toBe(field("dev_item.uuid"));
      // Byte for byte, except the checksum and the unused tail of sys_chunk_array (mkfs leaves
      // stale bytes there; NCW writes zeros).
      const enc = encodeSuperblock(sb);
      const tail = SUPER_OFFSETS.sysChunkArray + 129;
      const mask = (b: Uint8Array) => {
        const m = b.slice();
        m.fill(0, 0, 4);
        m.fill(0, tail, SUPER_OFFSETS.sysChunkArray + 2048);
        return m;
      };
      expect(mask(enc)).toEqual(mask(raw));
      expect(decodeSuperblock(enc)).toEqual({ ...sb, csum: enc.slice(0, 32) });
    });
  });
});
