// Service syscalls 0x2A–0x2E (specs/kernel/syscalls.md, specs/services.md; docs/services.md):
// CONNECT_SERVICE, END_SERVICE_CONN, ACCEPT_SERVICE_CONN, REJECT_SERVICE_CONN, HAS_SCOPED_SERVICE. The
// kernel answers them (kernel/services.ts does the work); ACCEPT_SERVICE_CONN returns twice, so the
// runner makes it (runner/thread.ts acceptConnection) and forwards it to the kernel half here.

import { GenericErr, ServiceTarget } from "../../commonassembly/abi/numbers.js";
import { fail, ok } from "../../commonassembly/abi/result.js";
import {
  ACCEPT_SERVICE_CONN,
  CONNECT_SERVICE,
  END_SERVICE_CONN,
  HAS_SCOPED_SERVICE,
  REJECT_SERVICE_CONN,
} from "../../commonassembly/abi/syscalls.js";
import { bind, bindKernel } from "./result.js";

/**
 * Decided (docs/services.md "System services"): the system services run under the `sys` DID, which has
 * no ANID, and Skyer never gives an app ANID 0; so ANID 0 names the system, and the scope's 8 bytes hold
 * the system service's PID (specs/services/system/README.md, little-endian).
 */
export const SYSTEM_ANID = 0;

function systemPid(scope: Uint8Array): number {
  const pid = new DataView(scope.buffer, scope.byteOffset, 8).getBigUint64(0, true);
  return pid > BigInt(Number.MAX_SAFE_INTEGER) ? -1 : Number(pid);
}

// ---- the runner's half ----

export const serviceHandlers = [
  // Reached only when the client thread cannot be made: inside a signal handler (Asyncify cannot unwind
  // through it), or a module without Asyncify or a shared memory (docs/services.md). The spec has no
  // errcode for it: 0x02, and the trace says why.
  bind(ACCEPT_SERVICE_CONN, (p) => {
    p.trace?.(
      p.signals.handling
        ? "ACCEPT_SERVICE_CONN: a client thread cannot be created inside a signal handler (accept from the dispatcher's loop)"
        : "ACCEPT_SERVICE_CONN: this module cannot share its memory (not AOT-compiled for threads)",
    );
    return fail(GenericErr.INVALID_ARGUMENT);
  }),
];

// ---- the kernel's half ----

export const serviceKernelHandlers = [
  bindKernel(CONNECT_SERVICE, async (k, caller, a) => {
    const E = CONNECT_SERVICE.errors;
    if (a.flexibleMode > 1) return fail(E.INVALID_FLEXIBLE_MODE);
    if (a.targetType > ServiceTarget.DRIVER) return fail(E.INVALID_TARGET_TYPE);
    // Only system services may ask integration and driver services; NCW's are native, never a caller.
    if (a.targetType === ServiceTarget.INTEGRATION || a.targetType === ServiceTarget.DRIVER)
      return fail(E.NOT_A_SYSTEM_SERVICE);
    // Decided (docs/services.md): ANID 0 is the system's (no app has it); the scope holds the PID.
    const r = await (a.anid === SYSTEM_ANID
      ? k.systemConnections.connect(caller, systemPid(a.scope), a.flexibleMode === 1)
      : k.appServices.connect(caller, {
          anid: a.anid,
          targetType: a.targetType,
          scope: a.scope,
          command: a.command,
          flexible: a.flexibleMode === 1,
        }));
    if (r.ok) return ok({ connection: r.connection, socket: r.socket });
    switch (r.why) {
      case "no-such-anid":
        return fail(E.NO_SUCH_ANID);
      case "not-exposed":
        return fail(E.SERVICE_NOT_EXPOSED);
      case "already-connected":
        return fail(E.ALREADY_CONNECTED);
      case "not-delivered":
        return fail(E.DOUBLE_HANDLER_FAULT);
      case "rejected":
        return fail(E.REJECTED);
    }
  }),

  bindKernel(END_SERVICE_CONN, async (k, caller, a) => {
    const E = END_SERVICE_CONN.errors;
    const r =
      k.systemConnections.end(caller, a.connection) ?? k.appServices.end(caller, a.connection);
    if (r.ok) return ok({});
    if (r.why === "no-such-connection") return fail(E.NO_SUCH_CONNECTION);
    return fail(r.why === "closed" ? E.ALREADY_CLOSED : E.SERVICE_THREAD_TERMINATED);
  }),

  bindKernel(REJECT_SERVICE_CONN, async (k, caller, a) => {
    const E = REJECT_SERVICE_CONN.errors;
    const r = k.appServices.reject(caller, a.request);
    if (r.ok) return ok({});
    if (r.why === "no-such-request") return fail(E.NO_SUCH_REQUEST);
    return fail(r.why === "requester-ended" ? E.REQUESTER_TERMINATED : E.ANSWER_TOO_LATE);
  }),

  bindKernel(HAS_SCOPED_SERVICE, async (k, caller, a) => {
    const E = HAS_SCOPED_SERVICE.errors;
    if (a.anid === SYSTEM_ANID)
      return ok({ has: k.systemConnections.hosts(systemPid(a.scope)) ? 0x01 : 0x00 });
    const r = await k.appServices.hasScoped(caller, a.anid, a.scope);
    if (r === "no-such-anid") return fail(E.NO_SUCH_ANID);
    // Decided (docs/services.md): 0x31 when the app exposes no service at all, else 0x00 or 0x01.
    if (r === "no-service") return fail(E.SERVICE_NOT_EXPOSED);
    return ok({ has: r ? 0x01 : 0x00 });
  }),
];

/**
 * ACCEPT_SERVICE_CONN's kernel half (not a handler of the table: the runner answers the call; it
 * forwards the request before it creates the client thread, runner/thread.ts acceptConnection). The
 * dispatcher's answer is `notClientThread` 0x01; the runner gives the new thread 0x00.
 */
export const acceptKernelHalf = bindKernel(ACCEPT_SERVICE_CONN, async (k, caller, a) => {
  const E = ACCEPT_SERVICE_CONN.errors;
  const r = await k.appServices.accept(caller, a.request);
  if (r.ok) return ok({ notClientThread: 0x01, socket: r.socket });
  if (r.why === "no-such-request") return fail(E.NO_SUCH_REQUEST);
  return fail(r.why === "requester-ended" ? E.REQUESTER_TERMINATED : E.ANSWER_TOO_LATE);
});
