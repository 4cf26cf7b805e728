// What `ncw run` starts: a program file (.npp, .wasm, .wat) or an app package (.nap / .nva, whose
// manifest names the pre-compiled program), AOT-compiled through the cache (commonassembly/aot).

import { readFileSync } from "node:fs";
import path from "node:path";
import { decodeArtifact } from "../commonassembly/aot/artifact.js";
import { aotCompile } from "../commonassembly/aot/cache.js";
import { loadProgram } from "../commonassembly/program.js";
import { NcwError } from "../ncw/errors.js";
import type { HomeLayout } from "../ncw/home.js";
import { readPackageFile } from "../ncw/package/package.js";

export interface Runnable {
  /** Shown in `ncw ps` and messages. */
  name: string;
  /** The AOT-instrumented module. */
  wasm: Uint8Array;
  /** How long the AOT step took and whether the cache served it. */
  aot: { cached: boolean; ms: number };
}

async function compile(
  bytes: Uint8Array,
  home: HomeLayout,
): Promise<{ wasm: Uint8Array; cached: boolean; ms: number }> {
  const t0 = performance.now();
  const r = await aotCompile(bytes, { cacheDir: home.cache });
  const artifact = decodeArtifact(new Uint8Array(readFileSync(r.artifactPath)));
  return { wasm: artifact.module, cached: r.cached, ms: performance.now() - t0 };
}

export async function resolveRunnable(target: string, home: HomeLayout): Promise<Runnable> {
  const ext = path.extname(target).toLowerCase();
  if (ext === ".nap" || ext === ".nva") {
    const pkg = await readPackageFile(target);
    const precomp = pkg.manifest.content.program.precomp;
    if (precomp === undefined) {
      throw new NcwError(
        "data",
        `${target}: the manifest has no pre-compiled program (content.program.precomp)`,
        {
          code: "RUN_NO_PRECOMP",
          hint: "build the program into an .npp (`ncw ca asm`) and name it in content.program.precomp",
        },
      );
    }
    const npp = pkg.files.get(precomp);
    if (npp === undefined) {
      throw new NcwError(
        "data",
        `${target}: content.program.precomp names ${precomp}, which is not in the package`,
        {
          code: "RUN_PRECOMP_MISSING",
        },
      );
    }
    const c = await compile(npp, home);
    const aid = `${pkg.manifest.infos.did}::${pkg.manifest.infos.slug}`;
    return { name: aid, wasm: c.wasm, aot: { cached: c.cached, ms: c.ms } };
  }
  if (ext === "" && /^[a-z_][a-z0-9_]*::[a-z_][a-z0-9_]*$/.test(target)) {
    throw new NcwError(
      "not-found",
      `running an installed app by AID (${target}) is not supported yet`,
      {
        code: "RUN_AID_UNSUPPORTED",
        hint: "run its package file instead: ncw run <pkg.nap>",
      },
    );
  }
  const program = await loadProgram(target);
  const c = await compile(program.kind === "npp" ? program.file : program.module, home);
  return { name: path.basename(target), wasm: c.wasm, aot: { cached: c.cached, ms: c.ms } };
}
