// The sys::hydre method table. DECISION: specs/services/system/hydre.md lists no method nor notification
// ("TODO"), so these are NCW's own, written the way the other pages write theirs (docs/services.md
// "sys::hydre (PID 17)"): the caller's shell session (specs/shell.md "Shell sessions": a session has a
// width and a height; commands are "notified … when the session is resized"; a process sees only the
// session it runs in), its window size and its changes, and a command line run for an app.

import { u8, u16, u64 } from "../codec.js";
import { type FieldType, method, type ServiceDef } from "./method.js";

const boolean: FieldType = { kind: "boolean" };
const string: FieldType = { kind: "string" };

/** Errcodes shared by the methods on the caller's terminal (services/README.md ranges). */
const TERMINAL = {
  /** The caller's session has no terminal (its output is not shown on one): no size to give. */
  NO_TERMINAL: 0x2000,
} as const;

/**
 * The caller's session: whether it runs under a Hydre session (`ncw hydre`, `ncw shell`) and that
 * session's ID (0 when none), whether its session has a terminal, and the terminal's size in
 * characters (0 × 0 without one).
 */
export const SESSION_INFO = method("sys::hydre", 0x0001, "SESSION_INFO", {
  args: [],
  answer: [
    ["hydre", boolean],
    ["session", u64],
    ["terminal", boolean],
    ["columns", u16],
    ["rows", u16],
  ],
});

/** The size of the caller's terminal, in characters. */
export const WINDOW_SIZE = method("sys::hydre", 0x0002, "WINDOW_SIZE", {
  args: [],
  answer: [
    ["columns", u16],
    ["rows", u16],
  ],
  errors: TERMINAL,
});

/** Start (true) or stop (false) receiving WINDOW_RESIZED when the caller's terminal changes size. */
export const WATCH_RESIZE = method("sys::hydre", 0x0003, "WATCH_RESIZE", {
  args: [["watch", boolean]],
  answer: [],
  errors: TERMINAL,
});

/**
 * Run a Hydre command line on behalf of the caller, in its Hydre session (the `ncw hydre` / `ncw shell`
 * that runs it): its status (0 it ran, 1 it failed) and its typed result (the values encoding of
 * specs/applications.md, as on CMDOUT; a void value when it gave none). Requires the user's consent,
 * `ncw.hydre.commands.run` (NCW's, level 5), asked after the line's first checks.
 */
export const RUN_COMMAND = method("sys::hydre", 0x1000, "RUN_COMMAND", {
  args: [["line", string]],
  answer: [
    ["status", u8],
    ["value", { kind: "list", of: u8 }],
  ],
  errors: {
    /** The line is empty or is not Hydre (a syntax error). */
    BAD_LINE: 0x1000,
    /** The caller runs in no Hydre session (`ncw run`, `ncw exec`): nobody to run the line. */
    NOT_IN_SESSION: 0x2000,
    /** The line does not pass Hydre's check (an unknown command, an argument, a type). */
    CHECK_FAILED: 0x3000,
    /** The session ended before the line's end (its `ncw hydre` exited). */
    SESSION_GONE: 0x6000,
  },
});

/** WINDOW_RESIZED's datafield: the terminal's new size. */
export const WINDOW_RESIZED = {
  code: 0x0001,
  name: "WINDOW_RESIZED",
  datafield: [
    ["columns", u16],
    ["rows", u16],
  ],
} as const;

export const SYS_HYDRE = {
  name: "sys::hydre",
  spec: "specs/services/system/hydre.md",
  methods: [SESSION_INFO, WINDOW_SIZE, WATCH_RESIZE, RUN_COMMAND],
  notifications: [WINDOW_RESIZED],
} as const satisfies ServiceDef;
