// The kernel server's entry point (DIRECTION.md §2): one per NCW home, started detached by the CLI
// (kernel-compat/client.ts), listening on the home's socket, exiting when idle. Usage:
//   node dist/kernel-compat/server/main.js --home <dir>

import { randomBytes } from "node:crypto";
import { appendFileSync, linkSync, lstatSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import { type CommandPipeIds, StartupBit } from "../../commonassembly/abi/context.js";
import { hostErrorKind, isHostError } from "../../native/errors.js";
import { hostNative } from "../../native/index.js";
import type { ControlEndpoint, HostNative } from "../../native/types.js";
import { NcwError } from "../../ncw/errors.js";
import { type HomeLayout, openHome } from "../../ncw/home.js";
import { treeGeneration } from "../../services/fs/open.js";
import { type Grant, parseGrant } from "../../services/perm/policy.js";
import type { InstalledCommand } from "../../services/shell/commands.js";
import { DEFAULT_USER } from "../../services/skyer/layout.js";
import type { LineOutcome, SessionTerminal, WindowSize } from "../../services/syshydre/service.js";
import {
  type CommandPipeSet,
  createCommandPipes,
  unpinCommandPipes,
} from "../kernel/command-pipes.js";
import type { KPipe } from "../kernel/pipes.js";
import { createProxyLink, type ProxyLinkSet, proxyRefusal } from "../kernel/proxy-link.js";
import type { ServiceApp } from "../kernel/service-names.js";
import { kernelEndpoint, kernelLogPath, kernelPidPath } from "../paths.js";
import type { AppQuery, Runnable } from "../program.js";
import {
  type ClientMessage,
  FrameReader,
  type KernelMessage,
  PROTOCOL_VERSION,
} from "../protocol.js";
import { StdioProtocolError } from "../stdio.js";
import { Kernel, type KProcess, readDelays, type ServiceApps, type SessionSink } from "./kernel.js";
import { DEFAULT_POOL_MAX, DEFAULT_POOL_SIZE, RunnerPool } from "./pool.js";
import type { RegistrySettings } from "./registry-delays.js";
import { runContext } from "./run-context.js";
import { ClientSession } from "./session.js";
import { TreeOwner } from "./tree.js";

/** A run's --allow and --deny, checked: a word that is not `perm` or `perm=scope` is RUN_BAD_PERMISSION. */
/** A terminal size from a client's message: whole numbers of characters, else none. */
function windowSize(w: { columns?: unknown; rows?: unknown } | undefined): WindowSize | undefined {
  if (w === undefined) return undefined;
  const ok = (n: unknown): n is number => Number.isSafeInteger(n) && (n as number) >= 0;
  return ok(w.columns) && ok(w.rows) ? { columns: w.columns, rows: w.rows } : undefined;
}

function runGrants(allow: string[], deny: string[]): { allow: Grant[]; deny: Grant[] } {
  const parse = (words: string[], flag: string) =>
    words.map((w) => {
      const g = parseGrant(w);
      if ("error" in g)
        throw new NcwError("usage", `${flag} ${w}: ${g.error}`, {
          code: "RUN_BAD_PERMISSION",
          hint: 'permissions are named as in specs/permissions.md (`ncw perm list --all`), with an optional "=scope"',
        });
      return g;
    });
  return { allow: parse(allow, "--allow"), deny: parse(deny, "--deny") };
}

/** The program resolver loads once per kernel, in the background after start-up (Binaryen is not part
 * of it: compiles run in worker threads, commonassembly/aot/off-thread.ts). */
let programModule: Promise<typeof import("../program.js")> | undefined;
/**
 * Where a command's runner reads the CLI's stdin for CMDIN (docs/ipc.md "CMDIN read by the runner"):
 * the peer's own descriptor 0 through /proc, on Linux, when its PID is known.
 */
function cmdinHostPath(peerPid: number | undefined): string | undefined {
  if (peerPid === undefined || process.platform !== "linux") return undefined;
  return `/proc/${peerPid}/fd/0`;
}

function loadProgramModule(): Promise<typeof import("../program.js")> {
  programModule ??= import("../program.js");
  return programModule;
}

/** Exit after this long with no process and no client (NCW_KERNEL_IDLE_MS overrides). */
export const DEFAULT_IDLE_MS = 30_000;

function argValue(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

function envInt(name: string, dflt: number, min: number, max: number): number {
  const n = Number(process.env[name]);
  return process.env[name] !== undefined && Number.isInteger(n) && n >= min && n <= max ? n : dflt;
}

/** A file's identity, to tell the socket this kernel created from one that replaced it. */
interface FileId {
  dev: bigint;
  ino: bigint;
}
function fileId(p: string): FileId | undefined {
  try {
    const st = lstatSync(p, { bigint: true });
    return { dev: st.dev, ino: st.ino };
  } catch {
    return undefined;
  }
}
const sameFile = (a: FileId | undefined, b: FileId | undefined) =>
  a !== undefined && b !== undefined && a.dev === b.dev && a.ino === b.ino;

/** Who answers on `sock`: a kernel of this host user, another user's process, nobody, or cannot tell. */
function probe(
  sock: string,
  native: HostNative,
): Promise<"ours" | "other-user" | "unknown" | "dead"> {
  return new Promise((resolve) => {
    const c = net.connect(sock);
    c.once("connect", () => {
      const peer = native.checkPeer(c);
      c.destroy();
      resolve(peer.ok ? "ours" : peer.code === "NATIVE_PEER_OTHER_USER" ? "other-user" : "unknown");
    });
    c.once("error", () => resolve("dead"));
  });
}

/** Bind and listen; the socket file gets mode 0600 whatever the umask the kernel inherited. */
function bind(server: net.Server, sock: string): Promise<NodeJS.ErrnoException | undefined> {
  return new Promise((resolve) => {
    server.once("error", (e: NodeJS.ErrnoException) => resolve(e));
    // Node binds synchronously inside listen(): the umask covers exactly the socket's creation.
    const umask = process.umask(0o177);
    try {
      server.listen(sock, () => resolve(undefined));
    } finally {
      process.umask(umask);
    }
  });
}

type Listening =
  | { ok: true; id: FileId | undefined }
  | { ok: false; served: true; why: string }
  | { ok: false; served: false; why: string };

/**
 * Listen on the home's endpoint so that its path is this kernel's alone to remove (docs/security.md,
 * "The control socket"). A Unix socket is bound at a temporary name in the endpoint's private folder
 * and hard-linked to the endpoint's path: link() fails when the path exists, so a live kernel is
 * never replaced (a stale socket, or one another host user left, is checked and replaced). The
 * temporary name goes at once. Why not bind the path itself: libuv unlinks the path a listening socket
 * was bound to when it closes, even when another kernel owns that path by then.
 */
async function listenOnce(
  server: net.Server,
  ep: ControlEndpoint,
  native: HostNative,
  log: (line: string) => void,
): Promise<Listening> {
  if (ep.folder === undefined) {
    // A named pipe: the host removes it with its last handle; a second kernel cannot create it.
    const err = await bind(server, ep.path);
    if (hostErrorKind(err) === "in-use")
      return { ok: false, served: true, why: "the pipe is in use" };
    return err ? { ok: false, served: false, why: err.message } : { ok: true, id: undefined };
  }
  // Short enough for sun_path whenever the endpoint's own name is ("kernel.sock", "ncw-kernel-….sock").
  const temp = path.join(ep.folder.path, `.${randomBytes(4).toString("hex")}`);
  const err = await bind(server, temp);
  if (err) return { ok: false, served: false, why: err.message };
  const id = fileId(temp);
  try {
    for (let attempt = 1; ; attempt++) {
      try {
        linkSync(temp, ep.path);
        return { ok: true, id };
      } catch (e) {
        if (!isHostError(e, "exists") || attempt >= 4)
          return { ok: false, served: false, why: (e as Error).message };
      }
      const before = fileId(ep.path);
      const who = await probe(ep.path, native);
      if (who === "ours")
        return { ok: false, served: true, why: "another kernel serves this home" };
      if (who === "unknown")
        return { ok: false, served: false, why: `cannot tell who listens on ${ep.path}` };
      log(
        who === "dead"
          ? `replacing the stale socket ${ep.path} (nobody listens on it)`
          : `replacing ${ep.path}: another host user listens on it`,
      );
      // Only the file just probed: a kernel that won the race in between keeps its socket.
      if (sameFile(fileId(ep.path), before)) rmSync(ep.path, { force: true });
    }
  } finally {
    rmSync(temp, { force: true });
  }
}

/**
 * The installed apps the kernel starts as services (docs/services.md): found by ANID in Skyer's
 * database for the client's NightOS user, their program compiled as `ncw run <AID>` does.
 */
function serviceApps(home: HomeLayout, tree: TreeOwner): ServiceApps {
  const apps: AppQuery = async (f) => {
    const { withSkyerQuery } = await import("../../services/skyer/query.js");
    return withSkyerQuery(home, f);
  };
  // CONNECT_SERVICE looks its app up on every connection: an answer is kept while the tree's
  // generation (its last commit) stays the same, instead of opening the image again (2-45 ms).
  const found = new Map<string, { generation: bigint; app: ServiceApp | undefined }>();
  return {
    find: async (anid, user) => {
      const key = `${anid}\0${user}`;
      const generation = treeGeneration(home);
      const known = found.get(key);
      if (generation !== undefined && known?.generation === generation) return known.app;
      const app = await apps(async (q) => {
        const app = await q.appByAnid(anid, user);
        if (app === undefined) return undefined;
        const s = await q.services(app);
        return {
          aid: app.aid,
          anid: app.anid,
          services: s === undefined ? undefined : { main: s.main, scoped: s.scoped },
          crashSaves: await q.crashSavesSupported(app),
          integration:
            s === undefined
              ? []
              : Object.entries(s.integration)
                  .filter(([, on]) => on === true)
                  .map(([name]) => name),
        };
      });
      // Read after the generation: a commit in between only makes the next lookup read again.
      if (generation !== undefined) {
        if (found.size >= 256) found.clear();
        found.set(key, { generation, app });
      }
      return app;
    },
    installed: (user) =>
      apps(async (q) =>
        (await q.installedApps(user)).map((a) => ({
          aid: a.aid,
          anid: a.anid,
          version: a.version,
          scope: a.scope,
        })),
      ),
    load: async (app, user) => {
      const { resolveRunnable } = await loadProgramModule();
      const r = await resolveRunnable(app.aid, home, user, apps);
      return { name: r.name, wasm: r.wasm };
    },
    // sys::app INSTALL_APP / UNINSTALL_APP: Skyer's own session on this kernel's tree (app-manager.ts).
    install: async (user, name, bytes) => {
      const { installForUser } = await import("./app-manager.js");
      return installForUser(home, tree, user, name, bytes);
    },
    uninstall: async (user, aid) => {
      const { uninstallForUser } = await import("./app-manager.js");
      return uninstallForUser(home, tree, user, aid);
    },
  };
}

async function main(): Promise<void> {
  const homeArg = argValue("--home");
  if (homeArg === undefined) {
    process.stderr.write("usage: main.js --home <dir>\n");
    process.exit(2);
  }
  const home = openHome(homeArg);
  const native = hostNative();
  const ep = kernelEndpoint(home, native);
  const sock = ep.path;
  const logFile = kernelLogPath(home);
  const log = (line: string) => {
    try {
      appendFileSync(logFile, `${new Date().toISOString()} [${process.pid}] ${line}\n`);
    } catch {
      // logging must never take the kernel down
    }
  };
  const idleMs = envInt("NCW_KERNEL_IDLE_MS", DEFAULT_IDLE_MS, 100, 24 * 3600 * 1000);
  const poolSize = envInt("NCW_RUNNER_POOL", DEFAULT_POOL_SIZE, 0, 16);
  const poolMax = envInt("NCW_RUNNER_POOL_MAX", DEFAULT_POOL_MAX, 0, 64);
  const testHooks = process.env.NCW_KERNEL_TEST_HOOKS === "1";

  try {
    native.secureEndpoint(ep);
  } catch (e) {
    log(`refusing to listen on ${sock}: ${(e as Error).message}`);
    process.stderr.write(`ncw kernel: ${(e as Error).message}\n`);
    process.exit(77);
  }
  const server = net.createServer();
  const listening = await listenOnce(server, ep, native, log);
  if (!listening.ok && listening.served) {
    log(`${listening.why}; exiting`);
    process.exit(0);
  }
  if (!listening.ok) {
    log(`cannot listen on ${sock}: ${listening.why}`);
    process.stderr.write(`ncw kernel: cannot listen on ${sock}: ${listening.why}\n`);
    process.exit(69);
  }
  /** Remove the endpoint only while it is still the socket this kernel created. */
  const removeOwnSocket = () => {
    if (listening.id === undefined) return;
    if (sameFile(fileId(sock), listening.id)) rmSync(sock, { force: true });
    else log(`${sock} is no longer this kernel's socket: left in place`);
  };
  writeFileSync(kernelPidPath(home), `${process.pid}\n`);
  log(`kernel started on ${sock} (pool ${poolSize}, up to ${poolMax}; idle exit ${idleMs} ms)`);

  const pool = new RunnerPool(poolSize, log, { max: poolMax });
  const tree = new TreeOwner(home, log);
  const kernel = new Kernel(pool, log, process.env, tree);
  /** The registry's settings the kernel applies: the delays, the limits, developer mode. */
  const applySettings = (stored: RegistrySettings) => {
    kernel.delays = readDelays(process.env, stored.delays);
    kernel.limits = stored.limits;
    kernel.devMode = stored.devMode;
  };
  // A committed change of the registry file (`ncw registry set`, import, reset, `ncw skyer sideloading`)
  // applies at once: the delays of the next signal, the limits of the next process (docs/registry.md).
  tree.onChange = (paths) => {
    void (async () => {
      const { touchesRegistry, registrySettingsOf } = await import("./registry-delays.js");
      if (!touchesRegistry(paths)) return;
      try {
        applySettings(await tree.serialize(async () => registrySettingsOf(await tree.tree())));
        log(
          `registry changed: delays ${JSON.stringify(kernel.delays)}, limits ${JSON.stringify(kernel.limits)}`,
        );
        // sys::crashsave re-reads collect_every for the instances running (docs/crash-saves.md).
        await kernel.crashSaves?.settingsChanged();
      } catch (e) {
        log(
          `registry changed but unreadable, keeping the delays and limits: ${(e as Error).message}`,
        );
      }
    })();
  };
  kernel.serviceApps = serviceApps(home, tree);
  const startedAt = Date.now();
  let clients = 0;
  let idleTimer: NodeJS.Timeout | undefined;
  let stopping = false;

  /**
   * Stop: first stop accepting (and free the socket path for a new kernel), then finish serving the
   * clients already connected, so a CLI that connected just as the idle timer fired is never dropped.
   */
  const stop = (why: string, force = false) => {
    if (!stopping) {
      stopping = true;
      log(`kernel stopping: ${why}`);
      // Removed while still listening: no other kernel takes a live socket's path, so the path
      // checked is the path removed.
      removeOwnSocket();
      server.close();
      try {
        if (readFileSync(kernelPidPath(home), "utf8").trim() === String(process.pid))
          rmSync(kernelPidPath(home));
      } catch {
        // already gone
      }
    }
    if (!force && (clients > 0 || kernel.live().length > 0)) return;
    pool.close();
    for (const p of kernel.live()) kernel.kill(p, "the kernel is stopping");
    const exit = setTimeout(() => process.exit(0), 50);
    // A graceful stop: the tree owner removes the system's awake indicator as it lets the tree go
    // (docs/sysfs.md "The tree", docs/crash-saves.md).
    void tree.close().finally(() => exit.refresh());
  };
  const checkIdle = () => {
    if (stopping) {
      stop("finishing");
      return;
    }
    if (idleTimer) clearTimeout(idleTimer);
    idleTimer = undefined;
    if (clients === 0 && kernel.live().length === 0) {
      idleTimer = setTimeout(() => stop(`idle for ${idleMs} ms`), idleMs);
    }
  };
  kernel.onChange = checkIdle;
  process.on("SIGTERM", () => stop("SIGTERM", true));
  process.on("SIGINT", () => stop("SIGINT", true));

  server.on("connection", (conn) => {
    // Only this host user's processes may talk to its kernel (docs/security.md), whatever the
    // socket's mode: another user could run programs as this one, or shut the kernel down.
    const peer = native.checkPeer(conn);
    if (!peer.ok) {
      log(`refused a connection: ${peer.reason}`);
      conn.destroy();
      return;
    }
    clients++;
    checkIdle();
    const reader = new FrameReader<ClientMessage>();
    /** Aborted when this client disconnects: its `run` compiles are cancelled (compile workers end). */
    const gone = new AbortController();
    const client = new ClientSession(conn, log);
    /** The command pipes of this session's runs: their pins go with it (docs/ipc.md). */
    const commands: CommandPipeSet[] = [];
    /**
     * The CMDRAW pipes of this session's runs asked with `cmdraw: "next"`, by run id, from the request
     * on: each resolves when the run's pipes exist (the pipe, pinned until a later run takes it as its
     * CMDIN, `cmdinFrom`) or the run was refused (undefined). docs/ipc.md "Command pipes between two
     * commands".
     */
    const handedOn = new Map<number, HandedOn>();
    /** Every hand-off of this session, taken or not: settled (undefined) when the session ends. */
    const handOffs = new Set<HandedOn>();
    /**
     * The handed-on CMDRAW pipes held open past their writer, by the writer's PID, until the CLI says
     * the writer did not fail (`command-raw-done`) or the session ends (kernel.releaseHeldPipe).
     */
    const heldRaw = new Map<number, KPipe>();
    const send = (m: KernelMessage) => client.send(m);
    /**
     * A CMDRAW handed on that no run took: closed (properly), so its writer's next PIPE_WRITE answers
     * 0x31 instead of waiting for a reader that never comes, and its pin goes.
     */
    const releaseHandedOn = (pipe: KPipe) => {
      kernel.pipes.close(pipe, false);
      kernel.pipes.unpin(pipe);
    };
    // The socket's back-pressure: while it is backed up (write returned false, no 'drain' yet), the
    // kernel holds back the acknowledgements and replies of this session's traced processes.
    let writable: Array<() => void> = [];
    conn.on("drain", () => {
      for (const go of writable.splice(0)) go();
    });
    /** What this connection's processes report to, one sink per run: its messages carry the run's id. */
    const connection = {};
    /** The connection's Hydre session and terminal (sys::hydre), shared by its runs and their children. */
    const terminal: SessionTerminal = { hydre: 0, size: undefined };
    /** RUN_COMMAND lines sent to this connection's CLI (sys::hydre), until it answers or goes. */
    const lines = new Map<number, (r: LineOutcome) => void>();
    let nextLine = 1;
    const runLine = (pid: number, line: string) =>
      new Promise<LineOutcome>((resolve) => {
        if (conn.destroyed) {
          resolve({ kind: "gone" });
          return;
        }
        const id = nextLine++;
        lines.set(id, resolve);
        send({ t: "hydre-run", id, pid, line });
      });
    conn.on("close", () => {
      for (const resolve of lines.values()) resolve({ kind: "gone" });
      lines.clear();
    });
    const runSink = (run: number): SessionSink => ({
      connection,
      terminal,
      started: (pid, hostPid, name) => send({ t: "started", run, pid, hostPid, name }),
      trace: (pid, line) => send({ t: "trace", run, pid, line }),
      exited: (pid, outcome) => send({ t: "exited", run, pid, outcome }),
      commandPipes: (pid, pipes, cmdin) =>
        send({ t: "command-pipes", run, pid, pipes, ...(cmdin ? { cmdin } : {}) }),
      commandInput: (pid, why) => send({ t: "command-input", run, pid, reader: "cli", why }),
      whenWritable: (go) => {
        if (conn.destroyed) return;
        if (conn.writableNeedDrain) writable.push(go);
        else go();
      },
      canAsk: () => client.terminal,
      ask: (text, choices, fallback) =>
        client.ask({ kind: "permission", text, choices, default: fallback, run }),
    });
    conn.on("data", (chunk) => {
      let msgs: ClientMessage[];
      try {
        msgs = reader.push(chunk);
      } catch (e) {
        send({ t: "error", code: "KERNEL_BAD_FRAME", message: (e as Error).message });
        conn.destroy();
        return;
      }
      try {
        for (const m of msgs) handle(m);
      } catch (e) {
        if (!(e instanceof StdioProtocolError)) throw e;
        send({ t: "error", code: "KERNEL_BAD_FRAME", message: e.message });
        conn.destroy();
      }
    });
    /** Acts on a running process, or answers KERNEL_NO_SUCH_PROCESS. */
    const onLiveProcess = (pid: number, act: (p: KProcess) => void) => {
      const p = kernel.processes.get(pid);
      if (p === undefined || p.state === "exited") {
        send({
          t: "error",
          code: "KERNEL_NO_SUCH_PROCESS",
          message: `no running process with PID ${pid}`,
        });
        return;
      }
      act(p);
      send({ t: "ok" });
    };
    const handle = (m: ClientMessage) => {
      // Answers to the kernel's questions and stdio frames belong to the session.
      if (client.receive(m)) return;
      switch (m.t) {
        case "hello":
          client.terminal = m.terminal === true;
          send({ t: "hello", version: PROTOCOL_VERSION, kernelPid: process.pid, startedAt });
          return;
        case "run": {
          // Every message about the run carries its id (docs/kernel.md "Runs on one connection").
          const run = m.run;
          if (!Number.isSafeInteger(run) || run < 0) {
            send({
              t: "error",
              code: "RUN_NO_ID",
              message: `a run request carries its run id, a non-negative integer (protocol ${PROTOCOL_VERSION}); nothing was started`,
              kind: "usage",
            });
            return;
          }
          if (typeof m.hydre === "number" && Number.isSafeInteger(m.hydre) && m.hydre > 0) {
            terminal.hydre = m.hydre;
            terminal.run = runLine;
          }
          const size = windowSize(m.window);
          if (size !== undefined) terminal.size = size;
          const session = runSink(run);
          // This run's CMDRAW goes to a later run: its hand-off exists from now on, so that run's
          // request, which may come before this run's pipes exist, finds it.
          let handOff: HandedOn | undefined;
          if (m.cmdraw === "next") {
            handOff = handedOnPipe();
            handedOn.set(run, handOff);
            handOffs.add(handOff);
          }
          // CMDIN is an earlier run's CMDRAW (a Hydre pipeline), taken from this session only, now;
          // it is waited for at the pipes' step below. A run refused on any way out closes it (not
          // `consumed`), so its writer's PIPE_WRITE answers 0x31 instead of waiting forever.
          const from = m.cmdinFrom === undefined ? undefined : handedOn.get(m.cmdinFrom);
          if (m.cmdinFrom !== undefined) handedOn.delete(m.cmdinFrom);
          if (from !== undefined) from.taken = true;
          let consumed = false;
          (async () => {
            let runnable: Runnable;
            let context: { bytes: Uint8Array; anid: number };
            let build: ReturnType<typeof runContext>;
            let upfront: { allow: Grant[]; deny: Grant[] };
            try {
              upfront = runGrants(m.allow ?? [], m.deny ?? []);
              build = runContext(m);
              const { resolveRunnable } = await loadProgramModule();
              const { withSkyerQuery } = await import("../../services/skyer/query.js");
              runnable = await resolveRunnable(
                m.path,
                home,
                m.user,
                (f) => withSkyerQuery(home, f),
                gone.signal,
              );
              context = build(runnable.anid);
            } catch (e) {
              if (conn.destroyed) return;
              const err = e as Partial<NcwError> & Error;
              send({
                t: "error",
                run,
                code: err.code ?? "RUN_UNEXPECTED",
                message: err.message,
                ...(err.kind ? { kind: err.kind } : {}),
                ...(err.hint ? { hint: err.hint } : {}),
              });
              return;
            }
            if (conn.destroyed) return;
            // A sandboxed run: its sandbox, made if missing, in the app's `sandboxes` folder (a
            // program run from a file: keyed by its program's hash, as its volatile grants are).
            let sandbox: string | undefined;
            if (m.sandbox !== undefined) {
              try {
                const sb = await import("../../services/fs/sandbox.js");
                if (!sb.SANDBOX_NAME.test(m.sandbox))
                  throw new NcwError("usage", `invalid sandbox name ${JSON.stringify(m.sandbox)}`, {
                    code: "SANDBOX_BAD_NAME",
                    hint: "a sandbox name is 1–64 of a-z, 0-9, _, . and -, not starting with . or -",
                  });
                const user = m.user ?? DEFAULT_USER;
                const app = await kernel.findApp(context.anid, user);
                const { volatileKey } = await import("../../services/perm/store.js");
                const { appDirName } = await import("../../services/skyer/layout.js");
                const folder =
                  app === undefined
                    ? sb.volatileAppFolder(volatileKey(runnable.wasm))
                    : appDirName(app.aid);
                const dir = sb.sandboxFolder(user, folder, m.sandbox);
                const opened = (await tree.request({ op: "sandboxOpen", dir })) as {
                  created: boolean;
                };
                send({ t: "sandbox", run, dir, created: opened.created });
                sandbox = `${dir}/tree`;
              } catch (e) {
                const err = e as Partial<NcwError> & Error;
                send({
                  t: "error",
                  run,
                  code: err.code ?? "SANDBOX_OPEN",
                  message: `cannot open the sandbox: ${err.message}`,
                  ...(err.kind ? { kind: err.kind } : {}),
                  ...(err.hint ? { hint: err.hint } : {}),
                });
                return;
              }
            }
            try {
              const { registrySettings } = await import("./registry-delays.js");
              applySettings(await registrySettings(home));
            } catch (e) {
              log(
                `registry unreadable, keeping the delays ${JSON.stringify(kernel.delays)} and limits ${JSON.stringify(kernel.limits)}: ${(e as Error).message}`,
              );
            }
            if (m.trace) {
              const how = runnable.aot.cached ? "cached" : "compiled";
              send({
                t: "trace",
                run,
                pid: 0,
                line: `${runnable.name}: AOT ${how} in ${runnable.aot.ms.toFixed(1)} ms`,
              });
            }
            // An app that supports crash saves: its awake indicator, and whether it starts after a
            // crash (docs/crash-saves.md).
            // (A program run from a file is no installed app: nothing to look up.)
            const crash =
              runnable.anid === undefined
                ? { afterCrash: false, started: () => {} }
                : await kernel.crashSaveStart(context.anid, m.user ?? DEFAULT_USER);
            if (conn.destroyed) return;
            // A command run gets its six pipes; their identifiers go in the context (docs/ipc.md).
            let commandPipes: CommandPipeSet | undefined;
            const cmdinPipe = from === undefined ? undefined : await from.pipe;
            if (m.cmdinFrom !== undefined) {
              if (conn.destroyed) return;
              if (cmdinPipe === undefined || m.startup.kind !== "command") {
                send({
                  t: "error",
                  run,
                  code: "RUN_PIPE_FROM",
                  message: `cannot take run ${m.cmdinFrom}'s CMDRAW as CMDIN: ${
                    from === undefined
                      ? "no earlier run of this connection hands it on (`cmdraw: next`), or another took it"
                      : cmdinPipe === undefined
                        ? "that run was refused, or ended before its pipes existed"
                        : "only a command run has a CMDIN"
                  }; nothing was started`,
                  kind: "usage",
                });
                return;
              }
            }
            // `--proxy PID` (docs/kernel.md "Application proxies"): who may have one.
            if (m.proxy !== undefined) {
              const userName = m.user ?? DEFAULT_USER;
              const { readUser } = await import("../../services/perm/store.js");
              const { level } = await tree.serialize(async () =>
                readUser(await tree.tree(), userName),
              );
              if (conn.destroyed) return;
              const refused = proxyRefusal(kernel, m.proxy, { name: userName, level });
              if (refused !== undefined) {
                send({ t: "error", run, ...refused });
                return;
              }
            }
            // Nothing waits from here to the spawn: the limits are checked for this very start (a
            // check before the waits above let several starts of one pipeline pass it together), and
            // what is made for the next PID (the proxy's link, the command pipes) is that process'.
            if (conn.destroyed) return;
            const memoryBytes = kernel.initialMemory(runnable.wasm);
            const refused = kernel.admit(memoryBytes);
            if (refused !== undefined) {
              log(`ncw run ${runnable.name} refused: ${refused}`);
              send({
                t: "error",
                run,
                code: "RUN_LIMIT_REACHED",
                message: `cannot start ${runnable.name}: ${refused}`,
                kind: "temp-fail",
                hint:
                  "wait for processes to end (`ncw ps`), or raise the limit in the home's registry: " +
                  "`ncw registry set system.processes.max_processes <n>` (or max_memory, e.g. 4096MB; " +
                  'docs/kernel.md "Limits")',
              });
              return;
            }
            const proxyLink: ProxyLinkSet | undefined =
              m.proxy === undefined
                ? undefined
                : createProxyLink(
                    kernel.pipes,
                    { pid: kernel.processes.nextPid(), anid: context.anid },
                    m.proxy,
                  );
            if (m.startup.kind === "command") {
              const pid = kernel.processes.nextPid();
              try {
                commandPipes = createCommandPipes(kernel.pipes, pid, cmdinPipe);
                commands.push(commandPipes);
                // Held by the new process from now on (its identifier 1): the session's pin goes.
                if (cmdinPipe !== undefined) kernel.pipes.unpin(cmdinPipe);
                consumed = true;
                if (handOff !== undefined) {
                  // Its end is the end of the next command's stream: held until this one's outcome
                  // is known not to be a failure (docs/ipc.md "Command pipes between two commands").
                  kernel.pipes.hold(commandPipes.pipes.cmdraw.sc);
                  heldRaw.set(pid, commandPipes.pipes.cmdraw);
                  kernel.pipes.pin(commandPipes.pipes.cmdraw);
                  handOff.settle(commandPipes.pipes.cmdraw);
                }
                // The CLI's stdin is a pipe or an unread file: the runner reads it itself, by the
                // peer's descriptor (Linux; the peer's PID from SO_PEERCRED, not from the CLI).
                // A test hook names a path the runner cannot open instead: the fallback's test.
                const path =
                  testHooks && process.env.NCW_TEST_CMDIN_HOST !== undefined
                    ? process.env.NCW_TEST_CMDIN_HOST
                    : cmdinHostPath(peer.pid);
                if (m.cmdinDirect !== undefined && path !== undefined)
                  commandPipes.hostInput = { path, dev: m.cmdinDirect.dev, ino: m.cmdinDirect.ino };
                const ids = Object.fromEntries(
                  Object.entries(commandPipes.app).map(([n, a]) => [n, a.id]),
                ) as unknown as CommandPipeIds;
                context = build(runnable.anid, ids);
              } catch (e) {
                // No shared memory on this host: the command runs without pipes (identifiers 0).
                log(`ncw run ${runnable.name}: no command pipes: ${(e as Error).message}`);
                send({
                  t: "trace",
                  run,
                  pid: 0,
                  line: `no command pipes (the host gave no shared memory: ${(e as Error).message}); the app runs without them`,
                });
              }
            }
            // Bit 4 of the startup reason (the context's first byte): started after a crash.
            if (crash.afterCrash) context.bytes[0]! |= StartupBit.AFTER_CRASH;
            let started: ReturnType<typeof kernel.spawn>;
            try {
              started = kernel.spawn({
                ...(commandPipes ? { commandPipes } : {}),
                ...(proxyLink ? { proxyLink } : {}),
                name: runnable.name,
                wasm: runnable.wasm,
                context: context.bytes,
                anid: context.anid,
                ppid: 0,
                trace: m.trace,
                session,
                priority: m.priority,
                memoryBytes,
                userName: m.user,
                ...(sandbox === undefined ? {} : { sandbox }),
              });
            } catch (e) {
              // A run that did not start leaves no link behind (the proxy's ends go with it), and no
              // pipe named by a process that does not exist (a handed-on CMDRAW's writer is told).
              if (proxyLink) kernel.abandonProxyLink(proxyLink);
              if (commandPipes) kernel.abandonCommandPipes(commandPipes);
              throw e;
            }
            kernel.perm.startRun(started.pid, upfront.allow, upfront.deny);
            crash.started(started.pid);
          })()
            .finally(() => {
              // Refused after naming an earlier run's CMDRAW: that pipe is closed (now, or once it
              // exists), its writer is not left waiting for this run.
              if (from !== undefined && !consumed)
                void from.pipe.then((pipe) => pipe && releaseHandedOn(pipe));
              // Refused before its pipes existed: the run waiting for its CMDRAW is told so.
              handOff?.settle(undefined);
            })
            .catch((e: unknown) => {
              // Whatever failed after the program was found (the crash-save lookup, the memory size, the
              // spawn, the grants) ends this run with an error, never the kernel (an unhandled rejection
              // would stop it, and every other session with it).
              const err = e as Partial<NcwError> & Error;
              log(`ncw run ${m.path}: ${err.stack ?? err.message}`);
              if (conn.destroyed) return;
              send({
                t: "error",
                run,
                code: err.code ?? "RUN_UNEXPECTED",
                message: `the kernel could not start the run: ${err.message}`,
              });
            });
          return;
        }
        case "hydre-ran": {
          const resolve = lines.get(m.id);
          if (resolve === undefined) return;
          lines.delete(m.id);
          if (m.outcome === "ran")
            resolve({
              kind: "ran",
              status: m.status === 0 ? 0 : 1,
              value: m.value instanceof Uint8Array ? m.value : new Uint8Array(0),
            });
          else resolve({ kind: m.outcome === "bad-line" ? "bad-line" : "check-failed" });
          return;
        }
        case "window-size": {
          const size = windowSize(m);
          if (size === undefined) return;
          terminal.size = size;
          kernel.windowResized(terminal);
          return;
        }
        case "signal": {
          onLiveProcess(m.pid, (p) => kernel.signal(p, m.signal));
          return;
        }
        case "command-raw-done": {
          // The process may have ended already: found by this session's own list.
          const pipe = heldRaw.get(m.pid);
          if (pipe === undefined) return;
          heldRaw.delete(m.pid);
          kernel.releaseHeldPipe(pipe);
          return;
        }
        case "command-mapped":
        case "command-closed":
        case "command-finished":
        case "command-faulty": {
          // Only the session that started a command acts on its pipes; anything else is ignored.
          const p = kernel.processes.get(m.pid);
          const set = p?.commandPipes;
          if (p === undefined || set === undefined || !commands.includes(set)) return;
          if (m.t === "command-mapped") unpinCommandPipes(kernel.pipes, set);
          else if (m.t === "command-closed") {
            if (m.pipe === "cmdin" || m.pipe === "cmdusr") kernel.closeCommandPipe(p, m.pipe);
          } else if (m.t === "command-finished") kernel.finishCommand(p);
          else kernel.kill(p, `faulty command: ${String(m.reason).slice(0, 500)}`);
          return;
        }
        case "kill": {
          onLiveProcess(m.pid, (p) => kernel.kill(p, "killed with ncw kill"));
          return;
        }
        case "priority": {
          onLiveProcess(m.pid, (p) => kernel.setPriority(p, m.priority));
          return;
        }
        case "ps":
          send({
            t: "ps",
            processes: kernel.processList(),
          });
          return;
        case "commands":
          // Read-only, like a run's program lookup: the tree's reader is loaded here already.
          void (async () => {
            try {
              const shell = await import("../../services/shell/commands.js");
              let commands: InstalledCommand[];
              if (m.package !== undefined) {
                const { readPackageFile } = await import("../../ncw/package/package.js");
                commands = shell.packageCommands((await readPackageFile(m.package)).manifest);
              } else {
                const { withSkyerQuery } = await import("../../services/skyer/query.js");
                commands = await withSkyerQuery(home, (q) =>
                  shell.installedCommands(q, m.user, m.aid),
                );
              }
              if (!conn.destroyed) send({ t: "commands", commands });
            } catch (e) {
              if (conn.destroyed) return;
              const err = e as Partial<NcwError> & Error;
              send({
                t: "error",
                code: err.code ?? "KERNEL_COMMANDS",
                message: err.message,
                ...(err.kind ? { kind: err.kind } : {}),
                ...(err.hint ? { hint: err.hint } : {}),
              });
            }
          })();
          return;
        case "tree":
          void tree.handle(m.id, m.op).then(send);
          return;
        case "mounts":
          // The table again, taken by sys::fs between two of its calls (docs/sysfs.md "Host mounts").
          void (async () => {
            try {
              const r = await kernel.sysfs?.setMounts(tree.mounts());
              log(`host mounts re-read: ${r?.added ?? 0} added, ${r?.removed ?? 0} removed`);
              send({ t: "ok" });
            } catch (e) {
              send({ t: "error", code: "MOUNT_KERNEL", message: (e as Error).message });
            }
          })();
          return;
        case "shutdown":
          send({ t: "ok" });
          stop("asked by ncw", true);
          return;
        case "test-ask":
        case "test-echo":
          if (!testHooks) {
            send({
              t: "error",
              code: "KERNEL_NO_TEST_HOOKS",
              message: "this kernel was not started with NCW_KERNEL_TEST_HOOKS=1",
            });
          } else if (m.t === "test-ask") {
            // A question the session refuses (no "deny" among the choices…) is an error, never a crash.
            void Promise.resolve()
              .then(() => client.ask({ kind: "permission", text: m.text, choices: m.choices }))
              .then((choice) => send({ t: "test-answered", choice }))
              .catch((e: Error) =>
                send({ t: "error", code: "KERNEL_BAD_ASK", message: e.message }),
              );
          } else {
            client.echo(m.pid);
            send({ t: "ok" });
          }
          return;
      }
    };
    conn.on("error", () => {});
    conn.on("close", () => {
      writable = [];
      gone.abort(); // cancels this client's compiles
      client.close();
      clients--;
      kernel.dropSession(connection);
      // Its processes are killed: the streams it held open end (kernel.releaseHeldPipe).
      for (const pipe of heldRaw.values()) kernel.releaseHeldPipe(pipe);
      heldRaw.clear();
      for (const set of commands.splice(0)) unpinCommandPipes(kernel.pipes, set);
      // Pipes handed on that no run took are closed; hand-offs still waited for settle.
      for (const h of handOffs) {
        h.settle(undefined);
        if (!h.taken) void h.pipe.then((pipe) => pipe && releaseHandedOn(pipe));
      }
      handedOn.clear();
      handOffs.clear();
      checkIdle();
    });
  });

  pool.fill();
  checkIdle();
  setTimeout(() => void loadProgramModule().catch(() => {}), 50);
}

/** A run's CMDRAW handed on to a later run of its session (protocol.ts `run`'s `cmdraw: "next"`). */
interface HandedOn {
  /** The pipe once the run's pipes exist; undefined: the run was refused, or the session ended. */
  readonly pipe: Promise<KPipe | undefined>;
  settle(pipe: KPipe | undefined): void;
  /** A later run's request named it (it closes the pipe if it is refused in turn). */
  taken: boolean;
}

function handedOnPipe(): HandedOn {
  let settle!: (pipe: KPipe | undefined) => void;
  const pipe = new Promise<KPipe | undefined>((r) => {
    settle = r;
  });
  return { pipe, settle, taken: false };
}

main().catch((e: Error) => {
  process.stderr.write(`ncw kernel: ${e.stack ?? e.message}\n`);
  process.exit(70);
});
