// Tests of the byte ring (docs/ipc.md, "The byte ring"): the header bytes written out by hand, one
// producer and one consumer in threads and in host processes, wrap-around, full and empty in each
// mode, message boundaries, locking, closing, and a producer killed with SIGKILL mid-stream.

import { spawn } from "node:child_process";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";
import { describe, expect, it } from "vitest";
import { hostNative } from "../../native/index.js";
import {
  hostRingMemory,
  initRing,
  MAX_MESSAGE_SIZE,
  NATIVE_COPY_MIN,
  RING_CHUNK,
  RING_CHUNK_MAX,
  RING_HEADER_SIZE,
  RingField,
  RingFlag,
  RingFormatError,
  type RingMemory,
  RingReader,
  RingState,
  RingWriter,
  ringChunk,
  ringSegmentSize,
  sharedArrayRingMemory,
} from "./ring.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const distRing = path.join(here, "..", "..", "dist", "kernel-compat", "ipc", "ring.js");
const distNative = path.join(here, "..", "..", "dist", "native", "index.js");

function pattern(n: number, from = 0): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = ((from + i) * 31 + 7) & 0xff;
  return b;
}

function ring(capacity: number, flags = 0) {
  const sab = new SharedArrayBuffer(ringSegmentSize(capacity));
  const mem = sharedArrayRingMemory(sab);
  initRing(mem, capacity, flags);
  return { sab, mem, w: new RingWriter(mem), r: new RingReader(mem) };
}

/** A ring whose memory counts the wake-up calls made on each word. */
function countingRing(capacity: number, flags = 0) {
  const base = ring(capacity, flags);
  const wakes = new Map<number, number>();
  const mem: RingMemory = {
    bytes: base.mem.bytes,
    wait: (o, e, t) => base.mem.wait(o, e, t),
    wake: (o, c) => {
      wakes.set(o, (wakes.get(o) ?? 0) + 1);
      base.mem.wake(o, c);
    },
  };
  const i32 = new Int32Array(base.sab, 0, RING_HEADER_SIZE >> 2);
  return { i32, wakes, w: new RingWriter(mem), r: new RingReader(mem) };
}

