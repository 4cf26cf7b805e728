// sys::crypto's handler (services/crypto/service.ts): RANDOM_BUFFER's argument bytes written out by hand
// (a buffer pointer: address u64 LE, length u64 LE), the source's bytes written at the address, and the
// refusals, through the service host as the kernel calls it.

import { describe, expect, it } from "vitest";
import { ServiceHost } from "../host/host.js";
import { SysCrypto } from "./service.js";

function setup(fits = true) {
  const writes: { pid: number; address: bigint; bytes: Uint8Array }[] = [];
  let n = 0;
  const host = new ServiceHost({ checker: () => false });
  host.register(
    new SysCrypto(
      {
        write: async (pid, address, bytes) => {
          if (!fits) return false;
          writes.push({ pid, address, bytes: Uint8Array.from(bytes) });
          return true;
        },
      },
      (b) => {
        for (let i = 0; i < b.length; i++) b[i] = (n++ * 7 + 1) & 0xff;
      },
    ),
  );
  return { host, writes };
}

const args = (hex: string) => Uint8Array.from(Buffer.from(hex.replace(/ /g, ""), "hex"));

describe("SysCrypto", () => {
  it("RANDOM_BUFFER writes the source's bytes at the pointer and answers nothing", async () => {
    const { host, writes } = setup();
    expect(await host.connect(15, 100)).toBe(true);
    // address 0x1234, length 4
    const r = await host.call(15, 100, 0x1000, args("3412000000000000 0400000000000000"));
    expect(r).toEqual({ ok: true, answer: new Uint8Array(0) });
    expect(writes).toEqual([{ pid: 100, address: 0x1234n, bytes: Uint8Array.of(1, 8, 15, 22) }]);
  });

  it("takes node:crypto's bytes by default: two fills differ", async () => {
    const got: Uint8Array[] = [];
    const host = new ServiceHost({ checker: () => false });
    host.register(
      new SysCrypto({
        write: async (_p, _a, b) => {
          got.push(Uint8Array.from(b));
          return true;
        },
      }),
    );
    await host.connect(15, 100);
    await host.call(15, 100, 0x1000, args("0000000000000000 2000000000000000"));
    await host.call(15, 100, 0x1000, args("0000000000000000 2000000000000000"));
    expect(got).toHaveLength(2);
    expect(got[0]).toHaveLength(32);
    expect(Buffer.from(got[0]!).equals(Buffer.from(got[1]!))).toBe(false);
  });

  it("refuses a buffer outside the client's memory, past 1 MiB, or a short argument with 0x1FFF", async () => {
    const out = setup(false);
    await out.host.connect(15, 100);
    expect(await out.host.call(15, 100, 0x1000, args("0000000000000000 0100000000000000"))).toEqual(
      {
        ok: false,
        errcode: 0x1fff,
      },
    );
    const { host, writes } = setup();
    await host.connect(15, 100);
    expect(await host.call(15, 100, 0x1000, args("0000000000000000 0100100000000000"))).toEqual({
      ok: false,
      errcode: 0x1fff,
    });
    expect(await host.call(15, 100, 0x1000, args("0000000000000000 01000000000000"))).toEqual({
      ok: false,
      errcode: 0x1fff,
    });
    // exactly 1 MiB is allowed; an empty buffer writes nothing
    expect((await host.call(15, 100, 0x1000, args("0000000000000000 0000100000000000"))).ok).toBe(
      true,
    );
    expect((await host.call(15, 100, 0x1000, args("0800000000000000 0000000000000000"))).ok).toBe(
      true,
    );
    expect(writes.map((w) => w.bytes.length)).toEqual([0x100000]);
  });
});
