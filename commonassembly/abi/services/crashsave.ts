// The sys::crashsave table (specs/services/system/crashsave.md, specs/crash-saves.md): its two methods
// and its two notifications, which take the client's answer. Decisions where the page is silent or
// contradicts itself: docs/crash-saves.md.

import { u8, u64 } from "../codec.js";
import { decodeLayoutAt, encodeLayout, type StructureCodecs } from "./fields.js";
import {
  type FieldType,
  type Layout,
  method,
  type NotificationDef,
  type ServiceDef,
} from "./method.js";

/**
 * RESTORE_CRASH_SAVE's datafield, which GET_LAST_CRASH_SAVE answers too ("data provided in the
 * datafield of the RESTORE_CRASH_SAVE notification"): 26 bytes.
 */
export const CRASH_SAVE_LAYOUT: Layout = [
  /** A temporary FEID to the crash save (filesystem.md "Temporary FEID"). */
  ["feid", u64],
  /** When the CRASH_SAVE_COLLECTION that made it was sent (ms since 1970). */
  ["collectedAt", u64],
  /** When it was written to the disk (ms since 1970). */
  ["writtenAt", u64],
  /** 0x01: the application was interrupted before it answered this notification last time. */
  ["interrupted", u8],
  /** 0x01: the application itself crashed while restoring it last time. */
  ["crashedRestoring", u8],
];

const crashSave: FieldType = {
  kind: "structure",
  name: "Crash save",
  spec: "specs/services/system/crashsave.md",
};

/** The codec of CRASH_SAVE_LAYOUT as a structure (GET_LAST_CRASH_SAVE's option holds one). */
export const CRASHSAVE_STRUCTURES: StructureCodecs = {
  "Crash save": {
    decode: (b, off) => decodeLayoutAt(CRASH_SAVE_LAYOUT, b, off, "Crash save"),
    encode: (v) => encodeLayout(CRASH_SAVE_LAYOUT, v as Record<string, unknown>, "Crash save"),
  },
};

/** The last crash save of the caller's application, if any (an option of the structure above). */
export const GET_LAST_CRASH_SAVE = method("sys::crashsave", 0x0100, "GET_LAST_CRASH_SAVE", {
  args: [],
  answer: [["crashSave", { kind: "option", of: crashSave }]],
});

/** REMOVE_CRASH_SAVE's status byte. */
export const RemoveStatus = { REMOVED: 0x00, NONE: 0x01, IN_USE: 0x02 } as const;

/** Remove the caller's application's crash save (its last one: docs/crash-saves.md). */
export const REMOVE_CRASH_SAVE = method("sys::crashsave", 0x0101, "REMOVE_CRASH_SAVE", {
  args: [],
  answer: [["status", u8]],
});

/** CRASH_SAVE_COLLECTION's answer status byte (0x03: the page's sentence is cut; docs/crash-saves.md). */
export const CollectStatus = { WRITTEN: 0x00, NO_TIME: 0x01, FAILED: 0x02, NEVER: 0x03 } as const;

export const CRASH_SAVE_COLLECTION: NotificationDef = {
  code: 0x0100,
  name: "CRASH_SAVE_COLLECTION",
  datafield: [
    /** Seconds within which the notification must be answered. */
    ["answerWithin", u8],
    /** The timestamp of the application's last crash save: 8 bytes (the page says 1; docs/crash-saves.md). */
    ["lastCrashSave", u64],
    /** 0x01 if the last one was not answered in time. */
    ["unansweredLast", u8],
    /** A temporary FEID to write the crash save in. */
    ["feid", u64],
  ],
  answer: [
    ["status", u8],
    ["log", { kind: "option", of: { kind: "string" } }],
  ],
};

/** RESTORE_CRASH_SAVE's answer status byte. */
export const RestoreStatus = { RESTORED: 0x01, CORRUPTED: 0x02 } as const;

export const RESTORE_CRASH_SAVE: NotificationDef = {
  code: 0x0200,
  name: "RESTORE_CRASH_SAVE",
  datafield: CRASH_SAVE_LAYOUT,
  answer: [
    ["status", u8],
    /** 0x00: the crash save can be deleted; 0x01: keep it. */
    ["keep", u8],
  ],
};

export const SYS_CRASHSAVE = {
  name: "sys::crashsave",
  spec: "specs/services/system/crashsave.md",
  methods: [GET_LAST_CRASH_SAVE, REMOVE_CRASH_SAVE],
  notifications: [CRASH_SAVE_COLLECTION, RESTORE_CRASH_SAVE],
} as const satisfies ServiceDef;
