// Strict ustar/pax tar reader and deterministic writer for NightOS packages (.nap/.nva, and the
// tar inside .nau updates). Spec: specs/applications.md "Content"; DIRECTION §4; format: POSIX ustar + pax.

import { NcwError } from "../errors.js";
import { checkEntryPath, checkLinkTarget, PATH_MAX_BYTES, quotePath } from "./names.js";

export const TAR_BLOCK_SIZE = 512;

/** Header field offsets and lengths of a POSIX ustar header (IEEE 1003.1-2001, "ustar Interchange Format"). */
export const USTAR = {
  name: [0, 100],
  mode: [100, 8],
  uid: [108, 8],
  gid: [116, 8],
  size: [124, 12],
  mtime: [136, 12],
  chksum: [148, 8],
  typeflag: [156, 1],
  linkname: [157, 100],
  magic: [257, 6],
  version: [263, 2],
  uname: [265, 32],
  gname: [297, 32],
  devmajor: [329, 8],
  devminor: [337, 8],
  prefix: [345, 155],
} as const satisfies Record<string, readonly [number, number]>;

export type TarEntryType = "file" | "dir" | "symlink" | "hardlink";

export interface TarEntry {
  /** Normalised relative POSIX path: no leading "./", no trailing "/", no "." or ".." segments. */
  path: string;
  type: TarEntryType;
  /** File content (empty for dirs, symlinks and hardlinks). */
  data: Uint8Array;
  /** Symlink target as stored, or the hardlink's target path (normalised, relative to the root). */
  linkTarget?: string;
  mode: number;
  mtime: number;
}

export interface TarReadLimits {
  /**
   * Maximum number of entries (pax/GNU meta headers not counted), folders implied by a path
   * (`a/` of `a/b`) included: the folders and files installing the archive creates.
   */
  maxEntries: number;
  /** Maximum size of one file's content in bytes. */
  maxFileSize: number;
  /** Maximum sum of all file sizes in bytes. */
  maxTotalSize: number;
  /** Longest entry path in bytes (ncw/package/names.ts PATH_MAX_BYTES). */
  maxPathBytes: number;
}

export const DEFAULT_TAR_LIMITS: TarReadLimits = {
  maxEntries: 65_536,
  maxFileSize: 512 * 1024 * 1024,
  maxTotalSize: 1024 * 1024 * 1024,
  maxPathBytes: PATH_MAX_BYTES,
};

const MAX_LINK_DEPTH = 40;
const dec = new TextDecoder("utf-8", { fatal: true });
const enc = new TextEncoder();

function tarError(code: string, message: string, hint?: string): NcwError {
  return new NcwError("data", message, {
    code,
    hint: hint ?? "The archive is damaged or was built to harm: rebuild it with `ncw pack`.",
  });
}

function field(block: Uint8Array, f: readonly [number, number]): Uint8Array {
  return block.subarray(f[0], f[0] + f[1]);
}

/** A NUL-terminated (or full-width) string field. */
function cstring(bytes: Uint8Array, what: string, entry: string): string {
  const end = bytes.indexOf(0);
  const raw = end < 0 ? bytes : bytes.subarray(0, end);
  try {
    return dec.decode(raw);
  } catch {
    throw tarError(
      "PKG_TAR_BAD_HEADER",
      `tar entry ${entry}: the ${what} field is not valid UTF-8`,
    );
  }
}

/** An octal number field: optional leading spaces, octal digits, then NUL/space padding. */
export function parseOctal(bytes: Uint8Array, what: string, entry: string): number {
  if (bytes.length > 0 && ((bytes[0] ?? 0) & 0x80) !== 0) {
    throw tarError(
      "PKG_TAR_BAD_HEADER",
      `tar entry ${entry}: the ${what} field uses GNU base-256 encoding, which NCW does not accept`,
    );
  }
  let i = 0;
  while (i < bytes.length && bytes[i] === 0x20) i++;
  let value = 0;
  let digits = 0;
  for (; i < bytes.length; i++) {
    const c = bytes[i] ?? 0;
    if (c === 0 || c === 0x20) break;
    if (c < 0x30 || c > 0x37) {
      throw tarError(
        "PKG_TAR_BAD_HEADER",
        `tar entry ${entry}: the ${what} field is not an octal number (byte 0x${c.toString(16)})`,
      );
    }
    value = value * 8 + (c - 0x30);
    digits++;
  }
  for (; i < bytes.length; i++) {
    const c = bytes[i] ?? 0;
    if (c !== 0 && c !== 0x20) {
      throw tarError(
        "PKG_TAR_BAD_HEADER",
        `tar entry ${entry}: the ${what} field has bytes after its terminator`,
      );
    }
  }
  if (digits === 0 && what !== "chksum") return 0;
  if (!Number.isSafeInteger(value)) {
    throw tarError("PKG_TAR_BAD_HEADER", `tar entry ${entry}: the ${what} field is too large`);
  }
  return value;
}

