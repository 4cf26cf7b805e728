// Unit tests of the connections to native system services (kernel/system-connections.ts) on the real
// host layer's service sockets: the kernel's end reads a method record and publishes the answer record,
// error answers carry their errcode, notifications create concluded exchanges (open ones when they take
// an answer, which goes back to the service), END and a client's end.

import { describe, expect, it } from "vitest";
import { hostNative } from "../../native/index.js";
import { hostRingMemory, RingReader, RingWriter } from "../ipc/ring.js";
import { decodeSockRecord, SOCK_RECORD_SIZE } from "../ipc/socket-record.js";
import { deliverMessage } from "../syscalls/sockets.js";
import type { KernelApi } from "./api.js";
import type { KProcess } from "./process.js";
import type { KSegment } from "./segments.js";
import { SegmentTable } from "./segments.js";
import { type SendOutcome, SocketTable } from "./sockets.js";
import {
  KERNEL_ERROR_ON_WIRE,
  type NativeServices,
  SystemConnections,
} from "./system-connections.js";

const SERVICE = 20;

/** A service at PID 20: method 5 answers its arguments reversed, 6 the errcode 0x3001, 7 ServiceErr.KERNEL. */
function fakeHost(): NativeServices & { connected: Set<number> } {
  const connected = new Set<number>();
  return {
    connected,
    hosts: (pid) => pid === SERVICE,
    connect: async (_s, c) => {
      connected.add(c);
      return true;
    },
    disconnect: (_s, c) => void connected.delete(c),
    call: async (_s, _c, code, args) => {
      if (code === 5) return { ok: true, answer: args.slice().reverse() };
      if (code === 6) return { ok: false, errcode: 0x3001 };
      return { ok: false, errcode: 0x0000 };
    },
  };
}

