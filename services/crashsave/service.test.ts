// sys::crashsave's rules on an in-memory tree (services/crashsave/service.ts; docs/crash-saves.md):
// the awake indicators and the after-crash decision, a collection and its answers, a restoration and
// the markers of one that crashed, GET_LAST_CRASH_SAVE and REMOVE_CRASH_SAVE — through the service host,
// with the notifications' datafields and the methods' answers checked against bytes written by hand.

import { describe, expect, it } from "vitest";
import { MemoryFs } from "../fs/memory.js";
import { SysFs } from "../fs/service/sysfs.js";
import { TEMPORARY_FEID_BIT, type TemporaryRights } from "../fs/service/temporary.js";
import { type OutgoingNotification, ServiceHost } from "../host/host.js";
import { SysCrashSave } from "./service.js";

const APP = "ncwdemo.counter";
const DIR = `/home/user/appdata/${APP}/crashsaves`;
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const bytes = (h: string) => Uint8Array.from(Buffer.from(h.replace(/ /g, ""), "hex"));
const le64 = (n: bigint) => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(n);
  return b.toString("hex");
};

function setup() {
  const layer = new MemoryFs();
  const sent: OutgoingNotification[] = [];
  // sys::fs's temporary FEIDs on the same tree, each one recorded with what it was made for.
  const sysfs = new SysFs({
    layer,
    identity: async () => ({ user: "user", app: APP }),
    memory: { read: async () => undefined, write: async () => false },
  });
  const feids = new Map<bigint, { path: string; holder: number; rights: TemporaryRights }>();
  let every = 3_600_000;
  let again = false;
  let clock = 1_700_000_000_000;
  const host = new ServiceHost({ checker: () => false, deliver: (n) => sent.push(n) });
  const cs = new SysCrashSave({
    layer: async () => layer,
    serialize: (fn) => fn(),
    identity: async (pid) => ({ user: "user", ...(pid >= 100 ? { app: APP } : {}) }),
    feids: {
      createTemporaryFeid: async (path, holder, rights) => {
        const f = await sysfs.createTemporaryFeid(path, holder, rights);
        feids.set(f, { path, holder, rights });
        return f;
      },
      revokeTemporaryFeid: (f) => {
        feids.delete(f);
        return sysfs.revokeTemporaryFeid(f);
      },
    },
    connected: () => true,
    collectEveryMs: async () => every,
    collectIfUnanswered: async () => again,
    now: () => clock,
  });
  host.register(cs);
  const collect = (pid: number) =>
    (cs as unknown as { collect(i: unknown): Promise<void> }).collect(
      (cs as unknown as { instances: Map<number, unknown> }).instances.get(pid),
    );
  return {
    layer,
    sent,
    feids,
    host,
    cs,
    collect,
    setEvery: (ms: number) => {
      every = ms;
    },
    setCollectIfUnanswered: (v: boolean) => {
      again = v;
    },
    answerWithin: (pid: number) =>
      (cs as unknown as { instances: Map<number, { answerWithin: number }> }).instances.get(pid)
        ?.answerWithin,
    tick: (ms: number) => {
      clock += ms;
    },
    now: () => clock,
  };
}

const settle = () => new Promise((r) => setTimeout(r, 30));