/** Header checksum: sum of all 512 bytes with the chksum field counted as spaces. */
export function headerChecksum(block: Uint8Array): { unsigned: number; signed: number } {
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < TAR_BLOCK_SIZE; i++) {
    const b =
      i >= USTAR.chksum[0] && i < USTAR.chksum[0] + USTAR.chksum[1] ? 0x20 : (block[i] ?? 0);
    unsigned += b;
    signed += b > 127 ? b - 256 : b;
  }
  return { unsigned, signed };
}

function isZeroBlock(bytes: Uint8Array, off: number): boolean {
  for (let i = off; i < off + TAR_BLOCK_SIZE; i++) if (bytes[i] !== 0) return false;
  return true;
}

/**
 * Normalise an archive path to a relative POSIX path, rejecting anything that could land outside
 * the extraction root. Returns "" for the root itself ("." or "./").
 */
export function normalizeEntryPath(raw: string, entry: string = raw): string {
  if (raw.length === 0) throw tarError("PKG_PATH_INVALID", `tar entry has an empty path`);
  if (raw.includes("\0")) {
    throw tarError("PKG_PATH_INVALID", `tar entry ${JSON.stringify(entry)}: path contains NUL`);
  }
  if (raw.includes("\\")) {
    throw tarError(
      "PKG_PATH_INVALID",
      `tar entry ${JSON.stringify(entry)}: path contains a backslash, which is a separator on Windows`,
    );
  }
  if (/[\n\r]/.test(raw)) {
    throw tarError(
      "PKG_PATH_INVALID",
      `tar entry ${JSON.stringify(entry)}: path contains a line break (it could not be listed in hash.md5)`,
    );
  }
  if (raw.startsWith("/") || /^[A-Za-z]:/.test(raw)) {
    throw tarError(
      "PKG_PATH_ABSOLUTE",
      `tar entry ${JSON.stringify(entry)}: absolute path (package paths must be relative to the package root)`,
    );
  }
  const parts: string[] = [];
  for (const seg of raw.split("/")) {
    if (seg === "" || seg === ".") continue;
    if (seg === "..") {
      throw tarError(
        "PKG_PATH_TRAVERSAL",
        `tar entry ${JSON.stringify(entry)}: path contains "..", which would escape the package root`,
      );
    }
    parts.push(seg);
  }
  return parts.join("/");
}

interface PaxOverrides {
  path?: string;
  linkpath?: string;
  size?: number;
  mtime?: number;
}

/** Parse pax extended header records: "<len> <key>=<value>\n", len counting the whole record. */
export function parsePaxRecords(data: Uint8Array, entry: string): Map<string, string> {
  const out = new Map<string, string>();
  let off = 0;
  while (off < data.length) {
    let sp = off;
    while (sp < data.length && data[sp] !== 0x20) sp++;
    const lenText = String.fromCharCode(...data.subarray(off, sp));
    if (sp >= data.length || !/^[1-9][0-9]*$/.test(lenText)) {
      throw tarError("PKG_TAR_BAD_HEADER", `pax header before ${entry}: malformed record length`);
    }
    const len = Number(lenText);
    const end = off + len;
    if (end > data.length || data[end - 1] !== 0x0a) {
      throw tarError(
        "PKG_TAR_BAD_HEADER",
        `pax header before ${entry}: record overruns its header`,
      );
    }
    let record: string;
    try {
      record = dec.decode(data.subarray(sp + 1, end - 1));
    } catch {
      throw tarError("PKG_TAR_BAD_HEADER", `pax header before ${entry}: record is not UTF-8`);
    }
    const eq = record.indexOf("=");
    if (eq <= 0)
      throw tarError("PKG_TAR_BAD_HEADER", `pax header before ${entry}: record has no key`);
    out.set(record.slice(0, eq), record.slice(eq + 1));
    off = end;
  }
  return out;
}

