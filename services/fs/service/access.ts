// Who may reach which item through sys::fs (docs/sysfs.md "Permissions"): the default rules of
// specs/storage-permissions.md "How permissions work", and the fs.* permissions of specs/permissions.md,
// which are scoped by path. Until sys::perm exists, the scoped permissions an app holds are NCW's
// interim policy below; a checker (sys::perm's answer, later) can grant more.

import type { FsPermission } from "../../../commonassembly/abi/permissions.js";

/** A caller as sys::fs sees it: its NightOS user, its application, whether it is a system process. */
export interface FsIdentity {
  /** The NightOS user the process runs for (its /home/<user> and /tmp/<user>). */
  readonly user: string;
  /** The application's folder name (/apps/<app>, /home/<user>/appdata/<app>); none for a loose program. */
  readonly app?: string;
  /** A system process (the system user of storage-permissions.md): every item, every permission. */
  readonly system?: boolean;
  /**
   * A sandboxed process: the tree path of its sandbox's snapshot of "/" (KProcess.sandbox), which
   * sys::fs shows it in place of the covered paths (services/fs/sandbox.ts SandboxView).
   */
  readonly sandbox?: string;
}

/** A host mount's options as the storage rules read them (docs/sysfs.md "Host mounts"). */
export interface MountOptions {
  readonly readOnly: boolean;
}

/**
 * The default rules (storage-permissions.md): /dev, /etc and /sys closed; /apps/<x> only for app x;
 * /home/<u> only for user u; /mnt/<x> by its mount's options (`mountAt(x)`: a host mount is open to
 * every user, a read-only one for the reading permissions only; /mnt/<x> that is no mount: closed);
 * the system user everywhere (but a read-only mount is read-only for it too). NCW's decisions (docs/sysfs.md): /etc/public is open to all (filesystem.md: "readable and
 * writable by everyone"); /tmp/<u> is user u's, as /home/<u>; a user's /home/<u>/apps/<x> is app x's.
 * `parts` is a resolved path (no symlink in it), so a link cannot lead around a rule.
 */
export function storageAllows(
  who: FsIdentity,
  parts: readonly string[],
  permission?: FsPermission,
  mountAt: (name: string) => MountOptions | undefined = () => undefined,
): boolean {
  const [top, second, third, fourth] = parts;
  if (top === "mnt" && second !== undefined) {
    const m = mountAt(second);
    if (m !== undefined)
      return !m.readOnly || (permission !== undefined && READING.has(permission));
  }
  if (who.system === true) return true;
  switch (top) {
    case "dev":
    case "sys":
      return false;
    case "etc":
      return second === "public";
    case "apps":
      return second === undefined || second === who.app;
    case "home":
      if (second !== undefined && second !== who.user) return false;
      // A user's own installs are as /apps/<x>: only app x.
      if (third === "apps" && fourth !== undefined) return fourth === who.app;
      return true;
    case "tmp":
      return second === undefined || second === who.user;
    case "mnt":
      return second === undefined;
    default:
      return true;
  }
}

/** Permissions of the items an app reads (its own program's folder). */
const READING: ReadonlySet<FsPermission> = new Set<FsPermission>([
  "fs.items.exists",
  "fs.feid.exists",
  "fs.feid.path",
  "fs.items.metadata",
  "fs.items.read",
  "fs.dir.read",
  "fs.dir.read.hidden",
  "fs.symlinks.read",
]);

/** Every item-level permission (not fs.filesystems.*, not the directory locks). */
const ITEMS: ReadonlySet<FsPermission> = new Set<FsPermission>([
  ...READING,
  "fs.items.create",
  "fs.items.move",
  "fs.items.remove.trash",
  "fs.items.remove",
  "fs.items.write",
  "fs.symlinks.create",
  "fs.symlinks.update",
]);

const within = (parts: readonly string[], area: readonly string[]) =>
  parts.length >= area.length && area.every((p, i) => parts[i] === p);

/** The app's own data area, which sys::fs creates on its first connection (docs/sysfs.md). */
export function appDataArea(who: FsIdentity): string[] | undefined {
  return who.app === undefined ? undefined : ["home", who.user, "appdata", who.app];
}

/**
 * NCW's interim policy, until sys::perm exists (docs/sysfs.md "Permissions"): a system process holds
 * every fs.* permission; an app holds every item permission in its own data area
 * (/home/<user>/appdata/<app>) and in /etc/public, and the reading ones in its program's folder
 * (/apps/<app>, /home/<user>/apps/<app>). Nothing else: no fs.filesystems.* permission, nothing at
 * the root or in the user's documents (those need a prompt, which sys::perm will ask).
 */
export function interimPolicy(
  who: FsIdentity,
  permission: FsPermission,
  parts: readonly string[] | null,
): boolean {
  if (who.system === true) return true;
  if (parts === null) return false;
  const data = appDataArea(who);
  if (ITEMS.has(permission) && data !== undefined && within(parts, data)) return true;
  if (ITEMS.has(permission) && within(parts, ["etc", "public"])) return true;
  if (READING.has(permission) && who.app !== undefined)
    return within(parts, ["apps", who.app]) || within(parts, ["home", who.user, "apps", who.app]);
  return false;
}
