// Host mounts (issue #13; docs/sysfs.md "Host mounts"): the home's table of host folders shown to apps
// under /mnt/<name>. `ncw mount` / `ncw umount` change it; the kernel reads it when it starts (and
// again when they tell it) and sys::fs shows each mount through a MountView (mount-view.ts). The
// table is a host file of the home (`<home>/mounts.json`), not an item of the NightOS tree: it holds
// host paths, which no app may see.

import { randomBytes } from "node:crypto";
import { readFileSync, realpathSync, renameSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { isHostError } from "../../native/errors.js";
import { NcwError } from "../../ncw/errors.js";
import { fileNameProblem } from "./names.js";

/** One host mount. */
export interface HostMount {
  /** Its name: the app sees it at /mnt/<name>. */
  readonly name: string;
  /** The host folder, absolute and with its symlinks resolved when it was mounted. */
  readonly host: string;
  readonly readOnly: boolean;
  /** Its FSID (16 hex digits): random when mounted, so stable across restarts, different per computer. */
  readonly fsid: string;
  /** When it was mounted (ISO 8601). */
  readonly mountedAt: string;
}

interface MountFile {
  format: "ncw-mounts";
  version: 1;
  mounts: HostMount[];
}

/** The names /mnt already holds in every tree (docs/sysfs.md "The tree": the /mnt/root symlink). */
const RESERVED = new Set(["root"]);

/** Where a home keeps its mount table. */
export function mountTablePath(homeRoot: string): string {
  return path.join(homeRoot, "mounts.json");
}

/** Why `name` cannot name a mount, or undefined: a NightOS filename (names.ts), no "\", not reserved. */
export function mountNameProblem(name: string): string | undefined {
  const problem = fileNameProblem(name);
  if (problem !== undefined) return problem;
  if (name.includes("\\")) return "it contains '\\'";
  if (RESERVED.has(name)) return `/mnt/${name} is part of every NightOS tree`;
  return undefined;
}

const badTable = (file: string, why: string) =>
  new NcwError("data", `the mount table ${file} is not readable: ${why}`, {
    code: "MOUNT_BAD_TABLE",
    hint: "fix or remove the file (it lists the host folders shown under /mnt)",
  });

/** The home's mounts (none when it has no table). A table that does not parse is an error. */
export function readMounts(file: string): HostMount[] {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    if (isHostError(e, "not-found")) return [];
    throw e;
  }
  let parsed: Partial<MountFile>;
  try {
    parsed = JSON.parse(text) as Partial<MountFile>;
  } catch (e) {
    throw badTable(file, (e as Error).message);
  }
  if (parsed.format !== "ncw-mounts" || parsed.version !== 1 || !Array.isArray(parsed.mounts))
    throw badTable(file, 'not {"format": "ncw-mounts", "version": 1, "mounts": [...]}');
  for (const m of parsed.mounts) {
    if (
      typeof m?.name !== "string" ||
      mountNameProblem(m.name) !== undefined ||
      typeof m.host !== "string" ||
      !path.isAbsolute(m.host) ||
      typeof m.readOnly !== "boolean" ||
      typeof m.fsid !== "string" ||
      !/^[0-9a-f]{16}$/.test(m.fsid)
    )
      throw badTable(file, `bad entry ${JSON.stringify(m)}`);
  }
  return parsed.mounts;
}

function writeMounts(file: string, mounts: readonly HostMount[]): void {
  const body: MountFile = { format: "ncw-mounts", version: 1, mounts: [...mounts] };
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(body, null, 2)}\n`);
  renameSync(tmp, file);
}

const within = (p: string, dir: string) => p === dir || p.startsWith(`${dir}${path.sep}`);

/**
 * Add a mount of host folder `hostDir` as /mnt/<name>. Refused: a bad name, a name taken, a host
 * folder missing or not a folder, a folder already mounted, the NCW home or a folder around it.
 */
export function addMount(
  homeRoot: string,
  hostDir: string,
  name: string,
  opts: { readOnly?: boolean; now?: Date } = {},
): HostMount {
  const file = mountTablePath(homeRoot);
  const problem = mountNameProblem(name);
  if (problem !== undefined)
    throw new NcwError("usage", `${JSON.stringify(name)} cannot name a mount: ${problem}`, {
      code: "MOUNT_BAD_NAME",
      hint: 'a mount name is a NightOS filename: not empty, no "/", "\\" or NUL, not "." or ".."',
    });
  let host: string;
  try {
    host = realpathSync(path.resolve(hostDir));
    if (!statSync(host).isDirectory())
      throw new NcwError("usage", `${hostDir} is not a folder`, {
        code: "MOUNT_NOT_A_FOLDER",
        hint: "mount a host folder (a file cannot be mounted)",
      });
  } catch (e) {
    if (isHostError(e, "not-found"))
      throw new NcwError("not-found", `no host folder ${hostDir}`, { code: "MOUNT_NO_HOST_DIR" });
    throw e;
  }
  const home = realpathSync(homeRoot);
  if (within(home, host) || within(host, home))
    throw new NcwError("usage", `${host} holds or is inside the NCW home ${home}`, {
      code: "MOUNT_HOME",
      hint: "apps would reach the home's image and sockets: mount another folder",
    });
  const mounts = readMounts(file);
  const taken = mounts.find((m) => m.name === name);
  if (taken !== undefined)
    throw new NcwError("conflict", `/mnt/${name} is already a mount (of ${taken.host})`, {
      code: "MOUNT_NAME_TAKEN",
      hint: `\`ncw umount ${name}\` first, or choose another name`,
    });
  const twice = mounts.find((m) => m.host === host);
  if (twice !== undefined)
    throw new NcwError("conflict", `${host} is already mounted as /mnt/${twice.name}`, {
      code: "MOUNT_ALREADY_MOUNTED",
    });
  const m: HostMount = {
    name,
    host,
    readOnly: opts.readOnly === true,
    fsid: randomBytes(8).toString("hex"),
    mountedAt: (opts.now ?? new Date()).toISOString(),
  };
  writeMounts(file, [...mounts, m]);
  return m;
}

/** Remove the mount called `name`; the one removed. */
export function removeMount(homeRoot: string, name: string): HostMount {
  const file = mountTablePath(homeRoot);
  const mounts = readMounts(file);
  const m = mounts.find((x) => x.name === name);
  if (m === undefined)
    throw new NcwError("not-found", `no mount called ${JSON.stringify(name)}`, {
      code: "MOUNT_UNKNOWN",
      hint: "`ncw mount --list` lists the mounts",
    });
  writeMounts(
    file,
    mounts.filter((x) => x !== m),
  );
  return m;
}

/** A mount's FSID as sys::fs answers it (the table's 16 hex digits, read as a big-endian u64). */
export function fsidOfMount(m: HostMount): bigint {
  return BigInt(`0x${m.fsid}`);
}
