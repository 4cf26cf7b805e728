// Pipe syscalls 0x20–0x25 (specs/kernel/syscalls.md, specs/kernel/ipc.md "Pipes"; docs/ipc.md "Pipes").
// The runner answers PIPE_WRITE, PIPE_READ and PIPE_INFO on the ring it mapped (runner/pipes.ts): bytes
// never cross the kernel. The kernel answers OPEN_PIPE, SEND_PIPE and CLOSE_PIPE (kernel/pipes.ts).

import { GenericErr, PipeMode, Sig } from "../../commonassembly/abi/numbers.js";
import { fail, failWith, ok } from "../../commonassembly/abi/result.js";
import { Datafield, encodeDatafield } from "../../commonassembly/abi/signals.js";
import {
  CLOSE_PIPE,
  OPEN_PIPE,
  PIPE_INFO,
  PIPE_READ,
  PIPE_WRITE,
  type ResultOf,
  SEND_PIPE,
} from "../../commonassembly/abi/syscalls.js";
import {
  MAX_MESSAGE_SIZE,
  MESSAGE_HEADER_SIZE,
  type RingReader,
  RingState,
  type Stop,
  type WaitOptions,
} from "../ipc/ring.js";
import type { KernelApi, KPipe, PipeEnd } from "../kernel/api.js";
import type { KProcess } from "../kernel/process.js";
import type { HostInput } from "../runner/host-input.js";
import { PIPE_SPIN } from "../runner/pipes.js";
import type { Proc } from "../runner/process.js";
import { bind, bindKernel } from "./result.js";

/** Mode 0x01's return value when the call fails (docs/ipc.md): why. */
export const FailCause = { LOCKED: 0x00, NO_ROOM: 0x01 } as const;

/**
 * PIPE_INFO's status bits. Decided (docs/ipc.md): "Bit 0 (strongest)" numbers bits from the most
 * significant, as the spec does elsewhere ("strongest bit for read", shell.md "strongest byte/bit").
 */
export const PipeStatus = {
  OPEN: 0x80,
  MESSAGE: 0x40,
  FULL: 0x20,
  LOCKED: 0x10,
  WRITE_PENDING: 0x08,
  READ_PENDING: 0x04,
  SC: 0x02,
} as const;

/**
 * A blocked PIPE_WRITE / PIPE_READ of the main thread runs the signals that arrive meanwhile (as a
 * blocking kernel syscall does, docs/kernel.md), between the ring's sleeps; it then waits on.
 */
export function waiting(p: Proc): WaitOptions {
  let o = waitOptions.get(p);
  if (o === undefined) {
    o = p.isMainThread
      ? {
          spin: PIPE_SPIN,
          interrupted: () => {
            p.pullSignals();
            p.signals.deliverPending(p.handlerEnv);
            return false;
          },
        }
      : { spin: PIPE_SPIN };
    waitOptions.set(p, o);
  }
  return o;
}
/** One WaitOptions per thread, made on its first PIPE_* call (they are on the pipes' hot path). */
const waitOptions = new WeakMap<Proc, WaitOptions>();

const header = (message: boolean) => (message ? MESSAGE_HEADER_SIZE : 0);

