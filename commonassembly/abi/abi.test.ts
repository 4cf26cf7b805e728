// Tests of the kernel ABI codecs against bytes written out by hand from the spec's tables.

import { describe, expect, it } from "vitest";
import { decodeExact, encode } from "./codec.js";
import {
  CONTEXT_BASE_SIZE,
  CONTEXT_COMMAND_HEADER_SIZE,
  CommandPipeOffset,
  commandContext,
  decodeArguments,
  decodeContextHeader,
  decodeStartupReason,
  encodeContextHeader,
  encodeExecutionContext,
  encodeStartupReason,
  eventContext,
  StartupCode,
} from "./context.js";
import { isSignalCode, Sig, Sys, signalName } from "./numbers.js";
import {
  ANSWERED_SIGNALS,
  Datafield,
  decodeDatafield,
  decodeReadBackedAnswer,
  decodeWriteBackedAnswer,
  encodeDatafield,
  MemAccess,
} from "./signals.js";
import {
  AMS_SHARING_INFO,
  CONNECT_SERVICE,
  CREATE_PROCESS,
  EXECUTION_CONTEXT,
  FORK_SYSCALLS,
  HANDLE_SIGNAL,
  MAP_AMS,
  MEM_ALLOC,
  OPEN_PIPE,
  SHARE_AMS,
  SYSCALLS,
  syscallByCode,
} from "./syscalls.js";
import { encodeValue, type Value } from "./values.js";
import { SYSCALL_RET_SIZE } from "./wasm-names.js";

const hex = (s: string) =>
  Uint8Array.from(s.replace(/\s+/g, "").match(/../g) ?? [], (h) => Number.parseInt(h, 16));

