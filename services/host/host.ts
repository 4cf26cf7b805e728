// The host of the native system services (docs/kernel.md "System services"): registers each at its
// fixed PID, accepts or rejects connections through the service, and runs a call — decode the
// arguments with the method table's layout, check the table's permissions, run the handler, encode
// the answer. An unknown method, bad arguments or a failing handler is an errcode, never a crash.

import { AbiError } from "../../commonassembly/abi/error.js";
import { SystemPid } from "../../commonassembly/abi/numbers.js";
import {
  decodeLayout,
  encodeLayout,
  type Fields,
  type StructureCodecs,
} from "../../commonassembly/abi/services/fields.js";
import {
  type MethodDef,
  ServiceCallErr,
  ServiceErr,
} from "../../commonassembly/abi/services/method.js";
import type { Answer, Caller, NativeService, ProcessEvent } from "./service.js";

/**
 * Whether process `pid` holds `permission` on `scope` (the kernel's permission gate,
 * services/perm/gate.ts: it may ask the user first).
 */
export type PermissionChecker = (
  pid: number,
  permission: string,
  scope?: string,
) => boolean | Promise<boolean>;

/** A call's outcome on the wire: the encoded answer, or an errcode. */
export type CallResult = { ok: true; answer: Uint8Array } | { ok: false; errcode: number };

/** A notification a service sent, encoded, for the connection machinery to deliver. */
export interface OutgoingNotification {
  servicePid: number;
  clientPid: number;
  code: number;
  data: Uint8Array;
  /** Set for a notification that takes an answer (ServiceContext.ask): the answer's bytes. */
  onAnswer?: (body: Uint8Array) => void;
}

export interface ServiceHostOptions {
  checker: PermissionChecker;
  /** The checker's answer without asking (Caller.settled); absent: callers have no `settled`. */
  settle?: (
    pid: number,
    permission: string,
    scope?: string,
  ) => Promise<"granted" | "refused" | "ask">;
  log?: (line: string) => void;
  /** Delivers notifications (the service sockets, with a later issue). */
  deliver?: (n: OutgoingNotification) => void;
  /** Codecs for the structures the tables name (FieldType "structure"). */
  structures?: StructureCodecs;
}

interface Hosted {
  service: NativeService;
  methods: Map<number, MethodDef>;
  clients: Set<number>;
  /** The host's structure codecs and the service's own. */
  structures: StructureCodecs;
}

export class ServiceHost {
  private readonly byPid = new Map<number, Hosted>();
  private readonly log: (line: string) => void;
  private readonly structures: StructureCodecs;

  constructor(private readonly opts: ServiceHostOptions) {
    this.log = opts.log ?? (() => {});
    this.structures = opts.structures ?? {};
  }

  /** Whether a service runs at `pid`. */
  hosts(pid: number): boolean {
    return this.byPid.has(pid);
  }

  register(service: NativeService): void {
    const pid = SystemPid[service.name];
    if (service.pid !== pid)
      throw new Error(`${service.name} runs at PID ${pid}, not ${service.pid}`);
    if (service.def.name !== service.name)
      throw new Error(`${service.name} was given the table of ${service.def.name}`);
    if (this.byPid.has(pid)) throw new Error(`${service.name} is registered already`);
    const methods = new Map<number, MethodDef>();
    for (const m of service.def.methods) {
      if (methods.has(m.code))
        throw new Error(`${service.name}: two methods with code 0x${m.code.toString(16)}`);
      methods.set(m.code, m);
    }
    const hosted: Hosted = {
      service,
      methods,
      clients: new Set(),
      structures: { ...this.structures, ...service.structures },
    };
    this.byPid.set(pid, hosted);
    service.attach?.({
      notify: (clientPid, name, data) => this.notify(hosted, clientPid, name, data),
      ask: (clientPid, name, data, onAnswer) =>
        this.notify(hosted, clientPid, name, data, onAnswer),
      log: (line) => this.log(`${service.name}: ${line}`),
    });
  }

  /** The services registered, by PID. */
  services(): NativeService[] {
    return [...this.byPid.values()].map((h) => h.service);
  }

  private caller(pid: number): Caller {
    const settle = this.opts.settle;
    return {
      pid,
      has: (p, scope) => this.opts.checker(pid, p, scope),
      ...(settle === undefined
        ? {}
        : { settled: (p: string, scope?: string) => settle(pid, p, scope) }),
    };
  }

  private hosted(servicePid: number): Hosted {
    const h = this.byPid.get(servicePid);
    if (h === undefined) throw new Error(`no system service at PID ${servicePid}`);
    return h;
  }

  /** A client asks to connect; true when the service accepts it. A throwing service rejects it. */
  async connect(servicePid: number, clientPid: number): Promise<boolean> {
    const h = this.hosted(servicePid);
    let accepted: boolean;
    try {
      accepted = (await h.service.onConnect?.(this.caller(clientPid))) ?? true;
    } catch (e) {
      this.log(`${h.service.name}: onConnect of PID ${clientPid} failed: ${(e as Error).message}`);
      accepted = false;
    }
    if (accepted) h.clients.add(clientPid);
    return accepted;
  }

