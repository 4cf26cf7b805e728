// Hydre's native library (specs/shell-scripting.md "Native library"): the native functions (env, prompt,
// rand_int, …) and the methods of each type (`.str()`, `.len()`, `.push(x)`, …), each with its typing
// (used by the checker) and its implementation (used by the evaluator), side by side. Where the spec's
// signature or example is wrong, docs/hydre.md "Native library" says what NCW does.

import { type HType, isOrdered, listOf, nullable, T } from "./types.js";
import { bool, copy, equal, type HValue, int, keyId, NULL, show, str, VOID } from "./values.js";

/** A failure (`fail`, a fallible native, a failed command): caught by `catch`, else the script fails. */
export class Failure extends Error {
  constructor(readonly value: HValue) {
    super(value.t === "string" ? value.v : show(value));
  }
}

/** A panic: the script stops at once with this message (specs "Expressions": out-of-bound index). */
export class Panic extends Error {}

/** What a command run gave (for command values' methods and `retry_cmd`). */
export interface CommandOutcome {
  ok: boolean;
  value: HValue;
  msg: string[];
  err: string[];
}

/** What the natives need of the running script. */
export interface NativeContext {
  readLine(prompt: string): Promise<string | undefined>;
  write(text: string): void;
  env(name: string): string | undefined;
  random(): number;
  lastFailed(): boolean;
  runCommand(cmd: HValue, capture: boolean): Promise<CommandOutcome>;
  /** `command.cmdraw()`: the command started, its CMDRAW a stream (as `$@(…)` gives). */
  rawCommand(cmd: HValue): Promise<HValue>;
}

export interface NativeFn {
  params: HType[];
  /** How many arguments are required (the others have defaults). */
  min: number;
  ret: HType;
  fallible: boolean;
  run(args: HValue[], ctx: NativeContext): HValue | Promise<HValue>;
}

const fail = (message: string): never => {
  throw new Failure(str(message));
};
const asInt = (v: HValue | undefined): bigint => (v?.t === "int" ? v.v : 0n);
const asNum = (v: HValue | undefined): number =>
  v?.t === "float" ? v.v : v?.t === "int" ? Number(v.v) : 0;
const asStr = (v: HValue | undefined): string =>
  v?.t === "string" || v?.t === "char" || v?.t === "path" ? v.v : "";

async function ask(ctx: NativeContext, message: string): Promise<string> {
  const line = await ctx.readLine(message);
  // The end of the input stops the script: a failure would make `retry prompt_int(…)` spin forever
  // (docs/hydre.md "Utilities").
  if (line === undefined)
    throw new Panic("no more input: the user's input ended (the shell is not interactive)");
  return line;
}

/** Integers in any base 2–36, with the spec's 0b / 0o / 0d / 0x prefixes for bases 2, 8, 10, 16. */
export function parseIntBase(text: string, base: number): bigint | undefined {
  if (base < 2 || base > 36) return undefined;
  let s = text.trim();
  let neg = false;
  if (s.startsWith("-") || s.startsWith("+")) {
    neg = s.startsWith("-");
    s = s.slice(1);
  }
  const prefix: Record<string, number> = { "0b": 2, "0o": 8, "0d": 10, "0x": 16 };
  const p = prefix[s.slice(0, 2).toLowerCase()];
  if (p !== undefined && p === base) s = s.slice(2);
  if (s === "") return undefined;
  let n = 0n;
  for (const c of s.toLowerCase()) {
    const d = Number.parseInt(c, 36);
    if (Number.isNaN(d) || d >= base) return undefined;
    n = n * BigInt(base) + BigInt(d);
  }
  n = neg ? -n : n;
  if (n < -(2n ** 63n) || n > 2n ** 63n - 1n) return undefined;
  return n;
}

