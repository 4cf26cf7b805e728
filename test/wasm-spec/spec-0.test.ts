// The WebAssembly spec tests through NCW's AOT path, shard 0 of 2 (the shards run in parallel):
// every in-scope assertion must pass (docs/conformance.md).

import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, expect, it } from "vitest";
import { inScopeFiles, suiteDir } from "./scope.js";
import { runSuite, summary } from "./suite.js";

const dir = suiteDir();
const cacheDir = mkdtempSync(path.join(os.tmpdir(), "ncw-spec-0-"));
afterAll(() => rmSync(cacheDir, { recursive: true, force: true }));

it.skipIf(dir === undefined && !process.env.CI)(
  "spec tests, shard 0: every in-scope assertion passes",
  async () => {
    if (dir === undefined)
      throw new Error("the WebAssembly spec test suite (shared/wasm-testsuite) is missing");
    const files = inScopeFiles(dir).filter((_, k) => k % 2 === 0);
    const r = await runSuite(dir, files, cacheDir);
    console.log(`wasm spec shard 0: ${files.length} files, ${summary(r)}`);
    for (const f of r.fixed)
      console.log(`known failure now passes: ${f.file}:${f.line} (remove it from KNOWN_FAILURES)`);
    expect(r.unexpected.map((x) => `${x.file}:${x.line} ${x.command}: ${x.detail}`)).toEqual([]);
    expect(r.passed).toBeGreaterThan(10000);
  },
  600_000,
);
