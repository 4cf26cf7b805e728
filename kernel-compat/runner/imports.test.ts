// The runner loads no kernel code (docs/kernel.md "Architecture"): from its entry points (main.ts and
// the two worker files it starts by path), every module it imports at run time is followed, and none is
// in kernel-compat/server/ or kernel-compat/kernel/; type-only imports are erased, so they may point there.

import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "..", "..");
const ENTRIES = ["main.ts", "worker-entry.ts", "worker.ts", "door-thread.ts", "thread.ts"].map(
  (f) => path.join(here, f),
);
const KERNEL_ONLY = ["kernel-compat/server/", "kernel-compat/kernel/"];

/**
 * The relative specifiers a file imports or re-exports at run time, type-only ones left out (static
 * declarations start a line, as biome formats them; `import("…")` anywhere).
 */
function runtimeImports(text: string): string[] {
  const out: string[] = [];
  const decl = /^(?:import|export)\s+(type\s+)?([^;]*?)\s*from\s+"([^"]+)";/gm;
  for (const m of text.matchAll(decl)) {
    const [, typeOnly, clause = "", spec = ""] = m;
    if (typeOnly !== undefined) continue;
    const named = /^\{([\s\S]*)\}$/.exec(clause.trim());
    const names = named?.[1]
      ?.split(",")
      .map((n) => n.trim())
      .filter((n) => n !== "");
    if (names !== undefined && names.length > 0 && names.every((n) => n.startsWith("type ")))
      continue;
    out.push(spec);
  }
  for (const m of text.matchAll(/^import\s+"([^"]+)";/gm)) out.push(m[1] ?? "");
  for (const m of text.matchAll(/\bimport\(\s*"([^"]+)"\s*\)/g)) out.push(m[1] ?? "");
  return out.filter((s) => s.startsWith("."));
}

/** Every NCW source file reachable at run time from `entries`, relative to the repository. */
function runtimeGraph(entries: string[]): Map<string, string> {
  const seen = new Map<string, string>(); // file → who imported it first
  const queue: (readonly [string, string])[] = entries.map((e) => [e, "(entry)"] as const);
  while (queue.length > 0) {
    const next = queue.shift();
    if (next === undefined) break;
    const [file, from] = next;
    const rel = path.relative(root, file);
    if (seen.has(rel)) continue;
    seen.set(rel, from);
    for (const spec of runtimeImports(readFileSync(file, "utf8"))) {
      const target = path.resolve(path.dirname(file), spec.replace(/\.js$/, ".ts"));
      queue.push([target, rel]);
    }
  }
  return seen;
}

describe("the runner's import graph", () => {
  it("tells type-only imports from run-time ones", () => {
    const src = `import type { A } from "./a.js";
import { type B, type C } from "./b.js";
import { type D, E } from "./c.js";
export type { F } from "./d.js";
export { G } from "./e.js";
import {
  type H,
  I,
} from "./g.js";
import "./h.js";
const m = () => import("./f.js");`;
    expect(runtimeImports(src)).toEqual(["./c.js", "./e.js", "./g.js", "./h.js", "./f.js"]);
  });

  it("contains nothing of kernel-compat/server/ or kernel-compat/kernel/", () => {
    const graph = runtimeGraph(ENTRIES);
    // The families with a kernel half are in it: the check is not vacuous.
    expect(graph.has("kernel-compat/syscalls/process.ts")).toBe(true);
    const bad = [...graph]
      .filter(([f]) => KERNEL_ONLY.some((k) => f.startsWith(k)))
      .map(([f, from]) => `${f} (imported by ${from})`);
    expect(bad).toEqual([]);
  });
});

describe("the syscall families", () => {
  it("name the kernel only through kernel/api.ts and kernel/process.ts, never server/ (not even as a type)", () => {
    const dir = path.join(root, "kernel-compat", "syscalls");
    const bad: string[] = [];
    for (const f of readdirSync(dir).filter((n) => n.endsWith(".ts") && !n.endsWith(".test.ts"))) {
      const text = readFileSync(path.join(dir, f), "utf8");
      for (const m of text.matchAll(/from\s+"([^"]+)"/g)) {
        const spec = m[1] ?? "";
        if (
          spec.includes("/server/") ||
          (spec.includes("/kernel/") && !/kernel\/(api|process)\.js$/.test(spec))
        )
          bad.push(`${f}: ${spec}`);
      }
    }
    expect(bad).toEqual([]);
  });
});
