// sys::fs's structures (fs-structures.ts) against bytes written out by hand from
// specs/services/integration/filesystem-interfaces.md and specs/kernel/data-structures.md, and sys::fs
// method layouts that use them (fs.ts) decoded from hand-written argument bytes.

import { describe, expect, it } from "vitest";
import { codeOf, hex } from "../../../test/helpers/abi.js";
import { decodeLayout, encodeLayout } from "./fields.js";
import { CREATE_DIRECTORY, ITEM_METADATA, OPEN_FILE, READ_DIRECTORY, WRITE_FILE } from "./fs.js";
import { FS_STRUCTURES } from "./fs-structures.js";

const toHex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const S = FS_STRUCTURES;

// Split path ["ab", "c"]: a delimited list (8-byte length 19) of delimited strings.
const SPLIT_AB_C = "1300000000000000" + "0200000000000000" + "6162" + "0100000000000000" + "63";

describe("sys::fs structures, bytes from filesystem-interfaces.md", () => {
  it("filesystem paths: 0x01 + FEID, 0x02 + split path", () => {
    expect(S["Filesystem path"]!.decode(hex(`01${"2a00000000010000"}`), 0)).toEqual([
      { feid: 0x0000_0100_0000_002an },
      9,
    ]);
    expect(S["Filesystem path"]!.decode(hex(`02${SPLIT_AB_C}`), 0)).toEqual([
      { split: ["ab", "c"] },
      1 + 8 + 19,
    ]);
    expect(toHex(S["Filesystem path"]!.encode({ split: ["ab", "c"] }))).toBe(`02${SPLIT_AB_C}`);
    expect(toHex(S["Filesystem path"]!.encode({ feid: 0x2an }))).toBe("012a00000000000000");
    // The empty split path is the root.
    expect(S["Filesystem path"]!.decode(hex("020000000000000000"), 0)).toEqual([{ split: [] }, 9]);
  });

  it("refuses a bad kind byte, a truncated FEID, and '/' or NUL in a component", () => {
    expect(codeOf(() => S["Filesystem path"]!.decode(hex("03"), 0))).toBe("ABI_BAD_VALUE");
    expect(codeOf(() => S["Filesystem path"]!.decode(hex("01000000"), 0))).toBe("ABI_TRUNCATED");
    const slash = `02${"0b00000000000000"}${"0300000000000000"}612f62`;
    expect(codeOf(() => S["Filesystem path"]!.decode(hex(slash), 0))).toBe("ABI_BAD_VALUE");
    const nul = `02${"0900000000000000"}${"0100000000000000"}00`;
    expect(codeOf(() => S["Filesystem path"]!.decode(hex(nul), 0))).toBe("ABI_BAD_VALUE");
  });

  it("item type bytes: 0x01 directory, 0x02 file, 0x03 symlink, 0xFF unknown (and ITEM_EXISTS' 0)", () => {
    for (const t of [0x00, 0x01, 0x02, 0x03, 0xff])
      expect(S["Item type byte"]!.decode(Uint8Array.of(t), 0)).toEqual([t, 1]);
    expect(codeOf(() => S["Item type byte"]!.decode(Uint8Array.of(0x04), 0))).toBe("ABI_BAD_VALUE");
  });

  it("item metadata: FEID, type, flags, size, four options, the filename", () => {
    const bytes =
      "0901000000000000" + // FEID 0x109
      "02" + // file
      "01" + // hidden
      "0500000000000000" + // 5 bytes
      "00" + // no owner
      "00" + // no creation date
      "01" +
      "e803000000000000" + // modified at 1000 ms
      "00" + // no access date
      "0200000000000000" +
      "2e78"; // ".x"
    const v = {
      feid: 0x109n,
      type: 0x02,
      flags: 0x01,
      size: 5n,
      owner: null,
      createdAt: null,
      modifiedAt: 1000n,
      accessedAt: null,
      name: ".x",
    };
    expect(toHex(S["Item metadata"]!.encode(v))).toBe(bytes);
    expect(S["Item metadata"]!.decode(hex(bytes), 0)).toEqual([v, bytes.length / 2]);
  });

  it("filesystem metadata: capabilities (2), cluster (4), sizes (3 × 8), name and icon options", () => {
    const bytes =
      "9300" + // WRITABLE | SYMLINKS | HIDDEN_FLAG (bit 4) | MODIFICATION_DATES (bit 7)
      "00100000" + // 4096
      "0000000010000000" + // 64 GiB
      "0010000000000000" + // 4096
      "00f0ffff0f000000" +
      "01" +
      "0200000000000000" +
      "4e53" + // "NS"
      "00"; // no icon
    const v = {
      capabilities: 0x93,
      clusterSize: 4096,
      totalSize: 0x10_0000_0000n,
      usedSpace: 4096n,
      freeSpace: 0x0f_ffff_f000n,
      name: "NS",
    };
    expect(toHex(S["Filesystem metadata"]!.encode(v))).toBe(bytes);
    expect(S["Filesystem metadata"]!.decode(hex(bytes), 0)).toEqual([v, bytes.length / 2]);
  });

  it("buffer pointers (address, length) and timestamps (8 bytes)", () => {
    const b = "0010000000000000" + "2000000000000000";
    expect(S["Buffer pointer"]!.decode(hex(b), 0)).toEqual([
      { address: 0x1000n, length: 0x20n },
      16,
    ]);
    expect(toHex(S.Timestamp!.encode(1000n))).toBe("e803000000000000");
  });
});

