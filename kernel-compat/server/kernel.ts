// The kernel server's core (DIRECTION.md §2, docs/kernel.md): the runners executing processes (the
// process table is kernel/process.ts), signal sending with the registry's delays, the syscalls runners
// forward (answered by the families' kernel halves, kernel/syscalls.ts), and the CLI sessions.

import { randomInt } from "node:crypto";
import { type Codec, viewOf } from "../../commonassembly/abi/codec.js";
import {
  commandContext,
  encodeExecutionContext,
  StartupBit,
  serviceContext,
} from "../../commonassembly/abi/context.js";
import {
  GenericErr,
  RegistryDefaults,
  Sig,
  SystemPid,
  signalName,
} from "../../commonassembly/abi/numbers.js";
import { PROXY_ANSWERS_COMMAND, PROXY_CALLS_COMMAND } from "../../commonassembly/abi/proxy.js";
import { Datafield, decodeDatafield, encodeDatafield } from "../../commonassembly/abi/signals.js";
import { syscallByCode, syscallName } from "../../commonassembly/abi/syscalls.js";
import { readModule } from "../../commonassembly/wasm/reader.js";
import { hostNative } from "../../native/index.js";
import {
  type AppEntry,
  type InstallDone,
  type Launched,
  SysApp,
} from "../../services/app/service.js";
import { SysCrashSave } from "../../services/crashsave/service.js";
import { SysCrypto } from "../../services/crypto/service.js";
import type { FsLayer } from "../../services/fs/layer.js";
import { MemoryFs } from "../../services/fs/memory.js";
import { mountedFs } from "../../services/fs/mount-view.js";
import type { HostMount } from "../../services/fs/mounts.js";
import type { FsIdentity } from "../../services/fs/service/access.js";
import { type ClientMemory, SysFs } from "../../services/fs/service/sysfs.js";
import { SysFsh } from "../../services/fsh/service.js";
import { ServiceHost } from "../../services/host/host.js";
import { SysHw } from "../../services/hw/service.js";
import { type GateHost, PermissionGate } from "../../services/perm/gate.js";
import { type Grant, parseGrant } from "../../services/perm/policy.js";
import { SysPerm } from "../../services/perm/service.js";
import { volatileKey } from "../../services/perm/store.js";
import { SysProcess } from "../../services/process/service.js";
import { REGISTRY_KEYS } from "../../services/registry/keys.js";
import { Registry } from "../../services/registry/registry.js";
import { appDirName, DEFAULT_USER } from "../../services/skyer/layout.js";
import { type SessionTerminal, SysHydre } from "../../services/syshydre/service.js";
import { AmsTable } from "../kernel/ams.js";
import type { AmsBackedRequest, AmsMapAnswer, AmsMapRequest, KernelApi } from "../kernel/api.js";
import {
  COMMAND_PIPES,
  type CommandPipeName,
  type CommandPipeSet,
  commandPipeMappings,
} from "../kernel/command-pipes.js";
import { ServiceConnectionSockets } from "../kernel/connection-sockets.js";
import { type KPipe, type PipeEnd, PipeTable } from "../kernel/pipes.js";
import { type KProcess, ProcessTable, type SessionSink } from "../kernel/process.js";
import { endProxyLink, type ProxyLinkSet, proxyLinkRef } from "../kernel/proxy-link.js";
import { type KSegment, SegmentTable } from "../kernel/segments.js";
import { type ServiceApp, type ServiceName, serviceLabel } from "../kernel/service-names.js";
import { type ConnectionSockets, ServiceTable } from "../kernel/services.js";
import { type SocketEnd, SocketTable } from "../kernel/sockets.js";
import { KERNEL_HALVES, kernelHandler } from "../kernel/syscalls.js";
import { SystemConnections } from "../kernel/system-connections.js";
import {
  type ForkImage,
  type FromRunner,
  forkMemoryLength,
  type HostInputRef,
  type Outcome,
  type ProcessInfo,
  type RunnerAnswer,
  type ToRunner,
} from "../protocol.js";
import type { SocketFastGrant } from "../runner/sockets.js";
import { amsProcessEnded } from "../syscalls/ams.js";
import { decodeArgs, formatErr, formatValue } from "../syscalls/dispatch.js";
import { notifyClosed, recvPipe } from "../syscalls/pipes.js";
import { closeSocketsOf } from "../syscalls/sockets.js";
import type { RunnerPool } from "./pool.js";

export type { KProcess, SessionSink } from "../kernel/process.js";

/**
 * A datafield another subsystem wrote (RECV_PIPE, RECV_SOCK_MSG, …), decoded for the trace: ` {…}`, or
 * nothing for a signal whose datafield the kernel fills itself or has no fields.
 */
function traced(signal: number, opts: { datafield?: Uint8Array }): string {
  const codec = (Datafield as Record<number, Codec<unknown> | undefined>)[signal];
  if (opts.datafield === undefined || codec === undefined || codec.size === 0) return "";
  return ` ${formatValue(decodeDatafield(codec, opts.datafield))}`;
}

/**
 * NCW_GRANT_PERMISSIONS: permissions granted up front to every process of the kernel (tests and
 * operators, docs/permissions.md "Up front"); a name that is not a permission is logged and skipped.
 */
function upfrontGrants(env: NodeJS.ProcessEnv, log: (line: string) => void): Grant[] {
  const out: Grant[] = [];
  for (const word of (env.NCW_GRANT_PERMISSIONS ?? "").split(",")) {
    if (word.trim() === "") continue;
    const g = parseGrant(word.trim());
    if ("error" in g) log(`NCW_GRANT_PERMISSIONS: ${g.error}; skipped`);
    else out.push(g);
  }
  return out;
}

/** Processes run at full speed unless asked otherwise: the host's scheduler already shares the CPUs. */
export const DEFAULT_PRIORITY = 10;

/**
 * Where the kernel finds installed apps for their services (main.ts asks Skyer's query API and the AOT
 * cache; unit tests give none: every ANID is unknown).
 */
export interface ServiceApps {
  find(anid: number, user: string): Promise<ServiceApp | undefined>;
  /** The app's program, AOT-compiled, as `ncw run <AID>` would run it for `user`. */
  load(app: ServiceApp, user: string): Promise<{ name: string; wasm: Uint8Array }>;
  /** Every application `user` sees, by AID (Skyer's query API): what sys::app lists. */
  installed(user: string): Promise<AppEntry[]>;
  /**
   * `ncw skyer install` of a package's bytes for `user`, on the kernel's tree (server/app-manager.ts;
   * sys::app INSTALL_APP); throws Skyer's NcwError. Absent: this kernel installs nothing.
   */
  install?(user: string, name: string, bytes: Uint8Array): Promise<InstallDone>;
  /** `ncw skyer uninstall <aid>` for `user` (sys::app UNINSTALL_APP); throws Skyer's NcwError. */
  uninstall?(user: string, aid: string): Promise<{ events: string[] }>;
}

/** system.crash_saves.collect_every in ms (its type, tmin(s,1s), keeps it at 1 s or more). */
async function collectEveryMs(layer: FsLayer): Promise<number> {
  return (await Registry.open(layer)).getMs("system.crash_saves.collect_every");
}

/** system.crash_saves.collect_if_previous_unanswered (bool, default false). */
async function collectIfUnanswered(layer: FsLayer): Promise<boolean> {
  const v: boolean = (await Registry.open(layer)).get(
    "system.crash_saves.collect_if_previous_unanswered",
  );
  return v;
}

/** The home's tree as sys::fs needs it (server/tree.ts TreeOwner has it; unit tests give none). */
export interface KernelTree {
  /** The tree, opened on the first call. */
  tree(): Promise<FsLayer>;
  /** Run `fn` as one step of the tree requests' queue (no CLI request between a change and its commit). */
  serialize<R>(fn: () => Promise<R>): Promise<R>;
  /** The home's host mounts, read once when the kernel starts (docs/sysfs.md "Host mounts"). */
  mounts?(): HostMount[];
}

