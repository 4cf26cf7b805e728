// `ncw pack <dir>`: build a .nap/.nva package from a folder holding manifest.toml
// (specs/applications.md "Application package"; format: docs/packages.md).

import { existsSync, statSync } from "node:fs";
import path from "node:path";
import type { CommandModule } from "yargs";
import { NcwError } from "../../ncw/errors.js";
import { manifestAid } from "../../ncw/manifest/manifest.js";
import {
  defaultPackageName,
  readDirManifest,
  writePackageFile,
} from "../../ncw/package/package.js";
import { type GlobalArgs, runCommand } from "../context.js";

interface PackArgs extends GlobalArgs {
  dir: string;
  output?: string;
  volatile?: boolean;
  level?: number;
}

export function formatSize(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 * 1024 * 1024) return `${(n / 1024 / 1024).toFixed(1)} MiB`;
  return `${(n / 1024 / 1024 / 1024).toFixed(2)} GiB`;
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
        type: "number",
        describe: "zstd compression level, 1-22 (default 9)",
      })
      .example("$0 pack examples/hello", "write hello-0.1.0.nap")
      .example("$0 pack app/ -o dist/app.nva --volatile", "build a volatile app")
      .epilogue(
        "The manifest is validated, the files it names (program, icons, assets) must exist, and hash.md5 " +
          "is written over every other file. The same folder always gives the same bytes. The file is " +
          "written atomically: on any error nothing is written. Format: docs/packages.md.",
      ),
  handler: (argv) =>
    runCommand(argv, async ({ out }) => {
      const level = argv.level;
      if (level !== undefined && (!Number.isInteger(level) || level < 1 || level > 22)) {
        throw new NcwError("usage", `--level must be an integer from 1 to 22, got ${level}`, {
          code: "PKG_BAD_LEVEL",
        });
      }
      const volatile = argv.volatile === true;
      let output = argv.output;
      if (output === undefined) {
        output = defaultPackageName(await readDirManifest(argv.dir), volatile);
      } else if (existsSync(output) && statSync(output).isDirectory()) {
        output = path.join(output, defaultPackageName(await readDirManifest(argv.dir), volatile));
      }
      const progress = out.progress("packing");
      const r = await writePackageFile(argv.dir, output, {
        volatile,
        ...(level === undefined ? {} : { level }),
        onProgress: (done, total, file) => progress.update(done, `${done}/${total} ${file}`),
      });
      progress.done();
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
      };
      if (out.json) out.data(summary);
      else {
        out.info(
          `packed ${out.style.bold(summary.aid)} ${summary.version} (${summary.type}) → ${output}: ` +
            `${summary.files} files, ${formatSize(summary.contentSize)} → ${formatSize(summary.packageSize)}`,
        );
      }
    }),
};
