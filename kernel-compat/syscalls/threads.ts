// Thread-local storage syscalls 0x61–0x64 and EXIT_THREAD 0x6F (specs/kernel/syscalls.md). Slot
// identifiers are process-wide, values are per thread (docs/kernel.md "Threads"); EXIT_THREAD ends the
// calling thread and its children, and on the main thread the whole process.

import { GenericErr } from "../../commonassembly/abi/numbers.js";
import { fail, ok } from "../../commonassembly/abi/result.js";
import {
  CREATE_THREAD,
  CREATE_TLS_SLOT,
  DELETE_TLS_SLOT,
  EXIT_THREAD,
  READ_TLS_SLOT,
  WRITE_TLS_SLOT,
} from "../../commonassembly/abi/syscalls.js";
import { TLS_MAX_BYTES } from "../runner/process.js";
import { ProcessEnd, ThreadEnd } from "../runner/signals.js";
import { bind } from "./result.js";

export const threadHandlers = [
  // Reached only when the thread cannot be made: inside a signal handler (a calling-convention error,
  // 0x02 like CREATE_PROCESS there: docs/commonassembly.md §5), or a module the AOT step gave no
  // Asyncify / imported memory (runner/thread.ts does the real work through syscall_fork).
  bind(CREATE_THREAD, (p) => {
    if (p.signals.handling) {
      p.trace?.("CREATE_THREAD: syscall_fork is not possible inside a signal handler");
      return fail(GenericErr.INVALID_ARGUMENT);
    }
    p.trace?.("CREATE_THREAD: this module cannot share its memory (not AOT-compiled for threads)");
    return fail(CREATE_THREAD.errors.HARDWARE);
  }),
  bind(CREATE_TLS_SLOT, (p) => {
    const id = p.newTlsSlot();
    if (id === undefined) return fail(CREATE_TLS_SLOT.errors.MAX_SLOTS);
    return ok({ slot: id });
  }),
  bind(READ_TLS_SLOT, (p, a) => {
    const data = p.tlsRead(a.slot);
    if (data === undefined) return fail(READ_TLS_SLOT.errors.NO_SUCH_SLOT);
    // A 0-byte length means "read the entire data at once".
    const n = a.buffer.len === 0n ? data.length : Math.min(data.length, Number(a.buffer.len));
    const bad = p.checkBuffer(a.buffer.addr, BigInt(n));
    if (bad !== undefined) return fail(bad);
    p.bytes().set(data.subarray(0, n), Number(a.buffer.addr));
    return ok({ written: BigInt(n) });
  }),
  bind(WRITE_TLS_SLOT, (p, a) => {
    if (!p.tlsExists(a.slot)) return fail(WRITE_TLS_SLOT.errors.NO_SUCH_SLOT);
    const bad = p.checkBuffer(a.buffer.addr, a.buffer.len);
    if (bad !== undefined) return fail(bad);
    if (a.buffer.len > BigInt(TLS_MAX_BYTES)) return fail(WRITE_TLS_SLOT.errors.NO_MEMORY);
    const at = Number(a.buffer.addr);
    p.tlsWrite(a.slot, p.bytes().slice(at, at + Number(a.buffer.len)));
    return ok({});
  }),
  bind(DELETE_TLS_SLOT, (p, a) => {
    if (!p.tlsDelete(a.slot)) return fail(DELETE_TLS_SLOT.errors.NO_SUCH_SLOT);
    return ok({});
  }),
  bind(EXIT_THREAD, (p, a) => {
    if (!p.isMainThread) throw new ThreadEnd(a.exitData);
    throw new ProcessEnd({ kind: "exit", exitData: BigInt(a.exitData) });
  }),
];
