// `--trace-format json`'s records (cli/trace-json.ts, docs/kernel.md "Tracing as JSON lines"), from
// trace lines written out by hand in the text trace's documented forms.

import { describe, expect, it } from "vitest";
import { traceRecord } from "./trace-json.js";

describe("trace lines as JSON records", () => {
  it("a syscall answered in the runner, with the host clock's stamp", () => {
    expect(traceRecord(100, "@1796164698320.105/93.412 GET_PID {} -> ok {pid: 100}")).toEqual({
      source: "process",
      pid: 100,
      thread: null,
      wallMs: 1796164698320.105,
      cpuMs: 93.412,
      kind: "syscall",
      syscall: "GET_PID",
      args: "{}",
      outcome: "ok",
      value: "{pid: 100}",
      answeredBy: "runner",
      text: "GET_PID {} -> ok {pid: 100}",
    });
  });

  it("a failed call with the value it still returns, on a thread, nested arguments", () => {
    const r = traceRecord(
      101,
      "[thread 2] PIPE_READ {rc: 4, mode: 0, buffer: {addr: 8192, len: 64}} -> err 0x31 RC_CLOSED {result: 12}",
    );
    expect(r).toMatchObject({
      pid: 101,
      thread: 2,
      wallMs: null,
      kind: "syscall",
      syscall: "PIPE_READ",
      args: "{rc: 4, mode: 0, buffer: {addr: 8192, len: 64}}",
      outcome: "err",
      errcode: 0x31,
      errname: "RC_CLOSED",
      value: "{result: 12}",
    });
  });

  it("kernel-answered calls and kernel halves; a process end; variable arguments", () => {
    expect(
      traceRecord(100, "WAIT_CHILD_PROCESS {pid: 101, timeout: 0} -> ok {exitData: 0} (kernel)"),
    ).toMatchObject({ answeredBy: "kernel", value: "{exitData: 0}", outcome: "ok" });
    const half = traceRecord(
      100,
      "MEM_ALLOC {size: 65536, permissions: 3, zeroed: 1} -> err 0x01 NOT_ENOUGH_MEMORY (kernel: home memory limit)",
    );
    expect(half).toMatchObject({
      answeredBy: "kernel",
      kernelPart: "home memory limit",
      errcode: 1,
      errname: "NOT_ENOUGH_MEMORY",
    });
    expect(half.value).toBeUndefined();
    expect(traceRecord(100, "EXIT {exitData: 42} -> process ends")).toMatchObject({
      syscall: "EXIT",
      outcome: "process-ends",
    });
    expect(traceRecord(100, "SYSCALL_0xee <0102> -> err 0x01 NO_SUCH_SYSCALL")).toMatchObject({
      syscall: "SYSCALL_0xee",
      args: "<0102>",
      errcode: 1,
    });
  });

  it("everything else is an event with its text; the CLI's and the kernel's own lines have no pid", () => {
    expect(traceRecord(100, "started (ncwdemo::hello)")).toEqual({
      source: "process",
      pid: 100,
      thread: null,
      wallMs: null,
      cpuMs: null,
      kind: "event",
      text: "started (ncwdemo::hello)",
    });
    expect(traceRecord(0, "hello.nap: AOT cached in 29.3 ms")).toMatchObject({
      source: "ncw",
      pid: null,
      kind: "event",
    });
    expect(
      traceRecord(100, "CREATE_PROCESS: the memory image (64.0 MiB) goes through a host segment"),
    ).toMatchObject({ kind: "event" });
    expect(
      traceRecord(100, "kernel sends SERVICE_CONN_REQUEST {callee: 100, request: 1} to pid 101"),
    ).toMatchObject({ kind: "event" });
  });
});
