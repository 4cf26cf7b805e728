// `ncw skyer`: Skyer, NightOS' application manager (applications/Skyer.md) — install, update,
// uninstall, list and inspect applications and libraries in the home's NightOS tree (docs/skyer.md).

import { writeFileSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import type { Argv, CommandModule } from "yargs";
import type { StepTiming } from "../../commonassembly/aot/options.js";
import { KernelEventRunner } from "../../kernel-compat/skyer-events.js";
import { isHostError } from "../../native/errors.js";
import { NcwError } from "../../ncw/errors.js";
import type { HomeLayout } from "../../ncw/home.js";
import { type Progress, safeText } from "../../ncw/output.js";
import { SIDELOADING_MODES } from "../../services/registry/keys.js";
import { checkUserName, DEFAULT_USER } from "../../services/skyer/layout.js";
import { SYS_LIB_AID, SYS_LIB_VERSION } from "../../services/skyer/libs.js";
import type { InstalledItem, Scope } from "../../services/skyer/model.js";
import { diffPackages, readNau, writeNau } from "../../services/skyer/nau.js";
import { installIn, readInstallPackage, sideloadingMode } from "../../services/skyer/operations.js";
import { loadPackage, readInstalledManifest } from "../../services/skyer/package.js";
import { openSkyerSession, type SkyerSession } from "../../services/skyer/session.js";
import { type OperationReport, SIDELOADING_UNSECURE_WARNING } from "../../services/skyer/skyer.js";
import { type CommandContext, type GlobalArgs, runCommand } from "../context.js";

interface ScopeArgs extends GlobalArgs {
  global?: boolean;
  user?: string;
}

function userOf(argv: ScopeArgs): string {
  const env = process.env.NCW_USER;
  return checkUserName(argv.user ?? (env !== undefined && env !== "" ? env : DEFAULT_USER));
}

function scopeOf(argv: ScopeArgs): Scope {
  if (argv.global && argv.user !== undefined) {
    throw new NcwError("usage", "--global and --user cannot be used together", {
      code: "SKYER_SCOPE_FLAGS",
      hint: "--global is for every user; --user <name> for one user",
    });
  }
  return argv.global ? { kind: "global" } : { kind: "user", user: userOf(argv) };
}

const scopeOptions = <T>(y: Argv<T>) =>
  y
    .option("global", {
      type: "boolean",
      describe: "Act on global applications (/apps), available to every user",
    })
    .option("user", {
      type: "string",
      describe: `NightOS user (default: $NCW_USER, else "${DEFAULT_USER}")`,
    });

interface WaitArgs {
  wait?: boolean;
}

/** `--wait` for the commands that change the home (docs/skyer.md "Atomicity"). */
const waitOption = <T>(y: Argv<T>) =>
  y.option("wait", {
    type: "boolean",
    describe: "If another ncw command is changing the home, wait for it instead of failing",
  });

/** Open a session with a progress bar wired to Skyer's progress callback. */
async function session(
  ctx: CommandContext,
  command: string,
  write: boolean,
  wait: boolean,
): Promise<{ s: SkyerSession; done: () => void }> {
  let bar: Progress | null = null;
  let label = "";
  const s = await openSkyerSession(ctx.home(), {
    command,
    write,
    // --wait: say once what the command waits for (the lock's holder), then wait for it.
    ...(wait
      ? {
          wait: {
            onWait: (what: string) =>
              process.stderr.write(`ncw: waiting for ${safeText(what)}; Ctrl-C to give up\n`),
          },
        }
      : {}),
    readManifest: readInstalledManifest,
    events: new KernelEventRunner(ctx.home()),
    progress: (l, done, total) => {
      if (bar === null || l !== label) {
        bar?.done();
        label = l;
        bar = ctx.out.progress(l, total);
      }
      bar.update(done, `${done}/${total} files`);
    },
  });
  if (s.recovery !== null) {
    const r = s.recovery;
    ctx.out.warn(
      r.outcome === "rolled-back"
        ? `an interrupted ${r.op} of ${r.aid} was rolled back; the home is as it was before it`
        : `an interrupted ${r.op} of ${r.aid} had committed; its clean-up is now finished`,
    );
  }
  return {
    s,
    done: () => {
      (bar as Progress | null)?.done();
      bar = null;
    },
  };
}

async function withSession<T>(
  ctx: CommandContext,
  command: string,
  write: boolean,
  body: (s: SkyerSession, endProgress: () => void) => Promise<T>,
  wait = false,
): Promise<T> {
  const { s, done } = await session(ctx, command, write, wait);
  try {
    return await body(s, done);
  } finally {
    done();
    await s.close();
  }
}

/** Read a package or update file given on the command line, with a clear error if it cannot be. */
async function readInput(file: string, what: "package" | "update"): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(file));
  } catch (e) {
    throw new NcwError(
      "not-found",
      `cannot read the ${what} ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
      {
        code: "SKYER_PACKAGE_UNREADABLE",
        hint:
          what === "package"
            ? "check the path; build a package with `ncw pack <folder>`"
            : "check the path; build an update with `ncw skyer make-update old.nap new.nap`",
      },
    );
  }
}

function hexAnid(anid: number): string {
  return `0x${anid.toString(16).padStart(8, "0")}`;
}

/**
 * Where a home records that the unsecure-sideloading warning was shown (docs/skyer.md "Sideloading":
 * once per home, and in `ncw skyer info`). A host file beside the tree, not part of NightOS.
 */
export function sideloadingNoticeFile(home: HomeLayout): string {
  return path.join(home.root, "sideloading-warned");
}

/** True the first time for a home (the notice file is created then); true too if it cannot be made. */
function firstSideloadingWarning(home: HomeLayout): boolean {
  try {
    writeFileSync(
      sideloadingNoticeFile(home),
      `${SIDELOADING_UNSECURE_WARNING}\n(shown once for this home; \`ncw skyer info\` repeats it)\n`,
      { flag: "wx" },
    );
    return true;
  } catch (e) {
    return !isHostError(e, "exists");
  }
}