describe.skipIf(process.platform !== "linux")("SystemConnections (linux)", () => {
  const native = hostNative();
  const ring = (seg: KSegment) =>
    hostRingMemory({ buffer: seg.bytes.buffer as ArrayBuffer, address: seg.address }, native);

  function setup() {
    const sockets = new SocketTable(new SegmentTable(native), native);
    const host = fakeHost();
    const lines: string[] = [];
    const signals: { pid: number; signal: number; df: Uint8Array }[] = [];
    const client = { pid: 101, anid: 7, state: "running" } as unknown as KProcess;
    let next = 1n;
    const k = {
      sockets,
      grantSocket: async () => true,
      refusedLine: (_p: KProcess, l: string) => lines.push(l),
      appServices: { newId: () => next++, connectionAt: () => undefined },
      processes: { get: (pid: number) => (pid === client.pid ? client : undefined) },
      signal: (p: KProcess, signal: number, o?: { datafield?: Uint8Array }) =>
        signals.push({ pid: p.pid, signal, df: o?.datafield ?? new Uint8Array(32) }),
    } as unknown as KernelApi & { systemConnections: SystemConnections };
    const sc = new SystemConnections(k, host);
    (k as { systemConnections: SystemConnections }).systemConnections = sc;
    return { sockets, host, lines, signals, client, k, sc };
  }

  async function connected() {
    const t = setup();
    const r = await t.sc.connect(t.client, SERVICE, false);
    if (!r.ok) throw new Error(r.why);
    const end = t.sockets.end(t.client.pid, r.socket);
    if (end === undefined) throw new Error("no client end");
    const rings = t.sockets.rings(end);
    const out = new RingWriter(ring(rings.out));
    const inRing = new RingReader(ring(rings.in));
    /** The client's SEND_SOCK_MSG: staged, then the kernel's bookkeeping and delivery. */
    const send = (exchange: bigint, method: number, body: Uint8Array) =>
      out.stage<SendOutcome | "unstaged">(
        SOCK_RECORD_SIZE,
        body,
        false,
        () => "unstaged" as const,
        () => {
          const s = t.sockets.send(end, { exchange, method, errorCode: 0, length: body.length });
          if (s.ok) deliverMessage(t.k, s, body.length);
          return s;
        },
      );
    const read = () =>
      inRing.withRecord(
        SOCK_RECORD_SIZE,
        (bytes, take) => {
          if (bytes === undefined) return undefined;
          const h = decodeSockRecord(bytes);
          if (h === undefined) throw new Error("bad header");
          const body = new Uint8Array(h.length);
          take(body, h.length);
          return { ...h, body: Buffer.from(body).toString("hex") };
        },
        () => undefined,
      );
    return { ...t, r, end, send, read };
  }

  const tick = () => new Promise((resolve) => setTimeout(resolve, 20));

  it("answers a method record with one concluding record and RECV_SOCK_MSG to the client", async () => {
    const t = await connected();
    expect(t.r).toMatchObject({ ok: true, connection: 1n, socket: 1n });
    expect(t.host.connected.has(101)).toBe(true);
    expect(t.send(0n, 5, Uint8Array.of(1, 2, 3))).toMatchObject({ ok: true, exchange: 1n });
    await tick();
    expect(t.read()).toEqual({
      length: 3,
      status: 0x04,
      method: 5,
      exchange: 1n,
      counter: 2,
      errorCode: 0,
      body: "030201",
    });
    // RECV_SOCK_MSG's datafield: socket 8, exchange 8, method 2, size 4, status 1 (docs/ipc.md)
    const sig = t.signals.at(-1);
    expect(sig?.signal).toBe(0x27);
    expect(Buffer.from(sig?.df.subarray(0, 23) ?? []).toString("hex")).toBe(
      "0100000000000000" + "0100000000000000" + "0500" + "03000000" + "04",
    );
    // the exchange is concluded: a message in it is refused
    expect(t.send(1n, 1, new Uint8Array(0))).toEqual({ ok: false, reason: "concluded" });
  });

  it("carries an errcode in the error message's body; ServiceErr.KERNEL as 0xFFFF", async () => {
    const t = await connected();
    t.send(0n, 6, new Uint8Array(0));
    await tick();
    expect(t.read()).toMatchObject({ status: 0x06, errorCode: 0x3001, body: "0130" });
    t.send(0n, 7, new Uint8Array(0));
    await tick();
    expect(KERNEL_ERROR_ON_WIRE).toBe(0xffff);
    expect(t.read()).toMatchObject({ status: 0x06, errorCode: 0xffff, body: "ffff" });
  });

  it("sends a notification as a concluded new exchange", async () => {
    const t = await connected();
    t.sc.notify({ servicePid: SERVICE, clientPid: 101, code: 0xa000, data: Uint8Array.of(9) });
    expect(t.read()).toEqual({
      length: 1,
      status: 0x05,
      method: 0xa000,
      exchange: 1n,
      counter: 1,
      errorCode: 0,
      body: "09",
    });
    expect(t.send(1n, 1, new Uint8Array(0))).toEqual({ ok: false, reason: "concluded" });
    // another client's notification is not this one's
    t.sc.notify({ servicePid: SERVICE, clientPid: 102, code: 0xa000, data: Uint8Array.of(9) });
    expect(t.read()).toBeUndefined();
  });

  it("keeps a notification that takes an answer open, and hands the client's answer back", async () => {
    const t = await connected();
    const answers: string[] = [];
    t.sc.notify({
      servicePid: SERVICE,
      clientPid: 101,
      code: 0x0100,
      data: Uint8Array.of(1, 2),
      onAnswer: (b) => answers.push(Buffer.from(b).toString("hex")),
    });
    // status 0x01: a new exchange, not concluded
    expect(t.read()).toMatchObject({ status: 0x01, method: 0x0100, exchange: 1n, body: "0102" });
    // the client answers in it with the close indicator: the bytes reach the service
    expect(t.send(1n, 1, Uint8Array.of(0, 0))).toMatchObject({ ok: true, exchange: 1n });
    await tick();
    expect(answers).toEqual(["0000"]);
    expect(t.send(1n, 1, Uint8Array.of(0))).toEqual({ ok: false, reason: "concluded" });
    expect(answers).toHaveLength(1);
  });

  it("refuses a second connection without flexible mode; END closes it and tells the service", async () => {
    const t = await connected();
    expect(await t.sc.connect(t.client, SERVICE, false)).toEqual({
      ok: false,
      why: "already-connected",
    });
    expect(await t.sc.connect(t.client, SERVICE, true)).toEqual(t.r);
    expect(await t.sc.connect(t.client, 12, false)).toEqual({ ok: false, why: "not-exposed" });
    if (!t.r.ok) throw new Error();
    expect(t.sc.end(t.client, 99n)).toBeUndefined();
    expect(t.sc.end(t.client, t.r.connection)).toEqual({ ok: true });
    expect(t.end.socket.state).toBe("proper");
    expect(t.host.connected.has(101)).toBe(false);
    expect(t.sc.end(t.client, t.r.connection)).toEqual({ ok: false, why: "closed" });
    expect(t.sc.servicesOf(t.client)).toEqual([]);
    // the kernel no longer names its end: the rings go with the client's identifier
    expect(t.sockets.end(SERVICE, 1n)).toBeUndefined();
  });

  it("closes a dead client's connection brutally", async () => {
    const t = await connected();
    expect(t.sc.servicesOf(t.client)).toEqual([SERVICE]);
    t.sc.processEnded(t.client);
    expect(t.end.socket.state).toBe("brutal");
    expect(t.sc.servicesOf(t.client)).toEqual([]);
  });
});