describe("syscall table", () => {
  it("lists every code of Sys exactly once, under the same name", () => {
    expect(SYSCALLS.map((d) => d.name).sort()).toEqual(Object.keys(Sys).sort());
    for (const d of SYSCALLS) expect(Sys[d.name as keyof typeof Sys]).toBe(d.code);
    expect(new Set(SYSCALLS.map((d) => d.code)).size).toBe(SYSCALLS.length);
  });
  it("keeps every specific errcode outside the generic range and every return inside the ret area", () => {
    for (const d of SYSCALLS) {
      for (const e of Object.values(d.errors)) expect(e).toBeGreaterThanOrEqual(0x10);
      expect(d.ret.size).toBeLessThanOrEqual(SYSCALL_RET_SIZE);
    }
  });
  it("refuses hardware and system-reserved calls with the spec's own errcode", () => {
    for (const code of [0x70, 0x71, 0x72, 0x73, 0x74, 0xd0, 0xd1, 0xd2, 0xd4, 0xd5, 0xd6, 0xd7]) {
      const d = syscallByCode(code);
      expect(d?.support.kind).toBe("refused");
      if (d?.support.kind === "refused")
        expect(Object.values(d.errors)).toContain(d.support.refusal);
    }
    expect(syscallByCode(0xd3)).toBeUndefined();
  });
  it("returns twice for CREATE_PROCESS, CREATE_THREAD and (ABI 1.1) ACCEPT_SERVICE_CONN only", () => {
    // syscalls.md: CREATE_PROCESS and CREATE_THREAD return "Identity: 0x00 if the current [process|thread]
    // is the parent, 0x01 for the child"; ACCEPT_SERVICE_CONN "0x00 if the current process is now the
    // associated client's thread, 0x01 else" (services.md: "a new thread is then created").
    expect(SYSCALLS.filter((d) => d.returnsTwice).map((d) => d.name)).toEqual([
      "ACCEPT_SERVICE_CONN",
      "CREATE_PROCESS",
      "CREATE_THREAD",
    ]);
    expect(FORK_SYSCALLS).toEqual([0x2c, 0x50, 0x60]);
  });
  it("lists the buffers in the caller's memory, written out from syscalls.md's arguments", () => {
    // "Pointer to a readable buffer" / "Readable buffer" -> read; "writable buffer" -> written; SEND_SOCK_MSG's
    // "Buffer pointer to the message's content" is read. PIPE_READ's "Readable buffer pointer" is
    // written (the call writes the data read into it: a spec slip). MAP_AMS' "Mapped buffer pointer"
    // is a range to map, not bytes copied; SYS_PROCESS_ATTRIBUTES' arguments are not decoded (raw).
    const fromSpec: Record<string, string> = {
      PIPE_WRITE: "buffer read count",
      PIPE_READ: "buffer written bufptr",
      SEND_SOCK_MSG: "content read bufptr",
      READ_SOCK_MSG: "buffer written call",
      READ_TLS_SLOT: "buffer written bufptr",
      WRITE_TLS_SLOT: "buffer read bufptr",
      READ_IO_PORT: "buffer written bufptr",
      WRITE_IO_PORT: "buffer read bufptr",
      EXECUTION_CONTEXT: "buffer written call",
      SYS_ENUM_DEVICES: "buffer written bufptr",
    };
    const table: Record<string, string> = {};
    for (const d of SYSCALLS) {
      for (const b of d.buffers) {
        const len = typeof b.length === "string" ? b.length : b.length.field;
        table[d.name] = `${b.field} ${b.access} ${len}`;
        // The field exists, is a bufptr exactly when its length is the bufptr's, else a u64 address.
        const layout = d.args.layout;
        expect(layout, d.name).toContain(`${b.field}:${b.length === "bufptr" ? "bufptr" : "u64"}`);
        if (typeof b.length === "object")
          expect(layout, d.name).toMatch(new RegExp(`\\b${b.length.field}:`));
      }
    }
    expect(table).toEqual(fromSpec);
  });
  it("records what a call requires: the drivable-devices attribute, or being one system service", () => {
    const req = (n: string) => SYSCALLS.find((d) => d.name === n)?.requires;
    for (const n of [
      "READ_IO_PORT",
      "WRITE_IO_PORT",
      "DEVICE_INTERRUPT",
      "DEVICE_AMS",
      "SET_DMA_MEM_ACCESS",
    ])
      expect(req(n), n).toEqual({ kind: "drivable-device" });
    // syscalls.md: "Caller process is not the sys::process service" (sys::proc for the containers).
    for (const n of [
      "SYS_CREATE_PROCESS",
      "SYS_MANAGE_PROCESS",
      "SYS_PROCESS_ATTRIBUTES",
      "CREATE_CONTAINER",
      "LINK_CONTAINER_DEVICE",
      "DESTROY_CONTAINER",
    ])
      expect(req(n), n).toEqual({ kind: "system-service", service: "sys::process" });
    expect(req("SYS_ENUM_DEVICES")).toEqual({ kind: "system-service", service: "sys::hw" });
    // The spec names no permissions.md permission for any syscall; the others are open to all.
    const gated = SYSCALLS.filter((d) => d.requires.kind !== "none");
    expect(gated.map((d) => d.code)).toEqual([
      0x70, 0x71, 0x72, 0x73, 0x74, 0xd0, 0xd1, 0xd2, 0xd4, 0xd5, 0xd6, 0xd7,
    ]);
    for (const d of gated) expect(d.support.kind, d.name).toBe("refused");
  });
  it("decodes HANDLE_SIGNAL arguments: signal (1 byte), handler pointer (8 bytes)", () => {
    const args = decodeExact(HANDLE_SIGNAL.args, hex("4f 07 00 00 00 00 00 00 00"), "args");
    expect(args).toEqual({ signal: 0x4f, handler: 7n });
    expect(HANDLE_SIGNAL.args.size).toBe(9);
  });
  it("decodes OPEN_PIPE's 22 bytes in the spec's order", () => {
    const b = hex("6400000000000000 3412 01 02 01 00 0010000000000000");
    expect(decodeExact(OPEN_PIPE.args, b, "args")).toEqual({
      pid: 100n,
      command: 0x1234,
      pipeType: 1,
      sizeMultiplier: 2,
      transmissionMode: 1,
      notificationMode: 0,
      sizeHint: 0x1000n,
    });
  });
  it("reads CONNECT_SERVICE's flexible mode as the last argument", () => {
    expect(CONNECT_SERVICE.args.size).toBe(4 + 1 + 8 + 2 + 1);
  });
  it("encodes CREATE_PROCESS' 17-byte return value", () => {
    expect(encode(CREATE_PROCESS.ret, { id: 0x65n, identity: 1, initData: 0xabn })).toEqual(
      hex("6500000000000000 01 ab00000000000000"),
    );
  });
  it("rejects short and trailing argument bytes", () => {
    expect(() => decodeExact(MEM_ALLOC.args, hex("00"), "args")).toThrow(
      /expected 10 bytes, got 1/,
    );
    expect(() => decodeExact(EXECUTION_CONTEXT.args, new Uint8Array(10), "args")).toThrow(
      /expected 9 bytes/,
    );
  });
});