  disconnect(servicePid: number, clientPid: number): void {
    const h = this.hosted(servicePid);
    if (h.clients.delete(clientPid))
      this.guard(h, "onDisconnect", () => h.service.onDisconnect?.(clientPid));
  }

  isConnected(servicePid: number, clientPid: number): boolean {
    return this.byPid.get(servicePid)?.clients.has(clientPid) === true;
  }

  /** Run method `code` of service `servicePid` for connected client `clientPid` with `args` bytes. */
  async call(
    servicePid: number,
    clientPid: number,
    code: number,
    args: Uint8Array,
  ): Promise<CallResult> {
    const h = this.hosted(servicePid);
    if (!h.clients.has(clientPid))
      throw new Error(`PID ${clientPid} is not connected to ${h.service.name}`);
    const m = h.methods.get(code);
    if (m === undefined) return { ok: false, errcode: ServiceCallErr.UNKNOWN_METHOD };
    let decoded: Fields;
    try {
      decoded = decodeLayout(m.args, args, `${h.service.name} ${m.name} arguments`, h.structures);
    } catch (e) {
      if (!(e instanceof AbiError)) throw e;
      return { ok: false, errcode: ServiceCallErr.BAD_ARGUMENTS };
    }
    const caller = this.caller(clientPid);
    // A service whose permissions are scoped (sys::fs: by path) checks them itself, with the scope.
    if (h.service.scopedPermissions !== true)
      for (const p of m.permissions.always)
        if (!(await caller.has(p))) return { ok: false, errcode: ServiceErr.PERMISSION };
    let answer: Answer;
    try {
      answer = await h.service.handle(m, decoded, caller);
    } catch (e) {
      this.log(
        `${h.service.name} ${m.name} failed for PID ${clientPid}: ${(e as Error).stack ?? e}`,
      );
      return { ok: false, errcode: ServiceErr.KERNEL };
    }
    if (!answer.ok) return { ok: false, errcode: answer.errcode };
    try {
      return {
        ok: true,
        answer: encodeLayout(
          m.answer,
          answer.value,
          `${h.service.name} ${m.name} answer`,
          h.structures,
        ),
      };
    } catch (e) {
      // The service answered something its table's layout cannot carry: its bug, not the caller's.
      this.log(`${h.service.name} ${m.name} answered a bad value: ${(e as Error).message}`);
      return { ok: false, errcode: ServiceErr.KERNEL };
    }
  }

  private notify(
    h: Hosted,
    clientPid: number,
    name: string,
    data: Fields,
    onAnswer?: (answer: Fields | undefined) => void,
  ): boolean {
    const n = h.service.def.notifications.find((x) => x.name === name);
    if (n === undefined) throw new Error(`${h.service.name} has no notification ${name}`);
    if (onAnswer !== undefined && n.answer === undefined)
      throw new Error(`${h.service.name} ${name} takes no answer`);
    if (!h.clients.has(clientPid)) return false;
    const what = `${h.service.name} ${name}`;
    const bytes = encodeLayout(n.datafield, data, what, h.structures);
    const answer = n.answer;
    this.opts.deliver?.({
      servicePid: h.service.pid,
      clientPid,
      code: n.code,
      data: bytes,
      ...(onAnswer === undefined || answer === undefined
        ? {}
        : {
            onAnswer: (body: Uint8Array) => {
              let fields: Fields | undefined;
              try {
                fields = decodeLayout(answer, body, `${what} answer`, h.structures);
              } catch (e) {
                if (!(e instanceof AbiError)) throw e;
                this.log(
                  `${what}: PID ${clientPid} answered bytes that do not decode: ${e.message}`,
                );
              }
              this.guard(h, `${name} answer`, () => onAnswer(fields));
            },
          }),
    });
    return true;
  }

  /** The kernel started a process: every service hears of it. */
  processStarted(p: ProcessEvent): void {
    for (const h of this.byPid.values())
      this.guard(h, "onProcessStart", () => h.service.onProcessStart?.(p));
  }

  /** A process ended: its connections are dropped, then every service hears of it. */
  processExited(p: ProcessEvent): void {
    for (const h of this.byPid.values()) {
      if (h.clients.delete(p.pid))
        this.guard(h, "onDisconnect", () => h.service.onDisconnect?.(p.pid));
      this.guard(h, "onProcessExit", () => h.service.onProcessExit?.(p));
    }
  }

  /** A lifecycle hook that throws is logged; the host and the other services go on. */
  private guard(h: Hosted, hook: string, fn: () => void): void {
    try {
      fn();
    } catch (e) {
      this.log(`${h.service.name} ${hook} failed: ${(e as Error).message}`);
    }
  }
}
