// Application update packages (.nau; specs/update-processes.md "Application updates"): a tar + gzip
// archive with `metadata` (NCW decision: TOML, docs/skyer.md) and `files/` (the files to replace).
// Read with the package reader's strict tar code, so hostile archives get the same errors.

import { gunzipSync, gzipSync } from "node:zlib";
import semver from "semver";
import { parse as parseToml } from "smol-toml";
import { NcwError } from "../../ncw/errors.js";
import { checkEntryPath, PATH_MAX_BYTES, quotePath } from "../../ncw/package/names.js";
import {
  DEFAULT_TAR_LIMITS,
  readTar,
  type TarWriteEntry,
  writeTar,
} from "../../ncw/package/tar.js";

/** Where an update's content sits in its archive: `files/<path in content/>`. */
const FILES = "files/";

export interface NauMetadata {
  /** The application the update is for. */
  aid: string;
  /** The only installed version the update applies to. */
  from: string;
  /** The version the application has after it. */
  to: string;
  /** Paths (relative to content/) to delete; an NCW extension, since `files/` can only add. */
  remove: string[];
}

export interface NauPackage {
  metadata: NauMetadata;
  files: Map<string, Uint8Array>;
  dirs: string[];
  symlinks: Map<string, string>;
}

/** Upper bounds for a .nau, against decompression bombs. */
export const NAU_LIMITS = {
  maxCompressed: 512 * 1024 * 1024,
  maxUncompressed: 1024 * 1024 * 1024,
  maxRatio: 200,
};

function bad(code: string, message: string, hint?: string): NcwError {
  return new NcwError("data", message, {
    code,
    hint: hint ?? "rebuild the update with `ncw skyer make-update <old.nap> <new.nap>`",
  });
}

export function decodeNauMetadata(text: string): NauMetadata {
  let raw: Record<string, unknown>;
  try {
    raw = parseToml(text, { maxDepth: 4 }) as Record<string, unknown>;
  } catch (e) {
    throw bad(
      "NAU_BAD_METADATA",
      `the update's metadata is not valid TOML: ${(e as Error).message}`,
    );
  }
  const need = (k: string): string => {
    const v = raw[k];
    if (typeof v !== "string" || v === "") {
      throw bad("NAU_BAD_METADATA", `the update's metadata needs a string "${k}"`);
    }
    return v;
  };
  const aid = need("aid");
  const from = need("from_version");
  const to = need("to_version");
  for (const [k, v] of [
    ["from_version", from],
    ["to_version", to],
  ] as const) {
    if (semver.valid(v) === null) {
      throw bad(
        "NAU_BAD_METADATA",
        `the update's metadata ${k} ${JSON.stringify(v)} is not a semver version`,
      );
    }
  }
  if (!semver.gt(to, from)) {
    throw bad("NAU_BAD_METADATA", `the update goes from ${from} to ${to}, which is not newer`);
  }
  const removeRaw = raw["remove"] ?? [];
  if (!Array.isArray(removeRaw) || removeRaw.some((r) => typeof r !== "string")) {
    throw bad("NAU_BAD_METADATA", `the update's metadata "remove" must be a list of paths`);
  }
  const remove = removeRaw as string[];
  for (const r of remove) {
    if (r.startsWith("/") || r.split("/").some((p) => p === "" || p === "." || p === "..")) {
      throw bad(
        "NAU_PATH_TRAVERSAL",
        `the update's metadata removes ${JSON.stringify(r)}, which is not a plain relative path`,
      );
    }
    checkEntryPath(r, `the update's metadata removes ${quotePath(r)}`);
  }
  for (const k of Object.keys(raw)) {
    if (!["aid", "from_version", "to_version", "remove"].includes(k)) {
      throw bad("NAU_BAD_METADATA", `the update's metadata has an unknown key "${k}"`);
    }
  }
  return { aid, from, to, remove };
}

/** Encode metadata as TOML (basic strings; JSON string escapes are valid TOML escapes). */
export function encodeNauMetadata(m: NauMetadata): string {
  const q = (v: string) => JSON.stringify(v);
  let out = `aid = ${q(m.aid)}\nfrom_version = ${q(m.from)}\nto_version = ${q(m.to)}\n`;
  if (m.remove.length > 0) out += `remove = [${m.remove.map(q).join(", ")}]\n`;
  return out;
}

