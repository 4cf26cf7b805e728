// Unit tests of the kernel's half of signal-backed AMS (syscalls/ams-backed.ts; docs/ipc.md
// "Signal-backed AMS") on a real AMS table and segment, with a scripted backer: what a fill asks and
// writes, that a store made while the backer answers is kept, what a write-back sends, and a refused
// write put back with MEM_FAULT at the writer's own address.

import { describe, expect, it } from "vitest";
import { Sig } from "../../commonassembly/abi/numbers.js";
import { AmsPermission, Datafield, decodeDatafield } from "../../commonassembly/abi/signals.js";
import { hostNative } from "../../native/index.js";
import { AmsTable } from "../kernel/ams.js";
import type { AmsBackedRequest } from "../kernel/api.js";
import type { KProcess } from "../kernel/process.js";
import { SegmentTable } from "../kernel/segments.js";
import { fillBacked, writeBack } from "./ams-backed.js";

const BACKER = 100;
const RECEIVER = 101;

/** A kernel with one backed AMS shared read-write with RECEIVER, and a backer answering by `serve`. */
function rig(serve: (r: AmsBackedRequest) => (bigint | null)[], cow = false) {
  const ams = new AmsTable(new SegmentTable(hostNative()));
  const a = ams.create(BACKER, "backed", 8192, cow);
  a.sharings.push({
    receiver: RECEIVER,
    exclusive: false,
    permissions: AmsPermission.READ | AmsPermission.WRITE,
    copyOnWrite: false,
    command: 0,
  });
  ams.addMapping(a, RECEIVER, {
    address: 0x40000,
    length: 8192,
    from: 0,
    auto: true,
    source: false,
  });
  const procs = new Map<number, KProcess>(
    [BACKER, RECEIVER].map((pid) => [pid, { pid, state: "running" } as KProcess]),
  );
  const asked: AmsBackedRequest[] = [];
  const signals: { pid: number; signal: number; datafield: Uint8Array }[] = [];
  let during: (() => void) | undefined;
  const k = {
    ams,
    processes: { get: (pid: number) => procs.get(pid) } as never,
    askBacker: async (_p: KProcess, r: AmsBackedRequest) => {
      asked.push(r);
      during?.();
      return serve(r);
    },
    signal: (p: KProcess, signal: number, o?: { datafield?: Uint8Array }) => {
      signals.push({ pid: p.pid, signal, datafield: o?.datafield ?? new Uint8Array(32) });
    },
  };
  const seg = new DataView(a.segment.bytes.buffer, a.segment.bytes.byteOffset, 8192);
  return {
    k,
    a,
    seg,
    asked,
    signals,
    procs,
    whileAsking: (f: () => void) => {
      during = f;
    },
  };
}

/** A backer serving 0xa0000000 + the address and taking every write. */
const reads = (r: AmsBackedRequest) =>
  r.addresses.map((at) => (r.signal === Sig.READ_BACKED_AMS ? BigInt(0xa000_0000 + at) : 0n));

