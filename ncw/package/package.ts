// NightOS application/library packages (.nap, .nva): read (bounded, verified) and pack (deterministic).
// Spec: specs/applications.md "Application package"; DIRECTION §4; format and decisions: docs/packages.md.

import { randomBytes } from "node:crypto";
import { promises as fsp } from "node:fs";
import path from "node:path";
import ignore, { type Ignore } from "ignore";
import { NcwError } from "../errors.js";
import { MANIFEST_FILE, parseManifestBytes } from "../manifest/manifest.js";
import type { LibraryManifest, Manifest } from "../manifest/types.js";
import { ICON_PLACEHOLDER, ICON_SIZES } from "../manifest/validate.js";
import { encodeHashFile, HASH_FILE, isListablePath, verifyHashFile } from "./hashfile.js";
import { type PackageLimits, resolveLimits } from "./limits.js";
import { checkInstallNames } from "./names.js";
import {
  readTar,
  resolveSymlinkTarget,
  type TarEntry,
  type TarWriteEntry,
  writeTar,
} from "./tar.js";
import { compressPackage, decompressBounded } from "./zstd.js";

export { DEFAULT_LIMITS, type PackageLimits, resolveLimits } from "./limits.js";
export {
  normalizeEntryPath,
  readTar,
  type TarEntry,
  type TarEntryType,
  type TarReadLimits,
  type TarWriteEntry,
  type TarWriteOptions,
  writeTar,
} from "./tar.js";

import { hostErrorKind, isHostError } from "../../native/errors.js";

export type PackageKind = "nap" | "nva";

export interface AppPackage {
  kind: PackageKind;
  manifest: Manifest;
  /** Every regular file except manifest.toml and hash.md5, keyed by relative POSIX path (hard links resolved). */
  files: Map<string, Uint8Array>;
  /** Every folder (declared or implied by a file path), sorted. */
  dirs: string[];
  /** Symlink path → target as stored (already checked to resolve inside the package). */
  symlinks: Map<string, string>;
  rawManifest: string;
  /** The libraries the application embeds ([embedded] libraries), checked like packages. */
  embedded: EmbeddedLibrary[];
}

/** A library embedded in an application package (docs/packages.md "Embedded libraries"). */
export interface EmbeddedLibrary {
  /** Its folder in the package. */
  folder: string;
  manifest: LibraryManifest;
  rawManifest: string;
  /** The folder's files except its manifest.toml (and any hash.md5), relative to the folder. */
  files: Map<string, Uint8Array>;
  dirs: string[];
  symlinks: Map<string, string>;
}

export interface ReadPackageOptions {
  limits?: Partial<PackageLimits>;
  /** File name of the package (decides .nap/.nva and prefixes error messages). */
  name?: string;
}

/** The parent of a relative path ("" for a top-level name). */
function parentOf(p: string): string {
  const i = p.lastIndexOf("/");
  return i < 0 ? "" : p.slice(0, i);
}

function pkgError(code: string, message: string, hint?: string): NcwError {
  return new NcwError("data", message, hint === undefined ? { code } : { code, hint });
}

/** The package kind from a file name: ".nva" is volatile, anything else is a regular package. */
export function kindFromName(name: string | undefined): PackageKind {
  return name?.toLowerCase().endsWith(".nva") ? "nva" : "nap";
}

/** Read a package held in memory: decompress within limits, read the tar strictly, verify hash.md5, validate the manifest and the files it names. */
export async function readPackageBytes(
  bytes: Uint8Array,
  opts: ReadPackageOptions = {},
): Promise<AppPackage> {
  try {
    return await readPackageInner(bytes, opts);
  } catch (e) {
    if (e instanceof NcwError && opts.name !== undefined && !e.message.startsWith(opts.name)) {
      throw new NcwError(e.kind, `${opts.name}: ${e.message}`, {
        code: e.code,
        ...(e.hint === undefined ? {} : { hint: e.hint }),
        cause: e,
      });
    }
    throw e;
  }
}

