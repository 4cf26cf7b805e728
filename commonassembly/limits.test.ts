// Tests of the engine limits (limits.ts, docs/commonassembly.md §8.1) on modules built byte by byte:
// each limit is refused just past it, naming it, and accepted at it.

import { describe, expect, it } from "vitest";
import type { ModuleError } from "./errors.js";
import { AOT_RESERVE, checkLimits, V8_LIMITS } from "./limits.js";
import { uleb, wasmName } from "./wasm/leb.js";
import { readModule } from "./wasm/reader.js";

const sec = (id: number, content: number[]) => [id, ...uleb(content.length)].concat(content);
const wasm = (...sections: number[][]) =>
  Uint8Array.from([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00].concat(...sections));

function problems(bytes: Uint8Array): ModuleError[] {
  const out: ModuleError[] = [];
  checkLimits(bytes, readModule(bytes), out);
  return out;
}

/** `count` function imports nightos.f<i> of type () -> (). */
function imports(count: number): Uint8Array {
  const module = wasmName("nightos");
  const entries = [...uleb(count)];
  for (let i = 0; i < count; i++) {
    for (const b of module) entries.push(b);
    for (const b of wasmName(`f${i}`)) entries.push(b);
    entries.push(0, 0);
  }
  return wasm(sec(1, [1, 0x60, 0, 0]), sec(2, entries));
}

describe("engine limits", () => {
  it("leaves room for the import the AOT step adds", () => {
    const allowed = V8_LIMITS.imports - AOT_RESERVE.imports;
    expect(problems(imports(allowed))).toEqual([]);
    const p = problems(imports(allowed + 1));
    expect(p.map((e) => e.code)).toEqual(["LIMIT_IMPORTS"]);
    expect(p[0]!.message).toMatch(
      /^the module has 100,000 imports; the engine \(V8\) allows 100,000 and the AOT step adds up to 1, so a program may have at most 99,999/,
    );
  });

  it("refuses a function type with more parameters or results than V8 allows", () => {
    const type = (params: number, results: number) =>
      wasm(
        sec(1, [
          1,
          0x60,
          ...uleb(params),
          ...Array(params).fill(0x7f),
          ...uleb(results),
          ...Array(results).fill(0x7f),
        ]),
      );
    expect(problems(type(1000, 1000))).toEqual([]);
    expect(problems(type(1001, 1001)).map((e) => e.code)).toEqual([
      "LIMIT_PARAMS",
      "LIMIT_RESULTS",
    ]);
  });

  it("counts parameters with the locals, at the function's offset", () => {
    const fn = (params: number, locals: number) =>
      wasm(
        sec(1, [1, 0x60, ...uleb(params), ...Array(params).fill(0x7f), 0]),
        sec(3, [1, 0]),
        sec(10, [1, ...uleb(uleb(locals).length + 3), 1, ...uleb(locals), 0x7f, 0x0b]),
      );
    const max = V8_LIMITS.locals - AOT_RESERVE.locals;
    expect(problems(fn(4, max - 4))).toEqual([]);
    const p = problems(fn(4, max - 3));
    expect(p.map((e) => e.code)).toEqual(["LIMIT_LOCALS"]);
    expect(p[0]!.message).toMatch(/^function 0 has 49,985 locals \(parameters included\)/);
    expect(p[0]!.funcIndex).toBe(0);
  });
});
