// `ncw perm`: the permissions the user granted to apps for good, and the user's own settings (the
// control center of features/permissions.md "From the control center"), in the home's tree
// (services/perm/store.ts; docs/permissions.md). What a running process holds: sys::perm LIST_GRANTS.

import type { Argv, CommandModule } from "yargs";
import {
  isSecurityLevel,
  PERMISSIONS,
  type Permission,
  permissionInfo,
  SECURITY_LEVELS,
} from "../../commonassembly/abi/permissions.js";
import { NcwError } from "../../ncw/errors.js";
import { safeText } from "../../ncw/output.js";
import { openTree } from "../../services/fs/open.js";
import { formatGrant, parseGrant } from "../../services/perm/policy.js";
import {
  addGrant,
  readUser,
  removeGrants,
  type UserPermissions,
  updateUser,
} from "../../services/perm/store.js";
import { checkUserName, DEFAULT_USER } from "../../services/skyer/layout.js";
import { withSkyerQuery } from "../../services/skyer/query.js";
import { type CommandContext, type GlobalArgs, runCommand } from "../context.js";

interface UserArgs extends GlobalArgs {
  user?: string;
}

function userOf(argv: UserArgs): string {
  const env = process.env.NCW_USER;
  return checkUserName(argv.user ?? (env !== undefined && env !== "" ? env : DEFAULT_USER));
}

const userOption = <T>(y: Argv<T>) =>
  y.option("user", {
    type: "string",
    describe: `NightOS user (default: $NCW_USER, else "${DEFAULT_USER}")`,
  });

const HASH_KEY = /^hash:[0-9a-f]{64}$/;

/** An app key: an installed app's AID, or `hash:<sha256>` of a volatile app (its grants' key). */
async function appKey(ctx: CommandContext, key: string, user: string): Promise<string> {
  if (HASH_KEY.test(key)) return key;
  const found = await withSkyerQuery(ctx.home(), (q) => q.installedApp(key, user));
  if (!found.ok)
    throw new NcwError(
      "not-found",
      found.why === "library"
        ? `${key} is a library: only apps hold permissions`
        : `${key} is not installed for user ${user}`,
      {
        code: "PERM_NO_APP",
        hint: "see `ncw skyer list`; a volatile app's grants are keyed `hash:<sha256 of its program>`",
      },
    );
  return key;
}

function permissionOf(text: string): { permission: Permission; scope?: string } {
  const g = parseGrant(text);
  if ("error" in g)
    throw new NcwError("usage", `${text}: ${g.error}`, {
      code: "PERM_BAD_PERMISSION",
      hint: "see `ncw perm list --all` for the permissions and their scopes",
    });
  return { permission: g.permission, ...(g.scope === undefined ? {} : { scope: g.scope }) };
}

/** Change the user's file through the home's writer (the running kernel, else directly). */
async function changeUser(
  ctx: CommandContext,
  user: string,
  change: (u: UserPermissions) => void,
): Promise<UserPermissions> {
  const fs = await openTree(ctx.home(), { access: "write" });
  try {
    return await updateUser(fs, user, change);
  } finally {
    await fs.close();
  }
}

async function readOnly(ctx: CommandContext, user: string): Promise<UserPermissions> {
  const fs = await openTree(ctx.home(), { access: "read" });
  try {
    return await readUser(fs, user);
  } finally {
    await fs.close();
  }
}

interface ListArgs extends UserArgs {
  aid?: string;
  all?: boolean;
}

const list: CommandModule<GlobalArgs, ListArgs> = {
  command: "list [aid]",
  describe: "List the permissions granted for good (to one app, or to every app of the user)",
  builder: (y) =>
    userOption(y)
      .positional("aid", { type: "string", describe: "The app's AID (or hash:<sha256>)" })
      .option("all", {
        type: "boolean",
        describe: "List every permission of specs/permissions.md: level, scope, {A}",
      }) as Argv<ListArgs>,
  handler: (argv) =>
    runCommand(argv, async (ctx) => {
      const { out } = ctx;
      if (argv.all === true) {
        const rows = (Object.keys(PERMISSIONS) as Permission[]).map((p) => {
          const i = permissionInfo(p);
          return {
            permission: p,
            level: i.level ?? null,
            scope: i.scope ?? null,
            admin: i.admin === true,
            system: i.system === true,
            ncw: i.ncw === true,
          };
        });
        if (out.json) out.data({ permissions: rows });
        else
          for (const r of rows)
            out.info(
              `${r.permission.padEnd(36)} ${r.system ? "system" : `level ${r.level}`}${r.admin ? " {A}" : ""}${r.scope ? `  scope: ${r.scope}` : ""}${r.ncw ? "  (NCW's, not in permissions.md)" : ""}`,
            );
        return 0;
      }
      const user = userOf(argv);
      const u = await readOnly(ctx, user);
      const keys = argv.aid === undefined ? Object.keys(u.apps).sort() : [argv.aid];
      const apps = keys.map((k) => ({
        app: k,
        grants: (u.apps[k] ?? []).map((g) => ({
          permission: g.permission,
          scope: g.scope ?? null,
          grantedAt: g.grantedAt,
        })),
      }));
      if (out.json) {
        out.data({ user, level: u.level, security: u.security, blocked: u.blocked, apps });
        return 0;
      }
      out.info(`user ${user}: level ${u.level}, security ${u.security}`);
      if (u.blocked.length > 0) out.info(`blocked for every app: ${u.blocked.join(", ")}`);
      if (apps.every((a) => a.grants.length === 0)) {
        out.info(
          argv.aid === undefined
            ? "no app holds a permission granted for good"
            : `${safeText(argv.aid)}: nothing granted for good`,
        );
        return 0;
      }
      for (const a of apps) {
        out.info(`${safeText(a.app)}:`);
        for (const g of a.grants)
          out.info(
            `  ${safeText(formatGrant({ permission: g.permission, scope: g.scope ?? undefined }))}`,
          );
      }
      return 0;
    }),
};

