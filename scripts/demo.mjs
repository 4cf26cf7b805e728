// `npm run demo`: the example apps (built by `npm run build`) run as commands on the default NCW home
// (no configuration), each command shown before its output:
//   hello greets its argument (`npm run demo -- Grace` greets Grace; Ada by default),
//   stat returns a typed value from typed arguments (a list, an enum, a flag),
//   wc counts what hello prints, piped from one NightOS command into the other.
// Exits with the first failing command's exit status.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const ncw = path.join(root, "dist", "cli", "ncw.js");
const nap = (name) => path.join(root, "dist", "examples", `${name}.nap`);
if (!existsSync(ncw) || !["hello", "stat", "wc"].every((n) => existsSync(nap(n)))) {
  console.error("demo: NCW is not built yet: run `npm install` (or `npm run build`) first");
  process.exit(1);
}
const shown = (name) => path.relative(process.cwd(), nap(name)) || nap(name);
const who = process.argv.slice(2);

/** Runs `ncw run <args>` with the terminal as its output (and `input` on stdin if given). */
function ncwRun(args, input) {
  const r = spawnSync(process.execPath, [ncw, "run", ...args], {
    stdio: [input === undefined ? "inherit" : "pipe", "inherit", "inherit"],
    input,
  });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
/** `ncw run <args>`, its output captured (for the pipe). */
function ncwCapture(args) {
  const r = spawnSync(process.execPath, [ncw, "run", ...args], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  if (r.status !== 0) process.exit(r.status ?? 1);
  return r.stdout;
}

const hello = [shown("hello"), ...(who.length > 0 ? who : ["Ada"])];
console.log(`$ ncw run ${hello.join(" ")}`);
ncwRun(hello);

const stat = [shown("stat"), "stat", "3", "1", "4", "--op", "max", "-v"];
console.log(`\n$ ncw run ${stat.join(" ")}`);
ncwRun(stat);

console.log(`\n$ ncw run ${hello.join(" ")} | ncw run ${shown("wc")} wc`);
ncwRun([shown("wc"), "wc"], ncwCapture(hello));
