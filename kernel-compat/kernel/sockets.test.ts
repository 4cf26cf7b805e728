// Unit tests of the service-socket object (kernel/sockets.ts), its record (ipc/socket-record.ts) and the
// runner's socket table (runner/sockets.ts) on the real host layer: sizes, the exchange rules, staged
// records published by the kernel, closing, the segments' life.

import { describe, expect, it } from "vitest";
import { hostNative } from "../../native/index.js";
import { RingState } from "../ipc/ring.js";
import {
  decodeSockRecord,
  encodeSockRecord,
  SOCK_RECORD_SIZE,
  SockStatus,
} from "../ipc/socket-record.js";
import { type SocketRing, SocketRings, SocketSlots } from "../runner/sockets.js";
import { SegmentTable } from "./segments.js";
import {
  MAX_OPEN_EXCHANGES,
  SOCKET_MIN_RING,
  SOCKET_UNIT,
  type SocketEnd,
  SocketTable,
} from "./sockets.js";

describe("the socket record", () => {
  it("is 24 bytes, as written out by hand", () => {
    const b = encodeSockRecord({
      length: 0x01020304,
      status: 0x05,
      method: 0xa000,
      exchange: 0x1122334455667788n,
      counter: 7,
      errorCode: 0x3001,
    });
    expect(SOCK_RECORD_SIZE).toBe(24);
    expect(Buffer.from(b).toString("hex")).toBe(
      "04030201" + "05" + "00" + "00a0" + "8877665544332211" + "07000000" + "0130" + "0000",
    );
    expect(decodeSockRecord(b)).toEqual({
      length: 0x01020304,
      status: 5,
      method: 0xa000,
      exchange: 0x1122334455667788n,
      counter: 7,
      errorCode: 0x3001,
    });
    // reserved bytes must be zero; a short buffer is no header
    b[5] = 1;
    expect(decodeSockRecord(b)).toBeUndefined();
    expect(decodeSockRecord(new Uint8Array(23))).toBeUndefined();
  });
});