interface GrantArgs extends UserArgs {
  aid: string;
  permission?: string;
}

const grant: CommandModule<GlobalArgs, GrantArgs> = {
  command: "grant <aid> <permission>",
  describe: "Grant a permission to an app for good (`perm` or `perm=scope`)",
  builder: (y) =>
    userOption(y)
      .positional("aid", { type: "string", demandOption: true, describe: "The app's AID" })
      .positional("permission", {
        type: "string",
        demandOption: true,
        describe: "The permission, e.g. fs.items.read=/home/user/docs",
      }) as Argv<GrantArgs>,
  handler: (argv) =>
    runCommand(argv, async (ctx) => {
      const user = userOf(argv);
      const g = permissionOf(argv.permission ?? "");
      const app = await appKey(ctx, argv.aid, user);
      await changeUser(ctx, user, (u) => addGrant(u, app, g.permission, g.scope));
      if (ctx.out.json) ctx.out.data({ user, app, granted: formatGrant(g) });
      else ctx.out.info(`granted ${formatGrant(g)} to ${safeText(app)} (user ${user})`);
      return 0;
    }),
};

const revoke: CommandModule<GlobalArgs, GrantArgs> = {
  command: "revoke <aid> [permission]",
  describe: "Revoke a permission granted for good to an app (every one without a permission)",
  builder: (y) =>
    userOption(y)
      .positional("aid", { type: "string", demandOption: true, describe: "The app's AID" })
      .positional("permission", {
        type: "string",
        describe: "The permission (every scope of it), or `perm=scope` for one scope",
      }) as Argv<GrantArgs>,
  handler: (argv) =>
    runCommand(argv, async (ctx) => {
      const user = userOf(argv);
      const g = argv.permission === undefined ? undefined : permissionOf(argv.permission);
      // A revoke needs no install: an app uninstalled meanwhile has nothing left to revoke anyway.
      let gone = 0;
      await changeUser(ctx, user, (u) => {
        gone = removeGrants(u, argv.aid, g?.permission, g?.scope);
      });
      if (ctx.out.json) ctx.out.data({ user, app: argv.aid, revoked: gone });
      else
        ctx.out.info(
          gone === 0
            ? `${safeText(argv.aid)} held no such grant (user ${user})`
            : `revoked ${gone} grant(s) of ${safeText(argv.aid)} (user ${user})`,
        );
      return 0;
    }),
};

interface PolicyArgs extends UserArgs {
  security?: string;
  level?: number;
  block?: string[];
  unblock?: string[];
}

const policy: CommandModule<GlobalArgs, PolicyArgs> = {
  command: "policy",
  describe: "Show or set the user's security level, permission level and blocked permissions",
  builder: (y) =>
    userOption(y)
      .option("security", {
        type: "string",
        describe: `Security level: ${Object.keys(SECURITY_LEVELS).join(", ")} (features/permissions.md)`,
      })
      .option("level", {
        type: "number",
        describe: "User permission level 1–5 (concepts/users.md); {A} permissions need 3 or more",
      })
      .option("block", {
        type: "string",
        array: true,
        describe: "Refuse a permission to every app of the user",
      })
      .option("unblock", {
        type: "string",
        array: true,
        describe: "Undo --block",
      }) as Argv<PolicyArgs>,
  handler: (argv) =>
    runCommand(argv, async (ctx) => {
      const user = userOf(argv);
      if (argv.security !== undefined && !isSecurityLevel(argv.security))
        throw new NcwError("usage", `unknown security level ${JSON.stringify(argv.security)}`, {
          code: "PERM_BAD_SECURITY",
          hint: `one of ${Object.keys(SECURITY_LEVELS).join(", ")}`,
        });
      if (
        argv.level !== undefined &&
        (!Number.isInteger(argv.level) || argv.level < 1 || argv.level > 5)
      )
        throw new NcwError("usage", `--level must be 1..5, got ${argv.level}`, {
          code: "PERM_BAD_LEVEL",
        });
      const blocks = (argv.block ?? []).map((p) => permissionOf(p).permission);
      const unblocks = (argv.unblock ?? []).map((p) => permissionOf(p).permission);
      const changes =
        argv.security !== undefined ||
        argv.level !== undefined ||
        blocks.length + unblocks.length > 0;
      const u = changes
        ? await changeUser(ctx, user, (x) => {
            if (argv.security !== undefined && isSecurityLevel(argv.security))
              x.security = argv.security;
            if (argv.level !== undefined) x.level = argv.level;
            x.blocked = [...new Set([...x.blocked, ...blocks])].filter(
              (p) => !unblocks.includes(p),
            );
          })
        : await readOnly(ctx, user);
      if (ctx.out.json)
        ctx.out.data({ user, level: u.level, security: u.security, blocked: u.blocked });
      else
        ctx.out.info(
          `user ${user}: level ${u.level}, security ${u.security}, blocked: ${u.blocked.length === 0 ? "none" : u.blocked.join(", ")}`,
        );
      return 0;
    }),
};

export const permCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: "perm <command>",
  describe: "Permissions granted to apps, and the user's permission settings",
  builder: (y) =>
    y
      .command(list)
      .command(grant)
      .command(revoke)
      .command(policy)
      .demandCommand(1, "Say which perm command to run: see `ncw perm --help`.")
      .epilogue(
        "Apps ask for permissions as they run: on a terminal `ncw run` asks you (once, for the run, for the session, forever); " +
          "without one they are refused unless granted up front (`ncw run --allow`). docs/permissions.md.",
      ),
  handler: () => {},
};
