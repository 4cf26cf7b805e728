// Process syscalls answered in the runner (specs/kernel/syscalls.md 0x53, 0x56, 0x5F) and the
// application syscall EXECUTION_CONTEXT (0xA0). The others of 0x50–0x5F go to the kernel server
// (server/process-syscalls.ts).

import {
  CONTEXT_BASE_SIZE,
  CONTEXT_COMMAND_HEADER_SIZE,
  StartupCode,
} from "../../commonassembly/abi/context.js";
import { fail, ok } from "../../commonassembly/abi/result.js";
import { EXECUTION_CONTEXT, EXIT, GET_PID, HAND_OVER } from "../../commonassembly/abi/syscalls.js";
import { ProcessEnd } from "../runner/signals.js";
import { bind } from "./result.js";

/** EXECUTION_CONTEXT information codes. */
export const ContextInfo = {
  ALL: 0x00,
  STARTUP_REASON: 0x01,
  HEADER: 0x02,
  ARGUMENTS: 0x03,
} as const;

function headerLength(context: Uint8Array): number {
  const reason = context[0] ?? 0;
  return reason >> 4 === StartupCode.COMMAND ? CONTEXT_COMMAND_HEADER_SIZE : CONTEXT_BASE_SIZE;
}

export const processHandlers = [
  bind(GET_PID, (p) => ok({ pid: BigInt(p.pid) })),
  bind(HAND_OVER, () => ok({})),
  bind(EXIT, (_p, a) => {
    throw new ProcessEnd({ kind: "exit", exitData: a.exitData });
  }),
  bind(EXECUTION_CONTEXT, (p, a) => {
    const h = headerLength(p.context);
    let part: Uint8Array;
    switch (a.info) {
      case ContextInfo.ALL:
        part = p.context;
        break;
      case ContextInfo.STARTUP_REASON:
        part = p.context.subarray(0, 1);
        break;
      case ContextInfo.HEADER:
        part = p.context.subarray(0, h);
        break;
      case ContextInfo.ARGUMENTS:
        part = p.context.subarray(h);
        break;
      default:
        return fail(EXECUTION_CONTEXT.errors.INVALID_INFO);
    }
    const bad = p.checkBuffer(a.buffer, BigInt(part.length));
    if (bad !== undefined) return fail(bad);
    p.bytes().set(part, Number(a.buffer));
    return ok({ written: BigInt(part.length) });
  }),
];
