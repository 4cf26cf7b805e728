// The services' byte layouts (specs/kernel/signals.md 0x2A–0x2D, syscalls.md 0x2A–0x2E,
// specs/applications.md "Context header"; docs/services.md) against bytes written out by hand.

import { describe, expect, it } from "vitest";
import { decodeExact, encode } from "./codec.js";
import {
  CONTEXT_BASE_SIZE,
  decodeContextHeader,
  encodeExecutionContext,
  ServiceType,
  StartupCode,
  serviceContext,
} from "./context.js";
import { Sig } from "./numbers.js";
import { Datafield, decodeDatafield, defaultAction, encodeDatafield } from "./signals.js";
import {
  ACCEPT_SERVICE_CONN,
  CONNECT_SERVICE,
  END_SERVICE_CONN,
  HAS_SCOPED_SERVICE,
  REJECT_SERVICE_CONN,
} from "./syscalls.js";

const hex = (s: string) =>
  Uint8Array.from(s.replace(/\s+/g, "").match(/../g) ?? [], (h) => Number.parseInt(h, 16));
/** `s` followed by zeroes up to the 32-byte datafield. */
const df = (s: string) => {
  const out = new Uint8Array(32);
  out.set(hex(s));
  return out;
};

describe("service signals' datafields", () => {
  it("SERVICE_CONN_REQUEST: callee PID (8), request ID (8), command (2), answer delay (2)", () => {
    const bytes = df("0807060504030201 8877665544332211 cdab d007");
    const v = {
      callee: 0x0102030405060708n,
      request: 0x1122334455667788n,
      command: 0xabcd,
      answerDelay: 2000,
    };
    expect(encodeDatafield(Datafield[Sig.SERVICE_CONN_REQUEST], v)).toEqual(bytes);
    expect(decodeDatafield(Datafield[Sig.SERVICE_CONN_REQUEST], bytes)).toEqual(v);
    // "If no handler is registered for this signal, it will kill the process when received."
    expect(defaultAction(Sig.SERVICE_CONN_REQUEST)).toBe("kill");
  });

  it("SERVICE_SERVER_QUITTED: the connection's request ID (8)", () => {
    const bytes = df("2a00000000000000");
    expect(encodeDatafield(Datafield[Sig.SERVICE_SERVER_QUITTED], { request: 42n })).toEqual(bytes);
    expect(decodeDatafield(Datafield[Sig.SERVICE_SERVER_QUITTED], bytes)).toEqual({ request: 42n });
  });

  it("SERVICE_CLIENT_CLOSED / SERVICE_CLIENT_QUITTED: NCW's connection ID (8); ignored by default", () => {
    for (const sig of [Sig.SERVICE_CLIENT_CLOSED, Sig.SERVICE_CLIENT_QUITTED] as const) {
      const bytes = df("0201000000000000");
      expect(encodeDatafield(Datafield[sig], { connection: 0x102n })).toEqual(bytes);
      expect(decodeDatafield(Datafield[sig], bytes)).toEqual({ connection: 0x102n });
      expect(defaultAction(sig)).toBe("ignore");
    }
  });
});

describe("service syscalls' layouts", () => {
  it("CONNECT_SERVICE: ANID (4), target type (1), scope (8), command (2), flexible mode (1)", () => {
    const bytes = hex("78563412 01 6563686f00000000 3412 01");
    expect(decodeExact(CONNECT_SERVICE.args, bytes, "args")).toEqual({
      anid: 0x12345678,
      targetType: 1,
      scope: hex("6563686f00000000"),
      command: 0x1234,
      flexibleMode: 1,
    });
    expect(encode(CONNECT_SERVICE.ret, { connection: 3n, socket: 4n })).toEqual(
      hex("0300000000000000 0400000000000000"),
    );
  });

  it("ACCEPT_SERVICE_CONN: request ID (8) in; 0x00 in the client thread, 0x01 else, then the socket", () => {
    expect(decodeExact(ACCEPT_SERVICE_CONN.args, hex("0900000000000000"), "args")).toEqual({
      request: 9n,
    });
    expect(encode(ACCEPT_SERVICE_CONN.ret, { notClientThread: 0, socket: 5n })).toEqual(
      hex("00 0500000000000000"),
    );
    expect(ACCEPT_SERVICE_CONN.returnsTwice).toBe(true);
    expect(ACCEPT_SERVICE_CONN.errors).toMatchObject({
      NO_SUCH_REQUEST: 0x30,
      REQUESTER_TERMINATED: 0x40,
      ANSWER_TOO_LATE: 0x41,
    });
    expect(REJECT_SERVICE_CONN.errors).toMatchObject(ACCEPT_SERVICE_CONN.errors);
  });

  it("END_SERVICE_CONN and HAS_SCOPED_SERVICE", () => {
    expect(decodeExact(END_SERVICE_CONN.args, hex("0100000000000000"), "args")).toEqual({
      connection: 1n,
    });
    expect(decodeExact(HAS_SCOPED_SERVICE.args, hex("01000000 736c6f7700000000"), "args")).toEqual({
      anid: 1,
      scope: hex("736c6f7700000000"),
    });
    expect(encode(HAS_SCOPED_SERVICE.ret, { has: 1 })).toEqual(hex("01"));
  });
});

describe("a service's execution context", () => {
  it("a scoped service: startup reason 0x4, service type 0x02, the scope's bytes, the ANID", () => {
    const c = serviceContext({
      anid: 0x12345678,
      serviceType: ServiceType.SCOPED,
      scopeName: hex("6563686f00000000"),
    });
    const bytes = encodeExecutionContext(c);
    expect(bytes).toEqual(hex("40 00 00 02 6563686f00000000 78563412"));
    expect(bytes.length).toBe(CONTEXT_BASE_SIZE);
    const h = decodeContextHeader(bytes);
    expect(h.startupReason.code).toBe(StartupCode.SERVICE);
    expect(h.serviceType).toBe(ServiceType.SCOPED);
  });

  it("the main service: service type 0x01, a zero scope; a main service with a scope is refused", () => {
    const c = serviceContext({
      anid: 1,
      serviceType: ServiceType.MAIN,
      scopeName: new Uint8Array(8),
    });
    expect(encodeExecutionContext(c)).toEqual(hex("40 00 00 01 0000000000000000 01000000"));
    expect(() =>
      serviceContext({
        anid: 1,
        serviceType: ServiceType.MAIN,
        scopeName: hex("6100000000000000"),
      }),
    ).toThrow(/no scope name/);
    expect(() =>
      serviceContext({ anid: 1, serviceType: ServiceType.SCOPED, scopeName: new Uint8Array(7) }),
    ).toThrow(/8 bytes/);
  });
});