export interface Delays {
  suspend: number;
  terminate: number;
  /** system.processes.service_answer_delay (docs/services.md). */
  serviceAnswer: number;
}

/**
 * The home's resource limits (NCW's registry keys system.processes.max_processes / max_memory,
 * docs/kernel.md "Limits"): live processes, and the sum of their NightOS (WebAssembly) memories.
 */
export interface Limits {
  processes: number;
  memoryBytes: number;
  /** Threads of one process at once, its main thread included (counted in its runner). */
  threadsPerProcess: number;
}

export const DEFAULT_LIMITS: Limits = {
  processes: REGISTRY_KEYS["system.processes.max_processes"].default,
  memoryBytes: REGISTRY_KEYS["system.processes.max_memory"].default * 1024 * 1024,
  threadsPerProcess: REGISTRY_KEYS["system.processes.max_threads"].default,
};

/**
 * The system.processes.* delays: the registry's values (`stored`, read by registry-delays.ts), else the
 * spec's defaults; NCW_SUSPEND_DELAY_MS / NCW_TERMINATE_DELAY_MS / NCW_SERVICE_ANSWER_DELAY_MS override
 * both (tests).
 */
export function readDelays(env: NodeJS.ProcessEnv = process.env, stored?: Delays): Delays {
  const pick = (name: string, dflt: number) => {
    const v = env[name];
    const n = v === undefined ? Number.NaN : Number(v);
    return Number.isInteger(n) && n >= 0 && n <= 65535 ? n : dflt;
  };
  return {
    suspend: pick(
      "NCW_SUSPEND_DELAY_MS",
      stored?.suspend ?? RegistryDefaults["system.processes.suspend_delay"],
    ),
    terminate: pick(
      "NCW_TERMINATE_DELAY_MS",
      stored?.terminate ?? RegistryDefaults["system.processes.terminate_delay"],
    ),
    serviceAnswer: pick(
      "NCW_SERVICE_ANSWER_DELAY_MS",
      stored?.serviceAnswer ?? RegistryDefaults["system.processes.service_answer_delay"],
    ),
  };
}

export class Kernel implements KernelApi {
  readonly processes = new ProcessTable();
  /** Host shared-memory segments, each released when the process it was made for exits. */
  readonly segments = new SegmentTable(hostNative());
  /** Pipes (kernel/pipes.ts): their rings live in segments of the table above. */
  readonly pipes = new PipeTable(this.segments, hostNative());
  /** Service sockets (kernel/sockets.ts): two rings each, in segments of the table above. */
  readonly sockets = new SocketTable(this.segments, hostNative());
  /** Abstract memory segments (kernel/ams.ts), each in a segment of the table above. */
  readonly ams = new AmsTable(this.segments);
  private nextRequest = 1;
  /** A fork child's memory image (a segment of `segments`) until its runner has copied it: pid → id. */
  private readonly forkImages = new Map<number, number>();
  /** Refreshed from the registry at each `run` (main.ts). */
  delays: Delays;
  limits: Limits = { ...DEFAULT_LIMITS };
  /** system.debugging.dev_mode (the spec's default: on), refreshed with the delays. */
  devMode = true;
  /** Called whenever the number of live processes may have dropped (idle detection). */
  onChange: () => void = () => {};

  /**
   * The native system services, hosted here at their fixed PIDs (docs/kernel.md "System services"); a
   * method's permissions are checked by the gate (`perm`).
   */
  readonly services: ServiceHost;
  /** sys::fs, when this kernel owns a tree: other system services make temporary FEIDs with it. */
  readonly sysfs: SysFs | undefined;
  private readonly sysHydre: SysHydre;

  /** sys::crashsave, when this kernel owns the home's tree (docs/crash-saves.md). */
  readonly crashSaves: SysCrashSave | undefined;

  /**
   * Before an app's process starts for `user`: when its manifest declares crash-save support, its awake
   * indicator, and whether it starts after a crash; `started` then names its PID to sys::crashsave.
   */
  async crashSaveStart(
    anid: number,
    user: string,
  ): Promise<{ afterCrash: boolean; started: (pid: number) => void }> {
    const cs = this.crashSaves;
    const none = { afterCrash: false, started: () => {} };
    if (cs === undefined) return none;
    const app = await this.findApp(anid, user);
    if (app?.crashSaves !== true) return none;
    const dir = appDirName(app.aid);
    try {
      const afterCrash = await cs.starting(user, dir);
      return { afterCrash, started: (pid) => cs.started(pid, user, dir, afterCrash) };
    } catch (e) {
      this.log(`crash saves of ${app.aid} unavailable: ${(e as Error).message}`);
      return none;
    }
  }

  /** Installed apps, for their services (set by main.ts). */
  serviceApps: ServiceApps | undefined;
  /** Where every permission check is decided (services/perm/gate.ts). */
  readonly perm: PermissionGate;
  /** The connections' service sockets (docs/services.md). */
  readonly connectionSockets: ConnectionSockets = new ServiceConnectionSockets(this);
  /** The application services (kernel/services.ts). */
  readonly appServices: ServiceTable;
  /** The connections to the system services above (kernel/system-connections.ts). */
  readonly systemConnections: SystemConnections;

