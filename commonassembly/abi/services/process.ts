// The sys::process method table. DECISION: specs/services/system/process.md lists no method yet
// ("TODO"), so these are NCW's own, written the way the other pages write theirs (docs/kernel.md
// "System services"): enough for a client to list the processes and describe one.

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
  methods: [LIST_PROCESSES, PROCESS_INFO],
  notifications: [],
} as const satisfies ServiceDef;