describe('publishing and waking (docs/ipc.md, "Waiting")', () => {
  it("publishes a raw write RING_CHUNK bytes at a time, a message in one go", () => {
    const raw = countingRing(64 * 1024);
    expect(raw.w.writeAll(pattern(2 * RING_CHUNK + 100), false)).toEqual({
      ok: true,
      written: 2 * RING_CHUNK + 100,
    });
    // three publishes: the data sequence moved three times
    expect(Atomics.load(raw.i32, RingField.dataSeq >> 2)).toBe(3);
    const msg = countingRing(64 * 1024 + 4, RingFlag.message);
    expect(msg.w.writeAll(pattern(40_000), false).ok).toBe(true);
    expect(Atomics.load(msg.i32, RingField.dataSeq >> 2)).toBe(1);
  });

  it("chunks a large ring by a sixteenth of it: 16 KiB for a 64 KiB pipe, 256 KiB for CMDIN's 4 MiB", () => {
    expect(ringChunk(64 * 1024)).toBe(RING_CHUNK);
    expect(ringChunk(1024)).toBe(RING_CHUNK);
    expect(ringChunk(1024 * 1024)).toBe(64 * 1024);
    expect(ringChunk(4 * 1024 * 1024)).toBe(RING_CHUNK_MAX);
    expect(ringChunk(16 * 1024 * 1024)).toBe(RING_CHUNK_MAX);
    const big = countingRing(4 * 1024 * 1024);
    expect(big.w.writeAll(pattern(RING_CHUNK_MAX + 1), false).ok).toBe(true);
    // two publishes, then two frees for a read of all of it
    expect(Atomics.load(big.i32, RingField.dataSeq >> 2)).toBe(2);
    expect(big.r.readExact(new Uint8Array(RING_CHUNK_MAX + 1), false).ok).toBe(true);
    expect(Atomics.load(big.i32, RingField.spaceSeq >> 2)).toBe(2);
  });

  it("wakes a sleeping consumer once, when what it announced is there, not on every publish", () => {
    const { i32, wakes, w, r } = countingRing(64 * 1024);
    // a consumer sleeping for 100 bytes (what RingReader announces before it sleeps)
    Atomics.store(i32, RingField.readerSleeping >> 2, 100);
    for (let i = 0; i < 9; i++) w.writeAll(pattern(10), false);
    expect(wakes.get(RingField.dataSeq) ?? 0).toBe(0);
    w.writeAll(pattern(10), false);
    expect(wakes.get(RingField.dataSeq)).toBe(1);
    expect(Atomics.load(i32, RingField.readerSleeping >> 2)).toBe(0);
    for (let i = 0; i < 5; i++) w.writeAll(pattern(10), false);
    expect(wakes.get(RingField.dataSeq)).toBe(1);
    // the same for a producer sleeping for 1 000 free bytes of a full ring
    w.writeAll(pattern(64 * 1024 - 150), false);
    Atomics.store(i32, RingField.writerSleeping >> 2, 1000);
    r.readExact(new Uint8Array(999), false);
    expect(wakes.get(RingField.spaceSeq) ?? 0).toBe(0);
    r.readExact(new Uint8Array(1), false);
    expect(wakes.get(RingField.spaceSeq)).toBe(1);
  });

  it("stops spinning on a busy host: a spin that ends in a sleep halves the next one", () => {
    const { w } = countingRing(16);
    let reads = 0;
    const spins = () => {
      reads = 0;
      // nothing ever becomes ready: the wait spins, then sleeps once (1 ms) and times out
      const side = w as unknown as {
        sleepUntil(
          word: number,
          ready: () => boolean,
          o: { spin: number; timeoutMs: number },
        ): string;
      };
      expect(
        side.sleepUntil(
          RingField.spaceSeq,
          () => {
            reads++;
            return false;
          },
          { spin: 2000, timeoutMs: 1 },
        ),
      ).toBe("timeout");
      return reads;
    };
    const first = spins();
    const second = spins();
    expect(first).toBeGreaterThanOrEqual(2000);
    expect(second).toBeLessThan(first);
    expect(second).toBeGreaterThanOrEqual(1000);
    for (let i = 0; i < 12; i++) spins();
    // down to MIN_SPIN (32) re-reads, plus the few checks around the sleep itself
    expect(spins()).toBeLessThan(60);
  });
});

describe("ring layout", () => {
  it("writes the header exactly as docs/ipc.md lays it out", () => {
    const { sab } = ring(65536, RingFlag.message);
    const b = new Uint8Array(sab, 0, RING_HEADER_SIZE);
    // magic "NCWR", version 1 (u16), flags 0x0001 (u16), capacity 65536 (u32), all LE.
    expect([...b.subarray(0, 12)]).toEqual([
      0x4e, 0x43, 0x57, 0x52, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x00,
    ]);
    expect(b.subarray(12).every((x) => x === 0)).toBe(true);
    expect(RingField).toMatchObject({ state: 16, tail: 64, head: 128, writeLock: 192 });
  });

  it("refuses memory that holds no ring, or too little memory", () => {
    const sab = new SharedArrayBuffer(4096);
    expect(() => new RingReader(sharedArrayRingMemory(sab))).toThrow(RingFormatError);
    expect(() => initRing(sharedArrayRingMemory(sab), 8192)).toThrow(/needs 8448 bytes/);
    expect(() => initRing(sharedArrayRingMemory(sab), 0)).toThrow(/capacity/);
  });
});