  constructor(
    readonly pool: RunnerPool,
    readonly log: (line: string) => void,
    env: NodeJS.ProcessEnv = process.env,
    tree?: KernelTree,
  ) {
    this.delays = readDelays(env);
    // Every permission check goes through the gate (docs/permissions.md); NCW_GRANT_PERMISSIONS
    // (comma-separated `perm` or `perm=scope`) grants up front to every process of this kernel.
    this.perm = new PermissionGate(this.gateHost(tree), upfrontGrants(env, log));
    this.services = new ServiceHost({
      checker: (pid, perm, scope) => this.perm.check(pid, perm, scope),
      // Without asking: sys::fs asks the user only after letting the tree's queue go (docs/permissions.md).
      settle: (pid, perm, scope) => this.perm.settle(pid, perm, scope),
      log,
      // Notifications travel on the clients' connections (set below, before any client connects).
      deliver: (n) => this.systemConnections.notify(n),
    });
    this.services.register(new SysPerm(this.perm));
    // sys::process: the process table `ncw ps` prints, and the kernel's own suspension, signals and
    // priorities for MANAGE_PROCESS / SET_PRIORITY (docs/services.md "sys::process").
    const live = (pid: number, fn: (p: KProcess) => void) => {
      const p = this.processes.get(pid);
      if (p !== undefined && p.state !== "exited") fn(p);
    };
    this.services.register(
      new SysProcess(() => this.processList(), {
        signal: (pid, signal) => live(pid, (p) => this.signal(p, signal)),
        unsuspend: (pid) => live(pid, (p) => void this.unsuspend(p)),
        setPriority: (pid, priority) => live(pid, (p) => this.setPriority(p, priority)),
      }),
    );
    // sys::app: Skyer's installed apps for the caller's user, the running ones from the process table;
    // installs and uninstalls through Skyer (serviceApps), the user's consent from the gate, the package
    // read with sys::fs' rules, launches as `ncw run <AID>` (docs/services.md "sys::app").
    const sysapp = new SysApp({
      identity: (pid) => {
        const p = this.processes.get(pid);
        return p === undefined ? undefined : { user: p.userName, anid: p.anid };
      },
      installed: async (user) => (await this.serviceApps?.installed(user)) ?? [],
      runningAnids: (user) =>
        this.live()
          .filter((p) => p.userName === user)
          .map((p) => p.anid),
      manager: {
        readPackage: async (caller, path) => {
          if (this.sysfs === undefined) return { ok: false, why: "not-found" };
          return this.sysfs.readFor(caller, path);
        },
        consent: (pid, permission, detail) =>
          this.perm.check(pid, permission, undefined, true, detail),
        install: (user, name, bytes) => {
          const install = this.serviceApps?.install;
          if (install === undefined) throw new Error("this kernel installs no applications");
          return install(user, name, bytes);
        },
        uninstall: (user, aid) => {
          const uninstall = this.serviceApps?.uninstall;
          if (uninstall === undefined) throw new Error("this kernel uninstalls no applications");
          return uninstall(user, aid);
        },
        launch: (pid, app, args) => this.launchApp(pid, app, args),
        tell: (pid, line) => {
          const p = this.processes.get(pid);
          if (p !== undefined) this.refusedLine(p, line);
        },
      },
    });
    this.services.register(sysapp);
    // sys::hw: no device is NCW's to drive; each method answers the page's errcode (docs/services.md).
    this.services.register(
      new SysHw((pid) => {
        const p = this.processes.get(pid);
        return p !== undefined && this.appServices.describe(p).service !== undefined;
      }),
    );
    // sys::crypto: the host's CSPRNG into the caller's memory (docs/services.md "sys::crypto").
    this.services.register(new SysCrypto(this.clientMemory));
    // sys::hydre: the caller's CLI session (its Hydre session, its terminal's size) as the run request
    // and the CLI's `window-size` messages say (docs/services.md "sys::hydre (PID 17)").
    this.sysHydre = new SysHydre((pid) => {
      const p = this.processes.get(pid);
      return p === undefined || p.state === "exited" ? undefined : p.session?.terminal;
    });
    this.services.register(this.sysHydre);
    // sys::fs on the home's tree, when this kernel owns one (docs/sysfs.md "How an app reaches it"),
    // and sys::crashsave beside it, on its temporary FEIDs (docs/crash-saves.md).
    const sysfs =
      tree === undefined
        ? undefined
        : new SysFs({
            layer: () => tree.tree(),
            serialize: (fn) => tree.serialize(fn),
            identity: (pid) => this.fsIdentity(pid),
            memory: this.clientMemory,
            commitWindowMs: fsCommitWindowMs(env),
            mounts: mountedFs(tree.mounts?.() ?? []),
          });
    this.sysfs = sysfs;
    if (tree !== undefined && sysfs !== undefined) {
      this.services.register(sysfs);
      const crashSaves = new SysCrashSave({
        layer: () => tree.tree(),
        serialize: (fn) => tree.serialize(fn),
        identity: (pid) => this.fsIdentity(pid),
        feids: sysfs,
        connected: (pid) => {
          const p = this.processes.get(pid);
          return p !== undefined && this.systemConnections.servicesOf(p).includes(crashSaves.pid);
        },
        collectEveryMs: () => tree.serialize(async () => collectEveryMs(await tree.tree())),
        collectIfUnanswered: () =>
          tree.serialize(async () => collectIfUnanswered(await tree.tree())),
      });
      this.crashSaves = crashSaves;
      this.services.register(crashSaves);
      // sys::fsh: the file openers and the image caches, in /etc/sys/fsh (docs/services.md "sys::fsh").
      const appOf = async (pid: number) => {
        const p = this.processes.get(pid);
        if (p === undefined || p.anid === 0) return undefined;
        const app = await this.findApp(p.anid, p.userName);
        return app === undefined
          ? undefined
          : { anid: app.anid, integration: app.integration ?? [] };
      };
      this.services.register(
        new SysFsh({
          layer: () => tree.tree(),
          serialize: (fn) => tree.serialize(fn),
          user: (pid) => this.processes.get(pid)?.userName,
          app: appOf,
          installed: async (anid, user) => (await this.findApp(anid, user)) !== undefined,
          items: sysfs,
          feids: sysfs,
        }),
      );
    }
    this.appServices = new ServiceTable({
      findApp: (anid, user) => this.findApp(anid, user),
      startService: (app, name, user, starter) => this.startService(app, name, user, starter),
      signal: (p, signal, opts) => this.signal(p, signal, opts),
      answerDelay: () => this.delays.serviceAnswer,
      log,
      sockets: this.connectionSockets,
    });
    this.systemConnections = new SystemConnections(this, this.services);
  }

  /** What the permission gate needs of the kernel: its processes, their apps, the tree. */
  private gateHost(tree: KernelTree | undefined): GateHost {
    const memory = tree === undefined ? new MemoryFs() : undefined;
    const appKeys = new WeakMap<KProcess, Promise<string>>();
    return {
      process: (pid) => {
        const p = this.processes.get(pid);
        if (p === undefined || p.state === "exited") return undefined;
        const s = p.session;
        return {
          pid: p.pid,
          ppid: p.ppid,
          name: p.name,
          userName: p.userName,
          system: false,
          session:
            s === undefined
              ? undefined
              : {
                  canAsk: () => s.canAsk?.() === true,
                  ask: (text, choices, fallback) =>
                    s.ask?.(text, choices, fallback) ?? Promise.resolve("deny"),
                },
        };
      },
      appKey: (gp) => {
        const p = this.processes.get(gp.pid);
        if (p === undefined) return Promise.resolve("hash:unknown");
        let key = appKeys.get(p);
        if (key === undefined) {
          key = this.findApp(p.anid, p.userName).then((app) => app?.aid ?? volatileKey(p.wasm));
          appKeys.set(p, key);
        }
        return key;
      },
      // A kernel without a tree (unit tests) keeps its grants in memory.
      tree: () => tree?.tree() ?? Promise.resolve(memory as MemoryFs),
      serialize: (fn) => tree?.serialize(fn) ?? fn(),
      tell: (gp, line) => {
        const p = this.processes.get(gp.pid);
        if (p !== undefined) this.refusedLine(p, line);
      },
      log: this.log,
    };
  }

  /**
   * A client's memory for the system services (sys::fs READ_FILE / WRITE_FILE's buffer pointers): its
   * runner reads or writes the range while the client waits for the answer (protocol.ts `memory-*`).
   */
  private readonly clientMemory: ClientMemory = {
    read: async (pid, address, length) => {
      const p = this.memoryOwner(pid, address, length);
      if (p === undefined) return undefined;
      const a = await this.ask(p, { t: "memory-read", address: Number(address), length });
      return a.ok ? a.bytes : undefined;
    },
    write: async (pid, address, bytes) => {
      const p = this.memoryOwner(pid, address, bytes.length);
      if (p === undefined) return false;
      return (await this.ask(p, { t: "memory-write", address: Number(address), bytes })).ok;
    },
  };

  /** The live process `pid`, when `length` bytes at `address` can be in a 32-bit memory. */
  private memoryOwner(pid: number, address: bigint, length: number): KProcess | undefined {
    const p = this.processes.get(pid);
    if (p === undefined || p.state === "exited" || address + BigInt(length) > 1n << 32n)
      return undefined;
    return p;
  }

  /** Each process' sys::fs identity, found once (its user and ANID never change). */
  private readonly identities = new WeakMap<KProcess, Promise<FsIdentity | undefined>>();

  /**
   * Who process `pid` is for sys::fs: its NightOS user and, for an installed app, its folder name
   * (`<did>.<slug>`, from its ANID in Skyer's database). A loose program (`ncw run x.wasm`, ANID 0) has
   * no app, hence no data area. Undefined for a PID that is not a live process.
   */
  private fsIdentity(pid: number): Promise<FsIdentity | undefined> | undefined {
    const p = this.processes.get(pid);
    if (p === undefined || p.state === "exited") return undefined;
    let who = this.identities.get(p);
    if (who === undefined) {
      who = (async () => {
        const app = p.anid === 0 ? undefined : await this.findApp(p.anid, p.userName);
        return {
          user: p.userName,
          ...(app === undefined ? {} : { app: appDirName(app.aid) }),
          ...(p.sandbox === undefined ? {} : { sandbox: p.sandbox }),
        };
      })();
      this.identities.set(p, who);
    }
    return who;
  }