describe("signals", () => {
  it("knows the spec's codes and names", () => {
    expect(isSignalCode(Sig.WILL_TERMINATE)).toBe(true);
    expect(isSignalCode(0x03)).toBe(false);
    expect(signalName(0x4e)).toBe("TERMINATE");
  });
  it("lays out MEM_FAULT: address (8 bytes), access (1 byte), zero padding to 32", () => {
    const df = encodeDatafield(Datafield[Sig.MEM_FAULT], {
      address: 0x12345n,
      access: MemAccess.WRITE,
    });
    expect(df).toEqual(hex(`4523010000000000 02 ${"00".repeat(23)}`));
    expect(decodeDatafield(Datafield[Sig.MEM_FAULT], df)).toEqual({ address: 0x12345n, access: 2 });
  });
  it("lays out WILL_TERMINATE's delay on 2 bytes and RECV_PIPE on all 32", () => {
    expect(encodeDatafield(Datafield[Sig.WILL_TERMINATE], { delay: 2000 }).subarray(0, 3)).toEqual(
      hex("d007 00"),
    );
    expect(Datafield[Sig.RECV_PIPE].size).toBe(32);
    expect(() => decodeDatafield(Datafield[Sig.TERMINATE], new Uint8Array(31))).toThrow(/32 bytes/);
  });
  it("lays out SHARE_AMS, MAP_AMS and AMS_SHARING_INFO's answer (syscalls.md 0x42, 0x43, 0x45)", () => {
    // SHARE_AMS: target PID (8), AMS ID (8), command (2), notification mode (1), mode (1)
    expect(
      encode(SHARE_AMS.args, {
        pid: 0x65n,
        ams: 3n,
        command: 0x4321,
        notificationMode: 1,
        mode: 0x09,
      }),
    ).toEqual(hex("6500000000000000 0300000000000000 2143 01 09"));
    // MAP_AMS: AMS ID (8), address in the AMS (8), buffer pointer (address 8, length 8)
    expect(
      encode(MAP_AMS.args, { ams: 3n, from: 0x1000n, mapping: { addr: 0x60000n, len: 0x2000n } }),
    ).toEqual(hex("0300000000000000 0010000000000000 0000060000000000 0020000000000000"));
    // AMS_SHARING_INFO: sharer (8), receiver (8), mode (1), buffer pointer (16), command (2), permissions (1)
    const info = hex(
      "6400000000000000 6500000000000000 00 0000020000000000 0000010000000000 2143 c0",
    );
    expect(AMS_SHARING_INFO.ret.size).toBe(36);
    expect(decodeExact(AMS_SHARING_INFO.ret, info, "ret")).toEqual({
      sharer: 0x64n,
      receiver: 0x65n,
      mode: 0,
      buffer: { addr: 0x20000n, len: 0x10000n },
      command: 0x4321,
      permissions: 0xc0,
    });
  });
  it("lays out the AMS signals (signals.md 0x33–0x37) as their tables list them", () => {
    // RECV_SHARED_AMS: sender PID (8), command code (2), AMS ID (8), sharing mode (1), permissions (1)
    const recv = encodeDatafield(Datafield[Sig.RECV_SHARED_AMS], {
      sender: 0x64n,
      command: 0x4321,
      ams: 0x0102n,
      mode: 0x01,
      permissions: 0b1110_0000,
    });
    expect(recv).toEqual(hex(`6400000000000000 2143 0201000000000000 01 e0 ${"00".repeat(12)}`));
    // UNSHARED_AMS: unsharing type (1)
    expect(encodeDatafield(Datafield[Sig.UNSHARED_AMS], { unsharing: 1 })).toEqual(
      hex(`01 ${"00".repeat(31)}`),
    );
    // READ_BACKED_AMS: AMS ID (8), relative address (8), access mode (1)
    const read = hex(`0500000000000000 0010000000000000 01 ${"00".repeat(15)}`);
    expect(decodeDatafield(Datafield[Sig.READ_BACKED_AMS], read)).toEqual({
      ams: 5n,
      address: 0x1000n,
      access: 1,
    });
    // WRITE_BACKED_AMS: AMS ID (8), relative address (8), data to write (4)
    const write = hex(`0500000000000000 0420000000000000 efbeadde ${"00".repeat(12)}`);
    expect(decodeDatafield(Datafield[Sig.WRITE_BACKED_AMS], write)).toEqual({
      ams: 5n,
      address: 0x2004n,
      data: 0xdeadbeef,
    });
  });
  it("lays out the service-socket signals (signals.md 0x26, 0x27, 0x29; decisions in docs/ipc.md)", () => {
    // RECV_SERV_SOCK: creator PID (8), ANID (4), socket (8), size multiplier (2)
    expect(
      encodeDatafield(Datafield[Sig.RECV_SERV_SOCK], {
        creator: 100n,
        anid: 0xa1b2c3d4,
        socket: 1n,
        sizeMultiplier: 0xffff,
      }),
    ).toEqual(hex(`6400000000000000 d4c3b2a1 0100000000000000 ffff ${"00".repeat(10)}`));
    // RECV_SOCK_MSG: socket (8), exchange (8), method (2: decided), size (4), status (1)
    expect(
      encodeDatafield(Datafield[Sig.RECV_SOCK_MSG], {
        socket: 2n,
        exchange: 3n,
        method: 0x4002,
        size: 268431360,
        status: 0x05,
      }),
    ).toEqual(hex(`0200000000000000 0300000000000000 0240 00f0ff0f 05 ${"00".repeat(9)}`));
    // SERV_SOCK_CLOSED: closing type (1), identity (1), socket (8)
    expect(
      encodeDatafield(Datafield[Sig.SERV_SOCK_CLOSED], { closing: 1, identity: 0, socket: 7n }),
    ).toEqual(hex(`01 00 0700000000000000 ${"00".repeat(22)}`));
  });

  it("reads READ_BACKED_AMS' and WRITE_BACKED_AMS' answers from the handler's i64, low byte first", () => {
    // READ_BACKED_AMS: data (4 bytes) then page fault (1 byte); the i64's bytes as a handler returns them
    const i64 = (bytes: string) => hex(bytes).reduceRight((v, b) => (v << 8n) | BigInt(b), 0n);
    expect(decodeReadBackedAnswer(i64("78563412 00 000000"))).toEqual({
      data: 0x12345678,
      fault: 0,
    });
    expect(decodeReadBackedAnswer(i64("00000000 01 000000"))).toEqual({ data: 0, fault: 1 });
    // the upper three bytes are no part of the answer
    expect(decodeReadBackedAnswer(i64("efbeadde 02 ffffff"))).toEqual({
      data: 0xdeadbeef,
      fault: 2,
    });
    expect(decodeReadBackedAnswer(-1n)).toEqual({ data: 0xffffffff, fault: 0xff });
    // WRITE_BACKED_AMS: the page fault (1 byte)
    expect(decodeWriteBackedAnswer(i64("02 00000000000000"))).toEqual({ fault: 2 });
    expect(decodeWriteBackedAnswer(i64("00 ffffffffffffff"))).toEqual({ fault: 0 });
    expect(ANSWERED_SIGNALS.has(Sig.READ_BACKED_AMS) && ANSWERED_SIGNALS.has(0x34)).toBe(true);
    expect(ANSWERED_SIGNALS.has(Sig.RECV_SHARED_AMS)).toBe(false);
  });
});