describe.skipIf(process.platform !== "linux")("signal-backed AMS, the kernel's half", () => {
  it("a fill asks one READ_BACKED_AMS per word of the range and writes the answers into the segment", async () => {
    const { k, a, seg, asked } = rig(reads);
    expect(await fillBacked(k, a, { from: 4096, length: 4096 }, 0x01)).toBe("ok");
    expect(asked).toHaveLength(1);
    expect(asked[0]).toMatchObject({ ams: a.id, signal: Sig.READ_BACKED_AMS, access: 0x01 });
    expect(asked[0]?.addresses).toHaveLength(1024);
    expect(asked[0]?.addresses[0]).toBe(4096);
    expect(asked[0]?.addresses[1023]).toBe(8188);
    expect(seg.getUint32(4096, true)).toBe(0xa000_1000);
    expect(seg.getUint32(8188, true)).toBe(0xa000_1ffc);
    expect(seg.getUint32(0, true)).toBe(0); // outside the range: untouched
  });

  it("the first page fault decides: out-of-range, or any other (no answer included) a fault", async () => {
    const out = rig((r) => r.addresses.map((at) => (at === 8 ? 0x01_0000_0000n : 0n)));
    expect(await fillBacked(out.k, out.a, { from: 0, length: 4096 }, 0)).toBe("out-of-range");
    const none = rig((r) => r.addresses.map(() => null));
    expect(await fillBacked(none.k, none.a, { from: 0, length: 4096 }, 0)).toBe("fault");
    const odd = rig((r) => r.addresses.map(() => 0x07_0000_0000n));
    expect(await fillBacked(odd.k, odd.a, { from: 0, length: 4096 }, 0)).toBe("fault");
  });

  it("a backer that ended is 'gone'", async () => {
    const { k, a, procs } = rig(reads);
    (procs.get(BACKER) as { state: string }).state = "exited";
    expect(await fillBacked(k, a, { from: 0, length: 4096 }, 0)).toBe("gone");
  });

  it("a store made while the backer answers is kept, and written back at the next sync", async () => {
    const { k, a, seg, asked, whileAsking } = rig(reads);
    whileAsking(() => seg.setUint32(16, 0x1234, true));
    expect(await fillBacked(k, a, { from: 0, length: 4096 }, 0)).toBe("ok");
    expect(seg.getUint32(16, true)).toBe(0x1234);
    expect(seg.getUint32(20, true)).toBe(0xa000_0014);
    whileAsking(() => undefined);
    await writeBack(k, a, [{ from: 0, length: 8192 }]);
    // only the changed word of the filled page goes back (page 1 was never filled: nothing to compare)
    expect(asked[1]).toMatchObject({
      signal: Sig.WRITE_BACKED_AMS,
      addresses: [16],
      data: [0x1234],
    });
    // acknowledged: a second write-back sends nothing
    await writeBack(k, a, [{ from: 0, length: 4096 }]);
    expect(asked).toHaveLength(2);
  });

  it("a refused write is put back and the writer gets MEM_FAULT at its own address", async () => {
    const { k, a, seg, asked, signals } = rig(reads);
    await fillBacked(k, a, { from: 0, length: 8192 }, 0);
    seg.setUint32(0x1ff0, 0xdead, true);
    seg.setUint32(0x0010, 0xbeef, true);
    const refuse = {
      ...k,
      askBacker: async (_p: KProcess, r: AmsBackedRequest) => {
        asked.push(r);
        return r.addresses.map((at) => (at === 0x1ff0 ? 0x02n : 0n));
      },
    };
    await writeBack(refuse, a, [{ from: 0, length: 8192 }]);
    expect(asked[1]?.addresses).toEqual([0x10, 0x1ff0]);
    expect(seg.getUint32(0x1ff0, true)).toBe(0xa000_1ff0);
    expect(seg.getUint32(0x10, true)).toBe(0xbeef);
    expect(signals).toHaveLength(1);
    expect(signals[0]?.pid).toBe(RECEIVER);
    expect(signals[0]?.signal).toBe(Sig.MEM_FAULT);
    expect(
      decodeDatafield(Datafield[Sig.MEM_FAULT], signals[0]?.datafield ?? new Uint8Array()),
    ).toEqual({ address: BigInt(0x40000 + 0x1ff0), access: 0x02 });
  });

  it("copy-on-write receivers are never blamed (their stores never reach the segment)", async () => {
    const { k, a, seg, signals } = rig(reads, true);
    await fillBacked(k, a, { from: 0, length: 4096 }, 0);
    seg.setUint32(0, 1, true);
    await writeBack({ ...k, askBacker: async (_p, r) => r.addresses.map(() => 0x02n) }, a, [
      { from: 0, length: 4096 },
    ]);
    expect(signals).toHaveLength(0);
  });
});
