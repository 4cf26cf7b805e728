// A trapping app is reported with its WebAssembly backtrace (docs/kernel.md, "Backtraces"): one line
// per wasm frame, innermost first, with the code offset in the AOT artifact and the function's name
// from the name section (else its export name, else `<wasm function N>`), as wasmtime prints it.

import { readFileSync } from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { decodeArtifact } from "../commonassembly/aot/artifact.js";
import { TestHome } from "./kernel-helpers.js";

const home = new TestHome();
afterAll(() => home.cleanup());

const HEAD = `(module
  (import "nightos" "syscall" (func $sys (param i32 i32 i32) (result i32)))
  (memory (export "memory") 1 1 shared)
  (table (export "__indirect_function_table") 0 funcref)`;

/** Assembles `wat` with its $names kept (`ncw ca asm --debug-names`); returns the .npp path. */
function npp(name: string, wat: string, names = true): string {
  const src = home.write(`${name}.wat`, wat);
  const out = path.join(home.dir, `${name}.npp`);
  const r = home.ncw(["ca", "asm", src, "-o", out, ...(names ? ["--debug-names"] : [])]);
  expect(r.code, r.stderr).toBe(0);
  return out;
}

interface Frame {
  func: number;
  name?: string;
  offset: number;
}

describe("ncw run: a trap's wasm backtrace", () => {
  it("names each frame and gives the offset of the faulting store", () => {
    const crash = npp(
      "crash",
      `${HEAD}
  (func $poke (param $a i32) (i32.store (local.get $a) (i32.const 1)))
  (func $middle (call $poke (i32.const 0x7fffffff)))
  (func (export "_start") (call $middle)))`,
    );
    const r = home.ncw(["run", crash]);
    expect(r.code).toBe(137);
    expect(r.stderr).toMatch(/killed: MEM_FAULT \(out-of-bounds write\)\n/);
    expect(r.stderr).toMatch(
      /wasm backtrace \(offsets in the AOT artifact\):\n {4}0: +0x[0-9a-f]+ - poke\n {4}1: +0x[0-9a-f]+ - middle\n {4}2: +0x[0-9a-f]+ - _start\n/,
    );

    const j = home.ncw(["run", "--json", crash]);
    const frames = (JSON.parse(j.stdout) as { backtrace: Frame[] }).backtrace;
    expect(frames.map((f) => f.name)).toEqual(["poke", "middle", "_start"]);
    // The innermost offset is the i32.store (0x36) in the artifact `ncw run` ran.
    const aot = home.ncw(["ca", "aot", crash, "--json"]);
    const artifact = (JSON.parse(aot.stdout) as { artifact: string }).artifact;
    const module = decodeArtifact(new Uint8Array(readFileSync(artifact))).module;
    expect(module[frames[0]!.offset]).toBe(0x36);
  });

  it("numbers unnamed functions and escapes hostile names", () => {
    const plain = npp(
      "plain",
      `${HEAD}
  (func $boom unreachable)
  (func (export "_start") (call $boom)))`,
      false,
    );
    const r = home.ncw(["run", plain]);
    expect(r.stderr).toMatch(/killed: trap: unreachable\n/);
    expect(r.stderr).toMatch(
      / {4}0: +0x[0-9a-f]+ - <wasm function \d+>\n {4}1: +0x[0-9a-f]+ - _start/,
    );

    // A function named only by its export: that name, escaped.
    const evil = npp(
      "evil",
      `${HEAD}
  (func $boom (export "ev\\1b[2Jil") unreachable)
  (func (export "_start") (call $boom)))`,
      false,
    );
    const e = home.ncw(["run", evil]);
    expect(e.stderr).not.toContain("\u001b");
    expect(e.stderr).toContain(String.raw`ev\x1b[2Jil`);
  });
});
