// sys::process (specs/services/system/process.md; its methods are NCW's, commonassembly/abi/services/
// process.ts): the processes the kernel runs, from a process-list provider the kernel wires in.

import { SystemPid } from "../../commonassembly/abi/numbers.js";
import type { Fields } from "../../commonassembly/abi/services/fields.js";
import type { MethodDef } from "../../commonassembly/abi/services/method.js";
import {
  LIST_PROCESSES,
  PROCESS_INFO,
  PROCESS_STATES,
  SYS_PROCESS,
} from "../../commonassembly/abi/services/process.js";
import type { Answer, NativeService } from "../host/service.js";

/** A process as the kernel describes it (kernel-compat/protocol.ts ProcessInfo has these fields). */
export interface ProcessEntry {
  pid: number;
  ppid: number;
  name: string;
  kind: "system" | "app";
  state: (typeof PROCESS_STATES)[number];
  startedAt: number;
}

export type ProcessListProvider = () => readonly ProcessEntry[];

export class SysProcess implements NativeService {
  readonly name = "sys::process";
  readonly pid = SystemPid["sys::process"];
  readonly def = SYS_PROCESS;

  constructor(private readonly processes: ProcessListProvider) {}

  handle(method: MethodDef, args: Fields): Answer {
    const all = this.processes();
    switch (method.code) {
      case LIST_PROCESSES.code:
        return {
          ok: true,
          value: { pids: all.map((p) => BigInt(p.pid)).sort((a, b) => (a < b ? -1 : 1)) },
        };
      case PROCESS_INFO.code: {
        const p = all.find((x) => BigInt(x.pid) === args.pid);
        if (p === undefined) return { ok: false, errcode: PROCESS_INFO.errors.NOT_FOUND };
        return {
          ok: true,
          value: {
            ppid: BigInt(p.ppid),
            name: p.name,
            system: p.kind === "system",
            state: PROCESS_STATES.indexOf(p.state),
            startedAt: BigInt(p.startedAt),
          },
        };
      }
      default:
        throw new Error(`sys::process has no handler for ${method.name}`);
    }
  }
}