export const pipeHandlers = [
  bind(PIPE_WRITE, (p, a) => {
    const E = PIPE_WRITE.errors;
    if (a.mode > PipeMode.PARTIAL) return fail(E.INVALID_MODE);
    const e = p.pipes?.get(a.sc);
    if (e === undefined || e.end !== "sc") return fail(E.NO_SUCH_SC);
    const w = e.ring;
    if (w.isMessage && a.count > MAX_MESSAGE_SIZE) return fail(E.MESSAGE_TOO_LARGE);
    if (w.isMessage && a.mode === PipeMode.PARTIAL) return fail(E.PARTIAL_MODE_ON_MESSAGE_PIPE);
    if ((w.state() & (RingState.writerClosed | RingState.readerClosed)) !== 0)
      return fail(E.SC_CLOSED);
    const remaining = () => Math.max(0, w.free() - header(w.isMessage));
    // "If the data is 0-byte long, this pipe will return successfully without waiting."
    if (a.count === 0) return ok({ result: a.mode === PipeMode.PARTIAL ? 0 : remaining() });
    const bad = p.checkBuffer(a.buffer, BigInt(a.count));
    if (bad !== undefined) return fail(bad);
    const at = Number(a.buffer);
    const src = p.bytesCovering(at + a.count).subarray(at, at + a.count);
    if (a.mode === PipeMode.PARTIAL) {
      const r = w.writeSome(src, waiting(p));
      if (!r.ok) return fail(E.SC_CLOSED);
      return ok({ result: r.written });
    }
    if (a.mode === PipeMode.FAIL) {
      const r = w.writeAll(src, false);
      if (r.ok) return ok({ result: remaining() });
      if (r.reason === "locked") return failWith(E.NOT_ENOUGH_SPACE, { result: FailCause.LOCKED });
      if (r.reason === "full") return failWith(E.NOT_ENOUGH_SPACE, { result: FailCause.NO_ROOM });
      return fail(E.SC_CLOSED);
    }
    const r = w.writeAll(src, waiting(p));
    if (r.ok) return ok({ result: remaining() });
    // Closed while it waited for room: the bytes already published stay readable; how many, in the value.
    return failWith(E.SC_CLOSED, { result: r.written });
  }),

  bind(PIPE_READ, (p, a) => {
    const E = PIPE_READ.errors;
    if (a.mode > PipeMode.PARTIAL) return fail(E.INVALID_MODE);
    const e = p.pipes?.get(a.rc);
    if (e === undefined || e.end !== "rc") return fail(E.NO_SUCH_RC);
    const r = e.ring;
    if (r.isMessage && a.mode === PipeMode.PARTIAL) return fail(E.PARTIAL_MODE_ON_MESSAGE_PIPE);
    const { addr, len } = a.buffer;
    if (addr === 0n) return fail(GenericErr.INVALID_ARGUMENT);
    let room = len;
    if (len === 0n) {
      // Length 0: "read as much data as possible", up to the end of the memory (docs/ipc.md).
      const size = BigInt(p.bytes().length);
      if (addr >= size) return fail(GenericErr.UNMAPPED_POINTER);
      room = size - addr;
    }
    const bad = p.checkBuffer(addr, room);
    if (bad !== undefined) return fail(bad);
    const from = Number(addr);
    const to = Number(addr + room);
    if (!p.writable(from, to - from)) return fail(GenericErr.MEMORY_PERMISSION);
    const dst = p.bytesCovering(to).subarray(from, to);
    // CMDIN read by the runner from the host's stdin (runner/host-input.ts).
    if (e.end === "rc" && e.host !== undefined)
      return readHostFed(p, r, e.host, a.mode, dst, len === 0n);
    const writerGone = () => (r.state() & RingState.writerClosed) !== 0;
    // What is left after a close can still be read; then the pipe is unavailable.
    if (writerGone() && r.used() === 0) return fail(E.RC_CLOSED);

    if (r.isMessage) {
      const res = r.readExact(dst, a.mode === PipeMode.FAIL ? false : waiting(p));
      // Decided (docs/ipc.md): a message pipe's value is the message's length.
      if (res.ok) return ok({ result: res.read });
      if (res.reason === "too-small")
        return failWith(GenericErr.INVALID_ARGUMENT, { result: res.read });
      if (res.reason === "locked") return failWith(E.NO_PENDING_DATA, { result: FailCause.LOCKED });
      if (res.reason === "empty") return failWith(E.NO_PENDING_DATA, { result: FailCause.NO_ROOM });
      return fail(E.RC_CLOSED);
    }
    if (a.mode === PipeMode.PARTIAL || (len === 0n && a.mode === PipeMode.FAIL)) {
      const res = r.readSome(dst, a.mode === PipeMode.FAIL ? false : waiting(p));
      if (!res.ok) {
        if (res.reason === "locked")
          return failWith(E.NO_PENDING_DATA, { result: FailCause.LOCKED });
        return fail(E.RC_CLOSED);
      }
      if (res.read === 0 && a.mode === PipeMode.FAIL)
        return failWith(E.NO_PENDING_DATA, { result: FailCause.NO_ROOM });
      return ok({ result: res.read });
    }
    if (len === 0n) {
      // Mode 0x00, length 0: wait for one byte, then take what is pending; the value is how many.
      const first = r.readExact(dst.subarray(0, 1), waiting(p));
      if (!first.ok) return fail(E.RC_CLOSED);
      const rest = r.readSome(dst.subarray(1), waiting(p));
      return ok({ result: 1 + (rest.ok ? rest.read : 0) });
    }
    if (a.mode === PipeMode.FAIL) {
      const res = r.readExact(dst, false);
      if (res.ok) return ok({ result: r.used() });
      if (res.reason === "locked") return failWith(E.NO_PENDING_DATA, { result: FailCause.LOCKED });
      return failWith(E.NO_PENDING_DATA, { result: FailCause.NO_ROOM });
    }
    const res = r.readExact(dst, waiting(p));
    if (res.ok) return ok({ result: r.used() });
    // The writer closed before the buffer was full: what was taken is in it; how much, in the value.
    return failWith(E.RC_CLOSED, { result: res.read });
  }),

  bind(PIPE_INFO, (p, a) => {
    const e = p.pipes?.get(a.id);
    if (e === undefined) return fail(PIPE_INFO.errors.NO_SUCH_PIPE);
    const ring = e.ring;
    // A host-fed CMDIN: what the host has now moves into the ring first, so its count and its end
    // show (skipped while a PIPE_READ holds the read lock: that one is reading them).
    if (e.end === "rc" && e.host !== undefined) {
      const host = e.host;
      const reader = e.ring;
      reader.withReadLock(
        false,
        () => undefined,
        () => host.topUp(reader),
      );
    }
    const h = header(ring.isMessage);
    const now = ring.snapshot();
    const remaining = Math.max(0, ring.capacity - now.used - h);
    let status = 0;
    if ((now.state & (RingState.writerClosed | RingState.readerClosed)) === 0)
      status |= PipeStatus.OPEN;
    if (ring.isMessage) status |= PipeStatus.MESSAGE;
    if (remaining === 0) status |= PipeStatus.FULL;
    if (now.writeLocked || now.readLocked) status |= PipeStatus.LOCKED;
    if (now.writePending) status |= PipeStatus.WRITE_PENDING;
    if (now.readPending) status |= PipeStatus.READ_PENDING;
    if (e.end === "sc") status |= PipeStatus.SC;
    return ok({
      status,
      capacity: BigInt(ring.capacity - h),
      remaining: BigInt(remaining),
      creator: BigInt(e.creator),
    });
  }),
];

