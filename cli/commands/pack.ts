// `ncw pack <dir>`: build a .nap/.nva package from a folder holding manifest.toml
// (specs/applications.md "Application package"; format: docs/packages.md).

import { existsSync, rmSync, statSync } from "node:fs";
import path from "node:path";
import type { CommandModule } from "yargs";
import { hostErrorKind } from "../../native/errors.js";
import { isNcwError, NcwError } from "../../ncw/errors.js";
import { makeDirs } from "../../ncw/home.js";
import { manifestAid } from "../../ncw/manifest/manifest.js";
import { safeText } from "../../ncw/output.js";
import {
  defaultPackageName,
  readDirManifest,
  writePackageFile,
} from "../../ncw/package/package.js";
import { type GlobalArgs, runCommand } from "../context.js";
import { intArg } from "../usage.js";

interface PackArgs extends GlobalArgs {
  dir: string;
  output?: string;
  volatile?: boolean;
  level?: string;
}

export function formatSize(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 * 1024 * 1024) return `${(n / 1024 / 1024).toFixed(1)} MiB`;
  return `${(n / 1024 / 1024 / 1024).toFixed(2)} GiB`;
}

/** Creates the output's folder if it is missing; returns the topmost folder created, if any. */
function makeParent(output: string): string | undefined {
  const dir = path.dirname(path.resolve(output));
  try {
    return makeDirs(dir);
  } catch (e) {
    const kind = hostErrorKind(e);
    const inTheWay =
      kind === "exists" || kind === "not-dir" || (isNcwError(e) && e.code === "HOME_NOT_A_FOLDER");
    const reason = inTheWay ? "a file is in the way" : (e as Error).message;
    throw new NcwError("cant-create", `cannot create the folder ${dir} for ${output}: ${reason}`, {
      code: "PKG_OUTPUT_DIR",
      hint: "give -o a path in a folder that exists or can be created",
    });
  }
}

export const packCommand: CommandModule<GlobalArgs, PackArgs> = {
  command: "pack <dir>",
  describe:
    "Build a NightOS package (.nap, or .nva with --volatile) from a folder with a manifest.toml",
  builder: (y) =>
    y
      .positional("dir", {
        type: "string",
        demandOption: true,
        describe: "Folder holding manifest.toml",
      })
      .option("output", {
        alias: "o",
        type: "string",
        describe: "Package file to write (default: <slug>-<version>.nap in the current folder)",
      })
      .option("volatile", {
        type: "boolean",
        describe: "Build a volatile application package (.nva)",
      })
      .option("level", {
        type: "string",
        describe: "zstd compression level, 1-22 (default 9)",
      })
      .example("$0 pack examples/hello", "write hello-0.1.0.nap")
      .example("$0 pack app/ -o dist/app.nva --volatile", "build a volatile app")
      .epilogue(
        "The manifest is validated, the files it names (program, icons, assets) must exist, and hash.md5 " +
          "is written over every other file. A .napignore file in the folder (gitignore syntax) leaves " +
          "paths out; .git, .hg and .svn never go in; the packed entries are listed. The same folder " +
          "always gives the same bytes. The file is written atomically: on any error nothing is " +
          "written. Format: docs/packages.md.",
      ),
  handler: (argv) =>
    runCommand(argv, async ({ out }) => {
      const level =
        argv.level === undefined
          ? undefined
          : intArg(argv.level, "--level", { min: 1, max: 22 }, "PKG_BAD_LEVEL");
      const volatile = argv.volatile === true;
      let output = argv.output;
      if (output === undefined) {
        output = defaultPackageName(await readDirManifest(argv.dir), volatile);
      } else if (existsSync(output) && statSync(output).isDirectory()) {
        output = path.join(output, defaultPackageName(await readDirManifest(argv.dir), volatile));
      }
      // A missing destination folder is created (docs/cli.md, "ncw pack -o"), and removed again
      // if the package cannot be built, so a failed pack leaves nothing behind.
      const created = makeParent(output);
      const progress = out.progress("packing");
      let r: Awaited<ReturnType<typeof writePackageFile>>;
      try {
        r = await writePackageFile(argv.dir, output, {
          volatile,
          ...(level === undefined ? {} : { level }),
          onProgress: (done, total, file) => progress.update(done, `${done}/${total} ${file}`),
        });
      } catch (e) {
        if (created !== undefined) rmSync(created, { recursive: true, force: true });
        throw e;
      } finally {
        progress.done();
      }
      const summary = {
        output,
        aid: manifestAid(r.manifest),
        type: r.manifest.type,
        kind: r.kind,
        name: r.manifest.infos.name,
        version: r.manifest.infos.version,
        files: r.fileCount,
        contentSize: r.contentSize,
        packageSize: r.bytes.length,
        // What was packed (after .napignore), as `npm pack` lists its tarball's contents.
        entries: r.entries,
      };
      if (out.json) out.data(summary);
      else {
        out.info(
          `packed ${out.style.bold(summary.aid)} ${summary.version} (${summary.type}) → ${output}: ` +
            `${summary.files} files, ${formatSize(summary.contentSize)} → ${formatSize(summary.packageSize)}`,
        );
        for (const e of r.entries) {
          const size = e.type === "file" ? formatSize(e.size) : e.type;
          out.info(`  ${size.padStart(10)}  ${safeText(e.path)}${e.type === "dir" ? "/" : ""}`);
        }
      }
    }),
};
