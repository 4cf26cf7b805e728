// The application execution context (specs/applications.md, "Execution Context"): the startup reason
// byte, the context header (with the command fields and the 196-byte future-proof space) and the
// argument block of encoded values ("Values encoding"). Bit 0 is the strongest bit (0x80) throughout,
// as the spec's PIPE_INFO states; see docs/kernel.md "Decisions".

import { bytes, decodeExact, encode, struct, u8, u16, u32, u64, viewOf } from "./codec.js";
import { AbiError } from "./error.js";

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
  return (r.code << 4) | (r.afterCrash ? 0x08 : 0) | (r.rawOutputRead ? 0x04 : 0);
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
  return { code, afterCrash: (byte & 0x08) !== 0, rawOutputRead: (byte & 0x04) !== 0 };
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
  };
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
  out.set(
    encode(ContextCommand, { ...h.command, futureProof: new Uint8Array(FUTURE_PROOF_SIZE) }),
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
  const { futureProof: _ignored, ...command } = cmd;
  h.command = command;
  return h;
}

// ---- values encoding -----------------------------------------------------------------------------

export const ValueType = {
  void: 0x00,
  bool: 0x01,
  int: 0x02,
  float: 0x03,
  char: 0x04,
  string: 0x05,
  list: 0x06,
  path: 0x07,
  command: 0x08,
  stream: 0x09,
} as const;

/** A shell value (specs/applications.md "Values encoding"), as a tagged union. */
export type Value =
  | { type: "void" }
  | { type: "bool"; value: boolean }
  | { type: "int"; value: bigint }
  | { type: "float"; value: number }
  | { type: "char"; value: string }
  | { type: "string" | "path" | "command"; value: string }
  | { type: "list"; items: Value[] }
  | { type: "stream"; rc: bigint };

const TYPE_NAMES = Object.fromEntries(Object.entries(ValueType).map(([k, v]) => [v, k])) as Record<
  number,
  Value["type"]
>;

/** The representation of a value, without its type code. */
function encodeRepr(v: Value, out: number[]): void {
  const push64 = (x: bigint, signed = false) => {
    const b = new Uint8Array(8);
    if (signed) viewOf(b).setBigInt64(0, x, true);
    else viewOf(b).setBigUint64(0, x, true);
    out.push(...b);
  };
  switch (v.type) {
    case "void":
      return;
    case "bool":
      out.push(v.value ? 0x01 : 0x00);
      return;
    case "int":
      push64(v.value, true);
      return;
    case "float": {
      const b = new Uint8Array(8);
      viewOf(b).setFloat64(0, v.value, true);
      out.push(...b);
      return;
    }
    case "char": {
      const cp = v.value.codePointAt(0);
      if (cp === undefined || [...v.value].length !== 1)
        throw new RangeError("a char value is exactly one character");
      const b = new Uint8Array(4);
      viewOf(b).setUint32(0, cp, true);
      out.push(...b);
      return;
    }
    case "string":
    case "path":
    case "command": {
      const s = new TextEncoder().encode(v.value);
      push64(BigInt(s.length));
      out.push(...s);
      return;
    }
    case "list":
      push64(BigInt(v.items.length));
      for (const item of v.items) {
        out.push(ValueType[item.type]);
        encodeRepr(item, out);
      }
      return;
    case "stream":
      push64(v.rc);
      return;
  }
}

/**
 * One encoded value: length (8 bytes), type code (1 byte), representation. NCW's reading of the
 * spec's "return value's length": the number of bytes that follow the length field (type code +
 * representation), so a reader skips a value with one addition.
 */
export function encodeValue(v: Value): Uint8Array {
  const body: number[] = [ValueType[v.type]];
  encodeRepr(v, body);
  const out = new Uint8Array(8 + body.length);
  viewOf(out).setBigUint64(0, BigInt(body.length), true);
  out.set(body, 8);
  return out;
}

class Reader {
  off = 0;
  constructor(
    readonly b: Uint8Array,
    readonly what: string,
  ) {}
  need(n: number): number {
    if (this.off + n > this.b.length) {
      throw new AbiError("data", `${this.what}: truncated at byte ${this.off} (need ${n} more)`, {
        code: "ABI_TRUNCATED",
      });
    }
    const at = this.off;
    this.off += n;
    return at;
  }
  u8(): number {
    return this.b[this.need(1)] as number;
  }
  u64(): bigint {
    return viewOf(this.b).getBigUint64(this.need(8), true);
  }
  count(): number {
    const n = this.u64();
    if (n > BigInt(this.b.length)) {
      throw new AbiError("data", `${this.what}: length ${n} exceeds the data`, {
        code: "ABI_TRUNCATED",
      });
    }
    return Number(n);
  }
}

function decodeRepr(r: Reader, type: number): Value {
  const name = TYPE_NAMES[type];
  const view = viewOf(r.b);
  switch (name) {
    case "void":
      return { type: "void" };
    case "bool": {
      const x = r.u8();
      if (x > 1)
        throw new AbiError("data", `${r.what}: bool byte must be 0x00 or 0x01, got ${x}`, {
          code: "ABI_BAD_VALUE",
        });
      return { type: "bool", value: x === 1 };
    }
    case "int":
      return { type: "int", value: view.getBigInt64(r.need(8), true) };
    case "float":
      return { type: "float", value: view.getFloat64(r.need(8), true) };
    case "char": {
      const cp = view.getUint32(r.need(4), true);
      if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
        throw new AbiError("data", `${r.what}: invalid UTF-32 character 0x${cp.toString(16)}`, {
          code: "ABI_BAD_VALUE",
        });
      }
      return { type: "char", value: String.fromCodePoint(cp) };
    }
    case "string":
    case "path":
    case "command": {
      const n = r.count();
      const at = r.need(n);
      let value: string;
      try {
        value = new TextDecoder("utf-8", { fatal: true }).decode(r.b.subarray(at, at + n));
      } catch {
        throw new AbiError("data", `${r.what}: ${name} is not valid UTF-8`, {
          code: "ABI_BAD_VALUE",
        });
      }
      return { type: name, value };
    }
    case "list": {
      const n = r.count();
      const items: Value[] = [];
      for (let i = 0; i < n; i++) items.push(decodeRepr(r, r.u8()));
      return { type: "list", items };
    }
    case "stream":
      return { type: "stream", rc: r.u64() };
    default:
      throw new AbiError("data", `${r.what}: unknown value type code 0x${type.toString(16)}`, {
        code: "ABI_BAD_VALUE",
      });
  }
}

/** Decode one encoded value starting at `off`; returns it and the offset after it. */
export function decodeValueAt(
  b: Uint8Array,
  off: number,
  what = "value",
): { value: Value; next: number } {
  const r = new Reader(b, what);
  r.off = off;
  const len = r.count();
  const start = r.off;
  r.need(len);
  const inner = new Reader(b.subarray(start, start + len), what);
  const value = decodeRepr(inner, inner.u8());
  if (inner.off !== len) {
    throw new AbiError(
      "data",
      `${what}: ${len - inner.off} trailing bytes inside the value's length`,
      {
        code: "ABI_TRAILING_BYTES",
      },
    );
  }
  return { value, next: start + len };
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

/** Build the context of a command start with string arguments (what `ncw run` passes). */
export function commandContext(opts: {
  anid: number;
  callerAnid: number;
  args: readonly Value[];
  ambient?: number;
  rawOutputRead?: boolean;
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
        cmdin: 0n,
        cmdusr: 0n,
        cmdmsg: 0n,
        cmderr: 0n,
        cmdraw: 0n,
        cmdout: 0n,
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