describe("execution context", () => {
  it("puts the startup code in bits 0–3 (the high nibble), crash in bit 4, raw output in bit 5", () => {
    expect(
      encodeStartupReason({ code: StartupCode.COMMAND, afterCrash: false, rawOutputRead: true }),
    ).toBe(0x84);
    expect(
      encodeStartupReason({
        code: StartupCode.POST_INSTALL,
        afterCrash: true,
        rawOutputRead: false,
      }),
    ).toBe(0x18);
    expect(decodeStartupReason(0x58)).toEqual({ code: 5, afterCrash: true, rawOutputRead: false });
    expect(() => decodeStartupReason(0x00)).toThrow(/invalid startup reason/);
    expect(() => decodeStartupReason(0xa0)).toThrow(/invalid startup reason/);
  });
  it("writes a 16-byte header for a non-command start", () => {
    const h = encodeContextHeader({
      startupReason: {
        code: StartupCode.DESKTOP_ENVIRONMENT,
        afterCrash: false,
        rawOutputRead: false,
      },
      ambient: 0x80,
      special: 0,
      serviceType: 0x02,
      scopeName: new TextEncoder().encode("scope\0\0\0"),
      anid: 0xdeadbeef,
    });
    expect(h).toEqual(hex("50 80 00 02 73636f7065000000 efbeadde"));
    expect(CONTEXT_BASE_SIZE).toBe(16);
    expect(decodeContextHeader(h).anid).toBe(0xdeadbeef);
  });
  it("writes the 267-byte command header with the pipe identifiers and 196 zero bytes", () => {
    const ctx = commandContext({ anid: 7, callerAnid: 9, args: [{ type: "string", value: "hi" }] });
    ctx.header.command = {
      ...(ctx.header.command as NonNullable<typeof ctx.header.command>),
      cmdout: 0x0102n,
    };
    const h = encodeContextHeader(ctx.header);
    expect(h.length).toBe(CONTEXT_COMMAND_HEADER_SIZE);
    const expected = hex(
      `80 00 00 00 0000000000000000 07000000 ` +
        `09000000 01 1300 ${"0000000000000000".repeat(5)} 0201000000000000 ${"00".repeat(196)}`,
    );
    expect(h).toEqual(expected);
    expect(decodeContextHeader(h).command?.cmdout).toBe(0x0102n);
    expect(() => decodeContextHeader(h.subarray(0, 100))).toThrow(/command fields/);
    const all = encodeExecutionContext(ctx);
    expect(all.length).toBe(267 + 19);
  });
  it("starts the future-proof space with the command's name: length byte, UTF-8 (NCW addition)", () => {
    const ctx = commandContext({ anid: 7, callerAnid: 0, args: [], name: "say_hi" });
    const h = encodeContextHeader(ctx.header);
    expect(h.length).toBe(CONTEXT_COMMAND_HEADER_SIZE);
    expect(h.subarray(CONTEXT_COMMAND_HEADER_SIZE - 196)).toEqual(
      hex(`06 7361795f6869 ${"00".repeat(189)}`),
    );
    expect(h.subarray(16, 23)).toEqual(hex("00000000 00 0000"));
    expect(decodeContextHeader(h).command?.name).toBe("say_hi");
    // No name: the space is all zeros and the decoded header has none.
    const plain = encodeContextHeader(commandContext({ anid: 7, callerAnid: 0, args: [] }).header);
    expect(decodeContextHeader(plain).command).not.toHaveProperty("name");
    expect(() =>
      encodeContextHeader(
        commandContext({ anid: 1, callerAnid: 0, args: [], name: "x".repeat(196) }).header,
      ),
    ).toThrow(/at most 195 bytes/);
    const bad = Uint8Array.from(h);
    bad[CONTEXT_COMMAND_HEADER_SIZE - 196] = 196;
    expect(() => decodeContextHeader(bad)).toThrow(/command name length 196/);
    bad[CONTEXT_COMMAND_HEADER_SIZE - 196] = 1;
    bad[CONTEXT_COMMAND_HEADER_SIZE - 195] = 0xff;
    expect(() => decodeContextHeader(bad)).toThrow(/not UTF-8/);
  });
  it("builds a 16-byte, argument-less context for event starts", () => {
    const c = eventContext({ code: StartupCode.POST_INSTALL, anid: 5, ambient: 0x80 });
    expect(encodeExecutionContext(c)).toEqual(hex("10 80 00 00 0000000000000000 05000000"));
    expect(() => eventContext({ code: StartupCode.COMMAND, anid: 1 })).toThrow(/commandContext/);
  });
  it("encodes values: length of what follows (8 bytes), type code, representation", () => {
    expect(encodeValue({ type: "string", value: "hi" })).toEqual(
      hex("0b00000000000000 05 0200000000000000 6869"),
    );
    expect(encodeValue({ type: "char", value: "é" })).toEqual(hex("0500000000000000 04 e9000000"));
    expect(encodeValue({ type: "int", value: -2n })).toEqual(
      hex("0900000000000000 02 feffffffffffffff"),
    );
    expect(encodeValue({ type: "void" })).toEqual(hex("0100000000000000 00"));
    expect(
      encodeValue({
        type: "list",
        items: [
          { type: "bool", value: true },
          { type: "stream", rc: 5n },
        ],
      }),
    ).toEqual(hex("1400000000000000 06 0200000000000000 01 01 09 0500000000000000"));
  });
  it("round-trips every value type and rejects bad ones", () => {
    const values: Value[] = [
      { type: "void" },
      { type: "bool", value: false },
      { type: "int", value: 123n },
      { type: "float", value: 1.5 },
      { type: "char", value: "😀" },
      { type: "path", value: "/home/x" },
      { type: "command", value: "ls" },
      { type: "list", items: [{ type: "string", value: "a" }] },
      { type: "stream", rc: 9n },
    ];
    const b = commandContext({ anid: 1, callerAnid: 0, args: values }).args;
    expect(decodeArguments(b)).toEqual(values);
    expect(() => decodeArguments(hex("0200000000000000 01 05"))).toThrow(/bool byte/);
    expect(() => decodeArguments(hex("0100000000000000 0a"))).toThrow(/unknown value type/);
    expect(() => decodeArguments(hex("0900000000000000 02 00"))).toThrow(/truncated/);
  });
});

describe("the command-pipe identifiers in the context header", () => {
  it("sit at bytes 23, 31, 39, 47, 55, 63 (after the 16-byte base, caller ANID, count, size)", () => {
    const ctx = commandContext({
      anid: 0x01020304,
      callerAnid: 0,
      args: [],
      pipes: {
        cmdin: 1n,
        cmdusr: 2n,
        cmdmsg: 3n,
        cmderr: 4n,
        cmdraw: 5n,
        cmdout: 0x0102030405060708n,
      },
    });
    const b = encodeExecutionContext(ctx);
    const hex = Buffer.from(b.subarray(16, 71)).toString("hex");
    // caller ANID (4) | arg count (1) | args size (2) | six u64 LE
    expect(hex).toBe(
      "00000000" +
        "00" +
        "0000" +
        "0100000000000000" +
        "0200000000000000" +
        "0300000000000000" +
        "0400000000000000" +
        "0500000000000000" +
        "0807060504030201",
    );
    for (const [name, off] of Object.entries(CommandPipeOffset))
      expect(Buffer.from(b).readBigUInt64LE(off)).toBe(ctx.header.command?.[name as "cmdin"]);
  });
});
