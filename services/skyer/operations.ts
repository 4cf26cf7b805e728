// Skyer's install as every caller runs it — `ncw skyer install` (cli/commands/skyer.ts) and sys::app's
// INSTALL_APP (kernel-compat/server/app-manager.ts) — so the CLI and apps get the same checks, errors and
// events (docs/services.md "sys::app": one truth).

import { NcwError } from "../../ncw/errors.js";
import type { SideloadingMode } from "../registry/keys.js";
import type { PackageInfo, Scope } from "./model.js";
import { loadPackage } from "./package.js";
import type { SkyerSession } from "./session.js";
import type { OperationReport } from "./skyer.js";

/** `--library <aid>`: one library embedded in an application package, to install on its own. */
export function embeddedLibrary(app: PackageInfo, aid: string): PackageInfo {
  const lib = app.embedded?.find((e) => e.aid === aid);
  if (lib === undefined) {
    const has = (app.embedded ?? []).map((e) => e.aid);
    throw new NcwError("not-found", `${app.aid}'s package embeds no library ${aid}`, {
      code: "SKYER_NOT_EMBEDDED",
      hint:
        has.length === 0
          ? "this package embeds no library: install it without --library"
          : `it embeds: ${has.join(", ")}`,
    });
  }
  return lib;
}

/**
 * The package `bytes` (named `name`: its extension tells .nap from .nva) read and checked by the
 * package reader, before any session is opened: a bad package never takes the home lock.
 */
export async function readInstallPackage(
  name: string,
  bytes: Uint8Array,
  library?: string,
): Promise<PackageInfo> {
  const whole = await loadPackage(name, bytes);
  return library === undefined ? whole : embeddedLibrary(whole, library);
}

/** The sideloading mode of an install: the flag's, else the registry's. */
export async function sideloadingMode(
  s: SkyerSession,
  flag: string | undefined,
): Promise<SideloadingMode> {
  if (flag !== undefined) return flag as SideloadingMode;
  return s.registry.get("system.applications.sideloading") as SideloadingMode;
}

/** Install `pkg` in the open writer session `s` (its events run by the session's event runner). */
export async function installIn(
  s: SkyerSession,
  pkg: PackageInfo,
  opts: { scope: Scope; user: string; sideloading?: string; force?: boolean },
): Promise<OperationReport> {
  return s.skyer.install(pkg, {
    scope: opts.scope,
    sideloading: await sideloadingMode(s, opts.sideloading),
    force: opts.force === true,
    user: opts.user,
  });
}
