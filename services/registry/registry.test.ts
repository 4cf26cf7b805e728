import { describe, expect, it } from "vitest";
import { MemoryFs } from "../fs/memory.js";
import { checkValue, decodeRegistry, encodeRegistry, REGISTRY_PATH, Registry } from "./registry.js";

const enc = (s: string) => new TextEncoder().encode(s);

describe("registry", () => {
  it("returns defaults, stores typed values and persists them in /etc/sys/registry", async () => {
    const fs = new MemoryFs();
    const reg = await Registry.open(fs);
    expect(reg.get("system.applications.sideloading")).toBe("unsecure");
    expect(reg.isSet("system.applications.sideloading")).toBe(false);
    await reg.set("system.applications.sideloading", "disabled");
    const again = await Registry.open(fs);
    expect(again.get("system.applications.sideloading")).toBe("disabled");
    const text = new TextDecoder().decode(await fs.readFile(REGISTRY_PATH));
    expect(JSON.parse(text)).toEqual({
      format: "ncw-registry",
      version: 1,
      nodes: {
        "system.applications.sideloading": {
          type: "enum:(disabled,store-checking,unsecure)",
          value: "disabled",
        },
      },
    });
    await expect(reg.set("system.applications.sideloading", "open")).rejects.toMatchObject({
      code: "REGISTRY_BAD_VALUE",
    });
  });

  it("checks HFFR leaf types", () => {
    expect(checkValue("k", "bool", "true")).toBe(true);
    expect(checkValue("k", "uint{1}", 255)).toBe(255);
    expect(() => checkValue("k", "uint{1}", 256)).toThrow(/out of range 0..255/);
    expect(() => checkValue("k", "int{2}", -32769)).toThrow(/out of range/);
    expect(checkValue("k", "int{8}", -5n)).toBe("-5");
    expect(() => checkValue("k", "asciistr", "é")).toThrow(/ASCII/);
    expect(() => checkValue("k", "string{4}", "héllo")).toThrow(/longer than 4 bytes/);
    expect(() => checkValue("k", "enum:(a,b)", "c")).toThrow(/one of a, b/);
  });

  it("rejects a corrupt file with a config error, keeps unknown keys on round trip", () => {
    expect(() => decodeRegistry(enc("{"))).toThrow(/registry .* is invalid/);
    expect(() => decodeRegistry(enc('{"format":"x"}'))).toThrow(/"format"/);
    expect(() =>
      decodeRegistry(
        enc(
          '{"format":"ncw-registry","version":1,"nodes":{"system.applications.sideloading":{"type":"bool","value":true}}}',
        ),
      ),
    ).toThrow(/expected enum/);
    const file = decodeRegistry(
      enc(
        '{"format":"ncw-registry","version":1,"nodes":{"future.key":{"type":"time(ms)","value":"500ms"}}}',
      ),
    );
    expect(decodeRegistry(encodeRegistry(file))).toEqual(file);
  });
  it("checks the MB type (the spec's `reserved_memory(MB): 16MB`): whole MiB, with or without the unit", () => {
    expect(checkValue("k", "MB", 16)).toBe(16);
    expect(checkValue("k", "MB", "2048MB")).toBe(2048);
    expect(checkValue("k", "MB", "7")).toBe(7);
    expect(() => checkValue("k", "MB", "1.5MB")).toThrow(/whole number of MB/);
    expect(() => checkValue("k", "MB", -1)).toThrow(/whole number of MB/);
    expect(() => checkValue("k", "MB", "16GB")).toThrow(/whole number of MB/);
  });

  it("declares the kernel's NCW-specific limits with their defaults", async () => {
    const reg = await Registry.open(new MemoryFs());
    expect(reg.get("system.processes.max_processes")).toBe(32);
    expect(reg.get("system.processes.max_memory")).toBe(2048);
    await reg.set("system.processes.max_memory", "512MB");
    expect(reg.get("system.processes.max_memory")).toBe(512);
    await expect(reg.set("system.processes.max_processes", -1)).rejects.toThrow(/out of range/);
  });
});
