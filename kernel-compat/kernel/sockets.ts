// Service sockets, the kernel object (specs/kernel/ipc.md "Service sockets"; docs/ipc.md "Service
// sockets"): each socket joins a service (the process that opened it) and a client, with two message
// rings in host segments the kernel owns (one per direction; the bytes never pass through the kernel)
// and the exchange table (ipc/exchanges.ts: identifiers, counters, whose turn it is, what is concluded)
// in a tail of the ring to the service, which the sender's runner applies when it sends
// (syscalls/sockets.ts) and the kernel for the ends it holds itself (a native service's).
//
// ---- The API (stable: the services half, CONNECT_SERVICE / ACCEPT_SERVICE_CONN, builds on it; extend,
// do not rename) ----
//
// This table (pure bookkeeping, no runner, no signal):
//   table.open(service, client, { multiplier, serviceThread?, clientThread?, origin? })
//       → { socket, serviceId, clientId }: a new open socket, named to both processes (`table.ids`).
//   table.end(pid, id)          the end process `pid` names by `id` (undefined: unknown identifier)
//   table.idOf(end)             the identifier its process names `end` by (undefined once forgotten)
//   table.party(end)            the process (and thread) holding `end`
//   table.peer(end)             the other end
//   table.rings(end)            the segments `end` writes into and reads from (what its runner maps)
//   table.send(end, message)    the exchange rules, then publication of the message staged (the kernel's
//                               own ends, and a runner without the fast path: docs/ipc.md)
//   table.close(socket, brutal) both sides closed at once (blocked senders / readers wake)
//   table.forget(pid, id)       drop an identifier; the rings go when neither end is named
//   table.dropProcess(pid)      a process ended: its identifiers go; the ends it named
//   table.endsOfThread(pid, tid) the open ends bound to thread `tid` of `pid` (a service's client thread)
//   table.openExchanges(socket), table.all()   for `ncw ps` and tests
// The KernelApi (kernel/api.ts) adds `sockets` (this table), `grantSocket(p, id, end)` and
// `revokeSocket(p, id)` (the runner's table, protocol.ts `socket-grant` / `socket-revoke`).
// With runners and signals (kernel-compat/syscalls/sockets.ts, reached with the KernelApi):
//   openSocket(k, service, client, opts) → { ok: true, socket, serviceId, clientId } | { ok: false }:
//       open + grant both runners + RECV_SERV_SOCK to the client (unless opts.notify === false).
//   closeSocket(k, end, brutal)       close; SERV_SOCK_CLOSED to the peer (closing type 0x00 / 0x01)
//   closeSocketsOf(k, pid)            the process-end hook (Kernel.finish calls it): brutal closes
//   closeSocketsOfThread(k, pid, tid) the thread-end hook for a service's client thread: brutal closes

import type { HostNative } from "../../native/types.js";
import {
  EXCHANGE_TABLE_BYTES,
  type ExchangeOutcome,
  ExchangeTable,
  type SocketSide,
  type SockMessage,
} from "../ipc/exchanges.js";
import {
  hostRingMemory,
  initRing,
  type RingMemory,
  RingReader,
  RingWriter,
  ringSegmentSize,
} from "../ipc/ring.js";
import { memoryFrom } from "../ipc/shared-lock.js";
import { SOCK_RECORD_SIZE } from "../ipc/socket-record.js";
import { Handles } from "./handles.js";
import type { KSegment, SegmentTable } from "./segments.js";

/** syscalls.md OPEN_SERV_SOCK: "Buffer size multiplier by 4 KB" (decided: KiB); 0 falls back to 4 KB. */
export const SOCKET_UNIT = 4 * 1024;
/** The multiplier is 2 bytes: the largest message is 65535 × 4 KiB, "up to 256 MB" (ipc.md). */
export const MAX_SOCKET_MULTIPLIER = 0xffff;
/**
 * A direction's ring holds at least this much, so several small messages (of several exchanges) can be
 * pending at once. Host segments are sparse: pages the messages never reach cost nothing.
 */
export const SOCKET_MIN_RING = 64 * 1024;
export {
  MAX_OPEN_EXCHANGES,
  type SendRefusal,
  type SocketSide,
  type SockMessage,
} from "../ipc/exchanges.js";

/** Where a socket's exchange table starts in its ring to the service: after the ring, 64-aligned. */
export function exchangeTableAt(capacity: number): number {
  return Math.ceil(ringSegmentSize(capacity) / 64) * 64;
}

export interface SocketParty {
  readonly pid: number;
  readonly anid: number;
  /** The thread the socket belongs to on that side (a service's client thread), if any. */
  readonly tid?: number;
}

export interface SocketEnd {
  readonly socket: KSocket;
  readonly side: SocketSide;
}

