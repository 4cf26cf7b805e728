import { describe, expect, it } from "vitest";
import { commands } from "./index.js";

describe("lazy command list", () => {
  it("lists each command under the name and usage its module declares", async () => {
    for (const entry of commands) {
      const mod = await entry.load();
      expect(mod.command, entry.name).toBe(entry.usage);
      expect(String(mod.command).split(" ")[0]).toBe(entry.name);
    }
  });
});
