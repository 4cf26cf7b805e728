// The names a package may hold, and the names installing it creates, checked where a package is
// read so `ncw inspect`, `ncw pack` and Skyer refuse the same packages with the same error.
// Limits: the NightOS tree's Btrfs filesystem (specs/filesystem.md; docs/packages.md "Names and paths").

import { NcwError } from "../errors.js";
import { aidFolderName, packageFileName } from "../manifest/rules.js";
import type { Manifest } from "../manifest/types.js";

/** Longest file or folder name, in bytes (Btrfs' BTRFS_NAME_LEN, which the NightOS tree uses). */
export const NAME_MAX_BYTES = 255;
/** Longest symlink target, in bytes (NCW's Btrfs stores targets inline: MAX_INLINE). */
export const LINK_TARGET_MAX_BYTES = 2048;
/**
 * Longest entry path, in bytes (NCW decision, docs/packages.md "Names and paths"): far below the
 * spec's 65,534 characters, so a package installs under any home on a host-folder tree too (Linux
 * PATH_MAX is 4,096), and at most 1,024 folders deep.
 */
export const PATH_MAX_BYTES = 2048;

const utf8 = new TextEncoder();
const bytes = (s: string): number => utf8.encode(s).length;
/** Whether `s` is over `max` bytes in UTF-8 (encoded only when it could be: ≤ 3 bytes per unit). */
const over = (s: string, max: number): boolean => s.length * 3 > max && bytes(s) > max;

/** A path or name for a message: quoted, shortened in the middle when long. */
export function quotePath(p: string): string {
  return JSON.stringify(p.length <= 120 ? p : `${p.slice(0, 60)}…${p.slice(-40)}`);
}

function tooLong(code: string, message: string, hint: string): NcwError {
  return new NcwError("data", message, { code, hint });
}

/**
 * Check a normalised entry path (`label` names the entry in the message): every name at most
 * NAME_MAX_BYTES, the whole path at most `maxPathBytes`.
 */
export function checkEntryPath(path: string, label: string, maxPathBytes = PATH_MAX_BYTES): void {
  for (const name of path.split("/")) {
    if (over(name, NAME_MAX_BYTES)) {
      const n = bytes(name);
      throw tooLong(
        "PKG_NAME_TOO_LONG",
        `${label}: the name ${quotePath(name)} is ${n} bytes; file and folder names are at most ${NAME_MAX_BYTES} bytes`,
        "Shorten the name: the NightOS tree (Btrfs) cannot hold it.",
      );
    }
  }
  if (over(path, maxPathBytes)) {
    const n = bytes(path);
    throw tooLong(
      "PKG_PATH_TOO_LONG",
      `${label}: the path is ${n} bytes; package paths are at most ${maxPathBytes} bytes`,
      "Flatten the folder structure or shorten the names.",
    );
  }
}

/** Check a symlink's target (as stored) is at most LINK_TARGET_MAX_BYTES. */
export function checkLinkTarget(target: string, label: string): void {
  if (over(target, LINK_TARGET_MAX_BYTES)) {
    const n = bytes(target);
    throw tooLong(
      "PKG_LINK_TOO_LONG",
      `${label}: the symlink target ${quotePath(target)} is ${n} bytes; symlink targets are at most ${LINK_TARGET_MAX_BYTES} bytes`,
      "Shorten the link's target (a relative target without ./ segments is shortest).",
    );
  }
}

/**
 * Check the names Skyer creates for a manifest fit the tree (docs/skyer.md "Tree layout"): the item's
 * folder `<did>.<slug>` (in /apps, a user's apps/ and appdata/) and the package file
 * `<did>.<slug>-<version>.nap` in packages/ (for a library, the version is also a folder name,
 * which the package file name's limit covers). `where` names the manifest in the message.
 */
export function checkInstallNames(m: Manifest, where = "manifest.toml"): void {
  const folder = aidFolderName(m.infos.did, m.infos.slug);
  const file = packageFileName(folder, m.infos.version);
  const hint = "Shorten infos.did, infos.slug or infos.version.";
  for (const [what, name] of [
    ["folder", folder],
    ["package file", file],
  ] as const) {
    const n = bytes(name);
    if (n > NAME_MAX_BYTES) {
      throw tooLong(
        "PKG_NAME_TOO_LONG",
        `${where}: installing ${m.infos.did}::${m.infos.slug} ${m.infos.version} creates the ${what} ${quotePath(name)}, ${n} bytes; file and folder names are at most ${NAME_MAX_BYTES} bytes`,
        hint,
      );
    }
  }
}