/** Decode a .nau archive's bytes (gzip, then strict tar). */
export function readNau(bytes: Uint8Array): NauPackage {
  if (bytes.length > NAU_LIMITS.maxCompressed) {
    throw bad(
      "NAU_TOO_LARGE",
      `the update package is larger than ${NAU_LIMITS.maxCompressed} bytes`,
    );
  }
  if (bytes.length < 2 || bytes[0] !== 0x1f || bytes[1] !== 0x8b) {
    throw bad("NAU_NOT_GZIP", "the update package is not a gzip archive (a .nau is tar + gzip)");
  }
  const limit = Math.min(
    NAU_LIMITS.maxUncompressed,
    Math.max(1024 * 1024, bytes.length * NAU_LIMITS.maxRatio),
  );
  let tar: Uint8Array;
  try {
    tar = gunzipSync(bytes, { maxOutputLength: limit });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ERR_BUFFER_TOO_LARGE" || /Cannot create a Buffer larger/.test(String(e))) {
      throw bad(
        "NAU_BOMB",
        `the update package expands beyond ${limit} bytes (a decompression bomb?)`,
      );
    }
    throw bad(
      "NAU_CORRUPT",
      `the update package's gzip data is corrupt or truncated: ${(e as Error).message}`,
    );
  }
  // Paths in content/ have the package limit; in the archive they are `files/` longer.
  const entries = readTar(tar, {
    ...DEFAULT_TAR_LIMITS,
    maxPathBytes: PATH_MAX_BYTES + FILES.length,
  });
  let metadata: NauMetadata | null = null;
  const files = new Map<string, Uint8Array>();
  const dirs: string[] = [];
  const symlinks = new Map<string, string>();
  for (const e of entries) {
    if (e.path === "metadata" && e.type === "file") {
      metadata = decodeNauMetadata(new TextDecoder().decode(e.data));
      continue;
    }
    if (e.path === "files" && e.type === "dir") continue;
    if (!e.path.startsWith(FILES)) {
      throw bad(
        "NAU_UNEXPECTED_ENTRY",
        `the update package has an unexpected entry "${e.path}": only "metadata" and "files/..." are allowed`,
      );
    }
    const rel = e.path.slice(FILES.length);
    if (e.type === "file") files.set(rel, e.data);
    else if (e.type === "dir") dirs.push(rel);
    else if (e.type === "symlink" && e.linkTarget !== undefined) symlinks.set(rel, e.linkTarget);
    else
      throw bad(
        "NAU_UNEXPECTED_ENTRY",
        `the update package's entry "${e.path}" is a ${e.type}, which updates cannot hold`,
      );
  }
  if (metadata === null) {
    throw bad("NAU_NO_METADATA", "the update package has no `metadata` file at its root");
  }
  return { metadata, files, dirs, symlinks };
}

/** Build a .nau archive (deterministic tar, gzip). */
export function writeNau(nau: NauPackage): Uint8Array {
  const entries: TarWriteEntry[] = [
    {
      path: "metadata",
      type: "file",
      data: new TextEncoder().encode(encodeNauMetadata(nau.metadata)),
    },
    { path: "files", type: "dir" },
  ];
  for (const d of nau.dirs) entries.push({ path: `files/${d}`, type: "dir" });
  for (const [p, data] of nau.files) entries.push({ path: `files/${p}`, type: "file", data });
  for (const [p, t] of nau.symlinks)
    entries.push({ path: `files/${p}`, type: "symlink", linkTarget: t });
  return gzipSync(writeTar(entries, { first: ["metadata", "files"] }), { level: 9 });
}

/** The update that turns one package's files into another's. */
export function diffPackages(
  aid: string,
  from: {
    version: string;
    files: ReadonlyMap<string, Uint8Array>;
    symlinks: ReadonlyMap<string, string>;
  },
  to: {
    version: string;
    files: ReadonlyMap<string, Uint8Array>;
    symlinks: ReadonlyMap<string, string>;
    dirs: readonly string[];
  },
): NauPackage {
  const files = new Map<string, Uint8Array>();
  for (const [p, data] of to.files) {
    const old = from.files.get(p);
    if (old === undefined || Buffer.compare(old, data) !== 0) files.set(p, data);
  }
  const symlinks = new Map<string, string>();
  for (const [p, t] of to.symlinks) if (from.symlinks.get(p) !== t) symlinks.set(p, t);
  const remove = [...from.files.keys(), ...from.symlinks.keys()]
    .filter((p) => !to.files.has(p) && !to.symlinks.has(p))
    .sort();
  return {
    metadata: { aid, from: from.version, to: to.version, remove },
    files,
    dirs: [...to.dirs],
    symlinks,
  };
}