function printReport(ctx: CommandContext, r: OperationReport): void {
  const out = ctx.out;
  for (const w of r.warnings) {
    if (w === SIDELOADING_UNSECURE_WARNING) {
      if (!firstSideloadingWarning(ctx.home())) continue;
      out.warn(`${w} (shown once for this home; \`ncw skyer info\` repeats it)`);
    } else out.warn(w);
  }
  if (out.json) {
    // The scope as `ncw skyer list/info` give it: "global" or "user", with the user apart.
    const [scope, user] = r.scope.split(" ");
    out.data({ ...r, scope, user: scope === "user" ? user : null });
    return;
  }
  // Everything in a report came from a package or an app (its events' notes): made safe.
  const s = out.style;
  const t = safeText;
  const from = r.previousVersion !== undefined ? ` (was ${t(r.previousVersion)})` : "";
  out.info(
    `${s.green(r.action)} ${s.bold(t(r.aid))} ${t(r.version)}${from} — ${r.kind === "lib" ? "library" : "application"}, ${r.scope}, ANID ${hexAnid(r.anid)}`,
  );
  out.info(`  folder: ${t(r.dir)}`);
  const libs = Object.entries(r.resolved ?? {});
  if (libs.length > 0) out.info(`  libraries: ${t(libs.map(([a, v]) => `${a} ${v}`).join(", "))}`);
  for (const e of r.embedded ?? [])
    out.info(`  embedded library: ${t(`${e.aid} ${e.version} ${e.action} (${e.dir})`)}`);
  if (r.aot !== undefined) {
    const a = r.aot;
    const what = a.cached
      ? `already compiled (cached); loading the cached artifact took ${a.ms.toFixed(0)} ms`
      : `compiled in ${a.ms.toFixed(0)} ms`;
    out.info(`  AOT: ${t(a.program)} ${what}${aotSteps(a.steps)} -> ${t(a.artifact)}`);
  }
  for (const e of r.events) out.info(`  event ${t(e.event)}: ${t(e.note)}`);
}

/** The slowest steps of an AOT step, for the report: " (engine-compile 700 ms, read 3 ms)". */
function aotSteps(steps: readonly StepTiming[]): string {
  const top = [...steps].sort((a, b) => b.ms - a.ms).slice(0, 3);
  if (top.length === 0) return "";
  return ` (${top.map((x) => `${x.step} ${x.ms.toFixed(0)} ms`).join(", ")})`;
}

interface InstallArgs extends ScopeArgs, WaitArgs {
  package: string;
  sideloading?: string;
  force?: boolean;
  library?: string;
}