describe("sys::fs method layouts with these structures", () => {
  it("CREATE_DIRECTORY: FSID (8), parent path, filename", () => {
    const args = hex(`0700000000000000${`02${SPLIT_AB_C}`}0300000000000000646972`);
    expect(decodeLayout(CREATE_DIRECTORY.args, args, "t", S)).toEqual({
      fsid: 7n,
      parent: { split: ["ab", "c"] },
      filename: "dir",
    });
  });

  it("OPEN_FILE: both target variants (0x01 carries the new file's filename), read and write bytes", () => {
    const open0 = hex(`0700000000000000` + `00` + `012a00000000000000` + `01` + `00`);
    expect(decodeLayout(OPEN_FILE.args, open0, "t", S)).toEqual({
      fsid: 7n,
      target: { variant: 0, fields: { path: { feid: 0x2an } } },
      read: 1,
      write: 0,
    });
    const open1 = hex(
      `0700000000000000` + `01` + `020000000000000000` + `0100000000000000` + `66` + `01` + `01`,
    );
    expect(decodeLayout(OPEN_FILE.args, open1, "t", S)).toEqual({
      fsid: 7n,
      target: { variant: 1, fields: { parent: { split: [] }, filename: "f" } },
      read: 1,
      write: 1,
    });
  });

  it("WRITE_FILE: file, offset, length, buffer pointer, truncate boolean", () => {
    const args = hex(
      "0100000000000000" +
        "0000000000000000" +
        "0300000000000000" +
        "0010000000000000" +
        "0300000000000000" +
        "01",
    );
    expect(decodeLayout(WRITE_FILE.args, args, "t", S)).toEqual({
      file: 1n,
      offset: 0n,
      length: 3n,
      buffer: { address: 0x1000n, length: 3n },
      truncate: true,
    });
  });

  it("READ_DIRECTORY's answer: a delimited list of item metadata; ITEM_METADATA's: one", () => {
    const item = {
      feid: 1n,
      type: 1,
      flags: 0,
      size: 0n,
      owner: null,
      createdAt: null,
      modifiedAt: null,
      accessedAt: null,
      name: "d",
    };
    // 8+1+1+8+1+1+1+1 + 8+1 = 31 bytes per item.
    const one =
      "0100000000000000" +
      "01" +
      "00" +
      "0000000000000000" +
      "00000000" +
      "0100000000000000" +
      "64";
    expect(toHex(encodeLayout(ITEM_METADATA.answer, { metadata: item }, "t", S))).toBe(one);
    expect(toHex(encodeLayout(READ_DIRECTORY.answer, { items: [item, item] }, "t", S))).toBe(
      `3e00000000000000${one}${one}`,
    );
  });
});
