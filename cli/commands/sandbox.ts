// `ncw sandbox list|diff|apply|rm|export|import`: the persistent sandboxes of `ncw run --sandbox=<name>`
// (docs/dev-loop.md "Sandboxes"), and what `ncw run --sandbox` shows and asks when the app exits.
// Thin: the sandboxes are the kernel's tree requests (kernel-compat/server/tree.ts,
// services/fs/sandbox.ts); the export file is ncw/sandbox-archive.ts's.

import { readFileSync, writeFileSync } from "node:fs";
import type { Argv, CommandModule } from "yargs";
import { type AskHandler, connectKernel, requestUser } from "../../kernel-compat/client.js";
import { RemoteFs } from "../../kernel-compat/tree-client.js";
import { NcwError } from "../../ncw/errors.js";
import type { Output } from "../../ncw/output.js";
import { safeText } from "../../ncw/output.js";
import {
  ARCHIVE_FORMAT,
  ARCHIVE_VERSION,
  type ArchiveChange,
  readArchive,
  writeArchive,
} from "../../ncw/sandbox-archive.js";
import { splitPath } from "../../services/fs/layer.js";
import type { SandboxChange } from "../../services/fs/sandbox.js";
import { coveredPrefixes, SANDBOX_NAME, sandboxFolder } from "../../services/fs/sandbox-layout.js";
import { appDirName } from "../../services/skyer/layout.js";
import { type GlobalArgs, runCommand } from "../context.js";
import { formatSize } from "./pack.js";

/** The result of applying a sandbox (tree.ts `sandboxApply`). */
export interface ApplyAnswer {
  applied: SandboxChange[];
  refused: (SandboxChange & { why: string })[];
}

const MARK = { added: "+", changed: "~", removed: "-" } as const;

/** The changes as lines: `+ path (size)`, `~ path (old → new)`, `- path (old size)`. */
export function changeLines(changes: readonly SandboxChange[], out: Output): string[] {
  const s = out.style;
  return changes.map((c) => {
    const what = c.kind === "dir" ? "folder" : c.kind === "symlink" ? "symlink" : undefined;
    const size =
      what !== undefined
        ? what
        : c.change === "added"
          ? formatSize(c.size)
          : c.change === "removed"
            ? formatSize(c.oldSize)
            : `${formatSize(c.oldSize)} → ${formatSize(c.size)}`;
    const paint = c.change === "added" ? s.green : c.change === "removed" ? s.red : s.yellow;
    return `  ${paint(MARK[c.change])} ${safeText(c.path)}${c.kind === "dir" ? "/" : ""}  ${s.dim(`(${size})`)}`;
  });
}

/** A one-line count: "2 added, 1 changed, 0 removed". */
export function changeCounts(changes: readonly SandboxChange[]): string {
  const n = (k: SandboxChange["change"]) => changes.filter((c) => c.change === k).length;
  return `${n("added")} added, ${n("changed")} changed, ${n("removed")} removed`;
}

/** What `apply` did, for people: the count, and each refused change with why. */
export function applyLines(r: ApplyAnswer, out: Output): string[] {
  const lines = [`applied ${r.applied.length} change(s) to the real tree`];
  for (const c of r.refused)
    lines.push(`  ${out.style.red("refused")} ${safeText(c.path)}: ${c.why}`);
  return lines;
}

// ---------------------------------------------------------------- the commands

interface UserArgs extends GlobalArgs {
  user?: string;
}
interface OneArgs extends UserArgs {
  app: string;
  name: string;
}

const userOption = <T>(y: Argv<T>) =>
  y.option("user", {
    type: "string",
    describe: "The NightOS user (default: $NCW_USER, else the default user)",
  });

const oneSandbox = <T>(y: Argv<T>) =>
  userOption(
    y
      .positional("app", {
        type: "string",
        demandOption: true,
        describe:
          "The app: its AID (did::slug), or its folder as `ncw sandbox list` shows it (did.slug, .volatile.<hash>)",
      })
      .positional("name", { type: "string", demandOption: true, describe: "The sandbox's name" }),
  );

