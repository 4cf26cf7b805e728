// The sys::app method table. DECISION: specs/services/system/app.md lists no method yet ("TODO"), so
// these are NCW's own, written the way the other pages write theirs (docs/services.md "sys::app"): the
// applications installed for the caller's user (Skyer's query API), one described, one found by AID,
// the caller's own, the applications running now, and installing, uninstalling and launching through
// Skyer. ANIDs are u32 (DIRECTION.md §4); AIDs strings; PIDs u64 (as sys::process').

import { u8, u32, u64 } from "../codec.js";
import { type FieldType, method, type ServiceDef } from "./method.js";

const string: FieldType = { kind: "string" };
const boolean: FieldType = { kind: "boolean" };
/** sys::fs' path: a FEID or a split path (filesystem-interfaces.md "Filesystem path"). */
const fsPath: FieldType = {
  kind: "structure",
  name: "Filesystem path",
  spec: "specs/services/integration/filesystem-interfaces.md",
};

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

/**
 * The distinct ANIDs of the caller's user's live processes now (programs run from a file too), in
 * increasing order.
 */
export const RUNNING_APPS = method("sys::app", 0x0005, "RUNNING_APPS", {
  args: [],
  answer: [["anids", { kind: "list", of: u32 }]],
  permissions: { always: ["programs.running.apps"] },
});

/**
 * Install the package file at `package` (a path or FEID, as sys::fs takes them; the caller needs
 * fs.items.read on it) for the caller's user, as `ncw skyer install` does: the same checks, the same
 * postinstall / preupdate + postupdate events. The user consents (NCW's ncw.apps.install, asked like a
 * permission; docs/services.md "sys::app"). Answers the installed item's ANID and what was done:
 * 0x01 installed, 0x02 updated, 0x03 reinstalled.
 */
export const INSTALL_APP = method("sys::app", 0x0006, "INSTALL_APP", {
  args: [["package", fsPath]],
  answer: [
    ["anid", u32],
    ["action", u8],
  ],
  errors: {
    /** No file at that path (or one the caller may not read: the same answer). */
    NOT_FOUND: 0x3000,
    /** Not a package Skyer installs: unreadable, malformed, a volatile one, a program failing the AOT step. */
    BAD_PACKAGE: 0x3001,
    /** It conflicts with what is installed: a reserved DID, installed globally or as the other kind, a downgrade. */
    CONFLICT: 0x3002,
    /** A library it needs is not installed. */
    MISSING_LIBRARIES: 0x3003,
    /** The system's sideloading mode refuses installs from a file. */
    SIDELOADING: 0x4000,
    /** Another Skyer operation is changing the home: try again. */
    BUSY: 0x4001,
    /** Skyer failed (its database, the tree): nothing was installed. */
    FAILED: 0x6000,
  },
});

/**
 * Uninstall the application or library with ANID `anid` that the caller's user installed (not a global
 * one), as `ncw skyer uninstall` does: its preuninstall event, its grants dropped. The user consents
 * (ncw.apps.uninstall).
 */
export const UNINSTALL_APP = method("sys::app", 0x0007, "UNINSTALL_APP", {
  args: [["anid", u32]],
  answer: [],
  errors: {
    NOT_FOUND: 0x3000,
    /** Installed for every user: only `ncw skyer uninstall --global` removes it. */
    GLOBAL: 0x3001,
    /** A library an installed application still needs. */
    IN_USE: 0x3002,
    BUSY: 0x4001,
    FAILED: 0x6000,
  },
});

/**
 * Start the installed application `anid` (the caller's user's view) with `args` (strings), as
 * `ncw run <aid> args…` does, as a child of the caller in its session: answers its PID.
 */
export const LAUNCH_APP = method("sys::app", 0x0008, "LAUNCH_APP", {
  args: [
    ["anid", u32],
    ["args", { kind: "list", of: string }],
  ],
  answer: [["pid", u64]],
  errors: {
    NOT_FOUND: 0x3000,
    /** A library, or an application without a pre-compiled program. */
    NOT_RUNNABLE: 0x3001,
    /** The home's process or memory limit is reached. */
    LIMIT: 0x4000,
    /** Its program cannot be loaded (e.g. the AOT step failed). */
    FAILED: 0x6000,
  },
});

export const SYS_APP = {
  name: "sys::app",
  spec: "specs/services/system/app.md",
  methods: [
    LIST_APPS,
    APP_INFO,
    FIND_APP,
    CURRENT_APP,
    RUNNING_APPS,
    INSTALL_APP,
    UNINSTALL_APP,
    LAUNCH_APP,
  ],
  notifications: [],
} as const satisfies ServiceDef;
