// Skyer's model of packages and installed items (applications/Skyer.md, specs/applications.md,
// specs/libraries.md). A package is reduced to what Skyer needs by services/skyer/package.ts.

/** The events of specs/applications.md "Application manifest", in the order they can happen. */
export const EVENT_NAMES = ["postinstall", "preupdate", "postupdate", "preuninstall"] as const;
export type EventName = (typeof EVENT_NAMES)[number];

/** Startup reasons (bits 0-3) of specs/applications.md "Startup Reason". */
export const STARTUP_REASON: Record<EventName, number> = {
  postinstall: 0x1,
  preupdate: 0x2,
  postupdate: 0x3,
  preuninstall: 0x4,
};

export type EventFlags = Record<EventName, boolean>;

/** A package as Skyer sees it, whatever reader produced it. */
export interface PackageInfo {
  kind: "nap" | "nva";
  isLibrary: boolean;
  did: string;
  slug: string;
  aid: string;
  name: string;
  version: string;
  /** dependencies.libraries: AID -> semver range. */
  libraries: Record<string, string>;
  events: EventFlags;
  /** content.program.precomp: the pre-compiled program Skyer AOT-compiles at install. */
  precomp?: string;
  /** Every file of the archive (manifest.toml and hash.md5 included), by relative path. */
  files: Map<string, Uint8Array>;
  dirs: string[];
  symlinks: Map<string, string>;
  /** The package file's bytes, kept in packages/. */
  bytes: Uint8Array;
  /** The name they are kept under (default `<did>.<slug>-<version>.nap`). */
  packageName?: string;
  /** Libraries embedded in this application package, installed with it. */
  embedded?: PackageInfo[];
}

export type Scope = { kind: "global" } | { kind: "user"; user: string };

export interface InstalledVersion {
  version: string;
  /** NightOS path of the folder holding content/, data/, packages/, crashsaves/, sandboxes/. */
  dir: string;
  installedAt: string;
  updatedAt: string;
  /** File names in packages/ (original package, then update packages). */
  packages: string[];
  /** Declared library dependencies (AID -> range) and what they resolved to (AID -> version). */
  requires: Record<string, string>;
  resolved: Record<string, string>;
  events: EventFlags;
}

export interface InstalledItem {
  aid: string;
  anid: number;
  kind: "app" | "lib";
  name: string;
  scope: "global" | "user";
  /** The owning user for scope "user", else null. */
  user: string | null;
  /** Applications have one version; libraries one entry per version installed side by side. */
  versions: InstalledVersion[];
}
