// Unit tests of a service socket's shared exchange table (ipc/exchanges.ts), its lock (shared-lock.ts)
// and a process' signal door (door.ts): the rules and refusals, the open-addressing table under many
// exchanges concluded out of order, and a lock whose holder was killed with kill -9 (docs/ipc.md
// "The runner-to-runner path").

import { spawn } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { hostNative } from "../../native/index.js";
import { DOOR_BYTES, DOOR_SLOTS, Door } from "./door.js";
import {
  EXCHANGE_TABLE_BYTES,
  ExchangeTable,
  MAX_OPEN_EXCHANGES,
  type SockMessage,
} from "./exchanges.js";
import { hostRingMemory, sharedArrayRingMemory } from "./ring.js";
import { hostProcessGone, SharedLock } from "./shared-lock.js";
import {
  decodeSockRecord,
  encodeSockRecord,
  SOCK_RECORD_SIZE,
  SockStatus,
  writeSockRecord,
} from "./socket-record.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const dist = (...p: string[]) => path.join(here, "..", "..", "dist", ...p);

const table = () =>
  ExchangeTable.init(sharedArrayRingMemory(new SharedArrayBuffer(EXCHANGE_TABLE_BYTES)));
const msg = (exchange: bigint, method = 0, errorCode = 0, length = 8): SockMessage => ({
  exchange,
  method,
  errorCode,
  length,
});

describe("the exchange table", () => {
  it("writes the record's header as the codec encodes it", () => {
    const h = {
      length: 0x01020304,
      status: 0x05,
      method: 0xa000,
      exchange: 0x1122334455667788n,
      counter: 7,
      errorCode: 0x3001,
    };
    const b = new Uint8Array(SOCK_RECORD_SIZE).fill(0xff);
    writeSockRecord(new DataView(b.buffer), h);
    expect(b).toEqual(encodeSockRecord(h));
  });

  it("numbers exchanges from 1, counts messages, keeps the turn, concludes; refuses as the kernel did", () => {
    const t = table();
    const published: Uint8Array[] = [];
    const pub = (h: Uint8Array) => {
      published.push(h.slice());
      return true;
    };
    const a = t.send("client", msg(0n, 0x0102), 4096, pub);
    expect(a).toEqual({
      ok: true,
      exchange: 1n,
      counter: 1,
      status: SockStatus.NEW_EXCHANGE,
      method: 0x0102,
    });
    expect(decodeSockRecord(published[0] as Uint8Array)).toEqual({
      length: 8,
      status: 1,
      method: 0x0102,
      exchange: 1n,
      counter: 1,
      errorCode: 0,
    });
    // the same side again: not its turn; the other side answers (not concluding), then concludes
    expect(t.send("client", msg(1n), 4096, pub)).toEqual({ ok: false, reason: "not-your-turn" });
    expect(t.send("service", msg(1n), 4096, pub)).toMatchObject({
      ok: true,
      counter: 2,
      status: 0,
    });
    expect(t.openCount()).toBe(1);
    expect(t.send("client", msg(1n, 7), 4096, pub)).toMatchObject({
      ok: true,
      counter: 3,
      status: SockStatus.CONCLUDES,
      method: 0x0102,
    });
    expect(t.openCount()).toBe(0);
    expect(t.send("service", msg(1n), 4096, pub)).toEqual({ ok: false, reason: "concluded" });
    expect(t.send("service", msg(2n), 4096, pub)).toEqual({
      ok: false,
      reason: "unknown-exchange",
    });
    expect(t.send("service", msg(0n, 1, 0, 4097), 4096, pub)).toEqual({
      ok: false,
      reason: "too-large",
    });
    // a creating error message is concluded at once; an unpublished message changes nothing
    expect(t.send("service", msg(0n, 9, 0x30), 4096, pub)).toMatchObject({
      ok: true,
      exchange: 2n,
      status: SockStatus.NEW_EXCHANGE | SockStatus.ERROR | SockStatus.CONCLUDES,
    });
    expect(t.send("client", msg(0n, 3), 4096, () => false)).toEqual({
      ok: false,
      reason: "not-staged",
    });
    expect(t.send("client", msg(0n, 3), 4096, pub)).toMatchObject({ ok: true, exchange: 3n });
    t.close();
    expect(t.send("service", msg(3n), 4096, pub)).toEqual({ ok: false, reason: "closed" });
  });

  it(`holds ${MAX_OPEN_EXCHANGES} open exchanges, concluded in any order, and finds each after deletions`, () => {
    const t = table();
    const ok = () => true;
    const open = new Map<bigint, number>();
    let rnd = 12345;
    const next = () => {
      rnd = (rnd * 1103515245 + 12345) & 0x7fffffff;
      return rnd;
    };
    for (let round = 0; round < 6; round++) {
      while (open.size < MAX_OPEN_EXCHANGES) {
        const r = t.send("client", msg(0n, 1), 4096, ok);
        if (!r.ok) throw new Error(r.reason);
        open.set(r.exchange, 1);
      }
      expect(t.send("client", msg(0n, 1), 4096, ok)).toEqual({
        ok: false,
        reason: "too-many-exchanges",
      });
      // answer (and conclude) a random half; every open one stays findable with its counter
      for (const [id] of [...open]) {
        if (next() % 2 === 0) continue;
        expect(t.send("service", msg(id, 1), 4096, ok)).toMatchObject({ ok: true, counter: 2 });
        open.delete(id);
      }
      expect(t.openCount()).toBe(open.size);
    }
    for (const [id] of open) {
      expect(t.send("service", msg(id), 4096, ok)).toMatchObject({ ok: true, counter: 2 });
      expect(t.send("client", msg(id, 1), 4096, ok)).toMatchObject({ ok: true, counter: 3 });
    }
    expect(t.openCount()).toBe(0);
  });
});

