// The syscall entry point of a runner (commonassembly ABI 1.1, docs/commonassembly.md): reads the request
// from linear memory, looks the code up in the declarative table (commonassembly/abi/syscalls.ts), decodes the
// arguments with its codec, runs the handler (in-process) or forwards the request to the kernel server,
// writes the return value and returns 0 or 0x100 | errcode. Every call is traced when asked.

import { type Codec, viewOf } from "../../commonassembly/abi/codec.js";
import { GenericErr } from "../../commonassembly/abi/numbers.js";
import type { Errcode, SysResult } from "../../commonassembly/abi/result.js";
import { SYSCALLS, type SyscallDef, syscallName } from "../../commonassembly/abi/syscalls.js";
import {
  errorStatus,
  SYSCALL_REQ_MAX,
  SYSCALL_RET_SIZE,
  SYSCALL_STATUS_OK,
} from "../../commonassembly/abi/wasm-names.js";
import type { Proc } from "../runner/process.js";
import { ProcessEnd } from "../runner/signals.js";
import { tracesSyscall } from "../runner/trace-clock.js";
import { bufferAreas, gather, writtenAreas } from "./buffers.js";
import { memoryHandlers } from "./memory.js";
import { pipeHandlers } from "./pipes.js";
import { processHandlers } from "./process.js";
import { refuse } from "./refused.js";
import type { BoundHandler } from "./result.js";
import { serviceHandlers } from "./services.js";
import { signalHandlers } from "./signals.js";
import { socketHandlers } from "./sockets.js";
import { threadHandlers } from "./threads.js";

/** Every in-process handler, by code. */
export const RUNNER_HANDLERS: ReadonlyMap<number, BoundHandler> = new Map(
  [
    ...signalHandlers,
    ...pipeHandlers,
    ...serviceHandlers,
    ...socketHandlers,
    ...memoryHandlers,
    ...threadHandlers,
    ...processHandlers,
  ].map((h) => [h.def.code, h]),
);

/** How the runner serves a syscall, worked out once per code from the table (`run`'s hot path). */
interface Plan {
  def: SyscallDef;
  /** It has a buffer the call writes (checked against read-only AMS mappings). */
  writes: boolean;
  /** Its runner handler; undefined: it goes to the kernel, or is refused or not there yet. */
  handler: BoundHandler | undefined;
}

const PLANS: readonly (Plan | undefined)[] = (() => {
  const plans: (Plan | undefined)[] = new Array(256).fill(undefined);
  for (const d of SYSCALLS)
    plans[d.code] = {
      def: d,
      writes: d.buffers.some((b) => b.access === "written"),
      handler:
        d.support.kind === "implemented" && d.support.where === "runner"
          ? RUNNER_HANDLERS.get(d.code)
          : undefined,
    };
  return plans;
})();

/** Sanity: every syscall the table says the runner implements has a handler, and no other. */
export function checkRunnerTable(): string[] {
  const problems: string[] = [];
  for (const d of SYSCALLS) {
    const has = RUNNER_HANDLERS.has(d.code);
    const wants = d.support.kind === "implemented" && d.support.where === "runner";
    if (has !== wants)
      problems.push(
        `${d.name}: table says ${JSON.stringify(d.support)}, handler ${has ? "present" : "missing"}`,
      );
  }
  return problems;
}

export function formatValue(v: unknown): string {
  if (typeof v === "bigint") return v > 0xffffn ? `0x${v.toString(16)}` : v.toString();
  if (typeof v === "number") return String(v);
  if (v instanceof Uint8Array) return `<${Buffer.from(v).toString("hex")}>`;
  if (typeof v === "object" && v !== null) {
    const entries = Object.entries(v).map(([k, x]) => `${k}: ${formatValue(x)}`);
    return `{${entries.join(", ")}}`;
  }
  return String(v);
}

function errName(def: SyscallDef | undefined, code: number): string {
  const generic = Object.entries(GenericErr).find(([, c]) => c === code)?.[0];
  if (code <= 0x04 && generic) return generic;
  const names = def
    ? Object.entries(def.errors)
        .filter(([, c]) => c === code)
        .map(([n]) => n)
    : [];
  return names.length ? names.join("|") : "?";
}

export function formatErr(def: SyscallDef | undefined, code: number): string {
  return `err 0x${code.toString(16).padStart(2, "0")} ${errName(def, code)}`;
}

const NO_ARGS = new DataView(new ArrayBuffer(0));