async function readPackageInner(bytes: Uint8Array, opts: ReadPackageOptions): Promise<AppPackage> {
  const limits = resolveLimits(opts.limits);
  const tar = await decompressBounded(bytes, limits);
  const entries = readTar(tar, limits);
  const all = new Map<string, Uint8Array>();
  const dirs = new Set<string>();
  const symlinks = new Map<string, string>();
  const byPath = new Map<string, TarEntry>();
  for (const e of entries) byPath.set(e.path, e);
  for (const e of entries) {
    if (e.type === "file") all.set(e.path, e.data);
    else if (e.type === "hardlink")
      all.set(e.path, byPath.get(e.linkTarget ?? "")?.data ?? new Uint8Array(0));
    else if (e.type === "dir") dirs.add(e.path);
    else symlinks.set(e.path, e.linkTarget ?? "");
    // The folders the path implies, from the nearest up, stopping at one already known (so each
    // folder is added once, not once per entry below it).
    for (let p = parentOf(e.path); p !== "" && !dirs.has(p); p = parentOf(p)) dirs.add(p);
  }
  const manifestEntry = byPath.get(MANIFEST_FILE);
  if (manifestEntry === undefined || manifestEntry.type !== "file") {
    throw pkgError(
      "PKG_MANIFEST_MISSING",
      manifestEntry === undefined
        ? "the package has no manifest.toml at its root"
        : `manifest.toml is a ${manifestEntry.type}, not a regular file`,
      "A package is built from a folder holding manifest.toml: use `ncw pack <dir>`.",
    );
  }
  const hashEntry = byPath.get(HASH_FILE);
  if (hashEntry === undefined || hashEntry.type !== "file") {
    throw pkgError(
      "PKG_HASH_MISSING",
      hashEntry === undefined
        ? "the package has no hash.md5 at its root"
        : `hash.md5 is a ${hashEntry.type}, not a regular file`,
      "Rebuild the package with `ncw pack`, which writes hash.md5.",
    );
  }
  let hashText: string;
  try {
    hashText = new TextDecoder("utf-8", { fatal: true }).decode(hashEntry.data);
  } catch {
    throw pkgError("PKG_HASH_SYNTAX", "hash.md5 is not UTF-8 text");
  }
  verifyHashFile(hashText, all);
  const manifest = parseManifestBytes(manifestEntry.data);
  checkInstallNames(manifest);
  const rawManifest = new TextDecoder("utf-8", { ignoreBOM: true }).decode(manifestEntry.data);
  all.delete(MANIFEST_FILE);
  all.delete(HASH_FILE);
  checkReferences(manifest, { files: all, dirs, symlinks });
  const embedded = embeddedLibraries(manifest, { files: all, dirs, symlinks });
  const kind = kindFromName(opts.name);
  if (kind === "nva" && manifest.type === "library") {
    throw pkgError(
      "PKG_KIND_MISMATCH",
      "a library cannot be a volatile (.nva) package",
      "Name it .nap.",
    );
  }
  return {
    kind,
    manifest,
    files: all,
    dirs: [...dirs].sort(),
    symlinks,
    rawManifest,
    embedded,
  };
}

/** Read a package file from the host. */
export async function readPackageFile(
  file: string,
  opts: ReadPackageOptions = {},
): Promise<AppPackage> {
  const limits = resolveLimits(opts.limits);
  let st: Awaited<ReturnType<typeof fsp.stat>>;
  try {
    st = await fsp.stat(file);
  } catch (e) {
    throw hostError(e, file);
  }
  if (st.isDirectory()) {
    throw new NcwError("usage", `${file} is a folder, not a package file`, {
      code: "PKG_IS_DIRECTORY",
      hint: "Build a package from it first: `ncw pack <dir>`.",
    });
  }
  if (st.size > limits.maxCompressedSize) {
    throw pkgError(
      "PKG_TOO_LARGE",
      `${file}: ${st.size} bytes, over the package limit of ${limits.maxCompressedSize}`,
    );
  }
  let bytes: Uint8Array;
  try {
    bytes = await fsp.readFile(file);
  } catch (e) {
    throw hostError(e, file);
  }
  return readPackageBytes(bytes, { ...opts, name: opts.name ?? file });
}

function hostError(e: unknown, file: string): NcwError {
  if (isHostError(e, "not-found")) {
    return new NcwError("not-found", `${file} does not exist`, { code: "PKG_NOT_FOUND" });
  }
  return new NcwError("io", `cannot read ${file}: ${e instanceof Error ? e.message : String(e)}`, {
    code: "PKG_IO",
  });
}