  /** The installed app with `anid` for `user`; undefined too when the tree cannot say (logged). */
  async findApp(anid: number, user: string): Promise<ServiceApp | undefined> {
    if (this.serviceApps === undefined || anid === 0) return undefined;
    try {
      return await this.serviceApps.find(anid, user);
    } catch (e) {
      this.log(`no service app for ANID ${anid} (user ${user}): ${(e as Error).message}`);
      return undefined;
    }
  }

  /**
   * sys::app LAUNCH_APP: the installed app `app` started as `ncw run <AID> args…` starts it (a command
   * context with string arguments, its caller's ANID in it, no command pipes), for the caller's user,
   * as the caller's child in the caller's session, and a run of its own for the permission gate
   * (docs/services.md "sys::app").
   */
  async launchApp(callerPid: number, app: AppEntry, args: readonly string[]): Promise<Launched> {
    const caller = this.processes.get(callerPid);
    if (caller === undefined || caller.state === "exited")
      return { ok: false, why: "failed", message: `no process ${callerPid}` };
    const user = caller.userName;
    const found = await this.findApp(app.anid, user);
    if (found === undefined || this.serviceApps === undefined)
      return { ok: false, why: "failed", message: `${app.aid} is not installed for ${user}` };
    let program: { name: string; wasm: Uint8Array };
    try {
      program = await this.serviceApps.load(found, user);
    } catch (e) {
      const code = (e as { code?: string }).code;
      return {
        ok: false,
        why: code === "RUN_NO_PRECOMP" ? "not-runnable" : "failed",
        message: `${code ?? "error"}: ${(e as Error).message}`,
      };
    }
    if ((caller.state as string) === "exited")
      return { ok: false, why: "failed", message: "the caller ended" };
    const memoryBytes = this.initialMemory(program.wasm);
    const refused = this.admit(memoryBytes);
    if (refused !== undefined) return { ok: false, why: "limit", message: refused };
    const crash = await this.crashSaveStart(found.anid, user);
    const context = encodeExecutionContext(
      commandContext({
        anid: found.anid,
        callerAnid: caller.anid,
        args: args.map((value) => ({ type: "string" as const, value })),
        rawOutputRead: false,
      }),
    );
    if (crash.afterCrash) context[0]! |= StartupBit.AFTER_CRASH;
    const p = this.spawn({
      name: program.name,
      wasm: program.wasm,
      context,
      anid: found.anid,
      ppid: caller.pid,
      trace: caller.trace,
      session: caller.session,
      priority: caller.priority,
      memoryBytes,
      userName: user,
    });
    this.perm.startRun(p.pid, [], []);
    crash.started(p.pid);
    return { ok: true, pid: p.pid };
  }

  /** Start `app` as service `name` for `user` (startup reason: service), on `starter`'s terminal. */
  private async startService(
    app: ServiceApp,
    name: ServiceName,
    user: string,
    starter: KProcess,
  ): Promise<KProcess> {
    if (this.serviceApps === undefined) throw new Error("this kernel knows no installed apps");
    const program = await this.serviceApps.load(app, user);
    const memoryBytes = this.initialMemory(program.wasm);
    const refused = this.admit(memoryBytes);
    if (refused !== undefined) {
      this.refusedLine(starter, `service ${app.aid} not started: ${refused}`);
      throw new Error(refused);
    }
    const context = encodeExecutionContext(
      serviceContext({ anid: app.anid, serviceType: name.type, scopeName: name.scope }),
    );
    return this.spawn({
      name: `${program.name} (${serviceLabel(name)})`,
      wasm: program.wasm,
      context,
      anid: app.anid,
      ppid: 0,
      trace: starter.trace,
      session: starter.session,
      userName: user,
      detached: true,
      memoryBytes,
    });
  }

  /** Every process the kernel knows of, the system services first (`ncw ps --all`, sys::process). */
  /** A CLI session's terminal changed size: sys::hydre tells the processes that watch it. */
  windowResized(session: SessionTerminal): void {
    this.sysHydre.resized(session);
  }

  processList(): ProcessInfo[] {
    return [...this.systemServices(), ...this.live().map((p) => this.info(p))];
  }

  /** The system services' fixed PIDs (specs/services/system/README.md); NCW implements them natively. */
  systemServices(): ProcessInfo[] {
    return Object.entries(SystemPid).map(([name, pid]) => ({
      pid,
      ppid: 0,
      name,
      kind: "system" as const,
      // A service the kernel hosts runs (inside the kernel's host process); the others keep their PID.
      state: this.services.hosts(pid) ? ("running" as const) : ("reserved" as const),
      user: 0,
      anid: 0,
      priority: 10,
      hostPid: this.services.hosts(pid) ? process.pid : undefined,
      startedAt: 0,
    }));
  }

  live(): KProcess[] {
    return this.processes.live();
  }

  /** The NightOS memory of the home's live processes, in bytes. */
  memoryInUse(): number {
    let n = 0;
    for (const p of this.live()) n += p.memoryBytes;
    return n;
  }

  /** A new process' initial memory: its module's memory minimum (defined or imported). */
  initialMemory(wasm: Uint8Array): number {
    try {
      const m = readModule(wasm);
      const imported = m.imports.find((i) => i.kind === "memory");
      const min = imported?.kind === "memory" ? imported.memory.min : (m.memories[0]?.min ?? 0);
      return min * 65536;
    } catch {
      return 0; // the runner reports an unusable module itself
    }
  }

  /** Why a new process with `memoryBytes` of memory cannot start now (the home's limits), or undefined. */
  admit(memoryBytes: number): string | undefined {
    const live = this.live().length;
    // 0 disables a limit, as the spec's freeze_prevention keys do ("0 = disabled", specs/registry.md).
    if (this.limits.processes > 0 && live >= this.limits.processes)
      return `${live} NightOS processes are running in this NCW home, the limit (registry system.processes.max_processes) is ${this.limits.processes}`;
    return this.memoryRefusal(memoryBytes);
  }

  /** Why `more` bytes of NightOS memory do not fit in the home's limit, or undefined. */
  private memoryRefusal(more: number): string | undefined {
    const used = this.memoryInUse();
    if (this.limits.memoryBytes === 0 || used + more <= this.limits.memoryBytes) return undefined;
    const mib = (n: number) => `${(n / 1048576).toFixed(1)} MiB`;
    return `${mib(more)} more NightOS memory would exceed this NCW home's limit (registry system.processes.max_memory) of ${mib(this.limits.memoryBytes)}: ${mib(used)} in use`;
  }

  /**
   * MEM_ALLOC is about to grow `p`'s memory by `bytes`: count them, or refuse (the kernel log and the
   * process' terminal say why). The runner asks through its mailbox (syscalls/memory.ts).
   */
  reserveMemory(p: KProcess, bytes: number): boolean {
    const refused = this.memoryRefusal(bytes);
    if (refused !== undefined) {
      this.refusedLine(p, `MEM_ALLOC refused: ${refused}`);
      return false;
    }
    p.memoryBytes += bytes;
    return true;
  }

  /** A limit refused something to `p`: tell its terminal (always, not only with --trace) and the log. */
  refusedLine(p: KProcess, line: string): void {
    this.log(`process ${p.pid} (${p.name}): ${line}`);
    p.session?.trace(p.pid, line);
  }

  info(p: KProcess): ProcessInfo {
    return {
      pid: p.pid,
      ppid: p.ppid,
      name: p.name,
      kind: "app",
      state: p.state,
      user: p.user,
      anid: p.anid,
      priority: p.state === "suspended" ? 0 : p.priority,
      hostPid: p.runner?.pid,
      startedAt: p.startedAt,
      ...this.servicesDescribed(p),
    };
  }

  /** `ncw ps`'s services of `p`: the app services' table, and the system services it is connected to. */
  private servicesDescribed(p: KProcess): ReturnType<ServiceTable["describe"]> {
    const d = this.appServices.describe(p);
    const system = this.systemConnections.servicesOf(p);
    if (system.length > 0) d.connectedTo = [...system, ...(d.connectedTo ?? [])];
    return d;
  }

