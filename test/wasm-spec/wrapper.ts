// Hand-encoded WebAssembly "bit wrappers" for the spec-test runner: call an export, or read a global,
// passing floats as their bit patterns and v128 as two i64, so NaN payloads and vectors cross into JS
// exactly (JS numbers cannot carry f32 NaN payloads reliably, and v128 cannot cross at all).

import type { ValType } from "../../commonassembly/abi/wasm-names.js";

const CODE: Record<ValType, number> = {
  i32: 0x7f,
  i64: 0x7e,
  f32: 0x7d,
  f64: 0x7c,
  v128: 0x7b,
  funcref: 0x70,
  externref: 0x6f,
};

/** How a value type crosses the wrapper boundary. */
function outer(t: ValType): ValType[] {
  if (t === "f32") return ["i32"];
  if (t === "f64") return ["i64"];
  if (t === "v128") return ["i64", "i64"];
  return [t];
}

function uleb(n: number): number[] {
  const out: number[] = [];
  let v = n;
  do {
    let b = v & 0x7f;
    v >>>= 7;
    if (v !== 0) b |= 0x80;
    out.push(b);
  } while (v !== 0);
  return out;
}

function name(s: string): number[] {
  const b = new TextEncoder().encode(s);
  return [...uleb(b.length), ...b];
}

function section(id: number, content: number[]): number[] {
  return [id, ...uleb(content.length), ...content];
}

function vec(items: number[][]): number[] {
  return [...uleb(items.length), ...items.flat()];
}

function funcType(params: ValType[], results: ValType[]): number[] {
  return [
    0x60,
    ...uleb(params.length),
    ...params.map((t) => CODE[t]),
    ...uleb(results.length),
    ...results.map((t) => CODE[t]),
  ];
}

const SIMD = 0xfd;
const V128_CONST = [SIMD, 0x0c];
const I64X2_EXTRACT = [SIMD, 0x1d];
const I64X2_REPLACE = [SIMD, 0x1e];

function pushResult(t: ValType, local: number, out: number[]): void {
  out.push(0x20, ...uleb(local));
  if (t === "f32") out.push(0xbc);
  else if (t === "f64") out.push(0xbd);
  else if (t === "v128") out.push(...I64X2_EXTRACT, 0, 0x20, ...uleb(local), ...I64X2_EXTRACT, 1);
}

function moduleBytes(
  types: number[][],
  imports: number[][],
  body: number[],
  localTypes: ValType[],
  funcIndex: number,
): Uint8Array {
  const locals = vec(localTypes.map((t) => [1, CODE[t]]));
  const func = [...locals, ...body, 0x0b];
  return new Uint8Array([
    0x00,
    0x61,
    0x73,
    0x6d,
    1,
    0,
    0,
    0,
    ...section(1, vec(types)),
    ...section(2, vec(imports)),
    ...section(3, vec([[types.length - 1]])),
    ...section(7, vec([[...name("w"), 0x00, ...uleb(funcIndex)]])),
    ...section(10, vec([[...uleb(func.length), ...func]])),
  ]);
}

/** A wrapper for a function of this signature: import "m" "f", export "w" taking/returning bits. */
export function callWrapper(params: readonly ValType[], results: readonly ValType[]): Uint8Array {
  const wparams = params.flatMap(outer);
  const wresults = results.flatMap(outer);
  const body: number[] = [];
  let p = 0;
  for (const t of params) {
    if (t === "v128") {
      body.push(...V128_CONST, ...new Array<number>(16).fill(0));
      body.push(0x20, ...uleb(p), ...I64X2_REPLACE, 0, 0x20, ...uleb(p + 1), ...I64X2_REPLACE, 1);
      p += 2;
    } else {
      body.push(0x20, ...uleb(p));
      if (t === "f32") body.push(0xbe);
      else if (t === "f64") body.push(0xbf);
      p += 1;
    }
  }
  body.push(0x10, 0);
  // Results are on the stack in order: store them in locals (last first), then push each converted.
  const first = wparams.length;
  for (let i = results.length - 1; i >= 0; i--) body.push(0x21, ...uleb(first + i));
  for (const [i, t] of results.entries()) pushResult(t, first + i, body);
  const target = funcType([...params], [...results]);
  const wrapper = funcType(wparams, wresults);
  return moduleBytes(
    [target, wrapper],
    [[...name("m"), ...name("f"), 0x00, 0]],
    body,
    [...results],
    1,
  );
}

/** A wrapper reading a global of this type: import "m" "g", export "w" returning its bits. */
export function globalWrapper(t: ValType, mutable: boolean): Uint8Array {
  const body = [0x23, 0, 0x21, 0];
  pushResult(t, 0, body);
  const wrapper = funcType([], outer(t));
  return moduleBytes(
    [wrapper],
    [[...name("m"), ...name("g"), 0x03, CODE[t], mutable ? 1 : 0]],
    body,
    [t],
    0,
  );
}