function paxToOverrides(records: Map<string, string>, entry: string): PaxOverrides {
  const o: PaxOverrides = {};
  const p = records.get("path");
  if (p !== undefined) o.path = p;
  const l = records.get("linkpath");
  if (l !== undefined) o.linkpath = l;
  const s = records.get("size");
  if (s !== undefined) {
    if (!/^[0-9]+$/.test(s) || !Number.isSafeInteger(Number(s))) {
      throw tarError(
        "PKG_TAR_BAD_HEADER",
        `pax header before ${entry}: bad size ${JSON.stringify(s)}`,
      );
    }
    o.size = Number(s);
  }
  const m = records.get("mtime");
  if (m !== undefined) {
    if (!/^-?[0-9]+(\.[0-9]+)?$/.test(m)) {
      throw tarError(
        "PKG_TAR_BAD_HEADER",
        `pax header before ${entry}: bad mtime ${JSON.stringify(m)}`,
      );
    }
    o.mtime = Math.floor(Number(m));
  }
  return o;
}

/**
 * Read a whole tar archive held in memory. Every defect raises an NcwError naming the entry:
 * truncation, bad checksums, unsupported or special (device/fifo) entries, unsafe paths,
 * duplicates, links that leave the root or point at nothing, limits, trailing garbage.
 */
