// `ncw build [dir]`: compile an app project and pack its .nap, incrementally (docs/dev-loop.md
// "Building"). Thin: parse, call ncw/project/build.ts, print.

import path from "node:path";
import type { CommandModule } from "yargs";
import { safeText } from "../../ncw/output.js";
import { type GlobalArgs, runCommand } from "../context.js";

interface BuildArgs extends GlobalArgs {
  dir?: string;
  release?: boolean;
  tests?: boolean;
  force?: boolean;
}

export const buildCommand: CommandModule<GlobalArgs, BuildArgs> = {
  command: "build [dir]",
  describe: "Build an app project: compile its sources, pack build/<slug>-<version>.nap",
  builder: (y) =>
    y
      .positional("dir", {
        type: "string",
        describe: "The project's folder (default: the current one)",
      })
      .option("release", {
        type: "boolean",
        describe: "Optimised build (default: debug, unoptimised, with function names)",
      })
      .option("tests", { type: "boolean", describe: "Build the test program (build/test.npp) too" })
      .option("force", { type: "boolean", describe: "Rebuild what is up to date" })
      .epilogue(
        "AssemblyScript through asc, C through clang --target=wasm32 and wasm-ld; the compiler's errors are " +
          "shown as it prints them (file:line). Nothing is rebuilt when nothing it is made from changed. " +
          "See docs/dev-loop.md.",
      ),
  handler: (argv) =>
    runCommand(argv, async ({ out }) => {
      const { loadProject } = await import("../../ncw/project/project.js");
      const { buildProject } = await import("../../ncw/project/build.js");
      const p = await loadProject(argv.dir ?? ".");
      const r = await buildProject(p, {
        debug: argv.release !== true,
        tests: argv.tests === true,
        force: argv.force === true,
      });
      const rows = [
        { what: "program", ...r.program },
        { what: "package", ...r.nap },
        ...(r.test ? [{ what: "tests", ...r.test }] : []),
      ];
      if (out.json)
        out.data({
          mode: argv.release === true ? "release" : "debug",
          outputs: rows.map((o) => ({ what: o.what, path: o.path, built: o.built, ms: o.ms })),
        });
      else
        for (const o of rows) {
          const rel = safeText(path.relative(process.cwd(), o.path) || o.path);
          out.info(
            o.what === "tests" && r.test?.tests.length === 0
              ? "no tests in tests/: no test program built"
              : o.built
                ? `built ${o.what} ${rel} in ${o.ms.toFixed(0)} ms`
                : `${o.what} ${rel} is up to date`,
          );
        }
    }),
};
