// The two-way CLI↔kernel session through the real kernel server (docs/kernel.md, "The session"), with
// the kernel's test hooks (NCW_KERNEL_TEST_HOOKS=1) standing in for the syscalls that will use it:
// the kernel asks and waits for the CLI's answer, a CLI without a terminal is answered "deny", and
// stdin travels to the kernel and back as stdio frames under the credit window.

import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import type { AskHandler } from "../kernel-compat/client.js";
import { program, TestHome, waitFor } from "./kernel-helpers.js";

const dist = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "dist");
const client = (await import(
  path.join(dist, "kernel-compat", "client.js")
)) as typeof import("../kernel-compat/client.js");
const stdio = (await import(
  path.join(dist, "kernel-compat", "stdio.js")
)) as typeof import("../kernel-compat/stdio.js");
const { openHome } = (await import(
  path.join(dist, "ncw", "home.js")
)) as typeof import("../ncw/home.js");

const hooked = new TestHome();
const plain = new TestHome();
afterAll(() => {
  hooked.cleanup();
  plain.cleanup();
});

/** Connect to the home's kernel, starting it with `env` (the kernel inherits the environment). */
async function connect(h: TestHome, env: Record<string, string>, ask?: AskHandler) {
  const saved = { ...process.env };
  Object.assign(process.env, { NCW_KERNEL_IDLE_MS: "4000", NCW_RUNNER_POOL: "0" }, env);
  try {
    const c = await client.connectKernel(openHome(h.home), {
      start: true,
      ...(ask ? { ask } : {}),
    });
    if (c === undefined) throw new Error("unreachable: start");
    return c;
  } finally {
    for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
    Object.assign(process.env, saved);
  }
}

const HOOKS = { NCW_KERNEL_TEST_HOOKS: "1" };

function testAsk(c: Awaited<ReturnType<typeof connect>>, choices = ["once", "deny"]) {
  return c.request({ t: "test-ask", text: "let it read /home?", choices }, (r) =>
    r.t === "test-answered" ? r.choice : undefined,
  );
}

describe("the session through the kernel server: questions", () => {
  it("the kernel's question reaches the CLI's handler; the kernel gets the answer", async () => {
    const asked: string[] = [];
    const c = await connect(hooked, HOOKS, async (q) => {
      asked.push(`${q.kind}: ${q.text} [${q.choices.join("/")}]`);
      return "once";
    });
    try {
      expect(await testAsk(c)).toBe("once");
      expect(asked).toEqual(["permission: let it read /home? [once/deny]"]);
    } finally {
      c.close();
    }
  });

  it("a CLI without a terminal (no ask handler) is never asked: the answer is deny", async () => {
    const c = await connect(hooked, HOOKS);
    try {
      expect(await testAsk(c)).toBe("deny");
    } finally {
      c.close();
    }
  });

  it("a question must offer deny; a kernel without the hooks refuses them", async () => {
    const c = await connect(hooked, HOOKS, async () => "once");
    try {
      await expect(testAsk(c, ["once"])).rejects.toMatchObject({ code: "KERNEL_BAD_ASK" });
    } finally {
      c.close();
    }
    const p = await connect(plain, {});
    try {
      await expect(testAsk(p)).rejects.toMatchObject({ code: "KERNEL_NO_TEST_HOOKS" });
    } finally {
      p.close();
    }
  });
});

