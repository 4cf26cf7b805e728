// The application execution context (specs/applications.md, "Execution Context"): the startup reason
// byte, the context header (with the command fields and the 196-byte future-proof space) and the
// argument block of encoded values (values.ts, "Values encoding"). Bit 0 is the strongest bit (0x80)
// throughout, as the spec's PIPE_INFO states; see docs/kernel.md "Decisions".

import { bytes, decodeExact, encode, struct, u8, u16, u32, u64, viewOf } from "./codec.js";
import { AbiError } from "./error.js";
import { decodeValueAt, encodeValue, type Value } from "./values.js";

/** Startup reason codes (bits 0–3 = the high nibble). Pre-uninstall and service share 0x4 in the spec. */
export const StartupCode = {
  POST_INSTALL: 0x1,
  PRE_UPDATE: 0x2,
  POST_UPDATE: 0x3,
  PRE_UNINSTALL: 0x4,
  /** The spec gives the service start the same 0x4 as pre-uninstall; the header's service type tells them apart. */
  SERVICE: 0x4,
  DESKTOP_ENVIRONMENT: 0x5,
  SELF: 0x6,
  OTHER_APPLICATION: 0x7,
  COMMAND: 0x8,
  AS_DESKTOP_ENVIRONMENT: 0x9,
} as const;

/** The startup reason's flag bits: bit 4 (after a crash) and bit 5 (CMDRAW will be read). */
export const StartupBit = { AFTER_CRASH: 0x08, RAW_OUTPUT_READ: 0x04 } as const;

/**
 * The app's identifier of its CMDIN (decided, docs/ipc.md "Identifiers": a command process' first
 * identifiers are its six command pipes in this order: kernel-compat/ipc/command-pipes.ts). A `stream` argument written `-` is this pipe
 * (docs/cli.md "Typed input"), so the CLI can name it before the kernel made it.
 */
export const CMDIN_IDENTIFIER = 1n;

export interface StartupReason {
  /** 0x1–0x9 (StartupCode). */
  code: number;
  /** Bit 4: restarted after a crash, should ask sys::crashsave for a crash save. */
  afterCrash: boolean;
  /** Bit 5: the app's CMDRAW output will be read. */
  rawOutputRead: boolean;
}

export function encodeStartupReason(r: StartupReason): number {
  if (!Number.isInteger(r.code) || r.code < 0x1 || r.code > 0x9) {
    throw new RangeError(`startup reason code must be 0x1–0x9, got ${r.code}`);
  }
  return (
    (r.code << 4) |
    (r.afterCrash ? StartupBit.AFTER_CRASH : 0) |
    (r.rawOutputRead ? StartupBit.RAW_OUTPUT_READ : 0)
  );
}

export function decodeStartupReason(byte: number): StartupReason {
  const code = byte >> 4;
  if (code < 0x1 || code > 0x9 || (byte & 0x03) !== 0) {
    throw new AbiError(
      "data",
      `invalid startup reason byte 0x${byte.toString(16).padStart(2, "0")}`,
      {
        code: "CTX_BAD_STARTUP_REASON",
      },
    );
  }
  return {
    code,
    afterCrash: (byte & StartupBit.AFTER_CRASH) !== 0,
    rawOutputRead: (byte & StartupBit.RAW_OUTPUT_READ) !== 0,
  };
}

/** Ambient information bits (bit 0 = 0x80). */
export const Ambient = {
  FIRST_SINCE_INSTALL: 0x80,
  FIRST_FOR_USER: 0x40,
  FIRST_AS_SERVICE: 0x20,
  FIRST_AFTER_UPDATE: 0x10,
  OTHER_INSTANCES: 0x08,
} as const;
/** Special assignment bits (bit 0 = 0x80). */
export const SpecialAssignment = { NEW_DESKTOP_ENVIRONMENT: 0x80, NEW_FILE_MANAGER: 0x40 } as const;
export const ServiceType = {
  NONE: 0x00,
  MAIN: 0x01,
  SCOPED: 0x02,
  DESKTOP_ENVIRONMENT: 0x10,
  FILE_MANAGER: 0x11,
  FILE_OPENER: 0x12,
} as const;

/** The part of the header every context has (16 bytes). */
export const ContextBase = struct([
  ["startupReason", u8],
  ["ambient", u8],
  ["special", u8],
  ["serviceType", u8],
  ["scopeName", bytes(8)],
  ["anid", u32],
]);
export const FUTURE_PROOF_SIZE = 196;
/**
 * NCW addition (the spec gives an app no way to know which of its commands it was started for):
 * the future-proof space starts with the command's name, its length in bytes (1 byte, 0: no name)
 * then its UTF-8 bytes; the rest stays zero. So the longest name is 195 bytes. docs/kernel.md.
 */
