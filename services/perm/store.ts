// The permissions a user granted for good, and the user's own settings (docs/permissions.md "Where
// grants live"): one file per NightOS user in the home's tree, /etc/sys/perm/<user>.json, out of every
// app's reach (/etc is closed to apps, storage-permissions.md). Grants are per user and per app
// (permissions.md: "Permissions are specific to the current user"), keyed by AID, or by the program's
// hash for a volatile app ("saved using the application's hash"); an uninstall forgets the app's.

import { createHash } from "node:crypto";
import {
  DEFAULT_SECURITY_LEVEL,
  isPermission,
  isSecurityLevel,
  type Permission,
  type SecurityLevel,
  UserLevel,
} from "../../commonassembly/abi/permissions.js";
import { NcwError } from "../../ncw/errors.js";
import type { FsLayer } from "../fs/layer.js";
import { checkUserName, DEFAULT_USER } from "../skyer/layout.js";

export const PERM_DIR = "/etc/sys/perm";
export const PERM_FORMAT = "ncw-perm";
export const PERM_FORMAT_VERSION = 1;

/** A permission granted for good to one app: the permission and, when it has one, its scope. */
export interface StoredGrant {
  permission: Permission;
  /** The scope granted (a path, a filesystem, ...); none: every scope. */
  scope?: string;
  /** When it was granted (ms since 1970). */
  grantedAt: number;
}

/** One user's file. */
export interface UserPermissions {
  format: typeof PERM_FORMAT;
  version: number;
  /** The user's permission level (concepts/users.md, 1–5); {A} permissions need 3 or more. */
  level: number;
  /** The user's security level (features/permissions.md "Security level"). */
  security: SecurityLevel;
  /** Permissions the user refuses to every app (features/permissions.md "From the control center"). */
  blocked: Permission[];
  /** Grants by app key (an AID, or `hash:<sha256>` for a volatile app). */
  apps: Record<string, StoredGrant[]>;
}

/** The key of a volatile app's grants: its program's SHA-256. */
export function volatileKey(wasm: Uint8Array): string {
  return `hash:${createHash("sha256").update(wasm).digest("hex")}`;
}

export function userFile(user: string): string {
  return `${PERM_DIR}/${checkUserName(user)}.json`;
}

/**
 * A user's settings before anything is stored. DECISION (docs/permissions.md "Users"): NCW's default
 * user is the host user who owns the home, so the home's main administrator (level 4); any other
 * NightOS user of the home is a standard user (2) until `ncw perm policy --level` says otherwise.
 */
export function defaultsFor(user: string): UserPermissions {
  return {
    format: PERM_FORMAT,
    version: PERM_FORMAT_VERSION,
    level: user === DEFAULT_USER ? UserLevel.MAIN_ADMINISTRATOR : UserLevel.STANDARD,
    security: DEFAULT_SECURITY_LEVEL,
    blocked: [],
    apps: {},
  };
}

function damaged(user: string, why: string): NcwError {
  return new NcwError(
    "data",
    `the permissions of user ${user} (${userFile(user)}) are damaged: ${why}`,
    {
      code: "PERM_STORE_DAMAGED",
      hint: `fix or remove it with \`ncw fs rm ${userFile(user)}\` (every grant of the user is then forgotten)`,
    },
  );
}

