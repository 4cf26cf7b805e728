// The kernel hosts the native system services (docs/kernel.md "System services"): sys::process answers
// from the kernel's own process table, and the host hears every process start and end.

import { describe, expect, it } from "vitest";
import { ServiceErr } from "../../commonassembly/abi/services/method.js";
import { LIST_PROCESSES, PROCESS_INFO } from "../../commonassembly/abi/services/process.js";
import { Kernel } from "./kernel.js";
import type { RunnerPool } from "./pool.js";

// specs/services/system/README.md: sys::process is PID 20.
const SYS_PROCESS_PID = 20;

describe("the kernel's service host", () => {
  it("hosts sys::process at its fixed PID, answering from the kernel's process table", async () => {
    const k = new Kernel({} as RunnerPool, () => {});
    expect(k.services.hosts(SYS_PROCESS_PID)).toBe(true);
    const listed = k.systemServices();
    expect(listed.find((s) => s.pid === SYS_PROCESS_PID)).toMatchObject({
      name: "sys::process",
      state: "running",
      hostPid: process.pid,
    });
    expect(listed.find((s) => s.name === "sys::fs")?.state).toBe("reserved");
    expect(await k.services.connect(SYS_PROCESS_PID, 100)).toBe(true);
    // Apps get nothing by default (DIRECTION.md §5): until sys::perm grants permissions, a method
    // that requires one is refused with the system errcode 0x0001 (services/README.md).
    const r = await k.services.call(SYS_PROCESS_PID, 100, LIST_PROCESSES.code, new Uint8Array(0));
    expect(r).toEqual({ ok: false, errcode: ServiceErr.PERMISSION });
    expect(ServiceErr.PERMISSION).toBe(0x0001);
    // PROCESS_INFO of PID 20 (the u64 written out little-endian) is refused the same way.
    const info = await k.services.call(
      SYS_PROCESS_PID,
      100,
      PROCESS_INFO.code,
      new Uint8Array([20, 0, 0, 0, 0, 0, 0, 0]),
    );
    expect(info).toEqual({ ok: false, errcode: ServiceErr.PERMISSION });
  });
});
