// Builds a NightOS program from AssemblyScript or C sources with the flags of docs/commonassembly.md §9
// and the SDK of sdk/ (docs/sdk.md), to a .wasm that `ncw ca asm` turns into an NPP. Used by
// scripts/build-examples.mjs (toolchain "as" / "c" in a manifest) and by the SDK's tests, so the flags
// live in one place.

import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

/** sdk/ of the repository (or the installed package): from dist/commonassembly/sdk too. */
export function sdkDir(): string {
  const up = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
  return path.join(path.basename(up) === "dist" ? path.dirname(up) : up, "sdk");
}

/** How a program is built (`ncw build`, docs/dev-loop.md); the examples take the defaults. */
export interface BuildOptions {
  /** The SDK folder (holding as/ and c/): default this repository's or package's sdk/. */
  sdk?: string;
  /** The folder the compiler runs in (its messages name files relative to it): default the current one. */
  cwd?: string;
  /** Debug: no optimisation, function names kept (`ncw build` without --release). Default: release. */
  debug?: boolean;
}

/** The asc flags of §9; the abort handler of the command API reports on CMDERR and fails the command. */
export function ascArgs(entry: string, out: string, opts: BuildOptions = {}): string[] {
  const abort = path
    .relative(opts.cwd ?? process.cwd(), path.join(opts.sdk ?? sdkDir(), "as", "command"))
    .split(path.sep);
  return [
    entry,
    "-o",
    out,
    "--enable",
    "threads",
    "--sharedMemory",
    "--maximumMemory",
    "256",
    "--exportTable",
    "--exportStart",
    "_start",
    "--memoryBase",
    "1024",
    "--runtime",
    "stub",
    ...(opts.debug === true ? ["-O0", "--debug"] : ["-O2"]),
    "--use",
    `abort=${abort.join("/")}/commandAbort`,
  ];
}

/** The clang flags of §9, with sdk/c on the include path. */
export function clangArgs(
  entry: string | readonly string[],
  out: string,
  opts: BuildOptions = {},
): string[] {
  return [
    "--target=wasm32",
    ...(opts.debug === true ? ["-O0", "-g"] : ["-O2"]),
    "-nostdlib",
    "-matomics",
    "-mbulk-memory",
    "-Wl,--export=_start",
    "-Wl,--export-table",
    "-Wl,--shared-memory",
    "-Wl,--max-memory=16777216",
    "-Wl,--import-undefined",
    "-Wall",
    "-I",
    path.join(opts.sdk ?? sdkDir(), "c"),
    "-o",
    out,
    ...(typeof entry === "string" ? [entry] : entry),
  ];
}

/** Runs asc (the assemblyscript devDependency) or clang; throws with the tool's output on failure. */
export function buildProgram(
  toolchain: "as" | "c",
  entry: string | readonly string[],
  out: string,
  opts: BuildOptions = {},
): void {
  const entries = typeof entry === "string" ? [entry] : entry;
  const [cmd, args] =
    toolchain === "as"
      ? [
          process.execPath,
          [
            path.join(
              path.dirname(createRequire(import.meta.url).resolve("assemblyscript/package.json")),
              "bin",
              "asc.js",
            ),
            ...entries.flatMap((e, i) => (i === 0 ? ascArgs(e, out, opts) : [e])),
          ],
        ]
      : ["clang", clangArgs(entries, out, opts)];
  const r = spawnSync(cmd, args, {
    encoding: "utf8",
    env: toolEnv(),
    ...(opts.cwd === undefined ? {} : { cwd: opts.cwd }),
  });
  if (r.error !== undefined || r.status !== 0) {
    const why = r.error !== undefined ? `${r.error.message}\n` : "";
    const output = `${r.stdout ?? ""}${r.stderr ?? ""}`;
    throw new ToolchainError(
      `${toolchain === "as" ? "asc" : "clang"} failed on ${entries.join(" ")}:\n${why}${output}`,
      output,
    );
  }
}

/** A compiler's failure: `output` is what it printed (its errors, with file:line), as it printed it. */
export class ToolchainError extends Error {
  constructor(
    message: string,
    readonly output: string,
  ) {
    super(message);
  }
}

/**
 * The environment the compilers run in: without npm's `node_modules/.bin` on the PATH. clang's wasm
 * driver runs a `wasm-opt` it finds on the PATH after linking, and during `npm install` (the prepare
 * step) that PATH holds Binaryen's: the same sources would then build to another program inside and
 * outside npm, and the committed examples' main.npp would change on every install.
 */
function toolEnv(): NodeJS.ProcessEnv {
  const dirs = (process.env.PATH ?? "").split(path.delimiter);
  const kept = dirs.filter((d) => !d.split(path.sep).includes("node_modules"));
  return { ...process.env, PATH: kept.join(path.delimiter) };
}
