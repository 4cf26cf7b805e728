// The AOT artifact: a self-describing file holding an instrumented module and what it was built for
// (NCW version, engine, host CPU, NPP hash, ABI version, flags). Format: docs/commonassembly-aot.md.

import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { NcwError } from "../../ncw/errors.js";
import type { InstrumentReport } from "./instrument.js";

/** File magic: "\x89NCWAOT\n" (non-ASCII first byte, like PNG, so text tools do not take it for text). */
export const ARTIFACT_MAGIC: readonly number[] = [0x89, 0x4e, 0x43, 0x57, 0x41, 0x4f, 0x54, 0x0a];
export const ARTIFACT_FORMAT_VERSION = 3;
/** magic (8) + format version u16 + header length u32. */
export const ARTIFACT_PREFIX_SIZE = 14;
/** SHA-256 of everything before it, at the end of the file. */
export const ARTIFACT_HASH_SIZE = 32;
export const ARTIFACT_MAX_HEADER_SIZE = 1 << 20;
export const ARTIFACT_EXTENSION = ".ncwa";

/** What an artifact was built for; every field but `built` and `report` must match to be reused. */
export interface ArtifactTarget {
  ncwVersion: string;
  /** e.g. "node v20.20.2 / V8 11.3.244.8". */
  engine: string;
  /** e.g. "x64 Intel(R) Xeon(R) ... / features sha256:ab12cd34". */
  cpu: string;
  /** SHA-256 (hex) of the input file (the NPP file, or the raw module). */
  inputHash: string;
  /** The NPP's ABI version (u16 major<<8|minor); 0 for a raw module compiled without the ABI check. */
  abiVersion: number;
  /** What the AOT step was asked to do, e.g. "polls=entry-and-loops opt=1 reserve=1". */
  options: string;
}

export interface ArtifactHeader extends ArtifactTarget {
  /** ISO time of the build. */
  built: string;
  /** Artifact flags: what the instrumented module contains. */
  flags: { polls: boolean; asyncify: boolean };
  report: InstrumentReport;
  /** Length of the instrumented module that follows the header. */
  moduleLength: number;
}

export interface Artifact {
  header: ArtifactHeader;
  module: Uint8Array;
}

