// sys::perm (specs/services/system/perm.md; its methods are NCW's, commonassembly/abi/services/perm.ts):
// a process' own permissions, from the kernel's permission gate (gate.ts), which decides every check.

import { u8 } from "../../commonassembly/abi/codec.js";
import { SystemPid } from "../../commonassembly/abi/numbers.js";
import {
  isPermission,
  type Permission,
  permissionInfo,
} from "../../commonassembly/abi/permissions.js";
import type { Fields, StructureCodecs } from "../../commonassembly/abi/services/fields.js";
import { decodeLayoutAt, encodeLayout } from "../../commonassembly/abi/services/fields.js";
import {
  type Layout,
  type MethodDef,
  ServiceErr,
} from "../../commonassembly/abi/services/method.js";
import {
  DROP_PERMISSION,
  GRANT_DURATION_CODES,
  HAS_PERMISSION,
  LIST_GRANTS,
  REQUEST_PERMISSION,
  SYS_PERM,
} from "../../commonassembly/abi/services/perm.js";
import type { Answer, Caller, NativeService, ProcessEvent } from "../host/service.js";
import type { PermissionGate } from "./gate.js";

/** The Grant structure of LIST_GRANTS (docs/permissions.md "sys::perm"). */
const GRANT_LAYOUT: Layout = [
  ["permission", { kind: "string" }],
  ["scope", { kind: "option", of: { kind: "string" } }],
  ["duration", u8],
];

export class SysPerm implements NativeService {
  readonly name = "sys::perm";
  readonly pid = SystemPid["sys::perm"];
  readonly def = SYS_PERM;
  readonly structures: StructureCodecs = {
    Grant: {
      decode: (b, off) => decodeLayoutAt(GRANT_LAYOUT, b, off, "Grant"),
      encode: (v) => encodeLayout(GRANT_LAYOUT, v as Fields, "Grant"),
    },
  };

  constructor(private readonly gate: PermissionGate) {}

  /** The permission and scope of a method's arguments, or the method's errcode. */
  private named(
    m: typeof HAS_PERMISSION | typeof REQUEST_PERMISSION | typeof DROP_PERMISSION,
    args: Fields,
  ): { permission: Permission; scope: string | undefined } | { errcode: number } {
    const name = args.permission as string;
    const scope = (args.scope ?? undefined) as string | undefined;
    if (!isPermission(name)) return { errcode: m.errors.UNKNOWN_PERMISSION };
    if (scope !== undefined && permissionInfo(name).scope === undefined)
      return { errcode: m.errors.UNSCOPED_PERMISSION };
    return { permission: name, scope };
  }

  async handle(method: MethodDef, args: Fields, caller: Caller): Promise<Answer> {
    switch (method.code) {
      case HAS_PERMISSION.code: {
        const n = this.named(HAS_PERMISSION, args);
        if ("errcode" in n) return { ok: false, errcode: n.errcode };
        return {
          ok: true,
          value: { granted: await this.gate.check(caller.pid, n.permission, n.scope, false) },
        };
      }
      case REQUEST_PERMISSION.code: {
        const n = this.named(REQUEST_PERMISSION, args);
        if ("errcode" in n) return { ok: false, errcode: n.errcode };
        // Held already: how; else the gate asks the user (or refuses without a terminal).
        const held = await this.gate.source(caller.pid, n.permission, n.scope);
        if (held !== undefined)
          return { ok: true, value: { duration: GRANT_DURATION_CODES[held] } };
        if (!(await this.gate.check(caller.pid, n.permission, n.scope, true)))
          return { ok: false, errcode: ServiceErr.PERMISSION };
        const now = await this.gate.source(caller.pid, n.permission, n.scope);
        // Granted but not kept: the user answered "once".
        return { ok: true, value: { duration: GRANT_DURATION_CODES[now ?? "once"] } };
      }
      case DROP_PERMISSION.code: {
        const n = this.named(DROP_PERMISSION, args);
        if ("errcode" in n) return { ok: false, errcode: n.errcode };
        await this.gate.drop(caller.pid, n.permission, n.scope);
        return { ok: true, value: {} };
      }
      case LIST_GRANTS.code: {
        const pid = args.pid === 0n ? caller.pid : Number(args.pid);
        if (pid !== caller.pid && !(await caller.has("programs.running.processes")))
          return { ok: false, errcode: ServiceErr.PERMISSION };
        const held = await this.gate.grants(pid);
        if (held === undefined) return { ok: false, errcode: LIST_GRANTS.errors.NOT_FOUND };
        return {
          ok: true,
          value: {
            grants: held.map((g) => ({
              permission: g.permission,
              scope: g.scope ?? null,
              duration: GRANT_DURATION_CODES[g.source],
            })),
          },
        };
      }
      default:
        throw new Error(`sys::perm has no handler for ${method.name}`);
    }
  }

  onProcessExit(p: ProcessEvent): void {
    this.gate.processExited(p.pid);
  }
}
