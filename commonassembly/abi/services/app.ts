// The sys::app method table. DECISION: specs/services/system/app.md lists no method yet ("TODO"), so
// these are NCW's own, written the way the other pages write theirs (docs/services.md "sys::app"): the
// applications installed for the caller's user (Skyer's query API), one described, one found by AID,
// the caller's own, and the applications running now. ANIDs are u32 (DIRECTION.md §4); AIDs strings.

import { u32 } from "../codec.js";
import { type FieldType, method, type ServiceDef } from "./method.js";

const string: FieldType = { kind: "string" };
const boolean: FieldType = { kind: "boolean" };

/** The ANIDs of the applications the caller's user sees (their own installs and the global ones), by AID. */
export const LIST_APPS = method("sys::app", 0x0001, "LIST_APPS", {
  args: [],
  answer: [["anids", { kind: "list", of: u32 }]],
});

/** One installed application: its AID, its version, and whether it is installed for every user. */
export const APP_INFO = method("sys::app", 0x0002, "APP_INFO", {
  args: [["anid", u32]],
  answer: [
    ["aid", string],
    ["version", string],
    ["global", boolean],
  ],
  errors: { NOT_FOUND: 0x3000 },
});

/** The ANID of the installed application `aid` (the caller's user's install before the global one). */
export const FIND_APP = method("sys::app", 0x0003, "FIND_APP", {
  args: [["aid", string]],
  answer: [["anid", u32]],
  errors: { NOT_FOUND: 0x3000 },
});

/**
 * The caller's own ANID (its execution context's) and whether an installed application has it for the
 * caller's user: a program run from a file has a random ANID of its own run, and is not installed.
 */
export const CURRENT_APP = method("sys::app", 0x0004, "CURRENT_APP", {
  args: [],
  answer: [
    ["anid", u32],
    ["installed", boolean],
  ],
});

/** The distinct ANIDs of the live processes now (programs run from a file too), in increasing order. */
export const RUNNING_APPS = method("sys::app", 0x0005, "RUNNING_APPS", {
  args: [],
  answer: [["anids", { kind: "list", of: u32 }]],
  permissions: { always: ["programs.running.apps"] },
});

export const SYS_APP = {
  name: "sys::app",
  spec: "specs/services/system/app.md",
  methods: [LIST_APPS, APP_INFO, FIND_APP, CURRENT_APP, RUNNING_APPS],
  notifications: [],
} as const satisfies ServiceDef;
