// The execution context of a `run` (specs/applications.md "Execution Context"; docs/kernel.md "The
// session"): the kernel builds it from the typed arguments and startup information the CLI sends,
// with the ANID of the installed app it runs and the identifiers of the command pipes it created for
// the process (kernel/command-pipes.ts; 0 when it could not create them).

import {
  type CommandPipeIds,
  commandContext,
  encodeExecutionContext,
  eventContext,
} from "../../commonassembly/abi/context.js";
import { type Value, ValueType } from "../../commonassembly/abi/values.js";
import { NcwError } from "../../ncw/errors.js";
import type { ClientMessage } from "../protocol.js";

type RunMessage = Extract<ClientMessage, { t: "run" }>;

/** Deepest list nesting the kernel accepts in an argument (the block's 63.5 KB bounds the rest). */
const MAX_VALUE_DEPTH = 32;

function badArgs(why: string): NcwError {
  return new NcwError("usage", `the run request's arguments are invalid: ${why}`, {
    code: "RUN_BAD_ARGUMENTS",
  });
}

/** A value off the socket (structured clone: any shape) checked to be a shell value. */
function checkValue(v: unknown, depth: number): Value {
  if (typeof v !== "object" || v === null) throw badArgs("an argument is not a value");
  const o = v as Record<string, unknown>;
  const type = o.type;
  if (typeof type !== "string" || !Object.hasOwn(ValueType, type))
    throw badArgs(`unknown value type ${JSON.stringify(type)}`);
  const t = type as Value["type"];
  switch (t) {
    case "void":
      return { type: t };
    case "bool":
      if (typeof o.value === "boolean") return { type: t, value: o.value };
      break;
    case "int":
      if (typeof o.value === "bigint") return { type: t, value: o.value };
      break;
    case "float":
      if (typeof o.value === "number") return { type: t, value: o.value };
      break;
    case "char":
    case "string":
    case "path":
    case "command":
      if (typeof o.value === "string") return { type: t, value: o.value };
      break;
    case "stream":
      if (typeof o.rc === "bigint") return { type: t, rc: o.rc };
      break;
    case "list":
      if (depth >= MAX_VALUE_DEPTH) throw badArgs(`lists nest deeper than ${MAX_VALUE_DEPTH}`);
      if (Array.isArray(o.items))
        return { type: t, items: o.items.map((i: unknown) => checkValue(i, depth + 1)) };
      break;
  }
  throw badArgs(`a ${t} value has the wrong representation`);
}

/**
 * The execution context of a run, checked before anything is compiled (a bad request costs nothing);
 * given the ANID of the installed app it runs (or undefined), it returns the context bytes and the
 * ANID: the app's own, else the one the request names (Skyer's events), else a random non-zero one.
 * `pipes`: the app's command-pipe identifiers, for a command start.
 */
export function runContext(
  m: Pick<RunMessage, "args" | "startup" | "anid">,
): (appAnid: number | undefined, pipes?: CommandPipeIds) => { bytes: Uint8Array; anid: number } {
  if (!Array.isArray(m.args)) throw badArgs("no argument list");
  if (m.anid !== undefined && !isAnid(m.anid)) throw badArgs(`ANID ${m.anid} is not 1–0xffffffff`);
  const args = m.args.map((a) => checkValue(a, 0));
  const s = m.startup;
  const encode = (anid: number, pipes?: CommandPipeIds): Uint8Array => {
    try {
      if (s?.kind === "command") {
        if (!Number.isInteger(s.callerAnid) || s.callerAnid < 0 || s.callerAnid > 0xffffffff)
          throw badArgs(`caller ANID ${s.callerAnid} is not 0–0xffffffff`);
        if (s.command !== undefined && typeof s.command !== "string")
          throw badArgs("the command name is not a string");
        const ctx = commandContext({
          anid,
          callerAnid: s.callerAnid,
          args,
          rawOutputRead: s.rawOutputRead === true,
          ...(s.command === undefined ? {} : { name: s.command }),
          ...(pipes ? { pipes } : {}),
        });
        return encodeExecutionContext(ctx);
      }
      if (s?.kind === "event") {
        if (args.length > 0) throw badArgs("a start that is not a command has no arguments");
        return encodeExecutionContext(eventContext({ code: s.code, anid }));
      }
    } catch (e) {
      // The ABI's own bounds (startup code, a char value): a RangeError is a bad request.
      if (e instanceof RangeError) throw badArgs(e.message);
      throw e;
    }
    throw badArgs("the startup information is missing");
  };
  // Everything but the ANID is checked now: the ANID changes no size and no bound.
  encode(1);
  return (appAnid, pipes) => {
    const anid = appAnid ?? m.anid ?? 1 + Math.floor(Math.random() * 0xfffffffe);
    return { bytes: encode(anid, pipes), anid };
  };
}

const isAnid = (n: unknown): n is number =>
  typeof n === "number" && Number.isInteger(n) && n >= 1 && n <= 0xffffffff;
