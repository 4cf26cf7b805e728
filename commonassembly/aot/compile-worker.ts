// The AOT compile worker's entry (docs/commonassembly-aot.md, "Compiling off the kernel's thread"): one
// worker thread per compile, started by off-thread.ts; it compiles into the cache, reports, and exits,
// so the memory it used (Binaryen's heap included) goes back to the OS with it.

import { parentPort, workerData } from "node:worker_threads";
import { aotCompile } from "./cache.js";
import type { CompileReply, CompileRequest } from "./off-thread.js";

async function run(req: CompileRequest): Promise<CompileReply> {
  try {
    const r = await aotCompile(req.input, { cacheDir: req.cacheDir });
    return { ok: true, artifactPath: r.artifactPath, cached: r.cached };
  } catch (e) {
    const err = e as Error & { kind?: string; code?: string; hint?: string };
    return {
      ok: false,
      message: err.message,
      ...(err.kind === undefined ? {} : { kind: err.kind }),
      ...(err.code === undefined ? {} : { code: err.code }),
      ...(err.hint === undefined ? {} : { hint: err.hint }),
    };
  }
}

void run(workerData as CompileRequest).then((reply) => parentPort?.postMessage(reply));