export interface KSocket {
  readonly id: number;
  /** The process that opened it (OPEN_SERV_SOCK's caller; a service). */
  readonly service: SocketParty;
  readonly client: SocketParty;
  /** The size multiplier in effect (1–65535; OPEN_SERV_SOCK's 0 is 1). */
  readonly multiplier: number;
  /** The largest message, in bytes: multiplier × 4 KiB. */
  readonly maxMessage: number;
  /** How it was made: OPEN_SERV_SOCK, or a service connection (ACCEPT_SERVICE_CONN). */
  readonly origin: "syscall" | "service-connection";
  readonly serviceEnd: SocketEnd;
  readonly clientEnd: SocketEnd;
  /** The ring each side reads: toService carries the client's messages, then the exchange table. */
  readonly segments: { readonly toService: KSegment; readonly toClient: KSegment };
  /** Where the exchange table starts in `segments.toService` (ipc/exchanges.ts). */
  readonly tableAt: number;
  /** A service connection's identifier (its service side's RECV_SOCK_MSG go to its client thread). */
  readonly connection?: bigint;
  /** "open", closed with CLOSE_SERV_SOCK ("proper"), or because a side's process or thread ended. */
  state: "open" | "proper" | "brutal";
}

export type SendOutcome =
  | (Extract<ExchangeOutcome, { ok: true }> & { receiver: SocketEnd })
  | Extract<ExchangeOutcome, { ok: false }>;

interface SocketState {
  exchanges: ExchangeTable;
  /** The kernel's writer views: it publishes staged records and closes. */
  toService: RingWriter;
  toClient: RingWriter;
  /** The reader view of the service's ring, once the kernel holds that end (a native service). */
  serviceReader?: RingReader;
}

export class SocketTable {
  /** Every process' identifiers for socket ends. */
  readonly ids = new Handles<SocketEnd>();
  private readonly state = new Map<KSocket, SocketState>();
  private next = 1;

  constructor(
    private readonly segments: SegmentTable,
    private readonly host: Pick<HostNative, "wait" | "wake">,
  ) {}

  /**
   * A new open socket between `service` and `client` (either may be the same process), named to each
   * by a new identifier. Throws a native error when the host gives no shared memory.
   */
  open(
    service: SocketParty,
    client: SocketParty,
    opts: {
      multiplier: number;
      serviceThread?: number;
      clientThread?: number;
      origin?: KSocket["origin"];
      connection?: bigint;
    },
  ): { socket: KSocket; serviceId: bigint; clientId: bigint } {
    const multiplier = Math.min(MAX_SOCKET_MULTIPLIER, Math.max(1, Math.trunc(opts.multiplier)));
    const maxMessage = multiplier * SOCKET_UNIT;
    const capacity = Math.max(SOCKET_MIN_RING, maxMessage + SOCK_RECORD_SIZE);
    const id = this.next++;
    const tableAt = exchangeTableAt(capacity);
    const toService = this.segments.create(0, tableAt + EXCHANGE_TABLE_BYTES, `sock${id}s`);
    let toClient: KSegment;
    try {
      toClient = this.segments.create(0, ringSegmentSize(capacity), `sock${id}c`);
    } catch (e) {
      this.segments.release(toService.id);
      throw e;
    }
    const memoryOf = (seg: KSegment): RingMemory =>
      hostRingMemory({ buffer: seg.bytes.buffer as ArrayBuffer, address: seg.address }, this.host);
    const writer = (memory: RingMemory) => {
      initRing(memory, capacity);
      return new RingWriter(memory);
    };
    const serviceMemory = memoryOf(toService);
    const withThread = (p: SocketParty, tid: number | undefined): SocketParty =>
      tid === undefined ? { pid: p.pid, anid: p.anid } : { pid: p.pid, anid: p.anid, tid };
    const socket = {
      id,
      service: withThread(service, opts.serviceThread ?? service.tid),
      client: withThread(client, opts.clientThread ?? client.tid),
      multiplier,
      maxMessage,
      origin: opts.origin ?? "syscall",
      segments: { toService, toClient },
      tableAt,
      ...(opts.connection === undefined ? {} : { connection: opts.connection }),
      state: "open",
    } as KSocket & { serviceEnd: SocketEnd; clientEnd: SocketEnd };
    (socket as { serviceEnd: SocketEnd }).serviceEnd = { socket, side: "service" };
    (socket as { clientEnd: SocketEnd }).clientEnd = { socket, side: "client" };
    this.state.set(socket, {
      toService: writer(serviceMemory),
      toClient: writer(memoryOf(toClient)),
      exchanges: ExchangeTable.init(memoryFrom(serviceMemory, tableAt)),
    });
    const serviceId = this.ids.add(socket.service.pid, socket.serviceEnd);
    const clientId = this.ids.add(socket.client.pid, socket.clientEnd);
    return { socket, serviceId, clientId };
  }

