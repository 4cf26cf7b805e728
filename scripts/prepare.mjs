// `npm install`'s prepare step (docs/install.md): builds dist/ (tsc, then the example apps) in a
// clone. Three cases:
// - the build tools (typescript, @types/node) are installed (`npm install` in a clone): build;
// - they are not, and dist/ is already built (an unpacked tarball, a rebuilt clone): nothing to do;
// - they are not and dist/ is missing (`npm install --omit=dev` in a fresh clone): typescript is
//   installed into a temporary folder, used once and deleted, so it never enters the install. It
//   emits without type-checking (`--noCheck`, so no @types/* are needed): the emitted JavaScript is
//   the same as the checked build's, and checking is the developer build's job.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const built = existsSync(path.join(root, "dist", "cli", "ncw.js"));
const localTsc = path.join(root, "node_modules", "typescript", "bin", "tsc");
const localTypes = path.join(root, "node_modules", "@types", "node");

function run(cmd, args, what) {
  const r = spawnSync(cmd, args, { cwd: root, stdio: "inherit", shell: false });
  if (r.status !== 0) {
    console.error(`ncw prepare: ${what} failed (exit ${r.status ?? r.signal})`);
    process.exit(1);
  }
}

function buildExamples() {
  run(
    process.execPath,
    [path.join(root, "scripts", "build-examples.mjs")],
    "building the examples",
  );
}

if (existsSync(localTsc) && existsSync(localTypes)) {
  run(process.execPath, [localTsc, "-p", "tsconfig.json"], "tsc");
  buildExamples();
} else if (built) {
  // Nothing to build: dist/ is there and the build tools are not (a user's install).
} else {
  const pkg = JSON.parse(readFileSync(path.join(root, "package.json"), "utf8"));
  const tools = [`typescript@${pkg.devDependencies.typescript}`];
  const tmp = mkdtempSync(path.join(os.tmpdir(), "ncw-build-tools-"));
  try {
    console.error(`ncw prepare: dist/ is not built; fetching ${tools.join(", ")} to build it once`);
    const npm = process.env.npm_execpath;
    const npmCmd = npm ? process.execPath : process.platform === "win32" ? "npm.cmd" : "npm";
    const npmArgs = npm ? [npm] : [];
    run(
      npmCmd,
      [
        ...npmArgs,
        "install",
        "--prefix",
        tmp,
        "--no-save",
        "--no-audit",
        "--no-fund",
        "--ignore-scripts",
        ...tools,
      ],
      "installing the build tools",
    );
    const tsc = path.join(tmp, "node_modules", "typescript", "bin", "tsc");
    const args = ["-p", "tsconfig.dist.json", "--noCheck", "--types", ""];
    run(process.execPath, [tsc, ...args], "tsc");
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  buildExamples();
}
