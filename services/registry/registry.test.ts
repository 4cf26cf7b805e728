import { describe, expect, it } from "vitest";
import { RegistryDefaults } from "../../commonassembly/abi/numbers.js";
import { NCW_DEFAULT, SPEC_DEFAULT, SPEC_USERS } from "../../test/helpers/registry-default.js";
import { MemoryFs } from "../fs/memory.js";
import { REGISTRY_KEYS } from "./keys.js";
import { decodeRegistry, REGISTRY_PATH, Registry } from "./registry.js";

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);
const T = "\t";

describe("the default registry", () => {
  it("exports as the spec's default content, with NCW's nodes beside it", async () => {
    const reg = await Registry.open(new MemoryFs());
    expect(reg.exportText()).toBe(NCW_DEFAULT);
  });

  it("imports the spec's text as written and exports it back unchanged", async () => {
    const fs = new MemoryFs();
    const reg = await Registry.open(fs);
    await reg.importText(SPEC_DEFAULT + SPEC_USERS);
    expect(reg.exportText()).toBe(NCW_DEFAULT);
    expect((await Registry.open(fs)).exportText()).toBe(NCW_DEFAULT);
  });

  it("round-trips an edited text: durations, sizes, map entries and their notes", async () => {
    const fs = new MemoryFs();
    const reg = await Registry.open(fs);
    const edited = NCW_DEFAULT.replace(
      "collect_every(tmin(s,1s)): 60s",
      "collect_every(tmin(s,1s)): 2d 10s",
    )
      .replace("reserved_memory(MB): 16MB", "reserved_memory(MB): 1TB 3MB")
      .replace(
        "custom_based_diff(stime(ns)): 0ns",
        "custom_based_diff(stime(ns)): -1h 05m 00s 007ns",
      )
      .replace(
        `${T}1: Admin # Administrator\n`,
        `${T}1: Admin # Administrator\n${T}7: Guest # a visitor\n`,
      );
    await reg.importText(edited);
    const again = await Registry.open(fs);
    expect(again.exportText()).toBe(edited);
    expect(again.get("system.crash_saves.collect_every")).toBe(2 * 86400 + 10);
    expect(again.getMs("system.crash_saves.collect_every")).toBe((2 * 86400 + 10) * 1000);
    expect(again.get("system.freeze_prevention.reserved_memory")).toBe(1024 * 1024 + 3);
    expect(again.get("users")).toEqual([
      { key: 0, value: "Admin", note: "System" },
      { key: 1, value: "Admin", note: "Administrator" },
      { key: 7, value: "Guest", note: "a visitor" },
    ]);
  });
});

describe("HFRR import refuses bad text with its line and column, and changes nothing", () => {
  const refused = async (text: string, message: RegExp) => {
    const fs = new MemoryFs();
    const reg = await Registry.open(fs);
    await expect(reg.importText(text)).rejects.toThrow(message);
    expect(await fs.stat(REGISTRY_PATH)).toBeNull();
    expect(reg.exportText()).toBe(NCW_DEFAULT);
  };
  it("a value its type refuses", () =>
    refused(
      `system(struct):\n${T}crash_saves(struct):\n${T}${T}collect_every(tmin(s,1s)): 500ms\n`,
      /line 3, column 30: system\.crash_saves\.collect_every: .*whole number of s/,
    ));
  it("a bound", () =>
    refused(
      `system(struct):\n${T}crash_saves(struct):\n${T}${T}collect_every(tmin(s,1s)): 0s\n`,
      /line 3, column 30: .*less than the minimum 1s/,
    ));
  it("spaces for indentation", () =>
    refused(`system(struct):\n  debugging(struct):\n`, /line 2, column 1: indent with tabs/));
  it("an unknown node", () =>
    refused(
      `system(struct):\n${T}colour(bool): true\n`,
      /line 2, column 2: system\.colour is not a node of the registry/,
    ));
  it("a changed type", () =>
    refused(
      `system(struct):\n${T}debugging(struct):\n${T}${T}dev_mode(uint{1}): 1\n`,
      /line 3, column 12: system\.debugging\.dev_mode has the type bool, which cannot change/,
    ));
  it("an enum member the type does not have", () =>
    refused(
      `users(map:(uint{4}):(enum:(MainAdmin, Admin, Standard, Guest))):\n${T}0: Root\n`,
      /line 2, column 5: users\.0: expected one of MainAdmin, Admin, Standard, Guest/,
    ));
  it("a map key twice", () =>
    refused(
      `users(map:(uint{4}):(enum:(MainAdmin, Admin, Standard, Guest))):\n${T}0: Admin\n${T}0: Guest\n`,
      /line 3, column 2: users\.0 is given twice/,
    ));
  it("too deep", () =>
    refused(
      `system(struct):\n${T}${T}x(bool): true\n`,
      /line 2, column 1: indented 1 level\(s\) too deep/,
    ));
  it("a registry datafield bound of NCW", () =>
    refused(
      `system(struct):\n${T}processes(struct):\n${T}${T}terminate_delay(time(ms)): 70000ms\n`,
      /more than 65535ms/,
    ));
});

