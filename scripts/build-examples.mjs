// Builds the example apps (run by `npm run build`, after tsc): each examples/<app>/ is built from the
// source its manifest names ([content.program.source]: toolchain "wat", "as" or "c", build.entry) into
// the program its manifest names ([content.program] precomp, main.npp), then the folder is packed into
// dist/examples/<app>.nap with `ncw pack`.
// - "wat": `ncw ca asm`;
// - "as" / "c": asc (the assemblyscript devDependency) or clang with the SDK of sdk/ (copied into the
//   example's .ncw/sdk/, where its sources import it from, as a project's do), through
//   dist/commonassembly/sdk/toolchains.js (docs/sdk.md), then `ncw ca asm`; C with every src/*.c.
// The built main.npp is committed, so where asc or clang is not installed (an `--omit=dev` install,
// a machine without clang) the committed program is packed as it is, and the build says so.
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parse } from "smol-toml";

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

/** Whether a toolchain's compiler is here: asc from node_modules, clang and wasm-ld on the PATH. */
function available(toolchain) {
  if (toolchain === "as")
    return existsSync(path.join(root, "node_modules", "assemblyscript", "bin", "asc.js"));
  const ok = (cmd) => spawnSync(cmd, ["--version"], { stdio: "ignore" }).status === 0;
  return ok("clang") && ok("wasm-ld");
}

const { buildProgram } = await import(
  pathToFileURL(path.join(root, "dist", "commonassembly", "sdk", "toolchains.js")).href
);

for (const name of readdirSync(path.join(root, "examples")).sort()) {
  const dir = path.join(root, "examples", name);
  const manifestFile = path.join(dir, "manifest.toml");
  if (!existsSync(manifestFile)) continue;
  const program = parse(readFileSync(manifestFile, "utf8")).content?.program;
  const source = program?.source;
  const entry = source?.build?.entry;
  if (program?.precomp !== undefined && entry !== undefined) {
    const npp = path.join(dir, program.precomp);
    const src = path.join(dir, entry);
    if (source.toolchain === "wat") run(["ca", "asm", src, "-o", npp]);
    else if (source.toolchain === "as" || source.toolchain === "c") {
      if (available(source.toolchain)) {
        const wasm = path.join(outDir, `${name}.wasm`);
        // The example imports the SDK from its .ncw/sdk/, as a project made by `ncw init` does
        // (docs/dev-loop.md): the copy `ncw build` keeps there, made here for the build.
        const sdk = path.join(dir, ".ncw", "sdk");
        rmSync(sdk, { recursive: true, force: true });
        mkdirSync(path.dirname(sdk), { recursive: true });
        cpSync(path.join(root, "sdk"), sdk, { recursive: true });
        try {
          // C: the entry and the other sources beside it (as `ncw build` compiles every src/*.c).
          const others =
            source.toolchain === "c"
              ? readdirSync(path.dirname(src))
                  .filter((f) => f.endsWith(".c") && path.join(path.dirname(src), f) !== src)
                  .sort()
                  .map((f) => path.join(path.dirname(src), f))
              : [];
          buildProgram(source.toolchain, [src, ...others], wasm, { sdk });
        } catch (e) {
          console.error(`build-examples: ${e.message}`);
          process.exit(1);
        }
        // asc names its exported table `table` (docs/commonassembly.md §9).
        const rename =
          source.toolchain === "as" ? ["--rename-export", "table=__indirect_function_table"] : [];
        run(["ca", "asm", wasm, "-o", npp, ...rename]);
        rmSync(wasm, { force: true });
      } else {
        console.error(
          `build-examples: ${name}: ${source.toolchain === "as" ? "asc" : "clang"} is not installed; packing the committed ${program.precomp}`,
        );
      }
    }
  }
  run(["pack", dir, "-o", path.join(outDir, `${name}.nap`)]);
}
