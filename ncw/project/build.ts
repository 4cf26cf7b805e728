// `ncw build` (docs/dev-loop.md "Building"): compile a project's sources with its toolchain into the
// NPP its manifest names, pack the .nap into build/, and build the test program (build/test.npp) from
// tests/. Incremental: each output records the hash of everything it was made from (sources, manifest,
// assets, the SDK, the mode, NCW's version) in .ncw/build.json, and is not made again while that
// hash and the output are unchanged.

import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { assembleProgram } from "../../commonassembly/program.js";
import { buildProgram, sdkDir, ToolchainError } from "../../commonassembly/sdk/toolchains.js";
import { NcwError } from "../errors.js";
import { defaultPackageName, writePackageFile } from "../package/package.js";
import { BUILD_DIR, listFiles, type Project, STATE_DIR } from "./project.js";
import {
  discoverTests,
  encodeTestsMetadata,
  type TestCase,
  testEntryPath,
  testEntrySource,
  testFiles,
} from "./tests.js";

export interface BuildOptions {
  /** Debug build: no optimisation, names kept. Default false (release). */
  debug?: boolean;
  /** Build the test program too (`ncw test`; `ncw build --tests`). */
  tests?: boolean;
  /** Build even what is up to date. */
  force?: boolean;
}

export interface BuiltOutput {
  /** Absolute path of the output. */
  path: string;
  /** False: it was up to date and left as it was. */
  built: boolean;
  ms: number;
}

export interface BuildResult {
  program: BuiltOutput;
  nap: BuiltOutput;
  test?: BuiltOutput & { tests: TestCase[] };
}

/** The SDK files a project's sources use, copied into .ncw/sdk (the scaffold imports them there). */
const SDK_FILES = [
  "as/command.ts",
  "as/fs.ts",
  "as/nightos.ts",
  "as/test.ts",
  "c/nightos.h",
  "c/nightos_command.h",
  "c/nightos_fs.h",
  "c/nightos_test.h",
];

/** Copies NCW's SDK into the project's .ncw/sdk when it differs (an NCW update brings a new one). */
export function syncSdk(dir: string): string {
  const to = path.join(dir, STATE_DIR, "sdk");
  for (const f of SDK_FILES) {
    const src = path.join(sdkDir(), f);
    const dst = path.join(to, f);
    if (existsSync(dst) && readFileSync(dst).equals(readFileSync(src))) continue;
    mkdirSync(path.dirname(dst), { recursive: true });
    copyFileSync(src, dst);
  }
  return to;
}

function ncwVersion(): string {
  const pkg = path.join(path.dirname(sdkDir()), "package.json");
  return (JSON.parse(readFileSync(pkg, "utf8")) as { version: string }).version;
}

/** The hash of the files (relative paths and contents) and the words that make an output. */
function inputsHash(p: Project, files: readonly string[], words: readonly string[]): string {
  const h = createHash("sha256");
  for (const w of words) h.update(`${w}\0`);
  for (const f of [...new Set(files)].sort()) {
    h.update(`${f}\0`);
    h.update(readFileSync(path.join(p.dir, f)));
    h.update("\0");
  }
  return h.digest("hex");
}

interface State {
  [output: string]: string;
}
function readState(p: Project): State {
  try {
    return JSON.parse(readFileSync(path.join(p.dir, STATE_DIR, "build.json"), "utf8")) as State;
  } catch {
    return {};
  }
}
function writeState(p: Project, s: State): void {
  writeFileSync(path.join(p.dir, STATE_DIR, "build.json"), `${JSON.stringify(s, null, 2)}\n`);
}

/** Throws what to install when the project's compiler is not here. */
export function checkToolchain(toolchain: "as" | "c"): void {
  if (toolchain === "as") {
    try {
      createRequire(import.meta.url).resolve("assemblyscript/package.json");
    } catch {
      throw new NcwError("not-found", "the AssemblyScript compiler (asc) is not installed", {
        code: "BUILD_NO_ASC",
        hint: "install it beside NCW: `npm install assemblyscript@0.28` in NCW's folder",
      });
    }
    return;
  }
  const ok = (cmd: string) => spawnSync(cmd, ["--version"], { stdio: "ignore" }).status === 0;
  const missing = ["clang", "wasm-ld"].filter((c) => !ok(c));
  if (missing.length > 0)
    throw new NcwError(
      "not-found",
      `${missing.join(" and ")} ${missing.length > 1 ? "are" : "is"} not on the PATH: C projects build with clang --target=wasm32 and wasm-ld`,
      {
        code: "BUILD_NO_CLANG",
        hint: "install clang and lld: `apt install clang lld` (Debian, Ubuntu), `brew install llvm` (macOS, then put its bin/ on the PATH), or LLVM's installer (Windows)",
      },
    );
}