describe("the session through the kernel server: stdio frames", () => {
  it("stdin goes to the kernel and back as stdout, in order, held at the window by a slow reader", async () => {
    const c = await connect(hooked, HOOKS);
    try {
      const pid = 77;
      const chunks: Uint8Array[] = [];
      const held: Array<() => void> = [];
      let hold = true;
      let eof = false;
      c.stdio.receive(pid, "out", {
        data: (b, release) => {
          chunks.push(b);
          if (hold) held.push(release);
          else release();
        },
        eof: () => {
          eof = true;
        },
      });
      await c.request({ t: "test-echo", pid }, (r) => (r.t === "ok" ? true : undefined));
      const stdin = c.stdio.sender(pid, "in");
      const total = 4 * stdio.STDIO_WINDOW;
      const data = new Uint8Array(total).map((_, i) => (i * 7) & 0xff);
      stdin.write(data);
      stdin.end();
      const got = () => chunks.reduce((n, b) => n + b.length, 0);
      // The CLI reads nothing more: the kernel's stdout window fills, then its stdin window; the rest
      // waits in the CLI's queue. Nothing is lost and nothing runs away.
      expect(await waitFor(() => got() === stdio.STDIO_WINDOW, 10_000)).toBe(true);
      await new Promise((r) => setTimeout(r, 200));
      expect(got()).toBe(stdio.STDIO_WINDOW);
      expect(stdin.pending).toBeGreaterThanOrEqual(total - 3 * stdio.STDIO_WINDOW);
      hold = false;
      for (const r of held.splice(0)) r();
      expect(await waitFor(() => eof, 10_000)).toBe(true);
      expect(Buffer.compare(Buffer.concat(chunks), Buffer.from(data))).toBe(0);
      expect(chunks.every((b) => b.length <= stdio.MAX_STDIO_FRAME)).toBe(true);
    } finally {
      c.close();
    }
  });

  it("a frame larger than MAX_STDIO_FRAME, or for a stream nobody opened, cuts the CLI off", async () => {
    for (const bad of [
      { pid: 5, bytes: new Uint8Array(stdio.MAX_STDIO_FRAME + 1) },
      { pid: 999, bytes: new Uint8Array(1) },
    ]) {
      const c = await connect(hooked, HOOKS);
      const errors: string[] = [];
      c.onMessage((m) => {
        if (m.t === "error") errors.push(m.code);
      });
      await c.request({ t: "test-echo", pid: 5 }, (r) => (r.t === "ok" ? true : undefined));
      c.send({ t: "stdio", pid: bad.pid, stream: "in", bytes: bad.bytes });
      expect(await waitFor(() => c.closed, 10_000)).toBe(true);
      expect(errors).toEqual(["KERNEL_BAD_FRAME"]);
    }
    // The kernel itself goes on serving.
    const c = await connect(hooked, HOOKS);
    expect(await testAsk(c)).toBe("deny");
    c.close();
  });
});

describe("the run request: typed arguments, the kernel builds the context", () => {
  it("a typed argument arrives as its type, with the ANID the request names", async () => {
    // Reads the arguments (EXECUTION_CONTEXT 0x03) and the header (0x02): exits with the first value's
    // type code, its low byte and the ANID's low byte.
    const f = hooked.write(
      "typed.wat",
      program(`(drop (call $s8_64 (i32.const 0xa0) (i32.const 3) (i64.const 0x3000)))
        (drop (call $s8_64 (i32.const 0xa0) (i32.const 2) (i64.const 0x4000)))
        (call $exit (i64.or (i64.or
          (i64.shl (i64.extend_i32_u (i32.load8_u (i32.const 0x3008))) (i64.const 16))
          (i64.shl (i64.extend_i32_u (i32.load8_u (i32.const 0x3009))) (i64.const 8)))
          (i64.extend_i32_u (i32.load8_u (i32.const 0x400c)))))`),
    );
    const saved = process.env.NCW_KERNEL_IDLE_MS;
    process.env.NCW_KERNEL_IDLE_MS = "4000";
    try {
      const outcome = await client.runToEnd(openHome(hooked.home), {
        path: f,
        args: [{ type: "int", value: 42n }],
        startup: { kind: "command", callerAnid: 0 },
        anid: 0x1234_5677,
      });
      // 0x02 = int, 42 = 0x2a, ANID low byte 0x77.
      expect(outcome).toEqual({ kind: "exit", exitData: 0x02_2a_77n });
    } finally {
      if (saved === undefined) delete process.env.NCW_KERNEL_IDLE_MS;
      else process.env.NCW_KERNEL_IDLE_MS = saved;
    }
  });

  it("a value of the wrong shape is refused before anything runs (RUN_BAD_ARGUMENTS)", async () => {
    const f = hooked.write("never.wat", program("(call $exit (i64.const 0))"));
    await expect(
      client.runToEnd(openHome(hooked.home), {
        path: f,
        args: [{ type: "char", value: "two" }],
        startup: { kind: "command", callerAnid: 0 },
      }),
    ).rejects.toMatchObject({ code: "RUN_BAD_ARGUMENTS", kind: "usage" });
  });
});