export function readTar(bytes: Uint8Array, limits: TarReadLimits = DEFAULT_TAR_LIMITS): TarEntry[] {
  const entries: TarEntry[] = [];
  const byPath = new Map<string, TarEntry>();
  let off = 0;
  let total = 0;
  let pax: PaxOverrides = {};
  let gnuLongName: string | undefined;
  let gnuLongLink: string | undefined;
  let sawEnd = false;

  while (off + TAR_BLOCK_SIZE <= bytes.length) {
    if (isZeroBlock(bytes, off)) {
      if (off + 2 * TAR_BLOCK_SIZE > bytes.length || !isZeroBlock(bytes, off + TAR_BLOCK_SIZE)) {
        throw tarError(
          "PKG_TAR_TRUNCATED",
          `tar archive: a zero block at offset ${off} is not followed by the second end-of-archive block`,
        );
      }
      if (Object.keys(pax).length > 0 || gnuLongName !== undefined || gnuLongLink !== undefined) {
        throw tarError(
          "PKG_TAR_TRUNCATED",
          `tar archive: the extended header before offset ${off} is not followed by its entry`,
        );
      }
      sawEnd = true;
      off += 2 * TAR_BLOCK_SIZE;
      break;
    }
    const block = bytes.subarray(off, off + TAR_BLOCK_SIZE);
    const rawName = cstring(field(block, USTAR.name), "name", `at offset ${off}`);
    const where = `${JSON.stringify(rawName)} (offset ${off})`;
    const stored = parseOctal(field(block, USTAR.chksum), "chksum", where);
    const sum = headerChecksum(block);
    if (stored !== sum.unsigned && stored !== sum.signed) {
      throw tarError(
        "PKG_TAR_BAD_CHECKSUM",
        `tar entry ${where}: header checksum is ${stored}, the header sums to ${sum.unsigned}`,
      );
    }
    const magic = field(block, USTAR.magic);
    const isUstar = dec.decode(magic.subarray(0, 5)) === "ustar";
    const prefix = isUstar ? cstring(field(block, USTAR.prefix), "prefix", where) : "";
    const typeflag = String.fromCharCode(block[USTAR.typeflag[0]] ?? 0);
    let size = parseOctal(field(block, USTAR.size), "size", where);
    const dataOff = off + TAR_BLOCK_SIZE;
    if (pax.size !== undefined) size = pax.size;
    if ((typeflag === "1" || typeflag === "2") && size !== 0) {
      throw tarError(
        "PKG_TAR_BAD_HEADER",
        `tar entry ${where}: a link entry announces ${size} bytes of content`,
      );
    }
    const dataLen = typeflag === "3" || typeflag === "4" || typeflag === "6" ? 0 : size;
    const padded = Math.ceil(dataLen / TAR_BLOCK_SIZE) * TAR_BLOCK_SIZE;
    if (dataOff + dataLen > bytes.length) {
      throw tarError(
        "PKG_TAR_TRUNCATED",
        `tar entry ${where}: ${dataLen} bytes of content announced, only ${bytes.length - dataOff} present`,
      );
    }
    const data = bytes.subarray(dataOff, dataOff + dataLen);
    off = dataOff + padded;

    // Meta headers apply to the next entry.
    if (typeflag === "x" || typeflag === "g" || typeflag === "L" || typeflag === "K") {
      if (dataLen > 1024 * 1024) {
        throw tarError("PKG_TAR_BAD_HEADER", `tar entry ${where}: meta header larger than 1 MiB`);
      }
      if (typeflag === "x") pax = paxToOverrides(parsePaxRecords(data, where), where);
      else if (typeflag === "g")
        parsePaxRecords(data, where); // validated, then ignored
      else if (typeflag === "L") gnuLongName = cstring(data, "GNU long name", where);
      else gnuLongLink = cstring(data, "GNU long link", where);
      continue;
    }

    const fullName =
      pax.path ?? gnuLongName ?? (prefix.length > 0 ? `${prefix}/${rawName}` : rawName);
    const rawLink =
      pax.linkpath ?? gnuLongLink ?? cstring(field(block, USTAR.linkname), "linkname", where);
    const mtime = pax.mtime ?? parseOctal(field(block, USTAR.mtime), "mtime", where);
    const mode = parseOctal(field(block, USTAR.mode), "mode", where) & 0o7777;
    pax = {};
    gnuLongName = undefined;
    gnuLongLink = undefined;
    const label = JSON.stringify(fullName);

    let type: TarEntryType;
    switch (typeflag) {
      case "0":
      case "\0":
      case "7":
        type = "file";
        break;
      case "5":
        type = "dir";
        break;
      case "2":
        type = "symlink";
        break;
      case "1":
        type = "hardlink";
        break;
      case "3":
      case "4":
      case "6":
        throw tarError(
          "PKG_TAR_SPECIAL_FILE",
          `tar entry ${label}: ${typeflag === "6" ? "FIFO" : "device"} entries are not allowed in packages`,
        );
      default:
        throw tarError(
          "PKG_TAR_UNSUPPORTED_TYPE",
          `tar entry ${label}: unsupported entry type ${JSON.stringify(typeflag)}`,
        );
    }
    // Old-style tars mark directories with a trailing slash on a regular-file entry.
    if (type === "file" && fullName.endsWith("/") && typeflag !== "7") type = "dir";

    const path = normalizeEntryPath(fullName, fullName);
    if (path === "") {
      if (type !== "dir") {
        throw tarError(
          "PKG_PATH_INVALID",
          `tar entry ${label}: the archive root must be a directory`,
        );
      }
      continue;
    }
    checkEntryPath(path, `tar entry ${quotePath(fullName)}`, limits.maxPathBytes);
    if (entries.length >= limits.maxEntries) {
      throw tarError(
        "PKG_TOO_MANY_ENTRIES",
        `tar entry ${label}: the archive has more than ${limits.maxEntries} entries`,
        "Packages are limited in entry count to protect the host; split the content or raise the limit.",
      );
    }
    if (type === "file") {
      if (size > limits.maxFileSize) {
        throw tarError(
          "PKG_FILE_TOO_LARGE",
          `tar entry ${label}: ${size} bytes exceeds the per-file limit of ${limits.maxFileSize} bytes`,
          "Packages are limited in size to protect the host.",
        );
      }
      total += size;
      if (total > limits.maxTotalSize) {
        throw tarError(
          "PKG_TOO_LARGE",
          `tar entry ${label}: the files add up to more than ${limits.maxTotalSize} bytes`,
          "Packages are limited in size to protect the host.",
        );
      }
    }
    if (byPath.has(path)) {
      throw tarError(
        "PKG_DUPLICATE_ENTRY",
        `tar entry ${label}: ${JSON.stringify(path)} appears twice`,
      );
    }
    const entry: TarEntry = {
      path,
      type,
      data: type === "file" ? data : new Uint8Array(0),
      mode,
      mtime,
    };
    if (type === "symlink") {
      if (rawLink.length === 0) {
        throw tarError("PKG_LINK_DANGLING", `tar entry ${label}: symlink with an empty target`);
      }
      checkLinkTarget(rawLink, `tar entry ${quotePath(fullName)}`);
      entry.linkTarget = rawLink;
    } else if (type === "hardlink") {
      const target = normalizeEntryPath(rawLink, fullName);
      const t = byPath.get(target);
      if (t === undefined || t.type !== "file") {
        throw tarError(
          "PKG_LINK_DANGLING",
          `tar entry ${label}: hard link to ${JSON.stringify(rawLink)}, which is not an earlier file of the archive`,
        );
      }
      entry.linkTarget = target;
    }
    byPath.set(path, entry);
    entries.push(entry);
  }

  if (!sawEnd) {
    throw tarError(
      "PKG_TAR_TRUNCATED",
      off < bytes.length
        ? `tar archive: ${bytes.length - off} trailing bytes do not form a whole header block (offset ${off})`
        : "tar archive: the end-of-archive marker (two zero blocks) is missing",
    );
  }
  for (let i = off; i < bytes.length; i++) {
    if (bytes[i] !== 0) {
      throw tarError(
        "PKG_TAR_TRAILING_DATA",
        `tar archive: non-zero data at offset ${i}, after the end-of-archive marker`,
      );
    }
  }
  checkTree(entries, limits.maxEntries);
  return entries;
}

