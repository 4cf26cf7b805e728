// Run ids on the CLI↔kernel session (docs/kernel.md "Runs on one connection"): every message about a
// run carries the id its `run` request gave, and the client takes only its own. First against a
// scripted kernel on a socket, which sends messages in the orders a real kernel can but a test cannot
// reliably provoke (another run's late `exited` before this run's `started`); then through the real
// kernel server; then the CLI in front of a kernel of another protocol version.

import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { forkPair, program, TestHome } from "./kernel-helpers.js";

const dist = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "dist");
const client = (await import(
  path.join(dist, "kernel-compat", "client.js")
)) as typeof import("../kernel-compat/client.js");
const protocol = (await import(
  path.join(dist, "kernel-compat", "protocol.js")
)) as typeof import("../kernel-compat/protocol.js");
const { openHome } = (await import(
  path.join(dist, "ncw", "home.js")
)) as typeof import("../ncw/home.js");
const { kernelEndpoint } = (await import(
  path.join(dist, "kernel-compat", "paths.js")
)) as typeof import("../kernel-compat/paths.js");
const { hostNative } = (await import(
  path.join(dist, "native", "index.js")
)) as typeof import("../native/index.js");

type ClientMessage = import("../kernel-compat/protocol.js").ClientMessage;
type KernelMessage = import("../kernel-compat/protocol.js").KernelMessage;
type RunMessage = Extract<ClientMessage, { t: "run" }>;

