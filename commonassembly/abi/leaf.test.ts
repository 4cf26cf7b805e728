// The NightOS contract is one leaf module (docs/commonassembly.md §13): no file of commonassembly/abi/
// imports anything outside it except node: built-ins (its tests may also use vitest and test/helpers).

import { describe, expect, it } from "vitest";
import { importsOf, isTestFile, resolveRelative, sourceFiles } from "../../test/helpers/imports.js";

const LEAF = "commonassembly/abi";

/** The imports of `file` that leave the leaf, as "file: specifier". */
function leavingImports(file: string): string[] {
  return importsOf(file)
    .filter((spec) => {
      if (spec.startsWith("node:")) return false;
      if (isTestFile(file) && spec === "vitest") return false;
      if (!spec.startsWith(".")) return true;
      const target = resolveRelative(file, spec);
      if (isTestFile(file) && target.startsWith("test/helpers/")) return false;
      return !target.startsWith(`${LEAF}/`);
    })
    .map((spec) => `${file}: ${spec}`);
}

describe("commonassembly/abi is a leaf", () => {
  const files = sourceFiles(LEAF);

  it("reads the imports of every file, static and dynamic", () => {
    expect(files).toContain(`${LEAF}/syscalls.ts`);
    expect(importsOf(`${LEAF}/syscalls.ts`)).toContain("./codec.js");
    // The parser sees an import that leaves the leaf (a file outside it, as a control).
    expect(importsOf("commonassembly/npp.ts")).toContain("./abi/wasm-names.js");
    expect(importsOf("commonassembly/text.ts")).toContain("../ncw/errors.js");
    expect(importsOf("test/kernel-run.test.ts")).toContain("../commonassembly/abi/context.js");
    // WebAssembly text in template strings is not an import.
    expect(importsOf("kernel-compat/runner/runner.test.ts")).not.toContain("nightos");
  });

  it("imports nothing outside itself but node: built-ins", () => {
    expect(files.flatMap(leavingImports)).toEqual([]);
  });
});