describe("the registry's API", () => {
  it("returns defaults, stores typed values and persists the nested tree in /etc/sys/registry", async () => {
    const fs = new MemoryFs();
    const reg = await Registry.open(fs);
    expect(reg.get("system.applications.sideloading")).toBe("unsecure");
    expect(reg.isSet("system.applications.sideloading")).toBe(false);
    await reg.set("system.applications.sideloading", "disabled");
    expect(reg.isSet("system.applications.sideloading")).toBe(true);
    const again = await Registry.open(fs);
    expect(again.get("system.applications.sideloading")).toBe("disabled");
    const file = JSON.parse(dec(await fs.readFile(REGISTRY_PATH)));
    expect(file.format).toBe("ncw-registry");
    expect(file.version).toBe(2);
    expect(file.root.system.type).toBe("struct");
    expect(file.root.system.value.applications.value.sideloading).toEqual({
      purpose: expect.stringMatching(/^NCW: how Skyer/),
      type: "enum:(disabled,store-checking,unsecure)",
      value: "disabled",
    });
    expect(file.root.system.value.processes.value.terminate_delay.value).toBe("2000ms");
    expect(file.root.users.value).toEqual([
      { key: 0, value: "Admin", note: "System" },
      { key: 1, value: "Admin", note: "Administrator" },
    ]);
    await expect(reg.set("system.applications.sideloading", "open")).rejects.toMatchObject({
      code: "REGISTRY_BAD_VALUE",
    });
  });

  it("takes numbers of the precision's unit or HFRR literals for durations and sizes", async () => {
    const reg = await Registry.open(new MemoryFs());
    await reg.set("system.processes.terminate_delay", 700);
    expect(reg.get("system.processes.terminate_delay")).toBe(700);
    await reg.set("system.processes.terminate_delay", "1s 230ms");
    expect(reg.get("system.processes.terminate_delay")).toBe(1230);
    await reg.set("system.processes.max_memory", "512MB");
    expect(reg.get("system.processes.max_memory")).toBe(512);
    await expect(reg.set("system.processes.terminate_delay", 70000)).rejects.toThrow(/0\.\.65535/);
    await expect(reg.set("system.processes.max_processes", -1)).rejects.toThrow(/out of range/);
    await expect(reg.set("system.crash_saves.collect_every", "1500ms")).rejects.toThrow(
      /whole number of s/,
    );
  });

  it("edits by path: struct nodes, map entries (added, removed), defaults back", async () => {
    const reg = await Registry.open(new MemoryFs());
    await reg.setPath("users.5", "Standard");
    expect(reg.describe("users.5")).toMatchObject({ hfrr: "Standard", value: "Standard" });
    await reg.remove("users.5");
    await expect(reg.remove("system.debugging.dev_mode")).rejects.toMatchObject({
      code: "REGISTRY_NOT_REMOVABLE",
    });
    await expect(reg.setPath("users.x", "Admin")).rejects.toThrow(/not a key of users/);
    await expect(reg.setPath("system.nope", "1")).rejects.toMatchObject({
      code: "REGISTRY_NO_SUCH_NODE",
    });
    await reg.setPath("system.freeze_prevention.reserved_memory", "32MB");
    expect(reg.describe("system.freeze_prevention")).toMatchObject({
      type: "struct",
      isDefault: false,
      hfrr: "# Reserved amount of memory (0 = disabled)\nreserved_memory(MB): 32MB\n# Reserved amount of CPU per virtual core (0 = disabled)\nreserved_cpu_vcore(uint{1}): 1",
    });
    await reg.reset("system.freeze_prevention.reserved_memory");
    expect(reg.get("system.freeze_prevention.reserved_memory")).toBe(16);
    await reg.setPath("users", "{}");
    expect(reg.get("users")).toEqual([]);
    await reg.reset();
    expect(reg.exportText()).toBe(NCW_DEFAULT);
  });

  it("keeps the kernel struct to developer mode (the spec's comment above it)", async () => {
    const reg = await Registry.open(new MemoryFs());
    await reg.set("system.debugging.dev_mode", false);
    await expect(reg.setPath("kernel.signals.suspend_delay", "600ms")).rejects.toMatchObject({
      code: "REGISTRY_DEV_MODE",
    });
    await expect(
      reg.importText(
        NCW_DEFAULT.replace("suspend_delay(time(ms)): 500ms", "suspend_delay(time(ms)): 900ms"),
      ),
    ).rejects.toMatchObject({ code: "REGISTRY_DEV_MODE" });
    await reg.setPath("system.debugging.dev_mode", "true");
    await reg.setPath("kernel.signals.suspend_delay", "600ms");
    expect(reg.get("kernel.signals.suspend_delay")).toBe(600);
  });
});