export const COMMAND_NAME_MAX = FUTURE_PROOF_SIZE - 1;
/** The fields a command start adds (251 bytes, ending with the 196-byte future-proof space). */
export const ContextCommand = struct([
  ["callerAnid", u32],
  ["argCount", u8],
  ["argsSize", u16],
  ["cmdin", u64],
  ["cmdusr", u64],
  ["cmdmsg", u64],
  ["cmderr", u64],
  ["cmdraw", u64],
  ["cmdout", u64],
  ["futureProof", bytes(FUTURE_PROOF_SIZE)],
]);
export const CONTEXT_BASE_SIZE = ContextBase.size; // 16
export const CONTEXT_COMMAND_HEADER_SIZE = ContextBase.size + ContextCommand.size; // 267
/** "The cumulated size of all arguments, in bytes - up to 63.5 KB": 63.5 × 1024. */
export const MAX_ARGS_SIZE = 65024;

export interface ContextHeader {
  startupReason: StartupReason;
  ambient: number;
  special: number;
  serviceType: number;
  scopeName: Uint8Array;
  anid: number;
  /** Present if and only if the startup reason is COMMAND (0x8). */
  command?: {
    callerAnid: number;
    argCount: number;
    argsSize: number;
    cmdin: bigint;
    cmdusr: bigint;
    cmdmsg: bigint;
    cmderr: bigint;
    cmdraw: bigint;
    cmdout: bigint;
    /** NCW addition: the name of the manifest command started (COMMAND_NAME_MAX), "" for none. */
    name?: string;
  };
}

/** The future-proof space of a command start: the command's name (NCW addition), then zeros. */
function encodeFutureProof(name: string | undefined): Uint8Array {
  const out = new Uint8Array(FUTURE_PROOF_SIZE);
  const b = new TextEncoder().encode(name ?? "");
  if (b.length > COMMAND_NAME_MAX)
    throw new RangeError(`a command name takes at most ${COMMAND_NAME_MAX} bytes, got ${b.length}`);
  out[0] = b.length;
  out.set(b, 1);
  return out;
}

function decodeFutureProof(b: Uint8Array): string {
  const n = b[0] ?? 0;
  if (n > COMMAND_NAME_MAX) {
    throw new AbiError(
      "data",
      `context header: command name length ${n} exceeds ${COMMAND_NAME_MAX}`,
      {
        code: "CTX_BAD_COMMAND_NAME",
      },
    );
  }
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(b.subarray(1, 1 + n));
  } catch {
    throw new AbiError("data", "context header: the command name is not UTF-8", {
      code: "CTX_BAD_COMMAND_NAME",
    });
  }
}

export function contextHeaderSize(h: ContextHeader): number {
  return h.command ? CONTEXT_COMMAND_HEADER_SIZE : CONTEXT_BASE_SIZE;
}

export function encodeContextHeader(h: ContextHeader): Uint8Array {
  const isCommand = h.startupReason.code === StartupCode.COMMAND;
  if (isCommand !== (h.command !== undefined)) {
    throw new RangeError(
      "the command fields are present exactly when the startup reason is COMMAND (0x8)",
    );
  }
  const base = encode(ContextBase, {
    startupReason: encodeStartupReason(h.startupReason),
    ambient: h.ambient,
    special: h.special,
    serviceType: h.serviceType,
    scopeName: h.scopeName,
    anid: h.anid,
  });
  if (!h.command) return base;
  const out = new Uint8Array(CONTEXT_COMMAND_HEADER_SIZE);
  out.set(base, 0);
  const { name, ...fields } = h.command;
  out.set(
    encode(ContextCommand, { ...fields, futureProof: encodeFutureProof(name) }),
    CONTEXT_BASE_SIZE,
  );
  return out;
}

export function decodeContextHeader(b: Uint8Array): ContextHeader {
  if (b.length < CONTEXT_BASE_SIZE) {
    throw new AbiError(
      "data",
      `context header: expected at least ${CONTEXT_BASE_SIZE} bytes, got ${b.length}`,
      {
        code: "ABI_TRUNCATED",
      },
    );
  }
  const base = ContextBase.decode(viewOf(b), 0);
  const startupReason = decodeStartupReason(base.startupReason);
  const h: ContextHeader = {
    startupReason,
    ambient: base.ambient,
    special: base.special,
    serviceType: base.serviceType,
    scopeName: base.scopeName,
    anid: base.anid,
  };
  if (startupReason.code !== StartupCode.COMMAND) {
    decodeExact(ContextBase, b, "context header");
    return h;
  }
  const cmd = decodeExact(
    ContextCommand,
    b.subarray(CONTEXT_BASE_SIZE),
    "context header (command fields)",
  );
  const { futureProof, ...command } = cmd;
  const name = decodeFutureProof(futureProof);
  h.command = name === "" ? command : { ...command, name };
  return h;
}

