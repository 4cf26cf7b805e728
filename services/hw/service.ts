// sys::hw (specs/services/system/hw.md; table: commonassembly/abi/services/hw.ts). NCW runs on a host
// whose devices belong to the host OS: it drives none, exposes no device to apps, and no app can be a
// driver (driver services are refused, docs/services.md). So every method answers the page's own errcode
// for what an NCW client is — never a system service, never sys::fs, never a registered driver — after
// the page's constant checks of ENUM_DEVICES (docs/services.md "sys::hw").

import { SystemPid } from "../../commonassembly/abi/numbers.js";
import type { Fields, StructureCodecs } from "../../commonassembly/abi/services/fields.js";
import {
  ASK_DRIVER,
  AUTH_PERFORM_STORAGE,
  AUTHORIZE_FS_INTERFACE,
  CONNECTION_TYPES,
  DDRD_SIZE,
  ENUM_DEVICES,
  NOTIFY_PROCESS,
  PATTERN_CODEC,
  type Pattern,
  PatternFlag,
  REGISTER_DRIVER,
  REST_CODEC,
  SUBSCRIBE_DEVICES,
  SYS_HW,
  UNAUTHORIZE_FS_INTERFACE,
  UNREGISTER_DRIVER,
} from "../../commonassembly/abi/services/hw.js";
import type { MethodDef } from "../../commonassembly/abi/services/method.js";
import type { Answer, Caller, NativeService } from "../host/service.js";

/** The most bytes one answer carries (a system connection's socket, docs/services.md). */
const MAX_ANSWER = 256 * 4096;

export class SysHw implements NativeService {
  readonly name = "sys::hw";
  readonly pid = SystemPid["sys::hw"];
  readonly def = SYS_HW;
  /**
   * The page's permissions are scoped by device pattern and its methods reserved to system services:
   * sys::hw checks them itself, after the context (never, on NCW: no client passes it), so a call that
   * cannot succeed never prompts the user.
   */
  readonly scopedPermissions = true;
  readonly structures: StructureCodecs = {
    Pattern: PATTERN_CODEC,
    "Normalized content": REST_CODEC,
  };

  constructor(
    /** Whether the process is an application's service (REGISTER_DRIVER's first check). */
    private readonly isService: (pid: number) => boolean,
  ) {}

  handle(method: MethodDef, args: Fields, caller: Caller): Answer {
    const no = (errcode: number): Answer => ({ ok: false, errcode });
    switch (method.code) {
      case ENUM_DEVICES.code: {
        const E = ENUM_DEVICES.errors;
        const start = args.start as number;
        const end = args.end as number;
        const p = args.pattern as Pattern;
        if (start > end) return no(E.BAD_RANGE);
        const anyConnection = (p.flags & PatternFlag.ALL_CONNECTIONS) !== 0;
        if (!anyConnection && !CONNECTION_TYPES.includes(p.connection as never))
          return no(E.BAD_CONNECTION);
        if (anyConnection && (p.flags & PatternFlag.ALL_BUSES) === 0)
          return no(E.BUS_WITHOUT_CONNECTION);
        if (anyConnection && (p.flags & PatternFlag.ALL_PORTS) === 0)
          return no(E.PORT_WITHOUT_CONNECTION);
        if (9 + (end - start) * DDRD_SIZE > MAX_ANSWER) return no(E.RANGE_TOO_LARGE);
        return no(E.NOT_SYSTEM);
      }
      case SUBSCRIBE_DEVICES.code:
        return no(SUBSCRIBE_DEVICES.errors.NOT_SYSTEM);
      case REGISTER_DRIVER.code:
        // A service, but its application cannot expose a driver service on NCW (docs/services.md).
        return no(
          this.isService(caller.pid)
            ? REGISTER_DRIVER.errors.NO_DRIVER_SERVICE
            : REGISTER_DRIVER.errors.NOT_A_SERVICE,
        );
      case UNREGISTER_DRIVER.code:
        return no(UNREGISTER_DRIVER.errors.NOT_REGISTERED);
      case NOTIFY_PROCESS.code:
        return no(NOTIFY_PROCESS.errors.UNKNOWN_NOTIFICATION);
      case ASK_DRIVER.code:
        return no(ASK_DRIVER.errors.NOT_SYSTEM);
      case AUTHORIZE_FS_INTERFACE.code:
        return no(AUTHORIZE_FS_INTERFACE.errors.NOT_SYS_FS);
      case UNAUTHORIZE_FS_INTERFACE.code:
        return no(UNAUTHORIZE_FS_INTERFACE.errors.NOT_SYS_FS);
      case AUTH_PERFORM_STORAGE.code:
        return no(AUTH_PERFORM_STORAGE.errors.UNKNOWN_TOKEN);
      default:
        throw new Error(`sys::hw has no handler for ${method.name}`);
    }
  }
}