describe("the on-disk form", () => {
  it("upgrades a version-1 (flat) file: its values kept, written as version 2 on the next write", async () => {
    const fs = new MemoryFs();
    await fs.mkdir("/etc/sys", { recursive: true });
    await fs.writeFile(
      REGISTRY_PATH,
      enc(
        JSON.stringify({
          format: "ncw-registry",
          version: 1,
          nodes: {
            "system.applications.sideloading": {
              type: "enum:(disabled,store-checking,unsecure)",
              value: "disabled",
            },
            "system.processes.terminate_delay": { type: "time(ms)", value: 700 },
            "system.processes.max_memory": { type: "MB", value: 512 },
          },
        }),
      ),
    );
    const reg = await Registry.open(fs);
    expect(reg.storedVersion).toBe(1);
    expect(reg.get("system.processes.terminate_delay")).toBe(700);
    await reg.set("system.processes.suspend_delay", "600ms");
    const file = JSON.parse(dec(await fs.readFile(REGISTRY_PATH)));
    expect(file.version).toBe(2);
    const again = await Registry.open(fs);
    expect(again.storedVersion).toBe(2);
    expect(again.get("system.applications.sideloading")).toBe("disabled");
    expect(again.get("system.processes.terminate_delay")).toBe(700);
    expect(again.get("system.processes.max_memory")).toBe(512);
    expect(again.get("system.processes.suspend_delay")).toBe(600);
    expect(again.get("system.crash_saves.collect_every")).toBe(60);
  });

  it("rejects a corrupt file with a config error, keeps nodes a newer NCW wrote", () => {
    expect(() => decodeRegistry(enc("{"))).toThrow(/registry .* is invalid/);
    expect(() => decodeRegistry(enc('{"format":"x"}'))).toThrow(/"format"/);
    expect(() =>
      decodeRegistry(
        enc(
          '{"format":"ncw-registry","version":1,"nodes":{"system.applications.sideloading":{"type":"bool","value":true}}}',
        ),
      ),
    ).toThrow(/expected enum/);
    const future =
      '{"format":"ncw-registry","version":2,"root":{"future":{"purpose":"p","type":"struct","value":{"k":{"purpose":"","type":"tmin(s,1s)","value":"5s"}}}}}';
    const { root } = decodeRegistry(enc(future));
    expect(root.get("future")?.typeText).toBe("struct");
    expect(() =>
      decodeRegistry(
        enc(
          '{"format":"ncw-registry","version":2,"root":{"system":{"purpose":"","type":"struct","value":{"debugging":{"purpose":"","type":"struct","value":{"dev_mode":{"purpose":"","type":"bool","value":3}}}}}}}',
        ),
      ),
    ).toThrow(/system\.debugging\.dev_mode: expected true or false/);
  });
});

describe("setting strings by path", () => {
  it("takes a bare word as the text itself and a quoted one as its HFRR literal", async () => {
    const reg = await Registry.open(new MemoryFs());
    await reg.setPath("users.4", "Guest");
    expect(reg.describe("users.4").value).toBe("Guest");
    // No string node in the default content: the struct map tests (hfrr.test.ts) cover quoted strings;
    // a bare word for a non-string type is still checked as its literal.
    await expect(reg.setPath("system.debugging.dev_mode", '"true"')).rejects.toThrow(
      /expected true or false/,
    );
  });
});

describe("the ABI leaf's copy of the delays", () => {
  it("agrees with the registry's declared defaults (numbers.ts RegistryDefaults)", () => {
    for (const [key, ms] of Object.entries(RegistryDefaults))
      expect(REGISTRY_KEYS[key as keyof typeof RegistryDefaults].default, key).toBe(ms);
  });
});
