// `npm run demo`: the main job on the default NCW home (no configuration): run the example app
// dist/examples/hello.nap (built by `npm run build`) with `ncw run --trace`, so each system call it
// makes is shown decoded, and exit with the app's exit status.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const ncw = path.join(root, "dist", "cli", "ncw.js");
const hello = path.join(root, "dist", "examples", "hello.nap");
if (!existsSync(ncw) || !existsSync(hello)) {
  console.error("demo: NCW is not built yet: run `npm install` (or `npm run build`) first");
  process.exit(1);
}
const r = spawnSync(process.execPath, [ncw, "run", "--trace", hello, ...process.argv.slice(2)], {
  stdio: "inherit",
});
process.exit(r.status ?? 1);
