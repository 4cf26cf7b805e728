// What NCW asks the host about itself (docs/architecture.md: every question to the OS is asked in
// native/): the platform's data folder for the default home, and the CPU an AOT artifact is built for.
// Imports nothing of NCW, so every floor may ask it (test/layers.test.ts).

import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";

/**
 * The platform's data folder for NCW: `$XDG_DATA_HOME/ncw` (or `~/.local/share/ncw`) on Linux and
 * other Unixes, `~/Library/Application Support/ncw` on macOS, `%LOCALAPPDATA%\ncw` on Windows
 * (docs/cli.md, "The platform data folder").
 */
export function platformDataHome(
  env: NodeJS.ProcessEnv = process.env,
  platform: NodeJS.Platform = process.platform,
  userHome: string = os.homedir(),
): string {
  if (platform === "win32") {
    const base = env.LOCALAPPDATA ?? path.win32.join(userHome, "AppData", "Local");
    return path.win32.join(base, "ncw");
  }
  if (platform === "darwin") {
    return path.posix.join(userHome, "Library", "Application Support", "ncw");
  }
  const xdg = env.XDG_DATA_HOME;
  const base = xdg && path.isAbsolute(xdg) ? xdg : path.posix.join(userHome, ".local", "share");
  return path.posix.join(base, "ncw");
}

let cachedCpu: string | undefined;

/** The host CPU: architecture, model and a hash of its feature flags (from /proc/cpuinfo on Linux). */
export function cpuId(): string {
  if (cachedCpu !== undefined) return cachedCpu;
  const model = os.cpus()[0]?.model.trim() ?? "unknown";
  let features = "";
  try {
    if (process.platform === "linux") {
      const info = readFileSync("/proc/cpuinfo", "utf8");
      features = /^(?:flags|Features)\s*:\s*(.*)$/m.exec(info)?.[1] ?? "";
    }
    // Elsewhere the model name stands for the feature set (V8 picks its instructions at run time anyway).
  } catch {
    features = "";
  }
  // node:crypto on first use: the CLI's start (which imports this module for the home) does not load it.
  const { createHash } = createRequire(import.meta.url)(
    "node:crypto",
  ) as typeof import("node:crypto");
  const fh = createHash("sha256").update(features).digest("hex").slice(0, 16);
  cachedCpu = `${process.arch} ${model} / features sha256:${fh}`;
  return cachedCpu;
}
