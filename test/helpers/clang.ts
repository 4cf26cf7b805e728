// Whether clang and wasm-ld are here, for the tests that build C programs with the real toolchain:
// those skip locally without them, but CI must have them (.ci/run installs them), so there their absence
// fails the test file at once rather than skipping it.
import { spawnSync } from "node:child_process";

const have = (cmd: string) => spawnSync(cmd, ["--version"], { encoding: "utf8" }).status === 0;

export const clangOk = have("clang") && have("wasm-ld");
if (!clangOk && process.env.CI)
  throw new Error("clang and wasm-ld are required in CI (.ci/run installs them)");