describe("ring in one thread", () => {
  it("wraps around, keeps full and empty apart, and answers mode 0x01 and 0x02 at once", () => {
    const { w, r } = ring(10);
    expect(w.writeAll(pattern(7), false)).toEqual({ ok: true, written: 7 });
    const out = new Uint8Array(5);
    expect(r.readExact(out, false)).toEqual({ ok: true, read: 5 });
    expect(out).toEqual(pattern(5));
    // 2 pending; 8 free: this write wraps around the end of the data area.
    expect(w.writeAll(pattern(8, 7), false)).toEqual({ ok: true, written: 8 });
    expect(w.free()).toBe(0);
    expect(w.used()).toBe(10);
    expect(w.writeAll(pattern(1), false)).toMatchObject({ ok: false, reason: "full" });
    expect(w.writeSome(pattern(3), false)).toEqual({ ok: true, written: 0 });
    const all = new Uint8Array(10);
    expect(r.readExact(all, false)).toEqual({ ok: true, read: 10 });
    expect(all).toEqual(pattern(10, 5));
    expect(r.readExact(new Uint8Array(1), false)).toMatchObject({ ok: false, reason: "empty" });
    expect(w.writeSome(pattern(25), false)).toEqual({ ok: true, written: 10 });
    const some = new Uint8Array(4);
    expect(r.readSome(some, false)).toEqual({ ok: true, read: 4 });
    expect(r.used()).toBe(6);
  });

  it("returns at once for a zero-byte write, even when full or locked", () => {
    const { w, sab } = ring(4);
    w.writeAll(pattern(4), false);
    new Int32Array(sab)[RingField.writeLock >> 2] = 1;
    expect(w.writeAll(new Uint8Array(0), false)).toEqual({ ok: true, written: 0 });
    expect(w.writeAll(new Uint8Array(0))).toEqual({ ok: true, written: 0 });
  });

  it("snapshots a state that existed, while another thread fills, locks and drains the ring", async () => {
    // The other thread moves through states in which "a writer waits for the lock" always goes with
    // "the ring is full and locked": lock, fill (as a writer publishes), then count a waiter; uncount
    // it, unlock, then drain (as a reader frees). A PIPE_INFO that read the
    // positions and the lock words apart could pair an empty ring with a pending writer (seen in CI).
    const capacity = 64;
    const { w, sab } = ring(capacity);
    const stop = new Int32Array(new SharedArrayBuffer(4));
    const worker = new Worker(
      `const { workerData } = require("node:worker_threads");
      const i32 = new Int32Array(workerData.sab), F = workerData.fields, cap = workerData.capacity;
      const stop = new Int32Array(workerData.stop);
      // Each state held for a few hundred loads, as a real writer's work between two of them takes.
      const hold = () => { for (let i = 0; i < 200; i++) Atomics.load(stop, 0); };
      let tail = 0, head = 0;
      while (Atomics.load(stop, 0) === 0) {
        Atomics.store(i32, F.writeLock >> 2, 1); hold();
        tail = (tail + cap) % (2 * cap); Atomics.store(i32, F.tail >> 2, tail); Atomics.add(i32, F.dataSeq >> 2, 1); hold();
        Atomics.store(i32, F.writeLockWaiters >> 2, 1); hold();
        Atomics.store(i32, F.writeLockWaiters >> 2, 0); hold(); Atomics.store(i32, F.writeLock >> 2, 0); hold();
        head = (head + cap) % (2 * cap); Atomics.store(i32, F.head >> 2, head); Atomics.add(i32, F.spaceSeq >> 2, 1); hold();
      }`,
      {
        eval: true,
        workerData: { sab, fields: RingField, capacity, stop: stop.buffer },
      },
    );
    await new Promise((resolve) => worker.once("online", resolve));
    let seen = 0;
    let impossible = 0;
    const until = performance.now() + 300;
    while (performance.now() < until) {
      const s = w.snapshot();
      if (s.writePending) seen++;
      if (s.writePending && (s.used !== capacity || !s.writeLocked)) impossible++;
    }
    Atomics.store(stop, 0, 1);
    await worker.terminate();
    expect(impossible).toBe(0);
    expect(seen).toBeGreaterThan(0);
  });

  it("reports a held lock, and pending requests while others wait for it", () => {
    const { w, r, sab } = ring(64);
    const i32 = new Int32Array(sab);
    i32[RingField.writeLock >> 2] = 1;
    expect(w.writeAll(pattern(1), false)).toMatchObject({ ok: false, reason: "locked" });
    expect(w.snapshot()).toMatchObject({
      writeLocked: true,
      readLocked: false,
      writePending: false,
      readPending: false,
    });
    const t0 = performance.now();
    expect(w.writeAll(pattern(1), { timeoutMs: 30, spin: 10 })).toMatchObject({
      ok: false,
      reason: "timeout",
    });
    expect(performance.now() - t0).toBeGreaterThanOrEqual(25);
    expect(i32[RingField.writeLockWaiters >> 2]).toBe(0);
    i32[RingField.readLock >> 2] = 1;
    expect(r.readSome(new Uint8Array(1), false)).toMatchObject({ ok: false, reason: "locked" });
  });

  it("keeps message boundaries, refuses a message over 64 KB, and leaves a too-long one pending", () => {
    const { w, r } = ring(MAX_MESSAGE_SIZE + 4, RingFlag.message);
    expect(w.writeAll(pattern(MAX_MESSAGE_SIZE + 1), false)).toMatchObject({
      ok: false,
      reason: "too-large",
    });
    // A 64 KB message fits a 64 KB pipe: its header is the 4 extra bytes.
    expect(w.writeAll(pattern(MAX_MESSAGE_SIZE), false)).toEqual({
      ok: true,
      written: MAX_MESSAGE_SIZE,
    });
    const big = new Uint8Array(MAX_MESSAGE_SIZE);
    expect(r.readExact(big, false)).toEqual({ ok: true, read: MAX_MESSAGE_SIZE });
    expect(big).toEqual(pattern(MAX_MESSAGE_SIZE));
    for (const n of [3, 1, 200]) w.writeAll(pattern(n, n), false);
    const buf = new Uint8Array(100);
    expect(r.readExact(buf, false)).toEqual({ ok: true, read: 3 });
    expect(buf.subarray(0, 3)).toEqual(pattern(3, 3));
    expect(r.readExact(buf, false)).toEqual({ ok: true, read: 1 });
    expect(r.readExact(buf, false)).toEqual({ ok: false, reason: "too-small", read: 200 });
    expect(r.peekMessageLength()).toBe(200);
    const fits = new Uint8Array(200);
    expect(r.readExact(fits, false)).toEqual({ ok: true, read: 200 });
    expect(fits).toEqual(pattern(200, 200));
    expect(() => w.writeSome(pattern(1))).toThrow(/message ring/);
  });

  it("keeps short messages whole when their header or bytes straddle the ring's end, at every offset", () => {
    // A ring of 64 + 4 bytes: each 5-to-67-byte record starts one byte further along, so over the run
    // every split of a header (1, 2 or 3 bytes before the end) and of a body is met, byte by byte.
    const capacity = 68;
    const { w, r, mem } = ring(capacity, RingFlag.message);
    let from = 0;
    for (let k = 0; k < 3 * capacity; k++) {
      const n = 1 + (k % 64);
      expect(w.writeAll(pattern(n, from), false)).toEqual({ ok: true, written: n });
      expect(r.peekMessageLength()).toBe(n);
      const out = new Uint8Array(64);
      expect(r.readExact(out, false)).toEqual({ ok: true, read: n });
      expect(out.subarray(0, n)).toEqual(pattern(n, from));
      from += n;
    }
    // The header as laid out (docs/ipc.md "Message pipes": u32 LE length, then the bytes), across the
    // end: one-byte messages (5 bytes each, 5 and 68 coprime) until the tail is 2 bytes before the end.
    const tail = () => new DataView(mem.bytes.buffer).getUint32(RingField.tail, true) % capacity;
    for (let k = 0; k < capacity && tail() !== capacity - 2; k++) {
      w.writeAll(pattern(1), false);
      r.readExact(new Uint8Array(64), false);
    }
    const at = tail();
    expect(at).toBe(capacity - 2);
    w.writeAll(pattern(10, 1), false);
    const byteAt = (i: number) => mem.bytes[RING_HEADER_SIZE + ((at + i) % capacity)];
    expect([0, 1, 2, 3].map(byteAt)).toEqual([10, 0, 0, 0]);
    expect(Array.from({ length: 10 }, (_, i) => byteAt(4 + i))).toEqual([...pattern(10, 1)]);
  });

  it("lets the reader drain after the writer closed, then answers closed; writes after a close fail", () => {
    const { w, r } = ring(32);
    w.writeAll(pattern(5), false);
    w.close("writer");
    expect(w.writeAll(pattern(1), false)).toMatchObject({ ok: false, reason: "closed" });
    const out = new Uint8Array(8);
    expect(r.readExact(out)).toEqual({ ok: false, reason: "closed", read: 5 });
    expect(out.subarray(0, 5)).toEqual(pattern(5));
    expect(r.readSome(out, false)).toMatchObject({ ok: false, reason: "closed" });
    expect(r.state() & RingState.brutal).toBe(0);
  });

  it("ends a blocked wait when interrupted (a signal to deliver)", () => {
    const { r } = ring(16);
    let asks = 0;
    const res = r.readExact(new Uint8Array(1), {
      spin: 10,
      sliceMs: 5,
      interrupted: () => ++asks >= 3,
    });
    expect(res).toMatchObject({ ok: false, reason: "interrupted" });
    expect(asks).toBe(3);
  });
});

