// The SDKs' command API (sdk/as/command.ts, sdk/c/nightos_command.h; docs/sdk.md): one test program per
// SDK (test/fixtures/sdk/command.{ts,c}) is built with the real toolchain, AOT-compiled and run against a
// small fake kernel that answers EXECUTION_CONTEXT with a context written out here byte by byte from
// applications.md, serves CMDIN / CMDUSR, and records what the program writes on each command pipe.
// Every expected byte string is written by hand from the spec's tables (applications.md "Values
// encoding", shell.md "Text output" and "User inputs"), not produced by NCW's codecs.
// clang is needed for the C SDK: skipped locally without it, a failure in CI.

import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { aotCompile } from "../commonassembly/aot/cache.js";
import { buildProgram } from "../commonassembly/sdk/toolchains.js";
import { TestProcess } from "./ca-exec.js";
import { clangOk } from "./helpers/clang.js";
import { ncw } from "./helpers/ncw.js";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const FIXTURES = path.join(ROOT, "test/fixtures/sdk");
const tmp = mkdtempSync(path.join(os.tmpdir(), "ncw-sdk-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

// ---- values, written out from applications.md "Values encoding" ------------------------------------

const le = (v: bigint | number, n: number): number[] =>
  Array.from({ length: n }, (_, i) => Number((BigInt(v) >> BigInt(8 * i)) & 0xffn));
const utf8 = (s: string) => [...Buffer.from(s, "utf8")];
/** A value: its length (8 bytes: type code + representation), type code, representation. */
const value = (type: number, repr: number[]) => [...le(1 + repr.length, 8), type, ...repr];
const text = (s: string) => [...le(utf8(s).length, 8), ...utf8(s)];
const V = {
  void: () => value(0x00, []),
  bool: (b: boolean) => value(0x01, [b ? 1 : 0]),
  int: (i: bigint) => value(0x02, le(BigInt.asUintN(64, i), 8)),
  float: (f: number) => value(0x03, [...Buffer.from(new Float64Array([f]).buffer)]),
  char: (cp: number) => value(0x04, le(cp, 4)),
  string: (s: string) => value(0x05, text(s)),
  path: (s: string) => value(0x07, text(s)),
  command: (s: string) => value(0x08, text(s)),
  stream: (rc: bigint) => value(0x09, le(rc, 8)),
  /** items: each its type code then its representation. */
  list: (items: number[][]) => value(0x06, [...le(items.length, 8), ...items.flat()]),
};
/** A list item: type code + representation, no length. */
const item = (encoded: number[]) => encoded.slice(8);

/** The failure value (applications.md "Returning and failing"): length 1, type code 0xFF. */
const FAILURE = [1, 0, 0, 0, 0, 0, 0, 0, 0xff];

// ---- the execution context, from applications.md "Context header" -----------------------------------

const PIPES = { cmdin: 11n, cmdusr: 12n, cmdmsg: 13n, cmderr: 14n, cmdraw: 15n, cmdout: 16n };
type PipeName = keyof typeof PIPES;

function context(args: number[][], opts: { reason?: number; name?: string } = {}): Uint8Array {
  const name = utf8(opts.name ?? "");
  const block = args.flat();
  const header = [
    opts.reason ?? 0x84, // command (0x8 in the high nibble), bit 5 set: CMDRAW will be read
    0x00, // ambient
    0x00, // special assignment
    0x00, // service type
    ...new Array(8).fill(0), // scoped service name
    ...le(0x01020304, 4), // ANID
    ...le(0x0a0b0c0d, 4), // caller ANID
    args.length, // number of arguments
    ...le(block.length, 2), // cumulated size of the arguments
    ...le(PIPES.cmdin, 8),
    ...le(PIPES.cmdusr, 8),
    ...le(PIPES.cmdmsg, 8),
    ...le(PIPES.cmderr, 8),
    ...le(PIPES.cmdraw, 8),
    ...le(PIPES.cmdout, 8),
    // future-proof shift space; NCW puts the command's name first (length byte, UTF-8)
    name.length,
    ...name,
    ...new Array(196 - 1 - name.length).fill(0),
  ];
  expect(header).toHaveLength(267);
  return Uint8Array.from([...header, ...block]);
}

// ---- the fake kernel --------------------------------------------------------------------------------

class Exit extends Error {
  constructor(readonly data: bigint) {
    super(`exit ${data}`);
  }
}

interface Outcome {
  /** Every PIPE_WRITE, in order: which pipe and the bytes. */
  writes: { pipe: PipeName; bytes: number[] }[];
  exit: bigint;
}

const ERR = 0x100;

async function runProgram(
  npp: string,
  ctx: Uint8Array,
  input: { cmdin?: number[]; keys?: number[][] } = {},
): Promise<Outcome & { of(p: PipeName): number[]; messages(p: PipeName): number[][] }> {
  const r = await aotCompile(npp, { cacheDir: path.join(tmp, "cache") });
  const writes: Outcome["writes"] = [];
  let cmdin = [...(input.cmdin ?? [])];
  const keys = [...(input.keys ?? [])];
  const byId = new Map(Object.entries(PIPES).map(([k, v]) => [v, k as PipeName]));
  let exit: bigint | undefined;
  const proc = TestProcess.create(r.module, {
    onSafepoint: (p) => p.setPollFlag(false),
    syscall: (memory, req, len, ret) => {
      const mem = new Uint8Array(memory.buffer);
      const view = new DataView(memory.buffer);
      const code = mem[req];
      switch (code) {
        case 0xa0: {
          // EXECUTION_CONTEXT {info u8, buffer u64} -> {written u64}
          expect(len).toBe(10);
          const info = mem[req + 1];
          const buf = Number(view.getBigUint64(req + 2, true));
          const headerSize = 267;
          const part =
            info === 0 ? ctx : info === 2 ? ctx.subarray(0, headerSize) : ctx.subarray(headerSize);
          mem.set(part, buf);
          view.setBigUint64(ret, BigInt(part.length), true);
          return 0;
        }
        case 0x22: {
          // PIPE_WRITE {sc u64, count u32, buffer u64, mode u8} -> {result u32}
          expect(len).toBe(22);
          const pipe = byId.get(view.getBigUint64(req + 1, true));
          if (pipe === undefined) return ERR | 0x30;
          const count = view.getUint32(req + 9, true);
          const buf = Number(view.getBigUint64(req + 13, true));
          expect(mem[req + 21], "mode 0x00: block for room").toBe(0);
          writes.push({ pipe, bytes: [...mem.subarray(buf, buf + count)] });
          view.setUint32(ret, 65536, true);
          return 0;
        }
        case 0x23: {
          // PIPE_READ {rc u64, mode u8, buffer {addr u64, len u64}} -> {result u32}
          expect(len).toBe(26);
          const pipe = byId.get(view.getBigUint64(req + 1, true));
          const mode = mem[req + 9];
          const addr = Number(view.getBigUint64(req + 10, true));
          const room = Number(view.getBigUint64(req + 18, true));
          if (pipe === "cmdusr") {
            // A message pipe, closed once the keys are all read.
            const k = keys.shift();
            if (k === undefined) return ERR | 0x31;
            mem.set(k, addr);
            view.setUint32(ret, k.length, true);
            return 0;
          }
          if (pipe !== "cmdin") return ERR | 0x30;
          // A raw pipe whose writer has written everything and closed (docs/ipc.md's rules).
          if (cmdin.length === 0) return ERR | 0x31;
          const n = mode === 0x02 ? Math.min(room, cmdin.length) : room;
          if (mode === 0x00 && n > cmdin.length) {
            const got = cmdin.length;
            mem.set(cmdin, addr);
            cmdin = [];
            view.setUint32(ret, got, true);
            return ERR | 0x31;
          }
          mem.set(cmdin.slice(0, n), addr);
          cmdin = cmdin.slice(n);
          view.setUint32(ret, mode === 0x02 ? n : cmdin.length, true);
          return 0;
        }
        case 0x5f:
          throw new Exit(view.getBigUint64(req + 1, true));
        default:
          throw new Error(`unexpected syscall 0x${code?.toString(16)}`);
      }
    },
  });
  try {
    proc.runStart();
    exit = 0n;
  } catch (e) {
    if (!(e instanceof Exit)) throw e;
    exit = e.data;
  }
  return {
    writes,
    exit,
    of: (p) => writes.filter((w) => w.pipe === p).flatMap((w) => w.bytes),
    messages: (p) => writes.filter((w) => w.pipe === p).map((w) => w.bytes),
  };
}

/** A text message, from shell.md "Text output": fg RGB, bg RGB, style, count, controls, UTF-8. */
const message = (
  s: string,
  o: { fg?: number; bg?: number; style?: number; controls?: number[] } = {},
) => [
  ...[16, 8, 0].map((sh) => ((o.fg ?? 0) >> sh) & 0xff),
  ...[16, 8, 0].map((sh) => ((o.bg ?? 0) >> sh) & 0xff),
  o.style ?? 0,
  (o.controls ?? []).length,
  ...(o.controls ?? []).flatMap((c) => [c >> 8, c & 0xff]),
  ...utf8(s),
];

function build(toolchain: "as" | "c"): string {
  const src = path.join(FIXTURES, toolchain === "as" ? "command.ts" : "command.c");
  const wasm = path.join(tmp, `command-${toolchain}.wasm`);
  const npp = path.join(tmp, `command-${toolchain}.npp`);
  buildProgram(toolchain, src, wasm);
  const asm = ncw([
    "ca",
    "asm",
    wasm,
    "-o",
    npp,
    ...(toolchain === "as" ? ["--rename-export", "table=__indirect_function_table"] : []),
  ]);
  if (asm.status !== 0) throw new Error(asm.stderr);
  return npp;
}

for (const toolchain of ["as", "c"] as const) {
  describe.skipIf(toolchain === "c" && !clangOk)(
    `the ${toolchain === "as" ? "AssemblyScript" : "C"} SDK's command API`,
    () => {
      let npp = "";
      beforeAll(() => {
        npp = build(toolchain);
      });
      const run = (args: number[][], input?: { cmdin?: number[]; keys?: number[][] }) =>
        runProgram(npp, context(args), input);

      it("reads the startup reason, the ANIDs and the argument count from the context header", async () => {
        const o = await run([V.string("startup"), V.int(7n)]);
        expect(o.of("cmdraw")).toEqual([0x8, 1, 0, 1, 4, 3, 2, 1, 0x0d, 0x0c, 0x0b, 0x0a, 2]);
        const crash = await runProgram(npp, context([V.string("startup")], { reason: 0x88 }));
        expect(crash.of("cmdraw").slice(0, 4)).toEqual([0x8, 1, 1, 0]);
      });

      it("a start that is not a command: a 16-byte header, no arguments, no pipes", async () => {
        // Post-install (0x1): startup reason, ambient, special, service type, scope name, ANID.
        const header = Uint8Array.from([0x10, 0x80, 0, 0, ...new Array(8).fill(0), ...le(7, 4)]);
        const o = await runProgram(npp, header);
        // arg(0) does not exist: nothing can be said (no CMDERR), exit data 1.
        expect(o.writes).toEqual([]);
        expect(o.exit).toBe(1n);
      });

      it("reads the name of the command started (NCW's addition in the future-proof space)", async () => {
        const o = await runProgram(npp, context([V.string("name")], { name: "say_hellö" }));
        expect(o.of("cmdraw")).toEqual(utf8("say_hellö"));
        const none = await run([V.string("name")]);
        expect(none.of("cmdraw")).toEqual([]);
      });

      const echoes: [string, number[]][] = [
        ["void", V.void()],
        ["bool true", V.bool(true)],
        ["bool false", V.bool(false)],
        ["int -2", V.int(-2n)],
        ["int 2^62", V.int(1n << 62n)],
        ["float -1.25", V.float(-1.25)],
        ["char U+1F600", V.char(0x1f600)],
        ["string", V.string("héllo, wörld")],
        ["empty string", V.string("")],
        ["path", V.path("/home/ada/notes.txt")],
        ["command", V.command("ls -l")],
        ["stream", V.stream(0x1122334455667788n)],
        ["list[string]", V.list([item(V.string("Ada")), item(V.string("Bob"))])],
        ["empty list", V.list([])],
        [
          "mixed nested list",
          V.list([
            item(V.int(5n)),
            item(V.bool(true)),
            item(V.char(0x41)),
            item(V.float(0.5)),
            item(V.path("/x")),
            item(V.list([item(V.string("in"))])),
          ]),
        ],
      ];
      for (const [name, encoded] of echoes) {
        it(`decodes a ${name} argument and returns it encoded byte for byte`, async () => {
          const o = await run([V.string("echo"), encoded]);
          expect(o.of("cmdout")).toEqual(encoded);
          expect(o.exit).toBe(0n);
        });
      }

      it("reads a list[string] argument item by item", async () => {
        const o = await run([
          V.string("strings"),
          V.list([item(V.string("Ada")), item(V.string("Grace"))]),
        ]);
        // The AS program prints each name with println (one message), the C one the name then "\n".
        const lines =
          toolchain === "as"
            ? [message("Ada\n"), message("Grace\n")]
            : [message("Ada"), message("\n"), message("Grace"), message("\n")];
        expect(o.messages("cmdmsg")).toEqual(lines);
        expect(o.of("cmdout")).toEqual(V.int(2n));
      });

      it.skipIf(toolchain === "c")(
        "a failed assertion goes through the SDK's abort handler: CMDERR, failure, exit 1",
        async () => {
          const o = await run([V.string("abort")]);
          const [m] = o.messages("cmderr");
          expect(Buffer.from(m!.slice(8)).toString("utf8")).toMatch(
            /^boom \(.*command\.ts:\d+:\d+\)\n$/,
          );
          expect(o.of("cmdout")).toEqual([1, 0, 0, 0, 0, 0, 0, 0, 0xff]);
          expect(o.exit).toBe(1n);
        },
      );

      it("reads a list's item by its index; out of range is fatal", async () => {
        const list = V.list([item(V.string("a")), item(V.int(1n)), item(V.string("c"))]);
        expect((await run([V.string("item"), list, V.int(2n)])).of("cmdout")).toEqual(
          V.string("c"),
        );
        const out = await run([V.string("item"), list, V.int(3n)]);
        expect(out.exit).toBe(1n);
      });

      it("prints messages with colours, styles and control characters on CMDMSG and CMDERR", async () => {
        const o = await run([V.string("print")]);
        expect(o.messages("cmdmsg")).toEqual([
          message("Hello\n"),
          // fg 11 22 33, bg 44 55 66, bold (0x80) | underline (0x20), two controls: up 2, line start.
          [0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0xa0, 2, 0x01, 0x02, 0x05, 0x00, 0x78],
        ]);
        expect(o.messages("cmderr")).toEqual([
          // italic (0x40) | overline (0x10) | reversed (0x08)
          [0, 0, 0, 0, 0, 0, 0x58, 0, ...utf8("oops")],
          message("é\n"),
        ]);
        expect(o.of("cmdout")).toEqual([]);
      });

      it("splits a text longer than a message at a character boundary", async () => {
        const o = await run([V.string("long")]);
        const msgs = o.messages("cmdmsg");
        expect(msgs).toHaveLength(2);
        for (const m of msgs) expect(m.length).toBeLessThanOrEqual(65536);
        const body = msgs.flatMap((m) => m.slice(8));
        expect(Buffer.from(body).toString("utf8")).toBe("é".repeat(35000));
        expect(Buffer.from(msgs[0]!.slice(8)).toString("utf8")).not.toContain("\ufffd");
      });

      it("writes raw bytes on CMDRAW", async () => {
        const o = await run([V.string("raw")]);
        expect(o.of("cmdraw")).toEqual([...utf8("raw "), 0x00, 0xff, 0x80]);
        expect(o.messages("cmdmsg")).toEqual([]);
      });

      it("reads CMDIN to its end (a wc)", async () => {
        const data = utf8("one two\nthree\n");
        const o = await run([V.string("wc")], { cmdin: data });
        expect(o.of("cmdout")).toEqual(V.int(BigInt(data.length)));
        const empty = await run([V.string("wc")], { cmdin: [] });
        expect(empty.of("cmdout")).toEqual(V.int(0n));
      });

      it("reads the typed input: one value on CMDIN, decoded; none; not one value is fatal", async () => {
        const names = V.list([item(V.string("Ada")), item(V.string("Bob"))]);
        for (const v of [V.int(-2n), V.string("héllo"), names]) {
          const o = await run([V.string("input")], { cmdin: v });
          expect(o.of("cmdout")).toEqual(v);
        }
        const none = await run([V.string("input")], { cmdin: [] });
        expect(none.of("cmdout")).toEqual(FAILURE);
        expect(none.exit).toBe(0n);
        // A length that does not cover the bytes, then a value followed by another byte.
        for (const bad of [
          [...le(5, 8), 0x02, 1],
          [...V.int(1n), 0],
        ]) {
          const o = await run([V.string("input")], { cmdin: bad });
          expect(o.messages("cmderr").length).toBeGreaterThan(0);
          expect(o.exit).toBe(1n);
        }
      });

      it("copies CMDIN to CMDRAW (a cat)", async () => {
        const data = [...Array(200_000).keys()].map((i) => (i * 7) & 0xff);
        const o = await run([V.string("cat")], { cmdin: data });
        expect(o.of("cmdraw")).toEqual(data);
      });

      it("reads user inputs from CMDUSR: modifiers, keycode, the UTF-8 character", async () => {
        const keys = [
          [0x00, 0x04, 0x61, 0, 0, 0], // a
          [0x50, 0x05, 0xc3, 0xa9, 0, 0], // Ctrl-Shift é
          [0x20, 0x70, 0, 0, 0, 0], // Alt + a key without a character
          [0x80, 0x01, 0xf0, 0x9f, 0x98, 0x80], // Command 😀
        ];
        const o = await run([V.string("keys")], { keys });
        expect(o.of("cmdraw")).toEqual([
          ...[0x00, 0x04, ...le(0x61, 4)],
          ...[0x50, 0x05, ...le(0xe9, 4)],
          ...[0x20, 0x70, ...le(0, 4)],
          ...[0x80, 0x01, ...le(0x1f600, 4)],
        ]);
      });

      it("gives the six command pipes' identifiers of the context", async () => {
        const o = await run([V.string("pipes")]);
        expect(o.of("cmdraw")).toEqual([11, 12, 13, 14, 15, 16].flatMap((id) => le(id, 8)));
      });

      it.skipIf(toolchain === "c")("Key.has tells a modifier (Ctrl is bit 1, 0x40)", async () => {
        const keys = [
          [0x40, 0x04, 0, 0, 0, 0],
          [0x10, 0x04, 0x41, 0, 0, 0],
          [0x50, 0x06, 0, 0, 0, 0],
        ];
        expect((await run([V.string("ctrl")], { keys })).of("cmdraw")).toEqual(utf8("101"));
      });

      it("returns a list built item by item", async () => {
        const o = await run([V.string("list")]);
        expect(o.of("cmdout")).toEqual(
          V.list([
            item(V.string("a")),
            item(V.int(-1n)),
            item(V.bool(true)),
            item(V.char(0x1f600)),
            item(V.float(0.5)),
            item(V.list([item(V.string("x"))])),
          ]),
        );
      });

      // "send the 0xFF value": NCW reads it (docs/ipc.md) as a value of type code 0xFF, no representation.
      it("fails with the 0xFF value on CMDOUT", async () => {
        const o = await run([V.string("fail")]);
        expect(o.of("cmdout")).toEqual(FAILURE);
        expect(o.exit).toBe(0n);
      });

      it("a missing argument or a wrong type: a message on CMDERR, the failure value, exit 1", async () => {
        for (const which of ["missing", "wrongtype"]) {
          const o = await run([V.string(which)]);
          expect(o.messages("cmderr").length).toBeGreaterThan(0);
          expect(o.of("cmdout")).toEqual(FAILURE);
          expect(o.exit).toBe(1n);
        }
      });
    },
  );
}