function sha256(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(createHash("sha256").update(bytes).digest());
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

export function encodeArtifact(a: Artifact): Uint8Array {
  const header = new TextEncoder().encode(
    JSON.stringify({ ...a.header, moduleLength: a.module.length }),
  );
  const total = ARTIFACT_PREFIX_SIZE + header.length + a.module.length + ARTIFACT_HASH_SIZE;
  const out = new Uint8Array(total);
  const dv = new DataView(out.buffer);
  out.set(ARTIFACT_MAGIC, 0);
  dv.setUint16(8, ARTIFACT_FORMAT_VERSION, true);
  dv.setUint32(10, header.length, true);
  out.set(header, ARTIFACT_PREFIX_SIZE);
  out.set(a.module, ARTIFACT_PREFIX_SIZE + header.length);
  out.set(sha256(out.subarray(0, total - ARTIFACT_HASH_SIZE)), total - ARTIFACT_HASH_SIZE);
  return out;
}

/** Why an artifact file cannot be used: corrupt (damaged bytes) or stale/foreign (built for elsewhere). */
export class ArtifactRejected extends NcwError {
  constructor(
    readonly reason: "corrupt" | "stale",
    message: string,
  ) {
    super("data", message, {
      code: reason === "corrupt" ? "AOT_ARTIFACT_CORRUPT" : "AOT_ARTIFACT_STALE",
      hint: "the artifact is rebuilt automatically by `ncw ca aot`",
    });
  }
}

function corrupt(what: string): ArtifactRejected {
  return new ArtifactRejected("corrupt", `corrupted AOT artifact: ${what}`);
}

const STRING_FIELDS = ["ncwVersion", "engine", "cpu", "inputHash", "options", "built"] as const;

/** Decodes and checks an artifact's bytes (magic, version, lengths, SHA-256, header fields). */
export function decodeArtifact(bytes: Uint8Array): Artifact {
  if (bytes.length < ARTIFACT_PREFIX_SIZE + ARTIFACT_HASH_SIZE)
    throw corrupt(`file too short (${bytes.length} bytes)`);
  if (!ARTIFACT_MAGIC.every((b, i) => bytes[i] === b))
    throw corrupt("not an NCW AOT artifact (bad magic)");
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = dv.getUint16(8, true);
  if (version !== ARTIFACT_FORMAT_VERSION) {
    throw new ArtifactRejected(
      "stale",
      `AOT artifact format ${version}, this NCW reads format ${ARTIFACT_FORMAT_VERSION}`,
    );
  }
  const body = bytes.length - ARTIFACT_HASH_SIZE;
  const expected = bytes.subarray(body);
  const actual = sha256(bytes.subarray(0, body));
  if (!actual.every((b, i) => b === expected[i]))
    throw corrupt("SHA-256 mismatch (the file was damaged or truncated)");
  const headerLength = dv.getUint32(10, true);
  if (headerLength > ARTIFACT_MAX_HEADER_SIZE || ARTIFACT_PREFIX_SIZE + headerLength > body) {
    throw corrupt(`header length ${headerLength} does not fit the file`);
  }
  let header: ArtifactHeader;
  try {
    header = JSON.parse(
      new TextDecoder("utf-8", { fatal: true }).decode(
        bytes.subarray(ARTIFACT_PREFIX_SIZE, ARTIFACT_PREFIX_SIZE + headerLength),
      ),
    ) as ArtifactHeader;
  } catch (e) {
    throw corrupt(`header is not UTF-8 JSON (${(e as Error).message})`);
  }
  if (typeof header !== "object" || header === null) throw corrupt("header is not an object");
  for (const k of STRING_FIELDS)
    if (typeof header[k] !== "string") throw corrupt(`header field "${k}" missing`);
  if (typeof header.abiVersion !== "number" || typeof header.moduleLength !== "number") {
    throw corrupt("header numbers missing");
  }
  const moduleStart = ARTIFACT_PREFIX_SIZE + headerLength;
  if (moduleStart + header.moduleLength !== body) {
    throw corrupt(
      `module length ${header.moduleLength} does not match the file (${body - moduleStart} bytes)`,
    );
  }
  return { header, module: bytes.subarray(moduleStart, body) };
}

/** The first field that differs, as a readable reason, or undefined when the artifact fits `want`. */
export function mismatch(have: ArtifactTarget, want: ArtifactTarget): string | undefined {
  const labels: Record<keyof ArtifactTarget, string> = {
    ncwVersion: "NCW version",
    engine: "engine",
    cpu: "host CPU",
    inputHash: "program (input hash)",
    abiVersion: "ABI version",
    options: "AOT options",
  };
  for (const k of Object.keys(labels) as (keyof ArtifactTarget)[]) {
    if (have[k] !== want[k]) {
      return `built for ${labels[k]} ${JSON.stringify(have[k])}, this is ${JSON.stringify(want[k])}`;
    }
  }
  return undefined;
}

let cachedVersion: string | undefined;

/** NCW's version, from the package.json of the ncw package this file belongs to. */
export function ncwVersion(): string {
  if (cachedVersion !== undefined) return cachedVersion;
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const p = path.join(dir, "package.json");
    if (existsSync(p)) {
      const pkg = JSON.parse(readFileSync(p, "utf8")) as { name?: string; version?: string };
      if (pkg.name === "ncw" && typeof pkg.version === "string") {
        cachedVersion = pkg.version;
        return pkg.version;
      }
    }
    const up = path.dirname(dir);
    if (up === dir) throw new Error("cannot find NCW's package.json");
    dir = up;
  }
}

export function engineId(): string {
  return `node ${process.version} / V8 ${process.versions.v8}`;
}

/** The host CPU an artifact is built for (asked of the host in native/host-info.ts). */
export { cpuId } from "../../native/host-info.js";
