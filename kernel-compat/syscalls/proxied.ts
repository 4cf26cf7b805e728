// `nightos.syscall` of a process with an application proxy (technical/dev-mode.md "Application
// proxies"; docs/kernel.md "Application proxies"): every well-formed request of its threads goes to
// the proxy first (runner/proxy.ts), which lets it pass, passes it with other arguments, answers it
// itself, or never answers. The entry point is chosen at instantiation (runner/worker.ts): a process
// without a proxy runs dispatch.ts alone and pays nothing for this file.

import type { Codec } from "../../commonassembly/abi/codec.js";
import { fitBuffers, type ProxyCall } from "../../commonassembly/abi/proxy.js";
import type { SyscallDef } from "../../commonassembly/abi/syscalls.js";
import {
  errorStatus,
  SYSCALL_RET_SIZE,
  SYSCALL_STATUS_OK,
} from "../../commonassembly/abi/wasm-names.js";
import type { Proc } from "../runner/process.js";
import type { ProxyLink } from "../runner/proxy.js";
import { tracesSyscall } from "../runner/trace-clock.js";
import { bufferAreas } from "./buffers.js";
import {
  decodeArgs,
  dispatchChecked,
  finish,
  formatErr,
  formatValue,
  run,
  validateRequest,
} from "./dispatch.js";
import { waiting } from "./pipes.js";

/** `dispatch` for a proxied process (`syscall_fork` stays unproxied: docs/kernel.md). */
export function dispatchProxied(
  p: Proc,
  link: ProxyLink,
  req: number,
  reqLen: number,
  ret: number,
): number {
  p.ams?.afterGrowth(p.memory);
  let status: number;
  try {
    status = throughProxy(p, link, req, reqLen, ret);
  } finally {
    p.ams?.afterGrowth(p.memory);
  }
  // Queued signals are delivered as the syscall returns, as for every syscall.
  p.pullSignals();
  p.signals.deliverPending(p.handlerEnv);
  return status;
}

function throughProxy(p: Proc, link: ProxyLink, req: number, reqLen: number, ret: number): number {
  // Detached, or a signal handler's call while this thread waits for the proxy: straight through.
  if (link.detached !== undefined || link.busy) return dispatchChecked(p, req, reqLen, ret, false);
  const v = validateRequest(p, req, reqLen, ret, false);
  // A request the calling convention refuses (docs/commonassembly.md §4.4) is no system call: its
  // error comes from the runner, as without a proxy.
  if (!v.ok) return dispatchChecked(p, req, reqLen, ret, false);
  const def = v.def;
  const trace = tracesSyscall(def.code) ? p.trace : undefined;
  link.busy = true;
  let verdict: ReturnType<ProxyLink["ask"]>;
  try {
    const args = p.bytes().slice(req + 1, req + reqLen);
    verdict = link.ask(p.tid, def.code, args, readBuffers(p, def, v.args, args.length), waiting(p));
  } finally {
    link.busy = false;
  }
  switch (verdict.action) {
    case "detached":
    case "pass":
      return dispatchChecked(p, req, reqLen, ret, false);
    case "pass-args": {
      const hex = Buffer.from(verdict.args).toString("hex");
      const d = decodeArgs(def, verdict.args);
      if (!d.ok) {
        // Arguments that break the call's layout fail as the app's own would.
        trace?.(`${def.name}: proxy ${link.proxyPid} changed the arguments to <${hex}>`);
        return finish(trace, def.name, def, { ok: false, errcode: d.errcode }, v.args);
      }
      trace?.(
        `${def.name} ${formatValue(v.args)}: proxy ${link.proxyPid} changed the arguments to ${formatValue(d.args)}`,
      );
      const request = new Uint8Array(1 + verdict.args.length);
      request[0] = def.code;
      request.set(verdict.args, 1);
      return run(p, def, d.args, req, reqLen, ret, trace, request);
    }
    case "answer": {
      const out = p.bytesCovering(ret + SYSCALL_RET_SIZE);
      out.fill(0, ret, ret + SYSCALL_RET_SIZE);
      out.set(verdict.value, ret);
      if (trace !== undefined) {
        const r = def.ret as Codec<unknown>;
        const value =
          verdict.value.length === 0
            ? ""
            : r.size >= 0 && r.size <= SYSCALL_RET_SIZE
              ? ` ${formatValue(r.decode(p.dataCovering(ret + SYSCALL_RET_SIZE), ret))}`
              : ` <${Buffer.from(verdict.value).toString("hex")}>`;
        const outcome = verdict.errcode === null ? "ok" : formatErr(def, verdict.errcode);
        trace(
          `${def.name} ${formatValue(v.args)} -> ${outcome}${value} (answered by proxy ${link.proxyPid})`,
        );
      }
      return verdict.errcode === null ? SYSCALL_STATUS_OK : errorStatus(verdict.errcode);
    }
  }
}

/**
 * The buffers the call reads (the table's `buffers`), as much of them as the CALL carries; none when
 * one lies outside the memory (the call then fails as without a proxy, once passed).
 */
function readBuffers(
  p: Proc,
  def: SyscallDef,
  args: unknown,
  argsLength: number,
): ProxyCall["buffers"] {
  if (def.buffers.length === 0) return [];
  const mem = p.bytes();
  const areas = bufferAreas(def, args, mem.length);
  if (typeof areas === "number") return [];
  return fitBuffers(
    argsLength,
    areas
      .filter((a) => a.access === "read")
      .map((a) => mem.subarray(a.address, a.address + a.length)),
  );
}