/** Check a parsed file field by field: a damaged file is an error, never a silent grant. */
function checked(user: string, v: unknown): UserPermissions {
  const o = v as Partial<UserPermissions> | null;
  if (typeof o !== "object" || o === null || o.format !== PERM_FORMAT)
    throw damaged(user, `not an ${PERM_FORMAT} file`);
  if (o.version !== PERM_FORMAT_VERSION) throw damaged(user, `unknown version ${o.version}`);
  if (!Number.isInteger(o.level) || (o.level as number) < 1 || (o.level as number) > 5)
    throw damaged(user, "level must be 1..5");
  if (typeof o.security !== "string" || !isSecurityLevel(o.security))
    throw damaged(user, `unknown security level ${String(o.security)}`);
  if (
    !Array.isArray(o.blocked) ||
    !o.blocked.every((p) => typeof p === "string" && isPermission(p))
  )
    throw damaged(user, "blocked must list permissions");
  if (typeof o.apps !== "object" || o.apps === null) throw damaged(user, "apps must be an object");
  for (const [key, grants] of Object.entries(o.apps)) {
    if (!Array.isArray(grants)) throw damaged(user, `the grants of ${key} must be a list`);
    for (const g of grants as Partial<StoredGrant>[])
      if (
        typeof g?.permission !== "string" ||
        !isPermission(g.permission) ||
        (g.scope !== undefined && typeof g.scope !== "string") ||
        typeof g.grantedAt !== "number"
      )
        throw damaged(user, `a grant of ${key} is not {permission, scope?, grantedAt}`);
  }
  return o as UserPermissions;
}

/** The user's file, or the defaults when none is stored. */
export async function readUser(fs: FsLayer, user: string): Promise<UserPermissions> {
  const file = userFile(user);
  if ((await fs.stat(file)) === null) return defaultsFor(user);
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder().decode(await fs.readFile(file)));
  } catch (e) {
    throw damaged(user, (e as Error).message);
  }
  return checked(user, parsed);
}

export async function writeUser(fs: FsLayer, user: string, u: UserPermissions): Promise<void> {
  await fs.mkdir(PERM_DIR, { recursive: true });
  await fs.writeFile(userFile(user), new TextEncoder().encode(`${JSON.stringify(u, null, 2)}\n`));
  await fs.sync();
}

/** Read, change and write back one user's file. */
export async function updateUser(
  fs: FsLayer,
  user: string,
  change: (u: UserPermissions) => void,
): Promise<UserPermissions> {
  const u = await readUser(fs, user);
  change(u);
  await writeUser(fs, user, u);
  return u;
}

const sameGrant = (g: StoredGrant, permission: string, scope: string | undefined) =>
  g.permission === permission && g.scope === scope;

/** Add a grant (once: granting it again changes nothing). */
export function addGrant(u: UserPermissions, app: string, permission: Permission, scope?: string) {
  const list = u.apps[app] ?? [];
  if (!list.some((g) => sameGrant(g, permission, scope)))
    list.push({ permission, ...(scope === undefined ? {} : { scope }), grantedAt: Date.now() });
  u.apps[app] = list;
}

/**
 * Remove the app's grants of `permission` (every scope of it, or only `scope`), or all of them without
 * a permission. Returns how many went.
 */
export function removeGrants(
  u: UserPermissions,
  app: string,
  permission?: Permission,
  scope?: string,
): number {
  const list = u.apps[app] ?? [];
  const keep = list.filter(
    (g) =>
      permission !== undefined &&
      (g.permission !== permission || (scope !== undefined && g.scope !== scope)),
  );
  if (keep.length === 0) delete u.apps[app];
  else u.apps[app] = keep;
  return list.length - keep.length;
}

/** The users that have a file. */
export async function storedUsers(fs: FsLayer): Promise<string[]> {
  if ((await fs.stat(PERM_DIR)) === null) return [];
  return (await fs.readdir(PERM_DIR))
    .map((e) => e.name)
    .filter((n) => n.endsWith(".json"))
    .map((n) => n.slice(0, -".json".length));
}

/**
 * Forget every grant of app `aid` (Skyer's uninstall; permissions.md: "If the application is
 * uninstalled and re-installed later, all the granted permissions will have been dropped"): for
 * `user` only (a user's install), or for every user (a global one). Returns how many went.
 */
export async function forgetApp(fs: FsLayer, aid: string, user?: string): Promise<number> {
  let n = 0;
  for (const u of user === undefined ? await storedUsers(fs) : [user]) {
    if ((await fs.stat(userFile(u))) === null) continue;
    const perms = await readUser(fs, u);
    const gone = removeGrants(perms, aid);
    if (gone > 0) {
      await writeUser(fs, u, perms);
      n += gone;
    }
  }
  return n;
}
