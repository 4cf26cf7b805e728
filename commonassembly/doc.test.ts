// docs/commonassembly.md is the ABI contract SDK writers follow: this test parses its tables and
// worked examples and checks them against the code (abi/wasm-names.ts, npp.ts, validate.ts, the syscall table).
import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { GenericErr } from "./abi/numbers.js";
import { FORK_SYSCALLS, NEW_THREAD_SYSCALLS, SYSCALLS } from "./abi/syscalls.js";
import * as abi from "./abi/wasm-names.js";
import { instrument } from "./aot/instrument.js";
import { LimitRule } from "./limits.js";
import * as npp from "./npp.js";
import { generateAsBindings } from "./sdk/as-bindings.js";
import { generateCHeader } from "./sdk/c-header.js";
import { watToWasm } from "./text.js";
import { AbiRule } from "./validate.js";

const DOC = readFileSync(new URL("../docs/commonassembly.md", import.meta.url), "utf8");
const source = (f: string) => readFileSync(new URL(f, import.meta.url), "utf8");

/** The rows of the markdown table that follows `marker` (header and separator skipped). */
function tableAfter(marker: string): string[][] {
  const at = DOC.indexOf(marker);
  expect(at, `marker ${marker} in the doc`).toBeGreaterThanOrEqual(0);
  const lines = DOC.slice(at + marker.length).split("\n");
  const rows: string[][] = [];
  let started = false;
  for (const raw of lines) {
    // A table may sit in a list item (indented).
    const line = raw.trimStart();
    if (line.startsWith("|")) {
      started = true;
      const cells = line
        .slice(1, -1)
        .split(/(?<!\\)\|/)
        .map((c) => c.trim().replaceAll("\\|", "|"));
      rows.push(cells);
    } else if (started) break;
  }
  return rows.slice(2);
}

/** The hex bytes of the first code block after `marker` ("(then N zero bytes)" expands). */
function hexAfter(marker: string): number[] {
  const at = DOC.indexOf(marker);
  const block = /```\n([\s\S]*?)```/.exec(DOC.slice(at))![1]!;
  const bytes = block
    .split("(")[0]!
    .trim()
    .split(/\s+/)
    .map((h) => Number.parseInt(h, 16));
  const zeros = /\(then (\d+) zero bytes\)/.exec(block);
  return zeros ? [...bytes, ...new Array<number>(Number(zeros[1])).fill(0)] : bytes;
}

const num = (s: string) => Number(s.replaceAll("`", "").replace(/\s.*/, ""));
const exported: Record<string, unknown> = { ...abi, ...npp };

