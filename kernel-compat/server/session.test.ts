// The two-way session (docs/kernel.md, "The session") through a real Unix socket: the kernel's
// ClientSession on one end, the CLI's KernelConnection on the other. Questions and their answers,
// "deny" without a terminal or once the CLI is gone, and stdio frames with their credit window.

import { mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { type AskHandler, KernelConnection } from "../client.js";
import { type ClientMessage, DENY, FrameReader } from "../protocol.js";
import {
  MAX_STDIO_FRAME,
  MAX_STDIO_QUEUE,
  STDIO_WINDOW,
  StdioProtocolError,
  StdioSender,
} from "../stdio.js";
import { ClientSession, MAX_PENDING_ASKS } from "./session.js";

const dir = mkdtempSync(path.join(tmpdir(), "ncw-session-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

interface Pair {
  kernel: ClientSession;
  /** Every message the kernel side received, in order. */
  received: ClientMessage[];
  client: KernelConnection;
  /** The kernel side's socket. */
  sock: net.Socket;
  /** The kernel side's stdio errors (a peer breaking the rules). */
  errors: Error[];
  close(): void;
}

/** A listening socket whose one connection gets a ClientSession fed what it reads, as main.ts does. */
async function pair(opts: { terminal: boolean; ask?: AskHandler }): Promise<Pair> {
  const sockPath = path.join(dir, `s${n++}.sock`);
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(sockPath, r));
  const accepted = new Promise<{ sock: net.Socket; kernel: ClientSession }>((resolve) =>
    server.once("connection", (sock) => resolve({ sock, kernel: new ClientSession(sock) })),
  );
  const c = net.connect(sockPath);
  await new Promise<void>((r) => c.once("connect", () => r()));
  const client = new KernelConnection(c, 0, opts.ask);
  const { sock, kernel } = await accepted;
  kernel.terminal = opts.terminal;
  const received: ClientMessage[] = [];
  const errors: Error[] = [];
  const reader = new FrameReader<ClientMessage>();
  sock.on("data", (chunk) => {
    for (const m of reader.push(chunk)) {
      received.push(m);
      try {
        kernel.receive(m);
      } catch (e) {
        errors.push(e as Error);
      }
    }
  });
  sock.on("close", () => kernel.close());
  sock.on("error", () => {});
  return {
    kernel,
    received,
    client,
    sock,
    errors,
    close: () => {
      client.close();
      sock.destroy();
      server.close();
    },
  };
}

const until = async (cond: () => boolean, ms = 3000) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 5));
  }
};

const question = {
  kind: "permission" as const,
  text: "let it read /home?",
  choices: ["once", "deny"],
};

