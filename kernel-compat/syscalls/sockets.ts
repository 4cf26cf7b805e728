// Service-socket syscalls 0x26–0x29 (specs/kernel/syscalls.md, specs/kernel/ipc.md "Service sockets",
// signals.md RECV_SERV_SOCK / RECV_SOCK_MSG / SERV_SOCK_CLOSED; docs/ipc.md "Service sockets").
// The runner answers READ_SOCK_MSG on the ring it mapped (runner/sockets.ts), and SEND_SOCK_MSG: it stages
// the bytes on the ring to the peer, applies the exchange rules on the socket's shared exchange table
// (ipc/exchanges.ts), writes the record's header, publishes it and posts RECV_SOCK_MSG in the peer
// runner's signal door (ipc/door.ts): no kernel on the way (docs/ipc.md "The runner-to-runner path").
// Toward an end the kernel holds itself (a native service) it asks the kernel instead, which applies the
// same rules on the same table (socketSendBookkeeping). The kernel answers OPEN_SERV_SOCK and
// CLOSE_SERV_SOCK, and exports the socket life cycle the services half (CONNECT_SERVICE) builds on.

import { encode, viewOf } from "../../commonassembly/abi/codec.js";
import { GenericErr, Sig } from "../../commonassembly/abi/numbers.js";
import { type Errcode, fail, ok } from "../../commonassembly/abi/result.js";
import { Datafield, encodeDatafield } from "../../commonassembly/abi/signals.js";
import {
  CLOSE_SERV_SOCK,
  OPEN_SERV_SOCK,
  READ_SOCK_MSG,
  SEND_SOCK_MSG,
} from "../../commonassembly/abi/syscalls.js";
import { decodeSockRecord, SOCK_RECORD_SIZE } from "../ipc/socket-record.js";
import type {
  KernelApi,
  KSocket,
  SendOutcome,
  SendRefusal,
  SocketEnd,
  SocketParty,
} from "../kernel/api.js";
import type { KProcess } from "../kernel/process.js";
import type { Proc } from "../runner/process.js";
import { type FastEnd, SOCKET_SLOTS, type SocketRing } from "../runner/sockets.js";
import { waiting } from "./pipes.js";
import { bind, bindKernel } from "./result.js";

/** SEND_SOCK_MSG's arguments as the handler has them. */
type SendArgs = {
  socket: bigint;
  exchange: bigint;
  method: number;
  errorCode: number;
  content: { addr: bigint; len: bigint };
};

/** The staged message goes to the kernel, which applies the rules and tells the peer (a kernel end). */
function sendThroughKernel(p: Proc, a: SendArgs) {
  const answer = p.toKernel(new Uint8Array([SEND_SOCK_MSG.code, ...encode(SEND_SOCK_MSG.args, a)]));
  if (answer.errcode !== null) return fail(answer.errcode as Errcode<"SEND_SOCK_MSG">);
  return ok(SEND_SOCK_MSG.ret.decode(viewOf(answer.ret), 0));
}

/**
 * The runner-to-runner path (docs/ipc.md): the exchange rules on the shared table, the header, the
 * publication, then RECV_SOCK_MSG in the peer's door, all in the sender's thread.
 */
function sendDirect(p: Proc, s: SocketRing, f: FastEnd, a: SendArgs) {
  const size = Number(a.content.len);
  const r = f.table.send(
    f.side,
    { exchange: a.exchange, method: a.method, errorCode: a.errorCode, length: size },
    s.maxMessage,
    (header, total) => s.out.publishStaged(header, total),
  );
  if (!r.ok) {
    // The kernel refuses it again, on the same table, with the line on the terminal (docs/ipc.md).
    if (r.reason === "too-many-exchanges") return sendThroughKernel(p, a);
    return fail(sendErrcode(r.reason));
  }
  const datafield = encodeDatafield(Datafield[Sig.RECV_SOCK_MSG], {
    socket: f.peer.handle,
    exchange: r.exchange,
    method: r.method,
    size,
    status: r.status,
  });
  // The kernel's decoded form of the datafield (a `kernel sends` line's); dispatch.ts's formatter is not
  // imported here (it imports these handlers). Built only when traced: this is every message's path.
  p.trace?.(
    `sends RECV_SOCK_MSG {socket: ${f.peer.handle}, exchange: ${r.exchange}, method: ${r.method}, size: ${size}, status: ${r.status}} to ${
      f.peer.connection === 0n
        ? `pid ${f.peer.pid}`
        : `the client thread of connection ${f.peer.connection} of pid ${f.peer.pid}`
    }`,
  );
  // A door that is gone or stays full: the peer's runner ended or stopped (its end closes with it).
  if (f.door?.post(Sig.RECV_SOCK_MSG, f.peer.connection, datafield) !== true)
    p.trace?.(
      `RECV_SOCK_MSG not delivered: the signal door of pid ${f.peer.pid} is closed or full`,
    );
  return ok({ exchange: r.exchange, counter: r.counter });
}

