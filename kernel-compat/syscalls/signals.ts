// Signal syscalls 0x01–0x04 (specs/kernel/syscalls.md): HANDLE_SIGNAL, UNHANDLE_SIGNAL,
// IS_SIGNAL_HANDLED, READY. The SHT lives in the runner (runner/signals.ts).

import { isSignalCode } from "../../commonassembly/abi/numbers.js";
import { fail, ok } from "../../commonassembly/abi/result.js";
import {
  HANDLE_SIGNAL,
  IS_SIGNAL_HANDLED,
  READY,
  UNHANDLE_SIGNAL,
} from "../../commonassembly/abi/syscalls.js";
import { bind } from "./result.js";

export const signalHandlers = [
  bind(HANDLE_SIGNAL, (p, a) => {
    if (!isSignalCode(a.signal)) return fail(HANDLE_SIGNAL.errors.NO_SUCH_SIGNAL);
    p.signals.handlers.set(a.signal, a.handler);
    p.onHandledChange();
    return ok({});
  }),
  bind(UNHANDLE_SIGNAL, (p, a) => {
    if (!isSignalCode(a.signal)) return fail(UNHANDLE_SIGNAL.errors.NO_SUCH_SIGNAL);
    if (!p.signals.handlers.delete(a.signal)) return fail(UNHANDLE_SIGNAL.errors.NOT_HANDLED);
    p.onHandledChange();
    return ok({});
  }),
  bind(IS_SIGNAL_HANDLED, (p, a) => {
    if (!isSignalCode(a.signal)) return fail(IS_SIGNAL_HANDLED.errors.NO_SUCH_SIGNAL);
    return ok({ handled: p.signals.handlers.has(a.signal) ? 1 : 0 });
  }),
  bind(READY, (p) => {
    if (p.signals.ready) return fail(READY.errors.ALREADY_READY);
    p.signals.ready = true; // queued signals are delivered as the syscall returns (dispatch.ts)
    // The kernel learns it with the handler set (a service's clients wait for READY: docs/services.md).
    p.onHandledChange();
    return ok({});
  }),
];
