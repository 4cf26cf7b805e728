// The AOT compile worker's entry (docs/commonassembly-aot.md, "Compiling off the kernel's thread"): a
// child process per compile, started by off-thread.ts; it compiles into the cache, answers, and exits,
// so all the memory it used (Binaryen's heap included) goes back to the OS with it.

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

process.once("message", (req: CompileRequest) => {
  void run(req).then((reply) => process.send?.(reply, () => process.disconnect()));
});
// The kernel went away (its IPC channel closed): nobody wants the result.
process.once("disconnect", () => process.exit(0));
