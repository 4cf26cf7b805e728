// Reads the import graph of NCW's own source, for the architecture tests (commonassembly/abi/leaf.test.ts,
// test/layers.test.ts): every module specifier a .ts file imports, statically or dynamically.
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

/** The repository's root folder. */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");

/** Every .ts file under `folder` (relative to ROOT, "/"-separated), sorted; .d.ts files excluded. */
export function sourceFiles(folder: string): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const e of readdirSync(path.join(ROOT, rel), { withFileTypes: true })) {
      const child = `${rel}/${e.name}`;
      if (e.isDirectory()) walk(child);
      else if (e.name.endsWith(".ts") && !e.name.endsWith(".d.ts")) out.push(child);
    }
  };
  walk(folder);
  return out.sort();
}

export const isTestFile = (file: string): boolean => file.endsWith(".test.ts");

/** Removes comments so that examples in them are not read as imports (strings are kept). */
function stripComments(src: string): string {
  return src.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
}

/**
 * The module specifiers `file` imports: `import … from`, `export … from`, `import "x"` and `import("x")`
 * (also in `typeof import("x")`). WebAssembly text in template strings (`(import "nightos" …)`) is not
 * an import: a static import starts a line, a dynamic one has its parenthesis right after `import`.
 */
export function importsOf(file: string): string[] {
  const src = stripComments(readFileSync(path.join(ROOT, file), "utf8"));
  const specs: string[] = [];
  const patterns = [
    /^\s*(?:import|export)\b[^;"'`]*?\bfrom\s*["']([^"']+)["']/gm,
    /^\s*import\s*["']([^"']+)["']/gm,
    /\bimport\(\s*["']([^"']+)["']\s*\)/g,
  ];
  for (const re of patterns) for (const m of src.matchAll(re)) specs.push(m[1] as string);
  return specs;
}

/** Where a relative specifier of `file` points, relative to ROOT and with a .ts extension. */
export function resolveRelative(file: string, spec: string): string {
  return path.posix
    .normalize(path.posix.join(path.posix.dirname(file), spec))
    .replace(/\.js$/, ".ts");
}
