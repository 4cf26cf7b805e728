// Skyer's query API (docs/skyer.md, "Queries"): what others may ask Skyer about installed
// applications — one by AID for a NightOS user, its manifest, its pre-compiled program — without
// knowing where or how Skyer keeps them. Read only: it never writes, creates or locks the tree.

import type { HomeLayout } from "../../ncw/home.js";
import { parseManifestBytes } from "../../ncw/manifest/index.js";
import type { CommandSpec, Services } from "../../ncw/manifest/types.js";
import type { FsLayer } from "../fs/layer.js";
import { openTree } from "../fs/open.js";
import { readDb } from "./db.js";
import { checkUserName } from "./layout.js";
import { readInstalledManifest } from "./package.js";

/** An installed application, as the query API shows it. */
export interface InstalledApp {
  aid: string;
  anid: number;
  /** "user": installed for `user` only; "global": for everyone. */
  scope: "global" | "user";
  user: string | null;
  version: string;
  /** Its version folder (opaque to callers: pass the InstalledApp back to the query). */
  dir: string;
}

export type AppLookup =
  | { ok: true; app: InstalledApp }
  /** "library": the AID is installed, as a library (it cannot be run). */
  | { ok: false; why: "not-installed" | "library" };

export type InstalledManifest = ReturnType<typeof readInstalledManifest>;

export type ProgramLookup =
  | { ok: true; bytes: Uint8Array; file: string }
  /** "no-precomp": the manifest names no content.program.precomp; "missing": its file is not there. */
  | { ok: false; why: "no-precomp" }
  | { ok: false; why: "missing"; file: string };

export class SkyerQuery {
  constructor(private readonly fs: FsLayer) {}

  /**
   * The application `aid` as `user` sees it: their own install before the global one (the user's
   * name is checked: it names a folder).
   */
  async installedApp(aid: string, user: string): Promise<AppLookup> {
    checkUserName(user);
    return lookup(await readDb(this.fs), (i) => i.aid === aid, aid, user);
  }

  /**
   * The application whose installation has ANID `anid`, as `user` sees it (their own install or the
   * global one): what CONNECT_SERVICE and HAS_SCOPED_SERVICE name (docs/services.md).
   */
  async appByAnid(anid: number, user: string): Promise<InstalledApp | undefined> {
    checkUserName(user);
    const db = await readDb(this.fs);
    const item = db.items.find((i) => i.anid === anid && i.kind === "app");
    if (item === undefined) return undefined;
    const found = lookup(db, (i) => i.anid === anid, item.aid, user);
    return found.ok ? found.app : undefined;
  }

  /** Every application `user` sees (their own install of an AID before the global one), by AID. */
  async installedApps(user: string): Promise<InstalledApp[]> {
    checkUserName(user);
    const db = await readDb(this.fs);
    const aids = [...new Set(db.items.filter((i) => i.kind === "app").map((i) => i.aid))].sort();
    return aids.flatMap((aid) => {
      const r = lookup(db, (i) => i.aid === aid, aid, user);
      return r.ok ? [r.app] : [];
    });
  }

  /** The services the installed application's manifest exposes (undefined: no `services` table). */
  async services(app: InstalledApp): Promise<Services | undefined> {
    return (await this.appManifest(app))?.services;
  }

  /** Whether the installed application's manifest declares crash-save support (sysfeatures). */
  async crashSavesSupported(app: InstalledApp): Promise<boolean> {
    return (await this.appManifest(app))?.sysfeatures.crash_saves_support === true;
  }

  /** The commands the installed application's manifest exposes (specs/applications.md "Commands"). */
  async commands(app: InstalledApp): Promise<Record<string, CommandSpec>> {
    return (await this.appManifest(app))?.commands ?? {};
  }

  private async appManifest(app: InstalledApp) {
    const bytes = await this.fs.readFile(`${app.dir}/content/manifest.toml`);
    const m = parseManifestBytes(bytes, "content/manifest.toml");
    return m.type === "application" ? m : undefined;
  }

  /** The installed application's manifest (as validated at install time; throws when unreadable). */
  async manifest(app: InstalledApp): Promise<InstalledManifest> {
    return readInstalledManifest(await this.fs.readFile(`${app.dir}/content/manifest.toml`));
  }

  /** The application's pre-compiled program (content.program.precomp), as installed. */
  async program(app: InstalledApp): Promise<ProgramLookup> {
    const { precomp } = await this.manifest(app);
    if (precomp === undefined) return { ok: false, why: "no-precomp" };
    const file = `${app.dir}/content/${precomp}`;
    try {
      return { ok: true, bytes: await this.fs.readFile(file), file };
    } catch {
      return { ok: false, why: "missing", file };
    }
  }
}

/** Open the home's NightOS tree read-only, answer `f`'s queries, close the tree. */
export async function withSkyerQuery<T>(
  home: HomeLayout,
  f: (q: SkyerQuery) => Promise<T>,
): Promise<T> {
  const fs = await openTree(home, { access: "read" });
  try {
    return await f(new SkyerQuery(fs));
  } finally {
    await fs.close();
  }
}

/** The application `match` picks (named `aid`) as `user` sees it in the database `db`. */
function lookup(
  db: Awaited<ReturnType<typeof readDb>>,
  match: (i: { aid: string; anid: number }) => boolean,
  aid: string,
  user: string,
): AppLookup {
  const mine = db.items.filter(
    (i) => match(i) && i.kind === "app" && (i.scope === "global" || i.user === user),
  );
  const item = mine.find((i) => i.scope === "user") ?? mine[0];
  const version = item?.versions[0];
  if (item === undefined || version === undefined) {
    const lib = db.items.some((i) => i.aid === aid && i.kind === "lib");
    return { ok: false, why: lib ? "library" : "not-installed" };
  }
  return {
    ok: true,
    app: {
      aid,
      anid: item.anid,
      scope: item.scope,
      user: item.user,
      version: version.version,
      dir: version.dir,
    },
  };
}