const install: CommandModule<GlobalArgs, InstallArgs> = {
  command: "install <package>",
  describe: "Install an application or library package (.nap); reinstalling an AID updates it",
  builder: (y) =>
    waitOption(scopeOptions(y))
      .positional("package", { type: "string", demandOption: true, describe: "The .nap file" })
      .option("sideloading", {
        choices: SIDELOADING_MODES,
        describe:
          "Sideloading mode for this install (default: the registry's, see `ncw skyer sideloading`)",
      })
      .option("force", {
        type: "boolean",
        describe: "Allow installing an older version over a newer one",
      })
      .option("library", {
        type: "string",
        describe:
          "Install only this library embedded in the application package (its AID), not the application",
      })
      .epilogue(
        "An application's pre-compiled program (content.program.precomp) is AOT-compiled into the home's " +
          "cache before the install commits; a program that fails makes the install fail. " +
          "An application package's embedded libraries ([embedded] in its manifest) are installed with it. " +
          "Applications go to /home/<user>/apps/<did>.<slug> (or /apps/... with --global) with content/, data/, " +
          "packages/, crashsaves/, sandboxes/; libraries to .../<did>.<slug>/<version>/. See docs/skyer.md.",
      ) as Argv<InstallArgs>,
  handler: (argv) =>
    runCommand(argv, async (ctx) => {
      const scope = scopeOf(argv);
      const bytes = await readInput(argv.package, "package");
      const pkg = await readInstallPackage(argv.package, bytes, argv.library);
      await withSession(
        ctx,
        `skyer install ${argv.package}`,
        true,
        async (s, endProgress) => {
          const report = await installIn(s, pkg, {
            scope,
            user: userOf(argv),
            ...(argv.sideloading === undefined ? {} : { sideloading: argv.sideloading }),
            force: argv.force === true,
          });
          endProgress();
          printReport(ctx, report);
        },
        argv.wait === true,
      );
    }),
};

interface UninstallArgs extends ScopeArgs, WaitArgs {
  aid: string;
  libVersion?: string;
}

const uninstall: CommandModule<GlobalArgs, UninstallArgs> = {
  command: "uninstall <aid>",
  describe: "Uninstall an application or library (its appdata in /home/<user>/appdata is kept)",
  builder: (y) =>
    waitOption(scopeOptions(y))
      .positional("aid", {
        type: "string",
        demandOption: true,
        describe: "The AID, e.g. superdev::utils",
      })
      .option("lib-version", {
        type: "string",
        describe: "For a library: remove only this version (default: every version)",
      }) as Argv<UninstallArgs>,
  handler: (argv) =>
    runCommand(argv, async (ctx) => {
      const scope = scopeOf(argv);
      await withSession(
        ctx,
        `skyer uninstall ${argv.aid}`,
        true,
        async (s) => {
          printReport(ctx, await s.skyer.uninstall(argv.aid, scope, argv.libVersion));
        },
        argv.wait === true,
      );
    }),
};

interface UpdateArgs extends ScopeArgs, WaitArgs {
  aid: string;
  update: string;
  sideloading?: string;
}

const update: CommandModule<GlobalArgs, UpdateArgs> = {
  command: "update <aid> <update>",
  describe: "Apply an update package (.nau) to an installed application",
  builder: (y) =>
    waitOption(scopeOptions(y))
      .positional("aid", {
        type: "string",
        demandOption: true,
        describe: "The installed application's AID",
      })
      .positional("update", { type: "string", demandOption: true, describe: "The .nau file" })
      .option("sideloading", {
        choices: SIDELOADING_MODES,
        describe: "Sideloading mode for this update",
      })
      .epilogue(
        "A .nau applies only to the version its metadata names (from_version). Build one with " +
          "`ncw skyer make-update old.nap new.nap`.",
      ) as Argv<UpdateArgs>,
  handler: (argv) =>
    runCommand(argv, async (ctx) => {
      const scope = scopeOf(argv);
      const bytes = await readInput(argv.update, "update");
      const nau = readNau(bytes);
      await withSession(
        ctx,
        `skyer update ${argv.aid}`,
        true,
        async (s, endProgress) => {
          const report = await s.skyer.update(argv.aid, nau, bytes, {
            scope,
            sideloading: await sideloadingMode(s, argv.sideloading),
          });
          endProgress();
          printReport(ctx, report);
        },
        argv.wait === true,
      );
    }),
};

function itemRow(it: InstalledItem) {
  return {
    aid: it.aid,
    kind: it.kind,
    name: it.name,
    anid: it.anid,
    scope: it.scope,
    user: it.user,
    versions: it.versions.map((v) => v.version),
  };
}

