// Engine tests against images made by mkfs.btrfs, judged by `btrfs check` (btrfs-progs).

import * as path from "node:path";
import { describe, expect, it } from "vitest";
import {
  btrfsCheck,
  btrfsProgsMissing,
  mkfsBtrfs,
  skipUnless,
  tempDir,
} from "../../../test/btrfs-oracle.js";
import { FileDevice } from "./device.js";
import { openEngine } from "./engine.js";
import { FS_TREE_OBJECTID } from "./format/key.js";
import { addFile, removeFile } from "./tree/testing.js";

const skip = skipUnless(btrfsProgsMissing());

function freshImage(): string {
  const img = path.join(tempDir(), "e.img");
  mkfsBtrfs(img, 256 << 20);
  return img;
}

function expectClean(img: string): void {
  const r = btrfsCheck(img);
  if (!r.ok) console.error(r.output);
  expect(r.ok).toBe(true);
}

describe.skipIf(skip)("engine on mkfs.btrfs images", () => {
  it("inserts thousands of items (multi-level splits), deletes them (merges), stays clean", () => {
    const img = freshImage();
    let e = openEngine(FileDevice.open(img));
    let t = e.begin();
    const N = 3000;
    for (let i = 0; i < N; i++)
      addFile(t, FS_TREE_OBJECTID, 256n, `file-${i}-${"x".repeat(i % 50)}`, 257n + BigInt(i));
    t.commit();
    e.close();
    expectClean(img);
    e = openEngine(FileDevice.open(img));
    t = e.begin();
    for (let i = 0; i < N; i++)
      if (i % 10 !== 0)
        removeFile(t, FS_TREE_OBJECTID, 256n, `file-${i}-${"x".repeat(i % 50)}`, 257n + BigInt(i));
    t.commit();
    e.close();
    expectClean(img);
  });
});
