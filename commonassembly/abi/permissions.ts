// The permissions of specs/permissions.md ("List of permissions"), by name, with their level (1–5),
// and NCW's two consents the list has no name for (marked `ncw`).
// Service method tables (services/*.ts) name the permissions their methods require from this list.

export interface PermissionInfo {
  /**
   * The permission level, from 1 (weakest) to 5 (permissions.md "Levels of permissions"); the
   * system-reserved permissions have none.
   */
  readonly level?: 1 | 2 | 3 | 4 | 5;
  /** Requires the current user to be an administrator ("{A}", and the users.all.* variants). */
  readonly admin?: true;
  /** Reserved to processes marked as system (permissions.md "System-reserved permissions"). */
  readonly system?: true;
  /**
   * What the permission's scope names (permissions.md: "Many permissions require to have an associated
   * scope"): device patterns, filesystems, split paths, domains and protocols, a port range; none when
   * the section gives no scope.
   */
  readonly scope?: ScopeKind;
  /**
   * NCW's own, not in permissions.md: the consents the spec's list has no name for (installing and
   * uninstalling applications through sys::app; docs/services.md "sys::app"), asked and granted the
   * way the spec's permissions are.
   */
  readonly ncw?: true;
}

/** The kinds of scope of permissions.md's sections (docs/permissions.md "Scopes"). */
export type ScopeKind = "devices" | "filesystems" | "paths" | "domains" | "ports";

export const PERMISSIONS = {
  "devices.enum": { level: 4, scope: "devices" },
  "devices.subscribe": { level: 4, scope: "devices" },
  "devices.register_driver": { level: 4, scope: "devices" },
  "devices.ask_driver": { level: 4, scope: "devices" },
  "fs.filesystems.mounted": { level: 2, scope: "filesystems" },
  "fs.filesystems.metadata": { level: 3, scope: "filesystems" },
  "fs.filesystems.list": { level: 3, scope: "filesystems" },
  "fs.filesystems.mount": { level: 3, scope: "filesystems" },
  "fs.filesystems.unmount": { level: 3, scope: "filesystems" },
  "fs.filesystems.watch": { level: 3, scope: "filesystems" },
  "fs.filesystems.format": { level: 3, scope: "filesystems" },
  "fs.feid.path": { level: 3, scope: "paths" },
  "fs.feid.exists": { level: 3, scope: "paths" },
  "fs.path.canonicalize": { level: 3, scope: "paths" },
  "fs.items.exists": { level: 3, scope: "paths" },
  "fs.items.metadata": { level: 3, scope: "paths" },
  "fs.items.create": { level: 3, scope: "paths" },
  "fs.items.move": { level: 3, scope: "paths" },
  "fs.items.remove.trash": { level: 3, scope: "paths" },
  "fs.items.remove": { level: 3, scope: "paths" },
  "fs.items.read": { level: 3, scope: "paths" },
  "fs.items.write": { level: 3, scope: "paths" },
  "fs.dir.read": { level: 3, scope: "paths" },
  "fs.dir.read.hidden": { level: 3, scope: "paths" },
  "fs.dir.lock": { level: 3, scope: "paths" },
  "fs.dir.lock.full": { level: 3, scope: "paths" },
  "fs.symlinks.create": { level: 3, scope: "paths" },
  "fs.symlinks.update": { level: 3, scope: "paths" },
  "fs.symlinks.read": { level: 3, scope: "paths" },
  "flow.list": { level: 3 },
  "flow.metadata": { level: 3 },
  "flow.create": { level: 1 },
  "flow.read": { level: 3 },
  "flow.write": { level: 3 },
  "net.fetch": { level: 3, scope: "domains" },
  "net.expose": { level: 3, scope: "ports" },
  "users.current.level": { level: 1 },
  "users.all.level": { level: 1, admin: true },
  "users.current.name": { level: 1 },
  "users.all.name": { level: 1, admin: true },
  "users.current.icon": { level: 1 },
  "users.all.icon": { level: 1, admin: true },
  "users.current.photo": { level: 4 },
  "users.all.photo": { level: 4, admin: true },
  "users.current.lastconn": { level: 3 },
  "users.all.lastconn": { level: 3, admin: true },
  "system.clock.date.read": { level: 1 },
  "system.clock.time.read": { level: 1 },
  "system.clock.timezone.read": { level: 1 },
  "system.clock.uptime": { level: 1 },
  "system.hw.cpu.count": { level: 1 },
  "system.hw.cpu.list": { level: 1 },
  "system.hw.mem.total": { level: 1 },
  "system.hw.mem.available": { level: 1 },
  "system.hw.mem.slots": { level: 1 },
  "system.hw.mem.list": { level: 1 },
  "hwmid.keyboard.write": { level: 4 },
  "hwmid.keyboard.read": { level: 5 },
  "hwmid.pointer.write": { level: 4 },
  "hwmid.pointer.read": { level: 5 },
  "hwmid.video.read": { level: 5 },
  "hwmid.audio.read": { level: 5 },
  "hwmid.screen.read": { level: 5 },
  "hwmid.screen.read_self": { level: 1 },
  "state.laptop.is": { level: 1 },
  "state.laptop.is_open": { level: 1 },
  "state.battery.has": { level: 1 },
  "state.battery.level": { level: 1 },
  "state.battery.is_charging": { level: 1 },
  "state.battery.is_full": { level: 1 },
  "state.battery.is_critical": { level: 1 },
  "state.battery.estimated_remaining": { level: 1 },
  "programs.running.processes": { level: 5, admin: true },
  "programs.running.windows": { level: 5, admin: true },
  "programs.running.apps": { level: 5 },
  "sysapp.process.kill": { system: true },
  "sysapp.process.signal": { system: true },
  // DECISION (NCW's, docs/services.md "sys::app"): the user's consent to an app installing or
  // uninstalling applications for them; level 5, so no security level grants it without asking.
  "ncw.apps.install": { level: 5, ncw: true },
  "ncw.apps.uninstall": { level: 5, ncw: true },
  // DECISION (NCW's, docs/services.md "sys::hydre (PID 17)"): the user's consent to an app running a
  // command line in their Hydre session (sys::hydre RUN_COMMAND); level 5, always asked.
  "ncw.hydre.commands.run": { level: 5, ncw: true },
} as const satisfies Record<string, PermissionInfo>;

