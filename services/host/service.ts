// The interface every native system service implements (docs/kernel.md "System services"): sys::fs,
// sys::perm, sys::crashsave, sys::app, sys::process, … each one folder under services/, run by the
// ServiceHost (host.ts) at its fixed PID (commonassembly/abi/numbers.ts SystemPid) from its method
// table (commonassembly/abi/services/*.ts). Specs: specs/kernel/ipc.md "Services", specs/services/.

import type { SystemPid } from "../../commonassembly/abi/numbers.js";
import type { Fields, StructureCodecs } from "../../commonassembly/abi/services/fields.js";
import type { MethodDef, ServiceDef } from "../../commonassembly/abi/services/method.js";

/** The process on the other end of a connection or a call. */
export interface Caller {
  readonly pid: number;
  /**
   * Whether the caller holds a permission, on a scope when it has one (the host's checker decides:
   * the kernel's permission gate, which may ask the user first; for `when` conditions and scoped ones).
   */
  has(permission: string, scope?: string): boolean | Promise<boolean>;
  /**
   * What the checker says without asking the user: "ask" when only the user can settle it (then `has`
   * asks). A service that holds a queue while it checks (sys::fs) asks after letting the queue go.
   * Absent: the host's checker cannot tell (unit tests).
   */
  settled?(permission: string, scope?: string): Promise<"granted" | "refused" | "ask">;
}

/** What a handler answers: the answer's fields, or one of the method's (or the system) errcodes. */
export type Answer = { ok: true; value: Fields } | { ok: false; errcode: number };

/** A process the kernel started or that ended, as services see it (onProcessStart/onProcessExit). */
export interface ProcessEvent {
  readonly pid: number;
  readonly ppid: number;
  readonly name: string;
}

/** What the host gives a service when it registers it. */
export interface ServiceContext {
  /** Send a notification of the service's table to a connected client. */
  notify(clientPid: number, notification: string, data: Fields): void;
  /**
   * Send a notification whose table gives an `answer`: its exchange stays open, and `onAnswer` gets the
   * client's answer decoded (undefined when it does not decode as the layout). False when the client is
   * not connected. (Optional in the interface so that a test's context may leave it out.)
   */
  ask?(
    clientPid: number,
    notification: string,
    data: Fields,
    onAnswer: (answer: Fields | undefined) => void,
  ): boolean;
  log(line: string): void;
}

export interface NativeService {
  /** The service's name, e.g. "sys::process"; its table's name. */
  readonly name: keyof typeof SystemPid;
  /** Its fixed PID, SystemPid[name]. */
  readonly pid: number;
  readonly def: ServiceDef;
  /**
   * True when the service checks its methods' permissions itself (`always` ones too) because they
   * have a scope the host cannot see (specs/permissions.md "Filesystems": a path); the host then
   * skips its own `always` check. docs/sysfs.md "Permissions".
   */
  readonly scopedPermissions?: boolean;
  /** Codecs for the structures the service's table names (FieldType "structure"), beside the host's. */
  readonly structures?: StructureCodecs;
  /** Called once, when the host registers the service. */
  attach?(ctx: ServiceContext): void;
  /** A client asks to connect: true accepts it; false rejects it (the default accepts). */
  onConnect?(client: Caller): boolean | Promise<boolean>;
  /** A connected client went away (it ended the connection, or it exited). */
  onDisconnect?(clientPid: number): void;
  /**
   * Run a method of the table for a connected caller, with its arguments decoded from the table's
   * layout and its `always` permissions already checked. May throw: the host answers
   * ServiceErr.KERNEL and logs it.
   */
  handle(method: MethodDef, args: Fields, caller: Caller): Answer | Promise<Answer>;
  onProcessStart?(p: ProcessEvent): void;
  onProcessExit?(p: ProcessEvent): void;
}
