// The shape of a service method table (specs/services/README.md, specs/kernel/ipc.md "Methods and
// notifications"): per method its 2-byte code, argument and answer layouts, errcodes and permissions.
// One sibling file per system service (fs.ts, ...) declares its table the way syscalls.ts declares syscalls.

import type { Codec } from "../codec.js";
import { type Errcodes, errcodes } from "../result.js";

/**
 * A field's type. Fixed-size fields are codecs (u8…u64, bytes(n)); the others are the spec's variable
 * data structures (specs/kernel/data-structures.md) and structures defined on other spec pages.
 */
export type FieldType =
  | Codec<unknown>
  /** One byte, 0x01 true, 0x02 false (data-structures.md "Booleans"). */
  | { readonly kind: "boolean" }
  /** A variance byte, then the data if it is 0x01 (data-structures.md "Options"). */
  | { readonly kind: "option"; readonly of: FieldType }
  /** An 8-byte length in bytes, then the elements (data-structures.md "Delimited lists"). */
  | { readonly kind: "list"; readonly of: FieldType }
  /** An 8-byte length in bytes, then UTF-8 (data-structures.md "Delimited strings"). */
  | { readonly kind: "string" }
  /** A variant ID byte, then that variant's fields (data-structures.md "Enumerations"). */
  | { readonly kind: "enum"; readonly variants: Readonly<Record<number, Layout>> }
  /** A structure another spec page defines, by name and page. */
  | { readonly kind: "structure"; readonly name: string; readonly spec: string };

/** Fields in order, packed (the spec's lists). */
export type Layout = readonly (readonly [name: string, type: FieldType])[];

/**
 * The permissions a method requires (specs/permissions.md): `always`, plus each of `when` if its
 * condition (in the spec's words) holds. A method with neither is open to every connected client.
 */
export interface MethodPermissions<P extends string = string> {
  readonly always: readonly P[];
  readonly when: readonly { readonly permission: P; readonly condition: string }[];
}

export interface MethodDef<N extends string = string, P extends string = string> {
  /** The method code (2 bytes, ipc.md "Exchanges and messages"). */
  readonly code: number;
  readonly name: N;
  readonly args: Layout;
  readonly answer: Layout;
  /** The method's errcodes (2 bytes, services/README.md "Conventional error codes"), by name. */
  readonly errors: Readonly<Record<string, number>>;
  readonly permissions: MethodPermissions<P>;
}

export interface NotificationDef {
  readonly code: number;
  readonly name: string;
  readonly datafield: Layout;
  /**
   * The client's expected answer (e.g. sys::crashsave's): such a notification's exchange stays open
   * for it (docs/services.md "Notifications"). Absent: the exchange concludes at once.
   */
  readonly answer?: Layout;
}

export interface ServiceDef<P extends string = string> {
  /** The service's name, e.g. "sys::fs". */
  readonly name: string;
  /** Its spec page. */
  readonly spec: string;
  readonly methods: readonly MethodDef<string, P>[];
  readonly notifications: readonly NotificationDef[];
}

/**
 * Errcodes every method of a system service may return without its page listing them
 * (services/README.md "System error codes" and "Implicit error codes").
 */
export const ServiceErr = errcodes("service:*", {
  /** Internal error while communicating with the kernel. */
  KERNEL: 0x0000,
  /** Insufficient permissions. */
  PERMISSION: 0x0001,
  /** Fatal error while communicating with sys::hw. */
  SYS_HW: 0x0100,
  /** Fatal error while communicating with a driver. */
  DRIVER: 0x0101,
  /** Fatal error while communicating with a hardware device. */
  DEVICE: 0x0102,
});

/**
 * DECISION (docs/kernel.md "System services"): the spec names no errcode for a method code the
 * service does not have, nor for arguments that do not decode as the method's layout. NCW answers
 * them with the top of the "invalid argument(s)" range (0x1000–0x1FFF), which no method page uses.
 */
export const ServiceCallErr = errcodes("service:*", {
  UNKNOWN_METHOD: 0x1ffe,
  BAD_ARGUMENTS: 0x1fff,
});

/**
 * Decided (docs/services.md): ServiceErr.KERNEL is 0x0000, which cannot be a message's error code (0
 * marks a message that is not an error); it travels as 0xFFFF.
 */
export const KERNEL_ERROR_ON_WIRE = 0xffff;

/** The conventional errcode ranges a method's own errcodes fall in (services/README.md). */
export const ERROR_RANGES: readonly {
  readonly from: number;
  readonly to: number;
  readonly what: string;
}[] = [
  { from: 0x1000, to: 0x1fff, what: "invalid argument(s) (constant checking)" },
  { from: 0x2000, to: 0x2fff, what: "arguments not valid in the current context" },
  { from: 0x3000, to: 0x3fff, what: "arguments not valid after resources checking" },
  { from: 0x4000, to: 0x4fff, what: "resource access or modification error" },
  { from: 0x5000, to: 0x5fff, what: "handled hardware errors" },
  { from: 0x6000, to: 0x6fff, what: "other errors" },
];

/** A method of service `S`: its errcodes are branded `S.NAME`, so handlers cannot mix methods up. */
export function method<
  const S extends string,
  const N extends string,
  const E extends Record<string, number>,
  const P extends string,
>(
  service: S,
  code: number,
  name: N,
  def: {
    args: Layout;
    answer?: Layout;
    errors?: E;
    permissions?: { always?: readonly P[]; when?: readonly { permission: P; condition: string }[] };
  },
): MethodDef<N, P> & { readonly errors: Errcodes<E, `${S}.${N}`> } {
  if (!Number.isInteger(code) || code < 0 || code > 0xffff)
    throw new Error(`${service} ${name}: method code must fit 2 bytes`);
  return {
    code,
    name,
    args: def.args,
    answer: def.answer ?? [],
    errors: errcodes(`${service}.${name}`, def.errors ?? ({} as E)),
    permissions: { always: def.permissions?.always ?? [], when: def.permissions?.when ?? [] },
  };
}
