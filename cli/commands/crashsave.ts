// `ncw crashsave list|restore|rm`: the crash saves sys::crashsave collected for the user's apps
// (docs/crash-saves.md): list them, run an app restoring its last one, remove them. Thin: the files
// are services/crashsave/store.ts's; the tree is the home's (through its kernel when one runs).

import { spawnSync } from "node:child_process";
import type { Argv, CommandModule } from "yargs";
import { requestUser } from "../../kernel-compat/client.js";
import { NcwError } from "../../ncw/errors.js";
import { safeText } from "../../ncw/output.js";
import {
  type AppCrashSaves,
  awakePath,
  crashDir,
  listCrashSaves,
  listUserCrashSaves,
  removeCrashSave,
} from "../../services/crashsave/store.js";
import type { FsLayer } from "../../services/fs/layer.js";
import { openTree } from "../../services/fs/open.js";
import { appDirName } from "../../services/skyer/layout.js";
import { type GlobalArgs, runCommand } from "../context.js";

interface UserArgs extends GlobalArgs {
  user?: string;
}
interface AppArgs extends UserArgs {
  aid: string;
}
interface RmArgs extends AppArgs {
  name?: string;
}

const userOption = <T>(y: Argv<T>) =>
  y.option("user", {
    type: "string",
    describe: "The NightOS user (default: $NCW_USER, else the default user)",
  });

const userOf = (argv: UserArgs) => argv.user ?? requestUser();

async function withTree<T>(
  home: Parameters<typeof openTree>[0],
  write: boolean,
  fn: (l: FsLayer) => Promise<T>,
): Promise<T> {
  const l = await openTree(home, { access: write ? "write" : "read" });
  try {
    const r = await fn(l);
    if (write) await l.sync();
    return r;
  } finally {
    await l.close();
  }
}

const iso = (ms: number) => new Date(ms).toISOString();

const list: CommandModule<GlobalArgs, UserArgs & { aid?: string }> = {
  command: "list [aid]",
  describe: "List the crash saves of the user's apps (or of one app)",
  builder: (y) =>
    userOption(y).positional("aid", {
      type: "string",
      describe: "Only this app (<did>::<slug>)",
    }) as Argv<UserArgs & { aid?: string }>,
  handler: (argv) =>
    runCommand(argv, async (ctx) => {
      const user = userOf(argv);
      const only = argv.aid === undefined ? undefined : appDirName(argv.aid);
      const apps: AppCrashSaves[] = (
        await withTree(ctx.home(), false, (l) => listUserCrashSaves(l, user))
      ).filter((a) => only === undefined || a.app === only);
      if (ctx.out.json) {
        ctx.out.data({
          user,
          apps: apps.map((a) => ({
            app: a.app,
            awake: a.awake,
            saves: a.saves.map((s) => ({
              name: s.name,
              pid: s.pid,
              collectedAt: s.collectedAt,
              writtenAt: Math.trunc(s.writtenAt),
              size: s.size,
              restoring: s.restoring,
            })),
          })),
        });
        return;
      }
      if (apps.every((a) => a.saves.length === 0 && !a.awake)) {
        ctx.out.info(`no crash saves for user ${safeText(user)}`);
        return;
      }
      for (const a of apps) {
        if (a.saves.length === 0 && !a.awake) continue;
        const state = a.awake ? " (awake: running, or it crashed)" : "";
        ctx.out.info(`${ctx.out.style.bold(safeText(a.app))}${state}`);
        if (a.saves.length === 0) ctx.out.info("  no crash save: it cannot be restored");
        for (const s of a.saves) {
          const r =
            s.restoring === "crashed"
              ? " — its restoration crashed"
              : s.restoring === "pending"
                ? " — being restored (or interrupted)"
                : "";
          ctx.out.info(
            `  ${safeText(s.name)}  collected ${iso(s.collectedAt)}, written ${iso(s.writtenAt)}, ${s.size} bytes, PID ${s.pid}${r}`,
          );
        }
      }
    }),
};

const restore: CommandModule<GlobalArgs, AppArgs> = {
  command: "restore <aid>",
  describe: "Run an installed app after a crash, restoring its last crash save (ncw run <aid>)",
  builder: (y) =>
    userOption(y).positional("aid", {
      type: "string",
      describe: "The app (<did>::<slug>)",
      demandOption: true,
    }) as Argv<AppArgs>,
  handler: (argv) =>
    runCommand(argv, async (ctx) => {
      const user = userOf(argv);
      const dir = crashDir(user, appDirName(argv.aid));
      // Its awake indicator makes the next start one "after a crash" (startup reason bit 4), unless an
      // instance of it runs (sys::crashsave then restores nothing: docs/crash-saves.md).
      await withTree(ctx.home(), true, async (l) => {
        if ((await listCrashSaves(l, dir)).length === 0)
          throw new NcwError("not-found", `${argv.aid} has no crash save for user ${user}`, {
            code: "CRASHSAVE_NONE",
            hint: "`ncw crashsave list` shows the crash saves there are",
          });
        await l.writeFile(awakePath(dir), new Uint8Array(0));
      });
      const run = spawnSync(process.execPath, [process.argv[1]!, "run", argv.aid], {
        stdio: "inherit",
        env: { ...process.env, NCW_USER: user },
      });
      return run.status ?? 1;
    }),
};

const rm: CommandModule<GlobalArgs, RmArgs> = {
  command: "rm <aid> [name]",
  describe:
    "Remove an app's crash saves (all of them, or the one named as `ncw crashsave list` shows)",
  builder: (y) =>
    userOption(y)
      .positional("aid", {
        type: "string",
        describe: "The app (<did>::<slug>)",
        demandOption: true,
      })
      .positional("name", {
        type: "string",
        describe: "One crash save's file name (<timestamp>_<pid>.csf)",
      }) as Argv<RmArgs>,
  handler: (argv) =>
    runCommand(argv, async (ctx) => {
      const user = userOf(argv);
      const dir = crashDir(user, appDirName(argv.aid));
      const removed = await withTree(ctx.home(), true, async (l) => {
        const saves = (await listCrashSaves(l, dir)).filter(
          (s) => argv.name === undefined || s.name === argv.name,
        );
        if (saves.length === 0)
          throw new NcwError(
            "not-found",
            argv.name === undefined
              ? `${argv.aid} has no crash save for user ${user}`
              : `${argv.aid} has no crash save named ${argv.name} for user ${user}`,
            {
              code: "CRASHSAVE_NONE",
              hint: "`ncw crashsave list` shows the crash saves there are",
            },
          );
        for (const s of saves) await removeCrashSave(l, dir, s);
        return saves.map((s) => s.name);
      });
      if (ctx.out.json) ctx.out.data({ removed });
      else
        ctx.out.info(
          `removed ${removed.length} crash save(s): ${removed.map(safeText).join(", ")}`,
        );
    }),
};

export const crashsaveCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: "crashsave <command>",
  describe: "List, restore and remove the crash saves of the user's apps (sys::crashsave)",
  builder: (y) =>
    y
      .command(list)
      .command(restore)
      .command(rm)
      .demandCommand(1, "Say which crashsave command to run: see `ncw crashsave --help`.")
      .epilogue("Collection, restoration and the files: docs/crash-saves.md."),
  handler: () => {},
};
