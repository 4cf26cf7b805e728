// Fixtures for Skyer's black-box tests: package folders written from a few parameters, packed
// with the real package writer, and snapshots of a home's NightOS tree to prove it is untouched.

import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import {
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  writeFileSync,
} from "node:fs";
import os from "node:os";
import path from "node:path";
import { encodeNpp } from "../commonassembly/npp.js";
import { watToWasm } from "../commonassembly/text.js";
import { writePackageFile } from "../ncw/package/package.js";
import { NCW_JS } from "./helpers/ncw.js";

export interface AppSpec {
  aid: string;
  version: string;
  lib?: boolean;
  libs?: Record<string, string>;
  events?: Partial<Record<"postinstall" | "preupdate" | "postupdate" | "preuninstall", boolean>>;
  /** Extra files (relative path -> text). */
  files?: Record<string, string>;
  /**
   * main.npp's bytes, named by content.program.precomp so that installing runs the AOT step. By
   * default the package is a source package (content.program.source) and main.npp is a plain file.
   */
  npp?: Uint8Array;
  /** Libraries to embed, each in libs/<slug>/ ([embedded] libraries). */
  embed?: AppSpec[];
}

/**
 * A valid NPP program (the smallest CommonAssembly module: it returns from _start, exit data 0),
 * built with the toolchain, for packages whose install runs the AOT step.
 */
export const VALID_NPP: Uint8Array = await encodeNpp(
  await watToWasm(
    `(module (memory (export "memory") 1 16 shared)
       (table (export "__indirect_function_table") 0 funcref)
       (func (export "_start")))`,
  ),
);

export function manifestToml(s: AppSpec): string {
  const [did, slug] = s.aid.split("::");
  const deps = Object.entries(s.libs ?? {})
    .map(([a, r]) => `"${a}" = "${r}"`)
    .join("\n");
  const events = Object.entries(s.events ?? {})
    .map(([k, v]) => `${k} = ${v}`)
    .join("\n");
  return [
    `type = "${s.lib ? "library" : "application"}"`,
    "[infos]",
    `name = "${slug} app"`,
    `slug = "${slug}"`,
    `did = "${did}"`,
    `description = "test package"`,
    `version = "${s.version}"`,
    `authors = [{ name = "Ada" }]`,
    `icon = "icon-%{}.svg"`,
    `license = "MIT"`,
    "[content.program]",
    ...(s.npp !== undefined
      ? [`precomp = "main.npp"`]
      : ["[content.program.source]", `toolchain = "wat"`, `build = { entry = "src/main.wat" }`]),
    "[dependencies.libraries]",
    deps,
    ...(s.lib ? [] : ["[sysfeatures]", "crash_saves_support = false", "[events]", events]),
    ...(s.embed === undefined
      ? []
      : [
          "[embedded]",
          `libraries = [${s.embed.map((l) => `"libs/${l.aid.split("::")[1]}"`).join(", ")}]`,
        ]),
    "",
  ].join("\n");
}

/** Write a package folder for `spec` under `root` and return its path. */
export function makeAppDir(root: string, spec: AppSpec): string {
  const dir = path.join(
    root,
    `${spec.aid.replace("::", ".")}-${spec.version}-${Math.random().toString(36).slice(2, 8)}`,
  );
  writeItem(dir, spec);
  return dir;
}

function writeItem(dir: string, spec: AppSpec): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, "manifest.toml"), manifestToml(spec));
  writeFileSync(path.join(dir, "main.npp"), spec.npp ?? `program of ${spec.aid} ${spec.version}\n`);
  writeFileSync(path.join(dir, "icon-16.svg"), "<svg/>\n");
  for (const [p, text] of Object.entries(spec.files ?? {})) {
    mkdirSync(path.dirname(path.join(dir, p)), { recursive: true });
    writeFileSync(path.join(dir, p), text);
  }
  for (const lib of spec.embed ?? [])
    writeItem(path.join(dir, "libs", lib.aid.split("::")[1]!), lib);
}

/** Build a .nap (or .nva) for `spec` in `root` with the real package writer. */
export async function makePackage(root: string, spec: AppSpec, volatile = false): Promise<string> {
  const dir = makeAppDir(root, spec);
  const out = `${dir}.${volatile ? "nva" : "nap"}`;
  await writePackageFile(dir, out, { volatile });
  return out;
}

export function tempDir(prefix: string): string {
  return mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** Every item of a host folder: path -> "dir", "-> target" or the file's md5. */
export function snapshot(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (dir: string, rel: string) => {
    let names: string[];
    try {
      names = readdirSync(dir).sort();
    } catch {
      return;
    }
    for (const name of names) {
      const abs = path.join(dir, name);
      const r = rel === "" ? name : `${rel}/${name}`;
      const st = lstatSync(abs);
      if (st.isSymbolicLink()) out[r] = `-> ${readlinkSync(abs)}`;
      else if (st.isDirectory()) {
        out[r] = "dir";
        walk(abs, r);
      } else out[r] = createHash("md5").update(readFileSync(abs)).digest("hex");
    }
  };
  walk(root, "");
  return out;
}

export interface NcwResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

const PARALLEL = Math.max(2, Math.min(4, os.availableParallelism()));
let running = 0;
const waiting: (() => void)[] = [];

/**
 * Run the built `ncw` asynchronously (like test/helpers/ncw.ts, without blocking), at most
 * PARALLEL at once across the test file, so independent homes are worked on concurrently.
 */
export async function ncwAsync(
  args: string[],
  env: Record<string, string> = {},
): Promise<NcwResult> {
  while (running >= PARALLEL) await new Promise<void>((r) => waiting.push(r));
  running++;
  try {
    const e: Record<string, string | undefined> = { ...process.env, ...env };
    delete e.FORCE_COLOR;
    delete e.NO_COLOR;
    const child = spawn(process.execPath, [NCW_JS, ...args], { env: e as NodeJS.ProcessEnv });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding("utf8").on("data", (d: string) => {
      stderr += d;
    });
    const [status, signal] = await new Promise<[number | null, NodeJS.Signals | null]>(
      (resolve, reject) => {
        child.on("error", reject);
        child.on("close", (code, sig) => resolve([code, sig]));
      },
    );
    return { status, signal, stdout, stderr };
  } finally {
    running--;
    waiting.shift()?.();
  }
}