/** The app's folder in appdata from an AID or a folder name. */
function appFolder(app: string): string {
  if (app.includes("::")) return appDirName(app);
  if (!/^(\.volatile\.[0-9a-f]{16}|[a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*)$/.test(app))
    throw new NcwError("usage", `not an app: ${JSON.stringify(app)}`, {
      code: "SANDBOX_BAD_APP",
      hint: "give an AID (did::slug) or a folder that `ncw sandbox list` shows",
    });
  return app;
}

function checkName(name: string): string {
  if (!SANDBOX_NAME.test(name))
    throw new NcwError("usage", `invalid sandbox name ${JSON.stringify(name)}`, {
      code: "SANDBOX_BAD_NAME",
      hint: "a sandbox name is 1–64 of a-z, 0-9, _, . and -, not starting with . or -",
    });
  return name;
}

/** The kernel's tree (started if none runs: the sandboxes are its tree requests). */
async function withKernel<T>(
  home: Parameters<typeof connectKernel>[0],
  fn: (fs: RemoteFs) => Promise<T>,
): Promise<T> {
  const conn = await connectKernel(home, { start: true });
  if (conn === undefined) throw new Error("unreachable: connectKernel with start");
  try {
    return await fn(new RemoteFs(conn));
  } finally {
    conn.close();
  }
}

interface Listed {
  app: string;
  name: string;
  dir: string;
}

/** The sandbox's folder, which must hold a sandbox. */
async function existing(fs: RemoteFs, argv: OneArgs): Promise<{ dir: string; user: string }> {
  const user = argv.user ?? requestUser();
  const dir = sandboxFolder(user, appFolder(argv.app), checkName(argv.name));
  const all = await fs.request<Listed[]>({ op: "sandboxList", user });
  if (!all.some((s) => s.dir === dir))
    throw new NcwError("not-found", `no sandbox ${argv.name} of ${argv.app} for user ${user}`, {
      code: "SANDBOX_NOT_FOUND",
      hint: "`ncw sandbox list` shows the sandboxes",
    });
  return { dir, user };
}

const list: CommandModule<GlobalArgs, UserArgs> = {
  command: "list",
  describe: "List the user's persistent sandboxes, with how many changes each holds",
  builder: (y) => userOption(y),
  handler: (argv) =>
    runCommand(argv, async ({ home, out }) => {
      const user = argv.user ?? requestUser();
      const rows = await withKernel(home(), async (fs) => {
        const all = await fs.request<Listed[]>({ op: "sandboxList", user });
        const out: (Listed & { changes: SandboxChange[] })[] = [];
        for (const s of all)
          out.push({
            ...s,
            changes: await fs.request<SandboxChange[]>({ op: "sandboxDiff", dir: s.dir, user }),
          });
        return out;
      });
      if (out.json) {
        out.data(
          rows.map((r) => ({ app: r.app, name: r.name, dir: r.dir, changes: r.changes.length })),
        );
        return 0;
      }
      if (rows.length === 0) out.info(`no sandboxes for user ${user}`);
      for (const r of rows)
        out.info(`${safeText(r.app)}  ${safeText(r.name)}  ${changeCounts(r.changes)}`);
      return 0;
    }),
};

const diff: CommandModule<GlobalArgs, OneArgs> = {
  command: "diff <app> <name>",
  describe: "Show what a sandbox changed: added, changed and removed items with their sizes",
  builder: (y) => oneSandbox(y),
  handler: (argv) =>
    runCommand(argv, async ({ home, out }) => {
      const changes = await withKernel(home(), async (fs) => {
        const { dir, user } = await existing(fs, argv);
        return fs.request<SandboxChange[]>({ op: "sandboxDiff", dir, user });
      });
      if (out.json) out.data({ app: argv.app, name: argv.name, changes });
      else {
        out.info(`${changeCounts(changes)}`);
        for (const l of changeLines(changes, out)) out.info(l);
      }
      return 0;
    }),
};

const apply: CommandModule<GlobalArgs, OneArgs & { drop?: boolean }> = {
  command: "apply <app> <name>",
  describe:
    "Copy a sandbox's changes into the real tree, in one commit (the sandbox is kept, its changes now applied)",
  builder: (y) =>
    oneSandbox(y).option("drop", {
      type: "boolean",
      describe: "Remove the sandbox after applying it",
    }),
  handler: (argv) =>
    runCommand(argv, async ({ home, out }) => {
      const r = await withKernel(home(), async (fs) => {
        const { dir, user } = await existing(fs, argv);
        return fs.request<ApplyAnswer>({ op: "sandboxApply", dir, user, keep: argv.drop !== true });
      });
      if (out.json) out.data(r);
      else for (const l of applyLines(r, out)) out.info(l);
      return r.refused.length > 0 ? 1 : 0;
    }),
};

const rm: CommandModule<GlobalArgs, OneArgs> = {
  command: "rm <app> <name>",
  describe: "Remove a sandbox and its changes (nothing is applied)",
  builder: (y) => oneSandbox(y),
  handler: (argv) =>
    runCommand(argv, async ({ home, out }) => {
      await withKernel(home(), async (fs) => {
        const { dir } = await existing(fs, argv);
        await fs.request({ op: "sandboxDrop", dir });
      });
      if (out.json) out.data({ removed: true });
      else out.info(`removed sandbox ${safeText(argv.name)} of ${safeText(argv.app)}`);
      return 0;
    }),
};

const exportCmd: CommandModule<GlobalArgs, OneArgs & { output: string }> = {
  command: "export <app> <name>",
  describe: "Write a sandbox's changes to a file (a tar: manifest.json, then files/<path>)",
  builder: (y) =>
    oneSandbox(y).option("output", {
      alias: "o",
      type: "string",
      demandOption: true,
      describe: "The file to write",
    }),
  handler: (argv) =>
    runCommand(argv, async ({ home, out }) => {
      const { manifest, files } = await withKernel(home(), async (fs) => {
        const { dir, user } = await existing(fs, argv);
        const changes = await fs.request<SandboxChange[]>({ op: "sandboxDiff", dir, user });
        const files = new Map<string, Uint8Array>();
        const listed: ArchiveChange[] = [];
        for (const c of changes) {
          const at = `${dir}/tree${c.path}`;
          // Paths are the exporting user's; an import gives them to the importing user.
          const entry: ArchiveChange = { ...c };
          if (c.change !== "removed" && c.kind === "file") files.set(c.path, await fs.readFile(at));
          if (c.change !== "removed" && c.kind === "symlink") entry.target = await fs.readlink(at);
          listed.push(entry);
        }
        return {
          manifest: {
            format: ARCHIVE_FORMAT,
            version: ARCHIVE_VERSION,
            app: appFolder(argv.app),
            name: argv.name,
            user,
            exportedAt: new Date().toISOString(),
            changes: listed,
          },
          files,
        };
      });
      writeFileSync(argv.output, writeArchive(manifest, files));
      if (out.json) out.data({ output: argv.output, changes: manifest.changes.length });
      else out.info(`wrote ${manifest.changes.length} change(s) to ${argv.output}`);
      return 0;
    }),
};

/** A path of an imported change, given to `user` (a path outside what a sandbox covers: refused). */
function importedPath(p: string, from: string, user: string): string {
  const parts = splitPath(p);
  if (parts[0] === "home" || parts[0] === "tmp") {
    if (parts[1] !== from)
      throw new NcwError("data", `not a sandbox export: ${p}`, { code: "SANDBOX_BAD_ARCHIVE" });
    parts[1] = user;
  }
  const out = `/${parts.join("/")}`;
  if (!coveredPrefixes(user).some((x) => out === x || out.startsWith(`${x}/`)))
    throw new NcwError("data", `not a sandbox export: ${p} is outside what a sandbox covers`, {
      code: "SANDBOX_BAD_ARCHIVE",
    });
  return out;
}

const importCmd: CommandModule<
  GlobalArgs,
  UserArgs & { file: string; name?: string; force?: boolean }
> = {
  command: "import <file>",
  describe:
    "Make a persistent sandbox from a file `ncw sandbox export` wrote (its app's, under its name)",
  builder: (y) =>
    userOption(
      y
        .positional("file", { type: "string", demandOption: true, describe: "The export file" })
        .option("name", { type: "string", describe: "Import under this name instead" })
        .option("force", { type: "boolean", describe: "Replace a sandbox of that name" }),
    ),
  handler: (argv) =>
    runCommand(argv, async ({ home, out }) => {
      const { manifest, files } = readArchive(readFileSync(argv.file));
      const user = argv.user ?? requestUser();
      const name = checkName(argv.name ?? manifest.name);
      const app = appFolder(manifest.app);
      const dir = sandboxFolder(user, app, name);
      const changes = manifest.changes.map((c) => ({
        ...c,
        path: importedPath(c.path, manifest.user, user),
      }));
      await withKernel(home(), async (fs) => {
        const all = await fs.request<Listed[]>({ op: "sandboxList", user });
        if (all.some((s) => s.dir === dir)) {
          if (argv.force !== true)
            throw new NcwError("conflict", `sandbox ${name} of ${app} exists`, {
              code: "SANDBOX_EXISTS",
              hint: "use --force to replace it, or --name to import it under another name",
            });
          await fs.request({ op: "sandboxDrop", dir });
        }
        await fs.request({ op: "sandboxOpen", dir });
        const tree = `${dir}/tree`;
        // Removals deepest first, then the rest in path order (a folder before what is in it).
        for (const c of changes.filter((c) => c.change === "removed").reverse())
          await fs.rm(`${tree}${c.path}`, { recursive: true, force: true });
        for (const c of changes) {
          if (c.change === "removed") continue;
          const at = `${tree}${c.path}`;
          if (c.kind === "dir") {
            await fs.mkdir(at, { recursive: true });
            continue;
          }
          await fs.mkdir(at.slice(0, at.lastIndexOf("/")) || "/", { recursive: true });
          if (c.kind === "symlink") {
            await fs.rm(at, { force: true });
            await fs.symlink(c.target ?? "", at);
          } else {
            const data = files.get(manifest.changes[changes.indexOf(c)]!.path);
            if (data === undefined)
              throw new NcwError("data", `not a sandbox export: no files${c.path}`, {
                code: "SANDBOX_BAD_ARCHIVE",
              });
            await fs.writeFile(at, data);
          }
        }
      });
      if (out.json) out.data({ app, name, dir, changes: changes.length });
      else out.info(`imported sandbox ${name} of ${app} (${changes.length} change(s))`);
      return 0;
    }),
};

export const sandboxCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: "sandbox <command>",
  describe:
    "List, diff, apply, remove, export and import the persistent sandboxes of `ncw run --sandbox=<name>`",
  builder: (y) =>
    y
      .command(list)
      .command(diff)
      .command(apply)
      .command(rm)
      .command(exportCmd)
      .command(importCmd)
      .demandCommand(1, "name a command: list, diff, apply, rm, export or import")
      .epilogue(
        "A sandbox is a Btrfs snapshot in the app's sandboxes folder (/home/<user>/appdata/<app>/sandboxes/<name>) " +
          'where a run with `ncw run --sandbox=<name>` wrote instead of the real tree (docs/dev-loop.md "Sandboxes").',
      ),
  handler: () => {},
};

