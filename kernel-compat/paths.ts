// Where a home's kernel server listens: a Unix socket in the home's run folder (or, when that path is
// too long for sun_path, in the temp folder under a name derived from the home), a named pipe on Windows.

import { createHash } from "node:crypto";
import os from "node:os";
import path from "node:path";
import type { HomeLayout } from "../ncw/home.js";

/** sun_path is 108 bytes on Linux, 104 on macOS; keep a margin. */
const MAX_SOCKET_PATH = 100;

export function kernelSocketPath(
  home: HomeLayout,
  platform: NodeJS.Platform = process.platform,
): string {
  const tag = createHash("sha256").update(home.root).digest("hex").slice(0, 16);
  if (platform === "win32") return `\\\\.\\pipe\\ncw-kernel-${tag}`;
  const inHome = path.join(home.run, "kernel.sock");
  if (Buffer.byteLength(inHome) <= MAX_SOCKET_PATH) return inHome;
  return path.join(os.tmpdir(), `ncw-kernel-${tag}.sock`);
}

/** The file holding the running kernel's host PID (for `ncw ps` and for tests). */
export function kernelPidPath(home: HomeLayout): string {
  return path.join(home.run, "kernel.pid");
}

export function kernelLogPath(home: HomeLayout): string {
  return path.join(home.logs, "kernel.log");
}
