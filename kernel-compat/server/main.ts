// The kernel server's entry point (DIRECTION.md §2): one per NCW home, started detached by the CLI
// (ncw/kernel-client.ts), listening on the home's socket, exiting when idle. Usage:
//   node dist/kernel-compat/server/main.js --home <dir>

import { appendFileSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import type { NcwError } from "../../ncw/errors.js";
import { openHome } from "../../ncw/home.js";
import { kernelLogPath, kernelPidPath, kernelSocketPath } from "../paths.js";
import type { Runnable } from "../program.js";
import {
  type ClientMessage,
  encodeFrame,
  FrameReader,
  type KernelMessage,
  PROTOCOL_VERSION,
} from "../protocol.js";
import { Kernel, type KProcess, readDelays, type SessionSink } from "./kernel.js";
import { DEFAULT_POOL_SIZE, RunnerPool } from "./pool.js";

/** The program resolver loads once per kernel, in the background after start-up (Binaryen is not part
 * of it: compiles run in worker threads, commonassembly/aot/off-thread.ts). */
let programModule: Promise<typeof import("../program.js")> | undefined;
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

function tryConnect(sock: string): Promise<boolean> {
  return new Promise((resolve) => {
    const c = net.connect(sock);
    c.once("connect", () => {
      c.destroy();
      resolve(true);
    });
    c.once("error", () => resolve(false));
  });
}

function listen(server: net.Server, sock: string): Promise<NodeJS.ErrnoException | undefined> {
  return new Promise((resolve) => {
    server.once("error", (e: NodeJS.ErrnoException) => resolve(e));
    server.listen(sock, () => resolve(undefined));
  });
}

async function main(): Promise<void> {
  const homeArg = argValue("--home");
  if (homeArg === undefined) {
    process.stderr.write("usage: main.js --home <dir>\n");
    process.exit(2);
  }
  const home = openHome(homeArg);
  const sock = kernelSocketPath(home);
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

  const server = net.createServer();
  let err = await listen(server, sock);
  if (err?.code === "EADDRINUSE") {
    if (await tryConnect(sock)) {
      log("another kernel already serves this home; exiting");
      process.exit(0);
    }
    rmSync(sock, { force: true }); // stale socket of a kernel that died
    err = await listen(server, sock);
  }
  if (err) {
    log(`cannot listen on ${sock}: ${err.message}`);
    process.stderr.write(`ncw kernel: cannot listen on ${sock}: ${err.message}\n`);
    process.exit(69);
  }
  writeFileSync(kernelPidPath(home), `${process.pid}\n`);
  log(`kernel started on ${sock} (pool ${poolSize}, idle exit ${idleMs} ms)`);

  const pool = new RunnerPool(poolSize, log);
  const kernel = new Kernel(pool, log);
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
      server.close();
      rmSync(sock, { force: true });
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
    setTimeout(() => process.exit(0), 50);
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
    clients++;
    checkIdle();
    const reader = new FrameReader<ClientMessage>();
    /** Aborted when this client disconnects: its `run` compiles are cancelled (compile workers end). */
    const gone = new AbortController();
    const send = (m: KernelMessage) => {
      if (!conn.destroyed) conn.write(encodeFrame(m));
    };
    const session: SessionSink = {
      started: (pid, hostPid, name) => send({ t: "started", pid, hostPid, name }),
      trace: (pid, line) => send({ t: "trace", pid, line }),
      exited: (pid, outcome) => send({ t: "exited", pid, outcome }),
    };
    conn.on("data", (chunk) => {
      let msgs: ClientMessage[];
      try {
        msgs = reader.push(chunk);
      } catch (e) {
        send({ t: "error", code: "KERNEL_BAD_FRAME", message: (e as Error).message });
        conn.destroy();
        return;
      }
      for (const m of msgs) handle(m);
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
      switch (m.t) {
        case "hello":
          send({ t: "hello", version: PROTOCOL_VERSION, kernelPid: process.pid, startedAt });
          return;
        case "run": {
          void (async () => {
            let runnable: Runnable;
            let withAnid: (c: Uint8Array, anid: number) => Uint8Array = (c) => c;
            try {
              const { resolveRunnable, withAnid: setAnid } = await loadProgramModule();
              withAnid = setAnid;
              runnable = await resolveRunnable(m.path, home, gone.signal);
            } catch (e) {
              if (conn.destroyed) return;
              const err = e as Partial<NcwError> & Error;
              send({
                t: "error",
                code: err.code ?? "RUN_UNEXPECTED",
                message: err.message,
                ...(err.kind ? { kind: err.kind } : {}),
                ...(err.hint ? { hint: err.hint } : {}),
              });
              return;
            }
            if (conn.destroyed) return;
            try {
              const { registryDelays } = await import("./registry-delays.js");
              kernel.delays = readDelays(process.env, await registryDelays(home));
            } catch (e) {
              log(
                `registry unreadable, keeping the delays ${JSON.stringify(kernel.delays)}: ${(e as Error).message}`,
              );
            }
            if (m.trace) {
              const how = runnable.aot.cached ? "cached" : "compiled";
              send({
                t: "trace",
                pid: 0,
                line: `${runnable.name}: AOT ${how} in ${runnable.aot.ms.toFixed(1)} ms`,
              });
            }
            kernel.spawn({
              name: runnable.name,
              wasm: runnable.wasm,
              context: runnable.anid === undefined ? m.context : withAnid(m.context, runnable.anid),
              anid: runnable.anid ?? m.anid,
              ppid: 0,
              trace: m.trace,
              session,
              priority: m.priority,
            });
          })();
          return;
        }
        case "signal": {
          onLiveProcess(m.pid, (p) => kernel.signal(p, m.signal));
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
            processes: [...kernel.systemServices(), ...kernel.live().map((p) => kernel.info(p))],
          });
          return;
        case "shutdown":
          send({ t: "ok" });
          stop("asked by ncw", true);
          return;
      }
    };
    conn.on("error", () => {});
    conn.on("close", () => {
      gone.abort(); // cancels this client's compiles
      clients--;
      kernel.dropSession(session);
      checkIdle();
    });
  });

  pool.fill();
  checkIdle();
  setTimeout(() => void loadProgramModule().catch(() => {}), 50);
}

main().catch((e: Error) => {
  process.stderr.write(`ncw kernel: ${e.stack ?? e.message}\n`);
  process.exit(70);
});
