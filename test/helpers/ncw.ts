// Runs the built `ncw` CLI (dist/cli/ncw.js) the way a user would, for black-box tests.
// The build is made by `npm test` (and `npx tsc -p tsconfig.json` when running vitest alone).
import { type SpawnSyncReturns, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

export const NCW_JS = fileURLToPath(new URL("../../dist/cli/ncw.js", import.meta.url));

export interface RunOptions {
  env?: Record<string, string | undefined>;
  cwd?: string;
  input?: string | Uint8Array;
  timeoutMs?: number;
}

export function ncw(args: string[], opts: RunOptions = {}): SpawnSyncReturns<string> {
  if (!existsSync(NCW_JS)) {
    throw new Error(
      `${NCW_JS} is missing: run \`npx tsc -p tsconfig.json\` (or \`npm test\`) first`,
    );
  }
  const env: Record<string, string | undefined> = { ...process.env };
  delete env.FORCE_COLOR;
  delete env.NO_COLOR;
  Object.assign(env, opts.env ?? {});
  return spawnSync(process.execPath, [NCW_JS, ...args], {
    encoding: "utf8",
    env: env as NodeJS.ProcessEnv,
    cwd: opts.cwd,
    input: opts.input,
    timeout: opts.timeoutMs ?? 60_000,
  });
}
