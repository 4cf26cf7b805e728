// What `ncw run` starts: a program file (.npp, .wasm, .wat), an app package (.nap / .nva, whose
// manifest names the pre-compiled program) or an installed app by AID (Skyer's database and content/
// in the home's NightOS tree), AOT-compiled through the cache (commonassembly/aot).

import { readFileSync } from "node:fs";
import path from "node:path";
import { ContextBase } from "../commonassembly/abi/context.js";
import { decodeArtifact } from "../commonassembly/aot/artifact.js";
import { aotCached } from "../commonassembly/aot/cache.js";
import { aotCompileOffThread } from "../commonassembly/aot/off-thread.js";
import { loadProgram } from "../commonassembly/program.js";
import { NcwError } from "../ncw/errors.js";
import type { HomeLayout } from "../ncw/home.js";
import { readPackageFile } from "../ncw/package/package.js";
import { openTree } from "../services/fs/open.js";
import { readDb } from "../services/skyer/db.js";
import { checkUserName } from "../services/skyer/layout.js";
import { SYS_LIB_AID } from "../services/skyer/libs.js";
import { readInstalledManifest } from "../services/skyer/package.js";

export interface Runnable {
  /** Shown in `ncw ps` and messages. */
  name: string;
  /** The AOT-instrumented module. */
  wasm: Uint8Array;
  /** How long the AOT step took and whether the cache served it. */
  aot: { cached: boolean; ms: number };
  /** For an installed app: its ANID (replaces the one the CLI put in the execution context). */
  anid?: number;
}

/** The context with another ANID (the u32 at the end of the 16-byte base header). */
export function withAnid(context: Uint8Array, anid: number): Uint8Array {
  const out = context.slice();
  if (out.length >= ContextBase.size)
    new DataView(out.buffer, out.byteOffset).setUint32(ContextBase.size - 4, anid, true);
  return out;
}

/**
 * An installed application by AID: the install of the request's NightOS user before the global one;
 * its content.program.precomp, compiled through the cache (the artifact Skyer made at install time is
 * reused). The user comes with each request, never from the kernel's environment (docs/security.md).
 */
async function resolveInstalled(
  aid: string,
  home: HomeLayout,
  user: string,
  signal: AbortSignal | undefined,
): Promise<Runnable> {
  checkUserName(user);
  // Read only: the kernel never writes the tree here, and must not create or lock the image.
  const fs = await openTree(home, { access: "read" });
  let bytes: Uint8Array;
  let anid: number;
  try {
    const db = await readDb(fs);
    const apps = db.items.filter(
      (i) => i.aid === aid && i.kind === "app" && (i.scope === "global" || i.user === user),
    );
    const item = apps.find((i) => i.scope === "user") ?? apps[0];
    const version = item?.versions[0];
    if (item === undefined || version === undefined) {
      const lib = aid === SYS_LIB_AID || db.items.some((i) => i.aid === aid && i.kind === "lib");
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
    const manifest = readInstalledManifest(
      await fs.readFile(`${version.dir}/content/manifest.toml`),
    );
    if (manifest.precomp === undefined) {
      throw new NcwError("data", `${aid} has no pre-compiled program (content.program.precomp)`, {
        code: "RUN_NO_PRECOMP",
        hint: "its package must name an .npp in content.program.precomp",
      });
    }
    const file = `${version.dir}/content/${manifest.precomp}`;
    bytes = await fs.readFile(file).catch(() => {
      throw new NcwError("data", `${aid}: its program ${file} is missing from the NightOS tree`, {
        code: "RUN_PRECOMP_MISSING",
        hint: "reinstall the application (`ncw skyer install`)",
      });
    });
    anid = item.anid;
  } finally {
    await fs.close();
  }
  const c = await compile(bytes, home, signal);
  return { name: aid, wasm: c.wasm, aot: { cached: c.cached, ms: c.ms }, anid };
}

/**
 * The program's artifact: from the cache on this thread (no Binaryen), else compiled by a worker thread
 * so the kernel's event loop keeps serving other clients; `signal` (the client went away) cancels it.
 */
async function compile(
  bytes: Uint8Array,
  home: HomeLayout,
  signal: AbortSignal | undefined,
): Promise<{ wasm: Uint8Array; cached: boolean; ms: number }> {
  const t0 = performance.now();
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
    return resolveInstalled(target, home, user, signal);
  }
  const program = await loadProgram(target);
  const c = await compile(program.kind === "npp" ? program.file : program.module, home, signal);
  return { name: path.basename(target), wasm: c.wasm, aot: { cached: c.cached, ms: c.ms } };
}