describe("the session: the kernel asks, the CLI answers", () => {
  it("a question reaches the CLI's handler and its answer comes back", async () => {
    const seen: string[] = [];
    const p = await pair({
      terminal: true,
      ask: async (q) => {
        seen.push(`${q.kind}: ${q.text} [${q.choices.join("/")}]`);
        return "once";
      },
    });
    try {
      expect(await p.kernel.ask(question)).toBe("once");
      expect(seen).toEqual(["permission: let it read /home? [once/deny]"]);
      expect(p.received).toEqual([{ t: "answer", id: 1, choice: "once" }]);
      expect(p.kernel.pendingAsks).toBe(0);
    } finally {
      p.close();
    }
  });

  it("the kernel waits for the answer: nothing resolves before the user chooses", async () => {
    let choose: (c: string) => void = () => {};
    const p = await pair({
      terminal: true,
      ask: () => new Promise<string>((r) => (choose = r)),
    });
    try {
      let answer: string | undefined;
      void p.kernel.ask(question).then((a) => (answer = a));
      await new Promise((r) => setTimeout(r, 50));
      expect(answer).toBeUndefined();
      expect(p.kernel.pendingAsks).toBe(1);
      choose("once");
      await until(() => answer !== undefined);
      expect(answer).toBe("once");
    } finally {
      p.close();
    }
  });

  it("a session without a terminal answers deny, and nothing is sent to the CLI", async () => {
    let asked = 0;
    const p = await pair({
      terminal: false,
      ask: async () => {
        asked++;
        return "once";
      },
    });
    try {
      expect(await p.kernel.ask(question)).toBe(DENY);
      await new Promise((r) => setTimeout(r, 30));
      expect(asked).toBe(0);
    } finally {
      p.close();
    }
  });

  it("a CLI without an ask handler answers deny to a question it gets", async () => {
    const p = await pair({ terminal: true });
    try {
      expect(await p.kernel.ask(question)).toBe(DENY);
      expect(p.received).toEqual([{ t: "answer", id: 1, choice: DENY }]);
    } finally {
      p.close();
    }
  });

  it("a question whose session goes away resolves as denied", async () => {
    const p = await pair({ terminal: true, ask: () => new Promise<string>(() => {}) });
    const pending = p.kernel.ask(question);
    await until(() => p.kernel.pendingAsks === 1);
    p.client.close();
    expect(await pending).toBe(DENY);
    // And a question after that is denied at once.
    expect(await p.kernel.ask(question)).toBe(DENY);
    p.close();
  });

  it("an answer that is not one of the choices is a deny; a late or unknown answer is ignored", async () => {
    const p = await pair({ terminal: true, ask: () => new Promise<string>(() => {}) });
    try {
      const pending = p.kernel.ask(question);
      await until(() => p.kernel.pendingAsks === 1);
      p.client.send({ t: "answer", id: 99, choice: "once" });
      p.client.send({ t: "answer", id: 1, choice: "forever" });
      expect(await pending).toBe(DENY);
      p.client.send({ t: "answer", id: 1, choice: "once" });
      await until(() => p.received.length === 3);
      expect(p.kernel.pendingAsks).toBe(0);
    } finally {
      p.close();
    }
  });

  it("is bounded: questions beyond the pending limit are denied without asking", async () => {
    let asked = 0;
    const p = await pair({
      terminal: true,
      ask: () => {
        asked++;
        return new Promise<string>(() => {});
      },
    });
    try {
      const all = Array.from({ length: MAX_PENDING_ASKS + 1 }, () => p.kernel.ask(question));
      expect(await all[MAX_PENDING_ASKS]).toBe(DENY);
      await until(() => asked === MAX_PENDING_ASKS);
      expect(p.kernel.pendingAsks).toBe(MAX_PENDING_ASKS);
      expect(() => p.kernel.ask({ ...question, choices: ["once"] })).toThrow(/deny/);
      expect(() => p.kernel.ask({ ...question, text: "x".repeat(5000) })).toThrow(RangeError);
    } finally {
      p.close();
    }
  });
});

