// The bridge from the package reader (ncw/package, ncw/manifest) to Skyer's PackageInfo.

import { MANIFEST_FILE, parseManifestBytes } from "../../ncw/manifest/manifest.js";
import type { Manifest } from "../../ncw/manifest/types.js";
import { encodeHashFile, HASH_FILE } from "../../ncw/package/hashfile.js";
import { readPackageBytes } from "../../ncw/package/package.js";
import type { EventFlags, PackageInfo } from "./model.js";
import { pkgFileName } from "./skyer.js";

/** What Skyer needs of a read package (the shape of ncw/package's AppPackage). */
export interface ReadPackage {
  kind: "nap" | "nva";
  manifest: Manifest;
  files: Map<string, Uint8Array>;
  dirs: string[];
  symlinks: Map<string, string>;
}

export function eventFlags(m: Manifest): EventFlags {
  const ev = m.type === "application" ? (m.events ?? {}) : {};
  return {
    postinstall: ev.postinstall === true,
    preupdate: ev.preupdate === true,
    postupdate: ev.postupdate === true,
    preuninstall: ev.preuninstall === true,
  };
}

export function manifestInfo(
  m: Manifest,
): Pick<
  PackageInfo,
  "aid" | "did" | "slug" | "name" | "version" | "libraries" | "events" | "isLibrary" | "precomp"
> {
  const precomp = m.content.program.precomp;
  return {
    aid: `${m.infos.did}::${m.infos.slug}`,
    did: m.infos.did,
    slug: m.infos.slug,
    name: m.infos.name,
    version: m.infos.version,
    libraries: { ...m.dependencies.libraries },
    events: eventFlags(m),
    isLibrary: m.type === "library",
    ...(precomp === undefined ? {} : { precomp }),
  };
}

export function packageInfo(pkg: ReadPackage, bytes: Uint8Array): PackageInfo {
  return {
    kind: pkg.kind,
    ...manifestInfo(pkg.manifest),
    files: pkg.files,
    dirs: pkg.dirs,
    symlinks: pkg.symlinks,
    bytes,
  };
}

/** Skyer's ManifestReader: the real parser and validator (ncw/manifest). */
export function readInstalledManifest(bytes: Uint8Array) {
  return manifestInfo(parseManifestBytes(bytes, "content/manifest.toml"));
}

/** A content/ file set: the files plus manifest.toml and a hash.md5 over them (self-verifying). */
function withManifestAndHash(
  files: ReadonlyMap<string, Uint8Array>,
  rawManifest: string,
): Map<string, Uint8Array> {
  const out = new Map(files);
  out.set(MANIFEST_FILE, new TextEncoder().encode(rawManifest));
  out.set(HASH_FILE, new TextEncoder().encode(encodeHashFile(out)));
  return out;
}

/** Add every ancestor folder of `p` to `set`, stopping at one already there (its own are too). */
function addAncestors(set: Set<string>, p: string): void {
  for (let i = p.lastIndexOf("/"); i > 0; i = p.lastIndexOf("/", i - 1)) {
    const d = p.slice(0, i);
    if (set.has(d)) return;
    set.add(d);
  }
}

/**
 * The application's folders once its embedded libraries' folders leave: a parent of an embedded
 * folder (`libs` of `libs/str`) stays only if something of the application's own is under it.
 * Sets of ancestors, so the cost is linear in the paths, not folders times entries.
 */
function appDirs(
  dirs: readonly string[],
  embeddedFolders: readonly string[],
  own: (p: string) => boolean,
  kept: readonly string[],
): string[] {
  const mine = dirs.filter(own);
  const parentsOfEmbedded = new Set<string>();
  for (const f of embeddedFolders) addAncestors(parentsOfEmbedded, `${f}/`);
  const onlyParent = (d: string) => parentsOfEmbedded.has(d);
  const holdsOwn = new Set<string>();
  for (const p of [...kept, ...mine.filter((d) => !onlyParent(d))]) addAncestors(holdsOwn, p);
  return mine.filter((d) => !onlyParent(d) || holdsOwn.has(d));
}

/**
 * Read a package with the package reader (every malformed case is its error) and add back the
 * manifest.toml and hash.md5 files the reader keeps apart, so content/ is self-verifying. The
 * libraries an application embeds become their own PackageInfo (their folders leave the
 * application's content/), kept in packages/ under the application package's name.
 */
export async function loadPackage(name: string, bytes: Uint8Array): Promise<PackageInfo> {
  const pkg = await readPackageBytes(bytes, { name });
  const app = manifestInfo(pkg.manifest);
  // Everything at or below an embedded library's folder is the library's, not the application's
  // (the reader has shared the package's paths out between those folders already).
  const embeddedFolders = pkg.embedded.map((e) => e.folder);
  const theirs = new Set<string>(embeddedFolders);
  for (const e of pkg.embedded) {
    for (const rel of [
      MANIFEST_FILE,
      HASH_FILE,
      ...e.files.keys(),
      ...e.symlinks.keys(),
      ...e.dirs,
    ])
      theirs.add(`${e.folder}/${rel}`);
  }
  const own = (p: string) => !theirs.has(p);
  const keep = <T>(m: ReadonlyMap<string, T>) => new Map([...m].filter(([p]) => own(p)));
  const embedded = pkg.embedded.map((e) => ({
    ...packageInfo(
      {
        kind: "nap" as const,
        manifest: e.manifest,
        files: withManifestAndHash(e.files, e.rawManifest),
        dirs: e.dirs,
        symlinks: e.symlinks,
      },
      bytes,
    ),
    packageName: pkgFileName(app.aid, app.version),
  }));
  return {
    ...packageInfo(
      {
        ...pkg,
        files: withManifestAndHash(keep(pkg.files), pkg.rawManifest),
        dirs: appDirs(pkg.dirs, embeddedFolders, own, [
          ...keep(pkg.files).keys(),
          ...keep(pkg.symlinks).keys(),
        ]),
        symlinks: keep(pkg.symlinks),
      },
      bytes,
    ),
    ...(embedded.length === 0 ? {} : { embedded }),
  };
}