export const socketHandlers = [
  bind(SEND_SOCK_MSG, (p, a) => {
    const E = SEND_SOCK_MSG.errors;
    const s = p.sockets?.get(a.socket);
    if (s === undefined) return fail(E.NO_SUCH_SOCKET);
    if (s.closed()) return fail(E.SOCKET_CLOSED);
    const { addr, len } = a.content;
    // Decided (docs/ipc.md): longer than the socket's largest message is an invalid argument.
    if (len > BigInt(s.maxMessage)) return fail(GenericErr.INVALID_ARGUMENT);
    let body: Uint8Array = new Uint8Array(0);
    if (len > 0n) {
      const bad = p.checkBuffer(addr, len);
      if (bad !== undefined) return fail(bad);
      body = p.bytes().subarray(Number(addr), Number(addr + len));
    }
    // "sent at once": the whole message is staged (waiting for room, signals running meanwhile), then
    // the exchange rules are checked and it is published, or refused and nothing is published.
    return s.out.stage(
      SOCK_RECORD_SIZE,
      body,
      waiting(p),
      () => fail(E.SOCKET_CLOSED),
      () => (s.fast === undefined ? sendThroughKernel(p, a) : sendDirect(p, s, s.fast, a)),
    );
  }),

  bind(READ_SOCK_MSG, (p, a) => {
    const E = READ_SOCK_MSG.errors;
    const s = p.sockets?.get(a.socket);
    if (s === undefined) return fail(E.NO_SUCH_SOCKET);
    // "Address of a writable buffer": 0 is the spec's invalid pointer, whatever is pending.
    if (a.buffer === 0n) return fail(GenericErr.INVALID_ARGUMENT);
    const mem = p.bytes();
    return s.in.withRecord(
      SOCK_RECORD_SIZE,
      (bytes, take, pending) => {
        // What was sent before a close can still be read; then the socket is closed (docs/ipc.md).
        if (bytes === undefined) {
          if (s.closed()) return fail(E.SOCKET_CLOSED);
          return ok({ written: 0, retrieved: 0, status: 0 });
        }
        const h = decodeSockRecord(bytes);
        // Only NCW writes headers (ExchangeTable.send); one that does not hold is a broken ring, never
        // read past.
        if (h === undefined || h.length > pending - SOCK_RECORD_SIZE) return fail(E.SOCKET_CLOSED);
        // The buffer has no length: the message must fit between its address and the memory's end.
        // A message that does not fit stays pending (0x03), as a pipe message does.
        const bad = p.checkBuffer(a.buffer, BigInt(h.length));
        if (bad !== undefined) return fail(bad);
        const at = Number(a.buffer);
        take(mem.subarray(at, at + h.length), h.length);
        return ok({ written: h.length, retrieved: 1, status: h.status });
      },
      () => fail(E.SOCKET_CLOSED),
    );
  }),
];

// ---- the kernel's half ----

/** RECV_SERV_SOCK's datafield (signals.md 0x26) for the client, which names the socket by `id`. */
function recvServSock(socket: KSocket, id: bigint): Uint8Array {
  return encodeDatafield(Datafield[Sig.RECV_SERV_SOCK], {
    creator: BigInt(socket.service.pid),
    anid: socket.service.anid,
    socket: id,
    // Decided (docs/ipc.md): the multiplier in effect (an OPEN_SERV_SOCK multiplier of 0 is 1).
    sizeMultiplier: socket.multiplier,
  });
}

/** SERV_SOCK_CLOSED's datafield (signals.md 0x29, decided in docs/ipc.md) for the holder of `end`. */
export function servSockClosed(brutal: boolean, end: SocketEnd, id: bigint): Uint8Array {
  return encodeDatafield(Datafield[Sig.SERV_SOCK_CLOSED], {
    closing: brutal ? 0x01 : 0x00,
    identity: end.side === "service" ? 0x01 : 0x00,
    socket: id,
  });
}

export type OpenSocketResult =
  | { ok: true; socket: KSocket; serviceId: bigint; clientId: bigint }
  | { ok: false; reason: "no-memory" | "not-granted" };

/**
 * Open a socket between `service` and `client` (live processes), have both runners record their
 * identifiers, then (unless `notify` is false) send RECV_SERV_SOCK to the client. OPEN_SERV_SOCK uses
 * it; so does ACCEPT_SERVICE_CONN (services), which binds the service side to its client thread.
 */