  /** Start a process on a warm runner. */
  spawn(opts: {
    name: string;
    wasm: Uint8Array;
    context: Uint8Array;
    anid: number;
    ppid: number;
    trace: boolean;
    session: SessionSink | undefined;
    fork?: ForkImage;
    priority?: number;
    /** Its initial memory if the caller computed it already (admit()). */
    memoryBytes?: number;
    /** The NightOS user it runs for (DEFAULT_USER when the caller names none). */
    userName?: string;
    /** A service started on demand: it outlives its session (KProcess.detached). */
    detached?: boolean;
    /** A sandboxed run's snapshot (KProcess.sandbox). */
    sandbox?: string;
    /** A command run's pipes (created for `processes.nextPid()`): granted before it starts. */
    commandPipes?: CommandPipeSet;
    /** Its link to its application proxy (made for `processes.nextPid()`, kernel/proxy-link.ts). */
    proxyLink?: ProxyLinkSet;
  }): KProcess {
    const pid = this.processes.nextPid();
    // The same bytes as the module the idle runners compiled ahead: that very array (pool.canonical).
    const wasm = this.pool.canonical(opts.wasm);
    const runner = this.pool.take(wasm);
    // A memory image in the parent's segment: map it here (no copy) and hand the child this mapping,
    // so the parent's runner may drop its own as soon as the call returns (released below at "running").
    let fork = opts.fork;
    if (fork?.memorySegment !== undefined) {
      const { name, length } = fork.memorySegment;
      let seg: KSegment;
      try {
        seg = this.segments.adopt(pid, hostNative().openSegment(name, length));
      } catch (e) {
        runner.child.kill("SIGKILL");
        throw e;
      }
      this.forkImages.set(pid, seg.id);
      fork = { ...fork, memorySegment: { name: seg.name, length } };
    }
    const p: KProcess = {
      pid,
      ppid: opts.ppid,
      name: opts.name,
      anid: opts.anid,
      user: 1,
      userName: opts.userName ?? DEFAULT_USER,
      detached: opts.detached ?? false,
      ...(opts.sandbox === undefined ? {} : { sandbox: opts.sandbox }),
      state: "starting",
      startedAt: Date.now(),
      runner: runner.child,
      ...(runner.door === undefined ? {} : { door: runner.door }),
      session: opts.session,
      trace: opts.trace,
      wasm,
      context: opts.context,
      children: new Set(),
      handled: new Set(),
      waiters: [],
      outcome: undefined,
      suspendedAt: undefined,
      selfSuspendReply: undefined,
      timers: new Set(),
      spawnedAt: performance.now(),
      priority: opts.priority ?? DEFAULT_PRIORITY,
      memoryBytes: fork ? forkMemoryLength(fork) : (opts.memoryBytes ?? this.initialMemory(wasm)),
      traceUnacked: 0,
      requests: new Map(),
      ...(opts.commandPipes ? { commandPipes: opts.commandPipes } : {}),
      ...(opts.proxyLink ? { proxyLink: opts.proxyLink } : {}),
    };
    if (opts.commandPipes !== undefined && opts.commandPipes.pid !== pid)
      throw new Error(`command pipes made for ${opts.commandPipes.pid}, not ${pid}`);
    this.processes.add(p);
    if (opts.commandPipes)
      opts.session?.commandPipes(
        pid,
        commandPipeMappings(opts.commandPipes),
        opts.commandPipes.hostInput !== undefined
          ? "runner"
          : opts.commandPipes.cmdinPiped
            ? "piped"
            : undefined,
      );
    this.services.processStarted({ pid, ppid: p.ppid, name: p.name });
    this.pool.prepare(wasm);
    const child = runner.child;
    child.on("message", (m: FromRunner) => this.fromRunner(p, m));
    // "close", not "exit": Node may emit a child's last IPC messages after its "exit" event; "close"
    // comes once the channel is closed too, so every message the runner sent has been handled by then.
    child.on("close", (code, signal) => {
      this.pool.launched(child);
      if (p.state !== "exited") {
        this.finish(p, {
          kind: "killed",
          reason: `runner host process died (${signal ?? `exit code ${code}`})`,
        });
      }
    });
    runner.ready.then(
      () => {
        if (p.state === "exited") return;
        // A process suspended before its runner was ready stays suspended (the runner got "suspend" first).
        if (p.state === "starting") p.state = "running";
        // The command pipes' ends are in the runner's table before `start` (same channel, in order):
        // the app may write to CMDMSG as its first act.
        const cmd = p.commandPipes;
        if (cmd !== undefined)
          for (const d of COMMAND_PIPES)
            void this.grantPipe(
              p,
              cmd.app[d.name].id,
              cmd.app[d.name].end,
              d.name === "cmdin" ? cmd.hostInput : undefined,
            );
        // A runner that compiled this module ahead has it: a large module is not sent again.
        const ahead = runner.prepared === p.wasm && p.wasm.length > 0;
        this.toRunner(p, {
          t: "start",
          pid,
          ppid: p.ppid,
          wasm: ahead ? new Uint8Array(0) : p.wasm,
          ...(ahead ? { ahead } : {}),
          context: p.context,
          trace: p.trace,
          delays: this.delays,
          maxThreads: this.limits.threadsPerProcess,
          priority: Math.max(1, p.priority),
          ...(fork ? { fork } : {}),
          ...(p.proxyLink ? { proxy: proxyLinkRef(p.proxyLink) } : {}),
        });
        if (p.proxyLink) void this.handProxyEnds(p, p.proxyLink);
        p.session?.started(pid, child.pid ?? 0, p.name);
        if (p.priority === 0) this.suspend(p);
      },
      (e: Error) =>
        this.finish(p, { kind: "killed", reason: `could not start a runner: ${e.message}` }),
    );
    return p;
  }

  /** CREATE_PROCESS: `parent`'s fork child, in its session, from the image its runner sent. */
  spawnFork(parent: KProcess, fork: ForkImage): KProcess {
    return this.spawn({
      name: parent.name,
      wasm: parent.wasm,
      context: parent.context,
      anid: parent.anid,
      ppid: parent.pid,
      trace: parent.trace,
      session: parent.session,
      fork,
      priority: parent.priority,
      userName: parent.userName,
      // A sandboxed process' children see its sandbox too.
      ...(parent.sandbox === undefined ? {} : { sandbox: parent.sandbox }),
    });
  }

  /**
   * Messages for each runner, written once the work of this turn of the event loop is done: a
   * sys::fs call answered without waiting for anything (its SEND_SOCK_MSG's reply, then its answer's
   * RECV_SOCK_MSG) costs the runner one message, one wake-up, not two. In order, per runner.
   */
  private readonly outboxes = new Map<KProcess, ToRunner[]>();

  toRunner(p: KProcess, m: ToRunner): void {
    if (!p.runner?.connected) return;
    const queued = this.outboxes.get(p);
    if (queued !== undefined) {
      queued.push(m);
      return;
    }
    this.outboxes.set(p, [m]);
    if (this.outboxes.size === 1) setImmediate(() => this.flushRunners());
  }

  private flushRunners(): void {
    const all = [...this.outboxes];
    this.outboxes.clear();
    for (const [p, ms] of all)
      if (p.runner?.connected) p.runner.send(ms.length === 1 ? ms[0]! : { t: "batch", m: ms });
  }