describe("ring across threads", () => {
  it("streams 8 MiB through a 64 KiB ring in uneven chunks, byte for byte", async () => {
    const { sab, r } = ring(65536);
    const total = 8 * 1024 * 1024;
    const worker = new Worker(
      `
      const { workerData } = require("node:worker_threads");
      import(${JSON.stringify(distRing)}).then(({ RingWriter, sharedArrayRingMemory }) => {
        const w = new RingWriter(sharedArrayRingMemory(workerData.sab));
        let at = 0, k = 0;
        while (at < workerData.total) {
          const n = Math.min(1 + ((k++ * 7919) % 70000), workerData.total - at);
          const b = new Uint8Array(n);
          for (let i = 0; i < n; i++) b[i] = ((at + i) * 31 + 7) & 0xff;
          const res = w.writeAll(b);
          if (!res.ok) throw new Error("write failed: " + res.reason);
          at += n;
        }
        w.close("writer");
      });
      `,
      { eval: true, workerData: { sab, total } },
    );
    const done = new Promise<void>((resolve, reject) => {
      worker.on("error", reject);
      worker.on("exit", () => resolve());
    });
    await new Promise((res) => setTimeout(res, 20));
    let got = 0;
    let bad = -1;
    const buf = new Uint8Array(50000);
    for (;;) {
      const res = r.readExact(buf, { timeoutMs: 10_000 });
      const n = res.read;
      for (let i = 0; i < n && bad < 0; i++) {
        if (buf[i] !== (((got + i) * 31 + 7) & 0xff)) bad = got + i;
      }
      got += n;
      if (!res.ok) {
        expect(res.reason).toBe("closed");
        break;
      }
    }
    await done;
    expect(bad).toBe(-1);
    expect(got).toBe(total);
  });
});