/** The argument block: a concatenation of encoded values, at most MAX_ARGS_SIZE bytes. */
export function encodeArguments(values: readonly Value[]): Uint8Array {
  const parts = values.map(encodeValue);
  const size = parts.reduce((n, p) => n + p.length, 0);
  if (size > MAX_ARGS_SIZE) {
    throw new AbiError(
      "usage",
      `the arguments take ${size} bytes; NightOS allows at most ${MAX_ARGS_SIZE}`,
      {
        code: "CTX_ARGS_TOO_LARGE",
        hint: "pass fewer or shorter arguments",
      },
    );
  }
  if (values.length > 255) {
    throw new AbiError("usage", `${values.length} arguments given; NightOS allows at most 255`, {
      code: "CTX_TOO_MANY_ARGS",
    });
  }
  const out = new Uint8Array(size);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

export function decodeArguments(b: Uint8Array): Value[] {
  const values: Value[] = [];
  let off = 0;
  while (off < b.length) {
    const { value, next } = decodeValueAt(b, off, `argument ${values.length}`);
    values.push(value);
    off = next;
  }
  return values;
}

/** A whole execution context: the header, then the argument block. */
export interface ExecutionContext {
  header: ContextHeader;
  args: Uint8Array;
}

export function encodeExecutionContext(c: ExecutionContext): Uint8Array {
  const h = encodeContextHeader(c.header);
  const out = new Uint8Array(h.length + c.args.length);
  out.set(h, 0);
  out.set(c.args, h.length);
  return out;
}

/** The app's identifiers of its six command pipes (specs/shell.md "Command pipes"). */
export interface CommandPipeIds {
  cmdin: bigint;
  cmdusr: bigint;
  cmdmsg: bigint;
  cmderr: bigint;
  cmdraw: bigint;
  cmdout: bigint;
}

/** Offset of each command-pipe identifier in the context header (8 bytes LE each). */
export const CommandPipeOffset = {
  cmdin: 23,
  cmdusr: 31,
  cmdmsg: 39,
  cmderr: 47,
  cmdraw: 55,
  cmdout: 63,
} as const;

/**
 * Build the context of a command start (what `ncw run` passes); `pipes`: the identifiers of the
 * command pipes the kernel created, 0 without them.
 */
export function commandContext(opts: {
  anid: number;
  callerAnid: number;
  args: readonly Value[];
  ambient?: number;
  rawOutputRead?: boolean;
  /** The manifest command started (NCW addition, COMMAND_NAME_MAX). */
  name?: string;
  pipes?: CommandPipeIds;
}): ExecutionContext {
  const args = encodeArguments(opts.args);
  return {
    header: {
      startupReason: {
        code: StartupCode.COMMAND,
        afterCrash: false,
        rawOutputRead: opts.rawOutputRead ?? false,
      },
      ambient: opts.ambient ?? 0,
      special: 0,
      serviceType: ServiceType.NONE,
      scopeName: new Uint8Array(8),
      anid: opts.anid,
      command: {
        callerAnid: opts.callerAnid,
        argCount: opts.args.length,
        argsSize: args.length,
        cmdin: opts.pipes?.cmdin ?? 0n,
        cmdusr: opts.pipes?.cmdusr ?? 0n,
        cmdmsg: opts.pipes?.cmdmsg ?? 0n,
        cmderr: opts.pipes?.cmderr ?? 0n,
        cmdraw: opts.pipes?.cmdraw ?? 0n,
        cmdout: opts.pipes?.cmdout ?? 0n,
        ...(opts.name === undefined || opts.name === "" ? {} : { name: opts.name }),
      },
    },
    args,
  };
}

/**
 * The context of a start that is not a command: an install/update/uninstall event (StartupCode
 * POST_INSTALL … PRE_UNINSTALL), a start by the desktop environment, by itself, by another app…
 * The header is 16 bytes and there are no arguments.
 */
export function eventContext(opts: {
  code: number;
  anid: number;
  ambient?: number;
}): ExecutionContext {
  if (opts.code === StartupCode.COMMAND)
    throw new RangeError("use commandContext for a command start");
  return {
    header: {
      startupReason: { code: opts.code, afterCrash: false, rawOutputRead: false },
      ambient: opts.ambient ?? 0,
      special: 0,
      serviceType: ServiceType.NONE,
      scopeName: new Uint8Array(8),
      anid: opts.anid,
    },
    args: new Uint8Array(0),
  };
}

export { u64 };

/** A scope name as the context header and CONNECT_SERVICE carry it: its bytes, zero-padded to 8. */
export const SCOPE_NAME_SIZE = 8;

/**
 * The context of a process the system starts as an application service (startup reason 0x4, service
 * type MAIN or SCOPED, the scope's name for a scoped service; specs/applications.md, docs/services.md).
 * The header is 16 bytes and there are no arguments.
 */
export function serviceContext(opts: {
  anid: number;
  serviceType: typeof ServiceType.MAIN | typeof ServiceType.SCOPED;
  scopeName: Uint8Array;
  ambient?: number;
}): ExecutionContext {
  if (opts.scopeName.length !== SCOPE_NAME_SIZE)
    throw new RangeError(`a scope name is ${SCOPE_NAME_SIZE} bytes, got ${opts.scopeName.length}`);
  if (opts.serviceType === ServiceType.MAIN && opts.scopeName.some((b) => b !== 0))
    throw new RangeError("the main service has no scope name (8 zero bytes)");
  return {
    header: {
      startupReason: { code: StartupCode.SERVICE, afterCrash: false, rawOutputRead: false },
      ambient: opts.ambient ?? 0,
      special: 0,
      serviceType: opts.serviceType,
      scopeName: opts.scopeName,
      anid: opts.anid,
    },
    args: new Uint8Array(0),
  };
}