/** Compiles `sources` into the NPP `out` (a .wasm in .ncw/ on the way). */
async function compile(
  p: Project,
  sources: readonly string[],
  out: string,
  opts: BuildOptions,
  sdk: string,
  metadata: Record<string, string> = {},
): Promise<void> {
  const wasm = path.join(p.dir, STATE_DIR, `${path.basename(out, ".npp")}.wasm`);
  try {
    buildProgram(p.toolchain, sources, wasm, { sdk, cwd: p.dir, debug: opts.debug === true });
  } catch (e) {
    if (e instanceof ToolchainError)
      throw new NcwError("failure", `the build failed:\n${e.output.trimEnd()}`, {
        code: "BUILD_COMPILE",
        hint: "fix the errors above (file:line as the compiler names them)",
      });
    throw e;
  }
  mkdirSync(path.dirname(out), { recursive: true });
  // asc names its exported table `table` (docs/commonassembly.md §9).
  const renameExports =
    p.toolchain === "as"
      ? new Map([["table", "__indirect_function_table"]])
      : new Map<string, string>();
  await assembleProgram(wasm, out, {
    renameExports,
    metadata: { name: p.manifest.infos.slug, ...metadata },
  });
  rmSync(wasm, { force: true });
}

export async function buildProject(p: Project, opts: BuildOptions = {}): Promise<BuildResult> {
  checkToolchain(p.toolchain);
  const sdk = syncSdk(p.dir);
  const sdkFiles = SDK_FILES.map((f) => `${STATE_DIR}/sdk/${f}`);
  const srcExts = p.toolchain === "as" ? [".ts"] : [".c", ".h"];
  const srcFiles = listFiles(p, "src", srcExts);
  const mode = [ncwVersion(), p.toolchain, opts.debug === true ? "debug" : "release"];
  const state = opts.force === true ? {} : readState(p);
  const fresh = (key: string, hash: string, out: string) => state[key] === hash && existsSync(out);

  // The program the manifest names.
  const programPath = path.join(p.dir, p.precomp);
  const programHash = inputsHash(p, [p.entry, ...srcFiles, ...sdkFiles], mode);
  let t = performance.now();
  const programBuilt = !fresh("program", programHash, programPath);
  if (programBuilt) {
    const others =
      p.toolchain === "c" ? srcFiles.filter((f) => f.endsWith(".c") && f !== p.entry) : [];
    delete state.program;
    await compile(p, [p.entry, ...others], programPath, opts, sdk);
    state.program = programHash;
    writeState(p, state);
  }
  const program = { path: programPath, built: programBuilt, ms: performance.now() - t };

  // The package: everything pack takes (the manifest, the program, assets), so any of them.
  t = performance.now();
  const napPath = path.join(p.dir, BUILD_DIR, defaultPackageName(p.manifest));
  const napHash = inputsHash(
    p,
    ["manifest.toml", p.precomp, ...listFiles(p, "assets", [""])],
    mode,
  );
  const napBuilt = !fresh("nap", napHash, napPath);
  if (napBuilt) {
    delete state.nap;
    mkdirSync(path.dirname(napPath), { recursive: true });
    await writePackageFile(p.dir, napPath, {});
    state.nap = napHash;
    writeState(p, state);
  }
  const nap = { path: napPath, built: napBuilt, ms: performance.now() - t };
  if (opts.tests !== true) return { program, nap };

  // The test program: the tests, the sources they use (not the app's entry), the generated entry.
  t = performance.now();
  const tests = discoverTests(p);
  const testPath = path.join(p.dir, BUILD_DIR, "test.npp");
  const entry = testEntryPath(p);
  const source = testEntrySource(p, tests);
  const testInputs = [...testFiles(p), ...srcFiles, ...sdkFiles];
  const testHash = inputsHash(p, testInputs, [...mode, source]);
  const testBuilt = tests.length > 0 && !fresh("test", testHash, testPath);
  if (testBuilt) {
    delete state.test;
    writeFileSync(path.join(p.dir, entry), source);
    const others =
      p.toolchain === "c" ? srcFiles.filter((f) => f.endsWith(".c") && f !== p.entry) : [];
    // The tests travel in the program's metadata: `ncw test build/test.npp` needs no sources.
    await compile(p, [entry, ...others], testPath, opts, sdk, encodeTestsMetadata(tests));
    state.test = testHash;
    writeState(p, state);
  }
  return {
    program,
    nap,
    test: { path: testPath, built: testBuilt, ms: performance.now() - t, tests },
  };
}
