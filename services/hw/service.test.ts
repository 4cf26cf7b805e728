// sys::hw's handler (services/hw/service.ts) through the service host: REGISTER_DRIVER's two answers (a
// service process cannot expose a driver service on NCW), and the page's errcodes for arguments written
// out by hand.

import { describe, expect, it } from "vitest";
import { ServiceHost } from "../host/host.js";
import { SysHw } from "./service.js";

const hex = (h: string) => Uint8Array.from(Buffer.from(h.replace(/ /g, ""), "hex"));
const err = (errcode: number) => ({ ok: false, errcode });

function setup() {
  // PID 101 is an application's service process, 100 is not. No permission is ever granted.
  const host = new ServiceHost({ checker: () => false });
  host.register(new SysHw((pid) => pid === 101));
  return host;
}

describe("SysHw", () => {
  it("REGISTER_DRIVER: 0x3000 from a process that is not a service, 0x3001 from a service", async () => {
    const host = setup();
    await host.connect(12, 100);
    await host.connect(12, 101);
    expect(await host.call(12, 100, 0x1000, hex("0d 00 00 00 00"))).toEqual(err(0x3000));
    expect(await host.call(12, 101, 0x1000, hex("0d 00 00 00 00"))).toEqual(err(0x3001));
  });

  it("ENUM_DEVICES' constant checks come before the context, and no permission is asked", async () => {
    const host = setup();
    await host.connect(12, 100);
    // start 1, end 0: 0x1000; a valid range: 0x3000 (not a system service), not 0x0001
    expect(await host.call(12, 100, 0x0001, hex("01000000 00000000 0d 00 00 00 00"))).toEqual(
      err(0x1000),
    );
    expect(await host.call(12, 100, 0x0001, hex("00000000 02000000 0d 00 00 00 00"))).toEqual(
      err(0x3000),
    );
    // a specific connection type that hardware.md does not list (0x08): 0x1001; SATA (0x03): 0x3000
    expect(await host.call(12, 100, 0x0001, hex("00000000 00000000 0c 08 00 00 00"))).toEqual(
      err(0x1001),
    );
    expect(await host.call(12, 100, 0x0001, hex("00000000 00000000 0c 03 00 00 00"))).toEqual(
      err(0x3000),
    );
    // 2048 DDRDs: 9 + 2048 × 512 bytes > 1 MiB, 0x1005; 2047 fit
    expect(await host.call(12, 100, 0x0001, hex("00000000 00080000 0d 00 00 00 00"))).toEqual(
      err(0x1005),
    );
    expect(await host.call(12, 100, 0x0001, hex("00000000 ff070000 0d 00 00 00 00"))).toEqual(
      err(0x3000),
    );
  });
});
