// The NPP container (NightOS Pre-compiled Program, pre-compiling.md; NCW-defined, DIRECTION.md §1):
// a 64-byte header, metadata entries and the zstd-compressed module. Layout: docs/commonassembly.md.

import { createHash } from "node:crypto";
import { compress, decompress } from "../ncw/package/zstd-binding.js";
import { ABI_IMPORT_MODULE, ABI_VERSION, IMPORT_SYSCALL_FORK } from "./abi/wasm-names.js";
import { hex, nppError } from "./errors.js";
import { hasNameSection, readModule } from "./wasm/reader.js";

/** File magic: "\x89NPP\r\n\x1a\n" (a high byte and line endings catch text-mode transfers, like PNG). */
export const NPP_MAGIC: readonly number[] = [0x89, 0x4e, 0x50, 0x50, 0x0d, 0x0a, 0x1a, 0x0a];
/** The container format version this NCW reads and writes. */
export const NPP_FORMAT_VERSION = 1;
export const NPP_HEADER_SIZE = 64;
/** Offsets of the header fields (all integers little-endian). */
export const NppOffset = {
  magic: 0,
  formatVersion: 8,
  abiVersion: 10,
  flags: 12,
  metadataLength: 16,
  payloadLength: 20,
  moduleLength: 24,
  reserved: 28,
  integrity: 32,
} as const;
export const NPP_INTEGRITY_SIZE = 32;

/** Header flags. Unknown bits must be zero. */
export const NppFlag = {
  /** The module imports `nightos.syscall_fork` (the AOT step applies Asyncify). */
  FORK: 1 << 0,
  /** The module carries a "name" custom section (debug names). */
  NAMES: 1 << 1,
} as const;
export const NPP_KNOWN_FLAGS = NppFlag.FORK | NppFlag.NAMES;

/** Largest uncompressed module NCW accepts (bytes). */
export const NPP_MAX_MODULE_SIZE = 256 * 1024 * 1024;
/** Largest metadata block (bytes). */
export const NPP_MAX_METADATA_SIZE = 65535;
export const NPP_MAX_KEY_LENGTH = 64;
export const NPP_MAX_VALUE_LENGTH = 4096;
/** zstd level used by `encodeNpp`. */
export const NPP_ZSTD_LEVEL = 19;
const ZSTD_FRAME_MAGIC = 0xfd2fb528;
const ZSTD_MAX_BLOCK_SIZE = 128 * 1024;
const KEY_PATTERN = /^[a-z0-9][a-z0-9_.-]*$/;

export interface NppHeader {
  formatVersion: number;
  abiVersion: number;
  flags: number;
  metadataLength: number;
  payloadLength: number;
  moduleLength: number;
  /** SHA-256 over the header's first 32 bytes, the metadata and the payload. */
  integrity: Uint8Array;
}

/** Metadata: string keys (lowercase, [a-z0-9_.-]) to UTF-8 strings, in file order. */
export type NppMetadata = Record<string, string>;

export interface Npp {
  header: NppHeader;
  metadata: NppMetadata;
  /** The uncompressed WebAssembly module. */
  module: Uint8Array;
}

export interface EncodeNppOptions {
  metadata?: NppMetadata;
  /** Header flags; computed from the module when omitted (only tests should pass them). */
  flags?: number;
  /** ABI version to write; the current one when omitted (only tests should pass it). */
  abiVersion?: number;
}

export function abiVersionString(v: number): string {
  return `${v >> 8}.${v & 0xff}`;
}

/** The header flags a module calls for: FORK if it imports syscall_fork, NAMES if it has a name section. */
export function flagsForModule(module: Uint8Array): number {
  const info = readModule(module);
  let flags = 0;
  if (info.imports.some((i) => i.module === ABI_IMPORT_MODULE && i.name === IMPORT_SYSCALL_FORK))
    flags |= NppFlag.FORK;
  if (hasNameSection(info)) flags |= NppFlag.NAMES;
  return flags;
}

