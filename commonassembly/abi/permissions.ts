// The permissions of specs/permissions.md ("List of permissions"), by name, with their level (1–5).
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
}

export const PERMISSIONS = {
  "devices.enum": { level: 4 },
  "devices.subscribe": { level: 4 },
  "devices.register_driver": { level: 4 },
  "devices.ask_driver": { level: 4 },
  "fs.filesystems.mounted": { level: 2 },
  "fs.filesystems.metadata": { level: 3 },
  "fs.filesystems.list": { level: 3 },
  "fs.filesystems.mount": { level: 3 },
  "fs.filesystems.unmount": { level: 3 },
  "fs.filesystems.watch": { level: 3 },
  "fs.filesystems.format": { level: 3 },
  "fs.feid.path": { level: 3 },
  "fs.feid.exists": { level: 3 },
  "fs.path.canonicalize": { level: 3 },
  "fs.items.exists": { level: 3 },
  "fs.items.metadata": { level: 3 },
  "fs.items.create": { level: 3 },
  "fs.items.move": { level: 3 },
  "fs.items.remove.trash": { level: 3 },
  "fs.items.remove": { level: 3 },
  "fs.items.read": { level: 3 },
  "fs.items.write": { level: 3 },
  "fs.dir.read": { level: 3 },
  "fs.dir.read.hidden": { level: 3 },
  "fs.dir.lock": { level: 3 },
  "fs.dir.lock.full": { level: 3 },
  "fs.symlinks.create": { level: 3 },
  "fs.symlinks.update": { level: 3 },
  "fs.symlinks.read": { level: 3 },
  "flow.list": { level: 3 },
  "flow.metadata": { level: 3 },
  "flow.create": { level: 1 },
  "flow.read": { level: 3 },
  "flow.write": { level: 3 },
  "net.fetch": { level: 3 },
  "net.expose": { level: 3 },
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
} as const satisfies Record<string, PermissionInfo>;

export type Permission = keyof typeof PERMISSIONS;
/** The permissions sys::fs methods may require (permissions.md "Filesystems", "Filesystem elements"). */
export type FsPermission = Extract<Permission, `fs.${string}`>;

export function isPermission(name: string): name is Permission {
  return Object.hasOwn(PERMISSIONS, name);
}