const tmp = mkdtempSync(path.join(os.tmpdir(), "ncw-runids-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/**
 * A scripted kernel on a socket of its own: `onRun` gets each `run` request and the function that
 * sends kernel messages; `onRequest` any other message. The client side is a KernelConnection.
 */
async function scripted(
  onRun: (m: RunMessage, send: (k: KernelMessage) => void) => void,
  onRequest: (m: ClientMessage, send: (k: KernelMessage) => void) => void = () => {},
) {
  const sockPath = path.join(tmp, `k${Math.random().toString(36).slice(2, 8)}.sock`);
  const server = net.createServer((s) => {
    const reader = new protocol.FrameReader<ClientMessage>();
    const send = (k: KernelMessage) => s.write(protocol.encodeFrame(k));
    s.on("data", (chunk) => {
      for (const m of reader.push(chunk)) {
        if (m.t === "run") onRun(m, send);
        else onRequest(m, send);
      }
    });
    s.on("error", () => {});
  });
  server.listen(sockPath);
  await once(server, "listening");
  const sock = net.connect(sockPath);
  await once(sock, "connect");
  const conn = new client.KernelConnection(sock, 1);
  return {
    conn,
    close: () => {
      conn.close();
      server.close();
    },
  };
}

const req = {
  path: "/nowhere/test.npp",
  user: "user",
  args: [],
  startup: { kind: "event", code: 1 } as const,
  trace: true,
  priority: 10,
};

/** A run's callbacks, recorded. */
function recorder() {
  const started: number[] = [];
  const lines: string[] = [];
  return {
    started,
    lines,
    ev: {
      started: (pid: number) => started.push(pid),
      trace: (pid: number, line: string) => lines.push(`${pid}: ${line}`),
    },
  };
}

const exit = (exitData: bigint) => ({ kind: "exit" as const, exitData });

describe("run ids: a run takes only its own messages", () => {
  it("on one connection, another run's late exited (before this run's started) and trace lines are not this run's", async () => {
    const runs: RunMessage[] = [];
    const k = await scripted((m, send) => {
      runs.push(m);
      if (runs.length === 1) {
        send({ t: "started", run: m.run, pid: 101, hostPid: 0, name: "first" });
        return;
      }
      // The second run's request came: the first run's end and a late line of it come before the
      // second's start, as when the first's process ended while its command was being taken as over.
      const first = runs[0]?.run ?? -1;
      send({ t: "trace", run: first, pid: 101, line: "late line of the first" });
      send({ t: "exited", run: first, pid: 101, outcome: exit(1n) });
      send({ t: "started", run: m.run, pid: 102, hostPid: 0, name: "second" });
      send({ t: "trace", run: m.run, pid: 102, line: "line of the second" });
      send({ t: "exited", run: m.run, pid: 102, outcome: exit(7n) });
    });
    try {
      const a = recorder();
      const b = recorder();
      const first = client.startRun(k.conn, req, a.ev);
      await new Promise<void>((r) => {
        const off = k.conn.onMessage((m) => {
          if (m.t === "started") {
            off();
            r();
          }
        });
      });
      const second = client.startRun(k.conn, req, b.ev);
      expect(await second.done).toEqual(exit(7n));
      expect(await first.done).toEqual(exit(1n));
      expect(second.pid()).toBe(102);
      expect(first.pid()).toBe(101);
      expect(b.started).toEqual([102]);
      expect(b.lines).toEqual(["102: line of the second"]);
      expect(a.lines).toEqual(["101: late line of the first"]);
      // Each request carried an id of its own.
      expect(new Set(runs.map((r) => r.run)).size).toBe(2);
      expect(runs.map((r) => r.run)).toEqual([first.id, second.id]);
    } finally {
      k.close();
    }
  });

  it("a run that ended, and one no longer followed (its value came first), leave no listener on the connection", async () => {
    const k = await scripted((m, send) => {
      send({ t: "started", run: m.run, pid: 200 + m.run, hostPid: 0, name: "t" });
      // Run 1 ends; run 2 runs on (a command whose value came whole).
      if (m.run === 1) send({ t: "exited", run: m.run, pid: 201, outcome: exit(0n) });
    });
    try {
      const idle = k.conn.listening;
      const ended = client.startRun(k.conn, req, recorder().ev);
      expect(await ended.done).toEqual(exit(0n));
      expect(k.conn.listening).toEqual(idle);

      const going = recorder();
      const onGoing = client.startRun(k.conn, req, going.ev);
      await new Promise<void>((r) => {
        const t = setInterval(() => {
          if (going.started.length > 0) {
            clearInterval(t);
            r();
          }
        }, 5);
      });
      expect(k.conn.listening).not.toEqual(idle);
      onGoing.close();
      expect(k.conn.listening).toEqual(idle);

      // A request's listeners go with its answer too.
      const ps = k.conn.request({ t: "ps" }, (m) => (m.t === "ps" ? m.processes : undefined));
      expect(k.conn.listening).not.toEqual(idle);
      // (The scripted kernel answers no ps: the connection closing ends the request.)
      k.close();
      await expect(ps).rejects.toThrow(/closed the connection/);
      expect(k.conn.listening.messages).toBe(0);
    } finally {
      k.close();
    }
  });

  it("a run's refusal is that run's: a request waiting beside it gets its own answer", async () => {
    const k = await scripted(
      (m, send) =>
        send({ t: "error", run: m.run, code: "RUN_NOT_FOUND", message: "no such program" }),
      (m, send) => {
        if (m.t === "ps") setTimeout(() => send({ t: "ps", processes: [] }), 20);
      },
    );
    try {
      const ps = k.conn.request({ t: "ps" }, (m) => (m.t === "ps" ? m.processes : undefined));
      const refused = client.startRun(k.conn, req, recorder().ev);
      await expect(refused.done).rejects.toMatchObject({ code: "RUN_NOT_FOUND" });
      expect(await ps).toEqual([]);
    } finally {
      k.close();
    }
  });
});

const home = new TestHome();
afterAll(() => home.cleanup());

async function connect() {
  const saved = process.env.NCW_KERNEL_IDLE_MS;
  process.env.NCW_KERNEL_IDLE_MS = "4000";
  try {
    const c = await client.connectKernel(openHome(home.home), { start: true });
    if (c === undefined) throw new Error("unreachable: start");
    return c;
  } finally {
    if (saved === undefined) delete process.env.NCW_KERNEL_IDLE_MS;
    else process.env.NCW_KERNEL_IDLE_MS = saved;
  }
}

describe("run ids through the kernel server", () => {
  it("two runs at once and one after on one connection: each gets its own end; every message about a run (a fork child's too) carries its id", async () => {
    const seven = home.write("seven.wat", program("(call $exit (i64.const 7))"));
    const pair = home.write("pair.wat", forkPair("", "", "(func $handlers)"));
    const conn = await connect();
    const seen: KernelMessage[] = [];
    conn.onMessage((m) => seen.push(m));
    try {
      const a = client.startRun(conn, { ...req, path: pair, trace: true }, recorder().ev);
      const b = client.startRun(conn, { ...req, path: seven, trace: false }, recorder().ev);
      expect(await b.done).toEqual(exit(7n));
      expect(await a.done).toEqual(exit(5n));
      const c = client.startRun(conn, { ...req, path: seven, trace: false }, recorder().ev);
      expect(await c.done).toEqual(exit(7n));
      expect(new Set([a.id, b.id, c.id]).size).toBe(3);
      const about = (id: number) =>
        seen
          .filter((m) => "run" in m && m.run === id)
          .map((m) => `${m.t} ${"pid" in m ? m.pid : ""}`);
      const pidA = a.pid();
      // The parent and its fork child started and ended under the parent's run id.
      const forA = about(a.id);
      expect(forA.filter((x) => x.startsWith("started"))).toHaveLength(2);
      expect(forA.filter((x) => x.startsWith("exited"))).toHaveLength(2);
      expect(forA).toContain(`exited ${pidA}`);
      expect(about(b.id)).toEqual([`started ${b.pid()}`, `exited ${b.pid()}`]);
      expect(about(c.id)).toEqual([`started ${c.pid()}`, `exited ${c.pid()}`]);
      // Nothing about a run went without its id.
      const untagged = seen.filter(
        (m) => ["started", "exited", "trace", "command-pipes"].includes(m.t) && !("run" in m),
      );
      expect(untagged).toEqual([]);
      expect(conn.listening.messages).toBe(1); // the recorder of this test only
    } finally {
      conn.close();
    }
  });

  it("a run request without a run id is refused (RUN_NO_ID), nothing started", async () => {
    const conn = await connect();
    try {
      const seven = home.write("seven2.wat", program("(call $exit (i64.const 7))"));
      const answer = conn.request(
        { t: "run", ...req, path: seven } as unknown as ClientMessage,
        () => undefined,
      );
      await expect(answer).rejects.toMatchObject({ code: "RUN_NO_ID" });
    } finally {
      conn.close();
    }
  });
});

describe("a kernel of another protocol version (one started before ncw was upgraded)", () => {
  it("the CLI says so, names the kernel's PID and how to stop it, and sends it nothing more", async () => {
    const other = new TestHome();
    try {
      // Make the home (no kernel is started by ps).
      expect(other.ncw(["ps"]).code).not.toBeNull();
      const native = hostNative();
      const ep = kernelEndpoint(openHome(other.home), native);
      native.secureEndpoint(ep);
      const got: string[] = [];
      const old = net.createServer((s) => {
        const reader = new protocol.FrameReader<ClientMessage>();
        s.on("data", (chunk) => {
          for (const m of reader.push(chunk)) {
            got.push(m.t);
            if (m.t === "hello")
              s.write(
                protocol.encodeFrame({
                  t: "hello",
                  version: protocol.PROTOCOL_VERSION - 1,
                  kernelPid: 424242,
                  startedAt: 0,
                }),
              );
          }
        });
        s.on("error", () => {});
      });
      old.listen(ep.path);
      await once(old, "listening");
      try {
        for (const args of [["ps"], ["run", home.write("never.wat", program(""))]]) {
          got.length = 0;
          const child = other.spawnNcw(args);
          const [code] = (await once(child, "exit")) as [number | null];
          const out = child.output();
          expect(out).toContain(
            `the running kernel server (host PID 424242) speaks protocol version ${protocol.PROTOCOL_VERSION - 1}, and this ncw speaks version ${protocol.PROTOCOL_VERSION}`,
          );
          expect(out).toContain("kill 424242");
          expect(code).toBe(69);
          expect(got).toEqual(["hello"]);
        }
      } finally {
        old.close();
      }
    } finally {
      other.cleanup();
    }
  });
});
