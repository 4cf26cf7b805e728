// The service table's naming rules (kernel/services.ts; docs/services.md): scope fields, which service a
// target names, what an app exposes.

import { describe, expect, it } from "vitest";
import { ServiceType } from "../../commonassembly/abi/context.js";
import { ServiceTarget } from "../../commonassembly/abi/numbers.js";
import {
  exposes,
  exposesAny,
  type ServiceApp,
  scopeField,
  scopeText,
  serviceLabel,
  serviceName,
} from "./services.js";

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
