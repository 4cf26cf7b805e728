// Tests of the Linux host layer: a segment shared by two host processes, futex wait/wake across them.

import { execFileSync, spawn } from "node:child_process";
import {
  closeSync,
  constants,
  fstatSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { hostNative, hostProcessAlive } from "./index.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const onLinux = process.platform === "linux";

describe.skipIf(!onLinux)("native (linux)", () => {
  const n = hostNative();

  it("maps a zeroed segment and reports the wait outcomes", () => {
    const seg = n.createSegment(100, "test");
    expect(seg.size).toBe(4096);
    const w = new Int32Array(seg.buffer);
    expect(w[0]).toBe(0);
    expect(n.wait(seg.address, 1, 10)).toBe("not-equal");
    const t = Date.now();
    expect(n.wait(seg.address, 0, 30)).toBe("timeout");
    expect(Date.now() - t).toBeGreaterThanOrEqual(25);
    expect(n.wake(seg.address, 1)).toBe(0);
    seg.close();
  });

  it("shares memory and wakes a waiter in another host process", async () => {
    const seg = n.createSegment(4096, "xproc");
    const w = new Int32Array(seg.buffer);
    const script = `
      import { hostNative } from ${JSON.stringify(path.join(here, "..", "dist", "native", "index.js"))};
      const n = hostNative();
      const seg = n.openSegment(${JSON.stringify(seg.name)}, 4096);
      const w = new Int32Array(seg.buffer);
      w[1] = 42;
      const r = n.wait(seg.address, 0, 5000);
      process.stdout.write(r + " " + w[0]);
    `;
    const child = spawn(process.execPath, ["--input-type=module", "-e", script], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    child.stdout.on("data", (d) => {
      out += d;
    });
    const deadline = Date.now() + 5000;
    while (w[1] !== 42 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    expect(w[1]).toBe(42);
    await new Promise((r) => setTimeout(r, 50));
    Atomics.store(w, 0, 7);
    n.wake(seg.address, 1);
    await new Promise((r) => child.on("exit", r));
    expect(out).toBe("woken 7");
    seg.close();
  });

  it("rejects a name that is not a segment", () => {
    expect(() => n.openSegment("/etc/passwd", 10)).toThrow(/not a shared segment/);
    expect(() => n.openSegment("/proc/1/fd/999999", 10)).toThrow(/cannot open shared segment/);
  });

  it("punches a hole: the range reads as zeros, the size stays and the disk space goes", () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "ncw-punch-"));
    try {
      const file = path.join(dir, "f.bin");
      writeFileSync(file, Buffer.alloc(4 << 20, 0xab));
      const fd = openSync(file, "r+");
      try {
        const before = fstatSync(fd).blocks;
        n.punchHole(fd, 1n << 20n, 2n << 20n);
        const st = fstatSync(fd);
        expect(st.size).toBe(4 << 20);
        expect(before - st.blocks).toBeGreaterThanOrEqual((2 << 20) / 512 - 16);
        const back = readFileSync(file);
        expect(back.subarray(1 << 20, 3 << 20).every((b) => b === 0)).toBe(true);
        expect(back[(1 << 20) - 1]).toBe(0xab);
        expect(back[3 << 20]).toBe(0xab);
      } finally {
        closeSync(fd);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("reads a non-blocking pipe without throwing when it is empty, and sees its end", () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "ncw-native-read-"));
    const fifo = path.join(dir, "fifo");
    try {
      execFileSync("mkfifo", [fifo]);
      const fd = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
      const w = openSync(fifo, constants.O_WRONLY);
      const into = new Uint8Array(new SharedArrayBuffer(16), 4, 8);
      expect(n.readNonBlocking?.(fd, into)).toBe("would-block");
      writeSync(w, Buffer.from("abc"));
      expect(n.readNonBlocking?.(fd, into)).toBe(3);
      expect([...into.subarray(0, 3)]).toEqual([0x61, 0x62, 0x63]);
      closeSync(w);
      expect(n.readNonBlocking?.(fd, into)).toBe(0);
      closeSync(fd);
      expect(() => n.readNonBlocking?.(fd, into)).toThrow(/read failed \(errno 9\)/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("probes host processes", () => {
    expect(hostProcessAlive(process.pid)).toBe(true);
    expect(hostProcessAlive(2 ** 22 + 12345)).toBe(false);
  });
});

describe("native (other hosts)", () => {
  it("refuses with a documented error instead of a silent stub", () => {
    expect(() => hostNative("darwin").createSegment(1, "x")).toThrow(
      /not implemented on this host \(darwin\)/,
    );
    expect(() => hostNative("win32").wait(0n, 0)).toThrow(/not implemented on this host \(win32\)/);
    expect(hostNative("win32").dieWithParent()).toBe(false);
    expect(() => hostNative("darwin").punchHole(0, 0n, 4096n)).toThrow(/punching holes/);
    expect(() => hostNative("win32").punchHole(0, 0n, 4096n)).toThrow(/punching holes/);
  });
});
