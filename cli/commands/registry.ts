// `ncw registry`: the home's NightOS registry (specs/registry.md, technical/registry.md "Debugging";
// docs/registry.md): read a node, set one, export the whole registry to HFRR and import it back, reset.

import { readFile, writeFile } from "node:fs/promises";
import type { Argv, CommandModule } from "yargs";
import { NcwError } from "../../ncw/errors.js";
import { safeLines, safeText } from "../../ncw/output.js";
import type { Registry } from "../../services/registry/registry.js";
import { openSkyerSession } from "../../services/skyer/session.js";
import { type CommandContext, type GlobalArgs, runCommand } from "../context.js";

/** Open the registry; a writer holds the home lock (docs/skyer.md "Atomicity") until `body` is done. */
async function withRegistry<T>(
  ctx: CommandContext,
  command: string,
  write: boolean,
  body: (r: Registry) => Promise<T>,
): Promise<T> {
  const s = await openSkyerSession(ctx.home(), { command, write });
  try {
    return await body(s.registry);
  } finally {
    await s.close();
  }
}

/** Export and import are developer-mode features (technical/registry.md "Debugging"). */
function needDevMode(r: Registry, what: string): void {
  if (!r.devMode())
    throw new NcwError("no-perm", `the registry can be ${what} only in developer mode`, {
      code: "REGISTRY_DEV_MODE",
      hint: "turn developer mode on: `ncw registry set system.debugging.dev_mode true`",
    });
}

interface PathArgs extends GlobalArgs {
  path?: string;
}

const get: CommandModule<GlobalArgs, PathArgs> = {
  command: "get [path]",
  describe: "Show a node or entry in HFRR (everything without a path)",
  builder: (y) =>
    y
      .positional("path", {
        type: "string",
        describe:
          "Dotted path: struct keys, map keys, list indexes (system.processes.terminate_delay, users.1)",
      })
      .epilogue(
        "Without a path, the whole registry. --json gives {path, type, purpose, value, hfrr, default}; " +
          "value is durations and sizes in their type's precision unit (time(ms): milliseconds).",
      ) as Argv<PathArgs>,
  handler: (argv) =>
    runCommand(argv, async (ctx) => {
      await withRegistry(ctx, "registry get", false, async (r) => {
        const d = r.describe(argv.path ?? "");
        if (ctx.out.json) {
          const { isDefault, ...rest } = d;
          ctx.out.data({ ...rest, default: isDefault });
        } else if (argv.path === undefined) await ctx.out.write(d.hfrr);
        else ctx.out.info(safeLines(d.hfrr));
      });
    }),
};

interface SetArgs extends GlobalArgs {
  path: string;
  value: string;
}

const set: CommandModule<GlobalArgs, SetArgs> = {
  command: "set <path> <value>",
  describe: "Set a node, or add or change a map or list entry",
  builder: (y) =>
    y
      .positional("path", {
        type: "string",
        demandOption: true,
        describe: "Dotted path of the node or entry",
      })
      .positional("value", {
        type: "string",
        demandOption: true,
        describe:
          'The value in HFRR: 500ms, 2d 10s, 16MB, true, Admin, "text" (a bare word for a string)',
      })
      .epilogue(
        "The value is checked against the node's type and constraints; the running kernel applies a " +
          "changed delay at once. Examples: `ncw registry set system.processes.terminate_delay 700ms`, " +
          "`ncw registry set users.2 Standard` (adds user 2), `ncw registry set users '{}'`.",
      ) as Argv<SetArgs>,
  handler: (argv) =>
    runCommand(argv, async (ctx) => {
      await withRegistry(ctx, `registry set ${argv.path}`, true, async (r) => {
        await r.setPath(argv.path, String(argv.value));
        const d = r.describe(argv.path);
        if (ctx.out.json)
          ctx.out.data({ path: d.path, type: d.type, value: d.value, hfrr: d.hfrr });
        else ctx.out.info(`${safeText(argv.path)} = ${safeLines(d.hfrr)}`);
      });
    }),
};

const rm: CommandModule<GlobalArgs, PathArgs> = {
  command: "rm <path>",
  describe: "Remove an entry of a map or list",
  builder: (y) => y.positional("path", { type: "string", demandOption: true }) as Argv<PathArgs>,
  handler: (argv) =>
    runCommand(argv, async (ctx) => {
      await withRegistry(ctx, `registry rm ${argv.path}`, true, async (r) => {
        await r.remove(argv.path ?? "");
        if (ctx.out.json) ctx.out.data({ removed: argv.path });
        else ctx.out.info(`removed ${safeText(argv.path ?? "")}`);
      });
    }),
};