/** The archive as a tree of names: each path's entry, and the names below it. */
interface PathNode {
  entry?: TarEntry;
  children?: Map<string, PathNode>;
}

/**
 * Structural checks needing the whole archive: parents are dirs, symlinks resolve inside the root,
 * and entries plus the folders their paths imply stay within `maxEntries`. Linear in the size of
 * the paths: each path is walked once in a tree of names, never re-joined prefix by prefix.
 */
function checkTree(entries: TarEntry[], maxEntries: number): void {
  const root: PathNode = {};
  let nodes = 0;
  for (const e of entries) {
    let node = root;
    for (const seg of e.path.split("/")) {
      node.children ??= new Map();
      let next = node.children.get(seg);
      if (next === undefined) {
        if (++nodes > maxEntries) {
          throw tarError(
            "PKG_TOO_MANY_ENTRIES",
            `tar entry ${JSON.stringify(e.path)}: the archive's entries and the folders their paths imply are more than ${maxEntries}`,
            "Packages are limited in entry count to protect the host; split the content or raise the limit.",
          );
        }
        next = {};
        node.children.set(seg, next);
      }
      node = next;
    }
    node.entry = e;
  }
  const find = (p: string): PathNode | undefined => {
    let node: PathNode | undefined = root;
    for (const seg of p.split("/")) {
      node = node.children?.get(seg);
      if (node === undefined) return undefined;
    }
    return node;
  };
  for (const e of entries) {
    const segs = e.path.split("/");
    let node = root;
    let parent = "";
    for (let i = 0; i < segs.length - 1; i++) {
      const seg = segs[i] ?? "";
      parent = i === 0 ? seg : `${parent}/${seg}`;
      node = node.children?.get(seg) ?? {};
      const p = node.entry;
      if (p === undefined || p.type === "dir") continue;
      if (p.type === "symlink") {
        throw tarError(
          "PKG_LINK_OUTSIDE",
          `tar entry ${JSON.stringify(e.path)}: lies under the symlink ${JSON.stringify(parent)}; entries must not be written through links`,
        );
      }
      throw tarError(
        "PKG_PATH_CONFLICT",
        `tar entry ${JSON.stringify(e.path)}: its parent ${JSON.stringify(parent)} is a file, not a directory`,
      );
    }
  }
  const byPath = (p: string): TarEntry | undefined => find(p)?.entry;
  const isDir = (p: string): boolean => {
    const x = find(p);
    return x !== undefined && (x.entry?.type === "dir" || (x.children?.size ?? 0) > 0);
  };
  for (const e of entries) {
    if (e.type !== "symlink") continue;
    resolveSymlink(e, byPath, isDir);
  }
}

