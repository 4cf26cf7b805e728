// The top level shows the architecture (STYLE.md §1): no import cycle between the top-level folders, and
// the ground floor (ncw/{errors,home,output,package,manifest}) imports nothing above it.
// The ABI leaf (commonassembly/abi/) and the ground floor are their own nodes: everything may import them.

import { describe, expect, it } from "vitest";
import { importsOf, isTestFile, resolveRelative, sourceFiles } from "./helpers/imports.js";

const TOP = ["cli", "ncw", "native", "kernel-compat", "services", "commonassembly"] as const;
const LEAF = "commonassembly/abi/";
// native/errors.ts (host errors translated) and native/host-info.ts (the host's data folder, its CPU)
// import nothing of NCW and sit on the ground floor: every floor asks them (docs/architecture.md).
const GROUND = [
  "ncw/errors.ts",
  "ncw/home.ts",
  "ncw/output.ts",
  "ncw/package/",
  "ncw/manifest/",
  "native/errors.ts",
  "native/host-info.ts",
];

/**
 * Known violations, file to file, each with why it is not fixed yet. The test fails when one goes away
 * (remove it from the list then) and when a new violation appears.
 */
const KNOWN: readonly { from: string; to: string; why: string }[] = [];

/**
 * The direction between the kernel and the services (docs/kernel.md, "Layers"): the kernel hosts the
 * services and asks Skyer's query API; the services never import the kernel, the CLI or the core
 * above the ground floor (Skyer's event runner, which starts processes, is injected from kernel-compat/).
 */
const FORBIDDEN: readonly { from: string; to: string }[] = [
  { from: "services", to: "kernel-compat" },
  { from: "services", to: "ncw" },
  { from: "services", to: "cli" },
  { from: "kernel-compat", to: "cli" },
  { from: "kernel-compat", to: "ncw" },
];

function nodeOf(file: string): string {
  if (file.startsWith(LEAF)) return "commonassembly/abi";
  if (GROUND.some((g) => (g.endsWith("/") ? file.startsWith(g) : file === g)))
    return "ncw (ground)";
  return file.split("/")[0] as string;
}

interface Edge {
  from: string;
  to: string;
}

/** Every relative import between source files (tests excluded) of the top-level folders. */
function fileEdges(): Edge[] {
  return TOP.flatMap((top) =>
    sourceFiles(top)
      .filter((f) => !isTestFile(f))
      .flatMap((from) =>
        importsOf(from)
          .filter((s) => s.startsWith("."))
          .map((s) => ({ from, to: resolveRelative(from, s) })),
      ),
  );
}

const isKnown = (e: Edge) => KNOWN.some((k) => k.from === e.from && k.to === e.to);

/** The folder graph: node -> node -> one file edge that makes it (for the message). */
function folderGraph(edges: readonly Edge[]): Map<string, Map<string, Edge>> {
  const g = new Map<string, Map<string, Edge>>();
  for (const e of edges) {
    const a = nodeOf(e.from);
    const b = nodeOf(e.to);
    if (a === b) continue;
    const out = g.get(a) ?? new Map<string, Edge>();
    if (!out.has(b)) out.set(b, e);
    g.set(a, out);
  }
  return g;
}

/** Every elementary cycle found by depth-first search, as "a -> b (file -> file) -> … -> a". */
function cycles(g: Map<string, Map<string, Edge>>): string[] {
  const found = new Set<string>();
  const walk = (start: string, node: string, path: string[], seen: Set<string>) => {
    for (const [next, e] of g.get(node) ?? []) {
      const step = `${node} -> ${next} (${e.from} -> ${e.to})`;
      if (next === start) found.add([...path, step].join(", "));
      else if (!seen.has(next) && next > start) {
        seen.add(next);
        walk(start, next, [...path, step], seen);
        seen.delete(next);
      }
    }
  };
  for (const start of g.keys()) walk(start, start, [], new Set([start]));
  return [...found];
}

describe("architecture layers", () => {
  const edges = fileEdges();

  it("sees the imports that make the architecture", () => {
    const g = folderGraph(edges);
    // ncw/ above the ground floor is empty since the kernel client moved beside its protocol.
    expect(g.get("cli")?.has("ncw (ground)")).toBe(true);
    expect(g.get("cli")?.has("kernel-compat")).toBe(true);
    expect(g.get("kernel-compat")?.has("commonassembly/abi")).toBe(true);
    expect(g.get("commonassembly")?.has("ncw (ground)")).toBe(true);
  });

  it("finds a cycle when there is one", () => {
    const g = folderGraph([
      ...edges,
      { from: "commonassembly/npp.ts", to: "kernel-compat/protocol.ts" },
    ]);
    expect(cycles(g).length).toBeGreaterThan(0);
  });

  it("has no import cycle between top-level folders, known exceptions aside", () => {
    expect(cycles(folderGraph(edges.filter((e) => !isKnown(e))))).toEqual([]);
  });

  it("every known exception still exists (remove it from KNOWN once fixed)", () => {
    for (const k of KNOWN)
      expect(
        edges.some((e) => e.from === k.from && e.to === k.to),
        k.why,
      ).toBe(true);
    // With no exception left, the whole graph is acyclic; with some, they are what breaks the cycles.
    if (KNOWN.length === 0) expect(cycles(folderGraph(edges))).toEqual([]);
    else
      expect(
        cycles(folderGraph(edges)).length,
        "the known exceptions are what breaks the cycles",
      ).toBeGreaterThan(0);
  });

  it("the services import neither the kernel nor anything above them", () => {
    const g = folderGraph(edges);
    const wrong = FORBIDDEN.filter((f) => g.get(f.from)?.has(f.to)).map((f) => {
      const e = g.get(f.from)?.get(f.to);
      return `${f.from} -> ${f.to} (${e?.from} -> ${e?.to})`;
    });
    expect(wrong).toEqual([]);
    // And the direction that is allowed is really used: the kernel asks Skyer's query API.
    expect(
      edges.some(
        (e) => e.from === "kernel-compat/program.ts" && e.to === "services/skyer/query.ts",
      ),
    ).toBe(true);
    expect(g.get("kernel-compat")?.has("services")).toBe(true);
  });

  it("finds a forbidden edge when there is one", () => {
    const g = folderGraph([
      ...edges,
      { from: "services/skyer/skyer.ts", to: "kernel-compat/client.ts" },
    ]);
    expect(g.get("services")?.has("kernel-compat")).toBe(true);
  });

  it("the ground floor imports only the ground floor and the ABI leaf", () => {
    const above = edges
      .filter((e) => nodeOf(e.from) === "ncw (ground)" && !isKnown(e))
      .filter((e) => !["ncw (ground)", "commonassembly/abi"].includes(nodeOf(e.to)))
      .map((e) => `${e.from} -> ${e.to}`);
    expect(above).toEqual([]);
  });
});