const BUILTIN_ROW = {
  aid: SYS_LIB_AID,
  kind: "lib",
  name: "NightOS system library",
  anid: null,
  scope: "builtin",
  user: null,
  versions: [SYS_LIB_VERSION],
};

interface ListArgs extends ScopeArgs {
  all?: boolean;
}

const list: CommandModule<GlobalArgs, ListArgs> = {
  command: "list",
  describe: "List installed applications and libraries (global ones and the user's)",
  builder: (y) =>
    scopeOptions(y).option("all", {
      type: "boolean",
      describe: "List every user's items too",
    }) as Argv<ListArgs>,
  handler: (argv) =>
    runCommand(argv, async (ctx) => {
      const scope = scopeOf(argv);
      await withSession(ctx, "skyer list", false, async (s) => {
        const items = s.skyer
          .list(argv.all ? "all" : scope)
          .filter((it) => !argv.global || it.scope === "global");
        const rows = [BUILTIN_ROW, ...items.map(itemRow)];
        if (ctx.out.json) {
          ctx.out.data(rows);
          return;
        }
        // Cells come from installed manifests: made safe before their widths are measured.
        const table = rows.map((r) => [
          safeText(r.aid),
          safeText(r.versions.join(", ")),
          r.kind === "lib" ? "library" : "app",
          r.scope === "user" ? `user ${safeText(r.user ?? "")}` : r.scope,
          r.anid === null ? "-" : hexAnid(r.anid),
        ]);
        const head = ["AID", "VERSION", "KIND", "SCOPE", "ANID"];
        const widths = head.map((h, i) => Math.max(h.length, ...table.map((r) => r[i]!.length)));
        const line = (cells: string[]) =>
          cells
            .map((c, i) => c.padEnd(widths[i]!))
            .join("  ")
            .trimEnd();
        ctx.out.info(ctx.out.style.bold(line(head)));
        for (const r of table) ctx.out.info(line(r));
        if (items.length === 0)
          ctx.out.info(ctx.out.style.dim("(nothing installed yet: `ncw skyer install <app.nap>`)"));
      });
    }),
};

interface InfoArgs extends ScopeArgs {
  aid: string;
}

const info: CommandModule<GlobalArgs, InfoArgs> = {
  command: "info <aid>",
  describe: "Show an installed application or library: ANID, versions, folders, libraries, events",
  builder: (y) =>
    scopeOptions(y).positional("aid", {
      type: "string",
      demandOption: true,
      describe: "The AID, e.g. superdev::utils",
    }) as Argv<InfoArgs>,
  handler: (argv) =>
    runCommand(argv, async (ctx) => {
      const scope = scopeOf(argv);
      await withSession(ctx, "skyer info", false, async (s) => {
        if (argv.aid === SYS_LIB_AID) {
          if (ctx.out.json) ctx.out.data(BUILTIN_ROW);
          else
            ctx.out.info(
              `${SYS_LIB_AID} ${SYS_LIB_VERSION} — built-in system library (NCW's NightOS ABI version)`,
            );
          return;
        }
        const it = s.skyer.find(argv.aid, scope);
        if (it === undefined) throw s.skyer.notInstalled(argv.aid, scope);
        if (ctx.out.json) {
          ctx.out.data(it);
          return;
        }
        // Names, versions, folders and libraries come from the installed manifest: made safe.
        const o = ctx.out;
        const t = safeText;
        o.info(`${o.style.bold(t(it.aid))} — ${t(it.name)}`);
        o.info(`  kind:  ${it.kind === "lib" ? "library" : "application"}`);
        o.info(`  scope: ${it.scope === "user" ? `user ${t(it.user ?? "")}` : "global"}`);
        o.info(`  ANID:  ${hexAnid(it.anid)} (${it.anid})`);
        // NCW has no Store: every install came from a file, in unsecure mode (the others refuse).
        o.info(
          `  source: ${o.style.yellow("sideloaded")} — its AID was not checked against the Store (AID spoofing is possible)`,
        );
        for (const v of it.versions) {
          o.info(`  version ${o.style.bold(t(v.version))}`);
          o.info(`    folder:     ${t(v.dir)}`);
          o.info(`    installed:  ${t(v.installedAt)}   updated: ${t(v.updatedAt)}`);
          o.info(`    packages:   ${t(v.packages.join(", "))}`);
          const libs = Object.entries(v.requires);
          o.info(
            `    libraries:  ${libs.length === 0 ? "none" : t(libs.map(([a, r]) => `${a} ${r} -> ${v.resolved[a] ?? "?"}`).join(", "))}`,
          );
          const ev = Object.entries(v.events)
            .filter(([, on]) => on)
            .map(([e]) => e);
          if (it.kind === "app")
            o.info(`    events:     ${ev.length === 0 ? "none" : t(ev.join(", "))}`);
        }
      });
    }),
};

