// Unit tests of an application proxy's link (kernel/proxy-link.ts, runner/proxy.ts) on the real host
// layer: the pipes the kernel makes, the runner's CALL written and ANSWER read on them (against bytes
// written out by hand, docs/kernel.md "Application proxies"), a garbage answer detaching the proxy, the
// link's end, and the run's refusals.

import { describe, expect, it } from "vitest";
import { Sig } from "../../commonassembly/abi/numbers.js";
import { hostNative } from "../../native/index.js";
import { hostRingMemory, RingReader, RingState, RingWriter } from "../ipc/ring.js";
import { ProxyLink } from "../runner/proxy.js";
import { PipeTable } from "./pipes.js";
import type { KProcess } from "./process.js";
import { ProcessTable } from "./process.js";
import { createProxyLink, endProxyLink, proxyLinkRef, proxyRefusal } from "./proxy-link.js";
import { SegmentTable } from "./segments.js";

const hex = (s: string) => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ""), "hex"));

describe.skipIf(process.platform !== "linux")("the link (linux)", () => {
  const native = hostNative();
  const ringOf = (seg: { name: string; size: number }) =>
    hostRingMemory(native.openSegment(seg.name, seg.size), native);

  function linked() {
    const segs = new SegmentTable(native);
    const table = new PipeTable(segs, native);
    const set = createProxyLink(table, { pid: 101, anid: 7 }, 100);
    const ref = proxyLinkRef(set);
    const notes: string[] = [];
    const link = new ProxyLink(ref, 101n, (l) => notes.push(l));
    // The proxy's side: it reads CALLs, writes ANSWERs.
    const calls = new RingReader(ringOf(ref.calls));
    const answers = new RingWriter(ringOf(ref.answers));
    return { segs, table, set, link, notes, calls, answers };
  }

  it("two message pipes made by the proxied process; the proxy's ends are its identifiers 1 and 2", () => {
    const { table, set } = linked();
    expect(set.calls.message && set.answers.message).toBe(true);
    expect(set.calls.creator).toBe(101);
    expect(set.calls.creatorAnid).toBe(7);
    expect(set.proxyIds).toEqual({ calls: 1n, answers: 2n });
    expect(table.ids.get(100, 1n)).toBe(set.calls.rc);
    expect(table.ids.get(100, 2n)).toBe(set.answers.sc);
    // The proxied process names neither end.
    expect(table.ids.holders(set.calls.sc)).toEqual([]);
  });

  it("writes the CALL of the table and reads the ANSWER back", () => {
    const { link, calls, answers, notes } = linked();
    // The answer to call 1 waits already: answered, failure 0x30.
    expect(answers.writeAll(hex("01000000 02 01 30 00")).ok).toBe(true);
    const v = link.ask(1, 0x24, hex("4d00000000000000"), [], {});
    expect(v).toEqual({ call: 1, action: "answer", errcode: 0x30, value: new Uint8Array(0) });
    const got = new Uint8Array(100);
    const r = calls.readExact(got, false);
    expect(r.ok).toBe(true);
    expect(got.subarray(0, r.read)).toEqual(
      hex("6500000000000000 01000000 01000000 24 00 0800 4d00000000000000"),
    );
    // Call 2 is numbered 2; its answer passes it.
    expect(answers.writeAll(hex("02000000 00 00 00 00")).ok).toBe(true);
    expect(link.ask(1, 0x53, new Uint8Array(0), [], {})).toEqual({ call: 2, action: "pass" });
    expect(notes).toEqual([]);
  });

  it("detaches a proxy that answers garbage or another call, and closes the pipes from its side", () => {
    const a = linked();
    expect(a.answers.writeAll(hex("01000000 07 00 00 00")).ok).toBe(true);
    const v = a.link.ask(1, 0x53, new Uint8Array(0), [], {});
    expect(v.action).toBe("detached");
    expect(a.link.detached).toMatch(
      /answered call 1 with garbage: proxy answer: unknown action 0x7/,
    );
    expect(a.notes).toEqual([
      `application proxy 100 detached: ${a.link.detached}; the calls go to the system from now on`,
    ]);
    expect(a.calls.state() & RingState.writerClosed).not.toBe(0);
    const b = linked();
    expect(b.answers.writeAll(hex("09000000 00 00 00 00")).ok).toBe(true);
    b.link.ask(1, 0x53, new Uint8Array(0), [], {});
    expect(b.link.detached).toBe("it answered call 9, not call 1");
  });

  it("detaches a proxy whose end closed brutally (it ended), without waiting", () => {
    const { table, set, link } = linked();
    table.close(set.answers, true);
    const v = link.ask(1, 0x53, new Uint8Array(0), [], {});
    expect(v.action).toBe("detached");
    expect(link.detached).toMatch(/its (calls|answers) pipe is closed/);
  });

  it("ends: both pipes closed properly, released once the proxy no longer names them", () => {
    const { segs, table, set } = linked();
    expect(endProxyLink(table, set)).toEqual([set.calls, set.answers]);
    expect(set.calls.state).toBe("proper");
    expect(segs.get(set.calls.segment.id)).toBeDefined();
    table.drop(100, set.proxyIds.calls);
    table.drop(100, set.proxyIds.answers);
    expect(segs.get(set.calls.segment.id)).toBeUndefined();
    expect(segs.get(set.answers.segment.id)).toBeUndefined();
  });
});

describe("proxyRefusal", () => {
  const processes = new ProcessTable();
  const fake = (pid: number, handled: number[], state: KProcess["state"] = "running") =>
    ({
      pid,
      ppid: 0,
      name: `p${pid}`,
      state,
      handled: new Set(handled),
      children: new Set(),
    }) as unknown as KProcess;
  processes.add(fake(100, [Sig.RECV_PIPE]));
  processes.add(fake(101, []));
  processes.add(fake(102, [Sig.RECV_PIPE], "exited"));
  const on = { devMode: true, processes };
  const ADMIN = { name: "user", level: 4 };

  it("lets a running process with a RECV_PIPE handler be the proxy", () => {
    expect(proxyRefusal(on, 100, ADMIN)).toBeUndefined();
  });

  it("refuses, each with its code and exit kind", () => {
    expect(proxyRefusal({ devMode: false, processes }, 100, ADMIN)).toMatchObject({
      code: "RUN_PROXY_DEV_MODE",
      kind: "no-perm",
    });
    expect(proxyRefusal(on, 100, { name: "alice", level: 2 })).toMatchObject({
      code: "RUN_PROXY_NOT_ADMIN",
      kind: "no-perm",
      hint: "raise it: `ncw perm policy --user alice --level 3`",
    });
    expect(proxyRefusal(on, 100, { name: "bob", level: 3 })).toBeUndefined();
    expect(proxyRefusal(on, 0, ADMIN)).toMatchObject({ code: "RUN_PROXY_BAD_PID", kind: "usage" });
    expect(proxyRefusal(on, "100", ADMIN)).toMatchObject({ code: "RUN_PROXY_BAD_PID" });
    expect(proxyRefusal(on, 999, ADMIN)).toMatchObject({
      code: "RUN_PROXY_NOT_FOUND",
      kind: "not-found",
    });
    expect(proxyRefusal(on, 102, ADMIN)).toMatchObject({ code: "RUN_PROXY_NOT_FOUND" });
    expect(proxyRefusal(on, 101, ADMIN)).toMatchObject({
      code: "RUN_PROXY_NO_HANDLER",
      kind: "usage",
    });
  });
});