/**
 * Decode a request's arguments: the `len` bytes of `bytes` from `at` (by default all of them), read
 * through `view` when the caller has one over exactly `bytes` (the process' memory: no view per call).
 * The errcode for a request that does not fit the layout.
 */
export function decodeArgs(
  def: SyscallDef,
  bytes: Uint8Array,
  at = 0,
  len = bytes.length - at,
  view?: DataView,
): { ok: true; args: unknown } | { ok: false; errcode: Errcode } {
  if (def.args.size < 0) return { ok: true, args: bytes.slice(at, at + len) };
  const codec = def.args as Codec<unknown>;
  // No arguments (GET_PID and the like): nothing to read, no view to make.
  if (codec.size === 0 && len === 0) return { ok: true, args: codec.decode(NO_ARGS, 0) };
  if (len < codec.size) return { ok: false, errcode: GenericErr.MEMORY_READ };
  if (len > codec.size) return { ok: false, errcode: GenericErr.INVALID_ARGUMENT };
  return { ok: true, args: codec.decode(view ?? viewOf(bytes), at) };
}

/** Run `nightos.syscall` (or `syscall_fork` with `viaFork`) for process `p`. */
export function dispatch(
  p: Proc,
  req: number,
  reqLen: number,
  ret: number,
  viaFork: boolean,
): number {
  const status = dispatchInner(p, req, reqLen, ret, viaFork);
  // Queued signals are delivered as the syscall returns (and at safepoints).
  p.pullSignals();
  p.signals.deliverPending(p.handlerEnv);
  return status;
}

export type Validated =
  | { ok: true; def: SyscallDef; args: unknown; name: string }
  | { ok: false; errcode: Errcode; def: SyscallDef | undefined; name: string };

/** The ABI checks every request passes before its handler runs (docs/commonassembly.md, §4). */
export function validateRequest(
  p: Proc,
  req: number,
  reqLen: number,
  ret: number,
  viaFork: boolean,
): Validated {
  const end = Math.max(req + reqLen, ret + SYSCALL_RET_SIZE);
  const mem = p.bytesCovering(end);
  if (reqLen < 1 || req < 0 || req + reqLen > mem.length) {
    return { ok: false, errcode: GenericErr.MEMORY_READ, def: undefined, name: "" };
  }
  const code = mem[req] as number;
  const def = PLANS[code]?.def;
  if (def === undefined) {
    // Longer than any request the ABI allows, whatever the code (docs/commonassembly.md §4.4).
    const errcode =
      reqLen > SYSCALL_REQ_MAX ? GenericErr.INVALID_ARGUMENT : GenericErr.NO_SUCH_SYSCALL;
    return refusedRequest(errcode, undefined, syscallName(code));
  }
  if (reqLen > SYSCALL_REQ_MAX) return refusedRequest(GenericErr.INVALID_ARGUMENT, def, def.name);
  // The fork-like calls (FORK_SYSCALLS) go only through syscall_fork, the others only through syscall.
  if (def.returnsTwice !== viaFork || ret === 0)
    return refusedRequest(GenericErr.INVALID_ARGUMENT, def, def.name);
  if (ret < 0 || ret + SYSCALL_RET_SIZE > mem.length)
    return refusedRequest(GenericErr.UNMAPPED_POINTER, def, def.name);
  // A return area in a read-only AMS mapping: the runner cannot write the value there (docs/ipc.md).
  if (!p.writable(ret, SYSCALL_RET_SIZE))
    return refusedRequest(GenericErr.MEMORY_PERMISSION, def, def.name);
  // The arguments decoded where they lie (no copy, no view per call).
  const d = decodeArgs(def, mem, req + 1, reqLen - 1, p.dataCovering(end));
  if (!d.ok) return refusedRequest(d.errcode, def, def.name);
  const args = d.args;
  return { ok: true, def, args, name: def.name };
}

function refusedRequest(errcode: Errcode, def: SyscallDef | undefined, name: string): Validated {
  return { ok: false, errcode, def, name };
}

function dispatchInner(
  p: Proc,
  req: number,
  reqLen: number,
  ret: number,
  viaFork: boolean,
): number {
  // The memory grew since the read-only AMS mappings were last put back: put them back (runner/ams.ts),
  // before the call and after it (MEM_ALLOC grows it).
  p.ams?.afterGrowth(p.memory);
  try {
    return dispatchChecked(p, req, reqLen, ret, viaFork);
  } finally {
    p.ams?.afterGrowth(p.memory);
  }
}

