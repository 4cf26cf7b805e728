// The sys::fsh method table (specs/services/system/fsh.md): file openers (REGISTER_OPENER,
// UNREGISTER_OPENER, LIST_OPENERS) and the thumbnail and preview caches (CHECK_ITEM_THUMBNAIL_CACHE,
// CACHE_ITEM_THUMBNAIL, CHECK_ITEM_PREVIEW_CACHE, CACHE_ITEM_PREVIEW). The page names no permission and
// no notification. Its decisions are in docs/services.md "sys::fsh (PID 11)".

import { u64 } from "../codec.js";
import type { StructureCodec } from "./fields.js";
import { type FieldType, method, type ServiceDef } from "./method.js";

const DS = "specs/kernel/data-structures.md";
const string: FieldType = { kind: "string" };
const fsid: FieldType = u64;
const feid: FieldType = u64;
/**
 * A bitmap image (data-structures.md "Bitmap images"): an 8-byte header, then its pixels. The page
 * gives it as a method's last argument, so the structure is the rest of the message: the service
 * checks it ("Invalid bitmap data", 0x1000) rather than the decoder (whose refusal would be 0x1FFF).
 */
const bitmap: FieldType = { kind: "structure", name: "Bitmap image", spec: DS };
/**
 * DECISION: an ANID is 8 bytes here ("ANID (8 bytes each)"), while every syscall carries it on 4
 * (CONNECT_SERVICE, the execution context): the page's 8 bytes are kept on the wire, the ANID in their
 * low 4 (little-endian), the high 4 zero.
 */
const anid: FieldType = u64;

/** The rest of a message, as bytes (the bitmap of CACHE_ITEM_THUMBNAIL / CACHE_ITEM_PREVIEW). */
export const BITMAP_CODEC: StructureCodec = {
  decode: (b, off) => [b.slice(off), b.length],
  encode: (v) => v as Uint8Array,
};

/** The errcodes of the four cache methods, in the page's order. */
const cacheErrors = {
  NOT_FILE_MANAGER: 0x3000,
  UNKNOWN_FSID: 0x3001,
  UNKNOWN_FEID: 0x3002,
} as const;

export const REGISTER_OPENER = method("sys::fsh", 0x0001, "REGISTER_OPENER", {
  args: [["extensions", { kind: "list", of: string }]],
  errors: { EMPTY: 0x1000, RESERVED: 0x1001, NOT_OPENER: 0x3000, ALREADY_HANDLED: 0x3001 },
});
/** The page numbers "one of the provided extensions is empty" 0x1001 here (0x1000 in REGISTER_OPENER). */
export const UNREGISTER_OPENER = method("sys::fsh", 0x0002, "UNREGISTER_OPENER", {
  args: [["extensions", { kind: "list", of: string }]],
  errors: { EMPTY: 0x1001, NOT_OPENER: 0x3000, NOT_HANDLED: 0x3001 },
});
export const LIST_OPENERS = method("sys::fsh", 0x0003, "LIST_OPENERS", {
  args: [["extension", string]],
  answer: [["openers", { kind: "list", of: anid }]],
  errors: { NOT_OPENER: 0x3000 },
});

const check = <const N extends string>(code: number, name: N) =>
  method("sys::fsh", code, name, {
    args: [
      ["fsid", fsid],
      ["feid", feid],
    ],
    // "Presence (1 byte)", then the timestamp and the TFEID only when present: an option (variance byte
    // 0x00 / 0x01, data-structures.md "Options") is those bytes exactly.
    answer: [
      [
        "cached",
        {
          kind: "option",
          of: {
            kind: "structure",
            name: "Cached item",
            spec: "specs/services/system/fsh.md",
          },
        },
      ],
    ],
    errors: cacheErrors,
  });
const cache = <const N extends string>(code: number, name: N) =>
  method("sys::fsh", code, name, {
    args: [
      ["fsid", fsid],
      ["feid", feid],
      ["image", bitmap],
    ],
    answer: [["tfeid", feid]],
    errors: { INVALID_BITMAP: 0x1000, ...cacheErrors },
  });

export const CHECK_ITEM_THUMBNAIL_CACHE = check(0x1000, "CHECK_ITEM_THUMBNAIL_CACHE");
export const CACHE_ITEM_THUMBNAIL = cache(0x1001, "CACHE_ITEM_THUMBNAIL");
export const CHECK_ITEM_PREVIEW_CACHE = check(0x1100, "CHECK_ITEM_PREVIEW_CACHE");
export const CACHE_ITEM_PREVIEW = cache(0x1101, "CACHE_ITEM_PREVIEW");

/** A present cache entry of a CHECK_ITEM_*_CACHE answer: its timestamp (ms), then its TFEID. */
export interface CachedItem {
  cachedAt: bigint;
  tfeid: bigint;
}

/** "Cached item": the caching timestamp (8 bytes) then the TFEID (8 bytes). */
export const CACHED_ITEM_CODEC: StructureCodec = {
  decode: (b, off) => {
    if (b.length - off < 16) throw new RangeError("a cached item is 16 bytes");
    const v = new DataView(b.buffer, b.byteOffset + off, 16);
    return [{ cachedAt: v.getBigUint64(0, true), tfeid: v.getBigUint64(8, true) }, off + 16];
  },
  encode: (v) => {
    const c = v as CachedItem;
    const out = new Uint8Array(16);
    const d = new DataView(out.buffer);
    d.setBigUint64(0, c.cachedAt, true);
    d.setBigUint64(8, c.tfeid, true);
    return out;
  },
};

/** data-structures.md "Bitmap images": the header's 8 bytes. */
export const BITMAP_HEADER_SIZE = 8;

/** A bitmap's header, or why its bytes are not one (the pixel list's size must be exact). */
export function bitmapHeader(
  b: Uint8Array,
):
  | { ok: true; width: number; height: number; channels: readonly [number, number, number, number] }
  | { ok: false; why: string } {
  if (b.length < BITMAP_HEADER_SIZE) return { ok: false, why: "shorter than its 8-byte header" };
  const width = b[0]! | (b[1]! << 8);
  const height = b[2]! | (b[3]! << 8);
  const channels = [b[4]!, b[5]!, b[6]!, b[7]!] as const;
  const pixel = channels[0] + channels[1] + channels[2] + channels[3];
  // DECISION (docs/services.md "sys::fsh"): an image with no pixel, or pixels of no channel, shows
  // nothing: not a thumbnail.
  if (width === 0 || height === 0) return { ok: false, why: "no pixel (a zero width or height)" };
  if (pixel === 0) return { ok: false, why: "every channel unused" };
  const want = BITMAP_HEADER_SIZE + width * height * pixel;
  if (b.length !== want)
    return { ok: false, why: `${b.length} bytes where its header says ${want}` };
  return { ok: true, width, height, channels };
}

export const SYS_FSH = {
  name: "sys::fsh",
  spec: "specs/services/system/fsh.md",
  methods: [
    REGISTER_OPENER,
    UNREGISTER_OPENER,
    LIST_OPENERS,
    CHECK_ITEM_THUMBNAIL_CACHE,
    CACHE_ITEM_THUMBNAIL,
    CHECK_ITEM_PREVIEW_CACHE,
    CACHE_ITEM_PREVIEW,
  ],
  notifications: [],
} as const satisfies ServiceDef;
