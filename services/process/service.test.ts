// sys::process's handler (services/process/service.ts) through the service host as the kernel calls it:
// CHILDREN and PROCESS_ATTRIBUTES against bytes written out by hand, and whom MANAGE_PROCESS and
// SET_PRIORITY may act on (descendants at any depth, the caller's own app for its user), with the
// controls each action calls.

import { describe, expect, it } from "vitest";
import { Sig } from "../../commonassembly/abi/numbers.js";
import { ServiceHost } from "../host/host.js";
import { type ProcessEntry, SysProcess } from "./service.js";

const entry = (pid: number, ppid: number, more: Partial<ProcessEntry> = {}): ProcessEntry => ({
  pid,
  ppid,
  name: `p${pid}`,
  kind: "app",
  state: "running",
  startedAt: 0,
  user: 1,
  anid: pid * 10,
  priority: 10,
  ...more,
});

// 100 → 101 → 102 (a grandchild); 103: 100's app (same ANID, same user); 104: same ANID, user 2;
// 105: another app; 106: suspended child of 100.
const PROCS: ProcessEntry[] = [
  entry(20, 0, { kind: "system", anid: 0, user: 0 }),
  entry(100, 0, { anid: 7 }),
  entry(101, 100),
  entry(102, 101),
  entry(103, 0, { anid: 7 }),
  entry(104, 0, { anid: 7, user: 2 }),
  entry(105, 0),
  entry(106, 100, { state: "suspended", priority: 0 }),
];

function setup() {
  const calls: string[] = [];
  const host = new ServiceHost({ checker: () => true });
  host.register(
    new SysProcess(() => PROCS, {
      signal: (pid, s) => calls.push(`signal ${pid} ${s}`),
      unsuspend: (pid) => calls.push(`unsuspend ${pid}`),
      setPriority: (pid, p) => calls.push(`priority ${pid} ${p}`),
    }),
  );
  return { host, calls };
}

const hex = (h: string) => Uint8Array.from(Buffer.from(h.replace(/ /g, ""), "hex"));
/** A PID below 256 as a u64, little-endian. */
const pid = (n: number) => `${n.toString(16).padStart(2, "0")}00000000000000`;
const err = (errcode: number) => ({ ok: false, errcode });

describe("SysProcess", () => {
  it("CHILDREN and PROCESS_ATTRIBUTES answer the table's bytes", async () => {
    const { host } = setup();
    await host.connect(20, 100);
    expect(await host.call(20, 100, 0x0003, hex(pid(100)))).toEqual({
      ok: true,
      answer: hex(`1000000000000000 ${pid(101)} ${pid(106)}`),
    });
    expect(await host.call(20, 100, 0x0003, hex(pid(20)))).toEqual({
      ok: true,
      answer: hex("0000000000000000"),
    });
    expect(await host.call(20, 100, 0x0003, hex(pid(99)))).toEqual(err(0x3000));
    // priority 0 (suspended), user 1, ANID 1060
    expect(await host.call(20, 100, 0x0004, hex(pid(106)))).toEqual({
      ok: true,
      answer: hex("00 0100000000000000 2404000000000000"),
    });
  });

  it("MANAGE_PROCESS acts on descendants and the caller's own app for its user only", async () => {
    const { host, calls } = setup();
    await host.connect(20, 100);
    const manage = (target: number, action: number) =>
      host.call(20, 100, 0x1000, hex(`${pid(target)} 0${action}`));
    expect(await manage(102, 4)).toEqual({ ok: true, answer: new Uint8Array(0) });
    expect(await manage(103, 5)).toEqual({ ok: true, answer: new Uint8Array(0) });
    expect(await manage(104, 4)).toEqual(err(0x3002));
    expect(await manage(105, 4)).toEqual(err(0x3002));
    expect(await manage(100, 4)).toEqual(err(0x3002));
    expect(await manage(20, 4)).toEqual(err(0x3002));
    expect(await manage(0xfe, 4)).toEqual(err(0x3000));
    expect(await manage(101, 7)).toEqual(err(0x1000));
    expect(await manage(101, 1)).toEqual({ ok: true, answer: new Uint8Array(0) });
    expect(await manage(101, 2)).toEqual({ ok: true, answer: new Uint8Array(0) });
    expect(await manage(101, 3)).toEqual(err(0x3001));
    expect(await manage(106, 2)).toEqual(err(0x3001));
    expect(await manage(106, 3)).toEqual({ ok: true, answer: new Uint8Array(0) });
    expect(calls).toEqual([
      `signal 102 ${Sig.TERMINATE}`,
      `signal 103 ${Sig.WILL_TERMINATE}`,
      `signal 101 ${Sig.SUSPEND}`,
      `signal 101 ${Sig.WILL_SUSPEND}`,
      "unsuspend 106",
    ]);
  });

  it("SET_PRIORITY takes 1–10 for a process the caller may act on", async () => {
    const { host, calls } = setup();
    await host.connect(20, 100);
    const set = (target: number, p: number) =>
      host.call(20, 100, 0x1001, hex(`${pid(target)} ${p.toString(16).padStart(2, "0")}`));
    expect(await set(101, 10)).toEqual({ ok: true, answer: new Uint8Array(0) });
    expect(await set(101, 0)).toEqual(err(0x1000));
    expect(await set(101, 11)).toEqual(err(0x1000));
    expect(await set(105, 5)).toEqual(err(0x3002));
    expect(calls).toEqual(["priority 101 10"]);
  });
});
