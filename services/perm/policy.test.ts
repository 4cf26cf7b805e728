// The decision of services/perm/policy.ts: the three scopes restricting each other, scopes, notation.

import { describe, expect, it } from "vitest";
import { type CheckContext, covers, decide, parseGrant } from "./policy.js";

const base: CheckContext = {
  system: false,
  userLevel: 4,
  security: "standard",
  blocked: [],
  denied: [],
  granted: [],
};

describe("decide", () => {
  it("grants by the security level: level 1 under standard, up to 3 under unsecure, none under complete", () => {
    expect(decide("system.clock.uptime", undefined, base)).toEqual({
      kind: "granted",
      by: "automatic",
    });
    expect(decide("fs.filesystems.mounted", undefined, base)).toEqual({ kind: "ask" });
    expect(
      decide("fs.filesystems.mounted", undefined, { ...base, security: "unsecure" }).kind,
    ).toBe("granted");
    expect(decide("flow.list", undefined, base)).toEqual({ kind: "ask" });
    expect(decide("flow.list", undefined, { ...base, security: "unsecure" }).kind).toBe("granted");
    expect(decide("hwmid.audio.read", undefined, { ...base, security: "unsecure" }).kind).toBe(
      "ask",
    );
    expect(decide("system.clock.date.read", undefined, { ...base, security: "extreme" }).kind).toBe(
      "granted",
    );
    expect(
      decide("system.clock.date.read", undefined, { ...base, security: "complete" }).kind,
    ).toBe("ask");
  });

  it("the run's deny wins over a grant and over the security level", () => {
    const c = {
      ...base,
      granted: [{ permission: "flow.list" as const }],
      denied: [{ permission: "flow.list" as const }],
    };
    expect(decide("flow.list", undefined, c).kind).toBe("refused");
    expect(
      decide("system.clock.date.read", undefined, {
        ...base,
        denied: [{ permission: "system.clock.date.read" }],
      }).kind,
    ).toBe("refused");
  });

  it("the user: blocked permissions and {A} below administrator are refused, granted or not", () => {
    const granted = [{ permission: "programs.running.processes" as const }];
    expect(decide("programs.running.processes", undefined, { ...base, granted }).kind).toBe(
      "granted",
    );
    expect(
      decide("programs.running.processes", undefined, { ...base, granted, userLevel: 2 }),
    ).toEqual({
      kind: "refused",
      why: "it requires an administrator user {A}",
    });
    expect(
      decide("programs.running.processes", undefined, {
        ...base,
        granted,
        blocked: ["programs.running.processes"],
      }).kind,
    ).toBe("refused");
  });

  it("system-reserved permissions: system processes only, whatever is granted", () => {
    expect(
      decide("sysapp.process.kill", undefined, {
        ...base,
        granted: [{ permission: "sysapp.process.kill" }],
      }).kind,
    ).toBe("refused");
    expect(decide("sysapp.process.kill", undefined, { ...base, system: true }).kind).toBe(
      "granted",
    );
  });

  it("a path grant covers what lies beneath it; fs.filesystems.* implies mounted", () => {
    const granted = [{ permission: "fs.items.read" as const, scope: "/home/user/docs" }];
    expect(decide("fs.items.read", "/home/user/docs/a.txt", { ...base, granted }).kind).toBe(
      "granted",
    );
    expect(decide("fs.items.read", "/home/user/docsx", { ...base, granted }).kind).toBe("ask");
    expect(decide("fs.items.read", undefined, { ...base, granted }).kind).toBe("ask");
    expect(decide("fs.items.write", "/home/user/docs/a.txt", { ...base, granted }).kind).toBe(
      "ask",
    );
    const fsList = [{ permission: "fs.filesystems.list" as const }];
    expect(
      decide("fs.filesystems.mounted", "x", { ...base, security: "complete", granted: fsList })
        .kind,
    ).toBe("granted");
  });
});

describe("covers and parseGrant", () => {
  it("compares non-path scopes whole", () => {
    expect(covers("net.fetch", "example.org", "example.org")).toBe(true);
    expect(covers("net.fetch", "example.org", "example.org.evil")).toBe(false);
    expect(covers("net.fetch", undefined, "anything")).toBe(true);
  });
  it("reads perm and perm=scope, and names what is wrong", () => {
    expect(parseGrant("fs.items.read=/home/user")).toEqual({
      permission: "fs.items.read",
      scope: "/home/user",
    });
    expect(parseGrant("flow.list")).toEqual({ permission: "flow.list" });
    expect(parseGrant("flow.nothing")).toEqual({ error: 'unknown permission "flow.nothing"' });
    expect(parseGrant("flow.list=/x")).toEqual({
      error: "flow.list has no scope (permissions.md gives it none)",
    });
    expect(parseGrant("fs.items.read=")).toEqual({ error: 'empty scope in "fs.items.read="' });
  });
});