  private fromRunner(p: KProcess, m: FromRunner): void {
    // Nothing follows a process' end on its session (a killed runner may still have messages queued).
    if (p.state === "exited") return;
    switch (m.t) {
      case "ready":
        // A runner taken from the pool before it was ready names its door now.
        if (m.door !== undefined) p.door = m.door;
        return;
      case "running": {
        if (p.runner !== undefined) this.pool.launched(p.runner);
        // The child copied its memory image before it ran.
        const image = this.forkImages.get(p.pid);
        this.forkImages.delete(p.pid);
        if (image !== undefined) this.segments.release(image);
        this.appServices.processRunning(p);
        if (p.trace)
          p.session?.trace(
            p.pid,
            `running ${(performance.now() - p.spawnedAt).toFixed(2)} ms after the kernel created it`,
          );
        return;
      }
      case "trace":
        p.session?.trace(p.pid, m.line);
        this.acknowledgeTrace(p);
        return;
      case "note":
        p.session?.trace(p.pid, m.line);
        return;
      case "handled":
        p.handled = new Set(m.signals);
        if (m.ready === true) this.appServices.processReady(p);
        return;
      case "client-thread-ended":
        this.appServices.clientThreadEnded(p, m.connection);
        return;
      case "exit":
        this.finish(p, m.outcome);
        return;
      case "syscall":
        void this.syscall(p, m.id, m.req, m.fork, m.read ?? []);
        return;
      case "cmdin-host":
        // The runner opened the CLI's stdin for CMDIN, or could not: then the CLI's pump moves it.
        if (p.trace)
          p.session?.trace(
            p.pid,
            m.ok
              ? `CMDIN: the runner reads the host's stdin itself (${m.detail})`
              : `CMDIN: the runner cannot read the host's stdin (${m.detail}); the CLI's pump moves it`,
          );
        if (!m.ok) p.session?.commandInput?.(p.pid, m.detail);
        return;
      case "answer": {
        const done = p.requests.get(m.req);
        p.requests.delete(m.req);
        done?.(m.answer);
        return;
      }
    }
  }

  /** Ask `p`'s runner to do something for the kernel; resolves with its answer (or the process' end). */
  private ask(
    p: KProcess,
    m:
      | Omit<Extract<ToRunner, { t: "map-segment" }>, "req">
      | Omit<Extract<ToRunner, { t: "unmap-segment" }>, "req">
      | Omit<Extract<ToRunner, { t: "start-thread" }>, "req">
      | Omit<Extract<ToRunner, { t: "pipe-grant" }>, "req">
      | Omit<Extract<ToRunner, { t: "pipe-revoke" }>, "req">
      | Omit<Extract<ToRunner, { t: "socket-grant" }>, "req">
      | Omit<Extract<ToRunner, { t: "socket-revoke" }>, "req">
      | Omit<Extract<ToRunner, { t: "ams-map" }>, "req">
      | Omit<Extract<ToRunner, { t: "ams-unmap" }>, "req">
      | Omit<Extract<ToRunner, { t: "ams-backed" }>, "req">
      | Omit<Extract<ToRunner, { t: "memory-read" }>, "req">
      | Omit<Extract<ToRunner, { t: "memory-write" }>, "req">,
  ): Promise<RunnerAnswer> {
    if (p.state === "exited") return Promise.resolve({ ok: false, error: "the process has ended" });
    const req = this.nextRequest++;
    return new Promise((resolve) => {
      p.requests.set(req, resolve);
      this.toRunner(p, { ...m, req } as ToRunner);
    });
  }

  /** Have `p`'s runner map segment `seg` (made by this kernel: this.segments). */
  mapSegment(p: KProcess, seg: KSegment): Promise<RunnerAnswer> {
    return this.ask(p, { t: "map-segment", id: seg.id, name: seg.name, size: seg.size });
  }

  unmapSegment(p: KProcess, id: number): Promise<RunnerAnswer> {
    return this.ask(p, { t: "unmap-segment", id });
  }

  async grantPipe(
    p: KProcess,
    handle: bigint,
    end: PipeEnd,
    hostInput?: HostInputRef,
  ): Promise<boolean> {
    const seg = end.pipe.segment;
    const a = await this.ask(p, {
      t: "pipe-grant",
      handle,
      name: seg.name,
      size: seg.size,
      end: end.kind,
      creator: end.pipe.creator,
      ...(hostInput === undefined ? {} : { hostInput }),
    });
    if (!a.ok) this.log(`process ${p.pid}: pipe end ${handle} not granted: ${a.error}`);
    return a.ok;
  }

  async revokePipe(p: KProcess, handle: bigint): Promise<void> {
    await this.ask(p, { t: "pipe-revoke", handle });
  }

  async grantSocket(p: KProcess, handle: bigint, end: SocketEnd): Promise<boolean> {
    const rings = this.sockets.rings(end);
    const a = await this.ask(p, {
      t: "socket-grant",
      handle,
      out: { name: rings.out.name, size: rings.out.size },
      in: { name: rings.in.name, size: rings.in.size },
      maxMessage: end.socket.maxMessage,
      ...this.fastGrant(end),
    });
    if (!a.ok) this.log(`process ${p.pid}: socket end ${handle} not granted: ${a.error}`);
    return a.ok;
  }

  /**
   * The runner-to-runner path for `end` (docs/ipc.md): the exchange table and the peer. None when the
   * peer is not a process with a runner's door (a native service, whose end the kernel holds): its
   * messages go through the kernel.
   */
  private fastGrant(end: SocketEnd): { fast?: SocketFastGrant } {
    const socket = end.socket;
    const peer = this.sockets.peer(end);
    const peerProcess = this.processes.get(this.sockets.party(peer).pid);
    const peerHandle = this.sockets.idOf(peer);
    if (peerProcess?.door === undefined || peerHandle === undefined) return {};
    if (this.systemConnections.holds(peer)) return {};
    const connection =
      peer.side === "service" && socket.origin === "service-connection"
        ? (socket.connection ?? 0n)
        : 0n;
    return {
      fast: {
        // The table is in the ring to the service: the service's in, the client's out.
        table: end.side === "service" ? "in" : "out",
        tableAt: socket.tableAt,
        side: end.side,
        peer: { pid: peerProcess.pid, handle: peerHandle, connection, door: peerProcess.door },
      },
    };
  }

  async revokeSocket(p: KProcess, handle: bigint): Promise<void> {
    await this.ask(p, { t: "socket-revoke", handle });
  }

  async mapAms(p: KProcess, m: AmsMapRequest): Promise<AmsMapAnswer> {
    const a = await this.ask(p, { t: "ams-map", ...m });
    if (!a.ok) return a;
    if (a.address === undefined) return { ok: false, error: "the runner gave no address" };
    return { ok: true, address: a.address };
  }

  async unmapAms(p: KProcess, address: number, mode: "keep" | "zero"): Promise<boolean> {
    const a = await this.ask(p, { t: "ams-unmap", address, mode });
    if (!a.ok) this.log(`process ${p.pid}: AMS mapping at ${address} not unmapped: ${a.error}`);
    return a.ok;
  }

  async askBacker(p: KProcess, r: AmsBackedRequest): Promise<(bigint | null)[] | undefined> {
    const a = await this.ask(p, { t: "ams-backed", ...r });
    return a.ok && a.answers?.length === r.addresses.length ? a.answers : undefined;
  }

  /** A link made for a run that did not start: the proxy's ends go, and the two pipes with them. */
  /**
   * A command run whose process did not start: the identifiers made for its PID go and its pipes
   * close brutally, so none stays named by a process that does not exist (a handed-on CMDRAW's writer
   * then gets 0x31 instead of filling the ring for nobody). The CLI's pins go with its session.
   */
  abandonCommandPipes(set: CommandPipeSet): void {
    this.pipes.dropProcess(set.pid);
    for (const d of COMMAND_PIPES) {
      const pipe = set.pipes[d.name];
      if (pipe.state === "open") this.pipes.close(pipe, true);
      this.pipes.releaseIfUnnamed(pipe);
    }
  }

  abandonProxyLink(link: ProxyLinkSet): void {
    this.pipes.drop(link.proxy, link.proxyIds.calls);
    this.pipes.drop(link.proxy, link.proxyIds.answers);
    endProxyLink(this.pipes, link);
  }