describe("docs/commonassembly.md matches the code", () => {
  it("NPP header table", () => {
    const rows = tableAfter("<!-- table:npp-header -->");
    let expectedOffset = 0;
    for (const [offset, size, , field] of rows) {
      expect(Number(offset), field).toBe(expectedOffset);
      expect(npp.NppOffset[field as keyof typeof npp.NppOffset], field).toBe(Number(offset));
      expectedOffset += Number(size);
    }
    expect(expectedOffset).toBe(npp.NPP_HEADER_SIZE);
    expect(rows.map((r) => r[3])).toEqual(Object.keys(npp.NppOffset));
    const magic = rows[0]![4]!
      .match(/`([0-9A-F ]+)`/)![1]!
      .split(" ")
      .map((h) => Number.parseInt(h, 16));
    expect(magic).toEqual([...npp.NPP_MAGIC]);
  });

  it("NPP flags table", () => {
    const rows = tableAfter("<!-- table:npp-flags -->");
    expect(Object.fromEntries(rows.map(([bit, name]) => [name, 1 << Number(bit)]))).toEqual(
      npp.NppFlag,
    );
  });

  it("NPP error codes are exactly the ones the decoder raises", () => {
    const doc = tableAfter("<!-- table:npp-errors -->").map((r) => r[0]!);
    const code = new Set(
      [
        ...source("./npp.ts").matchAll(/"(NPP_[A-Z_]+)"/g),
        ...source("./validate.ts").matchAll(/"(NPP_[A-Z_]+)"/g),
      ].map((m) => m[1]!),
    );
    expect(new Set(doc)).toEqual(code);
  });

  it("imports table", () => {
    const rows = tableAfter("<!-- table:imports -->");
    const doc = Object.fromEntries(
      rows.map(([imp, sig]) => [imp!.replaceAll("`", ""), sig!.replaceAll("`", "")]),
    );
    const code = Object.fromEntries(
      Object.entries(abi.ABI_IMPORTS).map(([name, sig]) => [
        `${abi.ABI_IMPORT_MODULE}.${name}`,
        abi.formatSig(sig),
      ]),
    );
    expect(doc).toEqual(code);
  });

  it("required exports table", () => {
    const rows = tableAfter("<!-- table:exports -->");
    expect(rows.map((r) => r[0]!.replaceAll("`", ""))).toEqual([
      abi.EXPORT_MEMORY,
      abi.EXPORT_START,
      abi.EXPORT_TABLE,
    ]);
    expect(DOC).toContain(
      `\`${abi.formatSig(abi.SIGNAL_HANDLER_SIG).replace("(param i32 i32)", "(param $signal i32) (param $datafield i32)")}\``,
    );
  });

  it("validation rules table", () => {
    const doc = tableAfter("<!-- table:rules -->").map((r) => r[0]!);
    expect(new Set(doc)).toEqual(
      new Set(["WASM_MALFORMED", "WASM_INVALID", ...Object.values(AbiRule), "NPP_FLAGS_MISMATCH"]),
    );
  });

  it("engine limits table", () => {
    const doc = tableAfter("<!-- table:limits -->").map((r) => r[0]!);
    expect(doc).toEqual(Object.values(LimitRule));
  });

  it("generic errcodes table", () => {
    const doc = tableAfter("<!-- table:abi-errcodes -->").map((r) => Number(r[0]));
    expect(doc).toEqual(Object.values(GenericErr));
  });

  it("ABI leaf file map (§13) lists every file of commonassembly/abi/", () => {
    const doc = tableAfter("<!-- table:abi-leaf -->").map((r) => r[0]!.replaceAll("`", ""));
    const files = readdirSync(new URL("./abi/", import.meta.url), { recursive: true })
      .map(String)
      .map((f) => f.replaceAll("\\", "/"))
      .filter((f) => f.endsWith(".ts") && !f.endsWith(".test.ts"));
    expect(new Set(doc)).toEqual(new Set(files));
  });

  it("syscall_fork from a signal handler: §4.4, §5 and docs/kernel.md give the same errcode", () => {
    // The contract SDK writers follow and the kernel's page must not contradict each other (NCW
    // issue #19); the runtime's answer is tested black-box in test/kernel-contract.test.ts.
    const want = GenericErr.INVALID_ARGUMENT;
    const row = tableAfter("<!-- table:abi-errcodes -->").filter((r) =>
      /`syscall_fork` from a signal handler/.test(r[1]!),
    );
    expect(row.map((r) => Number(r[0]))).toEqual([want]);
    const section5 = DOC.slice(DOC.indexOf("## 5. Fork-like calls"), DOC.indexOf("## 6. Signals"));
    const s5 =
      /must not be called from a signal handler: both CREATE_PROCESS and CREATE_THREAD fail\s+there with errcode (0x[0-9a-f]{2})/.exec(
        section5,
      );
    expect(s5, "§5 states the errcode for both calls").not.toBeNull();
    expect(Number(s5![1])).toBe(want);
    const kernel = readFileSync(new URL("../docs/kernel.md", import.meta.url), "utf8");
    const k = [
      ...kernel.matchAll(
        /CREATE_THREAD and\s+CREATE_PROCESS inside a\s+signal handler return (0x[0-9a-f]{2})/g,
      ),
    ];
    expect(k.length, "docs/kernel.md states it once").toBe(1);
    expect(Number(k[0]![1])).toBe(want);
    // No other statement of a different errcode for a fork-like call in a handler survives in either page.
    for (const text of [DOC, kernel]) {
      for (const m of text.matchAll(
        /signal handler[^.]{0,40}?(?:returns?|fails?|errcode) (0x[0-9a-f]{2})/gi,
      ))
        expect(Number(m[1]), m[0]).toBe(want);
    }
    // The request-size limit is in the same row, and SYSCALL_REQ_MAX is the number it gives.
    expect(row[0]![1]).toContain(`than ${abi.SYSCALL_REQ_MAX} bytes`);
  });

  it("per-thread answers (§5, ABI 1.1): the table, the constants, kernel.md and the SDKs agree", () => {
    const rows = tableAfter("<!-- table:thread-answers -->");
    expect(rows.map((r) => r[0])).toEqual(["the caller", "the new thread"]);
    const status = (cell: string) => Number(/\((\d+)\)/.exec(cell)![1]);
    const offset = (cell: string) => Number(/`ret \+ (\d+)`/.exec(cell)![1]);
    expect(rows.map((r) => r[1]!.replaceAll("`", "").split(" ")[0])).toEqual([
      "SYSCALL_STATUS_OK",
      "SYSCALL_STATUS_NEW_THREAD",
    ]);
    expect(rows.map((r) => status(r[1]!))).toEqual([
      abi.SYSCALL_STATUS_OK,
      abi.SYSCALL_STATUS_NEW_THREAD,
    ]);
    expect(rows.map((r) => offset(r[2]!))).toEqual([0, abi.NEW_THREAD_RET_OFFSET]);
    expect(rows.map((r) => Number(r[3]))).toEqual([0, 1]);
    // Two halves that do not overlap, each a whole ordinary return area.
    expect(abi.NEW_THREAD_RET_OFFSET).toBeGreaterThanOrEqual(abi.SYSCALL_RET_SIZE);
    expect(abi.THREAD_RET_SIZE).toBe(abi.NEW_THREAD_RET_OFFSET + abi.SYSCALL_RET_SIZE);
    expect(abi.decodeStatus(abi.SYSCALL_STATUS_NEW_THREAD)).toEqual({ ok: true });
    expect(abi.ABI_VERSION).toBeGreaterThanOrEqual(abi.ABI_VERSION_THREAD_ANSWERS);
    // The calls it applies to: every fork-like call but CREATE_PROCESS, named in §5.
    const section5 = DOC.slice(DOC.indexOf("## 5. Fork-like calls"), DOC.indexOf("## 6. Signals"));
    const forkNames = SYSCALLS.filter((d) => FORK_SYSCALLS.includes(d.code)).map((d) => d.name);
    const threadNames = SYSCALLS.filter((d) => NEW_THREAD_SYSCALLS.includes(d.code)).map(
      (d) => d.name,
    );
    expect(threadNames.sort()).toEqual(forkNames.filter((n) => n !== "CREATE_PROCESS").sort());
    const applies = /\*\*Each thread's answer \(ABI 1\.1\)\.\*\*([\s\S]*?)<!--/.exec(section5)![1]!;
    for (const n of threadNames) expect(applies, n).toContain(n);
    expect(applies).toContain(`**${abi.THREAD_RET_SIZE}-byte return area**`);
    expect(section5).toMatch(
      /\*\*CREATE_PROCESS\*\* keeps one 40-byte area and status `0` in both/,
    );
    // The worked example shows the new thread's half, and §4.4's 0x03 names the 80 bytes.
    const ex = DOC.slice(DOC.indexOf("<!-- example:request CREATE_THREAD -->"));
    expect(ex.slice(0, ex.indexOf("<!-- example:return CREATE_THREAD -->"))).toContain(
      `status \`${abi.SYSCALL_STATUS_NEW_THREAD}\` and its answer in the second half of the\n${abi.THREAD_RET_SIZE}-byte return area, at \`ret + ${abi.NEW_THREAD_RET_OFFSET}\``,
    );
    const e03 = tableAfter("<!-- table:abi-errcodes -->").find((r) => Number(r[0]) === 3)!;
    expect(e03[1]).toContain(`${abi.THREAD_RET_SIZE} bytes for a call that starts a thread`);
    // docs/kernel.md "Threads" states the same rule, and the 1.0 one.
    const kernel = readFileSync(new URL("../docs/kernel.md", import.meta.url), "utf8");
    const threads = kernel.slice(kernel.indexOf("## Threads"));
    expect(threads).toContain(
      `resumes with status ${abi.SYSCALL_STATUS_NEW_THREAD} (\`SYSCALL_STATUS_NEW_THREAD\`)`,
    );
    expect(threads).toContain(`written to \`ret + ${abi.NEW_THREAD_RET_OFFSET}\` when it rewinds`);
    expect(threads).toContain("**ABI 1.0 programs keep the shared area**");
    // The generated SDKs implement it: the thread-starting wrappers take the caller's area.
    const c = generateCHeader();
    expect(c).toContain(`#define NIGHTOS_NEW_THREAD ${abi.SYSCALL_STATUS_NEW_THREAD}\n`);
    expect(c).toContain(`#define NIGHTOS_NEW_THREAD_RET_OFFSET ${abi.NEW_THREAD_RET_OFFSET}\n`);
    expect(c).toContain(`#define NIGHTOS_THREAD_RET_SIZE ${abi.THREAD_RET_SIZE}\n`);
    const as = generateAsBindings();
    expect(as).toContain(`const RET: usize = memory.data(${abi.THREAD_RET_SIZE}, 8);`);
    expect(as).toContain(
      "return status === NEW_THREAD ? area + <usize>NEW_THREAD_RET_OFFSET : area;",
    );
    for (const d of SYSCALLS.filter((x) => NEW_THREAD_SYSCALLS.includes(x.code))) {
      const lower = d.name.toLowerCase();
      expect(c, d.name).toMatch(new RegExp(`int32_t nightos_${lower}\\([^)]*void \\*area\\)`));
      expect(c, d.name).toContain(`return nightos_syscall_fork(req, 1 + ${d.args.size}, area);`);
      const camel = lower.replace(/_([a-z])/g, (_, x: string) => x.toUpperCase());
      expect(as, d.name).toMatch(new RegExp(`function ${camel}\\([^)]*area: usize = RET\\)`));
    }
  });

  it("control block table", () => {
    const rows = tableAfter("<!-- table:control-block -->");
    expect(rows.map((r) => [Number(r[0]), Number(r[1])])).toEqual([
      [abi.CTL_POLL_FLAG_OFFSET, 4],
      [4, 4],
      [abi.CTL_FORK_BUFFER_OFFSET, 4],
      [abi.CTL_FORK_BUFFER_LENGTH_OFFSET, 4],
      [16, 16],
      [abi.CTL_DATAFIELD_OFFSET, abi.SIGNAL_DATAFIELD_SIZE],
    ]);
    expect(abi.RUNTIME_SCRATCH_ADDRESS).toBe(abi.CONTROL_BLOCK_SIZE);
    expect(abi.RUNTIME_SCRATCH_ADDRESS + abi.RUNTIME_SCRATCH_SIZE).toBe(abi.RESERVED_LOW_MEMORY);
    expect(abi.CTL_DATAFIELD_OFFSET + abi.SIGNAL_DATAFIELD_SIZE).toBe(abi.CONTROL_BLOCK_SIZE);
  });

  it("constants table", () => {
    const rows = tableAfter("<!-- table:constants -->");
    expect(rows.length).toBeGreaterThan(20);
    for (const [name, value] of rows) {
      const key = name!.replaceAll("`", "");
      expect(exported[key], key).toBe(num(value!));
    }
  });

  it("worked examples pack to the bytes shown and match the syscall table", () => {
    const markers = [...DOC.matchAll(/<!-- example:(request|return) ([A-Z_]+) -->/g)];
    expect(markers.length).toBeGreaterThanOrEqual(8);
    for (const m of markers) {
      const [marker, kind, name] = m as unknown as [string, string, string];
      const rows = tableAfter(marker);
      const packed: number[] = [];
      for (const [offset, size, field, value] of rows) {
        expect(Number(offset), `${name} ${field}`).toBe(packed.length);
        let v = BigInt(value!.replaceAll("`", ""));
        for (let i = 0; i < Number(size); i++) {
          packed.push(Number(v & 0xffn));
          v >>= 8n;
        }
        expect(v, `${name} ${field} fits in ${size} bytes`).toBe(0n);
      }
      const shown = hexAfter(marker);
      const def = SYSCALLS.find((d) => d.name === name);
      expect(def, name).toBeDefined();
      if (kind === "request") {
        expect(shown, name).toEqual(packed);
        expect(packed[0], name).toBe(def!.code);
        expect(packed.length - 1, `${name} argument size`).toBe(def!.args.size);
      } else {
        expect(shown.length, name).toBe(abi.SYSCALL_RET_SIZE);
        expect(shown.slice(0, packed.length), name).toEqual(packed);
        expect(packed.length, `${name} return size`).toBe(def!.ret.size);
      }
    }
  });

  it("poll-flag protocol: every rule in the table holds for the code the AOT step emits", async () => {
    const rules = tableAfter("<!-- table:poll-protocol -->").map((r) => r[0]!);
    expect(rules).toEqual(["request", "entry", "loop", "clear", "at-most-once"]);
    // A loop whose body calls an import (imports do not poll, so the header poll stays).
    const { wasm } = instrument(
      await watToWasm(`(module
        (import "env" "tick" (func $tick (param i32)))
        (memory (export "memory") 1 1 shared)
        (func (export "run") (param $n i32) (local $i i32)
          (loop $l
            (call $tick (local.get $i))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br_if $l (i32.lt_u (local.get $i) (local.get $n))))))`),
    );
    const mod = new WebAssembly.Module(wasm);
    /** Runs 10 iterations; returns after which tick each safepoint call came (-1: at entry). */
    const run = (o: {
      before?: number;
      at?: Record<number, number>;
      clears: boolean;
    }): { calls: number[] } => {
      let lastTick = -1;
      const calls: number[] = [];
      let flag: Int32Array | undefined;
      const inst = new WebAssembly.Instance(mod, {
        nightos: {
          safepoint: () => {
            calls.push(lastTick);
            if (o.clears && flag) Atomics.store(flag, abi.CTL_POLL_FLAG_OFFSET >> 2, 0);
          },
        },
        env: {
          tick: (i: number) => {
            lastTick = i;
            const v = o.at?.[i];
            if (v !== undefined && flag) Atomics.store(flag, abi.CTL_POLL_FLAG_OFFSET >> 2, v);
          },
        },
      });
      const ctl = inst.exports[abi.CTL_GLOBAL] as WebAssembly.Global;
      expect(ctl.value).toBe(abi.CONTROL_BLOCK_ADDRESS); // the global says where the block is: 0
      flag = new Int32Array((inst.exports.memory as WebAssembly.Memory).buffer);
      if (o.before !== undefined) Atomics.store(flag, abi.CTL_POLL_FLAG_OFFSET >> 2, o.before);
      (inst.exports.run as (n: number) => void)(10);
      return { calls };
    };
    // request: nothing while word 0 is 0; a new non-zero value is taken at the next poll.
    expect(run({ clears: true }).calls).toEqual([]);
    expect(run({ clears: true, at: { 3: 1 } }).calls).toEqual([3]);
    // entry: a non-zero word at function entry calls safepoint there.
    expect(run({ clears: true, before: 7 }).calls).toEqual([-1]);
    // loop: each change to a new value is taken at the next loop header.
    expect(run({ clears: true, at: { 2: 5, 6: 6 } }).calls).toEqual([2, 6]);
    // at-most-once: a value left set (safepoint did not clear it) is taken once by this call...
    const left = run({ clears: false, at: { 2: 9 } });
    expect(left.calls).toEqual([2]);
    // ...and a call that finds it set at entry takes it there only, not at every loop header.
    expect(run({ clears: false, before: 9 }).calls).toEqual([-1]);
    // clear / request on the runtime's side (the kernel runner): safepoint stores 0 first, and requests
    // are increments (a new value each time).
    const kernel = (f: string) =>
      readFileSync(new URL(`../kernel-compat/runner/${f}`, import.meta.url), "utf8");
    const sp = /function safepoint\([^)]*\)[^{]*\{\s*([^\n]*)\n\s*([^\n]*)/.exec(
      kernel("worker.ts"),
    );
    expect(sp?.[2]).toMatch(/Atomics\.store\(words, \(ctl \+ CTL_POLL_FLAG_OFFSET\) >> 2, 0\)/);
    // The relay raises through raisePollFlag (channel.ts): an increment, then a wake for HAND_OVER.
    expect(kernel("relay.ts")).toMatch(/raisePollFlag\(.*CTL_POLL_FLAG_OFFSET\) >> 2\)/);
    expect(kernel("channel.ts")).toMatch(
      /function raisePollFlag\(words: Int32Array, at: number\): void \{\s*Atomics\.add\(words, at, 1\);/,
    );
  });
});