describe("SysCrashSave", () => {
  it("collects: the datafield's bytes, the file renamed <timestamp>_<pid>.csf on status 0x00", async () => {
    const t = setup();
    expect(await t.cs.starting("user", APP)).toBe(false);
    // the system's indicator is the tree owner's (services/fs/structure.ts), not this service's
    expect(await t.layer.stat("/etc/sys/awake")).toBeNull();
    // nothing of the app is written until it started
    expect(await t.layer.stat(`${DIR}/awake`)).toBeNull();
    t.cs.started(100, "user", APP, false);
    await settle();
    expect(await t.layer.stat(`${DIR}/awake`)).not.toBeNull();
    expect(await t.host.connect(16, 100)).toBe(true);
    await settle();
    const sentAt = t.now();
    await t.collect(100);
    const n = t.sent.at(-1)!;
    expect(n.code).toBe(0x0100);
    const feid = [...t.feids.keys()].at(-1)!;
    // answer within 255 s (3600 capped), last crash save 0 (8 bytes), unanswered 0x00, the FEID
    expect(hex(n.data)).toBe(`ff ${le64(0n)} 00 ${le64(feid)}`.replace(/ /g, ""));
    expect(feid & TEMPORARY_FEID_BIT).toBe(TEMPORARY_FEID_BIT);
    // sys::fs's: for PID 100 alone, to write in
    expect(t.feids.get(feid)).toEqual({
      path: `${DIR}/.collect_100`,
      holder: 100,
      rights: { write: true },
    });
    // the app writes its state, then answers 0x00 and a log message (option 0x01, u64 length, UTF-8)
    await t.layer.writeFile(`${DIR}/.collect_100`, bytes("2a00000000000000"));
    n.onAnswer!(bytes(`00 01 ${le64(2n)} 6f6b`));
    await settle();
    expect(hex(await t.layer.readFile(`${DIR}/${sentAt}_100.csf`))).toBe("2a00000000000000");
    expect(await t.layer.stat(`${DIR}/.collect_100`)).toBeNull();
    expect(t.feids.has(feid)).toBe(false);
    // the next collection names the last crash save's timestamp
    t.tick(1000);
    await t.collect(100);
    expect(hex(t.sent.at(-1)!.data).slice(2, 18)).toBe(le64(BigInt(sentAt)));
  });

  it("an unanswered collection is aborted at the next one, and the one after says so", async () => {
    const t = setup();
    await t.cs.starting("user", APP);
    t.cs.started(100, "user", APP, false);
    await t.host.connect(16, 100);
    await settle();
    await t.collect(100);
    const first = t.sent.at(-1)!;
    await t.collect(100); // aborted: nothing sent
    expect(t.sent).toHaveLength(1);
    expect(await t.layer.stat(`${DIR}/.collect_100`)).toBeNull();
    await t.collect(100);
    expect(t.sent).toHaveLength(2);
    expect(t.sent[1]!.data[9]).toBe(0x01);
    // a late answer to the aborted one changes nothing
    first.onAnswer!(bytes("0000"));
    await settle();
    expect((await t.layer.readdir(DIR)).map((e) => e.name).sort()).toEqual([
      ".collect_100",
      "awake",
    ]);
    // 0x03: no more collections for this instance
    t.sent[1]!.onAnswer!(bytes("0300"));
    await settle();
    await t.collect(100);
    expect(t.sent).toHaveLength(2);
  });

  it("collect_if_previous_unanswered true: the unanswered one is aborted and a new one sent at once, saying so", async () => {
    const t = setup();
    t.setCollectIfUnanswered(true);
    await t.cs.starting("user", APP);
    t.cs.started(100, "user", APP, false);
    await t.host.connect(16, 100);
    await settle();
    await t.collect(100);
    const first = t.sent.at(-1)!;
    const firstFeid = [...t.feids.keys()].at(-1)!;
    expect(first.data[9]).toBe(0x00);
    await t.collect(100); // the first is aborted, and a new one goes out in the same collection
    expect(t.sent).toHaveLength(2);
    expect(t.sent[1]!.data[9]).toBe(0x01); // "the previous one was not answered"
    expect(t.feids.has(firstFeid)).toBe(false);
    const secondFeid = [...t.feids.keys()].at(-1)!;
    expect(secondFeid).not.toBe(firstFeid);
    // a late answer to the aborted one is ignored; the new one is answered and stored
    first.onAnswer!(bytes("0000"));
    await settle();
    expect((await t.layer.readdir(DIR)).some((e) => e.name.endsWith(".csf"))).toBe(false);
    const sentAt = t.now();
    await t.layer.writeFile(`${DIR}/.collect_100`, bytes("0100000000000000"));
    t.sent[1]!.onAnswer!(bytes("0000"));
    await settle();
    expect(hex(await t.layer.readFile(`${DIR}/${sentAt}_100.csf`))).toBe("0100000000000000");
  });

  it("restores after a crash: the datafield, the rename to the new PID, the crashed-restoration marker", async () => {
    const t = setup();
    await t.cs.starting("user", APP);
    await t.layer.mkdir(DIR, { recursive: true });
    await t.layer.writeFile(`${DIR}/1000_100.csf`, bytes("0700000000000000"));
    const written = Math.trunc((await t.layer.stat(`${DIR}/1000_100.csf`))!.mtimeMs);
    // PID 100 crashes (not graceful): the awake indicator stays, the next start is after a crash
    t.cs.started(100, "user", APP, false);
    await t.cs.ended(100, false);
    expect(await t.layer.stat(`${DIR}/awake`)).not.toBeNull();
    expect(await t.cs.starting("user", APP)).toBe(true);
    t.cs.started(101, "user", APP, true);
    await t.host.connect(16, 101);
    await settle();
    const n = t.sent.at(-1)!;
    expect(n.code).toBe(0x0200);
    const feid = [...t.feids.keys()].at(-1)!;
    expect(hex(n.data)).toBe(`${le64(feid)}${le64(1000n)}${le64(BigInt(written))}0000`);
    expect(t.feids.get(feid)).toEqual({
      path: `${DIR}/1000_101.csf`,
      holder: 101,
      rights: { read: true },
    });
    expect(await t.layer.stat(`${DIR}/1000_100.csf`)).toBeNull();
    // it crashes before answering: the marker says so
    await t.cs.ended(101, false);
    expect(new TextDecoder().decode(await t.layer.readFile(`${DIR}/1000_101.restoring`))).toBe(
      "crashed",
    );
    // the next restoration: interrupted 0x01, crashed 0x01; answered restored (0x01) + delete (0x00)
    expect(await t.cs.starting("user", APP)).toBe(true);
    t.cs.started(102, "user", APP, true);
    await t.host.connect(16, 102);
    await settle();
    const again = t.sent.at(-1)!;
    expect(hex(again.data).slice(48)).toBe("0101");
    again.onAnswer!(bytes("0100"));
    await settle();
    expect((await t.layer.readdir(DIR)).map((e) => e.name)).toEqual(["awake"]);
    // a graceful end of the last instance removes the awake indicator
    await t.cs.ended(102, true);
    expect(await t.layer.stat(`${DIR}/awake`)).toBeNull();
  });

  it("a changed collect_every applies to the running instances (settingsChanged)", async () => {
    const t = setup();
    await t.cs.starting("user", APP);
    t.cs.started(100, "user", APP, false);
    await t.host.connect(16, 100);
    await settle();
    expect(t.answerWithin(100)).toBe(255);
    t.setEvery(2000);
    await t.cs.settingsChanged();
    // 2 s: the answer is due within 2 s, and a collection comes within the new period
    expect(t.answerWithin(100)).toBe(2);
    const until = Date.now() + 10_000;
    while (t.sent.length === 0 && Date.now() < until) await settle();
    expect(t.sent.at(-1)?.data[0]).toBe(2);
    await t.cs.ended(100, true);
  });

  it("an instance that is still running makes the next start a normal one", async () => {
    const t = setup();
    await t.cs.starting("user", APP);
    t.cs.started(100, "user", APP, false);
    expect(await t.cs.starting("user", APP)).toBe(false);
  });

  it("GET_LAST_CRASH_SAVE and REMOVE_CRASH_SAVE: the answers' bytes", async () => {
    const t = setup();
    await t.host.connect(16, 100);
    // none: option 0x00; REMOVE: 0x01
    expect(await t.host.call(16, 100, 0x0100, new Uint8Array(0))).toEqual({
      ok: true,
      answer: bytes("00"),
    });
    expect(await t.host.call(16, 100, 0x0101, new Uint8Array(0))).toEqual({
      ok: true,
      answer: bytes("01"),
    });
    await t.layer.mkdir(DIR, { recursive: true });
    await t.layer.writeFile(`${DIR}/1000_7.csf`, bytes("01"));
    await t.layer.writeFile(`${DIR}/2000_8.csf`, bytes("02"));
    await t.layer.writeFile(`${DIR}/2000_8.restoring`, new Uint8Array(0));
    const written = Math.trunc((await t.layer.stat(`${DIR}/2000_8.csf`))!.mtimeMs);
    const r = await t.host.call(16, 100, 0x0100, new Uint8Array(0));
    const feid = [...t.feids.keys()].at(-1)!;
    expect(t.feids.get(feid)).toEqual({
      path: `${DIR}/2000_8.csf`,
      holder: 100,
      rights: { read: true },
    });
    // option 0x01, then the 26 bytes: the last one, interrupted (its marker is there), not crashed
    expect(r).toEqual({
      ok: true,
      answer: bytes(`01${le64(feid)}${le64(2000n)}${le64(BigInt(written))}0100`),
    });
    // REMOVE removes the last one (0x00), then the one before, then there is none
    for (const [status, left] of [
      ["00", ["1000_7.csf"]],
      ["00", []],
      ["01", []],
    ] as const) {
      expect(await t.host.call(16, 100, 0x0101, new Uint8Array(0))).toEqual({
        ok: true,
        answer: bytes(status),
      });
      expect((await t.layer.readdir(DIR)).map((e) => e.name)).toEqual(left);
    }
    // arguments the methods do not take: 0x1FFF
    expect(await t.host.call(16, 100, 0x0100, bytes("00"))).toEqual({ ok: false, errcode: 0x1fff });
    // the client goes away: the temporary FEID it was given goes too
    expect(t.feids.has(feid)).toBe(true);
    t.host.disconnect(16, 100);
    expect(t.feids.has(feid)).toBe(false);
  });
});