export type Permission = keyof typeof PERMISSIONS;
/** The permissions sys::fs methods may require (permissions.md "Filesystems", "Filesystem elements"). */
export type FsPermission = Extract<Permission, `fs.${string}`>;

export function isPermission(name: string): name is Permission {
  return Object.hasOwn(PERMISSIONS, name);
}

/** The permission's entry (level, scope, markers). */
export function permissionInfo(name: Permission): PermissionInfo {
  return PERMISSIONS[name];
}

/**
 * The permissions a granted one implies (permissions.md: "all other `fs.filesystems.*` permissions
 * imply this one", of fs.filesystems.mounted).
 */
export function impliedBy(name: Permission): readonly Permission[] {
  if (name === "fs.filesystems.mounted")
    return (Object.keys(PERMISSIONS) as Permission[]).filter(
      (p) => p.startsWith("fs.filesystems.") && p !== name,
    );
  return [];
}

/**
 * The durations a grant may have: the prompt's four choices of permissions.md ("Only one time", "For
 * the active application (until it stops)", "For the current session", "Forever"), in that order.
 */
export const GRANT_DURATIONS = ["once", "run", "session", "forever"] as const;
export type GrantDuration = (typeof GRANT_DURATIONS)[number];

/**
 * The prompt's default choice (permissions.md: "By default, it is set to \"forever\". But for the
 * privacy level, this choice is set by default to \"forever while the application is active\"").
 * DECISION (docs/permissions.md "Levels"): the privacy level is levels 4 and 5.
 */
export function defaultDuration(name: Permission): GrantDuration {
  const level = permissionInfo(name).level ?? 5;
  return level >= 4 ? "run" : "forever";
}

/**
 * The user's security level (features/permissions.md "Security level"), the "mode" that decides which
 * levels are granted without asking: every level up to `automatic` is. DECISION (docs/permissions.md
 * "The decision"): safe = level 1 (permissions.md: "granted automatically by defualt"), sensitive =
 * levels 2–3, privacy = levels 4–5; implicit = the fs.* permissions on the app's own data directories
 * (permissions.md: "automatically granted if their scope is one of the application's own data
 * directories"), which sys::fs grants itself (docs/sysfs.md "Permissions").
 */
export const SECURITY_LEVELS = {
  /** Grant all permissions automatically, except privacy permissions. */
  unsecure: { automatic: 3 },
  /** Grant safe and implicit permissions automatically, ask for sensitive and privacy ones. */
  standard: { automatic: 1 },
  /** Only grant implicit permissions (and safe ones), ask for all sensitive and privacy ones. */
  tight: { automatic: 1 },
  /** Only grant safe permissions, ask for every other type. */
  extreme: { automatic: 1 },
  /** Ask for every permission, including safe ones (developer mode only, in NightOS). */
  complete: { automatic: 0 },
} as const satisfies Record<string, { automatic: number }>;
export type SecurityLevel = keyof typeof SECURITY_LEVELS;
export const DEFAULT_SECURITY_LEVEL: SecurityLevel = "standard";

export function isSecurityLevel(s: string): s is SecurityLevel {
  return Object.hasOwn(SECURITY_LEVELS, s);
}

/**
 * The user permission levels of concepts/users.md "User permissions level": {A} permissions need an
 * administrator (3 or more).
 */
export const UserLevel = {
  PHANTOM: 1,
  STANDARD: 2,
  ADMINISTRATOR: 3,
  MAIN_ADMINISTRATOR: 4,
  SYSTEM: 5,
} as const;