/**
 * PIPE_READ of a CMDIN the runner reads from the host itself (runner/host-input.ts), with the ring's
 * semantics: the ring's bytes first (what PIPE_INFO or a mode 0x01 read moved there), then the host's,
 * read straight into `dst`; the end of input closes the ring's writer side, so the rest is read, then
 * 0x31. Mode 0x01 never waits (an exact size is gathered in the ring, taken only when it is whole);
 * mode 0x02 takes what is there now; mode 0x00 waits in poll(2) slices, running signals between them.
 */
function readHostFed(
  p: Proc,
  r: RingReader,
  host: HostInput,
  mode: number,
  dst: Uint8Array,
  lenZero: boolean,
): ResultOf<typeof PIPE_READ> {
  type R = ResultOf<typeof PIPE_READ>;
  const E = PIPE_READ.errors;
  if (host.done(r) && r.used() === 0) return fail(E.RC_CLOSED);
  const now = mode === PipeMode.FAIL;
  const refused = (reason: "locked" | Stop): R =>
    reason === "locked"
      ? failWith(E.NO_PENDING_DATA, { result: FailCause.LOCKED })
      : fail(E.RC_CLOSED);
  if (now && !lenZero)
    return r.withReadLock<R>(false, refused, (take) => {
      if (r.used() < dst.length) host.topUp(r, dst.length);
      if (r.used() < dst.length) return failWith(E.NO_PENDING_DATA, { result: FailCause.NO_ROOM });
      take(dst);
      return ok({ result: r.used() });
    });
  /** The ring's bytes, then what the host has now: how many; "end" when both are over. */
  const some = (take: (d: Uint8Array) => number, into: Uint8Array): number | "end" => {
    const n = take(into);
    if (n === into.length || host.done(r)) return n === 0 && host.done(r) ? "end" : n;
    const g = host.readNow(into.subarray(n));
    if (g === "end") return n === 0 ? (r.used() === 0 ? "end" : take(into)) : n;
    return n + g;
  };
  if (mode === PipeMode.PARTIAL || lenZero) {
    const opts = now ? false : waiting(p);
    return r.withReadLock<R>(opts, refused, (take) => {
      for (;;) {
        const n = some(take, dst);
        if (n === "end") return fail(E.RC_CLOSED);
        // Mode 0x02 and 0x01 take what there is; mode 0x00 with length 0 waits for a first byte.
        if (n > 0 || mode === PipeMode.PARTIAL) return ok({ result: n });
        if (now) return failWith(E.NO_PENDING_DATA, { result: FailCause.NO_ROOM });
        if (host.wait(r, waiting(p)) === "interrupted") return fail(E.RC_CLOSED);
      }
    });
  }
  // Mode 0x00, an exact size: fill `dst`, waiting for the host; its end first is 0x31 with the count.
  return r.withReadLock<R>(waiting(p), refused, (take) => {
    let done = 0;
    while (done < dst.length) {
      const n = some(take, dst.subarray(done));
      if (n === "end") return failWith(E.RC_CLOSED, { result: done });
      done += n;
      if (done < dst.length && n === 0 && host.wait(r, waiting(p)) === "interrupted")
        return failWith(E.RC_CLOSED, { result: done });
    }
    return ok({ result: r.used() });
  });
}

