// The two message pipes between a proxied process and its application proxy (technical/dev-mode.md
// "Application proxies"; docs/kernel.md "Application proxies"). The proxy names its ends like any pipe
// end (the calls pipe's RC, the answers pipe's SC: it reads CALLs and writes ANSWERs with PIPE_READ and
// PIPE_WRITE); the proxied process' runner maps the other two itself, pinned like the CLI's command-pipe
// ends, so no identifier of the proxied app names them.

import { Sig } from "../../commonassembly/abi/numbers.js";
import { UserLevel } from "../../commonassembly/abi/permissions.js";
import type { ProxyLinkRef } from "../protocol.js";
import type { KPipe, PipeTable } from "./pipes.js";
import type { ProcessTable } from "./process.js";

/** One proxied process' link, as the kernel keeps it. */
export interface ProxyLinkSet {
  /** The proxy's PID. */
  readonly proxy: number;
  readonly calls: KPipe;
  readonly answers: KPipe;
  /** The proxy's identifiers for its ends. */
  readonly proxyIds: { readonly calls: bigint; readonly answers: bigint };
}

/**
 * Why a run of NightOS user `user` (of level `user.level`, docs/permissions.md "User levels") cannot
 * have process `pid` as its proxy (the run's error), or undefined: it can.
 */
export function proxyRefusal(
  k: { readonly devMode: boolean; readonly processes: ProcessTable },
  pid: unknown,
  user: { name: string; level: number },
):
  | { code: string; message: string; kind: "usage" | "not-found" | "no-perm"; hint?: string }
  | undefined {
  if (!k.devMode)
    return {
      code: "RUN_PROXY_DEV_MODE",
      message: "application proxies are a developer-mode feature, and developer mode is off",
      kind: "no-perm",
      hint: "turn it on: `ncw registry set system.debugging.dev_mode true`",
    };
  // technical/dev-mode.md: "Only administrator users get access to them".
  if (user.level < UserLevel.ADMINISTRATOR)
    return {
      code: "RUN_PROXY_NOT_ADMIN",
      message: `application proxies are for administrators, and NightOS user ${user.name} is of level ${user.level}`,
      kind: "no-perm",
      hint: `raise it: \`ncw perm policy --user ${user.name} --level ${UserLevel.ADMINISTRATOR}\``,
    };
  if (typeof pid !== "number" || !Number.isSafeInteger(pid) || pid <= 0)
    return {
      code: "RUN_PROXY_BAD_PID",
      message: `--proxy names a process by its PID, a positive integer, not ${JSON.stringify(pid)}`,
      kind: "usage",
    };
  const p = k.processes.get(pid);
  if (p === undefined || p.state === "exited")
    return {
      code: "RUN_PROXY_NOT_FOUND",
      message: `no running process with PID ${pid} to be the application proxy`,
      kind: "not-found",
      hint: "start the proxy first (`ncw run proxy.nap`) and name its PID (`ncw ps`)",
    };
  if (!p.handled.has(Sig.RECV_PIPE))
    return {
      code: "RUN_PROXY_NO_HANDLER",
      message: `process ${pid} (${p.name}) has no RECV_PIPE handler: it cannot receive the calls`,
      kind: "usage",
      hint: 'a proxy handles RECV_PIPE to take its two pipe ends (docs/kernel.md "Application proxies")',
    };
  return undefined;
}

/**
 * Make the link of process `proxied` (not started yet; the pipes' creator, as if it opened them) to
 * process `proxy`: the proxy's ends are entered in its table; the proxied side is pinned. Throws when
 * the host gives no shared memory (nothing is left behind then).
 */
export function createProxyLink(
  table: PipeTable,
  proxied: { pid: number; anid: number },
  proxy: number,
): ProxyLinkSet {
  const opts = { message: true, multiplier: 1, sizeHint: 0n };
  const calls = table.create(proxied, opts);
  let answers: KPipe;
  try {
    answers = table.create(proxied, opts);
  } catch (e) {
    table.releaseIfUnnamed(calls);
    throw e;
  }
  table.pin(calls);
  table.pin(answers);
  const proxyIds = {
    calls: table.ids.add(proxy, calls.rc),
    answers: table.ids.add(proxy, answers.sc),
  };
  return { proxy, calls, answers, proxyIds };
}

/** What the proxied runner maps (the `start` message's `proxy`). */
export function proxyLinkRef(set: ProxyLinkSet): ProxyLinkRef {
  return {
    pid: set.proxy,
    calls: { name: set.calls.segment.name, size: set.calls.segment.size },
    answers: { name: set.answers.segment.name, size: set.answers.segment.size },
  };
}

/**
 * The proxied process ended (or never started): both pipes close properly, the pins go, and the pipes
 * with them once the proxy no longer names them. The pipes that were still open (for PIPE_CLOSED).
 */
export function endProxyLink(table: PipeTable, set: ProxyLinkSet): KPipe[] {
  const closed = [set.calls, set.answers].filter((p) => p.state === "open");
  for (const p of closed) table.close(p, false);
  table.unpin(set.calls);
  table.unpin(set.answers);
  return closed;
}
