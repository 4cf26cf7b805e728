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

/**
 * The application's folders once its embedded libraries' folders leave: a parent of an embedded
 * folder (`libs` of `libs/str`) stays only if something of the application's own is under it.
 */
function appDirs(
  dirs: readonly string[],
  embeddedFolders: readonly string[],
  own: (p: string) => boolean,
  kept: readonly string[],
): string[] {
  const mine = dirs.filter(own);
  const onlyParent = (d: string) => embeddedFolders.some((f) => f.startsWith(`${d}/`));
  const plain = mine.filter((d) => !onlyParent(d));
  return mine.filter(
    (d) => !onlyParent(d) || [...kept, ...plain].some((p) => p.startsWith(`${d}/`)),
  );
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
  const folders = pkg.embedded.map((e) => `${e.folder}/`);
  const own = (p: string) => !folders.some((f) => p.startsWith(f) || `${p}/` === f);
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
        dirs: appDirs(pkg.dirs, folders, own, [
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
