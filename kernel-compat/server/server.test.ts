// Unit tests of the kernel server's pieces: the control protocol's frames, socket paths, the delays.

import { describe, expect, it } from "vitest";
import { SYSCALLS } from "../../commonassembly/abi/syscalls.js";
import { hostNative } from "../../native/index.js";
import { homeLayout } from "../../ncw/home.js";
import { KERNEL_HANDLERS } from "../kernel/syscalls.js";
import { kernelEndpoint } from "../paths.js";
import { encodeFrame, FrameReader, type KernelMessage } from "../protocol.js";
import { readDelays } from "./kernel.js";

describe("control protocol", () => {
  it("frames messages with BigInt and bytes, split across chunks", () => {
    const f = encodeFrame({
      t: "exited",
      run: 3,
      pid: 101,
      outcome: { kind: "exit", exitData: 2n ** 63n },
    });
    const g = encodeFrame({ t: "trace", run: 3, pid: 1, line: "x" });
    const all = Buffer.concat([f, g]);
    const r = new FrameReader<KernelMessage>();
    expect(r.push(all.subarray(0, 3))).toEqual([]);
    const got = [...r.push(all.subarray(3, f.length + 2)), ...r.push(all.subarray(f.length + 2))];
    expect(got).toEqual([
      { t: "exited", run: 3, pid: 101, outcome: { kind: "exit", exitData: 2n ** 63n } },
      { t: "trace", run: 3, pid: 1, line: "x" },
    ]);
  });
  it("rejects an oversize frame", () => {
    const b = Buffer.alloc(8);
    b.writeUInt32LE(0xffffffff, 0);
    expect(() => new FrameReader().push(b)).toThrow(/exceeds the limit/);
  });
});

describe("kernel configuration", () => {
  it("puts the socket in the home, or in the user's runtime folder when the path is too long", () => {
    const linux = hostNative("linux");
    expect(kernelEndpoint(homeLayout("/h"), linux, {})).toEqual({
      path: "/h/run/kernel.sock",
      folder: { path: "/h/run", kind: "home" },
    });
    const long = homeLayout(`/${"x".repeat(120)}`);
    const xdg = kernelEndpoint(long, linux, { XDG_RUNTIME_DIR: "/run/user/7" });
    expect(xdg.path).toMatch(/^\/run\/user\/7\/ncw-kernel-[0-9a-f]{16}\.sock$/);
    expect(xdg.folder).toEqual({ path: "/run/user/7", kind: "runtime" });
    const uid = process.geteuid?.() ?? 0;
    const tmp = kernelEndpoint(long, linux, { TMPDIR: "/var/tmp/" });
    expect(tmp.path).toMatch(new RegExp(`^/var/tmp/ncw-${uid}/ncw-kernel-[0-9a-f]{16}\\.sock$`));
    expect(kernelEndpoint(long, linux, {}).folder?.path).toBe(`/tmp/ncw-${uid}`);
    const win = kernelEndpoint(homeLayout("/h"), hostNative("win32"));
    expect(win.path).toMatch(/^\\\\\.\\pipe\\ncw-kernel-/);
    expect(win.folder).toBeUndefined();
  });
  it("reads the registry's delays with the spec's defaults", () => {
    expect(readDelays({})).toEqual({ suspend: 500, terminate: 2000, serviceAnswer: 2000 });
    expect(readDelays({ NCW_TERMINATE_DELAY_MS: "250", NCW_SUSPEND_DELAY_MS: "x" })).toEqual({
      suspend: 500,
      terminate: 250,
      serviceAnswer: 2000,
    });
  });
  it("has a kernel handler for exactly the syscalls the table sends to the kernel", () => {
    const want = SYSCALLS.filter(
      (d) => d.support.kind === "implemented" && d.support.where === "kernel",
    ).map((d) => d.code);
    expect([...KERNEL_HANDLERS.keys()].sort()).toEqual(want.sort());
  });
});