/** Builds an NPP file from a WebAssembly module. */
export async function encodeNpp(
  module: Uint8Array,
  opts: EncodeNppOptions = {},
): Promise<Uint8Array> {
  if (module.length > NPP_MAX_MODULE_SIZE)
    throw nppError(
      "NPP_MODULE_TOO_LARGE",
      `the module is ${module.length} bytes; NCW accepts at most ${NPP_MAX_MODULE_SIZE} bytes`,
    );
  const flags = opts.flags ?? flagsForModule(module);
  const meta = encodeMetadata(opts.metadata ?? {});
  const payload = new Uint8Array(await compress(Buffer.from(module), NPP_ZSTD_LEVEL));
  const out = new Uint8Array(NPP_HEADER_SIZE + meta.length + payload.length);
  const dv = new DataView(out.buffer);
  out.set(NPP_MAGIC, NppOffset.magic);
  dv.setUint16(NppOffset.formatVersion, NPP_FORMAT_VERSION, true);
  dv.setUint16(NppOffset.abiVersion, opts.abiVersion ?? ABI_VERSION, true);
  dv.setUint32(NppOffset.flags, flags, true);
  dv.setUint32(NppOffset.metadataLength, meta.length, true);
  dv.setUint32(NppOffset.payloadLength, payload.length, true);
  dv.setUint32(NppOffset.moduleLength, module.length, true);
  dv.setUint32(NppOffset.reserved, 0, true);
  out.set(meta, NPP_HEADER_SIZE);
  out.set(payload, NPP_HEADER_SIZE + meta.length);
  out.set(integrityOf(out), NppOffset.integrity);
  return out;
}

/** SHA-256 of the file with the integrity field (bytes 32..63) left out. */
export function integrityOf(file: Uint8Array): Uint8Array {
  const h = createHash("sha256");
  h.update(file.subarray(0, NppOffset.integrity));
  h.update(file.subarray(NPP_HEADER_SIZE));
  return new Uint8Array(h.digest());
}

/**
 * Decodes and checks the header, the integrity hash and the metadata, without decompressing.
 * Throws an NcwError whose code says what is wrong (NPP_BAD_MAGIC, NPP_TRUNCATED, …).
 */
export function decodeNppHeader(file: Uint8Array): { header: NppHeader; metadata: NppMetadata } {
  const prefix = Math.min(file.length, NPP_MAGIC.length);
  for (let i = 0; i < prefix; i++) {
    if (file[i] !== NPP_MAGIC[i])
      throw nppError(
        "NPP_BAD_MAGIC",
        "not an NPP file: it does not start with the NPP magic bytes 89 4E 50 50 0D 0A 1A 0A",
        file[0] === 0x00 && file[1] === 0x61
          ? "this looks like a raw WebAssembly module: package it with `ncw ca asm <file.wasm> -o <file.npp>`"
          : undefined,
      );
  }
  if (file.length < NPP_HEADER_SIZE)
    throw nppError(
      "NPP_TRUNCATED",
      `truncated NPP file: ${file.length} bytes, shorter than the ${NPP_HEADER_SIZE}-byte header`,
    );
  const dv = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const header: NppHeader = {
    formatVersion: dv.getUint16(NppOffset.formatVersion, true),
    abiVersion: dv.getUint16(NppOffset.abiVersion, true),
    flags: dv.getUint32(NppOffset.flags, true),
    metadataLength: dv.getUint32(NppOffset.metadataLength, true),
    payloadLength: dv.getUint32(NppOffset.payloadLength, true),
    moduleLength: dv.getUint32(NppOffset.moduleLength, true),
    integrity: file.slice(NppOffset.integrity, NppOffset.integrity + NPP_INTEGRITY_SIZE),
  };
  if (header.formatVersion !== NPP_FORMAT_VERSION)
    throw nppError(
      "NPP_FORMAT_VERSION",
      `unsupported NPP format version ${header.formatVersion}; this NCW reads version ${NPP_FORMAT_VERSION}`,
      header.formatVersion > NPP_FORMAT_VERSION ? "update NCW to read this file" : undefined,
    );
  const abiMajor = header.abiVersion >> 8;
  const abiMinor = header.abiVersion & 0xff;
  if (abiMajor !== ABI_VERSION >> 8 || abiMinor > (ABI_VERSION & 0xff))
    throw nppError(
      "NPP_ABI_VERSION",
      `the program needs NightOS ABI ${abiVersionString(header.abiVersion)}; this NCW implements ABI ${abiVersionString(ABI_VERSION)}`,
      header.abiVersion > ABI_VERSION ? "update NCW to run this program" : undefined,
    );
  const reserved = dv.getUint32(NppOffset.reserved, true);
  if (reserved !== 0)
    throw nppError(
      "NPP_RESERVED",
      `header bytes 28..31 are reserved and must be 0, found ${hex(reserved)}`,
    );
  if ((header.flags & ~NPP_KNOWN_FLAGS) !== 0)
    throw nppError(
      "NPP_UNKNOWN_FLAGS",
      `unknown header flags ${hex(header.flags & ~NPP_KNOWN_FLAGS)} (known: ${hex(NPP_KNOWN_FLAGS)})`,
    );
  if (header.moduleLength > NPP_MAX_MODULE_SIZE)
    throw nppError(
      "NPP_MODULE_TOO_LARGE",
      `the module is ${header.moduleLength} bytes uncompressed; NCW accepts at most ${NPP_MAX_MODULE_SIZE} bytes`,
    );
  if (header.metadataLength > NPP_MAX_METADATA_SIZE)
    throw nppError(
      "NPP_METADATA",
      `metadata block is ${header.metadataLength} bytes; at most ${NPP_MAX_METADATA_SIZE} are allowed`,
    );
  const expected = NPP_HEADER_SIZE + header.metadataLength + header.payloadLength;
  if (file.length < expected)
    throw nppError(
      "NPP_TRUNCATED",
      `truncated NPP file: the header announces ${expected} bytes but the file has ${file.length}`,
    );
  if (file.length > expected)
    throw nppError(
      "NPP_TRAILING_BYTES",
      `the NPP file has ${file.length - expected} unexpected bytes after the compressed module`,
    );
  const actual = integrityOf(file);
  if (!actual.every((b, i) => b === header.integrity[i]))
    throw nppError(
      "NPP_INTEGRITY",
      "integrity check failed: the file's SHA-256 does not match its header (the file is corrupted)",
      "get a fresh copy of the file",
    );
  const metadata = decodeMetadata(
    file.subarray(NPP_HEADER_SIZE, NPP_HEADER_SIZE + header.metadataLength),
  );
  return { header, metadata };
}

