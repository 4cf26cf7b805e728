// The stat example's tests: each exported function without parameters is one test (docs/dev-loop.md
// "Declaring tests"). Run: ncw test examples/stat
import { expectEqual, expectFalse, expectTrue } from "../.ncw/sdk/as/test";
import { combine, hasAnswer } from "../src/stat";

export function sumsAndMultiplies(): void {
  const xs: i64[] = [3, 1, 4];
  expectEqual(combine("sum", xs), 8);
  expectEqual(combine("product", xs), 12);
}

export function findsTheSmallestAndTheLargest(): void {
  const xs: i64[] = [3, -1, 4, 1];
  expectEqual(combine("min", xs), -1);
  expectEqual(combine("max", xs), 4);
}

export function hasNoMinimumOfNothing(): void {
  expectFalse(hasAnswer("min", 0));
  expectFalse(hasAnswer("max", 0));
  expectTrue(hasAnswer("sum", 0));
  expectEqual(combine("sum", []), 0);
  expectEqual(combine("product", []), 1);
}