/** Resolve a symlink (following chains) and check each step stays inside the root and exists. */
export function resolveSymlinkTarget(linkPath: string, target: string): string | undefined {
  if (target.startsWith("/") || /^[A-Za-z]:/.test(target) || target.includes("\\"))
    return undefined;
  const parts = linkPath.split("/").slice(0, -1);
  for (const seg of target.split("/")) {
    if (seg === "" || seg === ".") continue;
    if (seg === "..") {
      if (parts.length === 0) return undefined;
      parts.pop();
    } else parts.push(seg);
  }
  return parts.join("/");
}

function resolveSymlink(
  e: TarEntry,
  byPath: (p: string) => TarEntry | undefined,
  isDir: (p: string) => boolean,
): void {
  let cur = e;
  for (let depth = 0; depth < MAX_LINK_DEPTH; depth++) {
    const target = cur.linkTarget ?? "";
    const resolved = resolveSymlinkTarget(cur.path, target);
    if (resolved === undefined) {
      throw tarError(
        "PKG_LINK_OUTSIDE",
        `tar entry ${JSON.stringify(e.path)}: symlink to ${JSON.stringify(target)} points outside the package`,
      );
    }
    if (resolved === "") return; // the package root
    const next = byPath(resolved);
    if (next === undefined) {
      if (isDir(resolved)) return;
      throw tarError(
        "PKG_LINK_DANGLING",
        `tar entry ${JSON.stringify(e.path)}: symlink to ${JSON.stringify(target)}, which is not in the package`,
      );
    }
    if (next.type !== "symlink") return;
    cur = next;
  }
  throw tarError(
    "PKG_LINK_LOOP",
    `tar entry ${JSON.stringify(e.path)}: symlink chain longer than ${MAX_LINK_DEPTH} (a loop?)`,
  );
}

// ---------------------------------------------------------------------------------------------
// Writer

export interface TarWriteEntry {
  path: string;
  type: TarEntryType;
  data?: Uint8Array;
  linkTarget?: string;
  /** Permission bits; defaults: 0o644 files, 0o755 dirs, 0o777 symlinks, 0o644 hardlinks. */
  mode?: number;
}

export interface TarWriteOptions {
  /** Fixed modification time for every entry (seconds since the epoch). Default 0. */
  mtime?: number;
  /** Order: paths listed here come first (in this order), everything else sorted. */
  first?: string[];
}

function writeOctal(block: Uint8Array, f: readonly [number, number], value: number): void {
  const text = value.toString(8).padStart(f[1] - 1, "0");
  if (text.length > f[1] - 1) throw new Error(`tar writer: ${value} does not fit in ${f[1]} bytes`);
  block.set(enc.encode(text), f[0]);
  block[f[0] + f[1] - 1] = 0;
}

function writeString(block: Uint8Array, f: readonly [number, number], bytes: Uint8Array): void {
  if (bytes.length > f[1]) throw new Error("tar writer: field overflow");
  block.set(bytes, f[0]);
}

/** Split a path into ustar prefix/name if it fits, else undefined (a pax header is then needed). */
function splitUstarName(p: Uint8Array): { prefix: Uint8Array; name: Uint8Array } | undefined {
  if (p.length <= 100) return { prefix: new Uint8Array(0), name: p };
  for (let i = Math.min(p.length - 1, 155); i > 0; i--) {
    if (p[i] === 0x2f && p.length - i - 1 <= 100 && p.length - i - 1 > 0) {
      return { prefix: p.subarray(0, i), name: p.subarray(i + 1) };
    }
  }
  return undefined;
}

function header(
  name: Uint8Array,
  prefix: Uint8Array,
  typeflag: string,
  size: number,
  mode: number,
  mtime: number,
  linkname: Uint8Array,
): Uint8Array {
  const block = new Uint8Array(TAR_BLOCK_SIZE);
  writeString(block, USTAR.name, name);
  writeOctal(block, USTAR.mode, mode);
  writeOctal(block, USTAR.uid, 0);
  writeOctal(block, USTAR.gid, 0);
  writeOctal(block, USTAR.size, size);
  writeOctal(block, USTAR.mtime, mtime);
  block[USTAR.typeflag[0]] = typeflag.charCodeAt(0);
  writeString(block, USTAR.linkname, linkname);
  writeString(block, USTAR.magic, enc.encode("ustar\0"));
  writeString(block, USTAR.version, enc.encode("00"));
  writeOctal(block, USTAR.devmajor, 0);
  writeOctal(block, USTAR.devminor, 0);
  writeString(block, USTAR.prefix, prefix);
  const { unsigned } = headerChecksum(block);
  // chksum: six octal digits, NUL, space (the traditional layout).
  block.set(enc.encode(unsigned.toString(8).padStart(6, "0")), USTAR.chksum[0]);
  block[USTAR.chksum[0] + 6] = 0;
  block[USTAR.chksum[0] + 7] = 0x20;
  return block;
}

