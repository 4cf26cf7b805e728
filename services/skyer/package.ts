// The bridge from the package reader (ncw/package, ncw/manifest) to Skyer's PackageInfo.

import { MANIFEST_FILE, parseManifestBytes } from "../../ncw/manifest/manifest.js";
import type { Manifest } from "../../ncw/manifest/types.js";
import { encodeHashFile, HASH_FILE } from "../../ncw/package/hashfile.js";
import { readPackageBytes } from "../../ncw/package/package.js";
import type { EventFlags, PackageInfo } from "./model.js";

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

/**
 * Read a package with the package reader (every malformed case is its error) and add back the
 * manifest.toml and hash.md5 files the reader keeps apart, so content/ is self-verifying.
 */
export async function loadPackage(name: string, bytes: Uint8Array): Promise<PackageInfo> {
  const pkg = await readPackageBytes(bytes, { name });
  const files = new Map(pkg.files);
  files.set(MANIFEST_FILE, new TextEncoder().encode(pkg.rawManifest));
  files.set(HASH_FILE, new TextEncoder().encode(encodeHashFile(files)));
  return packageInfo({ ...pkg, files }, bytes);
}
