// The AOT step at install time (DIRECTION.md §1, technical/pre-compiling.md): Skyer compiles an
// application's pre-compiled program (content.program.precomp) into the home's AOT cache before
// the commit point, so a program that fails validation fails the install. Decisions: docs/skyer.md.

import type { StepTiming } from "../../commonassembly/aot/options.js";
import { decodeNppHeader } from "../../commonassembly/npp.js";
import { NcwError } from "../../ncw/errors.js";

/** What the AOT step did for an installed program (in the install report and its --json). */
export interface AotReport {
  /** The program's path inside content/ (content.program.precomp). */
  program: string;
  /** Where the compiled artifact is cached (the same one `ncw run` reuses). */
  artifact: string;
  /** True when a valid artifact for the same program was already in the cache. */
  cached: boolean;
  /** Wall time of the AOT step, milliseconds. */
  ms: number;
  /** Where that time went: the AOT cache's steps (read, hash, artifact-check, engine-compile, …). */
  steps: StepTiming[];
}

export interface ProgramToCompile {
  aid: string;
  /** content.program.precomp. */
  path: string;
  bytes: Uint8Array;
}

/** Compiles a program or throws the toolchain's NcwError (its code unchanged). */
export type Precompiler = (p: ProgramToCompile) => Promise<AotReport>;

/** The real AOT step (commonassembly/aot/cache.ts), caching artifacts in `cacheDir` (home().cache). */
export function aotPrecompiler(cacheDir: string): Precompiler {
  return precompiler(async (bytes) => {
    const t1 = performance.now();
    // Loaded only when needed: Binaryen takes ~0.5 s to load.
    const { aotCompile } = await import("../../commonassembly/aot/cache.js");
    const load = { step: "load-aot", ms: performance.now() - t1 };
    const r = await aotCompile(bytes, { cacheDir });
    return { artifact: r.artifactPath, cached: r.cached, steps: [load, ...r.steps] };
  });
}

/**
 * The same AOT step in a child process (commonassembly/aot/off-thread.ts), for the kernel (sys::app
 * INSTALL_APP): its event loop keeps serving the processes while a program compiles. A cached program
 * is checked in-process, as `ncw run` does.
 */
export function offThreadPrecompiler(cacheDir: string): Precompiler {
  return precompiler(async (bytes) => {
    const { aotCached } = await import("../../commonassembly/aot/cache.js");
    const { aotCompileOffThread } = await import("../../commonassembly/aot/off-thread.js");
    const r = aotCached(bytes, { cacheDir }) ?? (await aotCompileOffThread(bytes, cacheDir));
    return { artifact: r.artifactPath, cached: r.cached, steps: [] };
  });
}

function precompiler(
  compile: (
    bytes: Uint8Array,
  ) => Promise<{ artifact: string; cached: boolean; steps: StepTiming[] }>,
): Precompiler {
  return async (p) => {
    const t0 = performance.now();
    try {
      // An NPP is required (DIRECTION.md §1): a raw module or anything else is NPP_BAD_MAGIC.
      decodeNppHeader(p.bytes);
      const r = await compile(p.bytes);
      return { program: p.path, ...r, ms: performance.now() - t0 };
    } catch (e) {
      if (!(e instanceof NcwError)) throw e;
      throw new NcwError(
        e.kind,
        `${p.aid}: its program ${p.path} (content.program.precomp) fails the AOT step: ${e.message}`,
        {
          code: e.code,
          hint:
            e.hint ??
            `check it with \`ncw ca validate ${p.path}\` and rebuild it with \`ncw ca asm\`; nothing was installed`,
          cause: e,
        },
      );
    }
  };
}

/** The error for a manifest whose precomp names a file the content does not have. */
export function precompMissing(aid: string, path: string, code: string): NcwError {
  return new NcwError(
    "data",
    `${aid}: content.program.precomp names ${path}, which is not a file of the application`,
    { code, hint: "add the .npp to the package, or fix content.program.precomp" },
  );
}
