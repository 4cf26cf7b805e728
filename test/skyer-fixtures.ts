// Fixtures for Skyer's black-box tests: package folders written from a few parameters, packed
// with the real package writer, and snapshots of a home's NightOS tree (on either backend: host
// folders or the Btrfs image, read through the FsLayer) to prove it is untouched.

import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  closeSync,
  cpSync,
  existsSync,
  ftruncateSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  readSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect } from "vitest";
import { encodeNpp } from "../commonassembly/npp.js";
import { watToWasm } from "../commonassembly/text.js";
import { homeLayout } from "../ncw/home.js";
import { writePackageFile } from "../ncw/package/package.js";
import type { FsLayer } from "../services/fs/layer.js";
import { openTree, type TreeBackend, treeBackendOf } from "../services/fs/open.js";
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

/**
 * A home's Btrfs image, summarised without reading its gigabytes of holes: size, modification time
 * and the md5 of its first 1 MiB + 4 KiB (boot area and primary superblock, whose generation and
 * root pointers change with every commit). Equal summaries mean nothing was committed or written.
 */
function imageSummary(file: string): string {
  const st = lstatSync(file);
  const fd = openSync(file, "r");
  try {
    const head = Buffer.alloc((1 << 20) + 4096);
    const n = readSync(fd, head, 0, head.length, 0);
    const md5 = createHash("md5").update(head.subarray(0, n)).digest("hex");
    return `image ${st.size} bytes, mtime ${st.mtimeMs}, head ${md5}`;
  } finally {
    closeSync(fd);
  }
}

/**
 * Every item of a host folder: path -> "dir", "-> target" or the file's md5 (a Btrfs image
 * `nightos.img`: its summary, see imageSummary).
 */
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
      } else if (name === "nightos.img") out[r] = imageSummary(abs);
      else out[r] = createHash("md5").update(readFileSync(abs)).digest("hex");
    }
  };
  walk(root, "");
  return out;
}

/** The backend a home's tree uses (what `ncw` would pick, without NCW_TREE_BACKEND). */
export function backendOf(home: string): TreeBackend {
  return treeBackendOf(homeLayout(home), {});
}

/** Runs `fn` on a home's NightOS tree, opened read-only (the last committed state). */
export async function withTree<T>(home: string, fn: (fs: FsLayer) => Promise<T>): Promise<T> {
  const fs = await openTree(homeLayout(home), { backend: backendOf(home), access: "read" });
  try {
    return await fn(fs);
  } finally {
    await fs.close();
  }
}

/**
 * Every item of a home's NightOS tree, on whichever backend it uses, in snapshot()'s format
 * (relative path -> "dir", "-> target" or md5): the content, not the image's bytes.
 */
export function treeSnapshot(home: string): Promise<Record<string, string>> {
  return withTree(home, async (fs) => {
    const out: Record<string, string> = {};
    const walk = async (dir: string, rel: string) => {
      const entries = (await fs.readdir(dir)).sort((a, b) => (a.name < b.name ? -1 : 1));
      for (const e of entries) {
        const p = `${dir === "/" ? "" : dir}/${e.name}`;
        const r = rel === "" ? e.name : `${rel}/${e.name}`;
        if (e.kind === "symlink") out[r] = `-> ${await fs.readlink(p)}`;
        else if (e.kind === "dir") {
          out[r] = "dir";
          await walk(p, r);
        } else
          out[r] = createHash("md5")
            .update(await fs.readFile(p))
            .digest("hex");
      }
    };
    await walk("/", "");
    return out;
  });
}

/** A file of a home's NightOS tree as text (undefined when missing). */
export function readTreeText(home: string, p: string): Promise<string | undefined> {
  return withTree(home, async (fs) =>
    (await fs.stat(p)) ? new TextDecoder().decode(await fs.readFile(p)) : undefined,
  );
}

/**
 * What "the home is untouched" means after a refused command (docs/skyer.md "Tree backends"):
 * `bytes`: nothing was written at all, every host file of the home is identical, the Btrfs image
 * included (same size, mtime and superblock: no commit); for failures found before anything is
 * written (the package reader, sideloading, AID and library checks, the AOT step of an install).
 * `content`: the NightOS tree's content, walked through the FsLayer, is identical, and so is every
 * host file of the home except the image's bytes; for failures found after an operation started
 * writing (a .nau's staged content failing its checks): the rollback is itself committed, so the
 * image has a new generation holding the old tree.
 */
export type Untouched = "bytes" | "content";

export interface HomeState {
  files: Record<string, string>;
  tree: Record<string, string>;
}

export async function homeState(home: string): Promise<HomeState> {
  return { files: snapshot(home), tree: await treeSnapshot(home) };
}

/** Checks a home against its state before a refused command. */
export async function expectUntouched(
  home: string,
  before: HomeState,
  how: Untouched = "bytes",
): Promise<void> {
  const now = await homeState(home);
  if (how === "bytes") expect(now.files).toEqual(before.files);
  else {
    const noImage = (f: Record<string, string>) => {
      const out = { ...f };
      delete out["nightos.img"];
      return out;
    };
    expect(noImage(now.files)).toEqual(noImage(before.files));
  }
  expect(now.tree).toEqual(before.tree);
}

/** Writes a file of a home's NightOS tree (as an app would write its data), committed. */
export async function writeTreeText(home: string, p: string, text: string): Promise<void> {
  const fs = await openTree(homeLayout(home), { backend: backendOf(home), access: "write" });
  try {
    await fs.writeFile(p, new TextEncoder().encode(text));
    await fs.sync();
  } finally {
    await fs.close();
  }
}

/** Whether a path exists in a home's NightOS tree. */
export function treeHas(home: string, p: string): Promise<boolean> {
  return withTree(home, async (fs) => (await fs.stat(p)) !== null);
}

/**
 * Copies a home, keeping its Btrfs image sparse (Node's cpSync writes every hole of an 8 GiB image
 * out as zeros): GNU cp --sparse=always where there is one, a clone (cp -c) on macOS, else a copy
 * that skips zero blocks.
 */
export function copyHome(from: string, to: string): void {
  cpSync(from, to, { recursive: true, filter: (src) => path.basename(src) !== "nightos.img" });
  const img = path.join(from, "nightos.img");
  if (!existsSync(img)) return;
  const dest = path.join(to, "nightos.img");
  if (spawnSync("cp", ["--sparse=always", img, dest]).status === 0) return; // GNU
  if (process.platform === "darwin" && spawnSync("cp", ["-c", img, dest]).status === 0) return; // APFS clone
  const src = openSync(img, "r");
  const out = openSync(dest, "w");
  try {
    const buf = Buffer.alloc(1 << 20);
    let off = 0;
    for (;;) {
      const n = readSync(src, buf, 0, buf.length, off);
      if (n === 0) break;
      if (buf.subarray(0, n).some((b) => b !== 0)) writeSync(out, buf, 0, n, off);
      off += n;
    }
    ftruncateSync(out, off);
  } finally {
    closeSync(src);
    closeSync(out);
  }
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
