// The narrow interface kernel-side syscall handlers reach the kernel through (docs/kernel.md
// "Architecture"): what a family's kernel half may ask of the kernel, and nothing of its runners, IPC or
// sessions. Family files import it as a type only, so the runner that loads them loads no kernel code.

import type { SysResult } from "../../commonassembly/abi/result.js";
import type { ArgsOf, ResultOf, SyscallDef } from "../../commonassembly/abi/syscalls.js";
import type { ForkImage, ToRunner } from "../protocol.js";
import type { AmsTable } from "./ams.js";
import type { PipeEnd, PipeTable } from "./pipes.js";
import type { KProcess, ProcessTable } from "./process.js";
import type { ServiceTable } from "./services.js";
import type { SocketEnd, SocketTable } from "./sockets.js";
import type { SystemConnections } from "./system-connections.js";

export type { KAms, KMapping, KSharing } from "./ams.js";
export type { KPipe, PipeEnd } from "./pipes.js";
export type { KSocket, SendOutcome, SendRefusal, SocketEnd, SocketParty } from "./sockets.js";

/** The process table as handlers see it: looked up, never changed (only the kernel adds processes). */
export type ProcessView = Pick<
  ProcessTable,
  "get" | "live" | "childrenOf" | "childOf" | "isAncestorOf"
>;

/** What the kernel offers its syscall handlers. */
export interface KernelApi {
  readonly processes: ProcessView;
  /** The registry's system.processes.* delays, in ms. */
  readonly delays: { readonly suspend: number; readonly terminate: number };
  /** Why a new process with `memoryBytes` of memory cannot start now (the home's limits), or undefined. */
  admit(memoryBytes: number): string | undefined;
  /** Count a growth of `p`'s memory against the home's limit; false (and said why) when refused. */
  reserveMemory(p: KProcess, bytes: number): boolean;
  /** A limit refused something to `p`: tell its terminal and the kernel log. */
  refusedLine(p: KProcess, line: string): void;
  /** Start `parent`'s fork child from `fork` (CREATE_PROCESS); throws when no runner can start. */
  spawnFork(parent: KProcess, fork: ForkImage): KProcess;
  /** Wait until `p` ends or `timeoutMs` elapses (0 = no timeout); true if it ended. */
  waitFor(p: KProcess, timeoutMs: number): Promise<boolean>;
  /**
   * Send a signal; WILL_TERMINATE / WILL_SUSPEND arm their delays (`delayMs` replaces the registry's);
   * `datafield` is the 32 bytes of another signal (RECV_PIPE, PIPE_CLOSED).
   */
  signal(
    p: KProcess,
    signal: number,
    opts?: { delayMs?: number; datafield?: Uint8Array; clientThreadOf?: bigint },
  ): void;
  /** The pipes (kernel/pipes.ts). */
  readonly pipes: PipeTable;
  /**
   * Have `p`'s runner record that it names `end` by `handle` (docs/ipc.md "Pipes"), before the caller is
   * answered or RECV_PIPE sent; false when it could not (the process ended, its table is full).
   */
  grantPipe(p: KProcess, handle: bigint, end: PipeEnd): Promise<boolean>;
  /** Have `p`'s runner forget `handle` (its own CLOSE_PIPE). */
  revokePipe(p: KProcess, handle: bigint): Promise<void>;
  /** The application services: instances, requests, connections (kernel/services.ts). */
  readonly appServices: ServiceTable;
  /** The service sockets (kernel/sockets.ts). */
  readonly sockets: SocketTable;
  /** The connections to the native system services, whose socket ends the kernel holds. */
  readonly systemConnections: SystemConnections;
  /**
   * Have `p`'s runner record that it names `end` by `handle` (docs/ipc.md "Service sockets"), before the
   * caller is answered or RECV_SERV_SOCK sent; false when it could not (the process ended, table full).
   */
  grantSocket(p: KProcess, handle: bigint, end: SocketEnd): Promise<boolean>;
  /** Have `p`'s runner forget `handle` (its own CLOSE_SERV_SOCK, or a refused open). */
  revokeSocket(p: KProcess, handle: bigint): Promise<void>;
  /** The abstract memory segments (kernel/ams.ts). */
  readonly ams: AmsTable;
  /** Have `p`'s runner map an AMS' segment over its memory (docs/ipc.md "Shared memory"). */
  mapAms(p: KProcess, m: AmsMapRequest): Promise<AmsMapAnswer>;
  /** Have `p`'s runner unmap the AMS mapping at `address`; false if it could not. */
  unmapAms(p: KProcess, address: number, mode: "keep" | "zero"): Promise<boolean>;
  /**
   * Have backer `p` answer READ/WRITE_BACKED_AMS for each address (docs/ipc.md "Signal-backed AMS"):
   * the handlers' i64s (null where none ran), or undefined when the backer ended first.
   */
  askBacker(p: KProcess, r: AmsBackedRequest): Promise<(bigint | null)[] | undefined>;
  suspend(p: KProcess): void;
  /** Resume a suspended process; how long it was suspended, in ms. */
  unsuspend(p: KProcess): bigint;
}

/** An `ams-map` request (protocol.ts) without its request number. */
export type AmsMapRequest = Omit<Extract<ToRunner, { t: "ams-map" }>, "req" | "t">;
/** An `ams-backed` request (protocol.ts) without its request number. */
export type AmsBackedRequest = Omit<Extract<ToRunner, { t: "ams-backed" }>, "req" | "t">;
export type AmsMapAnswer =
  | { ok: true; address: number }
  | { ok: false; error: string; refusal?: "range" | "overlap" | "space" };

/**
 * What a forwarded request carries besides its bytes: CREATE_PROCESS' memory image, the bytes of its
 * read buffers; `written` takes what the handler writes into its written buffers (table order).
 */
export interface KernelExtra {
  fork: ForkImage | undefined;
  read: readonly Uint8Array[];
  written: Uint8Array[];
}

/** A kernel-side handler: decoded arguments in, the spec's result (D's own errcodes) out. */
export type KernelHandler<D extends SyscallDef> = (
  k: KernelApi,
  caller: KProcess,
  args: ArgsOf<D>,
  extra: KernelExtra,
) => Promise<ResultOf<D>>;

export interface BoundKernelHandler {
  def: SyscallDef;
  run: (
    k: KernelApi,
    caller: KProcess,
    args: unknown,
    extra: KernelExtra,
  ) => Promise<SysResult<unknown>>;
}
