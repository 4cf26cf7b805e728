// AOT compilation off the caller's event loop (docs/commonassembly-aot.md, "Compiling off the kernel's
// thread"): a fresh child process per compile (compile-worker.ts), killed when the caller gives up.

import { fork } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { type ErrorKind, NcwError } from "../../ncw/errors.js";

/** What the worker is given. */
export interface CompileRequest {
  input: Uint8Array;
  cacheDir: string;
}

/** What the worker answers: where the artifact is, or the compile's error. */
export type CompileReply =
  | { ok: true; artifactPath: string; cached: boolean }
  | { ok: false; message: string; kind?: string; code?: string; hint?: string };

const workerMain = path.join(path.dirname(fileURLToPath(import.meta.url)), "compile-worker.js");

/**
 * AOT-compiles `input` into the cache in a new child process and resolves with the artifact's path.
 * Aborting `signal` kills it at once (even inside Binaryen) and rejects with AOT_CANCELLED. It exits
 * after a normal compile too, so nothing it loaded stays resident, and a crash of Binaryen (an abort,
 * running out of memory) cannot take the caller down.
 */
export function aotCompileOffThread(
  input: Uint8Array,
  cacheDir: string,
  signal?: AbortSignal,
): Promise<{ artifactPath: string; cached: boolean }> {
  return new Promise((resolve, reject) => {
    const cancelled = () =>
      new NcwError("temp-fail", "the compile was cancelled: its client went away", {
        code: "AOT_CANCELLED",
      });
    if (signal?.aborted === true) {
      reject(cancelled());
      return;
    }
    const request: CompileRequest = { input, cacheDir };
    const worker = fork(workerMain, [], {
      serialization: "advanced",
      stdio: ["ignore", "ignore", "inherit", "ipc"],
      execArgv: [],
    });
    worker.send(request);
    let settled = false;
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener("abort", onAbort);
      fn();
    };
    const onAbort = () => {
      settle(() => reject(cancelled()));
      worker.kill("SIGKILL");
    };
    signal?.addEventListener("abort", onAbort, { once: true });
    worker.once("message", (reply: CompileReply) => {
      settle(() => {
        if (reply.ok) resolve({ artifactPath: reply.artifactPath, cached: reply.cached });
        else
          reject(
            new NcwError((reply.kind ?? "failure") as ErrorKind, reply.message, {
              ...(reply.code === undefined ? {} : { code: reply.code }),
              ...(reply.hint === undefined ? {} : { hint: reply.hint }),
            }),
          );
      });
    });
    worker.once("error", (e) =>
      settle(() =>
        reject(
          new NcwError("failure", `the AOT compile worker failed: ${e.message}`, {
            code: "AOT_WORKER_FAILED",
            hint: "this is a bug in NCW's AOT step; please report it with the program",
            cause: e,
          }),
        ),
      ),
    );
    worker.once("exit", (code) => {
      settle(() =>
        reject(
          new NcwError(
            "failure",
            `the AOT compile worker exited (code ${code}) without an answer`,
            {
              code: "AOT_WORKER_FAILED",
            },
          ),
        ),
      );
    });
  });
}