export async function openSocket(
  k: KernelApi,
  service: KProcess,
  client: KProcess,
  opts: {
    multiplier: number;
    serviceThread?: number;
    clientThread?: number;
    origin?: KSocket["origin"];
    /** A service connection's identifier: the service side's RECV_SOCK_MSG go to its client thread. */
    connection?: bigint;
    /** False: no RECV_SERV_SOCK (a connection's socket: the syscalls' answers name it). */
    notify?: boolean;
    /**
     * Send the runners' grants ahead of the answers instead of awaiting them (a connection's socket,
     * whose two answers go on the same channels right after).
     */
    grantsAhead?: boolean;
  },
): Promise<OpenSocketResult> {
  const party = (p: KProcess): SocketParty => ({ pid: p.pid, anid: p.anid });
  // A runner's socket table holds SOCKET_SLOTS ends: one more would be refused by the runner.
  const full = (p: KProcess) => k.sockets.ids.count(p.pid) >= SOCKET_SLOTS;
  if (full(service) || full(client)) return { ok: false, reason: "not-granted" };
  let opened: { socket: KSocket; serviceId: bigint; clientId: bigint };
  try {
    opened = k.sockets.open(party(service), party(client), opts);
  } catch (e) {
    k.refusedLine(service, `no shared memory for a service socket: ${(e as Error).message}`);
    return { ok: false, reason: "no-memory" };
  }
  const { socket, serviceId, clientId } = opened;
  const grants = Promise.all([
    k.grantSocket(service, serviceId, socket.serviceEnd),
    k.grantSocket(client, clientId, socket.clientEnd),
  ]);
  if (opts.grantsAhead === true) {
    // A connection's socket (ACCEPT_SERVICE_CONN): the grants go ahead of the answers, not awaited.
    // Each goes on the channel its runner's answer takes next, and the kernel keeps a channel's order
    // (Kernel.toRunner), so each runner has the socket in its table before any of its threads sees it.
    // A runner refuses a grant only when its table is full, which the count above rules out; one that
    // refuses anyway closes the socket (docs/ipc.md "Service sockets").
    void grants.then(([toService, toClient]) => {
      if (toService && toClient) return;
      k.refusedLine(client, `service socket ${socket.id}: a runner refused its grant; closed`);
      if (socket.state === "open") k.sockets.close(socket, true);
    });
    return { ok: true, socket, serviceId, clientId };
  }
  const granted = await grants;
  if (!granted[0] || !granted[1]) {
    k.sockets.close(socket, false);
    k.sockets.forget(service.pid, serviceId);
    k.sockets.forget(client.pid, clientId);
    if (granted[0]) await k.revokeSocket(service, serviceId);
    if (granted[1]) await k.revokeSocket(client, clientId);
    return { ok: false, reason: "not-granted" };
  }
  if (opts.notify !== false)
    k.signal(client, Sig.RECV_SERV_SOCK, { datafield: recvServSock(socket, clientId) });
  return { ok: true, socket, serviceId, clientId };
}

/** Tell the holder of `end`'s peer that the socket closed (SERV_SOCK_CLOSED). */
function notifyPeer(k: KernelApi, end: SocketEnd, brutal: boolean): void {
  const peer = k.sockets.peer(end);
  const id = k.sockets.idOf(peer);
  const p = k.processes.get(k.sockets.party(peer).pid);
  if (id !== undefined && p !== undefined)
    k.signal(p, Sig.SERV_SOCK_CLOSED, { datafield: servSockClosed(brutal, peer, id) });
}

/**
 * Close `end`'s socket from its side: both directions close at once and the peer gets SERV_SOCK_CLOSED
 * (closing type 0x01 when `brutal`: its side ended). The identifiers stay until their holders drop them.
 */
export function closeSocket(k: KernelApi, end: SocketEnd, brutal: boolean): void {
  if (end.socket.state !== "open") return;
  k.sockets.close(end.socket, brutal);
  notifyPeer(k, end, brutal);
}

/** Process `pid` ended (Kernel.finish): its identifiers go, its open sockets close brutally. */
export function closeSocketsOf(k: KernelApi, pid: number): void {
  for (const end of k.sockets.dropProcess(pid)) {
    closeSocket(k, end, true);
    k.sockets.releaseIfUnnamed(end.socket);
  }
}

/** Thread `tid` of `pid` ended: the sockets bound to it (a service's client thread) close brutally. */
export function closeSocketsOfThread(k: KernelApi, pid: number, tid: number): void {
  for (const end of k.sockets.endsOfThread(pid, tid)) closeSocket(k, end, true);
}

