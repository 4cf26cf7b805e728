// Library dependency resolution (specs/libraries.md, concepts/libraries.md): an item's
// dependencies.libraries ranges are resolved by semver against the libraries it can see, picking
// the highest matching version; the built-in system library sys::lib is always there.

import semver from "semver";
import { NcwError } from "../../ncw/errors.js";
import type { InstalledItem, Scope } from "./model.js";

/** NCW decision (docs/skyer.md): the version of the built-in `sys::lib`, i.e. NCW's NightOS ABI. */
export const SYS_LIB_AID = "sys::lib";
export const SYS_LIB_VERSION = "1.0.0";

/** Whether an item installed in `owner` is visible to something installed in `scope`. */
export function visibleFrom(scope: Scope, owner: InstalledItem): boolean {
  return owner.scope === "global" || (scope.kind === "user" && owner.user === scope.user);
}

/** Versions of each library visible from a scope (sys::lib included). */
export function availableLibraries(
  items: readonly InstalledItem[],
  scope: Scope,
): Map<string, string[]> {
  const out = new Map<string, string[]>([[SYS_LIB_AID, [SYS_LIB_VERSION]]]);
  for (const it of items) {
    if (it.kind !== "lib" || !visibleFrom(scope, it)) continue;
    out.set(it.aid, [...(out.get(it.aid) ?? []), ...it.versions.map((v) => v.version)]);
  }
  return out;
}

/**
 * Resolve every range, or fail naming each library that is missing or unsatisfied with the range
 * asked and the versions that are installed.
 */
export function resolveLibraries(
  requires: Record<string, string>,
  available: Map<string, string[]>,
  forWhat: string,
): Record<string, string> {
  const resolved: Record<string, string> = {};
  const problems: string[] = [];
  for (const [aid, range] of Object.entries(requires).sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (semver.validRange(range) === null) {
      problems.push(`${aid}: ${JSON.stringify(range)} is not a valid semver range`);
      continue;
    }
    const versions = available.get(aid) ?? [];
    const best = semver.maxSatisfying(versions, range);
    if (best === null) {
      problems.push(
        versions.length === 0
          ? `${aid} ${range} (not installed)`
          : `${aid} ${range} (installed: ${[...versions].sort(semver.compare).join(", ")})`,
      );
    } else resolved[aid] = best;
  }
  if (problems.length > 0) {
    throw new NcwError(
      "not-found",
      `${forWhat} needs libraries that are not installed:\n  - ${problems.join("\n  - ")}`,
      {
        code: "SKYER_MISSING_LIBRARIES",
        hint: "install a matching version of each library first (`ncw skyer install <lib.nap>`), then retry",
      },
    );
  }
  return resolved;
}