// ---------------------------------------------------------------- after `ncw run --sandbox`

export interface SandboxOutcome {
  name: string;
  dir: string;
  persistent: boolean;
  changes: SandboxChange[];
  /** What was done: applied, discarded (the sandbox dropped) or kept (a persistent one, as it is). */
  action: "applied" | "discarded" | "kept";
  applied: SandboxChange[] | null;
  refused: (SandboxChange & { why: string })[] | null;
}

/**
 * When a sandboxed run's app has exited (docs/dev-loop.md "Sandboxes"): its changes are shown (on
 * stderr: stdout stays the app's), then applied with `--apply`, else asked on a terminal (apply /
 * discard, and keep for a persistent sandbox), else discarded (a persistent sandbox: kept).
 */
export async function finishSandbox(opts: {
  fs: RemoteFs;
  name: string;
  dir: string;
  user: string;
  persistent: boolean;
  apply: boolean;
  ask: AskHandler | undefined;
  out: Output;
}): Promise<SandboxOutcome> {
  const { fs, dir, user, persistent, out } = opts;
  const err = (line: string) => {
    if (!out.json) process.stderr.write(`${line}\n`);
  };
  const changes = await fs.request<SandboxChange[]>({ op: "sandboxDiff", dir, user });
  const label = persistent ? `sandbox ${safeText(opts.name)}` : "the sandbox";
  err(
    changes.length === 0
      ? `ncw: ${label}: no changes`
      : `ncw: ${label}: ${changeCounts(changes)}\n${changeLines(changes, out).join("\n")}`,
  );
  let choice: "apply" | "discard" | "keep";
  if (changes.length === 0) choice = persistent ? "keep" : "discard";
  else if (opts.apply) choice = "apply";
  else if (opts.ask !== undefined && !out.json) {
    const choices = persistent ? ["apply", "discard", "keep"] : ["apply", "discard"];
    const fallback = persistent ? "keep" : "discard";
    const a = await opts.ask({
      kind: "sandbox",
      text: `apply these changes to the real tree${persistent ? ", discard them, or keep the sandbox for the next run" : " or discard them"}?`,
      choices,
      default: fallback,
    });
    choice = (choices.includes(a) ? a : fallback) as typeof choice;
  } else choice = persistent ? "keep" : "discard";
  const base = { name: opts.name, dir, persistent, changes };
  if (choice === "apply") {
    const r = await fs.request<ApplyAnswer>({ op: "sandboxApply", dir, user, keep: persistent });
    for (const l of applyLines(r, out)) err(l.startsWith(" ") ? l : `ncw: ${l}`);
    return { ...base, action: "applied", applied: r.applied, refused: r.refused };
  }
  if (choice === "discard") {
    await fs.request({ op: "sandboxDrop", dir });
    if (changes.length > 0) err(`ncw: discarded ${label}'s changes`);
    return { ...base, action: "discarded", applied: null, refused: null };
  }
  if (changes.length > 0)
    err(
      `ncw: kept ${label} for the next run (ncw sandbox diff|apply|rm ${safeText(dir.split("/")[4] ?? "")} ${safeText(opts.name)})`,
    );
  return { ...base, action: "kept", applied: null, refused: null };
}
