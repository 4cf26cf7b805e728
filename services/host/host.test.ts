// The service host (host.ts) with a real service: sys::process (services/process/service.ts) wired to
// the kernel's own process list (kernel-compat/server/kernel.ts), called through the host's API with
// argument bytes written out by hand. docs/kernel.md "System services".

import { describe, expect, it } from "vitest";
import { AbiError } from "../../commonassembly/abi/error.js";
import { SystemPid } from "../../commonassembly/abi/numbers.js";
import { decodeLayout } from "../../commonassembly/abi/services/fields.js";
import { ServiceCallErr, ServiceErr } from "../../commonassembly/abi/services/method.js";
import {
  LIST_PROCESSES,
  PROCESS_INFO,
  SYS_PROCESS,
} from "../../commonassembly/abi/services/process.js";
import { Kernel } from "../../kernel-compat/server/kernel.js";
import { RunnerPool } from "../../kernel-compat/server/pool.js";
import { SysProcess } from "../process/service.js";
import { type PermissionChecker, ServiceHost } from "./host.js";
import type { NativeService } from "./service.js";

const PROC = SystemPid["sys::process"];
const APP = 100;
const u64le = (n: number) => {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt(n), true);
  return b;
};

function setup(checker: PermissionChecker = () => true) {
  const lines: string[] = [];
  const log = (l: string) => lines.push(l);
  const kernel = new Kernel(new RunnerPool(0, log), log);
  const host = new ServiceHost({ checker, log });
  host.register(
    new SysProcess(() => [...kernel.systemServices(), ...kernel.live().map((p) => kernel.info(p))]),
  );
  return { host, lines };
}