describe.skipIf(process.platform !== "linux")("ring across host processes", () => {
  const host = hostNative();

  it("keeps every published byte and invents none when the producer is killed mid-stream", async () => {
    const capacity = 65536;
    const seg = host.createSegment(ringSegmentSize(capacity), "ring-test");
    const mem = hostRingMemory(seg, host);
    initRing(mem, capacity);
    const r = new RingReader(mem);
    const script = `
      import { hostNative } from ${JSON.stringify(distNative)};
      import { RingWriter, hostRingMemory } from ${JSON.stringify(distRing)};
      const host = hostNative();
      const seg = host.openSegment(${JSON.stringify(seg.name)}, ${seg.size});
      const w = new RingWriter(hostRingMemory(seg, host));
      let at = 0;
      for (;;) {
        const n = 1 + (at % 4093);
        const b = new Uint8Array(n);
        for (let i = 0; i < n; i++) b[i] = ((at + i) * 31 + 7) & 0xff;
        w.writeAll(b);
        at += n;
      }
    `;
    const child = spawn(process.execPath, ["--input-type=module", "-e", script], {
      stdio: ["ignore", "ignore", "inherit"],
    });
    const exited = new Promise((res) => child.on("exit", res));
    let got = 0;
    let bad = -1;
    const buf = new Uint8Array(30000);
    const check = (n: number) => {
      for (let i = 0; i < n && bad < 0; i++) {
        if (buf[i] !== (((got + i) * 31 + 7) & 0xff)) bad = got + i;
      }
      got += n;
    };
    // Read a few MiB while it streams, then kill it while it is writing.
    while (got < 4 * 1024 * 1024) {
      const res = r.readSome(buf, { timeoutMs: 5000 });
      check(res.read);
      if (res.read === 0) await new Promise((res2) => setTimeout(res2, 1));
    }
    child.kill("SIGKILL");
    await exited;
    // The kernel's part when a process dies: close its side, brutally.
    r.close("writer", true);
    for (;;) {
      const res = r.readExact(buf, { timeoutMs: 5000 });
      check(res.read);
      if (!res.ok) {
        expect(res.reason).toBe("closed");
        break;
      }
    }
    expect(bad).toBe(-1);
    expect(r.used()).toBe(0);
    expect(r.state() & RingState.brutal).toBe(RingState.brutal);
    seg.close();
  });

  it("wakes a consumer sleeping in another process", async () => {
    const seg = host.createSegment(ringSegmentSize(4096), "ring-wake");
    const mem = hostRingMemory(seg, host);
    initRing(mem, 4096, RingFlag.message);
    const w = new RingWriter(mem);
    const script = `
      import { hostNative } from ${JSON.stringify(distNative)};
      import { RingReader, hostRingMemory } from ${JSON.stringify(distRing)};
      const host = hostNative();
      const seg = host.openSegment(${JSON.stringify(seg.name)}, ${seg.size});
      const r = new RingReader(hostRingMemory(seg, host));
      const out = new Uint8Array(100);
      const t = performance.now();
      const res = r.readExact(out, { timeoutMs: 5000, spin: 0, sliceMs: 5000 });
      process.stdout.write(JSON.stringify({ res, text: Buffer.from(out.subarray(0, res.read)).toString(), ms: performance.now() - t }));
    `;
    const child = spawn(process.execPath, ["--input-type=module", "-e", script], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    child.stdout.on("data", (d) => {
      out += d;
    });
    // Wait until it sleeps, then send.
    const i32 = new Int32Array(seg.buffer);
    const deadline = Date.now() + 5000;
    while (Atomics.load(i32, RingField.readerSleeping >> 2) === 0 && Date.now() < deadline) {
      await new Promise((res) => setTimeout(res, 5));
    }
    await new Promise((res) => setTimeout(res, 30));
    expect(w.writeAll(new TextEncoder().encode("hello"), false)).toEqual({ ok: true, written: 5 });
    await new Promise((res) => child.on("exit", res));
    const got = JSON.parse(out) as { res: { ok: boolean; read: number }; text: string; ms: number };
    expect(got.res).toEqual({ ok: true, read: 5 });
    expect(got.text).toBe("hello");
    // Woken, not found by the 5 s slice.
    expect(got.ms).toBeLessThan(4000);
    seg.close();
  });
});

describe("staged records (service sockets)", () => {
  const H = 4;
  const stage = (w: RingWriter, body: Uint8Array, commit: () => boolean) =>
    w.stage(
      H,
      body,
      false,
      (reason) => reason,
      () => (commit() ? "published" : "refused"),
    );
  const read = (r: RingReader) =>
    r.withRecord<number[] | string | undefined>(
      H,
      (h, take) => {
        if (h === undefined) return undefined;
        const len = new DataView(h.buffer).getUint32(0, true);
        const out = new Uint8Array(len);
        take(out, len);
        return [...out];
      },
      () => "locked",
    );
  const header = (len: number) => {
    const h = new Uint8Array(H);
    new DataView(h.buffer).setUint32(0, len, true);
    return h;
  };

  it("a staged record is invisible until published; a refused one is never seen; records wrap", () => {
    const { w, r } = ring(16);
    // refused: the bytes stay past the tail
    expect(stage(w, new Uint8Array([1, 2, 3]), () => false)).toBe("refused");
    expect(r.used()).toBe(0);
    expect(read(r)).toBeUndefined();
    // published by "someone else" (the kernel), with the header it writes
    expect(stage(w, new Uint8Array([4, 5, 6]), () => w.publishStaged(header(3), H + 3))).toBe(
      "published",
    );
    expect(read(r)).toEqual([4, 5, 6]);
    // the next records wrap around the 16-byte data area
    for (const k of [7, 8, 9]) {
      const body = new Uint8Array([k, k, k, k, k, k]);
      expect(stage(w, body, () => w.publishStaged(header(6), H + 6))).toBe("published");
      expect(read(r)).toEqual([...body]);
    }
  });

  it("waits for room (or answers at once), and a record larger than the ring never fits", () => {
    const { w, r } = ring(16);
    expect(stage(w, new Uint8Array(10), () => w.publishStaged(header(10), H + 10))).toBe(
      "published",
    );
    expect(stage(w, new Uint8Array(2), () => true)).toBe("full");
    expect(w.publishStaged(header(2), H + 2 + 1)).toBe(false);
    expect(() => stage(w, new Uint8Array(13), () => true)).toThrow(RangeError);
    expect(read(r)).toHaveLength(10);
    expect(stage(w, new Uint8Array(2), () => w.publishStaged(header(2), H + 2))).toBe("published");
    w.close("writer");
    expect(stage(w, new Uint8Array(1), () => true)).toBe("closed");
    // what was published before the close is still read
    expect(read(r)).toEqual([0, 0]);
  });
});

describe("fill: a producer that writes straight into the ring", () => {
  it("gets the contiguous free span at the tail, publishes what it placed, wraps at the end", () => {
    const { w, r } = ring(10);
    const spans: number[] = [];
    const put = (bytes: Uint8Array) =>
      w.fill((span) => {
        spans.push(span.length);
        const n = Math.min(span.length, bytes.length);
        span.set(bytes.subarray(0, n));
        return n;
      });
    expect(put(pattern(7))).toEqual({ ok: true, written: 7 });
    const out = new Uint8Array(7);
    expect(r.readExact(out, false)).toEqual({ ok: true, read: 7 });
    expect(out).toEqual(pattern(7));
    // Tail at 7: the span is the 3 bytes up to the end, then the next call starts at 0.
    expect(put(pattern(5, 7))).toEqual({ ok: true, written: 3 });
    expect(put(pattern(2, 10))).toEqual({ ok: true, written: 2 });
    expect(spans).toEqual([10, 3, 7]);
    const rest = new Uint8Array(5);
    expect(r.readExact(rest, false)).toEqual({ ok: true, read: 5 });
    expect(rest).toEqual(pattern(5, 7));
    // Nothing placed: nothing published.
    expect(w.fill(() => 0)).toEqual({ ok: true, written: 0 });
    expect(r.used()).toBe(0);
  });

  it("waits on a full ring until a quarter of it is free, not until the first byte", async () => {
    const capacity = 64 * 1024;
    const { sab, w } = ring(capacity);
    expect(w.fill((span) => span.length)).toEqual({ ok: true, written: capacity });
    // A reader in another thread frees the ring 1 KiB at a time, recording how full it was when the
    // writer's fill got its span.
    const reader = new Worker(
      `const { workerData } = require("node:worker_threads");
      import(workerData.ring).then(({ RingReader, sharedArrayRingMemory }) => {
        const r = new RingReader(sharedArrayRingMemory(workerData.sab));
        const out = new Uint8Array(1024);
        for (let i = 0; i < 64; i++) { r.readExact(out, false); Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1); }
      });`,
      { eval: true, workerData: { sab, ring: pathToFileURL(distRing).href } },
    );
    let free = -1;
    const r = w.fill((span) => {
      free = span.length;
      return 0;
    });
    await new Promise((res) => reader.once("exit", res));
    expect(r.ok).toBe(true);
    expect(free).toBeGreaterThanOrEqual(capacity / 4);
    expect(free).toBeLessThan(capacity);
  });

  it("refuses a producer that claims more than its span; closed rings and message rings", () => {
    const { w } = ring(8);
    expect(() => w.fill((span) => span.length + 1)).toThrow(RangeError);
    w.close("reader");
    expect(w.fill(() => 1)).toEqual({ ok: false, reason: "closed", written: 0 });
    expect(() => ring(16, RingFlag.message).w.fill(() => 0)).toThrow(RangeError);
  });
});

/** A ring whose memory has a native copy: `native` (the host's, or a recording one) and its calls. */
function copyingRing(capacity: number, native: (dst: Uint8Array, src: Uint8Array) => void) {
  const base = ring(capacity);
  const calls: number[] = [];
  const mem: RingMemory = {
    bytes: base.mem.bytes,
    wait: (o, e, t) => base.mem.wait(o, e, t),
    wake: (o, c) => base.mem.wake(o, c),
    copy: (dst, src) => {
      calls.push(src.length);
      native(dst, src);
    },
  };
  return { calls, w: new RingWriter(mem), r: new RingReader(mem) };
}

describe("native copies (RingMemory.copy, NATIVE_COPY_MIN)", () => {
  const host = hostNative();
  const recording = (dst: Uint8Array, src: Uint8Array) => dst.set(src);

  it("copies below NATIVE_COPY_MIN with Uint8Array.set, from it natively, in both pieces of a wrap", () => {
    const min = NATIVE_COPY_MIN;
    const capacity = 3 * min + 100;
    const { calls, w, r } = copyingRing(capacity, recording);
    let from = 0;
    let written = 0;
    const roundTrip = (n: number) => {
      calls.length = 0;
      expect(w.writeAll(pattern(n, from), false)).toEqual({ ok: true, written: n });
      const out = new Uint8Array(n);
      expect(r.readExact(out, false)).toEqual({ ok: true, read: n });
      expect(out).toEqual(pattern(n, from));
      from += n;
      written += n;
      return [...calls];
    };
    expect(roundTrip(min - 1)).toEqual([]);
    expect(roundTrip(min)).toEqual([min, min]);
    expect(roundTrip(min + 1)).toEqual([min + 1, min + 1]);
    // The next write starts `written % capacity` into the data area and runs past its end: two pieces
    // each way, the second from the data area's start.
    const at = written % capacity;
    const n = min + 17;
    const first = capacity - at;
    expect(first).toBeLessThan(n);
    expect(roundTrip(n)).toEqual([first, n - first, first, n - first]);
    // Below the threshold again: JS again.
    expect(roundTrip(min - 1)).toEqual([]);
  });

  it("keeps the JS path on a memory without a native copy (threads, hosts without one)", () => {
    const { w, r, mem } = ring(2 * NATIVE_COPY_MIN + 5);
    expect(mem.copy).toBeUndefined();
    const n = NATIVE_COPY_MIN + 3;
    for (let i = 0; i < 3; i++) {
      expect(w.writeAll(pattern(n, i), false)).toEqual({ ok: true, written: n });
      const out = new Uint8Array(n);
      expect(r.readExact(out, false)).toEqual({ ok: true, read: n });
      expect(out).toEqual(pattern(n, i));
    }
  });

  it.skipIf(process.platform !== "linux")(
    "the host's memmove: byte for byte between a host segment ring and a shared WebAssembly memory, across the wrap",
    () => {
      expect(host.copyBytes).toBeDefined();
      const capacity = 64 * 1024 + 12;
      const seg = host.createSegment(ringSegmentSize(capacity), "ring-copy-test");
      try {
        const mem = hostRingMemory(seg, host);
        expect(mem.copy).toBeDefined();
        initRing(mem, capacity);
        const w = new RingWriter(mem);
        const r = new RingReader(mem);
        const wasm = new WebAssembly.Memory({ initial: 4, maximum: 4, shared: true });
        const app = new Uint8Array(wasm.buffer);
        let from = 0;
        // Sizes around the threshold and a raw chunk, enough to wrap the ring several times.
        const sizes = [
          NATIVE_COPY_MIN - 1,
          NATIVE_COPY_MIN,
          NATIVE_COPY_MIN + 1,
          RING_CHUNK + 3,
          40_000,
        ];
        for (let round = 0; round < 6; round++) {
          for (const n of sizes) {
            const src = pattern(n, from);
            const inApp = app.subarray(1000, 1000 + n);
            inApp.set(src);
            expect(w.writeAll(inApp, false)).toEqual({ ok: true, written: n });
            app.fill(0, 70_000, 70_002 + n);
            const dst = app.subarray(70_001, 70_001 + n);
            expect(r.readExact(dst, false)).toEqual({ ok: true, read: n });
            // (Buffer.compare: a deep equality of 40 000 bytes is slow in the test runner.)
            expect(Buffer.compare(dst, src)).toBe(0);
            // Nothing outside the destination was touched.
            expect(app[70_000]).toBe(0);
            expect(app[70_001 + n]).toBe(0);
            from += n;
          }
        }
      } finally {
        seg.close();
      }
    },
  );

  it.skipIf(process.platform !== "linux")(
    "copyBytes refuses a destination shorter than the source, copying nothing",
    () => {
      const copy = host.copyBytes?.bind(host);
      expect(copy).toBeDefined();
      if (copy === undefined) return;
      const src = pattern(8192);
      const dst = new Uint8Array(new SharedArrayBuffer(8191));
      expect(() => copy(dst, src)).toThrow(RangeError);
      expect(dst.every((b) => b === 0)).toBe(true);
      const sub = new Uint8Array(new SharedArrayBuffer(10_000)).subarray(100, 100 + 8192);
      copy(sub, src);
      expect(sub).toEqual(src);
      expect(new Uint8Array(sub.buffer)[99]).toBe(0);
      expect(new Uint8Array(sub.buffer)[100 + 8192]).toBe(0);
    },
  );
});
