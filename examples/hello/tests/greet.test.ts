// The hello example's tests: each exported function without parameters is one test (docs/dev-loop.md
// "Declaring tests"). Run: ncw test examples/hello
import { expectEqual } from "../.ncw/sdk/as/test";
import { greeted, NOBODY } from "../src/greet";

export function greetsTheNameGiven(): void {
  expectEqual(greeted("Ada"), "Ada");
}

export function greetsTheWorldWithoutAName(): void {
  expectEqual(greeted(null), NOBODY);
  expectEqual(greeted(""), "world");
}
