// The service table (kernel/services.ts; docs/services.md): its naming rules (scope fields, which
// service a target names, what an app exposes) and, with a fake kernel, its rules: on-demand start,
// READY gating, the delay, accept / reject, the closing signals, flexible mode, the idle end.

import { describe, expect, it } from "vitest";
import { ServiceType } from "../../commonassembly/abi/context.js";
import { ServiceTarget, Sig } from "../../commonassembly/abi/numbers.js";
import { Datafield, decodeDatafield } from "../../commonassembly/abi/signals.js";
import type { KProcess } from "./process.js";
import {
  exposes,
  exposesAny,
  type ServiceApp,
  scopeField,
  scopeText,
  serviceLabel,
  serviceName,
} from "./service-names.js";
import { type Connection, type ServiceKernel, ServiceTable } from "./services.js";

const app = (services: ServiceApp["services"]): ServiceApp => ({ aid: "a::b", anid: 7, services });

describe("service names", () => {
  it("a scope is its bytes, zero-padded to 8 (extended ASCII: one byte per character)", () => {
    expect([...scopeField("echo")]).toEqual([0x65, 0x63, 0x68, 0x6f, 0, 0, 0, 0]);
    expect([...scopeField("\u00e9t\u00e9")]).toEqual([0xe9, 0x74, 0xe9, 0, 0, 0, 0, 0]);
    expect(scopeText(scopeField("12345678"))).toBe("12345678");
    expect(scopeText(scopeField("ab"))).toBe("ab");
  });

  it("a zero scope names the main service whatever the target type", () => {
    expect(serviceName(ServiceTarget.SCOPED, new Uint8Array(8)).type).toBe(ServiceType.MAIN);
    const main = serviceName(ServiceTarget.MAIN, scopeField("echo"));
    expect(main.type).toBe(ServiceType.MAIN);
    expect([...main.scope]).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
    const s = serviceName(ServiceTarget.SCOPED, scopeField("echo"));
    expect(s.type).toBe(ServiceType.SCOPED);
    expect(serviceLabel(s)).toBe("scoped:echo");
    expect(serviceLabel(main)).toBe("main");
  });

  it("what an app exposes: its manifest's main flag and scoped names", () => {
    const a = app({ main: false, scoped: ["echo"] });
    expect(exposes(a, serviceName(ServiceTarget.SCOPED, scopeField("echo")))).toBe(true);
    expect(exposes(a, serviceName(ServiceTarget.SCOPED, scopeField("ech")))).toBe(false);
    expect(exposes(a, serviceName(ServiceTarget.MAIN, new Uint8Array(8)))).toBe(false);
    expect(exposesAny(a)).toBe(true);
    expect(exposesAny(app({ main: false, scoped: [] }))).toBe(false);
    expect(exposesAny(app(undefined))).toBe(false);
    expect(exposes(app(undefined), serviceName(ServiceTarget.MAIN, new Uint8Array(8)))).toBe(false);
  });
});

// ---- the table's rules, with a fake kernel ----

// Long enough that a loaded machine answers within it, short enough for the tests that wait it out.
const DELAY = 300;

function fakeProcess(pid: number, userName = "u"): KProcess {
  return { pid, userName, state: "running", anid: 1 } as unknown as KProcess;
}

function setup(services: ServiceApp["services"] = { main: true, scoped: ["echo"] }) {
  const signals: { pid: number; signal: number; datafield?: Uint8Array }[] = [];
  const started: KProcess[] = [];
  const closed: { id: bigint; brutal: boolean }[] = [];
  let nextPid = 200;
  const k: ServiceKernel = {
    findApp: async (anid) => (anid === 7 ? app(services) : undefined),
    startService: async () => {
      const p = fakeProcess(nextPid++);
      started.push(p);
      return p;
    },
    signal: (p, signal, opts) =>
      signals.push({
        pid: p.pid,
        signal,
        ...(opts?.datafield ? { datafield: opts.datafield } : {}),
      }),
    answerDelay: () => DELAY,
    log: () => {},
    sockets: {
      open: async () => ({ service: 11n, client: 21n }),
      close: (c: Connection, brutal: boolean) => closed.push({ id: c.id, brutal }),
    },
  };
  return { table: new ServiceTable(k), signals, started, closed };
}

const tick = () => new Promise((r) => setTimeout(r, 0));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const target = { anid: 7, targetType: 0, scope: new Uint8Array(8), command: 9, flexible: false };

/** Start a connection and bring its service to READY; the request's datafield. */
async function requested(s: ReturnType<typeof setup>, client: KProcess) {
  const pending = s.table.connect(client, target);
  await tick();
  const svc = s.started.at(-1) as KProcess;
  s.table.processRunning(svc);
  s.table.processReady(svc);
  await tick();
  const sent = s.signals.filter((x) => x.signal === Sig.SERVICE_CONN_REQUEST).at(-1);
  const df = decodeDatafield(Datafield[Sig.SERVICE_CONN_REQUEST], sent?.datafield as Uint8Array);
  return { pending, svc, df };
}