// ---- the kernel's half ----

/** "same application and same user" (syscalls.md OPEN_PIPE, signals.md RECV_PIPE). */
function peerRefusal(
  caller: KProcess,
  target: KProcess | undefined,
): "none" | "app" | "user" | undefined {
  if (target === undefined || target.state === "exited") return "none";
  if (target.anid !== caller.anid) return "app";
  if (target.user !== caller.user) return "user";
  return undefined;
}

/** RECV_PIPE's datafield for the process that now names `end` by `id` (signals.md 0x20). */
export function recvPipe(pipe: KPipe, end: PipeEnd, id: bigint, command: number): Uint8Array {
  return encodeDatafield(Datafield[Sig.RECV_PIPE], {
    creator: BigInt(pipe.creator),
    anid: pipe.creatorAnid,
    pipe: id,
    command,
    identifierType: end.kind === "sc" ? 0x01 : 0x00,
    mode: pipe.message ? 0x01 : 0x00,
    sizeHint: pipe.sizeHint,
  });
}

/** PIPE_CLOSED's datafield (signals.md 0x21): closing type, then which part this process held. */
export function pipeClosed(brutal: boolean, end: PipeEnd, id: bigint): Uint8Array {
  return encodeDatafield(Datafield[Sig.PIPE_CLOSED], {
    closing: brutal ? 0x01 : 0x00,
    identity: end.kind === "sc" ? 0x01 : 0x00,
    pipe: id,
  });
}

/** Tell every process naming `pipe` (but `except`'s identifier) that it closed. */
export function notifyClosed(
  k: Pick<KernelApi, "pipes" | "processes" | "signal">,
  pipe: KPipe,
  brutal: boolean,
  except?: { pid: number; id: bigint },
): void {
  for (const h of k.pipes.holders(pipe)) {
    if (except !== undefined && h.pid === except.pid && h.id === except.id) continue;
    const p = k.processes.get(h.pid);
    if (p !== undefined)
      k.signal(p, Sig.PIPE_CLOSED, { datafield: pipeClosed(brutal, h.end, h.id) });
  }
}

