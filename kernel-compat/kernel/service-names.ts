// The names of application services (specs/services.md "Types of services", syscalls.md CONNECT_SERVICE
// and HAS_SCOPED_SERVICE; docs/services.md): what an installed app exposes, which service a target type
// and an 8-byte scope name, and how a service is shown.

import { ServiceType } from "../../commonassembly/abi/context.js";
import { ServiceTarget } from "../../commonassembly/abi/numbers.js";

/** What an installed application exposes (its manifest's `services`; specs/applications.md). */
export interface ExposedServices {
  main: boolean;
  /** Scoped service names (at most 8 bytes each, checked at install time). */
  scoped: readonly string[];
}

/** An installed application as the service table needs it (services/skyer/query.ts answers). */
export interface ServiceApp {
  aid: string;
  anid: number;
  /** Undefined: the manifest has no `services` table (it exposes nothing). */
  services: ExposedServices | undefined;
  /** The manifest's sysfeatures.crash_saves_support (docs/crash-saves.md). */
  crashSaves?: boolean;
  /**
   * The integration services its manifest exposes, by their keys in `services.integration`
   * ("file_manager", "fs_items_opener", …): what sys::fsh checks (docs/services.md "sys::fsh").
   */
  integration?: readonly string[];
}

/** A service of an app, as CONNECT_SERVICE names it after its checks: main or one scope. */
export interface ServiceName {
  type: typeof ServiceType.MAIN | typeof ServiceType.SCOPED;
  /** 8 bytes; zeroes for the main service. */
  scope: Uint8Array;
}

export const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

/** The 8-byte field of a scope name (extended ASCII: one byte per character, zero-padded). */
export function scopeField(name: string): Uint8Array {
  const out = new Uint8Array(8);
  out.set(Buffer.from(name, "latin1").subarray(0, 8));
  return out;
}

/** The scope name an 8-byte field holds (up to its first zero byte). */
export function scopeText(field: Uint8Array): string {
  const end = field.indexOf(0);
  return Buffer.from(field.subarray(0, end < 0 ? field.length : end)).toString("latin1");
}

const isZero = (b: Uint8Array) => b.every((x) => x === 0);

/**
 * The service a target names. Decided (docs/services.md): a zero scope names the main service (the
 * spec's "default service") whatever the target type.
 */
export function serviceName(targetType: number, scope: Uint8Array): ServiceName {
  if (targetType === ServiceTarget.MAIN || isZero(scope))
    return { type: ServiceType.MAIN, scope: new Uint8Array(8) };
  return { type: ServiceType.SCOPED, scope: scope.slice() };
}

/** Whether `app` exposes `name`. */
export function exposes(app: ServiceApp, name: ServiceName): boolean {
  const s = app.services;
  if (s === undefined) return false;
  if (name.type === ServiceType.MAIN) return s.main;
  const want = hex(name.scope);
  return s.scoped.some((n) => hex(scopeField(n)) === want);
}

/** Whether `app` exposes any service at all (HAS_SCOPED_SERVICE's 0x31). */
export function exposesAny(app: ServiceApp): boolean {
  return app.services !== undefined && (app.services.main || app.services.scoped.length > 0);
}

/** How a service is shown (`ncw ps`, traces): "main" or "scoped:<name>". */
export function serviceLabel(name: ServiceName): string {
  return name.type === ServiceType.MAIN ? "main" : `scoped:${scopeText(name.scope)}`;
}