describe("the session: stdio frames with back-pressure", () => {
  it("stdout bytes reach the CLI in order, in frames of at most MAX_STDIO_FRAME, then eof", async () => {
    const p = await pair({ terminal: false });
    try {
      const got: Uint8Array[] = [];
      let eof = false;
      p.client.stdio.receive(7, "out", {
        data: (b, release) => {
          got.push(b);
          release();
        },
        eof: () => {
          eof = true;
        },
      });
      const out = p.kernel.stdio.sender(7, "out");
      const big = new Uint8Array(3 * MAX_STDIO_FRAME + 5).map((_, i) => i & 0xff);
      out.write(new TextEncoder().encode("hello "));
      out.write(big);
      out.end();
      await until(() => eof);
      expect(got.every((b) => b.length <= MAX_STDIO_FRAME)).toBe(true);
      const all = Buffer.concat(got);
      expect(all.subarray(0, 6).toString()).toBe("hello ");
      expect(Buffer.compare(all.subarray(6), Buffer.from(big))).toBe(0);
    } finally {
      p.close();
    }
  });

  it("a reader that does not consume holds the writer at the window: no byte beyond it is sent", async () => {
    const p = await pair({ terminal: false });
    try {
      const held: Array<() => void> = [];
      let got = 0;
      p.kernel.stdio.receive(3, "in", {
        data: (b, release) => {
          got += b.length;
          held.push(release);
        },
        eof: () => {},
      });
      const stdin = p.client.stdio.sender(3, "in");
      const chunks = (2 * STDIO_WINDOW) / 1024 + 1;
      const total = chunks * 1024;
      let ok = true;
      for (let i = 0; i < chunks; i++) ok = stdin.write(new Uint8Array(1024));
      expect(ok).toBe(false);
      await until(() => got === STDIO_WINDOW);
      await new Promise((r) => setTimeout(r, 50));
      expect(got).toBe(STDIO_WINDOW);
      expect(stdin.pending).toBe(total - STDIO_WINDOW);
      let drained = false;
      void stdin.drained().then(() => (drained = true));
      for (const r of held.splice(0)) r();
      await until(() => got === 2 * STDIO_WINDOW);
      await until(() => drained);
      for (const r of held.splice(0)) r();
      await until(() => got === total);
      expect(stdin.pending).toBe(0);

      expect(p.errors).toEqual([]);
    } finally {
      p.close();
    }
  });

  it("a peer that overruns its credit, writes a stream nobody opened, or credits too much is refused", async () => {
    const p = await pair({ terminal: false });
    try {
      p.kernel.stdio.receive(3, "in", { data: () => {}, eof: () => {} });
      // Raw frames, as a broken CLI would send them, past the sender's own accounting.
      for (let i = 0; i <= STDIO_WINDOW / MAX_STDIO_FRAME; i++)
        p.client.send({ t: "stdio", pid: 3, stream: "in", bytes: new Uint8Array(MAX_STDIO_FRAME) });
      p.client.send({ t: "stdio", pid: 4, stream: "in", bytes: new Uint8Array(1) });
      p.client.send({ t: "stdio-credit", pid: 3, stream: "out", bytes: 10 });
      p.client.send({ t: "stdio", pid: 3, stream: "in", bytes: "text" as unknown as Uint8Array });
      await until(() => p.errors.length === 4);
      expect(p.errors.every((e) => e instanceof StdioProtocolError)).toBe(true);
      expect(p.errors.map((e) => e.message)).toEqual([
        expect.stringMatching(/overran its credit/),
        expect.stringMatching(/no such stream/),
        expect.stringMatching(/does not write/),
        expect.stringMatching(/malformed stdio/),
      ]);
      // The direction is fixed: the kernel never writes stdin, the CLI never writes stdout.
      expect(() => p.kernel.stdio.sender(3, "in")).toThrow(RangeError);
      expect(() => p.client.stdio.sender(3, "out")).toThrow(RangeError);
    } finally {
      p.close();
    }
  });

  it("a writer that ignores back-pressure cannot queue without bound", () => {
    const sent: number[] = [];
    const s = new StdioSender(1, "in", (m) => {
      if (m.t === "stdio") sent.push(m.bytes.length);
    });
    expect(() => s.write(new Uint8Array(MAX_STDIO_QUEUE + 1))).toThrow(RangeError);
    expect(s.write(new Uint8Array(MAX_STDIO_QUEUE))).toBe(false);
    expect(sent.reduce((a, b) => a + b, 0)).toBe(STDIO_WINDOW);
    expect(s.write(new Uint8Array(STDIO_WINDOW))).toBe(false);
    expect(s.pending).toBe(MAX_STDIO_QUEUE);
    expect(() => s.write(new Uint8Array(1))).toThrow(/must wait for drained/);
  });

  it("a session that ends gives every stdin reader its eof", async () => {
    const p = await pair({ terminal: false });
    let eof = false;
    p.kernel.stdio.receive(5, "in", { data: () => {}, eof: () => (eof = true) });
    p.client.close();
    await until(() => eof);
    p.close();
  });
});
