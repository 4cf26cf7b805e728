// How a permission check is decided (docs/permissions.md "The decision"): the three scopes restrict
// each other — the mode (the user's security level, and a run's --deny), the user (the {A} marker
// needs an administrator; a permission the user blocked reaches no app), the application (what it was
// granted) — and what none of them settles is asked, or refused without a terminal.

import {
  impliedBy,
  PERMISSIONS,
  type Permission,
  permissionInfo,
  SECURITY_LEVELS,
  type SecurityLevel,
  UserLevel,
} from "../../commonassembly/abi/permissions.js";

/** A grant: a permission, with a scope or (undefined) for every scope. */
export interface Grant {
  readonly permission: Permission;
  readonly scope?: string | undefined;
}

/** What a check knows about the caller. */
export interface CheckContext {
  /** A system process (permissions.md "System-reserved permissions"); NCW's apps are never one. */
  readonly system: boolean;
  /** The user's permission level (concepts/users.md), and their security level. */
  readonly userLevel: number;
  readonly security: SecurityLevel;
  /** The user's blocked permissions (refused to every app). */
  readonly blocked: readonly Permission[];
  /** Refused for this run (`ncw run --deny`, or a "deny" answer of this run). */
  readonly denied: readonly Grant[];
  /** Granted: the app's stored grants, this session's and this run's, --allow, NCW_GRANT_PERMISSIONS. */
  readonly granted: readonly Grant[];
}

export type Decision =
  | { readonly kind: "granted"; readonly by: "grant" | "automatic" }
  | { readonly kind: "refused"; readonly why: string }
  | { readonly kind: "ask" };

/**
 * Whether `scope` (what a check is about) lies within `granted` (what a grant covers). A grant without a
 * scope covers every scope; a check without one is covered only by such a grant. Paths (split paths,
 * `/`-separated) cover what lies beneath them; other scopes are compared whole.
 */
export function covers(
  permission: Permission,
  granted: string | undefined,
  scope: string | undefined,
): boolean {
  if (granted === undefined) return true;
  if (scope === undefined) return false;
  if (permissionInfo(permission).scope !== "paths") return granted === scope;
  const g = granted.split("/").filter((x) => x !== "");
  const s = scope.split("/").filter((x) => x !== "");
  return g.length <= s.length && g.every((x, i) => s[i] === x);
}

/** Whether one of `grants` gives `permission` on `scope` (directly, or by a permission implying it). */
export function holds(
  grants: readonly Grant[],
  permission: Permission,
  scope: string | undefined,
): boolean {
  const givers = [permission, ...impliedBy(permission)];
  return grants.some(
    (g) =>
      givers.includes(g.permission) &&
      // A permission implied by another is checked without the other's scope kind mattering.
      (g.permission === permission ? covers(permission, g.scope, scope) : g.scope === undefined),
  );
}

export function decide(
  permission: Permission,
  scope: string | undefined,
  c: CheckContext,
): Decision {
  const info = permissionInfo(permission);
  // System-reserved: nothing but a system process, and nobody can grant it.
  if (info.system === true)
    return c.system
      ? { kind: "granted", by: "automatic" }
      : { kind: "refused", why: "it is reserved to system processes" };
  // The mode: a run's --deny (or a refusal of this run) wins over every grant.
  if (holds(c.denied, permission, scope))
    return { kind: "refused", why: "it was denied for this run" };
  // The user: blocked for every app; {A} needs an administrator, whatever the app was granted.
  if (c.blocked.includes(permission))
    return { kind: "refused", why: "the user blocked it for every application" };
  if (info.admin === true && c.userLevel < UserLevel.ADMINISTRATOR)
    return { kind: "refused", why: "it requires an administrator user {A}" };
  // The application: what it was granted.
  if (holds(c.granted, permission, scope)) return { kind: "granted", by: "grant" };
  // The mode again: the security level grants the lower levels without asking.
  if ((info.level ?? 5) <= SECURITY_LEVELS[c.security].automatic)
    return { kind: "granted", by: "automatic" };
  return { kind: "ask" };
}

/** `perm` or `perm=scope` (the --allow / --deny / policy-file notation), checked. */
export function parseGrant(text: string): Grant | { error: string } {
  const eq = text.indexOf("=");
  const name = eq < 0 ? text : text.slice(0, eq);
  const scope = eq < 0 ? undefined : text.slice(eq + 1);
  if (!Object.hasOwn(PERMISSIONS, name))
    return { error: `unknown permission ${JSON.stringify(name)}` };
  const permission = name as Permission;
  if (scope !== undefined) {
    if (scope === "") return { error: `empty scope in ${JSON.stringify(text)}` };
    if (permissionInfo(permission).scope === undefined)
      return { error: `${permission} has no scope (permissions.md gives it none)` };
  }
  return { permission, ...(scope === undefined ? {} : { scope }) };
}

export function formatGrant(g: Grant): string {
  return g.scope === undefined ? g.permission : `${g.permission}=${g.scope}`;
}
