// The kernel builds a run's execution context (docs/kernel.md, "The session"): from the typed
// arguments and startup the CLI sends, with the installed app's ANID; bad requests are refused
// before anything is compiled.

import { describe, expect, it } from "vitest";
import {
  CONTEXT_BASE_SIZE,
  decodeArguments,
  decodeContextHeader,
  StartupCode,
} from "../../commonassembly/abi/context.js";
import type { Value } from "../../commonassembly/abi/values.js";
import { runContext } from "./run-context.js";

const args: Value[] = [
  { type: "string", value: "héllo" },
  { type: "int", value: -3n },
  {
    type: "list",
    items: [
      { type: "bool", value: true },
      { type: "path", value: "/home" },
    ],
  },
];

function split(bytes: Uint8Array, headerSize: number) {
  return {
    header: decodeContextHeader(bytes.subarray(0, headerSize)),
    args: decodeArguments(bytes.subarray(headerSize)),
  };
}

describe("runContext", () => {
  it("a command start: the typed arguments, their count and size, the caller, the app's ANID", () => {
    const { bytes, anid } = runContext({
      args,
      startup: { kind: "command", callerAnid: 5, rawOutputRead: true },
    })(0xabcdef01);
    expect(anid).toBe(0xabcdef01);
    const c = split(bytes, 267);
    expect(c.header.startupReason).toEqual({
      code: StartupCode.COMMAND,
      afterCrash: false,
      rawOutputRead: true,
    });
    expect(c.header.anid).toBe(0xabcdef01);
    expect(c.header.command).toMatchObject({
      callerAnid: 5,
      argCount: 3,
      argsSize: bytes.length - 267,
      cmdin: 0n,
      cmdout: 0n,
    });
    expect(c.args).toEqual(args);
  });

  it("the command started goes into the header (NCW addition); a bad name is a bad request", () => {
    const { bytes } = runContext({
      args: [],
      startup: { kind: "command", callerAnid: 0, command: "say_hello" },
    })(9);
    expect(decodeContextHeader(bytes.subarray(0, 267)).command?.name).toBe("say_hello");
    const long = { kind: "command" as const, callerAnid: 0, command: "x".repeat(200) };
    expect(() => runContext({ args: [], startup: long })).toThrow(/at most 195 bytes/);
    const notText = { kind: "command", callerAnid: 0, command: 3 } as unknown as {
      kind: "command";
      callerAnid: number;
    };
    expect(() => runContext({ args: [], startup: notText })).toThrow(/not a string/);
  });

  it("the ANID: the installed app's, else the request's (Skyer's events), else a random non-zero one", () => {
    const build = runContext({ args: [], startup: { kind: "command", callerAnid: 0 }, anid: 42 });
    expect(build(7).anid).toBe(7);
    expect(build(undefined).anid).toBe(42);
    const picked = runContext({ args: [], startup: { kind: "command", callerAnid: 0 } });
    const a = picked(undefined);
    expect(a.anid).toBeGreaterThan(0);
    expect(decodeContextHeader(a.bytes).anid).toBe(a.anid);
  });

  it("an event start: the 16-byte header with the event's startup reason, no arguments", () => {
    const { bytes } = runContext({
      args: [],
      startup: { kind: "event", code: StartupCode.POST_INSTALL },
      anid: 9,
    })(undefined);
    expect(bytes.length).toBe(CONTEXT_BASE_SIZE);
    expect(bytes[0]).toBe(0x10);
    expect(decodeContextHeader(bytes).anid).toBe(9);
  });

  it("refuses what NightOS does not allow, before any ANID is chosen", () => {
    const code = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return (e as { code: string }).code;
      }
      return "no error";
    };
    const cmd = { kind: "command" as const, callerAnid: 0 };
    expect(code(() => runContext({ args: [{ type: "char", value: "ab" }], startup: cmd }))).toBe(
      "RUN_BAD_ARGUMENTS",
    );
    // A value off the socket that is not a shell value.
    const bogus = [{ type: "string", value: 5 }] as unknown as Value[];
    expect(code(() => runContext({ args: bogus, startup: cmd }))).toBe("RUN_BAD_ARGUMENTS");
    const unknown = [{ type: "tuple" }] as unknown as Value[];
    expect(code(() => runContext({ args: unknown, startup: cmd }))).toBe("RUN_BAD_ARGUMENTS");
    let deep: Value = { type: "void" };
    for (let i = 0; i < 40; i++) deep = { type: "list", items: [deep] };
    expect(code(() => runContext({ args: [deep], startup: cmd }))).toBe("RUN_BAD_ARGUMENTS");
    expect(
      code(() => runContext({ args: [{ type: "void" }], startup: { kind: "event", code: 0x1 } })),
    ).toBe("RUN_BAD_ARGUMENTS");
    expect(code(() => runContext({ args: [], startup: { kind: "event", code: 0xf } }))).toBe(
      "RUN_BAD_ARGUMENTS",
    );
    expect(code(() => runContext({ args: [], startup: cmd, anid: 0 }))).toBe("RUN_BAD_ARGUMENTS");
    // The ABI's own limits keep their codes (the CLI shows them as usage errors).
    const many = new Array<Value>(256).fill({ type: "void" });
    expect(code(() => runContext({ args: many, startup: cmd }))).toBe("CTX_TOO_MANY_ARGS");
    const long = [{ type: "string" as const, value: "x".repeat(70_000) }];
    expect(code(() => runContext({ args: long, startup: cmd }))).toBe("CTX_ARGS_TOO_LARGE");
  });
});
