// `hash.md5`: the package integrity list, in exact `md5sum` text-mode format ("<32 hex>  <path>\n"),
// covering every regular file of the package except itself (specs/applications.md "Content"; DIRECTION §4).

import { createHash } from "node:crypto";
import { NcwError } from "../errors.js";

export const HASH_FILE = "hash.md5";
const LINE = /^([0-9a-f]{32}) {2}(.+)$/;

export interface HashLine {
  md5: string;
  path: string;
}

export function md5Hex(data: Uint8Array): string {
  return createHash("md5").update(data).digest("hex");
}

function hashError(code: string, message: string): NcwError {
  return new NcwError("data", message, {
    code,
    hint: "The package is damaged or was modified after packing: rebuild it with `ncw pack`.",
  });
}

/** A path md5sum can list without escaping (it escapes backslashes and line breaks). */
export function isListablePath(p: string): boolean {
  return !/[\\\n\r]/.test(p) && p.length > 0;
}

/** Encode hash.md5 for the given files, sorted by path (byte order). */
export function encodeHashFile(files: ReadonlyMap<string, Uint8Array>): string {
  const paths = [...files.keys()].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  let out = "";
  for (const p of paths) {
    if (p === HASH_FILE) continue;
    if (!isListablePath(p)) {
      throw new NcwError(
        "data",
        `cannot list ${JSON.stringify(p)} in hash.md5: backslashes and line breaks are not allowed in package paths`,
        {
          code: "PKG_PATH_INVALID",
          hint: "Rename the file.",
        },
      );
    }
    out += `${md5Hex(files.get(p) ?? new Uint8Array(0))}  ${p}\n`;
  }
  return out;
}

/** Parse hash.md5 strictly: lowercase hex, two spaces, one path per line, final newline, no duplicates. */
export function decodeHashFile(text: string): HashLine[] {
  if (text.length === 0) throw hashError("PKG_HASH_SYNTAX", "hash.md5 is empty");
  if (!text.endsWith("\n"))
    throw hashError("PKG_HASH_SYNTAX", "hash.md5 does not end with a line break");
  const lines = text.slice(0, -1).split("\n");
  const seen = new Set<string>();
  const out: HashLine[] = [];
  lines.forEach((line, i) => {
    const m = LINE.exec(line);
    if (m === null || m[1] === undefined || m[2] === undefined) {
      throw hashError(
        "PKG_HASH_SYNTAX",
        `hash.md5 line ${i + 1} is not "<32 lowercase hex digits>  <path>": ${JSON.stringify(line.slice(0, 120))}`,
      );
    }
    const path = m[2];
    if (
      path.startsWith("./") ||
      path.startsWith("/") ||
      path.includes("\\") ||
      path.includes("\r")
    ) {
      throw hashError(
        "PKG_HASH_SYNTAX",
        `hash.md5 line ${i + 1}: path ${JSON.stringify(path)} must be relative, without "./" or backslashes`,
      );
    }
    if (seen.has(path)) {
      throw hashError(
        "PKG_HASH_DUPLICATE",
        `hash.md5 line ${i + 1}: ${JSON.stringify(path)} is listed twice`,
      );
    }
    seen.add(path);
    out.push({ md5: m[1], path });
  });
  return out;
}

/**
 * Check that hash.md5 lists every file except itself exactly once, with the right digest.
 * `files` holds every regular file of the package (hash.md5 included or not).
 */
export function verifyHashFile(text: string, files: ReadonlyMap<string, Uint8Array>): void {
  const lines = decodeHashFile(text);
  const listed = new Set<string>();
  for (const { md5, path } of lines) {
    if (path === HASH_FILE) {
      throw hashError("PKG_HASH_SYNTAX", "hash.md5 must not list itself");
    }
    const data = files.get(path);
    if (data === undefined) {
      throw hashError(
        "PKG_HASH_EXTRA",
        `hash.md5 lists ${JSON.stringify(path)}, which is not a file of the package`,
      );
    }
    const actual = md5Hex(data);
    if (actual !== md5) {
      throw hashError(
        "PKG_HASH_MISMATCH",
        `${JSON.stringify(path)} does not match hash.md5 (expected ${md5}, content hashes to ${actual})`,
      );
    }
    listed.add(path);
  }
  for (const path of files.keys()) {
    if (path !== HASH_FILE && !listed.has(path)) {
      throw hashError(
        "PKG_HASH_UNLISTED",
        `${JSON.stringify(path)} is in the package but not listed in hash.md5`,
      );
    }
  }
}