interface FileArgs extends GlobalArgs {
  file?: string;
}

const exportCmd: CommandModule<GlobalArgs, FileArgs> = {
  command: "export [file]",
  describe: "Write the whole registry as HFRR text",
  builder: (y) =>
    y
      .positional("file", { type: "string", describe: "Host file to write (default: stdout)" })
      .epilogue(
        "Developer mode only (system.debugging.dev_mode, on by default). Edit it and `ncw registry import` it back.",
      ) as Argv<FileArgs>,
  handler: (argv) =>
    runCommand(argv, async (ctx) => {
      await withRegistry(ctx, "registry export", false, async (r) => {
        needDevMode(r, "exported");
        const text = r.exportText();
        if (argv.file === undefined || argv.file === "" || argv.file === "-")
          await ctx.out.write(text);
        else {
          await writeFile(argv.file, text);
          if (ctx.out.json) ctx.out.data({ file: argv.file, bytes: Buffer.byteLength(text) });
          else ctx.out.info(`exported the registry to ${safeText(argv.file)}`);
        }
      });
    }),
};

async function readText(file: string): Promise<string> {
  try {
    if (file === "-") {
      const chunks: Buffer[] = [];
      for await (const c of process.stdin) chunks.push(c as Buffer);
      return Buffer.concat(chunks).toString("utf8");
    }
    return await readFile(file, "utf8");
  } catch (e) {
    throw new NcwError(
      "not-found",
      `cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
      {
        code: "REGISTRY_FILE_UNREADABLE",
        hint: "give the HFRR file `ncw registry export` wrote, or - for stdin",
      },
    );
  }
}

const importCmd: CommandModule<GlobalArgs, FileArgs> = {
  command: "import <file>",
  describe: "Import an HFRR text (all or nothing)",
  builder: (y) =>
    y
      .positional("file", {
        type: "string",
        demandOption: true,
        describe: "HFRR file (- for stdin)",
      })
      .epilogue(
        "Every node the text names must exist with its type; nodes it leaves out keep their value; a map's " +
          "or list's entries become the text's. A bad line is reported with its line and column and the " +
          "registry is left unchanged. Developer mode only.",
      ) as Argv<FileArgs>,
  handler: (argv) =>
    runCommand(argv, async (ctx) => {
      // yargs hands a lone "-" over as an empty string.
      const file = argv.file === undefined || argv.file === "" ? "-" : argv.file;
      const text = await readText(file);
      await withRegistry(ctx, "registry import", true, async (r) => {
        needDevMode(r, "imported");
        try {
          await r.importText(text);
        } catch (e) {
          if (e instanceof NcwError && e.code === "REGISTRY_BAD_HFRR")
            throw new NcwError(e.kind, `${file}: ${e.message}`, {
              code: e.code,
              ...(e.hint !== undefined ? { hint: e.hint } : {}),
            });
          throw e;
        }
        if (ctx.out.json) ctx.out.data({ imported: file });
        else ctx.out.info(`imported ${safeText(file)} into the registry`);
      });
    }),
};

const reset: CommandModule<GlobalArgs, PathArgs> = {
  command: "reset [path]",
  describe: "Give a node (or everything) its default",
  builder: (y) =>
    y.positional("path", {
      type: "string",
      describe: "Dotted path (default: everything)",
    }) as Argv<PathArgs>,
  handler: (argv) =>
    runCommand(argv, async (ctx) => {
      await withRegistry(ctx, "registry reset", true, async (r) => {
        await r.reset(argv.path ?? "");
        const what = argv.path ?? "the registry";
        if (ctx.out.json) ctx.out.data({ reset: argv.path ?? "" });
        else ctx.out.info(`${safeText(what)} is back to its default`);
      });
    }),
};

export const registryCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: "registry <command>",
  describe: "Read and change the home's NightOS registry; export it to HFRR and import it back",
  builder: (y) =>
    y
      .command(get)
      .command(set)
      .command(rm)
      .command(exportCmd)
      .command(importCmd)
      .command(reset)
      .demandCommand(1, "give a registry command: get, set, rm, export, import or reset")
      .epilogue(
        "The registry is /etc/sys/registry in the home's NightOS tree (docs/registry.md).",
      ) as Argv<GlobalArgs>,
  handler: () => {},
};