  end(pid: number, id: bigint): SocketEnd | undefined {
    return this.ids.get(pid, id);
  }

  /** The process that holds `end`. */
  party(end: SocketEnd): SocketParty {
    return end.side === "service" ? end.socket.service : end.socket.client;
  }

  idOf(end: SocketEnd): bigint | undefined {
    return this.ids.idsOf(this.party(end).pid, end)[0];
  }

  peer(end: SocketEnd): SocketEnd {
    return end.side === "service" ? end.socket.clientEnd : end.socket.serviceEnd;
  }

  /** The segment `end` writes into and the one it reads (what its runner maps). */
  rings(end: SocketEnd): { out: KSegment; in: KSegment } {
    const s = end.socket.segments;
    return end.side === "service"
      ? { out: s.toClient, in: s.toService }
      : { out: s.toService, in: s.toClient };
  }

  /**
   * The rings of the service end when the kernel itself holds it (a native system service,
   * kernel/system-connections.ts): it reads the client's records from one and stages its answers on
   * the other, as a runner does on the ends it maps. Undefined once the socket is released.
   */
  kernelRings(socket: KSocket): { in: RingReader; out: RingWriter } | undefined {
    const st = this.state.get(socket);
    if (st === undefined) return undefined;
    if (st.serviceReader === undefined) {
      const seg = socket.segments.toService;
      st.serviceReader = new RingReader(
        hostRingMemory(
          { buffer: seg.bytes.buffer as ArrayBuffer, address: seg.address },
          this.host,
        ),
      );
    }
    return { in: st.serviceReader, out: st.toClient };
  }

  /** How many exchanges are open on `socket` (ncw ps, tests). */
  openExchanges(socket: KSocket): number {
    return this.state.get(socket)?.exchanges.openCount() ?? 0;
  }

  /**
   * A message from `end`'s side, sent through the kernel (the kernel's own ends, a runner's message to
   * one; docs/ipc.md "A message's path"): the exchange rules on the socket's shared table
   * (ExchangeTable.send, the one implementation the runners use too), then the record's header over
   * the message staged on the ring to the peer, published. Refused, nothing changes or is published.
   */
  send(end: SocketEnd, m: SockMessage): SendOutcome {
    const socket = end.socket;
    const st = this.state.get(socket);
    if (st === undefined || socket.state !== "open") return { ok: false, reason: "closed" };
    const ring = end.side === "service" ? st.toClient : st.toService;
    const r = st.exchanges.send(end.side, m, socket.maxMessage, (header, total) =>
      ring.publishStaged(header, total),
    );
    return r.ok ? { ...r, receiver: this.peer(end) } : r;
  }

  /** Close both directions at once (ipc.md "Closing service sockets"); blocked sides wake. */
  close(socket: KSocket, brutal: boolean): void {
    if (socket.state !== "open") return;
    socket.state = brutal ? "brutal" : "proper";
    const st = this.state.get(socket);
    if (st === undefined) return;
    st.exchanges.close();
    for (const ring of [st.toService, st.toClient]) {
      ring.close("writer", brutal);
      ring.close("reader", brutal);
    }
  }

  /** Forget process `pid`'s identifier `id`; the socket's rings go when neither end is named. */
  forget(pid: number, id: bigint): SocketEnd | undefined {
    const end = this.ids.remove(pid, id);
    if (end !== undefined) this.releaseIfUnnamed(end.socket);
    return end;
  }

  /** Process `pid` ended: its identifiers go; the ends it named (each once). */
  dropProcess(pid: number): SocketEnd[] {
    return this.ids.dropProcess(pid);
  }

  /** The open ends bound to thread `tid` of process `pid`. */
  endsOfThread(pid: number, tid: number): SocketEnd[] {
    const out: SocketEnd[] = [];
    for (const socket of this.state.keys()) {
      if (socket.state !== "open") continue;
      for (const end of [socket.serviceEnd, socket.clientEnd]) {
        const p = this.party(end);
        if (p.pid === pid && p.tid === tid) out.push(end);
      }
    }
    return out;
  }

  /** Every socket the table still holds (ncw ps, tests). */
  all(): KSocket[] {
    return [...this.state.keys()];
  }

  releaseIfUnnamed(socket: KSocket): void {
    const st = this.state.get(socket);
    if (st === undefined) return;
    if (this.ids.holders(socket.serviceEnd).length > 0) return;
    if (this.ids.holders(socket.clientEnd).length > 0) return;
    this.close(socket, false);
    this.state.delete(socket);
    this.segments.release(socket.segments.toService.id);
    this.segments.release(socket.segments.toClient.id);
  }
}