interface SideloadingArgs extends GlobalArgs, WaitArgs {
  mode?: string;
}

const sideloading: CommandModule<GlobalArgs, SideloadingArgs> = {
  command: "sideloading [mode]",
  describe: "Show or set the sideloading mode (registry key system.applications.sideloading)",
  builder: (y) =>
    waitOption(y)
      .positional("mode", { choices: SIDELOADING_MODES, describe: "The new mode" })
      .epilogue(
        "disabled: no package can be installed from a file. store-checking: the AID must be checked with the " +
          "NightOS Store, which NCW cannot reach, so it behaves as disabled (as the spec says when offline). " +
          "unsecure: installs without checks, with a warning (NCW's default).",
      ) as Argv<SideloadingArgs>,
  handler: (argv) =>
    runCommand(argv, async (ctx) => {
      await withSession(
        ctx,
        "skyer sideloading",
        argv.mode !== undefined,
        async (s) => {
          if (argv.mode !== undefined)
            await s.registry.set("system.applications.sideloading", argv.mode);
          const mode = s.registry.get("system.applications.sideloading");
          const isDefault = !s.registry.isSet("system.applications.sideloading");
          if (ctx.out.json) ctx.out.data({ mode, default: isDefault });
          else ctx.out.info(`sideloading: ${mode}${isDefault ? " (default)" : ""}`);
        },
        argv.wait === true,
      );
    }),
};

interface MakeUpdateArgs extends GlobalArgs {
  old: string;
  new: string;
  output?: string;
}

const makeUpdate: CommandModule<GlobalArgs, MakeUpdateArgs> = {
  command: "make-update <old> <new>",
  describe: "Build a .nau update package that turns one version's .nap into the next one's",
  builder: (y) =>
    y
      .positional("old", {
        type: "string",
        demandOption: true,
        describe: "The installed version's .nap",
      })
      .positional("new", { type: "string", demandOption: true, describe: "The new version's .nap" })
      .option("output", {
        alias: "o",
        type: "string",
        describe: "Where to write the .nau (default: <did>.<slug>-<from>-to-<to>.nau)",
      }) as Argv<MakeUpdateArgs>,
  handler: (argv) =>
    runCommand(argv, async ({ out }) => {
      const read = async (p: string) => loadPackage(p, await readInput(p, "package"));
      const a = await read(argv.old);
      const b = await read(argv.new);
      if (a.aid !== b.aid) {
        throw new NcwError(
          "usage",
          `the packages are different applications (${a.aid}, ${b.aid})`,
          {
            code: "NAU_WRONG_APP",
          },
        );
      }
      if (a.isLibrary) {
        throw new NcwError(
          "usage",
          `${a.aid} is a library: libraries are updated by installing the new version`,
          {
            code: "SKYER_NAU_LIBRARY",
          },
        );
      }
      const nau = diffPackages(a.aid, a, b);
      const bytes = writeNau({ ...nau, metadata: { ...nau.metadata } });
      const dest = argv.output ?? `${a.did}.${a.slug}-${a.version}-to-${b.version}.nau`;
      await writeFile(dest, bytes);
      if (out.json) out.data({ output: dest, ...nau.metadata, files: [...nau.files.keys()] });
      else
        out.info(
          safeText(
            `wrote ${dest}: ${a.aid} ${a.version} -> ${b.version}, ${nau.files.size} file(s) replaced, ${nau.metadata.remove.length} removed`,
          ),
        );
    }),
};

export const skyerCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: "skyer <command>",
  describe:
    "Skyer, the application manager: install, update, uninstall and list apps and libraries",
  builder: (y) =>
    y
      .command(install)
      .command(uninstall)
      .command(update)
      .command(list)
      .command(info)
      .command(sideloading)
      .command(makeUpdate)
      .demandCommand(1, "Say which skyer command to run: see `ncw skyer --help`.")
      .epilogue("Tree layout, state files and atomicity: docs/skyer.md."),
  handler: () => {},
};
