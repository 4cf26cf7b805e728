// An app project as `ncw init` makes it and `ncw build` / `ncw test` read it (docs/dev-loop.md): a
// folder with manifest.toml whose [content.program.source] names the toolchain ("as" or "c") and the
// entry, src/ with the sources, tests/ with the tests; `.ncw/` holds NCW's own state (the SDK copy,
// the build cache, the generated test entry) and `build/` what the build makes.

import { existsSync, readdirSync, statSync } from "node:fs";
import path from "node:path";
import { NcwError } from "../errors.js";
import type { Manifest } from "../manifest/types.js";
import { readDirManifest } from "../package/package.js";

export type Toolchain = "as" | "c";

export interface Project {
  /** Absolute path of the project's folder. */
  dir: string;
  manifest: Manifest;
  toolchain: Toolchain;
  /** The entry source, relative to `dir` (the manifest's build.entry). */
  entry: string;
  /** The program the build writes, relative to `dir` (the manifest's precomp). */
  precomp: string;
}

/** NCW's state in a project (gitignored): the SDK copy, the build cache, the test entry. */
export const STATE_DIR = ".ncw";
/** What the build makes: the package and the test program. */
export const BUILD_DIR = "build";

export async function loadProject(dir: string): Promise<Project> {
  const abs = path.resolve(dir);
  if (!existsSync(path.join(abs, "manifest.toml")))
    throw new NcwError("not-found", `${dir} holds no manifest.toml: it is not an app project`, {
      code: "PROJECT_NO_MANIFEST",
      hint: "create one with `ncw init <dir>`, or give the project's folder",
    });
  const manifest = await readDirManifest(abs);
  const program = manifest.content.program;
  const toolchain = program.source?.toolchain;
  const entry = program.source?.build.entry;
  if (toolchain !== "as" && toolchain !== "c")
    throw new NcwError(
      "usage",
      `the manifest's [content.program.source] toolchain is ${toolchain === undefined ? "missing" : `"${toolchain}"`}: \`ncw build\` builds "as" (AssemblyScript) and "c" projects`,
      {
        code: "PROJECT_TOOLCHAIN",
        hint: 'set toolchain = "as" or "c" and build = { entry = "src/main.ts" } (docs/dev-loop.md)',
      },
    );
  if (typeof entry !== "string" || program.precomp === undefined)
    throw new NcwError(
      "usage",
      "the manifest names no build.entry or no precomp: `ncw build` needs both",
      {
        code: "PROJECT_ENTRY",
        hint: '[content.program] precomp = "main.npp" and [content.program.source] build = { entry = "src/main.ts" }',
      },
    );
  return { dir: abs, manifest, toolchain, entry, precomp: program.precomp };
}

/** The files under `sub` (relative to the project, sorted, "/" separators), ending in one of `exts`. */
export function listFiles(p: { dir: string }, sub: string, exts: readonly string[]): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    const abs = path.join(p.dir, rel);
    if (!existsSync(abs)) return;
    for (const name of readdirSync(abs).sort()) {
      const r = `${rel}/${name}`;
      const st = statSync(path.join(p.dir, r));
      if (st.isDirectory()) walk(r);
      else if (exts.some((e) => name.endsWith(e))) out.push(r);
    }
  };
  walk(sub);
  return out;
}
