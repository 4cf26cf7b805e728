// Builds the example apps with NCW's own toolchain (run by `npm run build`, after tsc):
// each examples/<app>/src/main.wat is assembled into examples/<app>/main.npp with `ncw ca asm`,
// then the folder is packed into dist/examples/<app>.nap with `ncw pack`.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const ncw = path.join(root, "dist", "cli", "ncw.js");
const outDir = path.join(root, "dist", "examples");
mkdirSync(outDir, { recursive: true });

function run(args) {
  const r = spawnSync(process.execPath, [ncw, ...args], {
    stdio: "inherit",
    env: { ...process.env, NO_COLOR: "1" },
  });
  if (r.status !== 0) {
    console.error(`build-examples: \`ncw ${args.join(" ")}\` failed (exit ${r.status})`);
    process.exit(1);
  }
}

for (const name of readdirSync(path.join(root, "examples")).sort()) {
  const dir = path.join(root, "examples", name);
  if (!existsSync(path.join(dir, "manifest.toml"))) continue;
  const wat = path.join(dir, "src", "main.wat");
  if (existsSync(wat)) run(["ca", "asm", wat, "-o", path.join(dir, "main.npp")]);
  run(["pack", dir, "-o", path.join(outDir, `${name}.nap`)]);
}
