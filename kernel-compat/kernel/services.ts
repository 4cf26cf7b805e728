// Application services (specs/services.md; syscalls.md 0x2A–0x2E; docs/services.md): the kernel's
// table of running service instances — exactly one process per service per NightOS user, started on
// demand and gated by READY —, the connection requests waiting for an answer within the registry's
// service_answer_delay, and the connections (one service socket each) with their closing rules.

import { ServiceTarget, Sig } from "../../commonassembly/abi/numbers.js";
import { Datafield, encodeDatafield } from "../../commonassembly/abi/signals.js";
import type { KProcess } from "./process.js";
import {
  exposes,
  exposesAny,
  hex,
  type ServiceApp,
  type ServiceName,
  serviceLabel,
  serviceName,
} from "./service-names.js";

export type { ExposedServices, ServiceApp, ServiceName } from "./service-names.js";

/**
 * A connection's service socket (specs/kernel/ipc.md "Service sockets"): opened on ACCEPT between the
 * client and the service, closed on END_SERVICE_CONN (proper) or when a peer dies (brutal). The service
 * sockets are kernel/sockets.ts's; kernel/connection-sockets.ts adapts them.
 */
export interface ConnectionSockets {
  /**
   * Open a socket between `service` and `client` for connection `connection`; each side's identifier,
   * or why it could not.
   */
  open(
    service: KProcess,
    client: KProcess,
    connection?: bigint,
  ): Promise<{ service: bigint; client: bigint } | string>;
  /** Close the connection's socket on both sides (`brutal`: a peer died). */
  close(c: Connection, brutal: boolean): void;
}

/** What the table asks of the kernel. */
export interface ServiceKernel {
  /** The app with `anid` as `user` sees it (their install before the global one), or undefined. */
  findApp(anid: number, user: string): Promise<ServiceApp | undefined>;
  /** Start `app`'s service process for `user`, traced like (and on the terminal of) `starter`. */
  startService(
    app: ServiceApp,
    name: ServiceName,
    user: string,
    starter: KProcess,
  ): Promise<KProcess>;
  /** `clientThreadOf`: to the client thread of that connection, not the main thread. */
  signal(
    p: KProcess,
    signal: number,
    opts?: { datafield?: Uint8Array; clientThreadOf?: bigint },
  ): void;
  /** system.processes.service_answer_delay, in ms. */
  answerDelay(): number;
  log(line: string): void;
  readonly sockets: ConnectionSockets;
}

/** One running service: a process of `app` for `user`, serving `name`. */
export interface ServiceInstance {
  key: string;
  app: ServiceApp;
  name: ServiceName;
  user: string;
  /** Undefined while its process is being started. */
  process: KProcess | undefined;
  /** The start in progress or done: true once its process exists. */
  starting: Promise<boolean> | undefined;
  /** Its module is instantiated and `_start` runs (the READY wait counts from then). */
  running: boolean;
  /** The process called READY (specs/services.md: connections wait for it). */
  ready: boolean;
  /** Run when it starts running, becomes ready or ends. */
  readyWaiters: Array<() => void>;
  /** Its open connections. */
  connections: Set<Connection>;
  /** Requests sent to it and not answered yet. */
  pending: number;
  idleTimer: NodeJS.Timeout | undefined;
  /** It was asked to terminate (idle): new clients get a new instance. */
  retired: boolean;
}

export type ConnectionState = "open" | "ended" | "client-died" | "thread-died" | "service-died";

export interface Connection {
  /** The connection's unique ID: also its request ID (docs/services.md). */
  id: bigint;
  client: KProcess;
  instance: ServiceInstance;
  service: KProcess;
  /** The socket's identifier on each side. */
  clientSocket: bigint;
  serviceSocket: bigint;
  state: ConnectionState;
  /** The client thread's runner has not told its end yet. */
  threadAlive: boolean;
}

type Answer =
  | { kind: "accepted"; connection: Connection }
  | { kind: "rejected" }
  | { kind: "late" }
  | { kind: "service-ended" };

