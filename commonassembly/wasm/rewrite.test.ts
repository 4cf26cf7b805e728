import { describe, expect, it } from "vitest";
import { watToWasm } from "../text.js";
import { readModule } from "./reader.js";
import { renameExports } from "./rewrite.js";

const mod = (tableName: string) =>
  watToWasm(`(module (memory (export "memory") 1 2 shared) (table (export "${tableName}") 1 funcref)
    (func (export "f")) (data (i32.const 100) "x"))`);

describe("renameExports", () => {
  it("gives the same bytes as a module written with the new name", async () => {
    const renamed = renameExports(
      await mod("table"),
      new Map([["table", "__indirect_function_table"]]),
    );
    expect(Buffer.from(renamed).equals(Buffer.from(await mod("__indirect_function_table")))).toBe(
      true,
    );
    expect(readModule(renamed).exports.map((e) => e.name)).toEqual([
      "memory",
      "__indirect_function_table",
      "f",
    ]);
  });

  it("refuses unknown and conflicting names", async () => {
    const m = await mod("table");
    expect(() => renameExports(m, new Map([["nope", "x"]]))).toThrow(/no such export/);
    expect(() => renameExports(m, new Map([["table", "f"]]))).toThrow(/already exported/);
    expect(renameExports(m, new Map())).toBe(m);
  });
});