// ---------------------------------------------------------------------------------------------
// References: the files the manifest names must exist in the package.

export interface PackageTree {
  files: ReadonlyMap<string, Uint8Array>;
  dirs: ReadonlySet<string> | readonly string[];
  symlinks: ReadonlyMap<string, string>;
}

/** The icon files that exist for each size of the manifest's icon pattern. */
export function iconPaths(m: Manifest): { size: number; path: string }[] {
  const pattern = m.infos.icon
    .split("/")
    .filter((s) => s !== "" && s !== ".")
    .join("/");
  return ICON_SIZES.map((size) => ({
    size,
    path: pattern.replace(ICON_PLACEHOLDER, String(size)),
  }));
}

/** PNG width and height from its IHDR chunk, or undefined when the bytes are not a PNG. */
export function pngSize(data: Uint8Array): { width: number; height: number } | undefined {
  const sig = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  if (data.length < 24 || sig.some((b, i) => data[i] !== b)) return undefined;
  if (String.fromCharCode(...data.subarray(12, 16)) !== "IHDR") return undefined;
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  return { width: dv.getUint32(16), height: dv.getUint32(20) };
}

/**
 * Check that the program, assets and icons the manifest names are in the package: precomp is a
 * file, assets are files or folders, at least one icon size exists and PNG icons are square and
 * of the size their name says.
 */
export function checkReferences(
  m: Manifest,
  tree: PackageTree,
  /** Paths `ncw pack` left out by the folder's .napignore: a manifest naming one is told so. */
  ignored?: (p: string) => boolean,
): void {
  const dirs = tree.dirs instanceof Set ? tree.dirs : new Set(tree.dirs as readonly string[]);
  const exists = (p: string): boolean => tree.files.has(p) || dirs.has(p) || tree.symlinks.has(p);
  const missing = (field: string, p: string, what: string): NcwError =>
    ignored?.(p) === true
      ? pkgError(
          "PKG_MISSING_FILE",
          `${field} names ${JSON.stringify(p)}, which ${IGNORE_FILE} leaves out of the package`,
          `Remove the rule that matches it from ${IGNORE_FILE}, or fix the manifest.`,
        )
      : pkgError(
          "PKG_MISSING_FILE",
          `${field} names ${JSON.stringify(p)}, which is not ${what} in the package`,
          "Add the file to the package folder or fix the manifest.",
        );
  const precomp = m.content.program.precomp;
  if (precomp !== undefined && tree.symlinks.has(precomp)) {
    throw pkgError(
      "PKG_PRECOMP_NOT_FILE",
      `content.program.precomp names ${JSON.stringify(precomp)}, which is a symlink in the package; the pre-compiled program must be a regular file`,
      "Put the program itself at that path (installing compiles that file), or point precomp at it.",
    );
  }
  if (precomp !== undefined && !tree.files.has(precomp)) {
    throw missing("content.program.precomp", precomp, "a file");
  }
  const assetLists: [string, string[] | undefined][] = [["content.assets", m.content.assets]];
  for (const [name, f] of Object.entries(m.features?.list ?? {}))
    assetLists.push([`features.${name}.assets`, f.assets]);
  for (const [field, list] of assetLists) {
    (list ?? []).forEach((a, i) => {
      if (a !== "" && !exists(a)) throw missing(`${field}[${i}]`, a, "a file or folder");
    });
  }
  const icons = iconPaths(m);
  const present = icons.filter((i) => tree.files.has(i.path));
  if (present.length === 0) {
    throw pkgError(
      "PKG_ICON_MISSING",
      `infos.icon = ${JSON.stringify(m.infos.icon)}: no icon exists for any size (looked for ${icons.map((i) => i.path).join(", ")})`,
      "Add at least one square icon of 16, 32, 64, 128 or 256 pixels.",
    );
  }
  for (const icon of present) {
    if (!icon.path.toLowerCase().endsWith(".png")) continue;
    const size = pngSize(tree.files.get(icon.path) ?? new Uint8Array(0));
    if (size === undefined) {
      throw pkgError("PKG_ICON_INVALID", `icon ${JSON.stringify(icon.path)} is not a PNG image`);
    }
    if (size.width !== icon.size || size.height !== icon.size) {
      throw pkgError(
        "PKG_ICON_INVALID",
        `icon ${JSON.stringify(icon.path)} is ${size.width}x${size.height}; it must be square, ${icon.size}x${icon.size}`,
      );
    }
  }
}

