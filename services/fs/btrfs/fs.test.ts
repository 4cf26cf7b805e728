// File-level writes through the engine, verified by btrfs check, our reader and the Linux kernel.
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  btrfsProgsMissing,
  expectCheckClean,
  loopMountMissing,
  mkfsBtrfs,
  sameContent,
  skipUnless,
  tempDir,
  withLoopMount,
} from "../../../test/btrfs-oracle.js";
import { FileDevice } from "./device.js";
import { btrfsNameHash } from "./format/crc32c.js";
import { COMPRESS_ZSTD } from "./format/items.js";
import { BtrfsFs, createSubvolume, feidOf, feidParts, listSubvolumes, snapshot } from "./fs.js";
import { FsReader } from "./fsread.js";
import { Volume } from "./volume.js";

const MiB = 1 << 20;

function pattern(seed: number, len: number): Uint8Array {
  const out = new Uint8Array(len);
  let x = seed * 2654435761 + 1;
  for (let i = 0; i < len; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}
function readBack(img: string): { vol: Volume; r: FsReader } {
  const vol = new Volume(FileDevice.open(img, { readOnly: true }));
  return { vol, r: new FsReader(vol, vol, vol.sectorsize) };
}

const progs = skipUnless(btrfsProgsMissing());

describe.skipIf(progs)("BtrfsFs writes that btrfs check accepts", () => {
  const dir = tempDir();
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("creates files, dirs, symlinks, hard links and xattrs", async () => {
    const img = path.join(dir, "a.img");
    const f = BtrfsFs.create(img, 128n * BigInt(MiB));
    const top = f.top();
    const apps = f.create(top, "apps", "dir");
    const small = f.create(apps, "small.txt", "file");
    await f.writeFile(small, new TextEncoder().encode("hello"));
    const big = f.create(apps, "big.bin", "file");
    const data = pattern(1, 3 * MiB + 77);
    await f.writeFile(big, data);
    f.create(top, "link", "symlink", { target: "apps/big.bin" });
    f.link(big, top, "hard.bin");
    f.setXattr(small, "user.nightos.perm", new TextEncoder().encode("rw"));
    f.close();
    expectCheckClean(img);
    const { vol, r } = readBack(img);
    expect(new TextDecoder().decode(await r.readAll(r.resolve("/apps/small.txt")!))).toBe("hello");
    expect(sameContent(await r.readAll(r.resolve("/apps/big.bin")!), data)).toBe(true);
    expect(sameContent(await r.readAll(r.resolve("/link")!), data)).toBe(true);
    expect(r.resolve("/hard.bin")).toEqual(r.resolve("/apps/big.bin"));
    expect(r.inode(r.resolve("/hard.bin")!)?.nlink).toBe(2);
    expect(
      new TextDecoder().decode(r.getXattr(r.resolve("/apps/small.txt")!, "user.nightos.perm")),
    ).toBe("rw");
    vol.dev.close();
  });

  it("overwrites, truncates, punches, renames and deletes (CoW extents, split references)", async () => {
    const img = path.join(dir, "b.img");
    const f = BtrfsFs.create(img, 128n * BigInt(MiB));
    const top = f.top();
    const id = f.create(top, "f.bin", "file");
    const model = new Uint8Array(2 * MiB);
    model.set(pattern(2, 2 * MiB));
    await f.writeFile(id, model);
    f.commit();
    // Overwrite the middle (unaligned): splits the old extent into two referenced pieces.
    const patch = pattern(3, 10_000);
    await f.write(id, 100_001n, patch);
    model.set(patch, 100_001);
    // Punch a hole (unaligned edges).
    await f.punch(id, 500_123n, 300_000n);
    model.fill(0, 500_123, 800_123);
    // Extend with a hole, then truncate back to an unaligned size.
    await f.truncate(id, BigInt(3 * MiB));
    await f.truncate(id, 1_500_007n);
    const expected = model.slice(0, 1_500_007);
    // Grow again: the bytes after the old end must read as zeros.
    await f.truncate(id, 1_600_000n);
    const grown = new Uint8Array(1_600_000);
    grown.set(expected);
    expect(sameContent(await f.reader().readAll(id), grown)).toBe(true);
    // Renames and deletes.
    const d = f.create(top, "d", "dir");
    const g = f.create(d, "g.txt", "file");
    await f.writeFile(g, new TextEncoder().encode("gee"));
    f.rename(d, "g.txt", top, "g2.txt");
    const h = f.create(top, "h.txt", "file");
    await f.writeFile(h, pattern(4, 50_000));
    f.rename(top, "h.txt", top, "g2.txt", { replace: true });
    expect(() => f.unlink(top, "nope")).toThrow(/does not exist/);
    expect(() => f.create(top, "d", "dir")).toThrow(/exists/);
    f.create(d, "inner", "file");
    expect(() => f.unlink(top, "d")).toThrow(/not empty/);
    f.unlink(d, "inner");
    f.unlink(top, "d");
    f.close();
    expectCheckClean(img);
    const { vol, r } = readBack(img);
    expect(sameContent(await r.readAll(r.resolve("/f.bin")!), grown)).toBe(true);
    expect(sameContent(await r.readAll(r.resolve("/g2.txt")!), pattern(4, 50_000))).toBe(true);
    expect(r.resolve("/d")).toBeUndefined();
    expect(r.readdir(f.top()).map((e) => new TextDecoder().decode(e.name))).toEqual([
      "f.bin",
      "g2.txt",
    ]);
    vol.dev.close();
  });

  it("writes zstd-compressed extents, works on mkfs.btrfs images, and keeps inline files inline", async () => {
    const img = path.join(dir, "c.img");
    mkfsBtrfs(img, 128 * MiB);
    const f = BtrfsFs.open(img);
    f.compression = "zstd";
    const text = new TextEncoder().encode("NightOS ".repeat(100_000));
    const id = f.create(f.top(), "z.txt", "file");
    await f.writeFile(id, text);
    const tiny = f.create(f.top(), "tiny", "file");
    await f.writeFile(tiny, new TextEncoder().encode("x".repeat(1000)));
    await f.write(tiny, 1000n, new TextEncoder().encode("y".repeat(500)));
    f.close();
    expectCheckClean(img);
    const { vol, r } = readBack(img);
    const zid = r.resolve("/z.txt")!;
    expect(r.extents(zid).every((e) => e.item.compression === COMPRESS_ZSTD)).toBe(true);
    expect(sameContent(await r.readAll(zid), text)).toBe(true);
    expect(new TextDecoder().decode(await r.readAll(r.resolve("/tiny")!))).toBe(
      "x".repeat(1000) + "y".repeat(500),
    );
    expect(r.extents(r.resolve("/tiny")!)[0]?.item.type).toBe(0);
    vol.dev.close();
  });

  it("snapshots a subvolume cheaply; both sides stay correct after writes", async () => {
    const img = path.join(dir, "s.img");
    const f = BtrfsFs.create(img, 128n * BigInt(MiB));
    const sub = createSubvolume(f, f.top(), "home");
    const home = f.reader().resolve("/home")!;
    expect(home.root).toBe(sub);
    for (let i = 0; i < 200; i++) {
      const id = f.create(home, `f${i}`, "file");
      await f.writeFile(id, new TextEncoder().encode(`file ${i}`));
    }
    const big = f.create(home, "big", "file");
    await f.writeFile(big, pattern(5, 300_000));
    f.commit();
    const snap = snapshot(f, sub, f.top(), "home-snap");
    f.commit();
    await f.writeFile(f.reader().resolve("/home/f7")!, new TextEncoder().encode("changed"));
    await f.write(f.reader().resolve("/home-snap/big")!, 0n, new TextEncoder().encode("SNAP"));
    f.unlink(f.reader().resolve("/home")!, "f8");
    f.close();
    expectCheckClean(img);
    const { vol, r } = readBack(img);
    expect(new TextDecoder().decode(await r.readAll(r.resolve("/home/f7")!))).toBe("changed");
    expect(new TextDecoder().decode(await r.readAll(r.resolve("/home-snap/f7")!))).toBe("file 7");
    expect(r.resolve("/home/f8")).toBeUndefined();
    expect(r.resolve("/home-snap/f8")?.root).toBe(snap);
    const sb = await r.readAll(r.resolve("/home-snap/big")!);
    expect(new TextDecoder().decode(sb.subarray(0, 4))).toBe("SNAP");
    expect(sameContent(sb.subarray(4), pattern(5, 300_000).subarray(4))).toBe(true);
    expect(sameContent(await r.readAll(r.resolve("/home/big")!), pattern(5, 300_000))).toBe(true);
    vol.dev.close();
    const g = BtrfsFs.open(img, { readOnly: true });
    expect(
      listSubvolumes(g)
        .map((s) => s.name)
        .sort(),
    ).toEqual(["home", "home-snap"]);
    g.close();
    const feid = feidOf({ root: 300n, ino: 1234n });
    expect(feidParts(feid)).toEqual({ root: 300n, ino: 1234n });
    expect(feid < 1n << 64n).toBe(true);
  });

  it("keeps two names with the same DIR_ITEM hash apart (one item holds both)", async () => {
    const [a, b] = ["298f94b53f200ce2", "919cb91616ff720e"];
    expect(btrfsNameHash(new TextEncoder().encode(a))).toBe(
      btrfsNameHash(new TextEncoder().encode(b)),
    );
    const img = path.join(dir, "h.img");
    const f = BtrfsFs.create(img, 64n * BigInt(MiB), { metadata: "single" });
    await f.writeFile(f.create(f.top(), a, "file"), new TextEncoder().encode("A"));
    await f.writeFile(f.create(f.top(), b, "file"), new TextEncoder().encode("B"));
    f.setXattr(f.reader().resolve(`/${a}`)!, `user.${a}`, new TextEncoder().encode("1"));
    f.setXattr(f.reader().resolve(`/${a}`)!, `user.${b}`, new TextEncoder().encode("2"));
    expect(() => f.create(f.top(), b, "file")).toThrow(/exists/);
    f.commit();
    expectCheckClean(img);
    f.unlink(f.top(), a);
    f.close();
    expectCheckClean(img);
    const { vol, r } = readBack(img);
    expect(r.resolve(`/${a}`)).toBeUndefined();
    expect(new TextDecoder().decode(await r.readAll(r.resolve(`/${b}`)!))).toBe("B");
    vol.dev.close();
  });

  it("runs out of space with a clear error, keeps what was written before, and stays usable", async () => {
    const img = path.join(dir, "full.img");
    const f = BtrfsFs.create(img, 64n * BigInt(MiB), { metadata: "single" });
    const keep = f.create(f.top(), "keep.txt", "file");
    await f.writeFile(keep, new TextEncoder().encode("kept"));
    let code = "";
    let n = 0;
    try {
      for (; n < 100; n++)
        await f.writeFile(f.create(f.top(), `fill${n}`, "file"), pattern(n, 4 * MiB));
    } catch (e) {
      code = (e as { code: string }).code;
    }
    expect(code).toBe("BTRFS_NO_SPACE");
    expect(n).toBeGreaterThan(3);
    // Still usable: free some space, write again.
    for (let i = 0; i < n; i += 2) f.unlink(f.top(), `fill${i}`);
    f.commit();
    await f.writeFile(f.create(f.top(), "after.txt", "file"), new TextEncoder().encode("after"));
    f.close();
    expectCheckClean(img);
    const { vol, r } = readBack(img);
    expect(new TextDecoder().decode(await r.readAll(r.resolve("/keep.txt")!))).toBe("kept");
    expect(new TextDecoder().decode(await r.readAll(r.resolve("/after.txt")!))).toBe("after");
    expect(sameContent(await r.readAll(r.resolve("/fill1")!), pattern(1, 4 * MiB))).toBe(true);
    vol.dev.close();
  });

  it("a failed operation before any change keeps earlier uncommitted work", async () => {
    const img = path.join(dir, "e.img");
    const f = BtrfsFs.create(img, 64n * BigInt(MiB), { metadata: "single" });
    const a = f.create(f.top(), "a", "file");
    await f.writeFile(a, new TextEncoder().encode("kept"));
    expect(() => f.create(f.top(), "a", "file")).toThrow(/exists/);
    f.close();
    expectCheckClean(img);
    const { vol, r } = readBack(img);
    expect(new TextDecoder().decode(await r.readAll(r.resolve("/a")!))).toBe("kept");
    vol.dev.close();
  });
});

describe.skipIf(progs)("hard links past one INODE_REF item (INODE_EXTREF)", () => {
  const dir = tempDir();
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("stores the names that do not fit as INODE_EXTREFs, finds, lists and removes them", async () => {
    const img = path.join(dir, "extref.img");
    const f = BtrfsFs.create(img, 128n * BigInt(MiB), { nodesize: 4096 });
    const top = f.top();
    const d = f.create(top, "d", "dir");
    const target = f.create(d, "target", "file");
    await f.writeFile(target, pattern(3, 5000));
    // 4 KiB nodes: an INODE_REF item holds at most 3970 bytes = 16 refs of 10 + 240 bytes.
    const long = (i: number) => `${String(i).padStart(4, "0")}${"x".repeat(236)}`;
    const N = 40;
    for (let i = 0; i < N; i++) f.link(target, d, long(i));
    f.commit();
    const types = (id: { root: bigint; ino: bigint }) =>
      f.trees
        .items(
          id.root,
          { objectid: id.ino, type: 0, offset: 0n },
          { objectid: id.ino, type: 255, offset: 2n ** 64n - 1n },
        )
        .map((it) => it.key.type);
    const extrefs = types(target).filter((t) => t === 13).length;
    expect(extrefs).toBeGreaterThan(20); // names 16.. went to INODE_EXTREF items
    expect(types(target).filter((t) => t === 12)).toHaveLength(1);
    const r = f.reader();
    expect(r.inode(target)?.nlink).toBe(N + 1);
    expect(r.names(target)).toHaveLength(N + 1);
    for (let i = 0; i < N; i++) expect(r.resolve(`/d/${long(i)}`)).toEqual(target);
    // Remove names held in both kinds of item, and rename one held in an INODE_EXTREF.
    for (const i of [0, 5, 20, 39]) f.unlink(d, long(i));
    f.rename(d, long(30), top, "moved");
    f.commit();
    expect(f.reader().inode(target)?.nlink).toBe(N - 3);
    expect(f.reader().resolve(`/d/${long(20)}`)).toBeUndefined();
    expect(f.reader().resolve("/moved")).toEqual(target);
    f.close();
    expectCheckClean(img);
    if (!loopMountMissing()) {
      withLoopMount(img, (mnt) => {
        expect(fs.statSync(path.join(mnt, "moved")).nlink).toBe(N - 3);
        expect(fs.readdirSync(path.join(mnt, "d"))).toHaveLength(N - 5 + 1);
        expect(sameContent(fs.readFileSync(path.join(mnt, "d", long(25))), pattern(3, 5000))).toBe(
          true,
        );
      });
    }
  });
});

describe.skipIf(skipUnless(loopMountMissing()))("the Linux kernel reads what BtrfsFs wrote", () => {
  const dir = tempDir();
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("mounts an NCW image and sees the same content", async () => {
    const img = path.join(dir, "k.img");
    const f = BtrfsFs.create(img, 256n * BigInt(MiB), { label: "ncw" });
    const top = f.top();
    const d = f.create(top, "docs", "dir");
    const files: [string, Uint8Array][] = [];
    for (let i = 0; i < 50; i++) {
      const data = pattern(10 + i, i * 9973);
      files.push([`docs/n${i}`, data]);
      await f.writeFile(f.create(d, `n${i}`, "file"), data);
    }
    f.create(top, "ln", "symlink", { target: "docs/n3" });
    f.setXattr(f.reader().resolve("/docs/n1")!, "user.k", new TextEncoder().encode("v"));
    f.compression = "zstd";
    const text = new TextEncoder().encode("compress me ".repeat(50_000));
    await f.writeFile(f.create(top, "z", "file"), text);
    createSubvolume(f, top, "sub");
    f.close();
    expectCheckClean(img);
    withLoopMount(img, (mnt) => {
      for (const [p, data] of files)
        expect(sameContent(fs.readFileSync(path.join(mnt, p)), data)).toBe(true);
      expect(fs.readlinkSync(path.join(mnt, "ln"))).toBe("docs/n3");
      expect(sameContent(fs.readFileSync(path.join(mnt, "z")), text)).toBe(true);
      expect(fs.statSync(path.join(mnt, "sub")).ino).toBe(256);
      // and the kernel can write into it
      fs.writeFileSync(path.join(mnt, "docs/from-kernel"), "k");
    });
    expectCheckClean(img);
    const { vol, r } = readBack(img);
    expect(new TextDecoder().decode(await r.readAll(r.resolve("/docs/from-kernel")!))).toBe("k");
    vol.dev.close();
  });

  it("modifies an image the kernel filled (multi-level trees), and the kernel reads NCW's changes", async () => {
    const img = path.join(dir, "kk.img");
    mkfsBtrfs(img, 256 * MiB);
    withLoopMount(img, (mnt) => {
      fs.mkdirSync(path.join(mnt, "many"));
      for (let i = 0; i < 2000; i++)
        fs.writeFileSync(path.join(mnt, "many", `k${i}`), `kernel ${i}\n`);
      fs.writeFileSync(path.join(mnt, "big"), pattern(77, 5 * MiB));
    });
    const f = BtrfsFs.open(img);
    const many = f.reader().resolve("/many")!;
    for (let i = 0; i < 2000; i += 3) f.unlink(many, `k${i}`);
    for (let i = 0; i < 500; i++)
      await f.writeFile(f.create(many, `n${i}`, "file"), new TextEncoder().encode(`ncw ${i}`));
    await f.write(f.reader().resolve("/big")!, 1_000_000n, pattern(78, 200_000));
    f.close();
    expectCheckClean(img);
    const expectBig = pattern(77, 5 * MiB);
    expectBig.set(pattern(78, 200_000), 1_000_000);
    withLoopMount(img, (mnt) => {
      const names = fs.readdirSync(path.join(mnt, "many"));
      expect(names.length).toBe(2000 - 667 + 500);
      expect(fs.readFileSync(path.join(mnt, "many", "k1"), "utf8")).toBe("kernel 1\n");
      expect(fs.existsSync(path.join(mnt, "many", "k3"))).toBe(false);
      expect(fs.readFileSync(path.join(mnt, "many", "n499"), "utf8")).toBe("ncw 499");
      expect(sameContent(fs.readFileSync(path.join(mnt, "big")), expectBig)).toBe(true);
    });
    expectCheckClean(img);
  });

  it("changes kernel-compressed files (inline and regular zstd/zlib extents) correctly", async () => {
    const img = path.join(dir, "kc.img");
    mkfsBtrfs(img, 256 * MiB);
    const text = new TextEncoder().encode("kernel compressed text. ".repeat(40_000));
    const small = new TextEncoder().encode("tiny tiny tiny tiny ".repeat(40));
    withLoopMount(
      img,
      (mnt) => {
        fs.writeFileSync(path.join(mnt, "big.txt"), text);
        fs.writeFileSync(path.join(mnt, "small.txt"), small);
        fs.writeFileSync(path.join(mnt, "small2.txt"), small);
      },
      ["compress-force=zstd"],
    );
    const f = BtrfsFs.open(img);
    const r0 = f.reader();
    expect(r0.extents(r0.resolve("/small.txt")!)[0]?.item.compression).not.toBe(0);
    const big = r0.resolve("/big.txt")!;
    await f.write(big, 300_001n, new TextEncoder().encode("NCW WAS HERE"));
    await f.punch(big, 500_000n, 70_000n);
    await f.truncate(big, 900_003n);
    await f.truncate(r0.resolve("/small.txt")!, 100n);
    await f.write(r0.resolve("/small2.txt")!, 700n, new TextEncoder().encode("+appended"));
    f.close();
    expectCheckClean(img);
    const expBig = text.slice(0, 900_003);
    expBig.set(new TextEncoder().encode("NCW WAS HERE"), 300_001);
    expBig.fill(0, 500_000, 570_000);
    const expSmall2 = small.slice();
    expSmall2.set(new TextEncoder().encode("+appended"), 700);
    withLoopMount(img, (mnt) => {
      expect(sameContent(fs.readFileSync(path.join(mnt, "big.txt")), expBig)).toBe(true);
      expect(
        sameContent(fs.readFileSync(path.join(mnt, "small.txt")), small.subarray(0, 100)),
      ).toBe(true);
      expect(sameContent(fs.readFileSync(path.join(mnt, "small2.txt")), expSmall2)).toBe(true);
    });
  });

  it("the kernel lists and reads 3,000 files NCW created (multi-level subvolume tree)", async () => {
    const img = path.join(dir, "many.img");
    const f = BtrfsFs.create(img, 256n * BigInt(MiB));
    let d = f.top();
    for (let i = 0; i < 3000; i++) {
      if (i % 150 === 0) d = f.create(f.top(), `dir${i / 150}`, "dir");
      await f.writeFile(
        f.create(d, `file-${i}.txt`, "file"),
        new TextEncoder().encode(`content of ${i}\n`.repeat(1 + (i % 300))),
      );
    }
    f.close();
    expectCheckClean(img);
    withLoopMount(img, (mnt) => {
      let count = 0;
      for (const sub of fs.readdirSync(mnt)) count += fs.readdirSync(path.join(mnt, sub)).length;
      expect(count).toBe(3000);
      for (const i of [0, 1, 149, 150, 1234, 2999]) {
        const got = fs.readFileSync(
          path.join(mnt, `dir${Math.floor(i / 150)}`, `file-${i}.txt`),
          "utf8",
        );
        expect(got).toBe(`content of ${i}\n`.repeat(1 + (i % 300)));
      }
    });
  });
});
