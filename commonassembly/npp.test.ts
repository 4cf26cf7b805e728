import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { NcwError } from "../ncw/errors.js";
import { ABI_VERSION } from "./abi/wasm-names.js";
import {
  decodeMetadata,
  decodeNpp,
  decodeNppHeader,
  encodeMetadata,
  encodeNpp,
  flagsForModule,
  integrityOf,
  NPP_HEADER_SIZE,
  NPP_MAX_MODULE_SIZE,
  NppFlag,
} from "./npp.js";

/** The smallest WebAssembly module: just the preamble. */
const EMPTY_WASM = Uint8Array.from([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]);

/** A zstd frame written by hand: single segment, 1-byte content size 8, one raw last block of 8 bytes. */
const RAW_ZSTD_FRAME = Uint8Array.from([
  0x28,
  0xb5,
  0x2f,
  0xfd, // zstd magic
  0x20, // frame header descriptor: single segment, FCS 1 byte, no checksum, no dictionary
  0x08, // frame content size = 8
  0x41,
  0x00,
  0x00, // block header: last=1, type=raw(0), size=8 → (8 << 3) | 1
  ...EMPTY_WASM,
]);

/** An NPP file written by hand from the table in docs/commonassembly.md. */
function handWrittenNpp(
  over: Partial<Record<"formatLo" | "abiLo" | "abiHi" | "flags", number>> = {},
) {
  const meta = [0x04, ...Buffer.from("name"), 0x05, 0x00, ...Buffer.from("hello")];
  const header = [
    0x89,
    0x4e,
    0x50,
    0x50,
    0x0d,
    0x0a,
    0x1a,
    0x0a, // magic
    over.formatLo ?? 0x01,
    0x00, // format version 1
    over.abiLo ?? 0x01,
    over.abiHi ?? 0x01, // ABI 1.1 = 0x0101
    over.flags ?? 0x00,
    0x00,
    0x00,
    0x00, // flags
    meta.length,
    0x00,
    0x00,
    0x00, // metadata length
    RAW_ZSTD_FRAME.length,
    0x00,
    0x00,
    0x00, // payload length
    0x08,
    0x00,
    0x00,
    0x00, // module length
    0x00,
    0x00,
    0x00,
    0x00, // reserved
  ];
  const body = Uint8Array.from([...meta, ...RAW_ZSTD_FRAME]);
  const hash = createHash("sha256").update(Uint8Array.from(header)).update(body).digest();
  return Uint8Array.from([...header, ...hash, ...body]);
}

async function codeOf(p: Promise<unknown> | (() => unknown)): Promise<string> {
  try {
    await (typeof p === "function" ? p() : p);
  } catch (e) {
    expect(e).toBeInstanceOf(NcwError);
    expect((e as NcwError).kind).toBe("data");
    return (e as NcwError).code;
  }
  throw new Error("expected an error");
}

/** Recomputes the integrity field after a deliberate header edit, so the edit is what gets tested. */
function reseal(file: Uint8Array): Uint8Array {
  file.set(integrityOf(file), 32);
  return file;
}