interface FolderContent {
  files: Map<string, Uint8Array>;
  symlinks: Map<string, string>;
  dirs: string[];
}

/**
 * What each of the (non-overlapping) embedded folders holds, paths relative to it. One sort of the
 * folders and the package's paths together, "/" ordered before every other character, so what is
 * inside a folder comes right after it: O(n log n), not folders times entries.
 */
function embeddedContents(
  folders: readonly string[],
  tree: PackageTree,
): Map<string, FolderContent> {
  const out = new Map<string, FolderContent>();
  type Item = { key: string; folder?: string; path?: string; kind?: "file" | "symlink" | "dir" };
  const items: Item[] = folders.map((f) => ({ key: `${f.replaceAll("/", "\0")}\0`, folder: f }));
  const add = (path: string, kind: Item["kind"]) =>
    items.push({ key: path.replaceAll("/", "\0"), path, kind });
  for (const p of tree.files.keys()) add(p, "file");
  for (const p of tree.symlinks.keys()) add(p, "symlink");
  for (const p of tree.dirs) add(p, "dir");
  items.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  let open: { key: string; folder: string; content: FolderContent } | undefined;
  for (const it of items) {
    if (it.folder !== undefined) {
      const content: FolderContent = { files: new Map(), symlinks: new Map(), dirs: [] };
      out.set(it.folder, content);
      open = { key: it.key, folder: it.folder, content };
      continue;
    }
    if (open === undefined || !it.key.startsWith(open.key)) {
      open = undefined;
      continue;
    }
    const rel = (it.path ?? "").slice(open.folder.length + 1);
    if (it.kind === "file")
      open.content.files.set(rel, tree.files.get(it.path ?? "") ?? new Uint8Array());
    else if (it.kind === "symlink")
      open.content.symlinks.set(rel, tree.symlinks.get(it.path ?? "") ?? "");
    else open.content.dirs.push(rel);
  }
  for (const c of out.values()) c.dirs.sort();
  return out;
}

/**
 * The libraries an application embeds (docs/packages.md "Embedded libraries"): each folder named in
 * [embedded] libraries holds a library manifest.toml whose program, assets and icons are checked
 * like a package's, relative to that folder; AIDs are distinct from the application's and each other's.
 */
