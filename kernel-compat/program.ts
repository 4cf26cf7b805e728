// What `ncw run` starts: a program file (.npp, .wasm, .wat), an app package (.nap / .nva, whose
// manifest names the pre-compiled program) or an installed app by AID (asked of Skyer's query API,
// services/skyer/query.ts), AOT-compiled through the cache (commonassembly/aot).

import { readFileSync } from "node:fs";
import path from "node:path";
import { decodeArtifact } from "../commonassembly/aot/artifact.js";
import { aotCached } from "../commonassembly/aot/cache.js";
import { aotCompileOffThread } from "../commonassembly/aot/off-thread.js";
import { loadProgram } from "../commonassembly/program.js";
import { NcwError } from "../ncw/errors.js";
import type { HomeLayout } from "../ncw/home.js";
import { readPackageFile } from "../ncw/package/package.js";
import { SYS_LIB_AID } from "../services/skyer/libs.js";
import type { SkyerQuery } from "../services/skyer/query.js";

export interface Runnable {
  /** Shown in `ncw ps` and messages. */
  name: string;
  /** The AOT-instrumented module. */
  wasm: Uint8Array;
  /** How long the AOT step took and whether the cache served it. */
  aot: { cached: boolean; ms: number };
  /** For an installed app: its ANID (the execution context carries it). */
  anid?: number;
}

/**
 * How the kernel asks Skyer about installed apps (services/skyer/query.ts): injected by the server,
 * which opens the home's tree read-only for the questions `f` asks and closes it after.
 */
export type AppQuery = <T>(f: (q: SkyerQuery) => Promise<T>) => Promise<T>;

/**
 * An installed application by AID: the install of the request's NightOS user before the global one;
 * its content.program.precomp, compiled through the cache (the artifact Skyer made at install time is
 * reused). The user comes with each request, never from the kernel's environment (docs/security.md).
 */
async function resolveInstalled(aid: string, user: string, apps: AppQuery): Promise<Installed> {
  return apps(async (q) => {
    const found = await q.installedApp(aid, user);
    if (!found.ok) {
      // The built-in library (sys::lib) is no entry of Skyer's database, but it is a library all the same.
      const lib = found.why === "library" || aid === SYS_LIB_AID;
      throw new NcwError(
        "not-found",
        lib
          ? `${aid} is an installed library, not an application: it cannot be run`
          : `no application ${aid} is installed (for user ${user} or globally)`,
        {
          code: lib ? "RUN_AID_IS_LIBRARY" : "RUN_AID_NOT_INSTALLED",
          hint: "list installed apps with `ncw skyer list`; install one with `ncw skyer install <pkg.nap>`",
        },
      );
    }
    const program = await q.program(found.app);
    if (!program.ok && program.why === "no-precomp") {
      throw new NcwError("data", `${aid} has no pre-compiled program (content.program.precomp)`, {
        code: "RUN_NO_PRECOMP",
        hint: "its package must name an .npp in content.program.precomp",
      });
    }
    if (!program.ok) {
      throw new NcwError(
        "data",
        `${aid}: its program ${program.file} is missing from the NightOS tree`,
        {
          code: "RUN_PRECOMP_MISSING",
          hint: "reinstall the application (`ncw skyer install`)",
        },
      );
    }
    return { bytes: program.bytes, anid: found.app.anid };
  });
}

interface Installed {
  bytes: Uint8Array;
  anid: number;
}

async function compile(
  bytes: Uint8Array,
  home: HomeLayout,
  signal: AbortSignal | undefined,
): Promise<{ wasm: Uint8Array; cached: boolean; ms: number }> {
  const t0 = performance.now();
  // A cache hit never loads Binaryen; a miss compiles in a child process, cancelled with its client.
  const hit = aotCached(bytes, { cacheDir: home.cache });
  const r = hit ?? (await aotCompileOffThread(bytes, home.cache, signal));
  const artifact = decodeArtifact(new Uint8Array(readFileSync(r.artifactPath)));
  return { wasm: artifact.module, cached: r.cached, ms: performance.now() - t0 };
}

/**
 * What a `run` request names, for the NightOS user `user` (who matters for an installed app's AID);
 * aborting `signal` cancels a compile in progress.
 */
export async function resolveRunnable(
  target: string,
  home: HomeLayout,
  user: string,
  apps: AppQuery,
  signal?: AbortSignal,
): Promise<Runnable> {
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
    const c = await compile(npp, home, signal);
    const aid = `${pkg.manifest.infos.did}::${pkg.manifest.infos.slug}`;
    return { name: aid, wasm: c.wasm, aot: { cached: c.cached, ms: c.ms } };
  }
  if (ext === "" && /^[a-z_][a-z0-9_]*::[a-z_][a-z0-9_]*$/.test(target)) {
    const { bytes, anid } = await resolveInstalled(target, user, apps);
    const c = await compile(bytes, home, signal);
    return { name: target, wasm: c.wasm, aot: { cached: c.cached, ms: c.ms }, anid };
  }
  const program = await loadProgram(target);
  const c = await compile(program.kind === "npp" ? program.file : program.module, home, signal);
  return { name: path.basename(target), wasm: c.wasm, aot: { cached: c.cached, ms: c.ms } };
}