function parseFloatBase(text: string, base: number): number | undefined {
  const m = /^\s*([+-]?)([0-9a-z]*)(?:\.([0-9a-z]+))?\s*$/i.exec(text);
  if (m === null || (m[2] === "" && m[3] === undefined) || base < 2 || base > 36) return undefined;
  if (base === 10 && !/^\s*[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:e[+-]?[0-9]+)?\s*$/i.test(text))
    return undefined;
  if (base === 10) return Number(text);
  let x = 0;
  for (const c of (m[2] as string).toLowerCase()) {
    const d = Number.parseInt(c, 36);
    if (d >= base) return undefined;
    x = x * base + d;
  }
  let scale = 1 / base;
  for (const c of (m[3] ?? "").toLowerCase()) {
    const d = Number.parseInt(c, 36);
    if (d >= base) return undefined;
    x += d * scale;
    scale /= base;
  }
  return m[1] === "-" ? -x : x;
}

export const NATIVE_FUNCTIONS: Record<string, NativeFn> = {
  env: {
    params: [T.string],
    min: 1,
    ret: nullable(T.any),
    fallible: false,
    run: ([name], ctx) => {
      const v = ctx.env(asStr(name));
      return v === undefined ? NULL : str(v);
    },
  },
  prompt: {
    params: [T.string],
    min: 1,
    ret: T.string,
    fallible: false,
    run: async ([m], ctx) => {
      const line = await ctx.readLine(asStr(m));
      if (line === undefined)
        throw new Panic("prompt: no more input (the shell is not interactive)");
      return str(line);
    },
  },
  prompt_int: {
    params: [T.string],
    min: 1,
    ret: T.int,
    fallible: true,
    run: async ([m], ctx) => {
      const line = await ask(ctx, asStr(m));
      const n = parseIntBase(line, 10);
      return n === undefined ? fail(`${JSON.stringify(line)} is not an integer`) : int(n);
    },
  },
  prompt_float: {
    params: [T.string],
    min: 1,
    ret: T.float,
    fallible: true,
    run: async ([m], ctx) => {
      const line = await ask(ctx, asStr(m));
      const x = parseFloatBase(line, 10);
      return x === undefined
        ? fail(`${JSON.stringify(line)} is not a number`)
        : { t: "float", v: x };
    },
  },
  confirm: {
    params: [T.string],
    min: 1,
    ret: T.bool,
    fallible: true,
    run: async ([m], ctx) => {
      const line = (await ask(ctx, `${asStr(m)} [Y/n] `)).trim().toLowerCase();
      if (line === "" || line === "y" || line === "yes") return bool(true);
      if (line === "n" || line === "no") return bool(false);
      return fail(`${JSON.stringify(line)} is neither yes nor no`);
    },
  },
  choose: {
    params: [listOf(T.string)],
    min: 1,
    ret: T.int,
    fallible: true,
    run: async ([options], ctx) => {
      const items = options?.t === "list" ? options.items : [];
      ctx.write(items.map((o, i) => `${i + 1}) ${show(o)}\n`).join(""));
      const line = await ask(ctx, "? ");
      const n = parseIntBase(line, 10);
      if (n === undefined || n < 1n || n > BigInt(items.length))
        return fail(`${JSON.stringify(line)} is not one of 1 to ${items.length}`);
      return int(n - 1n);
    },
  },
  retry_cmd: {
    params: [T.command, T.int],
    min: 2,
    ret: T.void,
    fallible: true,
    run: async ([cmd, retries], ctx) => {
      const n = asInt(retries);
      for (let i = 0n; i <= n; i++)
        if ((await ctx.runCommand(cmd as HValue, false)).ok) return VOID;
      return fail(`the command did not succeed after ${n} retries`);
    },
  },
  last_failed: {
    params: [],
    min: 0,
    ret: T.bool,
    fallible: false,
    run: (_, ctx) => bool(ctx.lastFailed()),
  },
  rand: {
    params: [],
    min: 0,
    ret: T.float,
    fallible: false,
    run: (_, ctx) => ({ t: "float", v: ctx.random() }),
  },
  rand_int: {
    params: [T.int, T.int],
    min: 2,
    ret: T.int,
    fallible: true,
    run: ([lo, up], ctx) => {
      const a = asInt(lo);
      const b = asInt(up);
      if (a >= b) return fail(`rand_int: ${a} is not less than ${b}`);
      // Both bounds included (docs/hydre.md).
      return int(a + BigInt(Math.floor(ctx.random() * Number(b - a + 1n))));
    },
  },
  rand_float: {
    params: [T.float, T.float],
    min: 2,
    ret: T.float,
    fallible: true,
    run: ([lo, up], ctx) => {
      const a = asNum(lo);
      const b = asNum(up);
      if (!(a < b)) return fail(`rand_float: ${a} is not less than ${b}`);
      return { t: "float", v: a + ctx.random() * (b - a) };
    },
  },
};