/** Decodes a whole NPP file: header checks, integrity, metadata, zstd frame and decompression. */
export async function decodeNpp(file: Uint8Array): Promise<Npp> {
  const { header, metadata } = decodeNppHeader(file);
  const payload = file.subarray(NPP_HEADER_SIZE + header.metadataLength);
  checkZstdFrame(payload, header.moduleLength);
  let module: Uint8Array;
  try {
    module = new Uint8Array(await decompress(Buffer.from(payload)));
  } catch (e) {
    throw nppError(
      "NPP_ZSTD_CORRUPT",
      `the compressed module cannot be decompressed: ${e instanceof Error ? e.message : String(e)}`,
    );
  }
  if (module.length !== header.moduleLength)
    throw nppError(
      "NPP_SIZE_MISMATCH",
      `the module decompresses to ${module.length} bytes but the header says ${header.moduleLength}`,
    );
  return { header, metadata, module };
}

/**
 * Checks that the payload is exactly one well-formed zstd frame (RFC 8878 §3.1.1): magic, header,
 * block headers up to the last block, optional checksum, nothing after. Fails fast before decompressing.
 */
export function checkZstdFrame(p: Uint8Array, moduleLength: number): void {
  const bad = (why: string) =>
    nppError("NPP_ZSTD_CORRUPT", `the compressed module is not a valid zstd frame: ${why}`);
  if (p.length < 6) throw bad("it is shorter than a frame header");
  const dv = new DataView(p.buffer, p.byteOffset, p.byteLength);
  if (dv.getUint32(0, true) !== ZSTD_FRAME_MAGIC) throw bad("the zstd magic number is missing");
  const fhd = p[4]!;
  if (fhd & 0x08) throw bad("the frame header's reserved bit is set");
  const fcsFlag = fhd >> 6;
  const singleSegment = (fhd & 0x20) !== 0;
  const checksum = (fhd & 0x04) !== 0;
  const dictIdSize = [0, 1, 2, 4][fhd & 3]!;
  const fcsSize = [singleSegment ? 1 : 0, 2, 4, 8][fcsFlag]!;
  let pos = 5 + (singleSegment ? 0 : 1) + dictIdSize;
  if (dictIdSize > 0) throw bad("it needs a dictionary, which NPP files cannot carry");
  if (pos + fcsSize > p.length) throw bad("the frame header is truncated");
  if (fcsSize > 0) {
    let fcs = 0;
    for (let i = fcsSize - 1; i >= 0; i--) fcs = fcs * 256 + p[pos + i]!;
    if (fcsSize === 2) fcs += 256;
    if (fcs !== moduleLength)
      throw nppError(
        "NPP_SIZE_MISMATCH",
        `the zstd frame announces ${fcs} bytes but the header says the module is ${moduleLength}`,
      );
  }
  pos += fcsSize;
  for (let block = 0; ; block++) {
    if (pos + 3 > p.length) throw bad(`block ${block} header is truncated`);
    const bh = p[pos]! | (p[pos + 1]! << 8) | (p[pos + 2]! << 16);
    pos += 3;
    const last = bh & 1;
    const type = (bh >> 1) & 3;
    const size = bh >>> 3;
    if (type === 3) throw bad(`block ${block} has the reserved block type`);
    if (size > ZSTD_MAX_BLOCK_SIZE) throw bad(`block ${block} is larger than 128 KiB`);
    const stored = type === 1 ? 1 : size; // an RLE block stores one byte
    if (pos + stored > p.length) throw bad(`block ${block} is truncated`);
    pos += stored;
    if (last) break;
  }
  if (checksum) pos += 4;
  if (pos > p.length) throw bad("the content checksum is truncated");
  if (pos < p.length) throw bad(`${p.length - pos} bytes follow the frame`);
}