function paxRecord(key: string, value: string): Uint8Array {
  const body = enc.encode(` ${key}=${value}\n`);
  let len = body.length + 1;
  while (String(len).length + body.length !== len) len = String(len).length + body.length;
  return enc.encode(`${len}${new TextDecoder().decode(body)}`);
}

function pad(n: number): number {
  return (TAR_BLOCK_SIZE - (n % TAR_BLOCK_SIZE)) % TAR_BLOCK_SIZE;
}

/**
 * Write a deterministic tar: entries sorted by path (after `first`), uid/gid 0, empty owner names,
 * one fixed mtime, ustar headers with pax "x" headers only for paths/targets ustar cannot hold.
 * The same input always yields the same bytes.
 */
export function writeTar(input: TarWriteEntry[], opts: TarWriteOptions = {}): Uint8Array {
  const mtime = opts.mtime ?? 0;
  const first = opts.first ?? [];
  const rank = (p: string): number => {
    const i = first.indexOf(p);
    return i < 0 ? first.length : i;
  };
  const entries = [...input].sort((a, b) => {
    const r = rank(a.path) - rank(b.path);
    if (r !== 0) return r;
    return Buffer.compare(Buffer.from(a.path), Buffer.from(b.path));
  });
  const chunks: Uint8Array[] = [];
  let size = 0;
  const push = (c: Uint8Array): void => {
    chunks.push(c);
    size += c.length;
  };
  const seen = new Set<string>();
  for (const e of entries) {
    const path = normalizeEntryPath(e.path);
    if (path === "" || path !== e.path) {
      throw new NcwError("data", `tar writer: path ${JSON.stringify(e.path)} is not normalised`, {
        code: "PKG_PATH_INVALID",
      });
    }
    if (seen.has(path)) {
      throw new NcwError("data", `tar writer: ${JSON.stringify(path)} given twice`, {
        code: "PKG_DUPLICATE_ENTRY",
      });
    }
    seen.add(path);
    const typeflag = { file: "0", dir: "5", symlink: "2", hardlink: "1" }[e.type];
    const data = e.type === "file" ? (e.data ?? new Uint8Array(0)) : new Uint8Array(0);
    const mode = e.mode ?? { file: 0o644, dir: 0o755, symlink: 0o777, hardlink: 0o644 }[e.type];
    const nameBytes = enc.encode(e.type === "dir" ? `${path}/` : path);
    const linkBytes = enc.encode(e.linkTarget ?? "");
    const split = splitUstarName(nameBytes);
    const records: Uint8Array[] = [];
    if (split === undefined) records.push(paxRecord("path", e.type === "dir" ? `${path}/` : path));
    if (linkBytes.length > 100) records.push(paxRecord("linkpath", e.linkTarget ?? ""));
    if (records.length > 0) {
      const body = Buffer.concat(records);
      const paxName = enc.encode(`PaxHeaders/${path.split("/").pop() ?? ""}`.slice(0, 100));
      push(header(paxName, new Uint8Array(0), "x", body.length, 0o644, mtime, new Uint8Array(0)));
      push(body);
      push(new Uint8Array(pad(body.length)));
    }
    const name = split?.name ?? nameBytes.subarray(0, 100);
    const prefix = split?.prefix ?? new Uint8Array(0);
    push(header(name, prefix, typeflag, data.length, mode, mtime, linkBytes.subarray(0, 100)));
    if (data.length > 0) {
      push(data);
      push(new Uint8Array(pad(data.length)));
    }
  }
  push(new Uint8Array(2 * TAR_BLOCK_SIZE));
  const out = new Uint8Array(size);
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.length;
  }
  return out;
}