interface PendingRequest {
  id: bigint;
  client: KProcess;
  instance: ServiceInstance;
  /** "pending" until answered; "expired" after the delay (a late ACCEPT/REJECT gets 0x41). */
  state: "pending" | "expired" | "answered";
  deadline: number;
  settle: (a: Answer) => void;
}

/** Why CONNECT_SERVICE failed (the handler turns it into the spec's errcode). */
export type ConnectFailure =
  | "no-such-anid"
  | "not-exposed"
  | "already-connected"
  | "rejected"
  | "not-delivered";

export type ConnectResult =
  | { ok: true; connection: bigint; socket: bigint }
  | { ok: false; why: ConnectFailure };

export type AnswerFailure = "no-such-request" | "requester-ended" | "too-late";

export class ServiceTable {
  private readonly instances = new Map<string, ServiceInstance>();
  private readonly byProcess = new Map<number, ServiceInstance>();
  private readonly requests = new Map<bigint, PendingRequest>();
  private readonly connections = new Map<bigint, Connection>();
  /** Request IDs (= connection IDs) are kernel-wide, from 1, never reused. */
  private nextId = 1n;

  constructor(private readonly k: ServiceKernel) {}

  /**
   * A new request / connection ID (kernel-wide, never reused): the system services' connections
   * (kernel/system-connections.ts) take theirs here too, so END_SERVICE_CONN's IDs never collide.
   */
  newId(): bigint {
    return this.nextId++;
  }

  /** The instance `p` runs, if it is a service process. */
  instanceOf(p: KProcess): ServiceInstance | undefined {
    return this.byProcess.get(p.pid);
  }

  /**
   * HAS_SCOPED_SERVICE: whether the app with `anid` (as `caller`'s user sees it) exposes the scope (a
   * zero scope: the main service), "no-service" when it exposes none at all.
   */
  async hasScoped(
    caller: KProcess,
    anid: number,
    scope: Uint8Array,
  ): Promise<boolean | "no-such-anid" | "no-service"> {
    const app = await this.k.findApp(anid, caller.userName);
    if (app === undefined) return "no-such-anid";
    if (!exposesAny(app)) return "no-service";
    return exposes(app, serviceName(ServiceTarget.SCOPED, scope));
  }

  /** The open connections whose client is `p`. */
  connectionsOf(p: KProcess): Connection[] {
    return [...this.connections.values()].filter((c) => c.client === p && c.state === "open");
  }

  /**
   * The open connection whose socket `service` names by `socket` (the client thread's end), if any:
   * RECV_SOCK_MSG for it goes to that client thread (docs/services.md).
   */
  connectionAt(service: KProcess, socket: bigint): Connection | undefined {
    for (const c of this.connections.values())
      if (c.service === service && c.serviceSocket === socket && c.state === "open") return c;
    return undefined;
  }

  connection(id: bigint): Connection | undefined {
    return this.connections.get(id);
  }

  /** CONNECT_SERVICE, once its constant checks passed: find or start the service, ask it, wait. */
  async connect(
    client: KProcess,
    t: { anid: number; targetType: number; scope: Uint8Array; command: number; flexible: boolean },
  ): Promise<ConnectResult> {
    const user = client.userName;
    const name = serviceName(t.targetType, t.scope);
    const app = await this.k.findApp(t.anid, user);
    if (app === undefined) return { ok: false, why: "no-such-anid" };
    if (!exposes(app, name)) return { ok: false, why: "not-exposed" };
    const key = `${user}\0${app.anid}\0${name.type}\0${hex(name.scope)}`;
    const active = this.connectionsOf(client).find((c) => c.instance.key === key);
    if (active !== undefined) {
      if (!t.flexible) return { ok: false, why: "already-connected" };
      return { ok: true, connection: active.id, socket: active.clientSocket };
    }
    let inst = this.instances.get(key);
    if (inst === undefined || inst.retired) {
      inst = this.newInstance(key, app, name, user);
      if (!(await this.start(inst, client))) return { ok: false, why: "not-delivered" };
    }
    this.keep(inst);
    inst.pending++;
    try {
      if (!(await this.untilReady(inst))) {
        const gone = inst.process === undefined || inst.process.state === "exited";
        return { ok: false, why: gone ? "not-delivered" : "rejected" };
      }
      const service = inst.process;
      if (service === undefined || client.state === "exited")
        return { ok: false, why: "not-delivered" };
      const a = await this.ask(inst, service, client, t.command);
      if (a.kind === "accepted")
        return { ok: true, connection: a.connection.id, socket: a.connection.clientSocket };
      return { ok: false, why: a.kind === "service-ended" ? "not-delivered" : "rejected" };
    } finally {
      inst.pending--;
      this.idleCheck(inst);
    }
  }

