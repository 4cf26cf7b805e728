// Connections to the native system services (docs/services.md "System services"): CONNECT_SERVICE to
// ANID 0 names a system service by its PID (commonassembly/abi/numbers.ts SystemPid); the kernel holds
// the service's end of the connection's socket itself. It maps that end's rings (SocketTable
// kernelRings), reads each method record the client publishes, runs the call through the native
// service host (services/host/, any service registered there), and publishes the answer record exactly
// as a client thread's SEND_SOCK_MSG would: the exchange rules of SocketTable.send, then RECV_SOCK_MSG
// to the client. An app cannot tell it from an app service's connection.

import { KERNEL_ERROR_ON_WIRE, ServiceErr } from "../../commonassembly/abi/services/method.js";

export { KERNEL_ERROR_ON_WIRE };

import { decodeSockRecord, SOCK_RECORD_SIZE, SockStatus } from "../ipc/socket-record.js";
import { deliverMessage } from "../syscalls/sockets.js";
import type { KernelApi, KSocket, SocketEnd } from "./api.js";
import type { KProcess } from "./process.js";

/** What the kernel asks of the native service host (services/host/host.ts ServiceHost has it). */
export interface NativeServices {
  hosts(pid: number): boolean;
  /** True when the service accepts `clientPid`. */
  connect(servicePid: number, clientPid: number): Promise<boolean>;
  disconnect(servicePid: number, clientPid: number): void;
  call(
    servicePid: number,
    clientPid: number,
    code: number,
    args: Uint8Array,
  ): Promise<{ ok: true; answer: Uint8Array } | { ok: false; errcode: number }>;
}

/**
 * Decided (docs/services.md): a system service's connection socket carries messages of up to
 * 256 × 4 KiB = 1 MiB each way (an app service's has the default 4 KiB): its answers (a directory
 * listing, a file's bytes) are larger than an app's usual ones. The rings are sparse: unused pages cost
 * nothing.
 */
export const SYSTEM_SOCKET_MULTIPLIER = 256;

/** Whether `p` ended (a function: its state changes across the awaits). */
const gone = (p: KProcess): boolean => p.state === "exited";

/** How often an answer that does not fit the ring to the client is tried again (the client reads). */
const RETRY_MS = 10;

interface SystemConnection {
  id: bigint;
  client: KProcess;
  servicePid: number;
  socket: KSocket;
  clientSocket: bigint;
  serviceSocket: bigint;
  state: "open" | "ended" | "client-died";
  /** The notifications waiting for the client's answer, by exchange (docs/services.md). */
  asked: Map<bigint, (body: Uint8Array) => void>;
}

export type SystemConnectResult =
  | { ok: true; connection: bigint; socket: bigint }
  | { ok: false; why: "not-exposed" | "already-connected" | "rejected" | "not-delivered" };

export class SystemConnections {
  private readonly byId = new Map<bigint, SystemConnection>();
  private readonly bySocket = new Map<KSocket, SystemConnection>();

  constructor(
    private readonly k: KernelApi,
    private readonly host: NativeServices,
  ) {}

  /** Whether a system service runs at `pid` (CONNECT_SERVICE's 0x32 otherwise). */
  hosts(pid: number): boolean {
    return this.host.hosts(pid);
  }

  /** Whether `end` is a system service's end of one of these connections (the kernel reads it). */
  holds(end: SocketEnd): boolean {
    return end.side === "service" && this.bySocket.has(end.socket);
  }

  /** The system services `p` is connected to, by PID (`ncw ps`). */
  servicesOf(p: KProcess): number[] {
    return [...this.byId.values()]
      .filter((c) => c.client === p && c.state === "open")
      .map((c) => c.servicePid);
  }