describe("ServiceHost with sys::process", () => {
  it("lists the kernel's processes and describes one", async () => {
    const { host } = setup();
    expect(await host.connect(PROC, APP)).toBe(true);
    const r = await host.call(PROC, APP, LIST_PROCESSES.code, new Uint8Array(0));
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const pids = Object.values(SystemPid).sort((a, b) => a - b);
    // An 8-byte length in bytes, then one u64 per PID.
    expect(r.answer.subarray(0, 8)).toEqual(u64le(pids.length * 8));
    expect(decodeLayout(LIST_PROCESSES.answer, r.answer, "answer")).toEqual({
      pids: pids.map(BigInt),
    });
    const info = await host.call(PROC, APP, PROCESS_INFO.code, u64le(SystemPid["sys::fs"]));
    expect(info.ok).toBe(true);
    if (!info.ok) return;
    expect(decodeLayout(PROCESS_INFO.answer, info.answer, "answer")).toEqual({
      ppid: 0n,
      name: "sys::fs",
      system: true,
      state: 0,
      startedAt: 0n,
    });
  });

  it("answers errcodes: the method's own, permissions, unknown method, bad arguments", async () => {
    const denied = setup((_pid, p) => p !== "programs.running.processes");
    await denied.host.connect(PROC, APP);
    expect(await denied.host.call(PROC, APP, LIST_PROCESSES.code, new Uint8Array(0))).toEqual({
      ok: false,
      errcode: ServiceErr.PERMISSION,
    });
    const { host } = setup();
    await host.connect(PROC, APP);
    expect(await host.call(PROC, APP, PROCESS_INFO.code, u64le(4242))).toEqual({
      ok: false,
      errcode: PROCESS_INFO.errors.NOT_FOUND,
    });
    expect(await host.call(PROC, APP, 0x7777, new Uint8Array(0))).toEqual({
      ok: false,
      errcode: ServiceCallErr.UNKNOWN_METHOD,
    });
    for (const bad of [new Uint8Array(7), new Uint8Array(9)])
      expect(await host.call(PROC, APP, PROCESS_INFO.code, bad)).toEqual({
        ok: false,
        errcode: ServiceCallErr.BAD_ARGUMENTS,
      });
    await expect(host.call(PROC, 101, LIST_PROCESSES.code, new Uint8Array(0))).rejects.toThrow(
      /not connected/,
    );
  });

  it("a handler that throws, or answers what the layout cannot carry, is ServiceErr.KERNEL and a log line", async () => {
    const lines: string[] = [];
    const host = new ServiceHost({ checker: () => true, log: (l) => lines.push(l) });
    let mode: "throw" | "reject" | "bad" = "throw";
    const broken: NativeService = {
      name: "sys::process",
      pid: PROC,
      def: SYS_PROCESS,
      handle: async () => {
        if (mode === "throw") throw new Error("boom");
        if (mode === "reject") return Promise.reject(new Error("later boom"));
        return { ok: true, value: { pids: [-1n] } };
      },
    };
    host.register(broken);
    await host.connect(PROC, APP);
    for (const m of ["throw", "reject", "bad"] as const) {
      mode = m;
      expect(await host.call(PROC, APP, LIST_PROCESSES.code, new Uint8Array(0))).toEqual({
        ok: false,
        errcode: ServiceErr.KERNEL,
      });
    }
    expect(lines.join("\n")).toMatch(/boom[\s\S]*later boom[\s\S]*bad value/);
  });

  it("leaves a service with scoped permissions to check them itself, with its own structure codecs", async () => {
    const host = new ServiceHost({ checker: () => false });
    const calls: unknown[] = [];
    host.register({
      name: "sys::process",
      pid: PROC,
      def: {
        ...SYS_PROCESS,
        methods: [
          { ...PROCESS_INFO, args: [["x", { kind: "structure", name: "Pair", spec: "t" }]] },
          LIST_PROCESSES,
        ],
      },
      scopedPermissions: true,
      structures: {
        Pair: {
          decode: (b, off) => {
            if (b.length - off < 2) throw new AbiError("data", "short", { code: "ABI_TRUNCATED" });
            return [[b[off], b[off + 1]], off + 2];
          },
          encode: () => new Uint8Array(0),
        },
      },
      handle: (_m, args, caller) => {
        calls.push(args.x);
        if (!caller.has("programs.running.processes")) return { ok: false, errcode: 0x0001 };
        return { ok: true, value: {} };
      },
    });
    await host.connect(PROC, APP);
    // The host's checker denies everything, yet the handler runs (and decides).
    expect(await host.call(PROC, APP, PROCESS_INFO.code, Uint8Array.of(7, 8))).toEqual({
      ok: false,
      errcode: ServiceErr.PERMISSION,
    });
    expect(calls).toEqual([[7, 8]]);
    expect(await host.call(PROC, APP, PROCESS_INFO.code, Uint8Array.of(7))).toEqual({
      ok: false,
      errcode: ServiceCallErr.BAD_ARGUMENTS,
    });
  });

  it("registers a service only at its fixed PID with its own table", () => {
    const host = new ServiceHost({ checker: () => true });
    const svc = new SysProcess(() => []);
    expect(() => host.register({ ...svc, handle: svc.handle, pid: 55 })).toThrow(/PID 20/);
    host.register(svc);
    expect(() => host.register(new SysProcess(() => []))).toThrow(/already/);
  });

  it("connect runs onConnect (accept or reject); lifecycle hooks run and never take the host down", async () => {
    const seen: string[] = [];
    const notes: { clientPid: number; code: number; data: Uint8Array }[] = [];
    const host = new ServiceHost({
      checker: () => true,
      deliver: (n) => notes.push(n),
      log: (l) => seen.push(`log ${l}`),
    });
    host.register({
      name: "sys::process",
      pid: PROC,
      def: {
        ...SYS_PROCESS,
        notifications: [
          { code: 0x0001, name: "STARTED", datafield: [["pid", LIST_PROCESSES.answer[0]![1]]] },
        ],
      },
      attach(ctx) {
        this.onProcessStart = (p) => ctx.notify(APP, "STARTED", { pid: [BigInt(p.pid)] });
      },
      onConnect: (c) => c.pid !== 666,
      onDisconnect: (pid) => seen.push(`gone ${pid}`),
      onProcessExit: () => {
        throw new Error("hook failed");
      },
      handle: () => ({ ok: true, value: { pids: [] } }),
    });
    expect(await host.connect(PROC, 666)).toBe(false);
    expect(host.isConnected(PROC, 666)).toBe(false);
    expect(await host.connect(PROC, APP)).toBe(true);
    host.processStarted({ pid: 101, ppid: APP, name: "child" });
    expect(notes).toHaveLength(1);
    expect(notes[0]!.code).toBe(1);
    expect(notes[0]!.data).toEqual(Uint8Array.of(8, 0, 0, 0, 0, 0, 0, 0, 101, 0, 0, 0, 0, 0, 0, 0));
    host.processExited({ pid: APP, ppid: 0, name: "app" });
    expect(host.isConnected(PROC, APP)).toBe(false);
    expect(seen).toContain(`gone ${APP}`);
    expect(seen.join("\n")).toMatch(/onProcessExit failed: hook failed/);
  });
});
