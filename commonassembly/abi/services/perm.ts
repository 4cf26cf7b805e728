// The sys::perm method table. DECISION: specs/services/system/perm.md lists no method yet ("TODO"), so
// these are NCW's own, written the way the other pages write theirs (docs/permissions.md "sys::perm"):
// a process asks whether it holds a permission, asks for one (the user is asked on a terminal), gives
// one up, and lists what a process holds. Permissions travel by name (specs/permissions.md), a scope
// as a string (a split path for fs.items.*, ...).

import { u8, u64 } from "../codec.js";
import { type FieldType, method, type ServiceDef } from "./method.js";

const string: FieldType = { kind: "string" };
const boolean: FieldType = { kind: "boolean" };
const scope: FieldType = { kind: "option", of: string };

/** Errcodes shared by the methods that name a permission (services/README.md ranges). */
const NAMING = {
  /** The permission is not one of specs/permissions.md's. */
  UNKNOWN_PERMISSION: 0x1000,
  /** A scope for a permission that has none (permissions.md gives it no scope). */
  UNSCOPED_PERMISSION: 0x1001,
} as const;

/** Whether the caller holds `permission` on `scope` now, without asking anyone. */
export const HAS_PERMISSION = method("sys::perm", 0x0001, "HAS_PERMISSION", {
  args: [
    ["permission", string],
    ["scope", scope],
  ],
  answer: [["granted", boolean]],
  errors: NAMING,
});

/**
 * Ask for `permission` on `scope` (features/permissions.md: "it asks the system to give it"): held
 * already, or granted by the user on the terminal that started the app, the answer is how long it
 * holds (GRANT_DURATION_CODES); refused (the user said no, or nobody can be asked), the spec's
 * insufficient-permission errcode 0x0001.
 */
export const REQUEST_PERMISSION = method("sys::perm", 0x0002, "REQUEST_PERMISSION", {
  args: [
    ["permission", string],
    ["scope", scope],
  ],
  answer: [["duration", u8]],
  errors: NAMING,
});

/** Give up `permission` (every scope of it, or `scope`), for this run and for good. */
export const DROP_PERMISSION = method("sys::perm", 0x0003, "DROP_PERMISSION", {
  args: [
    ["permission", string],
    ["scope", scope],
  ],
  errors: NAMING,
});

/**
 * What process `pid` holds beyond what its user's security level grants everyone (0: the caller): a
 * list of Grant structures (permission, scope option, duration byte). Another process' needs
 * `programs.running.processes` (its grants say what it runs).
 */
export const LIST_GRANTS = method("sys::perm", 0x0004, "LIST_GRANTS", {
  args: [["pid", u64]],
  answer: [
    [
      "grants",
      { kind: "list", of: { kind: "structure", name: "Grant", spec: "docs/permissions.md" } },
    ],
  ],
  errors: { NOT_FOUND: 0x3000 },
  permissions: {
    when: [{ permission: "programs.running.processes", condition: "pid is another process" }],
  },
});

/**
 * A grant's duration byte: how long it holds (permissions.md's four prompt choices, then NCW's two
 * sources that are not a prompt: a grant given up front, and one the security level gives).
 */
export const GRANT_DURATION_CODES = {
  once: 0x01,
  run: 0x02,
  session: 0x03,
  forever: 0x04,
  /** Given up front: `ncw run --allow`, a policy file, NCW_GRANT_PERMISSIONS. */
  upfront: 0x05,
  /** The user's security level grants it without asking. */
  automatic: 0x06,
} as const;
export type GrantSource = keyof typeof GRANT_DURATION_CODES;

export const SYS_PERM = {
  name: "sys::perm",
  spec: "specs/services/system/perm.md",
  methods: [HAS_PERMISSION, REQUEST_PERMISSION, DROP_PERMISSION, LIST_GRANTS],
  notifications: [],
} as const satisfies ServiceDef;
