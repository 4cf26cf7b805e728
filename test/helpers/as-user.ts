// Runs a small Node script as another host user (for the control socket's peer checks, docs/security.md).
// Only root can do it: callers skip with `AS_USER_SKIP` when not root (CI runs as root).
import { spawn } from "node:child_process";

/** The host user the other-user tests act as: nobody. */
export const OTHER_UID = 65534;
export const IS_ROOT = process.geteuid?.() === 0;
export const AS_USER_SKIP = "needs root to act as another host user (CI runs as root)";

/**
 * Run `script` (an ES module body; node: imports only) as host user `uid`, in `/`. `out` resolves with
 * its stdout when it exits; `lines` is its stdout so far.
 */
export function runAs(
  uid: number,
  script: string,
): { out: Promise<string>; lines: () => string; kill: () => void } {
  const child = spawn(
    process.execPath,
    [
      "--input-type=module",
      "-e",
      `process.setgroups([]); process.setgid(${uid}); process.setuid(${uid});\n${script}`,
    ],
    { cwd: "/", stdio: ["ignore", "pipe", "inherit"] },
  );
  let out = "";
  child.stdout.on("data", (d) => {
    out += d;
  });
  return {
    out: new Promise((resolve) => child.on("close", () => resolve(out))),
    lines: () => out,
    kill: () => child.kill("SIGKILL"),
  };
}