  private newInstance(
    key: string,
    app: ServiceApp,
    name: ServiceName,
    user: string,
  ): ServiceInstance {
    const inst: ServiceInstance = {
      key,
      app,
      name,
      user,
      process: undefined,
      starting: undefined,
      running: false,
      ready: false,
      readyWaiters: [],
      connections: new Set(),
      pending: 0,
      idleTimer: undefined,
      retired: false,
    };
    this.instances.set(key, inst);
    return inst;
  }

  /** Start the instance's process (on demand: the first client's CONNECT_SERVICE). */
  private async start(inst: ServiceInstance, starter: KProcess): Promise<boolean> {
    // Several clients may connect while it starts: they share the start.
    const started = this.k.startService(inst.app, inst.name, inst.user, starter).then(
      (p) => {
        inst.process = p;
        this.byProcess.set(p.pid, inst);
        this.k.log(
          `service ${inst.app.aid} ${serviceLabel(inst.name)} for ${inst.user}: process ${p.pid}`,
        );
        return true;
      },
      (e: Error) => {
        this.k.log(`service ${inst.app.aid} ${serviceLabel(inst.name)} not started: ${e.message}`);
        this.retire(inst);
        return false;
      },
    );
    inst.starting = started;
    return started;
  }

  /**
   * Wait until the instance's process called READY, at most the answer delay counted from when its
   * `_start` runs (or from now if it already runs; docs/services.md): the host's start of a runner is
   * not the app's to answer for. True when ready, false when the delay elapsed or it ended.
   */
  private async untilReady(inst: ServiceInstance): Promise<boolean> {
    if (inst.process === undefined && inst.starting !== undefined && !(await inst.starting))
      return false;
    const alive = () => inst.process !== undefined && inst.process.state !== "exited";
    while (!inst.running && !inst.ready && alive())
      await new Promise<void>((resolve) => inst.readyWaiters.push(resolve));
    if (inst.ready) return true;
    if (!alive()) return false;
    const delay = this.k.answerDelay();
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        inst.readyWaiters = inst.readyWaiters.filter((w) => w !== done);
        resolve(false);
      }, delay);
      const done = () => {
        if (!inst.ready && alive()) {
          inst.readyWaiters.push(done);
          return;
        }
        clearTimeout(t);
        resolve(inst.ready);
      };
      inst.readyWaiters.push(done);
    });
  }

  /** Send SERVICE_CONN_REQUEST and wait for ACCEPT / REJECT, at most the answer delay. */
  private ask(
    inst: ServiceInstance,
    service: KProcess,
    client: KProcess,
    command: number,
  ): Promise<Answer> {
    const delay = this.k.answerDelay();
    const id = this.newId();
    return new Promise((resolve) => {
      const req: PendingRequest = {
        id,
        client,
        instance: inst,
        state: "pending",
        deadline: Date.now() + delay,
        settle: (a) => {
          clearTimeout(timer);
          resolve(a);
        },
      };
      // No answer within the delay: "considered as a rejection" (signals.md SERVICE_CONN_REQUEST).
      const timer = setTimeout(() => {
        if (req.state !== "pending") return;
        req.state = "expired";
        resolve({ kind: "late" });
      }, delay);
      this.requests.set(id, req);
      this.k.signal(service, Sig.SERVICE_CONN_REQUEST, {
        datafield: encodeDatafield(Datafield[Sig.SERVICE_CONN_REQUEST], {
          callee: BigInt(client.pid),
          request: id,
          command,
          answerDelay: Math.min(delay, 0xffff),
        }),
      });
    });
  }

  /** The request `id` as `service` may answer it, or why not (ACCEPT / REJECT's 0x30, 0x40, 0x41). */
  private answerable(service: KProcess, id: bigint): PendingRequest | AnswerFailure {
    const req = this.requests.get(id);
    if (req === undefined || req.instance.process !== service || req.state === "answered")
      return "no-such-request";
    if (req.client.state === "exited") return "requester-ended";
    if (req.state === "expired" || Date.now() > req.deadline) return "too-late";
    return req;
  }

  /** ACCEPT_SERVICE_CONN's kernel half: open the socket, record the connection, answer the client. */
  async accept(
    service: KProcess,
    id: bigint,
  ): Promise<{ ok: true; socket: bigint } | { ok: false; why: AnswerFailure }> {
    const req = this.answerable(service, id);
    if (typeof req === "string") return { ok: false, why: req };
    req.state = "answered";
    const sockets = await this.k.sockets.open(service, req.client, req.id);
    if (typeof sockets === "string") {
      this.k.log(`connection ${id}: no service socket: ${sockets}`);
      req.settle({ kind: "rejected" });
      return { ok: false, why: "requester-ended" };
    }
    if (req.client.state === "exited" || service.state === "exited") {
      const c = this.record(req, service, sockets);
      this.closeBrutally(c, req.client.state === "exited" ? "client-died" : "service-died");
      req.settle({ kind: "service-ended" });
      return { ok: false, why: "requester-ended" };
    }
    const c = this.record(req, service, sockets);
    req.settle({ kind: "accepted", connection: c });
    return { ok: true, socket: sockets.service };
  }

  private record(
    req: PendingRequest,
    service: KProcess,
    sockets: { service: bigint; client: bigint },
  ): Connection {
    const c: Connection = {
      id: req.id,
      client: req.client,
      instance: req.instance,
      service,
      clientSocket: sockets.client,
      serviceSocket: sockets.service,
      state: "open",
      threadAlive: true,
    };
    this.connections.set(c.id, c);
    req.instance.connections.add(c);
    this.requests.delete(req.id);
    return c;
  }

  /** REJECT_SERVICE_CONN. */
  reject(service: KProcess, id: bigint): { ok: true } | { ok: false; why: AnswerFailure } {
    const req = this.answerable(service, id);
    if (typeof req === "string") return { ok: false, why: req };
    req.state = "answered";
    this.requests.delete(id);
    req.settle({ kind: "rejected" });
    return { ok: true };
  }

  /**
   * END_SERVICE_CONN by `client`: the socket closes at once on both sides, the service gets
   * SERVICE_CLIENT_QUITTED (specs/services.md "Closing a connection").
   */
  end(
    client: KProcess,
    id: bigint,
  ): { ok: true } | { ok: false; why: "no-such-connection" | "closed" | "thread-ended" } {
    const c = this.connections.get(id);
    if (c === undefined || c.client !== client) return { ok: false, why: "no-such-connection" };
    if (c.state === "thread-died" || c.state === "service-died")
      return { ok: false, why: "thread-ended" };
    if (c.state !== "open") return { ok: false, why: "closed" };
    c.state = "ended";
    this.k.sockets.close(c, false);
    this.k.signal(c.service, Sig.SERVICE_CLIENT_QUITTED, {
      datafield: encodeDatafield(Datafield[Sig.SERVICE_CLIENT_QUITTED], { connection: c.id }),
      clientThreadOf: c.id,
    });
    this.drop(c);
    return { ok: true };
  }

  /** A connection stops counting for its instance (it stays known: END_SERVICE_CONN answers 0x40/0x41). */
  private drop(c: Connection): void {
    c.instance.connections.delete(c);
    this.idleCheck(c.instance);
  }

  private closeBrutally(c: Connection, why: Exclude<ConnectionState, "open" | "ended">): void {
    if (c.state !== "open") return;
    c.state = why;
    this.k.sockets.close(c, true);
    if (why === "client-died") {
      this.k.signal(c.service, Sig.SERVICE_CLIENT_CLOSED, {
        datafield: encodeDatafield(Datafield[Sig.SERVICE_CLIENT_CLOSED], { connection: c.id }),
        clientThreadOf: c.id,
      });
    } else {
      this.k.signal(c.client, Sig.SERVICE_SERVER_QUITTED, {
        datafield: encodeDatafield(Datafield[Sig.SERVICE_SERVER_QUITTED], { request: c.id }),
      });
    }
    this.drop(c);
  }

  /** The process' `_start` runs: the READY wait's delay starts. */
  processRunning(p: KProcess): void {
    const inst = this.byProcess.get(p.pid);
    if (inst === undefined || inst.running) return;
    inst.running = true;
    for (const w of inst.readyWaiters.splice(0)) w();
  }

  /** The process called READY: the clients waiting for it go on. */
  processReady(p: KProcess): void {
    const inst = this.byProcess.get(p.pid);
    if (inst === undefined || inst.ready) return;
    inst.ready = true;
    for (const w of inst.readyWaiters.splice(0)) w();
  }

  /** The client thread of connection `id` in `service` ended (its runner said so). */
  clientThreadEnded(service: KProcess, id: bigint): void {
    const c = this.connections.get(id);
    if (c === undefined || c.service !== service) return;
    c.threadAlive = false;
    this.closeBrutally(c, "thread-died");
  }

  /**
   * `p` ended: its connections close brutally on whichever side it was, its requests fail. What no
   * live process can ask about any more is forgotten: the connections it was the client of (only a
   * client asks END_SERVICE_CONN), those of a service whose client is gone, the requests sent to it.
   */
  processEnded(p: KProcess): void {
    for (const c of this.connections.values()) {
      if (c.client === p) this.closeBrutally(c, "client-died");
      else if (c.service === p) this.closeBrutally(c, "service-died");
      if (c.client === p || (c.service === p && c.client.state === "exited"))
        this.connections.delete(c.id);
    }
    for (const req of this.requests.values()) {
      if (req.instance.process !== p) continue;
      if (req.state === "pending") {
        req.state = "answered";
        req.settle({ kind: "service-ended" });
      }
      this.requests.delete(req.id);
    }
    const inst = this.byProcess.get(p.pid);
    if (inst !== undefined) {
      this.byProcess.delete(p.pid);
      this.retire(inst);
      for (const w of inst.readyWaiters.splice(0)) w();
    }
  }

  private retire(inst: ServiceInstance): void {
    inst.retired = true;
    if (inst.idleTimer !== undefined) clearTimeout(inst.idleTimer);
    inst.idleTimer = undefined;
    if (this.instances.get(inst.key) === inst) this.instances.delete(inst.key);
  }

  private keep(inst: ServiceInstance): void {
    if (inst.idleTimer !== undefined) clearTimeout(inst.idleTimer);
    inst.idleTimer = undefined;
  }

  /**
   * "Kept while it has clients" (docs/services.md): a service with no connection and no request for
   * the answer delay is asked to terminate (WILL_TERMINATE: killed after the terminate delay).
   */
  private idleCheck(inst: ServiceInstance): void {
    if (inst.retired || inst.connections.size > 0 || inst.pending > 0) return;
    this.keep(inst);
    const timer = setTimeout(() => {
      inst.idleTimer = undefined;
      const p = inst.process;
      if (inst.connections.size > 0 || inst.pending > 0 || p === undefined) return;
      this.retire(inst);
      this.k.log(`service ${inst.app.aid} ${serviceLabel(inst.name)}: no client left, terminating`);
      this.k.signal(p, Sig.WILL_TERMINATE);
    }, this.k.answerDelay());
    timer.unref?.();
    inst.idleTimer = timer;
  }

  /** For `ncw ps`: what `p` serves and its clients, and the services it is a client of. */
  describe(p: KProcess): { service?: string; clients?: number[]; connectedTo?: number[] } {
    const out: { service?: string; clients?: number[]; connectedTo?: number[] } = {};
    const inst = this.byProcess.get(p.pid);
    if (inst !== undefined) {
      out.service = serviceLabel(inst.name);
      out.clients = [...inst.connections].map((c) => c.client.pid);
    }
    const to = this.connectionsOf(p).map((c) => c.service.pid);
    if (to.length > 0) out.connectedTo = to;
    return out;
  }
}
