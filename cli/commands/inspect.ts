// `ncw inspect <pkg>`: show a package's manifest, AID, files and integrity; any defect is an error
// (specs/applications.md "Application package"; format: docs/packages.md).

import type { CommandModule } from "yargs";
import { manifestAid, manifestToToml } from "../../ncw/manifest/manifest.js";
import type { Manifest } from "../../ncw/manifest/types.js";
import { safeText } from "../../ncw/output.js";
import { md5Hex } from "../../ncw/package/hashfile.js";
import { readPackageFile } from "../../ncw/package/package.js";
import { type GlobalArgs, runCommand } from "../context.js";
import { formatSize } from "./pack.js";

interface InspectArgs extends GlobalArgs {
  pkg: string;
  manifest?: boolean;
}

function describeProgram(m: Manifest): string {
  const p = m.content.program;
  const parts: string[] = [];
  if (p.precomp !== undefined) parts.push(`pre-compiled ${p.precomp}`);
  if (p.source !== undefined) parts.push(`source (toolchain ${p.source.toolchain})`);
  return parts.join(" + ");
}

export const inspectCommand: CommandModule<GlobalArgs, InspectArgs> = {
  command: "inspect <pkg>",
  describe: "Check a package (.nap/.nva) and show its manifest, AID, files and integrity",
  builder: (y) =>
    y
      .positional("pkg", { type: "string", demandOption: true, describe: "Package file" })
      .option("manifest", {
        type: "boolean",
        describe: "Print manifest.toml as stored in the package",
      })
      .example("$0 inspect hello-0.1.0.nap", "summary, files and integrity")
      .example("$0 inspect app.nap --json", "the same as JSON")
      .epilogue(
        "Every check a package install makes is run: zstd and tar structure, size limits, unsafe paths and " +
          "links, hash.md5 over every file, the manifest's rules and the files it names. Any defect is " +
          "reported with its code and a non-zero exit status (65).",
      ),
  handler: (argv) =>
    runCommand(argv, async ({ out }) => {
      const pkg = await readPackageFile(argv.pkg);
      const m = pkg.manifest;
      if (argv.manifest === true) {
        // The manifest as stored, byte for byte (content, like `ncw fs cat`: not escaped).
        await out.write(pkg.rawManifest);
        return;
      }
      const files = [...pkg.files]
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([path, data]) => ({ path, size: data.length, md5: md5Hex(data) }));
      const total = files.reduce((s, f) => s + f.size, 0);
      if (out.json) {
        out.data({
          file: argv.pkg,
          kind: pkg.kind,
          type: m.type,
          aid: manifestAid(m),
          manifest: manifestToToml(m),
          files,
          dirs: pkg.dirs,
          symlinks: Object.fromEntries(pkg.symlinks),
          embedded: pkg.embedded.map((e) => ({
            folder: e.folder,
            aid: manifestAid(e.manifest),
            version: e.manifest.infos.version,
          })),
          integrity: { ok: true, checked: files.length + 1 },
        });
        return;
      }
      const s = out.style;
      // Every value comes from the package: made safe for the terminal before it is styled.
      const row = (k: string, v: string) => out.info(`${s.dim(k.padEnd(13))}${safeText(v)}`);
      row("package", `${argv.pkg} (${pkg.kind === "nva" ? "volatile application" : m.type})`);
      out.info(`${s.dim("aid".padEnd(13))}${s.bold(safeText(manifestAid(m)))}`);
      row("name", `${m.infos.name} ${m.infos.version}`);
      row("description", m.infos.description);
      row(
        "authors",
        m.infos.authors.map((a) => (a.email ? `${a.name} <${a.email}>` : a.name)).join(", "),
      );
      row("license", m.infos.license);
      row("program", describeProgram(m));
      const libs = Object.entries(m.dependencies.libraries);
      row("libraries", libs.length ? libs.map(([a, r]) => `${a} ${r}`).join(", ") : "none");
      if (m.features !== undefined && Object.keys(m.features.list).length > 0) {
        row(
          "features",
          `${Object.keys(m.features.list).join(", ")} (default: ${m.features.default.join(", ") || "none"})`,
        );
      }
      if (m.type === "application") {
        const cmds = Object.keys(m.commands ?? {});
        if (cmds.length) row("commands", cmds.join(", "));
        const ev = Object.entries(m.events ?? {})
          .filter(([, on]) => on)
          .map(([e]) => e);
        if (ev.length) row("events", ev.join(", "));
        if (m.services?.main) row("services", "main");
        row("crash saves", m.sysfeatures.crash_saves_support ? "supported" : "not supported");
      }
      for (const e of pkg.embedded)
        row(
          "embeds",
          `${manifestAid(e.manifest)} ${e.manifest.infos.version} (library, in ${e.folder}/)`,
        );
      out.info("");
      const manifestSize = Buffer.byteLength(pkg.rawManifest);
      out.info(
        s.bold(`files (${files.length + 1}, ${formatSize(total + manifestSize)}, hash.md5 aside):`),
      );
      out.info(`  ${formatSize(manifestSize).padStart(10)}  manifest.toml`);
      for (const f of files) out.info(`  ${formatSize(f.size).padStart(10)}  ${safeText(f.path)}`);
      for (const [l, t] of pkg.symlinks)
        out.info(`  ${"link".padStart(10)}  ${safeText(l)} -> ${safeText(t)}`);
      out.info("");
      out.info(
        `${s.green("integrity ok")}: hash.md5 lists all ${files.length + 1} files and every digest matches`,
      );
    }),
};