/** The unproxied call after the AMS check: validate, then run (a proxy's pass goes here too). */
export function dispatchChecked(
  p: Proc,
  req: number,
  reqLen: number,
  ret: number,
  viaFork: boolean,
): number {
  const v = validateRequest(p, req, reqLen, ret, viaFork);
  // NCW_TRACE_ONLY (benchmarks): the line of a syscall it does not name is not even formatted.
  const trace = v.def === undefined || tracesSyscall(v.def.code) ? p.trace : undefined;
  if (!v.ok && v.name === "") {
    trace?.(
      `syscall at ${req} (${reqLen} bytes): unreadable -> ${formatErr(undefined, v.errcode)}`,
    );
    return errorStatus(v.errcode);
  }
  if (!v.ok) return finish(trace, v.name, v.def, { ok: false, errcode: v.errcode }, {});
  return run(p, v.def, v.args, req, reqLen, ret, trace);
}

/** The call's status (and its trace line): 0, or 0x100 | errcode. */
export function finish(
  trace: ((line: string) => void) | undefined,
  name: string,
  def: SyscallDef | undefined,
  r: SysResult<unknown>,
  args: unknown,
): number {
  if (!r.ok) {
    if (trace !== undefined) {
      const v = r.value === undefined ? "" : ` ${formatValue(r.value)}`;
      trace(`${name} ${formatValue(args)} -> ${formatErr(def, r.errcode)}${v}`);
    }
    return errorStatus(r.errcode);
  }
  trace?.(`${name} ${formatValue(args)} -> ok ${formatValue(r.value)}`);
  return SYSCALL_STATUS_OK;
}

/**
 * Run a validated call. `request`: the request's bytes when they are not the ones at `req` (a proxy
 * changed the arguments, syscalls/proxied.ts); the kernel is sent them.
 */
export function run(
  p: Proc,
  def: SyscallDef,
  args: unknown,
  req: number,
  reqLen: number,
  ret: number,
  trace: ((line: string) => void) | undefined,
  request?: Uint8Array,
): number {
  const code = def.code;
  const name = def.name;
  const plan = PLANS[code];

  // Nothing is written into a read-only AMS mapping: the spec's memory permission error (docs/ipc.md).
  if (plan?.writes === true) {
    const areas = bufferAreas(def, args, p.bytes().length);
    if (
      typeof areas !== "number" &&
      writtenAreas(areas).some((a) => !p.writable(a.address, a.length))
    )
      return finish(trace, name, def, { ok: false, errcode: GenericErr.MEMORY_PERMISSION }, args);
  }
  let r: SysResult<unknown>;
  switch (def.support.kind) {
    case "later":
      trace?.(`${name}: not implemented in this NCW version (${def.support.issue})`);
      r = { ok: false, errcode: GenericErr.NO_SUCH_SYSCALL };
      break;
    case "refused":
      r = refuse(def, args);
      break;
    case "implemented":
      if (def.support.where === "runner") {
        const h = plan?.handler;
        if (h === undefined) throw new Error(`no runner handler for ${name}`);
        try {
          r = h.run(p, args);
        } catch (e) {
          if (e instanceof ProcessEnd) trace?.(`${name} ${formatValue(args)} -> process ends`);
          throw e;
        }
      } else {
        // The kernel reads and writes no process memory: the buffers travel with the request and its
        // answer (syscalls/buffers.ts). The kernel traces what it answers (marked "(kernel)").
        const mem = p.bytes();
        const areas = bufferAreas(def, args, mem.length);
        if (typeof areas === "number")
          return finish(trace, name, def, { ok: false, errcode: areas }, args);
        const answer = p.toKernel(
          request ?? mem.slice(req, req + reqLen),
          areas.length === 0 ? undefined : { read: gather(areas, mem), out: writtenAreas(areas) },
        );
        if (answer.errcode !== null) return errorStatus(answer.errcode);
        const out = p.bytes();
        out.fill(0, ret, ret + SYSCALL_RET_SIZE);
        out.set(answer.ret, ret);
        return SYSCALL_STATUS_OK;
      }
      break;
  }
  if (r.ok || r.value !== undefined) {
    // The handler may have grown the memory (MEM_ALLOC): the views are checked again.
    const out = p.dataCovering(ret + SYSCALL_RET_SIZE);
    // The 40-byte return area zeroed, then the value: ten 32-bit stores cost a fifth of a 40-byte fill
    // (and of BigInt stores) on this path.
    for (let at = ret; at < ret + SYSCALL_RET_SIZE; at += 4) out.setUint32(at, 0);
    def.ret.encode(out, ret, r.value);
  }
  return finish(trace, name, def, r, args);
}