describe("the shared lock", () => {
  it("breaks the lock of a holder that is gone, and gives up once the socket is closed", () => {
    const mem = sharedArrayRingMemory(new SharedArrayBuffer(256));
    let dead = false;
    const lock = new SharedLock(mem, 0, () => dead);
    expect(lock.acquire(() => false, 4242)).toBe(true);
    // held by a live 4242: a taker waits (1 ms sleeps) until told to give up (the socket closed)
    let asks = 0;
    expect(lock.acquire(() => ++asks > 20)).toBe(false);
    expect(lock.holder()).toBe(4242);
    dead = true;
    expect(lock.acquire(() => false)).toBe(true);
    expect(lock.holder()).toBe(process.pid);
    lock.release();
    expect(lock.holder()).toBe(0);
  });
});

describe.skipIf(process.platform !== "linux")("across host processes (linux)", () => {
  const host = hostNative();

  it("a sender killed with kill -9 while it holds the table's lock does not wedge it", async () => {
    const seg = host.createSegment(EXCHANGE_TABLE_BYTES, "exchanges-test");
    const t = ExchangeTable.init(hostRingMemory(seg, host));
    const script = `
      import { hostNative } from ${JSON.stringify(dist("native", "index.js"))};
      import { hostRingMemory } from ${JSON.stringify(dist("kernel-compat", "ipc", "ring.js"))};
      import { SharedLock } from ${JSON.stringify(dist("kernel-compat", "ipc", "shared-lock.js"))};
      const host = hostNative();
      const seg = host.openSegment(${JSON.stringify(seg.name)}, ${seg.size});
      const lock = new SharedLock(hostRingMemory(seg, host), 0);
      lock.acquire(() => false);
      process.stdout.write("held\\n");
      setInterval(() => {}, 1000);
    `;
    const child = spawn(process.execPath, ["--input-type=module", "-e", script], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    await new Promise<void>((res) => child.stdout.once("data", () => res()));
    expect(t.holder()).toBe(child.pid);
    const exited = new Promise((res) => child.on("exit", res));
    child.kill("SIGKILL");
    await exited;
    expect(hostProcessGone(child.pid as number)).toBe(true);
    // The next sender takes the lock over and applies the rules.
    expect(t.send("client", msg(0n, 1), 4096, () => true)).toMatchObject({
      ok: true,
      exchange: 1n,
    });
    expect(t.holder()).toBe(0);
    seg.close();
  }, 30_000);
});

describe("a process' signal door", () => {
  const door = () => new Door(sharedArrayRingMemory(new SharedArrayBuffer(DOOR_BYTES)));
  const df = (b: number) => new Uint8Array(32).fill(b);

  it("hands its consumer every entry once, in order, with the connection and the datafield", () => {
    const d = door();
    const seq = d.sequence();
    expect(d.post(0x27, 0n, df(1))).toBe(true);
    expect(d.post(0x27, 5n, df(2))).toBe(true);
    expect(d.sequence()).not.toBe(seq);
    expect(d.take().map((e) => [e.signal, e.connection, e.datafield[0]])).toEqual([
      [0x27, 0n, 1],
      [0x27, 5n, 2],
    ]);
    expect(d.take()).toEqual([]);
  });

  it("refuses an entry when it stays full (nobody takes) or is closed, and takes again once emptied", () => {
    const d = door();
    for (let i = 0; i < DOOR_SLOTS; i++) expect(d.post(1, 0n, df(i & 0xff))).toBe(true);
    expect(d.post(1, 0n, df(0))).toBe(false);
    expect(d.take()).toHaveLength(DOOR_SLOTS);
    expect(d.post(2, 0n, df(9))).toBe(true);
    expect(d.take()[0]?.signal).toBe(2);
    d.close();
    expect(d.closed).toBe(true);
    expect(d.post(3, 0n, df(0))).toBe(false);
  });
});