export const pipeKernelHandlers = [
  bindKernel(OPEN_PIPE, async (k, caller, a) => {
    const E = OPEN_PIPE.errors;
    if (a.transmissionMode > 1) return fail(E.INVALID_TRANSMISSION_MODE);
    if (a.notificationMode > 1) return fail(E.INVALID_NOTIFICATION_MODE);
    // The spec gives "pipe type" no errcode of its own: a generic invalid argument (docs/ipc.md).
    if (a.pipeType > 1) return fail(GenericErr.INVALID_ARGUMENT);
    const target = k.processes.get(Number(a.pid));
    const refused = peerRefusal(caller, target);
    if (refused === "none" || target === undefined) return fail(E.NO_SUCH_PID);
    if (refused === "app") return fail(E.OTHER_APPLICATION);
    if (refused === "user") return fail(E.OTHER_USER);
    const notify = a.notificationMode === 0;
    if (notify && !target.handled.has(Sig.RECV_PIPE)) return fail(E.NO_RECV_PIPE_HANDLER);
    let pipe: KPipe;
    try {
      pipe = k.pipes.create(caller, {
        message: a.transmissionMode === 1,
        multiplier: a.sizeMultiplier,
        sizeHint: a.sizeHint,
      });
    } catch (e) {
      // The host gave no shared memory (NATIVE_UNAVAILABLE_ON_HOST, or memfd/mmap failed): the spec has
      // no errcode for it; 0x02, and the terminal says why (docs/ipc.md).
      k.refusedLine(
        caller,
        `OPEN_PIPE refused: no shared memory for the pipe: ${(e as Error).message}`,
      );
      return fail(GenericErr.INVALID_ARGUMENT);
    }
    // Decided (docs/ipc.md): a write pipe (0x00) leaves the caller the SC, a read pipe (0x01) the RC.
    const mine = a.pipeType === 0 ? pipe.sc : pipe.rc;
    const theirs = a.pipeType === 0 ? pipe.rc : pipe.sc;
    const myId = k.pipes.ids.add(caller.pid, mine);
    const theirId = k.pipes.ids.add(target.pid, theirs);
    const granted = await Promise.all([
      k.grantPipe(caller, myId, mine),
      k.grantPipe(target, theirId, theirs),
    ]);
    if (!granted[0] || !granted[1]) {
      k.pipes.drop(caller.pid, myId);
      k.pipes.drop(target.pid, theirId);
      if (granted[0]) await k.revokePipe(caller, myId);
      return fail(E.NO_SUCH_PID);
    }
    if (notify)
      k.signal(target, Sig.RECV_PIPE, { datafield: recvPipe(pipe, theirs, theirId, a.command) });
    return ok({ sc: myId });
  }),

  bindKernel(SEND_PIPE, async (k, caller, a) => {
    // The spec names one errcode; the rest are invalid arguments (docs/ipc.md).
    const end = k.pipes.ids.get(caller.pid, a.id);
    if (end === undefined || end.pipe.state !== "open" || a.notificationMode > 1)
      return fail(GenericErr.INVALID_ARGUMENT);
    const target = k.processes.get(Number(a.pid));
    if (peerRefusal(caller, target) !== undefined || target === undefined)
      return fail(GenericErr.INVALID_ARGUMENT);
    const notify = a.notificationMode === 0;
    if (notify && !target.handled.has(Sig.RECV_PIPE))
      return fail(SEND_PIPE.errors.NO_RECV_PIPE_HANDLER);
    const id = k.pipes.ids.add(target.pid, end);
    if (!(await k.grantPipe(target, id, end))) {
      k.pipes.drop(target.pid, id);
      return fail(GenericErr.INVALID_ARGUMENT);
    }
    if (notify) k.signal(target, Sig.RECV_PIPE, { datafield: recvPipe(end.pipe, end, id, 0) });
    return ok({});
  }),

  bindKernel(CLOSE_PIPE, async (k, caller, a) => {
    const E = CLOSE_PIPE.errors;
    const end = k.pipes.ids.get(caller.pid, a.id);
    if (end === undefined) return fail(E.NO_SUCH_PIPE);
    const pipe = end.pipe;
    const was = pipe.state;
    // A held end (a pipeline's CMDRAW handed on): the close waits for the CLI (releaseHeldPipe).
    const held = k.pipes.heldOpen(end);
    if (held !== undefined && was === "open") held.writerClosed = true;
    else if (was === "open") {
      k.pipes.close(pipe, false);
      notifyClosed(k, pipe, false, { pid: caller.pid, id: a.id });
    }
    // Decided (docs/ipc.md): the caller's identifier goes in every case, even when the peer died.
    k.pipes.drop(caller.pid, a.id);
    await k.revokePipe(caller, a.id);
    return was === "brutal" ? fail(E.TARGET_TERMINATED) : ok({});
  }),
];