describe("NPP container", () => {
  it("decodes a file written byte by byte from the spec table", async () => {
    const npp = await decodeNpp(handWrittenNpp());
    expect(npp.header.formatVersion).toBe(1);
    expect(npp.header.abiVersion).toBe(0x0101);
    expect(npp.header.flags).toBe(0);
    expect(npp.metadata).toEqual({ name: "hello" });
    expect([...npp.module]).toEqual([...EMPTY_WASM]);
  });

  it("still reads ABI 1.0 programs (a minor version only adds, §10)", async () => {
    const npp = await decodeNpp(handWrittenNpp({ abiLo: 0 }));
    expect(npp.header.abiVersion).toBe(0x0100);
  });

  it("encodes the header bytes exactly as the table says", async () => {
    const file = await encodeNpp(EMPTY_WASM, { metadata: { name: "hello" } });
    const hand = handWrittenNpp();
    // Everything up to the payload is deterministic; the payload is whatever zstd produced.
    expect([...file.subarray(0, 20)]).toEqual([...hand.subarray(0, 20)]);
    expect([...file.subarray(24, 32)]).toEqual([...hand.subarray(24, 32)]);
    expect([...file.subarray(64, 64 + 12)]).toEqual([...hand.subarray(64, 64 + 12)]);
    const payloadLength = new DataView(file.buffer).getUint32(20, true);
    expect(file.length).toBe(NPP_HEADER_SIZE + 12 + payloadLength);
    expect([...file.subarray(32, 64)]).toEqual([
      ...createHash("sha256").update(file.subarray(0, 32)).update(file.subarray(64)).digest(),
    ]);
  });

  it("round-trips modules and metadata", async () => {
    const module = new Uint8Array(200_000);
    module.set(EMPTY_WASM);
    for (let i = 8; i < module.length; i++) module[i] = (i * 7) & 0xff;
    const meta = { name: "prog", "producer.tool": "clang 14 ünïcode", empty: "", bom: "\ufeffx" };
    const file = await encodeNpp(module, { metadata: meta, flags: 0 });
    const back = await decodeNpp(file);
    expect(back.metadata).toEqual(meta);
    expect(Buffer.from(back.module).equals(Buffer.from(module))).toBe(true);
    expect(back.header.abiVersion).toBe(ABI_VERSION);
  });

  it("computes flags from the module", async () => {
    expect(flagsForModule(EMPTY_WASM)).toBe(0);
    // (import "nightos" "syscall_fork" (func (param i32 i32 i32) (result i32))) + a "name" custom section
    const forky = Uint8Array.from([
      ...EMPTY_WASM,
      0x01,
      0x08,
      0x01,
      0x60,
      0x03,
      0x7f,
      0x7f,
      0x7f,
      0x01,
      0x7f,
      0x02,
      0x18,
      0x01,
      0x07,
      ...Buffer.from("nightos"),
      0x0c,
      ...Buffer.from("syscall_fork"),
      0x00,
      0x00,
      0x00,
      0x05,
      0x04,
      ...Buffer.from("name"),
    ]);
    expect(flagsForModule(forky)).toBe(NppFlag.FORK | NppFlag.NAMES);
    const file = await encodeNpp(forky);
    expect(decodeNppHeader(file).header.flags).toBe(3);
  });

  it("rejects every malformed file with a precise code", async () => {
    const good = handWrittenNpp();
    expect(await codeOf(decodeNpp(EMPTY_WASM))).toBe("NPP_BAD_MAGIC");
    expect(await codeOf(decodeNpp(Uint8Array.from([0x89, 0x4e, 0x50, 0x51])))).toBe(
      "NPP_BAD_MAGIC",
    );
    expect(await codeOf(decodeNpp(good.subarray(0, 5)))).toBe("NPP_TRUNCATED");
    expect(await codeOf(decodeNpp(good.subarray(0, 40)))).toBe("NPP_TRUNCATED");
    expect(await codeOf(decodeNpp(good.subarray(0, good.length - 1)))).toBe("NPP_TRUNCATED");
    expect(await codeOf(decodeNpp(Uint8Array.from([...good, 0])))).toBe("NPP_TRAILING_BYTES");
    expect(await codeOf(decodeNpp(handWrittenNpp({ formatLo: 2 })))).toBe("NPP_FORMAT_VERSION");
    expect(await codeOf(decodeNpp(handWrittenNpp({ formatLo: 0 })))).toBe("NPP_FORMAT_VERSION");
    expect(await codeOf(decodeNpp(handWrittenNpp({ abiHi: 2 })))).toBe("NPP_ABI_VERSION");
    expect(await codeOf(decodeNpp(handWrittenNpp({ abiLo: 2 })))).toBe("NPP_ABI_VERSION");
    expect(await codeOf(decodeNpp(handWrittenNpp({ abiHi: 0 })))).toBe("NPP_ABI_VERSION");
    expect(await codeOf(decodeNpp(handWrittenNpp({ flags: 0x04 })))).toBe("NPP_UNKNOWN_FLAGS");

    const reserved = handWrittenNpp();
    reserved[28] = 1;
    expect(await codeOf(decodeNpp(reseal(reserved)))).toBe("NPP_RESERVED");

    const flipped = handWrittenNpp();
    flipped[flipped.length - 1]! ^= 0xff;
    expect(await codeOf(decodeNpp(flipped))).toBe("NPP_INTEGRITY");
    const flippedHeader = handWrittenNpp();
    flippedHeader[24] = 9; // module length changed without resealing
    expect(await codeOf(decodeNpp(flippedHeader))).toBe("NPP_INTEGRITY");

    const oversize = handWrittenNpp();
    new DataView(oversize.buffer).setUint32(24, NPP_MAX_MODULE_SIZE + 1, true);
    expect(await codeOf(decodeNpp(reseal(oversize)))).toBe("NPP_MODULE_TOO_LARGE");
    const bigModule = Object.defineProperty(new Uint8Array(8), "length", {
      value: NPP_MAX_MODULE_SIZE + 1,
    });
    expect(await codeOf(encodeNpp(bigModule, { flags: 0 }))).toBe("NPP_MODULE_TOO_LARGE");

    const sizeMismatch = handWrittenNpp();
    sizeMismatch[24] = 9;
    expect(await codeOf(decodeNpp(reseal(sizeMismatch)))).toBe("NPP_SIZE_MISMATCH");
  });

  it("rejects corrupted zstd payloads", async () => {
    const payloadAt = NPP_HEADER_SIZE + 12;
    const corrupt = async (edit: (f: Uint8Array) => void) => {
      const f = handWrittenNpp();
      edit(f);
      return codeOf(decodeNpp(reseal(f)));
    };
    expect(await corrupt((f) => (f[payloadAt] = 0x29))).toBe("NPP_ZSTD_CORRUPT"); // magic
    expect(await corrupt((f) => (f[payloadAt + 4] = 0x28))).toBe("NPP_ZSTD_CORRUPT"); // reserved bit
    expect(await corrupt((f) => (f[payloadAt + 6] = 0x47))).toBe("NPP_ZSTD_CORRUPT"); // reserved block type
    expect(await corrupt((f) => (f[payloadAt + 6] = 0x40))).toBe("NPP_ZSTD_CORRUPT"); // not last: truncated
    expect(await corrupt((f) => (f[payloadAt + 6] = 0x39))).toBe("NPP_ZSTD_CORRUPT"); // 7-byte block + 1 extra
    expect(await corrupt((f) => (f[payloadAt + 5] = 0x09))).toBe("NPP_SIZE_MISMATCH"); // FCS disagrees

    // A real compressed frame with the start of its compressed block (the literals section header)
    // damaged: the frame structure is intact, so zstd itself must detect it.
    const module = new Uint8Array(5000);
    module.set(EMPTY_WASM);
    for (let i = 8; i < module.length; i++) module[i] = (i % 13) + (i % 7);
    const file = await encodeNpp(module, { flags: 0 });
    const payload = NPP_HEADER_SIZE;
    expect(file[payload + 4]).toBe(0x00); // no single segment: window descriptor, then the block header
    expect((file[payload + 6]! >> 1) & 3).toBe(2); // a compressed block
    file[payload + 9]! ^= 0xff;
    expect(await codeOf(decodeNpp(reseal(file)))).toBe("NPP_ZSTD_CORRUPT");
  });

  it("checks metadata strictly", async () => {
    expect(encodeMetadata({ a: "b" })).toEqual(Uint8Array.from([1, 0x61, 1, 0, 0x62]));
    expect(decodeMetadata(Uint8Array.from([1, 0x61, 1, 0, 0x62]))).toEqual({ a: "b" });
    expect(await codeOf(() => encodeMetadata({ "Bad Key": "x" }))).toBe("NPP_METADATA");
    expect(await codeOf(() => encodeMetadata({ a: "x".repeat(4097) }))).toBe("NPP_METADATA");
    expect(await codeOf(() => decodeMetadata(Uint8Array.from([1, 0x61, 1, 0])))).toBe(
      "NPP_METADATA",
    );
    expect(
      await codeOf(() => decodeMetadata(Uint8Array.from([1, 0x61, 0, 0, 1, 0x61, 0, 0]))),
    ).toBe("NPP_METADATA");
    expect(await codeOf(() => decodeMetadata(Uint8Array.from([1, 0x61, 1, 0, 0xff])))).toBe(
      "NPP_METADATA",
    );
  });
});
