// The stat example's logic, kept apart from its entry (src/main.ts) so its tests (tests/) can call it.

/** Whether `op` has an answer for `n` integers: min and max of none have none. */
export function hasAnswer(op: string, n: i32): bool {
  return n > 0 || (op !== "min" && op !== "max");
}

/** `op` ("sum", "product", "min" or "max") of `xs` (which hasAnswer allows). */
export function combine(op: string, xs: i64[]): i64 {
  let result: i64 = op === "product" ? 1 : op === "sum" ? 0 : xs[0];
  for (let i = 0; i < xs.length; i++) {
    const x = xs[i];
    if (op === "sum") result += x;
    else if (op === "product") result *= x;
    else if (op === "min") result = x < result ? x : result;
    else result = x > result ? x : result;
  }
  return result;
}