/**
 * Metadata block: a sequence of entries, each `key_len u8, key (ASCII), value_len u16 LE, value (UTF-8)`.
 * Keys are unique, 1..64 bytes of [a-z0-9_.-] starting with a letter or digit; values at most 4096 bytes.
 */
export function encodeMetadata(meta: NppMetadata): Uint8Array {
  const enc = new TextEncoder();
  const parts: number[] = [];
  for (const [key, value] of Object.entries(meta)) {
    checkKey(key);
    const v = enc.encode(value);
    if (v.length > NPP_MAX_VALUE_LENGTH)
      throw nppError(
        "NPP_METADATA",
        `metadata value of "${key}" is ${v.length} bytes; at most ${NPP_MAX_VALUE_LENGTH} are allowed`,
      );
    parts.push(key.length, ...enc.encode(key), v.length & 0xff, v.length >> 8, ...v);
  }
  if (parts.length > NPP_MAX_METADATA_SIZE)
    throw nppError(
      "NPP_METADATA",
      `metadata is ${parts.length} bytes; at most ${NPP_MAX_METADATA_SIZE} are allowed`,
    );
  return Uint8Array.from(parts);
}

export function decodeMetadata(b: Uint8Array): NppMetadata {
  const dec = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
  const meta: NppMetadata = {};
  let pos = 0;
  while (pos < b.length) {
    const at = pos;
    const keyLen = b[pos++]!;
    if (pos + keyLen + 2 > b.length)
      throw nppError("NPP_METADATA", `metadata entry at offset ${at} is truncated`);
    const key = String.fromCharCode(...b.subarray(pos, pos + keyLen));
    pos += keyLen;
    checkKey(key);
    if (Object.hasOwn(meta, key))
      throw nppError("NPP_METADATA", `metadata key "${key}" appears twice`);
    const valueLen = b[pos]! | (b[pos + 1]! << 8);
    pos += 2;
    if (valueLen > NPP_MAX_VALUE_LENGTH || pos + valueLen > b.length)
      throw nppError("NPP_METADATA", `metadata value of "${key}" is truncated or too long`);
    try {
      meta[key] = dec.decode(b.subarray(pos, pos + valueLen));
    } catch {
      throw nppError("NPP_METADATA", `metadata value of "${key}" is not valid UTF-8`);
    }
    pos += valueLen;
  }
  return meta;
}

function checkKey(key: string): void {
  if (key.length < 1 || key.length > NPP_MAX_KEY_LENGTH || !KEY_PATTERN.test(key))
    throw nppError(
      "NPP_METADATA",
      `invalid metadata key ${JSON.stringify(key)}: keys are 1..${NPP_MAX_KEY_LENGTH} characters of a-z 0-9 _ . - starting with a letter or digit`,
    );
}
