// Thread-local storage syscalls 0x61–0x64 and EXIT_THREAD 0x6F (specs/kernel/syscalls.md). NCW runs a
// process' main thread only for now, so TLS slots belong to it and EXIT_THREAD ends the process
// ("the main thread's exit ends the process").

import {
  CREATE_TLS_SLOT,
  DELETE_TLS_SLOT,
  EXIT_THREAD,
  READ_TLS_SLOT,
  WRITE_TLS_SLOT,
} from "../abi/syscalls.js";
import { TLS_MAX_BYTES } from "../runner/process.js";
import { ProcessEnd } from "../runner/signals.js";
import { bind, fail, ok } from "./result.js";

export const threadHandlers = [
  bind(CREATE_TLS_SLOT, (p) => {
    const id = p.newTlsSlot();
    if (id === undefined) return fail(CREATE_TLS_SLOT.errors.MAX_SLOTS);
    return ok({ slot: id });
  }),
  bind(READ_TLS_SLOT, (p, a) => {
    const data = p.tls.get(a.slot);
    if (data === undefined) return fail(READ_TLS_SLOT.errors.NO_SUCH_SLOT);
    // A 0-byte length means "read the entire data at once".
    const n = a.buffer.len === 0n ? data.length : Math.min(data.length, Number(a.buffer.len));
    const bad = p.checkBuffer(a.buffer.addr, BigInt(n));
    if (bad !== undefined) return fail(bad);
    p.bytes().set(data.subarray(0, n), Number(a.buffer.addr));
    return ok({ written: BigInt(n) });
  }),
  bind(WRITE_TLS_SLOT, (p, a) => {
    if (!p.tls.has(a.slot)) return fail(WRITE_TLS_SLOT.errors.NO_SUCH_SLOT);
    const bad = p.checkBuffer(a.buffer.addr, a.buffer.len);
    if (bad !== undefined) return fail(bad);
    if (a.buffer.len > BigInt(TLS_MAX_BYTES)) return fail(WRITE_TLS_SLOT.errors.NO_MEMORY);
    const at = Number(a.buffer.addr);
    p.tls.set(a.slot, p.bytes().slice(at, at + Number(a.buffer.len)));
    return ok({});
  }),
  bind(DELETE_TLS_SLOT, (p, a) => {
    if (!p.tls.delete(a.slot)) return fail(DELETE_TLS_SLOT.errors.NO_SUCH_SLOT);
    return ok({});
  }),
  bind(EXIT_THREAD, (_p, a) => {
    throw new ProcessEnd({ kind: "exit", exitData: BigInt(a.exitData) });
  }),
];