export function embeddedLibraries(m: Manifest, tree: PackageTree): EmbeddedLibrary[] {
  if (m.type !== "application" || m.embedded === undefined) return [];
  const aids = new Map([[`${m.infos.did}::${m.infos.slug}`, "the application"]]);
  const out: EmbeddedLibrary[] = [];
  const contents = embeddedContents(m.embedded.libraries, tree);
  for (const folder of m.embedded.libraries) {
    const prefix = `${folder}/`;
    const { files, symlinks, dirs } = contents.get(folder) ?? {
      files: new Map<string, Uint8Array>(),
      symlinks: new Map<string, string>(),
      dirs: [],
    };
    const where = `${folder}/${MANIFEST_FILE}`;
    const raw = files.get(MANIFEST_FILE);
    if (raw === undefined) {
      throw pkgError(
        "PKG_EMBEDDED_MANIFEST_MISSING",
        `embedded.libraries names ${JSON.stringify(folder)}, but the package has no ${where}`,
        'Each embedded library is a folder holding the library\'s own manifest.toml (type = "library").',
      );
    }
    const manifest = parseManifestBytes(raw, where);
    checkInstallNames(manifest, where);
    if (manifest.type !== "library") {
      throw pkgError(
        "PKG_EMBEDDED_NOT_LIBRARY",
        `${where} is an ${manifest.type} manifest; only libraries can be embedded`,
        'Set type = "library" in it, or package the application separately.',
      );
    }
    const aid = `${manifest.infos.did}::${manifest.infos.slug}`;
    const clash = aids.get(aid);
    if (clash !== undefined) {
      throw pkgError(
        "PKG_EMBEDDED_DUPLICATE",
        `${where} declares ${aid}, which is already ${clash}'s AID`,
        "Every embedded library needs its own AID.",
      );
    }
    aids.set(aid, where);
    for (const [link, target] of symlinks) {
      if (resolveSymlinkTarget(link, target) === undefined) {
        throw pkgError(
          "PKG_LINK_OUTSIDE",
          `symlink ${JSON.stringify(`${prefix}${link}`)} points to ${JSON.stringify(target)}, outside the embedded library ${folder}`,
          "An embedded library's links must stay inside its folder.",
        );
      }
    }
    files.delete(MANIFEST_FILE);
    files.delete(HASH_FILE);
    try {
      checkReferences(manifest, { files, dirs, symlinks });
    } catch (e) {
      if (!(e instanceof NcwError)) throw e;
      throw new NcwError(e.kind, `${where}: ${e.message}`, {
        code: e.code,
        ...(e.hint === undefined ? {} : { hint: e.hint }),
      });
    }
    const rawManifest = new TextDecoder("utf-8", { ignoreBOM: true }).decode(raw);
    out.push({ folder, manifest, rawManifest, files, dirs, symlinks });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Packing

export interface PackOptions {
  /** Build a volatile application package (.nva). */
  volatile?: boolean;
  /** zstd level (default 9). */
  level?: number;
  /** Limits the result must respect (it is read back with them). */
  limits?: Partial<PackageLimits>;
  /** Absolute host paths to leave out (e.g. the output file when it lies inside the folder). */
  exclude?: string[];
  /** Called as files are read. */
  onProgress?: (done: number, total: number, file: string) => void;
}

/** Folder names never packed: version-control metadata. */
export const PACK_SKIPPED_DIRS: readonly string[] = [".git", ".hg", ".svn"];

/**
 * The package folder's ignore file (docs/packages.md "Packing"): gitignore syntax, paths relative to
 * the folder; what it matches is not packed, and the file itself is never packed.
 */
export const IGNORE_FILE = ".napignore";

interface Collected {
  entries: TarWriteEntry[];
  files: Map<string, Uint8Array>;
  dirs: Set<string>;
  symlinks: Map<string, string>;
  /** Whether the folder's .napignore leaves `rel` out (false without one). */
  ignored: (rel: string) => boolean;
}

/** The folder's .napignore as a matcher, or undefined when it has none. */
async function readIgnoreFile(root: string): Promise<Ignore | undefined> {
  let text: string;
  try {
    text = await fsp.readFile(path.join(root, IGNORE_FILE), "utf8");
  } catch (e) {
    if (isHostError(e, "not-found")) return undefined;
    throw new NcwError("io", `cannot read ${IGNORE_FILE}: ${(e as Error).message}`, {
      code: "PKG_IO",
    });
  }
  return ignore().add(text);
}

async function collect(root: string, opts: PackOptions): Promise<Collected> {
  const exclude = new Set((opts.exclude ?? []).map((p) => path.resolve(p)));
  const rules = await readIgnoreFile(root);
  const ignored = (rel: string): boolean => rules?.ignores(rel) === true;
  const found: { rel: string; abs: string; kind: "file" | "dir" | "symlink"; mode: number }[] = [];
  const walk = async (absDir: string, relDir: string): Promise<void> => {
    let names: string[];
    try {
      names = (await fsp.readdir(absDir)).sort();
    } catch (e) {
      throw new NcwError("io", `cannot list ${absDir}: ${(e as Error).message}`, {
        code: "PKG_IO",
      });
    }
    for (const name of names) {
      const abs = path.join(absDir, name);
      const rel = relDir === "" ? name : `${relDir}/${name}`;
      if (exclude.has(abs)) continue;
      if (relDir === "" && (name === HASH_FILE || name === IGNORE_FILE)) continue; // regenerated / ours
      if (!isListablePath(rel) || name.includes("/")) {
        throw pkgError(
          "PKG_PATH_INVALID",
          `${JSON.stringify(rel)}: backslashes and line breaks are not allowed in package paths`,
          "Rename it.",
        );
      }
      const st = await fsp.lstat(abs);
      // gitignore semantics: a folder matches as `name/`; nothing below an ignored folder is packed.
      if (ignored(st.isDirectory() ? `${rel}/` : rel)) continue;
      if (st.isDirectory()) {
        if (PACK_SKIPPED_DIRS.includes(name)) continue;
        found.push({ rel, abs, kind: "dir", mode: 0o755 });
        await walk(abs, rel);
      } else if (st.isFile()) {
        found.push({ rel, abs, kind: "file", mode: (st.mode & 0o111) !== 0 ? 0o755 : 0o644 });
      } else if (st.isSymbolicLink()) {
        found.push({ rel, abs, kind: "symlink", mode: 0o777 });
      } else {
        throw pkgError(
          "PKG_SPECIAL_FILE",
          `${JSON.stringify(rel)} is a socket, FIFO or device; packages hold only files, folders and symlinks`,
          "Remove it from the folder.",
        );
      }
    }
  };
  await walk(root, "");
  const out: Collected = {
    entries: [],
    files: new Map(),
    dirs: new Set(),
    symlinks: new Map(),
    ignored: (rel) => ignored(rel) || ignored(`${rel}/`),
  };
  const total = found.filter((f) => f.kind === "file").length;
  let done = 0;
  for (const f of found) {
    if (f.kind === "dir") {
      out.entries.push({ path: f.rel, type: "dir", mode: f.mode });
      out.dirs.add(f.rel);
    } else if (f.kind === "symlink") {
      const target = (await fsp.readlink(f.abs)).split(path.sep).join("/");
      out.entries.push({ path: f.rel, type: "symlink", linkTarget: target, mode: f.mode });
      out.symlinks.set(f.rel, target);
    } else {
      const data = await fsp.readFile(f.abs);
      out.entries.push({ path: f.rel, type: "file", data, mode: f.mode });
      out.files.set(f.rel, data);
      done++;
      opts.onProgress?.(done, total, f.rel);
    }
  }
  return out;
}

export interface PackResult {
  bytes: Uint8Array;
  manifest: Manifest;
  kind: PackageKind;
  /** Number of regular files, manifest.toml and hash.md5 included. */
  fileCount: number;
  /** Sum of the files' sizes (uncompressed). */
  contentSize: number;
  /** What was packed, in the archive's order: every entry's path, kind and (files) size. */
  entries: { path: string; type: "file" | "dir" | "symlink"; size: number }[];
}

/** Pack a folder holding manifest.toml into package bytes (see packDirectory). */
export async function packDirectoryDetailed(
  dir: string,
  opts: PackOptions = {},
): Promise<PackResult> {
  const root = path.resolve(dir);
  let st: Awaited<ReturnType<typeof fsp.stat>>;
  try {
    st = await fsp.stat(root);
  } catch {
    throw new NcwError("not-found", `${dir} does not exist`, { code: "PKG_NOT_FOUND" });
  }
  if (!st.isDirectory()) {
    throw new NcwError("usage", `${dir} is not a folder`, {
      code: "PKG_NOT_DIRECTORY",
      hint: "`ncw pack` takes the folder holding manifest.toml.",
    });
  }
  const c = await collect(root, opts);
  const manifestBytes = c.files.get(MANIFEST_FILE);
  if (manifestBytes === undefined) {
    throw pkgError(
      "PKG_MANIFEST_MISSING",
      `${dir} has no manifest.toml`,
      "Write one (docs/packages.md has the schema and a full example; examples/hello is a working package).",
    );
  }
  const manifest = parseManifestBytes(manifestBytes, path.join(dir, MANIFEST_FILE));
  checkInstallNames(manifest, path.join(dir, MANIFEST_FILE));
  const kind: PackageKind = opts.volatile === true ? "nva" : "nap";
  if (kind === "nva" && manifest.type === "library") {
    throw pkgError(
      "PKG_KIND_MISMATCH",
      "a library cannot be packed as a volatile (.nva) package",
      "Drop --volatile.",
    );
  }
  for (const [link, target] of c.symlinks) {
    if (resolveSymlinkTarget(link, target) === undefined) {
      throw pkgError(
        "PKG_LINK_OUTSIDE",
        `symlink ${JSON.stringify(link)} points to ${JSON.stringify(target)}, outside the package folder`,
        "Packages may only hold symlinks to their own content: copy the target in instead.",
      );
    }
  }
  const tree = { files: c.files, dirs: c.dirs, symlinks: c.symlinks };
  const others = new Map(c.files);
  others.delete(MANIFEST_FILE);
  checkReferences(manifest, { ...tree, files: others }, c.ignored);
  embeddedLibraries(manifest, { ...tree, files: others });
  const hash = new TextEncoder().encode(encodeHashFile(c.files));
  c.entries.push({ path: HASH_FILE, type: "file", data: hash, mode: 0o644 });
  const tar = writeTar(c.entries, { first: [MANIFEST_FILE, HASH_FILE] });
  const bytes = await compressPackage(tar, opts.level ?? 9);
  // Read the result back with the reader's own checks and limits: pack never produces a
  // package that `ncw inspect` or Skyer would refuse.
  await readPackageBytes(bytes, opts.limits === undefined ? {} : { limits: opts.limits });
  let contentSize = hash.length;
  for (const d of c.files.values()) contentSize += d.length;
  const order = [MANIFEST_FILE, HASH_FILE];
  const entries = [...c.entries]
    .sort((a, b) => {
      const ia = order.indexOf(a.path);
      const ib = order.indexOf(b.path);
      if (ia >= 0 || ib >= 0) return (ia < 0 ? 2 : ia) - (ib < 0 ? 2 : ib);
      return a.path < b.path ? -1 : a.path > b.path ? 1 : 0;
    })
    .map((e) => ({
      path: e.path,
      type: e.type as "file" | "dir" | "symlink",
      size: e.type === "file" ? (e.data?.length ?? 0) : 0,
    }));
  return { bytes, manifest, kind, fileCount: c.files.size + 1, contentSize, entries };
}

/**
 * Pack a folder holding manifest.toml: validates the manifest, checks the files it names exist,
 * writes hash.md5 and returns the deterministic .nap/.nva bytes.
 */
export async function packDirectory(dir: string, opts: PackOptions = {}): Promise<Uint8Array> {
  return (await packDirectoryDetailed(dir, opts)).bytes;
}

/** Read and validate the manifest of a package folder (before packing it). */
export async function readDirManifest(dir: string): Promise<Manifest> {
  const file = path.join(dir, MANIFEST_FILE);
  if (
    !(await fsp.stat(dir).then(
      () => true,
      () => false,
    ))
  ) {
    throw new NcwError("not-found", `${dir} does not exist`, { code: "PKG_NOT_FOUND" });
  }
  let bytes: Uint8Array;
  try {
    bytes = await fsp.readFile(file);
  } catch (e) {
    const kind = hostErrorKind(e);
    if (kind === "not-found" || kind === "not-dir") {
      throw pkgError(
        "PKG_MANIFEST_MISSING",
        `${dir} has no manifest.toml`,
        "Write one (docs/packages.md has the schema and a full example; examples/hello is a working package).",
      );
    }
    throw hostError(e, file);
  }
  const manifest = parseManifestBytes(bytes, file);
  checkInstallNames(manifest, file);
  return manifest;
}

/** The default package file name: `<slug>-<version>.nap` (or `.nva`). */
export function defaultPackageName(m: Manifest, volatile = false): string {
  return `${m.infos.slug}-${m.infos.version}.${volatile ? "nva" : "nap"}`;
}

/** Write bytes to `outPath` atomically: a temporary file beside it, fsync, then rename. */
export async function writeFileAtomic(outPath: string, bytes: Uint8Array): Promise<void> {
  const dir = path.dirname(path.resolve(outPath));
  const tmp = path.join(
    dir,
    `.${path.basename(outPath)}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`,
  );
  let handle: Awaited<ReturnType<typeof fsp.open>> | undefined;
  try {
    handle = await fsp.open(tmp, "wx", 0o644);
    await handle.writeFile(bytes);
    await handle.sync();
    await handle.close();
    handle = undefined;
    await fsp.rename(tmp, outPath);
  } catch (e) {
    await handle?.close().catch(() => {});
    await fsp.rm(tmp, { force: true }).catch(() => {});
    throw new NcwError(
      "cant-create",
      `cannot write ${outPath}: ${e instanceof Error ? e.message : String(e)}`,
      {
        code: "PKG_WRITE_FAILED",
        hint: "Check that the destination folder exists and is writable.",
      },
    );
  }
}

/** Pack `dir` into the package file `outPath`, atomically: on any failure nothing is written. */
export async function writePackageFile(
  dir: string,
  outPath: string,
  opts: PackOptions = {},
): Promise<PackResult> {
  const result = await packDirectoryDetailed(dir, {
    ...opts,
    exclude: [...(opts.exclude ?? []), path.resolve(outPath)],
  });
  await writeFileAtomic(outPath, result.bytes);
  return result;
}
