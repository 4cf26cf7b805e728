// Reading a Btrfs image from outside, the way a test checks what a killed writer left.

import { closeSync, openSync, readSync } from "node:fs";

/** The generation of the image's primary superblock (u64 at 64 KiB + 72): it moves with each commit. */
export function superblockGeneration(img: string): bigint {
  const fd = openSync(img, "r");
  try {
    const b = Buffer.alloc(8);
    readSync(fd, b, 0, 8, 65536 + 72);
    return b.readBigUInt64LE(0);
  } finally {
    closeSync(fd);
  }
}
