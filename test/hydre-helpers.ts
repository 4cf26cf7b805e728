// Helpers for the black-box tests of Hydre's pipelines and streams (test/hydre-pipes.test.ts,
// test/hydre-streams.test.ts): installing a WAT command app, and `ncw hydre -c` run as a user runs it,
// with or without its peak memory watched.

import { spawn, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { expect } from "vitest";
import { commandNap } from "./command-helpers.js";
import { NCW, type TestHome } from "./kernel-helpers.js";

/** Installs `<slug>` running `wat` with `commands` (TOML) in its manifest, with Skyer. */
export function installCommandApp(
  home: TestHome,
  slug: string,
  wat: string,
  commands: string,
): void {
  const r = home.ncw(["skyer", "install", commandNap(home, slug, wat, commands)]);
  expect(r.code, r.stderr).toBe(0);
}

/** `ncw hydre -c script` in `home` (`extra`: more environment). */
export function hydreIn(
  home: TestHome,
  script: string,
  timeout = 120_000,
  extra: Record<string, string> = {},
) {
  const r = spawnSync(process.execPath, [NCW, "hydre", "-c", script], {
    env: home.envFor(extra),
    encoding: "utf8",
    timeout,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, signal: r.signal };
}

/** `ncw hydre -c script` in `home` while its peak resident memory (VmHWM, /proc) is watched. */
export async function hydreWatched(
  home: TestHome,
  script: string,
): Promise<{ code: number | null; stdout: string; stderr: string; peakKiB: number }> {
  const child = spawn(process.execPath, [NCW, "hydre", "-c", script], { env: home.envFor() });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (b: Buffer) => {
    stdout += b.toString();
  });
  child.stderr.on("data", (b: Buffer) => {
    stderr += b.toString();
  });
  let peakKiB = 0;
  const look = () => {
    try {
      const m = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${child.pid}/status`, "utf8"));
      if (m !== null) peakKiB = Math.max(peakKiB, Number(m[1]));
    } catch {
      // gone already
    }
  };
  const timer = setInterval(look, 20);
  const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
  clearInterval(timer);
  return { code, stdout, stderr, peakKiB };
}