  /** CONNECT_SERVICE to the system service at `pid`, once the constant checks passed. */
  async connect(client: KProcess, pid: number, flexible: boolean): Promise<SystemConnectResult> {
    if (!this.host.hosts(pid)) return { ok: false, why: "not-exposed" };
    const active = [...this.byId.values()].find(
      (c) => c.client === client && c.servicePid === pid && c.state === "open",
    );
    if (active !== undefined) {
      if (!flexible) return { ok: false, why: "already-connected" };
      return { ok: true, connection: active.id, socket: active.clientSocket };
    }
    if (!(await this.host.connect(pid, client.pid))) return { ok: false, why: "rejected" };
    const refuse = (): SystemConnectResult => {
      this.host.disconnect(pid, client.pid);
      return { ok: false, why: "not-delivered" };
    };
    if (gone(client)) return refuse();
    let opened: ReturnType<KernelApi["sockets"]["open"]>;
    try {
      opened = this.k.sockets.open(
        { pid, anid: 0 },
        { pid: client.pid, anid: client.anid },
        { multiplier: SYSTEM_SOCKET_MULTIPLIER, origin: "service-connection" },
      );
    } catch (e) {
      this.k.refusedLine(client, `no shared memory for a service socket: ${(e as Error).message}`);
      return refuse();
    }
    const { socket, serviceId, clientId } = opened;
    if (!(await this.k.grantSocket(client, clientId, socket.clientEnd))) {
      this.k.sockets.close(socket, false);
      this.k.sockets.forget(pid, serviceId);
      this.k.sockets.forget(client.pid, clientId);
      return refuse();
    }
    const c: SystemConnection = {
      id: this.k.appServices.newId(),
      client,
      servicePid: pid,
      socket,
      clientSocket: clientId,
      serviceSocket: serviceId,
      state: "open",
      asked: new Map(),
    };
    if (gone(client)) {
      // It ended while its runner was being granted the end: its processEnded ran already.
      this.release(c, true);
      return refuse();
    }
    this.byId.set(c.id, c);
    this.bySocket.set(socket, c);
    return { ok: true, connection: c.id, socket: clientId };
  }

  /**
   * END_SERVICE_CONN by `client`, when `id` is one of these connections (undefined otherwise: the app
   * services' table answers). The socket closes on both sides at once; the service hears of it.
   */
  end(client: KProcess, id: bigint): { ok: true } | { ok: false; why: "closed" } | undefined {
    const c = this.byId.get(id);
    if (c === undefined || c.client !== client) return undefined;
    if (c.state !== "open") return { ok: false, why: "closed" };
    c.state = "ended";
    this.release(c, false);
    this.host.disconnect(c.servicePid, client.pid);
    return { ok: true };
  }

  /** `p` ended (before its sockets are dropped): its connections close brutally and are forgotten. */
  processEnded(p: KProcess): void {
    for (const c of this.byId.values()) {
      if (c.client !== p) continue;
      if (c.state === "open") {
        c.state = "client-died";
        this.release(c, true);
      }
      this.byId.delete(c.id);
    }
  }

  /** The socket closes; the kernel stops naming its end (the rings go once the client's is dropped). */
  private release(c: SystemConnection, brutal: boolean): void {
    this.bySocket.delete(c.socket);
    this.k.sockets.close(c.socket, brutal);
    this.k.sockets.forget(c.servicePid, c.serviceSocket);
  }

  /** The client published a record on `socket`: read every pending one and answer the calls. */
  received(socket: KSocket): void {
    const c = this.bySocket.get(socket);
    const rings = this.k.sockets.kernelRings(socket);
    if (c === undefined || rings === undefined) return;
    for (;;) {
      const msg = rings.in.withRecord(
        SOCK_RECORD_SIZE,
        (bytes, take, pending) => {
          if (bytes === undefined) return undefined;
          const h = decodeSockRecord(bytes);
          // Only NCW writes headers (ExchangeTable.send): one that does not hold is NCW's own bug.
          if (h === undefined || h.length > pending - SOCK_RECORD_SIZE) return "broken" as const;
          const body = new Uint8Array(h.length);
          take(body, h.length);
          return { h, body };
        },
        () => undefined,
      );
      if (msg === undefined) return;
      if (msg === "broken") {
        this.k.refusedLine(c.client, `connection ${c.id}: a broken record on its socket`);
        return;
      }
      const { h, body } = msg;
      // The client's answer to a notification that takes one (ServiceContext.ask).
      const asked =
        (h.status & SockStatus.NEW_EXCHANGE) === 0 ? c.asked.get(h.exchange) : undefined;
      if (asked !== undefined) {
        c.asked.delete(h.exchange);
        asked(body);
        continue;
      }
      // A method call creates its exchange and waits for the answer; a message that concludes at once
      // (a creating error message) takes none. Answers of the client never come: system services'
      // answers conclude their exchange (specs/services/system/README.md).
      if ((h.status & SockStatus.NEW_EXCHANGE) === 0 || (h.status & SockStatus.CONCLUDES) !== 0)
        continue;
      void this.call(c, h.exchange, h.method, body);
    }
  }

