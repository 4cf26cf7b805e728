// What every command handler receives: the resolved home, the output, and a runner that turns
// thrown errors into messages and exit codes (user errors never print a stack trace; a closed
// stdout ends the command quietly with BROKEN_PIPE, docs/cli.md).

import { AbiError } from "../commonassembly/abi/error.js";
import { ExitCode, isNcwError, NcwError } from "../ncw/errors.js";
import { type HomeLayout, openHome, resolveHomePath } from "../ncw/home.js";
import { makeOutput, type Output, StdoutClosed, safeLines, stdoutClosed } from "../ncw/output.js";

/** Options every command accepts (declared once in cli/ncw.ts). */
export interface GlobalArgs {
  home?: string;
  json?: boolean;
  color?: boolean;
}

export interface CommandContext {
  readonly out: Output;
  /** Opens (and creates on first use) the NCW home. Commands that need no home never call it. */
  home(): HomeLayout;
}

export function makeContext(argv: GlobalArgs): CommandContext {
  const out = makeOutput({
    json: argv.json === true,
    ...(argv.color === undefined ? {} : { color: argv.color }),
  });
  let home: HomeLayout | undefined;
  return {
    out,
    home() {
      home ??= openHome(resolveHomePath(argv.home));
      return home;
    },
  };
}

/**
 * Run a command body: its return value (if any) becomes the exit code; an NcwError is printed
 * as "error: …" plus its hint; anything else is reported as an internal error (a bug). When stdout
 * was closed under a command that succeeded (its reader went away), the exit code is BROKEN_PIPE.
 */
export async function runCommand(
  argv: GlobalArgs,
  body: (ctx: CommandContext) => Promise<number | undefined> | Promise<void>,
): Promise<void> {
  const ctx = makeContext(argv);
  try {
    const code = await body(ctx);
    const status = typeof code === "number" ? code : ExitCode.OK;
    process.exitCode = status === ExitCode.OK && stdoutClosed() ? ExitCode.BROKEN_PIPE : status;
  } catch (e) {
    process.exitCode = e instanceof StdoutClosed ? ExitCode.BROKEN_PIPE : reportError(ctx, e);
  }
}

export function reportError(ctx: CommandContext, thrown: unknown): number {
  const { out } = ctx;
  // The ABI leaf imports nothing of NCW, so its errors arrive as AbiError: the user sees them as NcwErrors.
  const e =
    thrown instanceof AbiError
      ? new NcwError(thrown.kind, thrown.message, {
          code: thrown.code,
          hint: thrown.hint,
          cause: thrown,
        })
      : thrown;
  if (isNcwError(e)) {
    if (out.json) {
      out.data({ error: { code: e.code, kind: e.kind, message: e.message, hint: e.hint } });
    } else {
      // Messages quote packages, images and apps: each line is made safe for the terminal (the
      // line breaks of a multi-line message, e.g. a manifest's list of problems, stay).
      process.stderr.write(`${out.style.red("error:")} ${safeLines(e.message)}\n`);
      if (e.hint) process.stderr.write(`${out.style.dim("hint:")} ${safeLines(e.hint)}\n`);
    }
    return e.exitCode;
  }
  const err = e instanceof Error ? e : new Error(String(e));
  if (out.json) {
    out.data({ error: { code: "INTERNAL", kind: "internal", message: err.message } });
  } else {
    process.stderr.write(
      `${out.style.red("internal error:")} ${safeLines(err.message)}\n${safeLines(err.stack ?? "")}\n` +
        "This is a bug in NCW; please report it with the command you ran.\n",
    );
  }
  return ExitCode.INTERNAL;
}
