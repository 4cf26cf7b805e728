// Tests of the imported-memory AOT step (shared-memory.ts): the memory becomes `nightos.memory`, active
// segments become passive and are written once by `__nightos_init_memory`, two instances share memory.

import { describe, expect, it } from "vitest";
import { INIT_MEMORY_EXPORT } from "../abi/wasm-names.js";
import { watToWasm } from "../text.js";
import { readModule } from "../wasm/reader.js";
import { importMemory } from "./shared-memory.js";

const WAT = `(module
  (import "nightos" "syscall" (func $sys (param i32 i32 i32) (result i32)))
  (memory (export "memory") 2 8 shared)
  (data (i32.const 0x100) "abc")
  (data (i32.const 0x2000) "\\01\\02")
  (data "passive")
  (func (export "get") (param i32) (result i32) (i32.load8_u (local.get 0)))
  (func (export "put") (param i32 i32) (i32.store8 (local.get 0) (local.get 1))))`;

describe("importMemory", () => {
  it("imports the memory, makes active segments passive and writes them from the init export", async () => {
    const wasm = await watToWasm(WAT);
    const r = importMemory(wasm);
    expect(r).toBeDefined();
    if (r === undefined) return;
    expect(r.segments).toBe(2);
    const info = readModule(r.wasm);
    expect(info.memories).toHaveLength(0);
    const imp = info.imports.find((i) => i.kind === "memory");
    expect(imp).toMatchObject({
      module: "nightos",
      name: "memory",
      memory: { min: 2, max: 8, shared: true },
    });
    expect(info.dataSegments.every((s) => !s.active)).toBe(true);
    expect(info.exports.map((e) => e.name)).toContain(INIT_MEMORY_EXPORT);

    const module = new WebAssembly.Module(r.wasm);
    const memory = new WebAssembly.Memory({ initial: 2, maximum: 8, shared: true });
    const imports = { nightos: { syscall: () => 0, memory } };
    const a = new WebAssembly.Instance(module, imports).exports as Record<string, CallableFunction>;
    const b = new WebAssembly.Instance(module, imports).exports as Record<string, CallableFunction>;
    // Nothing written before the init call: the second instance did not re-initialise either.
    expect(a.get?.(0x100)).toBe(0);
    a[INIT_MEMORY_EXPORT]?.();
    expect([a.get?.(0x100), a.get?.(0x102), a.get?.(0x2001)]).toEqual([0x61, 0x63, 2]);
    b.put?.(0x100, 0x7a);
    expect(a.get?.(0x100)).toBe(0x7a);
    // The segments were dropped: a second init call traps instead of overwriting.
    expect(() => a[INIT_MEMORY_EXPORT]?.()).toThrow();
  });

  it("leaves modules alone that cannot be transformed", async () => {
    const none = await watToWasm('(module (func (export "f")))');
    expect(importMemory(none)).toBeUndefined();
    const imported = await watToWasm('(module (import "nightos" "memory" (memory 1 2 shared)))');
    expect(importMemory(imported)).toBeUndefined();
  });
});