  private async call(
    c: SystemConnection,
    exchange: bigint,
    method: number,
    args: Uint8Array,
  ): Promise<void> {
    let r: Awaited<ReturnType<NativeServices["call"]>>;
    try {
      r = await this.host.call(c.servicePid, c.client.pid, method, args);
    } catch (e) {
      // The host throws only for a client it does not count as connected (it ended meanwhile).
      if (c.state === "open")
        this.k.refusedLine(c.client, `connection ${c.id}: ${(e as Error).message}`);
      return;
    }
    let body = r.ok ? r.answer : new Uint8Array(0);
    let errcode = r.ok ? undefined : r.errcode;
    if (body.length > c.socket.maxMessage) {
      this.k.refusedLine(
        c.client,
        `connection ${c.id}: an answer of ${body.length} bytes does not fit the socket's ${c.socket.maxMessage}`,
      );
      body = new Uint8Array(0);
      errcode = ServiceErr.KERNEL;
    }
    if (errcode === undefined) return this.answer(c, exchange, body, 0);
    const wire = errcode === 0 ? KERNEL_ERROR_ON_WIRE : errcode;
    // READ_SOCK_MSG returns no error code (only the status' error bit): the body carries it too.
    const carried = new Uint8Array(2);
    new DataView(carried.buffer).setUint16(0, wire, true);
    this.answer(c, exchange, carried, wire);
  }

  /** A notification of the service at `servicePid` for `clientPid` (ServiceHost's `deliver`). */
  notify(n: {
    servicePid: number;
    clientPid: number;
    code: number;
    data: Uint8Array;
    onAnswer?: (body: Uint8Array) => void;
  }): void {
    for (const c of this.byId.values()) {
      if (c.state !== "open" || c.servicePid !== n.servicePid || c.client.pid !== n.clientPid)
        continue;
      if (n.data.length > c.socket.maxMessage) {
        this.k.refusedLine(c.client, `connection ${c.id}: a notification too large was dropped`);
        continue;
      }
      // Decided (docs/services.md): it creates its exchange concluded (no answer is taken), unless it
      // takes an answer: then the exchange stays open for the client's.
      const onAnswer = n.onAnswer;
      this.publish(
        c,
        {
          exchange: 0n,
          method: n.code,
          errorCode: 0,
          concludesAtOnce: onAnswer === undefined,
          ...(onAnswer === undefined ? {} : { sent: (ex: bigint) => c.asked.set(ex, onAnswer) }),
        },
        n.data,
      );
    }
  }

  private answer(c: SystemConnection, exchange: bigint, body: Uint8Array, errorCode: number): void {
    // Method 1: the close indicator, which concludes the exchange.
    this.publish(c, { exchange, method: 1, errorCode }, body);
  }

  /**
   * Publish a message from the service's end: staged on the ring to the client, then the exchange
   * rules and the header (SocketTable.send), then RECV_SOCK_MSG. A ring without room is tried again
   * until the client reads or the socket closes.
   */
  private publish(
    c: SystemConnection,
    m: {
      exchange: bigint;
      method: number;
      errorCode: number;
      concludesAtOnce?: boolean;
      /** The exchange a creating message made. */
      sent?: (exchange: bigint) => void;
    },
    body: Uint8Array,
  ): void {
    const rings = this.k.sockets.kernelRings(c.socket);
    if (rings === undefined || c.socket.state !== "open") return;
    const end = c.socket.serviceEnd;
    const again = rings.out.stage(
      SOCK_RECORD_SIZE,
      body,
      false,
      (why) => why === "full" || why === "locked",
      () => {
        const { sent, ...message } = m;
        const r = this.k.sockets.send(end, { ...message, length: body.length });
        if (r.ok) {
          sent?.(r.exchange);
          deliverMessage(this.k, r, body.length);
        } else this.k.refusedLine(c.client, `connection ${c.id}: message refused (${r.reason})`);
        return false;
      },
    );
    if (again) setTimeout(() => this.publish(c, m, body), RETRY_MS).unref?.();
  }
}
