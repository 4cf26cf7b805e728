// `ncw init <dir>`: scaffold an app project that builds and passes its test at once
// (docs/dev-loop.md "A new project"). Thin: parse, call ncw/project/scaffold.ts, print.

import type { CommandModule } from "yargs";
import { safeText } from "../../ncw/output.js";
import type { Toolchain } from "../../ncw/project/project.js";
import { type GlobalArgs, runCommand } from "../context.js";

interface InitArgs extends GlobalArgs {
  dir: string;
  lang: string;
  service?: boolean;
  library?: boolean;
}

export const initCommand: CommandModule<GlobalArgs, InitArgs> = {
  command: "init <dir>",
  describe: "Create a NightOS app project (manifest, source, a test, README) that builds at once",
  builder: (y) =>
    y
      .positional("dir", {
        type: "string",
        demandOption: true,
        describe: "The new project's folder",
      })
      .option("lang", {
        type: "string",
        choices: ["as", "c"],
        default: "as",
        describe: "The language: as (AssemblyScript) or c (clang --target=wasm32)",
      })
      .option("service", {
        type: "boolean",
        describe: "A service app (not yet: see docs/dev-loop.md)",
      })
      .option("library", { type: "boolean", describe: "A library (not yet: see docs/dev-loop.md)" })
      .example("$0 init hello", "an AssemblyScript app in hello/")
      .example("$0 init hello-c --lang c", "the same in C")
      .epilogue(
        "The folder must be new or empty. Then: `cd <dir> && ncw build && ncw test`. See docs/dev-loop.md.",
      ),
  handler: (argv) =>
    runCommand(argv, async ({ out }) => {
      const { initProject } = await import("../../ncw/project/scaffold.js");
      const r = initProject(argv.dir, {
        lang: argv.lang as Toolchain,
        ...(argv.service === undefined ? {} : { service: argv.service }),
        ...(argv.library === undefined ? {} : { library: argv.library }),
      });
      if (out.json) out.data(r);
      else {
        out.info(`created ${out.style.bold(r.slug)} in ${safeText(r.dir)}:`);
        for (const f of r.files) out.info(`  ${f}`);
        out.info(`next: cd ${safeText(argv.dir)} && ncw build && ncw test`);
      }
    }),
};