  /**
   * Give the application proxy its ends of `p`'s link (docs/kernel.md "Application proxies"): granted
   * to its runner, then one RECV_PIPE each (command codes PROXY_CALLS_COMMAND, PROXY_ANSWERS_COMMAND).
   * A proxy that cannot take them (it ended, its table is full) gets none, and the link closes brutally:
   * the proxied runner, waiting for an answer, detaches it and goes on.
   */
  private async handProxyEnds(p: KProcess, link: ProxyLinkSet): Promise<void> {
    const proxy = this.processes.get(link.proxy);
    const ends = [
      { id: link.proxyIds.calls, end: link.calls.rc, command: PROXY_CALLS_COMMAND },
      { id: link.proxyIds.answers, end: link.answers.sc, command: PROXY_ANSWERS_COMMAND },
    ];
    const each =
      proxy !== undefined && proxy.state !== "exited"
        ? await Promise.all(ends.map((e) => this.grantPipe(proxy, e.id, e.end)))
        : [];
    const granted = each.length === ends.length && each.every(Boolean);
    if (!granted || proxy === undefined) {
      this.log(`process ${p.pid}: its application proxy ${link.proxy} could not take its ends`);
      // An end its runner did take is taken back (its slot and its mapping), not left behind.
      if (proxy !== undefined)
        await Promise.all(ends.map((e, i) => (each[i] ? this.revokePipe(proxy, e.id) : undefined)));
      for (const e of ends) this.pipes.drop(link.proxy, e.id);
      for (const pipe of [link.calls, link.answers]) this.pipes.close(pipe, true);
      return;
    }
    for (const e of ends)
      this.signal(proxy, Sig.RECV_PIPE, {
        datafield: recvPipe(e.end.pipe, e.end, e.id, e.command),
      });
    this.log(
      `process ${p.pid} (${p.name}): its application proxy is process ${proxy.pid} (${proxy.name})`,
    );
    if (p.trace)
      p.session?.trace(
        p.pid,
        `application proxy: process ${proxy.pid} (${proxy.name}), its ends ${link.proxyIds.calls} (calls) and ${link.proxyIds.answers} (answers)`,
      );
  }

  /**
   * `p` ended: its identifiers go. An end nobody else names closes its pipe brutally, and every other
   * holder gets PIPE_CLOSED "brutally terminated" (syscalls.md CLOSE_PIPE; docs/ipc.md "Pipes").
   */
  private closePipesOf(p: KProcess): void {
    for (const end of this.pipes.dropProcess(p.pid)) {
      const pipe = end.pipe;
      // A held end (a pipeline's CMDRAW handed on) closes when the CLI lets it go (releaseHeldPipe).
      if (
        pipe.state === "open" &&
        this.pipes.ids.holders(end).length === 0 &&
        this.pipes.heldOpen(end) === undefined
      ) {
        this.pipes.close(pipe, true);
        notifyClosed(this, pipe, true);
      }
      this.pipes.releaseIfUnnamed(pipe);
    }
  }

  /**
   * A CMDRAW held open past its writer (protocol.ts `command-raw-done`; docs/ipc.md "Command pipes
   * between two commands") let go: closed now as it would have been when its writer let go of it —
   * properly with PIPE_CLOSED after the writer's CLOSE_PIPE, brutally with PIPE_CLOSED once the
   * writer's process ended, properly without one while it runs (its value came whole).
   */
  releaseHeldPipe(pipe: KPipe): void {
    const held = this.pipes.letGo(pipe.sc);
    if (held !== undefined && pipe.state === "open") {
      if (held.writerClosed) {
        this.pipes.close(pipe, false);
        notifyClosed(this, pipe, false);
      } else if (this.pipes.ids.holders(pipe.sc).length === 0) {
        this.pipes.close(pipe, true);
        notifyClosed(this, pipe, true);
      } else this.pipes.close(pipe, false);
    }
    this.pipes.releaseIfUnnamed(pipe);
  }

  /**
   * The CLI closed its end of CMDIN or CMDUSR (the end of the input), or the command is over: the pipe
   * is closed properly. Decided (docs/ipc.md "Command pipes"): no PIPE_CLOSED, since the other end is no
   * NightOS process; the app sees the close in its PIPE_READ / PIPE_WRITE (0x31) and PIPE_INFO.
   */
  closeCommandPipe(p: KProcess, name: CommandPipeName): void {
    const pipe = p.commandPipes?.pipes[name];
    if (pipe === undefined || pipe.state !== "open") return;
    this.pipes.close(pipe, false);
  }

  /**
   * The return value came whole through CMDOUT (shell.md: "all pipes are closed and the command is
   * considered as finished"): the six pipes close (without PIPE_CLOSED), and the process, no longer the command, is left
   * to end by itself, away from the session (decided, docs/ipc.md).
   */
  finishCommand(p: KProcess): void {
    for (const d of COMMAND_PIPES) {
      // A CMDRAW held for the next command closes when the CLI lets it go (releaseHeldPipe).
      const pipe = p.commandPipes?.pipes[d.name];
      if (pipe !== undefined && this.pipes.heldOpen(pipe.sc) !== undefined) continue;
      this.closeCommandPipe(p, d.name);
    }
    p.session = undefined;
  }

  /** Start a thread in `p` at its table's function `index`, called with `arg`; the answer has its tid. */
  startThread(p: KProcess, index: number, arg: bigint): Promise<RunnerAnswer> {
    return this.ask(p, { t: "start-thread", index, arg });
  }

  /**
   * Count a trace line of `p` passed to its session and acknowledge it to the runner, in one batch per
   * turn of the event loop, as soon as the session's socket is not backed up: the runner's threads may
   * have TRACE_WINDOW lines unacknowledged (runner/channel.ts), so a slow CLI slows the process down.
   */
  private acknowledgeTrace(p: KProcess): void {
    p.traceUnacked++;
    if (p.traceUnacked > 1) return; // a batch is already scheduled
    setImmediate(() => {
      const ack = () => {
        const n = p.traceUnacked;
        p.traceUnacked = 0;
        if (n > 0 && p.state !== "exited") this.toRunner(p, { t: "trace-ack", n });
      };
      if (p.session) p.session.whenWritable(ack);
      else ack();
    });
  }

  /** A syscall the runner forwarded: decode with the table, run the kernel handler, encode. */
  private async syscall(
    p: KProcess,
    id: number,
    req: Uint8Array,
    fork: ForkImage | undefined,
    read: readonly Uint8Array[],
  ): Promise<void> {
    const code = req[0] ?? -1;
    const def = syscallByCode(code);
    const handler = kernelHandler(code);
    let errcode: number | null = GenericErr.NO_SUCH_SYSCALL;
    let ret = new Uint8Array(0);
    let args: unknown = {};
    const written: Uint8Array[] = [];
    if (def !== undefined && handler !== undefined) {
      const d = decodeArgs(def, req.subarray(1));
      if (!d.ok) errcode = d.errcode;
      else {
        args = d.args;
        const r = await handler.run(this, p, args, { fork, read, written });
        if (r.ok) {
          errcode = null;
          ret = new Uint8Array(def.ret.size);
          def.ret.encode(viewOf(ret), 0, r.value);
        } else errcode = r.errcode;
      }
    }
    if (p.state === "exited") return;
    const reply: ToRunner =
      errcode === null && written.length > 0
        ? { t: "reply", id, errcode, ret, written }
        : { t: "reply", id, errcode, ret };
    if (p.trace) {
      const res =
        errcode === null
          ? `ok ${formatValue(def?.ret.decode(viewOf(ret), 0))}`
          : formatErr(def, errcode);
      // MEM_ALLOC and SEND_SOCK_MSG reach the kernel only for their kernel half (kernel/syscalls.ts).
      const half = KERNEL_HALVES.get(code);
      const what = half === undefined ? "kernel" : `kernel: ${half.what}`;
      p.session?.trace(p.pid, `${syscallName(code)} ${formatValue(args)} -> ${res} (${what})`);
      // A traced kernel syscall returns once its line can go on: the trace never piles up here.
      if (p.session) {
        p.session.whenWritable(() => this.toRunner(p, reply));
        return;
      }
    }
    this.toRunner(p, reply);
  }

