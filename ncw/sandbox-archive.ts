// A sandbox exported to a file (`ncw sandbox export`, docs/dev-loop.md "Exporting a sandbox"): a POSIX
// tar (pax), so any tar lists and extracts it. Its first member is `manifest.json` (the format, the app,
// the sandbox's name and its changes: added/changed/removed, with kinds, sizes and symlink targets);
// then one member `files/<path>` per added or changed file, its new bytes. Folders, removals and
// symlinks are in the manifest only.

import { NcwError } from "./errors.js";

export const ARCHIVE_FORMAT = "ncw-sandbox" as const;
export const ARCHIVE_VERSION = 1;

export interface ArchiveChange {
  path: string;
  change: "added" | "changed" | "removed";
  kind: "file" | "dir" | "symlink";
  size: number;
  oldSize: number;
  /** A symlink's target. */
  target?: string;
}

export interface ArchiveManifest {
  format: typeof ARCHIVE_FORMAT;
  version: number;
  /** The app's folder in appdata (`<did>.<slug>`, or `.volatile.<hash>` for a program run from a file). */
  app: string;
  name: string;
  /** The exporting NightOS user: an import gives `/home/<user>` and `/tmp/<user>` paths to its own. */
  user: string;
  exportedAt: string;
  changes: ArchiveChange[];
}

const BLOCK = 512;
const enc = new TextEncoder();
const dec = new TextDecoder();

function octal(n: number, width: number): string {
  return `${n.toString(8).padStart(width - 1, "0")}\0`;
}

function header(name: string, size: number, type: string): Uint8Array {
  const h = new Uint8Array(BLOCK);
  const put = (s: string, at: number, len: number) => h.set(enc.encode(s).subarray(0, len), at);
  put(name, 0, 100);
  put(octal(0o644, 8), 100, 8);
  put(octal(0, 8), 108, 8);
  put(octal(0, 8), 116, 8);
  put(octal(size, 12), 124, 12);
  put(octal(0, 12), 136, 12);
  put("        ", 148, 8);
  put(type, 156, 1);
  put("ustar\0", 257, 6);
  put("00", 263, 2);
  let sum = 0;
  for (const b of h) sum += b;
  put(`${sum.toString(8).padStart(6, "0")}\0 `, 148, 8);
  return h;
}

const padded = (n: number) => Math.ceil(n / BLOCK) * BLOCK;

/** One member: a pax header with its full path (names longer than ustar's 100 bytes), then the data. */
function member(name: string, data: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  if (enc.encode(name).length > 99) {
    const rec = (n: number) => `${n} path=${name}\n`;
    let len = enc.encode(rec(0)).length;
    while (enc.encode(rec(len)).length !== len) len = enc.encode(rec(len)).length;
    const pax = enc.encode(rec(len));
    out.push(header("././@PaxHeader", pax.length, "x"), pad(pax));
  }
  out.push(header(name.slice(0, 99), data.length, "0"), pad(data));
  return out;
}

function pad(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(padded(data.length));
  out.set(data);
  return out;
}

/** The archive's bytes: the manifest, then each file's bytes (`files` by path). */
export function writeArchive(
  manifest: ArchiveManifest,
  files: Map<string, Uint8Array>,
): Uint8Array {
  const parts: Uint8Array[] = [
    ...member("manifest.json", enc.encode(`${JSON.stringify(manifest, null, 2)}\n`)),
  ];
  for (const [p, data] of files) parts.push(...member(`files${p}`, data));
  parts.push(new Uint8Array(BLOCK * 2));
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

const bad = (why: string) =>
  new NcwError("data", `not a sandbox export: ${why}`, { code: "SANDBOX_BAD_ARCHIVE" });

/** The manifest and the files of an archive written by writeArchive (or a tar of the same members). */
export function readArchive(bytes: Uint8Array): {
  manifest: ArchiveManifest;
  files: Map<string, Uint8Array>;
} {
  const files = new Map<string, Uint8Array>();
  let manifest: ArchiveManifest | undefined;
  let at = 0;
  let longName: string | undefined;
  while (at + BLOCK <= bytes.length) {
    const h = bytes.subarray(at, at + BLOCK);
    if (h.every((b) => b === 0)) break;
    const field = (from: number, len: number) =>
      dec.decode(h.subarray(from, from + len)).replace(/\0.*$/s, "");
    const size = Number.parseInt(field(124, 12).trim() || "0", 8);
    const type = field(156, 1) || "0";
    if (!Number.isSafeInteger(size) || at + BLOCK + size > bytes.length)
      throw bad("a member is cut");
    const data = bytes.subarray(at + BLOCK, at + BLOCK + size);
    at += BLOCK + padded(size);
    if (type === "x") {
      const m = /(?:^|\n)\d+ path=([^\n]*)\n/.exec(dec.decode(data));
      longName = m?.[1];
      continue;
    }
    const name = longName ?? field(0, 100);
    longName = undefined;
    if (type !== "0") continue;
    if (name === "manifest.json") {
      try {
        manifest = JSON.parse(dec.decode(data)) as ArchiveManifest;
      } catch {
        throw bad("its manifest.json is not JSON");
      }
    } else if (name.startsWith("files/")) files.set(name.slice("files".length), data.slice());
  }
  if (manifest === undefined) throw bad("no manifest.json");
  if (manifest.format !== ARCHIVE_FORMAT || manifest.version !== ARCHIVE_VERSION)
    throw bad(`format ${String(manifest.format)} version ${String(manifest.version)}`);
  if (!Array.isArray(manifest.changes)) throw bad("its manifest has no changes");
  return { manifest, files };
}
