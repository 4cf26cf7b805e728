// SHARE_AMS' mode byte (syscalls.md 0x42; decisions in docs/ipc.md "Shared memory"), bit by bit.

import { describe, expect, it } from "vitest";
import { decodeShareMode } from "./ams.js";

describe("decodeShareMode", () => {
  it("mutual: 0b0000crwx, permissions as the spec's strongest bits (read 0x80, write 0x40, exec 0x20)", () => {
    expect(decodeShareMode(0b0100)).toEqual({
      kind: "mutual",
      permissions: 0x80,
      copyOnWrite: false,
    });
    expect(decodeShareMode(0b0110)).toEqual({
      kind: "mutual",
      permissions: 0xc0,
      copyOnWrite: false,
    });
    expect(decodeShareMode(0b0111)).toEqual({
      kind: "mutual",
      permissions: 0xe0,
      copyOnWrite: false,
    });
    expect(decodeShareMode(0b0001)).toEqual({
      kind: "mutual",
      permissions: 0x20,
      copyOnWrite: false,
    });
    expect(decodeShareMode(0b1110)).toEqual({
      kind: "mutual",
      permissions: 0xc0,
      copyOnWrite: true,
    });
    expect(decodeShareMode(0b1100)).toEqual({
      kind: "mutual",
      permissions: 0x80,
      copyOnWrite: true,
    });
  });
  it("exclusive: 0b0000100u, as the spec writes it (0x08 keeps a copy, 0x09 unmaps)", () => {
    expect(decodeShareMode(0x08)).toEqual({ kind: "exclusive", unmapOriginal: false });
    expect(decodeShareMode(0x09)).toEqual({ kind: "exclusive", unmapOriginal: true });
  });
  it("mutual without permissions (0x20) and bits above the low nibble (0x11)", () => {
    expect(decodeShareMode(0x00)).toEqual({ kind: "no-permissions" });
    for (const m of [0x10, 0x18, 0x80, 0xff])
      expect(decodeShareMode(m)).toEqual({ kind: "invalid" });
  });
});