/**
 * The errcode of a refused SEND_SOCK_MSG (docs/ipc.md "Service sockets"), whoever applied the rules
 * (the sender's runner or the kernel).
 */
export function sendErrcode(reason: SendRefusal): Errcode<"SEND_SOCK_MSG" | "*"> {
  const E = SEND_SOCK_MSG.errors;
  switch (reason) {
    case "closed":
      return E.SOCKET_CLOSED;
    case "unknown-exchange":
      return E.NO_SUCH_EXCHANGE;
    case "concluded":
      return E.EXCHANGE_CONCLUDED;
    case "not-your-turn":
      return E.NOT_YOUR_TURN;
    case "too-large":
    case "too-many-exchanges":
    case "not-staged":
      return GenericErr.INVALID_ARGUMENT;
  }
}

/**
 * Not a syscall handler of the table (SEND_SOCK_MSG is answered by the runner): the runner's request
 * once it staged the message. The exchange rules, the header, the publication and RECV_SOCK_MSG.
 */
export const socketSendBookkeeping = bindKernel(SEND_SOCK_MSG, async (k, caller, a) => {
  const end = k.sockets.end(caller.pid, a.socket);
  if (end === undefined) return fail(SEND_SOCK_MSG.errors.NO_SUCH_SOCKET);
  const r = k.sockets.send(end, {
    exchange: a.exchange,
    method: a.method,
    errorCode: a.errorCode,
    length: Number(a.content.len),
  });
  if (!r.ok) {
    if (r.reason === "too-many-exchanges")
      k.refusedLine(
        caller,
        `SEND_SOCK_MSG refused: socket ${a.socket} has too many open exchanges`,
      );
    return fail(sendErrcode(r.reason));
  }
  deliverMessage(k, r, Number(a.content.len));
  return ok({ exchange: r.exchange, counter: r.counter });
});

/**
 * A message was published to `r.receiver`: its process gets RECV_SOCK_MSG; an end the kernel holds
 * (a native system service's, kernel/system-connections.ts) reads it at once.
 */
export function deliverMessage(
  k: KernelApi,
  r: Extract<SendOutcome, { ok: true }>,
  size: number,
): void {
  if (k.systemConnections.holds(r.receiver)) {
    k.systemConnections.received(r.receiver.socket);
    return;
  }
  const id = k.sockets.idOf(r.receiver);
  const receiver = k.processes.get(k.sockets.party(r.receiver).pid);
  if (id === undefined || receiver === undefined) return;
  // A connection's socket on the service's side belongs to its client thread, which gets the signal
  // (docs/services.md): the thread that reads the socket runs the handler.
  const connection =
    r.receiver.side === "service" && r.receiver.socket.origin === "service-connection"
      ? k.appServices.connectionAt(receiver, id)
      : undefined;
  k.signal(receiver, Sig.RECV_SOCK_MSG, {
    datafield: encodeDatafield(Datafield[Sig.RECV_SOCK_MSG], {
      socket: id,
      exchange: r.exchange,
      method: r.method,
      size,
      status: r.status,
    }),
    ...(connection === undefined ? {} : { clientThreadOf: connection.id }),
  });
}

/** OPEN_SERV_SOCK's "allowed to communicate" (decided, docs/ipc.md): same application, same user. */
function mayOpen(caller: KProcess, target: KProcess): boolean {
  return target.anid === caller.anid && target.user === caller.user;
}

export const socketKernelHandlers = [
  bindKernel(OPEN_SERV_SOCK, async (k, caller, a) => {
    const E = OPEN_SERV_SOCK.errors;
    const target = k.processes.get(Number(a.pid));
    if (target === undefined || target.state === "exited") return fail(E.NO_SUCH_PID);
    if (!mayOpen(caller, target)) return fail(E.NOT_ALLOWED);
    const r = await openSocket(k, caller, target, { multiplier: a.sizeMultiplier });
    if (!r.ok) return fail(r.reason === "no-memory" ? GenericErr.INVALID_ARGUMENT : E.NO_SUCH_PID);
    return ok({ socket: r.serviceId });
  }),

  bindKernel(CLOSE_SERV_SOCK, async (k, caller, a) => {
    const E = CLOSE_SERV_SOCK.errors;
    const end = k.sockets.end(caller.pid, a.socket);
    if (end === undefined) return fail(E.NO_SUCH_SOCKET);
    const wasOpen = end.socket.state === "open";
    closeSocket(k, end, false);
    // Decided (docs/ipc.md): the caller's identifier goes in every case, even when the peer closed.
    k.sockets.forget(caller.pid, a.socket);
    await k.revokeSocket(caller, a.socket);
    return wasOpen ? ok({}) : fail(E.SOCKET_CLOSED);
  }),
];