describe.skipIf(process.platform !== "linux")("SocketTable (linux)", () => {
  const native = hostNative();
  const service = { pid: 100, anid: 5 };
  const client = { pid: 101, anid: 5 };

  /** The runner's view of `end`, as a thread maps it from its table. */
  function runnerView(t: SocketTable, end: SocketEnd, handle: bigint): SocketRing {
    const slots = new SocketSlots();
    const r = t.rings(end);
    slots.add({
      handle,
      out: { name: r.out.name, size: r.out.size },
      in: { name: r.in.name, size: r.in.size },
      maxMessage: end.socket.maxMessage,
    });
    const ring = new SocketRings(slots).get(handle);
    if (ring === undefined) throw new Error("not mapped");
    return ring;
  }

  /** Stage `body` as the runner does, then let the kernel decide (`send`). */
  function send(
    t: SocketTable,
    view: SocketRing,
    end: SocketEnd,
    m: { exchange: bigint; method?: number; errorCode?: number },
    body = new Uint8Array(0),
  ) {
    return view.out.stage<{ ok: boolean; reason?: string }>(
      SOCK_RECORD_SIZE,
      body,
      false,
      (reason) => ({ ok: false as const, reason }),
      () =>
        t.send(end, {
          exchange: m.exchange,
          method: m.method ?? 0,
          errorCode: m.errorCode ?? 0,
          length: body.length,
        }),
    );
  }

  /** The next record on `view`'s ring, read as READ_SOCK_MSG does. */
  function read(view: SocketRing) {
    return view.in.withRecord(
      SOCK_RECORD_SIZE,
      (h, take) => {
        if (h === undefined) return undefined;
        const header = decodeSockRecord(h);
        if (header === undefined) throw new Error("bad header");
        const body = new Uint8Array(header.length);
        take(body, header.length);
        return { ...header, body: [...body] };
      },
      () => undefined,
    );
  }

  it("sizes: 4 KiB × the multiplier (0 counts as 1), rings of at least 64 KiB, owned by the kernel", () => {
    const segs = new SegmentTable(native);
    const t = new SocketTable(segs, native);
    const a = t.open(service, client, { multiplier: 0 });
    const b = t.open(service, client, { multiplier: 0xffff });
    expect(a.socket.maxMessage).toBe(SOCKET_UNIT);
    expect(a.socket.multiplier).toBe(1);
    expect(b.socket.maxMessage).toBe(0xffff * SOCKET_UNIT);
    expect([a.serviceId, a.clientId, b.serviceId, b.clientId]).toEqual([1n, 1n, 2n, 2n]);
    const va = runnerView(t, a.socket.serviceEnd, a.serviceId);
    expect(va.out.capacity).toBe(SOCKET_MIN_RING);
    const vb = runnerView(t, b.socket.clientEnd, b.clientId);
    expect(vb.out.capacity).toBe(0xffff * SOCKET_UNIT + SOCK_RECORD_SIZE);
    expect(segs.ownedBy(100)).toEqual([]);
  });

  it("the exchange rules: identifiers from 1, counters, turns, conclusion by error or close indicator", () => {
    const t = new SocketTable(new SegmentTable(native), native);
    const { socket, serviceId, clientId } = t.open(service, client, { multiplier: 1 });
    const s = runnerView(t, socket.serviceEnd, serviceId);
    const c = runnerView(t, socket.clientEnd, clientId);
    const C = socket.clientEnd;
    const S = socket.serviceEnd;
    expect(send(t, c, C, { exchange: 0n, method: 0x4002 }, new Uint8Array([1, 2]))).toEqual({
      ok: true,
      exchange: 1n,
      counter: 1,
      status: SockStatus.NEW_EXCHANGE,
      method: 0x4002,
      receiver: S,
    });
    expect(read(s)).toEqual({
      length: 2,
      status: SockStatus.NEW_EXCHANGE,
      method: 0x4002,
      exchange: 1n,
      counter: 1,
      errorCode: 0,
      body: [1, 2],
    });
    expect(read(s)).toBeUndefined();
    // the client cannot send twice; refused, nothing is published
    expect(send(t, c, C, { exchange: 1n }, new Uint8Array([9]))).toEqual({
      ok: false,
      reason: "not-your-turn",
    });
    expect(read(s)).toBeUndefined();
    expect(send(t, s, S, { exchange: 1n }, new Uint8Array([3]))).toMatchObject({
      ok: true,
      counter: 2,
      status: 0,
    });
    expect(send(t, c, C, { exchange: 2n })).toEqual({ ok: false, reason: "unknown-exchange" });
    // the client concludes with an error code: error | concludes
    expect(send(t, c, C, { exchange: 1n, errorCode: 0x3001 })).toMatchObject({
      ok: true,
      counter: 3,
      status: SockStatus.ERROR | SockStatus.CONCLUDES,
    });
    expect(send(t, s, S, { exchange: 1n })).toEqual({ ok: false, reason: "concluded" });
    expect(t.openExchanges(socket)).toBe(0);
    // a notification concluded by the client's close indicator (an answer's non-zero method)
    expect(send(t, s, S, { exchange: 0n, method: 7 })).toMatchObject({ exchange: 2n, counter: 1 });
    expect(send(t, c, C, { exchange: 2n, method: 1 })).toMatchObject({
      status: SockStatus.CONCLUDES,
      method: 7,
    });
    // a new exchange whose first message has an error code is concluded at once (decided)
    expect(send(t, s, S, { exchange: 0n, method: 8, errorCode: 1 })).toMatchObject({
      exchange: 3n,
      status: SockStatus.NEW_EXCHANGE | SockStatus.ERROR | SockStatus.CONCLUDES,
    });
    expect(t.openExchanges(socket)).toBe(0);
    expect(t.send(C, { exchange: 0n, method: 1, errorCode: 0, length: SOCKET_UNIT + 1 })).toEqual({
      ok: false,
      reason: "too-large",
    });
    // 15 records of 4 KiB fill the 64 KiB ring: a 16th the runner could not stage is never published
    const full = new Uint8Array(SOCKET_UNIT);
    for (let i = 0; i < 15; i++)
      expect(send(t, c, C, { exchange: 0n, method: 1 }, full)).toMatchObject({ ok: true });
    expect(send(t, c, C, { exchange: 0n, method: 1 }, full)).toEqual({ ok: false, reason: "full" });
    expect(t.send(C, { exchange: 0n, method: 1, errorCode: 0, length: SOCKET_UNIT })).toEqual({
      ok: false,
      reason: "not-staged",
    });
  });

  it("at most MAX_OPEN_EXCHANGES open exchanges on one socket", () => {
    const t = new SocketTable(new SegmentTable(native), native);
    const { socket, serviceId } = t.open(service, client, { multiplier: 1 });
    const s = runnerView(t, socket.serviceEnd, serviceId);
    const reader = runnerView(t, socket.clientEnd, 9n);
    for (let i = 0; i < MAX_OPEN_EXCHANGES; i++) {
      expect(send(t, s, socket.serviceEnd, { exchange: 0n, method: 1 })).toMatchObject({
        ok: true,
      });
      read(reader);
    }
    expect(send(t, s, socket.serviceEnd, { exchange: 0n, method: 1 })).toEqual({
      ok: false,
      reason: "too-many-exchanges",
    });
  });

  it("closes both directions at once; the segments go once neither end is named", () => {
    const segs = new SegmentTable(native);
    const t = new SocketTable(segs, native);
    const { socket, serviceId, clientId } = t.open(service, client, { multiplier: 1 });
    const c = runnerView(t, socket.clientEnd, clientId);
    expect(
      send(t, c, socket.clientEnd, { exchange: 0n, method: 1 }, new Uint8Array([5])),
    ).toMatchObject({
      ok: true,
    });
    t.close(socket, true);
    expect(socket.state).toBe("brutal");
    expect(c.closed()).toBe(true);
    expect(c.in.state() & RingState.brutal).toBe(RingState.brutal);
    expect(send(t, c, socket.clientEnd, { exchange: 0n, method: 1 })).toEqual({
      ok: false,
      reason: "closed",
    });
    // what was sent before the close can still be read by the service
    const s = runnerView(t, socket.serviceEnd, serviceId);
    expect(read(s)).toMatchObject({ body: [5] });
    expect(t.forget(100, serviceId)).toBe(socket.serviceEnd);
    expect(segs.get(socket.segments.toService.id)).toBeDefined();
    expect(t.dropProcess(101)).toEqual([socket.clientEnd]);
    t.releaseIfUnnamed(socket);
    expect(segs.get(socket.segments.toService.id)).toBeUndefined();
    expect(segs.get(socket.segments.toClient.id)).toBeUndefined();
    expect(t.all()).toEqual([]);
  });

  it("a service's client thread: its ends are found by thread; a socket with itself has two ends", () => {
    const t = new SocketTable(new SegmentTable(native), native);
    const a = t.open(service, client, {
      multiplier: 1,
      serviceThread: 3,
      origin: "service-connection",
    });
    const self = t.open(service, service, { multiplier: 1 });
    expect(a.socket.origin).toBe("service-connection");
    expect(t.endsOfThread(100, 3)).toEqual([a.socket.serviceEnd]);
    expect(t.endsOfThread(100, 1)).toEqual([]);
    expect([self.serviceId, self.clientId]).toEqual([2n, 3n]);
    expect(t.end(100, 3n)).toBe(self.socket.clientEnd);
    expect(t.idOf(self.socket.serviceEnd)).toBe(2n);
    expect(t.peer(self.socket.serviceEnd)).toBe(self.socket.clientEnd);
  });
});

describe("the runner's socket table", () => {
  it("records, finds and forgets ends; a full table refuses", () => {
    const slots = new SocketSlots();
    const e = (handle: bigint) => ({
      handle,
      out: { name: "/proc/1/fd/3", size: 4096 },
      in: { name: "/proc/1/fd/4", size: 8192 },
      maxMessage: 4096,
    });
    expect(slots.add(e(7n))).toBe(true);
    expect(slots.read(slots.find(7n))).toEqual(e(7n));
    expect(slots.remove(7n)).toBe(true);
    expect(slots.find(7n)).toBe(-1);
    expect(slots.remove(7n)).toBe(false);
    expect(slots.add({ ...e(1n), out: { name: "x".repeat(112), size: 1 } })).toBe(false);
  });
});
