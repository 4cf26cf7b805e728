// Where Skyer puts things in the NightOS tree (specs/filesystem.md "Structure"): /apps/<app>,
// /home/<user>/apps/<app>, /home/<user>/appdata/<app>, and its own state under /etc/sys/skyer.

import { NcwError } from "../../ncw/errors.js";
import { aidFolderName } from "../../ncw/manifest/rules.js";
import type { Scope } from "./model.js";

/** Folders every installed application (or library version) has. */
export const APP_SUBDIRS = ["content", "data", "packages", "crashsaves", "sandboxes"] as const;
/** Folders of a user's data for a global application (specs/filesystem.md "Notes"). */
export const APPDATA_SUBDIRS = ["data", "crashsaves", "sandboxes"] as const;

export const SKYER_DIR = "/etc/sys/skyer";
export const DB_PATH = `${SKYER_DIR}/installed.json`;
export const JOURNAL_PATH = `${SKYER_DIR}/journal.json`;
export const STAGING_DIR = `${SKYER_DIR}/staging`;

/** NCW decision (docs/skyer.md): the default NightOS user of a home. */
export const DEFAULT_USER = "user";

const USER_RE = /^[a-z_][a-z0-9_-]{0,31}$/;

export function checkUserName(user: string): string {
  if (!USER_RE.test(user)) {
    throw new NcwError(
      "usage",
      `invalid NightOS user name ${JSON.stringify(user)}: use 1-32 lowercase letters, digits, "_" or "-", not starting with a digit or "-"`,
      { code: "SKYER_BAD_USER" },
    );
  }
  return user;
}

/** The folder name of an application in /apps: "<did>.<slug>" (ncw/manifest/rules.ts aidFolderName). */
export function appDirName(aid: string): string {
  const m = /^([a-z_][a-z0-9_]*)::([a-z_][a-z0-9_]*)$/.exec(aid);
  if (!m) {
    throw new NcwError("usage", `invalid AID ${JSON.stringify(aid)}: expected <did>::<slug>`, {
      code: "SKYER_BAD_AID",
      hint: "AIDs look like `superdev::utils`; see `ncw skyer list`",
    });
  }
  return aidFolderName(m[1]!, m[2]!);
}

/** The folder that holds a scope's applications. */
export function appsRoot(scope: Scope): string {
  return scope.kind === "global" ? "/apps" : `/home/${scope.user}/apps`;
}

/** An application's folder, or a library's folder holding one sub-folder per version. */
export function itemDir(scope: Scope, aid: string): string {
  return `${appsRoot(scope)}/${appDirName(aid)}`;
}

export function versionDir(
  scope: Scope,
  aid: string,
  kind: "app" | "lib",
  version: string,
): string {
  return kind === "lib" ? `${itemDir(scope, aid)}/${version}` : itemDir(scope, aid);
}

export function appDataDir(user: string, aid: string): string {
  return `/home/${user}/appdata/${appDirName(aid)}`;
}

export function scopeLabel(scope: Scope): string {
  return scope.kind === "global" ? "global" : `user ${scope.user}`;
}