describe("the service table", () => {
  it("starts the service, waits for READY, asks it, and connects on ACCEPT", async () => {
    const s = setup();
    const client = fakeProcess(100);
    const { pending, svc, df } = await requested(s, client);
    expect(df).toEqual({ callee: 100n, request: 1n, command: 9, answerDelay: DELAY });
    expect(await s.table.accept(svc, df.request)).toEqual({ ok: true, socket: 11n });
    expect(await pending).toEqual({ ok: true, connection: 1n, socket: 21n });
    expect(s.table.describe(svc)).toEqual({ service: "main", clients: [100] });
    expect(s.table.describe(client)).toEqual({ connectedTo: [svc.pid] });
    // The same request cannot be answered twice; another client of the same user shares the process.
    expect(await s.table.accept(svc, df.request)).toEqual({ ok: false, why: "no-such-request" });
    const second = s.table.connect(fakeProcess(101), target);
    await tick();
    expect(s.started.length).toBe(1);
    s.table.reject(svc, 2n);
    expect(await second).toEqual({ ok: false, why: "rejected" });
  });

  it("gives each user an instance of their own", async () => {
    const s = setup();
    void s.table.connect(fakeProcess(100, "alice"), target);
    void s.table.connect(fakeProcess(101, "bob"), target);
    await tick();
    expect(s.started.length).toBe(2);
  });

  it("rejects a late answer: the client after the delay, the service's ACCEPT with too-late", async () => {
    const s = setup();
    const { pending, svc, df } = await requested(s, fakeProcess(100));
    expect(await pending).toEqual({ ok: false, why: "rejected" });
    expect(await s.table.accept(svc, df.request)).toEqual({ ok: false, why: "too-late" });
  });

  it("fails when READY does not come within the delay, or the service ends first", async () => {
    const s = setup();
    const pending = s.table.connect(fakeProcess(100), target);
    await tick();
    s.table.processRunning(s.started[0] as KProcess);
    expect(await pending).toEqual({ ok: false, why: "rejected" });
    const again = s.table.connect(fakeProcess(101), target);
    await tick();
    const svc = s.started[0] as KProcess;
    (svc as { state: string }).state = "exited";
    s.table.processEnded(svc);
    expect(await again).toEqual({ ok: false, why: "not-delivered" });
  });

  it("closes: END (proper, SERVICE_CLIENT_QUITTED), a client's death, a client thread's end", async () => {
    const s = setup();
    const a = fakeProcess(100);
    const r1 = await requested(s, a);
    await s.table.accept(r1.svc, r1.df.request);
    await r1.pending;
    expect(s.table.end(a, r1.df.request)).toEqual({ ok: true });
    expect(s.table.end(a, r1.df.request)).toEqual({ ok: false, why: "closed" });
    expect(s.table.end(fakeProcess(999), r1.df.request)).toEqual({
      ok: false,
      why: "no-such-connection",
    });
    const quitted = s.signals.find((x) => x.signal === Sig.SERVICE_CLIENT_QUITTED);
    expect(quitted?.pid).toBe(r1.svc.pid);
    expect(
      decodeDatafield(Datafield[Sig.SERVICE_CLIENT_QUITTED], quitted?.datafield as Uint8Array),
    ).toEqual({
      connection: r1.df.request,
    });

    const b = fakeProcess(101);
    const p2 = s.table.connect(b, target);
    await tick();
    await s.table.accept(r1.svc, 2n);
    await p2;
    (b as { state: string }).state = "exited";
    s.table.processEnded(b);
    const closed = s.signals.find((x) => x.signal === Sig.SERVICE_CLIENT_CLOSED);
    expect(closed?.pid).toBe(r1.svc.pid);
    expect(s.table.connection(2n)).toBeUndefined(); // forgotten: only its client could ask

    const c = fakeProcess(102);
    const p3 = s.table.connect(c, target);
    await tick();
    await s.table.accept(r1.svc, 3n);
    await p3;
    s.table.clientThreadEnded(r1.svc, 3n);
    const quit = s.signals.find((x) => x.signal === Sig.SERVICE_SERVER_QUITTED);
    expect(quit?.pid).toBe(102);
    expect(
      decodeDatafield(Datafield[Sig.SERVICE_SERVER_QUITTED], quit?.datafield as Uint8Array),
    ).toEqual({
      request: 3n,
    });
    expect(s.table.end(c, 3n)).toEqual({ ok: false, why: "thread-ended" });
    expect(s.closed).toEqual([
      { id: 1n, brutal: false },
      { id: 2n, brutal: true },
      { id: 3n, brutal: true },
    ]);
  });

  it("flexible mode returns the open connection; without it a second one is refused", async () => {
    const s = setup();
    const a = fakeProcess(100);
    const r = await requested(s, a);
    await s.table.accept(r.svc, r.df.request);
    await r.pending;
    expect(await s.table.connect(a, target)).toEqual({ ok: false, why: "already-connected" });
    expect(await s.table.connect(a, { ...target, flexible: true })).toEqual({
      ok: true,
      connection: 1n,
      socket: 21n,
    });
  });

  it("answers what an app does not expose, and terminates a service left without clients", async () => {
    const s = setup();
    expect(await s.table.connect(fakeProcess(100), { ...target, anid: 8 })).toEqual({
      ok: false,
      why: "no-such-anid",
    });
    const scope = scopeField("nope");
    expect(await s.table.connect(fakeProcess(100), { ...target, targetType: 1, scope })).toEqual({
      ok: false,
      why: "not-exposed",
    });
    expect(await s.table.hasScoped(fakeProcess(100), 7, scopeField("echo"))).toBe(true);
    expect(await s.table.hasScoped(fakeProcess(100), 7, scope)).toBe(false);
    expect(await s.table.hasScoped(fakeProcess(100), 8, scope)).toBe("no-such-anid");
    const r = await requested(s, fakeProcess(100));
    s.table.reject(r.svc, r.df.request);
    await r.pending;
    await sleep(DELAY * 3);
    expect(s.signals.some((x) => x.signal === Sig.WILL_TERMINATE && x.pid === r.svc.pid)).toBe(
      true,
    );
    // The next client gets a new process.
    void s.table.connect(fakeProcess(101), target);
    await tick();
    expect(s.started.length).toBe(2);
  });
});
