// Why the runner re-raises the poll flag (docs/kernel.md "Safepoints and the poll flag"): with the AOT
// step's poll (docs/commonassembly.md §7: each frame re-reads word 0 into `seen` after `safepoint`) a
// request made while `safepoint` runs, after its clear, is cached by the busy frame and not taken until
// the runtime stores yet another value (the runner's 2 ms re-raise, main.ts). A request after a
// completed safepoint is taken at once, even if it brings back a value taken before.

import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { aotCompile } from "../../commonassembly/aot/cache.js";
import { watToWasm } from "../../commonassembly/text.js";

const dir = mkdtempSync(path.join(os.tmpdir(), "ncw-poll-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("the poll-flag protocol seen from a busy loop", () => {
  it("a raise during safepoint waits for the next raise; a raise after it is taken", async () => {
    const wasm = await watToWasm(`(module
      (import "env" "tick" (func $tick (param i32)))
      (memory (export "memory") 1 1 shared)
      (func (export "run") (local $i i32)
        (loop $l
          (call $tick (local.get $i))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br_if $l (i32.lt_u (local.get $i) (i32.const 40))))))`);
    const r = await aotCompile(wasm, { cacheDir: dir, abi: false });
    const calls: number[] = [];
    let iteration = 0;
    let words: Int32Array | undefined;
    const instance = new WebAssembly.Instance(r.module, {
      env: {
        tick: (i: number) => {
          iteration = i;
          // The runner's raise: an increment (kernel-compat/runner/relay.ts).
          if (words && (i === 10 || i === 20 || i === 30)) Atomics.add(words, 0, 1);
        },
      },
      nightos: {
        safepoint: () => {
          calls.push(iteration);
          if (words) Atomics.store(words, 0, 0); // the runner's safepoint clears the word first
          // At iteration 20, a signal arrives while this safepoint runs (after its clear and drain).
          if (words && iteration === 20) Atomics.add(words, 0, 1);
        },
      },
    });
    const ex = instance.exports as { memory: WebAssembly.Memory; run: () => void };
    words = new Int32Array(ex.memory.buffer);
    ex.run();
    // 10: taken. 20: taken (a value already taken at 10 comes back, fine); the raise made during that
    // safepoint (0 -> 1) is cached as `seen` and missed; only the next raise at 30 (1 -> 2) is taken.
    expect(calls).toEqual([10, 20, 30]);
    expect(calls).not.toContain(21);
  });
});