// ------------------------------------------------------------------------------------------------
// Methods

export interface MethodDef {
  params: HType[];
  min: number;
  ret: HType;
  fallible?: boolean;
  /** It changes its receiver, which must then be a mutable variable. */
  mutates?: boolean;
  run(recv: HValue, args: HValue[], ctx: NativeContext): HValue | Promise<HValue>;
}

const chars = (s: string) => [...s];
const codepoints = (s: string): HValue => ({
  t: "list",
  items: chars(s).map((c) => int(BigInt(c.codePointAt(0) as number))),
});
const utf8 = (s: string) => new TextEncoder().encode(s).length;
const list = (items: HValue[]): HValue => ({ t: "list", items });

function compare(a: HValue, b: HValue): number {
  if ((a.t === "int" || a.t === "float") && (b.t === "int" || b.t === "float")) {
    if (a.t === "int" && b.t === "int") return a.v < b.v ? -1 : a.v > b.v ? 1 : 0;
    return asNum(a) - asNum(b);
  }
  const x = asStr(a);
  const y = asStr(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

export { compare };

/** The methods a receiver of type `recv` has, by name (several: overloads by argument count). */
export function methodsOf(recv: HType): Record<string, MethodDef[]> {
  const all: Record<string, MethodDef[]> = {
    str: [{ params: [], min: 0, ret: T.string, run: (v) => str(show(v)) }],
  };
  const add = (name: string, d: MethodDef) => {
    all[name] = [...(all[name] ?? []), d];
  };
  // What a char and a string both have: their code points, their length in characters and in bytes.
  const addText = () => {
    add("codepoints", {
      params: [],
      min: 0,
      ret: listOf(T.int),
      run: (v) => codepoints(asStr(v)),
    });
    add("len", {
      params: [],
      min: 0,
      ret: T.int,
      run: (v) => int(BigInt(chars(asStr(v)).length)),
    });
    add("bytes", { params: [], min: 0, ret: T.int, run: (v) => int(BigInt(utf8(asStr(v)))) });
  };
  switch (recv.k) {
    case "nullable": {
      const inner = recv.inner;
      add("isNull", { params: [], min: 0, ret: T.bool, run: (v) => bool(v.t === "null") });
      add("default", {
        params: [inner],
        min: 1,
        ret: inner,
        run: (v, [d]) => (v.t === "null" ? (d as HValue) : v),
      });
      add("unwrap", {
        params: [],
        min: 0,
        ret: inner,
        run: (v) => {
          if (v.t === "null") throw new Panic("unwrap() on a null value");
          return v;
        },
      });
      add("expect", {
        params: [T.string],
        min: 1,
        ret: inner,
        run: (v, [m]) => {
          if (v.t === "null") throw new Panic(asStr(m));
          return v;
        },
      });
      break;
    }
    case "stream": {
      // specs "Streams": a stream the script cannot read (an app's returned one) is never pending
      // and has no hint.
      const source = (v: HValue) => (v.t === "stream" ? v.source : undefined);
      add("pending", {
        params: [],
        min: 0,
        ret: T.bool,
        run: (v) => bool(source(v)?.pending() ?? false),
      });
      add("size_hint", {
        params: [],
        min: 0,
        ret: nullable(T.int),
        run: (v) => {
          const hint = source(v)?.sizeHint ?? null;
          return hint === null ? NULL : int(hint);
        },
      });
      break;
    }
    case "char":
      add("single", {
        params: [],
        min: 0,
        ret: T.bool,
        run: (v) => bool(chars(asStr(v)).length === 1),
      });
      addText();
      break;
    case "string":
      add("chars", {
        params: [],
        min: 0,
        ret: listOf(T.char),
        run: (v) => list(chars(asStr(v)).map((c) => ({ t: "char", v: c }))),
      });
      addText();
      add("parse_int", {
        params: [T.int],
        min: 0,
        ret: T.int,
        fallible: true,
        run: (v, [b]) => {
          const base = b === undefined ? 10 : Number(asInt(b));
          const n = parseIntBase(asStr(v), base);
          return n === undefined
            ? fail(`${JSON.stringify(asStr(v))} is not an integer in base ${base}`)
            : int(n);
        },
      });
      add("parse_float", {
        params: [T.int],
        min: 0,
        ret: T.float,
        fallible: true,
        run: (v, [b]) => {
          const base = b === undefined ? 10 : Number(asInt(b));
          const x = parseFloatBase(asStr(v), base);
          return x === undefined
            ? fail(`${JSON.stringify(asStr(v))} is not a number in base ${base}`)
            : { t: "float", v: x };
        },
      });
      add("upper_case", {
        params: [],
        min: 0,
        ret: T.string,
        run: (v) => str(asStr(v).toUpperCase()),
      });
      add("lower_case", {
        params: [],
        min: 0,
        ret: T.string,
        run: (v) => str(asStr(v).toLowerCase()),
      });
      add("reverse", {
        params: [],
        min: 0,
        ret: T.string,
        run: (v) => str(chars(asStr(v)).reverse().join("")),
      });
      add("concat", {
        params: [T.string],
        min: 1,
        ret: T.string,
        run: (v, [r]) => str(asStr(v) + asStr(r)),
      });
      add("split", {
        params: [T.string],
        min: 1,
        ret: listOf(T.string),
        run: (v, [sep]) => {
          const s = asStr(v);
          const parts = asStr(sep) === "" ? chars(s) : s.split(asStr(sep));
          return list(parts.map(str));
        },
      });
      // NCW addition, used by the spec's closures example (docs/hydre.md).
      add("repeat", {
        params: [T.int],
        min: 1,
        ret: T.string,
        run: (v, [n]) => {
          const k = asInt(n);
          if (k < 0n) throw new Panic(`repeat(${k}): a negative count`);
          return str(asStr(v).repeat(Number(k)));
        },
      });
      break;
    case "list": {
      const item = recv.item;
      const items = (v: HValue) => (v.t === "list" ? v.items : []);
      if (item.k === "char" || item.k === "never")
        add("stringify", {
          params: [],
          min: 0,
          ret: T.string,
          run: (v) => str(items(v).map(asStr).join("")),
        });
      if (item.k === "string" || item.k === "never")
        add("join", {
          params: [T.string],
          min: 0,
          ret: T.string,
          run: (v, [sep]) =>
            str(
              items(v)
                .map(asStr)
                .join(sep === undefined ? "," : asStr(sep)),
            ),
        });
      add("get", {
        params: [T.int],
        min: 1,
        ret: nullable(item),
        run: (v, [i]) => items(v)[Number(asInt(i))] ?? NULL,
      });
      add("expect", {
        params: [T.int, T.string],
        min: 2,
        ret: item,
        run: (v, [i, m]) => {
          const x = asInt(i) >= 0n ? items(v)[Number(asInt(i))] : undefined;
          if (x === undefined) throw new Panic(asStr(m));
          return x;
        },
      });
      add("unshift", {
        params: [item],
        min: 1,
        ret: T.void,
        mutates: true,
        run: (v, [x]) => {
          items(v).unshift(copy(x as HValue));
          return VOID;
        },
      });
      add("unshift", {
        params: [],
        min: 0,
        ret: nullable(item),
        mutates: true,
        run: (v) => items(v).shift() ?? NULL,
      });
      add("push", {
        params: [item],
        min: 1,
        ret: T.void,
        mutates: true,
        run: (v, [x]) => {
          items(v).push(copy(x as HValue));
          return VOID;
        },
      });
      add("pop", {
        params: [],
        min: 0,
        ret: nullable(item),
        mutates: true,
        run: (v) => items(v).pop() ?? NULL,
      });
      if (isOrdered(item) || item.k === "never")
        add("sort", {
          params: [T.bool],
          min: 0,
          ret: listOf(item),
          run: (v, [asc]) => {
            const sorted = [...items(v)].sort(compare);
            return list(asc?.t === "bool" && !asc.v ? sorted.reverse() : sorted);
          },
        });
      add("reverse", {
        params: [],
        min: 0,
        ret: listOf(item),
        run: (v) => list([...items(v)].reverse()),
      });
      add("len", { params: [], min: 0, ret: T.int, run: (v) => int(BigInt(items(v).length)) });
      // concat(list[T]) and concat(list[list[T]]): the checker picks by the argument's type.
      add("concat", {
        params: [listOf(item)],
        min: 1,
        ret: listOf(item),
        run: (v, [o]) => list([...items(v), ...items(o as HValue)]),
      });
      add("concat", {
        params: [listOf(listOf(item))],
        min: 1,
        ret: listOf(item),
        run: (v, [o]) => list([...items(v), ...items(o as HValue).flatMap(items)]),
      });
      break;
    }
    case "map": {
      const { key, value } = recv;
      const entries = (v: HValue) =>
        v.t === "map" ? v.entries : new Map<string, { key: HValue; value: HValue }>();
      add("has", {
        params: [key],
        min: 1,
        ret: T.bool,
        run: (v, [k]) => bool(entries(v).has(keyId(k as HValue))),
      });
      add("get", {
        params: [key],
        min: 1,
        ret: nullable(value),
        run: (v, [k]) => entries(v).get(keyId(k as HValue))?.value ?? NULL,
      });
      add("keys", {
        params: [],
        min: 0,
        ret: listOf(key),
        run: (v) => list([...entries(v).values()].map((e) => e.key)),
      });
      add("values", {
        params: [],
        min: 0,
        ret: listOf(value),
        run: (v) => list([...entries(v).values()].map((e) => e.value)),
      });
      // The spec's second `values()` (a list of key/value structures) is `entries()` (docs/hydre.md).
      add("entries", {
        params: [],
        min: 0,
        ret: listOf({
          k: "struct",
          fields: [
            { name: "key", type: key },
            { name: "value", type: value },
          ],
        }),
        run: (v) =>
          list(
            [...entries(v).values()].map((e) => ({
              t: "struct",
              fields: new Map([
                ["key", e.key],
                ["value", e.value],
              ]),
            })),
          ),
      });
      add("expect", {
        params: [key, T.string],
        min: 2,
        ret: value,
        run: (v, [k, m]) => {
          const e = entries(v).get(keyId(k as HValue));
          if (e === undefined) throw new Panic(asStr(m));
          return e.value;
        },
      });
      add("delete", {
        params: [key],
        min: 1,
        ret: T.bool,
        mutates: true,
        run: (v, [k]) => bool(entries(v).delete(keyId(k as HValue))),
      });
      add("count", { params: [], min: 0, ret: T.int, run: (v) => int(BigInt(entries(v).size)) });
      break;
    }
    case "command": {
      add("run", {
        params: [],
        min: 0,
        ret: T.int,
        run: async (v, _, ctx) => int((await ctx.runCommand(v, false)).ok ? 0n : 1n),
      });
      add("fallible", {
        params: [],
        min: 0,
        ret: T.void,
        fallible: true,
        run: async (v, _, ctx) => {
          const r = await ctx.runCommand(v, false);
          if (!r.ok) throw new Failure(list(r.err.map(str)));
          return VOID;
        },
      });
      add("ret_str", {
        params: [],
        min: 0,
        ret: T.string,
        run: async (v, _, ctx) => str(show((await ctx.runCommand(v, true)).value)),
      });
      add("cmdraw", {
        params: [],
        min: 0,
        ret: T.stream,
        run: (v, _, ctx) => ctx.rawCommand(v),
      });
      add("cmdmsg", {
        params: [],
        min: 0,
        ret: listOf(T.string),
        run: async (v, _, ctx) => list((await ctx.runCommand(v, true)).msg.map(str)),
      });
      add("cmderr", {
        params: [],
        min: 0,
        ret: listOf(T.string),
        run: async (v, _, ctx) => list((await ctx.runCommand(v, true)).err.map(str)),
      });
      add("output", {
        params: [],
        min: 0,
        ret: listOf(T.string),
        run: async (v, _, ctx) => {
          const r = await ctx.runCommand(v, true);
          return list([...r.msg, ...r.err].map(str));
        },
      });
      break;
    }
    default:
      break;
  }
  return all;
}

export { equal };
