// Where a home's kernel server listens (docs/kernel.md, "The kernel server"; docs/security.md): a Unix
// socket in the home's run folder, or, when that path is too long for sun_path, in the user's private
// runtime folder under a name derived from the home; a named pipe on Windows (native/ decides).

import { createRequire } from "node:module";
import path from "node:path";
import type { ControlEndpoint, HostNative } from "../native/types.js";
import type { HomeLayout } from "../ncw/home.js";

/**
 * The home's kernel endpoint (pure: `native.secureEndpoint` checks its folder before use). `native` is
 * passed in so the CLI loads the host layer (koffi) only when it talks to a kernel.
 */
export function kernelEndpoint(
  home: HomeLayout,
  native: HostNative,
  env: NodeJS.ProcessEnv = process.env,
): ControlEndpoint {
  // The name derived from the home, only when the home's own socket path is too long (or on
  // Windows): node:crypto is not loaded by a run on a home with a short path.
  const name = () => {
    const { createHash } = createRequire(import.meta.url)(
      "node:crypto",
    ) as typeof import("node:crypto");
    return `ncw-kernel-${createHash("sha256").update(home.root).digest("hex").slice(0, 16)}`;
  };
  return native.controlEndpoint(path.join(home.run, "kernel.sock"), name, env);
}

/** The file holding the running kernel's host PID (for `ncw ps` and for tests). */
export function kernelPidPath(home: HomeLayout): string {
  return path.join(home.run, "kernel.pid");
}

export function kernelLogPath(home: HomeLayout): string {
  return path.join(home.logs, "kernel.log");
}
