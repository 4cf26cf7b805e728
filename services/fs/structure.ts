// The NightOS tree's structure (specs/filesystem.md "Structure"): the folders and files every tree
// holds, each user's home and temporary folder, and the users list (/etc/sys/users). Created on a new
// tree and added to an older one in place (only what is missing; nothing existing is touched), by the
// kernel when it takes the tree (kernel-compat/server/tree.ts). Decisions: docs/sysfs.md "The tree".

import { NcwError } from "../../ncw/errors.js";
import type { FsLayer } from "./layer.js";

/** The folders of the system's structure (the page's tree; NCW's readings in docs/sysfs.md). */
export const SYSTEM_FOLDERS = [
  "/apps",
  "/dev",
  ...["cam", "bst", "etc", "mic", "net", "snd", "sst", "wrl"].map((d) => `/dev/${d}`),
  "/etc",
  "/etc/logs",
  "/etc/public",
  "/etc/sys",
  "/fl",
  "/home",
  "/mnt",
  "/sys",
  ...["apps", "langs", "old"].map((d) => `/sys/${d}`),
  "/tmp",
] as const;

/** The files of the structure, created empty when missing (their owners fill them). */
export const SYSTEM_FILES = ["/etc/env", "/etc/hosts", "/etc/logs/upe"] as const;

/** `/mnt/root`: "Soft link to `/`". */
export const ROOT_LINK = "/mnt/root";

/** A user's home folders (the page's /home/<user>). */
export const HOME_FOLDERS = [
  "apps",
  "appdata",
  "desktop",
  "documents",
  "downloads",
  "music",
  "pictures",
  "videos",
  "trash",
] as const;

/** The user profiles (the page's /etc/sys/users, "User profiles and groups"); NCW's JSON form. */
export const USERS_PATH = "/etc/sys/users";
export const USERS_FORMAT = "ncw-users";
export const USERS_FORMAT_VERSION = 1;

/** The system's shutdown indicator (the page's /etc/sys/awake). */
export const AWAKE_PATH = "/etc/sys/awake";

export interface UserProfile {
  name: string;
  /** When the user was added, ms since the epoch. */
  createdAt: number;
}

interface UsersFile {
  format: typeof USERS_FORMAT;
  version: number;
  users: UserProfile[];
  groups: { name: string; members: string[] }[];
}

const USER_RE = /^[a-z_][a-z0-9_-]{0,31}$/;

const exists = async (fs: FsLayer, path: string) => (await fs.stat(path)) !== null;

/** Create what is missing of the system's structure; true when anything was created. */
export async function ensureSystemStructure(fs: FsLayer): Promise<boolean> {
  let changed = false;
  for (const d of SYSTEM_FOLDERS)
    if (!(await exists(fs, d))) {
      await fs.mkdir(d, { recursive: true });
      changed = true;
    }
  for (const f of SYSTEM_FILES)
    if (!(await exists(fs, f))) {
      await fs.writeFile(f, new Uint8Array(0));
      changed = true;
    }
  if (!(await exists(fs, ROOT_LINK))) {
    await fs.symlink("/", ROOT_LINK);
    changed = true;
  }
  return changed;
}

/** Create what is missing of `user`'s home (/home/<user>/…) and temporary folder (/tmp/<user>). */
export async function ensureUserHome(fs: FsLayer, user: string): Promise<boolean> {
  checkUser(user);
  let changed = false;
  for (const d of [...HOME_FOLDERS.map((h) => `/home/${user}/${h}`), `/tmp/${user}`])
    if (!(await exists(fs, d))) {
      await fs.mkdir(d, { recursive: true });
      changed = true;
    }
  return changed;
}

function checkUser(user: string): void {
  if (!USER_RE.test(user))
    throw new NcwError(
      "usage",
      `invalid NightOS user name ${JSON.stringify(user)}: use 1-32 lowercase letters, digits, "_" or "-", not starting with a digit or "-"`,
      { code: "SKYER_BAD_USER" },
    );
}

/** The users of the tree (none when /etc/sys/users is missing). A damaged file is an error, not lost. */
export async function listUsers(fs: FsLayer): Promise<UserProfile[]> {
  return (await readUsers(fs)).users;
}

async function readUsers(fs: FsLayer): Promise<UsersFile> {
  if (!(await exists(fs, USERS_PATH)))
    return { format: USERS_FORMAT, version: USERS_FORMAT_VERSION, users: [], groups: [] };
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder().decode(await fs.readFile(USERS_PATH)));
  } catch {
    parsed = undefined;
  }
  const f = parsed as Partial<UsersFile> | undefined;
  if (
    f?.format !== USERS_FORMAT ||
    f.version !== USERS_FORMAT_VERSION ||
    !Array.isArray(f.users) ||
    !f.users.every((u) => typeof u?.name === "string" && typeof u.createdAt === "number")
  )
    throw new NcwError("failure", `${USERS_PATH} is not an NCW users file (version 1)`, {
      code: "FS_BAD_USERS",
      hint: "it was changed outside NCW; fix or remove it (removing it forgets the users, not their homes)",
    });
  return { ...(f as UsersFile), groups: Array.isArray(f.groups) ? f.groups : [] };
}

/**
 * Add `user` to /etc/sys/users (written whole, then renamed over the old file) and create its home.
 * False when the user was already there (its home is still completed).
 */
export async function addUser(fs: FsLayer, user: string, now = Date.now()): Promise<boolean> {
  checkUser(user);
  const file = await readUsers(fs);
  const known = file.users.some((u) => u.name === user);
  if (!known) {
    file.users.push({ name: user, createdAt: now });
    file.users.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const tmp = `${USERS_PATH}.tmp`;
    await fs.mkdir("/etc/sys", { recursive: true });
    await fs.writeFile(tmp, new TextEncoder().encode(`${JSON.stringify(file, null, 2)}\n`));
    await fs.rename(tmp, USERS_PATH, { replace: true });
  }
  await ensureUserHome(fs, user);
  return !known;
}

/**
 * The tree as the spec lays it out, for the kernel that takes it: the system's structure, the users
 * list with `defaultUser` in it, every listed user's home, each user's /tmp/<user> emptied ("cleaned
 * during shutdown": NCW cleans it when the system starts, which no app can tell apart), and the awake
 * indicator created, empty (crash-saves.md "Invalid shutdown indicator"; markAsleep removes it).
 * `wasAwake`: it was already there, so the last run did not stop cleanly. The caller commits.
 */
export async function prepareTree(
  fs: FsLayer,
  defaultUser: string,
): Promise<{ wasAwake: boolean }> {
  await ensureSystemStructure(fs);
  await addUser(fs, defaultUser);
  for (const u of await listUsers(fs)) {
    await ensureUserHome(fs, u.name);
    for (const e of await fs.readdir(`/tmp/${u.name}`))
      await fs.rm(`/tmp/${u.name}/${e.name}`, { recursive: true, force: true });
  }
  // An older NCW left "0" there after a clean stop (docs/sysfs.md): that is not a crash.
  const left = (await exists(fs, AWAKE_PATH))
    ? new TextDecoder().decode(await fs.readFile(AWAKE_PATH))
    : undefined;
  await fs.writeFile(AWAKE_PATH, new Uint8Array(0));
  return { wasAwake: left !== undefined && left !== "0" };
}

/** The system stops cleanly: its awake indicator goes (the next start does not find it). */
export async function markAsleep(fs: FsLayer): Promise<void> {
  await fs.rm(AWAKE_PATH, { force: true });
}
