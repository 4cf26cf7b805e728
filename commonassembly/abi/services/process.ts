// The sys::process method table. DECISION: specs/services/system/process.md lists no method yet
// ("TODO"), so these are NCW's own, written the way the other pages write theirs (docs/kernel.md
// "System services", services.md "sys::process"): the processes, one described, its children and
// attributes; a process managed (suspension and termination, the actions of syscalls.md 0xD1
// SYS_MANAGE_PROCESS) and its priority set, for the caller's own processes.

import { u8, u64 } from "../codec.js";
import { type FieldType, method, type ServiceDef } from "./method.js";

const string: FieldType = { kind: "string" };
const boolean: FieldType = { kind: "boolean" };

/** The processes that exist now (system services included), by PID, in increasing order. */
export const LIST_PROCESSES = method("sys::process", 0x0001, "LIST_PROCESSES", {
  args: [],
  answer: [["pids", { kind: "list", of: u64 }]],
  permissions: { always: ["programs.running.processes"] },
});

/**
 * One process: its parent, its name, whether it is a system process, its state (PROCESS_STATES) and
 * when it started (a timestamp: ms since 1970, data-structures.md "Timestamps").
 */
export const PROCESS_INFO = method("sys::process", 0x0002, "PROCESS_INFO", {
  args: [["pid", u64]],
  answer: [
    ["ppid", u64],
    ["name", string],
    ["system", boolean],
    ["state", u8],
    ["startedAt", u64],
  ],
  errors: { NOT_FOUND: 0x3000 },
  permissions: { always: ["programs.running.processes"] },
});

/** The children of a process (those whose parent it is), by PID, in increasing order. */
export const CHILDREN = method("sys::process", 0x0003, "CHILDREN", {
  args: [["pid", u64]],
  answer: [["pids", { kind: "list", of: u64 }]],
  errors: { NOT_FOUND: 0x3000 },
  permissions: { always: ["programs.running.processes"] },
});

/**
 * A process' attributes (specs/kernel/processes.md "Process attributes", their sizes): its priority (NCW's
 * scale 0–10, docs/kernel.md "Priorities"), its running user's ID and its application's ANID (0 for a
 * system service).
 */
export const PROCESS_ATTRIBUTES = method("sys::process", 0x0004, "PROCESS_ATTRIBUTES", {
  args: [["pid", u64]],
  answer: [
    ["priority", u8],
    ["user", u64],
    ["anid", u64],
  ],
  errors: { NOT_FOUND: 0x3000 },
  permissions: { always: ["programs.running.processes"] },
});

/** Errcodes of the methods that act on another process (services/README.md ranges). */
const ACTING = {
  /** No live process has the PID. */
  NOT_FOUND: 0x3000,
  /**
   * The caller may not act on it: only its own descendants, or processes of its own application and
   * user (same ANID); never itself nor a system service (permissions.md's sysapp.process.* are
   * system-reserved, and no client is a system process).
   */
  NOT_ALLOWED: 0x3002,
} as const;

/** MANAGE_PROCESS's actions: syscalls.md 0xD1 SYS_MANAGE_PROCESS's codes, and the signal each sends. */
export const MANAGE_ACTIONS = {
  ASK_SUSPEND: 0x01,
  FORCE_SUSPEND: 0x02,
  UNSUSPEND: 0x03,
  ASK_TERMINATE: 0x04,
  FORCE_TERMINATE: 0x05,
} as const;

/**
 * Manage a process as SYS_MANAGE_PROCESS does: ask for its suspension (SUSPEND), force it
 * (WILL_SUSPEND, suspended after the suspend delay), unsuspend it (UNSUSPENDED), ask for its termination
 * (TERMINATE), force it (WILL_TERMINATE, killed after the terminate delay).
 */
export const MANAGE_PROCESS = method("sys::process", 0x1000, "MANAGE_PROCESS", {
  args: [
    ["pid", u64],
    ["action", u8],
  ],
  errors: {
    /** Not one of MANAGE_ACTIONS (SYS_MANAGE_PROCESS's 0x10). */
    BAD_ACTION: 0x1000,
    NOT_FOUND: ACTING.NOT_FOUND,
    /** Already in the requested state (SYS_MANAGE_PROCESS's 0x32): suspended, or not suspended. */
    SAME_STATE: 0x3001,
    NOT_ALLOWED: ACTING.NOT_ALLOWED,
  },
});

/** Set a process' priority, 1–10 (0 is suspension: MANAGE_PROCESS). */
export const SET_PRIORITY = method("sys::process", 0x1001, "SET_PRIORITY", {
  args: [
    ["pid", u64],
    ["priority", u8],
  ],
  errors: { BAD_PRIORITY: 0x1000, ...ACTING },
});

/** PROCESS_INFO's state byte. */
export const PROCESS_STATES = [
  "reserved",
  "starting",
  "running",
  "suspended",
  "terminating",
  "exited",
] as const;

export const SYS_PROCESS = {
  name: "sys::process",
  spec: "specs/services/system/process.md",
  methods: [
    LIST_PROCESSES,
    PROCESS_INFO,
    CHILDREN,
    PROCESS_ATTRIBUTES,
    MANAGE_PROCESS,
    SET_PRIORITY,
  ],
  notifications: [],
} as const satisfies ServiceDef;