  /** Send a signal to a process; WILL_SUSPEND / WILL_TERMINATE arm their registry delays. */
  signal(
    p: KProcess,
    signal: number,
    opts: { delayMs?: number; datafield?: Uint8Array; clientThreadOf?: bigint } = {},
  ): void {
    if (p.state === "exited") return;
    let datafield: Uint8Array = opts.datafield ?? new Uint8Array(32);
    if (signal === Sig.WILL_TERMINATE) {
      // Divergence, decided (docs/kernel.md "Decisions in the syscall table"): signals.md names the
      // registry's terminate_delay as this datafield; a KILL_CHILD_PROCESS timeout replaces it, since the
      // field tells the process the delay after which it is killed.
      const delay = opts.delayMs ?? this.delays.terminate;
      datafield = encodeDatafield(Datafield[Sig.WILL_TERMINATE], { delay: Math.min(delay, 65535) });
      this.timer(p, delay, () =>
        this.kill(p, `did not exit within the terminate delay (${delay} ms)`, Sig.WILL_TERMINATE),
      );
      if (p.state === "suspended") this.unsuspend(p);
    } else if (signal === Sig.WILL_SUSPEND) {
      const delay = opts.delayMs ?? this.delays.suspend;
      datafield = encodeDatafield(Datafield[Sig.WILL_SUSPEND], { delay: Math.min(delay, 65535) });
      this.timer(p, delay, () => this.suspend(p));
    }
    const to = opts.clientThreadOf;
    // Only with --trace: a busy socket sends a signal per message.
    if (p.trace)
      p.session?.trace(
        p.pid,
        `kernel sends ${signalName(signal)}${traced(signal, opts)}${to === undefined ? "" : ` to the client thread of connection ${to}`}`,
      );
    this.toRunner(p, {
      t: "signal",
      signal,
      datafield,
      ...(to === undefined ? {} : { connection: to }),
    });
  }

  private timer(p: KProcess, ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      p.timers.delete(t);
      if (p.state !== "exited") fn();
    }, ms);
    p.timers.add(t);
  }

  suspend(p: KProcess): void {
    if (p.state !== "running" && p.state !== "starting") return;
    p.state = "suspended";
    p.suspendedAt = Date.now();
    this.toRunner(p, { t: "suspend" });
  }

  /** Resume a suspended process; returns how long it was suspended, in ms. */
  unsuspend(p: KProcess): bigint {
    if (p.state !== "suspended" || p.suspendedAt === undefined) return 0n;
    const ms = Date.now() - p.suspendedAt;
    p.state = "running";
    p.suspendedAt = undefined;
    this.toRunner(p, { t: "resume" });
    const reply = p.selfSuspendReply;
    p.selfSuspendReply = undefined;
    reply?.(BigInt(ms));
    if (p.trace) p.session?.trace(p.pid, `kernel sends UNSUSPENDED (suspended ${ms} ms)`);
    const df = encodeDatafield(Datafield[Sig.UNSUSPENDED], { duration: BigInt(ms) * 1000n });
    this.toRunner(p, { t: "signal", signal: Sig.UNSUSPENDED, datafield: df });
    return BigInt(ms);
  }

  /** Change a process' priority: 0 suspends it, 1–10 (un)throttle it (resuming it if it was suspended). */
  setPriority(p: KProcess, priority: number): void {
    if (priority === 0) {
      this.suspend(p);
      return;
    }
    if (p.state === "suspended") this.unsuspend(p);
    p.priority = priority;
    this.toRunner(p, { t: "priority", priority });
  }

  /** Kill a process at once (no signal): its runner is killed and the table cleaned up. */
  kill(p: KProcess, reason: string, signal?: number): void {
    if (p.state === "exited") return;
    p.runner?.kill("SIGKILL");
    this.finish(
      p,
      signal === undefined ? { kind: "killed", reason } : { kind: "killed", reason, signal },
    );
  }

  /** Wait until `p` ends or `timeoutMs` elapses (0 = no timeout); resolves true if it ended. */
  waitFor(p: KProcess, timeoutMs: number): Promise<boolean> {
    if (p.state === "exited") return Promise.resolve(true);
    return new Promise((resolve) => {
      let t: NodeJS.Timeout | undefined;
      const done = () => {
        if (t) clearTimeout(t);
        resolve(true);
      };
      p.waiters.push(done);
      if (timeoutMs > 0) {
        t = setTimeout(() => {
          p.waiters = p.waiters.filter((w) => w !== done);
          resolve(false);
        }, timeoutMs);
      }
    });
  }

  private finish(p: KProcess, outcome: Outcome): void {
    if (p.state === "exited") return;
    p.state = "exited";
    p.outcome = outcome;
    for (const t of p.timers) clearTimeout(t);
    p.timers.clear();
    if (p.runner && p.runner.exitCode === null && p.runner.signalCode === null) {
      // The runner exits by itself after reporting; make sure of it.
      const r = p.runner;
      setTimeout(() => r.kill("SIGKILL"), 2000).unref();
    }
    // "Children are killed when their parent exits" (specs/kernel/syscalls.md, EXIT).
    for (const c of p.children) {
      const child = this.processes.get(c);
      if (child) this.kill(child, `its parent process ${p.pid} ended`);
    }
    for (const w of p.waiters.splice(0)) w();
    this.services.processExited({ pid: p.pid, ppid: p.ppid, name: p.name });
    this.perm.processExited(p.pid);
    // Graceful: the program ended by itself (docs/crash-saves.md); killed or trapped is a crash.
    void this.crashSaves?.ended(p.pid, outcome.kind === "exit");
    for (const done of p.requests.values()) done({ ok: false, error: "the process has ended" });
    p.requests.clear();
    this.closePipesOf(p);
    // A proxied process' link closes properly: its proxy gets PIPE_CLOSED, its PIPE_READ 0x31.
    if (p.proxyLink)
      for (const pipe of endProxyLink(this.pipes, p.proxyLink)) notifyClosed(this, pipe, false);
    this.appServices.processEnded(p);
    this.systemConnections.processEnded(p);
    closeSocketsOf(this, p.pid);
    void amsProcessEnded(this, p.pid);
    this.forkImages.delete(p.pid);
    this.segments.releaseOwner(p.pid);
    this.log(
      `process ${p.pid} (${p.name}) ended: ${outcome.kind === "exit" ? `exit ${outcome.exitData}` : outcome.reason}`,
    );
    // A service's end is no client's: its terminal (the client that started it) gets a line.
    if (p.detached)
      p.session?.trace(
        p.pid,
        `service process ended: ${outcome.kind === "exit" ? `exit ${outcome.exitData}` : `killed: ${outcome.reason}`}`,
      );
    p.session?.exited(p.pid, outcome);
    p.wasm = new Uint8Array(0);
    this.onChange();
  }

  /** A session (terminal) went away: the processes of its runs go with it. */
  dropSession(connection: object): void {
    for (const p of this.live()) {
      if (p.session?.connection !== connection) continue;
      // A service serves other clients too: it only stops reporting to that terminal.
      if (p.detached) p.session = undefined;
      else this.kill(p, "the ncw command that started it went away");
    }
  }

  newAnid(): number {
    return randomInt(1, 0xffff_ffff);
  }
}

/**
 * sys::fs's group-commit window (docs/sysfs.md "Commits"): NCW_FS_COMMIT_MS (0: every change committed
 * before its answer), else FS_COMMIT_WINDOW_MS.
 */
export const FS_COMMIT_WINDOW_MS = 20;
export function fsCommitWindowMs(env: NodeJS.ProcessEnv): number {
  const v = env.NCW_FS_COMMIT_MS;
  const n = v === undefined || v === "" ? Number.NaN : Number(v);
  return Number.isInteger(n) && n >= 0 && n <= 10_000 ? n : FS_COMMIT_WINDOW_MS;
}
